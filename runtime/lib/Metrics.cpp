//===- Metrics.cpp - Training metrics log and progress display ------------===//

#include "st/Runtime/Metrics.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <unistd.h>

using namespace st::rt;

//===----------------------------------------------------------------------===//
// MetricsWriter
//===----------------------------------------------------------------------===//

Expected<MetricsWriter> MetricsWriter::open(const std::string &path,
                                            bool truncate) {
  FILE *file = std::fopen(path.c_str(), truncate ? "w" : "a");
  if (!file)
    return Status::error(path +
                         ": cannot open for writing: " + std::strerror(errno));
  return MetricsWriter(path, file);
}

MetricsWriter::MetricsWriter(MetricsWriter &&other) noexcept
    : filePath(std::move(other.filePath)), file(other.file) {
  other.file = nullptr;
}

MetricsWriter &MetricsWriter::operator=(MetricsWriter &&other) noexcept {
  if (this != &other) {
    if (file)
      std::fclose(file);
    filePath = std::move(other.filePath);
    file = other.file;
    other.file = nullptr;
  }
  return *this;
}

MetricsWriter::~MetricsWriter() {
  if (file)
    std::fclose(file);
}

Status MetricsWriter::write(const nlohmann::json &record) {
  if (!file)
    return Status::error(filePath + ": metrics file is not open");
  // The replace handler keeps dump() from aborting (no exceptions) on a
  // string that is not valid UTF-8.
  std::string line = record.dump(-1, ' ', /*ensure_ascii=*/false,
                                 nlohmann::json::error_handler_t::replace);
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), file) != line.size() ||
      std::fflush(file) != 0)
    return Status::error(filePath +
                         ": cannot write metrics: " + std::strerror(errno));
  return Status::success();
}

//===----------------------------------------------------------------------===//
// ProgressReporter
//===----------------------------------------------------------------------===//

double st::rt::steadySeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string st::rt::formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "--";
  // Round to whole seconds; a day-long ETA is still shown in hours.
  auto total = static_cast<int64_t>(std::llround(seconds));
  int64_t hours = total / 3600, minutes = (total / 60) % 60, secs = total % 60;
  char text[48];
  if (hours > 0)
    std::snprintf(text, sizeof(text), "%lldh%02lldm%02llds",
                  static_cast<long long>(hours),
                  static_cast<long long>(minutes),
                  static_cast<long long>(secs));
  else if (minutes > 0)
    std::snprintf(text, sizeof(text), "%lldm%02llds",
                  static_cast<long long>(minutes),
                  static_cast<long long>(secs));
  else
    std::snprintf(text, sizeof(text), "%llds", static_cast<long long>(secs));
  return text;
}

namespace {
std::string formatRate(double perSecond) {
  if (!std::isfinite(perSecond) || perSecond < 0)
    return "--";
  char text[32];
  if (perSecond >= 1e6)
    std::snprintf(text, sizeof(text), "%.2fM", perSecond / 1e6);
  else if (perSecond >= 1e3)
    std::snprintf(text, sizeof(text), "%.1fk", perSecond / 1e3);
  else
    std::snprintf(text, sizeof(text), "%.0f", perSecond);
  return text;
}
} // namespace

ProgressReporter::ProgressReporter(ProgressOptions options, FILE *stream,
                                   SecondsClock clock)
    : options(options), stream(stream), clock(std::move(clock)),
      terminal(options.terminal ? *options.terminal
                                : ::isatty(::fileno(stream)) != 0),
      startTime(this->clock()), step(options.startStep) {}

std::string ProgressReporter::statusText() const {
  double elapsed = clock() - startTime;
  int64_t done = step - options.startStep;
  int64_t total = std::max<int64_t>(options.totalSteps, 1);
  double percent = 100.0 * static_cast<double>(step) / total;
  double rate = done > 0 && elapsed > 0 ? static_cast<double>(done) *
                                              options.tokensPerStep / elapsed
                                        : NAN;
  double eta = done > 0 ? elapsed / done * (options.totalSteps - step) : NAN;

  char head[96];
  std::snprintf(head, sizeof(head), " %lld/%lld (%.1f%%)",
                static_cast<long long>(step),
                static_cast<long long>(options.totalSteps), percent);
  std::string text = options.stepName + head;
  char fields[96];
  if (haveUpdate)
    std::snprintf(fields, sizeof(fields), " %.4f | %.4f %s", loss,
                  loss / std::log(2.0), options.bitsUnit.c_str());
  else
    std::snprintf(fields, sizeof(fields), " -- | -- %s",
                  options.bitsUnit.c_str());
  text += " | " + options.lossName;
  text += fields;
  text += " | " + formatRate(rate) + " tokens/s";
  text += " | ETA " + formatDuration(eta);
  return text;
}

void ProgressReporter::update(int64_t newStep, double newLoss) {
  step = newStep;
  loss = newLoss;
  haveUpdate = true;
  drawnCurrent = false;
  if (terminal) {
    draw(/*force=*/step >= options.totalSteps);
    return;
  }
  if ((options.every > 0 && step % options.every == 0) ||
      step >= options.totalSteps)
    printPlain();
}

void ProgressReporter::draw(bool force) {
  double now = clock();
  if (!force && lastDrawTime >= 0 &&
      now - lastDrawTime < options.minRedrawSeconds)
    return;
  int width = std::max(options.barWidth, 1);
  double fraction =
      options.totalSteps > 0
          ? std::clamp(static_cast<double>(step) / options.totalSteps, 0.0, 1.0)
          : 0.0;
  int filled = static_cast<int>(fraction * width);
  std::string line = "[" + std::string(filled, '#') +
                     std::string(width - filled, '.') + "] " + statusText();
  // Spaces erase the tail of a longer previous line; no terminal escape
  // sequences needed.
  size_t width0 = line.size();
  if (line.size() < lastLineWidth)
    line.append(lastLineWidth - line.size(), ' ');
  std::fprintf(stream, "\r%s", line.c_str());
  std::fflush(stream);
  lastLineWidth = width0;
  lastDrawTime = now;
  drawnCurrent = true;
}

void ProgressReporter::printPlain() {
  std::fprintf(stream, "%s\n", statusText().c_str());
  std::fflush(stream);
  lastPrintedStep = step;
}

void ProgressReporter::note(const std::string &text) {
  if (terminal && lastLineWidth > 0) {
    std::fprintf(stream, "\r%s\r%s\n", std::string(lastLineWidth, ' ').c_str(),
                 text.c_str());
    lastLineWidth = 0;
    if (haveUpdate && !finished)
      draw(/*force=*/true);
    else
      std::fflush(stream);
    return;
  }
  std::fprintf(stream, "%s\n", text.c_str());
  std::fflush(stream);
}

void ProgressReporter::finish() {
  if (finished)
    return;
  finished = true;
  if (terminal) {
    if (haveUpdate && !drawnCurrent)
      draw(/*force=*/true);
    if (lastLineWidth > 0)
      std::fputc('\n', stream);
    lastLineWidth = 0;
    std::fflush(stream);
    return;
  }
  if (haveUpdate && lastPrintedStep != step)
    printPlain();
}
