//===- Kernels.h - Library routines compiled programs call ------*- C++ -*-===//
//
// The few routines ST's compiled programs call instead of generating code:
// dense f32 GEMMs through the system BLAS. A JIT that runs ST programs must
// make these symbols resolvable (see runtimeSymbols()).
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_KERNELS_H
#define ST_RUNTIME_KERNELS_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace st {
namespace rt {

/// A 2-D strided memref descriptor (MLIR's C interface layout).
struct MatrixDescriptor {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
};

/// (symbol name, address) of every routine compiled programs may call.
std::vector<std::pair<std::string, void *>> runtimeSymbols();

} // namespace rt
} // namespace st

extern "C" {
/// C(m, n) += op(A) . op(B) where op transposes when the flag is set; A is
/// [M, K] or [K, M], B is [K, N] or [N, K], any strides.
void _mlir_ciface_st_blas_sgemm(int32_t transA, int32_t transB,
                                st::rt::MatrixDescriptor *a,
                                st::rt::MatrixDescriptor *b,
                                st::rt::MatrixDescriptor *c);
}

#endif // ST_RUNTIME_KERNELS_H
