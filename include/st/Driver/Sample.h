//===- Sample.h - Sampling with cached keys and values ------*- C++ -*-===//
//
// Byte-level generation from a compiled model's `decode` step. S sequences
// advance together, one position per step: at position p every sequence
// feeds its byte p (from its prompt, or sampled at the previous step), the
// step returns the logits for byte p + 1 and the keys and values of row p,
// which are stored in per-layer caches [S, H, N, D/H]. A step therefore
// costs the attention pattern's row, not a forward pass over the sequence.
// Prompts may differ in length: a sequence still inside its prompt takes
// the prompt's next byte instead of a sampled one.
//
// Sampling is reproducible: the random number for sequence s at position p
// is Philox keyed by (seed, s) at block p, so a sequence's text depends only
// on the seed, its index, its prompt and the model, not on how many
// sequences run beside it. Temperature 0 or top-k 1 is greedy decoding.
//
//===----------------------------------------------------------------------===//

#ifndef ST_DRIVER_SAMPLE_H
#define ST_DRIVER_SAMPLE_H

#include "st/Driver/Model.h"
#include "st/Runtime/Program.h"
#include "st/Runtime/Status.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace mlir {
namespace st {

struct SampleOptions {
  /// Bytes to generate after each prompt.
  int64_t length = 0;
  /// Softmax temperature; 0 picks the most likely byte.
  double temperature = 1.0;
  /// Sample among the k most likely bytes only (0: all of them).
  int64_t topK = 0;
  uint64_t seed = 0;
  /// Called after every step with the steps done, the total and the mean
  /// negative log-likelihood (nats) of the bytes chosen at that step.
  std::function<void(int64_t done, int64_t total, double nats)> progress;
};

/// Continues every prompt by `options.length` bytes; returns, per prompt,
/// the prompt followed by its continuation. Errors (one line): no prompt,
/// an empty prompt, prompt plus length longer than the model's context, a
/// negative or non-finite temperature, a negative top-k.
::st::rt::Expected<std::vector<std::vector<uint8_t>>>
sampleSequences(const CompiledModel &model, ::st::rt::ParamStore &params,
                const std::vector<std::vector<uint8_t>> &prompts,
                const SampleOptions &options);

/// The next token given `logits` [vocab]: the most likely one (the lowest
/// index among equals) when temperature is 0 or topK is 1; otherwise one
/// drawn with probability softmax(logits / temperature) restricted to the
/// topK largest logits (ties at the cut broken towards lower indices),
/// using `uniform` in [0, 1) by inversion over the candidates in index
/// order.
int64_t pickToken(const float *logits, int64_t vocab, double temperature,
                  int64_t topK, double uniform);

/// The uniform number in [0, 1) (53 bits) that sequence `sequence` uses to
/// pick its byte at `position`.
double sampleUniform(uint64_t seed, int64_t sequence, int64_t position);

/// A model compiled for sampling and its parameters.
struct DecodingModel {
  CompiledModel model;
  ::st::rt::ParamStore params;
};

/// What `st-run sample` runs: reads `checkpoint` first (a missing or
/// corrupt file fails before the slow compilation), compiles only
/// `<m>_decode` (and `<m>_logits` with `withLogits`, for the last byte of
/// an image) without OpenMP, then loads the parameters from the file read
/// (names and shapes checked against the compiled model). A step's loops
/// are one row per layer, too little work to share: OpenMP's fork/join per
/// loop cost more than it gave (tiny-text, 240 bytes: 2.9k bytes/s serial,
/// 1.7k on 2 threads). On failure the reason has been printed: one
/// "st-run: error:" line, or the compiler's diagnostics.
FailureOr<DecodingModel> loadDecodingModel(MLIRContext &context,
                                           const std::string &modelPath,
                                           const std::string &checkpoint,
                                           bool withLogits);

} // namespace st
} // namespace mlir

#endif // ST_DRIVER_SAMPLE_H
