// --st-optimizer builds the training step from the gradient function.
// RUN: st-opt %s --st-optimizer="lr=0.01 min-lr=0.001 warmup=10 total-steps=110 beta1=0.9 beta2=0.95 weight-decay=0.25 clip=1.0" | FileCheck %s

st.param @w.weight : tensor<2x3xf32> init(#st.ones)
st.param @w.bias : tensor<2xf32> init(#st.zeros)

func.func private @m_grad(tensor<1x4xi32>) -> (tensor<f32>, tensor<f32>, tensor<2x3xf32>, tensor<2xf32>)

// CHECK-LABEL: func.func @m_train_step
// CHECK-SAME: (%[[M0:.*]]: tensor<2x3xf32>, %[[M1:.*]]: tensor<2xf32>, %[[V0:.*]]: tensor<2x3xf32>, %[[V1:.*]]: tensor<2xf32>, %[[STEP:.*]]: tensor<i64>, %[[TOK:.*]]: tensor<1x4xi32>)
// CHECK-SAME: -> (tensor<2x3xf32>, tensor<2xf32>, tensor<2x3xf32>, tensor<2xf32>, tensor<2x3xf32>, tensor<2xf32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[P0:.*]] = st.load_param @w.weight
// CHECK: %[[P1:.*]] = st.load_param @w.bias
// CHECK: %[[G:.*]]:4 = call @m_grad(%[[TOK]])
// Global norm over both gradients, clip scale min(1, 1 / norm).
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%[[G]]#2
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]} ins(%[[G]]#3
// CHECK: %[[NORM:.*]] = math.sqrt
// CHECK: %[[CLIP:.*]] = arith.minimumf
// Schedule: warm-up lr * min(1, t / 10), cosine over 100 decay steps.
// CHECK: %[[T:.*]] = arith.sitofp
// CHECK: math.cos
// CHECK: %[[LR:.*]] = arith.select
// CHECK: math.powf
// CHECK: math.powf
// The weight matrix is decayed (0.25 * p), the bias is not.
// CHECK: %[[U0:.*]]:3 = linalg.generic {{.*}} ins(%[[P0]], %[[G]]#2, %[[M0]], %[[V0]] :
// CHECK: arith.mulf %{{.*}}, %[[CLIP]]
// CHECK: math.sqrt
// CHECK: arith.constant 2.500000e-01 : f32
// CHECK: arith.mulf %[[LR]]
// CHECK: %[[U1:.*]]:3 = linalg.generic {{.*}} ins(%[[P1]], %[[G]]#3, %[[M1]], %[[V1]] :
// CHECK-NOT: arith.constant 2.500000e-01
// CHECK: linalg.yield
// CHECK: return %[[U0]]#0, %[[U1]]#0, %[[U0]]#1, %[[U1]]#1, %[[U0]]#2, %[[U1]]#2, %[[G]]#0, %[[G]]#1,
