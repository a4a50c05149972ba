//===- st-run.cpp - Train, evaluate and sample ST models ------------------===//
//
//   st-run MODEL.mlir train --data FILE [--steps N] [--checkpoint CK] ...
//   st-run MODEL.mlir eval --data FILE [--checkpoint CK] [--batch B]
//   st-run MODEL.mlir sample --checkpoint CK --prompt TEXT [--length N] ...
//   st-run MODEL.mlir sample --checkpoint CK --output GRID.png [--data IMAGES]
//   st-run MODEL.mlir sample --checkpoint CK --output SOUND.wav [--data WAV]
//
// Flag parsing only; the commands live in lib/Driver.
//
//===----------------------------------------------------------------------===//

#include "st/Driver/Commands.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <vector>

using namespace llvm;

namespace {

cl::SubCommand evalCmd("eval", "Mean loss and bits per byte on held-out data");

cl::opt<std::string> evalModel(cl::Positional, cl::desc("<model.mlir>"),
                               cl::Required, cl::sub(evalCmd));
cl::opt<std::string> evalData("data",
                              cl::desc("Text, IDX, CIFAR-10, PNG folder or "
                                       "WAV to evaluate on"),
                              cl::value_desc("path"), cl::Required,
                              cl::sub(evalCmd));
cl::opt<std::string> evalFormat("format",
                                cl::desc("Format of --data: auto, bytes, idx, "
                                         "cifar10, png, wav"),
                                cl::init("auto"), cl::sub(evalCmd));
cl::opt<std::string>
    evalCheckpoint("checkpoint",
                   cl::desc("Safetensors checkpoint (default: random init)"),
                   cl::value_desc("path"), cl::sub(evalCmd));
cl::opt<int64_t> evalBatch("batch", cl::desc("Sequences per call"),
                           cl::init(4), cl::sub(evalCmd));
cl::opt<uint64_t> evalSeed("seed", cl::desc("Seed of the random init"),
                           cl::init(0), cl::sub(evalCmd));
cl::opt<double> evalValFraction(
    "val-fraction",
    cl::desc("Fraction of the file held out for validation (1: all of it)"),
    cl::init(0.05), cl::sub(evalCmd));
cl::opt<int64_t> evalMax("max-sequences",
                         cl::desc("Evaluate at most this many sequences"),
                         cl::init(0), cl::sub(evalCmd));

cl::SubCommand trainCmd("train", "Train on text, images or audio with AdamW");

cl::opt<std::string> trainModel(cl::Positional, cl::desc("<model.mlir>"),
                                cl::Required, cl::sub(trainCmd));
cl::opt<std::string> trainData("data",
                               cl::desc("Text, IDX, CIFAR-10, PNG folder or "
                                        "WAV to train on"),
                               cl::value_desc("path"), cl::Required,
                               cl::sub(trainCmd));
cl::opt<std::string> trainFormat("format",
                                 cl::desc("Format of --data: auto, bytes, "
                                          "idx, cifar10, png, wav"),
                                 cl::init("auto"), cl::sub(trainCmd));
cl::opt<int64_t> trainSteps("steps", cl::desc("Optimizer steps"),
                            cl::init(1000), cl::sub(trainCmd));
cl::opt<int64_t> trainBatch("batch", cl::desc("Sequences per step"),
                            cl::init(8), cl::sub(trainCmd));
cl::opt<double> trainLr("lr", cl::desc("Peak learning rate"), cl::init(1e-3),
                        cl::sub(trainCmd));
cl::opt<int64_t> trainWarmup("warmup", cl::desc("Warm-up steps"),
                             cl::init(100), cl::sub(trainCmd));
cl::opt<uint64_t> trainSeed("seed", cl::desc("Seed of init, data and dropout"),
                            cl::init(0), cl::sub(trainCmd));
cl::opt<double> trainValFraction(
    "val-fraction", cl::desc("Fraction of the file held out for validation"),
    cl::init(0.05), cl::sub(trainCmd));
cl::opt<int64_t> trainEvalEvery("eval-every",
                                cl::desc("Validate every N steps (0: at the "
                                         "end only)"),
                                cl::init(0), cl::sub(trainCmd));
cl::opt<int64_t> trainEvalSequences(
    "eval-sequences", cl::desc("Validation sequences per evaluation (0: all)"),
    cl::init(64), cl::sub(trainCmd));
cl::opt<std::string> trainCheckpoint("checkpoint",
                                     cl::desc("Checkpoint file (safetensors)"),
                                     cl::value_desc("path"), cl::sub(trainCmd));
cl::opt<int64_t> trainCheckpointEvery(
    "checkpoint-every", cl::desc("Checkpoint every N steps (0: at the end)"),
    cl::init(0), cl::sub(trainCmd));
cl::opt<bool> trainResume("resume",
                          cl::desc("Continue from --checkpoint if it exists"),
                          cl::sub(trainCmd));
cl::opt<int64_t> trainStopAfter(
    "stop-after",
    cl::desc("Stop after this step (the schedule still spans --steps)"),
    cl::init(0), cl::sub(trainCmd));
cl::opt<std::string> trainMetrics("metrics",
                                  cl::desc("JSON-lines metrics file"),
                                  cl::value_desc("path"), cl::sub(trainCmd));
cl::opt<std::string> trainRemat(
    "remat",
    cl::desc("Recompute activations in the backward pass: none, paper "
             "(block inputs only are kept) or budget=<bytes>"),
    cl::init("paper"), cl::sub(trainCmd));

cl::SubCommand sampleCmd("sample",
                         "Generate text from a prompt (cached decoding)");

cl::opt<std::string> sampleModel(cl::Positional, cl::desc("<model.mlir>"),
                                 cl::Required, cl::sub(sampleCmd));
cl::opt<std::string>
    sampleCheckpoint("checkpoint",
                     cl::desc("Safetensors checkpoint with the parameters"),
                     cl::value_desc("path"), cl::Required, cl::sub(sampleCmd));
cl::opt<std::string> samplePrompt("prompt", cl::desc("The text to continue"),
                                  cl::value_desc("text"), cl::sub(sampleCmd));
cl::opt<std::string> samplePromptFile("prompt-file",
                                      cl::desc("Continue this file's bytes"),
                                      cl::value_desc("path"),
                                      cl::sub(sampleCmd));
cl::opt<int64_t> sampleLength(
    "length", cl::desc("Bytes to generate (0: up to the end of the context)"),
    cl::init(0), cl::sub(sampleCmd));
cl::opt<double>
    sampleTemperature("temperature",
                      cl::desc("Softmax temperature (0: most likely byte)"),
                      cl::init(1.0), cl::sub(sampleCmd));
cl::opt<int64_t> sampleTopK("top-k",
                            cl::desc("Sample among the k most likely bytes "
                                     "(0: all; 1: most likely)"),
                            cl::init(0), cl::sub(sampleCmd));
cl::opt<uint64_t> sampleSeed("seed", cl::desc("Seed of the sampling"),
                             cl::init(0), cl::sub(sampleCmd));
cl::opt<int64_t> sampleSamples("samples",
                               cl::desc("Sequences generated together"),
                               cl::init(1), cl::sub(sampleCmd));
cl::opt<std::string>
    sampleOutput("output",
                 cl::desc("Write the samples here instead of stdout (.png: "
                          "images, .wav: audio)"),
                 cl::value_desc("path"), cl::sub(sampleCmd));
cl::opt<std::string>
    sampleData("data",
               cl::desc("Images or audio to complete (.png/.wav output)"),
               cl::value_desc("path"), cl::sub(sampleCmd));
cl::opt<std::string> sampleFormat("format",
                                  cl::desc("Format of --data: auto, idx, "
                                           "cifar10, png, wav"),
                                  cl::init("auto"), cl::sub(sampleCmd));
cl::opt<int64_t> sampleColumns("columns",
                               cl::desc("Images per grid row (0: square)"),
                               cl::init(0), cl::sub(sampleCmd));
cl::opt<int64_t> sampleScale("scale", cl::desc("Enlarge the image grid"),
                             cl::init(1), cl::sub(sampleCmd));
cl::opt<int64_t>
    sampleRate("sample-rate",
               cl::desc("WAV sample rate (0: that of --data, else 22050)"),
               cl::init(0), cl::sub(sampleCmd));

constexpr const char *kCommands[] = {"train", "eval", "sample"};
constexpr const char *kUsage =
    "usage: st-run MODEL.mlir train|eval|sample [options] (st-run COMMAND "
    "--help lists a command's options)";

bool isCommand(StringRef arg) { return llvm::is_contained(kCommands, arg); }

/// The command closest to a mistyped one, if it is close at all.
std::optional<StringRef> nearestCommand(StringRef arg) {
  std::optional<StringRef> best;
  unsigned bestDistance = 3;
  for (StringRef c : kCommands) {
    unsigned d = arg.edit_distance(c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

/// Accepts `st-run MODEL COMMAND ...` as well as `st-run COMMAND MODEL ...`
/// (llvm::cl wants the subcommand first). A missing or unknown command is an
/// error here, naming the three commands, rather than llvm::cl's "Unknown
/// subcommand" for the model's path or a suggestion of an LLVM flag for a
/// command's option.
std::optional<std::vector<const char *>> reorder(int argc, char **argv) {
  std::vector<const char *> args(argv, argv + argc);
  if (args.size() < 2 || isCommand(args[1]) ||
      StringRef(args[1]).starts_with("-"))
    return args;
  if (args.size() >= 3 && isCommand(args[2])) {
    std::swap(args[1], args[2]);
    return args;
  }
  errs() << "st-run: error: ";
  if (args.size() < 3 || StringRef(args[2]).starts_with("-")) {
    errs() << "no command after '" << args[1] << "'";
  } else {
    errs() << "unknown command '" << args[2] << "'";
    if (std::optional<StringRef> near = nearestCommand(args[2]))
      errs() << " (did you mean '" << *near << "'?)";
  }
  errs() << "; " << kUsage << "\n";
  return std::nullopt;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  std::optional<std::vector<const char *>> args = reorder(argc, argv);
  if (!args)
    return 1;
  // The top level has no options of its own: keep LLVM's (code generation
  // flags linked in with the JIT) out of `st-run --help`.
  cl::HideUnrelatedOptions(ArrayRef<const cl::OptionCategory *>{});
  if (!cl::ParseCommandLineOptions(int(args->size()), args->data(),
                                   "ST: train, evaluate and sample Sparse "
                                   "Transformers\n",
                                   &errs()))
    return 1;
  if (trainCmd) {
    mlir::st::TrainOptions options;
    options.model = trainModel;
    options.data = trainData;
    options.format = trainFormat;
    options.steps = trainSteps;
    options.batch = trainBatch;
    options.lr = trainLr;
    options.warmup = trainWarmup;
    options.seed = trainSeed;
    options.valFraction = trainValFraction;
    options.evalEvery = trainEvalEvery;
    options.evalSequences = trainEvalSequences;
    options.checkpoint = trainCheckpoint;
    options.checkpointEvery = trainCheckpointEvery;
    options.resume = trainResume;
    options.metrics = trainMetrics;
    options.stopAfter = trainStopAfter;
    options.remat = trainRemat;
    return mlir::st::runTrain(options);
  }
  if (evalCmd) {
    mlir::st::EvalOptions options;
    options.model = evalModel;
    options.data = evalData;
    options.format = evalFormat;
    options.checkpoint = evalCheckpoint;
    options.batch = evalBatch;
    options.seed = evalSeed;
    options.valFraction = evalValFraction;
    options.maxSequences = evalMax;
    return mlir::st::runEval(options);
  }
  if (sampleCmd) {
    mlir::st::SampleCommandOptions options;
    options.model = sampleModel;
    options.checkpoint = sampleCheckpoint;
    options.prompt = samplePrompt;
    options.hasPrompt = samplePrompt.getNumOccurrences() > 0;
    options.promptFile = samplePromptFile;
    options.length = sampleLength;
    options.temperature = sampleTemperature;
    options.topK = sampleTopK;
    options.seed = sampleSeed;
    options.samples = sampleSamples;
    options.output = sampleOutput;
    options.data = sampleData;
    options.format = sampleFormat;
    options.columns = sampleColumns;
    options.scale = sampleScale;
    options.sampleRate = sampleRate;
    return mlir::st::runSample(options);
  }
  errs() << "st-run: error: no command; " << kUsage << "\n";
  return 1;
}
