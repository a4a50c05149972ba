// --st-autodiff builds @m_grad from @m_loss with each op's gradient rule.
// RUN: st-opt %s --st-expand-model --st-autodiff | FileCheck %s

// The loss function stays; @m_grad returns (nats, bits) then one gradient
// per st.param in declaration order.
// CHECK-LABEL: func.func @m_loss
// CHECK-LABEL: func.func @m_grad
// CHECK-SAME: (%[[TOK:.*]]: tensor<?x8xi32>, %[[TGT:.*]]: tensor<?x8xi32>, %[[RNG:.*]]: tensor<2xi64>)
// CHECK-SAME: -> (tensor<f32>, tensor<f32>, tensor<16x8xf32>, tensor<2x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<24x8xf32>, tensor<24xf32>
// Attention keeps its log-sum-exp for the backward pass.
// CHECK: %[[ATT:.*]], %[[LSE:.*]] = st.attention %[[Q:.*]], %[[K:.*]], %[[V:.*]] layout(#st.strided<stride = 4>) {{.*}} -> tensor<?x2x8x4xf32>, tensor<?x2x8xf32>
// CHECK: %[[NATS:.*]], %[[BITS:.*]] = st.cross_entropy %[[LOGITS:.*]], %[[TGT]]
// The seed is d loss / d nats = 1; bits gets no gradient (zeros).
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DL:.*]] = st.cross_entropy_grad %[[LOGITS]], %[[TGT]], %[[ONE]], %{{.*}}
// CHECK: %{{.*}}, %[[DHEAD:.*]], %{{.*}} = st.linear_grad %{{.*}}, %{{.*}}, %[[DL]]
// CHECK: st.layer_norm_grad
// Dropout's adjoint is the same mask.
// CHECK: st.dropout %{{.*}}, %[[RNG]] {op_id = 1 : i64, rate = 1.000000e-01 : f64}
// CHECK: st.gelu_grad
// Two uses of the residual stream: gradients are summed.
// CHECK: %[[SUM:.*]] = arith.addf
// CHECK: st.dropout %[[SUM]], %[[RNG]] {op_id = 0 : i64
// CHECK: st.split_heads
// CHECK: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = st.attention_grad %[[Q]], %[[K]], %[[V]], %[[ATT]], %[[LSE]], %{{.*}} layout(#st.strided<stride = 4>) scale(5.000000e-01)
// The q, k, v slices of the fused projection get their gradients inserted
// into zeros and summed.
// CHECK: st.merge_heads %[[DV]]
// CHECK: tensor.insert_slice {{.*}}[0, 0, 16]
// CHECK: st.merge_heads %[[DK]]
// CHECK: tensor.insert_slice {{.*}}[0, 0, 8]
// CHECK: st.merge_heads %[[DQ]]
// CHECK: tensor.insert_slice {{.*}}[0, 0, 0]
// CHECK: %[[DTABLES:.*]]:2 = st.pos_embed_grad %{{.*}} -> tensor<2x8xf32>, tensor<4x8xf32>
// CHECK: %[[DEMB:.*]] = st.embed_grad %[[TOK]], %{{.*}} -> tensor<16x8xf32>
// CHECK: return %[[NATS]], %[[BITS]], %[[DEMB]], %[[DTABLES]]#0, %[[DTABLES]]#1,
// CHECK-SAME: %[[DHEAD]] :
module {
  st.transformer @m vocab = 16, context = 8, width = 8, heads = 2,
      layers = 1, ff_mult = 2, dropout = 0.1, position = [2, 4],
      layouts = [#st.strided<stride = 4>]
}
