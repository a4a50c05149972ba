// Resuming from a checkpoint continues bit for bit: 6 steps in one run and
// 3 + 3 steps with a checkpoint in between end with identical files (same
// data order, dropout masks, optimizer state).
// RUN: rm -rf %t && mkdir -p %t
// RUN: cat %st_src_root/README.md %st_src_root/docs/architecture.md > %t/data.txt
// RUN: st-run %s train --data %t/data.txt --steps 6 --batch 4 --seed 3 --checkpoint %t/straight.safetensors > /dev/null
// An interrupted run: the same schedule, stopped after step 3.
// RUN: st-run %s train --data %t/data.txt --steps 6 --batch 4 --seed 3 --checkpoint %t/resumed.safetensors --checkpoint-every 3 --stop-after 3 > /dev/null
// RUN: st-run %s train --data %t/data.txt --steps 6 --batch 4 --seed 3 --checkpoint %t/resumed.safetensors --resume | FileCheck %s
// RUN: cmp %t/straight.safetensors %t/resumed.safetensors
// RUN: cmp %t/straight.safetensors.optim %t/resumed.safetensors.optim

// CHECK: train: resuming {{.*}}resumed.safetensors at step 3
module {
  st.transformer @resume vocab = 256, context = 32, width = 16, heads = 2,
      layers = 1, ff_mult = 2, dropout = 0.2, position = [4, 8],
      layouts = [#st.fixed<stride = 8, summary = 2>]
}
