//===- AttentionCpuTest.cpp - Compiled attention vs a float64 reference ---===//
//
// Compiles st.attention through the whole CPU path (structure-aware
// decomposition, tiled loops, bufferization, OpenMP, LLVM JIT), runs it on
// random inputs and compares with plain double-precision attention over the
// dense mask from the pattern library's membership function.
//
// Tolerance: max |out - ref| / max |ref| < 1e-5 for f32. Scores, softmax and
// the accumulation are f32 in the kernel; with |inputs| <= 1 and D <= 64 the
// expected rounding error is a few ulps of the largest output (~1e-7), so
// 1e-5 leaves room while still catching any wrong or missing key (an
// omitted key changes outputs by ~1e-2).
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

#include <cmath>
#include <cstdlib>
#include <malloc.h>
#include <random>
#include <string>

using namespace mlir;

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

std::string moduleText(const Case &c) {
  std::string t = "tensor<" + std::to_string(c.batch) + "x" +
                  std::to_string(c.heads) + "x" + std::to_string(c.n) + "x" +
                  std::to_string(c.dim) + "xf32>";
  return "func.func @attn(%q: " + t + ", %k: " + t + ", %v: " + t + ") -> " +
         t + " attributes {llvm.emit_c_interface} {\n" +
         "  %o = st.attention %q, %k, %v layout(" + c.layout + ") : " + t +
         ", " + t + ", " + t + " -> " + t + "\n  return %o : " + t + "\n}\n";
}

class AttentionCpu : public ::testing::Test {
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

  /// Compiles and runs one case; returns max |out - ref| / max |ref| and the
  /// work counter when `counted`.
  double run(const Case &c, uint64_t seed, int64_t *work = nullptr) {
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(moduleText(c), context.get());
    EXPECT_TRUE(module) << describe(c);
    if (!module)
      return INFINITY;
    // The pattern, read back from the parsed attribute.
    ::st::layout::Layout layout;
    module->walk([&](mlir::st::AttentionOp op) {
      layout = op.getLayout().getLayout();
    });
    mlir::st::CpuPipelineOptions options;
    options.countWork = work != nullptr;
    auto engine = mlir::st::compileForCpu(*module, options);
    EXPECT_TRUE(succeeded(engine)) << describe(c);
    if (failed(engine))
      return INFINITY;

    int64_t size = c.batch * c.heads * c.n * c.dim;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    std::vector<float> q(size), k(size), v(size);
    for (float *buf : {q.data(), k.data(), v.data()})
      for (int64_t e = 0; e < size; ++e)
        buf[e] = uni(rng);
    auto desc = [&](float *data) {
      StridedMemRefType<float, 4> d;
      d.basePtr = d.data = data;
      d.offset = 0;
      int64_t sizes[4] = {c.batch, c.heads, c.n, c.dim};
      int64_t strides[4] = {c.heads * c.n * c.dim, c.n * c.dim, c.dim, 1};
      for (int i = 0; i < 4; ++i) {
        d.sizes[i] = sizes[i];
        d.strides[i] = strides[i];
      }
      return d;
    };
    // The result is a caller-allocated out-parameter; poison it so that an
    // unwritten output cannot pass.
    std::vector<float> outData(size, std::nanf(""));
    auto qd = desc(q.data()), kd = desc(k.data()), vd = desc(v.data()),
         od = desc(outData.data());
    auto fn = (*engine)->lookup("_mlir_ciface_attn");
    EXPECT_TRUE(!!fn) << describe(c);
    if (!fn) {
      llvm::consumeError(fn.takeError());
      return INFINITY;
    }
    using Fn = void (*)(StridedMemRefType<float, 4> *,
                        StridedMemRefType<float, 4> *,
                        StridedMemRefType<float, 4> *,
                        StridedMemRefType<float, 4> *);
    reinterpret_cast<Fn>(*fn)(&qd, &kd, &vd, &od);
    if (work) {
      auto counter = (*engine)->lookup("st_attention_work");
      EXPECT_TRUE(!!counter);
      *work = counter ? *static_cast<int64_t *>(*counter) : -1;
      if (!counter)
        llvm::consumeError(counter.takeError());
    }

    // Reference in double over the dense mask.
    double scale = 1.0 / std::sqrt(double(c.dim));
    double maxErr = 0.0, maxRef = 0.0;
    std::vector<double> s(c.n), ref(c.dim);
    for (int64_t b = 0; b < c.batch; ++b)
      for (int64_t h = 0; h < c.heads; ++h) {
        const ::st::layout::Pattern &p = layout.forHead(h);
        int64_t base = (b * c.heads + h) * c.n * c.dim;
        for (int64_t i = 0; i < c.n; ++i) {
          double mx = -INFINITY;
          for (int64_t j = 0; j < c.n; ++j) {
            s[j] = -INFINITY;
            if (!p.contains(i, j))
              continue;
            double dot = 0.0;
            for (int64_t d = 0; d < c.dim; ++d)
              dot += double(q[base + i * c.dim + d]) *
                     double(k[base + j * c.dim + d]);
            s[j] = dot * scale;
            mx = std::max(mx, s[j]);
          }
          std::fill(ref.begin(), ref.end(), 0.0);
          double sum = 0.0;
          for (int64_t j = 0; j < c.n; ++j) {
            if (s[j] == -INFINITY)
              continue;
            double w = std::exp(s[j] - mx);
            sum += w;
            for (int64_t d = 0; d < c.dim; ++d)
              ref[d] += w * double(v[base + j * c.dim + d]);
          }
          for (int64_t d = 0; d < c.dim; ++d) {
            double r = sum > 0 ? ref[d] / sum : 0.0;
            double o = outData[base + i * c.dim + d];
            maxErr = std::max(maxErr, std::fabs(o - r));
            if (std::isnan(o))
              maxErr = INFINITY;
            maxRef = std::max(maxRef, std::fabs(r));
          }
        }
      }
    return maxRef > 0 ? maxErr / maxRef : maxErr;
  }

  std::unique_ptr<MLIRContext> context;
};

TEST_F(AttentionCpu, EveryPatternMatchesFloat64Reference) {
  // Lengths not divisible by tiles (64) or strides, tiny lengths, several
  // head counts and head dims. Strides must not exceed the length.
  std::vector<Case> cases = {
      {"#st.dense_causal", 1, 1, 1, 8},
      {"#st.dense_causal", 2, 3, 100, 16},
      {"#st.local<window = 17>", 1, 2, 130, 32},
      {"#st.local<window = 200>", 1, 1, 70, 8},
      {"#st.strided<stride = 1>", 1, 1, 1, 8},
      {"#st.strided<stride = 7>", 2, 2, 100, 16},
      {"#st.strided<stride = 28>", 1, 3, 784, 32},
      {"#st.strided<stride = 64>", 1, 2, 1000, 64},
      {"#st.fixed<stride = 1, summary = 1>", 1, 1, 5, 8},
      {"#st.fixed<stride = 16, summary = 4>", 2, 2, 100, 16},
      {"#st.fixed<stride = 50, summary = 7>", 1, 1, 257, 32},
      {"#st.fixed<stride = 32, summary = 8, per_head = true>", 1, 8, 300, 16},
      {"#st.fixed<stride = 30, summary = 8, per_head = true>", 1, 5, 97, 8},
      {"#st.union<[#st.strided<stride = 8>, #st.fixed<stride = 16, summary = 4>]>",
       1, 2, 120, 16},
      {"#st.union<[#st.local<window = 5>, #st.column<stride = 9>]>", 1, 1, 64,
       8},
      {"#st.per_head<[#st.strided<stride = 10>, #st.local<window = 3>, "
       "#st.dense_causal]>",
       1, 4, 90, 16},
      {"#st.union<[#st.block<size = 12>, #st.summary<stride = 12, width = 3, "
       "offset = 2>]>",
       1, 1, 77, 8},
      {"#st.strided<stride = 64>", 1, 1, 4096, 32},
      {"#st.fixed<stride = 128, summary = 32>", 1, 1, 4096, 32},
  };
  uint64_t seed = 1;
  for (const Case &c : cases) {
    double err = run(c, seed++);
    EXPECT_LT(err, 1e-5) << describe(c);
  }
}

TEST_F(AttentionCpu, StridedWorkIsThePatternsNonzeros) {
  // The compiled strided attention at n = 4096, l = 64 may touch at most
  // 1.2x the pattern's nonzeros: the counter sums the (row, key) pairs the
  // generated loops visit.
  Case c{"#st.strided<stride = 64>", 1, 2, 4096, 16};
  int64_t work = 0;
  double err = run(c, 42, &work);
  EXPECT_LT(err, 1e-5);
  int64_t nnz = ::st::layout::Layout::strided(64).nonzeros(4096, 2);
  EXPECT_GE(work, nnz);
  EXPECT_LE(double(work), 1.2 * double(nnz))
      << "work " << work << " vs nonzeros " << nnz;
}

TEST_F(AttentionCpu, FixedWorkIsThePatternsNonzeros) {
  Case c{"#st.fixed<stride = 128, summary = 32>", 1, 1, 4096, 16};
  int64_t work = 0;
  double err = run(c, 7, &work);
  EXPECT_LT(err, 1e-5);
  int64_t nnz = ::st::layout::Layout::fixed(128, 32).nonzeros(4096, 1);
  EXPECT_GE(work, nnz);
  EXPECT_LE(double(work), 1.2 * double(nnz))
      << "work " << work << " vs nonzeros " << nnz;
}

} // namespace
