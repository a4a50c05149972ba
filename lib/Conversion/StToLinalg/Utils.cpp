//===- Utils.cpp - IR-building helpers of the st-to-linalg lowering -------===//

#include "Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::st;
using namespace mlir::st::lowering;

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

Value lowering::clampedIndex(OpBuilder &b, Location loc, Value i32Index,
                             Value maxIndex) {
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), i32Index);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value atLeastZero = arith::MaxSIOp::create(b, loc, index, zero);
  return arith::MinSIOp::create(b, loc, atLeastZero, maxIndex);
}
