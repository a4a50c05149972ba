//===- StDialect.cpp - The st dialect -------------------------------------===//

#include "st/Dialect/StDialect.h"

using namespace mlir;
using namespace mlir::st;

#include "st/Dialect/StOpsDialect.cpp.inc"

void StDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "st/Dialect/StOps.cpp.inc"
      >();
}
