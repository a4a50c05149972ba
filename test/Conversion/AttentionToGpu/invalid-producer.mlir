// forward-producer needs two consumer warpgroups (invalid-ping-pong.mlir:
// forward-ping-pong's needs); otherwise the first attention is an error
// and nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 forward-producer=true" -verify-diagnostics

func.func @producer(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{forward-producer takes forward-warpgroups=2}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
