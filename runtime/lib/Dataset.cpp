//===- Dataset.cpp - Training data in any supported format ----------------===//

#include "st/Runtime/Dataset.h"

#include "st/Runtime/Audio.h"
#include "st/Runtime/Files.h"
#include "st/Runtime/Rng.h"

#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <sys/stat.h>

using namespace st::rt;

namespace {
/// Philox substream of training image indices ("imgs" in ASCII).
constexpr uint64_t kImageSubstream = 0x696d6773;

struct FormatName {
  DataFormat format;
  const char *name;
};
constexpr FormatName kFormatNames[] = {
    {DataFormat::Auto, "auto"}, {DataFormat::Bytes, "bytes"},
    {DataFormat::Idx, "idx"},   {DataFormat::Cifar10, "cifar10"},
    {DataFormat::Png, "png"},   {DataFormat::Wav, "wav"}};

bool endsWith(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The first bytes of the file, decompressed if it is gzip data (zlib's
/// gzread passes other files through unchanged).
std::vector<uint8_t> headOf(const std::string &path, size_t size) {
  std::vector<uint8_t> head(size);
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file)
    return {};
  int got = gzread(file, head.data(), unsigned(size));
  gzclose(file);
  head.resize(got > 0 ? size_t(got) : 0);
  return head;
}

/// A byte stream: the file's bytes, or a WAV file's mu-law samples (then
/// `rate` is set to its sample rate).
Expected<ByteDataset> readStream(const std::string &path, DataFormat format,
                                 int64_t context, double valFraction,
                                 int64_t &rate) {
  if (format == DataFormat::Bytes)
    return ByteDataset::load(path, context, valFraction);
  Expected<MuLawAudio> audio = readWav(path);
  if (!audio)
    return audio.status();
  rate = audio->sampleRate;
  return ByteDataset::fromBytes(std::move(audio->samples), context, valFraction,
                                path);
}

} // namespace

Expected<ImageSet> st::rt::readImages(const std::string &path,
                                      DataFormat format) {
  if (format == DataFormat::Auto) {
    Expected<DataFormat> detected = detectDataFormat(path);
    if (!detected)
      return detected.status();
    format = *detected;
  }
  if (format == DataFormat::Idx)
    return readIdx(path);
  if (format == DataFormat::Cifar10)
    return readCifar10(path);
  if (format != DataFormat::Png)
    return Status::error(path + ": " + dataFormatName(format) +
                         " data, expected images (idx, cifar10 or png)");
  struct stat info;
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
    return readPngFolder(path);
  return readPng(path);
}

const char *st::rt::dataFormatName(DataFormat format) {
  for (const FormatName &f : kFormatNames)
    if (f.format == format)
      return f.name;
  return "unknown";
}

const char *st::rt::dataFormatChoices() {
  return "auto, bytes, idx, cifar10, png, wav";
}

std::optional<DataFormat> st::rt::parseDataFormat(const std::string &name) {
  for (const FormatName &f : kFormatNames)
    if (name == f.name)
      return f.format;
  return std::nullopt;
}

Expected<DataFormat> st::rt::detectDataFormat(const std::string &path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT)
      return Status::error(path + ": no such file");
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  }
  if (S_ISDIR(info.st_mode))
    return DataFormat::Png;
  std::vector<uint8_t> head = headOf(path, 12);
  static const uint8_t kPngMagic[8] = {0x89, 'P',  'N',  'G',
                                       '\r', '\n', 0x1a, '\n'};
  if (head.size() >= 4 && head[0] == 0 && head[1] == 0 && head[2] >= 0x08 &&
      head[2] <= 0x0E && head[3] >= 1 && head[3] <= 4)
    return DataFormat::Idx;
  if (head.size() >= 8 && std::memcmp(head.data(), kPngMagic, 8) == 0)
    return DataFormat::Png;
  if (head.size() >= 12 && std::memcmp(head.data(), "RIFF", 4) == 0 &&
      std::memcmp(head.data() + 8, "WAVE", 4) == 0)
    return DataFormat::Wav;
  std::string ext = extensionOf(path);
  std::string base = path;
  if (endsWith(base, ".gz"))
    base.resize(base.size() - 3);
  if (ext.rfind(".idx", 0) == 0 || endsWith(base, "-ubyte"))
    return DataFormat::Idx;
  if (ext == ".png")
    return DataFormat::Png;
  if (ext == ".wav")
    return DataFormat::Wav;
  if (ext == ".bin")
    return DataFormat::Cifar10;
  return DataFormat::Bytes;
}

Expected<Dataset> Dataset::load(const std::string &path, DataFormat format,
                                int64_t context, double valFraction) {
  if (!(valFraction >= 0.0 && valFraction <= 1.0))
    return Status::error(path +
                         ": validation fraction must be in [0, 1], "
                         "got " +
                         std::to_string(valFraction));
  if (format == DataFormat::Auto) {
    Expected<DataFormat> detected = detectDataFormat(path);
    if (!detected)
      return detected.status();
    format = *detected;
  }
  Dataset data;
  data.kind = format;
  data.name = path;
  if (format == DataFormat::Bytes || format == DataFormat::Wav) {
    Expected<ByteDataset> stream =
        readStream(path, format, context, valFraction, data.rate);
    if (!stream)
      return stream.status();
    data.stream.emplace(stream.take());
    return data;
  }

  Expected<ImageSet> read = readImages(path, format);
  if (!read)
    return read.status();
  ImageSet set = read.take();
  if (set.shape.size() != context)
    return Status::error(path + ": images are " + set.shape.str() + " = " +
                         std::to_string(set.shape.size()) +
                         " bytes, expected " + std::to_string(context) +
                         " bytes each (the model's context)");
  Images im;
  im.shape = set.shape;
  if (valFraction == 1.0) {
    im.valCount = set.count;
  } else if (valFraction > 0.0) {
    im.valCount = std::max<int64_t>(
        1, int64_t(std::floor(double(set.count) * valFraction)));
    im.valCount = std::min(im.valCount, set.count - 1);
  }
  im.trainCount = set.count - im.valCount;
  size_t window = size_t(context) + 1;
  im.sequences.resize(size_t(set.count) * window);
  for (int64_t i = 0; i < set.count; ++i) {
    uint8_t *row = im.sequences.data() + i * window;
    row[0] = kImageStartByte;
    std::memcpy(row + 1, set.image(i), size_t(context));
  }
  data.images.emplace(std::move(im));
  return data;
}

std::string Dataset::summary() const {
  if (images)
    return std::to_string(images->trainCount + images->valCount) +
           " images of " + images->shape.str() + " (" +
           std::to_string(images->trainCount) + " train / " +
           std::to_string(images->valCount) + " validation)";
  std::string text = std::to_string(stream->trainData().size) + " train / " +
                     std::to_string(stream->valData().size) + " validation " +
                     (rate ? "mu-law samples" : "bytes");
  if (rate)
    text += " at " + std::to_string(rate) + " Hz";
  return text;
}

Status Dataset::trainBatch(uint64_t step, int64_t batchSize, int64_t context,
                           uint64_t seed, std::vector<uint8_t> &out) const {
  if (stream)
    return stream->trainBatch(step, batchSize, context, seed, out);
  if (batchSize < 1)
    return Status::error("batch size must be at least 1, got " +
                         std::to_string(batchSize));
  if (context != images->shape.size())
    return Status::error(name + ": images are " + images->shape.str() +
                         ", not sequences of " + std::to_string(context) +
                         " bytes");
  if (images->trainCount == 0)
    return Status::error(name + ": no training images (all " +
                         std::to_string(images->valCount) +
                         " are held out for validation)");
  size_t window = size_t(context) + 1;
  out.resize(size_t(batchSize) * window);
  Philox rng(mixKey(seed, step), kImageSubstream);
  for (int64_t row = 0; row < batchSize; ++row) {
    PhiloxCounter block = rng.block(uint64_t(row));
    uint64_t bits = block[0] | (uint64_t(block[1]) << 32);
    uint64_t index = uniformBelow(bits, uint64_t(images->trainCount));
    std::memcpy(out.data() + row * window,
                images->sequences.data() + index * window, window);
  }
  return Status::success();
}

std::vector<ByteSpan> Dataset::evalSequences(int64_t context) const {
  if (stream)
    return stream->evalSequences(context);
  std::vector<ByteSpan> seqs;
  if (context != images->shape.size())
    return seqs;
  size_t window = size_t(context) + 1;
  for (int64_t i = 0; i < images->valCount; ++i)
    seqs.push_back(
        {images->sequences.data() + (images->trainCount + i) * window, window});
  return seqs;
}

ImageSet Dataset::validationImages() const {
  ImageSet set;
  set.shape = images->shape;
  set.count = images->valCount;
  size_t size = size_t(set.shape.size()), window = size + 1;
  set.pixels.resize(size_t(set.count) * size);
  for (int64_t i = 0; i < set.count; ++i)
    std::memcpy(
        set.image(i),
        images->sequences.data() + (images->trainCount + i) * window + 1, size);
  return set;
}
