//===- Commands.h - st-run's subcommands ------------------------*- C++ -*-===//

#ifndef ST_DRIVER_COMMANDS_H
#define ST_DRIVER_COMMANDS_H

#include <cstdint>
#include <string>

namespace mlir {
namespace st {

struct EvalOptions {
  std::string model;
  std::string data;
  /// Safetensors checkpoint; empty means a fresh random initialisation.
  std::string checkpoint;
  int64_t batch = 4;
  uint64_t seed = 0;
  /// Fraction of the data file held out for validation (its tail).
  double valFraction = 0.05;
  /// Evaluate at most this many sequences (0: all).
  int64_t maxSequences = 0;
};

/// `st-run MODEL eval`: mean loss and bits per byte of the model on the
/// validation split of a byte file. Returns the process exit code; errors
/// are one located line on stderr.
int runEval(const EvalOptions &options);

} // namespace st
} // namespace mlir

#endif // ST_DRIVER_COMMANDS_H
