// Forms the op verifiers accept but --convert-st-to-linalg cannot lower.
// RUN: st-opt %s --convert-st-to-linalg -split-input-file -verify-diagnostics

func.func @gelu_unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @below {{'st.gelu' op cannot be lowered to linalg: operand type 'tensor<*xf32>' is unranked}}
  %0 = st.gelu %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @dropout_unranked(%x: tensor<*xf32>, %rng: tensor<2xi64>) -> tensor<*xf32> {
  // expected-error @below {{'st.dropout' op cannot be lowered to linalg: operand type 'tensor<*xf32>' is unranked}}
  %0 = st.dropout %x, %rng {op_id = 0 : i64, rate = 1.000000e-01 : f64} : tensor<*xf32>, tensor<2xi64>
  return %0 : tensor<*xf32>
}

// -----

func.func @split_heads_unknown_split(%x: tensor<2x128x64xf32>) -> tensor<2x?x128x?xf32> {
  // expected-error @below {{'st.split_heads' op cannot be lowered to linalg: result 'tensor<2x?x128x?xf32>' leaves both the head count and the head size dynamic}}
  %0 = st.split_heads %x : tensor<2x128x64xf32> -> tensor<2x?x128x?xf32>
  return %0 : tensor<2x?x128x?xf32>
}

// -----

// Every unlowerable op is reported, not only the first.
func.func @two_errors(%x: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  // expected-error @below {{'st.gelu' op cannot be lowered to linalg}}
  %0 = st.gelu %x : tensor<*xf32>
  // expected-error @below {{'st.gelu' op cannot be lowered to linalg}}
  %1 = st.gelu %x {approximate} : tensor<*xf32>
  return %0, %1 : tensor<*xf32>, tensor<*xf32>
}
