//===- WriteLibrary.cpp - Write compiled kernels as a kernel library ------===//
//
// The last step of the `st-gpu-kernels` pipeline: after
// `gpu-module-to-binary`, writes each `gpu.binary` that the module's
// `st.gpu_manifest` names to `<dir>/<name>.ptx` (assembly) or `.cubin`,
// and the manifest to `<dir>/manifest.json` (docs/gpu-kernel-abi.md).
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STWRITEGPULIBRARY
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
namespace json = llvm::json;

namespace {

LogicalResult writeFile(Operation *op, StringRef path, StringRef data) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return op->emitError() << "cannot write '" << path << "': "
                           << ec.message();
  os << data;
  return success();
}

struct StWriteGpuLibraryPass
    : public mlir::st::impl::StWriteGpuLibraryBase<StWriteGpuLibraryPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto text = module->getAttrOfType<StringAttr>("st.gpu_manifest");
    if (!text) {
      module.emitError("no st.gpu_manifest: run --convert-st-attention-to-gpu "
                       "first");
      return signalPassFailure();
    }
    llvm::Expected<json::Value> parsed = json::parse(text.getValue());
    json::Array *entries = parsed ? parsed->getAsArray() : nullptr;
    if (!entries) {
      module.emitError("st.gpu_manifest is not a JSON array");
      llvm::consumeError(parsed.takeError());
      return signalPassFailure();
    }
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      module.emitError() << "cannot create '" << dir << "': " << ec.message();
      return signalPassFailure();
    }
    for (json::Value &e : *entries) {
      json::Object *entry = e.getAsObject();
      std::optional<StringRef> name = entry->getString("module");
      auto binary = module.lookupSymbol<gpu::BinaryOp>(*name);
      if (!binary || binary.getObjects().empty()) {
        module.emitError() << "no gpu.binary @" << *name
                           << ": run gpu-module-to-binary first";
        return signalPassFailure();
      }
      auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
      bool ptx = object.getFormat() == gpu::CompilationTarget::Assembly;
      std::string file = (*name + (ptx ? ".ptx" : ".cubin")).str();
      SmallString<256> path(dir);
      llvm::sys::path::append(path, file);
      if (failed(writeFile(module, path, object.getObject().getValue())))
        return signalPassFailure();
      (*entry)["module"] = file;
    }
    json::Object manifest{{"format", "st-attention-kernels"},
                          {"version", 1},
                          {"entries", std::move(*entries)}};
    SmallString<256> path(dir);
    llvm::sys::path::append(path, "manifest.json");
    std::string out;
    llvm::raw_string_ostream os(out);
    os << llvm::formatv("{0:2}", json::Value(std::move(manifest))) << "\n";
    if (failed(writeFile(module, path, out)))
      return signalPassFailure();
  }
};

} // namespace
