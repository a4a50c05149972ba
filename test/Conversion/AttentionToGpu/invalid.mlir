// RUN: st-opt %s --convert-st-attention-to-gpu -split-input-file -verify-diagnostics

func.func @f64(%q: tensor<1x1x64x64xf64>) -> tensor<1x1x64x64xf64> {
  // expected-error @below {{GPU kernels take bf16, f16 or f32 inputs (got 'f64')}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<1x1x64x64xf64>, tensor<1x1x64x64xf64>, tensor<1x1x64x64xf64>
      -> tensor<1x1x64x64xf64>
  return %o : tensor<1x1x64x64xf64>
}

// -----

func.func @head_dim(%q: tensor<1x1x64x24xbf16>) -> tensor<1x1x64x24xbf16> {
  // expected-error @below {{GPU kernels need a static head dimension that is a multiple of 32, at most 256}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<1x1x64x24xbf16>, tensor<1x1x64x24xbf16>, tensor<1x1x64x24xbf16>
      -> tensor<1x1x64x24xbf16>
  return %o : tensor<1x1x64x24xbf16>
}
