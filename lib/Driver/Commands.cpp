//===- Commands.cpp - st-run's subcommands --------------------------------===//

#include "st/Driver/Commands.h"

#include "st/Driver/Data.h"
#include "st/Driver/Model.h"
#include "st/Runtime/Metrics.h"
#include "st/Runtime/Safetensors.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <optional>

using namespace mlir;
using namespace mlir::st;
namespace rt = ::st::rt;

namespace {

int fail(const llvm::Twine &message) {
  llvm::errs() << "st-run: error: " << message << "\n";
  return 1;
}

/// Compiles the model with diagnostics printed as `file:line:col: error`.
FailureOr<CompiledModel> compileWithDiagnostics(MLIRContext &context,
                                                const std::string &path) {
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, llvm::errs());
  CpuPipelineOptions options;
  return compileModel(context, path, options);
}

/// Reads the model file's configuration and loads the data for it before
/// anything is compiled, so that bad input fails in a second; prints the
/// error and returns nothing on failure.
std::optional<rt::Dataset> loadDataFor(MLIRContext &context,
                                       const std::string &model,
                                       const std::string &path,
                                       const std::string &format,
                                       double valFraction) {
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, llvm::errs());
  FailureOr<ModelConfig> config = readModelConfig(context, model);
  if (failed(config))
    return std::nullopt;
  rt::Expected<rt::Dataset> data = loadData(*config, path, format, valFraction);
  if (!data) {
    fail(data.message());
    return std::nullopt;
  }
  return data.take();
}

/// Splits sequences of context + 1 bytes into next-byte (input, target)
/// pairs as int32.
void fillBatch(const std::vector<rt::ByteSpan> &seqs, size_t first,
               int64_t count, int64_t context, std::vector<int32_t> &tokens,
               std::vector<int32_t> &targets) {
  tokens.resize(count * context);
  targets.resize(count * context);
  for (int64_t b = 0; b < count; ++b) {
    const rt::ByteSpan &s = seqs[first + b];
    for (int64_t i = 0; i < context; ++i) {
      tokens[b * context + i] = s[i];
      targets[b * context + i] = s[i + 1];
    }
  }
}

} // namespace

int mlir::st::runEval(const EvalOptions &options) {
  if (options.batch < 1)
    return fail("--batch must be at least 1");
  std::unique_ptr<MLIRContext> context = createContext();
  std::optional<rt::Dataset> data =
      loadDataFor(*context, options.model, options.data, options.format,
                  options.valFraction);
  if (!data)
    return 1;
  FailureOr<CompiledModel> model =
      compileWithDiagnostics(*context, options.model);
  if (failed(model))
    return 1;
  const ModelConfig &cfg = model->config;

  rt::ParamStore params(model->params);
  if (options.checkpoint.empty()) {
    params.initialize(options.seed);
  } else if (rt::Status s = params.load(options.checkpoint); s.isError()) {
    return fail(s.message());
  }

  std::vector<rt::ByteSpan> seqs = data->evalSequences(cfg.context);
  if (options.maxSequences > 0 &&
      int64_t(seqs.size()) > options.maxSequences)
    seqs.resize(options.maxSequences);
  if (seqs.empty())
    return fail(llvm::formatv("'{0}': the validation split holds no full "
                              "sequence of {1} bytes",
                              options.data, cfg.context + 1)
                    .str());

  llvm::outs() << llvm::formatv(
      "eval: model {0} ({1} parameters), {2} sequences of {3} bytes from the "
      "validation split of {4} ({5})\n",
      cfg.name, params.numParameters(), seqs.size(), cfg.context, options.data,
      data->summary());
  int64_t numBatches =
      (int64_t(seqs.size()) + options.batch - 1) / options.batch;
  rt::ProgressOptions progressOptions;
  progressOptions.totalSteps = numBatches;
  progressOptions.tokensPerStep = options.batch * cfg.context;
  progressOptions.bitsUnit = bitsUnit(*data);
  progressOptions.every = std::max<int64_t>(1, numBatches / 10);
  rt::ProgressReporter progress(progressOptions);

  double totalNats = 0.0;
  std::vector<int32_t> tokens, targets;
  for (int64_t b = 0; b < numBatches; ++b) {
    size_t first = b * options.batch;
    int64_t count =
        std::min<int64_t>(options.batch, int64_t(seqs.size()) - first);
    fillBatch(seqs, first, count, cfg.context, tokens, targets);
    float nats = NAN, bits = NAN;
    rt::ArgumentPack pack;
    params.addTo(pack);
    pack.add(tokens.data(), {count, cfg.context});
    pack.add(targets.data(), {count, cfg.context});
    pack.add(&nats, {});
    pack.add(&bits, {});
    model->evalLoss(pack.data());
    totalNats += double(nats) * count;
    progress.update(b + 1, nats);
  }
  progress.finish();
  double meanNats = totalNats / double(seqs.size());
  llvm::outs() << llvm::formatv("eval: loss {0:F4} nats, {1:F4} {2}\n",
                                meanNats, meanNats / std::log(2.0),
                                bitsUnit(*data));
  return 0;
}

//===----------------------------------------------------------------------===//
// train
//===----------------------------------------------------------------------===//

namespace {

/// Adam moments per parameter, named as PyTorch's optimizer state names them.
struct OptimizerState {
  std::vector<std::vector<float>> m, v;
  explicit OptimizerState(const rt::ParamStore &params) {
    for (const rt::ParamSpec &p : params.getSpecs()) {
      m.emplace_back(p.numElements(), 0.0f);
      v.emplace_back(p.numElements(), 0.0f);
    }
  }
};

std::string optimizerPath(const std::string &checkpoint) {
  return checkpoint + ".optim";
}

rt::Status saveCheckpoint(const std::string &path, const ModelConfig &cfg,
                          const rt::ParamStore &params,
                          const OptimizerState &opt, int64_t step,
                          uint64_t seed) {
  std::map<std::string, std::string> meta = {
      {"st.model", cfg.name},
      {"st.step", std::to_string(step)},
      {"st.seed", std::to_string(seed)},
      {"st.config",
       llvm::formatv("{{\"vocab\": {0}, \"context\": {1}, \"width\": {2}, "
                     "\"heads\": {3}, \"layers\": {4}, \"dropout\": {5}}",
                     cfg.vocab, cfg.context, cfg.width, cfg.heads, cfg.layers,
                     cfg.dropout)
           .str()}};
  std::vector<rt::TensorData> tensors, state;
  for (size_t i = 0; i < params.size(); ++i) {
    const rt::ParamSpec &p = params.getSpecs()[i];
    size_t bytes = sizeof(float) * p.numElements();
    tensors.push_back({p.name, rt::DType::F32, p.shape, params.data(i), bytes});
    state.push_back({p.name + ".exp_avg", rt::DType::F32, p.shape,
                     opt.m[i].data(), bytes});
    state.push_back({p.name + ".exp_avg_sq", rt::DType::F32, p.shape,
                     opt.v[i].data(), bytes});
  }
  // The optimizer state first: a crash between the two writes leaves a
  // model file whose step differs from the state's, which resume rejects.
  if (rt::Status s = rt::writeSafetensors(optimizerPath(path), state, meta);
      s.isError())
    return s;
  return rt::writeSafetensors(path, tensors, meta);
}

/// Loads parameters and optimizer state; returns the step to continue from.
rt::Expected<int64_t> loadCheckpoint(const std::string &path,
                                     rt::ParamStore &params,
                                     OptimizerState &opt) {
  rt::Expected<rt::SafetensorsFile> model = rt::readSafetensors(path);
  if (!model)
    return model.status();
  if (rt::Status s = params.load(*model); s.isError())
    return s;
  rt::Expected<rt::SafetensorsFile> state =
      rt::readSafetensors(optimizerPath(path));
  if (!state)
    return state.status();
  auto stepOf = [](const rt::SafetensorsFile &f) -> std::string {
    auto it = f.metadata().find("st.step");
    return it == f.metadata().end() ? "" : it->second;
  };
  std::string step = stepOf(*model);
  if (step.empty() || step != stepOf(*state))
    return rt::Status::error("'" + path + "': model and optimizer state are "
                             "from different steps (" + step + " vs " +
                             stepOf(*state) + ")");
  for (size_t i = 0; i < params.size(); ++i) {
    const rt::ParamSpec &p = params.getSpecs()[i];
    for (auto [suffix, dst] :
         {std::pair<const char *, std::vector<float> *>{".exp_avg", &opt.m[i]},
          {".exp_avg_sq", &opt.v[i]}}) {
      rt::Expected<const float *> data = state->getF32(p.name + suffix, p.shape);
      if (!data)
        return data.status();
      std::copy(*data, *data + dst->size(), dst->begin());
    }
  }
  return int64_t(std::stoll(step));
}

/// Mean validation loss in nats over (at most `limit`) validation sequences.
double validate(const CompiledModel &model, rt::ParamStore &params,
                const std::vector<rt::ByteSpan> &seqs, int64_t batch) {
  int64_t context = model.config.context;
  double total = 0.0;
  std::vector<int32_t> tokens, targets;
  for (size_t first = 0; first < seqs.size(); first += batch) {
    int64_t count = std::min<int64_t>(batch, int64_t(seqs.size() - first));
    fillBatch(seqs, first, count, context, tokens, targets);
    float nats = NAN, bits = NAN;
    rt::ArgumentPack pack;
    params.addTo(pack);
    pack.add(tokens.data(), {count, context});
    pack.add(targets.data(), {count, context});
    pack.add(&nats, {});
    pack.add(&bits, {});
    model.evalLoss(pack.data());
    total += double(nats) * count;
  }
  return total / double(seqs.size());
}

} // namespace

int mlir::st::runTrain(const TrainOptions &options) {
  if (options.batch < 1 || options.steps < 1)
    return fail("--batch and --steps must be at least 1");
  if (options.resume && options.checkpoint.empty())
    return fail("--resume needs --checkpoint");
  if (options.valFraction >= 1.0)
    return fail("--val-fraction must be below 1 for training");
  std::unique_ptr<MLIRContext> context = createContext();
  std::optional<rt::Dataset> data =
      loadDataFor(*context, options.model, options.data, options.format,
                  options.valFraction);
  if (!data)
    return 1;
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, context.get(), llvm::errs());
  CpuPipelineOptions cpu;
  TrainingPipelineOptions training;
  training.lr = options.lr;
  training.warmup = options.warmup;
  training.totalSteps = options.steps;
  training.remat = options.remat;
  FailureOr<CompiledModel> model =
      compileModel(*context, options.model, cpu, &training,
                   {"_train_step", "_eval"});
  if (failed(model))
    return 1;
  const ModelConfig &cfg = model->config;

  std::vector<rt::ByteSpan> valSeqs = data->evalSequences(cfg.context);
  if (options.evalSequences > 0 &&
      int64_t(valSeqs.size()) > options.evalSequences)
    valSeqs.resize(options.evalSequences);

  rt::ParamStore params(model->params);
  params.initialize(options.seed);
  OptimizerState opt(params);
  int64_t start = 0;
  if (options.resume && llvm::sys::fs::exists(options.checkpoint)) {
    rt::Expected<int64_t> step = loadCheckpoint(options.checkpoint, params, opt);
    if (!step)
      return fail(step.message());
    start = *step;
    llvm::outs() << llvm::formatv("train: resuming {0} at step {1}\n",
                                  options.checkpoint, start);
  }
  std::optional<rt::MetricsWriter> metrics;
  if (!options.metrics.empty()) {
    rt::Expected<rt::MetricsWriter> w =
        rt::MetricsWriter::open(options.metrics, /*truncate=*/start == 0);
    if (!w)
      return fail(w.message());
    metrics.emplace(w.take());
  }
  llvm::outs() << llvm::formatv(
      "train: model {0} ({1} parameters), {2} steps of {3} x {4} bytes from "
      "{5} ({6})\n",
      cfg.name, params.numParameters(), options.steps, options.batch,
      cfg.context, options.data, data->summary());
  // The progress lines go through stdio: keep the header ahead of them.
  llvm::outs().flush();

  rt::ProgressOptions progressOptions;
  progressOptions.totalSteps = options.steps;
  progressOptions.startStep = start;
  progressOptions.tokensPerStep = options.batch * cfg.context;
  progressOptions.bitsUnit = bitsUnit(*data);
  progressOptions.every = std::max<int64_t>(1, options.steps / 20);
  rt::ProgressReporter progress(progressOptions);

  size_t np = params.size();
  std::vector<std::vector<float>> outs(3 * np);
  for (size_t i = 0; i < np; ++i)
    for (int c = 0; c < 3; ++c)
      outs[c * np + i].resize(params.getSpecs()[i].numElements());
  std::vector<uint8_t> batch;
  std::vector<int32_t> tokens(options.batch * cfg.context),
      targets(options.batch * cfg.context);
  auto runValidation = [&](int64_t step) {
    double nats = validate(*model, params, valSeqs, options.batch);
    progress.note(llvm::formatv("step {0}: validation {1:F4} {2}", step,
                                nats / std::log(2.0), bitsUnit(*data))
                      .str());
    if (metrics)
      (void)metrics->write({{"step", step},
                            {"val_loss", nats},
                            {"val_bits_per_byte", nats / std::log(2.0)}});
    return nats;
  };
  int64_t end = options.stopAfter > 0
                    ? std::min(options.steps, options.stopAfter)
                    : options.steps;
  for (int64_t step = start; step < end; ++step) {
    if (rt::Status s = data->trainBatch(step, options.batch, cfg.context,
                                        options.seed, batch);
        s.isError())
      return fail(s.message());
    for (int64_t b = 0; b < options.batch; ++b)
      for (int64_t i = 0; i < cfg.context; ++i) {
        tokens[b * cfg.context + i] = batch[b * (cfg.context + 1) + i];
        targets[b * cfg.context + i] = batch[b * (cfg.context + 1) + i + 1];
      }
    int64_t stepValue = step;
    int64_t rng[2] = {int64_t(options.seed), step};
    float nats = NAN, bits = NAN, gradNorm = NAN, lr = NAN;
    rt::ArgumentPack pack;
    params.addTo(pack);
    for (size_t i = 0; i < np; ++i)
      pack.add(opt.m[i].data(), params.getSpecs()[i].shape);
    for (size_t i = 0; i < np; ++i)
      pack.add(opt.v[i].data(), params.getSpecs()[i].shape);
    pack.add(&stepValue, {});
    pack.add(tokens.data(), {options.batch, cfg.context});
    pack.add(targets.data(), {options.batch, cfg.context});
    pack.add(rng, {2});
    for (size_t i = 0; i < 3 * np; ++i)
      pack.add(outs[i].data(), params.getSpecs()[i % np].shape);
    pack.add(&nats, {});
    pack.add(&bits, {});
    pack.add(&gradNorm, {});
    pack.add(&lr, {});
    model->trainStep(pack.data());
    for (size_t i = 0; i < np; ++i) {
      std::copy(outs[i].begin(), outs[i].end(), params.data(i));
      opt.m[i].swap(outs[np + i]);
      opt.v[i].swap(outs[2 * np + i]);
    }
    if (!std::isfinite(nats))
      return fail(llvm::formatv("loss is {0} at step {1}", nats, step).str());
    progress.update(step + 1, nats);
    if (metrics)
      (void)metrics->write({{"step", step + 1},
                            {"loss", nats},
                            {"bits_per_byte", bits},
                            {"grad_norm", gradNorm},
                            {"lr", lr}});
    bool last = step + 1 == end;
    if (options.evalEvery > 0 && (step + 1) % options.evalEvery == 0 && !last)
      runValidation(step + 1);
    if (!options.checkpoint.empty() &&
        ((options.checkpointEvery > 0 &&
          (step + 1) % options.checkpointEvery == 0) ||
         last)) {
      if (rt::Status s = saveCheckpoint(options.checkpoint, cfg, params, opt,
                                        step + 1, options.seed);
          s.isError())
        return fail(s.message());
    }
  }
  progress.finish();
  double nats = validate(*model, params, valSeqs, options.batch);
  if (metrics)
    (void)metrics->write({{"step", options.steps},
                          {"val_loss", nats},
                          {"val_bits_per_byte", nats / std::log(2.0)}});
  llvm::outs() << llvm::formatv(
      "train: validation loss {0:F4} nats, {1:F4} {2} over {3} "
      "sequences\n",
      nats, nats / std::log(2.0), bitsUnit(*data), valSeqs.size());
  return 0;
}
