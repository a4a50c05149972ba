//===- Data.cpp - Byte-level training and validation data -----------------===//

#include "st/Runtime/Data.h"

#include "st/Runtime/Files.h"
#include "st/Runtime/Rng.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace st::rt;

namespace {
/// Philox substream of batch offsets ("data" in ASCII), kept apart from the
/// substreams other users of mixKey(seed, step) may pick.
constexpr uint64_t kDataSubstream = 0x64617461;

} // namespace

Expected<ByteDataset> ByteDataset::load(const std::string &path,
                                        int64_t context, double valFraction) {
  Expected<std::vector<uint8_t>> bytes = readFile(path);
  if (!bytes)
    return bytes.status();
  return fromBytes(bytes.take(), context, valFraction, path);
}

Expected<ByteDataset> ByteDataset::fromBytes(std::vector<uint8_t> bytes,
                                             int64_t context,
                                             double valFraction,
                                             const std::string &name) {
  if (context < 1)
    return Status::error(name + ": context must be at least 1, got " +
                         std::to_string(context));
  if (!(valFraction >= 0.0 && valFraction <= 1.0))
    return Status::error(name +
                         ": validation fraction must be in [0, 1], got " +
                         std::to_string(valFraction));
  if (bytes.empty())
    return Status::error(name + ": file is empty");
  uint64_t size = bytes.size();
  uint64_t window = static_cast<uint64_t>(context) + 1;
  if (window > size)
    return Status::error(name + ": context " + std::to_string(context) +
                         " longer than the data (" + std::to_string(size) +
                         " bytes): one sequence needs context + 1 bytes");

  // floor() of a double product is deterministic for a given size; sizes
  // beyond 2^53 bytes are not a concern for an in-memory dataset.
  uint64_t valSize = 0;
  if (valFraction == 1.0) {
    valSize = size;
  } else if (valFraction > 0.0) {
    valSize = static_cast<uint64_t>(
        std::floor(static_cast<double>(size) * valFraction));
    if (valSize < window)
      valSize = window;
    if (valSize > size - window)
      valSize = size - window;
  }

  ByteDataset dataset;
  dataset.bytes = std::move(bytes);
  dataset.trainSize = static_cast<size_t>(size - valSize);
  return dataset;
}

std::vector<uint64_t> ByteDataset::trainOffsets(uint64_t step,
                                                int64_t batchSize,
                                                int64_t context,
                                                uint64_t seed) const {
  std::vector<uint64_t> offsets;
  if (batchSize < 1 || context < 1 ||
      static_cast<uint64_t>(context) + 1 > trainSize)
    return offsets;
  // A window may start anywhere it fits: trainSize - context starts.
  uint64_t numStarts = trainSize - static_cast<uint64_t>(context);
  Philox rng(mixKey(seed, step), kDataSubstream);
  offsets.reserve(static_cast<size_t>(batchSize));
  for (int64_t row = 0; row < batchSize; ++row) {
    PhiloxCounter block = rng.block(static_cast<uint64_t>(row));
    uint64_t bits = block[0] | (static_cast<uint64_t>(block[1]) << 32);
    offsets.push_back(uniformBelow(bits, numStarts));
  }
  return offsets;
}

Status ByteDataset::trainBatch(uint64_t step, int64_t batchSize,
                               int64_t context, uint64_t seed,
                               uint8_t *out) const {
  if (batchSize < 1)
    return Status::error("batch size must be at least 1, got " +
                         std::to_string(batchSize));
  if (context < 1)
    return Status::error("context must be at least 1, got " +
                         std::to_string(context));
  if (static_cast<uint64_t>(context) + 1 > trainSize)
    return Status::error("context " + std::to_string(context) +
                         " longer than the training data (" +
                         std::to_string(trainSize) + " bytes)");
  size_t window = static_cast<size_t>(context) + 1;
  std::vector<uint64_t> offsets = trainOffsets(step, batchSize, context, seed);
  for (size_t row = 0; row < offsets.size(); ++row)
    std::memcpy(out + row * window, bytes.data() + offsets[row], window);
  return Status::success();
}

Status ByteDataset::trainBatch(uint64_t step, int64_t batchSize,
                               int64_t context, uint64_t seed,
                               std::vector<uint8_t> &out) const {
  if (batchSize < 1 || context < 1)
    return trainBatch(step, batchSize, context, seed, out.data());
  out.resize(static_cast<size_t>(batchSize) *
             (static_cast<size_t>(context) + 1));
  return trainBatch(step, batchSize, context, seed, out.data());
}

int64_t ByteDataset::numEvalSequences(int64_t context) const {
  if (context < 1)
    return 0;
  return static_cast<int64_t>((bytes.size() - trainSize) /
                              (static_cast<uint64_t>(context) + 1));
}

std::vector<ByteSpan> ByteDataset::evalSequences(int64_t context) const {
  std::vector<ByteSpan> windows;
  int64_t count = numEvalSequences(context);
  size_t window = static_cast<size_t>(context) + 1;
  windows.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    windows.push_back({bytes.data() + trainSize + i * window, window});
  return windows;
}
