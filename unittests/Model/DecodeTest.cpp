//===- DecodeTest.cpp - Cached decoding vs the full forward pass ----------===//
//
// Compiles small models through the whole CPU path, feeds a random sequence
// one position at a time through `decode` (the caches hold the rows earlier
// steps returned, and NaN everywhere else) and compares the logits at every
// position with `logits` over the whole sequence and with the float64
// reference (Reference.h). Each model interleaves several layouts over its
// layers, so one compile covers several patterns; no length is a multiple
// of a stride. Compiled with count-work, the attention work of all n steps
// must be exactly what each disjoint part's walk visits: its factor's
// nonzeros, which sum to the pattern's nonzeros whenever no part needs an
// exclusion mask.
//
// Tolerance: max |decode - ref| / max |ref| < 1e-5, the forward tests'
// bound, for both comparisons. Decoding is f32 like the full pass and
// differs only in the attention's summation order (one online softmax over
// the row instead of tiled parts merged by log-sum-exp), a few ulps; a
// wrong key, position, head pattern or cache row moves logits by far more
// than 1e-3 (ModelForwardTest's layout-sensitivity check).
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include "st/Driver/Model.h"
#include "st/Layout/Layout.h"
#include "st/Runtime/Program.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <malloc.h>
#include <random>

using namespace mlir;
using namespace ::st::modeltest;
namespace lay = ::st::layout;
namespace rt = ::st::rt;

namespace {

constexpr double kTolerance = 1e-5;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

double relativeMaxError(const std::vector<float> &out,
                        const std::vector<double> &ref) {
  if (out.size() != ref.size())
    return INFINITY;
  double maxErr = 0.0, maxRef = 0.0;
  for (size_t e = 0; e < ref.size(); ++e) {
    if (std::isnan(out[e]))
      return INFINITY;
    maxErr = std::max(maxErr, std::fabs(double(out[e]) - ref[e]));
    maxRef = std::max(maxRef, std::fabs(ref[e]));
  }
  return maxRef > 0.0 ? maxErr / maxRef : maxErr;
}

/// Fills the program's own heap buffers with a pattern while it runs, so
/// that reading an unwritten intermediate shows up as wrong numbers.
class PerturbHeap {
public:
  PerturbHeap() { mallopt(M_PERTURB, 0x5a); }
  ~PerturbHeap() { mallopt(M_PERTURB, 0); }
};

int64_t workCounter(const mlir::st::CompiledModel &model) {
  auto counter = model.engine->lookup("st_attention_work");
  if (!counter) {
    llvm::consumeError(counter.takeError());
    return -1;
  }
  return *static_cast<int64_t *>(*counter);
}

/// `logits` over the whole [batch, n] sequence.
std::vector<float> fullLogits(const mlir::st::CompiledModel &model,
                              rt::ParamStore &params,
                              std::vector<int32_t> &tokens, int64_t batch) {
  int64_t n = model.config.context;
  std::vector<float> logits(batch * n * kVocab, kNaN);
  rt::ArgumentPack pack;
  params.addTo(pack);
  pack.add(tokens.data(), {batch, n});
  pack.add(logits.data(), {batch, n, kVocab});
  PerturbHeap perturb;
  model.logits(pack.data());
  return logits;
}

/// The logits of every position, [batch, n, vocab], from n calls of
/// `decode`; `work` is the attention work they did.
std::vector<float> decodedLogits(const mlir::st::CompiledModel &model,
                                 rt::ParamStore &params,
                                 const std::vector<int32_t> &tokens,
                                 int64_t batch, int64_t &work) {
  const mlir::st::ModelConfig &cfg = model.config;
  int64_t n = cfg.context, heads = cfg.heads, dh = cfg.width / cfg.heads;
  // Cache rows at or after the position must never be read: NaN there
  // would reach the logits.
  std::vector<std::vector<float>> caches(
      2 * cfg.layers, std::vector<float>(batch * heads * n * dh, kNaN));
  std::vector<float> out(batch * n * kVocab, kNaN);
  int64_t before = workCounter(model);
  for (int64_t pos = 0; pos < n; ++pos) {
    std::vector<int32_t> step(batch);
    for (int64_t b = 0; b < batch; ++b)
      step[b] = tokens[b * n + pos];
    int64_t position = pos;
    std::vector<float> logits(batch * kVocab, kNaN);
    std::vector<std::vector<float>> rows(
        2 * cfg.layers, std::vector<float>(batch * heads * dh, kNaN));
    rt::ArgumentPack pack;
    params.addTo(pack);
    pack.add(step.data(), {batch, 1});
    pack.add(&position, {});
    for (std::vector<float> &c : caches)
      pack.add(c.data(), {batch, heads, n, dh});
    pack.add(logits.data(), {batch, kVocab});
    for (std::vector<float> &r : rows)
      pack.add(r.data(), {batch, heads, 1, dh});
    {
      PerturbHeap perturb;
      model.decode(pack.data());
    }
    for (size_t c = 0; c < caches.size(); ++c)
      for (int64_t bh = 0; bh < batch * heads; ++bh)
        std::memcpy(&caches[c][(bh * n + pos) * dh], &rows[c][bh * dh],
                    sizeof(float) * dh);
    for (int64_t b = 0; b < batch; ++b)
      std::memcpy(&out[(b * n + pos) * kVocab], &logits[b * kVocab],
                  sizeof(float) * kVocab);
  }
  work = workCounter(model) - before;
  return out;
}

class ModelDecode : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelDecode, LogitsMatchTheFullForwardAtEveryPosition) {
  const ModelCase &c = GetParam();
  std::string diagnostics;
  mlir::st::CpuPipelineOptions cpu;
  cpu.countWork = true;
  FailureOr<mlir::st::CompiledModel> model =
      compile(c, diagnostics, /*training=*/nullptr, &cpu);
  ASSERT_TRUE(succeeded(model)) << modelText(c) << diagnostics;
  ASSERT_NE(model->decode, nullptr);

  rt::ParamStore params(model->params);
  params.initialize(1);
  randomizeParams(params, 2000 + c.context);
  std::mt19937_64 rng(c.context * 17 + c.heads);
  std::vector<int32_t> tokens = randomTokens(c.batch * c.context, rng);

  int64_t work = 0;
  std::vector<float> decoded =
      decodedLogits(*model, params, tokens, c.batch, work);
  std::vector<float> full = fullLogits(*model, params, tokens, c.batch);
  std::vector<double> ref =
      referenceLogits(c, ReferenceParams(params), tokens, c.layouts);
  std::vector<double> fullAsDouble(full.begin(), full.end());
  double refErr = relativeMaxError(decoded, ref);
  double fullErr = relativeMaxError(decoded, fullAsDouble);
  std::printf("[ measured ] %s: decode vs float64 %.2e, vs full forward "
              "%.2e\n",
              c.name.c_str(), refErr, fullErr);
  EXPECT_LT(refErr, kTolerance) << c.name;
  EXPECT_LT(fullErr, kTolerance) << c.name;

  // The work of the n steps: every part walks exactly its factor's keys of
  // the row (exclusions are tested, not skipped), so a layer whose parts
  // need no exclusion does exactly its pattern's nonzeros.
  int64_t walked = 0, expected = 0;
  for (int64_t l = 0; l < c.layers; ++l) {
    const lay::Layout &layout = c.layouts[l % c.layouts.size()];
    int64_t layerWalk = 0;
    bool exclusionFree = true;
    for (int64_t h = 0; h < c.heads; ++h)
      for (const lay::Pattern::Part &p : layout.forHead(h).disjointParts()) {
        layerWalk += p.factor.nonzeros(c.context);
        exclusionFree &= p.excluded.empty();
      }
    int64_t nonzeros = layout.nonzeros(c.context, c.heads);
    std::printf("[ measured ] %s layer %lld: walks %lld keys, pattern "
                "nonzeros %lld%s\n",
                c.name.c_str(), (long long)l, (long long)layerWalk,
                (long long)nonzeros,
                exclusionFree ? "" : " (parts with exclusion masks)");
    walked += layerWalk;
    expected += exclusionFree ? nonzeros : layerWalk;
  }
  std::printf("[ measured ] %s: work %lld for %lld sequences\n", c.name.c_str(),
              (long long)work, (long long)c.batch);
  EXPECT_EQ(work, c.batch * walked) << c.name;
  EXPECT_EQ(work, c.batch * expected) << c.name;
}

ModelCase withLayouts(ModelCase c, std::vector<std::string> text,
                      std::vector<lay::Layout> layouts) {
  c.layoutText = std::move(text);
  c.layouts = std::move(layouts);
  return c;
}

/// Every pattern in one compile (models compile slowly; a failure prints
/// the model): a per-head layer with dense, local, strided and fixed heads,
/// a fixed layer with per-head summaries (5 sub-blocks, 4 heads) and a
/// union whose parts need exclusion masks; no stride divides n = 50; a
/// batch of 3 sequences.
std::vector<ModelCase> decodeCases() {
  using L = lay::Layout;
  // name, context, width, heads, layers, ffMult, position, -, -, batch
  return {withLayouts(
      {"every_pattern_n50", 50, 32, 4, 3, 2, {5, 10}, {}, {}, 3},
      {"#st.per_head<[#st.dense_causal, #st.local<window = 5>, "
       "#st.strided<stride = 6>, #st.fixed<stride = 8, summary = 3>]>",
       "#st.fixed<stride = 10, summary = 2, per_head = true>",
       "#st.union<[#st.strided<stride = 6>, #st.fixed<stride = 10, summary "
       "= 3>]>"},
      {L::perHead(
           {L::denseCausal(), L::local(5), L::strided(6), L::fixed(8, 3)}),
       L::fixed(10, 2, /*distinctSummaries=*/true),
       L::unite({L::strided(6), L::fixed(10, 3)})})};
}

INSTANTIATE_TEST_SUITE_P(Cases, ModelDecode, ::testing::ValuesIn(decodeCases()),
                         [](const ::testing::TestParamInfo<ModelCase> &info) {
                           return info.param.name;
                         });

} // namespace
