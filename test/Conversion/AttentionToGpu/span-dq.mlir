// span-dq=S: strided's dQ pair (the band, which computes delta and lse2
// and starts the chain dq_acc, then the residue classes, which read them
// and finish it) is one span-ordered kernel (SpanOrder.cpp): tickets from
// span_flags_dq, a flag a span. The dK/dV kernels wait for it (it also
// writes the class-major statistics). Its column tiles discard dq_acc's
// L2 lines.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 span-dq=2" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 span-dq=1 span-dkv=1" | FileCheck %s --check-prefix=BOTH

// CHECK: st.gpu_manifest
// CHECK-SAME: \22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse\22,\22delta\22,\22dq\22,\22o\22,\22lse2\22,\22dq_acc\22,\22dq_acc_scale\22,\22lse2_c\22,\22delta_c\22,\22span_flags_dq\22,\22N\22,\22H\22]
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dq2\22
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dkv3\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0]}
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dkv4\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0]}
// CHECK-SAME: \22name\22:\22span_flags_dq\22,\22zeroed\22:true
// CHECK-LABEL: gpu.func @st_attn_strided_dq2(
// CHECK: "atom.relaxed.gpu.add.u32 $0, [$1], $2;"
// CHECK: "fence.acq_rel.gpu;\0A\09red.relaxed.gpu.add.u32 [$0], $1;"
// CHECK: "ld.acquire.gpu.u32 $0, [$1];"
// CHECK: discard.global.L2
// CHECK: gpu.return
// CHECK-NOT: gpu.func @st_attn_strided_dq3(

// Both: one dQ kernel, then one dK/dV kernel that waits for it.
// BOTH: \22kernel\22:\22st_attn_strided_dq2\22
// BOTH-SAME: \22kernel\22:\22st_attn_strided_dkv3\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0]}],
// BOTH-SAME: \22name\22:\22span_flags_dq\22,\22zeroed\22:true},{\22bytes\22:{{.*}}\22name\22:\22span_flags_dkv\22,\22zeroed\22:true}


func.func @strided(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
                   %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
