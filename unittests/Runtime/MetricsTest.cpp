//===- MetricsTest.cpp - Tests of the metrics log and progress display ----===//

#include "st/Runtime/Metrics.h"

#include "TempDir.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace st::rt;
using st::test::contains;
using st::test::TempDir;

namespace {

std::vector<std::string> readLines(const std::string &path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    lines.push_back(line);
  return lines;
}

/// Everything written to `stream` so far.
std::string contents(FILE *stream) {
  std::fflush(stream);
  long end = std::ftell(stream);
  std::string text(static_cast<size_t>(end), '\0');
  std::rewind(stream);
  size_t got = std::fread(text.data(), 1, text.size(), stream);
  text.resize(got);
  std::fseek(stream, 0, SEEK_END);
  return text;
}

std::vector<std::string> splitLines(const std::string &text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos;
       start = end + 1)
    lines.push_back(text.substr(start, end - start));
  if (start < text.size())
    lines.push_back(text.substr(start));
  return lines;
}

/// A clock the test advances by hand.
struct FakeClock {
  double now = 1000.0;
  SecondsClock get() {
    return [this] { return now; };
  }
};

TEST(MetricsWriterTest, JsonLinesParseBack) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("metrics.jsonl");
  {
    auto writer = MetricsWriter::open(path);
    ASSERT_TRUE(writer) << writer.message();
    for (int step = 1; step <= 3; ++step)
      ASSERT_TRUE(writer
                      ->write({{"step", step},
                               {"loss", 2.5 / step},
                               {"split", "train"},
                               {"lr", {{"value", 1e-3}}}})
                      .isOk());
    // Flushed per line: complete before the writer is closed.
    EXPECT_EQ(readLines(path).size(), 3u);
    // JSON has no NaN: it is written as null rather than breaking the line.
    ASSERT_TRUE(writer->write({{"step", 4}, {"loss", NAN}}).isOk());
  }
  std::vector<std::string> lines = readLines(path);
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    auto record = nlohmann::json::parse(lines[i], nullptr, false);
    ASSERT_FALSE(record.is_discarded()) << lines[i];
    EXPECT_EQ(record["step"], i + 1);
    EXPECT_DOUBLE_EQ(record["loss"].get<double>(), 2.5 / (i + 1));
    EXPECT_EQ(record["split"], "train");
    EXPECT_DOUBLE_EQ(record["lr"]["value"].get<double>(), 1e-3);
  }
  auto last = nlohmann::json::parse(lines[3], nullptr, false);
  ASSERT_FALSE(last.is_discarded());
  EXPECT_TRUE(last["loss"].is_null());
}

TEST(MetricsWriterTest, AppendsUnlessTruncating) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("metrics.jsonl");
  for (int run = 0; run < 2; ++run) {
    auto writer = MetricsWriter::open(path);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write({{"run", run}}).isOk());
  }
  EXPECT_EQ(readLines(path).size(), 2u);
  auto fresh = MetricsWriter::open(path, /*truncate=*/true);
  ASSERT_TRUE(fresh);
  ASSERT_TRUE(fresh->write({{"run", 2}}).isOk());
  EXPECT_EQ(readLines(path), std::vector<std::string>{R"({"run":2})"});
}

TEST(MetricsWriterTest, OpenFailure) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("missing/metrics.jsonl");
  auto writer = MetricsWriter::open(path);
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.message().rfind(path + ": cannot open for writing", 0), 0u);
}

TEST(ProgressTest, FormatDuration) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(45.4), "45s");
  EXPECT_EQ(formatDuration(187), "3m07s");
  EXPECT_EQ(formatDuration(7509), "2h05m09s");
  EXPECT_EQ(formatDuration(-1), "--");
  EXPECT_EQ(formatDuration(NAN), "--");
}

TEST(ProgressTest, PlainLinesOnANonTerminal) {
  FILE *stream = std::tmpfile(); // A file: isatty() is false.
  ASSERT_NE(stream, nullptr);
  FakeClock clock;
  ProgressOptions options;
  options.totalSteps = 25;
  options.tokensPerStep = 1000;
  options.every = 10;
  ProgressReporter progress(options, stream, clock.get());
  EXPECT_FALSE(progress.isTerminal());
  // loss = 2 ln 2 nats/byte = 2 bits/byte; 0.5 s per step.
  double loss = 2 * std::log(2.0);
  for (int step = 1; step <= 25; ++step) {
    clock.now += 0.5;
    progress.update(step, loss);
  }
  progress.finish();
  std::string text = contents(stream);
  std::fclose(stream);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  std::vector<std::string> lines = splitLines(text);
  // Every 10 steps, and the last one.
  ASSERT_EQ(lines.size(), 3u) << text;
  // Step 10: 5 s elapsed, 10000 tokens -> 2000 tokens/s; 15 steps left at
  // 0.5 s each -> 7.5 s, rounded to 8 s.
  EXPECT_EQ(lines[0], "step 10/25 (40.0%) | loss 1.3863 | 2.0000 bits/byte | "
                      "2.0k tokens/s | ETA 8s");
  EXPECT_TRUE(contains(lines[1], "step 20/25 (80.0%)"));
  EXPECT_TRUE(contains(lines[2], "step 25/25 (100.0%)"));
  EXPECT_TRUE(contains(lines[2], "ETA 0s"));
  for (const std::string &line : lines)
    for (const char *field : {"loss ", "bits/byte", "tokens/s", "ETA "})
      EXPECT_TRUE(contains(line, field)) << line;
}

TEST(ProgressTest, StepAndLossNamesAreOptions) {
  FILE *stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  FakeClock clock;
  ProgressOptions options;
  options.totalSteps = 4;
  options.tokensPerStep = 8;
  options.every = 4;
  options.stepName = "position";
  options.lossName = "sampled nll";
  ProgressReporter progress(options, stream, clock.get());
  for (int step = 1; step <= 4; ++step) {
    clock.now += 1.0;
    progress.update(step, std::log(2.0));
  }
  progress.finish();
  std::vector<std::string> lines = splitLines(contents(stream));
  std::fclose(stream);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "position 4/4 (100.0%) | sampled nll 0.6931 | 1.0000 "
                      "bits/byte | 8 tokens/s | ETA 0s");
}

TEST(ProgressTest, FinishPrintsAnUnprintedLastStep) {
  FILE *stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  FakeClock clock;
  ProgressOptions options;
  options.totalSteps = 100;
  options.startStep = 40; // Resumed: rates count from step 40.
  options.tokensPerStep = 64;
  options.every = 10;
  ProgressReporter progress(options, stream, clock.get());
  for (int step = 41; step <= 53; ++step) {
    clock.now += 1.0;
    progress.update(step, 1.0);
  }
  progress.finish();
  progress.finish(); // Idempotent.
  std::vector<std::string> lines = splitLines(contents(stream));
  std::fclose(stream);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(contains(lines[0], "step 50/100"));
  // 10 steps since the resume in 10 s: 64 tokens/s; 50 steps left.
  EXPECT_TRUE(contains(lines[0], "64 tokens/s | ETA 50s")) << lines[0];
  EXPECT_TRUE(contains(lines[1], "step 53/100")) << lines[1];
}

TEST(ProgressTest, OneUpdatingLineOnATerminal) {
  FILE *stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  FakeClock clock;
  ProgressOptions options;
  options.totalSteps = 10;
  options.tokensPerStep = 100;
  options.barWidth = 10;
  options.terminal = true;
  ProgressReporter progress(options, stream, clock.get());
  EXPECT_TRUE(progress.isTerminal());
  for (int step = 1; step <= 5; ++step) {
    clock.now += 1.0;
    progress.update(step, 1.0);
  }
  std::string text = contents(stream);
  // Redrawn in place: carriage returns, no newline yet.
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 5);
  size_t lastDraw = text.rfind('\r');
  EXPECT_EQ(text.substr(lastDraw, 17), "\r[#####.....] ste");
  EXPECT_TRUE(contains(text.substr(lastDraw), "step 5/10"));
  EXPECT_TRUE(contains(text.substr(lastDraw), "ETA 5s"));

  // Updates closer together than minRedrawSeconds are not drawn ...
  clock.now += 0.01;
  progress.update(6, 1.0);
  EXPECT_EQ(contents(stream).size(), text.size());
  // ... but a note prints on its own line and the bar is redrawn after it.
  progress.note("eval loss 0.9");
  text = contents(stream);
  EXPECT_TRUE(contains(text, "\reval loss 0.9\n"));
  EXPECT_TRUE(contains(text.substr(text.rfind('\r')), "step 6/10"));

  for (int step = 7; step <= 10; ++step) {
    clock.now += 1.0;
    progress.update(step, 1.0);
  }
  progress.finish();
  text = contents(stream);
  std::fclose(stream);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_TRUE(contains(text, "[##########] step 10/10 (100.0%)"));
}

} // namespace
