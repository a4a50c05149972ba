//===- AttentionToGpu.cpp - Block-sparse attention kernels for NVIDIA GPUs ===//
//
// Lowers every `st.attention` of a module to a kernel library: a
// `gpu.module` of tensor-core kernels (forward; the backward's dQ, the
// first also computing delta, and dK/dV) plus the launch schedule that the
// runtime follows (docs/gpu-kernel-abi.md), recorded as the module
// attribute `st.gpu_manifest`.
//
// The schedule is the pattern's structure, as on the CPU (the same
// disjoint parts and the same PartStructure interval math): each part is
// walked in its view (Views.h), so query and key tiles are dense and no
// empty tile is visited; only the tiles on a part's boundary are masked.
// Sequence length, batch and heads are run-time kernel arguments.
//
// Inside a kernel: a thread block of 4 warps owns 64 view rows (16 per
// warp); each warp keeps its Q fragments in registers and walks 64-key
// tiles with `mma.sync.m16n8k16` (bf16 or f16 operands, f32 accumulators;
// at the head dims of `wgmma-head-dims` the four warps are one warpgroup
// and the products are Hopper's `wgmma.mma_async`, Wgmma.h), an online
// softmax in registers (row statistics reduced across the four lanes of a
// row with shuffles) and the FlashAttention-2 register reuse of the score
// accumulators as the A operand of P.V. The backward recomputes P from the
// forward's log-sum-exp: dQ per query tile, dK/dV per key tile over the
// transposed structure (PartStructure's column intervals), so no atomics
// are needed.
//
// This file holds the pass; the kernels and launch schedule of one
// attention are built by EntrySchedule (Schedule.h; the schedule's
// expressions: Manifest.h), the kernels themselves in ForwardKernel.cpp,
// BackwardKernels.cpp and BandBackward.cpp, their building blocks in
// KernelEmitter.h and Walks.h.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"
#include "st/Dialect/StDialect.h"

#include "Schedule.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_CONVERTSTATTENTIONTOGPU
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;
using namespace mlir::st::gpu_kernels;
namespace json = llvm::json;

namespace {

struct ConvertStAttentionToGpuPass
    : public mlir::st::impl::ConvertStAttentionToGpuBase<
          ConvertStAttentionToGpuPass> {
  using Base::Base;

  /// The pass's options as the struct that EntrySchedule reads.
  ConvertStAttentionToGpuOptions options() const {
    ConvertStAttentionToGpuOptions o;
    o.prefix = prefix;
    o.wgmmaHeadDims.assign(wgmmaHeadDims.begin(), wgmmaHeadDims.end());
    o.wgmmaKeyTile = wgmmaKeyTile;
    o.forwardWarpgroups = forwardWarpgroups;
    o.forwardProducer = forwardProducer;
    o.splitForwardMinN = splitForwardMinN;
    o.dqProducer = dqProducer;
    o.dkvProducer = dkvProducer;
    o.dqOwnBlockDkv = dqOwnBlockDkv;
    o.pipelinedDq = pipelinedDq;
    o.forwardPingPong = forwardPingPong;
    o.pipelinedForward = pipelinedForward;
    o.classStats = classStats;
    o.walkStart = walkStart;
    o.serpentineHeads = serpentineHeads;
    o.headGroups = headGroups;
    o.dependentLaunch = dependentLaunch;
    o.spanForward = spanForward;
    o.spanDq = spanDq;
    o.spanDkv = spanDkv;
    o.mixedDkv = mixedDkv;
    o.wholeSummaryKeys = wholeSummaryKeys;
    o.bandBackward = bandBackward;
    o.discardChain = discardChain;
    o.pairedBackward = pairedBackward;
    return o;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<AttentionOp> ops;
    module.walk([&](AttentionOp op) { ops.push_back(op); });
    // A whole model holds its attention inside st.transformer until it is
    // expanded: say so rather than write an empty library without a word.
    module.walk([&](TransformerOp t) {
      t.emitWarning() << "st.transformer @" << t.getSymName()
                      << " has no st.attention until --st-expand-model; the "
                         "kernel library has no entry for its layers";
    });
    json::Array entries;
    ConvertStAttentionToGpuOptions opts = options();
    llvm::StringMap<int64_t> perFunction;
    for (AttentionOp op : ops)
      if (auto func = op->getParentOfType<FunctionOpInterface>())
        ++perFunction[func.getName()];
    llvm::StringMap<int64_t> seen;
    for (auto [i, op] : llvm::enumerate(ops)) {
      std::string name = prefix + std::to_string(i);
      if (auto func = op->getParentOfType<FunctionOpInterface>()) {
        name = (prefix + func.getName()).str();
        int64_t index = seen[func.getName()]++;
        if (perFunction[func.getName()] > 1)
          name += "_" + std::to_string(index);
      }
      if (failed(EntrySchedule(opts, op, name).lower(entries)))
        return signalPassFailure();
    }
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    std::string text;
    llvm::raw_string_ostream os(text);
    os << json::Value(std::move(entries));
    module->setAttr("st.gpu_manifest", StringAttr::get(&getContext(), text));
  }
};

} // namespace
