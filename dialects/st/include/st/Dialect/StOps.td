//===- StOps.td - Operations of the st dialect -------------*- tablegen -*-===//

#ifndef ST_DIALECT_STOPS_TD
#define ST_DIALECT_STOPS_TD

include "st/Dialect/StBase.td"
include "st/Dialect/StInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def St_FloatElt : AnyTypeOf<[F16, BF16, F32, F64]>;
def St_AttnTensor : RankedTensorOf<[F16, BF16, F32, F64]>;

def St_AttentionOp : St_Op<"attention", [Pure]> {
  let summary = "Causal multi-head attention with a sparse layout";
  let description = [{
    `q`, `k` and `v` are `tensor<B x H x N x D x elt>`; the result has the
    same type. Row i of head h attends to the keys j of `layout`'s pattern
    for head h: `out[b,h,i] = sum_j softmax_j(scale * q_i . k_j) v_j`. The
    scale defaults to `1/sqrt(D)`.

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
  let results = (outs St_AttnTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `layout` `(` $layout `)` (`scale` `(` $scale^ `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->`
    type($result)
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

#endif // ST_DIALECT_STOPS_TD
