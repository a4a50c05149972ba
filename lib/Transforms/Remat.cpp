//===- Remat.cpp - Recompute instead of keep, in gradient functions -------===//
//
// In a `<m>_grad` function the backward code follows all forward code, so
// every activation the backward reads stays alive across the whole forward
// pass. Rematerialisation clones the forward ops that produce such an
// activation right before its first backward use, so the original dies at
// its last forward use and the copy lives only briefly.
//
// Policies:
//  - `none`: keep everything.
//  - `paper`: keep only block inputs -- the residual stream (the arith.addf
//    results and the embedding output) and the model's inputs; recompute
//    attention and feed-forward blocks from them (Child et al. 2019,
//    "Memory and speed"). Dropout is counter-based, so a recomputed mask is
//    the same mask.
//  - `budget=<bytes>`: like `paper`, but keeps the largest recomputable
//    activations whose total fits in the budget (the cheapest memory to keep
//    per recomputation avoided is the largest tensors' work; a simple greedy
//    rule, documented as such).
//
//===----------------------------------------------------------------------===//

#include "st/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STREMAT
#include "st/Transforms/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;

namespace {

int64_t bytesOf(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type)
    return 0;
  int64_t elems = 1;
  for (int64_t d : type.getShape())
    elems *= ShapedType::isDynamic(d) ? 1 : d;
  return elems * ((type.getElementType().getIntOrFloatBitWidth() + 7) / 8);
}

class Rematerializer {
public:
  Rematerializer(func::FuncOp fn, int64_t budget) : fn(fn), budget(budget) {}

  void run() {
    Block &block = fn.getBody().front();
    // The forward region ends at the loss (st.cross_entropy); everything
    // after it is backward code.
    Operation *boundary = nullptr;
    for (Operation &op : block)
      if (isa<CrossEntropyOp>(op))
        boundary = &op;
    if (!boundary)
      return;
    for (Operation *op = &block.front(); op != boundary->getNextNode();
         op = op->getNextNode())
      forward.insert(op);

    // Which forward values the backward reads, and which of them to keep.
    SmallVector<Value> read;
    for (Operation *op = boundary->getNextNode(); op; op = op->getNextNode())
      for (Value v : op->getOperands())
        if (Operation *def = v.getDefiningOp();
            def && forward.contains(def) && !isKept(v) &&
            !llvm::is_contained(read, v))
          read.push_back(v);
    if (budget > 0) {
      // Largest first; ties keep program order.
      SmallVector<size_t> bySize(read.size());
      for (size_t i = 0; i < read.size(); ++i)
        bySize[i] = i;
      llvm::sort(bySize, [&](size_t a, size_t b) {
        int64_t sa = bytesOf(read[a]), sb = bytesOf(read[b]);
        return sa != sb ? sa > sb : a < b;
      });
      int64_t used = 0;
      for (Value v : llvm::map_range(bySize, [&](size_t i) { return read[i]; }))
        if (used + bytesOf(v) <= budget) {
          used += bytesOf(v);
          keptByBudget.insert(v);
        }
    }
    // Rewire each backward use to a clone made just before it (one clone
    // per value, placed before its first backward use).
    for (Operation *op = boundary->getNextNode(); op; op = op->getNextNode()) {
      for (OpOperand &use : op->getOpOperands()) {
        Value v = use.get();
        Operation *def = v.getDefiningOp();
        if (!def || !forward.contains(def) || isKept(v))
          continue;
        OpBuilder b(op);
        use.set(recompute(b, v));
      }
    }
  }

private:
  /// Values the backward may read directly: block inputs and cheap leaves.
  bool isKept(Value v) {
    if (keptByBudget.contains(v))
      return true;
    Operation *def = v.getDefiningOp();
    if (!def)
      return true;
    return isa<arith::AddFOp, PosEmbedOp, EmbedOp, LoadParamOp,
               arith::ConstantOp, tensor::DimOp, CrossEntropyOp>(def) ||
           !isa<RankedTensorType>(v.getType());
  }

  Value recompute(OpBuilder &b, Value v) {
    if (Value c = clones.lookupOrNull(v))
      return c;
    Operation *def = v.getDefiningOp();
    if (!def || !forward.contains(def) || isKept(v))
      return v;
    for (Value operand : def->getOperands())
      recompute(b, operand);
    Operation *copy = b.clone(*def, clones);
    for (auto [orig, now] : llvm::zip(def->getResults(), copy->getResults()))
      clones.map(orig, now);
    return clones.lookup(v);
  }

  func::FuncOp fn;
  int64_t budget;
  llvm::SmallPtrSet<Operation *, 32> forward;
  DenseSet<Value> keptByBudget;
  IRMapping clones;
};

struct RematPass : public mlir::st::impl::StRematBase<RematPass> {
  using StRematBase::StRematBase;

  void runOnOperation() override {
    int64_t budget = 0;
    StringRef p = policy;
    if (p == "none")
      return;
    if (p.consume_front("budget=")) {
      if (p.getAsInteger(10, budget) || budget < 0) {
        getOperation().emitError()
            << "remat budget must be a byte count, got '" << p << "'";
        return signalPassFailure();
      }
    } else if (p != "paper") {
      getOperation().emitError()
          << "unknown remat policy '" << policy
          << "' (expected none, paper or budget=<bytes>)";
      return signalPassFailure();
    }
    for (func::FuncOp fn : getOperation().getOps<func::FuncOp>())
      if (fn.getName().ends_with("_grad") && !fn.isExternal())
        Rematerializer(fn, budget).run();
  }
};

} // namespace
