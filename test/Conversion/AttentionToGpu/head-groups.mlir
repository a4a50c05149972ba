// head-groups: the blocks of a launch (gridDim.x tiles by gridDim.y head
// rows) take their (tile, head row) pairs tile-major within groups of G
// head rows, G = max(1, ceil(%nsmid * blocks an SM / gridDim.x)), instead
// of head row after head row (KernelEmitter::groupHeads). Blocks an SM:
// the kernel's minctasm hint (the d = 64 warpgroup-MMA kernels: forward
// 5, dQ 4, dK/dV 3), else what 255 registers a thread and the shared
// memory allow (fixed's summary dK/dV at d = 128: 2). Off by default.
// paired-backward=0 throughout: the column dQ and dK/dV as separate
// kernels (paired-backward.mlir tests their pair, the default).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 head-groups=true paired-backward=0" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 paired-backward=0" | FileCheck %s --check-prefix=OFF
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a head-groups=true paired-backward=0" | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: gpu.func @st_attn_s_fwd0(
// CHECK-DAG: %[[BX:.*]] = gpu.block_id x
// CHECK-DAG: %[[BY:.*]] = gpu.block_id y
// CHECK: %[[GX:.*]] = gpu.grid_dim x
// CHECK: %[[GY:.*]] = gpu.grid_dim y
// CHECK: %[[SM:.*]] = nvvm.read.ptx.sreg.nsmid : i32
// CHECK: %[[SMI:.*]] = arith.index_castui %[[SM]] : i32 to index
// CHECK: %[[RES:.*]] = arith.muli %[[SMI]], %c5 : index
// CHECK: %[[CD:.*]] = arith.ceildivsi %[[RES]], %[[GX]]
// CHECK: %[[G:.*]] = arith.maxsi %c1, %[[CD]]
// CHECK: %[[ROWS:.*]] = arith.muli %[[BY]], %[[GX]]
// CHECK: %[[LIN:.*]] = arith.addi %[[ROWS]], %[[BX]]
// CHECK: %[[PER:.*]] = arith.muli %[[G]], %[[GX]]
// CHECK: %[[GRP:.*]] = arith.floordivsi %[[LIN]], %[[PER]]
// CHECK: %[[FIRST:.*]] = arith.muli %[[GRP]], %[[G]]
// CHECK: %[[LEFT:.*]] = arith.subi %[[GY]], %[[FIRST]]
// CHECK: %[[SIZE:.*]] = arith.minsi %[[G]], %[[LEFT]]
// CHECK: %[[IN:.*]] = arith.remsi %[[LIN]], %[[PER]]
// CHECK: %[[TILE:.*]] = arith.floordivsi %[[IN]], %[[SIZE]]
// CHECK: %[[R:.*]] = arith.remsi %[[IN]], %[[SIZE]]
// CHECK: %[[HEAD:.*]] = arith.addi %[[FIRST]], %[[R]]
// CHECK: arith.muli %[[HEAD]], %{{.*}}
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @st_attn_s_dq2(
// CHECK: nvvm.read.ptx.sreg.nsmid
// CHECK-NEXT: arith.index_castui
// CHECK: %[[K4:.*]] = arith.constant 4 : index
// CHECK-NEXT: arith.muli %{{.*}}, %[[K4]] : index
// CHECK-LABEL: gpu.func @st_attn_s_dkv4(
// CHECK: nvvm.read.ptx.sreg.nsmid
// CHECK-NEXT: arith.index_castui
// CHECK: %[[K3:.*]] = arith.constant 3 : index
// CHECK-NEXT: arith.muli %{{.*}}, %[[K3]] : index
// CHECK-LABEL: gpu.func @st_attn_x_dkv3(
// CHECK: nvvm.read.ptx.sreg.nsmid
// CHECK-NEXT: arith.index_castui
// CHECK: %[[K2:.*]] = arith.constant 2 : index
// CHECK-NEXT: arith.muli %{{.*}}, %[[K2]] : index

// OFF-NOT: nvvm.read.ptx.sreg.nsmid

// PTX-LABEL: llvm.func @st_attn_s_fwd0(
// PTX: nvvm.read.ptx.sreg.nsmid

func.func @s(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
             %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

func.func @x(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>,
             %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
