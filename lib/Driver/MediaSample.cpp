//===- MediaSample.cpp - Sampling images and audio ------------------------===//
//
// See MediaSample.h.
//
//===----------------------------------------------------------------------===//

#include "st/Driver/MediaSample.h"

#include "st/Driver/Data.h"
#include "st/Runtime/Audio.h"
#include "st/Runtime/Dataset.h"
#include "st/Runtime/Files.h"
#include "st/Runtime/Metrics.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::st;
namespace rt = ::st::rt;

rt::Expected<rt::ImageSet>
mlir::st::sampleImages(const CompiledModel &model, rt::ParamStore &params,
                       const rt::ImageShape &shape, int64_t count,
                       const rt::ImageSet *given,
                       const SampleOptions &options) {
  int64_t n = model.config.context, vocab = model.config.vocab;
  if (shape.size() != n)
    return rt::Status::error(
        "images of " + shape.str() + " are " + std::to_string(shape.size()) +
        " bytes, the model's context is " + std::to_string(n));
  if (count < 1)
    return rt::Status::error("at least one image must be sampled");
  if (given && (given->shape != shape || given->count < count))
    return rt::Status::error("completing " + std::to_string(count) +
                             " images needs as many images of " + shape.str());
  int64_t keep = given ? (shape.height / 2) * shape.width * shape.channels : 0;
  std::vector<std::vector<uint8_t>> prompts(
      count, std::vector<uint8_t>{rt::kImageStartByte});
  if (given)
    for (int64_t i = 0; i < count; ++i)
      prompts[i].insert(prompts[i].end(), given->image(i),
                        given->image(i) + keep);
  SampleOptions sample = options;
  sample.length = n - 1 - keep;
  rt::Expected<std::vector<std::vector<uint8_t>>> seqs =
      sampleSequences(model, params, prompts, sample);
  if (!seqs)
    return seqs.status();

  // The last byte: the full forward pass over the first n bytes.
  std::vector<int32_t> tokens(count * n);
  for (int64_t i = 0; i < count; ++i)
    std::copy((*seqs)[i].begin(), (*seqs)[i].begin() + n,
              tokens.begin() + i * n);
  std::vector<float> logits(count * n * vocab);
  rt::ArgumentPack pack;
  params.addTo(pack);
  pack.add(tokens.data(), {count, n});
  pack.add(logits.data(), {count, n, vocab});
  model.logits(pack.data());

  rt::ImageSet images;
  images.shape = shape;
  images.count = count;
  images.pixels.resize(count * n);
  for (int64_t i = 0; i < count; ++i) {
    std::copy((*seqs)[i].begin() + 1, (*seqs)[i].begin() + n, images.image(i));
    images.image(i)[n - 1] = uint8_t(
        pickToken(&logits[(i * n + n - 1) * vocab], vocab, options.temperature,
                  options.topK, sampleUniform(options.seed, i, n)));
  }
  return images;
}

bool mlir::st::isMediaOutput(const std::string &path) {
  std::string ext = rt::extensionOf(path);
  return ext == ".png" || ext == ".wav";
}

//===----------------------------------------------------------------------===//
// st-run sample --output FILE.png|FILE.wav
//===----------------------------------------------------------------------===//

namespace {

int fail(const llvm::Twine &message) {
  llvm::errs() << "st-run: error: " << message << "\n";
  return 1;
}

/// Flags that text sampling takes and media sampling does not, and the
/// media flags' ranges.
std::optional<std::string> checkMediaFlags(const SampleCommandOptions &o) {
  if (o.hasPrompt || !o.promptFile.empty())
    return std::string("--prompt and --prompt-file are for text; images and "
                       "audio start from the start byte or from --data");
  if (o.length != 0)
    return std::string("--length is for text; images and audio fill the "
                       "model's context");
  if (std::optional<std::string> error = checkSamplingFlags(o))
    return error;
  if (o.columns < 0)
    return llvm::formatv("--columns must be >= 0 (0: a square grid), got {0}",
                         o.columns)
        .str();
  if (o.scale < 1 || o.scale > 16)
    return llvm::formatv("--scale must be in 1..16, got {0}", o.scale).str();
  if (o.sampleRate < 0)
    return llvm::formatv("--sample-rate must be positive, got {0}",
                         o.sampleRate)
        .str();
  llvm::StringRef dir = llvm::sys::path::parent_path(o.output);
  if (dir.empty())
    dir = ".";
  if (!llvm::sys::fs::is_directory(dir) ||
      llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
    return "cannot write '" + o.output + "': '" + dir.str() +
           "' is not a writable directory";
  return std::nullopt;
}

/// The image shape the model declares: [H, W, C], or [H, W] of one channel.
std::optional<rt::ImageShape> declaredShape(const ModelConfig &config) {
  const std::vector<int64_t> &p = config.position;
  rt::ImageShape shape;
  if (p.size() == 3)
    shape = {p[0], p[1], p[2]};
  else if (p.size() == 2)
    shape = {p[0], p[1], 1};
  else
    return std::nullopt;
  if (shape.size() != config.context)
    return std::nullopt;
  return shape;
}

/// Nearest-neighbour enlargement by `factor`, so small images can be seen.
rt::ImageSet enlarge(const rt::ImageSet &image, int64_t factor) {
  if (factor == 1)
    return image;
  const rt::ImageShape &s = image.shape;
  rt::ImageSet out;
  out.count = 1;
  out.shape = {s.height * factor, s.width * factor, s.channels};
  out.pixels.resize(out.shape.size());
  for (int64_t y = 0; y < out.shape.height; ++y)
    for (int64_t x = 0; x < out.shape.width; ++x)
      for (int64_t c = 0; c < s.channels; ++c)
        out.pixels[(y * out.shape.width + x) * s.channels + c] =
            image
                .pixels[((y / factor) * s.width + x / factor) * s.channels + c];
  return out;
}

/// `path` with "-<index>" before its extension.
std::string numbered(const std::string &path, int64_t index) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  return path.substr(0, path.size() - ext.size()) + "-" +
         std::to_string(index) + ext.str();
}

} // namespace

int mlir::st::runMediaSample(const SampleCommandOptions &options) {
  if (std::optional<std::string> error = checkMediaFlags(options))
    return fail(*error);
  bool images = rt::extensionOf(options.output) == ".png";

  // The model's configuration, the data and the checkpoint file are checked
  // before the (slow) compile.
  std::unique_ptr<MLIRContext> context = createContext();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, context.get(), llvm::errs());
  FailureOr<ModelConfig> config = readModelConfig(*context, options.model);
  if (failed(config))
    return 1;
  std::optional<rt::Dataset> data;
  if (!options.data.empty()) {
    rt::Expected<rt::Dataset> loaded =
        loadData(*config, options.data, options.format, /*valFraction=*/1.0);
    if (!loaded)
      return fail(loaded.message());
    data.emplace(loaded.take());
    if (images != data->isImages())
      return fail(options.data + ": " + rt::dataFormatName(data->format()) +
                  " data, but --output " + options.output + " asks for " +
                  (images ? "images" : "audio"));
  }
  std::optional<rt::ImageShape> shape;
  if (images) {
    shape = data ? data->imageShape() : declaredShape(*config);
    if (!shape)
      return fail(llvm::formatv("model {0} declares no image shape: its "
                                "position axes must be [height, width] or "
                                "[height, width, channels] covering its "
                                "context of {1} bytes",
                                config->name, config->context));
    if (data && data->validationImages().count < options.samples)
      return fail(llvm::formatv("{0}: {1} images, fewer than --samples {2}",
                                options.data, data->validationImages().count,
                                options.samples));
  }
  std::vector<rt::ByteSpan> windows;
  if (!images && data) {
    windows = data->evalSequences(config->context);
    if (int64_t(windows.size()) < options.samples)
      return fail(llvm::formatv("{0}: {1} stretches of {2} samples, fewer "
                                "than --samples {3}",
                                options.data, windows.size(), config->context,
                                options.samples));
  }
  FailureOr<DecodingModel> loaded = loadDecodingModel(
      *context, options.model, options.checkpoint, /*withLogits=*/true);
  if (failed(loaded))
    return 1;
  const CompiledModel &model = loaded->model;
  rt::ParamStore &params = loaded->params;
  int64_t n = model.config.context;

  llvm::errs() << llvm::formatv(
      "sample: model {0} ({1} parameters) from {2}: {3} {4}{5}, temperature "
      "{6}, top-k {7}, seed {8}\n",
      model.config.name, params.numParameters(), options.checkpoint,
      options.samples,
      images ? "images of " + shape->str()
             : "stretches of audio of " + std::to_string(n) + " samples",
      data ? " completing " + options.data : std::string(), options.temperature,
      options.topK, options.seed);
  rt::ProgressOptions progressOptions;
  progressOptions.totalSteps = n - 1;
  progressOptions.tokensPerStep = options.samples;
  progressOptions.stepName = "position";
  progressOptions.lossName = "sampled nll";
  progressOptions.every = std::max<int64_t>(1, n / 10);
  progressOptions.bitsUnit = "bits/dim";
  rt::ProgressReporter progress(progressOptions);
  SampleOptions sample;
  sample.temperature = options.temperature;
  sample.topK = options.topK;
  sample.seed = options.seed;
  sample.progress = [&](int64_t done, int64_t, double nats) {
    progress.update(std::min(done, n - 1), nats);
  };

  if (images) {
    rt::ImageSet given;
    if (data)
      given = data->validationImages();
    rt::Expected<rt::ImageSet> drawn =
        sampleImages(model, params, *shape, options.samples,
                     data ? &given : nullptr, sample);
    progress.finish();
    if (!drawn)
      return fail(drawn.message());
    // Completions sit right of their originals.
    rt::ImageSet cells = *drawn;
    int64_t perRow = options.columns;
    if (perRow == 0)
      perRow = int64_t(std::ceil(std::sqrt(double(options.samples))));
    if (data) {
      cells.count = 2 * drawn->count;
      cells.pixels.clear();
      for (int64_t i = 0; i < drawn->count; ++i) {
        cells.pixels.insert(cells.pixels.end(), given.image(i),
                            given.image(i) + n);
        cells.pixels.insert(cells.pixels.end(), drawn->image(i),
                            drawn->image(i) + n);
      }
      perRow *= 2;
    }
    rt::ImageSet grid =
        enlarge(rt::tileImages(cells, perRow, /*padding=*/2), options.scale);
    if (rt::Status s =
            rt::writePng(options.output, grid.pixels.data(), grid.shape);
        s.isError())
      return fail(s.message());
    llvm::errs() << llvm::formatv("sample: wrote {0} ({1} grid)\n",
                                  options.output, grid.shape.str());
    return 0;
  }

  // Audio: from one byte of silence, or the second half of stretches of the
  // recording after their first half.
  int64_t keep = data ? n / 2 : 1;
  std::vector<std::vector<uint8_t>> prompts;
  for (int64_t i = 0; i < options.samples; ++i) {
    if (data)
      prompts.emplace_back(windows[i].begin(), windows[i].begin() + keep);
    else
      prompts.push_back({rt::muLawEncode(0.0)});
  }
  sample.length = n - keep;
  rt::Expected<std::vector<std::vector<uint8_t>>> sounds =
      sampleSequences(model, params, prompts, sample);
  progress.finish();
  if (!sounds)
    return fail(sounds.message());
  int64_t rate = options.sampleRate;
  if (rate == 0)
    rate = data ? data->sampleRate() : 22050;
  for (int64_t i = 0; i < options.samples; ++i) {
    std::string path =
        options.samples == 1 ? options.output : numbered(options.output, i);
    const std::vector<uint8_t> &s = (*sounds)[i];
    if (rt::Status st = rt::writeWav(path, s.data(), s.size(), rate);
        st.isError())
      return fail(st.message());
    llvm::errs() << llvm::formatv("sample: wrote {0} ({1} samples at {2} Hz)\n",
                                  path, s.size(), rate);
  }
  return 0;
}
