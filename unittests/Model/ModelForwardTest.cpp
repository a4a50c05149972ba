//===- ModelForwardTest.cpp - Compiled models vs a float64 reference ------===//
//
// Compiles small st.transformer models through the whole CPU path
// (compileModel: expansion, attention by structure, BLAS, OpenMP, JIT),
// overwrites every parameter with random values and compares the `logits`
// and `evalLoss` entry points with a plain-loop double-precision forward pass
// written from the ops' documented semantics. The attention mask is the dense
// mask from the layout library's membership function, with each layout built
// through the library's constructors rather than read back from the compiled
// attribute.
//
// Tolerances: max |logits - ref| / max |ref| < 1e-5 and |nats - ref| / ref
// < 1e-5. The program computes in f32 throughout (GEMMs, layer norms,
// softmax, loss); with unit-scale activations and sums of at most a few
// thousand terms the expected rounding error is a few ulps of the largest
// logit (~1e-7 to 1e-6; measured at most 6.2e-7 for logits and 6e-8 for
// the loss, n = 4096 included), while a wrong mask, position index or
// parameter layout changes logits by far more than 1e-3 (checked per case
// below).
//
//===----------------------------------------------------------------------===//

#include "st/Driver/Model.h"
#include "st/Layout/Layout.h"
#include "st/Runtime/Program.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <malloc.h>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace mlir;
namespace lay = ::st::layout;
namespace rt = ::st::rt;

namespace {

constexpr int64_t kVocab = 256;
constexpr double kTolerance = 1e-5;

/// One model under test.
struct ModelCase {
  std::string name;
  int64_t context, width, heads, layers, ffMult;
  std::vector<int64_t> position;
  /// Layer r uses layouts[r mod k]: `layoutText` is what the model file
  /// says, `layouts` the same layouts built with the library's constructors
  /// for the reference's masks.
  std::vector<std::string> layoutText;
  std::vector<lay::Layout> layouts;
  int64_t batch;
  bool approximateGelu = false;
  double dropout = 0.0;
};

std::string modelText(const ModelCase &c) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "module {\n  st.transformer @model vocab = " << kVocab
     << ", context = " << c.context << ", width = " << c.width
     << ", heads = " << c.heads << ", layers = " << c.layers
     << ", ff_mult = " << c.ffMult << ", dropout = ";
  os << llvm::format("%.6f", c.dropout) << ",\n      position = [";
  for (size_t a = 0; a < c.position.size(); ++a)
    os << (a ? ", " : "") << c.position[a];
  os << "],\n      layouts = [";
  for (size_t l = 0; l < c.layoutText.size(); ++l)
    os << (l ? ", " : "") << c.layoutText[l];
  os << "]";
  if (c.approximateGelu)
    os << " {approximate_gelu}";
  os << "\n}\n";
  return s;
}

/// The one context every test compiles in (creating one loads every
/// dialect, which is worth doing once).
MLIRContext &sharedContext() {
  static std::unique_ptr<MLIRContext> context = mlir::st::createContext();
  return *context;
}

/// Writes the case's model file and compiles it; diagnostics are collected
/// into `diagnostics`.
FailureOr<mlir::st::CompiledModel> compile(const ModelCase &c,
                                           std::string &diagnostics) {
  llvm::SmallString<128> path;
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "st-model-test", "mlir", fd, path)) {
    diagnostics = "cannot create a temporary file: " + ec.message();
    return failure();
  }
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << modelText(c);
  }
  MLIRContext &context = sharedContext();
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return success();
  });
  mlir::st::CpuPipelineOptions options;
  FailureOr<mlir::st::CompiledModel> model =
      mlir::st::compileModel(context, path.str().str(), options);
  llvm::sys::fs::remove(path);
  return model;
}

/// Overwrites every parameter: the default initialisation (zero head, unit
/// gains, zero biases, small weights) would make logits zero and attention
/// nearly uniform, hiding most mistakes. Weights get std gain/sqrt(fan_in),
/// with a larger gain on qkv so that softmax rows are far from uniform.
void randomizeParams(rt::ParamStore &store, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  for (size_t i = 0; i < store.size(); ++i) {
    const rt::ParamSpec &spec = store.getSpecs()[i];
    llvm::StringRef name(spec.name);
    float *v = store.data(i);
    bool isGain = spec.shape.size() == 1 && name.ends_with(".weight");
    bool isBias = name.ends_with(".bias");
    bool isTable = name.starts_with("tok_emb.") || name.starts_with("pos_emb.");
    float sigma = 0.0f;
    if (!isGain && !isBias && !isTable)
      sigma = (name.contains(".attn.qkv.") ? 1.5f : 1.0f) /
              std::sqrt(float(spec.shape[1]));
    for (int64_t e = 0, n = spec.numElements(); e < n; ++e) {
      if (isGain)
        v[e] = 1.0f + 0.2f * uni(rng);
      else if (isBias)
        v[e] = 0.1f * uni(rng);
      else if (isTable)
        v[e] = normal(rng);
      else
        v[e] = sigma * normal(rng);
    }
  }
}

std::vector<int32_t> randomTokens(int64_t count, std::mt19937_64 &rng) {
  std::uniform_int_distribution<int32_t> byte(0, kVocab - 1);
  std::vector<int32_t> tokens(count);
  for (int32_t &t : tokens)
    t = byte(rng);
  return tokens;
}

//===----------------------------------------------------------------------===//
// The float64 reference
//===----------------------------------------------------------------------===//

/// Every parameter by name, widened to double.
class ReferenceParams {
public:
  explicit ReferenceParams(const rt::ParamStore &store) {
    for (size_t i = 0; i < store.size(); ++i) {
      const rt::ParamSpec &spec = store.getSpecs()[i];
      const float *v = store.data(i);
      values[spec.name].assign(v, v + spec.numElements());
    }
  }
  /// Callers check names and shapes beforehand (expectParams).
  const std::vector<double> &operator[](const std::string &name) const {
    return values.at(name);
  }

private:
  std::map<std::string, std::vector<double>> values;
};

/// The parameters the model declares: the names of ExpandModel.cpp with the
/// shapes the op semantics require.
std::map<std::string, std::vector<int64_t>> expectedShapes(const ModelCase &c) {
  static const char *axisNames[] = {"row", "col", "chan"};
  int64_t d = c.width, ff = c.ffMult * c.width;
  std::map<std::string, std::vector<int64_t>> shapes;
  shapes["tok_emb.weight"] = {kVocab, d};
  for (size_t a = 0; a < c.position.size(); ++a)
    shapes[std::string("pos_emb.") + axisNames[a] + ".weight"] = {c.position[a],
                                                                  d};
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string b = "blocks." + std::to_string(l);
    for (const char *ln : {".ln1", ".ln2"}) {
      shapes[b + ln + ".weight"] = {d};
      shapes[b + ln + ".bias"] = {d};
    }
    shapes[b + ".attn.qkv.weight"] = {3 * d, d};
    shapes[b + ".attn.qkv.bias"] = {3 * d};
    shapes[b + ".attn.proj.weight"] = {d, d};
    shapes[b + ".attn.proj.bias"] = {d};
    shapes[b + ".mlp.fc1.weight"] = {ff, d};
    shapes[b + ".mlp.fc1.bias"] = {ff};
    shapes[b + ".mlp.fc2.weight"] = {d, ff};
    shapes[b + ".mlp.fc2.bias"] = {d};
  }
  shapes["ln_f.weight"] = {d};
  shapes["ln_f.bias"] = {d};
  shapes["head.weight"] = {kVocab, d};
  return shapes;
}

/// y[r, o] = sum_k x[r, k] w[o, k] + b[o]; x is [rows, in], w is [out, in].
std::vector<double> linear(const std::vector<double> &x, int64_t rows,
                           int64_t in, const std::vector<double> &w,
                           int64_t out, const std::vector<double> *bias) {
  std::vector<double> y(rows * out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias ? (*bias)[o] : 0.0;
      for (int64_t k = 0; k < in; ++k)
        acc += x[r * in + k] * w[o * in + k];
      y[r * out + o] = acc;
    }
  return y;
}

/// Layer norm over rows of width d with the biased variance, eps 1e-5.
std::vector<double> layerNorm(const std::vector<double> &x, int64_t rows,
                              int64_t d, const std::vector<double> &gain,
                              const std::vector<double> &bias) {
  std::vector<double> y(rows * d);
  for (int64_t r = 0; r < rows; ++r) {
    const double *row = &x[r * d];
    double mean = 0.0, var = 0.0;
    for (int64_t k = 0; k < d; ++k)
      mean += row[k];
    mean /= double(d);
    for (int64_t k = 0; k < d; ++k)
      var += (row[k] - mean) * (row[k] - mean);
    var /= double(d);
    double inv = 1.0 / std::sqrt(var + 1e-5);
    for (int64_t k = 0; k < d; ++k)
      y[r * d + k] = (row[k] - mean) * inv * gain[k] + bias[k];
  }
  return y;
}

/// Multi-head attention over the stacked projection qkv [batch * n, 3d]:
/// q, k, v are its thirds in that order and head h of each is columns
/// [h * dh, (h + 1) * dh) of its third. Row i of head h attends to every j
/// with layout.forHead(h).contains(i, j), with scale 1/sqrt(dh). The result
/// is the merged heads, [batch * n, d].
std::vector<double> attention(const std::vector<double> &qkv, int64_t batch,
                              int64_t n, int64_t d, int64_t heads,
                              const lay::Layout &layout) {
  int64_t dh = d / heads;
  double scale = 1.0 / std::sqrt(double(dh));
  std::vector<double> out(batch * n * d, 0.0), s(n);
  auto at = [&](int64_t b, int64_t pos, int64_t which, int64_t h, int64_t k) {
    return qkv[(b * n + pos) * 3 * d + which * d + h * dh + k];
  };
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      const lay::Pattern &pattern = layout.forHead(h);
      for (int64_t i = 0; i < n; ++i) {
        double mx = -INFINITY;
        for (int64_t j = 0; j < n; ++j) {
          s[j] = -INFINITY;
          if (!pattern.contains(i, j))
            continue;
          double dot = 0.0;
          for (int64_t k = 0; k < dh; ++k)
            dot += at(b, i, 0, h, k) * at(b, j, 1, h, k);
          s[j] = dot * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0.0;
        double *o = &out[(b * n + i) * d + h * dh];
        for (int64_t j = 0; j < n; ++j) {
          if (s[j] == -INFINITY)
            continue;
          double w = std::exp(s[j] - mx);
          sum += w;
          for (int64_t k = 0; k < dh; ++k)
            o[k] += w * at(b, j, 2, h, k);
        }
        // Every pattern holds the diagonal; an empty row stays zero.
        for (int64_t k = 0; sum > 0.0 && k < dh; ++k)
          o[k] /= sum;
      }
    }
  return out;
}

double gelu(double x, bool approximate) {
  if (approximate)
    return x / (1.0 + std::exp(-1.702 * x));
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

/// The whole forward pass without dropout: logits [batch, n, vocab].
/// `layouts` overrides the case's layouts (the mask-sensitivity check).
std::vector<double> referenceLogits(const ModelCase &c,
                                    const ReferenceParams &p,
                                    const std::vector<int32_t> &tokens,
                                    const std::vector<lay::Layout> &layouts) {
  int64_t n = c.context, d = c.width, rows = c.batch * n,
          ff = c.ffMult * c.width;
  static const char *axisNames[] = {"row", "col", "chan"};

  // Token embedding plus the factorized position embedding:
  // idx_a(pos) = (pos / prod_{a' > a} s_a') mod s_a.
  std::vector<double> h(rows * d);
  const std::vector<double> &tok = p["tok_emb.weight"];
  for (int64_t r = 0; r < rows; ++r) {
    int64_t pos = r % n;
    for (int64_t k = 0; k < d; ++k)
      h[r * d + k] = tok[int64_t(tokens[r]) * d + k];
    for (size_t a = 0; a < c.position.size(); ++a) {
      int64_t below = 1;
      for (size_t a2 = a + 1; a2 < c.position.size(); ++a2)
        below *= c.position[a2];
      int64_t idx = (pos / below) % c.position[a];
      const std::vector<double> &table =
          p[std::string("pos_emb.") + axisNames[a] + ".weight"];
      for (int64_t k = 0; k < d; ++k)
        h[r * d + k] += table[idx * d + k];
    }
  }

  for (int64_t l = 0; l < c.layers; ++l) {
    std::string b = "blocks." + std::to_string(l);
    std::vector<double> x =
        layerNorm(h, rows, d, p[b + ".ln1.weight"], p[b + ".ln1.bias"]);
    std::vector<double> qkv = linear(x, rows, d, p[b + ".attn.qkv.weight"],
                                     3 * d, &p[b + ".attn.qkv.bias"]);
    std::vector<double> o =
        attention(qkv, c.batch, n, d, c.heads, layouts[l % layouts.size()]);
    std::vector<double> a = linear(o, rows, d, p[b + ".attn.proj.weight"], d,
                                   &p[b + ".attn.proj.bias"]);
    for (int64_t e = 0; e < rows * d; ++e)
      h[e] += a[e];
    std::vector<double> y =
        layerNorm(h, rows, d, p[b + ".ln2.weight"], p[b + ".ln2.bias"]);
    std::vector<double> f = linear(y, rows, d, p[b + ".mlp.fc1.weight"], ff,
                                   &p[b + ".mlp.fc1.bias"]);
    for (double &v : f)
      v = gelu(v, c.approximateGelu);
    std::vector<double> g = linear(f, rows, ff, p[b + ".mlp.fc2.weight"], d,
                                   &p[b + ".mlp.fc2.bias"]);
    for (int64_t e = 0; e < rows * d; ++e)
      h[e] += g[e];
  }
  std::vector<double> hf =
      layerNorm(h, rows, d, p["ln_f.weight"], p["ln_f.bias"]);
  return linear(hf, rows, d, p["head.weight"], kVocab, nullptr);
}

/// Mean over every position of logsumexp(logits) - logits[target], in nats.
double referenceLoss(const std::vector<double> &logits,
                     const std::vector<int32_t> &targets) {
  double total = 0.0;
  int64_t rows = targets.size();
  for (int64_t r = 0; r < rows; ++r) {
    const double *z = &logits[r * kVocab];
    double mx = -INFINITY;
    for (int64_t v = 0; v < kVocab; ++v)
      mx = std::max(mx, z[v]);
    double sum = 0.0;
    for (int64_t v = 0; v < kVocab; ++v)
      sum += std::exp(z[v] - mx);
    total += mx + std::log(sum) - z[targets[r]];
  }
  return total / double(rows);
}

/// max |out - ref| / max |ref|; any NaN (an unwritten poisoned output) or
/// size mismatch is an infinite error.
double relativeMaxError(const std::vector<float> &out,
                        const std::vector<double> &ref) {
  if (out.size() != ref.size())
    return INFINITY;
  double maxErr = 0.0, maxRef = 0.0;
  for (size_t e = 0; e < ref.size(); ++e) {
    if (std::isnan(out[e]))
      return INFINITY;
    maxErr = std::max(maxErr, std::fabs(double(out[e]) - ref[e]));
    maxRef = std::max(maxRef, std::fabs(ref[e]));
  }
  return maxRef > 0.0 ? maxErr / maxRef : maxErr;
}

/// The same between two references (the mask-sensitivity check).
double relativeMaxError(const std::vector<double> &a,
                        const std::vector<double> &ref) {
  double maxErr = 0.0, maxRef = 0.0;
  for (size_t e = 0; e < ref.size(); ++e) {
    maxErr = std::max(maxErr, std::fabs(a[e] - ref[e]));
    maxRef = std::max(maxRef, std::fabs(ref[e]));
  }
  return maxRef > 0.0 ? maxErr / maxRef : maxErr;
}

double relativeError(float out, double ref) {
  if (std::isnan(out))
    return INFINITY;
  return std::fabs(double(out) - ref) / std::fabs(ref);
}

//===----------------------------------------------------------------------===//
// Calling the compiled entry points
//===----------------------------------------------------------------------===//

/// Fills the program's own heap buffers with a pattern while it runs, so
/// that reading an unwritten intermediate shows up as wrong numbers.
class PerturbHeap {
public:
  PerturbHeap() { mallopt(M_PERTURB, 0x5a); }
  ~PerturbHeap() { mallopt(M_PERTURB, 0); }
};

struct Loss {
  float nats = std::numeric_limits<float>::quiet_NaN();
  float bits = std::numeric_limits<float>::quiet_NaN();
};

/// Runs `logits` into a NaN-poisoned [batch, n, vocab] buffer.
std::vector<float> runLogits(const mlir::st::CompiledModel &model,
                             rt::ParamStore &params,
                             std::vector<int32_t> &tokens, int64_t batch) {
  int64_t n = model.config.context;
  std::vector<float> logits(batch * n * kVocab,
                            std::numeric_limits<float>::quiet_NaN());
  rt::ArgumentPack pack;
  params.addTo(pack);
  pack.add(tokens.data(), {batch, n});
  pack.add(logits.data(), {batch, n, kVocab});
  PerturbHeap perturb;
  model.logits(pack.data());
  return logits;
}

/// Runs `evalLoss`, or `trainLoss` with rng state (seed, step) when given.
Loss runLoss(const mlir::st::CompiledModel &model, rt::ParamStore &params,
             std::vector<int32_t> &tokens, std::vector<int32_t> &targets,
             int64_t batch, const int64_t *rngState = nullptr) {
  int64_t n = model.config.context;
  Loss loss; // Poisoned: NaN until the program writes it.
  int64_t rng[2] = {rngState ? rngState[0] : 0, rngState ? rngState[1] : 0};
  rt::ArgumentPack pack;
  params.addTo(pack);
  pack.add(tokens.data(), {batch, n});
  pack.add(targets.data(), {batch, n});
  if (rngState)
    pack.add(rng, {2});
  pack.add(&loss.nats, {});
  pack.add(&loss.bits, {});
  PerturbHeap perturb;
  (rngState ? model.trainLoss : model.evalLoss)(pack.data());
  return loss;
}

/// Checks that the model declares exactly the expected parameters.
void expectParams(const ModelCase &c, const mlir::st::CompiledModel &model) {
  std::map<std::string, std::vector<int64_t>> expected = expectedShapes(c);
  EXPECT_EQ(model.params.size(), expected.size()) << c.name;
  for (const rt::ParamSpec &spec : model.params) {
    auto it = expected.find(spec.name);
    ASSERT_NE(it, expected.end()) << c.name << ": unexpected " << spec.name;
    EXPECT_EQ(spec.shape, it->second) << c.name << ": " << spec.name;
  }
}

//===----------------------------------------------------------------------===//
// Tests
//===----------------------------------------------------------------------===//

class ModelForward : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelForward, LogitsAndLossMatchFloat64Reference) {
  const ModelCase &c = GetParam();
  std::string diagnostics;
  FailureOr<mlir::st::CompiledModel> model = compile(c, diagnostics);
  ASSERT_TRUE(succeeded(model)) << modelText(c) << diagnostics;
  expectParams(c, *model);
  if (HasFailure())
    return;

  rt::ParamStore params(model->params);
  params.initialize(1);
  randomizeParams(params, 1000 + c.context);
  std::mt19937_64 rng(c.context * 31 + c.heads);
  std::vector<int32_t> tokens = randomTokens(c.batch * c.context, rng);
  std::vector<int32_t> targets = randomTokens(c.batch * c.context, rng);

  std::vector<float> logits = runLogits(*model, params, tokens, c.batch);
  Loss eval = runLoss(*model, params, tokens, targets, c.batch);

  ReferenceParams ref(params);
  std::vector<double> refLogits = referenceLogits(c, ref, tokens, c.layouts);
  double refNats = referenceLoss(refLogits, targets);

  double logitsErr = relativeMaxError(logits, refLogits);
  double natsErr = relativeError(eval.nats, refNats);
  double bitsErr = relativeError(eval.bits, refNats / std::log(2.0));
  std::printf("[ measured ] %s: logits %.2e, nats %.2e, bits %.2e "
              "(ref nats %.4f)\n",
              c.name.c_str(), logitsErr, natsErr, bitsErr, refNats);
  EXPECT_LT(logitsErr, kTolerance) << c.name;
  EXPECT_LT(natsErr, kTolerance) << c.name;
  EXPECT_LT(bitsErr, kTolerance) << c.name;

  // The inputs must make the comparison meaningful: the head is not zero,
  // and attending to every earlier position instead of the layout's
  // positions changes the logits far beyond the tolerance.
  double maxRef = 0.0;
  for (double v : refLogits)
    maxRef = std::max(maxRef, std::fabs(v));
  EXPECT_GT(maxRef, 1.0) << c.name;
  bool allDense = true;
  for (const lay::Layout &l : c.layouts)
    for (int64_t h = 0; h < c.heads; ++h)
      allDense &= l.forHead(h) == lay::Layout::denseCausal().forHead(0);
  if (!allDense && c.context > 2) {
    std::vector<double> denseLogits =
        referenceLogits(c, ref, tokens, {lay::Layout::denseCausal()});
    EXPECT_GT(relativeMaxError(denseLogits, refLogits), 1000 * kTolerance)
        << c.name << ": the layout does not matter for these inputs";
  }

  // Without dropout the training loss is the evaluation loss, whatever the
  // rng state.
  if (c.dropout == 0.0)
    for (std::array<int64_t, 2> state :
         {std::array<int64_t, 2>{7, 0}, std::array<int64_t, 2>{123, 45}}) {
      Loss train =
          runLoss(*model, params, tokens, targets, c.batch, state.data());
      EXPECT_EQ(train.nats, eval.nats) << c.name;
      EXPECT_EQ(train.bits, eval.bits) << c.name;
    }
}

ModelCase withLayouts(ModelCase c, std::vector<std::string> text,
                      std::vector<lay::Layout> layouts) {
  c.layoutText = std::move(text);
  c.layouts = std::move(layouts);
  return c;
}

/// Every named pattern, the union and per-head combinators and interleaved
/// layers; lengths 1 to 4096, most not divisible by the attention tile (64)
/// or by the stride; head dims 8 to 64; more heads than a per-head cycle;
/// two- and three-axis positions.
std::vector<ModelCase> modelCases() {
  using L = lay::Layout;
  std::vector<ModelCase> cases;
  auto add = [&](ModelCase c, std::vector<std::string> text,
                 std::vector<lay::Layout> layouts) {
    cases.push_back(
        withLayouts(std::move(c), std::move(text), std::move(layouts)));
  };
  // name, context, width, heads, layers, ffMult, position, -, -, batch
  add({"dense_n1", 1, 8, 1, 1, 1, {1, 1}, {}, {}, 2}, {"#st.dense_causal"},
      {L::denseCausal()});
  add({"local_n7", 7, 16, 2, 2, 2, {2, 4}, {}, {}, 3},
      {"#st.local<window = 3>"}, {L::local(3)});
  add({"dense_n1500", 1500, 64, 1, 1, 1, {25, 60}, {}, {}, 1},
      {"#st.dense_causal"}, {L::denseCausal()});
  add({"strided_n100", 100, 32, 4, 1, 4, {15, 7}, {}, {}, 2},
      {"#st.strided<stride = 7>"}, {L::strided(7)});
  add({"fixed_n64_pos3", 64, 24, 2, 1, 4, {4, 4, 4}, {}, {}, 2},
      {"#st.fixed<stride = 12, summary = 3>"}, {L::fixed(12, 3)});
  // Three summary sub-blocks for four heads: head 3 wraps to sub-block 0.
  add({"fixed_per_head_n257", 257, 64, 4, 1, 2, {11, 24}, {}, {}, 1},
      {"#st.fixed<stride = 24, summary = 8, per_head = true>"},
      {L::fixed(24, 8, /*distinctSummaries=*/true)});
  ModelCase unionCase{
      "union_n100_pos3_approx_gelu", 100, 16, 1, 1, 2, {5, 5, 4}, {}, {}, 2};
  unionCase.approximateGelu = true;
  add(unionCase,
      {"#st.union<[#st.strided<stride = 6>, #st.fixed<stride = 10, "
       "summary = 3>]>"},
      {L::unite({L::strided(6), L::fixed(10, 3)})});
  add({"per_head_n257", 257, 32, 4, 1, 2, {29, 9}, {}, {}, 1},
      {"#st.per_head<[#st.strided<stride = 9>, #st.local<window = 4>, "
       "#st.dense_causal]>"},
      {L::perHead({L::strided(9), L::local(4), L::denseCausal()})});
  add({"interleaved_n130", 130, 16, 2, 2, 1, {12, 11}, {}, {}, 2},
      {"#st.strided<stride = 11>", "#st.local<window = 20>"},
      {L::strided(11), L::local(20)});
  add({"strided_n4096", 4096, 16, 2, 1, 1, {66, 63}, {}, {}, 1},
      {"#st.strided<stride = 63>"}, {L::strided(63)});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cases, ModelForward, ::testing::ValuesIn(modelCases()),
                         [](const ::testing::TestParamInfo<ModelCase> &info) {
                           return info.param.name;
                         });

/// Dropout in the training loss: its mask is a function of the rng state
/// (seed, step), so the same state gives the same loss bit for bit and
/// another state another loss; evaluation ignores dropout.
TEST(ModelTraining, DropoutFollowsTheRngState) {
  ModelCase c = withLayouts(
      {"dropout_n50", 50, 16, 2, 1, 2, {5, 10}, {}, {}, 2},
      {"#st.fixed<stride = 10, summary = 2>"}, {lay::Layout::fixed(10, 2)});
  c.dropout = 0.3;
  std::string diagnostics;
  FailureOr<mlir::st::CompiledModel> model = compile(c, diagnostics);
  ASSERT_TRUE(succeeded(model)) << modelText(c) << diagnostics;
  expectParams(c, *model);
  if (HasFailure())
    return;
  rt::ParamStore params(model->params);
  params.initialize(3);
  randomizeParams(params, 3);
  std::mt19937_64 rng(3);
  std::vector<int32_t> tokens = randomTokens(c.batch * c.context, rng);
  std::vector<int32_t> targets = randomTokens(c.batch * c.context, rng);

  Loss eval = runLoss(*model, params, tokens, targets, c.batch);
  double refNats = referenceLoss(
      referenceLogits(c, ReferenceParams(params), tokens, c.layouts), targets);
  EXPECT_LT(relativeError(eval.nats, refNats), kTolerance);

  const int64_t state[2] = {5, 3}, nextStep[2] = {5, 4}, otherSeed[2] = {6, 3};
  Loss a = runLoss(*model, params, tokens, targets, c.batch, state);
  Loss again = runLoss(*model, params, tokens, targets, c.batch, state);
  Loss b = runLoss(*model, params, tokens, targets, c.batch, nextStep);
  Loss other = runLoss(*model, params, tokens, targets, c.batch, otherSeed);
  std::printf("[ measured ] dropout 0.3: eval %.6f, train(5,3) %.6f twice "
              "%.6f, train(5,4) %.6f, train(6,3) %.6f\n",
              eval.nats, a.nats, again.nats, b.nats, other.nats);
  ASSERT_TRUE(std::isfinite(a.nats) && std::isfinite(a.bits));
  EXPECT_EQ(a.nats, again.nats);
  EXPECT_EQ(a.bits, again.bits);
  EXPECT_NE(a.nats, b.nats);
  EXPECT_NE(a.nats, other.nats);
  EXPECT_NE(a.nats, eval.nats);
  // bits is nats in another unit, dropout or not.
  EXPECT_LT(relativeError(a.bits, double(a.nats) / std::log(2.0)), 1e-6);
}

} // namespace
