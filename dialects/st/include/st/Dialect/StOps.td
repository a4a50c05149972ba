//===- StOps.td - Operations of the st dialect -------------*- tablegen -*-===//

#ifndef ST_DIALECT_STOPS_TD
#define ST_DIALECT_STOPS_TD

include "st/Dialect/StBase.td"
include "st/Dialect/StInterfaces.td"
include "st/Dialect/StOpInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def St_FloatElt : AnyTypeOf<[F16, BF16, F32, F64]>;
def St_AttnTensor : RankedTensorOf<[F16, BF16, F32, F64]>;

def St_AttentionOp : St_Op<"attention", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure]> {
  let summary = "Causal multi-head attention with a sparse layout";
  let description = [{
    `q`, `k` and `v` are `tensor<B x H x N x D x elt>`; the result has the
    same type. Row i of head h attends to the keys j of `layout`'s pattern
    for head h: `out[b,h,i] = sum_j softmax_j(scale * q_i . k_j) v_j`. The
    scale defaults to `1/sqrt(D)`. The optional second result is the
    per-row log-sum-exp of the scaled scores ([B, H, N], f32; -inf for rows
    without keys), which the backward pass needs.

    ```mlir
    %o = st.attention %q, %k, %v layout(#st.fixed<stride = 128, summary = 32>)
        : tensor<1x8x16384x64xbf16>, tensor<1x8x16384x64xbf16>,
          tensor<1x8x16384x64xbf16> -> tensor<1x8x16384x64xbf16>
    ```
  }];
  let arguments = (ins St_AttnTensor:$query, St_AttnTensor:$key,
                       St_AttnTensor:$value,
                       St_LayoutAttrInterface:$layout,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs St_AttnTensor:$result,
                      Optional<RankedTensorOf<[F32]>>:$lse);
  let assemblyFormat = [{
    $query `,` $key `,` $value `layout` `(` $layout `)` (`scale` `(` $scale^ `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->`
    type($result) (`,` type($lse)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The softmax scale: the attribute, or 1/sqrt(head dim).
    double getScaleValue();
    int64_t getBatchSize() { return getQuery().getType().getDimSize(0); }
    int64_t getNumHeads() { return getQuery().getType().getDimSize(1); }
    int64_t getSeqLen() { return getQuery().getType().getDimSize(2); }
    int64_t getHeadDim() { return getQuery().getType().getDimSize(3); }
  }];
}

def St_AttentionRowOp : St_Op<"attention_row", [Pure,
    AllTypesMatch<["query", "key", "value", "result"]>,
    AllTypesMatch<["key_cache", "value_cache"]>]> {
  let summary = "Attention of one query row against cached keys and values";
  let description = [{
    One step of autoregressive decoding: the query, key and value of the
    row at position `position` (`tensor<B x H x 1 x D>`) and the keys and
    values of the earlier rows (`key_cache`, `value_cache`,
    `tensor<B x H x N x D>`; rows `j < position` are read, the others are
    ignored). Head h attends to the keys j of row `position` of `layout`'s
    pattern for head h, key `position` itself being `key`/`value`:
    `out[b,h] = sum_j softmax_j(scale * q . k_j) v_j`, the row `position`
    of `st.attention` over the full sequence. The scale defaults to
    `1/sqrt(D)`. A row without keys gives 0. `position` must lie in
    `[0, N)`; the lowering clamps it there, so no value reads outside the
    caches.

    ```mlir
    %o = st.attention_row %q, %k, %v, %kc, %vc, %pos
        layout(#st.fixed<stride = 128, summary = 32>)
        : tensor<4x8x1x64xf32>, tensor<4x8x16384x64xf32> -> tensor<4x8x1x64xf32>
    ```
  }];
  let arguments = (ins St_AttnTensor:$query, St_AttnTensor:$key,
                       St_AttnTensor:$value, St_AttnTensor:$key_cache,
                       St_AttnTensor:$value_cache, Index:$position,
                       St_LayoutAttrInterface:$layout,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs St_AttnTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $key_cache `,` $value_cache `,` $position
    `layout` `(` $layout `)` (`scale` `(` $scale^ `)`)? attr-dict `:`
    type($query) `,` type($key_cache) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The softmax scale: the attribute, or 1/sqrt(head dim).
    double getScaleValue();
    int64_t getNumHeads() { return getQuery().getType().getDimSize(1); }
    int64_t getCacheLength() { return getKeyCache().getType().getDimSize(2); }
    int64_t getHeadDim() { return getQuery().getType().getDimSize(3); }
  }];
}

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

def St_ParamOp : St_Op<"param", [Symbol]> {
  let summary = "A trainable parameter declared at module level";
  let description = [{
    Declares a named fp32 parameter and how it is initialised. Names follow
    PyTorch's (`blocks.3.attn.qkv.weight`), so checkpoints load there as-is.

    ```mlir
    st.param @"blocks.0.attn.proj.weight" : tensor<512x512xf32>
        init(#st.normal<std = 0.0114>)
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, TypeAttrOf<AnyRankedTensor>:$type,
                       AnyAttr:$init);
  let assemblyFormat = "$sym_name `:` $type `init` `(` $init `)` attr-dict";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    RankedTensorType getTensorType() {
      return ::llvm::cast<RankedTensorType>(getType());
    }
  }];
}

def St_LoadParamOp : St_Op<"load_param", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "The current value of a parameter";
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Model ops (tensor level)
//===----------------------------------------------------------------------===//

def St_EmbedOp : St_Op<"embed", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure]> {
  let summary = "Token embedding: out[b, n] = table[tokens[b, n]]";
  let arguments = (ins TensorOf<[I32]>:$tokens, TensorOf<[F32]>:$table);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $tokens `,` $table attr-dict `:` type($tokens) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
}

def St_PosEmbedOp : St_Op<"pos_embed", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Adds a factorized learned position embedding";
  let description = [{
    `out[b, n] = x[b, n] + sum_a tables[a][idx_a(n)]` where the position n is
    written in mixed radix over the tables' row counts (s_0, ..., s_{k-1}),
    most significant first: `idx_a(n) = (n / prod_{a' > a} s_a') mod s_a`.
    Text and audio use two axes (row, column of width = stride); images use
    (row, column, channel).
  }];
  let arguments = (ins TensorOf<[F32]>:$input, Variadic<TensorOf<[F32]>>:$tables);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $tables attr-dict `:` type($input) `,` type($tables)
  }];
  let hasVerifier = 1;
}

def St_LayerNormOp : St_Op<"layer_norm", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer normalisation over the last dimension";
  let arguments = (ins TensorOf<[F32]>:$input, TensorOf<[F32]>:$weight,
                       TensorOf<[F32]>:$bias,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight) `,` type($bias)
  }];
  let hasVerifier = 1;
}

def St_LinearOp : St_Op<"linear", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure]> {
  let summary = "y = x W^T + b with W stored [out, in] like PyTorch";
  let arguments = (ins TensorOf<[F32]>:$input, TensorOf<[F32]>:$weight,
                       Optional<TensorOf<[F32]>>:$bias);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def St_GeluOp : St_Op<"gelu", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure, SameOperandsAndResultType]> {
  let summary = "GELU, exact: x * (1 + erf(x / sqrt(2))) / 2";
  let description = [{
    With `approximate`, the paper's sigmoid form `x * sigmoid(1.702 x)`.
  }];
  let arguments = (ins TensorOf<[F32]>:$input, UnitAttr:$approximate);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def St_DropoutOp : St_Op<"dropout", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Inverted dropout with a counter-based mask";
  let description = [{
    Keeps element e with probability 1 - rate and scales it by 1/(1 - rate).
    The mask is Philox4x32-10 keyed by (seed, step, `op_id`) with the element
    index as counter, where `rng` holds (seed, step): recomputing the op in
    the backward pass reproduces the same mask, and resuming training at a
    step reproduces it bit for bit.
  }];
  let arguments = (ins TensorOf<[F32]>:$input, TensorOf<[I64]>:$rng,
                       F64Attr:$rate, I64Attr:$op_id);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $rng attr-dict `:` type($input) `,` type($rng)
  }];
  let hasVerifier = 1;
}

def St_SplitHeadsOp : St_Op<"split_heads", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure]> {
  let summary = "[B, N, H*Dh] -> [B, H, N, Dh]";
  let arguments = (ins TensorOf<[F16, BF16, F32, F64]>:$input);
  let results = (outs TensorOf<[F16, BF16, F32, F64]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def St_MergeHeadsOp : St_Op<"merge_heads", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure]> {
  let summary = "[B, H, N, Dh] -> [B, N, H*Dh]";
  let arguments = (ins TensorOf<[F16, BF16, F32, F64]>:$input);
  let results = (outs TensorOf<[F16, BF16, F32, F64]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def St_CrossEntropyOp : St_Op<"cross_entropy", [DeclareOpInterfaceMethods<St_DifferentiableOpInterface>, Pure]> {
  let summary = "Mean next-byte cross-entropy in nats and in bits per byte";
  let arguments = (ins TensorOf<[F32]>:$logits, TensorOf<[I32]>:$targets);
  let results = (outs 0DTensorOf<[F32]>:$nats, 0DTensorOf<[F32]>:$bits);
  let assemblyFormat = [{
    $logits `,` $targets attr-dict `:` type($logits) `,` type($targets)
    `->` type($nats) `,` type($bits)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// The compact model
//===----------------------------------------------------------------------===//

def St_TransformerOp : St_Op<"transformer", [Symbol]> {
  let summary = "A whole Sparse Transformer in one op";
  let description = [{
    The pre-activation network of the paper: token embedding plus factorized
    position embedding, `layers` residual blocks
    `H' = H + a + b`, `a = dropout(attn(norm1(H)))`,
    `b = dropout(ff(norm2(H + a)))`, then a final norm and the output
    projection. `--st-expand-model` turns it into `st.param` declarations
    and a `@<name>_loss` function of ordinary `st` ops.

    - `layouts`: one layout for every layer, or a list used interleaved
      (layer r uses `layouts[r mod k]`); per-head assignment is a
      `#st.per_head` layout.
    - `position`: the factorized position embedding's axis sizes, most
      significant first: `[context / stride, stride]` for text and audio,
      `[height, width, channels]` for images.

    ```mlir
    st.transformer @tiny vocab = 256, context = 1024, width = 128, heads = 4,
        layers = 4, ff_mult = 4, dropout = 0.1, position = [32, 32],
        layouts = [#st.strided<stride = 32>]

    The optional unit attribute `approximate_gelu` selects the paper's
    sigmoid GELU.
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, I64Attr:$vocab, I64Attr:$context_size,
                       I64Attr:$width, I64Attr:$heads, I64Attr:$layers,
                       I64Attr:$ff_mult, F64Attr:$dropout,
                       DenseI64ArrayAttr:$position,
                       ArrayAttr:$layouts,
                       UnitAttr:$approximate_gelu);
  let assemblyFormat = [{
    $sym_name `vocab` `=` $vocab `,` `context` `=` $context_size `,` `width` `=` $width
    `,` `heads` `=` $heads `,` `layers` `=` $layers
    `,` `ff_mult` `=` $ff_mult `,` `dropout` `=` $dropout
    `,` `position` `=` $position `,` `layouts` `=` $layouts attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The layout of layer `layer` (layouts are used interleaved).
    LayoutAttrInterface getLayerLayout(int64_t layer);
  }];
}

include "st/Dialect/StAttentionOps.td"
include "st/Dialect/StGradOps.td"

#endif // ST_DIALECT_STOPS_TD
