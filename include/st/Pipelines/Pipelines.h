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
/// global pass registry. (`st-gpu-kernels`: GpuPipeline.h.)
void registerStPipelines();

} // namespace st
} // namespace mlir

#endif // ST_PIPELINES_PIPELINES_H
