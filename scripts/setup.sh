#!/usr/bin/env bash
# One command that installs everything facegpu needs on a fresh Debian 12 machine:
# the Vulkan driver for WebGPU (and Chromium for browser tests), the npm dependencies, and the
# default face backbone converted into weights/face.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
# onnxruntime-node (the benchmark's --ort side) ships its CPU binaries in the package; its
# postinstall would fetch optional GPU ones from a host that cannot be reached: skip that.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
# USearch's addon rebuilt with facegpu's patch (patches/README.md: a million faces searched ~30%
# faster); fails the set-up if it cannot be built, since the benchmark's figures assume it.
npm run --silent build:usearch
npm run --silent weights
# The ImageNet backbone (`--backbone imagenet`, the page's backbone picker, its e2e check), from
# the TFLite file in ../shared when it is there (elsewhere: `npx facegpu weights install imagenet --from <file|URL>`).
if [ -f ../shared/weights/tflite-coral/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite ]; then
  node bin/facegpu.js weights install imagenet
fi
