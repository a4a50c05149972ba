//===- AttentionRowToLoops.cpp - One query row against a key/value cache --===//
//
// The decoding form of attention. Every st.attention_row becomes, per head
// group (the heads h = g mod k that share pattern g of a layout whose
// assignment repeats every k heads),
//
//   scf.parallel (batch, head of the group)
//     for each disjoint part of the group's pattern
//       scf.for key j in the part's keys of row `pos`
//         score, then the online softmax update of (max, sum, accumulator)
//
// where a part's keys are walked as an arithmetic progression of key
// positions, so that a decoding step costs exactly the row of the pattern:
//  - bands, own blocks and dense causal attention: the row's interval
//    (PartStructure::rowInterval), step 1;
//  - a column of stride L: from `pos mod L` in steps of L up to the row's
//    interval end (pos - d0);
//  - a summary: its positions directly in the full-sequence cache, walked
//    by compact index m in [0, prefix(pos)) and mapped back to position
//    (m / C) * L + lo + m mod C (PartStructure in compact mode).
// Exclusion masks are tested only in parts that no structural rule made
// disjoint (unions). The parts of a pattern are disjoint, so they all
// update one softmax state and need no log-sum-exp merge; the update takes
// one exp per key: with s the new score and m the running max,
// e = exp(min(m, s) - max(m, s)) rescales whichever side is smaller.
//
// Key `pos` itself is the op's key/value row (the caches hold the earlier
// rows). With `count-work`, each part adds its trip count to
// @st_attention_work.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"

#include "PartStructure.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace mlir {
namespace st {
#define GEN_PASS_DEF_CONVERTSTATTENTIONROWTOLOOPS
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;
using namespace mlir::st::attention_loops;
namespace lay = ::st::layout;

namespace {

/// The online softmax state of one (batch, head) row.
struct SoftmaxState {
  Value max, sum, acc;
};

/// The keys of one part for the row: key operand indices lo, lo + step, ...
/// below hi, and whether each still needs the part's membership test.
struct KeyWalk {
  Value lo, hi;
  int64_t step;
  bool mask;
};

class RowLowering {
public:
  RowLowering(AttentionRowOp op, bool countWork)
      : op(op), b(op), loc(op.getLoc()), m{b, loc}, countWork(countWork) {}

  LogicalResult run() {
    auto qType = op.getQuery().getType();
    auto cacheType = op.getKeyCache().getType();
    if (qType.isDynamicDim(1) || qType.isDynamicDim(3) ||
        cacheType.isDynamicDim(2))
      return op.emitOpError()
             << "needs static heads, cache length and head dim";
    eltType = qType.getElementType();
    accType = eltType.isF64() ? b.getF64Type() : b.getF32Type();
    heads = qType.getDimSize(1);
    headDim = qType.getDimSize(3);
    n = cacheType.getDimSize(2);
    lay::Layout layout = op.getLayout().getLayout();

    Value batch = tensor::DimOp::create(b, loc, op.getQuery(), 0);
    // The documented clamp: a position outside [0, N) never reads outside
    // the caches.
    pos = m.max(m.c(0), m.min(op.getPosition(), m.c(n - 1)));
    SmallVector<Value> dyn;
    if (qType.isDynamicDim(0))
      dyn.push_back(batch);
    auto outType =
        MemRefType::get({qType.getDimSize(0), heads, 1, headDim}, eltType);
    Value out = memref::AllocOp::create(b, loc, outType, dyn);

    int64_t groups = std::min<int64_t>(layout.getCycleLength(), heads);
    for (int64_t g = 0; g < groups; ++g) {
      int64_t count = (heads - g + groups - 1) / groups;
      auto par = scf::ParallelOp::create(b, loc, ValueRange{m.c(0), m.c(0)},
                                         ValueRange{batch, m.c(count)},
                                         ValueRange{m.c(1), m.c(1)});
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(par.getBody());
      Value h = m.add(m.c(g), m.mul(par.getInductionVars()[1], m.c(groups)));
      emitHead(layout.forHead(g), out, par.getInductionVars()[0], h);
    }
    op.getResult().replaceAllUsesWith(bufferization::ToTensorOp::create(
        b, loc, op.getResult().getType(), out, /*restrict=*/true,
        /*writable=*/true));
    op.erase();
    return success();
  }

private:
  /// What every key of a row reads.
  struct Row {
    Value b, h, query, key, value, keyCache, valueCache;
  };

  Value toBuffer(Value t) {
    auto type = cast<RankedTensorType>(t.getType());
    return bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(type.getShape(), type.getElementType()), t,
        /*read_only=*/true);
  }

  Value accConst(double x) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(accType, x));
  }

  VectorType accVec() const { return VectorType::get({headDim}, accType); }

  Value broadcast(Value scalar) {
    return vector::BroadcastOp::create(b, loc, accVec(), scalar);
  }

  Value loadRow(Value buf, Value bIdx, Value hIdx, Value row) {
    Value vec =
        vector::LoadOp::create(b, loc, VectorType::get({headDim}, eltType), buf,
                               ValueRange{bIdx, hIdx, row, m.c(0)});
    if (eltType != accType)
      vec = arith::ExtFOp::create(b, loc, accVec(), vec);
    return vec;
  }

  /// The row of one (batch, head): every part of `pattern` into one
  /// softmax state, then out[b, h, 0] = acc / sum (0 without keys).
  void emitHead(const lay::Pattern &pattern, Value out, Value bIdx,
                Value hIdx) {
    // Buffers are taken inside the loop body, as in AttentionToLoops.cpp,
    // so that CSE cannot merge them with reads elsewhere.
    Row row;
    row.b = bIdx;
    row.h = hIdx;
    Value q = toBuffer(op.getQuery());
    row.keyCache = toBuffer(op.getKeyCache());
    row.valueCache = toBuffer(op.getValueCache());
    row.key = loadRow(toBuffer(op.getKey()), bIdx, hIdx, m.c(0));
    row.value = loadRow(toBuffer(op.getValue()), bIdx, hIdx, m.c(0));
    row.query = arith::MulFOp::create(b, loc, loadRow(q, bIdx, hIdx, m.c(0)),
                                      broadcast(accConst(op.getScaleValue())));

    Value zeroF = accConst(0.0);
    Value zeroVec = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(accVec(), b.getFloatAttr(accType, 0.0)));
    SoftmaxState state{accConst(-std::numeric_limits<double>::infinity()),
                       zeroF, zeroVec};
    for (const lay::Pattern::Part &part : pattern.disjointParts())
      state = emitPart(part, row, state);

    Value any = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                      state.sum, zeroF);
    Value safeSum =
        arith::SelectOp::create(b, loc, any, state.sum, accConst(1.0));
    Value o = arith::DivFOp::create(b, loc, state.acc, broadcast(safeSum));
    o = arith::SelectOp::create(b, loc, any, o, zeroVec);
    if (eltType != accType)
      o = arith::TruncFOp::create(b, loc, VectorType::get({headDim}, eltType),
                                  o);
    vector::StoreOp::create(b, loc, o, out,
                            ValueRange{bIdx, hIdx, m.c(0), m.c(0)});
  }

  /// The keys of `part` for row `pos`; see the file comment.
  KeyWalk keyWalk(const lay::Pattern::Part &part, PartStructure &structure) {
    auto [lo, hi] = structure.rowInterval(pos);
    const lay::Factor &f = part.factor;
    if (f.getKind() == lay::FactorKind::Column && f.getPeriod() > 1) {
      // Keys j = pos (mod L) with j <= pos - d0: the progression is the
      // column itself, so only exclusions need a test.
      return {m.rem(pos, m.c(f.getPeriod())), hi, f.getPeriod(),
              !part.excluded.empty()};
    }
    return {lo, hi, 1, structure.needsMask()};
  }

  SoftmaxState emitPart(const lay::Pattern::Part &part, const Row &row,
                        SoftmaxState state) {
    bool compact = part.factor.getKind() == lay::FactorKind::Summary;
    PartStructure structure(
        m, part.factor,
        SmallVector<lay::Factor>(part.excluded.begin(), part.excluded.end()),
        compact, n);
    KeyWalk walk = keyWalk(part, structure);
    if (countWork) {
      Value span = m.max(m.c(0), m.sub(walk.hi, walk.lo));
      emitWorkCount(b, loc, op,
                    walk.step == 1 ? span : m.ceilDiv(span, m.c(walk.step)));
    }
    auto loop = scf::ForOp::create(
        b, loc, walk.lo, walk.hi, m.c(walk.step),
        ValueRange{state.max, state.sum, state.acc},
        [&](OpBuilder &, Location, Value j, ValueRange carried) {
          SoftmaxState prev{carried[0], carried[1], carried[2]};
          if (!walk.mask) {
            emitYield(emitKey(structure, row, j, prev));
            return;
          }
          auto ifOp = scf::IfOp::create(
              b, loc, TypeRange{accType, accType, accVec()},
              structure.emitAllowed(pos, j), /*withElseRegion=*/true);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(ifOp.thenBlock());
          emitYield(emitKey(structure, row, j, prev));
          b.setInsertionPointToStart(ifOp.elseBlock());
          emitYield(prev);
          b.setInsertionPointAfter(ifOp);
          emitYield({ifOp.getResult(0), ifOp.getResult(1), ifOp.getResult(2)});
        });
    return {loop.getResult(0), loop.getResult(1), loop.getResult(2)};
  }

  void emitYield(const SoftmaxState &s) {
    scf::YieldOp::create(b, loc, ValueRange{s.max, s.sum, s.acc});
  }

  /// Adds key operand index `j` to the state.
  SoftmaxState emitKey(PartStructure &structure, const Row &row, Value j,
                       const SoftmaxState &prev) {
    Value position = structure.originalKey(j);
    // Key `pos` is the op's own row; earlier keys come from the caches. The
    // cache row `pos` is read but not used (it is in bounds).
    Value isOwn =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, position, pos);
    Value kRow = arith::SelectOp::create(
        b, loc, isOwn, row.key, loadRow(row.keyCache, row.b, row.h, position));
    Value vRow = arith::SelectOp::create(
        b, loc, isOwn, row.value,
        loadRow(row.valueCache, row.b, row.h, position));
    Value prod = arith::MulFOp::create(b, loc, row.query, kRow);
    // reassoc, as in the full-sequence lowering (docs/cpu-benchmark.md).
    auto dot =
        vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, prod);
    dot.setFastmath(arith::FastMathFlags::reassoc);
    Value s = dot;

    // One exp per key: the smaller of (old max, s) is rescaled to the
    // larger. With no key seen yet, max is -inf and e is 0.
    Value mNew = arith::MaximumFOp::create(b, loc, prev.max, s);
    Value e = math::ExpOp::create(
        b, loc,
        arith::SubFOp::create(
            b, loc, arith::MinimumFOp::create(b, loc, prev.max, s), mNew));
    Value grew =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, s, prev.max);
    Value one = accConst(1.0);
    Value alpha = arith::SelectOp::create(b, loc, grew, e, one);
    Value p = arith::SelectOp::create(b, loc, grew, one, e);
    Value sum = arith::AddFOp::create(
        b, loc, arith::MulFOp::create(b, loc, prev.sum, alpha), p);
    Value acc = vector::FMAOp::create(
        b, loc, prev.acc, broadcast(alpha),
        arith::MulFOp::create(b, loc, broadcast(p), vRow));
    return {mNew, sum, acc};
  }

  AttentionRowOp op;
  OpBuilder b;
  Location loc;
  IndexMath m;
  bool countWork;
  Value pos;
  Type eltType, accType;
  int64_t heads = 0, headDim = 0, n = 0;
};

struct ConvertAttentionRowToLoopsPass
    : public mlir::st::impl::ConvertStAttentionRowToLoopsBase<
          ConvertAttentionRowToLoopsPass> {
  using ConvertStAttentionRowToLoopsBase::ConvertStAttentionRowToLoopsBase;

  void runOnOperation() override {
    SmallVector<AttentionRowOp> rows;
    getOperation()->walk([&](AttentionRowOp op) { rows.push_back(op); });
    for (AttentionRowOp op : rows)
      if (failed(RowLowering(op, countWork).run()))
        return signalPassFailure();
  }
};

} // namespace
