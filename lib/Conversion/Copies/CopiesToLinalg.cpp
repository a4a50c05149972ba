//===- CopiesToLinalg.cpp - memref.copy as linalg.copy --------------------===//

#include "st/Conversion/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STCOPIESTOLINALG
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;

namespace {
struct CopiesToLinalgPass
    : public mlir::st::impl::StCopiesToLinalgBase<CopiesToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp op) { copies.push_back(op); });
    for (memref::CopyOp op : copies) {
      OpBuilder b(op);
      linalg::CopyOp::create(b, op.getLoc(), op.getSource(), op.getTarget());
      op.erase();
    }
  }
};
} // namespace
