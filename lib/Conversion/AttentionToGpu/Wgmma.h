//===- Wgmma.h - Hopper warpgroup MMA for the attention kernels -*- C++ -*-===//
//
// The attention kernels' products as `wgmma.mma_async` (sm_90a): the four
// warps of a block are one warpgroup, the A operand (Q, dO, K, V fragments,
// or P and dS repacked from the accumulators) stays in registers in the
// layout mma.sync uses, and the B operand is a staged tile read by the
// tensor cores straight from shared memory through a matrix descriptor.
//
// Staged tiles use the "core matrix" layout without swizzle: a tile of R
// rows x D elements (16-bit) is cut into 8-row x 8-element core matrices of
// 128 contiguous bytes, ordered row group major:
//
//   element (r, c) at ((r / 8) * (D / 8) + c / 8) * 64 + (r % 8) * 8 + c % 8
//
// so that 16-byte chunk i of the tile (the asynchronous copy of thread i)
// lands at byte 16 i: the copies fill shared memory linearly, without bank
// conflicts, and each core matrix is one 128-byte line for the tensor
// cores. The same tile serves both uses:
//  - K-major B (S = A . X^T: N = the tile's rows, K = its columns): core
//    matrices adjacent along K are 128 bytes apart (leading byte offset),
//    along N D * 2 * 8 bytes (stride byte offset);
//  - MN-major B (A . X: K = the tile's rows, N = its columns, `trans-b`):
//    along K D * 16 bytes (leading), along N 128 bytes (stride).
//
// Each product (or group of independent products) is one inline PTX
// block: fence, the k16 steps, commit and a wait for completion, so the
// accumulators are never read while a wgmma is in flight. The NVVM dialect's wgmma op takes A only from shared
// memory, hence the inline assembly (registers keep the FlashAttention
// reuse of the score accumulators as the A operand of P.V).
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_WGMMA_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_WGMMA_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <array>

namespace st {
namespace gpu_attention {

/// The byte offsets of a staged tile of `cols` 16-bit elements per row in
/// the core-matrix layout above, as wgmma's leading and stride offsets.
struct CoreMatrixStrides {
  int64_t leading, stride; // bytes
};
CoreMatrixStrides kMajorStrides(int64_t cols);
CoreMatrixStrides mnMajorStrides(int64_t cols);

/// The 64-bit shared-memory matrix descriptor (no swizzle) of the operand
/// at shared-state-space byte address `addr` (an i64, 16-byte aligned).
mlir::Value matrixDescriptor(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value addr, CoreMatrixStrides strides);

/// One warpgroup product acc + A . B (m64 x n, n = 2 acc.size()): `acc`
/// holds this thread's n / 2 f32 accumulators (mma.sync's m16n8 order, 8
/// columns at a time), `a[s]` the four 32-bit A registers of k16 step s,
/// `desc[s]` B's descriptor for step s; `transB` reads B as MN-major.
struct WarpgroupProduct {
  mlir::ValueRange acc;
  llvm::ArrayRef<std::array<mlir::Value, 4>> a;
  mlir::ValueRange desc;
  bool transB;
};

/// Issues independent `products` (bf16 or f16 operands) in one inline
/// block, so the tensor cores run them back to back, and returns each one's
/// accumulators once all have completed.
llvm::SmallVector<llvm::SmallVector<mlir::Value>>
warpgroupMmas(mlir::OpBuilder &b, mlir::Location loc,
              llvm::ArrayRef<WarpgroupProduct> products, bool bf16);

/// Orders this thread's completed writes to shared memory (asynchronous
/// copies included) before later reads by the tensor cores' async proxy.
void fenceProxyAsyncShared(mlir::OpBuilder &b, mlir::Location loc);

} // namespace gpu_attention
} // namespace st

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_WGMMA_H
