// split-forward-min-n is a sequence length (0: the split forward at every
// length); a negative value is an error on the first attention and
// nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128 split-forward-min-n=-1" -verify-diagnostics

func.func @gate(%q: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  // expected-error @below {{split-forward-min-n must be at least 0 (got -1)}}
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>
      -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
