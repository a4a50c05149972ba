//===- StOpInterfaces.td - Op interfaces of the st dialect -*- tablegen -*-===//

#ifndef ST_DIALECT_STOPINTERFACES_TD
#define ST_DIALECT_STOPINTERFACES_TD

include "mlir/IR/OpBase.td"

def St_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::st";
  let description = [{
    An op that knows its own gradient rule. `--st-autodiff` walks the
    forward function backwards and asks each op for the gradients of its
    operands given the gradients of its results; there is no central switch
    over op kinds. Upstream ops (arith.addf, tensor.extract_slice) get the
    interface as external models.
  }];
  let methods = [
    InterfaceMethod<
      [{Builds, at the builder's insertion point, the gradient of every
        operand given `resultGrads` (one per result; a null Value means no
        gradient flows into that result, i.e. zero). Fills `operandGrads`
        with one Value per operand, null for operands without a gradient
        (integers, RNG state).}],
      "::llvm::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::ValueRange":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

#endif // ST_DIALECT_STOPINTERFACES_TD
