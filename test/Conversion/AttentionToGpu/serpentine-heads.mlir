// serpentine-heads: the kernels of a chain alternate the order in which
// their blocks take the (batch, head) pairs (blockIdx.y counted from the
// end in every other one), so that each starts on the heads that the one
// before it touched last. Strided has two kernels a pass: the forward's
// and dQ's second kernels are reversed; the dK/dV chain starts reversed
// (it runs beside the second dQ kernel) and its second kernel is not.
// It is the default; off, no kernel reads gridDim.
// paired-backward=0 throughout: the column dQ and dK/dV as separate
// kernels (paired-backward.mlir tests their pair, the default).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 paired-backward=0" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 serpentine-heads=false paired-backward=0" | FileCheck %s --check-prefix=OFF
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a paired-backward=0" | FileCheck %s --check-prefix=PTX
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a serpentine-heads=false paired-backward=0" | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: gpu.func @st_attn_f_fwd0(
// CHECK-NOT: gpu.grid_dim
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @st_attn_f_fwd1(
// CHECK: %[[BY:.*]] = gpu.block_id y
// CHECK: %[[GY:.*]] = gpu.grid_dim y
// CHECK: %[[LAST:.*]] = arith.subi %[[GY]], %{{.*}}
// CHECK: arith.subi %[[LAST]], %[[BY]]
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @st_attn_f_dq2(
// CHECK-NOT: gpu.grid_dim
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @st_attn_f_dq3(
// CHECK: gpu.grid_dim y
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @st_attn_f_dkv4(
// CHECK: gpu.grid_dim y
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @st_attn_f_dkv5(
// CHECK-NOT: gpu.grid_dim
// CHECK: gpu.return

// OFF-NOT: gpu.grid_dim

// PTX-LABEL: llvm.func @st_attn_f_fwd1(
// PTX: nvvm.read.ptx.sreg.nctaid.y

func.func @f(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
             %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
