//===- GradOps.cpp - st backward ops to linalg, tensor, scf, arith, math --===//
//
// One conversion pattern per backward op, the adjoint of the matching
// forward lowering in ModelOps.cpp. Every sum runs in a fixed order, so a
// gradient is bit-for-bit reproducible: reductions are linalg reductions
// (sequential loops once lowered), and the scatter-adds of the embeddings
// are sequential scf.for loops over positions that add one row at a time
// into a loop-carried table, which one-shot bufferization updates in place.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "st/Dialect/StDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

using namespace mlir;
using namespace mlir::st;
using namespace mlir::st::lowering;

namespace {

/// A linalg.generic body that yields `out + in` (args[1] + args[0]).
void accumulate(OpBuilder &b, Location loc, ValueRange args) {
  linalg::YieldOp::create(
      b, loc, arith::AddFOp::create(b, loc, args[1], args[0]).getResult());
}

/// Row `indices` of `source` (all but its last dimension indexed) as a
/// rank-1 tensor of `width` elements.
Value extractRow(OpBuilder &b, Location loc, Value source, ValueRange indices,
                 OpFoldResult width) {
  auto type = cast<RankedTensorType>(source.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(indices.begin(), indices.end());
  offsets.push_back(b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes(rank - 1, b.getIndexAttr(1));
  sizes.push_back(width);
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  auto rowType =
      RankedTensorType::get(staticShape({width}), type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, rowType, source, offsets, sizes,
                                        strides);
}

/// `table` [R, width] with the rank-1 `src` added to row `row`: extract the
/// row, add element-wise, insert it back. On a loop-carried table the
/// extract/insert pair bufferizes to an in-place update of that row.
Value addToRow(OpBuilder &b, Location loc, Value table, Value row, Value src,
               OpFoldResult width) {
  auto tableType = cast<RankedTensorType>(table.getType());
  auto rowType =
      RankedTensorType::get(staticShape({width}), tableType.getElementType());
  SmallVector<OpFoldResult> offsets = {row, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), width};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  Value old = tensor::ExtractSliceOp::create(b, loc, rowType, table, offsets,
                                             sizes, strides);
  AffineMap id = b.getMultiDimIdentityMap(1);
  Value sum = linalg::GenericOp::create(
                  b, loc, TypeRange{rowType}, ValueRange{src}, ValueRange{old},
                  ArrayRef<AffineMap>{id, id}, iterators(1), accumulate)
                  .getResult(0);
  return tensor::InsertSliceOp::create(b, loc, sum, table, offsets, sizes,
                                       strides);
}

/// `x` [..., d] as rows [M, d]: the leading dimensions collapse into M, and
/// a rank-1 `x` is one row.
Value toRows(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return x;
  if (rank == 1) {
    auto rowsType =
        RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType());
    return tensor::ExpandShapeOp::create(
        b, loc, rowsType, x, ArrayRef<ReassociationIndices>{{0, 1}},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                               tensor::getMixedSize(b, loc, x, 0)});
  }
  ReassociationIndices lead = llvm::to_vector(llvm::seq<int64_t>(0, rank - 1));
  return tensor::CollapseShapeOp::create(
      b, loc, x, ArrayRef<ReassociationIndices>{lead, {rank - 1}});
}

/// The inverse of toRows: rows [M, d] back to `shape` = [..., d].
Value fromRows(OpBuilder &b, Location loc, Value rows,
               ArrayRef<OpFoldResult> shape) {
  int64_t rank = shape.size();
  if (rank == 2)
    return rows;
  if (rank == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, rows, ArrayRef<ReassociationIndices>{{0, 1}});
  ReassociationIndices lead = llvm::to_vector(llvm::seq<int64_t>(0, rank - 1));
  auto type = RankedTensorType::get(
      staticShape(shape),
      cast<RankedTensorType>(rows.getType()).getElementType());
  return tensor::ExpandShapeOp::create(
      b, loc, type, rows, ArrayRef<ReassociationIndices>{lead, {rank - 1}},
      shape);
}

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

/// dtable = 0; for b, for n: dtable[clamp(tokens[b, n])] += dy[b, n]. Each
/// row is summed in position order; an O(V B N D) comparison of every row
/// with every token is what the loop avoids.
struct EmbedGradLowering : OpConversionPattern<EmbedGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(EmbedGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value tokens = adaptor.getTokens(), dy = adaptor.getDy();
    auto tokensType = cast<RankedTensorType>(tokens.getType());
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t vocab = resultType.getDimSize(0);
    OpFoldResult width = joinedSize(rewriter, loc, resultType, 1, dy, 2);
    Value batch = getValueOrCreateConstantIndexOp(
        rewriter, loc, joinedSize(rewriter, loc, tokensType, 0, dy, 0));
    Value length = getValueOrCreateConstantIndexOp(
        rewriter, loc, joinedSize(rewriter, loc, tokensType, 1, dy, 1));
    Value maxRow = arith::ConstantIndexOp::create(rewriter, loc, vocab - 1);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value table =
        filledTensor(rewriter, loc, {rewriter.getIndexAttr(vocab), width},
                     rewriter.getF32FloatAttr(0.0f));

    auto loop = scf::ForOp::create(
        rewriter, loc, zero, batch, one, ValueRange{table},
        [&](OpBuilder &b, Location nloc, Value i, ValueRange outer) {
          auto inner = scf::ForOp::create(
              b, nloc, zero, length, one, outer,
              [&](OpBuilder &ib, Location iloc, Value j, ValueRange acc) {
                Value token = tensor::ExtractOp::create(ib, iloc, tokens,
                                                        ValueRange{i, j});
                Value row = clampedIndex(ib, iloc, token, maxRow);
                Value src = extractRow(ib, iloc, dy, ValueRange{i, j}, width);
                scf::YieldOp::create(
                    ib, iloc, addToRow(ib, iloc, acc[0], row, src, width));
              });
          scf::YieldOp::create(b, nloc, inner.getResults());
        });
    rewriter.replaceOp(op,
                       castTo(rewriter, loc, loop.getResult(0), resultType));
    return success();
  }
};

/// The batch is summed first, s[n] = sum_b dy[b, n] (in batch order); then
/// one loop over positions adds s[n] into row idx_a(n) of every table a,
/// with idx_a the mixed-radix digit of st.pos_embed.
struct PosEmbedGradLowering : OpConversionPattern<PosEmbedGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(PosEmbedGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value dy = adaptor.getDy();
    size_t numTables = op.getNumResults();
    SmallVector<int64_t> rows, strides(numTables);
    for (Type type : op.getResultTypes())
      rows.push_back(cast<ShapedType>(type).getDimSize(0));
    int64_t stride = 1;
    for (size_t a = numTables; a-- > 0;) {
      strides[a] = stride;
      stride *= rows[a];
    }

    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, dy);
    Value perPosition = filledTensor(rewriter, loc, {sizes[1], sizes[2]},
                                     rewriter.getF32FloatAttr(0.0f));
    perPosition =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{perPosition.getType()}, ValueRange{dy},
            ValueRange{perPosition},
            ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(3),
                                projection(ctx, 3, {1, 2})},
            {utils::IteratorType::reduction, utils::IteratorType::parallel,
             utils::IteratorType::parallel},
            accumulate)
            .getResult(0);

    SmallVector<Value> tables;
    SmallVector<OpFoldResult> widths;
    for (size_t a = 0; a < numTables; ++a) {
      auto type = cast<ShapedType>(op.getResult(a).getType());
      widths.push_back(joinedSize(rewriter, loc, type, 1, dy, 2));
      tables.push_back(filledTensor(rewriter, loc,
                                    {rewriter.getIndexAttr(rows[a]), widths[a]},
                                    rewriter.getF32FloatAttr(0.0f)));
    }
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value length = getValueOrCreateConstantIndexOp(rewriter, loc, sizes[1]);
    auto loop = scf::ForOp::create(
        rewriter, loc, zero, length, one, tables,
        [&](OpBuilder &b, Location nloc, Value n, ValueRange acc) {
          Value src = extractRow(b, nloc, perPosition, ValueRange{n}, sizes[2]);
          SmallVector<Value> updated;
          for (size_t a = 0; a < numTables; ++a) {
            Value idx = n;
            if (strides[a] != 1)
              idx = arith::DivUIOp::create(
                  b, nloc, idx,
                  arith::ConstantIndexOp::create(b, nloc, strides[a]));
            idx = arith::RemUIOp::create(
                b, nloc, idx, arith::ConstantIndexOp::create(b, nloc, rows[a]));
            updated.push_back(addToRow(b, nloc, acc[a], idx, src, widths[a]));
          }
          scf::YieldOp::create(b, nloc, updated);
        });
    SmallVector<Value> results;
    for (auto [value, type] : llvm::zip(loop.getResults(), op.getResultTypes()))
      results.push_back(castTo(rewriter, loc, value, type));
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Layer norm, linear, GELU
//===----------------------------------------------------------------------===//

/// Mean and rstd = 1 / sqrt(var + eps) per row from the forward's two-pass
/// statistics; then, with xhat = (x - mean) * rstd and g = dy * w, one
/// reduction per row for sum(g) and sum(g * xhat), the element-wise
/// dx = rstd * ((g - mean(g)) - xhat * mean(g * xhat)), and one reduction
/// over the rows for dweight = sum(dy * xhat) and dbias = sum(dy).
struct LayerNormGradLowering : OpConversionPattern<LayerNormGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LayerNormGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput(), w = adaptor.getWeight(), dy = adaptor.getDy();
    unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    SmallVector<OpFoldResult> rowSizes(sizes.begin(), sizes.end() - 1);
    FloatType f32 = rewriter.getF32Type();
    Value width = indexToFloat(rewriter, loc, sizes.back(), f32);
    Value eps = f32Constant(rewriter, loc, op.getEps().convertToDouble());
    Value one = f32Constant(rewriter, loc, 1.0);
    auto [sum, sumSq] = rowMoments(rewriter, loc, x, rowSizes, width);

    AffineMap id = rewriter.getMultiDimIdentityMap(rank);
    AffineMap row = projection(
        ctx, rank, llvm::to_vector(llvm::seq<unsigned>(0, rank - 1)));
    AffineMap last = projection(ctx, rank, {rank - 1});
    AffineMap rowId = rewriter.getMultiDimIdentityMap(rank - 1);

    Value meanInit = emptyTensor(rewriter, loc, rowSizes, f32);
    Value rstdInit = emptyTensor(rewriter, loc, rowSizes, f32);
    auto stats = linalg::GenericOp::create(
        rewriter, loc, TypeRange{meanInit.getType(), rstdInit.getType()},
        ValueRange{sum, sumSq}, ValueRange{meanInit, rstdInit},
        ArrayRef<AffineMap>{rowId, rowId, rowId, rowId}, iterators(rank - 1),
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          Value mean = arith::DivFOp::create(b, nloc, args[0], width);
          Value var = arith::DivFOp::create(b, nloc, args[1], width);
          Value stddev = math::SqrtOp::create(
              b, nloc, arith::AddFOp::create(b, nloc, var, eps));
          Value rstd = arith::DivFOp::create(b, nloc, one, stddev);
          linalg::YieldOp::create(b, nloc, ValueRange{mean, rstd});
        });
    Value mean = stats.getResult(0), rstd = stats.getResult(1);

    // xhat and g of one element from (x, mean, rstd, w, dy).
    auto xhatAndG = [&](OpBuilder &b, Location nloc, ValueRange args) {
      Value dev = arith::SubFOp::create(b, nloc, args[0], args[1]);
      Value xhat = arith::MulFOp::create(b, nloc, dev, args[2]);
      Value g = arith::MulFOp::create(b, nloc, args[4], args[3]);
      return std::make_pair(xhat, g);
    };

    Value sumGInit =
        filledTensor(rewriter, loc, rowSizes, rewriter.getF32FloatAttr(0.0f));
    Value sumGXInit =
        filledTensor(rewriter, loc, rowSizes, rewriter.getF32FloatAttr(0.0f));
    auto rowSums = linalg::GenericOp::create(
        rewriter, loc, TypeRange{sumGInit.getType(), sumGXInit.getType()},
        ValueRange{x, mean, rstd, w, dy}, ValueRange{sumGInit, sumGXInit},
        ArrayRef<AffineMap>{id, row, row, last, id, row, row},
        iterators(rank - 1, 1),
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          auto [xhat, g] = xhatAndG(b, nloc, args);
          Value gx = arith::MulFOp::create(b, nloc, g, xhat);
          linalg::YieldOp::create(
              b, nloc,
              ValueRange{arith::AddFOp::create(b, nloc, args[5], g),
                         arith::AddFOp::create(b, nloc, args[6], gx)});
        });

    Value dxInit = emptyTensor(rewriter, loc, sizes, f32);
    Value dx =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{dxInit.getType()},
            ValueRange{x, mean, rstd, w, dy, rowSums.getResult(0),
                       rowSums.getResult(1)},
            ValueRange{dxInit},
            ArrayRef<AffineMap>{id, row, row, last, id, row, row, id},
            iterators(rank),
            [&](OpBuilder &b, Location nloc, ValueRange args) {
              auto [xhat, g] = xhatAndG(b, nloc, args);
              Value meanG = arith::DivFOp::create(b, nloc, args[5], width);
              Value meanGX = arith::DivFOp::create(b, nloc, args[6], width);
              Value centred = arith::SubFOp::create(b, nloc, g, meanG);
              Value along = arith::MulFOp::create(b, nloc, xhat, meanGX);
              Value diff = arith::SubFOp::create(b, nloc, centred, along);
              linalg::YieldOp::create(
                  b, nloc,
                  arith::MulFOp::create(b, nloc, args[2], diff).getResult());
            })
            .getResult(0);

    // Rows are the outer (reduction) loops, so each column accumulates in
    // row order while the inner loop walks contiguous memory.
    Value dwInit = filledTensor(rewriter, loc, {sizes.back()},
                                rewriter.getF32FloatAttr(0.0f));
    Value dbInit = filledTensor(rewriter, loc, {sizes.back()},
                                rewriter.getF32FloatAttr(0.0f));
    SmallVector<utils::IteratorType> columns(rank - 1,
                                             utils::IteratorType::reduction);
    columns.push_back(utils::IteratorType::parallel);
    auto paramGrads = linalg::GenericOp::create(
        rewriter, loc, TypeRange{dwInit.getType(), dbInit.getType()},
        ValueRange{x, mean, rstd, dy}, ValueRange{dwInit, dbInit},
        ArrayRef<AffineMap>{id, row, row, id, last, last}, columns,
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          Value dev = arith::SubFOp::create(b, nloc, args[0], args[1]);
          Value xhat = arith::MulFOp::create(b, nloc, dev, args[2]);
          Value dyXhat = arith::MulFOp::create(b, nloc, args[3], xhat);
          linalg::YieldOp::create(
              b, nloc,
              ValueRange{arith::AddFOp::create(b, nloc, args[4], dyXhat),
                         arith::AddFOp::create(b, nloc, args[5], args[3])});
        });

    rewriter.replaceOp(op, {castTo(rewriter, loc, dx, op.getDx().getType()),
                            castTo(rewriter, loc, paramGrads.getResult(0),
                                   op.getDweight().getType()),
                            castTo(rewriter, loc, paramGrads.getResult(1),
                                   op.getDbias().getType())});
    return success();
  }
};

/// On the rows views x [M, in] and dy [M, out]: dx = dy W as a plain
/// linalg.matmul [M, out] x [out, in], dweight = dy^T x as a linalg.matmul
/// reading dy through a transposed map (both 2-D f32 contractions, which
/// become BLAS calls), and dbias = the column sums of dy.
struct LinearGradLowering : OpConversionPattern<LinearGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LinearGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput(), w = adaptor.getWeight(), dy = adaptor.getDy();
    auto xType = cast<RankedTensorType>(x.getType());
    auto dyType = cast<RankedTensorType>(dy.getType());
    int64_t rank = xType.getRank();
    OpFoldResult in = joinedSize(rewriter, loc, xType, rank - 1, w, 1);
    OpFoldResult out = joinedSize(rewriter, loc, dyType, rank - 1, w, 0);
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(rewriter, loc, x);
    xSizes.back() = in;

    Value xRows = toRows(rewriter, loc, x);
    Value dyRows = toRows(rewriter, loc, dy);
    OpFoldResult m = tensor::getMixedSize(rewriter, loc, xRows, 0);

    Value dxInit =
        filledTensor(rewriter, loc, {m, in}, rewriter.getF32FloatAttr(0.0f));
    Value dxRows =
        linalg::MatmulOp::create(rewriter, loc, TypeRange{dxInit.getType()},
                                 ValueRange{dyRows, w}, ValueRange{dxInit})
            .getResult(0);
    Value dx = fromRows(rewriter, loc, dxRows, xSizes);

    Value dwInit =
        filledTensor(rewriter, loc, {out, in}, rewriter.getF32FloatAttr(0.0f));
    Value dw = linalg::MatmulTransposeAOp::create(
                   rewriter, loc, TypeRange{dwInit.getType()},
                   ValueRange{dyRows, xRows}, ValueRange{dwInit})
                   .getResult(0);

    Value dbInit =
        filledTensor(rewriter, loc, {out}, rewriter.getF32FloatAttr(0.0f));
    Value db =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{dbInit.getType()}, ValueRange{dyRows},
            ValueRange{dbInit},
            ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(2),
                                projection(ctx, 2, {1})},
            {utils::IteratorType::reduction, utils::IteratorType::parallel},
            accumulate)
            .getResult(0);

    rewriter.replaceOp(op,
                       {castTo(rewriter, loc, dx, op.getDx().getType()),
                        castTo(rewriter, loc, dw, op.getDweight().getType()),
                        castTo(rewriter, loc, db, op.getDbias().getType())});
    return success();
  }
};

/// dx = dy * gelu'(x). Exact: Phi(x) + x phi(x) with Phi(x) = (1 + erf(x *
/// (1/sqrt 2))) * 0.5 (the forward's erf argument) and phi(x) =
/// exp(-0.5 x^2) / sqrt(2 pi). Approximate: s + (1.702 x) s (1 - s) with
/// s = 1 / (1 + exp(-1.702 x)), 0 rather than NaN where exp overflows.
struct GeluGradLowering : OpConversionPattern<GeluGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(GeluGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), dy = adaptor.getDy();
    bool approximate = op.getApproximate();
    unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
    Value one = f32Constant(rewriter, loc, 1.0);
    Value k, minusK, half, minusHalf, rsqrt2, rsqrt2pi;
    if (approximate) {
      k = f32Constant(rewriter, loc, 1.702);
      minusK = f32Constant(rewriter, loc, -1.702);
    } else {
      half = f32Constant(rewriter, loc, 0.5);
      minusHalf = f32Constant(rewriter, loc, -0.5);
      rsqrt2 = f32Constant(rewriter, loc, M_SQRT1_2);
      rsqrt2pi = f32Constant(rewriter, loc, 0.5 * M_2_SQRTPI * M_SQRT1_2);
    }

    auto derivative = [&](OpBuilder &b, Location nloc, Value v) -> Value {
      if (approximate) {
        Value e = math::ExpOp::create(
            b, nloc, arith::MulFOp::create(b, nloc, v, minusK));
        Value s = arith::DivFOp::create(b, nloc, one,
                                        arith::AddFOp::create(b, nloc, one, e));
        Value kv = arith::MulFOp::create(b, nloc, v, k);
        Value kvs = arith::MulFOp::create(b, nloc, kv, s);
        Value rest = arith::SubFOp::create(b, nloc, one, s);
        return arith::AddFOp::create(b, nloc, s,
                                     arith::MulFOp::create(b, nloc, kvs, rest));
      }
      Value erf = math::ErfOp::create(
          b, nloc, arith::MulFOp::create(b, nloc, v, rsqrt2));
      Value cdf = arith::MulFOp::create(
          b, nloc, arith::AddFOp::create(b, nloc, one, erf), half);
      Value sq = arith::MulFOp::create(b, nloc, v, v);
      Value e = math::ExpOp::create(
          b, nloc, arith::MulFOp::create(b, nloc, sq, minusHalf));
      Value pdf = arith::MulFOp::create(b, nloc, e, rsqrt2pi);
      return arith::AddFOp::create(b, nloc, cdf,
                                   arith::MulFOp::create(b, nloc, v, pdf));
    };

    Value init =
        emptyTensor(rewriter, loc, tensor::getMixedSizes(rewriter, loc, x),
                    rewriter.getF32Type());
    AffineMap id = rewriter.getMultiDimIdentityMap(rank);
    Value dx =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{init.getType()}, ValueRange{x, dy},
            ValueRange{init}, ArrayRef<AffineMap>{id, id, id}, iterators(rank),
            [&](OpBuilder &b, Location nloc, ValueRange args) {
              Value d = derivative(b, nloc, args[0]);
              linalg::YieldOp::create(
                  b, nloc,
                  arith::MulFOp::create(b, nloc, args[1], d).getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, castTo(rewriter, loc, dx, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Loss
//===----------------------------------------------------------------------===//

/// dlogits = (exp(l - max) / sum - onehot(clamp(target))) * scale with the
/// forward's softmax statistics; scale = (dnats + dbits / ln 2) / (B N) is
/// computed once in f64 and rounded to f32 once.
struct CrossEntropyGradLowering : OpConversionPattern<CrossEntropyGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CrossEntropyGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value logits = adaptor.getLogits(), targets = adaptor.getTargets();
    SoftmaxRows rows = softmaxRows(rewriter, loc, logits);
    ArrayRef<OpFoldResult> positions = rows.positions;
    Value maxClass = rows.maxClass, rowMax = rows.rowMax, sumExp = rows.sumExp;

    FloatType f32 = rewriter.getF32Type(), f64 = rewriter.getF64Type();
    OpFoldResult count = mulSizes(rewriter, loc, positions[0], positions[1]);
    Value countF = indexToFloat(rewriter, loc, count, f64);
    Value ln2 = arith::ConstantOp::create(rewriter, loc,
                                          rewriter.getF64FloatAttr(M_LN2));
    auto wide = [&](Value scalarTensor) -> Value {
      Value v =
          tensor::ExtractOp::create(rewriter, loc, scalarTensor, ValueRange{});
      return arith::ExtFOp::create(rewriter, loc, f64, v);
    };
    Value perBit =
        arith::DivFOp::create(rewriter, loc, wide(adaptor.getDbits()), ln2);
    Value total =
        arith::AddFOp::create(rewriter, loc, wide(adaptor.getDnats()), perBit);
    Value scale = arith::TruncFOp::create(
        rewriter, loc, f32,
        arith::DivFOp::create(rewriter, loc, total, countF));
    Value zero = f32Constant(rewriter, loc, 0.0);
    Value one = f32Constant(rewriter, loc, 1.0);

    AffineMap id3 = rewriter.getMultiDimIdentityMap(3);
    AffineMap pos3 = projection(ctx, 3, {0, 1});
    Value init = emptyTensor(rewriter, loc, rows.sizes, f32);
    Value dlogits =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{init.getType()},
            ValueRange{logits, rowMax, sumExp, targets}, ValueRange{init},
            ArrayRef<AffineMap>{id3, pos3, pos3, pos3, id3}, iterators(3),
            [&](OpBuilder &b, Location nloc, ValueRange args) {
              Value shifted = arith::SubFOp::create(b, nloc, args[0], args[1]);
              Value p = arith::DivFOp::create(
                  b, nloc, math::ExpOp::create(b, nloc, shifted), args[2]);
              Value v = linalg::IndexOp::create(b, nloc, 2);
              Value t = clampedIndex(b, nloc, args[3], maxClass);
              Value hit = arith::CmpIOp::create(b, nloc,
                                                arith::CmpIPredicate::eq, v, t);
              Value onehot = arith::SelectOp::create(b, nloc, hit, one, zero);
              Value diff = arith::SubFOp::create(b, nloc, p, onehot);
              linalg::YieldOp::create(
                  b, nloc,
                  arith::MulFOp::create(b, nloc, diff, scale).getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, castTo(rewriter, loc, dlogits, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Lowerability
//===----------------------------------------------------------------------===//

/// Reports the first problem with one backward op's types at that op.
class TypeChecker {
public:
  explicit TypeChecker(Operation *op) : op(op) {}

  /// `value` must be a ranked tensor of rank `rank`, or of at least
  /// `minRank` if no rank is given.
  RankedTensorType ranked(Value value, StringRef name,
                          std::optional<int64_t> rank, int64_t minRank = 0) {
    if (!ok)
      return {};
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type)
      fail() << name << " " << value.getType() << " is unranked";
    else if (rank && type.getRank() != *rank)
      fail() << name << " " << type << " is not of rank " << *rank;
    else if (type.getRank() < minRank)
      fail() << name << " " << type << " has rank below " << minRank;
    return ok ? type : RankedTensorType();
  }

  /// Dimension `ad` of `a` and `bd` of `b` must be compatible.
  void sameSize(RankedTensorType a, int64_t ad, RankedTensorType b, int64_t bd,
                StringRef what) {
    if (!ok)
      return;
    int64_t x = a.getDimSize(ad), y = b.getDimSize(bd);
    if (!ShapedType::isDynamic(x) && !ShapedType::isDynamic(y) && x != y)
      fail() << what << " of " << a << " and " << b << " differ";
  }

  /// `type` must have the shape of `like` up to dynamic sizes.
  void sameShape(RankedTensorType type, RankedTensorType like, StringRef what) {
    if (!ok)
      return;
    if (type.getRank() != like.getRank() ||
        failed(verifyCompatibleShape(type.getShape(), like.getShape())))
      fail() << what << " " << type << " does not match " << like;
  }

  /// Dimension `dim` of `type` must be static and positive.
  void staticRows(RankedTensorType type, int64_t dim, StringRef name) {
    if (ok && !(type.getDimSize(dim) > 0))
      fail() << name << " " << type << " needs a static, positive row count";
  }

  LogicalResult result() const { return success(ok); }

private:
  InFlightDiagnostic fail() {
    ok = false;
    return op->emitOpError() << "cannot be lowered to linalg: ";
  }

  Operation *op;
  bool ok = true;
};

} // namespace

LogicalResult mlir::st::checkGradOpLowerable(Operation *op) {
  TypeChecker check(op);
  if (auto embed = dyn_cast<EmbedGradOp>(op)) {
    auto tokens = check.ranked(embed.getTokens(), "tokens", 2);
    auto dy = check.ranked(embed.getDy(), "dy", 3);
    auto dtable = check.ranked(embed.getDtable(), "dtable", 2);
    check.staticRows(dtable, 0, "dtable");
    check.sameSize(tokens, 0, dy, 0, "batch sizes");
    check.sameSize(tokens, 1, dy, 1, "lengths");
    check.sameSize(dtable, 1, dy, 2, "widths");
  } else if (auto pos = dyn_cast<PosEmbedGradOp>(op)) {
    auto dy = check.ranked(pos.getDy(), "dy", 3);
    if (pos.getDtables().empty())
      return op->emitOpError()
             << "cannot be lowered to linalg: it has no table gradients";
    for (Value table : pos.getDtables()) {
      auto type = check.ranked(table, "dtables", 2);
      check.staticRows(type, 0, "dtables");
      check.sameSize(type, 1, dy, 2, "widths");
    }
  } else if (auto norm = dyn_cast<LayerNormGradOp>(op)) {
    auto x = check.ranked(norm.getInput(), "input", std::nullopt, 1);
    auto w = check.ranked(norm.getWeight(), "weight", 1);
    auto dy = check.ranked(norm.getDy(), "dy", std::nullopt);
    auto dx = check.ranked(norm.getDx(), "dx", std::nullopt);
    auto dw = check.ranked(norm.getDweight(), "dweight", 1);
    auto db = check.ranked(norm.getDbias(), "dbias", 1);
    check.sameShape(dy, x, "dy");
    check.sameShape(dx, x, "dx");
    if (x) {
      int64_t last = x.getRank() - 1;
      check.sameSize(w, 0, x, last, "widths");
      check.sameSize(dw, 0, x, last, "widths");
      check.sameSize(db, 0, x, last, "widths");
    }
  } else if (auto linear = dyn_cast<LinearGradOp>(op)) {
    auto x = check.ranked(linear.getInput(), "input", std::nullopt, 1);
    auto w = check.ranked(linear.getWeight(), "weight", 2);
    auto dy =
        check.ranked(linear.getDy(), "dy",
                     x ? std::optional<int64_t>(x.getRank()) : std::nullopt);
    auto dx = check.ranked(linear.getDx(), "dx", std::nullopt);
    auto dw = check.ranked(linear.getDweight(), "dweight", 2);
    auto db = check.ranked(linear.getDbias(), "dbias", 1);
    check.sameShape(dx, x, "dx");
    check.sameShape(dw, w, "dweight");
    if (x) {
      int64_t last = x.getRank() - 1;
      for (int64_t i = 0; i < last; ++i)
        check.sameSize(x, i, dy, i, "leading sizes");
      check.sameSize(w, 1, x, last, "input widths");
      check.sameSize(w, 0, dy, last, "output widths");
      check.sameSize(db, 0, dy, last, "output widths");
    }
  } else if (auto gelu = dyn_cast<GeluGradOp>(op)) {
    check.ranked(gelu.getInput(), "input", std::nullopt);
  } else if (auto loss = dyn_cast<CrossEntropyGradOp>(op)) {
    auto logits = check.ranked(loss.getLogits(), "logits", 3);
    auto targets = check.ranked(loss.getTargets(), "targets", 2);
    check.sameSize(logits, 0, targets, 0, "batch sizes");
    check.sameSize(logits, 1, targets, 1, "lengths");
  }
  return check.result();
}

void mlir::st::populateStGradOpLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<EmbedGradLowering, PosEmbedGradLowering, LayerNormGradLowering,
               LinearGradLowering, GeluGradLowering, CrossEntropyGradLowering>(
      patterns.getContext());
}
