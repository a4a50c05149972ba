//===- Commands.h - st-run's subcommands ------------------------*- C++ -*-===//

#ifndef ST_DRIVER_COMMANDS_H
#define ST_DRIVER_COMMANDS_H

#include <cstdint>
#include <optional>
#include <string>

namespace mlir {
namespace st {

struct EvalOptions {
  std::string model;
  std::string data;
  /// Format of `data` (st/Runtime/Dataset.h); "auto" detects it.
  std::string format = "auto";
  /// Safetensors checkpoint; empty means a fresh random initialisation.
  std::string checkpoint;
  int64_t batch = 4;
  uint64_t seed = 0;
  /// Fraction of the data file held out for validation (its tail); 1
  /// evaluates the whole file.
  double valFraction = 0.05;
  /// Evaluate at most this many sequences (0: all).
  int64_t maxSequences = 0;
};

struct TrainOptions {
  std::string model;
  std::string data;
  std::string format = "auto";
  int64_t steps = 1000;
  int64_t batch = 8;
  double lr = 1e-3;
  int64_t warmup = 100;
  uint64_t seed = 0;
  double valFraction = 0.05;
  /// Validation every this many steps (0: only at the end).
  int64_t evalEvery = 0;
  /// At most this many validation sequences per evaluation (0: all).
  int64_t evalSequences = 64;
  /// Checkpoint path (safetensors) and interval (0: only at the end).
  std::string checkpoint;
  int64_t checkpointEvery = 0;
  /// Continue from `checkpoint` if it exists.
  bool resume = false;
  /// JSON-lines metrics file (empty: none).
  std::string metrics;
  /// Stop after this many steps of the schedule (0: run all `steps`); the
  /// learning-rate schedule still spans `steps`, so a later --resume
  /// continues exactly.
  int64_t stopAfter = 0;
  /// Rematerialisation policy of the gradient: none, paper or
  /// budget=<bytes> (st-remat).
  std::string remat = "paper";
};

struct SampleCommandOptions {
  std::string model;
  /// Safetensors checkpoint with the model's parameters.
  std::string checkpoint;
  /// The prompt: `prompt` (when `hasPrompt`) or the bytes of `promptFile`.
  std::string prompt;
  bool hasPrompt = false;
  std::string promptFile;
  /// Bytes to generate (0: up to the end of the context).
  int64_t length = 0;
  double temperature = 1.0;
  int64_t topK = 0;
  uint64_t seed = 0;
  int64_t samples = 1;
  /// Output file (empty: stdout). FILE.png samples images, FILE.wav audio
  /// (MediaSample.h).
  std::string output;
  /// Images or audio to complete (media only; empty: unconditional).
  std::string data;
  std::string format = "auto";
  /// Images per grid row (0: a square grid) and enlargement of the grid.
  int64_t columns = 0;
  int64_t scale = 1;
  /// WAV sample rate (0: that of --data, else 22050 Hz).
  int64_t sampleRate = 0;
};

/// The checks of `st-run sample`'s flags that text and media share
/// (--temperature, --top-k, --samples): the first failure's message.
std::optional<std::string> checkSamplingFlags(const SampleCommandOptions &o);

/// `st-run MODEL train`: trains on text, images or audio with AdamW, reports
/// progress, validates, checkpoints and resumes bit for bit.
int runTrain(const TrainOptions &options);

/// `st-run MODEL eval`: mean loss and bits per byte (per dimension for
/// images and audio) of the model on the validation split of the data.
/// Returns the process exit code; errors are one located line on stderr.
int runEval(const EvalOptions &options);

/// `st-run MODEL sample`: continues a prompt with cached decoding and
/// writes every sample (prompt and continuation) followed by a newline;
/// progress goes to stderr.
int runSample(const SampleCommandOptions &options);

} // namespace st
} // namespace mlir

#endif // ST_DRIVER_COMMANDS_H
