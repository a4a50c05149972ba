#!/usr/bin/env bash
# Builds the CUDA runtime on its own (no MLIR) into build-cuda/ for the GPU
# machine: libst_cuda.so with libstdc++ linked statically, its tests (with
# $ORIGIN rpaths) and their kernels, and a copy of nlohmann/json.hpp so that
# scripts/gpu-run.sh can rebuild there if the library does not load. Carry
# build-cuda/ (a few MiB) with the kernel libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ST_CUDA_BUILD_DIR:-build-cuda}
CXX=${CXX:-g++}
if command -v clang++-22 >/dev/null; then CXX=clang++-22; fi
LAUNCHER=()
if command -v ccache >/dev/null; then
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -G Ninja -S runtime/cuda -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$CXX" -DST_CUDA_STATIC_LIBSTDCXX=ON "${LAUNCHER[@]}"
ninja -C "$BUILD_DIR"
if [ -d /usr/include/nlohmann ]; then
  mkdir -p "$BUILD_DIR/third_party"
  cp -r /usr/include/nlohmann "$BUILD_DIR/third_party/"
fi
"$BUILD_DIR/unittests/CudaRuntimeTests" --gtest_brief=1
echo "build-cuda: $(du -sh "$BUILD_DIR" | cut -f1) in $BUILD_DIR"
