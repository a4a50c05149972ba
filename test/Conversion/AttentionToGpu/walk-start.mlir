// A forward kernel that continues a chain and the first dQ kernel issue
// their walk's first copies before they load the walk's initial state
// (KernelEmitter::startWalk): the loads then overlap the copies instead of
// holding them back by a round trip to memory. Strided's column forward
// continues the band's chain; its first dQ kernel reads O and dO for
// delta. The backward's later kernels (the column dQ and dK/dV) load their
// chains first.
// paired-backward=0 throughout: the column dQ and dK/dV as separate
// kernels (paired-backward.mlir tests their pair, the default).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 paired-backward=0" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 walk-start=false paired-backward=0" | FileCheck %s --check-prefix=OFF

// The column forward: after the wait for the band's kernel, a barrier and
// the first key tile's copies (k, v), then its rows' lse and the o_acc
// chain, then the walk.
// CHECK-LABEL: gpu.func @st_attn_s_fwd1(
// CHECK-SAME: %[[K:arg1]]: memref<?xbf16>, %[[V:arg2]]: memref<?xbf16>
// CHECK-SAME: %[[LSE:arg4]]: memref<?xf32>, %[[OACC:arg5]]: memref<?xf16>
// CHECK: nvvm.griddepcontrol wait
// CHECK-NOT: memref.load %[[LSE]]
// CHECK-NOT: vector.load %[[OACC]]
// CHECK: gpu.barrier
// CHECK: nvgpu.device_async_copy %[[K]]
// CHECK: nvgpu.device_async_copy %[[V]]
// CHECK: nvgpu.device_async_create_group
// CHECK: memref.load %[[LSE]]
// CHECK: vector.load %[[OACC]]
// CHECK: scf.for

// The band's dQ (the first dQ kernel): the first key tile's copies, then
// delta's rows of dO and O.
// CHECK-LABEL: gpu.func @st_attn_s_dq2(
// CHECK-SAME: %[[K2:arg1]]: memref<?xbf16>
// CHECK-SAME: %[[O:arg7]]: memref<?xbf16>
// CHECK: nvvm.griddepcontrol wait
// CHECK-NOT: vector.load %[[O]]
// CHECK: nvgpu.device_async_copy %[[K2]]
// CHECK: nvgpu.device_async_create_group
// CHECK: vector.load %[[O]]
// CHECK: scf.for

// The column dQ continues the dq_acc chain and loads it first (slower
// with its walk started first over short walks), then the barrier and the
// first key tile's copies.
// CHECK-LABEL: gpu.func @st_attn_s_dq3(
// CHECK-SAME: %[[K3:arg1]]: memref<?xbf16>
// CHECK-SAME: %[[DQACC:arg7]]: memref<?xf16>
// CHECK: nvvm.griddepcontrol wait
// CHECK-NOT: nvgpu.device_async_copy %[[K3]]
// CHECK: vector.load %[[DQACC]]
// CHECK: gpu.barrier
// CHECK: nvgpu.device_async_copy %[[K3]]
// CHECK: scf.for

// The band's dK/dV starts from zero: no load before its walk.
// CHECK-LABEL: gpu.func @st_attn_s_dkv4(
// CHECK-NOT: vector.load
// CHECK: scf.for

// The column dK/dV keeps the order of before (slower with its walk
// started first): the dk_acc chain, then the barrier and the first query
// tile's copies (q, dout).
// CHECK-LABEL: gpu.func @st_attn_s_dkv5(
// CHECK-SAME: %[[Q:arg0]]: memref<?xbf16>
// CHECK-SAME: %[[DKACC:arg8]]: memref<?xf16>
// CHECK: nvvm.griddepcontrol wait
// CHECK-NOT: nvgpu.device_async_copy %[[Q]]
// CHECK: vector.load %[[DKACC]]
// CHECK: gpu.barrier
// CHECK: nvgpu.device_async_copy %[[Q]]
// CHECK: scf.for

// walk-start=false: the chain's loads, then the barrier and the copies.
// OFF-LABEL: gpu.func @st_attn_s_fwd1(
// OFF-SAME: %[[K:arg1]]: memref<?xbf16>
// OFF-SAME: %[[OACC:arg5]]: memref<?xf16>
// OFF: nvvm.griddepcontrol wait
// OFF: vector.load %[[OACC]]
// OFF: gpu.barrier
// OFF: nvgpu.device_async_copy %[[K]]
// OFF: scf.for

func.func @s(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
             %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
