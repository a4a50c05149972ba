//===- Wgmma.h - Hopper warpgroup MMA for the attention kernels -*- C++ -*-===//
//
// The attention kernels' products as `wgmma.mma_async` (sm_90a): the four
// warps of a block are one warpgroup, the A operand (Q, dO, K, V fragments,
// or P and dS repacked from the accumulators) stays in registers in the
// layout mma.sync uses, and the B operand is a staged tile read by the
// tensor cores straight from shared memory through a matrix descriptor.
//
// Staged tiles whose rows are a multiple of 128 bytes (d = 64, 128, 256)
// use the 128-byte swizzle: the tile is cut into column atoms of 64
// elements; in an atom, row r is 128 bytes at 128 r and its 16-byte chunk
// c sits at chunk c ^ (r % 8):
//
//   element (r, c) at (c / 64) * R * 64 + r * 64 + ((c % 64 / 8) ^ (r % 8)) * 8
//                     + c % 8
//
// The tensor cores apply the same XOR to the address bits (hence tiles
// 1024-byte aligned), so eight consecutive rows' chunks fall in distinct
// banks both when the copies write them (thread i writes chunk i % (D / 8)
// of row i / (D / 8): coalesced global reads) and when wgmma reads them.
// K-major (S = A . X^T): 8-row groups 1024 bytes apart (stride offset),
// k16 steps 32 bytes apart inside an atom. MN-major (A . X, `trans-b`):
// atoms R * 128 bytes apart along N (leading offset), 8-row groups 1024
// bytes apart along K (stride offset).
//
// Narrower tiles (d = 32) use the "core matrix" layout without swizzle: a
// tile of R rows x D elements is cut into 8-row x 8-element core matrices
// of 128 contiguous bytes, ordered row group major,
//
//   element (r, c) at ((r / 8) * (D / 8) + c / 8) * 64 + (r % 8) * 8 + c % 8
//
// so that 16-byte chunk i (the copy of thread i) lands at byte 16 i.
// K-major: core matrices adjacent along K 128 bytes apart (leading), along
// N D * 16 bytes (stride); MN-major: along K D * 16 bytes (leading), along
// N 128 bytes (stride). This layout makes the tensor cores' reads of
// several core matrices collide in the same banks, so it is only the
// fallback.
//
// Each product (or group of independent products) is one inline PTX
// block: fence, the k16 steps, commit and a wait for completion, so the
// accumulators are never read while a wgmma is in flight. The backward
// kernels pipeline their products instead (warpgroupStep): a block may
// leave its last products in flight while the thread computes on the ones
// that completed, and a later block's wait completes them. The score
// products (S = Q K^T, dP = dO V^T and their transposes in dK/dV) read A
// from a staged tile as well (K-major, the same layouts as B); the
// updates (P V, dS K, P^T dO, dS^T Q) take A from registers, where P and
// dS are repacked from the score accumulators (the FlashAttention reuse).
// The NVVM dialect's wgmma op takes A only from shared memory, hence the
// inline assembly.
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_WGMMA_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_WGMMA_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <array>

namespace st {
namespace gpu_attention {

/// How a staged tile of `rows` x `cols` 16-bit elements sits in shared
/// memory, and how wgmma reads it (see the file comment).
struct TileLayout {
  int64_t rows, cols;
  /// The 128-byte swizzle (cols a multiple of 64), else core matrices.
  bool swizzle128() const { return cols % 64 == 0; }
  /// The descriptor bits besides the address (offsets, swizzle mode) and
  /// the byte offset of k16 step `s` from the tile's start, for S = A . X^T
  /// (X K-major) and for A . X (X MN-major).
  uint64_t kMajorBits() const;
  int64_t kMajorStep(int64_t s) const;
  uint64_t mnMajorBits() const;
  int64_t mnMajorStep(int64_t s) const;
};

/// The 64-bit shared-memory matrix descriptor of the operand at
/// shared-state-space byte address `addr` (an i64, 16-byte aligned; 1024
/// for the 128-byte swizzle) with the other fields `bits`.
mlir::Value matrixDescriptor(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value addr, uint64_t bits);

/// One warpgroup product acc + A . B (m64 x n, n = 2 acc.size()): `acc`
/// holds this thread's n / 2 f32 accumulators (mma.sync's m16n8 order, 8
/// columns at a time); A is either `a[s]`, the four 32-bit A registers of
/// k16 step s, or (`a` empty) `aDesc[s]`, the descriptor of a K-major A
/// tile in shared memory for step s; `desc[s]` is B's descriptor for step
/// s; `transB` reads B as MN-major. A `fresh` product starts from zero
/// (D = A . B): its first k16 step runs with scale-d = 0 and `acc` only
/// gives the count, so no zeroed registers are fed in (those were a move
/// per accumulator on every tile).
struct WarpgroupProduct {
  mlir::ValueRange acc;
  llvm::ArrayRef<std::array<mlir::Value, 4>> a;
  mlir::ValueRange aDesc;
  mlir::ValueRange desc;
  bool transB;
  bool fresh = false;
};

/// Issues independent `products` (bf16 or f16 operands) in one inline
/// block, so the tensor cores run them back to back, and returns each one's
/// accumulators once all have completed.
llvm::SmallVector<llvm::SmallVector<mlir::Value>>
warpgroupMmas(mlir::OpBuilder &b, mlir::Location loc,
              llvm::ArrayRef<WarpgroupProduct> products, bool bf16);

/// One step of a pipeline of warpgroup products: issues `products` in
/// order, each as its own commit group, then waits until at most `pending`
/// groups (of all issued so far) are still in flight. Groups complete in
/// order, so `pending` = 1 after issuing S and dP gives S complete while
/// dP still runs, and the thread can work on S meanwhile.
///
/// A product left in flight has accumulators that the tensor cores still
/// write: they must not be read, copied or overwritten until a later
/// block's wait completes them. They are passed to each later block as
/// `inFlight`: tied in and out unchanged, so the values a kernel holds are
/// always those of the last block, and nothing between two blocks uses
/// them (ptxas keeps an in-flight register untouched until its
/// wait_group). Likewise the A registers of a product in flight stay
/// live. Returns the products' accumulators, then `inFlight`'s. With no
/// products, the block is only the wait.
///
/// `arriveAt` (i32, or null): the block arrives at that named barrier
/// for `arriveThreads` threads between the issue and the wait. It is in
/// the same block because anything between two blocks would have to copy
/// the in-flight accumulators (LLVM's NVPTX backend moves tied operands
/// into fresh registers), and ptxas serializes every warpgroup MMA of a
/// kernel where a non-wgmma instruction reads an in-flight accumulator
/// (its warning C7514).
struct WarpgroupStep {
  llvm::ArrayRef<WarpgroupProduct> products;
  int64_t pending = 0;
  llvm::ArrayRef<mlir::ValueRange> inFlight;
  mlir::Value arriveAt = {};
  int32_t arriveThreads = 0;
};
llvm::SmallVector<llvm::SmallVector<mlir::Value>>
warpgroupStep(mlir::OpBuilder &b, mlir::Location loc, const WarpgroupStep &step,
              bool bf16);

/// Orders this thread's completed writes to shared memory (asynchronous
/// copies included) before later reads by the tensor cores' async proxy.
void fenceProxyAsyncShared(mlir::OpBuilder &b, mlir::Location loc);

/// An inline PTX statement with side effects (never moved, merged or
/// removed), with `constraints` in LLVM's form ("=r,l,r").
mlir::LLVM::InlineAsmOp sideEffectAsm(mlir::OpBuilder &b, mlir::Location loc,
                                      mlir::Type result,
                                      mlir::ValueRange operands,
                                      llvm::StringRef text,
                                      llvm::StringRef constraints);

/// Whether i1 `pred` holds in any of the `threads` threads that meet at
/// named barrier `id`: bar.red.or.pred, which nvvm.barrier offers only at
/// barrier 0 for the whole block. The id is an immediate, so that ptxas
/// reserves only the barriers used.
mlir::Value namedBarrierAny(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value pred, int32_t id, int32_t threads);

/// Stage barriers (mbarrier objects in shared memory, addressed by their
/// 32-bit shared-state-space address `bar`): initialise with an expected
/// arrival count; arrive; make the barrier track this thread's cp.async
/// copies without counting an arrival of its own (.noinc: the completion
/// of the copies is the arrival); wait until the phase of parity `parity`
/// (i32, 0 or 1) has completed (a try_wait loop, acquire at CTA scope).
void mbarrierInit(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bar,
                  int32_t count);
void mbarrierArrive(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bar);
void mbarrierArriveCopies(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value bar);
void mbarrierWait(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bar,
                  mlir::Value parity);
/// bar.sync at named barrier `id` for `threads` threads.
void namedBarrierSync(mlir::OpBuilder &b, mlir::Location loc, int32_t id,
                      int32_t threads);
/// The same at the barrier whose id is i32 `id` (a register: ptxas then
/// reserves all 16 barriers).
void namedBarrierSync(mlir::OpBuilder &b, mlir::Location loc, mlir::Value id,
                      int32_t threads);
/// bar.arrive at named barrier `id` for `threads` threads: counts this
/// thread's arrival without waiting (the barrier completes when `threads`
/// threads have arrived or synced).
void namedBarrierArrive(mlir::OpBuilder &b, mlir::Location loc, int32_t id,
                        int32_t threads);

} // namespace gpu_attention
} // namespace st

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_WGMMA_H
