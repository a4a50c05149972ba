// A small text model for CPU training: ~1M parameters, context 1024, the
// fixed pattern with l = 32 = sqrt(context) and c = 8.
module {
  st.transformer @tiny_text vocab = 256, context = 1024, width = 128, heads = 4,
      layers = 5, ff_mult = 4, dropout = 0.1, position = [32, 32],
      layouts = [#st.fixed<stride = 32, summary = 8>]
}
