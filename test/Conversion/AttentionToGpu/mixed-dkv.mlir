// mixed-dkv: fixed's dK/dV pair (the own blocks, which start the summary
// keys' chains dk_acc and dv_acc, then the summaries, which finish them)
// is one kernel whose blocks take tickets from mix_flags_dkv (SpanOrder.cpp,
// "Mixed"): BH x (summary tiles) x (L / c + 1) tickets, a round of L / c
// own-block tiles and one summary tile. An own-block tile releases its
// flag after its stores; a summary tile walks first and acquires the
// flags of the own-block tiles holding its keys only before it adds the
// chain. The launch waits for the dQ kernel (delta, lse2) on the second
// stream, as the own-block kernel did. Off by default; other layouts
// (strided: residue classes) and per-head summaries keep their kernels.
// paired-backward=0 throughout: the column dQ and dK/dV as separate
// kernels (paired-backward.mlir tests their pair, the default).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 mixed-dkv=1 paired-backward=0" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 paired-backward=0" | FileCheck %s --check-prefix=OFF

// CHECK: st.gpu_manifest
// CHECK-SAME: \22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse2\22,\22delta\22,\22dk\22,\22dv\22,\22dk_acc\22,\22dk_acc_scale\22,\22dv_acc\22,\22dv_acc_scale\22,\22mix_flags_dkv\22,\22N\22,\22H\22]
// CHECK-SAME: \22grid\22:[{\22args\22:[\22BH\22,{\22args\22:[{\22args\22:[{\22args\22:[{\22args\22:[\22N\22,128],\22op\22:\22ceildiv\22},32],\22op\22:\22mul\22},64],\22op\22:\22ceildiv\22},5],\22op\22:\22mul\22}],\22op\22:\22mul\22},1,1]
// CHECK-SAME: \22kernel\22:\22st_attn_fixed_dkv2\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0]}]
// CHECK-SAME: \22name\22:\22mix_flags_dkv\22,\22zeroed\22:true
// The strided entry has its own two dK/dV kernels and no flags.
// CHECK-NOT: mix_flags_dkv
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dkv5\22
// CHECK-LABEL: gpu.func @st_attn_fixed_dkv2(
// CHECK: "atom.relaxed.gpu.add.u32 $0, [$1], $2;"
// CHECK: scf.if %{{.*}} {
// CHECK: wgmma.mma_async
// CHECK: "fence.acq_rel.gpu;\0A\09red.relaxed.gpu.add.u32 [$0], $1;"
// CHECK: } else {
// CHECK: wgmma.mma_async
// CHECK: "ld.acquire.gpu.u32 $0, [$1];"
// CHECK-NOT: wgmma.mma_async
// CHECK: gpu.return
// CHECK-NOT: gpu.func @st_attn_fixed_dkv3(
// CHECK-LABEL: gpu.func @st_attn_strided_dkv4(
// CHECK-NOT: atom.relaxed.gpu
// CHECK-LABEL: gpu.func @st_attn_strided_dkv5(

// OFF-NOT: mix_flags_dkv
// OFF-LABEL: gpu.func @st_attn_fixed_dkv2(
// OFF-NOT: atom.relaxed.gpu
// OFF-LABEL: gpu.func @st_attn_fixed_dkv3(

func.func @fixed(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>,
                 %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

func.func @strided(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>,
                   %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
