//===- MemoryPlan.cpp - Static buffer plan with lifetime-based reuse ------===//
//
// Plans the activation memory of every function at the tensor level: each
// tensor an op produces is a buffer alive from its definition to its last
// use (views such as slices and reshapes extend their source's lifetime
// instead of allocating); buffers get offsets in one arena by greedy
// first-fit over lifetimes, largest first. The plan's peak is the number
// that rematerialisation trades against recomputation: it is printed and
// attached to the function as `st.memory_peak` (bytes). Function arguments
// (parameters, data) are owned by the runtime and not counted.
//
//===----------------------------------------------------------------------===//

#include "st/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STMEMORYPLAN
#include "st/Transforms/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;

namespace {

struct Buffer {
  int64_t size = 0;
  int64_t start = 0, end = 0; // op indices, inclusive
  int64_t offset = -1;
};

bool isView(Operation *op) {
  return isa<tensor::ExtractSliceOp, tensor::ExpandShapeOp,
             tensor::CollapseShapeOp, tensor::CastOp>(op);
}

struct MemoryPlanPass
    : public mlir::st::impl::StMemoryPlanBase<MemoryPlanPass> {
  using StMemoryPlanBase::StMemoryPlanBase;

  void runOnOperation() override {
    for (func::FuncOp fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isExternal() || !fn.getBody().hasOneBlock())
        continue;
      if (failed(plan(fn)))
        return signalPassFailure();
    }
  }

  LogicalResult plan(func::FuncOp fn) {
    Block &block = fn.getBody().front();
    DenseMap<Operation *, int64_t> index;
    int64_t n = 0;
    for (Operation &op : block)
      index[&op] = n++;
    // The buffer each tensor value lives in (views share their source's).
    DenseMap<Value, int64_t> owner;
    SmallVector<Buffer> buffers;
    for (Operation &op : block) {
      for (Value r : op.getResults()) {
        auto type = dyn_cast<RankedTensorType>(r.getType());
        if (!type)
          continue;
        if (isView(&op) && owner.count(op.getOperand(0))) {
          owner[r] = owner[op.getOperand(0)];
          continue;
        }
        if (isView(&op))
          continue; // a view of an argument: runtime-owned
        int64_t elems = 1;
        for (int64_t d : type.getShape())
          elems *= ShapedType::isDynamic(d) ? batch : d;
        int64_t bits = type.getElementType().getIntOrFloatBitWidth();
        owner[r] = buffers.size();
        buffers.push_back({elems * ((bits + 7) / 8), index[&op], index[&op]});
      }
    }
    // Lifetimes end at the last use of any value living in the buffer.
    for (Operation &op : block)
      for (Value operand : op.getOperands()) {
        auto it = owner.find(operand);
        if (it != owner.end())
          buffers[it->second].end =
              std::max(buffers[it->second].end, index[&op]);
      }
    // Greedy first-fit, largest buffers first.
    SmallVector<int64_t> order(buffers.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    llvm::sort(order, [&](int64_t a, int64_t b) {
      return buffers[a].size != buffers[b].size
                 ? buffers[a].size > buffers[b].size
                 : a < b;
    });
    SmallVector<int64_t> placed;
    int64_t peak = 0, total = 0;
    for (int64_t i : order) {
      Buffer &buf = buffers[i];
      total += buf.size;
      // Intervals of memory taken by buffers alive at the same time.
      SmallVector<std::pair<int64_t, int64_t>> taken;
      for (int64_t j : placed) {
        const Buffer &o = buffers[j];
        if (o.start <= buf.end && buf.start <= o.end)
          taken.push_back({o.offset, o.offset + o.size});
      }
      llvm::sort(taken);
      int64_t offset = 0;
      for (auto [lo, hi] : taken) {
        if (offset + buf.size <= lo)
          break;
        offset = std::max(offset, hi);
      }
      buf.offset = offset;
      peak = std::max(peak, offset + buf.size);
      placed.push_back(i);
    }
    fn->setAttr("st.memory_peak",
                IntegerAttr::get(IntegerType::get(&getContext(), 64), peak));
    llvm::outs() << llvm::formatv(
        "st-memory-plan: @{0}: {1} buffers, peak {2} bytes, {3} bytes "
        "without reuse\n",
        fn.getName(), buffers.size(), peak, total);
    return success();
  }
};

} // namespace
