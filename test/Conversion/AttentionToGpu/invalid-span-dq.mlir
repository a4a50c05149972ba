// span-dq is 0 (off) or a lag in spans; a negative value is an error on
// the first attention and nothing is emitted.
// RUN: st-opt %s --convert-st-attention-to-gpu="span-dq=-1" -verify-diagnostics

func.func @lag(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  // expected-error @below {{span-dq must be 0 (off) or a lag of at least one span (got -1)}}
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
