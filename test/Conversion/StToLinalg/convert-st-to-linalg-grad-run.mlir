// The backward ops end to end on the CPU, like convert-st-to-linalg-run.mlir,
// with a dynamic batch. The expected numbers are central finite differences,
// in double precision, of each forward op's definition (Python floats, no
// lowering code involved): Inputs/grad_reference.py holds the inputs of
// @main, computes them, compares an mlir-runner output with them
// (|got - ref| <= 1e-4 |ref| + 1e-6 max|ref|) and prints these CHECK lines
// (`grad_reference.py --checks OUT`). embed_grad, pos_embed_grad and
// linear_grad are exact in f32 on these dyadic inputs and match exactly;
// the other gradients match to 5-6 significant digits, accepting any f32
// within 2e-6 |ref| + 2e-7 max|ref| (tens of ulps; the lowering is within
// 6 ulps here), as alternatives where that interval straddles a printed
// digit.
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

func.func @print(%t: tensor<*xf32>) {
  call @printMemrefF32(%t) : (tensor<*xf32>) -> ()
  return
}

func.func @embeddings(%tok: tensor<?x4xi32>, %dy: tensor<?x4x2xf32>, %dpos: tensor<?x5x2xf32>)
    -> (tensor<3x2xf32>, tensor<2x2xf32>, tensor<3x2xf32>) {
  %dt = st.embed_grad %tok, %dy : tensor<?x4xi32>, tensor<?x4x2xf32> -> tensor<3x2xf32>
  %d0, %d1 = st.pos_embed_grad %dpos : tensor<?x5x2xf32> -> tensor<2x2xf32>, tensor<3x2xf32>
  return %dt, %d0, %d1 : tensor<3x2xf32>, tensor<2x2xf32>, tensor<3x2xf32>
}

func.func @norm(%x: tensor<?x2x4xf32>, %w: tensor<4xf32>, %dy: tensor<?x2x4xf32>)
    -> (tensor<?x2x4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %dx, %dw, %db = st.layer_norm_grad %x, %w, %dy {eps = 1.0e-5 : f64} : tensor<?x2x4xf32>, tensor<4xf32>, tensor<?x2x4xf32> -> tensor<?x2x4xf32>, tensor<4xf32>, tensor<4xf32>
  return %dx, %dw, %db : tensor<?x2x4xf32>, tensor<4xf32>, tensor<4xf32>
}

func.func @linear(%x: tensor<?x2x3xf32>, %w: tensor<2x3xf32>, %dy: tensor<?x2x2xf32>)
    -> (tensor<?x2x3xf32>, tensor<2x3xf32>, tensor<2xf32>) {
  %dx, %dw, %db = st.linear_grad %x, %w, %dy : tensor<?x2x3xf32>, tensor<2x3xf32>, tensor<?x2x2xf32> -> tensor<?x2x3xf32>, tensor<2x3xf32>, tensor<2xf32>
  return %dx, %dw, %db : tensor<?x2x3xf32>, tensor<2x3xf32>, tensor<2xf32>
}

func.func @gelus(%x: tensor<?x9xf32>, %dy: tensor<?x9xf32>) -> (tensor<?x9xf32>, tensor<?x9xf32>) {
  %g = st.gelu_grad %x, %dy : tensor<?x9xf32>
  %a = st.gelu_grad %x, %dy {approximate} : tensor<?x9xf32>
  return %g, %a : tensor<?x9xf32>, tensor<?x9xf32>
}

func.func @loss(%l: tensor<?x2x3xf32>, %t: tensor<?x2xi32>, %dn: tensor<f32>, %db: tensor<f32>) -> tensor<?x2x3xf32> {
  %d = st.cross_entropy_grad %l, %t, %dn, %db : tensor<?x2x3xf32>, tensor<?x2xi32>, tensor<f32>, tensor<f32>
  return %d : tensor<?x2x3xf32>
}

func.func @main() {
  %tok = arith.constant dense<[[0, 2, -5, 99], [2, 2, 1, 0]]> : tensor<2x4xi32>
  %dy = arith.constant dense<[[[1.0, 2.0], [0.5, -1.0], [0.25, 4.0], [-2.0, 0.125]],
                              [[8.0, -0.5], [1.5, 3.0], [-4.0, 0.75], [2.0, 1.0]]]> : tensor<2x4x2xf32>
  %dpos = arith.constant dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]],
                                [[0.5, 0.25], [-1.0, -2.0], [0.125, 64.0], [-8.0, 16.0], [32.0, -0.5]]]> : tensor<2x5x2xf32>
  %tokd = tensor.cast %tok : tensor<2x4xi32> to tensor<?x4xi32>
  %dyd = tensor.cast %dy : tensor<2x4x2xf32> to tensor<?x4x2xf32>
  %dposd = tensor.cast %dpos : tensor<2x5x2xf32> to tensor<?x5x2xf32>
  %dt, %d0, %d1 = call @embeddings(%tokd, %dyd, %dposd) : (tensor<?x4xi32>, tensor<?x4x2xf32>, tensor<?x5x2xf32>) -> (tensor<3x2xf32>, tensor<2x2xf32>, tensor<3x2xf32>)
  %dtu = tensor.cast %dt : tensor<3x2xf32> to tensor<*xf32>
  call @print(%dtu) : (tensor<*xf32>) -> ()
  // embed_grad dtable.
  // CHECK: sizes = [3, 2]
  // CHECK-NEXT: {{\[\[}}3.25, 7],
  // CHECK-NEXT: [-4, 0.75],
  // CHECK-NEXT: [8, 1.625]]
  %d0u = tensor.cast %d0 : tensor<2x2xf32> to tensor<*xf32>
  call @print(%d0u) : (tensor<*xf32>) -> ()
  // pos_embed_grad dtables[0].
  // CHECK: sizes = [2, 2]
  // CHECK-NEXT: {{\[\[}}8.625, 74.25],
  // CHECK-NEXT: [40, 33.5]]
  %d1u = tensor.cast %d1 : tensor<3x2xf32> to tensor<*xf32>
  call @print(%d1u) : (tensor<*xf32>) -> ()
  // pos_embed_grad dtables[1].
  // CHECK: sizes = [3, 2]
  // CHECK-NEXT: {{\[\[}}0.5, 26.25],
  // CHECK-NEXT: [43, 11.5],
  // CHECK-NEXT: [5.125, 70]]

  %x = arith.constant dense<[[[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 10.0, 100.0]]]> : tensor<1x2x4xf32>
  %w = arith.constant dense<[1.0, 0.5, 2.0, -1.0]> : tensor<4xf32>
  %ndy = arith.constant dense<[[[0.3, -0.2, 0.5, 1.0], [1.0, 2.0, -1.5, 0.25]]]> : tensor<1x2x4xf32>
  %xd = tensor.cast %x : tensor<1x2x4xf32> to tensor<?x2x4xf32>
  %ndyd = tensor.cast %ndy : tensor<1x2x4xf32> to tensor<?x2x4xf32>
  %ndx, %ndw, %ndb = call @norm(%xd, %w, %ndyd) : (tensor<?x2x4xf32>, tensor<4xf32>, tensor<?x2x4xf32>) -> (tensor<?x2x4xf32>, tensor<4xf32>, tensor<4xf32>)
  %ndxu = tensor.cast %ndx : tensor<?x2x4xf32> to tensor<*xf32>
  call @print(%ndxu) : (tensor<*xf32>) -> ()
  // layer_norm_grad dx.
  // CHECK: sizes = [1, 2, 4]
  // CHECK-NEXT: {{\[\[\[}}-0.1520{{4[0-9]*|5}}, -0.25938{{[0-9]*}}, 0.9749{{1[0-9]*|2[0-9]*}}, -0.5634{{8[0-9]*|9[0-9]*}}],
  // CHECK-NEXT: [0.02912{{7[0-9]*|8}}, 0.029234{{[0-9]*}}, -0.06500{{7[0-9]*|8[0-9]*}}, 0.00664{{5[0-9]*|6[0-9]*}}]]]
  %ndwu = tensor.cast %ndw : tensor<4xf32> to tensor<*xf32>
  call @print(%ndwu) : (tensor<*xf32>) -> ()
  // layer_norm_grad dweight.
  // CHECK: sizes = [4]
  // CHECK-NEXT: [-1.0758{{[0-9]*}}, -1.1860{{[0-9]*}}, 0.84205{{[0-9]*}}, 1.7724{{[0-9]*}}]
  %ndbu = tensor.cast %ndb : tensor<4xf32> to tensor<*xf32>
  call @print(%ndbu) : (tensor<*xf32>) -> ()
  // layer_norm_grad dbias.
  // CHECK: sizes = [4]
  // CHECK-NEXT: [1.3, 1.8, -{{0\.9999[0-9]*|1}}, 1.25]

  %lx = arith.constant dense<[[[1.0, 2.0, 3.0], [-2.0, 0.5, 0.25]], [[2.0, -2.0, 1.0], [0.0, 1.0, -0.5]]]> : tensor<2x2x3xf32>
  %lw = arith.constant dense<[[0.5, -1.0, 2.0], [1.5, 0.75, -0.75]]> : tensor<2x3xf32>
  %ldy = arith.constant dense<[[[1.0, -1.0], [0.5, 2.0]], [[-0.25, 1.5], [3.0, -1.5]]]> : tensor<2x2x2xf32>
  %lxd = tensor.cast %lx : tensor<2x2x3xf32> to tensor<?x2x3xf32>
  %ldyd = tensor.cast %ldy : tensor<2x2x2xf32> to tensor<?x2x2xf32>
  %ldx, %ldw, %ldb = call @linear(%lxd, %lw, %ldyd) : (tensor<?x2x3xf32>, tensor<2x3xf32>, tensor<?x2x2xf32>) -> (tensor<?x2x3xf32>, tensor<2x3xf32>, tensor<2xf32>)
  %ldxu = tensor.cast %ldx : tensor<?x2x3xf32> to tensor<*xf32>
  call @print(%ldxu) : (tensor<*xf32>) -> ()
  // linear_grad dx.
  // CHECK: sizes = [2, 2, 3]
  // CHECK-NEXT: {{\[\[\[}}-1, -1.75, 2.75],
  // CHECK-NEXT: [3.25, 1, -0.5]],
  // CHECK-NEXT: {{\[\[}}2.125, 1.375, -1.625],
  // CHECK-NEXT: [-0.75, -4.125, 7.125]]]
  %ldwu = tensor.cast %ldw : tensor<2x3xf32> to tensor<*xf32>
  call @print(%ldwu) : (tensor<*xf32>) -> ()
  // linear_grad dweight.
  // CHECK: sizes = [2, 3]
  // CHECK-NEXT: {{\[\[}}-0.5, 5.75, 1.375],
  // CHECK-NEXT: [-2, -5.5, -0.25]]
  %ldbu = tensor.cast %ldb : tensor<2xf32> to tensor<*xf32>
  call @print(%ldbu) : (tensor<*xf32>) -> ()
  // linear_grad dbias.
  // CHECK: sizes = [2]
  // CHECK-NEXT: [4.25, 1]

  %gx = arith.constant dense<[[-100.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 10.0]]> : tensor<1x9xf32>
  %gdy = arith.constant dense<[[1.0, 1.0, 2.0, -1.0, 1.0, 0.5, 1.0, -2.0, 1.0]]> : tensor<1x9xf32>
  %gxd = tensor.cast %gx : tensor<1x9xf32> to tensor<?x9xf32>
  %gdyd = tensor.cast %gdy : tensor<1x9xf32> to tensor<?x9xf32>
  %ge, %ga = call @gelus(%gxd, %gdyd) : (tensor<?x9xf32>, tensor<?x9xf32>) -> (tensor<?x9xf32>, tensor<?x9xf32>)
  %geu = tensor.cast %ge : tensor<?x9xf32> to tensor<*xf32>
  call @print(%geu) : (tensor<*xf32>) -> ()
  // gelu_grad.
  // CHECK: sizes = [1, 9]
  // CHECK-NEXT: {{\[\[}}0, -0.01194{{5[0-9]*|6[0-9]*}}, -0.16663{{[0-9]*}}, -0.13250{{[0-9]*}}, 0.{{49999[0-9]*|5|50000[0-9]*}}, 0.43374{{[0-9]*}}, 1.0833{{[0-9]*}}, -2.023{{8[0-9]*|9}}, {{0\.9999[0-9]*|1}}]]
  %gau = tensor.cast %ga : tensor<?x9xf32> to tensor<*xf32>
  call @print(%gau) : (tensor<*xf32>) -> ()
  // gelu_grad approximate.
  // CHECK: sizes = [1, 9]
  // CHECK-NEXT: {{\[\[}}0, -0.02454{{7[0-9]*|8[0-9]*}}, -0.1355{{5[0-9]*|6}}, -0.12077{{[0-9]*}}, 0.{{49999[0-9]*|5|50000[0-9]*}}, 0.43961{{[0-9]*}}, 1.0677{{[0-9]*}}, -2.049{{0[0-9]*|1}}, {{0\.9999[0-9]*|1}}]]

  %logits = arith.constant dense<[[[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], [[-1.0, 0.5, 2.0], [4.0, -2.0, 0.0]]]> : tensor<2x2x3xf32>
  %targets = arith.constant dense<[[0, 7], [-1, 1]]> : tensor<2x2xi32>
  %dnats = arith.constant dense<0.7> : tensor<f32>
  %dbits = arith.constant dense<0.3> : tensor<f32>
  %ld = tensor.cast %logits : tensor<2x2x3xf32> to tensor<?x2x3xf32>
  %td = tensor.cast %targets : tensor<2x2xi32> to tensor<?x2xi32>
  %dl = call @loss(%ld, %td, %dnats, %dbits) : (tensor<?x2x3xf32>, tensor<?x2xi32>, tensor<f32>, tensor<f32>) -> tensor<?x2x3xf32>
  %dlu = tensor.cast %dl : tensor<?x2x3xf32> to tensor<*xf32>
  call @print(%dlu) : (tensor<*xf32>) -> ()
  // cross_entropy_grad.
  // CHECK: sizes = [2, 2, 3]
  // CHECK-NEXT: {{\[\[\[}}-0.18880{{[0-9]*}}, 0.09440{{0[0-9]*|1}}, 0.09440{{0[0-9]*|1}}],
  // CHECK-NEXT: [0.02549{{6[0-9]*|7}}, 0.069307{{[0-9]*}}, -0.094804{{[0-9]*}}]],
  // CHECK-NEXT: {{\[\[}}-0.27212{{[0-9]*}}, 0.049642{{[0-9]*}}, 0.22248{{[0-9]*}}],
  // CHECK-NEXT: [0.27743{{[0-9]*}}, -0.28251{{[0-9]*}}, 0.005081{{3[0-9]*|4[0-9]*}}]]]
  return
}
