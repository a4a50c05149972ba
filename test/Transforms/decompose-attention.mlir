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

// -----

// The gradient of strided attention: D = rowsum(dout * out) once, then one
// st.attention_part_grad per part with the global lse and D. The column part
// runs on the transposed [L, N / L] view (20 padded to 3 rows of 8) with
// lse, D and dout transposed alongside q; its dq, dk and dv come back through
// the inverse transpose and truncation, and the parts' gradients are summed.
// CHECK-LABEL: func.func @strided_grad
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x20x8xf32>, %[[K:.*]]: tensor<1x2x20x8xf32>, %[[V:.*]]: tensor<1x2x20x8xf32>, %[[O:.*]]: tensor<1x2x20x8xf32>, %[[L:.*]]: tensor<1x2x20xf32>, %[[DO:.*]]: tensor<1x2x20x8xf32>)
// CHECK: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<1x2x20xf32>
// CHECK: %[[D:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[DO]], %[[O]] : {{.*}}) outs(%[[ZERO]] : tensor<1x2x20xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[BQ:.*]], %[[BK:.*]], %[[BV:.*]] = st.attention_part_grad %[[Q]], %[[K]], %[[V]], %[[L]], %[[D]], %[[DO]] factor(#st.band<width = 8>) scale(2.500000e-01) : tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>, tensor<1x2x20xf32>
// CHECK: %[[QC:.*]] = tensor.collapse_shape {{.*}} into tensor<1x16x3x8xf32>
// CHECK: %[[KC:.*]] = tensor.collapse_shape {{.*}} into tensor<1x16x3x8xf32>
// CHECK: %[[VC:.*]] = tensor.collapse_shape {{.*}} into tensor<1x16x3x8xf32>
// CHECK: tensor.pad %[[L]] low[0, 0, 0] high[0, 0, 4]
// CHECK: linalg.transpose {{.*}} permutation = [0, 1, 3, 2]
// CHECK: %[[LC:.*]] = tensor.collapse_shape {{.*}} into tensor<1x16x3xf32>
// CHECK: tensor.pad %[[D]] low[0, 0, 0] high[0, 0, 4]
// CHECK: %[[DC:.*]] = tensor.collapse_shape {{.*}} into tensor<1x16x3xf32>
// CHECK: tensor.pad %[[DO]]
// CHECK: %[[DOC:.*]] = tensor.collapse_shape {{.*}} into tensor<1x16x3x8xf32>
// CHECK: %[[CQ:.*]], %[[CK:.*]], %[[CV:.*]] = st.attention_part_grad %[[QC]], %[[KC]], %[[VC]], %[[LC]], %[[DC]], %[[DOC]] factor(#st.column<stride = 1, from = 1>) scale(2.500000e-01) : tensor<1x16x3x8xf32>, tensor<1x16x3x8xf32>, tensor<1x16x3xf32>
// CHECK: tensor.expand_shape %[[CQ]] {{\[}}[0], [1, 2], [3], [4]] output_shape [1, 2, 8, 3, 8]
// CHECK: linalg.transpose {{.*}} permutation = [0, 1, 3, 2, 4]
// CHECK: %[[DQC:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 2, 20, 8] [1, 1, 1, 1] : tensor<1x2x24x8xf32> to tensor<1x2x20x8xf32>
// CHECK: tensor.expand_shape %[[CK]]
// CHECK: %[[DKC:.*]] = tensor.extract_slice
// CHECK: tensor.expand_shape %[[CV]]
// CHECK: %[[DVC:.*]] = tensor.extract_slice
// CHECK: %[[DQ:.*]] = arith.addf %[[BQ]], %[[DQC]] : tensor<1x2x20x8xf32>
// CHECK: %[[DK:.*]] = arith.addf %[[BK]], %[[DKC]] : tensor<1x2x20x8xf32>
// CHECK: %[[DV:.*]] = arith.addf %[[BV]], %[[DVC]] : tensor<1x2x20x8xf32>
// CHECK: return %[[DQ]], %[[DK]], %[[DV]]
func.func @strided_grad(%q: tensor<1x2x20x8xf32>, %k: tensor<1x2x20x8xf32>, %v: tensor<1x2x20x8xf32>, %o: tensor<1x2x20x8xf32>, %l: tensor<1x2x20xf32>, %do: tensor<1x2x20x8xf32>) -> (tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>) {
  %dq, %dk, %dv = st.attention_grad %q, %k, %v, %o, %l, %do layout(#st.strided<stride = 8>) scale(0.25)
      : tensor<1x2x20x8xf32>, tensor<1x2x20xf32> -> tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>
  return %dq, %dk, %dv : tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>
}

// -----

// The gradient of fixed attention: the own block on the sequence; the
// summary part reads compact keys (3 blocks x columns 6..7 of every block of
// 8) and its dk and dv are scattered back: the compact rows are inserted at
// the summary columns of a zero [B, H, 3, 8, D] tensor, which is collapsed
// and truncated to the sequence. bf16 D is accumulated in f32.
// CHECK-LABEL: func.func @fixed_grad
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x20x8xbf16>, %[[K:.*]]: tensor<1x2x20x8xbf16>, %[[V:.*]]: tensor<1x2x20x8xbf16>, %[[O:.*]]: tensor<1x2x20x8xbf16>, %[[L:.*]]: tensor<1x2x20xf32>, %[[DO:.*]]: tensor<1x2x20x8xbf16>)
// CHECK: %[[D:.*]] = linalg.generic
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[BQ:.*]], %[[BK:.*]], %[[BV:.*]] = st.attention_part_grad %[[Q]], %[[K]], %[[V]], %[[L]], %[[D]], %[[DO]] factor(#st.block<size = 8>)
// CHECK: %[[KS:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 6, 0] [1, 2, 3, 2, 8] [1, 1, 1, 1, 1]
// CHECK: %[[KC:.*]] = tensor.collapse_shape %[[KS]] {{.*}} into tensor<1x2x6x8xbf16>
// CHECK: %[[VC:.*]] = tensor.collapse_shape {{.*}} into tensor<1x2x6x8xbf16>
// CHECK: %[[SQ:.*]], %[[SK:.*]], %[[SV:.*]] = st.attention_part_grad %[[Q]], %[[KC]], %[[VC]], %[[L]], %[[D]], %[[DO]] factor(#st.summary<stride = 8, width = 2, earlier_blocks = true>) scale(2.500000e-01) {compact_keys} : tensor<1x2x20x8xbf16>, tensor<1x2x6x8xbf16>, tensor<1x2x20xf32>
// CHECK: %[[SKE:.*]] = tensor.expand_shape %[[SK]] {{\[}}[0], [1], [2, 3], [4]] output_shape [1, 2, 3, 2, 8]
// CHECK: %[[ZEROS:.*]] = linalg.fill {{.*}} -> tensor<1x2x3x8x8xbf16>
// CHECK: %[[SKI:.*]] = tensor.insert_slice %[[SKE]] into %[[ZEROS]][0, 0, 0, 6, 0] [1, 2, 3, 2, 8] [1, 1, 1, 1, 1]
// CHECK: %[[SKF:.*]] = tensor.collapse_shape %[[SKI]] {{.*}} into tensor<1x2x24x8xbf16>
// CHECK: %[[SKT:.*]] = tensor.extract_slice %[[SKF]][0, 0, 0, 0] [1, 2, 20, 8]
// CHECK: %[[SVE:.*]] = tensor.expand_shape %[[SV]]
// CHECK: tensor.insert_slice %[[SVE]] into %[[ZEROS]][0, 0, 0, 6, 0]
// CHECK: %[[SVT:.*]] = tensor.extract_slice
// CHECK: %[[DQ:.*]] = arith.addf %[[BQ]], %[[SQ]]
// CHECK: %[[DK:.*]] = arith.addf %[[BK]], %[[SKT]]
// CHECK: %[[DV:.*]] = arith.addf %[[BV]], %[[SVT]]
// CHECK: return %[[DQ]], %[[DK]], %[[DV]]
func.func @fixed_grad(%q: tensor<1x2x20x8xbf16>, %k: tensor<1x2x20x8xbf16>, %v: tensor<1x2x20x8xbf16>, %o: tensor<1x2x20x8xbf16>, %l: tensor<1x2x20xf32>, %do: tensor<1x2x20x8xbf16>) -> (tensor<1x2x20x8xbf16>, tensor<1x2x20x8xbf16>, tensor<1x2x20x8xbf16>) {
  %dq, %dk, %dv = st.attention_grad %q, %k, %v, %o, %l, %do layout(#st.fixed<stride = 8, summary = 2>) scale(0.25)
      : tensor<1x2x20x8xbf16>, tensor<1x2x20xf32> -> tensor<1x2x20x8xbf16>, tensor<1x2x20x8xbf16>, tensor<1x2x20x8xbf16>
  return %dq, %dk, %dv : tensor<1x2x20x8xbf16>, tensor<1x2x20x8xbf16>, tensor<1x2x20x8xbf16>
}

// -----

// A per-head layout: q, k, v, dout, lse and D are sliced per head group with
// a stride on the head dimension, and dq, dk, dv are inserted back the same
// way.
// CHECK-LABEL: func.func @per_head_grad
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x16x8xf32>, %[[L:.*]]: tensor<?x4x16xf32>)
// CHECK: %[[D:.*]] = linalg.generic
// CHECK: %[[INIT:.*]] = tensor.empty(%{{.*}}) : tensor<?x4x16x8xf32>
// CHECK: %[[X0:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [%{{.*}}, 2, 16, 8] [1, 2, 1, 1]
// CHECK: %[[L0:.*]] = tensor.extract_slice %[[L]][0, 0, 0] [%{{.*}}, 2, 16] [1, 2, 1]
// CHECK: %[[D0:.*]] = tensor.extract_slice %[[D]][0, 0, 0] [%{{.*}}, 2, 16] [1, 2, 1]
// CHECK: %[[Q0:.*]], %[[K0:.*]], %[[V0:.*]] = st.attention_part_grad %[[X0]], %[[X0]], %[[X0]], %[[L0]], %[[D0]], %[[X0]] factor(#st.band<width = 4>)
// CHECK: %[[IQ0:.*]] = tensor.insert_slice %[[Q0]] into %[[INIT]][0, 0, 0, 0] [%{{.*}}, 2, 16, 8] [1, 2, 1, 1]
// CHECK: %[[IK0:.*]] = tensor.insert_slice %[[K0]] into %[[INIT]][0, 0, 0, 0]
// CHECK: %[[IV0:.*]] = tensor.insert_slice %[[V0]] into %[[INIT]][0, 0, 0, 0]
// CHECK: %[[X1:.*]] = tensor.extract_slice %[[X]][0, 1, 0, 0] [%{{.*}}, 2, 16, 8] [1, 2, 1, 1]
// CHECK: tensor.extract_slice %[[L]][0, 1, 0]
// CHECK: tensor.extract_slice %[[D]][0, 1, 0]
// CHECK: %[[Q1:.*]], %[[K1:.*]], %[[V1:.*]] = st.attention_part_grad %[[X1]], {{.*}} factor(#st.dense_causal)
// CHECK: %[[IQ1:.*]] = tensor.insert_slice %[[Q1]] into %[[IQ0]][0, 1, 0, 0] [%{{.*}}, 2, 16, 8] [1, 2, 1, 1]
// CHECK: %[[IK1:.*]] = tensor.insert_slice %[[K1]] into %[[IK0]][0, 1, 0, 0]
// CHECK: %[[IV1:.*]] = tensor.insert_slice %[[V1]] into %[[IV0]][0, 1, 0, 0]
// CHECK-NOT: arith.addf
// CHECK: return %[[IQ1]], %[[IK1]], %[[IV1]]
func.func @per_head_grad(%x: tensor<?x4x16x8xf32>, %l: tensor<?x4x16xf32>) -> (tensor<?x4x16x8xf32>, tensor<?x4x16x8xf32>, tensor<?x4x16x8xf32>) {
  %dq, %dk, %dv = st.attention_grad %x, %x, %x, %x, %l, %x layout(#st.per_head<[#st.local<window = 4>, #st.dense_causal]>) scale(0.25)
      : tensor<?x4x16x8xf32>, tensor<?x4x16xf32> -> tensor<?x4x16x8xf32>, tensor<?x4x16x8xf32>, tensor<?x4x16x8xf32>
  return %dq, %dk, %dv : tensor<?x4x16x8xf32>, tensor<?x4x16x8xf32>, tensor<?x4x16x8xf32>
}
