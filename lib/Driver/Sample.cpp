//===- Sample.cpp - Autoregressive sampling with cached keys/values -------===//
//
// See Sample.h.
//
//===----------------------------------------------------------------------===//

#include "st/Driver/Sample.h"

#include "st/Runtime/Rng.h"
#include "st/Runtime/Safetensors.h"

#include "llvm/Support/raw_ostream.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>

using namespace mlir;
using namespace mlir::st;
namespace rt = ::st::rt;

namespace {

/// Separates sampling's Philox keys from every other use of the seed.
constexpr uint64_t kSampleStream = 0x73616d706c65; // "sample"

/// log sum_v exp(z_v) - z_token, in double.
double negativeLogLikelihood(const float *z, int64_t vocab, int64_t token) {
  double mx = -INFINITY;
  for (int64_t v = 0; v < vocab; ++v)
    mx = std::max(mx, double(z[v]));
  double sum = 0.0;
  for (int64_t v = 0; v < vocab; ++v)
    sum += std::exp(double(z[v]) - mx);
  return mx + std::log(sum) - double(z[token]);
}

int64_t argmax(const float *z, int64_t vocab) {
  int64_t best = 0;
  for (int64_t v = 1; v < vocab; ++v)
    if (z[v] > z[best])
      best = v;
  return best;
}

} // namespace

double mlir::st::sampleUniform(uint64_t seed, int64_t sequence,
                               int64_t position) {
  rt::Philox philox(rt::mixKey(seed, kSampleStream, sequence));
  rt::PhiloxCounter block = philox.block(uint64_t(position));
  uint64_t bits = (uint64_t(block[0]) << 32) | block[1];
  return double(bits >> 11) * 0x1.0p-53;
}

int64_t mlir::st::pickToken(const float *logits, int64_t vocab,
                            double temperature, int64_t topK, double uniform) {
  if (temperature == 0.0 || topK == 1)
    return argmax(logits, vocab);
  std::vector<int64_t> candidates(vocab);
  std::iota(candidates.begin(), candidates.end(), 0);
  if (topK > 0 && topK < vocab) {
    auto larger = [&](int64_t a, int64_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    std::nth_element(candidates.begin(), candidates.begin() + topK,
                     candidates.end(), larger);
    candidates.resize(topK);
    llvm::sort(candidates);
  }
  double mx = -INFINITY;
  for (int64_t v : candidates)
    mx = std::max(mx, double(logits[v]));
  std::vector<double> weights;
  double sum = 0.0;
  for (int64_t v : candidates) {
    weights.push_back(std::exp((double(logits[v]) - mx) / temperature));
    sum += weights.back();
  }
  if (!(sum > 0.0) || !std::isfinite(sum))
    return argmax(logits, vocab);
  double target = uniform * sum, cumulative = 0.0;
  for (size_t c = 0; c < candidates.size(); ++c) {
    cumulative += weights[c];
    if (target < cumulative)
      return candidates[c];
  }
  // Rounding left the target at the very end: the last candidate with a
  // nonzero weight.
  for (size_t c = candidates.size(); c-- > 0;)
    if (weights[c] > 0.0)
      return candidates[c];
  return candidates.back();
}

rt::Expected<std::vector<std::vector<uint8_t>>>
mlir::st::sampleSequences(const CompiledModel &model, rt::ParamStore &params,
                          const std::vector<std::vector<uint8_t>> &prompts,
                          const SampleOptions &options) {
  const ModelConfig &cfg = model.config;
  if (prompts.empty())
    return rt::Status::error("sampling needs at least one prompt");
  if (!(options.temperature >= 0.0) || !std::isfinite(options.temperature))
    return rt::Status::error("temperature must be a finite number >= 0, got " +
                             std::to_string(options.temperature));
  if (options.topK < 0)
    return rt::Status::error("top-k must be >= 0 (0: all bytes), got " +
                             std::to_string(options.topK));
  if (options.length < 0)
    return rt::Status::error("length must be >= 0, got " +
                             std::to_string(options.length));
  int64_t end = 0;
  for (const std::vector<uint8_t> &p : prompts) {
    if (p.empty())
      return rt::Status::error(
          "the prompt is empty: each byte is predicted from the bytes before "
          "it, so sampling needs at least one");
    int64_t total = int64_t(p.size()) + options.length;
    if (total > cfg.context)
      return rt::Status::error(std::to_string(p.size()) + " prompt bytes + " +
                               std::to_string(options.length) +
                               " sampled bytes exceed the model's context of " +
                               std::to_string(cfg.context) + " bytes");
    end = std::max(end, total);
  }
  if (cfg.vocab > 256)
    return rt::Status::error("byte-level sampling needs a vocabulary of at "
                             "most 256, the model has " +
                             std::to_string(cfg.vocab));
  if (!model.decode)
    return rt::Status::error("the compiled model has no decode step");

  int64_t s = prompts.size(), n = cfg.context, heads = cfg.heads,
          dh = cfg.width / cfg.heads, vocab = cfg.vocab, layers = cfg.layers;
  std::vector<std::vector<float>> caches(
      2 * layers, std::vector<float>(s * heads * n * dh));
  std::vector<std::vector<float>> rows(2 * layers,
                                       std::vector<float>(s * heads * dh));
  std::vector<float> logits(s * vocab);
  std::vector<int32_t> tokens(s);
  std::vector<std::vector<uint8_t>> seqs = prompts;

  // Decoding position p yields byte p + 1; the last byte is end - 1.
  for (int64_t pos = 0; pos + 1 < end; ++pos) {
    for (int64_t q = 0; q < s; ++q)
      tokens[q] = seqs[q][pos];
    int64_t position = pos;
    rt::ArgumentPack pack;
    params.addTo(pack);
    pack.add(tokens.data(), {s, 1});
    pack.add(&position, {});
    for (std::vector<float> &cache : caches)
      pack.add(cache.data(), {s, heads, n, dh});
    pack.add(logits.data(), {s, vocab});
    for (std::vector<float> &row : rows)
      pack.add(row.data(), {s, heads, 1, dh});
    model.decode(pack.data());

    for (size_t c = 0; c < caches.size(); ++c)
      for (int64_t sh = 0; sh < s * heads; ++sh)
        std::memcpy(&caches[c][(sh * n + pos) * dh], &rows[c][sh * dh],
                    sizeof(float) * dh);
    double nats = 0.0;
    for (int64_t q = 0; q < s; ++q) {
      const float *z = &logits[q * vocab];
      int64_t next;
      if (pos + 1 < int64_t(prompts[q].size()))
        next = prompts[q][pos + 1];
      else
        next = pickToken(z, vocab, options.temperature, options.topK,
                         sampleUniform(options.seed, q, pos + 1));
      nats += negativeLogLikelihood(z, vocab, next);
      if (int64_t(seqs[q].size()) == pos + 1)
        seqs[q].push_back(uint8_t(next));
    }
    if (options.progress)
      options.progress(pos + 1, end - 1, nats / double(s));
  }
  for (int64_t q = 0; q < s; ++q)
    seqs[q].resize(prompts[q].size() + options.length);
  return seqs;
}

FailureOr<DecodingModel>
mlir::st::loadDecodingModel(MLIRContext &context, const std::string &modelPath,
                            const std::string &checkpoint, bool withLogits) {
  auto fail = [](const std::string &message) {
    llvm::errs() << "st-run: error: " << message << "\n";
    return failure();
  };
  rt::Expected<rt::SafetensorsFile> file = rt::readSafetensors(checkpoint);
  if (!file)
    return fail(file.message());
  CpuPipelineOptions cpu;
  cpu.parallel = false;
  SmallVector<std::string> entryPoints = {"_decode"};
  if (withLogits)
    entryPoints.push_back("_logits");
  FailureOr<CompiledModel> model = compileModel(
      context, modelPath, cpu, /*training=*/nullptr, entryPoints);
  if (failed(model))
    return failure();
  rt::ParamStore params(model->params);
  if (rt::Status s = params.load(*file); s.isError())
    return fail(s.message());
  return DecodingModel{std::move(*model), std::move(params)};
}
