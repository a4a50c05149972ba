// The paper's CIFAR-10 model: 128 layers, width 256, 2 heads, context
// 32 x 32 x 3 = 3072, strided attention with stride = one image row of
// 96 bytes, dropout 0.25; factorized row / column / channel embeddings.
module {
  st.transformer @cifar10 vocab = 256, context = 3072, width = 256, heads = 2,
      layers = 128, ff_mult = 4, dropout = 0.25, position = [32, 32, 3],
      layouts = [#st.strided<stride = 96>]
}
