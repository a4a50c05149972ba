//===- Dataset.h - Training data in any supported format --------*- C++ -*-===//
//
// What `st-run --data PATH [--format F]` reads. The format is detected from
// the file (magic numbers first, the extension as a fallback) unless given:
//
//   bytes    any file: its raw bytes (text); a byte stream
//   idx      IDX images (MNIST, Fashion-MNIST), plain or .gz
//   cifar10  CIFAR-10 binary batches
//   png      a folder of PNG files (or one PNG file)
//   wav      a WAV file of 8/16-bit PCM, as 8-bit mu-law samples; a stream
//
// Byte streams (bytes, wav) are ByteDatasets: random windows of context + 1
// bytes for training, consecutive windows of the held-out tail for
// evaluation. Images are one sequence each: context = height x width x
// channels, and the model reads the start byte kImageStartByte followed by
// the image's first context - 1 bytes and predicts all `context` bytes, so
// the loss per byte is the bits per dimension of the image. Training draws
// whole images from the training split; evaluation visits the held-out
// images in order.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_DATASET_H
#define ST_RUNTIME_DATASET_H

#include "st/Runtime/Data.h"
#include "st/Runtime/Images.h"

#include <optional>

namespace st {
namespace rt {

enum class DataFormat { Auto, Bytes, Idx, Cifar10, Png, Wav };

/// "auto", "bytes", "idx", "cifar10", "png", "wav".
const char *dataFormatName(DataFormat format);

/// The names parseDataFormat accepts, for messages: "auto, bytes, ...".
const char *dataFormatChoices();

/// Parses a --format value; nothing when the name is unknown.
std::optional<DataFormat> parseDataFormat(const std::string &name);

/// The format of `path`: a folder is `png`; a file's magic number decides
/// (gzip data by the magic of its contents), then its extension (`.idx*` or
/// `*-ubyte`: idx, `.bin`: cifar10, `.png`, `.wav`), else `bytes`.
Expected<DataFormat> detectDataFormat(const std::string &path);

/// Reads an image file (or PNG folder) of `format` (Auto: detected); an
/// error for formats that are not images.
Expected<ImageSet> readImages(const std::string &path, DataFormat format);

/// The byte images start with: the model's first input, from which it
/// predicts the first pixel.
constexpr uint8_t kImageStartByte = 0;

class Dataset {
public:
  /// Loads `path` as `format` (Auto: detect). `valFraction` in [0, 1] of the
  /// data is held out as the validation split (its tail: bytes for streams,
  /// whole images for images, at least one window or image when > 0); 1
  /// holds out everything (evaluation of a test file). Images must be
  /// exactly `context` bytes: otherwise an error naming the file, the image
  /// shape and the context.
  static Expected<Dataset> load(const std::string &path, DataFormat format,
                                int64_t context, double valFraction);

  DataFormat format() const { return kind; }
  bool isImages() const { return images.has_value(); }
  /// The images' shape; only when isImages().
  const ImageShape &imageShape() const { return images->shape; }
  /// Audio's sample rate in Hz; 0 for other formats.
  int64_t sampleRate() const { return rate; }

  /// One line for logs, e.g. "60000 images of 28x28x1 (57000 train / 3000
  /// validation)" or "1000 train / 100 validation bytes".
  std::string summary() const;

  /// Fills `out` with batchSize rows of context + 1 bytes (see the file
  /// comment); depends on (seed, step, batchSize, context) only.
  Status trainBatch(uint64_t step, int64_t batchSize, int64_t context,
                    uint64_t seed, std::vector<uint8_t> &out) const;

  /// The validation sequences of context + 1 bytes, in order.
  std::vector<ByteSpan> evalSequences(int64_t context) const;

  /// The validation images (raster order, without the start byte); only
  /// when isImages().
  ImageSet validationImages() const;

private:
  Dataset() = default;

  struct Images {
    ImageShape shape;
    int64_t trainCount = 0, valCount = 0;
    /// Every image as kImageStartByte followed by its shape.size() bytes.
    std::vector<uint8_t> sequences;
  };

  DataFormat kind = DataFormat::Bytes;
  std::string name;
  int64_t rate = 0;
  std::optional<ByteDataset> stream;
  std::optional<Images> images;
};

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_DATASET_H
