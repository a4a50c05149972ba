//===- Jit.h - Compile ST programs for this CPU and load them ---*- C++ -*-===//

#ifndef ST_TARGET_CPU_JIT_H
#define ST_TARGET_CPU_JIT_H

#include "st/Pipelines/Pipelines.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mlir {
namespace st {

struct JitOptions {
  /// LLVM optimisation level of the JIT (0-3).
  unsigned optLevel = 3;
  /// Host routines the compiled code may call (name, address), e.g. the
  /// runtime's BLAS entry points.
  std::vector<std::pair<std::string, void *>> symbols;
};

/// Registers what the JIT needs to translate the LLVM dialect (builtin, LLVM,
/// OpenMP translations) in `registry`.
void registerCpuJitTranslations(DialectRegistry &registry);

/// Runs `st-to-cpu` on `module` (in place) and JIT-compiles the result with
/// OpenMP's runtime loaded. Failures are reported as diagnostics on the
/// module's location.
FailureOr<std::unique_ptr<ExecutionEngine>>
compileForCpu(ModuleOp module, const CpuPipelineOptions &pipeline,
              const JitOptions &jit = {});

} // namespace st
} // namespace mlir

#endif // ST_TARGET_CPU_JIT_H
