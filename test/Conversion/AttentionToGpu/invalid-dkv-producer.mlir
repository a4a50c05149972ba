// dkv-producer is 0 (never), 1 (where it pays: d >= 128 over a long
// walk) or 2 (always); another value is an error on the first attention
// and nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 dkv-producer=-1" -verify-diagnostics

func.func @producer(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{dkv-producer must be 0 (never), 1 (where it pays) or 2 (always) (got -1)}}
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
