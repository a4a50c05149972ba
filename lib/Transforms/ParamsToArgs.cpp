//===- ParamsToArgs.cpp - Parameters become entry-point arguments ---------===//
//
// The runtime owns the parameters (it initialises them, checkpoints them and
// the optimizer updates them); compiled functions receive them as leading
// arguments, in the order of the module's st.param declarations. Every
// entry point that reads a parameter gets all of them, so all entry points
// share one calling convention that the runtime learns from the
// declarations alone.
//
//===----------------------------------------------------------------------===//

#include "st/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STPARAMSTOARGS
#include "st/Transforms/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;

namespace {

struct ParamsToArgsPass
    : public mlir::st::impl::StParamsToArgsBase<ParamsToArgsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ParamOp> params(module.getOps<ParamOp>());
    llvm::StringMap<unsigned> index;
    SmallVector<Type> types;
    for (ParamOp p : params) {
      index[p.getSymName()] = types.size();
      types.push_back(p.getTensorType());
    }
    for (func::FuncOp fn : module.getOps<func::FuncOp>()) {
      SmallVector<LoadParamOp> loads;
      fn.walk([&](LoadParamOp op) { loads.push_back(op); });
      if (loads.empty() || fn.isExternal())
        continue;
      Block &entry = fn.getBody().front();
      SmallVector<unsigned> positions(types.size());
      for (unsigned i = 0; i < types.size(); ++i)
        positions[i] = 0;
      SmallVector<DictionaryAttr> argAttrs(types.size(),
                                           DictionaryAttr::get(&getContext()));
      SmallVector<Location> locs;
      for (ParamOp p : params)
        locs.push_back(p.getLoc());
      if (failed(fn.insertArguments(positions, types, argAttrs, locs)))
        return signalPassFailure();
      for (LoadParamOp load : loads) {
        auto it = index.find(load.getName());
        if (it == index.end()) {
          load.emitOpError() << "'" << load.getName()
                             << "' does not name an st.param";
          return signalPassFailure();
        }
        load.replaceAllUsesWith(entry.getArgument(it->second));
        load.erase();
      }
      // Entry points are called from C++ through the C interface.
      fn->setAttr("llvm.emit_c_interface", UnitAttr::get(&getContext()));
    }
    bool stray = false;
    module.walk([&](LoadParamOp op) {
      op.emitOpError() << "is outside a function with a body";
      stray = true;
    });
    if (stray)
      return signalPassFailure();
    for (ParamOp p : params)
      p.erase();
  }
};

} // namespace
