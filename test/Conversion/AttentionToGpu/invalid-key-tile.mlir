// A warpgroup-MMA key tile other than 64 or 128 is an error on the first
// attention that would use it, and nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 wgmma-key-tile=96" -verify-diagnostics

func.func @tile(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{wgmma-key-tile must be 64 or 128 (got 96)}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
