#!/usr/bin/env bash
# One command that installs everything facegpu needs on a fresh Debian 12 machine:
# the Vulkan driver for WebGPU (and Chromium for browser tests), the npm dependencies, and the
# default face backbone converted into weights/face.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
npm ci --no-audit --no-fund
npm run --silent weights
