//===- Kernels.cpp - Library routines compiled programs call --------------===//

#include "st/Runtime/Kernels.h"

#include <cblas.h>

#include <vector>

using namespace st::rt;

namespace {

/// A matrix operand as BLAS wants it: pointer, leading dimension and whether
/// it is stored transposed relative to its logical [rows, cols] view.
struct BlasOperand {
  const float *data;
  int64_t ld;
  bool transposed;
  std::vector<float> copy; // only for layouts BLAS cannot describe
};

/// Describes `d` (logical [rows, cols] = d.sizes) for row-major BLAS.
BlasOperand describe(const MatrixDescriptor &d) {
  const float *base = d.aligned + d.offset;
  int64_t rows = d.sizes[0], cols = d.sizes[1];
  if (d.strides[1] == 1 && d.strides[0] >= std::max<int64_t>(cols, 1))
    return {base, d.strides[0], false, {}};
  if (d.strides[0] == 1 && d.strides[1] >= std::max<int64_t>(rows, 1))
    return {base, d.strides[1], true, {}};
  BlasOperand op{nullptr, std::max<int64_t>(cols, 1), false, {}};
  op.copy.resize(rows * cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      op.copy[i * cols + j] = base[i * d.strides[0] + j * d.strides[1]];
  op.data = op.copy.data();
  return op;
}

} // namespace

extern "C" void _mlir_ciface_st_blas_sgemm(int32_t transA, int32_t transB,
                                           MatrixDescriptor *a,
                                           MatrixDescriptor *b,
                                           MatrixDescriptor *c) {
  // Compiled programs run their GEMMs in row blocks on their own OpenMP
  // threads; BLAS threads would only compete with those for the cores.
  static const bool singleThreaded = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)singleThreaded;
  int64_t m = c->sizes[0], n = c->sizes[1];
  int64_t k = transA ? a->sizes[0] : a->sizes[1];
  if (m == 0 || n == 0)
    return;
  BlasOperand opA = describe(*a), opB = describe(*b);
  bool tA = bool(transA) != opA.transposed;
  bool tB = bool(transB) != opB.transposed;
  float *cData = c->aligned + c->offset;
  if (c->strides[1] == 1 && c->strides[0] >= n) {
    cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans,
                tB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, opA.data,
                opA.ld, opB.data, opB.ld, 1.0f, cData, c->strides[0]);
    return;
  }
  // C with a layout BLAS cannot write: compute into a dense temporary.
  std::vector<float> tmp(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      tmp[i * n + j] = cData[i * c->strides[0] + j * c->strides[1]];
  cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans,
              tB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, opA.data, opA.ld,
              opB.data, opB.ld, 1.0f, tmp.data(), n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      cData[i * c->strides[0] + j * c->strides[1]] = tmp[i * n + j];
}

std::vector<std::pair<std::string, void *>> st::rt::runtimeSymbols() {
  return {{"_mlir_ciface_st_blas_sgemm",
           reinterpret_cast<void *>(&_mlir_ciface_st_blas_sgemm)}};
}
