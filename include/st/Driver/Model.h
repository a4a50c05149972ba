//===- Model.h - Compile a model file into callable programs ----*- C++ -*-===//
//
// The glue between the compiler and the runtime used by st-run: parse and
// verify a model file, expand it, read its parameter declarations, compile
// its entry points for the CPU and hand the runtime packed function
// pointers.
//
//===----------------------------------------------------------------------===//

#ifndef ST_DRIVER_MODEL_H
#define ST_DRIVER_MODEL_H

#include "st/Pipelines/Pipelines.h"
#include "st/Runtime/Program.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/MLIRContext.h"

#include <memory>
#include <string>

namespace mlir {
namespace st {

/// The configuration of the model's st.transformer.
struct ModelConfig {
  std::string name;
  int64_t vocab = 0, context = 0, width = 0, heads = 0, layers = 0;
  double dropout = 0.0;
  /// The factorized position axes (for images: height, width[, channels]).
  std::vector<int64_t> position;
};

struct CompiledModel {
  ModelConfig config;
  std::vector<::st::rt::ParamSpec> params;
  std::unique_ptr<ExecutionEngine> engine;
  /// (params..., tokens [B, N] i32, targets [B, N] i32, nats [], bits [])
  ::st::rt::PackedFunction evalLoss = nullptr;
  /// (params..., tokens, targets, rng [2] i64, nats [], bits [])
  ::st::rt::PackedFunction trainLoss = nullptr;
  /// (params..., tokens [B, N] i32, logits [B, N, V] f32)
  ::st::rt::PackedFunction logits = nullptr;
  /// One step of cached generation at position pos: (params..., tokens
  /// [S, 1] i32, pos [] i64, k_0, v_0, ..., k_{L-1}, v_{L-1} [S, H, N, D/H]
  /// f32 (rows before pos), logits [S, V] f32, k'_0, v'_0, ... [S, H, 1, D/H]
  /// f32 (the rows of pos, for the caller to store)).
  ::st::rt::PackedFunction decode = nullptr;
  /// Only when compiled for training: (params..., m..., v..., step [] i64,
  /// tokens, targets, rng, params'..., m'..., v'..., nats [], bits [],
  /// grad_norm [], lr []).
  ::st::rt::PackedFunction trainStep = nullptr;
};

/// Creates a context with every dialect and translation st-run needs.
std::unique_ptr<MLIRContext> createContext();

/// Parses and verifies the model file at `path` and returns its
/// configuration, without compiling it (cheap: for checks before the
/// compile).
FailureOr<ModelConfig> readModelConfig(MLIRContext &context,
                                       const std::string &path);

/// Parses, verifies and compiles the model file at `path`. Diagnostics go
/// to the context's handler (st-run prints them with locations).
/// With `training`, the training pipeline (autodiff, optimizer) runs first
/// and `trainStep` is compiled too. A non-empty `entryPoints` lists the
/// functions to compile by the suffix of their name after the model's
/// (`_eval`, `_loss`, `_logits`, `_grad`, `_train_step`); the others are
/// not code-generated (which shortens the JIT) and their fields stay null.
FailureOr<CompiledModel>
compileModel(MLIRContext &context, const std::string &path,
             const CpuPipelineOptions &options,
             const TrainingPipelineOptions *training = nullptr,
             ArrayRef<std::string> entryPoints = {});

} // namespace st
} // namespace mlir

#endif // ST_DRIVER_MODEL_H
