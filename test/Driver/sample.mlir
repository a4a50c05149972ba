// st-run sample: cached decoding from a checkpoint, here random parameters
// written by another safetensors writer (Python). The text is a function
// of the seed (stdout and --output agree), temperature 0 is greedy, and
// every bad input is one line and a non-zero exit, before the model
// compiles wherever the model's configuration suffices.
// RUN: rm -rf %t && mkdir -p %t
// RUN: cat %st_src_root/README.md > %t/data.txt
// RUN: %python %S/Inputs/write_checkpoint.py %t/ck.safetensors --width 8 --layers 1 --ff-mult 1 --position 4,4

// Two samples of 4 + 10 bytes, each followed by a newline: 30 bytes.
// RUN: st-run %s sample --checkpoint %t/ck.safetensors --prompt "The " --length 10 --seed 7 --samples 2 --output %t/a.txt 2> %t/a.err
// RUN: FileCheck %s --check-prefix=PROGRESS < %t/a.err
// RUN: st-run %s sample --checkpoint %t/ck.safetensors --prompt "The " --length 10 --seed 7 --samples 2 > %t/b.txt 2> /dev/null
// RUN: cmp %t/a.txt %t/b.txt
// RUN: %python -c "import sys; d = open(sys.argv[1], 'rb').read(); assert len(d) == 30 and d[:4] == d[15:19] == b'The ' and d[14:15] == d[29:] == b'\n', d" %t/a.txt
// Greedy, from a prompt file, to the end of the context (16 - 3 bytes).
// RUN: printf 'abc' > %t/prompt.txt
// RUN: st-run %s sample --checkpoint %t/ck.safetensors --prompt-file %t/prompt.txt --temperature 0 > %t/g.txt 2> /dev/null
// RUN: %python -c "import sys; d = open(sys.argv[1], 'rb').read(); assert len(d) == 17 and d[:3] == b'abc', d" %t/g.txt

// PROGRESS: sample: model m ({{[0-9]+}} parameters) from {{.*}}ck.safetensors: 2 x (4 prompt + 10 sampled bytes), temperature 1.00, top-k 0, seed 7
// PROGRESS: position 13/13 (100.0%) | sampled nll {{[0-9.]+}} | {{[0-9.]+}} bits/byte

// Flags and files checked before the model compiles.
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors 2>&1 | FileCheck %s --check-prefix=NOPROMPT
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt a --prompt-file %t/prompt.txt 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt "" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt-file %t/missing.txt 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt a --temperature -1 2>&1 | FileCheck %s --check-prefix=TEMP
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt a --top-k -3 2>&1 | FileCheck %s --check-prefix=TOPK
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt a --samples 0 2>&1 | FileCheck %s --check-prefix=SAMPLES
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt a --length -2 2>&1 | FileCheck %s --check-prefix=LENGTH
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt a --output %t/nodir/out.txt 2>&1 | FileCheck %s --check-prefix=OUTDIR
// RUN: not st-run %s sample --prompt a 2>&1 | FileCheck %s --check-prefix=NOCKPT
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt a --top-k x 2>&1 | FileCheck %s --check-prefix=BADINT
// Against the model's context and the checkpoint file; then against the
// compiled model's parameters (a checkpoint of another model).
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt-file %t/data.txt 2>&1 | FileCheck %s --check-prefix=LONG
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --prompt "The " --length 13 2>&1 | FileCheck %s --check-prefix=PAST
// RUN: not st-run %s sample --checkpoint %t/missing.safetensors --prompt a 2>&1 | FileCheck %s --check-prefix=MISSINGCK
// RUN: head -c 100 %t/ck.safetensors > %t/corrupt.safetensors
// RUN: not st-run %s sample --checkpoint %t/corrupt.safetensors --prompt a 2>&1 | FileCheck %s --check-prefix=CORRUPT
// RUN: %python %S/Inputs/write_checkpoint.py %t/other.safetensors --width 16 --layers 1 --ff-mult 1 --position 4,4
// RUN: not st-run %s sample --checkpoint %t/other.safetensors --prompt a 2>&1 | FileCheck %s --check-prefix=OTHER

// NOPROMPT: st-run: error: no prompt: give --prompt TEXT or --prompt-file FILE
// BOTH: st-run: error: --prompt and --prompt-file are exclusive
// EMPTY: st-run: error: --prompt is empty: sampling needs at least one byte
// NOFILE: st-run: error: cannot read prompt file '{{.*}}missing.txt': {{.*}}o such file
// TEMP: st-run: error: --temperature must be a finite number >= 0, got -1
// TOPK: st-run: error: --top-k must be >= 0 (0: all bytes), got -3
// SAMPLES: st-run: error: --samples must be at least 1, got 0
// LENGTH: st-run: error: --length must be >= 0 (0: up to the end of the context), got -2
// OUTDIR: st-run: error: cannot write '{{.*}}out.txt': '{{.*}}nodir' is not a writable directory
// NOCKPT: for the --checkpoint option: must be specified at least once
// BADINT: for the --top-k option: 'x' value invalid
// LONG: st-run: error: the prompt ({{[0-9]+}} bytes) is longer than the model's context of 16 bytes
// PAST: st-run: error: --length 13 goes past the context: 4 prompt bytes + 13 > 16 (at most 12)
// MISSINGCK: st-run: error: {{.*}}missing.safetensors: no such file
// CORRUPT: st-run: error: {{.*}}corrupt.safetensors: {{.*}}truncated or not safetensors
// OTHER: st-run: error: {{.*}}other.safetensors: {{.*}}tok_emb.weight{{.*}}
module {
  st.transformer @m vocab = 256, context = 16, width = 8, heads = 1,
      layers = 1, ff_mult = 1, dropout = 0.0, position = [4, 4],
      layouts = [#st.strided<stride = 4>]
}
