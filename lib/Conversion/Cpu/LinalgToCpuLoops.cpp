//===- LinalgToCpuLoops.cpp - Linalg ops to parallel and sequential loops -===//
//
// convert-linalg-to-loops makes every linalg op a sequential loop nest, so on
// a multi-core CPU everything outside the attention kernels (layer norms,
// GELU, residual adds, the loss, the optimizer) ran on one core. Here a
// linalg op that is not inside another loop gets its leading parallel
// dimensions as one scf.parallel, which convert-scf-to-openmp turns into an
// OpenMP work-sharing loop, and the rest of its dimensions as sequential
// loops:
//
//   [parallel, parallel, parallel] -> scf.parallel (d0, d1) { scf.for d2 }
//   [parallel, reduction]          -> scf.parallel (d0) { scf.for d1 }
//   [reduction, parallel]          -> scf.for d0 { scf.for d1 }
//
// The innermost dimension stays sequential so that LLVM vectorises it.
// Reduction dimensions are never split, so every output element is still
// produced by one thread in the original order: results do not depend on
// the number of threads.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STLINALGTOCPULOOPS
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;

namespace {

/// Moves the body of `par` (whose terminator is an empty scf.reduce) before
/// `dest`, with its induction variables replaced by `ivs`.
void inlineParallelBody(RewriterBase &rewriter, scf::ParallelOp par,
                        Operation *dest, ValueRange ivs) {
  Block *body = par.getBody();
  Operation *reduce = body->getTerminator();
  rewriter.inlineBlockBefore(body, dest, ivs);
  rewriter.eraseOp(reduce);
  rewriter.eraseOp(par);
}

/// Replaces `par` by a nest of scf.for loops over the same space.
void makeSequential(RewriterBase &rewriter, scf::ParallelOp par) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(par);
  SmallVector<Value> ivs;
  Operation *innermostYield = nullptr;
  for (auto [lb, ub, step] : llvm::zip(par.getLowerBound(),
                                       par.getUpperBound(), par.getStep())) {
    auto loop = scf::ForOp::create(rewriter, par.getLoc(), lb, ub, step);
    ivs.push_back(loop.getInductionVar());
    innermostYield = loop.getBody()->getTerminator();
    rewriter.setInsertionPoint(innermostYield);
  }
  inlineParallelBody(rewriter, par, innermostYield, ivs);
}

/// Splits the last dimension of a multi-dimensional `par` off into a
/// sequential scf.for inside it.
void makeInnermostSequential(RewriterBase &rewriter, scf::ParallelOp par) {
  unsigned n = par.getNumLoops();
  if (n < 2)
    return;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(par);
  Location loc = par.getLoc();
  auto outer = scf::ParallelOp::create(
      rewriter, loc, par.getLowerBound().drop_back(),
      par.getUpperBound().drop_back(), par.getStep().drop_back());
  rewriter.setInsertionPointToStart(outer.getBody());
  auto inner =
      scf::ForOp::create(rewriter, loc, par.getLowerBound().back(),
                         par.getUpperBound().back(), par.getStep().back());
  SmallVector<Value> ivs(outer.getInductionVars());
  ivs.push_back(inner.getInductionVar());
  inlineParallelBody(rewriter, par, inner.getBody()->getTerminator(), ivs);
}

struct LinalgToCpuLoopsPass
    : public mlir::st::impl::StLinalgToCpuLoopsBase<LinalgToCpuLoopsPass> {
  using StLinalgToCpuLoopsBase::StLinalgToCpuLoopsBase;

  /// Whether `op` gets a parallel outer loop.
  bool worthParallel(linalg::LinalgOp op) const {
    if (op->getParentOfType<LoopLikeOpInterface>())
      return false;
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    if (iterators.empty() || iterators.front() != utils::IteratorType::parallel)
      return false;
    int64_t points = 1;
    for (int64_t size : op.getStaticLoopRanges())
      if (!ShapedType::isDynamic(size))
        points *= size;
    return points >= minParallelWork;
  }

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (op.hasPureBufferSemantics())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      rewriter.setInsertionPoint(op);
      bool parallel = worthParallel(op);
      FailureOr<linalg::LinalgLoops> loops =
          parallel ? linalg::linalgOpToParallelLoops(rewriter, op)
                   : linalg::linalgOpToLoops(rewriter, op);
      if (failed(loops)) {
        op.emitOpError() << "could not be lowered to loops";
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
      if (!parallel)
        continue;
      // The first loop is the parallel prefix; parallel dimensions after a
      // reduction would open a parallel region per reduction step.
      SetVector<scf::ParallelOp> pars;
      for (Operation *loop : *loops)
        if (auto par = dyn_cast<scf::ParallelOp>(loop))
          pars.insert(par);
      if (pars.empty())
        continue;
      scf::ParallelOp outer = pars.front();
      for (scf::ParallelOp par : llvm::drop_begin(pars))
        makeSequential(rewriter, par);
      bool hasInnerLoop = false;
      outer.getBody()->walk([&](LoopLikeOpInterface) { hasInnerLoop = true; });
      if (!hasInnerLoop)
        makeInnermostSequential(rewriter, outer);
    }
    // The loop bodies index through identity affine.apply ops; fold them as
    // convert-linalg-to-loops does.
    RewritePatternSet patterns(&getContext());
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, &getContext());
    (void)applyPatternsGreedily(getOperation(), std::move(patterns));
  }
};

} // namespace
