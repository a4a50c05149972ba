// A 2-layer model trained for 50 steps on text loses a third of its initial
// loss (ln 256 = 5.545 nats, to below 3.7; measured 3.45): a check of the
// whole training path (autodiff,
// remat, AdamW, the CPU code), not of its speed.
// RUN: rm -rf %t && mkdir -p %t
// RUN: cat %st_src_root/README.md %st_src_root/docs/architecture.md %st_src_root/test/Driver/train-loss-drops.mlir > %t/data.txt
// RUN: st-run %s train --data %t/data.txt --steps 50 --batch 8 --lr 0.005 --warmup 5 --metrics %t/metrics.jsonl > %t/out.txt
// RUN: FileCheck %s < %t/out.txt
// RUN: %python %S/Inputs/check_loss_drop.py %t/metrics.jsonl 5.5 3.7

// CHECK: train: model drop (
// CHECK: train: validation loss {{[0-9.]+}} nats
module {
  st.transformer @drop vocab = 256, context = 32, width = 32, heads = 2,
      layers = 2, ff_mult = 4, dropout = 0.0, position = [4, 8],
      layouts = [#st.strided<stride = 8>]
}
