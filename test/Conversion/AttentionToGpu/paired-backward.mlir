// paired-backward: strided's column part is one residue part for both
// backward passes, so its last dQ kernel and its last dK/dV kernel become
// one kernel (SpanOrder.cpp, "Paired") over twice the view's grid: even
// blocks take the dQ tiles (they finish dq_acc into dq), odd blocks the
// dK/dV tiles of the same class (they finish dk_acc, dv_acc into dk, dv).
// It runs on the second stream after the band's dK/dV kernel (which waited
// for the band's dQ: delta, lse2, dq_acc), or on the first after the
// fused band backward. Its dK/dV tiles read the class-major statistics
// (class-stats), which the band's dQ kernel writes: its own dQ tiles, which
// would have, run beside them. After the fused band backward, which does
// not write them, the statistics are read row-major. paired-backward=1 is
// the default (session 24: fwd+bwd 0.95-0.96 of the separate kernels' time
// at n = 4096 and 16384 on an H100, the same at 65536).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 paired-backward=1" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 paired-backward=1 band-backward=32" | FileCheck %s --check-prefix=BAND
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 paired-backward=1 span-dq=1" | FileCheck %s --check-prefix=SPAN
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 paired-backward=0" | FileCheck %s --check-prefix=OFF

// CHECK: st.gpu_manifest
// CHECK-SAME: \22backward\22:[{\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse\22,\22delta\22,\22dq\22,\22o\22,\22lse2\22,\22dq_acc\22,\22dq_acc_scale\22,\22lse2_c\22,\22delta_c\22,\22N\22,\22H\22]
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dq2\22
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dkv3\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0]}
// CHECK-SAME: {\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse2\22,\22delta\22,\22dk\22,\22dv\22,\22lse\22,\22dq\22,\22dq_acc\22,\22dq_acc_scale\22,\22dk_acc\22,\22dk_acc_scale\22,\22dv_acc\22,\22dv_acc_scale\22,\22lse2_c\22,\22delta_c\22,\22N\22,\22H\22]
// CHECK-SAME: \22grid\22:[{\22args\22:[2,{\22args\22:[128,{\22args\22:[{\22args\22:[\22N\22,128],\22op\22:\22ceildiv\22},64],\22op\22:\22ceildiv\22}],\22op\22:\22mul\22}],\22op\22:\22mul\22},\22BH\22,1]
// CHECK-SAME: \22kernel\22:\22st_attn_strided_pair4\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1}]
// CHECK-SAME: \22name\22:\22delta_c\22
// The band's dQ kernel writes the class-major copies: delta_c is argument
// 12, lse2_c 11.
// CHECK-LABEL: gpu.func @st_attn_strided_dq2(
// CHECK: memref.store %{{.*}}, %arg12[
// CHECK-NEXT: memref.store %{{.*}}, %arg11[
// CHECK-NOT: gpu.func @st_attn_strided_dq3(
// CHECK-LABEL: gpu.func @st_attn_strided_dkv3(
// The pair: dq_acc is argument 10, dq 9, dk_acc 12, dv_acc 14, dk 6,
// lse2_c 16; only its dK/dV tiles stage statistics.
// CHECK-LABEL: gpu.func @st_attn_strided_pair4(
// CHECK: %[[KIND:.*]] = arith.remsi %block_id_x, %c2
// CHECK: %[[ISDQ:.*]] = arith.cmpi eq, %[[KIND]]
// CHECK: arith.floordivsi %block_id_x
// CHECK: scf.if %[[ISDQ]] {
// CHECK-NOT: %arg16[
// CHECK: vector.load %arg10[
// CHECK-NOT: vector.load %arg12[
// CHECK-NOT: %arg16[
// CHECK: vector.store %{{.*}}, %arg9[
// CHECK-NOT: %arg16[
// CHECK: } else {
// CHECK-NOT: vector.store %{{.*}}, %arg9[
// CHECK: vector.load %arg12[
// CHECK: vector.load %arg14[
// CHECK: nvgpu.device_async_copy %arg16[
// CHECK-NOT: vector.store %{{.*}}, %arg9[
// CHECK: vector.store %{{.*}}, %arg6[
// CHECK-NOT: vector.store %{{.*}}, %arg9[
// CHECK: gpu.return
// CHECK-NOT: gpu.func @st_attn_strided_dkv5(

// After the fused band backward, which wrote every chain and statistic it
// reads, the pair follows it on the first stream.
// BAND-NOT: lse2_c
// BAND: \22kernel\22:\22st_attn_strided_bwd2\22
// BAND-SAME: \22kernel\22:\22st_attn_strided_pair3\22,\22shared_bytes\22:{{[0-9]+}}}]

// span-dq keeps its span-ordered dQ kernel, and dK/dV their chain.
// SPAN-NOT: pair
// SPAN: gpu.func @st_attn_strided_dq2(
// SPAN-NOT: pair
// SPAN: gpu.func @st_attn_strided_dkv4(

// OFF-NOT: pair
// OFF: lse2_c
// OFF-NOT: pair
// OFF: gpu.func @st_attn_strided_dq3(
// OFF-NOT: pair
// OFF: gpu.func @st_attn_strided_dkv5(

func.func @strided(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>,
                   %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
