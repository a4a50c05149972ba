// delta-kernel: the backward starts with a kernel that computes delta =
// rowsum(dO * O) and lse2 = min(-lse log2 e, 1e30) for every row (16 rows
// a block at d = 64 in bf16: 8 lanes a row, one 16-byte chunk of O and dO
// each), so the first dQ kernel reads delta instead of computing it (no
// `o` argument) and the dK/dV chain waits for the delta kernel (launch 0)
// instead of the first dQ kernel. With serpentine-heads both chains then
// start reversed. Without the option the first dQ kernel computes delta.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 delta-kernel=true serpentine-heads=true" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64" | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: module attributes
// CHECK-SAME: \22backward\22:[{\22args\22:[\22o\22,\22dout\22,\22lse\22,\22delta\22,\22lse2\22,\22N\22,\22H\22]
// CHECK-SAME: \22grid\22:[{\22args\22:[\22N\22,16],\22op\22:\22ceildiv\22},\22BH\22,1],\22kernel\22:\22st_attn_f_delta2\22
// CHECK-SAME: {\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse\22,\22delta\22,\22dq\22,\22dq_acc\22,
// CHECK-SAME: \22kernel\22:\22st_attn_f_dq3\22
// CHECK-SAME: \22kernel\22:\22st_attn_f_dkv5\22,{{.*}}\22stream\22:1,\22waits\22:[0]}

// CHECK-LABEL: gpu.func @st_attn_f_delta2(
// CHECK: %[[O:.*]] = vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK: %[[DO:.*]] = vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK: vector.reduction <add>
// CHECK-COUNT-3: gpu.shuffle xor
// CHECK: nvvm.griddepcontrol wait
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: memref.load %arg2
// CHECK: arith.minimumf
// CHECK: memref.store %{{.*}}, %arg4
// CHECK: nvvm.griddepcontrol launch_dependents
// CHECK-LABEL: gpu.func @st_attn_f_dq3(
// CHECK: gpu.grid_dim y
// CHECK-NOT: memref.store {{.*}} %arg5
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @st_attn_f_dkv5(
// CHECK: gpu.grid_dim y
// CHECK: gpu.return

// OFF-LABEL: module attributes
// OFF-NOT: delta2
// OFF-SAME: \22kernel\22:\22st_attn_f_dq2\22
// OFF-SAME: \22waits\22:[0]
// OFF-NOT: gpu.func @st_attn_f_delta

func.func @f(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
             %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
