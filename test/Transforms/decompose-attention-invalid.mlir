// Attention that cannot be lowered by structure is a located error.
// RUN: st-opt %s --st-decompose-attention -split-input-file -verify-diagnostics

func.func @dynamic_length(%q: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  // expected-error @+1 {{'st.attention' op structure-aware lowering needs static heads, length and head dim}}
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 8>)
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}
