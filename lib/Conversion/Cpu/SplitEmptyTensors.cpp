//===- SplitEmptyTensors.cpp - One tensor.empty for each use --------------===//
//
// st-split-empty-tensors (Passes.td): undoes CSE's merging of tensor.empty
// ops before One-Shot Bufferize, whose conflict analysis is superlinear in
// the size of an alias set.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STSPLITEMPTYTENSORS
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;

namespace {
struct SplitEmptyTensorsPass
    : public mlir::st::impl::StSplitEmptyTensorsBase<SplitEmptyTensorsPass> {
  void runOnOperation() override {
    SmallVector<tensor::EmptyOp> empties;
    getOperation()->walk([&](tensor::EmptyOp op) { empties.push_back(op); });
    for (tensor::EmptyOp op : empties) {
      // The first use keeps the original; every other one gets a clone
      // placed right after it, where its operands (the dynamic sizes) are
      // available and which dominates the use.
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : op->getUses())
        uses.push_back(&use);
      if (uses.size() < 2)
        continue;
      OpBuilder b(op->getContext());
      b.setInsertionPointAfter(op);
      for (OpOperand *use : llvm::drop_begin(uses))
        use->set(b.clone(*op)->getResult(0));
    }
  }
};
} // namespace
