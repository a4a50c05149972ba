//===- PartStructure.h - Index math of attention part loops -----*- C++ -*-===//
//
// What the forward and backward loop nests of an attention part both need:
// for query row i, the interval of keys it may attend (rowInterval), for key
// j the interval of rows that may attend it (columnInterval, the transposed
// structure), whether those intervals are exact or need a membership mask,
// and the mask itself. Everything is emitted as index arithmetic on the
// loops' induction variables.
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOLOOPS_PARTSTRUCTURE_H
#define ST_LIB_CONVERSION_ATTENTIONTOLOOPS_PARTSTRUCTURE_H

#include "st/Layout/Layout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

#include <utility>

namespace mlir {
namespace st {
namespace attention_loops {

/// Small arithmetic helpers over index values.
struct IndexMath {
  OpBuilder &b;
  Location loc;

  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value div(Value x, Value y) {
    return arith::FloorDivSIOp::create(b, loc, x, y);
  }
  Value rem(Value x, Value y) { return arith::RemSIOp::create(b, loc, x, y); }
  Value min(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value ori(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  /// The negation of i1 `x`.
  Value noti(Value x) {
    return arith::XOrIOp::create(b, loc, x,
                                 arith::ConstantIntOp::create(b, loc, 1, 1));
  }
  Value ceilDiv(Value x, Value y) {
    return arith::CeilDivSIOp::create(b, loc, x, y);
  }
};

/// Emits `factor.contains(i, j)`.
Value emitContains(IndexMath &m, const ::st::layout::Factor &f, Value i,
                   Value j);

/// The key set of one part: `factor` minus `excluded`, over `n` query rows;
/// key operand rows are the compact summary positions when `compact`.
class PartStructure {
public:
  PartStructure(IndexMath &m, ::st::layout::Factor factor,
                SmallVector<::st::layout::Factor> excluded, bool compact,
                int64_t n)
      : m(m), factor(factor), excluded(std::move(excluded)), compact(compact),
        n(n) {}
  /// The same for a sequence length known only at run time (GPU kernels).
  PartStructure(IndexMath &m, ::st::layout::Factor factor,
                SmallVector<::st::layout::Factor> excluded, bool compact,
                Value n)
      : m(m), factor(factor), excluded(std::move(excluded)), compact(compact),
        n(0), dynamicN(n) {}

  /// Original position of key operand index `j` (compact summaries map
  /// back to the full sequence).
  Value originalKey(Value j);

  /// Key operand interval [lo, hi) that row i may attend. Exact for bands,
  /// blocks, shifted causal and compact summaries; a superset (the causal
  /// prefix) for masked parts. Both ends are monotone in i.
  std::pair<Value, Value> rowInterval(Value i);

  /// Query rows [lo, hi) that may attend key operand index j, clipped to
  /// [0, n): the transposed structure (band: [j, j + w), own block: [j, end
  /// of j's block), shifted causal: [j + d0, n), compact summary: from the
  /// first row whose prefix passes j). Exact where rowInterval is, a
  /// superset otherwise.
  std::pair<Value, Value> columnInterval(Value j);

  /// True when the structural intervals alone do not decide membership.
  bool needsMask() const;

  /// Emits the membership test of (i, j) in the part (j a key operand
  /// index).
  Value emitAllowed(Value i, Value j);

private:
  /// Number of compact summary keys that row i may attend.
  Value compactPrefix(Value i);
  /// The sequence length as an index value.
  Value length() { return dynamicN ? dynamicN : m.c(n); }

  IndexMath &m;
  ::st::layout::Factor factor;
  SmallVector<::st::layout::Factor> excluded;
  bool compact;
  int64_t n;
  Value dynamicN;
};

/// Adds `count` (index) to the global work counter @st_attention_work of
/// `op`'s module, declaring the counter on first use.
void emitWorkCount(OpBuilder &b, Location loc, Operation *op, Value count);

} // namespace attention_loops
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOLOOPS_PARTSTRUCTURE_H
