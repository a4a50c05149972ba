// Classical music as 8-bit mu-law samples: context 65536, strided attention
// with stride 256 = sqrt(context), width 1024, 16 heads, 12 layers
// (~152M parameters, the size the paper reports for this context).
module {
  st.transformer @music vocab = 256, context = 65536, width = 1024, heads = 16,
      layers = 12, ff_mult = 4, dropout = 0.0, position = [256, 256],
      layouts = [#st.strided<stride = 256>]
}
