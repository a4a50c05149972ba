#!/usr/bin/env bash
# Configures (once) and builds ST into build/ with Ninja, clang-22, LLD 22 and
# ccache. Extra arguments are passed to ninja (e.g. a target name).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${ST_BUILD_DIR:-build}
JOBS=${ST_JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=gcc CXX=g++
  if command -v clang++-22 >/dev/null; then CC=clang-22 CXX=clang++-22; fi
  cmake -G Ninja -S . -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir
fi
ninja -C "$BUILD_DIR" -j"$JOBS" "$@"
