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
npm run --silent weights
