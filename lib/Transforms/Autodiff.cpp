//===- Autodiff.cpp - Reverse-mode differentiation of st functions --------===//
//
// For every training loss function `@m_loss(params..., tokens, targets,
// rng) -> (nats, bits)`, builds `@m_grad` with the same arguments returning
// (nats, bits, d nats / d p for every st.param p in declaration order).
// The forward ops are cloned, then walked in reverse; each op builds the
// gradients of its operands from those of its results through its
// DifferentiableOpInterface (each op owns its rule). Gradients reaching a
// value from several uses are summed. Attention ops are given their
// log-sum-exp result so that the backward pass recomputes probabilities
// from it instead of storing them.
//
//===----------------------------------------------------------------------===//

#include "st/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STAUTODIFF
#include "st/Transforms/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;

namespace {

bool isFloatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}

Value zerosOf(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

class Differentiator {
public:
  Differentiator(ModuleOp module, func::FuncOp loss, StringRef gradName)
      : module(module), loss(loss), gradName(gradName.str()) {}

  LogicalResult run() {
    OpBuilder mb(loss);
    mb.setInsertionPointAfter(loss);
    SmallVector<ParamOp> params(module.getOps<ParamOp>());

    // @m_grad: the forward function's body, with more results.
    auto lossType = loss.getFunctionType();
    if (lossType.getNumResults() < 1 ||
        lossType.getResult(0) != RankedTensorType::get({}, mb.getF32Type()))
      return loss.emitOpError()
             << "must return the scalar loss (tensor<f32>) first";
    SmallVector<Type> results(lossType.getResults());
    for (ParamOp p : params)
      results.push_back(p.getTensorType());
    auto fn = func::FuncOp::create(
        mb, loss.getLoc(), gradName,
        FunctionType::get(loss.getContext(), lossType.getInputs(), results));
    IRMapping mapping;
    loss.getBody().cloneInto(&fn.getBody(), mapping);
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());

    if (failed(addAttentionLse(fn)))
      return failure();

    // Seed: d loss / d loss = 1.
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    Value one = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                               b.getF32FloatAttr(1.0f).getValue()));
    accumulate(b, ret.getOperand(0), one);

    // Reverse walk over the forward ops (the backward code is appended
    // before the return, after all forward ops).
    SmallVector<Operation *> forward;
    for (Operation &op : fn.getBody().front().without_terminator())
      forward.push_back(&op);
    for (Operation *op : llvm::reverse(forward)) {
      SmallVector<Value> resultGrads;
      bool any = false;
      for (Value r : op->getResults()) {
        resultGrads.push_back(grads.lookup(r));
        any |= bool(resultGrads.back());
      }
      if (!any)
        continue;
      if (auto load = dyn_cast<LoadParamOp>(op)) {
        paramGrads[load.getName()] = grads.lookup(load.getResult());
        continue;
      }
      auto diff = dyn_cast<DifferentiableOpInterface>(op);
      if (!diff)
        return op->emitOpError()
               << "has no gradient rule (DifferentiableOpInterface) but a "
                  "gradient flows through it";
      SmallVector<Value> operandGrads;
      if (failed(diff.buildGradients(b, resultGrads, operandGrads)))
        return failure();
      for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
        if (g && isFloatTensor(operand))
          accumulate(b, operand, g);
    }

    SmallVector<Value> outs(ret.getOperands());
    for (ParamOp p : params) {
      Value g = paramGrads.lookup(p.getSymName());
      if (!g) {
        // A parameter the loss does not depend on: zero gradient.
        Value like = LoadParamOp::create(
            b, loc, p.getTensorType(),
            FlatSymbolRefAttr::get(b.getContext(), p.getSymName()));
        g = zerosOf(b, loc, like);
      }
      outs.push_back(g);
    }
    func::ReturnOp::create(b, loc, outs);
    ret.erase();
    return success();
  }

private:
  void accumulate(OpBuilder &b, Value v, Value g) {
    Value &slot = grads[v];
    slot = slot ? arith::AddFOp::create(b, v.getLoc(), slot, g).getResult()
                : g;
  }

  /// Gives every st.attention its log-sum-exp result (the backward pass
  /// needs it), replacing the op in place.
  LogicalResult addAttentionLse(func::FuncOp fn) {
    SmallVector<AttentionOp> ops;
    fn.walk([&](AttentionOp op) {
      if (!op.getLse())
        ops.push_back(op);
    });
    for (AttentionOp op : ops) {
      OpBuilder b(op);
      auto qType = op.getQuery().getType();
      auto lseType = RankedTensorType::get(qType.getShape().take_front(3),
                                           b.getF32Type());
      auto withLse = AttentionOp::create(
          b, op.getLoc(), op.getResult().getType(), lseType, op.getQuery(),
          op.getKey(), op.getValue(), op.getLayout(), op.getScaleAttr());
      op.getResult().replaceAllUsesWith(withLse.getResult());
      op.erase();
    }
    return success();
  }

  ModuleOp module;
  func::FuncOp loss;
  std::string gradName;
  DenseMap<Value, Value> grads;
  llvm::StringMap<Value> paramGrads;
};

struct AutodiffPass : public mlir::st::impl::StAutodiffBase<AutodiffPass> {
  using StAutodiffBase::StAutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> losses;
    for (func::FuncOp fn : module.getOps<func::FuncOp>())
      if (fn.getName().ends_with(suffix) && !fn.isExternal())
        losses.push_back(fn);
    for (func::FuncOp loss : losses) {
      std::string name =
          loss.getName().drop_back(suffix.size()).str() + "_grad";
      if (module.lookupSymbol(name)) {
        loss.emitOpError() << "cannot create '" << name
                           << "': the symbol exists";
        return signalPassFailure();
      }
      if (failed(Differentiator(module, loss, name).run()))
        return signalPassFailure();
    }
  }
};

} // namespace
