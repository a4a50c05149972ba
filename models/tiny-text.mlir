// A small text model for CPU training: 0.8M parameters, context 256, the
// fixed pattern with l = 16 = sqrt(context) and c = 4. It reaches about 2.5
// bits per byte on the bundled corpus in a few minutes on 2 cores
// (scripts/main.sh): at this size, training is limited by the number of
// optimizer steps, so the model is kept narrow enough for ~10 steps/s.
module {
  st.transformer @tiny_text vocab = 256, context = 256, width = 128, heads = 4,
      layers = 4, ff_mult = 4, dropout = 0.0, position = [16, 16],
      layouts = [#st.fixed<stride = 16, summary = 4>]
}
