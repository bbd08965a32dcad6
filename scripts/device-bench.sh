#!/usr/bin/env bash
# On a machine with a GPU but no Node, npm or network (this workplace's lent device machine):
# unpacks .devkit/kit.tar.xz (made here by `node scripts/device-kit.mjs`) into .devkit/ and
# benchmarks on the first adapter Dawn finds through Vulkan, results into $OUT (or
# bench/results/device):
#   no arguments: the questions of issue #15 for a real GPU, in three steps:
#     hand/    `facegpu bench` with the hand-picked kernels (batches 1, 8, 32, kernel rows,
#              ONNX Runtime's WebGPU side; no tfjs-wasm, no training rows)
#     tuning.json  `facegpu tune` for batches 1, 8 and 32 (the candidates timed on this GPU)
#     tuned/   the same benchmark with the tuned kernels
#   arguments: one `facegpu bench` with them, into $OUT itself.
# Tunings go to .devkit/home (FACEGPU_HOME), so each run starts hand-picked.
# Python's lzma unpacks the kit where the machine has no xz.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=.devkit
[ -f "$KIT/kit.tar.xz" ] || { echo "device-bench: $KIT/kit.tar.xz is missing: run node scripts/device-kit.mjs here and carry $KIT" >&2; exit 1; }
if [ ! -x "$KIT/node" ]; then
  if command -v xz > /dev/null; then tar -C "$KIT" -xJf "$KIT/kit.tar.xz"
  else python3 -c "import tarfile, sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$KIT/kit.tar.xz" "$KIT"; fi \
    || { echo "device-bench: could not unpack $KIT/kit.tar.xz (needs xz, or python3)" >&2; exit 1; }
fi
# The NVIDIA driver's Vulkan files where this workplace's machines keep them, if the loader finds none.
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
# The kit's Vulkan loader where the machine's image has none.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  export LD_LIBRARY_PATH="$PWD/$KIT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export FACEGPU_HOME="$PWD/$KIT/home"
rm -rf "$FACEGPU_HOME"
RESULTS="${OUT:-bench/results/device}"
mkdir -p "$RESULTS"
facegpu() { "$KIT/node" "$KIT/dist/bench.mjs" "$@"; }
BACKBONE="$PWD/$KIT/weights/face"
if [ $# -gt 0 ]; then
  facegpu bench --backbone "$BACKBONE" --out "$RESULTS" "$@"
  exit
fi
DEFAULT=(--batches 1,8,32 --no-wasm --no-training-work --ort webgpu)
TUNE=(--batch-sizes 1,8,32)
# The same three steps at the smallest scale, for test/device-kit.test.ts on a CPU adapter.
if [ "${FACEGPU_DEVICE_BENCH_SCALE:-}" = small ]; then
  DEFAULT=(--batches 2 --repeats 1 --gpu-repeats 0 --no-kernels --no-wasm --no-training-work)
  TUNE=(--batch-sizes 2 --rounds 1)
fi
facegpu bench --backbone "$BACKBONE" --out "$RESULTS/hand" "${DEFAULT[@]}"
facegpu tune --backbone "$BACKBONE" "${TUNE[@]}" --json > "$RESULTS/tuning.json"
facegpu bench --backbone "$BACKBONE" --out "$RESULTS/tuned" "${DEFAULT[@]}"
