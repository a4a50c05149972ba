// pipelined-dq needs the dQ producer split (its consumers hold the
// producer's stages); otherwise the first attention is an error and
// nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 pipelined-dq=true" -verify-diagnostics

func.func @pipelined(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{pipelined-dq takes dq-producer}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
