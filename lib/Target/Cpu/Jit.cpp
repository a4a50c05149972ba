//===- Jit.cpp - Compile ST programs for this CPU and load them -----------===//

#include "st/Target/Cpu/Jit.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;
using namespace mlir::st;

void mlir::st::registerCpuJitTranslations(DialectRegistry &registry) {
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
}

FailureOr<std::unique_ptr<ExecutionEngine>>
mlir::st::compileForCpu(ModuleOp module, const CpuPipelineOptions &pipeline,
                        const JitOptions &jit) {
  static bool nativeTargetReady = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)nativeTargetReady;

  DialectRegistry registry;
  registerCpuJitTranslations(registry);
  module->getContext()->appendDialectRegistry(registry);

  PassManager pm(module->getContext());
  buildStToCpuPipeline(pm, pipeline);
  if (failed(pm.run(module)))
    return failure();

  ExecutionEngineOptions options;
  // Optimise for this CPU: without a target machine LLVM's vectoriser and
  // cost model assume a generic target and leave AVX2/AVX-512 unused.
  std::unique_ptr<llvm::TargetMachine> host;
  if (auto builder = llvm::orc::JITTargetMachineBuilder::detectHost()) {
    builder->setCodeGenOptLevel(
        static_cast<llvm::CodeGenOptLevel>(jit.optLevel));
    if (auto tm = builder->createTargetMachine())
      host = std::move(*tm);
    else
      llvm::consumeError(tm.takeError());
  } else {
    llvm::consumeError(builder.takeError());
  }
  auto transformer = makeOptimizingTransformer(jit.optLevel,
                                               /*sizeLevel=*/0, host.get());
  options.transformer = transformer;
  options.jitCodeGenOptLevel = static_cast<llvm::CodeGenOptLevel>(jit.optLevel);
  // The OpenMP runtime that scf-to-openmp's code calls into.
  SmallVector<StringRef> libs;
  if (pipeline.parallel)
    libs.push_back(ST_OPENMP_RUNTIME);
  options.sharedLibPaths = libs;
  auto engine = ExecutionEngine::create(module, options);
  if (!engine) {
    std::string message = llvm::toString(engine.takeError());
    module.emitError() << "JIT compilation failed: " << message;
    return failure();
  }
  if (!jit.symbols.empty()) {
    (*engine)->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
      llvm::orc::SymbolMap map;
      for (const auto &[name, address] : jit.symbols)
        map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                               llvm::JITSymbolFlags::Exported};
      return map;
    });
  }
  return std::move(*engine);
}
