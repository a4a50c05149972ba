// paired-backward is 0 (off), 1 (the column part) or 2 (the column and
// the band part); another value is an error on the first attention and
// nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="paired-backward=3" -verify-diagnostics

func.func @pairs(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{paired-backward must be 0 (off), 1 (the column part) or 2 (the column and the band part) (got 3)}}
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
