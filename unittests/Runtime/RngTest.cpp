//===- RngTest.cpp - Tests of the Philox4x32-10 generator -----------------===//

#include "st/Runtime/Rng.h"

#include "gtest/gtest.h"

#include <cmath>
#include <set>

using namespace st::rt;

namespace {

// Known-answer vectors of Philox4x32-10 from the Random123 distribution
// (kat_vectors), which the paper's reference implementation produces.
TEST(PhiloxTest, KnownAnswers) {
  EXPECT_EQ(philox4x32x10({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32x10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                          {0xffffffff, 0xffffffff}),
            (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32x10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                          {0xa4093822, 0x299f31d0}),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(PhiloxTest, KeyAndCounterLayout) {
  // Key word 0 is the low half; counter words 0-1 are the block index and
  // 2-3 the substream, low word first.
  uint64_t key = 0x299f31d0a4093822ull;
  EXPECT_EQ(philoxKey(key), (PhiloxKey{0xa4093822, 0x299f31d0}));
  Philox rng(key, 0x0370734413198a2eull);
  EXPECT_EQ(rng.block(0x85a308d3243f6a88ull),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(PhiloxTest, SequentialReadsFollowBlocks) {
  Philox rng(42, 7);
  for (uint64_t index = 0; index < 3; ++index) {
    PhiloxCounter block = rng.block(index);
    for (uint32_t word : block)
      EXPECT_EQ(rng.nextU32(), word);
  }
  // seek() lands mid-block as well as on block boundaries.
  Philox other(42, 7);
  other.seek(6);
  EXPECT_EQ(other.nextU32(), rng.block(1)[2]);
  other.seek(0);
  EXPECT_EQ(other.nextU64(),
            rng.block(0)[0] | (static_cast<uint64_t>(rng.block(0)[1]) << 32));
  // Different substreams and keys are different sequences.
  EXPECT_NE(Philox(42, 8).block(0), rng.block(0));
  EXPECT_NE(Philox(43, 7).block(0), rng.block(0));
}

TEST(PhiloxTest, FloatConversionsAreExactAtTheEnds) {
  EXPECT_EQ(uniformFloat(0), 0.0f);
  EXPECT_LT(uniformFloat(0xffffffffu), 1.0f);
  EXPECT_EQ(uniformFloat(0xffffffffu), 1.0f - 1.0f / 16777216.0f);
  EXPECT_GT(uniformFloatOpenZero(0), 0.0f);
  EXPECT_EQ(uniformFloatOpenZero(0xffffffffu), 1.0f);
  // The extreme inputs of Box-Muller stay finite (log(0) is never taken).
  for (uint32_t a : {0u, 0xffffffffu})
    for (uint32_t b : {0u, 0x80000000u, 0xffffffffu}) {
      auto [x, y] = normalPair(a, b);
      EXPECT_TRUE(std::isfinite(x) && std::isfinite(y));
    }
}

// With n = 1e5 samples the sample mean of U(0,1) has standard deviation
// sqrt(1/12/n) ~ 0.0009 and the sample variance ~0.00024; of N(0,1), 0.0032
// and 0.0045. Tolerances are ~5-6 of those, so a correct generator passes
// (the seed is fixed anyway, so the test is deterministic) while a biased
// conversion -- say, a wrong scale or a lost sign -- fails.
constexpr int kSamples = 100000;

TEST(PhiloxTest, UniformMoments) {
  Philox rng(mixKey(2024, 1));
  double sum = 0, sumSquares = 0;
  for (int i = 0; i < kSamples; ++i) {
    float u = rng.nextUniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
    sumSquares += (u - 0.5) * (u - 0.5);
  }
  EXPECT_NEAR(sum / kSamples, 0.5, 0.005);
  EXPECT_NEAR(sumSquares / kSamples, 1.0 / 12.0, 0.0015);
}

TEST(PhiloxTest, NormalMoments) {
  Philox rng(mixKey(2024, 2));
  double sum = 0, sumSquares = 0;
  int withinOneSigma = 0;
  for (int i = 0; i < kSamples; ++i) {
    float x = rng.nextNormal();
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
    sumSquares += static_cast<double>(x) * x;
    withinOneSigma += std::fabs(x) < 1.0f;
  }
  double mean = sum / kSamples;
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(sumSquares / kSamples - mean * mean, 1.0, 0.03);
  // P(|x| < 1) = 0.6827 for a normal; its sample sd is 0.0015. This catches
  // shapes with the right variance but the wrong distribution.
  EXPECT_NEAR(static_cast<double>(withinOneSigma) / kSamples, 0.6827, 0.008);
}

TEST(PhiloxTest, NormalsComeInBoxMullerPairs) {
  Philox rng(5);
  PhiloxCounter block = rng.block(0);
  auto [first, second] = normalPair(block[0], block[1]);
  EXPECT_EQ(rng.nextNormal(), first);
  EXPECT_EQ(rng.nextNormal(), second);
}

TEST(MixKeyTest, DeterministicAndSensitiveToEveryInput) {
  EXPECT_EQ(mixKey(1, 2, 3), mixKey(1, 2, 3));
  EXPECT_NE(mixKey(1, 2, 3), mixKey(1, 3, 2));
  EXPECT_NE(mixKey(1, 2, 3), mixKey(2, 2, 3));
  EXPECT_NE(mixKey(1, 2), mixKey(1, 2, 0));
  EXPECT_NE(mixKey(1), mixKey(1, 0));
  EXPECT_NE(mixKey(0), 0u);
  // No collisions over a realistic grid of (step, op id).
  std::set<uint64_t> keys;
  for (uint64_t step = 0; step < 2000; ++step)
    for (uint64_t op = 0; op < 10; ++op)
      keys.insert(mixKey(7, step, op));
  EXPECT_EQ(keys.size(), 20000u);
  // Pinned so that a change of the derivation, which would silently change
  // every resumed run's random numbers, is noticed.
  EXPECT_EQ(mixKey(0, 0), 0x6e789e6aa1b965f4ull);
  EXPECT_EQ(mixKey(1234, 5, 6), 0xc3bebb4ce2ce7dacull);
}

TEST(MixKeyTest, UniformBelowStaysInRange) {
  EXPECT_EQ(uniformBelow(0, 10), 0u);
  EXPECT_EQ(uniformBelow(~0ull, 10), 9u);
  EXPECT_EQ(uniformBelow(~0ull, 1), 0u);
  EXPECT_EQ(uniformBelow(1ull << 63, 10), 5u);
}

} // namespace
