//===- StGradOps.td - Backward ops of the st dialect -------*- tablegen -*-===//
//
// The ops that gradient rules (DifferentiableOpInterface) build. Each is the
// exact adjoint of one forward op; each lowers to tiled loops or linalg like
// its forward op.
//
//===----------------------------------------------------------------------===//

#ifndef ST_DIALECT_STGRADOPS_TD
#define ST_DIALECT_STGRADOPS_TD

include "st/Dialect/StBase.td"
include "st/Dialect/StInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def St_EmbedGradOp : St_Op<"embed_grad", [Pure]> {
  let summary = "Adjoint of st.embed: scatter-add of dy into the table rows";
  let description = [{
    `dtable[v] = sum over (b, n) with tokens[b, n] == v of dy[b, n]`, with
    tokens clamped to [0, V - 1] like the forward op.
  }];
  let arguments = (ins TensorOf<[I32]>:$tokens, TensorOf<[F32]>:$dy);
  let results = (outs TensorOf<[F32]>:$dtable);
  let assemblyFormat = [{
    $tokens `,` $dy attr-dict `:` type($tokens) `,` type($dy) `->` type($dtable)
  }];
}

def St_PosEmbedGradOp : St_Op<"pos_embed_grad", [Pure]> {
  let summary = "Adjoint of st.pos_embed for its tables";
  let description = [{
    `dtables[a][r] = sum over (b, n) with idx_a(n) == r of dy[b, n]`; the
    result types give the tables' shapes (and so the axis sizes).
  }];
  let arguments = (ins TensorOf<[F32]>:$dy);
  let results = (outs Variadic<TensorOf<[F32]>>:$dtables);
  let assemblyFormat = "$dy attr-dict `:` type($dy) `->` type($dtables)";
}

def St_LayerNormGradOp : St_Op<"layer_norm_grad", [Pure]> {
  let summary = "Adjoint of st.layer_norm: (dx, dweight, dbias)";
  let description = [{
    With xhat = (x - mean) * rstd: `dbias = sum dy`, `dweight = sum dy *
    xhat` (over all but the last dim), and `dx = rstd * (g - mean(g) -
    xhat * mean(g * xhat))` where `g = dy * weight`. Mean and rstd are
    recomputed from x (no saved statistics).
  }];
  let arguments = (ins TensorOf<[F32]>:$input, TensorOf<[F32]>:$weight,
                       TensorOf<[F32]>:$dy, F64Attr:$eps);
  let results = (outs TensorOf<[F32]>:$dx, TensorOf<[F32]>:$dweight,
                      TensorOf<[F32]>:$dbias);
  let assemblyFormat = [{
    $input `,` $weight `,` $dy attr-dict `:` type($input) `,` type($weight)
    `,` type($dy) `->` type($dx) `,` type($dweight) `,` type($dbias)
  }];
}

def St_LinearGradOp : St_Op<"linear_grad", [Pure]> {
  let summary = "Adjoint of st.linear: (dx, dweight, dbias)";
  let description = [{
    For y = x W^T + b: `dx = dy W`, `dweight = dy^T x` (summed over all
    leading dims, [out, in]), `dbias = sum dy` ([out]).
  }];
  let arguments = (ins TensorOf<[F32]>:$input, TensorOf<[F32]>:$weight,
                       TensorOf<[F32]>:$dy);
  let results = (outs TensorOf<[F32]>:$dx, TensorOf<[F32]>:$dweight,
                      TensorOf<[F32]>:$dbias);
  let assemblyFormat = [{
    $input `,` $weight `,` $dy attr-dict `:` type($input) `,` type($weight)
    `,` type($dy) `->` type($dx) `,` type($dweight) `,` type($dbias)
  }];
}

def St_GeluGradOp : St_Op<"gelu_grad", [Pure, AllTypesMatch<["input", "dy", "dx"]>]> {
  let summary = "Adjoint of st.gelu: dx = dy * gelu'(x)";
  let description = [{
    Exact: `gelu'(x) = Phi(x) + x phi(x)` with Phi the standard normal CDF
    `(1 + erf(x / sqrt 2)) / 2` and phi its density. With `approximate`:
    `s + 1.702 x s (1 - s)`, `s = sigmoid(1.702 x)`.
  }];
  let arguments = (ins TensorOf<[F32]>:$input, TensorOf<[F32]>:$dy,
                       UnitAttr:$approximate);
  let results = (outs TensorOf<[F32]>:$dx);
  let assemblyFormat = "$input `,` $dy attr-dict `:` type($input)";
}

def St_CrossEntropyGradOp : St_Op<"cross_entropy_grad", [Pure,
    AllTypesMatch<["logits", "dlogits"]>]> {
  let summary = "Adjoint of st.cross_entropy for its logits";
  let description = [{
    `dlogits[b, n] = (softmax(logits[b, n]) - onehot(target[b, n])) *
    (dnats + dbits / ln 2) / (B N)`, with targets clamped like the forward
    op. `dnats` and `dbits` are the incoming gradients of the two results.
  }];
  let arguments = (ins TensorOf<[F32]>:$logits, TensorOf<[I32]>:$targets,
                       0DTensorOf<[F32]>:$dnats, 0DTensorOf<[F32]>:$dbits);
  let results = (outs TensorOf<[F32]>:$dlogits);
  let assemblyFormat = [{
    $logits `,` $targets `,` $dnats `,` $dbits attr-dict `:` type($logits) `,`
    type($targets) `,` type($dnats) `,` type($dbits)
  }];
}

def St_AttentionGradOp : St_Op<"attention_grad", [Pure,
    AllTypesMatch<["query", "key", "value", "out", "dout", "dquery", "dkey",
                   "dvalue"]>]> {
  let summary = "Adjoint of st.attention: (dq, dk, dv)";
  let description = [{
    Recomputes the probabilities from the saved log-sum-exp instead of
    storing them: `P_ij = exp(scale q_i . k_j - lse_i)` on the layout's
    positions, `D_i = dout_i . out_i`, `dv_j = sum_i P_ij dout_i`,
    `dS_ij = P_ij (dout_i . v_j - D_i)`, `dq_i = scale sum_j dS_ij k_j`,
    `dk_j = scale sum_i dS_ij q_i`. Lowered by the same structure as the
    forward op: no n x n tensor.
  }];
  let arguments = (ins St_AttnTensor:$query, St_AttnTensor:$key,
                       St_AttnTensor:$value, St_AttnTensor:$out,
                       RankedTensorOf<[F32]>:$lse, St_AttnTensor:$dout,
                       St_LayoutAttrInterface:$layout, F64Attr:$scale);
  let results = (outs St_AttnTensor:$dquery, St_AttnTensor:$dkey,
                      St_AttnTensor:$dvalue);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $out `,` $lse `,` $dout
    `layout` `(` $layout `)` `scale` `(` $scale `)` attr-dict `:`
    type($query) `,` type($lse) `->` type($dquery) `,` type($dkey) `,`
    type($dvalue)
  }];
  let hasVerifier = 1;
}

#endif // ST_DIALECT_STGRADOPS_TD
