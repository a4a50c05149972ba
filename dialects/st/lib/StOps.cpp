//===- StOps.cpp - Operations of the st dialect ---------------------------===//

#include "st/Dialect/StDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace mlir::st;

#define GET_OP_CLASSES
#include "st/Dialect/StOps.cpp.inc"

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

double AttentionOp::getScaleValue() {
  if (std::optional<llvm::APFloat> s = getScale())
    return s->convertToDouble();
  return 1.0 / std::sqrt(double(getHeadDim()));
}

LogicalResult AttentionOp::verify() {
  auto qType = getQuery().getType();
  if (qType.getRank() != 4)
    return emitOpError() << "expects tensors of rank 4 (batch, heads, length, "
                            "head_dim), got "
                         << qType;
  auto names = {"key", "value", "result"};
  auto types = {getKey().getType(), getValue().getType(),
                cast<RankedTensorType>(getResult().getType())};
  auto name = names.begin();
  for (RankedTensorType t : types) {
    if (t.getElementType() != qType.getElementType())
      return emitOpError() << *name << " element type " << t.getElementType()
                           << " differs from the query's "
                           << qType.getElementType();
    if (failed(verifyCompatibleShape(t.getShape(), qType.getShape())))
      return emitOpError() << *name << " shape " << t << " differs from the query's "
                           << qType;
    ++name;
  }
  if (std::optional<llvm::APFloat> s = getScale();
      s && !(s->convertToDouble() > 0.0))
    return emitOpError() << "scale must be positive, got "
                         << s->convertToDouble();
  int64_t n = getSeqLen();
  if (ShapedType::isDynamic(n))
    return success();
  return getLayout().verifyForLength(n, [&] { return emitOpError(); });
}
