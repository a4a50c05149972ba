// A producer warpgroup copies a key tile of 128 rows x 16 chunks as 16
// copies a thread: one chunk column, rows row0 + 8 it. A tile with no
// row past the walk's last key takes every copy's source at a constant
// offset from the first copy's (one address a tile; the offsets become
// immediates in PTX), where the view allows; the last, partial tile
// clamps every row. Identity view (the own block): row offsets 8 it, so
// 1024 it elements at d = 128. Compact view (the summaries, width 32 of
// every 128 positions): a tile must start a window (x0 % 32 == 0); rows
// 0, 8, 16, 24 of the view are positions 0, 8, 16, 24 of the first
// window, rows 32.. are positions 128.. (the next block).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128" --canonicalize --cse | FileCheck %s

// CHECK-LABEL: gpu.func @st_attn_fixed128_fwd0(
// CHECK: nvvm.setmaxregister  decrease 56
// The own block.
// CHECK: scf.for %[[X0:.*]] = {{.*}} step %c128
// CHECK: %[[END:.*]] = arith.addi %[[X0]], %c127 : index
// CHECK: %[[WHOLE:.*]] = arith.cmpi sle, %[[END]], %{{.*}} : index
// CHECK: scf.if %[[WHOLE]] {
// CHECK: nvgpu.device_async_copy %arg1[%[[FIRST:[0-9]+]]]
// CHECK: %[[I1:.*]] = arith.addi %[[FIRST]], %c1024 : index
// CHECK-NEXT: nvgpu.device_async_copy %arg1[%[[I1]]]
// CHECK: %[[I15:.*]] = arith.addi %[[FIRST]], %c15360 : index
// CHECK-NEXT: nvgpu.device_async_copy %arg1[%[[I15]]]
// CHECK: } else {
// CHECK: arith.minsi
// CHECK: nvgpu.device_async_copy %arg1
// The summaries.
// CHECK: scf.for %[[S0:.*]] = %c0 to %{{.*}} step %c128
// CHECK: %[[SEND:.*]] = arith.addi %[[S0]], %c127 : index
// CHECK: %[[SIN:.*]] = arith.cmpi sle, %[[SEND]], %{{.*}} : index
// CHECK: %[[REM:.*]] = arith.remsi %[[S0]], %c32 : index
// CHECK: %[[START:.*]] = arith.cmpi eq, %[[REM]], %c0 : index
// CHECK: %[[SWHOLE:.*]] = arith.andi %[[SIN]], %[[START]] : i1
// CHECK: scf.if %[[SWHOLE]] {
// CHECK: nvgpu.device_async_copy %arg1[%[[SFIRST:[0-9]+]]]
// CHECK: arith.addi %[[SFIRST]], %c1024 : index
// CHECK: arith.addi %[[SFIRST]], %c2048 : index
// CHECK: arith.addi %[[SFIRST]], %c3072 : index
// CHECK: %[[S4:.*]] = arith.addi %[[SFIRST]], %c16384 : index
// CHECK-NEXT: nvgpu.device_async_copy %arg1[%[[S4]]]
// CHECK: arith.addi %[[SFIRST]], %c50176 : index
// CHECK: } else {
// CHECK: nvvm.setmaxregister  increase 224
// Consumers and kernels without a producer copy as before: every row
// clamped, no whole-tile branch.
// CHECK-LABEL: gpu.func @st_attn_fixed128_dkv2(
// CHECK-NOT: arith.addi %{{.*}}, %c1024 : index
// CHECK-LABEL: gpu.func @st_attn_fixed128_dkv3(

func.func @fixed128(%q: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
