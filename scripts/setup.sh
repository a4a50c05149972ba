#!/usr/bin/env bash
# Installs exactly the Debian 12 packages ST needs; does nothing when they are
# all present. Safe to run any number of times.
set -euo pipefail

PACKAGES=(
  cmake ninja-build ccache python3
  clang-22 lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libzstd-dev libomp-22-dev libopenblas-dev
  libgtest-dev nlohmann-json3-dev libpng-dev zlib1g-dev
  xz-utils fortunes dataset-fashion-mnist espeak-ng
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
