// --convert-st-attention-row-to-loops: one query row against key/value
// caches, walking exactly the keys of row `pos` of the pattern.
// RUN: st-opt %s --convert-st-attention-row-to-loops --canonicalize -split-input-file | FileCheck %s
// RUN: st-opt %s --convert-st-attention-row-to-loops="count-work=1" -split-input-file | FileCheck %s --check-prefix=COUNT

// Strided: the band part walks [max(0, pos - 6), pos] and the column part
// (distances 7, 14, ...) walks from pos mod 7 in steps of 7 up to pos - 7,
// both without a mask. The position is clamped into [0, 49]; key pos comes
// from the op's own row, earlier keys from the caches; one online softmax
// state (max, sum, vector<8> accumulator) runs through both parts with one
// exp per key.
// CHECK-LABEL: func.func @strided
// CHECK-SAME: (%[[Q:.*]]: tensor<?x2x1x8xf32>, %[[K:.*]]: tensor<?x2x1x8xf32>, %[[V:.*]]: tensor<?x2x1x8xf32>, %[[KC:.*]]: tensor<?x2x50x8xf32>, %[[VC:.*]]: tensor<?x2x50x8xf32>, %[[POS:.*]]: index)
// CHECK-DAG: %[[C7:.*]] = arith.constant 7 : index
// CHECK-DAG: %[[CM6:.*]] = arith.constant -6 : index
// CHECK-DAG: %[[C49:.*]] = arith.constant 49 : index
// CHECK: %[[MIN:.*]] = arith.minsi %[[POS]], %[[C49]]
// CHECK: %[[P:.*]] = arith.maxsi %[[MIN]], %{{.*}}
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x2x1x8xf32>
// CHECK: scf.parallel (%[[B:.*]], %[[H:.*]]) =
// CHECK: %[[KCB:.*]] = bufferization.to_buffer %[[KC]] read_only
// CHECK: %[[KROW:.*]] = vector.load %{{.*}}[%[[B]], %[[H]], %{{.*}}, %{{.*}}] : memref<?x2x1x8xf32>, vector<8xf32>
// CHECK: %[[END:.*]] = arith.addi %[[P]], %{{.*}} : index
// CHECK: %[[LO:.*]] = arith.addi %[[P]], %[[CM6]]
// CHECK: %[[BANDLO:.*]] = arith.maxsi %[[LO]], %{{.*}}
// CHECK: %[[BAND:.*]]:3 = scf.for %[[J:.*]] = %[[BANDLO]] to %[[END]] step %{{.*}} iter_args({{.*}}) -> (f32, f32, vector<8xf32>)
// CHECK: %[[OWN:.*]] = arith.cmpi eq, %[[J]], %[[P]]
// CHECK: %[[KJ:.*]] = vector.load %[[KCB]][%[[B]], %[[H]], %[[J]], %{{.*}}]
// CHECK: arith.select %[[OWN]], %[[KROW]], %[[KJ]] : vector<8xf32>
// CHECK: vector.reduction <add>
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK-COUNT-1: math.exp
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK: %[[FIRST:.*]] = arith.remsi %[[P]], %[[C7]]
// CHECK: %[[COL:.*]]:3 = scf.for %{{.*}} = %[[FIRST]] to %{{.*}} step %[[C7]] iter_args(%{{.*}} = %[[BAND]]#0, %{{.*}} = %[[BAND]]#1, %{{.*}} = %[[BAND]]#2)
// CHECK-NOT: scf.if
// CHECK: scf.yield
// CHECK: arith.divf %[[COL]]#2
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[B]], %[[H]], %{{.*}}, %{{.*}}]
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// COUNT-LABEL: func.func @strided
// COUNT-COUNT-2: memref.atomic_rmw addi
func.func @strided(%q: tensor<?x2x1x8xf32>, %k: tensor<?x2x1x8xf32>, %v: tensor<?x2x1x8xf32>,
                   %kc: tensor<?x2x50x8xf32>, %vc: tensor<?x2x50x8xf32>, %pos: index) -> tensor<?x2x1x8xf32> {
  %o = st.attention_row %q, %k, %v, %kc, %vc, %pos layout(#st.strided<stride = 7>)
      : tensor<?x2x1x8xf32>, tensor<?x2x50x8xf32> -> tensor<?x2x1x8xf32>
  return %o : tensor<?x2x1x8xf32>
}

// -----

// Fixed: the own block walks [pos - pos mod 10, pos]; the summary of
// earlier blocks walks compact indices [0, (pos / 10) * 3) and reads the
// full-sequence cache at (m / 3) * 10 + 7 + m mod 3, without a mask.
// CHECK-LABEL: func.func @fixed
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C7:.*]] = arith.constant 7 : index
// CHECK-DAG: %[[C10:.*]] = arith.constant 10 : index
// CHECK: %[[BLK:.*]] = arith.floordivsi %[[P:.*]], %[[C10]]
// CHECK: %[[START:.*]] = arith.muli %[[BLK]], %[[C10]]
// CHECK: scf.for %{{.*}} = %[[START]] to
// CHECK: %[[NB:.*]] = arith.floordivsi %[[P]], %[[C10]]
// CHECK: %[[PREFIX:.*]] = arith.muli %[[NB]], %[[C3]]
// CHECK: scf.for %[[M:.*]] = %{{.*}} to %[[PREFIX]] step
// CHECK: %[[SUB:.*]] = arith.floordivsi %[[M]], %[[C3]]
// CHECK: %[[BASE:.*]] = arith.muli %[[SUB]], %[[C10]]
// CHECK: %[[SHIFT:.*]] = arith.addi %[[BASE]], %[[C7]]
// CHECK: %[[R:.*]] = arith.remsi %[[M]], %[[C3]]
// CHECK: %[[KEY:.*]] = arith.addi %[[SHIFT]], %[[R]]
// CHECK: vector.load %{{.*}}[%{{.*}}, %{{.*}}, %[[KEY]], %{{.*}}] : memref<1x1x40x16xf32>
// CHECK-NOT: scf.if
// CHECK: scf.yield
func.func @fixed(%q: tensor<1x1x1x16xf32>, %kc: tensor<1x1x40x16xf32>, %pos: index) -> tensor<1x1x1x16xf32> {
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.fixed<stride = 10, summary = 3>)
      : tensor<1x1x1x16xf32>, tensor<1x1x40x16xf32> -> tensor<1x1x1x16xf32>
  return %o : tensor<1x1x1x16xf32>
}

// -----

// Per-head layouts: one parallel loop per head group (heads 0, 2 and 1, 3
// of a cycle of 2), each with its own pattern's walks. A union's later
// parts keep their exclusion masks (scf.if around the update), here the
// own block minus band(4) and column(4).
// CHECK-LABEL: func.func @per_head_union
// CHECK: scf.parallel (%{{.*}}, %[[T0:.*]]) =
// CHECK: arith.muli %[[T0]], %[[C2:.*]] : index
// CHECK: scf.for
// CHECK: scf.reduce
// CHECK: scf.parallel (%{{.*}}, %[[T1:.*]]) =
// CHECK: %[[H1:.*]] = arith.muli %[[T1]], %[[C2]] : index
// CHECK: arith.addi %[[H1]], %{{.*}} : index
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.if
// CHECK: math.exp
// CHECK: } else {
// CHECK: scf.reduce
func.func @per_head_union(%q: tensor<2x4x1x8xf16>, %kc: tensor<2x4x30x8xf16>, %pos: index) -> tensor<2x4x1x8xf16> {
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.per_head<[#st.local<window = 3>, #st.union<[#st.strided<stride = 4>, #st.block<size = 6>]>]>)
      : tensor<2x4x1x8xf16>, tensor<2x4x30x8xf16> -> tensor<2x4x1x8xf16>
  return %o : tensor<2x4x1x8xf16>
}

// -----

// f16 rows are computed in f32 and stored back as f16.
// CHECK-LABEL: func.func @half
// CHECK: arith.extf %{{.*}} : vector<8xf16> to vector<8xf32>
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xf16>
func.func @half(%q: tensor<1x1x1x8xf16>, %kc: tensor<1x1x30x8xf16>, %pos: index) -> tensor<1x1x1x8xf16> {
  %o = st.attention_row %q, %q, %q, %kc, %kc, %pos layout(#st.dense_causal) scale(0.5)
      : tensor<1x1x1x8xf16>, tensor<1x1x30x8xf16> -> tensor<1x1x1x8xf16>
  return %o : tensor<1x1x1x8xf16>
}
