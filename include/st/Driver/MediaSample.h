//===- MediaSample.h - Sampling images and audio ----------------*- C++ -*-===//
//
// Images and audio on top of byte-level sampling (Sample.h).
//
// An image model reads the start byte rt::kImageStartByte followed by the
// image's bytes in raster order and predicts every byte of the image, so a
// sample of an H x W x C image is context = H W C bytes after the start
// byte: sampleSequences draws all but the last byte from the cached decode
// step, the last one comes from the full forward pass over the first
// context bytes (the decode step's sequences end at the context). A
// completion gives the start byte and the top floor(H / 2) rows of a real
// image and samples the rest.
//
// `st-run MODEL sample --output FILE.png` writes a grid of images
// (unconditional, or with --data IMAGES each completion beside its
// original); `--output FILE.wav` writes mu-law audio as 16-bit WAV files
// (unconditional from one byte of silence, or with --data WAV the second
// half of consecutive stretches of the recording after their first half).
//
//===----------------------------------------------------------------------===//

#ifndef ST_DRIVER_MEDIASAMPLE_H
#define ST_DRIVER_MEDIASAMPLE_H

#include "st/Driver/Commands.h"
#include "st/Driver/Sample.h"
#include "st/Runtime/Images.h"

namespace mlir {
namespace st {

/// Samples `count` images of `shape` (shape.size() == the model's context).
/// With `given`, sample i completes given->image(i): its top
/// floor(height / 2) rows are kept and the rest sampled. `options.length` is
/// ignored; the random numbers are those of sampleSequences, position p of
/// the sequence (start byte at 0) using sampleUniform(seed, i, p).
::st::rt::Expected<::st::rt::ImageSet>
sampleImages(const CompiledModel &model, ::st::rt::ParamStore &params,
             const ::st::rt::ImageShape &shape, int64_t count,
             const ::st::rt::ImageSet *given, const SampleOptions &options);

/// Whether `st-run sample --output PATH` asks for images (.png) or audio
/// (.wav) instead of text.
bool isMediaOutput(const std::string &path);

/// `st-run MODEL sample --output FILE.png|FILE.wav`.
int runMediaSample(const SampleCommandOptions &options);

} // namespace st
} // namespace mlir

#endif // ST_DRIVER_MEDIASAMPLE_H
