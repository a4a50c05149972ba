// The paper's ImageNet 64x64 model: 48 layers, width 512, 16 heads, context
// 64 x 64 x 3 = 12288, strided attention with stride = one row of 192 bytes.
module {
  st.transformer @imagenet64 vocab = 256, context = 12288, width = 512,
      heads = 16, layers = 48, ff_mult = 4, dropout = 0.0,
      position = [64, 64, 3], layouts = [#st.strided<stride = 192>]
}
