//===- Utils.cpp - IR-building helpers of the st-to-linalg lowering -------===//

#include "Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::st;
using namespace mlir::st::lowering;

Value lowering::f32Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(value)));
}

AffineMap lowering::projection(MLIRContext *ctx, unsigned rank,
                               ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

SmallVector<utils::IteratorType> lowering::iterators(unsigned numParallel,
                                                     unsigned numReduction) {
  SmallVector<utils::IteratorType> result(numParallel,
                                          utils::IteratorType::parallel);
  result.append(numReduction, utils::IteratorType::reduction);
  return result;
}

SmallVector<int64_t> lowering::staticShape(ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes) {
    if (auto attr = dyn_cast<Attribute>(size))
      shape.push_back(cast<IntegerAttr>(attr).getInt());
    else
      shape.push_back(ShapedType::kDynamic);
  }
  return shape;
}

Value lowering::emptyTensor(OpBuilder &b, Location loc,
                            ArrayRef<OpFoldResult> sizes, Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value lowering::filledTensor(OpBuilder &b, Location loc,
                             ArrayRef<OpFoldResult> sizes, TypedAttr value) {
  Value empty = emptyTensor(b, loc, sizes, value.getType());
  Value scalar = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, ValueRange{scalar}, ValueRange{empty})
      .getResult(0);
}

OpFoldResult lowering::joinedSize(OpBuilder &b, Location loc,
                                  ShapedType preferred, int64_t preferredDim,
                                  Value source, int64_t sourceDim) {
  if (!preferred.isDynamicDim(preferredDim))
    return b.getIndexAttr(preferred.getDimSize(preferredDim));
  return tensor::getMixedSize(b, loc, source, sourceDim);
}

Value lowering::castTo(OpBuilder &b, Location loc, Value value, Type type) {
  if (value.getType() == type)
    return value;
  return tensor::CastOp::create(b, loc, type, value);
}

Value lowering::indexToFloat(OpBuilder &b, Location loc, OpFoldResult size,
                             FloatType type) {
  if (auto attr = dyn_cast<Attribute>(size))
    return arith::ConstantOp::create(
        b, loc, b.getFloatAttr(type, double(cast<IntegerAttr>(attr).getInt())));
  Value i64 =
      arith::IndexCastUIOp::create(b, loc, b.getI64Type(), cast<Value>(size));
  return arith::UIToFPOp::create(b, loc, type, i64);
}

Value lowering::lastIndex(OpBuilder &b, Location loc, OpFoldResult bound) {
  if (auto attr = dyn_cast<Attribute>(bound))
    return arith::ConstantIndexOp::create(b, loc,
                                          cast<IntegerAttr>(attr).getInt() - 1);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  return arith::SubIOp::create(b, loc, cast<Value>(bound), one);
}

OpFoldResult lowering::mulSizes(OpBuilder &b, Location loc, OpFoldResult lhs,
                                OpFoldResult rhs) {
  std::optional<int64_t> l = getConstantIntValue(lhs),
                         r = getConstantIntValue(rhs);
  if (l && r)
    return b.getIndexAttr(*l * *r);
  Value lhsValue = getValueOrCreateConstantIndexOp(b, loc, lhs);
  Value rhsValue = getValueOrCreateConstantIndexOp(b, loc, rhs);
  return arith::MulIOp::create(b, loc, lhsValue, rhsValue).getResult();
}

Value lowering::clampedIndex(OpBuilder &b, Location loc, Value i32Index,
                             Value maxIndex) {
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), i32Index);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value atLeastZero = arith::MaxSIOp::create(b, loc, index, zero);
  return arith::MinSIOp::create(b, loc, atLeastZero, maxIndex);
}

std::pair<Value, Value> lowering::rowMoments(OpBuilder &b, Location loc,
                                             Value x,
                                             ArrayRef<OpFoldResult> rowSizes,
                                             Value width) {
  MLIRContext *ctx = b.getContext();
  unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
  // One accumulator per reduction, so that bufferization needs no copy.
  Value sumInit = filledTensor(b, loc, rowSizes, b.getF32FloatAttr(0.0f));
  Value sumSqInit = filledTensor(b, loc, rowSizes, b.getF32FloatAttr(0.0f));

  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<unsigned> rowDims =
      llvm::to_vector(llvm::seq<unsigned>(0, rank - 1));
  AffineMap row = projection(ctx, rank, rowDims);
  auto rowReduction = iterators(rank - 1, 1);

  Value sum =
      linalg::GenericOp::create(
          b, loc, TypeRange{sumInit.getType()}, ValueRange{x},
          ValueRange{sumInit}, ArrayRef<AffineMap>{id, row}, rowReduction,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            linalg::YieldOp::create(
                nb, nloc,
                arith::AddFOp::create(nb, nloc, args[1], args[0]).getResult());
          })
          .getResult(0);

  Value sumSq =
      linalg::GenericOp::create(
          b, loc, TypeRange{sumSqInit.getType()}, ValueRange{x, sum},
          ValueRange{sumSqInit}, ArrayRef<AffineMap>{id, row, row},
          rowReduction,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value mean = arith::DivFOp::create(nb, nloc, args[1], width);
            Value dev = arith::SubFOp::create(nb, nloc, args[0], mean);
            Value sq = arith::MulFOp::create(nb, nloc, dev, dev);
            linalg::YieldOp::create(
                nb, nloc,
                arith::AddFOp::create(nb, nloc, args[2], sq).getResult());
          })
          .getResult(0);
  return {sum, sumSq};
}

lowering::SoftmaxRows lowering::softmaxRows(OpBuilder &b, Location loc,
                                            Value logits) {
  SoftmaxRows rows;
  rows.sizes = tensor::getMixedSizes(b, loc, logits);
  rows.positions = {rows.sizes[0], rows.sizes[1]};
  ArrayRef<OpFoldResult> positions = rows.positions;
  rows.maxClass = lastIndex(b, loc, rows.sizes[2]);
  MLIRContext *ctx = b.getContext();
  AffineMap id3 = b.getMultiDimIdentityMap(3);
  AffineMap pos3 = projection(ctx, 3, {0, 1});
  auto classReduction = iterators(2, 1);

  Value lowest =
      filledTensor(b, loc, positions,
                   b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
  Value rowMax =
      linalg::GenericOp::create(
          b, loc, TypeRange{lowest.getType()}, ValueRange{logits},
          ValueRange{lowest}, ArrayRef<AffineMap>{id3, pos3}, classReduction,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            linalg::YieldOp::create(
                nb, nloc,
                arith::MaximumFOp::create(nb, nloc, args[1], args[0])
                    .getResult());
          })
          .getResult(0);

  Value zeros = filledTensor(b, loc, positions, b.getF32FloatAttr(0.0f));
  Value sumExp =
      linalg::GenericOp::create(
          b, loc, TypeRange{zeros.getType()}, ValueRange{logits, rowMax},
          ValueRange{zeros}, ArrayRef<AffineMap>{id3, pos3, pos3},
          classReduction,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value shifted = arith::SubFOp::create(nb, nloc, args[0], args[1]);
            Value e = math::ExpOp::create(nb, nloc, shifted);
            linalg::YieldOp::create(
                nb, nloc,
                arith::AddFOp::create(nb, nloc, args[2], e).getResult());
          })
          .getResult(0);
  rows.rowMax = rowMax;
  rows.sumExp = sumExp;
  return rows;
}
