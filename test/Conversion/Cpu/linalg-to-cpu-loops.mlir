// --st-linalg-to-cpu-loops: leading parallel dimensions of top-level linalg
// ops become one scf.parallel, the innermost dimension and reductions stay
// sequential, small ops and ops inside loops get sequential loops only.
// RUN: st-opt %s --st-linalg-to-cpu-loops="min-parallel-work=1024" -split-input-file | FileCheck %s

// Element-wise over [4, 32, 16]: (d0, d1) in parallel, d2 sequential.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK-NEXT: scf.for %[[K:.*]] =
// CHECK: memref.load %{{.*}}[%[[I]], %[[J]], %[[K]]]
// CHECK: math.exp
// CHECK: memref.store
// CHECK-NOT: linalg.generic
func.func @elementwise(%x: memref<4x32x16xf32>, %y: memref<4x32x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : memref<4x32x16xf32>) outs(%y : memref<4x32x16xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// Row sums: rows in parallel, each row summed in order by one thread.
// CHECK-LABEL: func.func @row_sums
// CHECK: scf.parallel (%[[R:.*]]) =
// CHECK-NEXT: scf.for %[[C:.*]] =
// CHECK: memref.load %{{.*}}[%[[R]], %[[C]]]
// CHECK: arith.addf
func.func @row_sums(%x: memref<128x64xf32>, %s: memref<128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%x : memref<128x64xf32>) outs(%s : memref<128xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %acc, %a : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Column sums: the outer dimension is a reduction, so no parallel region
// (one per row would cost more than it saves).
// CHECK-LABEL: func.func @column_sums
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: scf.for
// CHECK-NOT: scf.parallel
func.func @column_sums(%x: memref<128x64xf32>, %s: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]} ins(%x : memref<128x64xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %acc, %a : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// [parallel, reduction, parallel]: only the leading dimension is parallel;
// the dimension after the reduction is a sequential loop.
// CHECK-LABEL: func.func @middle_reduction
// CHECK: scf.parallel (%{{.*}}) =
// CHECK-NEXT: scf.for
// CHECK-NEXT: scf.for
// CHECK-NOT: scf.parallel
func.func @middle_reduction(%x: memref<32x16x64xf32>, %s: memref<32x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x : memref<32x16x64xf32>) outs(%s : memref<32x64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %acc, %a : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Below min-parallel-work (16 x 16 = 256 < 1024): sequential.
// CHECK-LABEL: func.func @small
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: scf.for
func.func @small(%x: memref<16x16xf32>) {
  %c = arith.constant 1.0 : f32
  linalg.fill ins(%c : f32) outs(%x : memref<16x16xf32>)
  return
}

// -----

// A dynamic size counts as 1 towards min-parallel-work: ? x 64 stays
// sequential, ? x 32 x 64 is parallel.
// CHECK-LABEL: func.func @dynamic
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.parallel
func.func @dynamic(%x: memref<?x64xf32>, %y: memref<?x32x64xf32>) {
  %c = arith.constant 1.0 : f32
  linalg.fill ins(%c : f32) outs(%x : memref<?x64xf32>)
  linalg.fill ins(%c : f32) outs(%y : memref<?x32x64xf32>)
  return
}

// -----

// Inside a loop (a scatter-add row update): sequential.
// CHECK-LABEL: func.func @in_loop
// CHECK: scf.for
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: scf.for
func.func @in_loop(%x: memref<64x128xf32>, %y: memref<64x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : memref<64x128xf32>) outs(%y : memref<64x128xf32>) {
    ^bb0(%a: f32, %b: f32):
      %t = arith.addf %a, %b : f32
      linalg.yield %t : f32
    }
  }
  return
}
