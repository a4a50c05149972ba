// dq-own-block-dkv: where the dQ kernel has the producer split (blocks of
// 128 query rows) and the first dK/dV kernel's part is a block inside
// those rows (fixed's own block of 128), the dQ kernel also computes that
// part's dK and dV after its dQ: it takes dk, dv and the dK/dV chain, its
// consumers hold 240 registers (the producer 24), the two consumer
// warpgroups meet at named barrier 7 (their lse2 and delta in the row-stat
// tiles), and the own-block dK/dV kernel is not emitted. The summaries'
// dK/dV kernel continues the chain (it loads dk_acc and dv_acc) and waits
// for the dQ kernel. Layouts without such a block (strided), or whose dQ
// is not split (f32), keep their kernels; so does the default (off).
// paired-backward=0 throughout: the column dQ and dK/dV as separate
// kernels (paired-backward.mlir tests their pair, the default).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 dq-own-block-dkv=1 paired-backward=0" | FileCheck %s
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a dq-own-block-dkv=1 paired-backward=0" | FileCheck %s --check-prefix=PIPE
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 paired-backward=0" | FileCheck %s --check-prefix=OFF

// The manifest (an escaped JSON string).
// CHECK-LABEL: module attributes
// CHECK-SAME: \22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse\22,\22delta\22,\22dq\22,\22o\22,\22lse2\22,\22dk\22,\22dv\22,\22dk_acc\22,\22dk_acc_scale\22,\22dv_acc\22,\22dv_acc_scale\22,\22N\22,\22H\22],\22block\22:[384,1,1]
// CHECK-SAME: \22kernel\22:\22st_attn_fixed128_dq1\22
// The summaries' kernel is the only dK/dV kernel: compact key view.
// CHECK-SAME: \22grid\22:[{\22args\22:[{\22args\22:[{\22args\22:[\22N\22,128],\22op\22:\22ceildiv\22},32],\22op\22:\22mul\22},64],\22op\22:\22ceildiv\22},\22BH\22,1],\22kernel\22:\22st_attn_fixed128_dkv2\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0]}],\22dtype\22:\22bf16\22
// Strided keeps its four backward kernels.
// CHECK-SAME: \22kernel\22:\22st_attn_strided128_dq2\22
// CHECK-SAME: \22kernel\22:\22st_attn_strided128_dq3\22
// CHECK-SAME: \22kernel\22:\22st_attn_strided128_dkv4\22
// CHECK-SAME: \22kernel\22:\22st_attn_strided128_dkv5\22
// f32: mma.sync, no split, both dK/dV kernels.
// CHECK-SAME: \22kernel\22:\22st_attn_fixed128f32_dq1\22
// CHECK-SAME: \22kernel\22:\22st_attn_fixed128f32_dkv2\22
// CHECK-SAME: \22kernel\22:\22st_attn_fixed128f32_dkv3\22
// CHECK-LABEL: gpu.func @st_attn_fixed128_dq1(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: nvvm.setmaxregister  increase 240
// CHECK: "bar.sync 7, 256;"
// The own block's dK and dV: S^T and dP^T (K and V against the staged
// Q and dO), then dV and dK.
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK-LABEL: gpu.func @st_attn_fixed128_dkv2(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-NOT: gpu.func @st_attn_fixed128_dkv3(
// CHECK-LABEL: gpu.func @st_attn_strided128_dq2(
// CHECK-NOT: bar.sync 7
// CHECK-LABEL: gpu.func @st_attn_strided128_dkv5(

// PIPE-LABEL: module attributes
// PIPE-SAME: \22dk_acc\22,\22dk_acc_scale\22,\22dv_acc\22,\22dv_acc_scale\22,\22N\22,\22H\22],\22block\22:[384,1,1]
// PIPE-SAME: \22kernel\22:\22st_attn_fixed128_dq1\22
// PIPE-NOT: st_attn_fixed128_dkv3

// OFF-LABEL: module attributes
// OFF-SAME: \22kernel\22:\22st_attn_fixed128_dq1\22
// OFF-SAME: \22kernel\22:\22st_attn_fixed128_dkv2\22
// OFF-SAME: \22kernel\22:\22st_attn_fixed128_dkv3\22
// OFF-LABEL: gpu.func @st_attn_fixed128_dq1(
// OFF-NOT: bar.sync 7
// OFF: nvvm.setmaxregister  increase 224
// OFF-LABEL: gpu.func @st_attn_fixed128_dkv2(

func.func @fixed128(%q: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

func.func @strided128(%q: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 128>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

func.func @fixed128f32(%q: tensor<?x?x?x128xf32>) -> tensor<?x?x?x128xf32> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x128xf32>, tensor<?x?x?x128xf32>, tensor<?x?x?x128xf32>
      -> tensor<?x?x?x128xf32>
  return %o : tensor<?x?x?x128xf32>
}
