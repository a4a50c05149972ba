// span-dkv=S: strided's dK/dV pair (band keys, which start the chains
// dk_acc and dv_acc, then the key residue classes, which finish them) is
// one span-ordered kernel (SpanOrder.cpp, as span-forward): tickets from
// span_flags_dkv, a flag a span. It reads the class-major statistics of
// the second dQ kernel, so its launch waits for both dQ kernels (on the
// second stream). Its column tiles discard both chains' L2 lines.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 span-dkv=2" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 span-dkv=2 discard-chain=false" | FileCheck %s --check-prefix=KEEP

// CHECK: st.gpu_manifest
// CHECK-SAME: \22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse2\22,\22delta\22,\22dk\22,\22dv\22,\22dk_acc\22,\22dk_acc_scale\22,\22dv_acc\22,\22dv_acc_scale\22,\22lse2_c\22,\22delta_c\22,\22span_flags_dkv\22,\22N\22,\22H\22]
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dkv4\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0,1]
// CHECK-SAME: \22name\22:\22span_flags_dkv\22,\22zeroed\22:true
// CHECK-LABEL: gpu.func @st_attn_strided_fwd1(
// CHECK-LABEL: gpu.func @st_attn_strided_dq3(
// CHECK-LABEL: gpu.func @st_attn_strided_dkv4(
// CHECK: "atom.relaxed.gpu.add.u32 $0, [$1], $2;"
// CHECK: scf.if %{{.*}} {
// CHECK: "fence.acq_rel.gpu;\0A\09red.relaxed.gpu.add.u32 [$0], $1;"
// CHECK: } else {
// CHECK: "ld.acquire.gpu.u32 $0, [$1];"
// CHECK: discard.global.L2
// CHECK: discard.global.L2
// CHECK: gpu.return
// CHECK-NOT: gpu.func @st_attn_strided_dkv5(

// KEEP-LABEL: gpu.func @st_attn_strided_dkv4(
// KEEP: ld.acquire.gpu
// KEEP-NOT: discard.global

func.func @strided(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
                   %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
