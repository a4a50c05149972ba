// paired-band-lag counts query tiles: a negative lag is an error on the
// first attention, and nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="paired-backward=2 paired-band-lag=-1" -verify-diagnostics

func.func @lag(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{paired-band-lag must be a number of query tiles, at least 0 (got -1)}}
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
