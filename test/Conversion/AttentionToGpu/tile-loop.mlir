// The warpgroup-MMA kernels' tile loop and the forward's block shapes.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 forward-warpgroups=2" | FileCheck %s --check-prefix=TWO
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 pipelined-forward=1" | FileCheck %s --check-prefix=PIPE
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a forward-warpgroups=2 pipelined-forward=1" | FileCheck %s --check-prefix=NVVM

// A long walk (a compact key view: the summaries, dkv2 with
// whole-summary-keys) has one barrier a tile: the wait for the tile ends
// in it, the next tile's copy follows, and no barrier closes the iteration
// (the next one's wait does).
// CHECK-LABEL: gpu.func @st_attn_f_dkv2(
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK-NEXT: fence.proxy.async.shared::cta
// CHECK-NEXT: gpu.barrier
// CHECK: nvgpu.device_async_copy %arg0
// CHECK: nvgpu.device_async_copy %arg3
// CHECK: nvgpu.device_async_create_group
// CHECK-NOT: gpu.barrier
// The wait after the loop (nothing stays in flight past it).
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
// ... while a walk over a band or an own block (dkv3) keeps two stages of
// both operands: it starts the next tile's copy, then waits for this one
// (two groups in flight) and ends with a barrier before the stage is
// refilled.
// CHECK-LABEL: gpu.func @st_attn_f_dkv3(
// CHECK: scf.for
// CHECK: nvgpu.device_async_copy %arg0
// CHECK: nvgpu.device_async_copy %arg3
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// CHECK-NEXT: fence.proxy.async.shared::cta
// CHECK-NEXT: gpu.barrier
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield

// Two warpgroups a forward block: 256 threads over 128 query rows (grid
// ceil(N / 128)); each warpgroup stages its own 64 rows of Q (its view at
// tid / 128 * 8192 bytes) and votes on rescaling at its own named barrier.
// TWO-LABEL: module attributes
// TWO-SAME: \22block\22:[256,1,1],\22early_launch\22:true,\22grid\22:[{\22args\22:[\22N\22,128],\22op\22:\22ceildiv\22}
// TWO-SAME: \22kernel\22:\22st_attn_f_fwd0\22
// TWO-LABEL: gpu.func @st_attn_f_fwd0(
// TWO-SAME: known_block_size = array<i32: 256, 1, 1>
// TWO: %[[TID:.*]] = gpu.thread_id x
// TWO: %[[WG:.*]] = arith.floordivsi %[[TID]], %c128
// TWO: arith.muli %[[WG]], %c8192
// TWO: bar.red.or.pred q, 1, 128
// TWO: bar.red.or.pred q, 2, 128
// The backward keeps one warpgroup a block.
// TWO-LABEL: gpu.func @st_attn_f_dq1(
// TWO-SAME: known_block_size = array<i32: 128, 1, 1>

// The pipelined forward: a prologue computes S_0 alone; then each tile
// issues S_j and P_{j-1} V_{j-1} as two groups, waits for the first only,
// and completes the second after the softmax; an epilogue issues the last
// update.
// PIPE-LABEL: gpu.func @st_attn_f_fwd0(
// PIPE: wgmma.commit_group.sync.aligned;\0Awgmma.wait_group.sync.aligned 0;
// PIPE: scf.for
// PIPE: wgmma.commit_group.sync.aligned;{{.*}}wgmma.commit_group.sync.aligned;\0Awgmma.wait_group.sync.aligned 1;
// PIPE: ex2.approx
// PIPE: "{\0Awgmma.wait_group.sync.aligned 0;
// PIPE: scf.yield
// PIPE: m64n64k16.f32.bf16.bf16 {{.*}}wgmma.wait_group.sync.aligned 0;
// PIPE-LABEL: gpu.func @st_attn_f_dq1(

// Both options through to the NVVM dialect: 256 threads a block, the named
// barriers, the update left in flight.
// NVVM-LABEL: llvm.func @st_attn_f_fwd0(
// NVVM-SAME: nvvm.maxntid = array<i32: 256, 1, 1>
// NVVM: bar.red.or.pred q, 1, 128
// NVVM: wgmma.wait_group.sync.aligned 1;

func.func @f(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
             %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
