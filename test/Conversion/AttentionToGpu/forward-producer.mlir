// forward-producer (with forward-warpgroups=2): a third warpgroup only
// copies the key tiles into four stages tracked by mbarriers (full: the
// producer's 128 threads' copies; empty: the consumers' 256 threads), so
// the two consumer warpgroups never meet at a block barrier. The producer
// gives registers back (setmaxnreg) for the consumers. Not the default;
// not yet run on a GPU (docs/gpu.md, "Not yet").
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 forward-warpgroups=2 forward-producer=true" | FileCheck %s

// CHECK-LABEL: gpu.func @st_attn_f_fwd0(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1
// Thread 0 initialises the stages' barriers, then the block meets once.
// CHECK: mbarrier.init.shared::cta.b64 [$0], $1;", "r,r" %{{.*}}, %c128_i32
// CHECK: mbarrier.init.shared::cta.b64 [$0], $1;", "r,r" %{{.*}}, %c256_i32
// CHECK: gpu.barrier
// The producer warpgroup (wg 2): wait for an empty stage, copy K and V,
// let the full barrier track the copies.
// CHECK: nvvm.setmaxregister  decrease 40
// CHECK: scf.for
// CHECK: mbarrier.try_wait.parity.shared::cta.b64
// CHECK: nvgpu.device_async_copy %arg1
// CHECK: nvgpu.device_async_copy %arg2
// CHECK: cp.async.mbarrier.arrive.noinc.shared::cta.b64
// The consumers: their own Q, a named barrier each, then for every tile
// wait for the full stage, the products, and an arrival on the empty one.
// CHECK: nvvm.setmaxregister  increase 232
// CHECK: nvgpu.device_async_copy %arg0
// CHECK: bar.sync 3, 128;
// CHECK: bar.sync 4, 128;
// CHECK: scf.for
// CHECK: mbarrier.try_wait.parity.shared::cta.b64
// CHECK-NEXT: fence.proxy.async.shared::cta;
// CHECK: wgmma.mma_async
// CHECK: mbarrier.arrive.shared::cta.b64
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return

func.func @f(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
             %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.dense_causal)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
