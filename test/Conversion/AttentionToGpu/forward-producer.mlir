// forward-producer=2 (every forward kernel; the default, 1, splits only
// where it pays: producer-split.mlir): a third warpgroup only
// copies the key tiles into four stages tracked by mbarriers (full: the
// producer's 128 threads' copies; empty: the consumers' 256 threads), so
// the two consumer warpgroups never meet at a block barrier. The producer
// gives registers back (setmaxnreg) for the consumers (docs/gpu.md, "A
// producer warpgroup"). Unpipelined, it walks 128-key tiles.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 forward-producer=2" | FileCheck %s
// With pipelined-forward, each consumer holds two stages: S_j and the
// update by tile j - 1 in one block, which releases tile j - 1's stage once
// the update completes. With forward-ping-pong the consumers take turns
// at issuing products: warpgroup 1 gives warpgroup 0 the first turn; each
// issue waits at named barrier 5 + wg (a register id) and passes the
// turn inside the MMA block, before its wait, so that nothing touches the
// in-flight accumulators between blocks.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 forward-producer=2 pipelined-forward=true forward-ping-pong=true" | FileCheck %s --check-prefix=PING
// dq-producer gives the dQ kernel the same split (the forward keeps its
// default block): the producer copies K and V, the consumers stage their
// own Q and dO and wait for them at their named barrier.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 dq-producer=2 pipelined-dq=false" | FileCheck %s --check-prefix=DQ
// pipelined-dq: a tile's S and dP are issued with the previous tile's
// update dQ += dS K (three groups; S waited for), dP completes after P's
// exponentials, the update after dS, and then the previous stage is
// released.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 dq-producer=2" | FileCheck %s --check-prefix=PDQ

// CHECK-LABEL: gpu.func @st_attn_f_fwd0(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1
// Thread 0 initialises the stages' barriers, then the block meets once.
// CHECK: mbarrier.init.shared::cta.b64 [$0], $1;", "r,r" %{{.*}}, %c128_i32
// CHECK: mbarrier.init.shared::cta.b64 [$0], $1;", "r,r" %{{.*}}, %c256_i32
// CHECK: gpu.barrier
// The producer warpgroup (wg 2): wait for an empty stage, copy K and V,
// let the full barrier track the copies.
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK: scf.for
// CHECK: mbarrier.try_wait.parity.shared::cta.b64
// CHECK: nvgpu.device_async_copy %arg1
// CHECK: nvgpu.device_async_copy %arg2
// CHECK: cp.async.mbarrier.arrive.noinc.shared::cta.b64
// The consumers: their own Q, a named barrier each, then for every tile
// wait for the full stage, the products, and an arrival on the empty one.
// CHECK: nvvm.setmaxregister  increase 224
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

// PING-LABEL: gpu.func @st_attn_f_fwd0(
// PING: nvvm.setmaxregister  increase 224
// PING: "bar.arrive 5, 256;"
// Prologue: S_0 in the first turn.
// PING: mbarrier.try_wait.parity.shared::cta.b64
// PING: "bar.sync $0, 256;"
// PING: wgmma.commit_group.sync.aligned;\0Abar.arrive $[[#]], 256;\0Awgmma.wait_group.sync.aligned 0
// PING: scf.for
// PING: mbarrier.try_wait.parity.shared::cta.b64
// PING: "bar.sync $0, 256;"
// PING: wgmma.commit_group.sync.aligned;\0Awgmma.mma_async{{.*}}wgmma.commit_group.sync.aligned;\0Abar.arrive $[[#]], 256;\0Awgmma.wait_group.sync.aligned 1
// PING: wgmma.wait_group.sync.aligned 0
// PING: mbarrier.arrive.shared::cta.b64
// PING: scf.yield
// Epilogue: the last tile's update, then its stage is released.
// PING: "bar.sync $0, 256;"
// PING: bar.arrive $[[#]], 256;\0Awgmma.wait_group.sync.aligned 0
// PING: mbarrier.arrive.shared::cta.b64
// PING-NOT: gpu.barrier
// PING: gpu.return

// DQ-LABEL: gpu.func @st_attn_f_fwd0(
// DQ-SAME: known_block_size = array<i32: 128, 1, 1>
// DQ-NOT: setmaxregister
// DQ-LABEL: gpu.func @st_attn_f_dq1(
// DQ-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1
// DQ: mbarrier.init.shared::cta.b64
// DQ: nvvm.setmaxregister  decrease 56
// DQ: cp.async.mbarrier.arrive.noinc.shared::cta.b64
// DQ: nvvm.setmaxregister  increase 224
// DQ: nvgpu.device_async_copy %arg0
// DQ: nvgpu.device_async_copy %arg3
// DQ: bar.sync 3, 128;
// DQ: scf.for
// DQ: mbarrier.try_wait.parity.shared::cta.b64
// DQ: wgmma.mma_async
// DQ: mbarrier.arrive.shared::cta.b64
// DQ-NOT: gpu.barrier
// DQ: gpu.return
// DQ-LABEL: gpu.func @st_attn_f_dkv2(
// DQ-SAME: known_block_size = array<i32: 128, 1, 1>

// PDQ-LABEL: gpu.func @st_attn_f_dq1(
// PDQ: nvvm.setmaxregister  increase 224
// PDQ: mbarrier.try_wait.parity.shared::cta.b64
// PDQ: wgmma.wait_group.sync.aligned 1
// PDQ: wgmma.wait_group.sync.aligned 0
// PDQ: scf.for
// PDQ: mbarrier.try_wait.parity.shared::cta.b64
// PDQ: wgmma.commit_group.sync.aligned;\0Awgmma.mma_async{{.*}}wgmma.commit_group.sync.aligned;\0Awgmma.mma_async{{.*}}wgmma.commit_group.sync.aligned;\0Awgmma.wait_group.sync.aligned 2
// PDQ: wgmma.wait_group.sync.aligned 1
// PDQ: wgmma.wait_group.sync.aligned 0
// PDQ: mbarrier.arrive.shared::cta.b64
// PDQ: scf.yield
// PDQ: wgmma.wait_group.sync.aligned 0
// PDQ: mbarrier.arrive.shared::cta.b64
// PDQ-NOT: gpu.barrier
// PDQ: gpu.return

func.func @f(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
             %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.dense_causal)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
