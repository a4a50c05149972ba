//===- StBase.td - The st dialect definition ---------------*- tablegen -*-===//

#ifndef ST_DIALECT_STBASE_TD
#define ST_DIALECT_STBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def St_Dialect : Dialect {
  let name = "st";
  let cppNamespace = "::mlir::st";
  let summary = "Sparse Transformers: models, factorized attention layouts, training";
  let description = [{
    The `st` dialect describes Sparse Transformer models (Child et al. 2019)
    at the level a user writes them: token and factorized position
    embeddings, pre-activation residual blocks and attention whose sparsity
    pattern is a *layout attribute* (`#st.strided`, `#st.fixed`, ...). The
    layout attributes carry no code; every pass asks them, through
    `LayoutAttrInterface`, for the pattern's math and its factors.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = [
    "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect"
  ];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class St_Op<string mnemonic, list<Trait> traits = []>
    : Op<St_Dialect, mnemonic, traits>;

class St_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<St_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // ST_DIALECT_STBASE_TD
