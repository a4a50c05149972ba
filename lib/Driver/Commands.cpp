//===- Commands.cpp - st-run's subcommands --------------------------------===//

#include "st/Driver/Commands.h"

#include "st/Driver/Model.h"
#include "st/Runtime/Data.h"
#include "st/Runtime/Metrics.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

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

  rt::Expected<rt::ByteDataset> data =
      rt::ByteDataset::load(options.data, cfg.context, options.valFraction);
  if (!data)
    return fail(data.message());
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
      "validation split of {4}\n",
      cfg.name, params.numParameters(), seqs.size(), cfg.context, options.data);
  int64_t numBatches =
      (int64_t(seqs.size()) + options.batch - 1) / options.batch;
  rt::ProgressOptions progressOptions;
  progressOptions.totalSteps = numBatches;
  progressOptions.tokensPerStep = options.batch * cfg.context;
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
  llvm::outs() << llvm::formatv("eval: loss {0:F4} nats, {1:F4} bits/byte\n",
                                meanNats, meanNats / std::log(2.0));
  return 0;
}
