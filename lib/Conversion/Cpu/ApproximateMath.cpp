//===- ApproximateMath.cpp - exp and erf as inline polynomials ------------===//
//
// libm's expf and erff are opaque calls: one per element, and a loop that
// contains one is not vectorised. The softmax of the attention kernels and
// the loss, and GELU with its gradient, call them for every element, so
// they are rewritten with MLIR's polynomial approximations, which are plain
// (vectorisable) arithmetic.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STAPPROXIMATEMATH
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;

namespace {

struct ApproximateMathPass
    : public mlir::st::impl::StApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          return name == math::ExpOp::getOperationName() ||
                 name == math::ErfOp::getOperationName();
        });
    // Only f32 is approximated (the patterns leave f64 alone; f16 erf is
    // excluded here so that the documented accuracy is the only one).
    FrozenRewritePatternSet frozen(std::move(patterns));
    SmallVector<Operation *> targets;
    getOperation()->walk([&](Operation *op) {
      if (isa<math::ExpOp, math::ErfOp>(op) &&
          getElementTypeOrSelf(op->getResult(0).getType()).isF32())
        targets.push_back(op);
    });
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    (void)applyOpPatternsGreedily(targets, frozen, config);
  }
};

} // namespace
