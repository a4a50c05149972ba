// Bad input to st-run is one located error line and a non-zero exit.
// RUN: rm -rf %t && mkdir -p %t
// RUN: not st-run %s eval --data %t/missing.txt 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: touch %t/empty.txt
// RUN: not st-run %s eval --data %t/empty.txt 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: head -c 40 %s > %t/short.txt
// RUN: not st-run %s train --data %t/short.txt --steps 1 2>&1 | FileCheck %s --check-prefix=SHORT
// RUN: not st-run %s train --data %s --bogus 2>&1 | FileCheck %s --check-prefix=FLAG
// RUN: not st-run %t/nomodel.mlir eval --data %s 2>&1 | FileCheck %s --check-prefix=NOMODEL
// RUN: not st-run %S/Inputs/invalid-model.mlir eval --data %s 2>&1 | FileCheck %s --check-prefix=INVALID
// RUN: not st-run %s train --data %s --resume 2>&1 | FileCheck %s --check-prefix=RESUME
// RUN: not st-run %s train --data %s --steps 1 --remat fast 2>&1 | FileCheck %s --check-prefix=REMAT

// MISSING: st-run: error: {{.*}}missing.txt: no such file
// EMPTY: st-run: error: {{.*}}empty.txt: file is empty
// SHORT: st-run: error: {{.*}}short.txt: context 64 longer than the data (40 bytes)
// FLAG: Unknown command line argument '--bogus'
// NOMODEL: nomodel.mlir:0:0: error: no such model file
// INVALID: invalid-model.mlir:3:3: error: 'st.transformer' op width 30 is not a multiple of heads 4
// INVALID-NOT: see current operation
// RESUME: st-run: error: --resume needs --checkpoint
// REMAT: errors.mlir:{{[0-9]+}}:1: error: unknown remat policy 'fast' (expected none, paper or budget=<bytes>)
module {
  st.transformer @m vocab = 256, context = 64, width = 16, heads = 2,
      layers = 1, ff_mult = 2, dropout = 0.0, position = [8, 8],
      layouts = [#st.dense_causal]
}
