//===- StToLinalg.cpp - The --convert-st-to-linalg pass -------------------===//
//
// Rewrites the st model ops other than attention, and their backward ops,
// into tensor-level linalg, tensor, scf, arith and math ops, ready for
// one-shot bufferization. Element-wise arith ops on tensors (the residual
// adds) are left for upstream's --convert-elementwise-to-linalg, which the
// CPU and GPU pipelines run right after this pass; st.attention,
// st.attention_grad and the lowered forms of attention have their own
// lowering.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "st/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_CONVERTSTTOLINALG
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;

namespace {

/// Diagnoses the forms the op verifiers accept but the lowering cannot
/// express: element-wise ops on unranked tensors, a head split whose head
/// count and head size are both unknown, and malformed backward ops.
LogicalResult checkLowerable(Operation *op) {
  auto ranked = [&](Value v) -> LogicalResult {
    if (isa<RankedTensorType>(v.getType()))
      return success();
    return op->emitOpError() << "cannot be lowered to linalg: operand type "
                             << v.getType() << " is unranked";
  };
  if (auto gelu = dyn_cast<GeluOp>(op))
    return ranked(gelu.getInput());
  if (auto dropout = dyn_cast<DropoutOp>(op))
    return ranked(dropout.getInput());
  if (auto split = dyn_cast<SplitHeadsOp>(op)) {
    auto type = cast<ShapedType>(split.getType());
    if (type.isDynamicDim(1) && type.isDynamicDim(3))
      return op->emitOpError()
             << "cannot be lowered to linalg: result " << type
             << " leaves both the head count and the head size dynamic";
  }
  return checkGradOpLowerable(op);
}

struct ConvertStToLinalgPass
    : public mlir::st::impl::ConvertStToLinalgBase<ConvertStToLinalgPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool lowerable = true;
    module.walk([&](Operation *op) {
      if (failed(checkLowerable(op)))
        lowerable = false;
    });
    if (!lowerable)
      return signalPassFailure();

    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalOp<EmbedOp, PosEmbedOp, LayerNormOp, LinearOp, GeluOp,
                        DropoutOp, SplitHeadsOp, MergeHeadsOp, CrossEntropyOp,
                        EmbedGradOp, PosEmbedGradOp, LayerNormGradOp,
                        LinearGradOp, GeluGradOp, CrossEntropyGradOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    populateStModelOpLoweringPatterns(patterns);
    populateStDropoutLoweringPatterns(patterns);
    populateStGradOpLoweringPatterns(patterns);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
