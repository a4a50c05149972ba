//===- ModelOps.cpp - st model ops to linalg, tensor, arith and math ------===//
//
// One conversion pattern per op. Every lowering keeps the f32 arithmetic of
// the op's definition in the order it is written there (no reassociation,
// no fused multiply-add), so that any backend computes the same values up to
// the accuracy of its exp, log and erf.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "st/Dialect/StDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

using namespace mlir;
using namespace mlir::st;
using namespace mlir::st::lowering;

namespace {

/// An element-wise linalg.generic over `input` with `body` mapping one
/// element to one element of type `resultElt`.
Value mapElements(OpBuilder &b, Location loc, Value input, Type resultElt,
                  function_ref<Value(OpBuilder &, Location, Value)> body) {
  auto type = cast<RankedTensorType>(input.getType());
  unsigned rank = type.getRank();
  Value init =
      emptyTensor(b, loc, tensor::getMixedSizes(b, loc, input), resultElt);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{input}, ValueRange{init},
      ArrayRef<AffineMap>{id, id}, iterators(rank),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, body(nb, nloc, args[0]));
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

/// out[b, n, d] = table[clamp(tokens[b, n]), d]. Our models only ever see
/// bytes (< 256 = V), but tokens are runtime data: clamping into [0, V - 1]
/// keeps the generated gather memory-safe for any input at the cost of one
/// min/max per element.
struct EmbedLowering : OpConversionPattern<EmbedOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(EmbedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value tokens = adaptor.getTokens(), table = adaptor.getTable();
    auto resultType = cast<RankedTensorType>(op.getType());
    SmallVector<OpFoldResult> sizes = {
        joinedSize(rewriter, loc, resultType, 0, tokens, 0),
        joinedSize(rewriter, loc, resultType, 1, tokens, 1),
        joinedSize(rewriter, loc, resultType, 2, table, 1)};
    Value maxRow =
        lastIndex(rewriter, loc, tensor::getMixedSize(rewriter, loc, table, 0));
    Value init = emptyTensor(rewriter, loc, sizes, rewriter.getF32Type());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{init.getType()}, ValueRange{tokens},
        ValueRange{init},
        ArrayRef<AffineMap>{projection(ctx, 3, {0, 1}),
                            rewriter.getMultiDimIdentityMap(3)},
        iterators(3), [&](OpBuilder &b, Location nloc, ValueRange args) {
          Value row = clampedIndex(b, nloc, args[0], maxRow);
          Value col = linalg::IndexOp::create(b, nloc, 2);
          Value v =
              tensor::ExtractOp::create(b, nloc, table, ValueRange{row, col});
          linalg::YieldOp::create(b, nloc, v);
        });
    rewriter.replaceOp(op,
                       castTo(rewriter, loc, generic.getResult(0), resultType));
    return success();
  }
};

/// out[b, n, d] = x[b, n, d] + (T_0[idx_0(n), d] + T_1[idx_1(n), d] + ...),
/// idx_a(n) = (n / prod_{a' > a} s_a') mod s_a. The `mod` on the most
/// significant axis also keeps a dynamic sequence length that exceeds the
/// tables' coverage inside them.
struct PosEmbedLowering : OpConversionPattern<PosEmbedOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(PosEmbedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    SmallVector<Value> tables(adaptor.getTables());
    SmallVector<int64_t> rows, strides(tables.size());
    for (Value table : tables)
      rows.push_back(cast<ShapedType>(table.getType()).getDimSize(0));
    int64_t stride = 1;
    for (size_t a = tables.size(); a-- > 0;) {
      strides[a] = stride;
      stride *= rows[a];
    }

    Value init =
        emptyTensor(rewriter, loc, tensor::getMixedSizes(rewriter, loc, x),
                    rewriter.getF32Type());
    AffineMap id = rewriter.getMultiDimIdentityMap(3);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{init.getType()}, ValueRange{x},
        ValueRange{init}, ArrayRef<AffineMap>{id, id}, iterators(3),
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          Value n = linalg::IndexOp::create(b, nloc, 1);
          Value d = linalg::IndexOp::create(b, nloc, 2);
          Value sum;
          for (size_t a = 0; a < tables.size(); ++a) {
            Value idx = n;
            if (strides[a] != 1)
              idx = arith::DivUIOp::create(
                  b, nloc, idx,
                  arith::ConstantIndexOp::create(b, nloc, strides[a]));
            idx = arith::RemUIOp::create(
                b, nloc, idx, arith::ConstantIndexOp::create(b, nloc, rows[a]));
            Value v = tensor::ExtractOp::create(b, nloc, tables[a],
                                                ValueRange{idx, d});
            sum = sum ? arith::AddFOp::create(b, nloc, sum, v).getResult() : v;
          }
          linalg::YieldOp::create(
              b, nloc,
              arith::AddFOp::create(b, nloc, args[0], sum).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Layer norm, linear, GELU
//===----------------------------------------------------------------------===//

/// Two passes over the last dimension (sum, then sum of squared deviations
/// from the mean), which unlike E[x^2] - E[x]^2 does not cancel
/// catastrophically when |mean| >> std; then
/// y = (x - mean) / sqrt(var + eps) * w + b with the biased variance.
struct LayerNormLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput(), w = adaptor.getWeight(),
          bias = adaptor.getBias();
    auto type = cast<RankedTensorType>(x.getType());
    unsigned rank = type.getRank();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    SmallVector<OpFoldResult> rowSizes(sizes.begin(), sizes.end() - 1);
    Value width =
        indexToFloat(rewriter, loc, sizes.back(), rewriter.getF32Type());
    Value eps = f32Constant(rewriter, loc, op.getEps().convertToDouble());
    auto [sum, sumSq] = rowMoments(rewriter, loc, x, rowSizes, width);

    AffineMap id = rewriter.getMultiDimIdentityMap(rank);
    SmallVector<unsigned> rowDims =
        llvm::to_vector(llvm::seq<unsigned>(0, rank - 1));
    AffineMap row = projection(ctx, rank, rowDims);
    AffineMap last = projection(ctx, rank, {rank - 1});

    Value init = emptyTensor(rewriter, loc, sizes, rewriter.getF32Type());
    Value y =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{init.getType()},
            ValueRange{x, sum, sumSq, w, bias}, ValueRange{init},
            ArrayRef<AffineMap>{id, row, row, last, last, id}, iterators(rank),
            [&](OpBuilder &b, Location nloc, ValueRange args) {
              Value mean = arith::DivFOp::create(b, nloc, args[1], width);
              Value var = arith::DivFOp::create(b, nloc, args[2], width);
              Value dev = arith::SubFOp::create(b, nloc, args[0], mean);
              Value stddev = math::SqrtOp::create(
                  b, nloc, arith::AddFOp::create(b, nloc, var, eps));
              Value normed = arith::DivFOp::create(b, nloc, dev, stddev);
              Value scaled = arith::MulFOp::create(b, nloc, normed, args[3]);
              linalg::YieldOp::create(
                  b, nloc,
                  arith::AddFOp::create(b, nloc, scaled, args[4]).getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// y = x W^T + b: the leading dimensions of x collapse into one row
/// dimension M (dynamic when the batch is), linalg.matmul reads W through a
/// transposed indexing map (no copy of W), the bias is added after the
/// product like addmm does, and the rows expand back.
struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput(), w = adaptor.getWeight(),
          bias = adaptor.getBias();
    auto xType = cast<RankedTensorType>(x.getType());
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t rank = xType.getRank();
    OpFoldResult outSize =
        joinedSize(rewriter, loc, resultType, rank - 1, w, 0);

    // To [M, in].
    ReassociationIndices lead =
        llvm::to_vector(llvm::seq<int64_t>(0, rank - 1));
    SmallVector<OpFoldResult> leadSizes;
    if (rank > 2) {
      leadSizes = tensor::getMixedSizes(rewriter, loc, x);
      leadSizes.pop_back();
    }
    Value rows = x;
    if (rank == 1) {
      OpFoldResult in = tensor::getMixedSize(rewriter, loc, x, 0);
      auto type = RankedTensorType::get({1, xType.getDimSize(0)},
                                        xType.getElementType());
      rows = tensor::ExpandShapeOp::create(
          rewriter, loc, type, x, ArrayRef<ReassociationIndices>{{0, 1}},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1), in});
    } else if (rank > 2) {
      rows = tensor::CollapseShapeOp::create(
          rewriter, loc, x, ArrayRef<ReassociationIndices>{lead, {rank - 1}});
    }

    OpFoldResult m = tensor::getMixedSize(rewriter, loc, rows, 0);
    Value zeros = filledTensor(rewriter, loc, {m, outSize},
                               rewriter.getF32FloatAttr(0.0f));
    Value y = linalg::MatmulTransposeBOp::create(
                  rewriter, loc, TypeRange{zeros.getType()},
                  ValueRange{rows, w}, ValueRange{zeros})
                  .getResult(0);
    if (bias) {
      AffineMap id = rewriter.getMultiDimIdentityMap(2);
      y = linalg::GenericOp::create(
              rewriter, loc, TypeRange{y.getType()}, ValueRange{bias},
              ValueRange{y}, ArrayRef<AffineMap>{projection(ctx, 2, {1}), id},
              iterators(2),
              [&](OpBuilder &b, Location nloc, ValueRange args) {
                linalg::YieldOp::create(
                    b, nloc,
                    arith::AddFOp::create(b, nloc, args[1], args[0])
                        .getResult());
              })
              .getResult(0);
    }

    // Back to [..., out].
    if (rank == 1) {
      y = tensor::CollapseShapeOp::create(
          rewriter, loc, y, ArrayRef<ReassociationIndices>{{0, 1}});
    } else if (rank > 2) {
      SmallVector<OpFoldResult> shape = leadSizes;
      shape.push_back(outSize);
      auto type = RankedTensorType::get(staticShape(shape),
                                        resultType.getElementType());
      y = tensor::ExpandShapeOp::create(
          rewriter, loc, type, y,
          ArrayRef<ReassociationIndices>{lead, {rank - 1}}, shape);
    }
    rewriter.replaceOp(op, castTo(rewriter, loc, y, resultType));
    return success();
  }
};

/// Exact: x * 0.5 * (1 + erf(x * (1/sqrt 2))); like PyTorch's kernel, the
/// erf argument multiplies by the rounded 1/sqrt(2) instead of dividing by
/// sqrt(2) (a divide costs far more, and the two differ by at most an ulp).
/// Approximate: x * sigmoid(1.702 x) = x / (1 + exp(-1.702 x)), which is
/// -0 rather than NaN when exp overflows for large negative x.
struct GeluLowering : OpConversionPattern<GeluOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(GeluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    bool approximate = op.getApproximate();
    Value one = f32Constant(rewriter, loc, 1.0);
    Value factor = f32Constant(rewriter, loc, approximate ? -1.702 : M_SQRT1_2);
    Value half = approximate ? Value() : f32Constant(rewriter, loc, 0.5);
    Value y =
        mapElements(rewriter, loc, adaptor.getInput(), rewriter.getF32Type(),
                    [&](OpBuilder &b, Location nloc, Value x) -> Value {
                      Value scaled = arith::MulFOp::create(b, nloc, x, factor);
                      if (approximate) {
                        Value e = math::ExpOp::create(b, nloc, scaled);
                        Value denom = arith::AddFOp::create(b, nloc, one, e);
                        return arith::DivFOp::create(b, nloc, x, denom);
                      }
                      Value erf = math::ErfOp::create(b, nloc, scaled);
                      Value halfX = arith::MulFOp::create(b, nloc, x, half);
                      Value onePlus = arith::AddFOp::create(b, nloc, one, erf);
                      return arith::MulFOp::create(b, nloc, halfX, onePlus);
                    });
    rewriter.replaceOp(op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Heads
//===----------------------------------------------------------------------===//

/// [B, N, H*Dh] -> expand [B, N, H, Dh] -> transpose [B, H, N, Dh]. A dynamic
/// H or Dh is the width divided by the other, which must be known (the
/// pass diagnoses the case where neither is).
struct SplitHeadsLowering : OpConversionPattern<SplitHeadsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SplitHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t h = resultType.getDimSize(1), dh = resultType.getDimSize(3),
            d = xType.getDimSize(2);
    if (ShapedType::isDynamic(h) && ShapedType::isDynamic(dh))
      return rewriter.notifyMatchFailure(op, "head count and size unknown");
    if (!ShapedType::isDynamic(d) && ShapedType::isDynamic(h))
      h = d / dh;
    if (!ShapedType::isDynamic(d) && ShapedType::isDynamic(dh))
      dh = d / h;

    OpFoldResult b = joinedSize(rewriter, loc, resultType, 0, x, 0);
    OpFoldResult n = joinedSize(rewriter, loc, resultType, 2, x, 1);
    OpFoldResult heads, headDim;
    if (ShapedType::isDynamic(h) || ShapedType::isDynamic(dh)) {
      // d is dynamic here; exactly one of h, dh is.
      Value width = tensor::DimOp::create(rewriter, loc, x, 2);
      int64_t known = ShapedType::isDynamic(h) ? dh : h;
      Value other = arith::DivUIOp::create(
          rewriter, loc, width,
          arith::ConstantIndexOp::create(rewriter, loc, known));
      heads = ShapedType::isDynamic(h) ? OpFoldResult(other)
                                       : rewriter.getIndexAttr(h);
      headDim = ShapedType::isDynamic(dh) ? OpFoldResult(other)
                                          : rewriter.getIndexAttr(dh);
    } else {
      heads = rewriter.getIndexAttr(h);
      headDim = rewriter.getIndexAttr(dh);
    }

    SmallVector<OpFoldResult> expanded = {b, n, heads, headDim};
    SmallVector<int64_t> expandedShape = staticShape(expanded);
    int64_t width = ShapedType::isDynamic(h) || ShapedType::isDynamic(dh)
                        ? ShapedType::kDynamic
                        : h * dh;
    Type elt = xType.getElementType();
    x = castTo(rewriter, loc, x,
               RankedTensorType::get(
                   {expandedShape[0], expandedShape[1], width}, elt));
    Value split = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get(expandedShape, elt), x,
        ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}}, expanded);
    Value init = emptyTensor(rewriter, loc, {b, heads, n, headDim}, elt);
    Value y = linalg::TransposeOp::create(rewriter, loc, split, init,
                                          ArrayRef<int64_t>{0, 2, 1, 3})
                  .getResult()[0];
    rewriter.replaceOp(op, castTo(rewriter, loc, y, resultType));
    return success();
  }
};

/// [B, H, N, Dh] -> transpose [B, N, H, Dh] -> collapse [B, N, H*Dh].
struct MergeHeadsLowering : OpConversionPattern<MergeHeadsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MergeHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    SmallVector<OpFoldResult> s = tensor::getMixedSizes(rewriter, loc, x);
    Value init = emptyTensor(rewriter, loc, {s[0], s[2], s[1], s[3]},
                             xType.getElementType());
    Value t = linalg::TransposeOp::create(rewriter, loc, x, init,
                                          ArrayRef<int64_t>{0, 2, 1, 3})
                  .getResult()[0];
    Value y = tensor::CollapseShapeOp::create(
        rewriter, loc, t, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
    rewriter.replaceOp(op, castTo(rewriter, loc, y, op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Loss
//===----------------------------------------------------------------------===//

/// Per position, loss = (max + log(sum_v exp(l_v - max))) - l_target in f32;
/// the mean over the B*N positions accumulates those f32 losses in f64
/// (a sequential f32 sum over 10^4..10^5 positions would lose several
/// digits of the value reported as bits per byte) and rounds once:
/// nats = f32(sum / (B*N)), bits = f32(sum / (B*N) / ln 2). Targets are
/// clamped into [0, V - 1] as st.embed clamps tokens.
struct CrossEntropyLowering : OpConversionPattern<CrossEntropyOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CrossEntropyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value logits = adaptor.getLogits(), targets = adaptor.getTargets();
    SoftmaxRows rows = softmaxRows(rewriter, loc, logits);
    ArrayRef<OpFoldResult> positions = rows.positions;
    Value maxClass = rows.maxClass, rowMax = rows.rowMax, sumExp = rows.sumExp;

    Value total =
        filledTensor(rewriter, loc, {}, rewriter.getF64FloatAttr(0.0));
    AffineMap id2 = rewriter.getMultiDimIdentityMap(2);
    AffineMap scalar2 = AffineMap::get(2, 0, {}, ctx);
    Value lossSum =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{total.getType()},
            ValueRange{rowMax, sumExp, targets}, ValueRange{total},
            ArrayRef<AffineMap>{id2, id2, id2, scalar2}, iterators(0, 2),
            [&](OpBuilder &b, Location nloc, ValueRange args) {
              Value lse = arith::AddFOp::create(
                  b, nloc, args[0], math::LogOp::create(b, nloc, args[1]));
              Value i = linalg::IndexOp::create(b, nloc, 0);
              Value j = linalg::IndexOp::create(b, nloc, 1);
              Value t = clampedIndex(b, nloc, args[2], maxClass);
              Value picked = tensor::ExtractOp::create(b, nloc, logits,
                                                       ValueRange{i, j, t});
              Value loss = arith::SubFOp::create(b, nloc, lse, picked);
              Value wide = arith::ExtFOp::create(b, nloc, b.getF64Type(), loss);
              linalg::YieldOp::create(
                  b, nloc,
                  arith::AddFOp::create(b, nloc, args[3], wide).getResult());
            })
            .getResult(0);

    OpFoldResult count = mulSizes(rewriter, loc, positions[0], positions[1]);
    Value countF = indexToFloat(rewriter, loc, count, rewriter.getF64Type());
    Value ln2 = arith::ConstantOp::create(rewriter, loc,
                                          rewriter.getF64FloatAttr(M_LN2));
    Value natsInit = emptyTensor(rewriter, loc, {}, rewriter.getF32Type());
    Value bitsInit = emptyTensor(rewriter, loc, {}, rewriter.getF32Type());
    AffineMap scalar0 = AffineMap::get(0, 0, {}, ctx);
    auto means = linalg::GenericOp::create(
        rewriter, loc, TypeRange{natsInit.getType(), bitsInit.getType()},
        ValueRange{lossSum}, ValueRange{natsInit, bitsInit},
        ArrayRef<AffineMap>{scalar0, scalar0, scalar0}, iterators(0),
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          Value mean = arith::DivFOp::create(b, nloc, args[0], countF);
          Value bits = arith::DivFOp::create(b, nloc, mean, ln2);
          Type f32 = b.getF32Type();
          linalg::YieldOp::create(
              b, nloc,
              ValueRange{arith::TruncFOp::create(b, nloc, f32, mean),
                         arith::TruncFOp::create(b, nloc, f32, bits)});
        });
    rewriter.replaceOp(op, means.getResults());
    return success();
  }
};

} // namespace

void mlir::st::populateStModelOpLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<EmbedLowering, PosEmbedLowering, LayerNormLowering,
               LinearLowering, GeluLowering, SplitHeadsLowering,
               MergeHeadsLowering, CrossEntropyLowering>(patterns.getContext());
}
