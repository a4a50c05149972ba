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

// The backward ops have no verifiers; the lowering diagnoses what it cannot
// express.
func.func @gelu_grad_unranked(%x: tensor<*xf32>, %dy: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @below {{'st.gelu_grad' op cannot be lowered to linalg: input 'tensor<*xf32>' is unranked}}
  %0 = st.gelu_grad %x, %dy : tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @embed_grad_dynamic_vocab(%tokens: tensor<?x128xi32>, %dy: tensor<?x128x64xf32>) -> tensor<?x64xf32> {
  // expected-error @below {{'st.embed_grad' op cannot be lowered to linalg: dtable 'tensor<?x64xf32>' needs a static, positive row count}}
  %0 = st.embed_grad %tokens, %dy : tensor<?x128xi32>, tensor<?x128x64xf32> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @embed_grad_width(%tokens: tensor<?x128xi32>, %dy: tensor<?x128x64xf32>) -> tensor<256x32xf32> {
  // expected-error @below {{'st.embed_grad' op cannot be lowered to linalg: widths of 'tensor<256x32xf32>' and 'tensor<?x128x64xf32>' differ}}
  %0 = st.embed_grad %tokens, %dy : tensor<?x128xi32>, tensor<?x128x64xf32> -> tensor<256x32xf32>
  return %0 : tensor<256x32xf32>
}

// -----

func.func @pos_embed_grad_rank(%dy: tensor<128x64xf32>) -> tensor<8x64xf32> {
  // expected-error @below {{'st.pos_embed_grad' op cannot be lowered to linalg: dy 'tensor<128x64xf32>' is not of rank 3}}
  %0 = st.pos_embed_grad %dy : tensor<128x64xf32> -> tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @layer_norm_grad_width(%x: tensor<?x128x64xf32>, %w: tensor<32xf32>, %dy: tensor<?x128x64xf32>) -> (tensor<?x128x64xf32>, tensor<32xf32>, tensor<32xf32>) {
  // expected-error @below {{'st.layer_norm_grad' op cannot be lowered to linalg: widths of 'tensor<32xf32>' and 'tensor<?x128x64xf32>' differ}}
  %dx, %dw, %db = st.layer_norm_grad %x, %w, %dy {eps = 1.0e-5 : f64} : tensor<?x128x64xf32>, tensor<32xf32>, tensor<?x128x64xf32> -> tensor<?x128x64xf32>, tensor<32xf32>, tensor<32xf32>
  return %dx, %dw, %db : tensor<?x128x64xf32>, tensor<32xf32>, tensor<32xf32>
}

// -----

func.func @linear_grad_rank(%x: tensor<?x128x64xf32>, %w: tensor<256x64xf32>, %dy: tensor<?x256xf32>) -> (tensor<?x128x64xf32>, tensor<256x64xf32>, tensor<256xf32>) {
  // expected-error @below {{'st.linear_grad' op cannot be lowered to linalg: dy 'tensor<?x256xf32>' is not of rank 3}}
  %dx, %dw, %db = st.linear_grad %x, %w, %dy : tensor<?x128x64xf32>, tensor<256x64xf32>, tensor<?x256xf32> -> tensor<?x128x64xf32>, tensor<256x64xf32>, tensor<256xf32>
  return %dx, %dw, %db : tensor<?x128x64xf32>, tensor<256x64xf32>, tensor<256xf32>
}

// -----

func.func @cross_entropy_grad_targets(%logits: tensor<4x128x256xf32>, %targets: tensor<2x128xi32>, %dn: tensor<f32>, %db: tensor<f32>) -> tensor<4x128x256xf32> {
  // expected-error @below {{'st.cross_entropy_grad' op cannot be lowered to linalg: batch sizes of 'tensor<4x128x256xf32>' and 'tensor<2x128xi32>' differ}}
  %0 = st.cross_entropy_grad %logits, %targets, %dn, %db : tensor<4x128x256xf32>, tensor<2x128xi32>, tensor<f32>, tensor<f32>
  return %0 : tensor<4x128x256xf32>
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
