// --convert-st-to-linalg lowers the st model ops (not attention) to
// tensor-level linalg, tensor, arith and math ops.
// RUN: st-opt %s --convert-st-to-linalg -split-input-file | FileCheck %s

// A gather from the table; token ids are clamped into [0, V - 1].
// CHECK-DAG: #[[$TOK:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @embed(
// CHECK-SAME: %[[TOKENS:[a-z0-9_]+]]: tensor<4x128xi32>, %[[TABLE:[a-z0-9_]+]]: tensor<256x64xf32>)
// CHECK-DAG: %[[LAST:.*]] = arith.constant 255 : index
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<4x128x64xf32>
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[$TOK]], #[[$ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[TOKENS]] : tensor<4x128xi32>) outs(%[[INIT]] : tensor<4x128x64xf32>)
// CHECK: ^bb0(%[[T:[a-z0-9_]+]]: i32, %{{.*}}: f32):
// CHECK: %[[I:.*]] = arith.index_cast %[[T]] : i32 to index
// CHECK: %[[LO:.*]] = arith.maxsi %[[I]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = arith.minsi %[[LO]], %[[LAST]] : index
// CHECK: %[[COL:.*]] = linalg.index 2 : index
// CHECK: %[[V:.*]] = tensor.extract %[[TABLE]][%[[ROW]], %[[COL]]] : tensor<256x64xf32>
// CHECK: linalg.yield %[[V]] : f32
// CHECK: return %[[R]]
func.func @embed(%tokens: tensor<4x128xi32>, %table: tensor<256x64xf32>) -> tensor<4x128x64xf32> {
  %0 = st.embed %tokens, %table : tensor<4x128xi32>, tensor<256x64xf32> -> tensor<4x128x64xf32>
  return %0 : tensor<4x128x64xf32>
}

// -----

// Dynamic batch and vocabulary: the clamp bound is V - 1 at run time.
// CHECK-LABEL: func.func @embed_dynamic(
// CHECK-SAME: %[[TOKENS:[a-z0-9_]+]]: tensor<?x128xi32>, %[[TABLE:[a-z0-9_]+]]: tensor<?x64xf32>)
// CHECK-DAG: %[[B:.*]] = tensor.dim %[[TOKENS]], %{{.*}} : tensor<?x128xi32>
// CHECK-DAG: %[[V:.*]] = tensor.dim %[[TABLE]], %{{.*}} : tensor<?x64xf32>
// CHECK-DAG: %[[LAST:.*]] = arith.subi %[[V]], %{{.*}} : index
// CHECK: %[[INIT:.*]] = tensor.empty(%[[B]]) : tensor<?x128x64xf32>
// CHECK: linalg.generic
// CHECK-SAME: outs(%[[INIT]] : tensor<?x128x64xf32>)
// CHECK: arith.minsi %{{.*}}, %[[LAST]] : index
// CHECK: tensor.extract %[[TABLE]]
func.func @embed_dynamic(%tokens: tensor<?x128xi32>, %table: tensor<?x64xf32>) -> tensor<?x128x64xf32> {
  %0 = st.embed %tokens, %table : tensor<?x128xi32>, tensor<?x64xf32> -> tensor<?x128x64xf32>
  return %0 : tensor<?x128x64xf32>
}

// -----

// idx_0(n) = (n / 16) mod 8, idx_1(n) = n mod 16; the tables are summed
// first, then added to x.
// CHECK-LABEL: func.func @pos_embed(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x128x64xf32>, %[[ROWT:[a-z0-9_]+]]: tensor<8x64xf32>, %[[COLT:[a-z0-9_]+]]: tensor<16x64xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%[[X]] : tensor<?x128x64xf32>)
// CHECK: ^bb0(%[[IN:[a-z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[N:.*]] = linalg.index 1 : index
// CHECK: %[[D:.*]] = linalg.index 2 : index
// CHECK: %[[Q:.*]] = arith.divui %[[N]], %{{.*}} : index
// CHECK: %[[R0:.*]] = arith.remui %[[Q]], %{{.*}} : index
// CHECK: %[[A:.*]] = tensor.extract %[[ROWT]][%[[R0]], %[[D]]]
// CHECK: %[[R1:.*]] = arith.remui %[[N]], %{{.*}} : index
// CHECK: %[[B:.*]] = tensor.extract %[[COLT]][%[[R1]], %[[D]]]
// CHECK: %[[S:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK: %[[Y:.*]] = arith.addf %[[IN]], %[[S]] : f32
// CHECK: linalg.yield %[[Y]]
func.func @pos_embed(%x: tensor<?x128x64xf32>, %row: tensor<8x64xf32>, %col: tensor<16x64xf32>) -> tensor<?x128x64xf32> {
  %0 = st.pos_embed %x, %row, %col : tensor<?x128x64xf32>, tensor<8x64xf32>, tensor<16x64xf32>
  return %0 : tensor<?x128x64xf32>
}

// -----

// Two reductions over the last dimension (sum, then squared deviations from
// the mean), then the element-wise normalisation.
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$LAST:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x128x64xf32>, %[[W:[a-z0-9_]+]]: tensor<64xf32>, %[[B:[a-z0-9_]+]]: tensor<64xf32>)
// CHECK-DAG: %[[WIDTH:.*]] = arith.constant 6.400000e+01 : f32
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK: %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x128xf32>)
// CHECK: %[[ZEROS2:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x128xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]] : tensor<?x128x64xf32>) outs(%[[ZEROS]] : tensor<?x128xf32>)
// CHECK: arith.addf
// CHECK: %[[SQ:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[SUM]] : tensor<?x128x64xf32>, tensor<?x128xf32>) outs(%[[ZEROS2]] : tensor<?x128xf32>)
// CHECK: ^bb0(%[[XI:[a-z0-9_]+]]: f32, %[[S:[a-z0-9_]+]]: f32, %[[ACC:[a-z0-9_]+]]: f32):
// CHECK: %[[MEAN:.*]] = arith.divf %[[S]], %[[WIDTH]] : f32
// CHECK: %[[DEV:.*]] = arith.subf %[[XI]], %[[MEAN]] : f32
// CHECK: %[[DEV2:.*]] = arith.mulf %[[DEV]], %[[DEV]] : f32
// CHECK: arith.addf %[[ACC]], %[[DEV2]] : f32
// CHECK: linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]], #[[$LAST]], #[[$LAST]], #[[$ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[SUM]], %[[SQ]], %[[W]], %[[B]] :
// CHECK: ^bb0(%[[XI:[a-z0-9_]+]]: f32, %[[S:[a-z0-9_]+]]: f32, %[[Q:[a-z0-9_]+]]: f32, %[[WI:[a-z0-9_]+]]: f32, %[[BI:[a-z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[MEAN:.*]] = arith.divf %[[S]], %[[WIDTH]] : f32
// CHECK: %[[VAR:.*]] = arith.divf %[[Q]], %[[WIDTH]] : f32
// CHECK: %[[DEV:.*]] = arith.subf %[[XI]], %[[MEAN]] : f32
// CHECK: %[[VE:.*]] = arith.addf %[[VAR]], %[[EPS]] : f32
// CHECK: %[[SD:.*]] = math.sqrt %[[VE]] : f32
// CHECK: %[[NORM:.*]] = arith.divf %[[DEV]], %[[SD]] : f32
// CHECK: %[[SCALED:.*]] = arith.mulf %[[NORM]], %[[WI]] : f32
// CHECK: %[[Y:.*]] = arith.addf %[[SCALED]], %[[BI]] : f32
// CHECK: linalg.yield %[[Y]] : f32
func.func @layer_norm(%x: tensor<?x128x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x128x64xf32> {
  %0 = st.layer_norm %x, %w, %b : tensor<?x128x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %0 : tensor<?x128x64xf32>
}

// -----

// A dynamic width is converted to f32 at run time; rank 1 reduces to 0-d.
// CHECK-LABEL: func.func @layer_norm_dynamic_width(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?xf32>
// CHECK: %[[D:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?xf32>
// CHECK: %[[D64:.*]] = arith.index_castui %[[D]] : index to i64
// CHECK: %[[WIDTH:.*]] = arith.uitofp %[[D64]] : i64 to f32
// CHECK: arith.constant 9.99999997E-7 : f32
// CHECK: linalg.fill {{.*}} -> tensor<f32>
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: arith.divf %{{.*}}, %[[WIDTH]] : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel"]
func.func @layer_norm_dynamic_width(%x: tensor<?xf32>, %w: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  %0 = st.layer_norm %x, %w, %b {eps = 1.0e-6 : f64} : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// [4, 128, 64] collapses to [512, 64]; the matmul reads W [out, in] through
// a transposed map; the bias is added after the product.
// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$BT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$BIAS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @linear(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<4x128x64xf32>, %[[W:[a-z0-9_]+]]: tensor<256x64xf32>, %[[B:[a-z0-9_]+]]: tensor<256xf32>)
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<4x128x64xf32> into tensor<512x64xf32>
// CHECK: %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<512x256xf32>)
// CHECK: %[[MM:.*]] = linalg.matmul indexing_maps = [#[[$A]], #[[$BT]], #[[$C]]] ins(%[[ROWS]], %[[W]] : tensor<512x64xf32>, tensor<256x64xf32>) outs(%[[ZEROS]] : tensor<512x256xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$BIAS]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[B]] : tensor<256xf32>) outs(%[[MM]] : tensor<512x256xf32>)
// CHECK: ^bb0(%[[BI:[a-z0-9_]+]]: f32, %[[ACC:[a-z0-9_]+]]: f32):
// CHECK: arith.addf %[[ACC]], %[[BI]] : f32
// CHECK: %[[R:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [4, 128, 256] : tensor<512x256xf32> into tensor<4x128x256xf32>
// CHECK: return %[[R]]
func.func @linear(%x: tensor<4x128x64xf32>, %w: tensor<256x64xf32>, %b: tensor<256xf32>) -> tensor<4x128x256xf32> {
  %0 = st.linear %x, %w, %b : tensor<4x128x64xf32>, tensor<256x64xf32>, tensor<256xf32> -> tensor<4x128x256xf32>
  return %0 : tensor<4x128x256xf32>
}

// -----

// A dynamic batch gives a dynamic row count, expanded back with the batch
// size read from the input.
// CHECK-LABEL: func.func @linear_dynamic(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x128x64xf32>, %[[W:[a-z0-9_]+]]: tensor<256x64xf32>, %[[B:[a-z0-9_]+]]: tensor<256xf32>)
// CHECK: %[[BATCH:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x128x64xf32>
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<?x128x64xf32> into tensor<?x64xf32>
// CHECK: %[[M:.*]] = tensor.dim %[[ROWS]], %{{.*}} : tensor<?x64xf32>
// CHECK: tensor.empty(%[[M]]) : tensor<?x256xf32>
// CHECK: linalg.matmul {{.*}} ins(%[[ROWS]], %[[W]] : tensor<?x64xf32>, tensor<256x64xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[B]] : tensor<256xf32>)
// CHECK: tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [%[[BATCH]], 128, 256] : tensor<?x256xf32> into tensor<?x128x256xf32>
func.func @linear_dynamic(%x: tensor<?x128x64xf32>, %w: tensor<256x64xf32>, %b: tensor<256xf32>) -> tensor<?x128x256xf32> {
  %0 = st.linear %x, %w, %b : tensor<?x128x64xf32>, tensor<256x64xf32>, tensor<256xf32> -> tensor<?x128x256xf32>
  return %0 : tensor<?x128x256xf32>
}

// -----

// Rank 2 needs no reshape; without a bias there is no bias add.
// CHECK-LABEL: func.func @linear_2d_no_bias(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x64xf32>, %[[W:[a-z0-9_]+]]: tensor<256x64xf32>)
// CHECK-NOT: collapse_shape
// CHECK: %[[MM:.*]] = linalg.matmul {{.*}} ins(%[[X]], %[[W]] : tensor<?x64xf32>, tensor<256x64xf32>)
// CHECK-NEXT: return %[[MM]] : tensor<?x256xf32>
func.func @linear_2d_no_bias(%x: tensor<?x64xf32>, %w: tensor<256x64xf32>) -> tensor<?x256xf32> {
  %0 = st.linear %x, %w : tensor<?x64xf32>, tensor<256x64xf32> -> tensor<?x256xf32>
  return %0 : tensor<?x256xf32>
}

// -----

// Rank 1 is a single row.
// CHECK-LABEL: func.func @linear_1d(
// CHECK: %[[ROW:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0, 1]] output_shape [1, 64] : tensor<64xf32> into tensor<1x64xf32>
// CHECK: %[[MM:.*]] = linalg.matmul {{.*}} ins(%[[ROW]], %{{.*}} : tensor<1x64xf32>, tensor<256x64xf32>)
// CHECK: tensor.collapse_shape %[[MM]] {{\[}}[0, 1]] : tensor<1x256xf32> into tensor<256xf32>
func.func @linear_1d(%x: tensor<64xf32>, %w: tensor<256x64xf32>) -> tensor<256xf32> {
  %0 = st.linear %x, %w : tensor<64xf32>, tensor<256x64xf32> -> tensor<256xf32>
  return %0 : tensor<256xf32>
}

// -----

// Exact GELU: x * 0.5 * (1 + erf(x * 0.70710677)).
// CHECK-LABEL: func.func @gelu(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[RSQRT2:.*]] = arith.constant 0.707106769 : f32
// CHECK-DAG: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: ^bb0(%[[X:[a-z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[A:.*]] = arith.mulf %[[X]], %[[RSQRT2]] : f32
// CHECK: %[[E:.*]] = math.erf %[[A]] : f32
// CHECK: %[[H:.*]] = arith.mulf %[[X]], %[[HALF]] : f32
// CHECK: %[[P:.*]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK: %[[Y:.*]] = arith.mulf %[[H]], %[[P]] : f32
// CHECK: linalg.yield %[[Y]] : f32
func.func @gelu(%x: tensor<?x128x256xf32>) -> tensor<?x128x256xf32> {
  %0 = st.gelu %x : tensor<?x128x256xf32>
  return %0 : tensor<?x128x256xf32>
}

// -----

// Sigmoid GELU: x / (1 + exp(-1.702 x)).
// CHECK-LABEL: func.func @gelu_approximate(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[K:.*]] = arith.constant -1.702000e+00 : f32
// CHECK: ^bb0(%[[X:[a-z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[A:.*]] = arith.mulf %[[X]], %[[K]] : f32
// CHECK: %[[E:.*]] = math.exp %[[A]] : f32
// CHECK: %[[D:.*]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK: %[[Y:.*]] = arith.divf %[[X]], %[[D]] : f32
// CHECK: linalg.yield %[[Y]] : f32
// CHECK-NOT: math.erf
func.func @gelu_approximate(%x: tensor<?x128x256xf32>) -> tensor<?x128x256xf32> {
  %0 = st.gelu %x {approximate} : tensor<?x128x256xf32>
  return %0 : tensor<?x128x256xf32>
}

// -----

// Philox4x32-10: key = (lo32(seed), hi32(seed)) bumped by the Weyl
// constants 0x9E3779B9 = -1640531527 and 0xBB67AE85 = -1150833019 nine
// times outside the loop; counter = (lo32(e), hi32(e), lo32(step), op_id);
// 10 rounds with multipliers 0xD2511F53 = -766435501 and
// 0xCD9E8D57 = -845247145 (19 widening multiplies: the last round only
// needs word 0). Keep iff (word0 >> 8) >= ceil(0.25 * 2^24) = 4194304;
// kept values are scaled by 1 / (1 - 0.25).
// CHECK-LABEL: func.func @dropout(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x128x64xf32>, %[[RNG:[a-z0-9_]+]]: tensor<2xi64>)
// CHECK: %[[SEED:.*]] = tensor.extract %[[RNG]][%{{.*}}] : tensor<2xi64>
// CHECK: %[[STEP:.*]] = tensor.extract %[[RNG]][%{{.*}}] : tensor<2xi64>
// CHECK: %[[K0:.*]] = arith.trunci %[[SEED]] : i64 to i32
// CHECK: %[[SHI:.*]] = arith.shrui %[[SEED]], %{{.*}} : i64
// CHECK: %[[K1:.*]] = arith.trunci %[[SHI]] : i64 to i32
// CHECK-DAG: %[[W0:.*]] = arith.constant -1640531527 : i32
// CHECK-DAG: %[[W1:.*]] = arith.constant -1150833019 : i32
// CHECK: arith.addi %[[K0]], %[[W0]] : i32
// CHECK: arith.addi %[[K1]], %[[W1]] : i32
// CHECK-COUNT-16: arith.addi %{{.*}}, %{{.*}} : i32
// CHECK: %[[C2:.*]] = arith.trunci %[[STEP]] : i64 to i32
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i32
// CHECK-DAG: %[[THRESHOLD:.*]] = arith.constant 4194304 : i32
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 1.33333337 : f32
// CHECK-DAG: %[[M0:.*]] = arith.constant -766435501 : i32
// CHECK-DAG: %[[M1:.*]] = arith.constant -845247145 : i32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%[[X]] : tensor<?x128x64xf32>)
// CHECK: ^bb0(%[[IN:[a-z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[I0:.*]] = linalg.index 0 : index
// CHECK: %[[I1:.*]] = linalg.index 1 : index
// CHECK: arith.muli %[[I0]]
// CHECK: linalg.index 2 : index
// CHECK: %[[E:.*]] = arith.index_castui %{{.*}} : index to i64
// CHECK: %[[CTR0:.*]] = arith.trunci %[[E]] : i64 to i32
// CHECK: %[[EHI:.*]] = arith.shrui %[[E]]
// CHECK: %[[CTR1:.*]] = arith.trunci %[[EHI]] : i64 to i32
// CHECK: %{{.*}}, %[[HI1:.*]] = arith.mului_extended %[[M1]], %[[C2]] : i32
// CHECK: %[[X1:.*]] = arith.xori %[[HI1]], %[[CTR1]] : i32
// CHECK: arith.xori %[[X1]], %[[K0]] : i32
// CHECK: %{{.*}}, %[[HI0:.*]] = arith.mului_extended %[[M0]], %[[CTR0]] : i32
// CHECK: %[[X2:.*]] = arith.xori %[[HI0]], %[[C3]] : i32
// CHECK: arith.xori %[[X2]], %[[K1]] : i32
// CHECK-COUNT-17: arith.mului_extended
// CHECK-NOT: arith.mului_extended
// CHECK: %[[TOP:.*]] = arith.shrui %{{.*}}, %{{.*}} : i32
// CHECK: %[[KEEP:.*]] = arith.cmpi uge, %[[TOP]], %[[THRESHOLD]] : i32
// CHECK: %[[SCALED:.*]] = arith.mulf %[[IN]], %[[SCALE]] : f32
// CHECK: %[[Y:.*]] = arith.select %[[KEEP]], %[[SCALED]], %{{.*}} : f32
// CHECK: linalg.yield %[[Y]] : f32
func.func @dropout(%x: tensor<?x128x64xf32>, %rng: tensor<2xi64>) -> tensor<?x128x64xf32> {
  %0 = st.dropout %x, %rng {op_id = 3 : i64, rate = 2.500000e-01 : f64} : tensor<?x128x64xf32>, tensor<2xi64>
  return %0 : tensor<?x128x64xf32>
}

// -----

// Rate 0 keeps everything and scales by 1: the input itself.
// CHECK-LABEL: func.func @dropout_rate_zero(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x128x64xf32>
// CHECK-NEXT: return %[[X]]
func.func @dropout_rate_zero(%x: tensor<?x128x64xf32>, %rng: tensor<2xi64>) -> tensor<?x128x64xf32> {
  %0 = st.dropout %x, %rng {op_id = 0 : i64, rate = 0.0 : f64} : tensor<?x128x64xf32>, tensor<2xi64>
  return %0 : tensor<?x128x64xf32>
}

// -----

// CHECK-LABEL: func.func @split_heads(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x128x64xf32>)
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x128x64xf32>
// CHECK: %[[E:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3]] output_shape [%[[B]], 128, 2, 32] : tensor<?x128x64xf32> into tensor<?x128x2x32xf32>
// CHECK: %[[INIT:.*]] = tensor.empty(%[[B]]) : tensor<?x2x128x32xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[E]] : tensor<?x128x2x32xf32>) outs(%[[INIT]] : tensor<?x2x128x32xf32>) permutation = [0, 2, 1, 3]
// CHECK: return %[[T]]
func.func @split_heads(%x: tensor<?x128x64xf32>) -> tensor<?x2x128x32xf32> {
  %0 = st.split_heads %x : tensor<?x128x64xf32> -> tensor<?x2x128x32xf32>
  return %0 : tensor<?x2x128x32xf32>
}

// -----

// A dynamic head count is the width divided by the head size.
// CHECK-LABEL: func.func @split_heads_dynamic_heads(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x128x?xf32>)
// CHECK: %[[D:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<2x128x?xf32>
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: %[[H:.*]] = arith.divui %[[D]], %[[C32]] : index
// CHECK: tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3]] output_shape [2, 128, %[[H]], 32] : tensor<2x128x?xf32> into tensor<2x128x?x32xf32>
// CHECK: tensor.empty(%[[H]]) : tensor<2x?x128x32xf32>
// CHECK: linalg.transpose
func.func @split_heads_dynamic_heads(%x: tensor<2x128x?xf32>) -> tensor<2x?x128x32xf32> {
  %0 = st.split_heads %x : tensor<2x128x?xf32> -> tensor<2x?x128x32xf32>
  return %0 : tensor<2x?x128x32xf32>
}

// -----

// A static result refines a dynamic input through tensor.cast.
// CHECK-LABEL: func.func @split_heads_refined(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x128x?xf32>)
// CHECK: %[[C:.*]] = tensor.cast %[[X]] : tensor<2x128x?xf32> to tensor<2x128x64xf32>
// CHECK: tensor.expand_shape %[[C]] {{\[}}[0], [1], [2, 3]] output_shape [2, 128, 2, 32] : tensor<2x128x64xf32> into tensor<2x128x2x32xf32>
func.func @split_heads_refined(%x: tensor<2x128x?xf32>) -> tensor<2x2x128x32xf32> {
  %0 = st.split_heads %x : tensor<2x128x?xf32> -> tensor<2x2x128x32xf32>
  return %0 : tensor<2x2x128x32xf32>
}

// -----

// CHECK-LABEL: func.func @merge_heads(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x2x128x32xf32>)
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x2x128x32xf32>
// CHECK: %[[INIT:.*]] = tensor.empty(%[[B]]) : tensor<?x128x2x32xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[X]] : tensor<?x2x128x32xf32>) outs(%[[INIT]] : tensor<?x128x2x32xf32>) permutation = [0, 2, 1, 3]
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[T]] {{\[}}[0], [1], [2, 3]] : tensor<?x128x2x32xf32> into tensor<?x128x64xf32>
// CHECK: return %[[C]]
func.func @merge_heads(%x: tensor<?x2x128x32xf32>) -> tensor<?x128x64xf32> {
  %0 = st.merge_heads %x : tensor<?x2x128x32xf32> -> tensor<?x128x64xf32>
  return %0 : tensor<?x128x64xf32>
}

// -----

// Row max, sum of exp(l - max), then one f64 reduction over all positions
// of (max + log(sum)) - logits[b, n, clamp(target)].
// CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$POS3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ALL:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-DAG: #[[$SCALAR:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @cross_entropy(
// CHECK-SAME: %[[L:[a-z0-9_]+]]: tensor<?x128x256xf32>, %[[T:[a-z0-9_]+]]: tensor<?x128xi32>)
// CHECK: %[[B:.*]] = tensor.dim %[[L]], %{{.*}} : tensor<?x128x256xf32>
// CHECK: %[[LAST:.*]] = arith.constant 255 : index
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[LOWEST:.*]] = linalg.fill ins(%[[NEGINF]] : f32)
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$POS3]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[L]] : tensor<?x128x256xf32>) outs(%[[LOWEST]] : tensor<?x128xf32>)
// CHECK: arith.maximumf
// CHECK: %[[SUMEXP:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$POS3]], #[[$POS3]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[L]], %[[MAX]] :
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: %[[TOTAL:.*]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<f64>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]], #[[$ALL]]], iterator_types = ["reduction", "reduction"]} ins(%[[MAX]], %[[SUMEXP]], %[[T]] : tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xi32>) outs(%[[TOTAL]] : tensor<f64>)
// CHECK: ^bb0(%[[M:[a-z0-9_]+]]: f32, %[[S:[a-z0-9_]+]]: f32, %[[TGT:[a-z0-9_]+]]: i32, %[[ACC:[a-z0-9_]+]]: f64):
// CHECK: %[[LOG:.*]] = math.log %[[S]] : f32
// CHECK: %[[LSE:.*]] = arith.addf %[[M]], %[[LOG]] : f32
// CHECK: %[[I:.*]] = linalg.index 0 : index
// CHECK: %[[J:.*]] = linalg.index 1 : index
// CHECK: %[[TI:.*]] = arith.index_cast %[[TGT]] : i32 to index
// CHECK: %[[TLO:.*]] = arith.maxsi %[[TI]], %{{.*}} : index
// CHECK: %[[TC:.*]] = arith.minsi %[[TLO]], %[[LAST]] : index
// CHECK: %[[PICK:.*]] = tensor.extract %[[L]][%[[I]], %[[J]], %[[TC]]] : tensor<?x128x256xf32>
// CHECK: %[[LOSS:.*]] = arith.subf %[[LSE]], %[[PICK]] : f32
// CHECK: %[[WIDE:.*]] = arith.extf %[[LOSS]] : f32 to f64
// CHECK: arith.addf %[[ACC]], %[[WIDE]] : f64
// CHECK: %[[COUNT:.*]] = arith.muli %[[B]], %{{.*}} : index
// CHECK: %[[COUNT64:.*]] = arith.index_castui %[[COUNT]] : index to i64
// CHECK: %[[COUNTF:.*]] = arith.uitofp %[[COUNT64]] : i64 to f64
// CHECK: %[[LN2:.*]] = arith.constant 0.69314718055994529 : f64
// CHECK: %[[R:.*]]:2 = linalg.generic {indexing_maps = [#[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]]], iterator_types = []} ins(%[[SUM]] : tensor<f64>) outs(%{{.*}}, %{{.*}} : tensor<f32>, tensor<f32>)
// CHECK: ^bb0(%[[TOT:[a-z0-9_]+]]: f64, %{{.*}}: f32, %{{.*}}: f32):
// CHECK: %[[MEAN:.*]] = arith.divf %[[TOT]], %[[COUNTF]] : f64
// CHECK: %[[BITS:.*]] = arith.divf %[[MEAN]], %[[LN2]] : f64
// CHECK: %[[N32:.*]] = arith.truncf %[[MEAN]] : f64 to f32
// CHECK: %[[B32:.*]] = arith.truncf %[[BITS]] : f64 to f32
// CHECK: linalg.yield %[[N32]], %[[B32]] : f32, f32
// CHECK: return %[[R]]#0, %[[R]]#1 : tensor<f32>, tensor<f32>
func.func @cross_entropy(%logits: tensor<?x128x256xf32>, %targets: tensor<?x128xi32>) -> (tensor<f32>, tensor<f32>) {
  %nats, %bits = st.cross_entropy %logits, %targets : tensor<?x128x256xf32>, tensor<?x128xi32> -> tensor<f32>, tensor<f32>
  return %nats, %bits : tensor<f32>, tensor<f32>
}

// -----

// With a static batch the position count is a constant.
// CHECK-LABEL: func.func @cross_entropy_static(
// CHECK-NOT: tensor.dim
// CHECK: arith.constant 5.120000e+02 : f64
func.func @cross_entropy_static(%logits: tensor<4x128x256xf32>, %targets: tensor<4x128xi32>) -> (tensor<f32>, tensor<f32>) {
  %nats, %bits = st.cross_entropy %logits, %targets : tensor<4x128x256xf32>, tensor<4x128xi32> -> tensor<f32>, tensor<f32>
  return %nats, %bits : tensor<f32>, tensor<f32>
}

// -----

// Attention and its gradient, parameters and element-wise arith on tensors
// are left alone.
// CHECK: st.param @w
// CHECK-LABEL: func.func @untouched(
// CHECK: st.attention
// CHECK: st.attention_grad
// CHECK: st.load_param @w
// CHECK: arith.addf %{{.*}}, %{{.*}} : tensor<2x4xf32>
// CHECK-NOT: linalg
st.param @w : tensor<4x4xf32> init(#st.zeros)
func.func @untouched(%q: tensor<1x2x16x8xf32>, %lse: tensor<1x2x16xf32>, %a: tensor<2x4xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<4x4xf32>, tensor<2x4xf32>) {
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 4>) : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  %dq, %dk, %dv = st.attention_grad %q, %q, %q, %q, %lse, %q layout(#st.strided<stride = 4>) scale(1.250000e-01) : tensor<1x2x16x8xf32>, tensor<1x2x16xf32> -> tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>
  %w = st.load_param @w : tensor<4x4xf32>
  %s = arith.addf %a, %a : tensor<2x4xf32>
  return %o, %dq, %w, %s : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<4x4xf32>, tensor<2x4xf32>
}
