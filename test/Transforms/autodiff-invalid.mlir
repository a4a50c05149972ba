// Ops without a gradient rule on the gradient's path are located errors.
// RUN: st-opt %s --st-autodiff -split-input-file -verify-diagnostics

st.param @w : tensor<1x2x4xf32> init(#st.ones)
func.func @m_loss(%t: tensor<1x2xi32>) -> (tensor<f32>, tensor<f32>) {
  %w = st.load_param @w : tensor<1x2x4xf32>
  // expected-error @+1 {{'math.exp' op has no gradient rule (DifferentiableOpInterface) but a gradient flows through it}}
  %e = math.exp %w : tensor<1x2x4xf32>
  %n, %b = st.cross_entropy %e, %t : tensor<1x2x4xf32>, tensor<1x2xi32> -> tensor<f32>, tensor<f32>
  return %n, %b : tensor<f32>, tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op must return the scalar loss (tensor<f32>) first}}
func.func @bad_loss(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
