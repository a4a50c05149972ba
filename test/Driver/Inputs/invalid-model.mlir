// A model that fails to verify (used by errors.mlir).
module {
  st.transformer @x vocab = 256, context = 64, width = 30, heads = 4,
      layers = 1, ff_mult = 4, dropout = 0.0, position = [8, 8],
      layouts = [#st.dense_causal]
}
