//===- GpuPipeline.h - st.attention to a GPU kernel library -----*- C++ -*-===//
//
// `st-gpu-kernels`: attention to tensor-core kernels, NVVM, PTX and the
// kernel library on disk (GpuPipeline.cpp).
//
// Most of its options are --convert-st-attention-to-gpu's, passed through
// unchanged. They are listed once, in ST_GPU_LOWERING_OPTIONS, which both
// declares them here and copies them into the pass's options in
// GpuPipeline.cpp; their defaults are the pass's own (Passes.td), so the
// pipeline and the pass cannot disagree on one.
//
//===----------------------------------------------------------------------===//

#ifndef ST_PIPELINES_GPUPIPELINE_H
#define ST_PIPELINES_GPUPIPELINE_H

#include "st/Conversion/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

/// X(type, member, flag, description) for each option of the pass that the
/// pipeline passes through unchanged. (wgmma-head-dims depends on the chip
/// and dependent-launch on its version: GpuPipeline.cpp sets those.)
#define ST_GPU_LOWERING_OPTIONS(X)                                             \
  X(std::string, prefix, "prefix", "Prefix of the kernel modules")             \
  X(int64_t, wgmmaKeyTile, "wgmma-key-tile",                                   \
    "Keys per staged tile of the warpgroup-MMA kernels (64 or 128, where "     \
    "registers and shared memory allow)")                                      \
  X(int64_t, forwardWarpgroups, "forward-warpgroups",                          \
    "Warpgroups a block of the warpgroup-MMA forward kernels (1 or 2)")        \
  X(int64_t, forwardProducer, "forward-producer",                              \
    "Forward kernels with a producer warpgroup and two consumer "              \
    "warpgroups: 0 never, 1 where it pays, 2 always")                          \
  X(int64_t, splitForwardMinN, "split-forward-min-n",                          \
    "With forward-producer=1: below this sequence length the forward runs "    \
    "its kernel without the split (0: the split at every length)")             \
  X(int64_t, dqProducer, "dq-producer",                                        \
    "dQ kernels with a producer warpgroup and two consumer warpgroups: 0 "     \
    "never, 1 where it pays, 2 always")                                        \
  X(int64_t, dkvProducer, "dkv-producer",                                      \
    "dK/dV kernels with a producer warpgroup and two consumer warpgroups: "    \
    "0 never, 1 where it pays, 2 always")                                      \
  X(bool, dqOwnBlockDkv, "dq-own-block-dkv",                                   \
    "The split dQ kernel also computes the dK/dV of the blocks inside its "    \
    "rows (fixed's own block)")                                                \
  X(bool, pipelinedDq, "pipelined-dq",                                         \
    "Where dQ has the producer split: its consumers overlap a tile's "         \
    "update with the next tile's scores")                                      \
  X(bool, forwardPingPong, "forward-ping-pong",                                \
    "With forward-producer and pipelined-forward: the consumer warpgroups "    \
    "take turns at issuing products")                                          \
  X(bool, pipelinedForward, "pipelined-forward",                               \
    "The warpgroup-MMA forward kernels overlap a tile's softmax with the "     \
    "previous tile's update")                                                  \
  X(bool, classStats, "class-stats",                                           \
    "Class-major copies of lse2 and delta for the dK/dV kernels over a "       \
    "residue view")                                                            \
  X(bool, walkStart, "walk-start",                                             \
    "A walk's first copies start before the loads of its initial state")       \
  X(bool, serpentineHeads, "serpentine-heads",                                 \
    "The kernels of a chain alternate the order of their (batch, head) "       \
    "pairs (L2 reuse between them)")                                           \
  X(bool, headGroups, "head-groups",                                           \
    "Blocks take their tiles tile-major within groups of heads that fill "     \
    "the GPU (long walks first across heads)")                                 \
  X(int64_t, spanForward, "span-forward",                                      \
    "0, or the lag in spans of the span-ordered forward: a band and a "        \
    "column kernel as one kernel of tiles taken by ticket")                    \
  X(int64_t, spanDq, "span-dq",                                                \
    "0, or the lag in spans of the span-ordered dQ kernel")                    \
  X(int64_t, spanDkv, "span-dkv",                                              \
    "0, or the lag in spans of the span-ordered dK/dV kernel")                 \
  X(bool, mixedDkv, "mixed-dkv",                                               \
    "Fixed's own-block and summary dK/dV as one kernel of tiles taken by "     \
    "ticket, mixed in each head")                                              \
  X(bool, wholeSummaryKeys, "whole-summary-keys",                              \
    "Fixed's summary dK/dV kernel takes the summary keys' whole columns, "     \
    "the own-block kernel leaves them out: no chain, two streams")             \
  X(bool, pairedBackward, "paired-backward",                                   \
    "The column part's dQ and dK/dV as one kernel whose blocks alternate "     \
    "the two kinds of tile of a class")                                        \
  X(bool, discardChain, "discard-chain",                                       \
    "With span-forward, span-dq or span-dkv: the chain's L2 lines are "        \
    "discarded once read")                                                     \
  X(int64_t, bandBackward, "band-backward",                                    \
    "0, or the key tiles a block of the fused band backward (one kernel "      \
    "for a band part's dQ and dK/dV)")

namespace mlir {
namespace st {

struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> dir{
      *this, "dir",
      llvm::cl::desc("Write the kernel library (PTX + manifest.json) here; "
                     "empty: stop at the NVVM/LLVM dialect"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> chip{*this, "chip",
                                        llvm::cl::desc("GPU architecture"),
                                        llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{*this, "features",
                                            llvm::cl::desc("PTX features"),
                                            llvm::cl::init("+ptx80")};
  PassOptions::Option<std::string> libdevice{
      *this, "libdevice", llvm::cl::desc("libdevice bitcode to link"),
      llvm::cl::init("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc")};
  PassOptions::ListOption<int64_t> wgmmaHeadDims{
      *this, "wgmma-head-dims",
      llvm::cl::desc("With chip=sm_90a: the head dims whose kernels use "
                     "warpgroup MMA (default 64,128; chip=sm_90 uses "
                     "mma.sync everywhere; docs/gpu.md)")};
#define ST_DECLARE_OPTION(type, member, flag, description)                     \
  PassOptions::Option<type> member{                                            \
      *this, flag, llvm::cl::desc(description),                                \
      llvm::cl::init(ConvertStAttentionToGpuOptions().member)};
  ST_GPU_LOWERING_OPTIONS(ST_DECLARE_OPTION)
#undef ST_DECLARE_OPTION
};

/// st.attention -> GPU kernels -> NVVM (-> PTX and a kernel library on disk
/// when `dir` is set).
void buildGpuKernelsPipeline(OpPassManager &pm,
                             const GpuPipelineOptions &options);

/// Registers `st-gpu-kernels` with the global pass registry.
void registerStGpuPipelines();

} // namespace st
} // namespace mlir

#endif // ST_PIPELINES_GPUPIPELINE_H
