// The CPU pipeline converts scf to cf without pattern rollback: with it,
// the conversion recorded every operation that a loop's block split moved,
// and the training step of models/cifar10.mlir (128 layers, one function)
// ran out of 24 GB; without it, 1.6 GB (docs/cpu-benchmark.md, "Compile
// time of the paper's models").
// RUN: st-opt %s --st-to-cpu --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s
// CHECK: convert-scf-to-cf{allow-pattern-rollback=false}
module {
}
