// Bad data files are one error line naming the file and what was expected,
// a non-zero exit, and no compilation (the data is checked first).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/make_images.py %t/cut-idx3-ubyte 10 8 8 --drop 5
// RUN: not st-run %s train --data %t/cut-idx3-ubyte 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// RUN: %python %S/Inputs/make_images.py %t/cut.idx.gz 10 8 8 --drop 1
// RUN: not st-run %s eval --data %t/cut.idx.gz 2>&1 | FileCheck %s --check-prefix=TRUNCATED-GZ
// RUN: not st-run %s eval --data %s --format idx 2>&1 | FileCheck %s --check-prefix=MAGIC
// RUN: %python %S/Inputs/make_images.py %t/big-idx3-ubyte 10 12 12
// RUN: not st-run %s eval --data %t/big-idx3-ubyte 2>&1 | FileCheck %s --check-prefix=SIZE
// RUN: %python %S/Inputs/make_images.py %t/square-idx3-ubyte 10 8 8
// RUN: not st-run %s eval --data %t/square-idx3-ubyte 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: %python -c "open('%t/batch.bin', 'wb').write(bytes(3073 + 5))"
// RUN: not st-run %s eval --data %t/batch.bin 2>&1 | FileCheck %s --check-prefix=CIFAR
// RUN: cp %s %t/speech.wav
// RUN: not st-run %s eval --data %t/speech.wav 2>&1 | FileCheck %s --check-prefix=WAV
// RUN: cp %s %t/picture.png
// RUN: not st-run %s eval --data %t/picture.png 2>&1 | FileCheck %s --check-prefix=PNG
// RUN: mkdir %t/empty
// RUN: not st-run %s eval --data %t/empty 2>&1 | FileCheck %s --check-prefix=FOLDER
// RUN: not st-run %s eval --data %s --format jpeg 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: %python %S/Inputs/make_images.py %t/ok-idx3-ubyte 10 4 16
// RUN: not st-run %s train --data %t/ok-idx3-ubyte --val-fraction 1 2>&1 | FileCheck %s --check-prefix=NOTRAIN

// TRUNCATED: st-run: error: {{.*}}cut-idx3-ubyte: truncated: the header promises 10 images of 8x8x1 (640 bytes), the file has 635
// TRUNCATED-NOT: error
// TRUNCATED-GZ: st-run: error: {{.*}}cut.idx.gz: truncated: the header promises 10 images of 8x8x1 (640 bytes), the file has 639
// MAGIC: st-run: error: {{.*}}data-errors.mlir: wrong magic 0x2f2f2042, expected an IDX file of images (magic 0x00000803: unsigned bytes, 3 dimensions)
// SIZE: st-run: error: {{.*}}big-idx3-ubyte: images are 12x12x1 = 144 bytes, expected 64 bytes each (the model's context)
// SHAPE: st-run: error: {{.*}}square-idx3-ubyte: images are 8x8x1, but model m declares position [4, 16] (expected [height, width, channels], or [height, width x channels])
// CIFAR: st-run: error: {{.*}}batch.bin: truncated: 3078 bytes = 1 records + 5 bytes, expected CIFAR-10 records of 3073 bytes (1 label + 32x32x3 pixels)
// WAV: st-run: error: {{.*}}speech.wav: wrong magic, expected a WAV file (RIFF/WAVE) of 8- or 16-bit integer PCM
// PNG: st-run: error: {{.*}}picture.png: wrong magic, expected a PNG file
// FOLDER: st-run: error: {{.*}}empty: no .png files in the folder, expected a folder of PNG images
// FORMAT: st-run: error: --format: unknown format 'jpeg', expected one of auto, bytes, idx, cifar10, png, wav
// NOTRAIN: st-run: error: --val-fraction must be below 1 for training
module {
  st.transformer @m vocab = 256, context = 64, width = 16, heads = 2,
      layers = 1, ff_mult = 2, dropout = 0.0, position = [4, 16],
      layouts = [#st.strided<stride = 16>]
}
