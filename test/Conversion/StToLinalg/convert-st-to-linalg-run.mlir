// End to end on the CPU: --convert-st-to-linalg, then upstream passes down to
// LLVM, run with mlir-runner. The expected numbers come from an independent
// double-precision C++ evaluation of each op's formula (and, for dropout,
// st::rt::philox4x32x10 from runtime/lib/Rng.cpp with key 42, counter
// (e, 0, 7, 1)); printMemrefF32 prints 6 significant digits, and the f32
// results agree with the double references well inside that.
// RUN: st-opt %s --convert-st-to-linalg --convert-elementwise-to-linalg \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries" \
// RUN:   --buffer-deallocation-pipeline --convert-linalg-to-loops \
// RUN:   --convert-scf-to-cf --expand-strided-metadata --lower-affine \
// RUN:   --convert-math-to-llvm --convert-math-to-libm --convert-to-llvm \
// RUN:   --reconcile-unrealized-casts \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=$(dirname $(command -v mlir-runner))/../lib/libmlir_runner_utils.so \
// RUN:   -shared-libs=$(dirname $(command -v mlir-runner))/../lib/libmlir_c_runner_utils.so \
// RUN: | FileCheck %s

func.func private @printMemrefF32(tensor<*xf32>)

func.func @model(%tok: tensor<?x4xi32>, %table: tensor<3x2xf32>, %x: tensor<?x4x2xf32>,
                 %t0: tensor<2x2xf32>, %t1: tensor<2x2xf32>) -> (tensor<?x4x2xf32>, tensor<?x4x2xf32>) {
  %e = st.embed %tok, %table : tensor<?x4xi32>, tensor<3x2xf32> -> tensor<?x4x2xf32>
  %p = st.pos_embed %x, %t0, %t1 : tensor<?x4x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>
  return %e, %p : tensor<?x4x2xf32>, tensor<?x4x2xf32>
}

func.func @norm_linear(%x: tensor<?x2x4xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>,
                       %lw: tensor<3x4xf32>, %lb: tensor<3xf32>) -> (tensor<?x2x4xf32>, tensor<?x2x3xf32>) {
  %n = st.layer_norm %x, %w, %b : tensor<?x2x4xf32>, tensor<4xf32>, tensor<4xf32>
  %l = st.linear %x, %lw, %lb : tensor<?x2x4xf32>, tensor<3x4xf32>, tensor<3xf32> -> tensor<?x2x3xf32>
  return %n, %l : tensor<?x2x4xf32>, tensor<?x2x3xf32>
}

func.func @gelus(%x: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %g = st.gelu %x : tensor<?x8xf32>
  %a = st.gelu %x {approximate} : tensor<?x8xf32>
  return %g, %a : tensor<?x8xf32>, tensor<?x8xf32>
}

func.func @loss(%l: tensor<?x2x3xf32>, %t: tensor<?x2xi32>) -> (tensor<f32>, tensor<f32>) {
  %n, %b = st.cross_entropy %l, %t : tensor<?x2x3xf32>, tensor<?x2xi32> -> tensor<f32>, tensor<f32>
  return %n, %b : tensor<f32>, tensor<f32>
}

func.func @drop(%x: tensor<?x4x8xf32>, %rng: tensor<2xi64>) -> tensor<?x4x8xf32> {
  %d = st.dropout %x, %rng {op_id = 1 : i64, rate = 5.000000e-01 : f64} : tensor<?x4x8xf32>, tensor<2xi64>
  return %d : tensor<?x4x8xf32>
}

func.func @print(%t: tensor<*xf32>) {
  call @printMemrefF32(%t) : (tensor<*xf32>) -> ()
  return
}

func.func @main() {
  %tok = arith.constant dense<[[0, 2, -5, 99]]> : tensor<1x4xi32>
  %table = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %zero = arith.constant dense<0.0> : tensor<1x4x2xf32>
  %t0 = arith.constant dense<[[100.0, 200.0], [300.0, 400.0]]> : tensor<2x2xf32>
  %t1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %tokd = tensor.cast %tok : tensor<1x4xi32> to tensor<?x4xi32>
  %zerod = tensor.cast %zero : tensor<1x4x2xf32> to tensor<?x4x2xf32>
  %e, %p = call @model(%tokd, %table, %zerod, %t0, %t1) : (tensor<?x4xi32>, tensor<3x2xf32>, tensor<?x4x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> (tensor<?x4x2xf32>, tensor<?x4x2xf32>)
  %eu = tensor.cast %e : tensor<?x4x2xf32> to tensor<*xf32>
  call @print(%eu) : (tensor<*xf32>) -> ()
  // Tokens -5 and 99 are clamped to rows 0 and 2.
  // CHECK: sizes = [1, 4, 2]
  // CHECK-NEXT{LITERAL}: [[[1,    2],
  // CHECK-NEXT{LITERAL}:   [5,    6],
  // CHECK-NEXT{LITERAL}:   [1,    2],
  // CHECK-NEXT{LITERAL}:   [5,    6]]]
  %pu = tensor.cast %p : tensor<?x4x2xf32> to tensor<*xf32>
  call @print(%pu) : (tensor<*xf32>) -> ()
  // Position n = 2 * row + col adds t0[row] + t1[col].
  // CHECK: sizes = [1, 4, 2]
  // CHECK-NEXT{LITERAL}: [[[101,    202],
  // CHECK-NEXT{LITERAL}:   [103,    204],
  // CHECK-NEXT{LITERAL}:   [301,    402],
  // CHECK-NEXT{LITERAL}:   [303,    404]]]

  %x = arith.constant dense<[[[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 10.0, 100.0]]]> : tensor<1x2x4xf32>
  %w = arith.constant dense<[1.0, 0.5, 2.0, -1.0]> : tensor<4xf32>
  %b = arith.constant dense<[0.0, 0.1, -0.2, 0.3]> : tensor<4xf32>
  %lw = arith.constant dense<[[0.1, 0.2, 0.3, 0.4], [-1.0, 0.0, 1.0, 0.0], [0.5, -0.5, 0.25, -0.25]]> : tensor<3x4xf32>
  %lb = arith.constant dense<[0.5, -0.5, 0.0]> : tensor<3xf32>
  %xd = tensor.cast %x : tensor<1x2x4xf32> to tensor<?x2x4xf32>
  %n, %l = call @norm_linear(%xd, %w, %b, %lw, %lb) : (tensor<?x2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> (tensor<?x2x4xf32>, tensor<?x2x3xf32>)
  %nu = tensor.cast %n : tensor<?x2x4xf32> to tensor<*xf32>
  call @print(%nu) : (tensor<*xf32>) -> ()
  // CHECK: sizes = [1, 2, 4]
  // CHECK-NEXT{LITERAL}: [[[-1.34164,    -0.123606,    0.694424,    -1.04164],
  // CHECK-NEXT{LITERAL}:   [-0.673324,    -0.218865,    -1.0246,    -1.42335]]]
  %lu = tensor.cast %l : tensor<?x2x3xf32> to tensor<*xf32>
  call @print(%lu) : (tensor<*xf32>) -> ()
  // CHECK: sizes = [1, 2, 3]
  // CHECK-NEXT{LITERAL}: [[[3.5,    1.5,    -0.75],
  // CHECK-NEXT{LITERAL}:   [43.5,    10.5,    -23.25]]]

  %g = arith.constant dense<[[-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 10.0]]> : tensor<1x8xf32>
  %gd = tensor.cast %g : tensor<1x8xf32> to tensor<?x8xf32>
  %ge, %ga = call @gelus(%gd) : (tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>)
  %geu = tensor.cast %ge : tensor<?x8xf32> to tensor<*xf32>
  call @print(%geu) : (tensor<*xf32>) -> ()
  // CHECK: sizes = [1, 8]
  // CHECK-NEXT{LITERAL}: [[-0.00404969,   -0.158655,   -0.154269,   0,   0.345731,   0.841345,   2.99595,   10]]
  %gau = tensor.cast %ga : tensor<?x8xf32> to tensor<*xf32>
  call @print(%gau) : (tensor<*xf32>) -> ()
  // CHECK: sizes = [1, 8]
  // CHECK-NEXT{LITERAL}: [[-0.0180713,   -0.154204,   -0.149612,   0,   0.350388,   0.845796,   2.98193,   10]]

  %logits = arith.constant dense<[[[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]]> : tensor<1x2x3xf32>
  %targets = arith.constant dense<[[0, 7]]> : tensor<1x2xi32>
  %ld = tensor.cast %logits : tensor<1x2x3xf32> to tensor<?x2x3xf32>
  %td = tensor.cast %targets : tensor<1x2xi32> to tensor<?x2xi32>
  %nats, %bits = call @loss(%ld, %td) : (tensor<?x2x3xf32>, tensor<?x2xi32>) -> (tensor<f32>, tensor<f32>)
  %natsu = tensor.cast %nats : tensor<f32> to tensor<*xf32>
  call @print(%natsu) : (tensor<*xf32>) -> ()
  // (ln 3 + (logsumexp(1, 2, 3) - 3)) / 2, target 7 clamped to class 2.
  // CHECK: rank = 0
  // CHECK-NEXT{LITERAL}: [0.753109]
  %bitsu = tensor.cast %bits : tensor<f32> to tensor<*xf32>
  call @print(%bitsu) : (tensor<*xf32>) -> ()
  // CHECK: rank = 0
  // CHECK-NEXT{LITERAL}: [1.08651]

  %ones = arith.constant dense<1.0> : tensor<1x4x8xf32>
  %onesd = tensor.cast %ones : tensor<1x4x8xf32> to tensor<?x4x8xf32>
  %rng = arith.constant dense<[42, 7]> : tensor<2xi64>
  %d = call @drop(%onesd, %rng) : (tensor<?x4x8xf32>, tensor<2xi64>) -> tensor<?x4x8xf32>
  %du = tensor.cast %d : tensor<?x4x8xf32> to tensor<*xf32>
  call @print(%du) : (tensor<*xf32>) -> ()
  // Rate 0.5: kept ones become 2.
  // CHECK: sizes = [1, 4, 8]
  // CHECK-NEXT{LITERAL}: [[[2,    0,    0,    0,    0,    2,    2,    0],
  // CHECK-NEXT{LITERAL}:   [0,    0,    0,    2,    0,    2,    0,    2],
  // CHECK-NEXT{LITERAL}:   [0,    0,    2,    2,    2,    2,    0,    2],
  // CHECK-NEXT{LITERAL}:   [0,    0,    0,    0,    2,    0,    0,    0]]]
  return
}
