// The Python reference masks (python/st_attention/patterns.py), which the
// GPU correctness check and benchmark use, against the compiler's pattern
// library: every layout's nonzero count from --st-layout-stats must equal
// the Python mask's count, position by position in plain Python, at n = 200
// (not a multiple of any stride) with several heads, so per-head layouts
// cycle.
// RUN: st-opt %s --st-layout-stats -split-input-file > %t
// RUN: %python %S/Inputs/check_masks.py %st_src_root/python %t | FileCheck %s

// CHECK: ok #st.dense_causal heads 2 n 200 nonzeros {{[0-9]+}}
func.func @l0(%q: tensor<1x2x200x8xf32>) -> tensor<1x2x200x8xf32> {
  %o = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<1x2x200x8xf32>, tensor<1x2x200x8xf32>, tensor<1x2x200x8xf32> -> tensor<1x2x200x8xf32>
  return %o : tensor<1x2x200x8xf32>
}

// -----

// CHECK: ok #st.local<window = 24> heads 1 n 200 nonzeros {{[0-9]+}}
func.func @l1(%q: tensor<1x1x200x8xf32>) -> tensor<1x1x200x8xf32> {
  %o = st.attention %q, %q, %q layout(#st.local<window = 24>)
      : tensor<1x1x200x8xf32>, tensor<1x1x200x8xf32>, tensor<1x1x200x8xf32> -> tensor<1x1x200x8xf32>
  return %o : tensor<1x1x200x8xf32>
}

// -----

// CHECK: ok #st.strided<stride = 16> heads 2 n 200 nonzeros {{[0-9]+}}
func.func @l2(%q: tensor<1x2x200x8xf32>) -> tensor<1x2x200x8xf32> {
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 16>)
      : tensor<1x2x200x8xf32>, tensor<1x2x200x8xf32>, tensor<1x2x200x8xf32> -> tensor<1x2x200x8xf32>
  return %o : tensor<1x2x200x8xf32>
}

// -----

// CHECK: ok #st.fixed<stride = 16, summary = 4> heads 1 n 200 nonzeros {{[0-9]+}}
func.func @l3(%q: tensor<1x1x200x8xf32>) -> tensor<1x1x200x8xf32> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 16, summary = 4>)
      : tensor<1x1x200x8xf32>, tensor<1x1x200x8xf32>, tensor<1x1x200x8xf32> -> tensor<1x1x200x8xf32>
  return %o : tensor<1x1x200x8xf32>
}

// -----

// CHECK: ok #st.fixed<stride = 16, summary = 4, per_head = true> heads 5 n 200 nonzeros {{[0-9]+}}
func.func @l4(%q: tensor<1x5x200x8xf32>) -> tensor<1x5x200x8xf32> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 16, summary = 4, per_head = true>)
      : tensor<1x5x200x8xf32>, tensor<1x5x200x8xf32>, tensor<1x5x200x8xf32> -> tensor<1x5x200x8xf32>
  return %o : tensor<1x5x200x8xf32>
}

// -----

// CHECK: ok #st.union<[#st.strided<stride = 16>, #st.local<window = 40>]> heads 1 n 200 nonzeros {{[0-9]+}}
func.func @l5(%q: tensor<1x1x200x8xf32>) -> tensor<1x1x200x8xf32> {
  %o = st.attention %q, %q, %q layout(#st.union<[#st.strided<stride = 16>, #st.local<window = 40>]>)
      : tensor<1x1x200x8xf32>, tensor<1x1x200x8xf32>, tensor<1x1x200x8xf32> -> tensor<1x1x200x8xf32>
  return %o : tensor<1x1x200x8xf32>
}

// -----

// CHECK: ok #st.union<[#st.fixed<stride = 16, summary = 4, per_head = true>, #st.local<window = 8>]> heads 3 n 200 nonzeros {{[0-9]+}}
func.func @l6(%q: tensor<1x3x200x8xf32>) -> tensor<1x3x200x8xf32> {
  %o = st.attention %q, %q, %q layout(#st.union<[#st.fixed<stride = 16, summary = 4, per_head = true>, #st.local<window = 8>]>)
      : tensor<1x3x200x8xf32>, tensor<1x3x200x8xf32>, tensor<1x3x200x8xf32> -> tensor<1x3x200x8xf32>
  return %o : tensor<1x3x200x8xf32>
}

// -----

// CHECK: ok #st.per_head<[#st.strided<stride = 16>, #st.fixed<stride = 16, summary = 8, per_head = true>, #st.dense_causal]> heads 5 n 200 nonzeros {{[0-9]+}}
func.func @l7(%q: tensor<1x5x200x8xf32>) -> tensor<1x5x200x8xf32> {
  %o = st.attention %q, %q, %q layout(#st.per_head<[#st.strided<stride = 16>, #st.fixed<stride = 16, summary = 8, per_head = true>, #st.dense_causal]>)
      : tensor<1x5x200x8xf32>, tensor<1x5x200x8xf32>, tensor<1x5x200x8xf32> -> tensor<1x5x200x8xf32>
  return %o : tensor<1x5x200x8xf32>
}

// -----

// CHECK: ok #st.per_head<[#st.local<window = 5>, #st.union<[#st.strided<stride = 12>, #st.fixed<stride = 24, summary = 6, per_head = true>]>]> heads 4 n 200 nonzeros {{[0-9]+}}
func.func @l8(%q: tensor<1x4x200x8xf32>) -> tensor<1x4x200x8xf32> {
  %o = st.attention %q, %q, %q layout(#st.per_head<[#st.local<window = 5>, #st.union<[#st.strided<stride = 12>, #st.fixed<stride = 24, summary = 6, per_head = true>]>]>)
      : tensor<1x4x200x8xf32>, tensor<1x4x200x8xf32>, tensor<1x4x200x8xf32> -> tensor<1x4x200x8xf32>
  return %o : tensor<1x4x200x8xf32>
}

// CHECK: checked 9 layouts
