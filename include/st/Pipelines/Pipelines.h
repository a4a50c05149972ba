//===- Pipelines.h - ST's named pass pipelines ------------------*- C++ -*-===//
//
// Every pipeline users run lives here, so `st-opt --<pipeline>` (what the lit
// tests exercise) and `st-run` build exactly the same pass lists.
//
//===----------------------------------------------------------------------===//

#ifndef ST_PIPELINES_PIPELINES_H
#define ST_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
namespace st {

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<int64_t> blockQ{*this, "block-q",
                                      llvm::cl::desc("Query tile of attention"),
                                      llvm::cl::init(64)};
  PassOptions::Option<int64_t> blockK{*this, "block-k",
                                      llvm::cl::desc("Key tile of attention"),
                                      llvm::cl::init(64)};
  PassOptions::Option<bool> countWork{
      *this, "count-work",
      llvm::cl::desc("Count visited attention (row, key) pairs in "
                     "@st_attention_work"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> blas{
      *this, "blas",
      llvm::cl::desc("Call the runtime's BLAS for f32 matrix products"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run parallel loops on all cores through OpenMP"),
      llvm::cl::init(true)};
};

struct TrainingPipelineOptions
    : public PassPipelineOptions<TrainingPipelineOptions> {
  PassOptions::Option<double> lr{*this, "lr",
                                 llvm::cl::desc("Peak learning rate"),
                                 llvm::cl::init(1e-3)};
  PassOptions::Option<int64_t> warmup{*this, "warmup",
                                      llvm::cl::desc("Warm-up steps"),
                                      llvm::cl::init(100)};
  PassOptions::Option<int64_t> totalSteps{
      *this, "total-steps", llvm::cl::desc("Steps of the whole schedule"),
      llvm::cl::init(1000)};
  PassOptions::Option<std::string> remat{
      *this, "remat",
      llvm::cl::desc("Rematerialisation: none, paper or budget=<bytes>"),
      llvm::cl::init("paper")};
};

/// The model level of training: expand st.transformer, differentiate the
/// loss, add the optimizer step (`<m>_train_step`).
void buildTrainingPipeline(OpPassManager &pm,
                           const TrainingPipelineOptions &options);

/// st model and attention ops down to tensors, loops and linalg:
/// attention by structure, then the tiled loops, then the model ops.
void buildStToLoopsPipeline(OpPassManager &pm,
                            const CpuPipelineOptions &options);

/// The whole CPU path: the above, bufferization, loops, OpenMP, LLVM.
void buildStToCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers `st-training-pipeline`, `st-to-loops` and `st-to-cpu` with the
/// global pass registry.
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> dir{
      *this, "dir",
      llvm::cl::desc("Write the kernel library (PTX + manifest.json) here; "
                     "empty: stop at the NVVM/LLVM dialect"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("GPU architecture"), llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<std::string> libdevice{
      *this, "libdevice", llvm::cl::desc("libdevice bitcode to link"),
      llvm::cl::init("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc")};
  PassOptions::ListOption<int64_t> wgmmaHeadDims{
      *this, "wgmma-head-dims",
      llvm::cl::desc("With chip=sm_90a: the head dims whose kernels use "
                     "warpgroup MMA (default 64,128; chip=sm_90 uses "
                     "mma.sync everywhere; docs/gpu.md)")};
  PassOptions::Option<int64_t> wgmmaKeyTile{
      *this, "wgmma-key-tile",
      llvm::cl::desc("Keys per staged tile of the warpgroup-MMA kernels (64 "
                     "or 128, where registers and shared memory allow)"),
      llvm::cl::init(64)};
  PassOptions::Option<int64_t> forwardWarpgroups{
      *this, "forward-warpgroups",
      llvm::cl::desc("Warpgroups a block of the warpgroup-MMA forward "
                     "kernels (1 or 2)"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> forwardProducer{
      *this, "forward-producer",
      llvm::cl::desc("Forward kernels with a producer warpgroup and two "
                     "consumer warpgroups: 0 never, 1 where it pays, 2 "
                     "always"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> splitForwardMinN{
      *this, "split-forward-min-n",
      llvm::cl::desc("With forward-producer=1: below this sequence length "
                     "the forward runs its kernel without the split (0: "
                     "the split at every length)"),
      llvm::cl::init(16384)};
  PassOptions::Option<int64_t> dqProducer{
      *this, "dq-producer",
      llvm::cl::desc("dQ kernels with a producer warpgroup and two consumer "
                     "warpgroups: 0 never, 1 where it pays, 2 always"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> dkvProducer{
      *this, "dkv-producer",
      llvm::cl::desc("dK/dV kernels with a producer warpgroup and two "
                     "consumer warpgroups: 0 never, 1 where it pays, 2 "
                     "always"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> pipelinedDq{
      *this, "pipelined-dq",
      llvm::cl::desc("Where dQ has the producer split: its consumers "
                     "overlap a tile's update with the next tile's scores"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> forwardPingPong{
      *this, "forward-ping-pong",
      llvm::cl::desc("With forward-producer and pipelined-forward: the "
                     "consumer warpgroups take turns at issuing products"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> pipelinedForward{
      *this, "pipelined-forward",
      llvm::cl::desc("The warpgroup-MMA forward kernels overlap a tile's "
                     "softmax with the previous tile's update"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> classStats{
      *this, "class-stats",
      llvm::cl::desc("Class-major copies of lse2 and delta for the dK/dV "
                     "kernels over a residue view"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> serpentineHeads{
      *this, "serpentine-heads",
      llvm::cl::desc("The kernels of a chain alternate the order of their "
                     "(batch, head) pairs (L2 reuse between them)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> prefix{
      *this, "prefix", llvm::cl::desc("Prefix of the kernel modules"),
      llvm::cl::init("st_attn_")};
};

/// st.attention -> GPU kernels -> NVVM (-> PTX and a kernel library on disk
/// when `dir` is set).
void buildGpuKernelsPipeline(OpPassManager &pm,
                             const GpuPipelineOptions &options);

void registerStPipelines();
void registerStGpuPipelines();

} // namespace st
} // namespace mlir

#endif // ST_PIPELINES_PIPELINES_H
