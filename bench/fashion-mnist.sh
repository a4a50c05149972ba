#!/usr/bin/env bash
# Fashion-MNIST: bits per dimension of models/fashion-mnist.mlir on the 10000
# test images after a short CPU training run, next to PNG (zlib level 9) and
# xz -9 on the same test images, and the strided pattern's attention work
# against dense causal. Results and the machine's state go to
# docs/images.md by hand; see there.
#
#   bench/fashion-mnist.sh [STEPS] [BATCH] [LR] [WARMUP]
#
# Needs the Debian package dataset-fashion-mnist (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ST_BUILD_DIR:-build}
DATA=/usr/share/datasets/fashion-mnist
RUN_DIR="$BUILD_DIR/fashion-mnist-run"
STEPS=${1:-2600}
BATCH=${2:-8}
LR=${3:-0.005}
WARMUP=${4:-100}
mkdir -p "$RUN_DIR"

echo "== attention work: strided (stride 28) vs dense causal, per layer"
"$BUILD_DIR/bin/st-opt" models/fashion-mnist.mlir --st-expand-model \
  --st-layout-stats -o /dev/null | sed -n '2,5p'
sed 's/#st.strided<stride = 28>/#st.dense_causal/' models/fashion-mnist.mlir \
  > "$RUN_DIR/dense.mlir"
"$BUILD_DIR/bin/st-opt" "$RUN_DIR/dense.mlir" --st-expand-model \
  --st-layout-stats -o /dev/null | sed -n '2,5p'

echo "== baselines on the test images"
"$BUILD_DIR/bin/st-bench-image-codecs" --data "$DATA/t10k-images-idx3-ubyte.gz" \
  --raw "$RUN_DIR/t10k.bytes"
xz_bytes=$(xz -9 -c "$RUN_DIR/t10k.bytes" | wc -c)
python3 -c "import sys; n, x = map(int, sys.argv[1:]); print(f'xz -9: {x} bytes, {8 * x / n:.4f} bits/dim')" \
  "$(stat -c %s "$RUN_DIR/t10k.bytes")" "$xz_bytes"

echo "== training ($STEPS steps of $BATCH images, lr $LR, warm-up $WARMUP), load: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$RUN_DIR/fm.safetensors" "$RUN_DIR/fm.safetensors.optim"
start=$(date +%s)
/usr/bin/time -f "train: %e s wall, %U s user, %S s system" \
  "$BUILD_DIR/bin/st-run" models/fashion-mnist.mlir train \
  --data "$DATA/train-images-idx3-ubyte.gz" --steps "$STEPS" --batch "$BATCH" \
  --lr "$LR" --warmup "$WARMUP" --eval-sequences 64 \
  --checkpoint "$RUN_DIR/fm.safetensors" --metrics "$RUN_DIR/metrics.jsonl"
echo "train: $(( $(date +%s) - start )) s, load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== bits per dimension on the 10000 test images"
"$BUILD_DIR/bin/st-run" models/fashion-mnist.mlir eval \
  --data "$DATA/t10k-images-idx3-ubyte.gz" --val-fraction 1 --batch 16 \
  --checkpoint "$RUN_DIR/fm.safetensors"
