//===- Model.cpp - Compile a model file into callable programs ------------===//

#include "st/Driver/Model.h"

#include "st/Dialect/StDialect.h"
#include "st/Runtime/Kernels.h"
#include "st/Target/Cpu/Jit.h"
#include "st/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace mlir::st;
namespace rt = ::st::rt;

std::unique_ptr<MLIRContext> mlir::st::createContext() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<StDialect>();
  registerGradientExternalModels(registry);
  registerCpuJitTranslations(registry);
  auto context = std::make_unique<MLIRContext>(registry);
  context->loadAllAvailableDialects();
  // A user gets one located line per error, not the op dumped after it.
  context->printOpOnDiagnostic(false);
  return context;
}

namespace {

FailureOr<rt::ParamSpec> specOf(ParamOp p) {
  rt::ParamSpec spec;
  spec.name = p.getSymName().str();
  auto shape = p.getTensorType().getShape();
  spec.shape.assign(shape.begin(), shape.end());
  Attribute init = p.getInit();
  if (auto normal = dyn_cast<NormalInitAttr>(init)) {
    spec.init = rt::InitKind::Normal;
    spec.std = normal.getStd().convertToDouble();
  } else if (isa<OnesInitAttr>(init)) {
    spec.init = rt::InitKind::Ones;
  } else if (isa<ZerosInitAttr>(init)) {
    spec.init = rt::InitKind::Zeros;
  } else {
    return p.emitOpError() << "has an initialiser the runtime cannot apply";
  }
  return spec;
}

/// The parsed and verified model file, with its one st.transformer.
FailureOr<std::pair<OwningOpRef<ModuleOp>, TransformerOp>>
parseModel(MLIRContext &context, const std::string &path) {
  if (!llvm::sys::fs::exists(path))
    return emitError(FileLineColLoc::get(&context, path, 0, 0))
           << "no such model file";
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(path, &context);
  if (!module)
    return failure();
  SmallVector<TransformerOp> models(module->getOps<TransformerOp>());
  if (models.size() != 1)
    return module->emitError()
           << "expected exactly one st.transformer in the model file, found "
           << models.size();
  return std::make_pair(std::move(module), models.front());
}

ModelConfig configOf(TransformerOp t) {
  return {t.getSymName().str(),
          int64_t(t.getVocab()),
          int64_t(t.getContextSize()),
          int64_t(t.getWidth()),
          int64_t(t.getHeads()),
          int64_t(t.getLayers()),
          t.getDropout().convertToDouble(),
          std::vector<int64_t>(t.getPosition().begin(), t.getPosition().end())};
}

} // namespace

FailureOr<ModelConfig> mlir::st::readModelConfig(MLIRContext &context,
                                                 const std::string &path) {
  auto parsed = parseModel(context, path);
  if (failed(parsed))
    return failure();
  return configOf(parsed->second);
}

FailureOr<CompiledModel>
mlir::st::compileModel(MLIRContext &context, const std::string &path,
                       const CpuPipelineOptions &options,
                       const TrainingPipelineOptions *training,
                       ArrayRef<std::string> entryPoints) {
  auto parsed = parseModel(context, path);
  if (failed(parsed))
    return failure();
  OwningOpRef<ModuleOp> module = std::move(parsed->first);
  CompiledModel result;
  result.config = configOf(parsed->second);

  PassManager expand(&context);
  if (training)
    buildTrainingPipeline(expand, *training);
  else
    expand.addPass(createStExpandModel());
  if (failed(expand.run(*module)))
    return failure();
  for (ParamOp p : module->getOps<ParamOp>()) {
    FailureOr<rt::ParamSpec> spec = specOf(p);
    if (failed(spec))
      return failure();
    result.params.push_back(std::move(*spec));
  }

  // Functions not asked for become private: the pipeline's inliner then
  // inlines them into their callers or drops them.
  auto wanted = [&](StringRef fn) {
    return entryPoints.empty() ||
           llvm::any_of(entryPoints, [&](const std::string &suffix) {
             return fn == result.config.name + suffix;
           });
  };
  for (func::FuncOp fn : module->getOps<func::FuncOp>())
    if (fn.isPublic() && !wanted(fn.getName()))
      fn.setPrivate();

  JitOptions jit;
  jit.symbols = rt::runtimeSymbols();
  FailureOr<std::unique_ptr<ExecutionEngine>> engine =
      compileForCpu(*module, options, jit);
  if (failed(engine))
    return failure();
  result.engine = std::move(*engine);
  auto lookup = [&](const std::string &fn) -> rt::PackedFunction {
    if (!wanted(fn))
      return nullptr;
    auto sym = result.engine->lookupPacked("_mlir_ciface_" + fn);
    if (!sym) {
      llvm::consumeError(sym.takeError());
      return nullptr;
    }
    return *sym;
  };
  result.evalLoss = lookup(result.config.name + "_eval");
  result.trainLoss = lookup(result.config.name + "_loss");
  result.logits = lookup(result.config.name + "_logits");
  result.decode = lookup(result.config.name + "_decode");
  if (training) {
    result.trainStep = lookup(result.config.name + "_train_step");
    if (!result.trainStep && wanted(result.config.name + "_train_step"))
      return module->emitError() << "compiled model lacks its training step";
  }
  for (auto [fn, suffix] : {std::pair{result.evalLoss, "_eval"},
                            {result.trainLoss, "_loss"},
                            {result.logits, "_logits"},
                            {result.decode, "_decode"}})
    if (!fn && wanted(result.config.name + suffix))
      return module->emitError() << "compiled model lacks its entry points";
  return result;
}
