// dq-producer=1 (the default): the dQ kernels take the producer split,
// pipelined, where it measured faster: at d = 128 over a long walk (the
// fixed layout's summaries, a compact key view). Strided's dQ kernels
// (short walks) and every d = 64 kernel keep one warpgroup a block; so do
// the forward and dK/dV kernels. dq-producer=0 turns it off.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 dq-producer=0" | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: gpu.func @st_attn_fixed128_fwd0(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_fixed128_dq1(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK: nvvm.setmaxregister  increase 224
// CHECK: wgmma.wait_group.sync.aligned 2
// CHECK-LABEL: gpu.func @st_attn_fixed128_dkv2(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_fixed64_dq1(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_strided128_dq2(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_strided128_dq3(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>

// OFF-LABEL: gpu.func @st_attn_fixed128_dq1(
// OFF-SAME: known_block_size = array<i32: 128, 1, 1>
// OFF-NOT: setmaxregister

func.func @fixed128(%q: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

func.func @fixed64(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

func.func @strided128(%q: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 128>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
