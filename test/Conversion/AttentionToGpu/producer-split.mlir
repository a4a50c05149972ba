// The producer split where it measured faster: at d = 128 over a long
// walk (the fixed layout's summaries, a compact key view), the forward
// (forward-producer=1, the default) and the dQ kernels (dq-producer=1, the
// default, pipelined) are blocks of two consumer warpgroups and a
// producer warpgroup; the split forward walks 128-key tiles (three stages
// of 128 x 128). Strided's kernels (short walks), every d = 64 kernel and
// the dK/dV kernels (dkv-producer=0) keep one warpgroup a block.
// paired-backward=0 throughout: the column dQ and dK/dV as separate
// kernels (paired-backward.mlir tests their pair, the default).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 paired-backward=0" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 forward-producer=0 dq-producer=0 paired-backward=0" | FileCheck %s --check-prefix=OFF
// dkv-producer: the dK/dV kernel's producer copies the query tiles, Q and
// dO, and their rows' lse2 and delta (4-byte copies) after waiting for the
// first dQ kernel (which writes them); it gives the consumers all it can
// (24 registers; 240 each for the two 64 x d accumulators).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 dkv-producer=1 paired-backward=0" | FileCheck %s --check-prefix=DKV

// CHECK-LABEL: gpu.func @st_attn_fixed128_fwd0(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1
// CHECK: memref<3x16384xbf16
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK: nvvm.setmaxregister  increase 224
// CHECK: scf.for {{.*}} step %c128
// CHECK-LABEL: gpu.func @st_attn_fixed128_dq1(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1
// CHECK: memref<4x8192xbf16
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK: nvvm.setmaxregister  increase 224
// CHECK: wgmma.wait_group.sync.aligned 2
// CHECK-LABEL: gpu.func @st_attn_fixed128_dkv2(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_fixed128_dkv3(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_fixed64_fwd0(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_fixed64_dq1(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_strided128_fwd0(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_strided128_fwd1(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_strided128_dq2(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_strided128_dq3(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// A union splits its fixed group's kernels (the identity query view with
// the summaries) and not its strided columns' (a residue view).
// CHECK-LABEL: gpu.func @st_attn_union128_fwd0(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_union128_fwd1(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_union128_dq2(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>
// CHECK-LABEL: gpu.func @st_attn_union128_dq3(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>

// OFF-LABEL: gpu.func @st_attn_fixed128_fwd0(
// OFF-SAME: known_block_size = array<i32: 128, 1, 1>
// OFF-NOT: setmaxregister
// OFF-LABEL: gpu.func @st_attn_fixed128_dq1(
// OFF-SAME: known_block_size = array<i32: 128, 1, 1>
// OFF-NOT: setmaxregister

// Only the summaries' dK/dV kernel (dkv3) walks a compact key view.
// DKV-LABEL: gpu.func @st_attn_fixed128_dkv2(
// DKV-SAME: known_block_size = array<i32: 128, 1, 1>
// DKV-LABEL: gpu.func @st_attn_fixed128_dkv3(
// DKV-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1
// Q and dO (four stages), then the stages' lse2 and delta.
// DKV: memref<4x8192xbf16
// DKV: memref<4x8192xbf16
// DKV: memref<4x64xf32
// DKV: memref<4x64xf32
// DKV: nvvm.setmaxregister  decrease 24
// DKV-NEXT: nvvm.griddepcontrol  wait
// DKV: scf.for
// DKV: mbarrier.try_wait.parity.shared::cta.b64
// DKV: nvgpu.device_async_copy %arg0
// DKV: nvgpu.device_async_copy %arg3
// DKV: nvgpu.device_async_copy %arg4{{.*}}, 1 :
// DKV: nvgpu.device_async_copy %arg5{{.*}}, 1 :
// DKV: cp.async.mbarrier.arrive.noinc.shared::cta.b64
// DKV: nvvm.setmaxregister  increase 240
// Each consumer its own K and V, at its named barrier.
// DKV: nvgpu.device_async_copy %arg1
// DKV: nvgpu.device_async_copy %arg2
// DKV: bar.sync 3, 128;
// DKV: bar.sync 4, 128;
// DKV: scf.for
// DKV: mbarrier.try_wait.parity.shared::cta.b64
// DKV-NEXT: fence.proxy.async.shared::cta;
// DKV: wgmma.mma_async
// DKV: mbarrier.arrive.shared::cta.b64
// DKV-NOT: gpu.barrier
// DKV: gpu.return
// DKV-LABEL: gpu.func @st_attn_fixed64_dkv3(
// DKV-SAME: known_block_size = array<i32: 128, 1, 1>

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

func.func @union128(%q: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %q, %q
      layout(#st.union<[#st.strided<stride = 128>,
                        #st.fixed<stride = 128, summary = 32>]>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
