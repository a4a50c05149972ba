// class-stats: where a layout walks its query rows in residue classes of
// one stride L, the dQ kernel over that view also writes its rows' lse2
// and delta class-major (lse2_c, delta_c: B * H * L * ceil(N / L) floats)
// and the dK/dV kernel over it stages them from there, waiting for that
// dQ kernel. Off, or with a pattern per head, neither buffer exists.
// paired-backward=0 throughout: the column dQ and dK/dV as separate
// kernels (paired-backward.mlir tests their pair, the default).
// RUN: st-opt %s --convert-st-attention-to-gpu="paired-backward=0" -split-input-file | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="class-stats=false paired-backward=0" -split-input-file | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: module attributes
// CHECK-SAME: \22lse2_c\22,\22delta_c\22,\22N\22,\22H\22],{{.*}}\22kernel\22:\22st_attn_s100_dq3\22
// CHECK-SAME: \22lse2_c\22,\22delta_c\22,\22N\22,\22H\22],{{.*}}\22kernel\22:\22st_attn_s100_dkv5\22,\22shared_bytes\22:0,\22stream\22:1,\22waits\22:[1]}
// CHECK-SAME: {\22args\22:[{\22args\22:[{\22args\22:[\22BH\22,100],\22op\22:\22mul\22},{\22args\22:[\22N\22,100],\22op\22:\22ceildiv\22}],\22op\22:\22mul\22},4],\22op\22:\22mul\22},\22name\22:\22delta_c\22}
// OFF-LABEL: module attributes
// OFF-NOT: _c\22
// OFF-SAME: \22kernel\22:\22st_attn_s100_dkv5\22,\22shared_bytes\22:0,\22stream\22:1}
// OFF-NOT: _c\22
func.func @s100(%q: tensor<?x?x?x32xf16>, %k: tensor<?x?x?x32xf16>,
                %v: tensor<?x?x?x32xf16>) -> tensor<?x?x?x32xf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 100>)
      : tensor<?x?x?x32xf16>, tensor<?x?x?x32xf16>, tensor<?x?x?x32xf16>
      -> tensor<?x?x?x32xf16>
  return %o : tensor<?x?x?x32xf16>
}

// -----

// A pattern per head: each head group has its own kernels, and the
// statistics stay in position order.
// CHECK-LABEL: module attributes
// CHECK-NOT: _c\22
// CHECK: gpu.module @st_attn_heads
func.func @heads(%q: tensor<?x?x?x32xf16>, %k: tensor<?x?x?x32xf16>,
                 %v: tensor<?x?x?x32xf16>) -> tensor<?x?x?x32xf16> {
  %o = st.attention %q, %k, %v layout(#st.per_head<[#st.strided<stride = 128>, #st.local<window = 256>]>)
      : tensor<?x?x?x32xf16>, tensor<?x?x?x32xf16>, tensor<?x?x?x32xf16>
      -> tensor<?x?x?x32xf16>
  return %o : tensor<?x?x?x32xf16>
}
