//===- Metrics.h - Training metrics log and progress display ----*- C++ -*-===//
//
// Two outputs of a training run:
//  - MetricsWriter: a JSON-lines file, one object per line, flushed after
//    every line so that `tail -f`, plotting scripts, and a crashed run all see
//    complete records;
//  - ProgressReporter: what a person watches. On a terminal, one line
//    redrawn in place with '\r' (a bar, step/total, loss, bits per byte,
//    tokens per second, ETA), ended with a newline by finish(). Elsewhere
//    (a log file, a CI console) '\r' would pile up, so it prints one plain
//    line every `every` steps with the same fields.
// The clock and the stream are injectable so that tests can drive both.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_METRICS_H
#define ST_RUNTIME_METRICS_H

#include "st/Runtime/Status.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace st {
namespace rt {

/// Appends JSON objects to a file, one per line.
class MetricsWriter {
public:
  /// Opens `path` for appending (creating it), or truncates it first when
  /// `truncate` is set. A resumed run appends to its own log.
  static Expected<MetricsWriter> open(const std::string &path,
                                      bool truncate = false);

  /// Writes `record` (normally an object) as one line and flushes it.
  /// Non-finite floats are written as null, since JSON has no NaN.
  Status write(const nlohmann::json &record);

  const std::string &path() const { return filePath; }

  MetricsWriter(MetricsWriter &&other) noexcept;
  MetricsWriter &operator=(MetricsWriter &&other) noexcept;
  MetricsWriter(const MetricsWriter &) = delete;
  MetricsWriter &operator=(const MetricsWriter &) = delete;
  ~MetricsWriter();

private:
  MetricsWriter(std::string path, FILE *file)
      : filePath(std::move(path)), file(file) {}

  std::string filePath;
  FILE *file = nullptr;
};

/// Seconds on a monotonic clock; the origin does not matter.
using SecondsClock = std::function<double()>;

/// std::chrono::steady_clock in seconds.
double steadySeconds();

/// Formats a duration as "45s", "3m07s" or "2h05m09s" ("--" if negative or
/// not finite).
std::string formatDuration(double seconds);

struct ProgressOptions {
  /// The step the run ends at; steps passed to update() are in (startStep,
  /// totalSteps].
  int64_t totalSteps = 0;
  /// The step the run starts (or resumes) from; rates and ETA count only
  /// steps done since.
  int64_t startStep = 0;
  /// Tokens (bytes) consumed per step: batch size x context.
  int64_t tokensPerStep = 0;
  /// How the loss in bits is named: "bits/byte", or "bits/dim" for images
  /// and audio (the same quantity).
  std::string bitsUnit = "bits/byte";
  /// What a step and the loss are called: "step" and "loss" for training;
  /// sampling reports positions and the negative log-likelihood of the
  /// sampled bytes.
  std::string stepName = "step";
  std::string lossName = "loss";
  /// Not a terminal: print a line when step % every == 0 (and at the end).
  int64_t every = 100;
  /// Terminal: redraw at most this often, so that fast steps do not turn
  /// into a flood of terminal writes (the final step is always drawn).
  double minRedrawSeconds = 0.1;
  /// Width of the bar in characters.
  int barWidth = 30;
  /// Overrides the isatty(fileno(stream)) test (for tests).
  std::optional<bool> terminal;
};

/// Reports training progress on `stream` (not owned).
class ProgressReporter {
public:
  ProgressReporter(ProgressOptions options, FILE *stream = stderr,
                   SecondsClock clock = steadySeconds);

  /// Records that `step` has completed with training loss `loss` (mean
  /// nats per byte); bits per byte = loss / ln 2. Draws or prints as the
  /// mode and schedule say.
  void update(int64_t step, double loss);

  /// Prints a line of text (e.g. an evaluation result) without garbling the
  /// in-place progress line, which is redrawn after it.
  void note(const std::string &text);

  /// Draws the last state and ends the line (terminal), or prints the last
  /// step if its plain line has not been printed. Idempotent.
  void finish();

  bool isTerminal() const { return terminal; }

  /// The fields of the current state, as printed in plain mode:
  /// "step 120/1000 (12.0%) | loss 2.3456 | 3.3840 bits/byte |
  ///  12.3k tokens/s | ETA 1m23s".
  std::string statusText() const;

private:
  void draw(bool force);
  void printPlain();

  ProgressOptions options;
  FILE *stream;
  SecondsClock clock;
  bool terminal;
  double startTime;
  double lastDrawTime = -1.0;
  int64_t step = 0;
  double loss = 0.0;
  bool haveUpdate = false;
  bool drawnCurrent = false;
  bool finished = false;
  size_t lastLineWidth = 0;
  int64_t lastPrintedStep = -1;
};

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_METRICS_H
