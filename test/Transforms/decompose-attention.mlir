// --st-decompose-attention splits st.attention by the structure of its layout.
// RUN: st-opt %s --st-decompose-attention --canonicalize --cse -split-input-file | FileCheck %s

// Strided: a band part on the sequence, and the column beyond the band as
// shifted causal attention over the transposed [L, N / L] view (100 is padded
// to 13 rows of 8), merged by log-sum-exp.
// CHECK-LABEL: func.func @strided
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x100x16xf32>)
// CHECK: %[[BO:.*]], %[[BL:.*]] = st.attention_part %[[Q]], %[[Q]], %[[Q]] factor(#st.band<width = 8>) scale(2.500000e-01)
// CHECK: %[[PAD:.*]] = tensor.pad %[[Q]] low[0, 0, 0, 0] high[0, 0, 4, 0]
// CHECK: %[[EXP:.*]] = tensor.expand_shape %[[PAD]] {{\[}}[0], [1], [2, 3], [4]] output_shape [2, 4, 13, 8, 16]
// CHECK: %[[TR:.*]] = linalg.transpose ins(%[[EXP]] : tensor<2x4x13x8x16xf32>) {{.*}} permutation = [0, 1, 3, 2, 4]
// CHECK: %[[COLS:.*]] = tensor.collapse_shape %[[TR]] {{\[}}[0], [1, 2], [3], [4]] : tensor<2x4x8x13x16xf32> into tensor<2x32x13x16xf32>
// CHECK: %[[CO:.*]], %[[CL:.*]] = st.attention_part %[[COLS]], %[[COLS]], %[[COLS]] factor(#st.column<stride = 1, from = 1>) scale(2.500000e-01) : {{.*}} -> tensor<2x32x13x16xf32>, tensor<2x32x13xf32>
// CHECK: linalg.transpose {{.*}} permutation = [0, 1, 3, 2, 4]
// CHECK: %[[COUT:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [2, 4, 100, 16] [1, 1, 1, 1] : tensor<2x4x104x16xf32> to tensor<2x4x100x16xf32>
// CHECK: %[[CLSE:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0] [2, 4, 100] [1, 1, 1] : tensor<2x4x104xf32> to tensor<2x4x100xf32>
// CHECK: %[[M:.*]], %{{.*}} = st.attention_merge(%[[BO]], %[[COUT]]) (%[[BL]], %[[CLSE]])
// CHECK: return %[[M]]
func.func @strided(%q: tensor<2x4x100x16xf32>) -> tensor<2x4x100x16xf32> {
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 8>)
      : tensor<2x4x100x16xf32>, tensor<2x4x100x16xf32>, tensor<2x4x100x16xf32> -> tensor<2x4x100x16xf32>
  return %o : tensor<2x4x100x16xf32>
}

// -----

// Fixed: the own block on the sequence, and the summaries of earlier blocks
// gathered into a compact key sequence of 7 blocks x 4 columns (12..15 of
// every block of 16).
// CHECK-LABEL: func.func @fixed
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x100x16xf32>, %[[K:.*]]: tensor<1x2x100x16xf32>, %[[V:.*]]: tensor<1x2x100x16xf32>)
// CHECK: %[[BO:.*]], %[[BL:.*]] = st.attention_part %[[Q]], %[[K]], %[[V]] factor(#st.block<size = 16>) scale(
// CHECK: %[[KP:.*]] = tensor.pad %[[K]]
// CHECK: %[[KE:.*]] = tensor.expand_shape %[[KP]] {{.*}} output_shape [1, 2, 7, 16, 16]
// CHECK: %[[KS:.*]] = tensor.extract_slice %[[KE]][0, 0, 0, 12, 0] [1, 2, 7, 4, 16] [1, 1, 1, 1, 1]
// CHECK: %[[KC:.*]] = tensor.collapse_shape %[[KS]] {{.*}} into tensor<1x2x28x16xf32>
// CHECK: %[[VP:.*]] = tensor.pad %[[V]]
// CHECK: %[[VC:.*]] = tensor.collapse_shape {{.*}} into tensor<1x2x28x16xf32>
// CHECK: %[[SO:.*]], %[[SL:.*]] = st.attention_part %[[Q]], %[[KC]], %[[VC]] factor(#st.summary<stride = 16, width = 4, earlier_blocks = true>) scale({{.*}}) {compact_keys} : tensor<1x2x100x16xf32>, tensor<1x2x28x16xf32>, tensor<1x2x28x16xf32>
// CHECK: st.attention_merge(%[[BO]], %[[SO]]) (%[[BL]], %[[SL]])
func.func @fixed(%q: tensor<1x2x100x16xf32>, %k: tensor<1x2x100x16xf32>, %v: tensor<1x2x100x16xf32>) -> tensor<1x2x100x16xf32> {
  %o = st.attention %q, %k, %v layout(#st.fixed<stride = 16, summary = 4>)
      : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32> -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}

// -----

// Per-head summaries: heads h = g (mod 4) are sliced out with stride 4 and
// use summary columns offset by 4 g; results are inserted back the same way.
// CHECK-LABEL: func.func @fixed_per_head
// CHECK: %[[EMPTY:.*]] = tensor.empty(%{{.*}}) : tensor<?x8x64x16xf32>
// CHECK: %[[Q0:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [%{{.*}}, 2, 64, 16] [1, 4, 1, 1]
// CHECK: st.attention_part {{.*}} factor(#st.summary<stride = 16, width = 4, earlier_blocks = true>)
// CHECK: %[[INS0:.*]] = tensor.insert_slice %{{.*}} into %[[EMPTY]][0, 0, 0, 0] [%{{.*}}, 2, 64, 16] [1, 4, 1, 1]
// CHECK: tensor.extract_slice %{{.*}}[0, 1, 0, 0] [%{{.*}}, 2, 64, 16] [1, 4, 1, 1]
// CHECK: st.attention_part {{.*}} factor(#st.summary<stride = 16, width = 4, offset = 4, earlier_blocks = true>)
// CHECK: tensor.insert_slice %{{.*}} into %[[INS0]][0, 1, 0, 0]
// CHECK: st.attention_part {{.*}} factor(#st.summary<stride = 16, width = 4, offset = 8, earlier_blocks = true>)
// CHECK: st.attention_part {{.*}} factor(#st.summary<stride = 16, width = 4, offset = 12, earlier_blocks = true>)
// CHECK: %[[LAST:.*]] = tensor.insert_slice %{{.*}}[0, 3, 0, 0]
// CHECK: return %[[LAST]]
func.func @fixed_per_head(%q: tensor<?x8x64x16xf32>) -> tensor<?x8x64x16xf32> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 16, summary = 4, per_head = true>)
      : tensor<?x8x64x16xf32>, tensor<?x8x64x16xf32>, tensor<?x8x64x16xf32> -> tensor<?x8x64x16xf32>
  return %o : tensor<?x8x64x16xf32>
}

// -----

// Local and dense causal are one part each: no merge.
// CHECK-LABEL: func.func @local_and_dense
// CHECK: %[[L:.*]], %{{.*}} = st.attention_part {{.*}} factor(#st.band<width = 5>)
// CHECK: %[[D:.*]], %{{.*}} = st.attention_part {{.*}} factor(#st.dense_causal)
// CHECK-NOT: st.attention_merge
// CHECK: return %[[L]], %[[D]]
func.func @local_and_dense(%q: tensor<1x1x32x8xbf16>) -> (tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16>) {
  %l = st.attention %q, %q, %q layout(#st.local<window = 5>)
      : tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16> -> tensor<1x1x32x8xbf16>
  %d = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16> -> tensor<1x1x32x8xbf16>
  return %l, %d : tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16>
}

// -----

// A union of strided and fixed: parts that no structural rule separates
// carry exclusions, so no position is counted twice; covered factors are
// dropped (the dense causal member covers the band).
// CHECK-LABEL: func.func @union
// CHECK: st.attention_part {{.*}} factor(#st.band<width = 8>)
// CHECK: st.attention_part {{.*}} factor(#st.block<size = 16>) excluded([#st.band<width = 8>])
// CHECK: st.attention_part {{.*}} factor(#st.column<stride = 8, from = 8>) excluded([#st.block<size = 16>])
// CHECK: st.attention_part {{.*}} factor(#st.summary<stride = 16, width = 4, earlier_blocks = true>) excluded([#st.band<width = 8>, #st.column<stride = 8>])
// CHECK: st.attention_merge
// CHECK: st.attention_part {{.*}} factor(#st.dense_causal)
// CHECK-NOT: st.attention_part
func.func @union(%q: tensor<1x2x64x16xf32>) -> (tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>) {
  %o = st.attention %q, %q, %q layout(#st.union<[#st.strided<stride = 8>, #st.fixed<stride = 16, summary = 4>]>)
      : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  %d = st.attention %q, %q, %q layout(#st.union<[#st.local<window = 8>, #st.dense_causal]>)
      : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  return %o, %d : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
}


// -----

// The optional log-sum-exp result comes from the merge (or the single part),
// reassembled across head groups like the output.
// CHECK-LABEL: func.func @with_lse
// CHECK: %[[LSE0:.*]] = tensor.empty() : tensor<1x2x32xf32>
// CHECK: %{{.*}}, %[[L0:.*]] = st.attention_part {{.*}} factor(#st.band<width = 4>)
// CHECK: %[[I0:.*]] = tensor.insert_slice %[[L0]] into %[[LSE0]][0, 0, 0] [1, 1, 32] [1, 2, 1]
// CHECK: %{{.*}}, %[[L1:.*]] = st.attention_part {{.*}} factor(#st.dense_causal)
// CHECK: %[[I1:.*]] = tensor.insert_slice %[[L1]] into %[[I0]][0, 1, 0] [1, 1, 32] [1, 2, 1]
// CHECK: return %{{.*}}, %[[I1]]
func.func @with_lse(%q: tensor<1x2x32x8xf32>) -> (tensor<1x2x32x8xf32>, tensor<1x2x32xf32>) {
  %o, %l = st.attention %q, %q, %q layout(#st.per_head<[#st.local<window = 4>, #st.dense_causal]>)
      : tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32> -> tensor<1x2x32x8xf32>, tensor<1x2x32xf32>
  return %o, %l : tensor<1x2x32x8xf32>, tensor<1x2x32xf32>
}
