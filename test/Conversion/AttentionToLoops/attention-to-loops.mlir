// --convert-st-attention-to-loops: the tiled online-softmax form.
// RUN: st-opt %s --convert-st-attention-to-loops="block-q=32 block-k=16" --canonicalize -split-input-file | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-loops="count-work=1" -split-input-file | FileCheck %s --check-prefix=COUNT

// A band part: parallel over (batch x head, query tile of 32); per row the
// key tiles of 16 start at the band's first key; keys are clipped to
// [i - 7, i] so no score is masked; two passes per key tile.
// CHECK-LABEL: func.func @band
// CHECK: %[[Q:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x2x100x16xf32> to memref<1x2x100x16xf32>
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x2x100x16xf32>
// CHECK: %[[LSE:.*]] = memref.alloc() : memref<1x2x100xf32>
// CHECK: scf.parallel (%[[BH:.*]], %[[QT:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK: %[[SCORES:.*]] = memref.alloc() : memref<16xf32>
// CHECK: scf.for %[[I:.*]] =
// CHECK: scf.for %[[KT:.*]] = {{.*}} iter_args(%[[M:.*]] = %{{.*}}, %[[L:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}}) -> (f32, f32, vector<16xf32>)
// CHECK: scf.for %[[J:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (f32)
// CHECK: %[[KROW:.*]] = vector.load %{{.*}}[%{{.*}}, %{{.*}}, %[[J]], %{{.*}}] : memref<1x2x100x16xf32>, vector<16xf32>
// CHECK: vector.reduction <add>
// CHECK-NOT: arith.select
// CHECK: memref.store %{{.*}}, %[[SCORES]]
// CHECK: arith.maximumf
// CHECK: scf.if
// CHECK: math.exp
// CHECK: vector.fma
// CHECK: vector.store %{{.*}}, %[[OUT]][
// CHECK: math.log
// CHECK: memref.store %{{.*}}, %[[LSE]][
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: bufferization.to_tensor %[[LSE]] restrict writable
// COUNT-LABEL: func.func @band
// COUNT: memref.get_global @st_attention_work
// COUNT: memref.atomic_rmw addi
func.func @band(%q: tensor<1x2x100x16xf32>) -> (tensor<1x2x100x16xf32>, tensor<1x2x100xf32>) {
  %o, %l = st.attention_part %q, %q, %q factor(#st.band<width = 8>) scale(0.25)
      : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>
      -> tensor<1x2x100x16xf32>, tensor<1x2x100xf32>
  return %o, %l : tensor<1x2x100x16xf32>, tensor<1x2x100xf32>
}

// -----

// A part with an exclusion keeps a mask: select of -inf on masked scores.
// bf16 inputs are extended to f32 and the output truncated back.
// CHECK-LABEL: func.func @masked_bf16
// CHECK: arith.extf %{{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK: arith.remsi
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
func.func @masked_bf16(%q: tensor<2x1x40x8xbf16>) -> tensor<2x1x40x8xbf16> {
  %o, %l = st.attention_part %q, %q, %q factor(#st.column<stride = 4, from = 4>) excluded([#st.block<size = 8>]) scale(0.5)
      : tensor<2x1x40x8xbf16>, tensor<2x1x40x8xbf16>, tensor<2x1x40x8xbf16>
      -> tensor<2x1x40x8xbf16>, tensor<2x1x40xf32>
  return %o : tensor<2x1x40x8xbf16>
}

// -----

// The merge: per row, lse = log sum exp(lse_p) and out = sum of the parts
// weighted by exp(lse_p - lse).
// CHECK-LABEL: func.func @merge
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) =
// CHECK-COUNT-2: tensor.extract
// CHECK: math.exp
// CHECK: math.exp
// CHECK: math.log
// CHECK: memref.store
// CHECK: vector.fma
// CHECK: vector.fma
// CHECK: vector.store
func.func @merge(%a: tensor<?x2x10x4xf32>, %la: tensor<?x2x10xf32>, %b: tensor<?x2x10x4xf32>, %lb: tensor<?x2x10xf32>) -> (tensor<?x2x10x4xf32>, tensor<?x2x10xf32>) {
  %o, %l = st.attention_merge(%a, %b) (%la, %lb) : (tensor<?x2x10x4xf32>, tensor<?x2x10x4xf32>) (tensor<?x2x10xf32>, tensor<?x2x10xf32>) -> tensor<?x2x10x4xf32>, tensor<?x2x10xf32>
  return %o, %l : tensor<?x2x10x4xf32>, tensor<?x2x10xf32>
}
