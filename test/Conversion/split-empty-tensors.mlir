// RUN: st-opt %s --st-split-empty-tensors | FileCheck %s
// RUN: st-opt %s --st-to-cpu --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE

// Each use of an empty tensor gets its own, created where the original is
// (its dynamic size dominates every use); an unused one stays as it is.

// CHECK-LABEL: func.func @shared
// CHECK-SAME: (%[[A:.*]]: tensor<?xf32>, %[[N:.*]]: index)
func.func @shared(%a: tensor<?xf32>, %n: index) -> (tensor<?xf32>, tensor<?xf32>) {
  // CHECK: %[[E0:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
  // CHECK-NEXT: %[[E1:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
  // CHECK-NOT: tensor.empty
  %e = tensor.empty(%n) : tensor<?xf32>
  %x = linalg.copy ins(%a : tensor<?xf32>) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %y = linalg.copy ins(%x : tensor<?xf32>) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  // One empty tensor each (CHECK-DAG matches do not overlap).
  // CHECK-DAG: linalg.copy ins({{.*}}) outs(%[[E0]] : tensor<?xf32>)
  // CHECK-DAG: linalg.copy ins({{.*}}) outs(%[[E1]] : tensor<?xf32>)
  return %x, %y : tensor<?xf32>, tensor<?xf32>
}

// CHECK-LABEL: func.func @unused
// CHECK: tensor.empty() : tensor<4xf32>
// CHECK-NOT: tensor.empty
func.func @unused() {
  %e = tensor.empty() : tensor<4xf32>
  return
}

// The CPU pipeline splits them right before bufferization.
// PIPELINE: st-split-empty-tensors
// PIPELINE-NEXT: one-shot-bufferize
