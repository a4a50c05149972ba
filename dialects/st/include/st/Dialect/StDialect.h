//===- StDialect.h - The st dialect, its attributes and ops -----*- C++ -*-===//

#ifndef ST_DIALECT_STDIALECT_H
#define ST_DIALECT_STDIALECT_H

#include "st/Layout/Layout.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "st/Dialect/StOpsDialect.h.inc"

namespace mlir {
namespace st {
namespace detail {
/// Shared check behind `LayoutAttrInterface::verifyForLength`: every stride
/// and block size of `layout` must be at most `n`.
llvm::LogicalResult
verifyLayoutForLength(const ::st::layout::Layout &layout, Attribute attr,
                      int64_t n, llvm::function_ref<InFlightDiagnostic()> emitError);
} // namespace detail
} // namespace st
} // namespace mlir

#include "st/Dialect/StInterfaces.h.inc"
#include "st/Dialect/StOpInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "st/Dialect/StAttrs.h.inc"

#define GET_OP_CLASSES
#include "st/Dialect/StOps.h.inc"

namespace mlir {
namespace st {
/// The attribute that spells factor `f` (#st.band, #st.column, ...).
Attribute getFactorAttr(MLIRContext *ctx, const ::st::layout::Factor &f);
/// The single factor an attribute stands for, if it is one.
std::optional<::st::layout::Factor> getFactor(Attribute attr);
/// Attaches DifferentiableOpInterface to the upstream ops that st models
/// use (arith.addf, tensor.extract_slice).
void registerGradientExternalModels(DialectRegistry &registry);
} // namespace st
} // namespace mlir

#endif // ST_DIALECT_STDIALECT_H
