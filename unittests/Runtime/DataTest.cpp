//===- DataTest.cpp - Tests of the byte dataset ---------------------------===//

#include "st/Runtime/Data.h"

#include "TempDir.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

using namespace st::rt;
using st::test::contains;
using st::test::TempDir;
using st::test::writeBytes;

namespace {

/// Bytes whose value at i is a function of i with period 251 (prime, not a
/// divisor of any context used here), so a window's content tells where it
/// came from.
std::vector<uint8_t> patternBytes(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<uint8_t>(i % 251);
  return bytes;
}

TEST(ByteDatasetTest, MissingFile) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("nope.txt");
  auto dataset = ByteDataset::load(path, 8);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.message(), path + ": no such file");
}

TEST(ByteDatasetTest, UnreadableFile) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  // A directory opens but cannot be read as data (chmod 000 would not stop
  // root, so it is not a reliable way to make a file unreadable here).
  std::string path = dir.path("subdir");
  ASSERT_TRUE(std::filesystem::create_directory(path));
  auto dataset = ByteDataset::load(path, 8);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.message(), path + ": cannot read: is a directory");
}

TEST(ByteDatasetTest, EmptyFile) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("empty.txt");
  writeBytes(path, {});
  auto dataset = ByteDataset::load(path, 8);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.message(), path + ": file is empty");
}

TEST(ByteDatasetTest, ContextLongerThanData) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("short.txt");
  writeBytes(path, patternBytes(50));
  auto dataset = ByteDataset::load(path, 100);
  ASSERT_FALSE(dataset);
  EXPECT_TRUE(contains(dataset.message(),
                       path + ": context 100 longer than the data (50 bytes)"))
      << dataset.message();
  EXPECT_EQ(dataset.message().find('\n'), std::string::npos);
  // context + 1 bytes are needed: 50 bytes hold a context of 49, not 50.
  EXPECT_FALSE(ByteDataset::load(path, 50));
  EXPECT_TRUE(ByteDataset::load(path, 49));
}

TEST(ByteDatasetTest, BadArguments) {
  EXPECT_FALSE(ByteDataset::fromBytes(patternBytes(100), 0, 0.05, "x"));
  EXPECT_FALSE(ByteDataset::fromBytes(patternBytes(100), 8, 1.5, "x"));
  EXPECT_FALSE(ByteDataset::fromBytes(patternBytes(100), 8, -0.1, "x"));
}

TEST(ByteDatasetTest, WholeFileForValidation) {
  // valFraction 1: every byte is validation data, none is for training.
  auto dataset = ByteDataset::fromBytes(patternBytes(100), 8, 1.0, "x");
  ASSERT_TRUE(dataset) << dataset.message();
  EXPECT_EQ(dataset->trainData().size, 0u);
  EXPECT_EQ(dataset->valData().size, 100u);
  EXPECT_EQ(dataset->numEvalSequences(8), 11);
  std::vector<uint8_t> batch;
  EXPECT_TRUE(dataset->trainBatch(0, 1, 8, 0, batch).isError());
}

TEST(ByteDatasetTest, LoadsWholeFile) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("data.bin");
  std::vector<uint8_t> bytes = patternBytes(100000);
  writeBytes(path, bytes);
  auto dataset = ByteDataset::load(path, 64);
  ASSERT_TRUE(dataset) << dataset.message();
  ASSERT_EQ(dataset->size(), bytes.size());
  EXPECT_TRUE(
      std::equal(bytes.begin(), bytes.end(), dataset->trainData().begin()));
}

TEST(ByteDatasetTest, SplitSizes) {
  // The default: the last 5% is validation.
  auto big = ByteDataset::fromBytes(patternBytes(10000), 16, 0.05, "x");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->trainData().size, 9500u);
  EXPECT_EQ(big->valData().size, 500u);
  EXPECT_EQ(big->valData().data, big->trainData().end());
  // Raised to one full window (context + 1 = 17 bytes) when 5% is less.
  auto small = ByteDataset::fromBytes(patternBytes(100), 16, 0.05, "x");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->valData().size, 17u);
  EXPECT_EQ(small->trainData().size, 83u);
  // ... but never at the cost of the training split's one sequence.
  auto tiny = ByteDataset::fromBytes(patternBytes(20), 16, 0.05, "x");
  ASSERT_TRUE(tiny);
  EXPECT_EQ(tiny->trainData().size, 17u);
  EXPECT_EQ(tiny->valData().size, 3u);
  EXPECT_EQ(tiny->numEvalSequences(16), 0);
  // No validation data when asked for none.
  auto none = ByteDataset::fromBytes(patternBytes(1000), 16, 0.0, "x");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->valData().size, 0u);
  EXPECT_TRUE(none->evalSequences(16).empty());
  // Deterministic: same input, same split.
  auto again = ByteDataset::fromBytes(patternBytes(10000), 16, 0.05, "x");
  EXPECT_EQ(again->trainData().size, big->trainData().size);
}

TEST(ByteDatasetTest, BatchesAreWindowsOfTheTrainingSplit) {
  auto dataset = ByteDataset::fromBytes(patternBytes(5000), 32, 0.1, "x");
  ASSERT_TRUE(dataset);
  const int64_t batch = 8, context = 32;
  std::vector<uint8_t> out;
  ASSERT_TRUE(dataset->trainBatch(3, batch, context, 99, out).isOk());
  ASSERT_EQ(out.size(), static_cast<size_t>(batch * (context + 1)));
  std::vector<uint64_t> offsets = dataset->trainOffsets(3, batch, context, 99);
  ASSERT_EQ(offsets.size(), static_cast<size_t>(batch));
  ByteSpan train = dataset->trainData();
  for (int64_t row = 0; row < batch; ++row) {
    // The whole window, inputs and targets, lies inside the training split.
    ASSERT_LE(offsets[row] + context + 1, train.size);
    for (int64_t i = 0; i <= context; ++i)
      EXPECT_EQ(out[row * (context + 1) + i], train[offsets[row] + i]);
  }
}

TEST(ByteDatasetTest, BatchesDependOnSeedAndStepOnly) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("data.bin");
  writeBytes(path, patternBytes(20000));
  auto first = ByteDataset::load(path, 64);
  ASSERT_TRUE(first);
  std::vector<uint8_t> stepFive, stepFiveAgain, stepSix, otherSeed;
  ASSERT_TRUE(first->trainBatch(5, 4, 64, 1, stepFive).isOk());
  // A resumed run: a new dataset object, never having produced steps 0-4.
  auto resumed = ByteDataset::load(path, 64);
  ASSERT_TRUE(resumed);
  ASSERT_TRUE(resumed->trainBatch(5, 4, 64, 1, stepFiveAgain).isOk());
  EXPECT_EQ(stepFive, stepFiveAgain);
  ASSERT_TRUE(first->trainBatch(6, 4, 64, 1, stepSix).isOk());
  EXPECT_NE(stepFive, stepSix);
  ASSERT_TRUE(first->trainBatch(5, 4, 64, 2, otherSeed).isOk());
  EXPECT_NE(stepFive, otherSeed);
  // Row b does not depend on the batch size, so growing the batch keeps the
  // rows already there.
  std::vector<uint64_t> four = first->trainOffsets(5, 4, 64, 1);
  std::vector<uint64_t> eight = first->trainOffsets(5, 8, 64, 1);
  EXPECT_TRUE(std::equal(four.begin(), four.end(), eight.begin()));
}

TEST(ByteDatasetTest, OffsetsArePinned) {
  // Pinned so that a change of the sampling scheme, which would silently
  // change what a resumed run trains on, is noticed.
  auto dataset = ByteDataset::fromBytes(patternBytes(1000000), 128, 0.05, "x");
  ASSERT_TRUE(dataset);
  EXPECT_EQ(dataset->trainOffsets(0, 4, 128, 1234),
            (std::vector<uint64_t>{778639, 601384, 563163, 30756}));
}

TEST(ByteDatasetTest, OffsetsCoverTheTrainingSplit) {
  auto dataset = ByteDataset::fromBytes(patternBytes(1000), 10, 0.05, "x");
  ASSERT_TRUE(dataset);
  // 950 training bytes hold 940 window starts; 200 steps x 32 rows = 6400
  // draws miss a given start with probability (939/940)^6400 ~ 0.1%, and the
  // seed is fixed, so all of them are seen.
  std::set<uint64_t> seen;
  for (uint64_t step = 0; step < 200; ++step)
    for (uint64_t offset : dataset->trainOffsets(step, 32, 10, 7)) {
      ASSERT_LT(offset, 940u);
      seen.insert(offset);
    }
  EXPECT_GT(seen.size(), 930u);
  EXPECT_EQ(*seen.begin(), 0u);
  EXPECT_EQ(*seen.rbegin(), 939u);
}

TEST(ByteDatasetTest, BatchErrors) {
  auto dataset = ByteDataset::fromBytes(patternBytes(100), 8, 0.05, "x");
  ASSERT_TRUE(dataset);
  std::vector<uint8_t> out;
  Status tooLong = dataset->trainBatch(0, 2, 200, 1, out);
  ASSERT_TRUE(tooLong.isError());
  EXPECT_TRUE(contains(tooLong.message(), "context 200 longer than the"));
  EXPECT_TRUE(dataset->trainBatch(0, 0, 8, 1, out).isError());
  EXPECT_TRUE(dataset->trainBatch(0, 2, 0, 1, out).isError());
}

TEST(ByteDatasetTest, EvalWindows) {
  // 2000 bytes: validation is the last 100; windows of 9 bytes: 11 of them,
  // and the last 1 byte is dropped.
  auto dataset = ByteDataset::fromBytes(patternBytes(2000), 8, 0.05, "x");
  ASSERT_TRUE(dataset);
  ByteSpan val = dataset->valData();
  ASSERT_EQ(val.size, 100u);
  EXPECT_EQ(dataset->numEvalSequences(8), 11);
  std::vector<ByteSpan> windows = dataset->evalSequences(8);
  ASSERT_EQ(windows.size(), 11u);
  for (size_t i = 0; i < windows.size(); ++i) {
    EXPECT_EQ(windows[i].size, 9u);
    EXPECT_EQ(windows[i].data, val.data + 9 * i);
  }
  EXPECT_EQ(windows.back().end(), val.end() - 1);
  // Another context, another tiling of the same bytes.
  EXPECT_EQ(dataset->numEvalSequences(49), 2);
  EXPECT_EQ(dataset->numEvalSequences(99), 1);
  EXPECT_EQ(dataset->numEvalSequences(100), 0);
  EXPECT_EQ(dataset->numEvalSequences(0), 0);
}

} // namespace
