#!/usr/bin/env bash
# Installs what headless WebGPU tests in a browser need on a GPU-less Debian machine, from Debian's own archive
# (no browser download): `chromium` (brings SwiftShader, used by scripts/chromium-webgpu-flags.mjs's default
# flags) and `mesa-vulkan-drivers` (lavapipe, used by its compat flags). Idempotent: installs only what is
# missing, runs `apt-get update` only then. Needs root for that (CI and dev machines run as root).
# apt's output goes to stderr; stdout is one line, the Chromium executable's path.
#
# Usage:  CHROMIUM=$(bash scripts/install-chromium.sh)
set -euo pipefail
CHROMIUM=/usr/lib/chromium/chromium # the real binary; /usr/bin/chromium is Debian's wrapper script

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
dpkg-query -W -f='${Status}' mesa-vulkan-drivers 2>/dev/null | grep -q 'install ok installed' || missing+=(mesa-vulkan-drivers)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-chromium.sh: ${missing[*]} missing; run as root (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
  } >&2
fi

[ -x "$CHROMIUM" ] || { echo "install-chromium.sh: $CHROMIUM still missing after install" >&2; exit 1; }
"$CHROMIUM" --version >&2
echo "$CHROMIUM"
