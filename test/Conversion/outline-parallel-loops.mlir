// RUN: st-opt %s --st-outline-parallel-loops | FileCheck %s
// RUN: st-opt %s --st-to-cpu --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE

// Each outermost scf.parallel of a function becomes a private function of
// the values it uses from outside, called in its place; a parallel loop
// nested in another moves with it; a name already taken gets a suffix.

// CHECK: func.func @two_parallel_1()
// CHECK: func.func private @two_parallel_0(%[[S:.*]]: f32, %[[A:.*]]: memref<?xf32>,
// CHECK: scf.parallel
// CHECK: memref.store %[[S]], %[[A]]
// CHECK: func.func private @two_parallel_1_0(
// CHECK: scf.parallel
// CHECK-NEXT: scf.parallel
// CHECK-LABEL: func.func @two(
// CHECK-NOT: scf.parallel
// CHECK: call @two_parallel_0(
// CHECK-NEXT: call @two_parallel_1_0(
// CHECK-NEXT: return
func.func @two_parallel_1() {
  return
}

func.func @two(%a: memref<?x?xf32>, %b: memref<?xf32>, %n: index, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %s, %b[%i] : memref<?xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.parallel (%j) = (%c0) to (%n) step (%c1) {
      memref.store %s, %a[%i, %j] : memref<?x?xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// PIPELINE: st-outline-parallel-loops
// PIPELINE-NEXT: convert-scf-to-openmp
