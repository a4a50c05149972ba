// Malformed st.transformer ops are located diagnostics.
// RUN: st-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{'st.transformer' op width 100 is not a multiple of heads 8}}
st.transformer @m vocab = 256, context = 64, width = 100, heads = 8, layers = 1,
    ff_mult = 4, dropout = 0.0, position = [8, 8], layouts = [#st.dense_causal]

// -----

// expected-error @+1 {{'st.transformer' op position axes cover 60 positions, fewer than the context 64}}
st.transformer @m vocab = 256, context = 64, width = 64, heads = 8, layers = 1,
    ff_mult = 4, dropout = 0.0, position = [6, 10], layouts = [#st.dense_causal]

// -----

// expected-error @+1 {{'st.transformer' op dropout must be in [0, 1), got 1.000000e+00}}
st.transformer @m vocab = 256, context = 64, width = 64, heads = 8, layers = 1,
    ff_mult = 4, dropout = 1.0, position = [8, 8], layouts = [#st.dense_causal]

// -----

// expected-error @+1 {{'st.transformer' op layers must be positive, got 0}}
st.transformer @m vocab = 256, context = 64, width = 64, heads = 8, layers = 0,
    ff_mult = 4, dropout = 0.0, position = [8, 8], layouts = [#st.dense_causal]

// -----

// expected-error @+1 {{'st.transformer' op needs at least one layout}}
st.transformer @m vocab = 256, context = 64, width = 64, heads = 8, layers = 1,
    ff_mult = 4, dropout = 0.0, position = [8, 8], layouts = []

// -----

// expected-error @+1 {{'st.transformer' op 1 : i64 is not an attention layout}}
st.transformer @m vocab = 256, context = 64, width = 64, heads = 8, layers = 1,
    ff_mult = 4, dropout = 0.0, position = [8, 8], layouts = [1]

// -----

// expected-error @+1 {{'st.transformer' op layout #st.strided<stride = 128> has stride 128 larger than the sequence length 64}}
st.transformer @m vocab = 256, context = 64, width = 64, heads = 8, layers = 1,
    ff_mult = 4, dropout = 0.0, position = [8, 8], layouts = [#st.strided<stride = 128>]

// -----

// expected-error @+1 {{'st.param' op parameters are static-shaped f32 tensors, got 'tensor<?xf32>'}}
st.param @p : tensor<?xf32> init(#st.zeros)

// -----

// expected-error @+1 {{'st.param' op unknown initialiser 3 : i64}}
st.param @p : tensor<4xf32> init(3)

// -----

// expected-error @+1 {{normal initialiser needs a finite std >= 0, got -1}}
st.param @p : tensor<4xf32> init(#st.normal<std = -1.0>)

// -----

func.func @missing_param() -> tensor<4xf32> {
  // expected-error @+1 {{'st.load_param' op 'nope' does not name an st.param}}
  %0 = st.load_param @nope : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

st.param @p : tensor<4xf32> init(#st.zeros)
func.func @wrong_param_type() -> tensor<8xf32> {
  // expected-error @+1 {{'st.load_param' op result type 'tensor<8xf32>' differs from the parameter's 'tensor<4xf32>'}}
  %0 = st.load_param @p : tensor<8xf32>
  return %0 : tensor<8xf32>
}
