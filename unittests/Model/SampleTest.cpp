//===- SampleTest.cpp - Sampling from compiled models ---------------------===//
//
// The sampling rule (pickToken, sampleUniform) on fixed logits, and
// sampleSequences on a compiled model with random parameters: greedy
// decoding is deterministic and picks, at every generated position, the
// argmax of the full forward pass over the generated text; sampling is a
// function of (seed, sequence index, prompt) only.
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include "st/Driver/Sample.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

using namespace mlir;
using namespace ::st::modeltest;
namespace lay = ::st::layout;
namespace rt = ::st::rt;

namespace {

//===----------------------------------------------------------------------===//
// The sampling rule
//===----------------------------------------------------------------------===//

/// How often pickToken returns each token over the uniform grid
/// u = (i + 1/2) / count: inversion sampling turns the grid into the exact
/// distribution up to 1 / count per token.
std::vector<double> frequencies(const std::vector<float> &logits,
                                double temperature, int64_t topK,
                                int count = 100000) {
  std::vector<int64_t> hits(logits.size(), 0);
  for (int i = 0; i < count; ++i)
    ++hits[mlir::st::pickToken(logits.data(), logits.size(), temperature, topK,
                               (i + 0.5) / count)];
  std::vector<double> f;
  for (int64_t h : hits)
    f.push_back(double(h) / count);
  return f;
}

TEST(SampleRule, GreedyIsTheFirstLargestLogit) {
  std::vector<float> z = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
  for (double u : {0.0, 0.3, 0.999}) {
    EXPECT_EQ(mlir::st::pickToken(z.data(), z.size(), 0.0, 0, u), 1);
    EXPECT_EQ(mlir::st::pickToken(z.data(), z.size(), 2.5, 1, u), 1);
  }
}

TEST(SampleRule, FrequenciesFollowTheTemperedSoftmax) {
  std::vector<float> z = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
  for (double t : {1.0, 0.5, 3.0}) {
    std::vector<double> f = frequencies(z, t, 0);
    double sum = 0.0;
    for (float v : z)
      sum += std::exp(v / t);
    for (size_t v = 0; v < z.size(); ++v)
      EXPECT_NEAR(f[v], std::exp(z[v] / t) / sum, 2e-5)
          << "temperature " << t << ", token " << v;
  }
}

TEST(SampleRule, TopKKeepsTheKLargestAndRenormalises) {
  std::vector<float> z = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
  // k = 2: the two 3.0s, equally likely.
  std::vector<double> f = frequencies(z, 1.0, 2);
  EXPECT_NEAR(f[1], 0.5, 2e-5);
  EXPECT_NEAR(f[3], 0.5, 2e-5);
  // k = 3: 3.0, 3.0 and 2.0.
  f = frequencies(z, 1.0, 3);
  double sum = 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(f[1], std::exp(3.0) / sum, 2e-5);
  EXPECT_NEAR(f[2], std::exp(2.0) / sum, 2e-5);
  EXPECT_EQ(f[0], 0.0);
  EXPECT_EQ(f[4], 0.0);
  // A tie at the cut goes to the lower index: k = 1 of {3, 3} is token 1,
  // and k >= vocab is no cut.
  EXPECT_EQ(frequencies(z, 1.0, 1)[1], 1.0);
  std::vector<double> all = frequencies(z, 1.0, 0),
                      big = frequencies(z, 1.0, 9);
  for (size_t v = 0; v < z.size(); ++v)
    EXPECT_EQ(all[v], big[v]);
}

TEST(SampleRule, UniformsAreReproducibleAndIndependent) {
  using mlir::st::sampleUniform;
  EXPECT_EQ(sampleUniform(7, 2, 40), sampleUniform(7, 2, 40));
  EXPECT_NE(sampleUniform(7, 2, 40), sampleUniform(8, 2, 40));
  EXPECT_NE(sampleUniform(7, 2, 40), sampleUniform(7, 3, 40));
  EXPECT_NE(sampleUniform(7, 2, 40), sampleUniform(7, 2, 41));
  // 10^5 draws: mean 1/2 and variance 1/12, each within 5 standard errors.
  double sum = 0.0, sumSq = 0.0;
  const int count = 100000;
  for (int i = 0; i < count; ++i) {
    double u = sampleUniform(1, i % 7, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sumSq += u * u;
  }
  EXPECT_NEAR(sum / count, 0.5, 5 * std::sqrt(1.0 / 12 / count));
  EXPECT_NEAR(sumSq / count - (sum / count) * (sum / count), 1.0 / 12, 1e-3);
}

//===----------------------------------------------------------------------===//
// A compiled model
//===----------------------------------------------------------------------===//

class Sampling : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    ModelCase c{"sample_n40", 40, 32, 4, 2, 2, {4, 10}, {}, {}, 1};
    c.layoutText = {"#st.fixed<stride = 10, summary = 2, per_head = true>",
                    "#st.strided<stride = 6>"};
    c.layouts = {lay::Layout::fixed(10, 2, true), lay::Layout::strided(6)};
    compiled = compileRandomized(c, 99).release();
    model = compiled ? &compiled->model : nullptr;
    params = compiled ? &compiled->params : nullptr;
  }

  static void TearDownTestSuite() {
    delete compiled;
    compiled = nullptr;
    model = nullptr;
    params = nullptr;
  }

  void SetUp() override { ASSERT_NE(model, nullptr) << "the model compiles"; }

  static std::vector<std::vector<uint8_t>>
  sample(const std::vector<std::vector<uint8_t>> &prompts, int64_t length,
         double temperature, int64_t topK, uint64_t seed) {
    mlir::st::SampleOptions options;
    options.length = length;
    options.temperature = temperature;
    options.topK = topK;
    options.seed = seed;
    rt::Expected<std::vector<std::vector<uint8_t>>> out =
        mlir::st::sampleSequences(*model, *params, prompts, options);
    EXPECT_TRUE(out.isOk()) << out.message();
    return out ? *out : std::vector<std::vector<uint8_t>>();
  }

  static CompiledCase *compiled;
  static mlir::st::CompiledModel *model;
  static rt::ParamStore *params;
};

CompiledCase *Sampling::compiled = nullptr;
mlir::st::CompiledModel *Sampling::model = nullptr;
rt::ParamStore *Sampling::params = nullptr;

std::vector<std::vector<uint8_t>> somePrompts() {
  return {{'a'}, {'T', 'h', 'e', ' ', 'c'}, {1, 2, 3, 250, 251, 0, 7, 9}};
}

TEST_F(Sampling, GreedyIsTheArgmaxOfTheFullForward) {
  std::vector<std::vector<uint8_t>> prompts = somePrompts();
  int64_t n = model->config.context, length = n - 8;
  std::vector<std::vector<uint8_t>> greedy = sample(prompts, length, 0.0, 0, 1);
  ASSERT_EQ(greedy.size(), prompts.size());
  // Deterministic, and top-k 1 is greedy whatever the temperature and seed.
  EXPECT_EQ(sample(prompts, length, 0.0, 0, 2), greedy);
  EXPECT_EQ(sample(prompts, length, 1.5, 1, 3), greedy);

  int checked = 0, nearTies = 0;
  for (size_t s = 0; s < prompts.size(); ++s) {
    const std::vector<uint8_t> &text = greedy[s];
    ASSERT_EQ(text.size(), prompts[s].size() + length);
    EXPECT_TRUE(std::equal(prompts[s].begin(), prompts[s].end(), text.begin()));
    // The full forward pass over the generated text (zero padded; causal,
    // so the padding does not reach earlier positions).
    std::vector<int32_t> tokens(n, 0);
    std::copy(text.begin(), text.end(), tokens.begin());
    std::vector<float> logits(n * kVocab, std::nanf(""));
    rt::ArgumentPack pack;
    params->addTo(pack);
    pack.add(tokens.data(), {1, n});
    pack.add(logits.data(), {1, n, kVocab});
    model->logits(pack.data());
    for (size_t p = prompts[s].size() - 1; p + 1 < text.size(); ++p) {
      const float *z = &logits[p * kVocab];
      std::vector<float> sorted(z, z + kVocab);
      std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(),
                        std::greater<float>());
      // Decoding and the full pass round differently (~1e-6 relative);
      // a gap below 1e-4 of the logits' scale is a tie either may break.
      if (sorted[0] - sorted[1] <
          1e-4f * std::max(1.0f, std::fabs(sorted[0]))) {
        ++nearTies;
        continue;
      }
      int64_t best = std::max_element(z, z + kVocab) - z;
      EXPECT_EQ(best, text[p + 1]) << "sequence " << s << ", position " << p;
      ++checked;
    }
  }
  std::printf("[ measured ] greedy: %d positions checked, %d near ties "
              "skipped\n",
              checked, nearTies);
  EXPECT_LE(nearTies, 2);
  EXPECT_GE(checked, 90);
}

TEST_F(Sampling, TextIsAFunctionOfSeedSequenceAndPrompt) {
  std::vector<std::vector<uint8_t>> prompts = somePrompts();
  std::vector<std::vector<uint8_t>> a = sample(prompts, 30, 1.0, 0, 5);
  EXPECT_EQ(sample(prompts, 30, 1.0, 0, 5), a);
  std::vector<std::vector<uint8_t>> other = sample(prompts, 30, 1.0, 0, 6);
  for (size_t s = 0; s < prompts.size(); ++s)
    EXPECT_NE(other[s], a[s]) << "sequence " << s;
  // A sequence does not depend on the others in its batch.
  std::vector<std::vector<uint8_t>> alone = sample({prompts[0]}, 30, 1.0, 0, 5);
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_EQ(alone[0], a[0]);
  // Top-k sampling only picks among the k most likely bytes; with k = 3,
  // sampled text differs from greedy text.
  std::vector<std::vector<uint8_t>> topK = sample(prompts, 30, 1.0, 3, 5);
  EXPECT_NE(topK, sample(prompts, 30, 0.0, 0, 5));
}

TEST_F(Sampling, BadRequestsAreErrors) {
  mlir::st::SampleOptions options;
  options.length = 5;
  auto error = [&](const std::vector<std::vector<uint8_t>> &prompts) {
    rt::Expected<std::vector<std::vector<uint8_t>>> out =
        mlir::st::sampleSequences(*model, *params, prompts, options);
    return out ? std::string() : out.message();
  };
  EXPECT_NE(error({}).find("at least one prompt"), std::string::npos);
  EXPECT_NE(error({{'a'}, {}}).find("the prompt is empty"), std::string::npos);
  options.length = 33;
  EXPECT_NE(error({std::vector<uint8_t>(8, 'x')})
                .find("8 prompt bytes + 33 sampled bytes exceed the model's "
                      "context of 40 bytes"),
            std::string::npos);
  options.length = 32;
  EXPECT_EQ(error({std::vector<uint8_t>(8, 'x')}), "");
  options.temperature = -1.0;
  EXPECT_NE(error({{'a'}}).find("temperature"), std::string::npos);
  options.temperature = std::numeric_limits<double>::infinity();
  EXPECT_NE(error({{'a'}}).find("temperature"), std::string::npos);
  options.temperature = 1.0;
  options.topK = -2;
  EXPECT_NE(error({{'a'}}).find("top-k"), std::string::npos);
}

} // namespace
