//===- StDialect.cpp - The st dialect -------------------------------------===//

#include "st/Dialect/StDialect.h"

#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace mlir::st;

#include "st/Dialect/StOpsDialect.cpp.inc"

namespace {
/// Every st op is pure data flow on tensors (parameters are symbols, read
/// by value), so any of them may be inlined anywhere.
struct StInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
  bool isLegalToInline(Region *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void StDialect::initialize() {
  addInterfaces<StInlinerInterface>();
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "st/Dialect/StOps.cpp.inc"
      >();
}
