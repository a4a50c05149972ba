// band-backward is 0 (off) or the key tiles a block of the fused band
// backward; a negative value is an error on the first attention and
// nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="band-backward=-2" -verify-diagnostics

func.func @segment(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{band-backward must be 0 (off) or a number of key tiles a block (got -2)}}
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
