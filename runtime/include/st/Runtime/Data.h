//===- Data.h - Byte-level training and validation data ---------*- C++ -*-===//
//
// A byte-level language model reads raw bytes: token = byte value, vocabulary
// of 256. ByteDataset holds one file in memory, split into a training prefix
// and a validation suffix, and hands out
//  - training batches: sequences of context + 1 bytes (the model reads bytes
//    [0, context) and predicts bytes [1, context]) at offsets drawn from
//    Philox keyed by (seed, step) alone, so that a run resumed at step s sees
//    exactly the batches the uninterrupted run would have seen, without
//    replaying steps 0..s-1;
//  - evaluation windows: the validation suffix cut into consecutive,
//    non-overlapping windows of context + 1 bytes, in order (a trailing
//    partial window is dropped), so every evaluation sees the same data.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_DATA_H
#define ST_RUNTIME_DATA_H

#include "st/Runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace st {
namespace rt {

/// A read-only view of bytes owned by someone else.
struct ByteSpan {
  const uint8_t *data = nullptr;
  size_t size = 0;

  const uint8_t *begin() const { return data; }
  const uint8_t *end() const { return data + size; }
  uint8_t operator[](size_t i) const { return data[i]; }
};

class ByteDataset {
public:
  /// The default fraction of the bytes held out for validation.
  static constexpr double kDefaultValFraction = 0.05;

  /// Reads the whole file at `path`, then splits it as fromBytes does.
  /// Errors (one line, starting with `path`): missing file, unreadable file
  /// (including a directory), empty file, and "context N longer than the
  /// data (M bytes)" when not even one sequence of context + 1 bytes fits.
  static Expected<ByteDataset> load(const std::string &path, int64_t context,
                                    double valFraction = kDefaultValFraction);

  /// Builds a dataset from bytes in memory; `name` prefixes error messages.
  ///
  /// The split: the last max(floor(size * valFraction), context + 1) bytes
  /// are validation -- at least one full evaluation window -- but never so
  /// many that training is left with fewer than context + 1 bytes; with
  /// valFraction == 0 there is no validation data, with valFraction == 1
  /// there is no training data (a file for evaluation only). `context` >= 1
  /// and valFraction in [0, 1], otherwise an error.
  static Expected<ByteDataset> fromBytes(std::vector<uint8_t> bytes,
                                         int64_t context, double valFraction,
                                         const std::string &name);

  /// All bytes, training then validation.
  size_t size() const { return bytes.size(); }
  ByteSpan trainData() const { return {bytes.data(), trainSize}; }
  ByteSpan valData() const {
    return {bytes.data() + trainSize, bytes.size() - trainSize};
  }

  /// Fills `out` (batchSize * (context + 1) bytes, row-major) with batchSize
  /// training sequences of context + 1 bytes. Row b starts at a training
  /// offset drawn uniformly from the key mixKey(seed, step) and counter
  /// {b, 0, "data"}, so the batch depends on (seed, step, batchSize, context)
  /// only. Errors when the training split is shorter than context + 1 bytes
  /// or an argument is out of range.
  Status trainBatch(uint64_t step, int64_t batchSize, int64_t context,
                    uint64_t seed, uint8_t *out) const;

  /// As above, resizing `out` to fit.
  Status trainBatch(uint64_t step, int64_t batchSize, int64_t context,
                    uint64_t seed, std::vector<uint8_t> &out) const;

  /// The training offsets trainBatch uses for row 0..batchSize-1 (exposed so
  /// that callers and tests can check coverage without copying bytes).
  std::vector<uint64_t> trainOffsets(uint64_t step, int64_t batchSize,
                                     int64_t context, uint64_t seed) const;

  /// Number of complete, non-overlapping windows of context + 1 bytes in the
  /// validation split: floor(valData().size / (context + 1)); 0 if context
  /// < 1.
  int64_t numEvalSequences(int64_t context) const;

  /// Window i covers validation bytes [i (context+1), (i+1) (context+1)).
  std::vector<ByteSpan> evalSequences(int64_t context) const;

private:
  ByteDataset() = default;

  std::vector<uint8_t> bytes;
  size_t trainSize = 0;
};

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_DATA_H
