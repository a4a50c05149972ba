//===- StInterfaces.td - Interfaces of the st dialect ------*- tablegen -*-===//

#ifndef ST_DIALECT_STINTERFACES_TD
#define ST_DIALECT_STINTERFACES_TD

include "mlir/IR/OpBase.td"

def St_LayoutAttrInterface : AttrInterface<"LayoutAttrInterface"> {
  let cppNamespace = "::mlir::st";
  let description = [{
    Implemented by every attention layout attribute. It is a facade over the
    pure C++ pattern library (`st/Layout/Layout.h`): passes ask the layout for
    its `::st::layout::Layout` (membership, row counts, nonzeros, tile
    classes, disjoint factor parts) and never switch on the concrete
    attribute.
  }];
  let methods = [
    InterfaceMethod<
      "Returns the pattern assigned to every head.",
      "::st::layout::Layout", "getLayout", (ins)>,
    InterfaceMethod<
      [{Returns the factor attributes whose union defines this layout for
        head `head` (a factor returns itself).}],
      "::llvm::SmallVector<::mlir::Attribute>", "getFactorAttrs",
      (ins "int64_t":$head)>,
    InterfaceMethod<
      [{Checks that the layout makes sense for sequences of length `n`:
        every stride and block size must be at most `n`.}],
      "::llvm::LogicalResult", "verifyForLength",
      (ins "int64_t":$n,
           "::llvm::function_ref<::mlir::InFlightDiagnostic()>":$emitError),
      /*methodBody=*/"",
      /*defaultImplementation=*/[{
        return ::mlir::st::detail::verifyLayoutForLength(
            $_attr.getLayout(), $_attr, n, emitError);
      }]>
  ];
}

#endif // ST_DIALECT_STINTERFACES_TD
