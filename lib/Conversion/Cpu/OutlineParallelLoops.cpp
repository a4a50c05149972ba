//===- OutlineParallelLoops.cpp - Parallel loops as calls -----------------===//
//
// st-outline-parallel-loops (Passes.td): keeps the function that LLVM's
// OpenMP translation extracts each parallel region from small.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STOUTLINEPARALLELLOOPS
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;

namespace {
struct OutlineParallelLoopsPass
    : public mlir::st::impl::StOutlineParallelLoopsBase<
          OutlineParallelLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    IRRewriter rewriter(&getContext());
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal())
        continue;
      SmallVector<scf::ParallelOp> loops;
      func.walk([&](scf::ParallelOp loop) {
        if (!loop->getParentOfType<scf::ParallelOp>())
          loops.push_back(loop);
      });
      for (auto [i, loop] : llvm::enumerate(loops)) {
        // The loop alone in a single-block region, which
        // outlineSingleBlockRegion turns into a call of a new function.
        rewriter.setInsertionPoint(loop);
        auto region =
            scf::ExecuteRegionOp::create(rewriter, loop.getLoc(), TypeRange());
        Block *body = rewriter.createBlock(&region.getRegion());
        rewriter.setInsertionPointToStart(body);
        auto yield = scf::YieldOp::create(rewriter, loop.getLoc());
        rewriter.moveOpBefore(loop, yield);
        std::string name = (func.getName() + "_parallel_" + Twine(i)).str();
        func::CallOp call;
        FailureOr<func::FuncOp> outlined = outlineSingleBlockRegion(
            rewriter, loop.getLoc(), region.getRegion(), name, &call);
        if (failed(outlined)) {
          region.emitOpError("could not outline this parallel loop");
          return signalPassFailure();
        }
        outlined->setPrivate();
        // A unique name even if the module already had this one.
        symbols.insert(*outlined);
        call.setCallee(outlined->getName());
        // The region now holds only the call (and its yield).
        rewriter.moveOpBefore(call, region);
        rewriter.eraseOp(region);
      }
    }
  }
};
} // namespace
