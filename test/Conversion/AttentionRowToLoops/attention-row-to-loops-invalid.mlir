// The row lowering needs static heads, cache length and head dim.
// RUN: st-opt %s --convert-st-attention-row-to-loops -split-input-file -verify-diagnostics

func.func @dynamic_cache_length(%q: tensor<1x2x1x8xf32>, %kc: tensor<1x2x?x8xf32>, %pos: index) -> tensor<1x2x1x8xf32> {
  // expected-error @+1 {{'st.attention_row' op needs static heads, cache length and head dim}}
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.dense_causal)
      : tensor<1x2x1x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x1x8xf32>
  return %o : tensor<1x2x1x8xf32>
}

// -----

func.func @dynamic_heads(%q: tensor<1x?x1x8xf32>, %kc: tensor<1x?x20x8xf32>, %pos: index) -> tensor<1x?x1x8xf32> {
  // expected-error @+1 {{'st.attention_row' op needs static heads, cache length and head dim}}
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.local<window = 4>)
      : tensor<1x?x1x8xf32>, tensor<1x?x20x8xf32> -> tensor<1x?x1x8xf32>
  return %o : tensor<1x?x1x8xf32>
}
