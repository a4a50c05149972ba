//===- AttentionGradToLoops.cpp - Attention gradient parts to loops -------===//
//
// st.attention_part_grad becomes two loop nests, each of which writes every
// output row from exactly one iteration, so neither needs atomics nor any
// n x n buffer:
//
//   dq:     scf.parallel (batch x head, query tile of block-q rows)
//             scf.for query row i, scf.for key j in rowInterval(i)
//               P = exp(scale q_i . k_j - lse_i)
//               dS = P (dout_i . v_j - D_i),  dq_i += dS k_j
//   dk, dv: scf.parallel (batch x head, key tile of block-k rows)
//             scf.for key j, scf.for query row i in columnInterval(j)
//               the same P and dS;  dv_j += P dout_i,  dk_j += dS q_i
//
// The second nest walks the transposed structure: for each key only the rows
// that can attend it (band: [j, j + w), own block: [j, block end), shifted
// causal: [j + d0, n), compact summary: from the first row whose prefix
// passes j). P is recomputed from the forward's log-sum-exp in both nests
// (the price of having no atomics: the scores are computed twice), and
// masks are applied exactly where the forward applies them. Accumulators
// are vector<D> registers in f32 (f64 for f64 inputs), as in the forward.
//
// With `count-work`, each nest adds the (row, key) pairs it visits to
// @st_attention_work, so a gradient costs twice the part's nonzeros.
//
//===----------------------------------------------------------------------===//

#include "AttentionGradToLoops.h"
#include "PartStructure.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <optional>

using namespace mlir;
using namespace mlir::st;
using namespace mlir::st::attention_loops;

namespace {

/// The operands of the part as buffers.
struct Buffers {
  Value q, k, v, lse, delta, dout;
};

class PartGradLowering {
public:
  PartGradLowering(AttentionPartGradOp op, int64_t blockQ, int64_t blockK,
                   bool countWork)
      : op(op), b(op), loc(op.getLoc()), m{b, loc}, blockQ(blockQ),
        blockK(blockK), countWork(countWork) {}

  LogicalResult run() {
    auto qType = op.getQuery().getType();
    auto kType = op.getKey().getType();
    if (qType.isDynamicDim(1) || qType.isDynamicDim(2) ||
        qType.isDynamicDim(3) || kType.isDynamicDim(2))
      return op.emitOpError()
             << "tiling needs static heads, lengths and head dim";
    eltType = qType.getElementType();
    accType = eltType.isF64() ? b.getF64Type() : b.getF32Type();
    heads = qType.getDimSize(1);
    n = qType.getDimSize(2);
    headDim = qType.getDimSize(3);
    keyLen = kType.getDimSize(2);
    structure.emplace(m, op.getFactorValue(), op.getExcludedFactors(),
                      op.getCompactKeys(), n);

    Value batch = tensor::DimOp::create(b, loc, op.getQuery(), 0);
    SmallVector<Value> dyn;
    if (qType.isDynamicDim(0))
      dyn.push_back(batch);
    Value dq = memref::AllocOp::create(
        b, loc, MemRefType::get(qType.getShape(), eltType), dyn);
    auto kvType = MemRefType::get(kType.getShape(), eltType);
    Value dk = memref::AllocOp::create(b, loc, kvType, dyn);
    Value dv = memref::AllocOp::create(b, loc, kvType, dyn);

    Value bh = m.mul(batch, m.c(heads));
    forEachRow(bh, n, blockQ,
               [&](const Buffers &in, Value bIdx, Value hIdx, Value i) {
                 emitQueryRow(in, dq, bIdx, hIdx, i);
               });
    forEachRow(bh, keyLen, blockK,
               [&](const Buffers &in, Value bIdx, Value hIdx, Value j) {
                 emitKeyRow(in, dk, dv, bIdx, hIdx, j);
               });

    auto toTensor = [&](Value result, Value buffer) {
      result.replaceAllUsesWith(bufferization::ToTensorOp::create(
          b, loc, result.getType(), buffer, /*restrict=*/true,
          /*writable=*/true));
    };
    toTensor(op.getDquery(), dq);
    toTensor(op.getDkey(), dk);
    toTensor(op.getDvalue(), dv);
    op.erase();
    return success();
  }

private:
  Value toBuffer(Value t) {
    auto type = cast<RankedTensorType>(t.getType());
    return bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(type.getShape(), type.getElementType()), t,
        /*read_only=*/true);
  }

  /// scf.parallel over (batch x head, tiles of `tile` rows of `rows`), then
  /// a sequential loop over the tile's rows calling `body(in, b, h, row)`.
  /// The operands' buffers `in` are taken inside the parallel loop:
  /// bufferization then sees a read where the loop reads, and CSE cannot
  /// merge them with another part's (the forward's, reading the same views),
  /// whose buffers could be overwritten in between.
  using RowBody = function_ref<void(const Buffers &, Value, Value, Value)>;
  void forEachRow(Value bh, int64_t rows, int64_t tile, RowBody body) {
    auto par = scf::ParallelOp::create(
        b, loc, ValueRange{m.c(0), m.c(0)},
        ValueRange{bh, m.c((rows + tile - 1) / tile)},
        ValueRange{m.c(1), m.c(1)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(par.getBody());
    Buffers in{toBuffer(op.getQuery()), toBuffer(op.getKey()),
               toBuffer(op.getValue()), toBuffer(op.getLse()),
               toBuffer(op.getDelta()), toBuffer(op.getDout())};
    Value bIdx = m.div(par.getInductionVars()[0], m.c(heads));
    Value hIdx = m.rem(par.getInductionVars()[0], m.c(heads));
    Value r0 = m.mul(par.getInductionVars()[1], m.c(tile));
    Value r1 = m.min(m.add(r0, m.c(tile)), m.c(rows));
    scf::ForOp::create(b, loc, r0, r1, m.c(1), ValueRange{},
                       [&](OpBuilder &, Location, Value row, ValueRange) {
                         body(in, bIdx, hIdx, row);
                         scf::YieldOp::create(b, loc);
                       });
  }

  VectorType accVec() { return VectorType::get({headDim}, accType); }

  Value accConst(double x) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(accType, x));
  }

  Value splat(Value x) {
    return vector::BroadcastOp::create(b, loc, accVec(), x);
  }

  Value zeroVec() {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(accVec(), b.getFloatAttr(accType, 0.0)));
  }

  Value dot(Value x, Value y) {
    // reassoc: the lanes may be summed as a tree (as the forward does).
    auto red = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                           arith::MulFOp::create(b, loc, x, y));
    red.setFastmath(arith::FastMathFlags::reassoc);
    return red;
  }

  Value loadRow(Value buf, Value bIdx, Value hIdx, Value row) {
    Value vec = vector::LoadOp::create(b, loc,
                                       VectorType::get({headDim}, eltType), buf,
                                       ValueRange{bIdx, hIdx, row, m.c(0)});
    if (eltType != accType)
      vec = arith::ExtFOp::create(b, loc, accVec(), vec);
    return vec;
  }

  /// lse or D of row i, in the accumulator type.
  Value loadRowScalar(Value buf, Value bIdx, Value hIdx, Value row) {
    Value x = memref::LoadOp::create(b, loc, buf, ValueRange{bIdx, hIdx, row});
    if (accType != x.getType())
      x = arith::ExtFOp::create(b, loc, accType, x);
    return x;
  }

  void storeRow(Value acc, Value buf, Value bIdx, Value hIdx, Value row) {
    if (eltType != accType)
      acc = arith::TruncFOp::create(b, loc, VectorType::get({headDim}, eltType),
                                    acc);
    vector::StoreOp::create(b, loc, acc, buf,
                            ValueRange{bIdx, hIdx, row, m.c(0)});
  }

  /// P_ij from the scaled score `s` and the row's log-sum-exp, zero where
  /// the part's mask rejects (i, j). Rows without keys have lse = -inf;
  /// their P is only ever formed under a mask that rejects it.
  Value probability(Value s, Value lse, Value i, Value j) {
    Value p =
        math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, s, lse));
    if (structure->needsMask())
      p = arith::SelectOp::create(b, loc, structure->emitAllowed(i, j), p,
                                  accConst(0.0));
    return p;
  }

  /// dS_ij = P_ij (dout_i . v_j - D_i).
  Value scoreGrad(Value p, Value doutRow, Value vRow, Value delta) {
    Value dp = dot(doutRow, vRow);
    return arith::MulFOp::create(b, loc, p,
                                 arith::SubFOp::create(b, loc, dp, delta));
  }

  void countPairs(Value lo, Value hi) {
    if (countWork)
      emitWorkCount(b, loc, op, m.max(m.c(0), m.sub(hi, lo)));
  }

  /// dq_i = scale sum over the keys of row i of dS_ij k_j.
  void emitQueryRow(const Buffers &in, Value dq, Value bIdx, Value hIdx,
                    Value i) {
    Value scale = splat(accConst(op.getScale().convertToDouble()));
    // Scores as the forward forms them: (scale q_i) . k_j.
    Value qRow = arith::MulFOp::create(b, loc, loadRow(in.q, bIdx, hIdx, i),
                                       scale);
    Value doutRow = loadRow(in.dout, bIdx, hIdx, i);
    Value lse = loadRowScalar(in.lse, bIdx, hIdx, i);
    Value delta = loadRowScalar(in.delta, bIdx, hIdx, i);
    auto [lo, hi] = structure->rowInterval(i);
    hi = m.min(hi, m.c(keyLen));
    countPairs(lo, hi);
    auto keys = scf::ForOp::create(
        b, loc, lo, hi, m.c(1), ValueRange{zeroVec()},
        [&](OpBuilder &, Location, Value j, ValueRange acc) {
          Value kRow = loadRow(in.k, bIdx, hIdx, j);
          Value vRow = loadRow(in.v, bIdx, hIdx, j);
          Value p = probability(dot(qRow, kRow), lse, i, j);
          Value ds = scoreGrad(p, doutRow, vRow, delta);
          scf::YieldOp::create(
              b, loc,
              ValueRange{vector::FMAOp::create(b, loc, splat(ds), kRow,
                                               acc[0])});
        });
    storeRow(arith::MulFOp::create(b, loc, keys.getResult(0), scale), dq,
             bIdx, hIdx, i);
  }

  /// dv_j = sum over the rows attending j of P_ij dout_i and
  /// dk_j = scale sum of dS_ij q_i.
  void emitKeyRow(const Buffers &in, Value dk, Value dv, Value bIdx,
                  Value hIdx, Value j) {
    Value scale = splat(accConst(op.getScale().convertToDouble()));
    Value kRow = arith::MulFOp::create(b, loc, loadRow(in.k, bIdx, hIdx, j),
                                       scale);
    Value vRow = loadRow(in.v, bIdx, hIdx, j);
    auto [lo, hi] = structure->columnInterval(j);
    countPairs(lo, hi);
    auto rows = scf::ForOp::create(
        b, loc, lo, hi, m.c(1), ValueRange{zeroVec(), zeroVec()},
        [&](OpBuilder &, Location, Value i, ValueRange acc) {
          Value qRow = loadRow(in.q, bIdx, hIdx, i);
          Value doutRow = loadRow(in.dout, bIdx, hIdx, i);
          Value lse = loadRowScalar(in.lse, bIdx, hIdx, i);
          Value delta = loadRowScalar(in.delta, bIdx, hIdx, i);
          Value p = probability(dot(qRow, kRow), lse, i, j);
          Value dvAcc = vector::FMAOp::create(b, loc, splat(p), doutRow,
                                              acc[1]);
          Value ds = scoreGrad(p, doutRow, vRow, delta);
          Value dkAcc = vector::FMAOp::create(b, loc, splat(ds), qRow, acc[0]);
          scf::YieldOp::create(b, loc, ValueRange{dkAcc, dvAcc});
        });
    storeRow(arith::MulFOp::create(b, loc, rows.getResult(0), scale), dk,
             bIdx, hIdx, j);
    storeRow(rows.getResult(1), dv, bIdx, hIdx, j);
  }

  AttentionPartGradOp op;
  OpBuilder b;
  Location loc;
  IndexMath m;
  int64_t blockQ, blockK;
  bool countWork;
  std::optional<PartStructure> structure;
  Type eltType, accType;
  int64_t heads = 0, n = 0, headDim = 0, keyLen = 0;
};

} // namespace

LogicalResult mlir::st::attention_loops::lowerAttentionPartGrad(
    AttentionPartGradOp op, int64_t blockQ, int64_t blockK, bool countWork) {
  return PartGradLowering(op, blockQ, blockK, countWork).run();
}
