//===- Images.h - Image files as bytes in raster order ----------*- C++ -*-===//
//
// The paper models an image as the sequence of its bytes in raster order:
// row by row, within a row pixel by pixel, within a pixel channel by channel
// (H x W x C bytes). These readers turn the usual image datasets into that
// order and the writers turn such bytes back into files:
//  - IDX (MNIST, Fashion-MNIST; optionally gzip-compressed): unsigned-byte
//    tensors [count, rows, columns] or [count, rows, columns, channels];
//  - the CIFAR-10 binary format: records of one label byte and 32 x 32 x 3
//    pixels stored channel-planar (all red, all green, all blue), which the
//    reader interleaves;
//  - PNG, one file or a folder of them (libpng): grey (1 channel) or RGB
//    (3 channels), 8 bits per channel; palettes are expanded, 16-bit
//    channels reduced to 8 bits and an alpha channel composed onto black.
// Every error is one line that starts with the file's path and says what was
// expected.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_IMAGES_H
#define ST_RUNTIME_IMAGES_H

#include "st/Runtime/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace st {
namespace rt {

/// Height x width x channels of one image.
struct ImageShape {
  int64_t height = 0, width = 0, channels = 0;

  /// Bytes per image: height * width * channels.
  int64_t size() const { return height * width * channels; }
  /// "28x28x1".
  std::string str() const;
  bool operator==(const ImageShape &other) const {
    return height == other.height && width == other.width &&
           channels == other.channels;
  }
  bool operator!=(const ImageShape &other) const { return !(*this == other); }
};

/// `count` images of one shape, each shape.size() bytes in raster order,
/// stored one after another.
struct ImageSet {
  ImageShape shape;
  int64_t count = 0;
  std::vector<uint8_t> pixels;

  const uint8_t *image(int64_t i) const {
    return pixels.data() + i * shape.size();
  }
  uint8_t *image(int64_t i) { return pixels.data() + i * shape.size(); }
};

/// Reads an IDX file of unsigned bytes with 3 dimensions (count, rows,
/// columns: 1 channel) or 4 (..., channels), gzip-compressed or not.
/// Errors: wrong magic (not IDX, an IDX of labels or of another element
/// type), zero-sized dimensions, truncated data, bytes after the last image.
Expected<ImageSet> readIdx(const std::string &path);

/// Writes images as an IDX file (3 dimensions when channels == 1, else 4),
/// gzip-compressed when `compress`.
Status writeIdx(const std::string &path, const ImageSet &images,
                bool compress = false);

/// The size of one CIFAR-10 record: a label byte and 32 x 32 x 3 pixels.
constexpr int64_t kCifar10RecordSize = 1 + 32 * 32 * 3;

/// Reads a CIFAR-10 binary batch (data_batch_*.bin, test_batch.bin): any
/// number of 3073-byte records. Labels are dropped. Errors: empty file, a
/// size that is not a whole number of records (truncated), a label byte
/// above 9 (not a CIFAR-10 file).
Expected<ImageSet> readCifar10(const std::string &path);

/// Writes 32x32x3 images (and one label 0-9 per image) in the CIFAR-10
/// binary format.
Status writeCifar10(const std::string &path, const ImageSet &images,
                    const std::vector<uint8_t> &labels);

/// Reads one PNG file as a set of one image.
Expected<ImageSet> readPng(const std::string &path);

/// Reads every `*.png` file of a folder, in order of file name; all must
/// have the same shape. Errors name the offending file.
Expected<ImageSet> readPngFolder(const std::string &path);

/// Encodes one image (channels 1: grey, 3: RGB, 4: RGBA) as PNG at zlib
/// `level` (0-9; 9 is the maximum compression), with libpng's adaptive
/// per-row filters.
Expected<std::vector<uint8_t>>
encodePng(const uint8_t *pixels, const ImageShape &shape, int level = 9);

/// encodePng, written to `path`.
Status writePng(const std::string &path, const uint8_t *pixels,
                const ImageShape &shape, int level = 9);

/// Lays `images` out as one image: a grid of `columns` images per row (the
/// last row filled with `background`), `padding` pixels of `background`
/// between and around them.
ImageSet tileImages(const ImageSet &images, int64_t columns, int64_t padding,
                    uint8_t background = 255);

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_IMAGES_H
