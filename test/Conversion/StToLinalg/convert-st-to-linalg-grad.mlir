// --convert-st-to-linalg lowers the backward ops (not st.attention_grad) to
// tensor-level linalg, tensor, scf, arith and math ops; bufferized, the two
// products of st.linear_grad are BLAS calls (dweight with a transposed A).
// RUN: st-opt %s --convert-st-to-linalg -split-input-file | FileCheck %s
// RUN: st-opt %s --convert-st-to-linalg -split-input-file \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries" \
// RUN:   --st-linalg-to-blas | FileCheck %s --check-prefix=BLAS

// A sequential scatter-add over the positions: each row of dy is added into
// the loop-carried table at the clamped token's row (no atomics, a fixed
// order of summation).
// CHECK-LABEL: func.func @embed_grad(
// CHECK-SAME: %[[TOKENS:[a-z0-9_]+]]: tensor<4x128xi32>, %[[DY:[a-z0-9_]+]]: tensor<4x128x64xf32>)
// CHECK-DAG: %[[B:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[N:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[LAST:.*]] = arith.constant 255 : index
// CHECK: %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<256x64xf32>)
// CHECK: %[[R:.*]] = scf.for %[[I:.*]] = %{{.*}} to %[[B]] step %{{.*}} iter_args(%[[OUTER:.*]] = %[[ZEROS]]) -> (tensor<256x64xf32>)
// CHECK: %[[INNER:.*]] = scf.for %[[J:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[OUTER]]) -> (tensor<256x64xf32>)
// CHECK: %[[TOK:.*]] = tensor.extract %[[TOKENS]][%[[I]], %[[J]]] : tensor<4x128xi32>
// CHECK: %[[T:.*]] = arith.index_cast %[[TOK]] : i32 to index
// CHECK: %[[LO:.*]] = arith.maxsi %[[T]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = arith.minsi %[[LO]], %[[LAST]] : index
// CHECK: %[[SRC:.*]] = tensor.extract_slice %[[DY]][%[[I]], %[[J]], 0] [1, 1, 64] [1, 1, 1] : tensor<4x128x64xf32> to tensor<64xf32>
// CHECK: %[[OLD:.*]] = tensor.extract_slice %[[ACC]][%[[ROW]], 0] [1, 64] [1, 1] : tensor<256x64xf32> to tensor<64xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]} ins(%[[SRC]] : tensor<64xf32>) outs(%[[OLD]] : tensor<64xf32>)
// CHECK: ^bb0(%[[IN:[a-z0-9_]+]]: f32, %[[OUT:[a-z0-9_]+]]: f32):
// CHECK: arith.addf %[[OUT]], %[[IN]] : f32
// CHECK: %[[NEW:.*]] = tensor.insert_slice %[[SUM]] into %[[ACC]][%[[ROW]], 0] [1, 64] [1, 1] : tensor<64xf32> into tensor<256x64xf32>
// CHECK: scf.yield %[[NEW]] : tensor<256x64xf32>
// CHECK: scf.yield %[[INNER]] : tensor<256x64xf32>
// CHECK: return %[[R]]
func.func @embed_grad(%tokens: tensor<4x128xi32>, %dy: tensor<4x128x64xf32>) -> tensor<256x64xf32> {
  %0 = st.embed_grad %tokens, %dy : tensor<4x128xi32>, tensor<4x128x64xf32> -> tensor<256x64xf32>
  return %0 : tensor<256x64xf32>
}

// -----

// A dynamic batch bounds the outer loop; the result type gives the width
// that dy leaves dynamic.
// CHECK-LABEL: func.func @embed_grad_dynamic(
// CHECK-SAME: %[[TOKENS:[a-z0-9_]+]]: tensor<?x128xi32>, %[[DY:[a-z0-9_]+]]: tensor<?x128x?xf32>)
// CHECK: %[[B:.*]] = tensor.dim %[[DY]], %{{.*}} : tensor<?x128x?xf32>
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[B]] step
// CHECK: scf.for
// CHECK: tensor.extract_slice %[[DY]][%[[I]], %{{.*}}, 0] [1, 1, 64] [1, 1, 1] : tensor<?x128x?xf32> to tensor<64xf32>
func.func @embed_grad_dynamic(%tokens: tensor<?x128xi32>, %dy: tensor<?x128x?xf32>) -> tensor<256x64xf32> {
  %0 = st.embed_grad %tokens, %dy : tensor<?x128xi32>, tensor<?x128x?xf32> -> tensor<256x64xf32>
  return %0 : tensor<256x64xf32>
}

// -----

// The batch is summed first (batch-outer reduction), then one loop over the
// 128 positions adds row n into row (n / 16) mod 8 of the first table and
// row n mod 16 of the second.
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$POS:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @pos_embed_grad(
// CHECK-SAME: %[[DY:[a-z0-9_]+]]: tensor<?x128x64xf32>)
// CHECK: %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<128x64xf32>)
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$POS]]], iterator_types = ["reduction", "parallel", "parallel"]} ins(%[[DY]] : tensor<?x128x64xf32>) outs(%[[ZEROS]] : tensor<128x64xf32>)
// CHECK: arith.addf
// CHECK: %[[T0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x64xf32>)
// CHECK: %[[T1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16x64xf32>)
// CHECK: %[[R:.*]]:2 = scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A0:.*]] = %[[T0]], %[[A1:.*]] = %[[T1]]) -> (tensor<8x64xf32>, tensor<16x64xf32>)
// CHECK: %[[SRC:.*]] = tensor.extract_slice %[[S]][%[[N]], 0] [1, 64] [1, 1] : tensor<128x64xf32> to tensor<64xf32>
// CHECK: %[[Q:.*]] = arith.divui %[[N]], %{{.*}} : index
// CHECK: %[[ROW0:.*]] = arith.remui %[[Q]], %{{.*}} : index
// CHECK: tensor.extract_slice %[[A0]][%[[ROW0]], 0] [1, 64] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[SRC]] : tensor<64xf32>)
// CHECK: %[[NEW0:.*]] = tensor.insert_slice %{{.*}} into %[[A0]][%[[ROW0]], 0] [1, 64] [1, 1]
// CHECK: %[[ROW1:.*]] = arith.remui %[[N]], %{{.*}} : index
// CHECK: tensor.extract_slice %[[A1]][%[[ROW1]], 0] [1, 64] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[SRC]] : tensor<64xf32>)
// CHECK: %[[NEW1:.*]] = tensor.insert_slice %{{.*}} into %[[A1]][%[[ROW1]], 0] [1, 64] [1, 1]
// CHECK: scf.yield %[[NEW0]], %[[NEW1]] : tensor<8x64xf32>, tensor<16x64xf32>
// CHECK: return %[[R]]#0, %[[R]]#1
func.func @pos_embed_grad(%dy: tensor<?x128x64xf32>) -> (tensor<8x64xf32>, tensor<16x64xf32>) {
  %0:2 = st.pos_embed_grad %dy : tensor<?x128x64xf32> -> tensor<8x64xf32>, tensor<16x64xf32>
  return %0#0, %0#1 : tensor<8x64xf32>, tensor<16x64xf32>
}

// -----

// The forward's two-pass statistics, then mean and rstd per row, the row
// sums of g = dy * w and g * xhat, dx, and one reduction over the rows for
// dweight and dbias.
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$LAST:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[$ROWID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @layer_norm_grad(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x128x64xf32>, %[[W:[a-z0-9_]+]]: tensor<64xf32>, %[[DY:[a-z0-9_]+]]: tensor<?x128x64xf32>)
// CHECK-DAG: %[[WIDTH:.*]] = arith.constant 6.400000e+01 : f32
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]] : tensor<?x128x64xf32>)
// CHECK: %[[SQ:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[SUM]] :
// CHECK: %[[STATS:.*]]:2 = linalg.generic {indexing_maps = [#[[$ROWID]], #[[$ROWID]], #[[$ROWID]], #[[$ROWID]]], iterator_types = ["parallel", "parallel"]} ins(%[[SUM]], %[[SQ]] :
// CHECK: ^bb0(%[[S:[a-z0-9_]+]]: f32, %[[Q:[a-z0-9_]+]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK: %[[MEAN:.*]] = arith.divf %[[S]], %[[WIDTH]] : f32
// CHECK: %[[VAR:.*]] = arith.divf %[[Q]], %[[WIDTH]] : f32
// CHECK: %[[VE:.*]] = arith.addf %[[VAR]], %[[EPS]] : f32
// CHECK: %[[SD:.*]] = math.sqrt %[[VE]] : f32
// CHECK: %[[RSTD:.*]] = arith.divf %[[ONE]], %[[SD]] : f32
// CHECK: linalg.yield %[[MEAN]], %[[RSTD]] : f32, f32
// CHECK: %[[SUMS:.*]]:2 = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]], #[[$LAST]], #[[$ID]], #[[$ROW]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[STATS]]#0, %[[STATS]]#1, %[[W]], %[[DY]] :
// CHECK: ^bb0(%[[XI:[a-z0-9_]+]]: f32, %[[M:[a-z0-9_]+]]: f32, %[[RS:[a-z0-9_]+]]: f32, %[[WI:[a-z0-9_]+]]: f32, %[[DYI:[a-z0-9_]+]]: f32, %[[ACC0:[a-z0-9_]+]]: f32, %[[ACC1:[a-z0-9_]+]]: f32):
// CHECK: %[[DEV:.*]] = arith.subf %[[XI]], %[[M]] : f32
// CHECK: %[[XHAT:.*]] = arith.mulf %[[DEV]], %[[RS]] : f32
// CHECK: %[[G:.*]] = arith.mulf %[[DYI]], %[[WI]] : f32
// CHECK: %[[GX:.*]] = arith.mulf %[[G]], %[[XHAT]] : f32
// CHECK: %[[A0:.*]] = arith.addf %[[ACC0]], %[[G]] : f32
// CHECK: %[[A1:.*]] = arith.addf %[[ACC1]], %[[GX]] : f32
// CHECK: linalg.yield %[[A0]], %[[A1]] : f32, f32
// CHECK: %[[DX:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]], #[[$LAST]], #[[$ID]], #[[$ROW]], #[[$ROW]], #[[$ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[X]], %[[STATS]]#0, %[[STATS]]#1, %[[W]], %[[DY]], %[[SUMS]]#0, %[[SUMS]]#1 :
// CHECK: ^bb0(%[[XI:[a-z0-9_]+]]: f32, %[[M:[a-z0-9_]+]]: f32, %[[RS:[a-z0-9_]+]]: f32, %[[WI:[a-z0-9_]+]]: f32, %[[DYI:[a-z0-9_]+]]: f32, %[[SG:[a-z0-9_]+]]: f32, %[[SGX:[a-z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[DEV:.*]] = arith.subf %[[XI]], %[[M]] : f32
// CHECK: %[[XHAT:.*]] = arith.mulf %[[DEV]], %[[RS]] : f32
// CHECK: %[[G:.*]] = arith.mulf %[[DYI]], %[[WI]] : f32
// CHECK: %[[MG:.*]] = arith.divf %[[SG]], %[[WIDTH]] : f32
// CHECK: %[[MGX:.*]] = arith.divf %[[SGX]], %[[WIDTH]] : f32
// CHECK: %[[C:.*]] = arith.subf %[[G]], %[[MG]] : f32
// CHECK: %[[ALONG:.*]] = arith.mulf %[[XHAT]], %[[MGX]] : f32
// CHECK: %[[D:.*]] = arith.subf %[[C]], %[[ALONG]] : f32
// CHECK: %[[R:.*]] = arith.mulf %[[RS]], %[[D]] : f32
// CHECK: linalg.yield %[[R]] : f32
// CHECK: %[[PARAMS:.*]]:2 = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]], #[[$ID]], #[[$LAST]], #[[$LAST]]], iterator_types = ["reduction", "reduction", "parallel"]} ins(%[[X]], %[[STATS]]#0, %[[STATS]]#1, %[[DY]] : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<64xf32>, tensor<64xf32>)
// CHECK: ^bb0(%[[XI:[a-z0-9_]+]]: f32, %[[M:[a-z0-9_]+]]: f32, %[[RS:[a-z0-9_]+]]: f32, %[[DYI:[a-z0-9_]+]]: f32, %[[DW:[a-z0-9_]+]]: f32, %[[DB:[a-z0-9_]+]]: f32):
// CHECK: %[[DEV:.*]] = arith.subf %[[XI]], %[[M]] : f32
// CHECK: %[[XHAT:.*]] = arith.mulf %[[DEV]], %[[RS]] : f32
// CHECK: %[[P:.*]] = arith.mulf %[[DYI]], %[[XHAT]] : f32
// CHECK: %[[NDW:.*]] = arith.addf %[[DW]], %[[P]] : f32
// CHECK: %[[NDB:.*]] = arith.addf %[[DB]], %[[DYI]] : f32
// CHECK: linalg.yield %[[NDW]], %[[NDB]] : f32, f32
// CHECK: return %[[DX]], %[[PARAMS]]#0, %[[PARAMS]]#1
func.func @layer_norm_grad(%x: tensor<?x128x64xf32>, %w: tensor<64xf32>, %dy: tensor<?x128x64xf32>) -> (tensor<?x128x64xf32>, tensor<64xf32>, tensor<64xf32>) {
  %dx, %dw, %db = st.layer_norm_grad %x, %w, %dy {eps = 1.0e-5 : f64} : tensor<?x128x64xf32>, tensor<64xf32>, tensor<?x128x64xf32> -> tensor<?x128x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %dx, %dw, %db : tensor<?x128x64xf32>, tensor<64xf32>, tensor<64xf32>
}

// -----

// Rank 1: the statistics are 0-d, and the parameter gradients reduce over
// no dimension.
// CHECK-LABEL: func.func @layer_norm_grad_static_1d(
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]} {{.*}} outs(%{{.*}} : tensor<f32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]} {{.*}} outs(%{{.*}} : tensor<f32>)
// CHECK: linalg.generic {{.*}} iterator_types = []} {{.*}} outs(%{{.*}}, %{{.*}} : tensor<f32>, tensor<f32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]} {{.*}} outs(%{{.*}}, %{{.*}} : tensor<f32>, tensor<f32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel"]} {{.*}} outs(%{{.*}} : tensor<64xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel"]} {{.*}} outs(%{{.*}}, %{{.*}} : tensor<64xf32>, tensor<64xf32>)
func.func @layer_norm_grad_static_1d(%x: tensor<64xf32>, %w: tensor<64xf32>, %dy: tensor<64xf32>) -> (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) {
  %dx, %dw, %db = st.layer_norm_grad %x, %w, %dy {eps = 1.0e-5 : f64} : tensor<64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
  return %dx, %dw, %db : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
}

// -----

// On the [512, ...] row views: dx = dy W is a plain matmul, dweight = dy^T x
// a matmul reading dy through a transposed map, dbias the column sums of dy
// with the rows as the outer (reduction) loop.
// CHECK-DAG: #[[$AT:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear_grad(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<4x128x64xf32>, %[[W:[a-z0-9_]+]]: tensor<256x64xf32>, %[[DY:[a-z0-9_]+]]: tensor<4x128x256xf32>)
// CHECK: %[[XR:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<4x128x64xf32> into tensor<512x64xf32>
// CHECK: %[[DYR:.*]] = tensor.collapse_shape %[[DY]] {{\[}}[0, 1], [2]] : tensor<4x128x256xf32> into tensor<512x256xf32>
// CHECK: %[[Z0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<512x64xf32>)
// CHECK: %[[DXR:.*]] = linalg.matmul ins(%[[DYR]], %[[W]] : tensor<512x256xf32>, tensor<256x64xf32>) outs(%[[Z0]] : tensor<512x64xf32>)
// CHECK: %[[DX:.*]] = tensor.expand_shape %[[DXR]] {{\[}}[0, 1], [2]] output_shape [4, 128, 64] : tensor<512x64xf32> into tensor<4x128x64xf32>
// CHECK: %[[Z1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<256x64xf32>)
// CHECK: %[[DW:.*]] = linalg.matmul indexing_maps = [#[[$AT]], #[[$B]], #[[$C]]] ins(%[[DYR]], %[[XR]] : tensor<512x256xf32>, tensor<512x64xf32>) outs(%[[Z1]] : tensor<256x64xf32>)
// CHECK: %[[Z2:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<256xf32>)
// CHECK: %[[DB:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$COL]]], iterator_types = ["reduction", "parallel"]} ins(%[[DYR]] : tensor<512x256xf32>) outs(%[[Z2]] : tensor<256xf32>)
// CHECK: ^bb0(%[[IN:[a-z0-9_]+]]: f32, %[[ACC:[a-z0-9_]+]]: f32):
// CHECK: arith.addf %[[ACC]], %[[IN]] : f32
// CHECK: return %[[DX]], %[[DW]], %[[DB]]
// BLAS-LABEL: func.func @linear_grad(
// BLAS: %[[TA0:.*]] = arith.constant 0 : i32
// BLAS: %[[TB0:.*]] = arith.constant 0 : i32
// BLAS: call @st_blas_sgemm(%[[TA0]], %[[TB0]],
// BLAS: %[[TA1:.*]] = arith.constant 1 : i32
// BLAS: %[[TB1:.*]] = arith.constant 0 : i32
// BLAS: call @st_blas_sgemm(%[[TA1]], %[[TB1]],
// BLAS-NOT: linalg.matmul
func.func @linear_grad(%x: tensor<4x128x64xf32>, %w: tensor<256x64xf32>, %dy: tensor<4x128x256xf32>) -> (tensor<4x128x64xf32>, tensor<256x64xf32>, tensor<256xf32>) {
  %dx, %dw, %db = st.linear_grad %x, %w, %dy : tensor<4x128x64xf32>, tensor<256x64xf32>, tensor<4x128x256xf32> -> tensor<4x128x64xf32>, tensor<256x64xf32>, tensor<256xf32>
  return %dx, %dw, %db : tensor<4x128x64xf32>, tensor<256x64xf32>, tensor<256xf32>
}

// -----

// A dynamic batch gives a dynamic M; dx expands back with the batch size
// read from x.
// CHECK-LABEL: func.func @linear_grad_dynamic(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x128x64xf32>, %[[W:[a-z0-9_]+]]: tensor<256x64xf32>, %[[DY:[a-z0-9_]+]]: tensor<?x128x256xf32>)
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x128x64xf32>
// CHECK: %[[XR:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<?x128x64xf32> into tensor<?x64xf32>
// CHECK: %[[DYR:.*]] = tensor.collapse_shape %[[DY]] {{\[}}[0, 1], [2]] : tensor<?x128x256xf32> into tensor<?x256xf32>
// CHECK: %[[M:.*]] = tensor.dim %[[XR]], %{{.*}} : tensor<?x64xf32>
// CHECK: tensor.empty(%[[M]]) : tensor<?x64xf32>
// CHECK: %[[DXR:.*]] = linalg.matmul ins(%[[DYR]], %[[W]] : tensor<?x256xf32>, tensor<256x64xf32>)
// CHECK: tensor.expand_shape %[[DXR]] {{\[}}[0, 1], [2]] output_shape [%[[B]], 128, 64] : tensor<?x64xf32> into tensor<?x128x64xf32>
// CHECK: linalg.matmul indexing_maps = [{{.*}}] ins(%[[DYR]], %[[XR]] : tensor<?x256xf32>, tensor<?x64xf32>) outs(%{{.*}} : tensor<256x64xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[DYR]] : tensor<?x256xf32>) outs(%{{.*}} : tensor<256xf32>)
// BLAS-LABEL: func.func @linear_grad_dynamic(
// BLAS-COUNT-2: call @st_blas_sgemm(
// BLAS-NOT: linalg.matmul
func.func @linear_grad_dynamic(%x: tensor<?x128x64xf32>, %w: tensor<256x64xf32>, %dy: tensor<?x128x256xf32>) -> (tensor<?x128x64xf32>, tensor<256x64xf32>, tensor<256xf32>) {
  %dx, %dw, %db = st.linear_grad %x, %w, %dy : tensor<?x128x64xf32>, tensor<256x64xf32>, tensor<?x128x256xf32> -> tensor<?x128x64xf32>, tensor<256x64xf32>, tensor<256xf32>
  return %dx, %dw, %db : tensor<?x128x64xf32>, tensor<256x64xf32>, tensor<256xf32>
}

// -----

// Rank 1 is a single row: dweight is the outer product dy x^T.
// CHECK-LABEL: func.func @linear_grad_1d(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<64xf32>, %[[W:[a-z0-9_]+]]: tensor<256x64xf32>, %[[DY:[a-z0-9_]+]]: tensor<256xf32>)
// CHECK: %[[XR:.*]] = tensor.expand_shape %[[X]] {{\[}}[0, 1]] output_shape [1, 64] : tensor<64xf32> into tensor<1x64xf32>
// CHECK: %[[DYR:.*]] = tensor.expand_shape %[[DY]] {{\[}}[0, 1]] output_shape [1, 256] : tensor<256xf32> into tensor<1x256xf32>
// CHECK: %[[DXR:.*]] = linalg.matmul ins(%[[DYR]], %[[W]] : tensor<1x256xf32>, tensor<256x64xf32>)
// CHECK: tensor.collapse_shape %[[DXR]] {{\[}}[0, 1]] : tensor<1x64xf32> into tensor<64xf32>
// CHECK: linalg.matmul indexing_maps = [{{.*}}] ins(%[[DYR]], %[[XR]] : tensor<1x256xf32>, tensor<1x64xf32>) outs(%{{.*}} : tensor<256x64xf32>)
func.func @linear_grad_1d(%x: tensor<64xf32>, %w: tensor<256x64xf32>, %dy: tensor<256xf32>) -> (tensor<64xf32>, tensor<256x64xf32>, tensor<256xf32>) {
  %dx, %dw, %db = st.linear_grad %x, %w, %dy : tensor<64xf32>, tensor<256x64xf32>, tensor<256xf32> -> tensor<64xf32>, tensor<256x64xf32>, tensor<256xf32>
  return %dx, %dw, %db : tensor<64xf32>, tensor<256x64xf32>, tensor<256xf32>
}

// -----

// Exact: dy * ((1 + erf(x * 0.70710677)) * 0.5 + x * (exp(x * x * -0.5) *
// 0.3989423)), the last constant 1 / sqrt(2 pi).
// CHECK-LABEL: func.func @gelu_grad(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<?x128x256xf32>, %[[DY:[a-z0-9_]+]]: tensor<?x128x256xf32>)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG: %[[MHALF:.*]] = arith.constant -5.000000e-01 : f32
// CHECK-DAG: %[[RSQRT2:.*]] = arith.constant 0.707106769 : f32
// CHECK-DAG: %[[RSQRT2PI:.*]] = arith.constant 0.398942292 : f32
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x128x256xf32>
// CHECK: %[[INIT:.*]] = tensor.empty(%[[B]]) : tensor<?x128x256xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[X]], %[[DY]] : tensor<?x128x256xf32>, tensor<?x128x256xf32>) outs(%[[INIT]] : tensor<?x128x256xf32>)
// CHECK: ^bb0(%[[XI:[a-z0-9_]+]]: f32, %[[DYI:[a-z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[A:.*]] = arith.mulf %[[XI]], %[[RSQRT2]] : f32
// CHECK: %[[E:.*]] = math.erf %[[A]] : f32
// CHECK: %[[P:.*]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK: %[[CDF:.*]] = arith.mulf %[[P]], %[[HALF]] : f32
// CHECK: %[[SQ:.*]] = arith.mulf %[[XI]], %[[XI]] : f32
// CHECK: %[[H:.*]] = arith.mulf %[[SQ]], %[[MHALF]] : f32
// CHECK: %[[EX:.*]] = math.exp %[[H]] : f32
// CHECK: %[[PDF:.*]] = arith.mulf %[[EX]], %[[RSQRT2PI]] : f32
// CHECK: %[[XPDF:.*]] = arith.mulf %[[XI]], %[[PDF]] : f32
// CHECK: %[[D:.*]] = arith.addf %[[CDF]], %[[XPDF]] : f32
// CHECK: %[[R:.*]] = arith.mulf %[[DYI]], %[[D]] : f32
// CHECK: linalg.yield %[[R]] : f32
func.func @gelu_grad(%x: tensor<?x128x256xf32>, %dy: tensor<?x128x256xf32>) -> tensor<?x128x256xf32> {
  %0 = st.gelu_grad %x, %dy : tensor<?x128x256xf32>
  return %0 : tensor<?x128x256xf32>
}

// -----

// Sigmoid form: s = 1 / (1 + exp(-1.702 x)); dy * (s + 1.702 x s (1 - s)).
// CHECK-LABEL: func.func @gelu_grad_approximate(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[K:.*]] = arith.constant 1.702000e+00 : f32
// CHECK-DAG: %[[MK:.*]] = arith.constant -1.702000e+00 : f32
// CHECK: ^bb0(%[[XI:[a-z0-9_]+]]: f32, %[[DYI:[a-z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[A:.*]] = arith.mulf %[[XI]], %[[MK]] : f32
// CHECK: %[[E:.*]] = math.exp %[[A]] : f32
// CHECK: %[[DEN:.*]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK: %[[S:.*]] = arith.divf %[[ONE]], %[[DEN]] : f32
// CHECK: %[[KX:.*]] = arith.mulf %[[XI]], %[[K]] : f32
// CHECK: %[[KXS:.*]] = arith.mulf %[[KX]], %[[S]] : f32
// CHECK: %[[REST:.*]] = arith.subf %[[ONE]], %[[S]] : f32
// CHECK: %[[T:.*]] = arith.mulf %[[KXS]], %[[REST]] : f32
// CHECK: %[[D:.*]] = arith.addf %[[S]], %[[T]] : f32
// CHECK: %[[R:.*]] = arith.mulf %[[DYI]], %[[D]] : f32
// CHECK: linalg.yield %[[R]] : f32
// CHECK-NOT: math.erf
func.func @gelu_grad_approximate(%x: tensor<4x128x256xf32>, %dy: tensor<4x128x256xf32>) -> tensor<4x128x256xf32> {
  %0 = st.gelu_grad %x, %dy {approximate} : tensor<4x128x256xf32>
  return %0 : tensor<4x128x256xf32>
}

// -----

// The forward's row max and sum of exp; scale = (dnats + dbits / ln 2) /
// (B N) once in f64, rounded to f32; then (softmax - onehot(clamped
// target)) * scale per element.
// CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$POS3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @cross_entropy_grad(
// CHECK-SAME: %[[L:[a-z0-9_]+]]: tensor<?x128x256xf32>, %[[T:[a-z0-9_]+]]: tensor<?x128xi32>, %[[DN:[a-z0-9_]+]]: tensor<f32>, %[[DB:[a-z0-9_]+]]: tensor<f32>)
// CHECK: %[[B:.*]] = tensor.dim %[[L]], %{{.*}} : tensor<?x128x256xf32>
// CHECK: %[[LAST:.*]] = arith.constant 255 : index
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$POS3]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[L]] : tensor<?x128x256xf32>)
// CHECK: arith.maximumf
// CHECK: %[[SUMEXP:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$POS3]], #[[$POS3]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[L]], %[[MAX]] :
// CHECK: math.exp
// CHECK: %[[COUNT:.*]] = arith.muli %[[B]], %{{.*}} : index
// CHECK: %[[COUNT64:.*]] = arith.index_castui %[[COUNT]] : index to i64
// CHECK: %[[COUNTF:.*]] = arith.uitofp %[[COUNT64]] : i64 to f64
// CHECK: %[[LN2:.*]] = arith.constant 0.69314718055994529 : f64
// CHECK: %[[BITS:.*]] = tensor.extract %[[DB]][] : tensor<f32>
// CHECK: %[[BITS64:.*]] = arith.extf %[[BITS]] : f32 to f64
// CHECK: %[[PERBIT:.*]] = arith.divf %[[BITS64]], %[[LN2]] : f64
// CHECK: %[[NATS:.*]] = tensor.extract %[[DN]][] : tensor<f32>
// CHECK: %[[NATS64:.*]] = arith.extf %[[NATS]] : f32 to f64
// CHECK: %[[TOTAL:.*]] = arith.addf %[[NATS64]], %[[PERBIT]] : f64
// CHECK: %[[MEAN:.*]] = arith.divf %[[TOTAL]], %[[COUNTF]] : f64
// CHECK: %[[SCALE:.*]] = arith.truncf %[[MEAN]] : f64 to f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[INIT:.*]] = tensor.empty(%[[B]]) : tensor<?x128x256xf32>
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$POS3]], #[[$POS3]], #[[$POS3]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[L]], %[[MAX]], %[[SUMEXP]], %[[T]] : tensor<?x128x256xf32>, tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xi32>) outs(%[[INIT]] : tensor<?x128x256xf32>)
// CHECK: ^bb0(%[[LI:[a-z0-9_]+]]: f32, %[[M:[a-z0-9_]+]]: f32, %[[S:[a-z0-9_]+]]: f32, %[[TGT:[a-z0-9_]+]]: i32, %{{.*}}: f32):
// CHECK: %[[SH:.*]] = arith.subf %[[LI]], %[[M]] : f32
// CHECK: %[[E:.*]] = math.exp %[[SH]] : f32
// CHECK: %[[P:.*]] = arith.divf %[[E]], %[[S]] : f32
// CHECK: %[[V:.*]] = linalg.index 2 : index
// CHECK: %[[TI:.*]] = arith.index_cast %[[TGT]] : i32 to index
// CHECK: %[[TLO:.*]] = arith.maxsi %[[TI]], %{{.*}} : index
// CHECK: %[[TC:.*]] = arith.minsi %[[TLO]], %[[LAST]] : index
// CHECK: %[[HIT:.*]] = arith.cmpi eq, %[[V]], %[[TC]] : index
// CHECK: %[[HOT:.*]] = arith.select %[[HIT]], %[[ONE]], %[[ZERO]] : f32
// CHECK: %[[DIFF:.*]] = arith.subf %[[P]], %[[HOT]] : f32
// CHECK: %[[G:.*]] = arith.mulf %[[DIFF]], %[[SCALE]] : f32
// CHECK: linalg.yield %[[G]] : f32
// CHECK: return %[[R]]
func.func @cross_entropy_grad(%logits: tensor<?x128x256xf32>, %targets: tensor<?x128xi32>, %dnats: tensor<f32>, %dbits: tensor<f32>) -> tensor<?x128x256xf32> {
  %0 = st.cross_entropy_grad %logits, %targets, %dnats, %dbits : tensor<?x128x256xf32>, tensor<?x128xi32>, tensor<f32>, tensor<f32>
  return %0 : tensor<?x128x256xf32>
}

// -----

// With a static batch the position count is a constant.
// CHECK-LABEL: func.func @cross_entropy_grad_static(
// CHECK-NOT: tensor.dim
// CHECK: arith.constant 5.120000e+02 : f64
func.func @cross_entropy_grad_static(%logits: tensor<4x128x256xf32>, %targets: tensor<4x128xi32>, %dnats: tensor<f32>, %dbits: tensor<f32>) -> tensor<4x128x256xf32> {
  %0 = st.cross_entropy_grad %logits, %targets, %dnats, %dbits : tensor<4x128x256xf32>, tensor<4x128xi32>, tensor<f32>, tensor<f32>
  return %0 : tensor<4x128x256xf32>
}
