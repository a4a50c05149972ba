// forward-warpgroups other than 1 or 2 is an error on the first attention
// that would use it, and nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 forward-warpgroups=3" -verify-diagnostics

func.func @warpgroups(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{forward-warpgroups must be 1 or 2 (got 3)}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
