//===- MediaSampleTest.cpp - Sampling images from a compiled model --------===//
//
// sampleImages on a compiled image model with random parameters: greedy
// sampling picks every pixel, the last one included (which comes from the
// full forward pass rather than the decode step), as the argmax of the full
// forward pass over the start byte and the pixels before it; completions
// keep the given top half; samples are a function of the seed.
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include "st/Driver/MediaSample.h"
#include "st/Runtime/Dataset.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace ::st::modeltest;
namespace lay = ::st::layout;
namespace rt = ::st::rt;

namespace {

class ImageSampling : public ::testing::Test {
protected:
  /// 6 x 8 grey images: context 48, strided attention along rows of 8.
  static void SetUpTestSuite() {
    ModelCase c{"images_6x8", 48, 16, 2, 2, 2, {6, 8}, {}, {}, 1};
    c.layoutText = {"#st.strided<stride = 8>"};
    c.layouts = {lay::Layout::strided(8)};
    compiled = compileRandomized(c, 7).release();
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

  static rt::ImageSet sample(int64_t count, const rt::ImageSet *given,
                             double temperature, uint64_t seed) {
    mlir::st::SampleOptions options;
    options.temperature = temperature;
    options.seed = seed;
    rt::Expected<rt::ImageSet> out =
        mlir::st::sampleImages(*model, *params, kShape, count, given, options);
    EXPECT_TRUE(out.isOk()) << out.message();
    return out ? *out : rt::ImageSet();
  }

  static constexpr rt::ImageShape kShape{6, 8, 1};
  static CompiledCase *compiled;
  static mlir::st::CompiledModel *model;
  static rt::ParamStore *params;
};

CompiledCase *ImageSampling::compiled = nullptr;
mlir::st::CompiledModel *ImageSampling::model = nullptr;
rt::ParamStore *ImageSampling::params = nullptr;

TEST_F(ImageSampling, GreedyPixelsAreTheArgmaxOfTheFullForward) {
  rt::ImageSet greedy = sample(3, nullptr, 0.0, 1);
  ASSERT_EQ(greedy.count, 3);
  ASSERT_EQ(greedy.shape, kShape);
  int64_t n = 48;
  int checked = 0, nearTies = 0, lastChecked = 0;
  for (int64_t i = 0; i < greedy.count; ++i) {
    std::vector<int32_t> tokens(n);
    tokens[0] = rt::kImageStartByte;
    std::copy(greedy.image(i), greedy.image(i) + n - 1, tokens.begin() + 1);
    std::vector<float> logits(n * kVocab, std::nanf(""));
    rt::ArgumentPack pack;
    params->addTo(pack);
    pack.add(tokens.data(), {1, n});
    pack.add(logits.data(), {1, n, kVocab});
    model->logits(pack.data());
    for (int64_t p = 0; p < n; ++p) {
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
      EXPECT_EQ(best, greedy.image(i)[p]) << "image " << i << ", pixel " << p;
      ++checked;
      lastChecked += p == n - 1;
    }
  }
  std::printf("[ measured ] %d pixels checked (%d last pixels), %d near ties "
              "skipped\n",
              checked, lastChecked, nearTies);
  EXPECT_LE(nearTies, 2);
  EXPECT_GE(lastChecked, 2);
}

TEST_F(ImageSampling, CompletionsKeepTheTopHalf) {
  rt::ImageSet given;
  given.shape = kShape;
  given.count = 2;
  for (int64_t i = 0; i < 2 * 48; ++i)
    given.pixels.push_back(uint8_t((i * 37) % 256));
  rt::ImageSet completed = sample(2, &given, 1.0, 4);
  ASSERT_EQ(completed.count, 2);
  for (int64_t i = 0; i < 2; ++i) {
    // Rows 0..2 of 6 are given.
    EXPECT_TRUE(
        std::equal(given.image(i), given.image(i) + 24, completed.image(i)));
    EXPECT_FALSE(std::equal(given.image(i) + 24, given.image(i) + 48,
                            completed.image(i) + 24));
  }
}

TEST_F(ImageSampling, SamplesAreAFunctionOfTheSeed) {
  rt::ImageSet a = sample(2, nullptr, 1.0, 5);
  EXPECT_EQ(sample(2, nullptr, 1.0, 5).pixels, a.pixels);
  EXPECT_NE(sample(2, nullptr, 1.0, 6).pixels, a.pixels);
  // An image does not depend on how many are sampled beside it.
  rt::ImageSet one = sample(1, nullptr, 1.0, 5);
  EXPECT_TRUE(std::equal(one.pixels.begin(), one.pixels.end(), a.image(0)));
}

TEST_F(ImageSampling, BadRequests) {
  mlir::st::SampleOptions options;
  rt::Expected<rt::ImageSet> wrong =
      mlir::st::sampleImages(*model, *params, {7, 7, 1}, 1, nullptr, options);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.message(),
            "images of 7x7x1 are 49 bytes, the model's context is 48");
  rt::ImageSet few;
  few.shape = kShape;
  few.count = 1;
  few.pixels.assign(48, 0);
  EXPECT_FALSE(
      mlir::st::sampleImages(*model, *params, kShape, 2, &few, options));
  EXPECT_FALSE(
      mlir::st::sampleImages(*model, *params, kShape, 0, nullptr, options));
}

} // namespace
