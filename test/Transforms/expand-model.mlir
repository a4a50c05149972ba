// --st-expand-model turns st.transformer into named parameters and functions.
// RUN: st-opt %s --st-expand-model -split-input-file | FileCheck %s
// RUN: st-opt %s --st-expand-model=batch=4 -split-input-file | FileCheck %s --check-prefix=STATIC

// Two layers with interleaved layouts, width 64, 2 heads, dropout 0.25.
// Linear weights have std 0.125 / sqrt(d_in); the attention and second
// feed-forward projections are scaled by 1 / sqrt(2 * layers) = 1/2.
// CHECK-LABEL: module
// CHECK-NOT: st.transformer
// CHECK: st.param @tok_emb.weight : tensor<256x64xf32> init(#st.normal<std = 1.562500e-02>)
// CHECK-NEXT: st.param @pos_emb.row.weight : tensor<8x64xf32> init(#st.normal<std = 1.562500e-02>)
// CHECK-NEXT: st.param @pos_emb.col.weight : tensor<16x64xf32> init(#st.normal<std = 1.562500e-02>)
// CHECK-NEXT: st.param @blocks.0.ln1.weight : tensor<64xf32> init(#st.ones)
// CHECK-NEXT: st.param @blocks.0.ln1.bias : tensor<64xf32> init(#st.zeros)
// CHECK-NEXT: st.param @blocks.0.attn.qkv.weight : tensor<192x64xf32> init(#st.normal<std = 1.562500e-02>)
// CHECK-NEXT: st.param @blocks.0.attn.qkv.bias : tensor<192xf32> init(#st.zeros)
// CHECK-NEXT: st.param @blocks.0.attn.proj.weight : tensor<64x64xf32> init(#st.normal<std = 7.812500e-03>)
// CHECK-NEXT: st.param @blocks.0.attn.proj.bias : tensor<64xf32> init(#st.zeros)
// CHECK-NEXT: st.param @blocks.0.ln2.weight : tensor<64xf32> init(#st.ones)
// CHECK-NEXT: st.param @blocks.0.ln2.bias : tensor<64xf32> init(#st.zeros)
// CHECK-NEXT: st.param @blocks.0.mlp.fc1.weight : tensor<256x64xf32> init(#st.normal<std = 1.562500e-02>)
// CHECK-NEXT: st.param @blocks.0.mlp.fc1.bias : tensor<256xf32> init(#st.zeros)
// CHECK-NEXT: st.param @blocks.0.mlp.fc2.weight : tensor<64x256xf32> init(#st.normal<std = 3.906250e-03>)
// CHECK-NEXT: st.param @blocks.0.mlp.fc2.bias : tensor<64xf32> init(#st.zeros)
// CHECK: st.param @blocks.1.mlp.fc2.bias
// CHECK-NEXT: st.param @ln_f.weight : tensor<64xf32> init(#st.ones)
// CHECK-NEXT: st.param @ln_f.bias : tensor<64xf32> init(#st.zeros)
// CHECK-NEXT: st.param @head.weight : tensor<256x64xf32> init(#st.zeros)

// CHECK-LABEL: func.func @small_loss
// CHECK-SAME: (%[[TOK:.*]]: tensor<?x128xi32>, %[[TGT:.*]]: tensor<?x128xi32>, %[[RNG:.*]]: tensor<2xi64>) -> (tensor<f32>, tensor<f32>)
// CHECK: %[[EMB:.*]] = st.embed %[[TOK]]
// CHECK: %[[H0:.*]] = st.pos_embed %[[EMB]], %{{.*}}, %{{.*}} : tensor<?x128x64xf32>, tensor<8x64xf32>, tensor<16x64xf32>
// CHECK: %[[N1:.*]] = st.layer_norm %[[H0]]
// CHECK: %[[QKV:.*]] = st.linear %[[N1]], {{.*}} -> tensor<?x128x192xf32>
// CHECK: tensor.extract_slice %[[QKV]][0, 0, 0]
// CHECK: st.split_heads {{.*}} -> tensor<?x2x128x32xf32>
// CHECK: tensor.extract_slice %[[QKV]][0, 0, 64]
// CHECK: tensor.extract_slice %[[QKV]][0, 0, 128]
// CHECK: %[[ATT:.*]] = st.attention {{.*}} layout(#st.strided<stride = 16>)
// CHECK: %[[MRG:.*]] = st.merge_heads %[[ATT]]
// CHECK: %[[PROJ:.*]] = st.linear %[[MRG]]
// CHECK: %[[DA:.*]] = st.dropout %[[PROJ]], %[[RNG]] {op_id = 0 : i64, rate = 2.500000e-01 : f64}
// CHECK: %[[HA:.*]] = arith.addf %[[H0]], %[[DA]]
// CHECK: %[[N2:.*]] = st.layer_norm %[[HA]]
// CHECK: %[[F1:.*]] = st.linear %[[N2]], {{.*}} -> tensor<?x128x256xf32>
// CHECK: %[[G:.*]] = st.gelu %[[F1]]
// CHECK: %[[F2:.*]] = st.linear %[[G]]
// CHECK: %[[DB:.*]] = st.dropout %[[F2]], %[[RNG]] {op_id = 1 : i64
// CHECK: arith.addf %[[HA]], %[[DB]]
// CHECK: st.attention {{.*}} layout(#st.fixed<stride = 16, summary = 4>)
// CHECK: st.dropout {{.*}} {op_id = 3 : i64
// CHECK: st.layer_norm
// CHECK: %[[LOGITS:.*]] = st.linear %{{.*}}, %{{[0-9]+}} : tensor<?x128x64xf32>, tensor<256x64xf32> -> tensor<?x128x256xf32>
// CHECK: %[[NATS:.*]], %[[BITS:.*]] = st.cross_entropy %[[LOGITS]], %[[TGT]]
// CHECK: return %[[NATS]], %[[BITS]]

// The evaluation function has no dropout.
// CHECK-LABEL: func.func @small_eval
// CHECK-SAME: (%{{.*}}: tensor<?x128xi32>, %{{.*}}: tensor<?x128xi32>) -> (tensor<f32>, tensor<f32>)
// CHECK-NOT: st.dropout
// CHECK: st.cross_entropy

// The logits function returns the output projection.
// CHECK-LABEL: func.func @small_logits
// CHECK-SAME: (%{{.*}}: tensor<?x128xi32>) -> tensor<?x128x256xf32>
// CHECK-NOT: st.dropout
// CHECK-NOT: st.cross_entropy
// CHECK: %[[L:.*]] = st.linear %{{[0-9]+}}, %{{[0-9]+}} : tensor<?x128x64xf32>, tensor<256x64xf32> -> tensor<?x128x256xf32>
// CHECK-NEXT: return %[[L]]

// The decoding step: the byte at the position, the position, a key and a
// value cache per layer; each table's row for the position (row = pos / 16
// mod 8, col = pos mod 16) as a one-row position table; st.attention_row
// against the layer's caches, no dropout; the logits of the row and the
// new key and value rows of every layer.
// CHECK-LABEL: func.func @small_decode
// CHECK-SAME: (%[[DTOK:.*]]: tensor<?x1xi32>, %[[DPOS:.*]]: tensor<i64>, %[[K0:.*]]: tensor<?x2x128x32xf32>, %[[V0:.*]]: tensor<?x2x128x32xf32>, %[[K1:.*]]: tensor<?x2x128x32xf32>, %[[V1:.*]]: tensor<?x2x128x32xf32>) -> (tensor<?x256xf32>, tensor<?x2x1x32xf32>, tensor<?x2x1x32xf32>, tensor<?x2x1x32xf32>, tensor<?x2x1x32xf32>)
// CHECK-NOT: st.dropout
// CHECK: %[[PI64:.*]] = tensor.extract %[[DPOS]][] : tensor<i64>
// CHECK: %[[P:.*]] = arith.index_cast %[[PI64]] : i64 to index
// CHECK: %[[DEMB:.*]] = st.embed %[[DTOK]], %{{.*}} : tensor<?x1xi32>, tensor<256x64xf32> -> tensor<?x1x64xf32>
// CHECK: %[[RQ:.*]] = arith.divui %[[P]], %c16
// CHECK: %[[R:.*]] = arith.remui %[[RQ]], %c8
// CHECK: %[[ROW:.*]] = tensor.extract_slice %{{.*}}[%[[R]], 0] [1, 64] [1, 1] : tensor<8x64xf32> to tensor<1x64xf32>
// CHECK: %[[CQ:.*]] = arith.divui %[[P]], %c1
// CHECK: %[[C:.*]] = arith.remui %[[CQ]], %c16
// CHECK: %[[COL:.*]] = tensor.extract_slice %{{.*}}[%[[C]], 0] [1, 64] [1, 1] : tensor<16x64xf32> to tensor<1x64xf32>
// CHECK: st.pos_embed %[[DEMB]], %[[ROW]], %[[COL]] : tensor<?x1x64xf32>, tensor<1x64xf32>, tensor<1x64xf32>
// CHECK: %[[DQ0:.*]] = st.split_heads {{.*}} -> tensor<?x2x1x32xf32>
// CHECK: %[[DK0:.*]] = st.split_heads {{.*}} -> tensor<?x2x1x32xf32>
// CHECK: %[[DV0:.*]] = st.split_heads {{.*}} -> tensor<?x2x1x32xf32>
// CHECK: st.attention_row %[[DQ0]], %[[DK0]], %[[DV0]], %[[K0]], %[[V0]], %[[P]] layout(#st.strided<stride = 16>) : tensor<?x2x1x32xf32>, tensor<?x2x128x32xf32> -> tensor<?x2x1x32xf32>
// CHECK: %[[DQ1:.*]] = st.split_heads {{.*}} -> tensor<?x2x1x32xf32>
// CHECK: %[[DK1:.*]] = st.split_heads {{.*}} -> tensor<?x2x1x32xf32>
// CHECK: %[[DV1:.*]] = st.split_heads {{.*}} -> tensor<?x2x1x32xf32>
// CHECK: st.attention_row %[[DQ1]], %[[DK1]], %[[DV1]], %[[K1]], %[[V1]], %[[P]] layout(#st.fixed<stride = 16, summary = 4>)
// CHECK: %[[DL:.*]] = st.linear %{{.*}}, %{{[0-9]+}} : tensor<?x1x64xf32>, tensor<256x64xf32> -> tensor<?x1x256xf32>
// CHECK: %[[DLC:.*]] = tensor.collapse_shape %[[DL]] {{\[}}[0], [1, 2]] : tensor<?x1x256xf32> into tensor<?x256xf32>
// CHECK: return %[[DLC]], %[[DK0]], %[[DV0]], %[[DK1]], %[[DV1]]

// STATIC-LABEL: func.func @small_loss
// STATIC-SAME: tensor<4x128xi32>
// STATIC-NOT: tensor.dim
// STATIC: st.split_heads {{.*}} : tensor<4x128x64xf32> -> tensor<4x2x128x32xf32>
// STATIC-LABEL: func.func @small_decode
// STATIC-SAME: tensor<4x1xi32>
// STATIC: st.attention_row {{.*}} : tensor<4x2x1x32xf32>, tensor<4x2x128x32xf32> -> tensor<4x2x1x32xf32>
module {
  st.transformer @small vocab = 256, context = 128, width = 64, heads = 2,
      layers = 2, ff_mult = 4, dropout = 0.25, position = [8, 16],
      layouts = [#st.strided<stride = 16>, #st.fixed<stride = 16, summary = 4>]
}

// -----

// Without dropout there is no st.dropout even in the training function;
// GELU may be the paper's approximation; per-head layouts pass through.
// CHECK-LABEL: func.func @plain_loss
// CHECK-NOT: st.dropout
// CHECK: st.attention {{.*}} layout(#st.per_head<[#st.local<window = 8>, #st.dense_causal]>)
// CHECK: st.gelu %{{.*}} {approximate}
module {
  st.transformer @plain vocab = 16, context = 32, width = 8, heads = 2,
      layers = 1, ff_mult = 2, dropout = 0.0, position = [4, 2, 4],
      layouts = [#st.per_head<[#st.local<window = 8>, #st.dense_causal]>]
      {approximate_gelu}
}
