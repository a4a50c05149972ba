// Speech synthesised by espeak-ng (a Debian package, nothing downloaded) is
// read as 8-bit mu-law samples, and a 2-layer model's loss on it drops from
// 8 bits/dim (5.545 nats) to below 5.0 nats in 30 steps (measured 4.66):
// the WAV path end to end.
// REQUIRES: espeak-ng
// RUN: rm -rf %t && mkdir -p %t
// RUN: espeak-ng -w %t/speech.wav "Sparse transformers model images, audio and text as sequences of bytes."
// RUN: st-run %s train --data %t/speech.wav --steps 30 --batch 8 --lr 0.01 --warmup 5 --metrics %t/metrics.jsonl > %t/out.txt
// RUN: FileCheck %s < %t/out.txt
// RUN: %python %S/Inputs/check_loss_drop.py %t/metrics.jsonl 5.5 5.0

// CHECK: train: model speech ({{[0-9]+}} parameters), 30 steps of 8 x 128 bytes from {{.*}}speech.wav ({{[0-9]+}} train / {{[0-9]+}} validation mu-law samples at 22050 Hz)
// CHECK: train: validation loss {{[0-9.]+}} nats, {{[0-9.]+}} bits/dim over {{[0-9]+}} sequences
module {
  st.transformer @speech vocab = 256, context = 128, width = 32, heads = 2,
      layers = 2, ff_mult = 4, dropout = 0.0, position = [8, 16],
      layouts = [#st.strided<stride = 16>]
}
