//===- StGradients.cpp - Gradient rules of the st ops ---------------------===//
//
// Each op's DifferentiableOpInterface::buildGradients: the adjoint of the op
// in terms of st backward ops (st.linear_grad, st.attention_grad, ...) or of
// forward ops (dropout's adjoint is the same mask; split and merge of heads
// are each other's adjoints). Upstream ops used by st models get their rules
// as external models.
//
//===----------------------------------------------------------------------===//

#include "st/Dialect/StDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::st;

#include "st/Dialect/StOpInterfaces.cpp.inc"

namespace {

/// A tensor of zeros shaped like `like` (dynamic dims read from it).
Value zerosLike(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// The gradient of result `i`, or zeros when none flows into it.
Value gradOrZeros(OpBuilder &b, Operation *op, ValueRange grads, unsigned i) {
  if (grads[i])
    return grads[i];
  return zerosLike(b, op->getLoc(), op->getResult(i));
}

void noGradients(Operation *op, SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(op->getNumOperands(), Value());
}

} // namespace

LogicalResult AttentionOp::buildGradients(OpBuilder &b, ValueRange grads,
                                          SmallVectorImpl<Value> &out) {
  noGradients(*this, out);
  if (!grads[0])
    return success();
  if (!getLse())
    return emitOpError() << "needs its log-sum-exp result to be "
                            "differentiated (st-autodiff adds it)";
  auto g = AttentionGradOp::create(
      b, getLoc(), getQuery().getType(), getKey().getType(),
      getValue().getType(), getQuery(), getKey(), getValue(), getResult(),
      getLse(), grads[0], getLayout(), b.getF64FloatAttr(getScaleValue()));
  out[0] = g.getDquery();
  out[1] = g.getDkey();
  out[2] = g.getDvalue();
  return success();
}

LogicalResult EmbedOp::buildGradients(OpBuilder &b, ValueRange grads,
                                      SmallVectorImpl<Value> &out) {
  noGradients(*this, out);
  out[1] = EmbedGradOp::create(b, getLoc(), getTable().getType(), getTokens(),
                               grads[0]);
  return success();
}

LogicalResult PosEmbedOp::buildGradients(OpBuilder &b, ValueRange grads,
                                         SmallVectorImpl<Value> &out) {
  noGradients(*this, out);
  out[0] = grads[0];
  SmallVector<Type> tableTypes;
  for (Value t : getTables())
    tableTypes.push_back(t.getType());
  auto g = PosEmbedGradOp::create(b, getLoc(), tableTypes, grads[0]);
  for (auto [i, dt] : llvm::enumerate(g.getDtables()))
    out[1 + i] = dt;
  return success();
}

LogicalResult LayerNormOp::buildGradients(OpBuilder &b, ValueRange grads,
                                          SmallVectorImpl<Value> &out) {
  noGradients(*this, out);
  auto g = LayerNormGradOp::create(b, getLoc(), getInput().getType(),
                                   getWeight().getType(), getBias().getType(),
                                   getInput(), getWeight(), grads[0],
                                   getEpsAttr());
  out[0] = g.getDx();
  out[1] = g.getDweight();
  out[2] = g.getDbias();
  return success();
}

LogicalResult LinearOp::buildGradients(OpBuilder &b, ValueRange grads,
                                       SmallVectorImpl<Value> &out) {
  noGradients(*this, out);
  auto resultType = cast<ShapedType>(getResult().getType());
  auto biasType = RankedTensorType::get(
      {resultType.getDimSize(resultType.getRank() - 1)}, b.getF32Type());
  auto g = LinearGradOp::create(b, getLoc(), getInput().getType(),
                                getWeight().getType(), biasType, getInput(),
                                getWeight(), grads[0]);
  out[0] = g.getDx();
  out[1] = g.getDweight();
  if (getBias())
    out[2] = g.getDbias();
  return success();
}

LogicalResult GeluOp::buildGradients(OpBuilder &b, ValueRange grads,
                                     SmallVectorImpl<Value> &out) {
  noGradients(*this, out);
  out[0] = GeluGradOp::create(b, getLoc(), getInput(), grads[0],
                              getApproximate());
  return success();
}

LogicalResult DropoutOp::buildGradients(OpBuilder &b, ValueRange grads,
                                        SmallVectorImpl<Value> &out) {
  // The same counter-based mask and scale: dropout is its own adjoint.
  noGradients(*this, out);
  out[0] = DropoutOp::create(b, getLoc(), grads[0].getType(), grads[0],
                             getRng(), getRateAttr(), getOpIdAttr());
  return success();
}

LogicalResult SplitHeadsOp::buildGradients(OpBuilder &b, ValueRange grads,
                                           SmallVectorImpl<Value> &out) {
  noGradients(*this, out);
  out[0] = MergeHeadsOp::create(b, getLoc(), getInput().getType(), grads[0]);
  return success();
}

LogicalResult MergeHeadsOp::buildGradients(OpBuilder &b, ValueRange grads,
                                           SmallVectorImpl<Value> &out) {
  noGradients(*this, out);
  out[0] = SplitHeadsOp::create(b, getLoc(), getInput().getType(), grads[0]);
  return success();
}

LogicalResult CrossEntropyOp::buildGradients(OpBuilder &b, ValueRange grads,
                                             SmallVectorImpl<Value> &out) {
  noGradients(*this, out);
  Value dnats = gradOrZeros(b, *this, grads, 0);
  Value dbits = gradOrZeros(b, *this, grads, 1);
  out[0] = CrossEntropyGradOp::create(b, getLoc(), getLogits().getType(),
                                      getLogits(), getTargets(), dnats, dbits);
  return success();
}

//===----------------------------------------------------------------------===//
// Upstream ops
//===----------------------------------------------------------------------===//

namespace {

struct AddFGradient
    : public DifferentiableOpInterface::ExternalModel<AddFGradient,
                                                      arith::AddFOp> {
  LogicalResult buildGradients(Operation *op, OpBuilder &b, ValueRange grads,
                               SmallVectorImpl<Value> &out) const {
    out.assign(2, grads[0]);
    return success();
  }
};

struct ExtractSliceGradient
    : public DifferentiableOpInterface::ExternalModel<ExtractSliceGradient,
                                                      tensor::ExtractSliceOp> {
  LogicalResult buildGradients(Operation *op, OpBuilder &b, ValueRange grads,
                               SmallVectorImpl<Value> &out) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    noGradients(op, out);
    if (slice.getSourceType().getRank() != slice.getResultType().getRank())
      return op->emitOpError() << "rank-reducing slices are not differentiable";
    Value zeros = zerosLike(b, op->getLoc(), slice.getSource());
    out[0] = tensor::InsertSliceOp::create(
        b, op->getLoc(), grads[0], zeros, slice.getMixedOffsets(),
        slice.getMixedSizes(), slice.getMixedStrides());
    return success();
  }
};

} // namespace

void mlir::st::registerGradientExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, arith::ArithDialect *) {
    arith::AddFOp::attachInterface<AddFGradient>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ExtractSliceOp::attachInterface<ExtractSliceGradient>(*ctx);
  });
}
