// Where forward-producer=1 splits the forward (d = 128 over a long walk),
// the module also carries the forward kernel without the split
// (`<name>_short`: one warpgroup a block, 64 query rows), and the
// manifest gates the two grids on the sequence length: the split's grid x
// is multiplied by min(1, max(0, N - (T - 1))), the short kernel's by
// min(1, max(0, T - N)), T = split-forward-min-n (16384 by default), so
// exactly one of them is non-empty at any N and the runtime skips the
// other. split-forward-min-n=0 keeps the split at every N; layouts the
// rule does not split (strided) and forward-producer=2 have one kernel.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 split-forward-min-n=4096" | FileCheck %s --check-prefix=T4K
// The pipeline passes the option (and its default) through to the pass.
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a split-forward-min-n=4096" | FileCheck %s --check-prefix=T4K
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a" | FileCheck %s --check-prefix=PIPE
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 split-forward-min-n=0" | FileCheck %s --check-prefix=NONE
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 forward-producer=2" | FileCheck %s --check-prefix=NONE

// The manifest (an escaped JSON string): the split kernel gated on N >=
// 16384, then the short one on N < 16384, in the forward list.
// CHECK-LABEL: module attributes
// CHECK-SAME: \22block\22:[384,1,1],\22early_launch\22:true,\22grid\22:[{\22args\22:[{\22args\22:[\22N\22,128],\22op\22:\22ceildiv\22},{\22args\22:[1,{\22args\22:[0,{\22args\22:[\22N\22,16383],\22op\22:\22sub\22}],\22op\22:\22max\22}],\22op\22:\22min\22}],\22op\22:\22mul\22},\22BH\22,1],\22kernel\22:\22st_attn_fixed128_fwd0\22
// CHECK-SAME: \22block\22:[128,1,1],\22early_launch\22:true,\22grid\22:[{\22args\22:[{\22args\22:[\22N\22,64],\22op\22:\22ceildiv\22},{\22args\22:[1,{\22args\22:[0,{\22args\22:[16384,\22N\22],\22op\22:\22sub\22}],\22op\22:\22max\22}],\22op\22:\22min\22}],\22op\22:\22mul\22},\22BH\22,1],\22kernel\22:\22st_attn_fixed128_fwd0_short\22
// The strided forward is not split: its grids are not gated.
// CHECK-SAME: \22grid\22:[{\22args\22:[\22N\22,64],\22op\22:\22ceildiv\22},\22BH\22,1],\22kernel\22:\22st_attn_strided128_fwd0\22
// CHECK-NOT: strided128_fwd0_short
// CHECK-SAME: \22grid\22:[{\22args\22:[\22N\22,64],\22op\22:\22ceildiv\22},\22BH\22,1],\22kernel\22:\22st_attn_fixed128f32_fwd0\22
// CHECK-NOT: fixed128f32_fwd0_short
// CHECK-LABEL: gpu.func @st_attn_fixed128_fwd0(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK-LABEL: gpu.func @st_attn_fixed128_fwd0_short(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-NOT: setmaxregister
// CHECK-LABEL: gpu.func @st_attn_fixed128_dq1(
// CHECK-LABEL: gpu.func @st_attn_strided128_fwd0(
// CHECK-NOT: gpu.func @st_attn_strided128_fwd0_short(
// f32 inputs take mma.sync, never the split: one forward kernel.
// CHECK-LABEL: gpu.func @st_attn_fixed128f32_fwd0(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-NOT: gpu.func @st_attn_fixed128f32_fwd0_short(

// T4K-LABEL: module attributes
// T4K-SAME: {\22args\22:[\22N\22,4095],\22op\22:\22sub\22}
// T4K-SAME: \22kernel\22:\22st_attn_fixed128_fwd0\22
// T4K-SAME: {\22args\22:[4096,\22N\22],\22op\22:\22sub\22}
// T4K-SAME: \22kernel\22:\22st_attn_fixed128_fwd0_short\22

// PIPE-LABEL: module attributes
// PIPE-SAME: {\22args\22:[\22N\22,16383],\22op\22:\22sub\22}
// PIPE-SAME: \22kernel\22:\22st_attn_fixed128_fwd0\22

// NONE-LABEL: module attributes
// NONE-NOT: _short
// NONE-NOT: \22op\22:\22min\22
// NONE-LABEL: gpu.func @st_attn_fixed128_fwd0(
// NONE-NOT: gpu.func @st_attn_fixed128_fwd0_short(

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
