// --convert-st-attention-to-gpu: structure-aware tensor-core kernels and
// their launch schedule (st.gpu_manifest, docs/gpu-kernel-abi.md).
// RUN: st-opt %s --convert-st-attention-to-gpu -split-input-file | FileCheck %s
// RUN: st-opt %s --st-gpu-kernels -split-input-file | FileCheck %s --check-prefix=NVVM
// RUN: st-opt %s --convert-st-attention-to-gpu=whole-summary-keys=0 -split-input-file | FileCheck %s --check-prefix=CHAIN

// Strided: the band walks the identity view; the column walks one residue
// class (stride 128) per block, so two forward kernels chained through
// o_acc. Backward: the band's dQ kernel, which also computes delta (and
// lse2) for the others (it takes o and writes delta and lse2), and their
// class-major copies (lse2_c, delta_c: a class's rows adjacent), which the
// column dK/dV tiles stage; the band's dK/dV kernel on the second stream,
// after launch 0; then the column part's dQ and dK/dV as one kernel over
// twice the column view's grid (paired-backward, paired-backward.mlir),
// after it on the same stream.
// CHECK-LABEL: module attributes {gpu.container_module, st.gpu_manifest =
// CHECK-SAME: \22backward\22:[{\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse\22,\22delta\22,\22dq\22,\22o\22,\22lse2\22,\22dq_acc\22,\22dq_acc_scale\22,\22lse2_c\22,\22delta_c\22,\22N\22,\22H\22],{{.*}}\22kernel\22:\22st_attn_strided_dq2\22
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dkv3\22,\22shared_bytes\22:0,\22stream\22:1,\22waits\22:[0]}
// CHECK-SAME: \22grid\22:[{\22args\22:[2,{{.*}}\22kernel\22:\22st_attn_strided_pair4\22,\22shared_bytes\22:0,\22stream\22:1}]
// CHECK-NOT: st_attn_strided_delta
// CHECK-SAME: \22layout\22:\22#st.strided<stride = 128>\22
// The class-major statistics: B * H * 128 * ceil(N / 128) floats each.
// CHECK-SAME: {\22bytes\22:{\22args\22:[{\22args\22:[{\22args\22:[\22BH\22,128],\22op\22:\22mul\22},{\22args\22:[\22N\22,128],\22op\22:\22ceildiv\22}],\22op\22:\22mul\22},4],\22op\22:\22mul\22},\22name\22:\22delta_c\22}
// The chain of 16-bit inputs: f16 values (2-byte elements) and f32 row
// scales.
// CHECK-SAME: \22op\22:\22mul\22},64],\22op\22:\22mul\22},2],\22op\22:\22mul\22},\22element_bytes\22:2,\22name\22:\22o_acc\22},{\22bytes\22:{\22args\22:[{\22args\22:[\22BH\22,\22N\22],\22op\22:\22mul\22},4],\22op\22:\22mul\22},\22name\22:\22o_acc_scale\22}
// CHECK: gpu.module @st_attn_strided
// CHECK: gpu.func @st_attn_strided_fwd0(
// CHECK: scf.for
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
// A key tile inside every row interval of the warp skips the element mask
// (the then-branch yields the scores as they are):
// CHECK: %[[LO:.*]] = arith.cmpi sge, %[[KT:.*]], %{{.*}} : index
// CHECK: %[[END:.*]] = arith.addi %[[KT]], %{{.*}} : index
// CHECK-NEXT: %[[HI:.*]] = arith.cmpi sle, %[[END]], %{{.*}} : index
// CHECK-NEXT: %[[INNER:.*]] = arith.andi %[[LO]], %[[HI]] : i1
// CHECK-NEXT: scf.if %[[INNER]] -> ({{(f32, )+}}f32) {
// CHECK-NEXT: scf.yield
// CHECK-NEXT: } else {
// CHECK: arith.select
// CHECK: gpu.shuffle xor
// p = 2^(s * scale log2(e) - m): one fma and one ex2.approx.ftz a score.
// CHECK: %[[X:.*]] = math.fma %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"(%[[X]]) : (f32) -> f32
// The accumulators are rescaled only when a row of the warp moved its
// reference max (lazy rescaling; a warp vote: with mma.sync the warps
// run their tiles on their own).
// CHECK: %[[ANY:.*]] = nvvm.vote.sync  any %c-1_i32, %{{.*}} -> i1
// CHECK-NEXT: scf.if %[[ANY]] -> ({{(f32, )+}}f32) {
// CHECK-NEXT: arith.mulf
// The band's rows end the kernel as f16 of the row's values over its
// largest magnitude (a quad max), plus that magnitude from lane t = 0:
// CHECK: math.absf
// CHECK: gpu.shuffle xor
// CHECK: gpu.shuffle xor
// CHECK: arith.divf
// CHECK: arith.truncf %{{.*}} : f32 to f16
// written as 16-byte chunks: the quad's pairs of four column tiles are
// transposed (exchanges with lanes t ^ 2, then t ^ 1), so that each lane
// stores one tile whole.
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: vector.store %{{.*}}, %arg5[%{{.*}}] {alignment = 16 : i64} : memref<?xf16>, vector<8xf16>
// CHECK: memref.store %{{.*}}, %arg6[%{{.*}}] : memref<?xf32>
// CHECK: gpu.func @st_attn_strided_fwd1(
// A residue class's row tiles are adjacent block indices, the last ones
// (the longest causal walks) first:
// CHECK: %[[PER:.*]] = arith.ceildivsi %{{.*}}, %c64{{.*}} : index
// CHECK: %[[RES:.*]] = arith.floordivsi %block_id_x, %[[PER]] : index
// CHECK: %[[T:.*]] = arith.remsi %block_id_x, %[[PER]] : index
// CHECK: %[[LAST:.*]] = arith.subi %[[PER]], %c1{{(_[0-9]+)?}} : index
// CHECK-NEXT: %[[TILE:.*]] = arith.subi %[[LAST]], %[[T]] : index
// CHECK: %[[SCALE:.*]] = memref.load %arg6[%{{.*}}] : memref<?xf32>
// CHECK: vector.load %arg5[%{{.*}}] {alignment = 16 : i64} : memref<?xf16>, vector<8xf16>
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: arith.extf %{{.*}} : vector<2xf16> to vector<2xf32>
// CHECK: gpu.func @st_attn_strided_dq2(
// delta of the lane's two rows, read coalesced: two lanes a row, each
// every other 16-byte chunk of o (%arg7) and dout (%arg3) (4 of the 8 at
// d = 64), the pair summed by a shuffle, and each fragment lane fetches
// its rows' sums from lanes 2g and 2g + 16; then delta and lse2 are stored
// from lane t = 0 of valid rows.
// CHECK-COUNT-4: vector.load %arg7[%{{.*}}] {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK-NOT: vector.load %arg7
// CHECK: %[[PAIR:.*]], %{{.*}} = gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: %[[SUM:.*]] = arith.addf %{{.*}}, %[[PAIR]] : f32
// CHECK: %[[D0:.*]], %{{.*}} = gpu.shuffle  idx %[[SUM]]
// CHECK: %[[D1:.*]], %{{.*}} = gpu.shuffle  idx %[[SUM]]
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %arg5[%{{.*}}] : memref<?xf32>
// CHECK-NEXT: memref.store %{{.*}}, %arg8[%{{.*}}] : memref<?xf32>
// Each valid row's delta and lse2 also go to row (class c, view row x) of
// the class-major copies, ((b * H + h) * 128 + c) * ceil(N / 128) + x,
// with c = row % 128 and x = row / 128:
// CHECK: %[[C:.*]] = arith.remsi %[[ROW:.*]], %c128{{.*}} : index
// CHECK-NEXT: %[[X:.*]] = arith.floordivsi %[[ROW]], %c128{{.*}} : index
// CHECK-NEXT: arith.constant 128 : index
// CHECK-NEXT: %[[PER:.*]] = arith.ceildivsi %{{.*}}, %c128{{.*}} : index
// CHECK-NEXT: arith.constant 128 : index
// CHECK-NEXT: %[[BH:.*]] = arith.muli %{{.*}}, %c128{{.*}} : index
// CHECK-NEXT: %[[CLASS:.*]] = arith.addi %[[BH]], %[[C]] : index
// CHECK-NEXT: %[[CLS:.*]] = arith.muli %[[CLASS]], %[[PER]] : index
// CHECK-NEXT: %[[CI:.*]] = arith.addi %[[CLS]], %[[X]] : index
// CHECK-NEXT: memref.store %{{.*}}, %arg12[%[[CI]]] : memref<?xf32>
// CHECK-NEXT: memref.store %{{.*}}, %arg11[%[[CI]]] : memref<?xf32>
// CHECK: gpu.func @st_attn_strided_dkv3(
// p^T from the staged lse2 of the query rows: one 8-byte load for the
// lane's two rows, then one fma a score, no per-score scaling.
// CHECK: %[[PAIR:.*]] = vector.load %{{.*}} {alignment = 8 : i64} : memref<2x64xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK-NEXT: %[[L2:.*]] = vector.extract %[[PAIR]][0] : f32 from vector<2xf32>
// CHECK-NEXT: %[[L2B:.*]] = vector.extract %[[PAIR]][1] : f32 from vector<2xf32>
// CHECK-NEXT: %[[X:.*]] = math.fma %{{.*}}, %{{.*}}, %[[L2]] : f32
// CHECK-NEXT: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"(%[[X]])
// CHECK-NEXT: math.fma %{{.*}}, %{{.*}}, %[[L2B]] : f32
// CHECK: gpu.func @st_attn_strided_pair4(
// The pair's dK/dV tiles stage lse2 and delta from the class-major copies
// (%arg16, %arg17), one row a thread, adjacent rows:
// CHECK: nvgpu.device_async_copy %arg16[%[[SI:.*]]], %{{.*}}, 1 : memref<?xf32>
// CHECK-NEXT: nvgpu.device_async_copy %arg17[%[[SI]]], %{{.*}}, 1 : memref<?xf32>
// CHECK-NOT: gpu.func
// NVVM: llvm.func @st_attn_strided_fwd0
// NVVM: nvvm.mma.sync
// NVVM-NOT: scf.for
func.func @strided(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
                   %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

// -----

// Fixed: own block and summary share the identity query view (one forward
// and one dQ kernel, no o_acc). The dK/dV kernels have no chain
// (whole-summary-keys, the default): the summaries' kernel (dkv2) takes the
// summary keys' whole columns and follows dq1 on the first stream; the own
// block's kernel (dkv3) masks the summary columns out, waits for dq1 (launch
// 0) on the second stream and stores only the keys outside the summaries.
// No scratch is zeroed.
// CHECK-LABEL: module attributes
// CHECK-NOT: o_acc
// CHECK-SAME: \22kernel\22:\22st_attn_fixed_dq1\22,\22shared_bytes\22:0}
// CHECK-SAME: \22kernel\22:\22st_attn_fixed_dkv2\22,\22shared_bytes\22:0}
// CHECK-SAME: \22kernel\22:\22st_attn_fixed_dkv3\22,\22shared_bytes\22:0,\22stream\22:1,\22waits\22:[0]}
// CHECK-NOT: dk_acc
// CHECK-NOT: st_attn_fixed_zero
// CHECK: gpu.module @st_attn_fixed
// CHECK-NEXT: gpu.func @st_attn_fixed_fwd0(
// CHECK: gpu.func @st_attn_fixed_dq1(
// CHECK: gpu.func @st_attn_fixed_dkv2(%arg0: memref<?xf16>, %arg1: memref<?xf16>, %arg2: memref<?xf16>, %arg3: memref<?xf16>, %arg4: memref<?xf32>, %arg5: memref<?xf32>, %arg6: memref<?xf16>, %arg7: memref<?xf16>, %arg8: i64, %arg9: i64)
// dkv3's epilogue: a key row is in a summary when its position mod 64 is
// in [48, 64); only the others are stored, as dK (scaled) and dV.
// CHECK: gpu.func @st_attn_fixed_dkv3(%arg0: memref<?xf16>, %arg1: memref<?xf16>, %arg2: memref<?xf16>, %arg3: memref<?xf16>, %arg4: memref<?xf32>, %arg5: memref<?xf32>, %arg6: memref<?xf16>, %arg7: memref<?xf16>, %arg8: i64, %arg9: i64)
// CHECK-NOT: gpu.func
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK-NOT: gpu.func
// CHECK: %[[R:.*]] = arith.remsi %{{.*}}, %c64{{.*}} : index
// CHECK: %[[GE:.*]] = arith.cmpi sge, %[[R]], %c48{{.*}} : index
// CHECK: %[[LT:.*]] = arith.cmpi slt, %[[R]], %c64{{.*}} : index
// CHECK-NEXT: %[[HELD:.*]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK: %[[NOT:.*]] = arith.xori %[[HELD]], %true{{.*}} : i1
// CHECK-NEXT: %[[END:.*]] = arith.andi %{{.*}}, %[[NOT]] : i1
// CHECK: scf.if %[[END]] {
// CHECK: vector.store %{{.*}}, %arg6[%{{.*}}] {alignment = 16 : i64} : memref<?xf16>, vector<8xf16>
// CHECK: scf.if %[[END]] {
// CHECK: vector.store %{{.*}}, %arg7[%{{.*}}] {alignment = 16 : i64} : memref<?xf16>, vector<8xf16>
// CHECK: gpu.return
// CHECK-NOT: gpu.func @st_attn_fixed_zero
//
// With whole-summary-keys=0 the pair is a chain: the own block's kernel
// (dkv2, second stream, waiting for dq1) ends every key row outside the
// summaries as the final dK, dV and hands the summary rows on through the
// f16 chain (dk_acc, dv_acc) with their row scales, which the summaries'
// kernel (dkv3, after it on the same stream) finishes.
// CHAIN: \22kernel\22:\22st_attn_fixed_dkv2\22,\22shared_bytes\22:0,\22stream\22:1,\22waits\22:[0]}
// CHAIN-SAME: \22kernel\22:\22st_attn_fixed_dkv3\22,\22shared_bytes\22:0,\22stream\22:1}
// CHAIN: gpu.func @st_attn_fixed_dkv2(%arg0: memref<?xf16>, %arg1: memref<?xf16>, %arg2: memref<?xf16>, %arg3: memref<?xf16>, %arg4: memref<?xf32>, %arg5: memref<?xf32>, %arg6: memref<?xf16>, %arg7: memref<?xf16>, %arg8: memref<?xf16>, %arg9: memref<?xf32>, %arg10: memref<?xf16>, %arg11: memref<?xf32>,
// CHAIN-NOT: gpu.func
// CHAIN: %[[R:.*]] = arith.remsi %{{.*}}, %c64{{.*}} : index
// CHAIN: %[[GE:.*]] = arith.cmpi sge, %[[R]], %c48{{.*}} : index
// CHAIN: %[[LT:.*]] = arith.cmpi slt, %[[R]], %c64{{.*}} : index
// CHAIN-NEXT: %[[HELD:.*]] = arith.andi %[[GE]], %[[LT]] : i1
// CHAIN-NEXT: %[[ON:.*]] = arith.andi %{{.*}}, %[[HELD]] : i1
// CHAIN: %[[NOT:.*]] = arith.xori %[[HELD]], %true{{.*}} : i1
// CHAIN-NEXT: %[[END:.*]] = arith.andi %{{.*}}, %[[NOT]] : i1
// CHAIN: scf.if %[[END]] {
// CHAIN: vector.store %{{.*}}, %arg6[%{{.*}}] {alignment = 16 : i64} : memref<?xf16>, vector<8xf16>
// CHAIN: scf.if %[[END]] {
// CHAIN: vector.store %{{.*}}, %arg7[%{{.*}}] {alignment = 16 : i64} : memref<?xf16>, vector<8xf16>
// CHAIN: scf.if %[[ON]] {
// CHAIN: vector.store %{{.*}}, %arg8[%{{.*}}] {alignment = 16 : i64} : memref<?xf16>, vector<8xf16>
// CHAIN: memref.store %{{.*}}, %arg9[%{{.*}}] : memref<?xf32>
// CHAIN: gpu.func @st_attn_fixed_dkv3(
func.func @fixed(%q: tensor<2x8x256x32xf16>, %k: tensor<2x8x256x32xf16>,
                 %v: tensor<2x8x256x32xf16>) -> tensor<2x8x256x32xf16> {
  %o = st.attention %q, %k, %v layout(#st.fixed<stride = 64, summary = 16>)
      : tensor<2x8x256x32xf16>, tensor<2x8x256x32xf16>, tensor<2x8x256x32xf16>
      -> tensor<2x8x256x32xf16>
  return %o : tensor<2x8x256x32xf16>
}

// -----

// Per-head layouts: one kernel set per head of the cycle, each launched
// over B * ceil((H - h) / 2) blocks in y.
// CHECK-LABEL: module attributes
// CHECK-SAME: \22grid\22:[{\22args\22:[\22N\22,64],\22op\22:\22ceildiv\22},{\22args\22:[\22B\22,{\22args\22:[{\22args\22:[\22H\22,1],\22op\22:\22sub\22},2],\22op\22:\22ceildiv\22}],\22op\22:\22mul\22},1]
// CHECK: gpu.func @st_attn_heads_fwd0(
// CHECK: gpu.func @st_attn_heads_dkv2(
// CHECK: gpu.func @st_attn_heads_fwd3(
func.func @heads(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
                 %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v
      layout(#st.per_head<[#st.local<window = 128>, #st.dense_causal]>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

// -----

// f32 inputs run on the tensor cores as tf32: operands rounded with
// cvt.rna, m16n8k8 products, P re-laid out from the accumulator's columns
// (2t, 2t + 1) to the A operand's (t, t + 4) by index shuffles. At d = 128
// two f32 operands of 64 rows would not fit 48 KiB of shared memory, so the
// kernels stage 32-row tiles, one stage deep.
// CHECK-LABEL: module attributes
// CHECK-SAME: \22dtype\22:\22f32\22
// CHECK: gpu.func @st_attn_tf32_fwd0({{.*}}: memref<?xf32>, {{.*}} workgroup(%{{.*}} : memref<1x32x132xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1x32x132xf32, #gpu.address_space<workgroup>>)
// CHECK: nvgpu.device_async_copy {{.*}}, 4 {bypassL1} : memref<?xf32> to memref<1x32x132xf32, #gpu.address_space<workgroup>>
// CHECK: nvvm.convert.float.to.tf32 %{{.*}} {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>}
// CHECK: gpu.shuffle idx
// NVVM: llvm.func @st_attn_tf32_fwd0
// NVVM: nvvm.mma.sync
func.func @tf32(%q: tensor<?x?x?x128xf32>, %k: tensor<?x?x?x128xf32>,
                %v: tensor<?x?x?x128xf32>) -> tensor<?x?x?x128xf32> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x128xf32>, tensor<?x?x?x128xf32>, tensor<?x?x?x128xf32>
      -> tensor<?x?x?x128xf32>
  return %o : tensor<?x?x?x128xf32>
}

// -----

// Dense causal and local: one view, so one kernel per phase and no
// chaining scratch (delta and lse2 only).
// CHECK-LABEL: module attributes
// CHECK-NOT: o_acc
// CHECK-SAME: \22layout\22:\22#st.dense_causal\22
// CHECK-SAME: \22layout\22:\22#st.local<window = 128>\22
// CHECK: gpu.module @st_attn_dense
// CHECK-NEXT: gpu.func @st_attn_dense_fwd0(
// CHECK: gpu.func @st_attn_dense_dq1(
// CHECK: gpu.func @st_attn_dense_dkv2(
// CHECK-NOT: gpu.func
// CHECK: gpu.module @st_attn_local
// CHECK: gpu.func @st_attn_local_fwd0(
// CHECK: gpu.func @st_attn_local_dq1(
// CHECK: gpu.func @st_attn_local_dkv2(
// CHECK-NOT: gpu.func
func.func @dense(%q: tensor<?x?x?x32xbf16>) -> tensor<?x?x?x32xbf16> {
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<?x?x?x32xbf16>, tensor<?x?x?x32xbf16>, tensor<?x?x?x32xbf16>
      -> tensor<?x?x?x32xbf16>
  return %o : tensor<?x?x?x32xbf16>
}
func.func @local(%q: tensor<?x?x?x32xf16>) -> tensor<?x?x?x32xf16> {
  %o = st.attention %q, %q, %q layout(#st.local<window = 128>)
      : tensor<?x?x?x32xf16>, tensor<?x?x?x32xf16>, tensor<?x?x?x32xf16>
      -> tensor<?x?x?x32xf16>
  return %o : tensor<?x?x?x32xf16>
}

// -----

// A union of strided and fixed: the disjoint parts walk two query views
// (positions: band, own block, summaries; residue classes: the column), so
// two forward kernels chained through o_acc. Parts that exclude another
// factor's positions keep the element mask and test the exclusion
// (arith.xori of the excluded factor's membership); the column part has
// none.
// CHECK-LABEL: module attributes
// CHECK-SAME: \22name\22:\22o_acc\22
// CHECK: gpu.module @st_attn_union
// CHECK: gpu.func @st_attn_union_fwd0(
// CHECK: arith.xori
// CHECK: gpu.func @st_attn_union_fwd1(
// CHECK-NOT: arith.xori
// CHECK: gpu.func @st_attn_union_dq2(
// CHECK: gpu.func @st_attn_union_dq3(
// CHECK: gpu.func @st_attn_union_dkv4(
// CHECK: gpu.func @st_attn_union_dkv5(
// CHECK: gpu.func @st_attn_union_dkv6(
// CHECK-NOT: gpu.func @st_attn_union_zero(
func.func @union(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %q, %q
      layout(#st.union<[#st.strided<stride = 128>,
                        #st.fixed<stride = 128, summary = 32>]>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
