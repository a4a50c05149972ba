// st.attention and st.attention_row print, parse and print again to the
// same text.
// RUN: st-opt %s | st-opt | FileCheck %s

// CHECK-LABEL: func.func @attention_f32
// CHECK: st.attention %{{.*}}, %{{.*}}, %{{.*}} layout(#st.strided<stride = 32>) : tensor<2x4x1024x64xf32>, tensor<2x4x1024x64xf32>, tensor<2x4x1024x64xf32> -> tensor<2x4x1024x64xf32>
func.func @attention_f32(%q: tensor<2x4x1024x64xf32>, %k: tensor<2x4x1024x64xf32>,
                         %v: tensor<2x4x1024x64xf32>) -> tensor<2x4x1024x64xf32> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 32>)
      : tensor<2x4x1024x64xf32>, tensor<2x4x1024x64xf32>, tensor<2x4x1024x64xf32>
      -> tensor<2x4x1024x64xf32>
  return %o : tensor<2x4x1024x64xf32>
}

// CHECK-LABEL: func.func @attention_scale_bf16
// CHECK: layout(#st.fixed<stride = 128, summary = 32, per_head = true>) scale(1.250000e-01) : tensor<1x8x4096x64xbf16>
func.func @attention_scale_bf16(%q: tensor<1x8x4096x64xbf16>) -> tensor<1x8x4096x64xbf16> {
  %o = st.attention %q, %q, %q layout(#st.fixed<stride = 128, summary = 32, per_head = true>) scale(0.125)
      : tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>
      -> tensor<1x8x4096x64xbf16>
  return %o : tensor<1x8x4096x64xbf16>
}

// CHECK-LABEL: func.func @attention_every_layout
func.func @attention_every_layout(%q: tensor<1x2x256x32xf16>) {
  // CHECK: layout(#st.dense_causal)
  %0 = st.attention %q, %q, %q layout(#st.dense_causal)
      : tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16> -> tensor<1x2x256x32xf16>
  // CHECK: layout(#st.local<window = 300>)
  %1 = st.attention %q, %q, %q layout(#st.local<window = 300>)
      : tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16> -> tensor<1x2x256x32xf16>
  // CHECK: layout(#st.union<[#st.fixed<stride = 64, summary = 8>, #st.strided<stride = 16>]>)
  %2 = st.attention %q, %q, %q layout(#st.union<[#st.fixed<stride = 64, summary = 8>, #st.strided<stride = 16>]>)
      : tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16> -> tensor<1x2x256x32xf16>
  // CHECK: layout(#st.per_head<[#st.local<window = 16>, #st.column<stride = 16>]>)
  %3 = st.attention %q, %q, %q layout(#st.per_head<[#st.local<window = 16>, #st.column<stride = 16>]>)
      : tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16> -> tensor<1x2x256x32xf16>
  // CHECK: layout(#st.union<[#st.block<size = 64>, #st.summary<stride = 64, width = 8, offset = 8>]>)
  %4 = st.attention %q, %q, %q layout(#st.union<[#st.block<size = 64>, #st.summary<stride = 64, width = 8, offset = 8>]>)
      : tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16>, tensor<1x2x256x32xf16> -> tensor<1x2x256x32xf16>
  return
}

// A dynamic batch is allowed; the length must be static for the layout check
// only when it is known.
// CHECK-LABEL: func.func @attention_dynamic
func.func @attention_dynamic(%q: tensor<?x2x?x32xf32>) -> tensor<?x2x?x32xf32> {
  // CHECK: st.attention
  %o = st.attention %q, %q, %q layout(#st.strided<stride = 64>)
      : tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32> -> tensor<?x2x?x32xf32>
  return %o : tensor<?x2x?x32xf32>
}

// CHECK-LABEL: func.func @attention_row
// CHECK: st.attention_row %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} layout(#st.fixed<stride = 32, summary = 8>) scale(2.500000e-01) : tensor<?x4x1x16xf32>, tensor<?x4x1024x16xf32> -> tensor<?x4x1x16xf32>
func.func @attention_row(%q: tensor<?x4x1x16xf32>, %k: tensor<?x4x1x16xf32>, %v: tensor<?x4x1x16xf32>,
                         %kc: tensor<?x4x1024x16xf32>, %vc: tensor<?x4x1024x16xf32>, %pos: index) -> tensor<?x4x1x16xf32> {
  %o = st.attention_row %q, %k, %v, %kc, %vc, %pos layout(#st.fixed<stride = 32, summary = 8>) scale(0.25)
      : tensor<?x4x1x16xf32>, tensor<?x4x1024x16xf32> -> tensor<?x4x1x16xf32>
  return %o : tensor<?x4x1x16xf32>
}
