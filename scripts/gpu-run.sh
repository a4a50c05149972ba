#!/usr/bin/env bash
# The whole GPU run in one command on the device machine (CUDA, PyTorch,
# Triton; no MLIR): the kernel libraries are compiled elsewhere and carried.
#
#   scripts/gpu-run.sh KERNELS [KERNELS...]
#
# KERNELS are kernel library directories (or directories of them), or
# .tar.xz archives of them (a full library is ~32 MB of PTX, ~1.7 MB packed
# by scripts/gpu-pack.sh LIB LIB.tar.xz), unpacked into $OUT/kernels first.
# Steps, in order, each logged to $OUT/<step>.log with its time:
#   lib        libst_cuda.so: $ST_CUDA_LIB, else a carried build-cuda/ whose
#              library loads, else built here with cmake into
#              build-cuda-device/
#   probe      test/Device/wgmma-layouts.cu (nvcc): the wgmma tile layouts
#              and descriptors of lib/Conversion/AttentionToGpu/Wgmma.h,
#              checked exactly against a CPU product
#   tests      the runtime's own device tests (carried build-cuda/ only),
#              also under compute-sanitizer
#   check      scripts/gpu-check.py: every entry against float64
#   sanitizer  scripts/gpu-check.py --quick under compute-sanitizer memcheck
#              (and racecheck on the same subset at n = 100)
#   bench      bench/gpu_attention.py: tables and JSON into $OUT
# ST_GPU_STEPS picks steps (default "probe tests check sanitizer bench");
# ST_GPU_BUDGET is the total seconds (default 560): the benchmark gets what
# is left. ST_CHECK_ARGS / ST_BENCH_ARGS add arguments. Exit status 1 if any
# step failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

if [ $# -eq 0 ]; then
  echo "usage: scripts/gpu-run.sh KERNELS [KERNELS...]" >&2
  exit 2
fi
OUT=${OUT:-/tmp/st-gpu-run}
mkdir -p "$OUT"
# Archives of kernel libraries are unpacked; directories are used as given.
KERNELS=()
for k in "$@"; do
  if [[ "$k" == *.tar.xz ]]; then
    dest="$OUT/kernels/$(basename "$k" .tar.xz)"
    mkdir -p "$dest"
    tar -C "$dest" -xJf "$k" || { echo "gpu-run: cannot unpack $k" >&2; exit 2; }
    KERNELS+=("$dest")
  else
    KERNELS+=("$k")
  fi
done
set -- "${KERNELS[@]}"
STEPS=${ST_GPU_STEPS:-probe tests check sanitizer bench}
BUDGET=${ST_GPU_BUDGET:-560}
START=$SECONDS
PY=${PYTHON:-python3}
SUMMARY=()
FAILED=0

left() { echo $((BUDGET - (SECONDS - START))); }

# run STEP TIMEOUT COMMAND...: logs to $OUT/STEP.log, records the result.
run() {
  local step=$1 limit=$2
  shift 2
  local t0=$SECONDS rc
  echo "=== $step (limit ${limit} s): $*"
  timeout --signal=INT --kill-after=15 "$limit" "$@" 2>&1 | tee "$OUT/$step.log"
  rc=${PIPESTATUS[0]}
  local took=$((SECONDS - t0))
  if [ "$rc" -eq 0 ]; then
    SUMMARY+=("$step: ok (${took} s)")
  else
    [ "$rc" -eq 124 ] && echo "$step: timed out after ${limit} s"
    SUMMARY+=("$step: FAILED rc=$rc (${took} s)")
    FAILED=1
  fi
  return "$rc"
}

has_step() { [[ " $STEPS " == *" $1 "* ]]; }

echo "=== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
$PY -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.version.cuda, "python", sys.version.split()[0])' || true

# --- libst_cuda.so ----------------------------------------------------------
loads() { $PY -c 'import ctypes, sys; ctypes.CDLL(sys.argv[1])' "$1" 2>/dev/null; }
LIB=${ST_CUDA_LIB:-}
if [ -z "$LIB" ] && [ -f build-cuda/libst_cuda.so ]; then
  if loads build-cuda/libst_cuda.so; then
    LIB=build-cuda/libst_cuda.so
  else
    echo "build-cuda/libst_cuda.so does not load here; rebuilding"
  fi
fi
if [ -z "$LIB" ]; then
  JSON_ARGS=()
  if [ ! -f /usr/include/nlohmann/json.hpp ]; then
    for d in build-cuda/third_party $($PY -c 'import torch.utils.cpp_extension as c; print(" ".join(c.include_paths()))' 2>/dev/null); do
      if [ -f "$d/nlohmann/json.hpp" ]; then
        JSON_ARGS=(-DST_JSON_INCLUDE_DIR="$(realpath "$d")")
        break
      fi
    done
  fi
  GEN=()
  command -v ninja >/dev/null && GEN=(-G Ninja)
  run lib 300 bash -c "cmake ${GEN[*]} -S runtime/cuda -B build-cuda-device -DCMAKE_BUILD_TYPE=Release ${JSON_ARGS[*]} && cmake --build build-cuda-device --target st_cuda -j" \
    && LIB=build-cuda-device/libst_cuda.so
else
  SUMMARY+=("lib: $LIB")
fi
if [ -z "$LIB" ] || ! loads "$LIB"; then
  echo "gpu-run: no loadable libst_cuda.so; stopping"
  printf '%s\n' "${SUMMARY[@]}"
  exit 1
fi
LIB=$(realpath "$LIB")
echo "=== using $LIB"

SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)

# --- the wgmma layout probe ---------------------------------------------------
if has_step probe; then
  NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
  if [ -n "$NVCC" ]; then
    run probe 120 bash -c "'$NVCC' -O2 -gencode arch=compute_90a,code=sm_90a \
      -o '$OUT/wgmma-layouts' test/Device/wgmma-layouts.cu && '$OUT/wgmma-layouts'"
  else
    SUMMARY+=("probe: skipped (no nvcc)")
  fi
fi

# --- the runtime's device tests ----------------------------------------------
if has_step tests; then
  if [ -x build-cuda/unittests/CudaDeviceTests ]; then
    export ST_CUDA_TEST_KERNELS=$PWD/build-cuda/unittests/cuda-test-kernels
    run tests 60 build-cuda/unittests/CudaDeviceTests
    if [ -n "$SANITIZER" ]; then
      # The *IsReported tests provoke driver errors on purpose (a kernel
      # name the module lacks, a manifest with the wrong parameter count);
      # the sanitizer would count those API errors, so it runs the others.
      run tests-sanitizer 120 "$SANITIZER" --tool memcheck --error-exitcode 9 \
        build-cuda/unittests/CudaDeviceTests --gtest_filter="-*IsReported"
    fi
  else
    SUMMARY+=("tests: skipped (no carried build-cuda/unittests)")
  fi
fi

# --- correctness ------------------------------------------------------------
if has_step check; then
  # shellcheck disable=SC2086
  run check 180 "$PY" scripts/gpu-check.py --lib "$LIB" --time-limit 150 \
    ${ST_CHECK_ARGS:-} "$@"
fi

if has_step sanitizer; then
  if [ -z "$SANITIZER" ]; then
    SUMMARY+=("sanitizer: skipped (no compute-sanitizer)")
  else
    # Without PyTorch's caching allocator every tensor is its own allocation,
    # so an access past a buffer's end is caught.
    export PYTORCH_NO_CUDA_MEMORY_CACHING=1
    run sanitizer-memcheck 150 "$SANITIZER" --tool memcheck --error-exitcode 9 \
      --report-api-errors no \
      "$PY" scripts/gpu-check.py --lib "$LIB" --quick --time-limit 110 "$@"
    # racecheck: every entry of the --quick subset at n = 100 (8 layouts
    # at d = 64 ran in under a minute on the H100 with the library carried
    # as cubins, the same at d = 128 in 91 s (session 11); PTX JIT-compiled
    # under the sanitizer did not finish the subset in 90 s). Since session
    # 11 the subset has both head dims (gpu-check.py, quick_subset).
    run sanitizer-racecheck 240 "$SANITIZER" --tool racecheck --error-exitcode 9 \
      --report-api-errors no \
      "$PY" scripts/gpu-check.py --lib "$LIB" --quick --sizes 100 --time-limit 220 "$@"
    unset PYTORCH_NO_CUDA_MEMORY_CACHING
  fi
fi

# --- benchmark --------------------------------------------------------------
if has_step bench; then
  REMAINING=$(left)
  if [ "$REMAINING" -lt 90 ]; then
    SUMMARY+=("bench: skipped (only ${REMAINING} s left)")
  else
    # shellcheck disable=SC2086
    run bench "$((REMAINING - 10))" "$PY" bench/gpu_attention.py --lib "$LIB" \
      --budget "$((REMAINING - 100))" ${ST_BENCH_ARGS:-} "$@"
  fi
fi

echo
echo "=== gpu-run summary ($((SECONDS - START)) s, logs in $OUT)"
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
