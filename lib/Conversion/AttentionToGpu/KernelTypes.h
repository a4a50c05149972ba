//===- KernelTypes.h - Constants and values of the kernels ---*- C++ -*-===//
//
// The attention kernels' fixed shapes (warps, rows, tiles, shared memory
// and register budgets), the f32 chain's element type, and the values the
// kernel emitter passes around: a lane's rows, score and accumulator
// fragments, packed A operands and staged row operands (KernelEmitter.h).
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELTYPES_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <array>

namespace mlir {
namespace st {
namespace gpu_kernels {

inline constexpr int64_t kWarps = 4;
inline constexpr int64_t kWarpRows = 16;
inline constexpr int64_t kBlockRows = kWarps * kWarpRows;
/// Keys a staged tile by default: always for mma.sync kernels (less where
/// shared memory is short), and for warpgroup-MMA kernels unless
/// wgmma-key-tile=128 fits their registers or the split forward takes
/// kSplitForwardKeyTile.
inline constexpr int64_t kKeyTile = 64;
/// Keys a staged tile of the split forward (forward-producer; its
/// consumers have the registers: Schedule.cpp, addKernel).
inline constexpr int64_t kSplitForwardKeyTile = 128;
/// Columns of d in one 128-byte swizzle atom of a 16-bit row operand
/// (Wgmma.h): the fused band backward issues its dQ product an atom at a
/// time and scales its f16 carries an atom at a time.
inline constexpr int64_t kAtomCols = 64;
inline constexpr int64_t kThreads = kWarps * 32;
/// Named barriers besides the block's (0): 1 + w a warpgroup's votes
/// (anyThread), 3 + w its row operands, 5 and 6 the ping-pong turns, and
/// this one the two consumer warpgroups of a split dQ block before its
/// own-block dK/dV (their statistics and row operands).
inline constexpr int32_t kOwnBlockBarrier = 7;
inline constexpr double kLog2e = 1.4426950408889634;
inline constexpr double kHugeLse = 1e30;
/// The forward's lazy rescaling (emitForward): a row's reference max moves
/// only when a tile's max exceeds it by more than this (log2 units), so
/// probabilities stay below 2^8 = 256, exact in f32 and representable in
/// bf16 and f16.
inline constexpr double kRescaleSlack = 8.0;
inline constexpr int64_t kStaticShared = 48 * 1024;
/// Shared memory of a wgmma kernel's tiles: beyond 48 KiB it is dynamic
/// (the runtime opts in with cuFuncSetAttribute). Up to two 64-row stages
/// of two d = 128 operands plus the block's two staged row operands (98
/// KiB with dK/dV's lse and delta rows), so that two blocks still share an
/// SM's 228 KiB; with up to 255 registers a thread, registers allow no
/// more.
inline constexpr int64_t kWgmmaShared = 100 * 1024;
/// Registers a thread of the producer warpgroup and of the two consumer
/// warpgroups (setmaxnreg; 128 x 56 + 256 x 224 = 64512 of the SM's
/// 65536, one block of 384 threads an SM: the launch's 168 a thread).
/// The dK/dV consumers (two 64 x d accumulators) take the most the
/// producer can give: 24 + 2 x 240 (FlashAttention-3's split).
inline constexpr int32_t kProducerRegisters = 56;
inline constexpr int32_t kConsumerRegisters = 224;
inline constexpr int32_t kMinProducerRegisters = 24;
inline constexpr int32_t kMaxConsumerRegisters = 240;
/// The most dynamic shared memory a block may have on sm_90 (227 KiB).
inline constexpr int64_t kMaxDynamicShared = 227 * 1024;
/// Shared memory an SM (sm_90), of which 1 KiB a resident block is
/// reserved (KernelEmitter::groupHeads' blocks an SM).
inline constexpr int64_t kSmSharedBytes = 228 * 1024;

/// The element type of the chain between a layout's kernels for inputs of
/// type `elt` (KernelEmitter, "The chain between the kernels of one
/// pass"): f16 with f32 row scales for 16-bit inputs, f32 for f32.
inline Type chainElementType(Type elt) {
  return elt.isF32() ? elt : Float16Type::get(elt.getContext());
}
inline bool chainIsScaled(Type elt) { return !elt.isF32(); }
/// The row-scale buffer of chain buffer `name` (o_acc, dq_acc, dk_acc,
/// dv_acc), as a literal: kernel buffers are named by StringRef.
inline StringRef chainScaleName(StringRef name) {
  return llvm::StringSwitch<StringRef>(name)
      .Case("o_acc", "o_acc_scale")
      .Case("dq_acc", "dq_acc_scale")
      .Case("dk_acc", "dk_acc_scale")
      .Case("dv_acc", "dv_acc_scale");
}

/// The two rows of an MMA fragment that one lane holds: `g` and `g + 8` of
/// the warp's 16.
struct LaneRows {
  Value view[2];  // view index, clamped into the view
  Value orig[2];  // original position
  Value valid[2]; // view index < view length
};

/// One accumulator fragment row pair: c[tile][0..3] per 8-column tile.
using Frags = SmallVector<std::array<Value, 4>>;
/// A warpgroup MMA's A operand packed from score accumulators: four
/// 32-bit registers (two 16-bit elements each) a k16 step. A type of its
/// own, so that packed registers never pass for f32 fragments.
struct PackedA {
  SmallVector<std::array<Value, 4>> steps;
};

/// The block's rows of one input (Q, dO; K, V for dK/dV) as the A operand
/// of the score products: this lane's fragments in registers (mma.sync),
/// or (wgmma) the block's 64 rows staged once in shared memory and read
/// through a descriptor. Keeping them out of registers frees d / 4
/// registers a thread per operand for the whole tile loop, and it avoids a
/// ptxas (CUDA 13) miscompile: with the A fragments of a loop-invariant
/// operand and of P in registers, and both products of the same shape
/// (m64n64k16 at d = 64), ptxas -O1 and above assigned P's packed
/// fragments to Q's registers inside the loop, so every tile after the
/// first multiplied by the previous tile's P (found on the H100: wrong
/// from the second tile on, right with ptxas -O0; docs/gpu.md).
struct RowOperand {
  SmallVector<std::array<Value, 4>> frags;
  Value tile; // wgmma: a [1, 64 * d] shared tile
};

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELTYPES_H
