//===- BackwardParts.h - Pieces the backward kernels share --*- C++ -*-===//
//
// The pieces of the backward kernels (BackwardKernels.cpp: dQ, dK/dV) that
// the fused band backward (BandBackward.cpp) builds on too: the row
// statistics, a key tile's query range and masks, the dK/dV update of one
// tile pair, and the keys' epilogue.
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_BACKWARDPARTS_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_BACKWARDPARTS_H

#include "Kernels.h"
#include "Walks.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

/// What the dK/dV update of a query tile needs of one part, for the
/// lane's two keys: the part, its query view and class, the view's last
/// row, the column intervals of the keys, the query tiles that need no
/// mask ([innerLo, innerHi), null where exclusions mask every tile), and,
/// where the exclusions depend on the key alone (keyOnlyExclusions),
/// whether each key passes them (`keyOk`, else null).
struct KeyColumns {
  const ga::GpuPart *part;
  Value c, lastRow, innerLo, innerHi;
  std::pair<Value, Value> colIv[2];
  Value keyOk[2];
  LaneRows keys;
};

/// -lse in log2 units, clamped so that it is finite even for a row without
/// keys (lse = -inf): masked scores (-inf) then give p = 0, never NaN. The
/// dQ kernels compute it per row; the first stores it (`lse2`) for the
/// dK/dV kernels, which stage it per query tile and would otherwise redo
/// it for every score (two instructions of each tile's ~250).
Value minusLog2Lse(KernelEmitter &k, Value lse);

/// sum_d x[row] * y[row] over the [.., N, D] tensors `x` and `y` for the
/// lane's two fragment rows (rows g and g + 8 of the warp's 16 from `r0`
/// in view `v`, class `c`, of length `len`). The rows are read coalesced:
/// two lanes a row (row r0 + lane / 2), each taking every other 16-byte
/// chunk, so that a warp's load covers a whole 32-byte sector of each of
/// its 16 rows; the pair sums by a shuffle and the fragment lanes fetch
/// their rows' sums from lanes 2g and 2g + 16. Reading the fragment
/// columns instead (4 bytes a lane, 16 of each sector's 32 bytes a load)
/// left the first dQ kernel of the strided layout bound by L2 throughput
/// (ncu: 91.5% of peak, DRAM 78%; session 9). Every lane must call it.
std::array<Value, 2> rowDots(KernelEmitter &k, StringRef x, StringRef y,
                             const ga::View &v, Value c, Value r0, Value len);

/// Stores lane row `r`'s `delta` and `minusLse2` (from lane t = 0, if the
/// row is valid) into the buffers `deltaBuf` and `lse2Buf` at `index()`,
/// computed there (inside the branch).
void storeRowStats(KernelEmitter &k, const LaneRows &rows, int r, Value delta,
                   Value minusLse2, StringRef deltaBuf, StringRef lse2Buf,
                   function_ref<Value()> index);

/// The query tiles that the keys [first, first + span) (clamped to the
/// view; `first` only where `clampFirst`) of `part` walk: from the first
/// key's column interval to the last's (column intervals are monotone).
std::pair<Value, Value> columnRange(KernelEmitter &k, PartStructure &ps,
                                    Value first, int64_t span, Value klen,
                                    bool clampFirst);

/// KeyColumns of `part` for the keys `keys` (view rows of a block whose
/// unit's first key is `row0` and warp's `r0`) of a key view of length
/// `klen` in class `c`, over query rows of length `qlen`.
KeyColumns keyColumns(KernelEmitter &k, const ga::GpuPart &part,
                      PartStructure &ps, Value c, Value qlen, Value klen,
                      const LaneRows &keys, Value row0, Value r0);

/// dK += dS^T Q and dV += P^T dO over the query tile `qt` (view rows) of
/// one part, with the block's keys and values `kf`, `vf` as row operands,
/// the tile's Q and dO staged in `qTile` and `doTile`, and its rows' lse2
/// and delta in the current stage of the row-stat tiles. Both products
/// have completed on return. `onDs` is given dS^T once computed, while
/// dV's product runs (the fused band backward stores it for its dQ).
void dkvUpdate(KernelEmitter &k, const KeyColumns &kc, const RowOperand &kf,
               const RowOperand &vf, Value qTile, Value doTile, Value qt,
               Frags &dk, Frags &dv,
               function_ref<void(const Frags &)> onDs = nullptr);

/// Stores the keys' dK and dV: the rows that a kernel over a `later` view
/// continues go to the chain, the others are final (fixed: the own
/// block's kernel ends every row outside the summaries). With
/// `addChain` (the kernel ends the chain, `later` is empty), dK and dV
/// first add the chain's rows, one after the other, so that only one of
/// the two chains is live (the mixed kernel's summary tiles: at d = 128
/// both at once spilled more). Keys of the views `elsewhere` are not
/// stored: another kernel takes their whole columns (whole-summary-keys).
void storeKeyRows(KernelEmitter &k, const Frags &dk, const Frags &dv,
                  const LaneRows &keys, ArrayRef<ga::View> later,
                  bool addChain = false, ArrayRef<ga::View> elsewhere = {});

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_BACKWARDPARTS_H
