//===- Walks.h - The block's rows and the keys its kernels walk -*- C++ -*-===//
//
// What every attention kernel computes before its tile loops: the rows a
// block owns in its driving view, the key range each part walks by its
// structure (PartStructure's row and column intervals), and the masks of
// the key tiles that cut a row's interval. Used by the forward
// (ForwardKernel.cpp) and the backward (BackwardKernels.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_WALKS_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_WALKS_H

#include "KernelEmitter.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

/// The rows a block of a kernel driven by view `v` owns: the residue class
/// `c` (strided views), the view's length, the block's first row, the
/// warp's first row and the lane's two rows. blockRows positions the
/// builder inside a block-uniform guard (the block has rows), so that every
/// warp of a live block takes part in the shared-memory staging.
/// `queryDriven` kernels start their last row tiles first
/// (KernelEmitter::tileOf).
struct BlockRows {
  /// `row0` is the warpgroup's first row (the block's with one warpgroup),
  /// `r0` the warp's, `blockRow0` the block's.
  Value c, len, row0, r0, blockRow0;
  LaneRows lanes;
};
BlockRows blockRows(KernelEmitter &k, const ga::View &v, bool queryDriven);

/// After the block has read its rows of chain buffer `name` (rows of view
/// `v`): a block barrier, then the L2 lines of those rows are discarded
/// (discard.global.L2), so that the chain written by another block and
/// read from L2 is never written back to DRAM (SpanOrder.cpp). Only where
/// a row is whole lines (its bytes a multiple of 128), since a line shared
/// with another block's rows must stay.
void discardChainRows(KernelEmitter &k, const ga::View &v, const BlockRows &br,
                      StringRef name);

/// The structure of one part over a view of length `len`.
PartStructure structureOf(IndexMath &m, const ga::GpuPart &p, Value len);

/// Whether the tile loops of `part` are long walks (KernelEmitter::tileLoop):
/// those over a compact key view (fixed's summaries, up to N / l tiles).
bool longWalk(const ga::GpuPart &part);

/// Whether `part`'s exclusions depend on the key alone: each is a summary
/// factor over whole columns (not earlierOnly), which holds for a causal
/// pair exactly when its key is a summary column, and every pair of a part
/// is causal. whole-summary-keys' own-block part is one (Views.cpp,
/// wholeSummaryKeyParts).
bool keyOnlyExclusions(const ga::GpuPart &part);

/// The number of keys in [a, b] (original positions, 0 <= a <= b + 1)
/// that the key-only exclusions `excluded` hold, counting a key once a
/// factor that holds it (so it is zero exactly when none holds any): a
/// summary factor of period L and columns [lo, hi) holds w = hi - lo of
/// every L positions, so (x / L) w + min(max(x mod L - lo, 0), w) of
/// [0, x).
Value excludedKeysIn(IndexMath &m, ArrayRef<lay::Factor> excluded, Value a,
                     Value b);

/// The keys one query-driven kernel walks for `part`: the block's range,
/// the range of the unit that runs a tile or not (a warp with mma.sync, a
/// warpgroup with wgmma; empty for one past the view), each lane row's
/// interval, and the last valid key.
struct KeyRange {
  Value lo, hi, wlo, whi, lastKey, klen;
  std::pair<Value, Value> rowIv[2];
  /// Key tiles [kt, kt + 64) with innerLo <= kt and kt + 64 <= innerHi lie
  /// inside every row interval of the warp (row intervals are monotone, so
  /// the warp's last row bounds the lows and its first row the highs): they
  /// need no mask. Null when the part has exclusions.
  Value innerLo, innerHi;
};
KeyRange keyRange(KernelEmitter &k, const ga::GpuPart &part,
                  const BlockRows &br);
/// keyRange of `part`, whose walk over K and V tiles starts now
/// (KernelEmitter::startWalk): a query-driven kernel calls it before it
/// loads its walk's initial state, and walks this range first.
KeyRange startKeyWalk(KernelEmitter &k, const ga::GpuPart &part,
                      const BlockRows &br);

/// The first and last rows (keys, for dK/dV) that the unmasked-interior
/// test covers: the warp's 16 from `r0`, or with wgmma the block's 64 from
/// `row0`. A branch that differed between the warps of a warpgroup could
/// let LLVM duplicate a warpgroup MMA into both sides (the inline PTX is not
/// marked convergent), and the four warps must run the same instruction.
std::pair<Value, Value> interiorRows(KernelEmitter &k, Value row0, Value r0);

/// Splits a block with a producer warpgroup (wg 2): the producer gives
/// registers back (setmaxnreg) and runs `produce` (its walks:
/// KernelEmitter::producerWalk), then waits for its last copies; the
/// builder is left in the consumers' code, which take their registers
/// (and, with ping-pong, warpgroup 0 the first turn). Both sides count
/// the walks' tiles from zero.
void splitProducer(KernelEmitter &k, function_ref<void()> produce);

/// The row operands `names` (KernelEmitter::rowOperands) of the block's
/// rows `br` in view `v`, then the wait for the kernels before
/// (griddepcontrol: lse, delta, lse2 and the chains come from them) and,
/// with a producer, each consumer's wait for its own row operands (no
/// block barrier completes them). The end of every split-capable
/// kernel's prologue.
SmallVector<RowOperand> blockRowOperands(KernelEmitter &k,
                                         ArrayRef<StringRef> names,
                                         const ga::View &v,
                                         const BlockRows &br);

/// The prologue of a query-driven kernel (forward, dQ) over `parts`: the
/// block's rows (blockRows); with a producer warpgroup (wg 2), the split
/// of the block, after which the builder is in the consumers' code (the
/// producer copies every key tile, K and V, of the parts' walks; it gives
/// registers back with setmaxnreg, and with ping-pong warpgroup 0 takes
/// the first turn); then blockRowOperands.
struct QueryBlock {
  BlockRows br;
  SmallVector<RowOperand> ops;
};
QueryBlock beginQueryBlock(KernelEmitter &k, ArrayRef<ga::GpuPart> parts,
                           ArrayRef<StringRef> names);

/// Whether the staged tile [x0, x0 + keyTile) lies in [lo, hi) (null when
/// `lo` is: no unmasked version).
Value tileInside(KernelEmitter &k, Value x0, Value lo, Value hi);

/// The scores `s` of key tile `kt` for a query-driven kernel: -inf outside
/// the lane rows' intervals (and exclusions), unless the tile is interior.
Frags maskQueryTile(KernelEmitter &k, const ga::GpuPart &part,
                    const KeyRange &kr, Value c, const LaneRows &rows, Value kt,
                    Frags s);

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_WALKS_H
