//===- SpanOrder.h - The orders in which blocks take tiles ------*- C++ -*-===//
//
// The orders in which blocks take their tiles, as index arithmetic on
// index values, so that it can be emitted into a kernel and, by the unit
// tests (unittests/Attention/SpanOrderTest.cpp), into a host function
// that is run over every block of a launch: a span-ordered kernel's
// tickets (SpanOrder.cpp), and head-groups' renumbering of blockIdx
// (KernelEmitter::groupHeads).
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_SPANORDER_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_SPANORDER_H

#include "../AttentionToLoops/PartStructure.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

/// What ticket `t` names (index values; i1 for isBand).
struct SpanTicket {
  Value head;   // batch * H + head
  Value spans;  // spans a head: ceil(ceil(N / L) / rows)
  Value isBand; // a band tile (else a column tile)
  /// Band: the tile (rows rows of the identity view) and its span.
  Value bandTile, bandSpan;
  /// Column: the residue class and the tile in it, which is its span.
  Value columnClass, columnSpan;
};

/// The tile of ticket `ticket` in a launch of `tickets` = BH x 2 L x spans
/// tickets (L = `stride`; `rows` view rows a tile). The launch's spans
/// are one list, head after head and in each head the last span first;
/// the column tiles of a span come `lag` spans of that list after its band
/// tiles, so the lag crosses from one head into the next.
SpanTicket decodeSpanTicket(attention_loops::IndexMath &m, Value ticket,
                            Value tickets, Value n, int64_t stride,
                            int64_t rows, int64_t lag);

/// What ticket `t` of a mixed own-block and summary dK/dV launch names
/// (SpanOrder.cpp, "Mixed"): each head's tickets come in `summaryTiles`
/// rounds of `perRound` own-block tiles and then one summary tile, the
/// summary tile of round r holding the summaries of the blocks that round
/// r's own-block tiles cover. Own-block tiles past the sequence are empty.
struct MixTicket {
  Value head;        // batch * H + head
  Value isOwn;       // i1: an own-block tile (else a summary tile)
  Value ownTile;     // its tile of the identity key view
  Value summaryTile; // its tile of the compact key view
};
MixTicket decodeMixTicket(attention_loops::IndexMath &m, Value ticket,
                          Value summaryTiles, int64_t perRound);

/// Block (bx, by) of a launch of gx tiles by gy head rows, renumbered to
/// take the (tile, head row) pairs tile-major within groups of G = max(1,
/// ceil(resident / gx)) head rows (the last group: what is left). Returns
/// (tile, head row). KernelEmitter::groupHeads.
std::pair<Value, Value> groupedBlock(attention_loops::IndexMath &m, Value bx,
                                     Value by, Value gx, Value gy,
                                     Value resident);

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_SPANORDER_H
