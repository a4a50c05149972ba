// st-run sample for images and audio, from random parameters written by
// another safetensors writer (Python): a PNG grid of unconditional images,
// completions beside their originals (the top half given), WAV files of
// sampled mu-law audio; each a function of the seed. The PNG files are
// decoded by a Python reader of their own (Inputs/check_grid.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/write_checkpoint.py %t/ck.safetensors --width 8 --layers 1 --ff-mult 1 --position 8,8
// RUN: %python %S/Inputs/make_images.py %t/test-idx3-ubyte 10 8 8

// RUN: st-run %s sample --checkpoint %t/ck.safetensors --output %t/grid.png --samples 5 --seed 3 --scale 2 2> %t/grid.err
// RUN: FileCheck %s --check-prefix=GRID < %t/grid.err
// RUN: %python %S/Inputs/check_grid.py %t/grid.png %t/test-idx3-ubyte 5 3 2
// RUN: st-run %s sample --checkpoint %t/ck.safetensors --output %t/again.png --samples 5 --seed 3 --scale 2 2> /dev/null
// RUN: cmp %t/grid.png %t/again.png
// RUN: st-run %s sample --checkpoint %t/ck.safetensors --output %t/completions.png --data %t/test-idx3-ubyte --samples 4 --columns 2 2> %t/completions.err
// RUN: FileCheck %s --check-prefix=COMPLETIONS < %t/completions.err
// RUN: %python %S/Inputs/check_grid.py %t/completions.png %t/test-idx3-ubyte 4 2 1 --completions

// GRID: sample: model m ({{[0-9]+}} parameters) from {{.*}}ck.safetensors: 5 images of 8x8x1, temperature 1.00, top-k 0, seed 3
// GRID: position 63/63 (100.0%) | sampled nll {{[0-9.]+}} | {{[0-9.]+}} bits/dim
// GRID: sample: wrote {{.*}}grid.png (44x64x1 grid)
// COMPLETIONS: 4 images of 8x8x1 completing {{.*}}test-idx3-ubyte
// COMPLETIONS: sample: wrote {{.*}}completions.png (22x42x1 grid)

// Audio: two WAV files of 64 samples at 22050 Hz from one byte of silence,
// and completions of a recording at its own rate.
// RUN: st-run %s sample --checkpoint %t/ck.safetensors --output %t/sound.wav --samples 2 2> %t/sound.err
// RUN: FileCheck %s --check-prefix=SOUND < %t/sound.err
// RUN: %python -c "import wave, sys; w = wave.open(sys.argv[1]); assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 22050, 64)" %t/sound-1.wav
// RUN: %python -c "import math, struct, wave; w = wave.open('%t/tone.wav', 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(b''.join(struct.pack('<h', int(8000 * math.sin(i / 5))) for i in range(2000)))"
// RUN: st-run %s sample --checkpoint %t/ck.safetensors --output %t/tone-out.wav --data %t/tone.wav 2> %t/tone.err
// RUN: FileCheck %s --check-prefix=TONE < %t/tone.err

// SOUND: 2 stretches of audio of 64 samples, temperature
// SOUND: sample: wrote {{.*}}sound-0.wav (64 samples at 22050 Hz)
// SOUND: sample: wrote {{.*}}sound-1.wav (64 samples at 22050 Hz)
// TONE: sample: wrote {{.*}}tone-out.wav (64 samples at 8000 Hz)

// Bad requests are one line, before the model compiles.
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --output %t/x.png --prompt a 2>&1 | FileCheck %s --check-prefix=PROMPT
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --output %t/x.png --data %t/tone.wav 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --output %t/x.png --data %t/test-idx3-ubyte --samples 11 2>&1 | FileCheck %s --check-prefix=FEW
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --output %t/x.png --scale 0 2>&1 | FileCheck %s --check-prefix=SCALE
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --output %t/x.wav --top-k -2 2>&1 | FileCheck %s --check-prefix=TOPK
// RUN: %python %S/Inputs/make_images.py %t/big-idx3-ubyte 3 10 10
// RUN: not st-run %s sample --checkpoint %t/ck.safetensors --output %t/x.png --data %t/big-idx3-ubyte 2>&1 | FileCheck %s --check-prefix=SIZE
// PROMPT: st-run: error: --prompt and --prompt-file are for text; images and audio start from the start byte or from --data
// KIND: st-run: error: {{.*}}tone.wav: wav data, but --output {{.*}}x.png asks for images
// FEW: st-run: error: {{.*}}test-idx3-ubyte: 10 images, fewer than --samples 11
// SCALE: st-run: error: --scale must be in 1..16, got 0
// TOPK: st-run: error: --top-k must be >= 0 (0: all bytes), got -2
// SIZE: st-run: error: {{.*}}big-idx3-ubyte: images are 10x10x1 = 100 bytes, expected 64 bytes each (the model's context)
module {
  st.transformer @m vocab = 256, context = 64, width = 8, heads = 1,
      layers = 1, ff_mult = 1, dropout = 0.0, position = [8, 8],
      layouts = [#st.strided<stride = 8>]
}
