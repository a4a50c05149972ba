// The paper's Enwik8 model: 30 layers, width 512, 8 heads, context 12288,
// fixed attention with l = 128, c = 32, dropout 0.4 (~95M parameters).
module {
  st.transformer @enwik8 vocab = 256, context = 12288, width = 512, heads = 8,
      layers = 30, ff_mult = 4, dropout = 0.4, position = [96, 128],
      layouts = [#st.fixed<stride = 128, summary = 32>]
}
