#!/usr/bin/env bash
# Installs the Debian packages nnlua needs to build, test and run its demo;
# with --bench also the peers' (python3-torch, python3-torchvision, python3-numpy,
# python3-sklearn, hyperfine, time).
# Installs only what is missing; needs root or sudo for that.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  lua5.4 liblua5.4-dev lua-busted luarocks
  libopenblas-dev libdnnl-dev libpng-dev zlib1g-dev libreadline-dev libcjson-dev libcairo2-dev libfontconfig-dev
  dataset-fashion-mnist tmux
  libopenmpi-dev openmpi-bin
  clang libclang-rt-14-dev
)
[ "${1-}" = "--bench" ] && packages+=(python3-torch python3-torchvision python3-numpy python3-sklearn hyperfine time)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "setup: these Debian packages are missing: ${missing[*]}" >&2
  echo "setup: run as root, or install sudo, so they can be installed" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
