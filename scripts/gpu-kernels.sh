#!/usr/bin/env bash
# Compiles ST's GPU attention kernel library (PTX + manifest.json) for the
# layouts, head dims and element types that the GPU check and benchmark use:
#   scripts/gpu-kernels.sh OUT_DIR [ST_OPT]
# Every layout below at head dims 32, 64 and 128 in bf16, f16 and f32 (72 sets,
# several minutes); ST_GPU_KERNELS_ONLY=REGEX keeps the sets whose name
# (e.g. strided128_d64_bf16) matches.
# Runs on the CPU (no GPU needed): st.attention -> tensor-core kernels ->
# NVVM -> PTX through LLVM's NVPTX backend. When ptxas is present, also
# writes its register/spill report to OUT_DIR/ptxas.txt.
# ST_GPU_CHIP picks the target: sm_90 (the default: mma.sync, any sm_90 GPU)
# or sm_90a (Hopper only: warpgroup MMA for bf16/f16 at head dims 64 and
# 128); with sm_90a, ST_GPU_WGMMA_HEAD_DIMS (e.g. 32,64,128) lists other
# head dims (docs/gpu.md: what was checked).
# ST_GPU_WGMMA_KEY_TILE (64 or 128) sets the warpgroup-MMA kernels' key tile;
# ST_GPU_FORWARD_WARPGROUPS (1 or 2) their forward's warpgroups a block;
# ST_GPU_PIPELINED_FORWARD=1 overlaps their forward's softmax with products.
# ST_GPU_FORWARD_PRODUCER, ST_GPU_DQ_PRODUCER, ST_GPU_DKV_PRODUCER (0 never,
# 1 where it pays, 2 always) split those kernels into a producer warpgroup
# and two consumer warpgroups; ST_GPU_SPLIT_FORWARD_MIN_N is the sequence
# length below which a split forward's unsplit kernel runs instead (0: none);
# ST_GPU_PIPELINED_DQ, ST_GPU_FORWARD_PING_PONG, ST_GPU_DQ_OWN_BLOCK_DKV shape
# the split kernels (docs/gpu.md).
# ST_GPU_SPAN_FORWARD=S (S > 0) runs strided's band and column forward as
# one kernel whose column tiles follow their band tiles by S spans (off: 0);
# ST_GPU_SPAN_DQ=S and ST_GPU_SPAN_DKV=S do the same for dQ and dK/dV;
# ST_GPU_DISCARD_CHAIN=0 keeps their chain's L2 lines after they are read.
# ST_GPU_MIXED_DKV=1 runs fixed's own-block and summary dK/dV as one kernel
# whose tiles, taken by ticket, mix the two in each head.
# ST_GPU_PAIRED_BACKWARD=0 runs strided's column dQ and dK/dV as two kernels
# (default 1: one kernel whose blocks alternate the two kinds of tile of a
# class).
# ST_GPU_BAND_BACKWARD=S (S > 0) computes a band part's dQ and dK/dV in one
# kernel of S key tiles a block (strided's band, local; off: 0).
# ST_GPU_WHOLE_SUMMARY_KEYS=1 gives fixed's summary dK/dV kernel the summary
# keys' whole columns and leaves them out of the own-block kernel (no chain).
# ST_GPU_SERPENTINE=0 turns serpentine-heads off (on by default: the kernels
# of a chain alternate the order of their (batch, head) pairs).
# ST_GPU_HEAD_GROUPS=1 turns head-groups on (blocks take their tiles
# tile-major within groups of heads that fill the GPU).
# ST_GPU_CLASS_STATS=0 turns class-stats off (on by default: the strided
# column dK/dV kernels stage lse2 and delta from class-major copies).
# ST_GPU_WALK_START=0 turns walk-start off (on by default: the forward's
# later kernels and the first dQ kernel issue their walk's first copies
# before loading the chain they continue or delta's rows).
# ST_GPU_CUBIN=1 also assembles each module to a cubin for ST_GPU_CHIP and
# points the manifest at it (no JIT compilation when the library loads).
set -euo pipefail
out=${1:?usage: scripts/gpu-kernels.sh OUT_DIR [ST_OPT]}
st_opt=${2:-build/bin/st-opt}
mkdir -p "$out"
src="$out/kernels.mlir"

layouts_full=(
  "dense|#st.dense_causal"
  "local128|#st.local<window = 128>"
  "strided128|#st.strided<stride = 128>"
  "fixed128_32|#st.fixed<stride = 128, summary = 32>"
  "fixedheads128_32|#st.fixed<stride = 128, summary = 32, per_head = true>"
  "union_strided_fixed|#st.union<[#st.strided<stride = 128>, #st.fixed<stride = 128, summary = 32>]>"
  "perhead_strided_local|#st.per_head<[#st.strided<stride = 128>, #st.local<window = 256>]>"
  "strided100|#st.strided<stride = 100>"
)
configs=()
for l in "${layouts_full[@]}"; do
  for dd in 32 64 128; do
    for t in bf16 f16 f32; do
      name="${l%%|*}_d${dd}_${t}"
      # ST_GPU_KERNELS_ONLY (an extended regex) keeps matching sets only.
      if [[ -z "${ST_GPU_KERNELS_ONLY:-}" || "$name" =~ ${ST_GPU_KERNELS_ONLY} ]]; then
        configs+=("$l|$dd|$t")
      fi
    done
  done
done

: > "$src"
for c in "${configs[@]}"; do
  IFS='|' read -r name layout d t <<<"$c"
  ty="tensor<?x?x?x${d}x${t}>"
  cat >>"$src" <<MLIR
func.func @${name}_d${d}_${t}(%q: $ty, %k: $ty, %v: $ty) -> $ty {
  %o = st.attention %q, %k, %v layout($layout) : $ty, $ty, $ty -> $ty
  return %o : $ty
}
MLIR
done
echo "gpu-kernels: compiling ${#configs[@]} attention kernel sets into $out"
chip=${ST_GPU_CHIP:-sm_90}
pipeline="dir=$out chip=$chip"
# Each ST_GPU_<NAME> that is set passes its value to the pipeline option.
for pair in WGMMA_HEAD_DIMS:wgmma-head-dims WGMMA_KEY_TILE:wgmma-key-tile \
  PIPELINED_FORWARD:pipelined-forward CLASS_STATS:class-stats \
  WALK_START:walk-start \
  SERPENTINE:serpentine-heads HEAD_GROUPS:head-groups \
  FORWARD_PRODUCER:forward-producer \
  FORWARD_WARPGROUPS:forward-warpgroups \
  FORWARD_PING_PONG:forward-ping-pong DQ_PRODUCER:dq-producer \
  DKV_PRODUCER:dkv-producer PIPELINED_DQ:pipelined-dq \
  DQ_OWN_BLOCK_DKV:dq-own-block-dkv \
  SPLIT_FORWARD_MIN_N:split-forward-min-n SPAN_FORWARD:span-forward \
  SPAN_DQ:span-dq SPAN_DKV:span-dkv MIXED_DKV:mixed-dkv \
  WHOLE_SUMMARY_KEYS:whole-summary-keys BAND_BACKWARD:band-backward \
  DISCARD_CHAIN:discard-chain PAIRED_BACKWARD:paired-backward; do
  var="ST_GPU_${pair%%:*}"
  if [ -n "${!var:-}" ]; then
    pipeline+=" ${pair#*:}=${!var}"
  fi
done
"$st_opt" "$src" --st-gpu-kernels="$pipeline" -o /dev/null
if command -v /usr/local/cuda/bin/ptxas >/dev/null; then
  for f in "$out"/*.ptx; do
    # ST_GPU_CUBIN=1 keeps ptxas's cubin (the manifest then names it), so
    # that the device loads machine code instead of JIT-compiling the PTX.
    cubin=/dev/null
    [ "${ST_GPU_CUBIN:-0}" = 1 ] && cubin="${f%.ptx}.cubin"
    /usr/local/cuda/bin/ptxas -arch="$chip" -v "$f" -o "$cubin" 2>&1 |
      sed "s|^|$(basename "$f"): |"
  done >"$out/ptxas.txt"
  echo "gpu-kernels: ptxas report in $out/ptxas.txt"
  if [ "${ST_GPU_CUBIN:-0}" = 1 ]; then
    sed -i 's/\("module": *"[^"]*\)\.ptx"/\1.cubin"/' "$out/manifest.json"
    echo "gpu-kernels: the manifest names the $chip cubins"
  fi
elif [ "${ST_GPU_CUBIN:-0}" = 1 ]; then
  echo "gpu-kernels: ST_GPU_CUBIN=1 needs /usr/local/cuda/bin/ptxas" >&2
  exit 1
fi
