// whole-summary-keys: fixed's dK/dV pair with no chain between them. The
// summary kernel (compact key view) takes the summary keys' whole columns,
// their own block's rows too, and stores their final dK, dV; the own-block
// kernel (identity key view) masks the summary columns out (an exclusion)
// and stores only the other keys. So neither reads or writes dk_acc,
// dv_acc (no such scratch), and the summary kernel follows dQ on the first
// stream (launched early, no waits) while the own-block kernel waits for
// dQ on the second: its short tiles fill the summary kernel's tail. On
// by default; strided (band and residue classes) keeps its chain, and so
// does fixed with whole-summary-keys=0.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 whole-summary-keys=0" | FileCheck %s --check-prefix=OFF

// CHECK: st.gpu_manifest
// CHECK-SAME: dk_acc
// CHECK-SAME: \22layout\22:\22#st.strided<stride = 128>\22
// CHECK-SAME: \22kernel\22:\22st_attn_fixed_dq1\22,\22shared_bytes\22:{{[0-9]+}}},
// CHECK-SAME: {\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse2\22,\22delta\22,\22dk\22,\22dv\22,\22N\22,\22H\22],
// CHECK-SAME: \22grid\22:[{\22args\22:[{\22args\22:[{\22args\22:[\22N\22,128],\22op\22:\22ceildiv\22},32],\22op\22:\22mul\22},64],\22op\22:\22ceildiv\22},\22BH\22,1],
// CHECK-SAME: \22kernel\22:\22st_attn_fixed_dkv2\22,\22shared_bytes\22:{{[0-9]+}}},
// CHECK-SAME: {\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse2\22,\22delta\22,\22dk\22,\22dv\22,\22N\22,\22H\22],
// CHECK-SAME: \22grid\22:[{\22args\22:[\22N\22,64],\22op\22:\22ceildiv\22},\22BH\22,1],
// CHECK-SAME: \22kernel\22:\22st_attn_fixed_dkv3\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0]}]
// CHECK-SAME: \22layout\22:\22#st.fixed<stride = 128, summary = 32>\22
// CHECK-NOT: dk_acc
// CHECK: gpu.func @st_attn_fixed_dkv2(%{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: i64, %{{.*}}: i64)
// CHECK: gpu.func @st_attn_fixed_dkv3(%{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: i64, %{{.*}}: i64)

// OFF: \22kernel\22:\22st_attn_fixed_dkv2\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0]},
// OFF-SAME: dk_acc

func.func @strided(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>,
                   %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

func.func @fixed(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>,
                 %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
