// forward-ping-pong needs the producer warpgroup and the pipelined
// forward (the turns are taken around the pipelined walk's products);
// otherwise the first attention is an error and nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 forward-producer=2 forward-ping-pong=true" -verify-diagnostics
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 forward-producer=0 pipelined-forward=true forward-ping-pong=true" -verify-diagnostics

func.func @pingpong(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{forward-ping-pong takes forward-producer and pipelined-forward}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
