//===- Reference.cpp - Shared float64 reference for the model tests -------===//
//
// See Reference.h.
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace mlir;
namespace lay = ::st::layout;
namespace rt = ::st::rt;

namespace st {
namespace modeltest {

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

namespace {

/// The one context every test compiles in (creating one loads every
/// dialect, which is worth doing once).
MLIRContext &sharedContext() {
  static std::unique_ptr<MLIRContext> context = mlir::st::createContext();
  return *context;
}

} // namespace

FailureOr<mlir::st::CompiledModel>
compile(const ModelCase &c, std::string &diagnostics,
        const mlir::st::TrainingPipelineOptions *training,
        const mlir::st::CpuPipelineOptions *cpu) {
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
  mlir::st::CpuPipelineOptions defaults;
  FailureOr<mlir::st::CompiledModel> model = mlir::st::compileModel(
      context, path.str().str(), cpu ? *cpu : defaults, training);
  llvm::sys::fs::remove(path);
  return model;
}

std::unique_ptr<CompiledCase> compileRandomized(const ModelCase &c,
                                                uint64_t seed) {
  std::string diagnostics;
  mlir::FailureOr<mlir::st::CompiledModel> compiled = compile(c, diagnostics);
  if (mlir::failed(compiled)) {
    std::fprintf(stderr, "%s%s", modelText(c).c_str(), diagnostics.c_str());
    return nullptr;
  }
  auto out = std::make_unique<CompiledCase>(std::move(*compiled));
  out->params.initialize(1);
  randomizeParams(out->params, seed);
  return out;
}

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

ReferenceParams::ReferenceParams(const rt::ParamStore &store) {
  for (size_t i = 0; i < store.size(); ++i) {
    const rt::ParamSpec &spec = store.getSpecs()[i];
    const float *v = store.data(i);
    values[spec.name].assign(v, v + spec.numElements());
  }
}

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

namespace {

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

} // namespace

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

} // namespace modeltest
} // namespace st
