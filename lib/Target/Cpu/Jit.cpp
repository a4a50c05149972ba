//===- Jit.cpp - Compile ST programs for this CPU and load them -----------===//

#include "st/Target/Cpu/Jit.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <cstdlib>
#include <limits>
#include <malloc.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::st;

namespace {

/// Writes /tmp/perf-<pid>.map (the format `perf report` reads for JIT code)
/// with every function of `engine`'s object code, so that profiles name
/// the compiled kernels (each OpenMP loop body is a function of its own).
/// `anchor` is an exported function whose address locates the text.
void writePerfMap(ExecutionEngine &engine, StringRef anchor) {
  auto fail = [](llvm::Error e) {
    llvm::errs() << "ST_PERF_MAP: " << llvm::toString(std::move(e)) << "\n";
  };
  // The object exists once the module is compiled, i.e. after a lookup.
  llvm::Expected<void *> anchorAddr = engine.lookup(anchor);
  if (!anchorAddr)
    return fail(anchorAddr.takeError());
  std::string pid = std::to_string(getpid());
  std::string objPath = "/tmp/st-jit-" + pid + ".o";
  engine.dumpToObjectFile(objPath);
  auto buffer = llvm::MemoryBuffer::getFile(objPath);
  if (!buffer) {
    llvm::errs() << "ST_PERF_MAP: cannot read " << objPath << "\n";
    return;
  }
  auto object =
      llvm::object::ObjectFile::createObjectFile((*buffer)->getMemBufferRef());
  if (!object)
    return fail(object.takeError());
  struct Symbol {
    uint64_t address, size;
    std::string name;
  };
  std::vector<Symbol> symbols;
  int64_t shift = 0;
  for (llvm::object::SymbolRef sym : (*object)->symbols()) {
    llvm::Expected<llvm::object::SymbolRef::Type> type = sym.getType();
    llvm::Expected<StringRef> name = sym.getName();
    llvm::Expected<uint64_t> address = sym.getAddress();
    if (!type || !name || !address) {
      llvm::consumeError(type.takeError());
      llvm::consumeError(name.takeError());
      llvm::consumeError(address.takeError());
      continue;
    }
    if (*type != llvm::object::SymbolRef::ST_Function)
      continue;
    symbols.push_back(
        {*address, llvm::object::ELFSymbolRef(sym).getSize(), name->str()});
    if (*name == anchor)
      shift = int64_t(reinterpret_cast<uintptr_t>(*anchorAddr)) -
              int64_t(*address);
  }
  std::error_code ec;
  llvm::raw_fd_ostream os("/tmp/perf-" + pid + ".map", ec,
                          llvm::sys::fs::OF_Append);
  if (ec) {
    llvm::errs() << "ST_PERF_MAP: " << ec.message() << "\n";
    return;
  }
  for (const Symbol &s : symbols)
    os << llvm::format_hex_no_prefix(s.address + shift, 1) << " "
       << llvm::format_hex_no_prefix(s.size, 1) << " " << s.name << "\n";
}

} // namespace

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
  // Compiled programs allocate their intermediate buffers (megabytes each)
  // on every call and free them at its end. glibc would return such blocks
  // to the kernel (munmap, heap trimming) and the next call would fault
  // every page in again, zeroed: about a tenth of a tiny-text training step
  // (docs/training-speed.md). Freed memory stays in the process instead.
  static bool mallocTuned = [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    return true;
  }();
  (void)mallocTuned;

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
  // ST_PERF_MAP=1: name the compiled functions for `perf report`.
  bool perfMap = std::getenv("ST_PERF_MAP") != nullptr;
  options.enableObjectDump = perfMap;
  std::string anchor;
  for (LLVM::LLVMFuncOp fn : module.getOps<LLVM::LLVMFuncOp>())
    if (!fn.isExternal() && !fn.isPrivate() && anchor.empty())
      anchor = fn.getName().str();
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
  if (perfMap && !anchor.empty())
    writePerfMap(**engine, anchor);
  return std::move(*engine);
}
