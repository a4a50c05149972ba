//===- Passes.td - Passes over the st dialect --------------*- tablegen -*-===//

#ifndef ST_TRANSFORMS_PASSES_TD
#define ST_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def StLayoutStats : Pass<"st-layout-stats"> {
  let summary = "Report the work of every st.attention's sparse layout";
  let description = [{
    For every `st.attention`, prints (to stdout, one block per op, in program
    order) the layout, the shape, the nonzeros of the pattern (per batch
    element, summed over heads), its density relative to dense causal
    attention, the number of empty / full / partial tiles for each tile size
    in `tile-sizes` (square tiles, counted per head over the whole n x n
    grid), and the FLOPs of the forward pass (4 * D * nonzeros * B: QK^T and
    PV) and of forward plus backward (3.5x forward, the usual convention).
    With `annotate`, also attaches `st.nonzeros` and `st.density` to the op.
  }];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t",
               "Square tile sizes to classify (default 64,128)">,
    Option<"annotate", "annotate", "bool", /*default=*/"false",
           "Attach st.nonzeros and st.density attributes to each op">
  ];
}

def StExpandModel : Pass<"st-expand-model", "::mlir::ModuleOp"> {
  let summary = "Expand st.transformer into parameters and per-layer ops";
  let description = [{
    Replaces every `st.transformer @m` by
    - `st.param` declarations named as PyTorch names them (`tok_emb.weight`,
      `pos_emb.<axis>.weight`, `blocks.<i>.ln1.weight`,
      `blocks.<i>.attn.qkv.weight` [3D, D] with q, k, v stacked,
      `blocks.<i>.attn.proj.*`, `blocks.<i>.ln2.*`, `blocks.<i>.mlp.fc1.*`,
      `blocks.<i>.mlp.fc2.*`, `ln_f.*`, `head.weight` [V, D]) with the
      paper's initialisers: linear weights N(0, 0.125 / sqrt(d_in)), the
      attention and second feed-forward output projections scaled by
      1 / sqrt(2 layers), biases 0, norm gains 1, the logits projection 0;
    - `func.func @m_loss(%tokens, %targets, %rng) -> (nats, bits)`: the
      training forward pass with dropout at the end of each residual
      branch (op ids: 2i for attention, 2i + 1 for the feed-forward);
    - `func.func @m_eval(%tokens, %targets) -> (nats, bits)`: the same
      without dropout;
    - `func.func @m_logits(%tokens) -> [B, N, V]`: the logits, without
      dropout;
    - `func.func @m_decode(%tokens [B, 1], %pos [] i64, %k_0, %v_0, ...)
      -> (logits [B, V], %k'_0, %v'_0, ...)`: one step of cached
      generation at position pos (no dropout): `st.attention_row` attends
      the new row against the per-layer key/value caches [B, H, N, D / H]
      (rows before pos), and the step returns the new rows [B, H, 1, D / H]
      for the caller to store at row pos.
    Batch is dynamic unless `batch` is set.
  }];
  let options = [
    Option<"batch", "batch", "int64_t", /*default=*/"0",
           "Static batch size of the generated functions (0: dynamic)">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def StDecomposeAttention : Pass<"st-decompose-attention"> {
  let summary = "Split st.attention into structured parts merged by log-sum-exp";
  let description = [{
    Lowers each `st.attention` by the structure of its layout: head groups
    for per-head layouts (strided slices of the head dimension), one
    `st.attention_part` per disjoint factor of the pattern, a strided column
    turned into dense causal attention over the transposed `[N/L, L]` view,
    fixed summaries gathered into a compact key sequence, and an
    `st.attention_merge` that combines the parts exactly by log-sum-exp.
    `st.attention_grad` is decomposed the same way into one
    `st.attention_part_grad` per part, all reading the global log-sum-exp
    and `D = rowsum(dout * out)` (computed once); their gradients are mapped
    back from the parts' views (inverse transpose, scatter to the summary
    positions) and summed.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def StParamsToArgs : Pass<"st-params-to-args", "::mlir::ModuleOp"> {
  let summary = "Pass parameters to entry points as leading arguments";
  let description = [{
    Every function that reads an `st.param` gets one leading tensor argument
    per `st.param` of the module, in declaration order; `st.load_param`
    becomes that argument, the function is marked `llvm.emit_c_interface`
    and the declarations are removed. The runtime, which owns the
    parameters, reads the declarations before compiling and calls every
    entry point with the parameters first.
  }];
}

def StAutodiff : Pass<"st-autodiff", "::mlir::ModuleOp"> {
  let summary = "Build the gradient function of every training loss";
  let description = [{
    For every function named `<m>_loss` (see `suffix`) returning the scalar
    loss first, creates `<m>_grad` with the same arguments returning the
    loss function's results followed by the gradient of the loss with
    respect to every `st.param`, in declaration order. Gradients come from
    each op's own rule (`DifferentiableOpInterface`); attention backward
    recomputes probabilities from the forward's log-sum-exp. The loss
    function itself is kept.
  }];
  let options = [
    Option<"suffix", "suffix", "std::string", /*default=*/"\"_loss\"",
           "Name suffix of the functions to differentiate">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def StOptimizer : Pass<"st-optimizer", "::mlir::ModuleOp"> {
  let summary = "Build the training step: gradients, clipping, schedule, AdamW";
  let description = [{
    For every `<m>_grad` function (from `--st-autodiff`), creates
    `<m>_train_step(params..., m..., v..., step, data...) -> (params'...,
    m'..., v'..., nats, bits, grad_norm, lr)`: gradients clipped by their
    global norm, a learning rate warmed up linearly then decayed along a
    cosine, and Adam with bias correction and decoupled weight decay on the
    weight matrices of linear layers only. State is fp32.
  }];
  let options = [
    Option<"lr", "lr", "double", /*default=*/"1e-3", "Peak learning rate">,
    Option<"minLr", "min-lr", "double", /*default=*/"1e-5",
           "Learning rate at the end of the cosine decay">,
    Option<"warmup", "warmup", "int64_t", /*default=*/"100",
           "Steps of linear warm-up">,
    Option<"totalSteps", "total-steps", "int64_t", /*default=*/"1000",
           "Step at which the cosine decay reaches min-lr">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.95", "Adam beta2">,
    Option<"eps", "eps", "double", /*default=*/"1e-8", "Adam epsilon">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.01",
           "Decoupled weight decay of linear layers' weight matrices">,
    Option<"clip", "clip", "double", /*default=*/"1.0",
           "Global gradient-norm clipping threshold">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
}

def StRemat : Pass<"st-remat", "::mlir::ModuleOp"> {
  let summary = "Recompute activations in gradient functions instead of keeping them";
  let description = [{
    In every `<m>_grad` function, backward uses of forward activations are
    rewired to copies of the forward ops recomputed just before them.
    `policy=none` keeps everything; `policy=paper` keeps only block inputs
    (the residual stream) and recomputes attention and feed-forward blocks;
    `policy=budget=<bytes>` also keeps the largest activations that fit in
    the budget. Counter-based dropout makes recomputed masks identical.
  }];
  let options = [
    Option<"policy", "policy", "std::string", /*default=*/"\"paper\"",
           "none, paper or budget=<bytes>">
  ];
}

def StMemoryPlan : Pass<"st-memory-plan", "::mlir::ModuleOp"> {
  let summary = "Plan activation buffers with lifetime-based reuse; print the peak";
  let description = [{
    For every function: one buffer per tensor an op produces (views share
    their source's), alive from definition to last use, placed by greedy
    first-fit (largest first). Prints `st-memory-plan: @f: N buffers, peak P
    bytes, T bytes without reuse` and attaches `st.memory_peak`. Dynamic
    dimensions count as `batch`.
  }];
  let options = [
    Option<"batch", "batch", "int64_t", /*default=*/"1",
           "Size assumed for dynamic dimensions">
  ];
}

#endif // ST_TRANSFORMS_PASSES_TD
