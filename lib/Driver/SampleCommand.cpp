//===- SampleCommand.cpp - st-run's sample subcommand ---------------------===//
//
// Flag checks, the prompt, the checkpoint, progress and the output file
// around sampleSequences (Sample.h). Every bad input is one
// `st-run: error:` line naming the flag or file, before any long work.
//
//===----------------------------------------------------------------------===//

#include "st/Driver/Commands.h"

#include "st/Driver/MediaSample.h"
#include "st/Driver/Model.h"
#include "st/Driver/Sample.h"
#include "st/Runtime/Metrics.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::st;
namespace rt = ::st::rt;

std::optional<std::string>
mlir::st::checkSamplingFlags(const SampleCommandOptions &o) {
  if (!(o.temperature >= 0.0) || !std::isfinite(o.temperature))
    return llvm::formatv("--temperature must be a finite number >= 0, got {0}",
                         o.temperature)
        .str();
  if (o.topK < 0)
    return llvm::formatv("--top-k must be >= 0 (0: all bytes), got {0}", o.topK)
        .str();
  if (o.samples < 1)
    return llvm::formatv("--samples must be at least 1, got {0}", o.samples)
        .str();
  return std::nullopt;
}

namespace {

int fail(const llvm::Twine &message) {
  llvm::errs() << "st-run: error: " << message << "\n";
  return 1;
}

/// The flags that need no model, in the order a user reads them.
std::optional<std::string> checkFlags(const SampleCommandOptions &o) {
  if (o.hasPrompt && !o.promptFile.empty())
    return std::string("--prompt and --prompt-file are exclusive");
  if (!o.hasPrompt && o.promptFile.empty())
    return std::string("no prompt: give --prompt TEXT or --prompt-file FILE");
  if (o.length < 0)
    return llvm::formatv("--length must be >= 0 (0: up to the end of the "
                         "context), got {0}",
                         o.length)
        .str();
  return checkSamplingFlags(o);
}

/// The directory the output file will be written into must exist and be
/// writable, so that a long run does not end in an unwritable path.
std::optional<std::string> checkOutput(const std::string &output) {
  if (output.empty())
    return std::nullopt;
  llvm::StringRef dir = llvm::sys::path::parent_path(output);
  if (dir.empty())
    dir = ".";
  if (!llvm::sys::fs::is_directory(dir) ||
      llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
    return "cannot write '" + output + "': '" + dir.str() +
           "' is not a writable directory";
  return std::nullopt;
}

/// Writes `text` to `path` through a temporary file and a rename, so that
/// the file is never left half written.
std::optional<std::string> writeAtomically(const std::string &path,
                                           llvm::StringRef text) {
  std::string tmp = path + ".tmp";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec)
      return "cannot write '" + tmp + "': " + ec.message();
    os << text;
    os.close();
    if (os.has_error())
      return "cannot write '" + tmp + "': " + os.error().message();
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path))
    return "cannot write '" + path + "': " + ec.message();
  return std::nullopt;
}

} // namespace

int mlir::st::runSample(const SampleCommandOptions &options) {
  if (isMediaOutput(options.output))
    return runMediaSample(options);
  if (std::optional<std::string> error = checkFlags(options))
    return fail(*error);
  if (std::optional<std::string> error = checkOutput(options.output))
    return fail(*error);
  std::string prompt = options.prompt;
  if (!options.promptFile.empty()) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
        llvm::MemoryBuffer::getFile(options.promptFile, /*IsText=*/false,
                                    /*RequiresNullTerminator=*/false);
    if (!file)
      return fail("cannot read prompt file '" + options.promptFile +
                  "': " + file.getError().message());
    prompt = (*file)->getBuffer().str();
  }
  if (prompt.empty())
    return fail(options.promptFile.empty()
                    ? "--prompt is empty: sampling needs at least one byte"
                    : "prompt file '" + options.promptFile +
                          "' is empty: sampling needs at least one byte");

  // Everything that needs only the model's configuration and the files is
  // checked before the (slow) compile.
  std::unique_ptr<MLIRContext> context = createContext();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, context.get(), llvm::errs());
  FailureOr<ModelConfig> config = readModelConfig(*context, options.model);
  if (failed(config))
    return 1;
  int64_t promptBytes = prompt.size(), n = config->context;
  if (promptBytes > n)
    return fail(llvm::formatv("the prompt ({0} bytes) is longer than the "
                              "model's context of {1} bytes",
                              promptBytes, n));
  if (promptBytes == n)
    return fail(llvm::formatv("the prompt ({0} bytes) fills the model's "
                              "context: nothing is left to sample",
                              promptBytes));
  int64_t length = options.length > 0 ? options.length : n - promptBytes;
  if (promptBytes + length > n)
    return fail(llvm::formatv("--length {0} goes past the context: {1} prompt "
                              "bytes + {0} > {2} (at most {3})",
                              length, promptBytes, n, n - promptBytes));
  FailureOr<DecodingModel> loaded = loadDecodingModel(
      *context, options.model, options.checkpoint, /*withLogits=*/false);
  if (failed(loaded))
    return 1;
  CompiledModel &model = loaded->model;
  rt::ParamStore &params = loaded->params;
  const ModelConfig &cfg = model.config;

  llvm::errs() << llvm::formatv(
      "sample: model {0} ({1} parameters) from {2}: {3} x ({4} prompt + {5} "
      "sampled bytes), temperature {6}, top-k {7}, seed {8}\n",
      cfg.name, params.numParameters(), options.checkpoint, options.samples,
      promptBytes, length, options.temperature, options.topK, options.seed);
  int64_t steps = promptBytes + length - 1;
  rt::ProgressOptions progressOptions;
  progressOptions.totalSteps = steps;
  progressOptions.tokensPerStep = options.samples;
  progressOptions.stepName = "position";
  progressOptions.lossName = "sampled nll";
  progressOptions.every = std::max<int64_t>(1, steps / 10);
  rt::ProgressReporter progress(progressOptions);

  SampleOptions sample;
  sample.length = length;
  sample.temperature = options.temperature;
  sample.topK = options.topK;
  sample.seed = options.seed;
  sample.progress = [&](int64_t done, int64_t, double nats) {
    progress.update(done, nats);
  };
  std::vector<std::vector<uint8_t>> prompts(
      options.samples, std::vector<uint8_t>(prompt.begin(), prompt.end()));
  rt::Expected<std::vector<std::vector<uint8_t>>> texts =
      sampleSequences(model, params, prompts, sample);
  progress.finish();
  if (!texts)
    return fail(texts.message());

  std::string out;
  for (const std::vector<uint8_t> &t : *texts) {
    out.append(t.begin(), t.end());
    out += '\n';
  }
  if (options.output.empty()) {
    llvm::outs() << out;
    llvm::outs().flush();
    return 0;
  }
  if (std::optional<std::string> error = writeAtomically(options.output, out))
    return fail(*error);
  return 0;
}
