//===- Passes.h - Conversions out of the st dialect -------------*- C++ -*-===//

#ifndef ST_CONVERSION_PASSES_H
#define ST_CONVERSION_PASSES_H

#include "st/Dialect/StDialect.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace st {

#define GEN_PASS_DECL
#include "st/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "st/Conversion/Passes.h.inc"

} // namespace st
} // namespace mlir

#endif // ST_CONVERSION_PASSES_H
