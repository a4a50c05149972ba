// RUN: st-opt %s --convert-st-attention-to-gpu -verify-diagnostics | FileCheck %s
// RUN: sed '/expected-warning/d' %s | st-opt --st-expand-model --convert-st-attention-to-gpu 2>&1 | FileCheck %s --check-prefix=EXPANDED

// A whole model holds its attention inside st.transformer until it is
// expanded: the pass warns instead of writing an empty library silently.

// expected-warning @below {{st.transformer @m has no st.attention until --st-expand-model; the kernel library has no entry for its layers}}
st.transformer @m vocab = 256, context = 64, width = 64, heads = 2,
    layers = 1, ff_mult = 2, dropout = 0.0, position = [8, 8],
    layouts = [#st.strided<stride = 8>]

// CHECK: st.gpu_manifest = "[]"
// EXPANDED-NOT: warning
// EXPANDED: st.gpu_manifest = "[{
// EXPANDED-SAME: strided
