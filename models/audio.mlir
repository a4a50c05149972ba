// A small model of 8-bit mu-law audio for 2 CPU cores: context 2048
// samples (93 ms at 22050 Hz), strided attention with stride 64 (about
// sqrt(2048)), and the 2-D (row, column) position embedding of width 64 =
// stride; 4 layers of width 64, 2 heads.
module {
  st.transformer @audio vocab = 256, context = 2048, width = 64, heads = 2,
      layers = 4, ff_mult = 4, dropout = 0.0, position = [32, 64],
      layouts = [#st.strided<stride = 64>]
}
