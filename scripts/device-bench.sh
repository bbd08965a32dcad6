#!/usr/bin/env bash
# On a machine with a GPU but no Node, npm or network (this workplace's lent device machine):
# unpacks .devkit/kit.tar.xz (made here by `node scripts/device-kit.mjs`) into .devkit/ and runs
# `facegpu bench` on the first adapter Dawn finds through Vulkan, writing results.json,
# results.md and chart.svg into $OUT (or bench/results/device). Arguments go to the benchmark
# (default: the whole network at batches 1, 8 and 32 with the kernel rows and ONNX Runtime's
# WebGPU side, no tfjs-wasm and no training rows: the questions of issue #15 for a real GPU).
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
RESULTS="${OUT:-bench/results/device}"
mkdir -p "$RESULTS"
[ $# -gt 0 ] || set -- --batches 1,8,32 --no-wasm --no-training-work --ort webgpu
"$KIT/node" "$KIT/dist/bench.mjs" bench --backbone "$PWD/$KIT/weights/face" --out "$RESULTS" "$@"
