// --st-linalg-to-blas with row-blocks: the rows of C (and of A, or its
// columns when A is read transposed) are split into blocks whose BLAS
// calls form an scf.parallel loop; each block is one call over the whole
// reduction.
// RUN: st-opt %s --st-linalg-to-blas="row-blocks=4 min-block-rows=16" | FileCheck %s
// RUN: st-opt %s --st-linalg-to-blas | FileCheck %s --check-prefix=ONE

// rows = max(ceil(M / 4), 16); blocks = ceil(M / rows); block b covers rows
// [b rows, min(b rows + rows, M)).
// CHECK-LABEL: func.func @plain
// CHECK-SAME: %[[A:[a-z0-9]+]]: memref<?x64xf32>, %{{.*}}: memref<64x32xf32>, %[[OUT:[a-z0-9]+]]: memref<?x32xf32>
// CHECK: %[[M:.*]] = memref.dim %[[OUT]], %{{.*}} : memref<?x32xf32>
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: %[[Q:.*]] = arith.ceildivsi %[[M]], %[[C4]]
// CHECK: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[ROWS:.*]] = arith.maxsi %[[Q]], %[[C16]]
// CHECK: %[[BLOCKS:.*]] = arith.ceildivsi %[[M]], %[[ROWS]]
// CHECK: scf.parallel (%[[B:.*]]) = (%{{.*}}) to (%[[BLOCKS]]) step (%{{.*}})
// CHECK: %[[R0:.*]] = arith.muli %[[B]], %[[ROWS]]
// CHECK: %[[LEFT:.*]] = arith.subi %[[M]], %[[R0]]
// CHECK: %[[R:.*]] = arith.minsi %[[ROWS]], %[[LEFT]]
// CHECK: %[[CB:.*]] = memref.subview %[[OUT]][%[[R0]], 0] [%[[R]], 32] [1, 1]
// CHECK: %[[AB:.*]] = memref.subview %[[A]][%[[R0]], 0] [%[[R]], 64] [1, 1]
// CHECK: call @st_blas_sgemm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: scf.reduce
// ONE-LABEL: func.func @plain
// ONE-NOT: scf.parallel
// ONE: call @st_blas_sgemm
func.func @plain(%a: memref<?x64xf32>, %b: memref<64x32xf32>, %c: memref<?x32xf32>) {
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x32xf32>) outs(%c : memref<?x32xf32>)
  return
}

// A transposed (dweight = dy^T x): a block of C rows is a block of A's
// columns.
// CHECK-LABEL: func.func @transposed_a
// CHECK: scf.parallel
// CHECK: memref.subview %{{.*}}[%{{.*}}, 0] [%{{.*}}, 64] [1, 1] : memref<128x64xf32>
// CHECK: memref.subview %{{.*}}[0, %{{.*}}] [512, %{{.*}}] [1, 1] : memref<512x128xf32>
// CHECK: %[[TA:.*]] = arith.constant 1 : i32
// CHECK: call @st_blas_sgemm(%[[TA]],
func.func @transposed_a(%dy: memref<512x128xf32>, %x: memref<512x64xf32>, %dw: memref<128x64xf32>) {
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%dy, %x : memref<512x128xf32>, memref<512x64xf32>) outs(%dw : memref<128x64xf32>)
  return
}
