//===- AttentionToLoops.cpp - Attention parts to tiled online-softmax loops ===//
//
// The tiled form of attention: every st.attention_part becomes a loop nest
//
//   scf.parallel (batch x head, query tile)
//     scf.for query row i in the tile
//       scf.for key tile kt in the part's structural range for the tile
//         keys j of the tile clipped to the factor's interval for row i
//         (band: [i - w + 1, i], own block: [block start, i], shifted
//         causal: [0, i - d0], compact summary: [0, prefix(i)))
//         two passes: masked scaled scores and their max, then the online
//         softmax update of (max, sum, accumulator)
//
// so no work is done on empty tiles and, for the structured parts, none on
// masked positions either: the loops touch exactly the pattern's nonzeros.
// Residue and exclusion masks are applied only where a part still needs
// them (unions the structure pass could not make disjoint). The accumulator
// is a vector<D x f32> carried in registers; inputs may be f16/bf16/f32/f64
// and are computed in f32 (f64 in f64). st.attention_merge becomes a loop
// over rows combining the parts by log-sum-exp. st.attention_part_grad
// has its own loop nests (AttentionGradToLoops.cpp).
//
// With `count-work`, every visited (row, key) pair is added to the global
// counter @st_attention_work, so tests can measure the work of the
// generated code itself.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"

#include "AttentionGradToLoops.h"
#include "PartStructure.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <limits>
#include <optional>

namespace mlir {
namespace st {
#define GEN_PASS_DEF_CONVERTSTATTENTIONTOLOOPS
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;
using namespace mlir::st::attention_loops;

namespace {

class PartLowering {
public:
  PartLowering(AttentionPartOp op, int64_t blockQ, int64_t blockK,
               bool countWork)
      : op(op), b(op), loc(op.getLoc()), m{b, loc}, blockQ(blockQ),
        blockK(blockK), countWork(countWork) {}

  LogicalResult run() {
    auto qType = op.getQuery().getType();
    auto kType = op.getKey().getType();
    int64_t d = qType.getDimSize(3);
    if (ShapedType::isDynamic(d) || ShapedType::isDynamic(qType.getDimSize(1)) ||
        ShapedType::isDynamic(qType.getDimSize(2)) ||
        ShapedType::isDynamic(kType.getDimSize(2)))
      return op.emitOpError()
             << "tiling needs static heads, lengths and head dim";
    eltType = qType.getElementType();
    accType = eltType.isF64() ? b.getF64Type() : b.getF32Type();
    headDim = d;
    heads = qType.getDimSize(1);
    n = qType.getDimSize(2);
    keyLen = kType.getDimSize(2);
    structure.emplace(m, op.getFactorValue(), op.getExcludedFactors(),
                      op.getCompactKeys(), n);

    Value batch = tensor::DimOp::create(b, loc, op.getQuery(), 0);
    auto outType = MemRefType::get(qType.getShape(), eltType);
    auto lseType = MemRefType::get(qType.getShape().take_front(3),
                                   b.getF32Type());
    SmallVector<Value> dyn;
    if (qType.isDynamicDim(0))
      dyn.push_back(batch);
    Value out = memref::AllocOp::create(b, loc, outType, dyn);
    Value lse = memref::AllocOp::create(b, loc, lseType, dyn);

    int64_t numQTiles = (n + blockQ - 1) / blockQ;
    Value bh = m.mul(batch, m.c(heads));
    auto par = scf::ParallelOp::create(
        b, loc, ValueRange{m.c(0), m.c(0)}, ValueRange{bh, m.c(numQTiles)},
        ValueRange{m.c(1), m.c(1)});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(par.getBody());
      // The operands' buffers are taken inside the loop: bufferization
      // sees a read where the loop reads, and CSE cannot merge them with
      // another part's (whose buffers could be overwritten in between).
      Value q = toBuffer(op.getQuery()), k = toBuffer(op.getKey()),
            v = toBuffer(op.getValue());
      Value bIdx = m.div(par.getInductionVars()[0], m.c(heads));
      Value hIdx = m.rem(par.getInductionVars()[0], m.c(heads));
      Value q0 = m.mul(par.getInductionVars()[1], m.c(blockQ));
      Value q1 = m.min(m.add(q0, m.c(blockQ)), m.c(n));
      // Scratch for one key tile's scores. A heap buffer, not an alloca:
      // scf-to-openmp wraps loop bodies with allocas in memref.alloca_scope,
      // which cannot hold the multi-block control flow of the loops below.
      // Bufferization's deallocation pipeline frees it at the end of the
      // body.
      Value scores =
          memref::AllocOp::create(b, loc, MemRefType::get({blockK}, accType));
      std::pair<Value, Value> tileRange = keyTileRange(q0, q1);
      Value kt0 = tileRange.first, kt1 = tileRange.second;
      scf::ForOp::create(
          b, loc, q0, q1, m.c(1), ValueRange{},
          [&](OpBuilder &, Location, Value i, ValueRange) {
            emitRow(q, k, v, out, lse, scores, bIdx, hIdx, i, kt0, kt1);
            scf::YieldOp::create(b, loc);
          });
    }
    auto outT = bufferization::ToTensorOp::create(
        b, loc, op.getOut().getType(), out, /*restrict=*/true,
        /*writable=*/true);
    auto lseT = bufferization::ToTensorOp::create(
        b, loc, op.getLse().getType(), lse, /*restrict=*/true,
        /*writable=*/true);
    op.getOut().replaceAllUsesWith(outT);
    op.getLse().replaceAllUsesWith(lseT);
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

  Value accConst(double x) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(accType, x));
  }

  /// Key tiles [kt0, kt1) that can hold keys of rows [q0, q1): the union of
  /// the rows' intervals, which are monotone in i.
  std::pair<Value, Value> keyTileRange(Value q0, Value q1) {
    Value lo = structure->rowInterval(q0).first;
    Value hi = structure->rowInterval(m.sub(q1, m.c(1))).second;
    Value bk = m.c(blockK);
    Value kt0 = m.div(lo, bk);
    Value kt1 = m.max(kt0, m.ceilDiv(hi, bk));
    return {kt0, kt1};
  }

  Value loadRow(Value buf, Value bIdx, Value hIdx, Value row) {
    auto vecType = VectorType::get({headDim}, eltType);
    Value zero = m.c(0);
    Value vec = vector::LoadOp::create(b, loc, vecType, buf,
                                       ValueRange{bIdx, hIdx, row, zero});
    if (eltType != accType)
      vec = arith::ExtFOp::create(
          b, loc, VectorType::get({headDim}, accType), vec);
    return vec;
  }

  void emitRow(Value q, Value k, Value v, Value out, Value lse, Value scores,
               Value bIdx, Value hIdx, Value i, Value kt0, Value kt1) {
    using FP = arith::CmpFPredicate;
    auto accVec = VectorType::get({headDim}, accType);
    Value negInf = accConst(-std::numeric_limits<double>::infinity());
    Value zeroF = accConst(0.0);
    Value scale = accConst(op.getScale().convertToDouble());
    Value qRow = loadRow(q, bIdx, hIdx, i);
    qRow = arith::MulFOp::create(
        b, loc, qRow, vector::BroadcastOp::create(b, loc, accVec, scale));
    std::pair<Value, Value> interval = structure->rowInterval(i);
    Value rowLo = interval.first, rowHi = interval.second;
    Value zeroVec = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(accVec, b.getFloatAttr(accType, 0.0)));

    auto tiles = scf::ForOp::create(
        b, loc, kt0, kt1, m.c(1), ValueRange{negInf, zeroF, zeroVec},
        [&](OpBuilder &, Location, Value kt, ValueRange carried) {
          Value mPrev = carried[0], lPrev = carried[1], accPrev = carried[2];
          Value k0 = m.mul(kt, m.c(blockK));
          Value j0 = m.max(k0, rowLo);
          Value j1 = m.min(m.min(m.add(k0, m.c(blockK)), m.c(keyLen)), rowHi);
          if (countWork)
            emitWorkCount(b, loc, op, m.max(m.c(0), m.sub(j1, j0)));
          // Pass 1: scores of the tile and their max.
          auto pass1 = scf::ForOp::create(
              b, loc, j0, j1, m.c(1), ValueRange{negInf},
              [&](OpBuilder &, Location, Value j, ValueRange mx) {
                Value kRow = loadRow(k, bIdx, hIdx, j);
                Value prod = arith::MulFOp::create(b, loc, qRow, kRow);
                // reassoc: the lanes may be summed as a tree instead of D
                // dependent scalar adds (docs/cpu-benchmark.md). The
                // rounding stays within the tests' float64 bounds.
                auto dot = vector::ReductionOp::create(
                    b, loc, vector::CombiningKind::ADD, prod);
                dot.setFastmath(arith::FastMathFlags::reassoc);
                Value s = dot;
                if (structure->needsMask())
                  s = arith::SelectOp::create(
                      b, loc, structure->emitAllowed(i, j), s, negInf);
                memref::StoreOp::create(b, loc, s, scores,
                                        ValueRange{m.sub(j, k0)});
                scf::YieldOp::create(
                    b, loc, ValueRange{arith::MaximumFOp::create(b, loc, mx[0], s)});
              });
          Value mNew = arith::MaximumFOp::create(b, loc, mPrev,
                                                 pass1.getResult(0));
          // Rows that saw no key keep their state; exp(-inf - -inf) is NaN.
          Value seen = arith::CmpFOp::create(b, loc, FP::ONE, mNew, negInf);
          auto update = scf::IfOp::create(
              b, loc, TypeRange{accType, accType, accVec}, seen,
              /*withElseRegion=*/true);
          {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(update.thenBlock());
            Value alpha = math::ExpOp::create(
                b, loc, arith::SubFOp::create(b, loc, mPrev, mNew));
            auto pass2 = scf::ForOp::create(
                b, loc, j0, j1, m.c(1), ValueRange{zeroF, zeroVec},
                [&](OpBuilder &, Location, Value j, ValueRange sums) {
                  Value s = memref::LoadOp::create(b, loc, scores,
                                                   ValueRange{m.sub(j, k0)});
                  Value p = math::ExpOp::create(
                      b, loc, arith::SubFOp::create(b, loc, s, mNew));
                  Value vRow = loadRow(v, bIdx, hIdx, j);
                  Value pv = vector::BroadcastOp::create(b, loc, accVec, p);
                  Value acc = vector::FMAOp::create(b, loc, pv, vRow, sums[1]);
                  scf::YieldOp::create(
                      b, loc,
                      ValueRange{arith::AddFOp::create(b, loc, sums[0], p), acc});
                });
            Value alphaVec = vector::BroadcastOp::create(b, loc, accVec, alpha);
            Value l = arith::AddFOp::create(
                b, loc, arith::MulFOp::create(b, loc, lPrev, alpha),
                pass2.getResult(0));
            Value acc = vector::FMAOp::create(b, loc, accPrev, alphaVec,
                                              pass2.getResult(1));
            scf::YieldOp::create(b, loc, ValueRange{mNew, l, acc});
            b.setInsertionPointToStart(update.elseBlock());
            scf::YieldOp::create(b, loc, ValueRange{mPrev, lPrev, accPrev});
          }
          scf::YieldOp::create(b, loc, update.getResults());
        });

    Value mFinal = tiles.getResult(0), lFinal = tiles.getResult(1),
          accFinal = tiles.getResult(2);
    Value any = arith::CmpFOp::create(b, loc, FP::OGT, lFinal, zeroF);
    Value safeL = arith::SelectOp::create(b, loc, any, lFinal, accConst(1.0));
    Value o = arith::DivFOp::create(
        b, loc, accFinal, vector::BroadcastOp::create(b, loc, accVec, safeL));
    o = arith::SelectOp::create(b, loc, any, o, zeroVec);
    if (eltType != accType)
      o = arith::TruncFOp::create(b, loc, VectorType::get({headDim}, eltType),
                                  o);
    vector::StoreOp::create(b, loc, o, out, ValueRange{bIdx, hIdx, i, m.c(0)});
    Value rowLse = arith::AddFOp::create(b, loc, mFinal,
                                         math::LogOp::create(b, loc, safeL));
    rowLse = arith::SelectOp::create(b, loc, any, rowLse, negInf);
    if (accType != b.getF32Type())
      rowLse = arith::TruncFOp::create(b, loc, b.getF32Type(), rowLse);
    memref::StoreOp::create(b, loc, rowLse, lse, ValueRange{bIdx, hIdx, i});
  }

  AttentionPartOp op;
  OpBuilder b;
  Location loc;
  IndexMath m;
  int64_t blockQ, blockK;
  bool countWork;
  std::optional<PartStructure> structure;
  Type eltType, accType;
  int64_t headDim = 0, heads = 0, n = 0, keyLen = 0;
};

/// st.attention_merge: per row, lse = log sum_p exp(lse_p) and
/// out = sum_p exp(lse_p - lse) out_p.
LogicalResult lowerMerge(AttentionMergeOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  IndexMath m{b, loc};
  auto type = cast<RankedTensorType>(op.getResult().getType());
  int64_t heads = type.getDimSize(1), n = type.getDimSize(2),
          d = type.getDimSize(3);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(n) ||
      ShapedType::isDynamic(d))
    return op.emitOpError() << "needs static heads, length and head dim";
  Type elt = type.getElementType();
  Type acc = elt.isF64() ? b.getF64Type() : b.getF32Type();
  auto accVec = VectorType::get({d}, acc);
  auto toBuf = [&](Value t) {
    auto tt = cast<RankedTensorType>(t.getType());
    return bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(tt.getShape(), tt.getElementType()), t, true)
        .getResult();
  };
  Value batch = tensor::DimOp::create(b, loc, op.getOuts()[0], 0);
  SmallVector<Value> dyn;
  if (type.isDynamicDim(0))
    dyn.push_back(batch);
  Value out = memref::AllocOp::create(
      b, loc, MemRefType::get(type.getShape(), elt), dyn);
  Value lse = memref::AllocOp::create(
      b, loc, MemRefType::get(type.getShape().take_front(3), b.getF32Type()),
      dyn);
  auto par = scf::ParallelOp::create(
      b, loc, ValueRange{m.c(0), m.c(0), m.c(0)},
      ValueRange{batch, m.c(heads), m.c(n)}, ValueRange{m.c(1), m.c(1), m.c(1)});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(par.getBody());
    // Buffers taken inside the loop, as for the parts.
    SmallVector<Value> outs, lses;
    for (Value o : op.getOuts())
      outs.push_back(toBuf(o));
    for (Value l : op.getLses())
      lses.push_back(toBuf(l));
    SmallVector<Value> iv(par.getInductionVars());
    auto cst = [&](double x) {
      return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(x));
    };
    SmallVector<Value> partLse;
    Value mx = cst(-std::numeric_limits<double>::infinity());
    for (Value l : lses) {
      partLse.push_back(memref::LoadOp::create(b, loc, l, iv));
      mx = arith::MaximumFOp::create(b, loc, mx, partLse.back());
    }
    Value any = arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::ONE, mx,
        cst(-std::numeric_limits<double>::infinity()));
    Value safeMax = arith::SelectOp::create(b, loc, any, mx, cst(0.0));
    SmallVector<Value> weights;
    Value sum = cst(0.0);
    for (Value pl : partLse) {
      weights.push_back(math::ExpOp::create(
          b, loc, arith::SubFOp::create(b, loc, pl, safeMax)));
      sum = arith::AddFOp::create(b, loc, sum, weights.back());
    }
    Value safeSum = arith::SelectOp::create(b, loc, any, sum, cst(1.0));
    Value total = arith::AddFOp::create(b, loc, safeMax,
                                        math::LogOp::create(b, loc, safeSum));
    total = arith::SelectOp::create(
        b, loc, any, total, cst(-std::numeric_limits<double>::infinity()));
    memref::StoreOp::create(b, loc, total, lse, iv);
    Value accum = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(accVec, b.getFloatAttr(acc, 0.0)));
    SmallVector<Value> idx(iv);
    idx.push_back(m.c(0));
    for (auto [o, w] : llvm::zip(outs, weights)) {
      Value row = vector::LoadOp::create(
          b, loc, VectorType::get({d}, elt), o, idx);
      if (elt != acc)
        row = arith::ExtFOp::create(b, loc, accVec, row);
      Value wn = arith::DivFOp::create(b, loc, w, safeSum);
      if (acc != b.getF32Type())
        wn = arith::ExtFOp::create(b, loc, acc, wn);
      accum = vector::FMAOp::create(
          b, loc, vector::BroadcastOp::create(b, loc, accVec, wn), row, accum);
    }
    if (elt != acc)
      accum = arith::TruncFOp::create(b, loc, VectorType::get({d}, elt), accum);
    vector::StoreOp::create(b, loc, accum, out, idx);
  }
  op.getResult().replaceAllUsesWith(bufferization::ToTensorOp::create(
      b, loc, op.getResult().getType(), out, true, true));
  op.getLse().replaceAllUsesWith(bufferization::ToTensorOp::create(
      b, loc, op.getLse().getType(), lse, true, true));
  op.erase();
  return success();
}

struct ConvertAttentionToLoopsPass
    : public mlir::st::impl::ConvertStAttentionToLoopsBase<
          ConvertAttentionToLoopsPass> {
  using ConvertStAttentionToLoopsBase::ConvertStAttentionToLoopsBase;

  void runOnOperation() override {
    if (blockQ < 1 || blockK < 1) {
      getOperation().emitError() << "tile sizes must be positive";
      return signalPassFailure();
    }
    SmallVector<AttentionPartOp> parts;
    SmallVector<AttentionPartGradOp> grads;
    SmallVector<AttentionMergeOp> merges;
    getOperation()->walk([&](Operation *op) {
      if (auto p = dyn_cast<AttentionPartOp>(op))
        parts.push_back(p);
      else if (auto g = dyn_cast<AttentionPartGradOp>(op))
        grads.push_back(g);
      else if (auto mg = dyn_cast<AttentionMergeOp>(op))
        merges.push_back(mg);
    });
    for (AttentionPartOp p : parts)
      if (failed(PartLowering(p, blockQ, blockK, countWork).run()))
        return signalPassFailure();
    for (AttentionPartGradOp g : grads)
      if (failed(lowerAttentionPartGrad(g, blockQ, blockK, countWork)))
        return signalPassFailure();
    for (AttentionMergeOp mg : merges)
      if (failed(lowerMerge(mg)))
        return signalPassFailure();
  }
};

} // namespace
