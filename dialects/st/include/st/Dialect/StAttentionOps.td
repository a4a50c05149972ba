//===- StAttentionOps.td - Attention by structure ----------*- tablegen -*-===//
//
// The forms `st.attention` and `st.attention_grad` are lowered through: one
// part per disjoint factor of the layout, computed by its own
// structure-aware schedule; forward parts are merged exactly by log-sum-exp,
// gradient parts (which share the global log-sum-exp) are summed.
//
//===----------------------------------------------------------------------===//

#ifndef ST_DIALECT_STATTENTIONOPS_TD
#define ST_DIALECT_STATTENTIONOPS_TD

include "st/Dialect/StBase.td"
include "st/Dialect/StInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def St_AttentionPartOp : St_Op<"attention_part", [Pure]> {
  let summary = "Attention over one factor of a layout, with its log-sum-exp";
  let description = [{
    Row i of `query` ([B, H, N, D]) attends to the keys j of the single
    factor `factor` (a `#st.band`, `#st.column`, `#st.block`,
    `#st.summary` or `#st.dense_causal`) that no factor in `excluded`
    contains. Returns the softmax-weighted values `out` ([B, H, N, D]) and
    the per-row log-sum-exp `lse` ([B, H, N], f32) of the scaled scores;
    rows without keys get `out = 0` and `lse = -inf`.

    With `compact_keys` (summary factors only), `key` and `value` hold only
    the summary positions, in order: compact key m is the original position
    `(m / C) * L + (L - O - C) + m mod C` for stride L, width C, offset O.
    This is how a fixed pattern's summary attention becomes a dense prefix.
  }];
  let arguments = (ins St_AttnTensor:$query, St_AttnTensor:$key,
                       St_AttnTensor:$value, AnyAttr:$factor,
                       DefaultValuedAttr<ArrayAttr, "{}">:$excluded,
                       F64Attr:$scale, UnitAttr:$compact_keys);
  let results = (outs St_AttnTensor:$out, RankedTensorOf<[F32]>:$lse);
  let assemblyFormat = [{
    $query `,` $key `,` $value `factor` `(` $factor `)`
    (`excluded` `(` $excluded^ `)`)? `scale` `(` $scale `)` attr-dict
    `:` type($query) `,` type($key) `,` type($value) `->` type($out) `,` type($lse)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::st::layout::Factor getFactorValue();
    SmallVector<::st::layout::Factor> getExcludedFactors();
  }];
}

def St_AttentionMergeOp : St_Op<"attention_merge", [Pure, SameVariadicOperandSize]> {
  let summary = "Exact log-sum-exp merge of disjoint attention parts";
  let description = [{
    `out = sum_p exp(lse_p - lse) * out_p` with `lse = log sum_p exp(lse_p)`:
    the attention over the union of the parts' (disjoint) key sets. Rows
    that no part attends get 0.
  }];
  let arguments = (ins Variadic<St_AttnTensor>:$outs,
                       Variadic<RankedTensorOf<[F32]>>:$lses);
  let results = (outs St_AttnTensor:$result, RankedTensorOf<[F32]>:$lse);
  let assemblyFormat = [{
    `(` $outs `)` `(` $lses `)` attr-dict `:` `(` type($outs) `)` `(` type($lses) `)`
    `->` type($result) `,` type($lse)
  }];
  let hasVerifier = 1;
}

def St_AttentionPartGradOp : St_Op<"attention_part_grad", [Pure,
    AllTypesMatch<["query", "dout", "dquery"]>,
    AllTypesMatch<["key", "value", "dkey", "dvalue"]>,
    AllTypesMatch<["lse", "delta"]>]> {
  let summary = "Gradient contribution of one attention part";
  let description = [{
    The adjoint of `st.attention_part` for one disjoint part of a layout,
    evaluated with the *whole* pattern's softmax statistics: `lse` is the
    global per-row log-sum-exp of the forward pass and `delta` is
    `D_i = dout_i . out_i` of the global output (both [B, H, N], f32).
    Over the part's positions (i, j) -- `factor` minus `excluded`, with
    `compact_keys` read as for `st.attention_part` --
    `P_ij = exp(scale q_i . k_j - lse_i)`, `dS_ij = P_ij (dout_i . v_j -
    D_i)`, and the results are `dquery_i = scale sum_j dS_ij k_j`,
    `dkey_j = scale sum_i dS_ij q_i`, `dvalue_j = sum_i P_ij dout_i`.
    Because the parts of a union are disjoint and share lse and D, the
    gradient of the union is the sum of its parts' results. `dkey` and
    `dvalue` are over the key operand's positions (compact for
    `compact_keys`).
  }];
  let arguments = (ins St_AttnTensor:$query, St_AttnTensor:$key,
                       St_AttnTensor:$value, RankedTensorOf<[F32]>:$lse,
                       RankedTensorOf<[F32]>:$delta, St_AttnTensor:$dout,
                       AnyAttr:$factor,
                       DefaultValuedAttr<ArrayAttr, "{}">:$excluded,
                       F64Attr:$scale, UnitAttr:$compact_keys);
  let results = (outs St_AttnTensor:$dquery, St_AttnTensor:$dkey,
                      St_AttnTensor:$dvalue);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $lse `,` $delta `,` $dout
    `factor` `(` $factor `)` (`excluded` `(` $excluded^ `)`)?
    `scale` `(` $scale `)` attr-dict `:` type($query) `,` type($key) `,`
    type($lse)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::st::layout::Factor getFactorValue();
    SmallVector<::st::layout::Factor> getExcludedFactors();
  }];
}

#endif // ST_DIALECT_STATTENTIONOPS_TD
