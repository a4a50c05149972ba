// Programmatic dependent launch (docs/gpu-kernel-abi.md, "early_launch"):
// every kernel copies its row operands (inputs only), then waits for the
// kernel before it on the stream; nothing is read from or written to
// another buffer before the wait. After its tile loops it lets the next
// kernel start. Every launch says
// early_launch, and dependent-launch=false (or a chip before sm_90 in the
// pipeline) leaves both out.
// paired-backward=0 throughout: the column dQ and dK/dV as separate
// kernels (paired-backward.mlir tests their pair, the default).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 paired-backward=0" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 dependent-launch=false paired-backward=0" | FileCheck %s --check-prefix=OFF
// RUN: st-opt %s --convert-st-attention-to-gpu="paired-backward=0" | FileCheck %s --check-prefix=SYNC
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a paired-backward=0" | FileCheck %s --check-prefix=PTX90
// RUN: st-opt %s --st-gpu-kernels="chip=sm_80 paired-backward=0" | FileCheck %s --check-prefix=PTX80

// CHECK-LABEL: module attributes
// CHECK-SAME: \22early_launch\22:true,{{.*}}\22kernel\22:\22st_attn_f_dq2\22
// CHECK-SAME: \22early_launch\22:true,{{.*}}\22kernel\22:\22st_attn_f_dq3\22
// CHECK-SAME: \22early_launch\22:true,{{.*}}\22kernel\22:\22st_attn_f_dkv4\22
// CHECK-SAME: \22early_launch\22:true,{{.*}}\22kernel\22:\22st_attn_f_dkv5\22
// CHECK-SAME: \22forward\22:
// CHECK-SAME: \22early_launch\22:true,{{.*}}\22kernel\22:\22st_attn_f_fwd0\22
// CHECK-SAME: \22early_launch\22:true,{{.*}}\22kernel\22:\22st_attn_f_fwd1\22

// CHECK-LABEL: gpu.func @st_attn_f_fwd0(
// CHECK: nvgpu.device_async_copy %arg0
// CHECK-NOT: {{memref.load|memref.store|vector.load|vector.store}}
// CHECK: nvvm.griddepcontrol wait
// The next kernel may start once every block has left its tile loop.
// CHECK: scf.for
// CHECK: nvvm.griddepcontrol launch_dependents
// CHECK-NOT: nvvm.griddepcontrol
// CHECK-LABEL: gpu.func @st_attn_f_fwd1(
// CHECK: nvgpu.device_async_copy %arg0
// CHECK-NOT: {{memref.load|memref.store|vector.load|vector.store}}
// CHECK: nvvm.griddepcontrol wait
// The chain (lse, o_acc) is read after the wait.
// CHECK: memref.load %arg4
// CHECK-LABEL: gpu.func @st_attn_f_dq2(
// CHECK: nvgpu.device_async_copy %arg3
// CHECK-NOT: {{memref.load|memref.store|vector.load|vector.store}}
// CHECK: nvvm.griddepcontrol wait
// CHECK-LABEL: gpu.func @st_attn_f_dq3(
// CHECK: nvgpu.device_async_copy %arg3
// CHECK-NOT: {{memref.load|memref.store|vector.load|vector.store}}
// CHECK: nvvm.griddepcontrol wait
// CHECK-LABEL: gpu.func @st_attn_f_dkv4(
// CHECK: nvgpu.device_async_copy %arg2
// CHECK-NOT: {{memref.load|memref.store|vector.load|vector.store}}
// CHECK: nvvm.griddepcontrol wait
// CHECK-LABEL: gpu.func @st_attn_f_dkv5(
// CHECK: nvgpu.device_async_copy %arg2
// CHECK-NOT: {{memref.load|memref.store|vector.load|vector.store}}
// CHECK: nvvm.griddepcontrol wait

// OFF-NOT: early_launch
// OFF-NOT: griddepcontrol

// With mma.sync the row operands are register fragments of q (and dout):
// still nothing is stored, and nothing but those inputs is read, before
// the wait.
// SYNC-LABEL: gpu.func @st_attn_f_fwd1(
// SYNC-NOT: {{memref.store|vector.store|load %arg[1-9]}}
// SYNC: nvvm.griddepcontrol wait
// SYNC-LABEL: gpu.func @st_attn_f_dq2(
// SYNC-NOT: {{memref.store|vector.store|load %arg([124-9]|1[0-9])}}
// SYNC: nvvm.griddepcontrol wait
// SYNC-LABEL: gpu.func @st_attn_f_dkv4(
// SYNC-NOT: {{memref.store|vector.store|load %arg(0|[3-9]|1[0-9])}}
// SYNC: nvvm.griddepcontrol wait

// PTX90-COUNT-6: nvvm.griddepcontrol wait
// PTX90-NOT: nvvm.griddepcontrol wait
// PTX80-NOT: griddepcontrol

func.func @f(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
             %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
