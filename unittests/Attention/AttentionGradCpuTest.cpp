//===- AttentionGradCpuTest.cpp - Compiled attention gradients vs float64 -===//
//
// Compiles a function that runs st.attention (with its log-sum-exp) and then
// st.attention_grad through the whole CPU path (structure-aware
// decomposition of both, tiled loops, bufferization, OpenMP, LLVM JIT), runs
// it on random q, k, v and dout, and compares dq, dk, dv with the analytic
// gradient computed in double over the dense mask from the pattern
// library's membership function. The reference itself is checked against
// central finite differences of the double forward pass.
//
// Tolerance: max |grad - ref| / max |ref| < 1e-4 per gradient, for f32.
// The kernels recompute P = exp(s - lse) in f32 from the forward's f32
// log-sum-exp, so every probability carries an absolute error in its
// exponent of a few ulps of |s| + |lse| (up to ~1e-6 with |inputs| <= 1,
// D <= 64, n <= 301); dout_i . v_j - D_i can cancel, and the sums run over
// up to n keys or rows in f32. Measured errors are at most 4.1e-7; 1e-4
// leaves room for larger shapes while any wrong, missing or double-counted
// position (which changes a gradient by ~1e-2 of its maximum or more) still
// fails.
//
//===----------------------------------------------------------------------===//

#include "st/Dialect/StDialect.h"
#include "st/Target/Cpu/Jit.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <malloc.h>
#include <random>
#include <string>

using namespace mlir;
namespace lay = ::st::layout;

namespace {

struct Case {
  std::string layout; // MLIR text of the layout attribute
  int64_t batch, heads, n, dim;
};

std::string describe(const Case &c) {
  return c.layout + " B=" + std::to_string(c.batch) +
         " H=" + std::to_string(c.heads) + " N=" + std::to_string(c.n) +
         " D=" + std::to_string(c.dim);
}

double scaleOf(const Case &c) { return 1.0 / std::sqrt(double(c.dim)); }

std::string scaleText(const Case &c) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", scaleOf(c));
  return buf;
}

std::string shape(const Case &c, bool rows) {
  std::string s = "tensor<" + std::to_string(c.batch) + "x" +
                  std::to_string(c.heads) + "x" + std::to_string(c.n);
  return s + (rows ? "xf32>" : "x" + std::to_string(c.dim) + "xf32>");
}

/// @grad(q, k, v, dout) -> (dq, dk, dv): the forward pass, then its adjoint.
std::string gradModule(const Case &c) {
  std::string t = shape(c, false), l = shape(c, true);
  std::string attrs = " layout(" + c.layout + ") scale(" + scaleText(c) + ")";
  return "func.func @grad(%q: " + t + ", %k: " + t + ", %v: " + t +
         ", %dout: " + t + ") -> (" + t + ", " + t + ", " + t +
         ") attributes {llvm.emit_c_interface} {\n" +
         "  %o, %l = st.attention %q, %k, %v" + attrs + " : " + t + ", " + t +
         ", " + t + " -> " + t + ", " + l + "\n" +
         "  %dq, %dk, %dv = st.attention_grad %q, %k, %v, %o, %l, %dout" +
         attrs + " : " + t + ", " + l + " -> " + t + ", " + t + ", " + t +
         "\n  return %dq, %dk, %dv : " + t + ", " + t + ", " + t + "\n}\n";
}

/// @grad(q, k, v, out, lse, dout) -> (dq, dk, dv): the adjoint alone.
std::string gradOnlyModule(const Case &c) {
  std::string t = shape(c, false), l = shape(c, true);
  return "func.func @grad(%q: " + t + ", %k: " + t + ", %v: " + t +
         ", %o: " + t + ", %l: " + l + ", %dout: " + t + ") -> (" + t + ", " +
         t + ", " + t + ") attributes {llvm.emit_c_interface} {\n" +
         "  %dq, %dk, %dv = st.attention_grad %q, %k, %v, %o, %l, %dout "
         "layout(" +
         c.layout + ") scale(" + scaleText(c) + ") : " + t + ", " + l +
         " -> " + t + ", " + t + ", " + t + "\n  return %dq, %dk, %dv : " +
         t + ", " + t + ", " + t + "\n}\n";
}

//===----------------------------------------------------------------------===//
// The float64 reference
//===----------------------------------------------------------------------===//

/// Inputs and gradients of one case, [B, H, N, D] row-major.
struct Tensors {
  std::vector<double> q, k, v, dout;
};

struct Gradients {
  std::vector<double> dq, dk, dv;
};

/// Softmax probabilities of one head: p[i * n + j] (0 off the pattern).
std::vector<double> probabilities(const Case &c, const lay::Pattern &p,
                                  const double *q, const double *k) {
  int64_t n = c.n, dim = c.dim;
  double scale = scaleOf(c);
  std::vector<double> prob(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double mx = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
      if (!p.contains(i, j))
        continue;
      double dot = 0.0;
      for (int64_t d = 0; d < dim; ++d)
        dot += q[i * dim + d] * k[j * dim + d];
      prob[i * n + j] = dot * scale;
      mx = std::max(mx, dot * scale);
    }
    double sum = 0.0;
    for (int64_t j = 0; j < n; ++j)
      if (p.contains(i, j))
        sum += prob[i * n + j] = std::exp(prob[i * n + j] - mx);
    for (int64_t j = 0; j < n; ++j)
      prob[i * n + j] = p.contains(i, j) ? prob[i * n + j] / sum : 0.0;
  }
  return prob;
}

/// L = sum(dout * attention(q, k, v)), whose gradient is the adjoint.
double forwardLoss(const Case &c, const lay::Layout &layout, const Tensors &x) {
  double loss = 0.0;
  int64_t n = c.n, dim = c.dim;
  for (int64_t bh = 0; bh < c.batch * c.heads; ++bh) {
    int64_t base = bh * n * dim;
    std::vector<double> prob =
        probabilities(c, layout.forHead(bh % c.heads), &x.q[base], &x.k[base]);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t d = 0; d < dim; ++d)
          loss += x.dout[base + i * dim + d] * prob[i * n + j] *
                  x.v[base + j * dim + d];
  }
  return loss;
}

/// dq, dk, dv of forwardLoss, by the formulas of st.attention_grad.
Gradients analyticGradients(const Case &c, const lay::Layout &layout,
                            const Tensors &x) {
  int64_t n = c.n, dim = c.dim;
  double scale = scaleOf(c);
  Gradients g{std::vector<double>(x.q.size()), std::vector<double>(x.q.size()),
              std::vector<double>(x.q.size())};
  for (int64_t bh = 0; bh < c.batch * c.heads; ++bh) {
    int64_t base = bh * n * dim;
    const double *q = &x.q[base], *k = &x.k[base], *v = &x.v[base],
                 *dout = &x.dout[base];
    double *dq = &g.dq[base], *dk = &g.dk[base], *dv = &g.dv[base];
    std::vector<double> prob =
        probabilities(c, layout.forHead(bh % c.heads), q, k);
    for (int64_t i = 0; i < n; ++i) {
      double delta = 0.0; // dout_i . out_i
      for (int64_t j = 0; j < n; ++j)
        for (int64_t d = 0; d < dim; ++d)
          delta += dout[i * dim + d] * prob[i * n + j] * v[j * dim + d];
      for (int64_t j = 0; j < n; ++j) {
        double pij = prob[i * n + j];
        if (pij == 0.0)
          continue;
        double dp = 0.0;
        for (int64_t d = 0; d < dim; ++d)
          dp += dout[i * dim + d] * v[j * dim + d];
        double ds = pij * (dp - delta);
        for (int64_t d = 0; d < dim; ++d) {
          dv[j * dim + d] += pij * dout[i * dim + d];
          dq[i * dim + d] += scale * ds * k[j * dim + d];
          dk[j * dim + d] += scale * ds * q[i * dim + d];
        }
      }
    }
  }
  return g;
}

Tensors randomTensors(const Case &c, uint64_t seed) {
  int64_t size = c.batch * c.heads * c.n * c.dim;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  Tensors x;
  for (std::vector<double> *t : {&x.q, &x.k, &x.v, &x.dout}) {
    t->resize(size);
    // Values exactly representable in f32, so both sides see the same input.
    for (double &e : *t)
      e = uni(rng);
  }
  return x;
}

/// max |got - want| / max |want|; infinite if anything is NaN.
double relativeError(const std::vector<float> &got,
                     const std::vector<double> &want) {
  double err = 0.0, ref = 0.0;
  for (size_t e = 0; e < want.size(); ++e) {
    if (std::isnan(got[e]))
      return INFINITY;
    err = std::max(err, std::fabs(double(got[e]) - want[e]));
    ref = std::max(ref, std::fabs(want[e]));
  }
  return ref > 0 ? err / ref : err;
}

//===----------------------------------------------------------------------===//
// The compiled gradient
//===----------------------------------------------------------------------===//

using Memref4 = StridedMemRefType<float, 4>;
using Memref3 = StridedMemRefType<float, 3>;

template <int Rank>
StridedMemRefType<float, Rank> descriptor(float *data,
                                          std::array<int64_t, Rank> sizes) {
  StridedMemRefType<float, Rank> d;
  d.basePtr = d.data = data;
  d.offset = 0;
  int64_t stride = 1;
  for (int i = Rank - 1; i >= 0; --i) {
    d.sizes[i] = sizes[i];
    d.strides[i] = stride;
    stride *= sizes[i];
  }
  return d;
}

class AttentionGradCpu : public ::testing::Test {
protected:
  void SetUp() override {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registry.insert<mlir::st::StDialect>();
    context = std::make_unique<MLIRContext>(registry);
    context->loadAllAvailableDialects();
    // Poison the program's own heap buffers too, so that reading an
    // unwritten intermediate shows up as wrong numbers.
    mallopt(M_PERTURB, 0x5a);
  }
  void TearDown() override { mallopt(M_PERTURB, 0); }

  /// Parses and compiles `text`; returns null (after a test failure) if
  /// either step fails.
  std::unique_ptr<ExecutionEngine> compile(const std::string &text,
                                           const Case &c, bool countWork,
                                           lay::Layout *layout = nullptr) {
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(text, context.get());
    EXPECT_TRUE(module) << describe(c);
    if (!module)
      return nullptr;
    if (layout)
      module->walk([&](mlir::st::AttentionGradOp op) {
        *layout = op.getLayout().getLayout();
      });
    mlir::st::CpuPipelineOptions options;
    options.countWork = countWork;
    auto engine = mlir::st::compileForCpu(*module, options);
    EXPECT_TRUE(succeeded(engine)) << describe(c);
    if (failed(engine))
      return nullptr;
    return std::move(*engine);
  }

  /// Runs the compiled forward + gradient on random inputs; returns the
  /// worst relative error of dq, dk and dv against the double reference.
  double run(const Case &c, uint64_t seed) {
    lay::Layout layout;
    std::unique_ptr<ExecutionEngine> engine =
        compile(gradModule(c), c, /*countWork=*/false, &layout);
    if (!engine)
      return INFINITY;
    Tensors x = randomTensors(c, seed);
    std::array<int64_t, 4> sizes = {c.batch, c.heads, c.n, c.dim};
    auto toFloat = [](const std::vector<double> &t) {
      return std::vector<float>(t.begin(), t.end());
    };
    std::vector<float> q = toFloat(x.q), k = toFloat(x.k), v = toFloat(x.v),
                       dout = toFloat(x.dout);
    // Results are caller-allocated out-parameters; poison them so that an
    // unwritten gradient cannot pass.
    std::vector<float> dq(q.size(), std::nanf("")), dk = dq, dv = dq;
    Memref4 qd = descriptor<4>(q.data(), sizes),
            kd = descriptor<4>(k.data(), sizes),
            vd = descriptor<4>(v.data(), sizes),
            dod = descriptor<4>(dout.data(), sizes),
            dqd = descriptor<4>(dq.data(), sizes),
            dkd = descriptor<4>(dk.data(), sizes),
            dvd = descriptor<4>(dv.data(), sizes);
    auto fn = engine->lookup("_mlir_ciface_grad");
    EXPECT_TRUE(!!fn) << describe(c);
    if (!fn) {
      llvm::consumeError(fn.takeError());
      return INFINITY;
    }
    using Fn = void (*)(Memref4 *, Memref4 *, Memref4 *, Memref4 *, Memref4 *,
                        Memref4 *, Memref4 *);
    reinterpret_cast<Fn>(*fn)(&qd, &kd, &vd, &dod, &dqd, &dkd, &dvd);

    Gradients ref = analyticGradients(c, layout, x);
    double eq = relativeError(dq, ref.dq), ek = relativeError(dk, ref.dk),
           ev = relativeError(dv, ref.dv);
    std::printf("[ grad     ] %-90s dq %.2e dk %.2e dv %.2e\n",
                describe(c).c_str(), eq, ek, ev);
    return std::max({eq, ek, ev});
  }

  /// The (row, key) pairs visited by the compiled gradient alone.
  int64_t gradWork(const Case &c) {
    std::unique_ptr<ExecutionEngine> engine =
        compile(gradOnlyModule(c), c, /*countWork=*/true);
    if (!engine)
      return -1;
    int64_t size = c.batch * c.heads * c.n * c.dim;
    std::vector<float> t(size, 0.5f), lse(c.batch * c.heads * c.n, 0.0f);
    std::vector<float> dq(size), dk(size), dv(size);
    std::array<int64_t, 4> sizes = {c.batch, c.heads, c.n, c.dim};
    Memref4 td = descriptor<4>(t.data(), sizes),
            dqd = descriptor<4>(dq.data(), sizes),
            dkd = descriptor<4>(dk.data(), sizes),
            dvd = descriptor<4>(dv.data(), sizes);
    Memref3 ld = descriptor<3>(lse.data(), {c.batch, c.heads, c.n});
    auto fn = engine->lookup("_mlir_ciface_grad");
    auto counter = engine->lookup("st_attention_work");
    EXPECT_TRUE(fn && counter) << describe(c);
    if (!fn || !counter) {
      llvm::consumeError(fn.takeError());
      llvm::consumeError(counter.takeError());
      return -1;
    }
    using Fn = void (*)(Memref4 *, Memref4 *, Memref4 *, Memref4 *, Memref3 *,
                        Memref4 *, Memref4 *, Memref4 *, Memref4 *);
    reinterpret_cast<Fn>(*fn)(&td, &td, &td, &td, &ld, &td, &dqd, &dkd, &dvd);
    return *static_cast<int64_t *>(*counter);
  }

  std::unique_ptr<MLIRContext> context;
};

TEST(AttentionGradReference, MatchesFiniteDifferencesOfTheForwardPass) {
  // Every entry of dq, dk, dv of a small per-head union case, against
  // (L(x + h) - L(x - h)) / 2h of the double forward pass. The truncation
  // error is O(h^2) ~ 1e-10 and the rounding error ~ 1e-16 / h ~ 1e-11, so
  // 1e-7 relative to the largest gradient is loose for a correct reference
  // and tight for a wrong formula.
  Case c{"", 1, 2, 13, 4};
  lay::Layout layout = lay::Layout::perHead(
      {lay::Layout::unite({lay::Layout::strided(3), lay::Layout::fixed(4, 2)}),
       lay::Layout::fixed(4, 1, /*distinctSummaries=*/true)});
  Tensors x = randomTensors(c, 99);
  Gradients g = analyticGradients(c, layout, x);
  const double h = 1e-5;
  double maxErr = 0.0, maxRef = 0.0;
  auto check = [&](std::vector<double> &input,
                   const std::vector<double> &grad) {
    for (size_t e = 0; e < input.size(); ++e) {
      double saved = input[e];
      input[e] = saved + h;
      double up = forwardLoss(c, layout, x);
      input[e] = saved - h;
      double down = forwardLoss(c, layout, x);
      input[e] = saved;
      maxErr = std::max(maxErr, std::fabs((up - down) / (2 * h) - grad[e]));
      maxRef = std::max(maxRef, std::fabs(grad[e]));
    }
  };
  check(x.q, g.dq);
  check(x.k, g.dk);
  check(x.v, g.dv);
  std::printf("[ fd       ] reference vs finite differences: %.2e\n",
              maxErr / maxRef);
  EXPECT_GT(maxRef, 0.1);
  EXPECT_LT(maxErr / maxRef, 1e-7);
}

TEST_F(AttentionGradCpu, EveryPatternMatchesFloat64Reference) {
  // Every layout kind; lengths not divisible by the tiles (64) or strides;
  // several head counts and head dims.
  std::vector<Case> cases = {
      {"#st.dense_causal", 2, 3, 77, 16},
      {"#st.local<window = 17>", 1, 2, 130, 32},
      {"#st.strided<stride = 7>", 2, 2, 100, 16},
      {"#st.strided<stride = 28>", 1, 2, 301, 32},
      {"#st.fixed<stride = 16, summary = 4>", 2, 2, 100, 16},
      {"#st.fixed<stride = 50, summary = 7>", 1, 1, 257, 64},
      {"#st.fixed<stride = 32, summary = 8, per_head = true>", 1, 5, 150, 8},
      {"#st.union<[#st.strided<stride = 8>, #st.fixed<stride = 16, summary = "
       "4>]>",
       1, 2, 121, 16},
      {"#st.per_head<[#st.strided<stride = 10>, #st.local<window = 3>, "
       "#st.dense_causal]>",
       1, 4, 91, 16},
      {"#st.union<[#st.block<size = 12>, #st.summary<stride = 12, width = 3, "
       "offset = 2>]>",
       1, 1, 77, 8},
      {"#st.per_head<[#st.union<[#st.strided<stride = 3>, #st.fixed<stride = "
       "4, summary = 2>]>, #st.fixed<stride = 4, summary = 1, per_head = "
       "true>]>",
       1, 2, 13, 4},
  };
  uint64_t seed = 1;
  for (const Case &c : cases)
    EXPECT_LT(run(c, seed++), 1e-4) << describe(c);
}

TEST_F(AttentionGradCpu, WorkIsTwiceThePatternsNonzeros) {
  // One pass over the pattern for dq and one over its transpose for dk and
  // dv; at n = 4096 nothing is padded, so the structured parts touch
  // exactly the nonzeros.
  struct WorkCase {
    Case c;
    lay::Layout layout;
  };
  std::vector<WorkCase> cases = {
      {{"#st.strided<stride = 64>", 1, 2, 4096, 16}, lay::Layout::strided(64)},
      {{"#st.fixed<stride = 128, summary = 32>", 1, 1, 4096, 16},
       lay::Layout::fixed(128, 32)},
  };
  for (const WorkCase &w : cases) {
    int64_t nnz = w.layout.nonzeros(w.c.n, w.c.heads) * w.c.batch;
    EXPECT_EQ(gradWork(w.c), 2 * nnz) << describe(w.c);
  }
}

} // namespace
