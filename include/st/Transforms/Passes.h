//===- Passes.h - Passes over the st dialect --------------------*- C++ -*-===//

#ifndef ST_TRANSFORMS_PASSES_H
#define ST_TRANSFORMS_PASSES_H

#include "st/Dialect/StDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace st {

#define GEN_PASS_DECL
#include "st/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "st/Transforms/Passes.h.inc"

} // namespace st
} // namespace mlir

#endif // ST_TRANSFORMS_PASSES_H
