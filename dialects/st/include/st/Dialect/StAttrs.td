//===- StAttrs.td - Attention layout attributes ------------*- tablegen -*-===//
//
// Patterns (what a user writes on `st.attention`) and factors (what patterns
// are defined as: the strided pattern is the union of a band and a column,
// the fixed pattern the union of an own block and a summary).
//
//===----------------------------------------------------------------------===//

#ifndef ST_DIALECT_STATTRS_TD
#define ST_DIALECT_STATTRS_TD

include "st/Dialect/StBase.td"
include "st/Dialect/StInterfaces.td"

class St_LayoutAttr<string name, string attrMnemonic>
    : St_Attr<name, attrMnemonic,
              [DeclareAttrInterfaceMethods<St_LayoutAttrInterface,
                                           ["getFactorAttrs"]>]> {
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

def St_DenseCausalAttr : St_Attr<"DenseCausal", "dense_causal",
    [DeclareAttrInterfaceMethods<St_LayoutAttrInterface, ["getFactorAttrs"]>]> {
  let summary = "Full causal attention: every j <= i";
}

def St_LocalAttr : St_LayoutAttr<"Local", "local"> {
  let summary = "The previous `window` positions, including i itself";
  let description = [{
    `#st.local<window = W>` attends to `i - W < j <= i`: a band of W
    positions (the released code's convention; see `#st.band`).
  }];
  let parameters = (ins "int64_t":$window);
  let assemblyFormat = "`<` struct(params) `>`";
}

def St_StridedAttr : St_LayoutAttr<"Strided", "strided"> {
  let summary = "The paper's strided pattern: band of l plus every l-th position";
  let description = [{
    `#st.strided<stride = L>` is the union of `#st.band<width = L>` and
    `#st.column<stride = L>`. The paper's band `max(0, i - L) <= j <= i` has
    L + 1 positions; the extra one, j = i - L, is in the column anyway.
  }];
  let parameters = (ins "int64_t":$stride);
  let assemblyFormat = "`<` struct(params) `>`";
}

def St_FixedAttr : St_LayoutAttr<"Fixed", "fixed"> {
  let summary = "The paper's fixed pattern: own block plus summary columns";
  let description = [{
    `#st.fixed<stride = L, summary = C>` is the union of `#st.block<size = L>`
    and `#st.summary<stride = L, width = C>` (the last C positions of every
    block). With `per_head = true`, head h uses the (h mod L/C)-th sub-block
    of width C counted from the end of each block, as the paper found better
    for several heads.
  }];
  let parameters = (ins "int64_t":$stride, "int64_t":$summary,
                        DefaultValuedParameter<"bool", "false">:$per_head);
  let assemblyFormat = "`<` struct(params) `>`";
}

def St_UnionAttr : St_LayoutAttr<"Union", "union"> {
  let summary = "Merged heads: every head attends to the union of the members";
  let parameters = (ins ArrayRefParameter<"::mlir::Attribute">:$members);
  let assemblyFormat = "`<` custom<LayoutList>($members) `>`";
}

def St_PerHeadAttr : St_LayoutAttr<"PerHead", "per_head"> {
  let summary = "Per-head assignment: head h gets member h mod k";
  let parameters = (ins ArrayRefParameter<"::mlir::Attribute">:$members);
  let assemblyFormat = "`<` custom<LayoutList>($members) `>`";
}

//===----------------------------------------------------------------------===//
// Factors
//===----------------------------------------------------------------------===//

def St_BandAttr : St_LayoutAttr<"Band", "band"> {
  let summary = "Factor: 0 <= i - j < width";
  let parameters = (ins "int64_t":$width);
  let assemblyFormat = "`<` struct(params) `>`";
}

def St_ColumnAttr : St_LayoutAttr<"Column", "column"> {
  let summary = "Factor: (i - j) mod stride == 0, i - j >= from";
  let description = [{
    `from` (default 0) skips the distances below it; the strided pattern's
    column part, made disjoint from its band, is
    `#st.column<stride = L, from = L>`.
  }];
  let parameters = (ins "int64_t":$stride,
                        DefaultValuedParameter<"int64_t", "0">:$from);
  let assemblyFormat = "`<` struct(params) `>`";
}

def St_BlockAttr : St_LayoutAttr<"Block", "block"> {
  let summary = "Factor: floor(i / size) == floor(j / size), j <= i";
  let parameters = (ins "int64_t":$size);
  let assemblyFormat = "`<` struct(params) `>`";
}

def St_SummaryAttr : St_LayoutAttr<"Summary", "summary"> {
  let summary = "Factor: summary columns of every block";
  let description = [{
    `#st.summary<stride = L, width = C, offset = O>`: `j <= i` and
    `j mod L` in `[L - O - C, L - O)`: the C columns that end O columns
    before the end of each block (offset 0: the last C columns; the paper's
    per-head variant gives head h the offset h * C). With
    `earlier_blocks = true`, only blocks before the query's own block count
    (the fixed pattern's summary part, made disjoint from its own block).
  }];
  let parameters = (ins "int64_t":$stride, "int64_t":$width,
                        DefaultValuedParameter<"int64_t", "0">:$offset,
                        DefaultValuedParameter<"bool", "false">:$earlier_blocks);
  let assemblyFormat = "`<` struct(params) `>`";
}

//===----------------------------------------------------------------------===//
// Parameter initialisers
//===----------------------------------------------------------------------===//

def St_NormalInitAttr : St_Attr<"NormalInit", "normal"> {
  let summary = "Initialise from N(0, std^2)";
  let parameters = (ins APFloatParameter<"standard deviation">:$std);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def St_ZerosInitAttr : St_Attr<"ZerosInit", "zeros"> {
  let summary = "Initialise to 0";
}

def St_OnesInitAttr : St_Attr<"OnesInit", "ones"> {
  let summary = "Initialise to 1";
}

#endif // ST_DIALECT_STATTRS_TD
