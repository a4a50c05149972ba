// Every malformed layout or attention op is a located diagnostic.
// RUN: st-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{stride must be positive, got 0}}
func.func @stride_zero() attributes {l = #st.strided<stride = 0>} { return }

// -----

// expected-error @+1 {{stride must be positive, got -4}}
func.func @fixed_stride_negative() attributes {l = #st.fixed<stride = -4, summary = 2>} { return }

// -----

// expected-error @+1 {{summary 64 exceeds the stride 32}}
func.func @summary_exceeds_stride() attributes {l = #st.fixed<stride = 32, summary = 64>} { return }

// -----

// expected-error @+1 {{summary must be positive, got 0}}
func.func @summary_zero() attributes {l = #st.fixed<stride = 32, summary = 0>} { return }

// -----

// expected-error @+1 {{local window must be positive, got 0}}
func.func @window_zero() attributes {l = #st.local<window = 0>} { return }

// -----

// expected-error @+1 {{band width must be positive, got 0}}
func.func @band_zero() attributes {l = #st.band<width = 0>} { return }

// -----

// expected-error @+1 {{block size must be positive, got 0}}
func.func @block_zero() attributes {l = #st.block<size = 0>} { return }

// -----

// expected-error @+1 {{summary columns [-32, 0) do not fit in the stride 128}}
func.func @summary_offset() attributes {l = #st.summary<stride = 128, width = 32, offset = 128>} { return }

// -----

// expected-error @+1 {{union needs at least one member layout}}
func.func @union_of_nothing() attributes {l = #st.union<[]>} { return }

// -----

// expected-error @+1 {{per_head needs at least one member layout}}
func.func @per_head_of_nothing() attributes {l = #st.per_head<[]>} { return }

// -----

// expected-error @+1 {{union member 3 : i64 is not an attention layout}}
func.func @union_member_not_layout() attributes {l = #st.union<[#st.dense_causal, 3]>} { return }

// -----

// expected-error @+1 {{unknown attribute `diagonal` in dialect `st`}}
func.func @unknown_pattern() attributes {l = #st.diagonal<stride = 2>} { return }

// -----

// expected-error @+1 {{struct is missing required parameter: summary}}
func.func @fixed_missing_summary() attributes {l = #st.fixed<stride = 2>} { return }

// -----

// expected-error @+1 {{duplicate or unknown struct parameter name: width}}
func.func @strided_wrong_keyword() attributes {l = #st.strided<width = 2>} { return }

// -----

func.func @mismatched_shapes(%q: tensor<1x2x64x16xf32>, %k: tensor<1x2x32x16xf32>) {
  // expected-error @+1 {{'st.attention' op key shape 'tensor<1x2x32x16xf32>' differs from the query's 'tensor<1x2x64x16xf32>'}}
  %o = st.attention %q, %k, %k layout(#st.dense_causal)
      : tensor<1x2x64x16xf32>, tensor<1x2x32x16xf32>, tensor<1x2x32x16xf32> -> tensor<1x2x64x16xf32>
  return
}

// -----

func.func @mismatched_result(%q: tensor<1x2x64x16xf32>) {
  // expected-error @+1 {{'st.attention' op result shape 'tensor<1x2x64x8xf32>' differs from the query's 'tensor<1x2x64x16xf32>'}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x8xf32>
  return
}

// -----

func.func @mixed_element_types(%q: tensor<1x2x64x16xf32>, %v: tensor<1x2x64x16xf16>) {
  // expected-error @+1 {{'st.attention' op value element type 'f16' differs from the query's 'f32'}}
  %o = st.attention %q, %q, %v layout(#st.dense_causal)
      : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf16> -> tensor<1x2x64x16xf32>
  return
}

// -----

func.func @integer_elements(%q: tensor<1x2x64x16xi32>) {
  // expected-error @+1 {{'st.attention' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<1x2x64x16xi32>, tensor<1x2x64x16xi32>, tensor<1x2x64x16xi32> -> tensor<1x2x64x16xi32>
  return
}

// -----

func.func @wrong_rank(%q: tensor<2x64x16xf32>) {
  // expected-error @+1 {{'st.attention' op expects tensors of rank 4 (batch, heads, length, head_dim), got 'tensor<2x64x16xf32>'}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<2x64x16xf32>, tensor<2x64x16xf32>, tensor<2x64x16xf32> -> tensor<2x64x16xf32>
  return
}

// -----

func.func @stride_longer_than_sequence(%q: tensor<1x2x100x16xf32>) {
  // expected-error @+1 {{'st.attention' op layout #st.strided<stride = 128> has stride 128 larger than the sequence length 100}}
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 128>)
      : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32> -> tensor<1x2x100x16xf32>
  return
}

// -----

func.func @nested_stride_too_long(%q: tensor<1x2x100x16xf32>) {
  // expected-error @+1 {{has stride 200 larger than the sequence length 100}}
  %o = st.attention %q, %q, %q layout(#st.union<[#st.local<window = 8>, #st.fixed<stride = 200, summary = 8>]>)
      : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32> -> tensor<1x2x100x16xf32>
  return
}

// -----

func.func @negative_scale(%q: tensor<1x2x64x16xf32>) {
  // expected-error @+1 {{'st.attention' op scale must be positive, got -1.000000e+00}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal) scale(-1.0)
      : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  return
}

// -----

func.func @layout_not_a_layout(%q: tensor<1x2x64x16xf32>) {
  // expected-error @+1 {{invalid kind of attribute specified}}
  %o = st.attention %q, %q, %q layout(5 : i64)
      : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  return
}

// -----

func.func @split_wrong_width(%x: tensor<2x8x12xf32>) {
  // expected-error @+1 {{'st.split_heads' op cannot split 'tensor<2x8x12xf32>' into 'tensor<2x2x8x5xf32>'}}
  %h = st.split_heads %x : tensor<2x8x12xf32> -> tensor<2x2x8x5xf32>
  return
}

// -----

func.func @merge_wrong_length(%x: tensor<2x2x8x6xf32>) {
  // expected-error @+1 {{'st.merge_heads' op cannot merge 'tensor<2x2x8x6xf32>' into 'tensor<2x9x12xf32>'}}
  %y = st.merge_heads %x : tensor<2x2x8x6xf32> -> tensor<2x9x12xf32>
  return
}

// -----

func.func @merge_wrong_rank(%x: tensor<2x8x6xf32>) {
  // expected-error @+1 {{'st.merge_heads' op expects input of rank 4, got 'tensor<2x8x6xf32>'}}
  %y = st.merge_heads %x : tensor<2x8x6xf32> -> tensor<2x8x6xf32>
  return
}

// -----

func.func @row_query_of_two_rows(%q: tensor<1x2x2x8xf32>, %kc: tensor<1x2x50x8xf32>, %pos: index) {
  // expected-error @+1 {{'st.attention_row' op query 'tensor<1x2x2x8xf32>' must hold exactly one row (length 1)}}
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.dense_causal)
      : tensor<1x2x2x8xf32>, tensor<1x2x50x8xf32> -> tensor<1x2x2x8xf32>
  return
}

// -----

func.func @row_cache_heads(%q: tensor<1x2x1x8xf32>, %kc: tensor<1x4x50x8xf32>, %pos: index) {
  // expected-error @+1 {{'st.attention_row' op cache 'tensor<1x4x50x8xf32>' does not match the batch, heads and head dim of the query 'tensor<1x2x1x8xf32>'}}
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.dense_causal)
      : tensor<1x2x1x8xf32>, tensor<1x4x50x8xf32> -> tensor<1x2x1x8xf32>
  return
}

// -----

func.func @row_cache_element_type(%q: tensor<1x2x1x8xf32>, %kc: tensor<1x2x50x8xf16>, %pos: index) {
  // expected-error @+1 {{'st.attention_row' op cache element type 'f16' differs from the query's 'f32'}}
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.dense_causal)
      : tensor<1x2x1x8xf32>, tensor<1x2x50x8xf16> -> tensor<1x2x1x8xf32>
  return
}

// -----

func.func @row_rank(%q: tensor<2x1x8xf32>, %kc: tensor<2x50x8xf32>, %pos: index) {
  // expected-error @+1 {{'st.attention_row' op expects tensors of rank 4 (batch, heads, length, head_dim), got 'tensor<2x1x8xf32>' and 'tensor<2x50x8xf32>'}}
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.dense_causal)
      : tensor<2x1x8xf32>, tensor<2x50x8xf32> -> tensor<2x1x8xf32>
  return
}

// -----

func.func @row_key_type(%q: tensor<1x2x1x8xf32>, %k: tensor<1x2x1x4xf32>, %kc: tensor<1x2x50x8xf32>, %pos: index) {
  // expected-error @+1 {{'st.attention_row' op failed to verify that all of {query, key, value, result} have same type}}
  %o = "st.attention_row"(%q, %k, %q, %kc, %kc, %pos) {layout = #st.dense_causal}
      : (tensor<1x2x1x8xf32>, tensor<1x2x1x4xf32>, tensor<1x2x1x8xf32>, tensor<1x2x50x8xf32>, tensor<1x2x50x8xf32>, index) -> tensor<1x2x1x8xf32>
  return
}

// -----

func.func @row_stride_longer_than_cache(%q: tensor<1x2x1x8xf32>, %kc: tensor<1x2x50x8xf32>, %pos: index) {
  // expected-error @+1 {{'st.attention_row' op layout #st.strided<stride = 64> has stride 64 larger than the sequence length 50}}
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.strided<stride = 64>)
      : tensor<1x2x1x8xf32>, tensor<1x2x50x8xf32> -> tensor<1x2x1x8xf32>
  return
}

// -----

func.func @row_negative_scale(%q: tensor<1x2x1x8xf32>, %kc: tensor<1x2x50x8xf32>, %pos: index) {
  // expected-error @+1 {{'st.attention_row' op scale must be positive, got -2.000000e+00}}
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.dense_causal) scale(-2.0)
      : tensor<1x2x1x8xf32>, tensor<1x2x50x8xf32> -> tensor<1x2x1x8xf32>
  return
}
