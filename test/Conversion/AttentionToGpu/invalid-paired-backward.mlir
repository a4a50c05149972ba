// paired-backward is on or off (session 25 removed its third value, the
// band's pair); another value is rejected when the options are parsed,
// before anything is emitted.
// RUN: not st-opt %s --convert-st-attention-to-gpu="paired-backward=2" 2>&1 | FileCheck %s

// CHECK: paired-backward option: '2' is invalid value for boolean argument! Try 0 or 1
// CHECK-NOT: gpu.module
func.func @pairs(%q: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
