// Every layout attribute prints, parses and prints again to the same text.
// RUN: st-opt %s | st-opt | FileCheck %s

// CHECK-LABEL: func.func @patterns
func.func @patterns() attributes {
  // CHECK-SAME: dense = #st.dense_causal
  dense = #st.dense_causal,
  // CHECK-SAME: fixed = #st.fixed<stride = 128, summary = 32>
  fixed = #st.fixed<stride = 128, summary = 32>,
  // The default per_head = false is not printed.
  // CHECK-SAME: fixed_default = #st.fixed<stride = 64, summary = 8>
  fixed_default = #st.fixed<summary = 8, stride = 64, per_head = false>,
  // CHECK-SAME: fixed_per_head = #st.fixed<stride = 128, summary = 32, per_head = true>
  fixed_per_head = #st.fixed<stride = 128, summary = 32, per_head = true>,
  // CHECK-SAME: local = #st.local<window = 256>
  local = #st.local<window = 256>,
  // CHECK-SAME: per_head = #st.per_head<[#st.strided<stride = 64>, #st.fixed<stride = 64, summary = 16>]>
  per_head = #st.per_head<[#st.strided<stride = 64>, #st.fixed<stride = 64, summary = 16>]>,
  // CHECK-SAME: strided = #st.strided<stride = 28>
  strided = #st.strided<stride = 28>,
  // CHECK-SAME: union = #st.union<[#st.strided<stride = 128>, #st.local<window = 32>]>
  union = #st.union<[#st.strided<stride = 128>, #st.local<window = 32>]>
} {
  return
}

// CHECK-LABEL: func.func @factors
func.func @factors() attributes {
  // CHECK-SAME: band = #st.band<width = 128>
  band = #st.band<width = 128>,
  // CHECK-SAME: block = #st.block<size = 128>
  block = #st.block<size = 128>,
  // CHECK-SAME: column = #st.column<stride = 128>
  column = #st.column<stride = 128, from = 0>,
  // CHECK-SAME: column_from = #st.column<stride = 16, from = 32>
  column_from = #st.column<stride = 16, from = 32>,
  // CHECK-SAME: nested = #st.union<[#st.band<width = 128>, #st.column<stride = 128>]>
  nested = #st.union<[#st.band<width = 128>, #st.column<stride = 128>]>,
  // CHECK-SAME: summary = #st.summary<stride = 128, width = 32>
  summary = #st.summary<stride = 128, width = 32>,
  // CHECK-SAME: summary_earlier = #st.summary<stride = 128, width = 32, earlier_blocks = true>
  summary_earlier = #st.summary<stride = 128, width = 32, earlier_blocks = true>,
  // CHECK-SAME: summary_offset = #st.summary<stride = 128, width = 32, offset = 64>
  summary_offset = #st.summary<stride = 128, width = 32, offset = 64>
} {
  return
}
