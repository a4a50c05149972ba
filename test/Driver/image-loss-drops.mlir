// A 2-layer image model trained for 30 steps on 12 x 12 images (an IDX file
// written by the test) loses over two thirds of its initial loss of 8
// bits/dim (ln 256 = 5.545 nats, to below 1.5; measured 0.77): a check of
// the image data path end to end (gzip IDX, one image per sequence behind
// the start byte, the strided pattern with stride 12, a stride that is not a
// power of two), not of its speed.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/make_images.py %t/boxes-idx3-ubyte.gz 400 12 12
// RUN: st-run %s train --data %t/boxes-idx3-ubyte.gz --steps 30 --batch 8 --lr 0.01 --warmup 5 --metrics %t/metrics.jsonl > %t/out.txt
// RUN: FileCheck %s < %t/out.txt
// RUN: %python %S/Inputs/check_loss_drop.py %t/metrics.jsonl 5.5 1.5
// RUN: st-run %s eval --data %t/boxes-idx3-ubyte.gz --val-fraction 1 --max-sequences 16 | FileCheck %s --check-prefix=EVAL

// CHECK: train: model boxes ({{[0-9]+}} parameters), 30 steps of 8 x 144 bytes from {{.*}}boxes-idx3-ubyte.gz (400 images of 12x12x1 (380 train / 20 validation))
// CHECK: train: validation loss {{[0-9.]+}} nats, {{[0-9.]+}} bits/dim over 20 sequences
// EVAL: eval: model boxes ({{[0-9]+}} parameters), 16 sequences of 144 bytes from the validation split of {{.*}} (400 images of 12x12x1 (0 train / 400 validation))
// EVAL: eval: loss 5.5{{[0-9]+}} nats, 8.0{{[0-9]+}} bits/dim
module {
  st.transformer @boxes vocab = 256, context = 144, width = 32, heads = 2,
      layers = 2, ff_mult = 4, dropout = 0.0, position = [12, 12],
      layouts = [#st.strided<stride = 12>]
}
