// band-backward=S: where the first dQ and dK/dV groups are one band part
// (identity views, a bounded window), one kernel computes both, and delta
// and lse2 (BackwardKernels.cpp, emitBandBackward): one block a segment of
// S key tiles (grid ceil(ceil(N / 64) / S) x BH), a 64 x 64 dS tile and
// floor((w + 62) / 64) = 2 dQ carries of 64 rows in its shared memory: in
// f32 with two stages of Q and dO at d = 64 (92160 bytes, two blocks an
// SM), in f16 with their scales and one stage at d = 128 (66048 bytes of
// staging, 8192 of dS, 32768 of carries, 4096 of scales, 1024 of
// alignment: two blocks an SM, where f32 and two stages took 174080).
// The strided columns' dQ kernel then follows it on
// the first stream and their dK/dV kernel waits for both (the chains, the
// class-major statistics). A layout that is a band alone (local) has no
// chain: the kernel stores dq, dk, dv. f32 (mma.sync) keeps its kernels.
// paired-backward=0 throughout: the column dQ and dK/dV as separate
// kernels (paired-backward.mlir tests their pair, the default).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 band-backward=8 paired-backward=0" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64,128 paired-backward=0" | FileCheck %s --check-prefix=OFF

// CHECK: st.gpu_manifest
// CHECK-SAME: {\22backward\22:[{\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse\22,\22delta\22,\22dq\22,\22o\22,\22lse2\22,\22dk\22,\22dv\22,\22dq_acc\22,\22dq_acc_scale\22,\22dk_acc\22,\22dk_acc_scale\22,\22dv_acc\22,\22dv_acc_scale\22,\22N\22,\22H\22],
// CHECK-SAME: \22grid\22:[{\22args\22:[{\22args\22:[\22N\22,64],\22op\22:\22ceildiv\22},8],\22op\22:\22ceildiv\22},\22BH\22,1],\22kernel\22:\22st_attn_strided_bwd2\22,\22shared_bytes\22:112128},
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dq3\22,\22shared_bytes\22:{{[0-9]+}}},
// CHECK-SAME: \22kernel\22:\22st_attn_strided_dkv4\22,\22shared_bytes\22:{{[0-9]+}},\22stream\22:1,\22waits\22:[0,1]}]
// CHECK-SAME: {\22backward\22:[{\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse\22,\22delta\22,\22dq\22,\22o\22,\22lse2\22,\22dk\22,\22dv\22,\22N\22,\22H\22],
// CHECK-SAME: \22kernel\22:\22st_attn_local_bwd1\22,\22shared_bytes\22:92160}],
// CHECK-SAME: \22kernel\22:\22st_attn_stridedf32_dq2\22
// CHECK-SAME: \22kernel\22:\22st_attn_stridedf32_dkv5\22

// The fused kernel: the staged tiles, the dS tile, the f16 carries and
// their scales; delta and lse2 stored, then a GPU-scope fence before the
// walk stages them. A pair: S and dP, dV's product, dS^T stored
// transposed (the swizzle's XOR) while it runs, dK's product; then, for
// the segment's own query tiles, dQ's product in two halves of d (64
// columns each, N = 64) into the carry.
// CHECK-LABEL: gpu.func @st_attn_strided_bwd2(
// CHECK-SAME: nvvm.minctasm = 2
// CHECK: memref.view {{.*}} to memref<1x4096xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<16384xf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<1024xf32, #gpu.address_space<workgroup>>
// CHECK: "fence.acq_rel.gpu;"
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: arith.xori
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: "fence.proxy.async.shared::cta;"
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16
// CHECK-LABEL: gpu.func @st_attn_local_bwd1(
// CHECK-SAME: nvvm.minctasm = 2

// OFF-NOT: _bwd
// OFF: st_attn_strided_dq2
// OFF-NOT: _bwd

func.func @strided(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>,
                   %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

func.func @local(%q: tensor<?x?x?x64xf16>, %k: tensor<?x?x?x64xf16>,
                 %v: tensor<?x?x?x64xf16>) -> tensor<?x?x?x64xf16> {
  %o = st.attention %q, %k, %v layout(#st.local<window = 128>)
      : tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16>
      -> tensor<?x?x?x64xf16>
  return %o : tensor<?x?x?x64xf16>
}

func.func @stridedf32(%q: tensor<?x?x?x64xf32>, %k: tensor<?x?x?x64xf32>,
                      %v: tensor<?x?x?x64xf32>) -> tensor<?x?x?x64xf32> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>
      -> tensor<?x?x?x64xf32>
  return %o : tensor<?x?x?x64xf32>
}
