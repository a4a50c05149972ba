// paired-backward=2: a band part's first dQ and dK/dV kernels are one
// kernel too (SpanOrder.cpp, "Paired"; emitPairedBand). Its blocks take
// tickets from pair_flags_bwd (zeroed: the counter, then a flag a query
// tile a head): BH x (2 ceil(N / 64) + halo + 128) tickets, the halo the
// query tiles after its own that a key tile's band reaches (2 for a window
// of 128, 4 for 256), 128 the lag (paired-band-lag) that lets a dK/dV tile's
// dQ tiles finish before it starts. A dQ tile (it computes delta and lse2) releases its
// flag after its stores; a dK/dV tile acquires its band's flags before
// its first product. Strided's column pair then follows on the first
// stream: nothing runs on the second. Local (one band part) has no chain:
// its pair writes dq, dk and dv. Strided's pair writes the class-major
// statistics that the column pair's dK/dV tiles read.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 paired-backward=2" | FileCheck %s
// paired-band-lag sets the lag: halo + lag tiles in the grid (2 + 32 for
// strided, 4 + 32 for local), and the same count in the tickets' decode.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 paired-backward=2 paired-band-lag=32" | FileCheck %s --check-prefix=LAG
// LAG: \22op\22:\22mul\22},34],\22op\22:\22add\22}
// LAG-SAME: \22kernel\22:\22st_attn_strided_pair2\22
// LAG: \22op\22:\22mul\22},36],\22op\22:\22add\22}
// LAG-SAME: \22kernel\22:\22st_attn_local_pair{{[0-9]+}}\22

// CHECK: st.gpu_manifest
// CHECK-SAME: \22backward\22:[{\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse\22,\22delta\22,\22dq\22,\22o\22,\22lse2\22,\22dk\22,\22dv\22,\22dq_acc\22,\22dq_acc_scale\22,\22dk_acc\22,\22dk_acc_scale\22,\22dv_acc\22,\22dv_acc_scale\22,\22lse2_c\22,\22delta_c\22,\22pair_flags_bwd\22,\22N\22,\22H\22]
// CHECK-SAME: \22grid\22:[{\22args\22:[\22BH\22,{\22args\22:[{\22args\22:[2,{\22args\22:[\22N\22,64],\22op\22:\22ceildiv\22}],\22op\22:\22mul\22},130],\22op\22:\22add\22}],\22op\22:\22mul\22},1,1]
// CHECK-SAME: \22kernel\22:\22st_attn_strided_pair2\22,\22shared_bytes\22:{{[0-9]+}}}
// CHECK-SAME: \22kernel\22:\22st_attn_strided_pair3\22,\22shared_bytes\22:{{[0-9]+}}}]
// CHECK-NOT: stream
// CHECK-SAME: \22layout\22:\22#st.strided<stride = 128>\22
// CHECK-SAME: {\22bytes\22:{\22args\22:[{\22args\22:[1,{\22args\22:[\22BH\22,{\22args\22:[\22N\22,64],\22op\22:\22ceildiv\22}],\22op\22:\22mul\22}],\22op\22:\22add\22},4],\22op\22:\22mul\22},\22name\22:\22pair_flags_bwd\22,\22zeroed\22:true}
// The local entry: its pair's grid has a halo of 4 (and the lag), and no
// chains.
// CHECK-SAME: \22backward\22:[{\22args\22:[\22q\22,\22k\22,\22v\22,\22dout\22,\22lse\22,\22delta\22,\22dq\22,\22o\22,\22lse2\22,\22dk\22,\22dv\22,\22pair_flags_bwd\22,\22N\22,\22H\22]
// CHECK-SAME: \22op\22:\22mul\22},132],\22op\22:\22add\22}
// CHECK-SAME: \22kernel\22:\22st_attn_local_pair{{[0-9]+}}\22,\22shared_bytes\22:{{[0-9]+}}}]
// CHECK-LABEL: gpu.func @st_attn_strided_pair2(
// CHECK: "atom.relaxed.gpu.add.u32 $0, [$1], $2;"
// CHECK: scf.if %{{.*}} {
// CHECK: scf.if %{{.*}} {
// The dQ tile's class-major statistics (delta_c: argument 18, lse2_c 17).
// CHECK: memref.store %{{.*}}, %arg18[
// CHECK-NEXT: memref.store %{{.*}}, %arg17[
// CHECK: wgmma.mma_async
// CHECK: "fence.acq_rel.gpu;\0A\09red.relaxed.gpu.add.u32 [$0], $1;"
// CHECK: } else {
// CHECK-NOT: wgmma.mma_async
// CHECK: "ld.acquire.gpu.u32 $0, [$1];"
// CHECK: wgmma.mma_async
// CHECK-NOT: ld.acquire
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @st_attn_strided_pair3(
// CHECK-NOT: ld.acquire
// CHECK: gpu.return
// CHECK-NOT: gpu.func @st_attn_strided_dq
// CHECK-NOT: gpu.func @st_attn_strided_dkv
// CHECK-LABEL: gpu.func @st_attn_local_pair

func.func @strided(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>,
                   %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

func.func @local(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>,
                 %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.local<window = 256>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
