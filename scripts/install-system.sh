#!/usr/bin/env bash
# Installs the system side of facegpu on Debian 12 (bookworm): a Vulkan driver that Dawn
# can run WebGPU on when the machine has no GPU (Mesa >= 24 lavapipe from bookworm-backports;
# bookworm's own Mesa 22 lacks shaderUniform*ArrayDynamicIndexing, which Dawn requires),
# Debian's Chromium for the browser tests (SwiftShader WebGPU adapter), and Redis (the job
# queue of `index --queue` and `worker`; its tests start their own server), and a C++ compiler,
# make and python3 (node-gyp, which rebuilds USearch's addon with patches/), xz (the
# GPU-machine benchmark kit), and heif-enc with its HEVC encoder (libheif-examples: x265;
# test/heic-decode.test.ts makes its HEIC photos with it, a grid of tiles too, which needs
# libheif >= 1.18: bookworm-backports), and Perl (ExifTool, which `gallery xmp` writes face
# regions into XMP sidecars with, is a Perl program: exiftool-vendored ships it, not Perl).
# Idempotent; skips what is already there. Needs root (or sudo).
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

mesa_ok() {
  # lavapipe's ICD file exists and the installed Mesa is 24 or newer.
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && [ "${v%%.*}" -ge 24 ] 2>/dev/null
}

heif_hevc_ok() {
  # heif-enc is there and can write HEVC (HEIC), not only AVIF, and grids of tiles as iPhones
  # store photos (--tiled-input, libheif >= 1.18).
  command -v heif-enc >/dev/null && heif-enc --list-encoders 2>/dev/null | grep -i x265 >/dev/null &&
    heif-enc --help 2>&1 | grep -q -- --tiled-input
}

need_apt=()
mesa_ok || need_apt+=(mesa-vulkan-drivers)
command -v chromium >/dev/null || need_apt+=(chromium)
dpkg -s libvulkan1 >/dev/null 2>&1 || need_apt+=(libvulkan1)
command -v redis-server >/dev/null || need_apt+=(redis-server)
# node-gyp's tools, for USearch's addon rebuilt with patches/ (scripts/build-usearch.mjs).
command -v g++ >/dev/null || need_apt+=(g++)
command -v make >/dev/null || need_apt+=(make)
command -v python3 >/dev/null || need_apt+=(python3)
# xz, for the GPU-machine benchmark kit (scripts/device-kit.mjs).
command -v xz >/dev/null || need_apt+=(xz-utils)
# Perl with its standard modules (perl-base alone lacks some that ExifTool loads).
dpkg -s perl >/dev/null 2>&1 || need_apt+=(perl)
# heif-enc with x265, for the HEIC photos of test/heic-decode.test.ts.
heif_hevc_ok || need_apt+=(libheif-examples)

if [ ${#need_apt[@]} -eq 0 ]; then
  echo "system packages: already installed"; exit 0
fi

. /etc/os-release
if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
  list=/etc/apt/sources.list.d/bookworm-backports.list
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee "$list" >/dev/null
  fi
  $SUDO apt-get update -qq
  # Mesa (>= 24) and heif-enc (libheif >= 1.18, its x265 encoder a plugin there) from
  # backports; everything else from bookworm.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -t bookworm-backports mesa-vulkan-drivers libvulkan1 libheif-examples libheif-plugin-x265
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium redis-server \
    g++ make python3 xz-utils perl
else
  $SUDO apt-get update -qq
  # Newer Debian and Ubuntu ship libheif's encoders as plugins: the HEVC one is not a dependency.
  if [[ " ${need_apt[*]} " == *" libheif-examples "* ]] && apt-cache show libheif-plugin-x265 >/dev/null 2>&1; then
    need_apt+=(libheif-plugin-x265)
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
mesa_ok || { echo "error: Mesa >= 24 (mesa-vulkan-drivers) is required for the lavapipe WebGPU adapter" >&2; exit 1; }
heif_hevc_ok || { echo "error: heif-enc (libheif-examples >= 1.18) with its x265 HEVC encoder is required by test/heic-decode.test.ts" >&2; exit 1; }
echo "system packages: ok ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
