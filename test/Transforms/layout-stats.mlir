// --st-layout-stats reports nonzeros, density, tile classes and FLOPs.
// RUN: st-opt %s --st-layout-stats -split-input-file | FileCheck %s
// RUN: st-opt %s --st-layout-stats=annotate -split-input-file -o - | FileCheck %s --check-prefix=ANNOTATE
// RUN: st-opt %s --st-layout-stats="tile-sizes=16" -split-input-file | FileCheck %s --check-prefix=TILE16

// Fixed l = 128, c = 32 at n = 16384, one head: own blocks contribute
// 128 * (128 * 129 / 2) = 1056768 and summaries 128 * 32 * (0 + ... + 127)
// = 33292288 positions. With 128-tiles every key tile up to the diagonal
// holds summary columns or the causal own block (partial: 128 * 129 / 2 =
// 8256) and the rest of the 128 x 128 grid is empty (8128). With 64-tiles,
// the tile left of the diagonal inside each block is full (128), odd key
// tiles below the diagonal hold summaries (2 * (0 + ... + 127) = 16256, plus
// 256 diagonal tiles partial) and even ones are empty.
// CHECK-LABEL: st.attention loc(
// CHECK-NEXT: layout: #st.fixed<stride = 128, summary = 32>
// CHECK-NEXT: pattern: block(128) | summary(128, [96, 128))
// CHECK-NEXT: shape: batch 1 heads 1 length 16384 head_dim 64
// CHECK-NEXT: nonzeros: 34349056 (all heads), density 0.255905
// CHECK-NEXT: tiles 64x64: empty 48896 full 128 partial 16512
// CHECK-NEXT: tiles 128x128: empty 8128 full 0 partial 8256
// CHECK-NEXT: flops: fwd 8.7934E+09 fwd+bwd 3.0777E+10
// ANNOTATE: st.attention {{.*}} {st.density = 0.2559{{[0-9]*}} : f64, st.nonzeros = 34349056 : i64}
// TILE16: tiles 16x16: empty
// TILE16-NOT: tiles 64x64
func.func @fixed(%q: tensor<1x1x16384x64xf32>) -> tensor<1x1x16384x64xf32> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<1x1x16384x64xf32>, tensor<1x1x16384x64xf32>, tensor<1x1x16384x64xf32> -> tensor<1x1x16384x64xf32>
  return %o : tensor<1x1x16384x64xf32>
}

// -----

// Strided l = 64 at n = 4096 over 2 heads and batch 2: per head the band has
// 64 * 65 / 2 + (4096 - 64) * 64 = 260128 and the column beyond the band
// sum_i floor(i / 64) = 64 * (0 + ... + 63) = 129024 positions; density
// 389152 / (4096 * 4097 / 2). The batch multiplies only the FLOPs.
// CHECK-LABEL: st.attention loc(
// CHECK-NEXT: layout: #st.strided<stride = 64>
// CHECK-NEXT: pattern: band(64) | column(64)
// CHECK-NEXT: shape: batch 2 heads 2 length 4096 head_dim 32
// CHECK-NEXT: nonzeros: 778304 (all heads), density 0.046379
// CHECK: flops: fwd 1.9925E+08 fwd+bwd 6.9736E+08
func.func @strided(%q: tensor<2x2x4096x32xf32>) -> tensor<2x2x4096x32xf32> {
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 64>)
      : tensor<2x2x4096x32xf32>, tensor<2x2x4096x32xf32>, tensor<2x2x4096x32xf32> -> tensor<2x2x4096x32xf32>
  return %o : tensor<2x2x4096x32xf32>
}

// -----

// Dense causal at n = 1000 (not a multiple of the tiles): n (n + 1) / 2 =
// 500500 per head, density 1. Diagonal tiles are partial, tiles below full.
// CHECK-LABEL: st.attention loc(
// CHECK-NEXT: layout: #st.dense_causal
// CHECK: nonzeros: 1001000 (all heads), density 1.000000
// CHECK-NEXT: tiles 64x64: empty 240 full 240 partial 32
// CHECK-NEXT: tiles 128x128: empty 56 full 56 partial 16
func.func @dense(%q: tensor<1x2x1000x16xf16>) -> tensor<1x2x1000x16xf16> {
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<1x2x1000x16xf16>, tensor<1x2x1000x16xf16>, tensor<1x2x1000x16xf16> -> tensor<1x2x1000x16xf16>
  return %o : tensor<1x2x1000x16xf16>
}

// -----

// Per-head fixed summaries: heads use different sub-blocks but have the
// same number of positions.
// CHECK-LABEL: st.attention loc(
// CHECK-NEXT: layout: #st.fixed<stride = 128, summary = 32, per_head = true>
// CHECK-NEXT: pattern: per-head[block(128) | summary(128, [96, 128)); block(128) | summary(128, [64, 96)); block(128) | summary(128, [32, 64)); block(128) | summary(128, [0, 32))]
// CHECK: nonzeros: 274792448 (all heads)
func.func @per_head(%q: tensor<1x8x16384x64xbf16>) -> tensor<1x8x16384x64xbf16> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 128, summary = 32, per_head = true>)
      : tensor<1x8x16384x64xbf16>, tensor<1x8x16384x64xbf16>, tensor<1x8x16384x64xbf16> -> tensor<1x8x16384x64xbf16>
  return %o : tensor<1x8x16384x64xbf16>
}

// -----

// The Fashion-MNIST model's attention: strided l = 28 (not a power of two)
// at n = 784 with the batch left dynamic, as model expansion leaves it. Per
// head the band has 28 * 29 / 2 + (784 - 28) * 28 = 21574 and the column
// beyond the band 28 * (0 + ... + 27) = 10584 positions: 32158 of
// 784 * 785 / 2 = 307720. The batch prints as `?` and no FLOPs are given.
// CHECK-LABEL: st.attention loc(
// CHECK-NEXT: layout: #st.strided<stride = 28>
// CHECK-NEXT: pattern: band(28) | column(28)
// CHECK-NEXT: shape: batch ? heads 2 length 784 head_dim 32
// CHECK-NEXT: nonzeros: 64316 (all heads), density 0.104504
// CHECK-NOT: flops
func.func @strided_dynamic_batch(%q: tensor<?x2x784x32xf32>) -> tensor<?x2x784x32xf32> {
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 28>)
      : tensor<?x2x784x32xf32>, tensor<?x2x784x32xf32>, tensor<?x2x784x32xf32> -> tensor<?x2x784x32xf32>
  return %o : tensor<?x2x784x32xf32>
}
