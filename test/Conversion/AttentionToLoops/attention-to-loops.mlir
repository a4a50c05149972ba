// --convert-st-attention-to-loops: the tiled online-softmax form.
// RUN: st-opt %s --convert-st-attention-to-loops="block-q=32 block-k=16" --canonicalize -split-input-file | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-loops="count-work=1" -split-input-file | FileCheck %s --check-prefix=COUNT

// A band part: parallel over (batch x head, query tile of 32); per row the
// key tiles of 16 start at the band's first key; keys are clipped to
// [i - 7, i] so no score is masked; two passes per key tile. The operands'
// buffers are taken inside the parallel loop, where they are read.
// CHECK-LABEL: func.func @band
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x2x100x16xf32>
// CHECK: %[[LSE:.*]] = memref.alloc() : memref<1x2x100xf32>
// CHECK: scf.parallel (%[[BH:.*]], %[[QT:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK: %[[Q:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x2x100x16xf32> to memref<1x2x100x16xf32>
// CHECK: %[[SCORES:.*]] = memref.alloc() : memref<16xf32>
// CHECK: scf.for %[[I:.*]] =
// CHECK: scf.for %[[KT:.*]] = {{.*}} iter_args(%[[M:.*]] = %{{.*}}, %[[L:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}}) -> (f32, f32, vector<16xf32>)
// CHECK: scf.for %[[J:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (f32)
// CHECK: %[[KROW:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %[[J]], %{{.*}}] : memref<1x2x100x16xf32>, vector<16xf32>
// CHECK: vector.reduction <add>
// CHECK-NOT: arith.select
// CHECK: memref.store %{{.*}}, %[[SCORES]]
// CHECK: arith.maximumf
// CHECK: scf.if
// CHECK: math.exp
// CHECK: vector.fma
// CHECK: vector.store %{{.*}}, %[[OUT]][
// CHECK: math.log
// CHECK: memref.store %{{.*}}, %[[LSE]][
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: bufferization.to_tensor %[[LSE]] restrict writable
// COUNT-LABEL: func.func @band
// COUNT: memref.get_global @st_attention_work
// COUNT: memref.atomic_rmw addi
func.func @band(%q: tensor<1x2x100x16xf32>) -> (tensor<1x2x100x16xf32>, tensor<1x2x100xf32>) {
  %o, %l = st.attention_part %q, %q, %q factor(#st.band<width = 8>) scale(0.25)
      : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>
      -> tensor<1x2x100x16xf32>, tensor<1x2x100xf32>
  return %o, %l : tensor<1x2x100x16xf32>, tensor<1x2x100xf32>
}

// -----

// A part with an exclusion keeps a mask: select of -inf on masked scores.
// bf16 inputs are extended to f32 and the output truncated back.
// CHECK-LABEL: func.func @masked_bf16
// CHECK: arith.extf %{{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK: arith.remsi
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
func.func @masked_bf16(%q: tensor<2x1x40x8xbf16>) -> tensor<2x1x40x8xbf16> {
  %o, %l = st.attention_part %q, %q, %q factor(#st.column<stride = 4, from = 4>) excluded([#st.block<size = 8>]) scale(0.5)
      : tensor<2x1x40x8xbf16>, tensor<2x1x40x8xbf16>, tensor<2x1x40x8xbf16>
      -> tensor<2x1x40x8xbf16>, tensor<2x1x40xf32>
  return %o : tensor<2x1x40x8xbf16>
}

// -----

// The merge: per row, lse = log sum exp(lse_p) and out = sum of the parts
// weighted by exp(lse_p - lse).
// CHECK-LABEL: func.func @merge
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) =
// CHECK-COUNT-2: tensor.extract
// CHECK: math.exp
// CHECK: math.exp
// CHECK: math.log
// CHECK: memref.store
// CHECK: vector.fma
// CHECK: vector.fma
// CHECK: vector.store
func.func @merge(%a: tensor<?x2x10x4xf32>, %la: tensor<?x2x10xf32>, %b: tensor<?x2x10x4xf32>, %lb: tensor<?x2x10xf32>) -> (tensor<?x2x10x4xf32>, tensor<?x2x10xf32>) {
  %o, %l = st.attention_merge(%a, %b) (%la, %lb) : (tensor<?x2x10x4xf32>, tensor<?x2x10x4xf32>) (tensor<?x2x10xf32>, tensor<?x2x10xf32>) -> tensor<?x2x10x4xf32>, tensor<?x2x10xf32>
  return %o, %l : tensor<?x2x10x4xf32>, tensor<?x2x10xf32>
}

// -----

// A band part's gradient: two nests and no atomics. dq is parallel over
// query tiles of 32; row i walks its keys [i - 7, i], recomputes
// P = exp(s - lse_i) and dS = P (dout_i . v_j - D_i) and accumulates dS k_j
// in a vector. dk and dv are parallel over key tiles of 16 (7 tiles of 100
// keys); key j walks the rows that attend it, [j, min(j + 8, 100)), with two
// vector accumulators. The band is exact: no mask. Each nest takes its
// operands' buffers inside its parallel loop.
// CHECK-LABEL: func.func @band_grad
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x100x16xf32>, %[[L:.*]]: tensor<1x2x100xf32>, %[[D:.*]]: tensor<1x2x100xf32>)
// CHECK-DAG: %[[C100:.*]] = arith.constant 100 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[CM7:.*]] = arith.constant -7 : index
// CHECK-DAG: %[[SCALE:.*]] = arith.constant dense<2.500000e-01> : vector<16xf32>
// CHECK: %[[DQ:.*]] = memref.alloc() : memref<1x2x100x16xf32>
// CHECK: %[[DK:.*]] = memref.alloc() : memref<1x2x100x16xf32>
// CHECK: %[[DV:.*]] = memref.alloc() : memref<1x2x100x16xf32>
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK: bufferization.to_buffer %[[X]] read_only
// CHECK: scf.for %[[I:.*]] =
// CHECK: %[[LSE:.*]] = tensor.extract %[[L]][%{{.*}}, %{{.*}}, %[[I]]]
// CHECK: %[[DI:.*]] = tensor.extract %[[D]][%{{.*}}, %{{.*}}, %[[I]]]
// CHECK: %[[FROM:.*]] = arith.addi %[[I]], %[[CM7]]
// CHECK: %[[LO:.*]] = arith.maxsi %[[FROM]]
// CHECK: scf.for %[[J:.*]] = %[[LO]] to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>)
// CHECK: %[[K:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %[[J]], %{{.*}}]
// CHECK: vector.reduction <add>
// CHECK: %[[S:.*]] = arith.subf %{{.*}}, %[[LSE]] : f32
// CHECK: %[[P:.*]] = math.exp %[[S]] : f32
// CHECK-NOT: arith.select
// CHECK: %[[DP:.*]] = arith.subf %{{.*}}, %[[DI]] : f32
// CHECK: %[[DS:.*]] = arith.mulf %[[P]], %[[DP]] : f32
// CHECK: %[[DSV:.*]] = vector.broadcast %[[DS]]
// CHECK: vector.fma %[[DSV]], %[[K]], %[[ACC]]
// CHECK: %[[DQROW:.*]] = arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: vector.store %[[DQROW]], %[[DQ]][
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK: bufferization.to_buffer %[[X]] read_only
// CHECK: scf.for %[[J2:.*]] =
// CHECK: %[[PAST:.*]] = arith.addi %[[J2]], %[[C8]]
// CHECK: %[[HI:.*]] = arith.minsi %[[PAST]], %[[C100]]
// CHECK: scf.for %[[I2:.*]] = %{{.*}} to %[[HI]] step %{{.*}} iter_args(%[[DKACC:.*]] = %{{.*}}, %[[DVACC:.*]] = %{{.*}}) -> (vector<16xf32>, vector<16xf32>)
// CHECK: %[[Q2:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %[[I2]], %{{.*}}]
// CHECK: %[[DO2:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %[[I2]], %{{.*}}]
// CHECK: %[[P2:.*]] = math.exp
// CHECK: %[[PV:.*]] = vector.broadcast %[[P2]]
// CHECK: %[[NEWDV:.*]] = vector.fma %[[PV]], %[[DO2]], %[[DVACC]]
// CHECK: %[[DS2:.*]] = vector.broadcast
// CHECK: %[[NEWDK:.*]] = vector.fma %[[DS2]], %[[Q2]], %[[DKACC]]
// CHECK: scf.yield %[[NEWDK]], %[[NEWDV]]
// CHECK: vector.store %{{.*}}, %[[DK]][
// CHECK: vector.store %{{.*}}, %[[DV]][
// CHECK-NOT: memref.atomic_rmw
// CHECK: bufferization.to_tensor %[[DQ]] restrict writable
// CHECK: bufferization.to_tensor %[[DK]] restrict writable
// CHECK: bufferization.to_tensor %[[DV]] restrict writable
// COUNT-LABEL: func.func @band_grad
// COUNT: scf.parallel
// COUNT: memref.atomic_rmw addi
// COUNT: scf.parallel
// COUNT: memref.atomic_rmw addi
func.func @band_grad(%x: tensor<1x2x100x16xf32>, %l: tensor<1x2x100xf32>, %d: tensor<1x2x100xf32>)
    -> (tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>) {
  %dq, %dk, %dv = st.attention_part_grad %x, %x, %x, %l, %d, %x factor(#st.band<width = 8>) scale(0.25)
      : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100xf32>
  return %dq, %dk, %dv : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>
}

// -----

// A compact summary part's gradient (summaries 12..15 of earlier blocks of
// 16; 12 compact keys for 40 rows): row i attends the prefix
// [0, (i / 16) * 4); compact key m at position p = (m / 4) * 16 + 12 + m mod 4
// is attended from the next block on, rows [(p / 16 + 1) * 16, 40). Exact,
// so no mask.
// CHECK-LABEL: func.func @compact_summary_grad
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C12:.*]] = arith.constant 12 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C40:.*]] = arith.constant 40 : index
// CHECK: scf.for %[[I:.*]] =
// CHECK: %[[BLK:.*]] = arith.floordivsi %[[I]], %[[C16]]
// CHECK: %[[PREFIX:.*]] = arith.muli %[[BLK]], %[[C4]]
// CHECK: %[[HI:.*]] = arith.minsi %[[PREFIX]], %[[C12]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[HI]]
// CHECK-NOT: arith.select
// CHECK: scf.for %[[M:.*]] = %{{.*}} to %[[C12]]
// CHECK: %[[G:.*]] = arith.floordivsi %[[M]], %[[C4]]
// CHECK: %[[BASE:.*]] = arith.muli %[[G]], %[[C16]]
// CHECK: %[[OFF:.*]] = arith.addi %[[BASE]], %[[C12]]
// CHECK: %[[R:.*]] = arith.remsi %[[M]], %[[C4]]
// CHECK: %[[POS:.*]] = arith.addi %[[OFF]], %[[R]]
// CHECK: %[[PB:.*]] = arith.floordivsi %[[POS]], %[[C16]]
// CHECK: %[[NB:.*]] = arith.addi %[[PB]]
// CHECK: %[[FIRST:.*]] = arith.muli %[[NB]], %[[C16]]
// CHECK: %[[LO:.*]] = arith.minsi %[[FIRST]], %[[C40]]
// CHECK: scf.for %{{.*}} = %[[LO]] to %[[C40]] {{.*}} -> (vector<8xf32>, vector<8xf32>)
// CHECK-NOT: arith.select
// CHECK: return
func.func @compact_summary_grad(%q: tensor<1x1x40x8xf32>, %k: tensor<1x1x12x8xf32>, %l: tensor<1x1x40xf32>)
    -> (tensor<1x1x40x8xf32>, tensor<1x1x12x8xf32>, tensor<1x1x12x8xf32>) {
  %dq, %dk, %dv = st.attention_part_grad %q, %k, %k, %l, %l, %q factor(#st.summary<stride = 16, width = 4, earlier_blocks = true>) scale(0.5) {compact_keys}
      : tensor<1x1x40x8xf32>, tensor<1x1x12x8xf32>, tensor<1x1x40xf32>
  return %dq, %dk, %dv : tensor<1x1x40x8xf32>, tensor<1x1x12x8xf32>, tensor<1x1x12x8xf32>
}

// -----

// A gradient part with an exclusion masks P to 0 in both nests; the dk/dv
// nest walks rows from j + 4 (the column's minimum distance) on. bf16 in,
// f32 accumulation, bf16 out.
// CHECK-LABEL: func.func @masked_grad
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C40:.*]] = arith.constant 40 : index
// CHECK: scf.parallel
// CHECK: %[[P:.*]] = math.exp
// CHECK: arith.xori
// CHECK: arith.select %{{.*}}, %[[P]], %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: scf.parallel
// CHECK: %[[FROM:.*]] = arith.addi %{{.*}}, %[[C4]]
// CHECK: %[[LO:.*]] = arith.minsi %[[FROM]], %[[C40]]
// CHECK: scf.for %{{.*}} = %[[LO]] to %[[C40]]
// CHECK: %[[P2:.*]] = math.exp
// CHECK: arith.select %{{.*}}, %[[P2]], %{{.*}} : f32
func.func @masked_grad(%q: tensor<2x1x40x8xbf16>, %l: tensor<2x1x40xf32>) -> tensor<2x1x40x8xbf16> {
  %dq, %dk, %dv = st.attention_part_grad %q, %q, %q, %l, %l, %q factor(#st.column<stride = 4, from = 4>) excluded([#st.block<size = 8>]) scale(0.5)
      : tensor<2x1x40x8xbf16>, tensor<2x1x40x8xbf16>, tensor<2x1x40xf32>
  return %dk : tensor<2x1x40x8xbf16>
}
