// The attention layers of the paper's models at their real shapes (one layer
// each, batch 1). `st-opt models/attention-layouts.mlir --st-layout-stats`
// reports how much of dense causal attention each one does.

// Enwik8: fixed l = 128, c = 32, context 12288, width 512 = 8 heads x 64.
func.func @enwik8_fixed(%x: tensor<1x8x12288x64xbf16>) -> tensor<1x8x12288x64xbf16> {
  %o = st.attention %x, %x, %x layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<1x8x12288x64xbf16>, tensor<1x8x12288x64xbf16>, tensor<1x8x12288x64xbf16>
      -> tensor<1x8x12288x64xbf16>
  return %o : tensor<1x8x12288x64xbf16>
}

// Enwik8 with distinct summary sub-blocks per head (the paper's variant).
func.func @enwik8_fixed_per_head(%x: tensor<1x8x12288x64xbf16>) -> tensor<1x8x12288x64xbf16> {
  %o = st.attention %x, %x, %x layout(#st.fixed<stride = 128, summary = 32, per_head = true>)
      : tensor<1x8x12288x64xbf16>, tensor<1x8x12288x64xbf16>, tensor<1x8x12288x64xbf16>
      -> tensor<1x8x12288x64xbf16>
  return %o : tensor<1x8x12288x64xbf16>
}

// CIFAR-10: strided with stride = one image row of 32 pixels x 3 channels,
// context 3072, 2 heads of 128.
func.func @cifar10_strided(%x: tensor<1x2x3072x128xbf16>) -> tensor<1x2x3072x128xbf16> {
  %o = st.attention %x, %x, %x layout(#st.strided<stride = 96>)
      : tensor<1x2x3072x128xbf16>, tensor<1x2x3072x128xbf16>, tensor<1x2x3072x128xbf16>
      -> tensor<1x2x3072x128xbf16>
  return %o : tensor<1x2x3072x128xbf16>
}

// ImageNet 64x64: strided with stride = one row of 64 x 3, context 12288,
// 16 heads of 32.
func.func @imagenet64_strided(%x: tensor<1x16x12288x32xbf16>) -> tensor<1x16x12288x32xbf16> {
  %o = st.attention %x, %x, %x layout(#st.strided<stride = 192>)
      : tensor<1x16x12288x32xbf16>, tensor<1x16x12288x32xbf16>, tensor<1x16x12288x32xbf16>
      -> tensor<1x16x12288x32xbf16>
  return %o : tensor<1x16x12288x32xbf16>
}

// Classical music: 65536 samples, strided l = 256.
func.func @music_strided(%x: tensor<1x8x65536x64xbf16>) -> tensor<1x8x65536x64xbf16> {
  %o = st.attention %x, %x, %x layout(#st.strided<stride = 256>)
      : tensor<1x8x65536x64xbf16>, tensor<1x8x65536x64xbf16>, tensor<1x8x65536x64xbf16>
      -> tensor<1x8x65536x64xbf16>
  return %o : tensor<1x8x65536x64xbf16>
}

// Half the heads strided, half fixed (the paper's multi-head form).
func.func @mixed_heads(%x: tensor<1x8x16384x64xbf16>) -> tensor<1x8x16384x64xbf16> {
  %o = st.attention %x, %x, %x
      layout(#st.per_head<[#st.strided<stride = 128>, #st.fixed<stride = 128, summary = 32>]>)
      : tensor<1x8x16384x64xbf16>, tensor<1x8x16384x64xbf16>, tensor<1x8x16384x64xbf16>
      -> tensor<1x8x16384x64xbf16>
  return %o : tensor<1x8x16384x64xbf16>
}

// Dense causal at the enwik8 shape, for comparison.
func.func @enwik8_dense(%x: tensor<1x8x12288x64xbf16>) -> tensor<1x8x12288x64xbf16> {
  %o = st.attention %x, %x, %x layout(#st.dense_causal)
      : tensor<1x8x12288x64xbf16>, tensor<1x8x12288x64xbf16>, tensor<1x8x12288x64xbf16>
      -> tensor<1x8x12288x64xbf16>
  return %o : tensor<1x8x12288x64xbf16>
}
