// Every model file in models/ parses, verifies and expands.
// RUN: st-opt %st_src_root/models/tiny-text.mlir --st-expand-model | FileCheck %s --check-prefix=TINY
// RUN: st-opt %st_src_root/models/enwik8.mlir --st-expand-model | FileCheck %s --check-prefix=ENWIK8
// RUN: st-opt %st_src_root/models/cifar10.mlir --st-expand-model | FileCheck %s --check-prefix=CIFAR
// RUN: st-opt %st_src_root/models/imagenet64.mlir --st-expand-model | FileCheck %s --check-prefix=IMAGENET
// RUN: st-opt %st_src_root/models/music.mlir --st-expand-model | FileCheck %s --check-prefix=MUSIC
// RUN: st-opt %st_src_root/models/fashion-mnist.mlir --st-expand-model | FileCheck %s --check-prefix=FASHION
// RUN: st-opt %st_src_root/models/audio.mlir --st-expand-model | FileCheck %s --check-prefix=AUDIO
// RUN: st-opt %st_src_root/models/fashion-mnist.mlir --st-training-pipeline --st-to-loops | FileCheck %s --check-prefix=FASHION-LOOPS
// RUN: st-opt %st_src_root/models/attention-layouts.mlir --st-layout-stats -o /dev/null | FileCheck %s --check-prefix=LAYOUTS

// TINY: st.param @pos_emb.row.weight : tensor<16x128xf32>
// TINY: st.param @blocks.3.mlp.fc2.bias
// TINY-NOT: @blocks.4.
// TINY: func.func @tiny_text_loss(%{{.*}}: tensor<?x256xi32>
// TINY: layout(#st.fixed<stride = 16, summary = 4>)
// TINY: func.func @tiny_text_eval

// ENWIK8: st.param @pos_emb.row.weight : tensor<96x512xf32>
// ENWIK8: st.param @pos_emb.col.weight : tensor<128x512xf32>
// ENWIK8: st.param @blocks.29.mlp.fc2.bias
// ENWIK8-NOT: @blocks.30.
// ENWIK8: func.func @enwik8_loss(%{{.*}}: tensor<?x12288xi32>
// ENWIK8: st.attention {{.*}} layout(#st.fixed<stride = 128, summary = 32>) {{.*}} -> tensor<?x8x12288x64xf32>
// ENWIK8: st.dropout {{.*}} rate = 4.000000e-01

// CIFAR: st.param @pos_emb.row.weight : tensor<32x256xf32>
// CIFAR: st.param @pos_emb.col.weight : tensor<32x256xf32>
// CIFAR: st.param @pos_emb.chan.weight : tensor<3x256xf32>
// CIFAR: st.param @blocks.127.mlp.fc2.bias
// CIFAR-NOT: @blocks.128.
// CIFAR: st.attention {{.*}} layout(#st.strided<stride = 96>) {{.*}} -> tensor<?x2x3072x128xf32>

// IMAGENET: st.param @pos_emb.chan.weight : tensor<3x512xf32>
// IMAGENET: st.param @blocks.47.mlp.fc2.bias
// IMAGENET-NOT: @blocks.48.
// IMAGENET: st.attention {{.*}} layout(#st.strided<stride = 192>) {{.*}} -> tensor<?x16x12288x32xf32>

// MUSIC: st.param @blocks.11.mlp.fc2.bias
// MUSIC: st.attention {{.*}} layout(#st.strided<stride = 256>) {{.*}} -> tensor<?x16x65536x64xf32>

// FASHION: st.param @pos_emb.row.weight : tensor<28x64xf32>
// FASHION: st.param @pos_emb.col.weight : tensor<28x64xf32>
// FASHION-NOT: @pos_emb.chan
// FASHION: st.param @blocks.3.mlp.fc2.bias
// FASHION-NOT: @blocks.4.
// FASHION: func.func @fashion_mnist_loss(%{{.*}}: tensor<?x784xi32>
// FASHION: st.pos_embed {{.*}} : tensor<?x784x64xf32>, tensor<28x64xf32>, tensor<28x64xf32>
// FASHION: st.attention {{.*}} layout(#st.strided<stride = 28>) {{.*}} -> tensor<?x2x784x32xf32>

// A stride that is not a power of two lowers to loops, forward and backward.
// FASHION-LOOPS-NOT: st.attention
// FASHION-LOOPS: func.func @fashion_mnist_train_step
// FASHION-LOOPS: scf.parallel

// AUDIO: st.param @pos_emb.row.weight : tensor<32x64xf32>
// AUDIO: st.param @pos_emb.col.weight : tensor<64x64xf32>
// AUDIO: func.func @audio_loss(%{{.*}}: tensor<?x2048xi32>
// AUDIO: st.attention {{.*}} layout(#st.strided<stride = 64>) {{.*}} -> tensor<?x2x2048x32xf32>

// LAYOUTS-COUNT-7: st.attention loc(
