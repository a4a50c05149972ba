// A small image model for Fashion-MNIST (28 x 28 grey images, context 784
// bytes in raster order) that trains on 2 CPU cores: 4 layers of width 64,
// 2 heads, the paper's strided attention with stride = one image row of 28
// pixels (band: the previous row; column: the pixels above), and row /
// column position embeddings from the declared image shape [28, 28].
module {
  st.transformer @fashion_mnist vocab = 256, context = 784, width = 64,
      heads = 2, layers = 4, ff_mult = 4, dropout = 0.0, position = [28, 28],
      layouts = [#st.strided<stride = 28>]
}
