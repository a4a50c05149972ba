//===- GradientCheckTest.cpp - Compiled gradients vs finite differences ---===//
//
// Compiles small st.transformer models for training (--st-autodiff with a
// --st-remat policy) and calls the gradient function `<name>_grad`
// (params..., tokens, targets, rng, nats [], bits [], d nats / d params...)
// with random parameters. For a few random elements of every parameter
// tensor the compiled f32 gradient is compared with a central finite
// difference, step h = 1e-4, of the float64 reference loss (Reference.h).
//
// Tolerance: |g - fd| <= 2e-3 * max |g of that tensor| + 1e-5. The finite
// difference itself is accurate to ~1e-8 (truncation O(h^2) with O(1)
// third derivatives, cancellation ~1e-16 / h), so the error is that of the
// compiled gradient: an f32 forward and backward pass, whose rounding
// relative to the tensor's largest gradient is ~1e-6 to 1e-5 for these
// sizes (sums of at most a few thousand terms); 2e-3 leaves a wide margin
// for that while a wrong transpose, mask, scale or missing term shows up as
// an O(1) relative error. The absolute 1e-5 covers tensors whose gradient
// is near zero everywhere (e.g. rows of a table no position uses).
//
// Rematerialisation only recomputes forward values the backward pass needs;
// "none" and "paper" must give the same gradients (the test accepts 1e-6 of
// the tensor's largest gradient and reports how many elements differ at
// all). Compiling for training takes ~10 s per layer, so the cases have one
// layer and only one compiles both policies (with two layers and every
// case compiled both ways, all gradients were bit-identical).
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include "st/Driver/Model.h"
#include "st/Layout/Layout.h"
#include "st/Runtime/Program.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace mlir;
using namespace ::st::modeltest;
namespace lay = ::st::layout;
namespace rt = ::st::rt;

namespace {

constexpr double kStep = 1e-4;
constexpr double kRelTolerance = 2e-3;
constexpr double kAbsTolerance = 1e-5;
constexpr int kSamplesPerTensor = 4;

/// The cases that also compile with remat "none" and compare.
const std::set<std::string> kRematCases = {"per_head_n30"};

/// The gradient function's outputs, NaN-poisoned before each call.
struct Gradients {
  float nats = std::numeric_limits<float>::quiet_NaN();
  float bits = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::vector<float>> grads;
};

/// Calls `<name>_grad` with rng state (7, 0).
Gradients runGrad(const mlir::st::CompiledModel &model, rt::PackedFunction grad,
                  rt::ParamStore &params, std::vector<int32_t> &tokens,
                  std::vector<int32_t> &targets, int64_t batch) {
  int64_t n = model.config.context;
  Gradients out;
  int64_t rng[2] = {7, 0};
  rt::ArgumentPack pack;
  params.addTo(pack);
  pack.add(tokens.data(), {batch, n});
  pack.add(targets.data(), {batch, n});
  pack.add(rng, {2});
  pack.add(&out.nats, {});
  pack.add(&out.bits, {});
  out.grads.resize(model.params.size());
  for (size_t i = 0; i < model.params.size(); ++i) {
    const rt::ParamSpec &spec = model.params[i];
    out.grads[i].assign(spec.numElements(),
                        std::numeric_limits<float>::quiet_NaN());
    pack.add(out.grads[i].data(), spec.shape);
  }
  grad(pack.data());
  return out;
}

rt::PackedFunction lookupGrad(const mlir::st::CompiledModel &model) {
  auto sym =
      model.engine->lookupPacked("_mlir_ciface_" + model.config.name + "_grad");
  if (!sym) {
    llvm::consumeError(sym.takeError());
    return nullptr;
  }
  return *sym;
}

class GradientCheck : public ::testing::TestWithParam<ModelCase> {};

TEST_P(GradientCheck, MatchesFiniteDifferences) {
  const ModelCase &c = GetParam();
  ASSERT_EQ(c.dropout, 0.0) << "the reference has no dropout";

  // Compile with remat "paper" (the default) and "none".
  mlir::st::TrainingPipelineOptions paperOpts, noneOpts;
  paperOpts.remat = "paper";
  noneOpts.remat = "none";
  std::string diagnostics;
  FailureOr<mlir::st::CompiledModel> paper =
      compile(c, diagnostics, &paperOpts);
  ASSERT_TRUE(succeeded(paper)) << modelText(c) << diagnostics;
  rt::PackedFunction paperGrad = lookupGrad(*paper);
  ASSERT_NE(paperGrad, nullptr) << c.name << ": no model_grad";
  // Compiling for training takes ~10 s per layer, so only some cases
  // compile the second policy.
  FailureOr<mlir::st::CompiledModel> none = failure();
  rt::PackedFunction noneGrad = nullptr;
  if (kRematCases.count(c.name)) {
    none = compile(c, diagnostics, &noneOpts);
    ASSERT_TRUE(succeeded(none)) << modelText(c) << diagnostics;
    noneGrad = lookupGrad(*none);
    ASSERT_NE(noneGrad, nullptr) << c.name;
  }

  std::map<std::string, std::vector<int64_t>> expected = expectedShapes(c);
  ASSERT_EQ(paper->params.size(), expected.size()) << c.name;
  if (noneGrad)
    ASSERT_EQ(none->params.size(), paper->params.size()) << c.name;
  for (size_t i = 0; i < paper->params.size(); ++i) {
    const rt::ParamSpec &spec = paper->params[i];
    auto it = expected.find(spec.name);
    ASSERT_NE(it, expected.end()) << c.name << ": unexpected " << spec.name;
    ASSERT_EQ(spec.shape, it->second) << c.name << ": " << spec.name;
    if (noneGrad) {
      ASSERT_EQ(none->params[i].name, spec.name) << c.name;
      ASSERT_EQ(none->params[i].shape, spec.shape) << c.name;
    }
  }

  rt::ParamStore params(paper->params);
  params.initialize(1);
  randomizeParams(params, 2000 + c.context);
  std::mt19937_64 rng(c.context * 17 + c.heads);
  std::vector<int32_t> tokens = randomTokens(c.batch * c.context, rng);
  std::vector<int32_t> targets = randomTokens(c.batch * c.context, rng);

  Gradients g = runGrad(*paper, paperGrad, params, tokens, targets, c.batch);
  Gradients gNone;
  if (noneGrad)
    gNone = runGrad(*none, noneGrad, params, tokens, targets, c.batch);

  ReferenceParams ref(params);
  auto loss = [&]() {
    return referenceLoss(referenceLogits(c, ref, tokens, c.layouts), targets);
  };
  double refNats = loss();
  ASSERT_TRUE(std::isfinite(g.nats)) << c.name;
  EXPECT_LT(std::fabs(g.nats - refNats) / refNats, 1e-5) << c.name;

  // Finite differences on a few elements of every tensor. Embedding rows
  // are drawn from the tokens in the batch (other rows have zero gradient).
  double worstRatio = 0.0, worstAbs = 0.0, worstRel = 0.0;
  std::string worstName;
  for (size_t i = 0; i < paper->params.size(); ++i) {
    const rt::ParamSpec &spec = paper->params[i];
    const std::vector<float> &gi = g.grads[i];
    double maxG = 0.0;
    bool finite = true;
    for (float v : gi) {
      finite &= std::isfinite(v);
      maxG = std::max(maxG, double(std::fabs(v)));
    }
    ASSERT_TRUE(finite) << c.name << ": " << spec.name
                        << " has a non-finite (unwritten?) gradient";
    double tol = kRelTolerance * maxG + kAbsTolerance;
    std::vector<double> &values = ref.at(spec.name);
    int64_t count = spec.numElements();
    std::uniform_int_distribution<int64_t> pick(0, count - 1);
    for (int s = 0; s < kSamplesPerTensor; ++s) {
      int64_t e = pick(rng);
      if (spec.name == "tok_emb.weight" && s % 2 == 0) {
        int64_t d = spec.shape[1];
        e = int64_t(tokens[rng() % tokens.size()]) * d + e % d;
      }
      double saved = values[e];
      values[e] = saved + kStep;
      double up = loss();
      values[e] = saved - kStep;
      double down = loss();
      values[e] = saved;
      double fd = (up - down) / (2.0 * kStep);
      double err = std::fabs(double(gi[e]) - fd);
      EXPECT_LE(err, tol) << c.name << ": " << spec.name << "[" << e
                          << "]: compiled " << gi[e] << ", finite difference "
                          << fd << ", max |g| " << maxG;
      if (err / tol > worstRatio) {
        worstRatio = err / tol;
        worstName = spec.name;
      }
      worstAbs = std::max(worstAbs, err);
      if (maxG > 0.0)
        worstRel = std::max(worstRel, err / maxG);
    }
  }

  std::printf("[ measured ] %s: loss %.6f (ref %.6f); FD max |g-fd| %.2e, "
              "max |g-fd|/max|g| %.2e, worst err/tol %.1e (%s)\n",
              c.name.c_str(), g.nats, refNats, worstAbs, worstRel, worstRatio,
              worstName.c_str());
  if (!noneGrad)
    return;

  // Remat "none" vs "paper".
  size_t differing = 0, total = 0;
  double rematRel = 0.0;
  for (size_t i = 0; i < g.grads.size(); ++i) {
    double maxG = 0.0;
    for (float v : g.grads[i])
      maxG = std::max(maxG, double(std::fabs(v)));
    for (size_t e = 0; e < g.grads[i].size(); ++e) {
      float a = g.grads[i][e], b = gNone.grads[i][e];
      ++total;
      if (std::memcmp(&a, &b, sizeof(float)) != 0)
        ++differing;
      double d = std::isnan(b) ? INFINITY : std::fabs(double(a) - double(b));
      double rel = maxG > 0.0 ? d / maxG : d;
      rematRel = std::max(rematRel, rel);
      EXPECT_LE(rel, 1e-6) << c.name << ": remat none vs paper, "
                           << paper->params[i].name << "[" << e << "]: " << a
                           << " vs " << b;
    }
  }
  EXPECT_EQ(gNone.nats, g.nats) << c.name;

  std::printf("[ measured ] %s: remat none vs paper: %zu of %zu gradient "
              "elements differ, max |diff|/max|g| %.2e\n",
              c.name.c_str(), differing, total, rematRel);
}

ModelCase withLayouts(ModelCase c, std::vector<std::string> text,
                      std::vector<lay::Layout> layouts) {
  c.layoutText = std::move(text);
  c.layouts = std::move(layouts);
  return c;
}

std::vector<ModelCase> gradientCases() {
  using L = lay::Layout;
  std::vector<ModelCase> cases;
  auto add = [&](ModelCase c, std::vector<std::string> text,
                 std::vector<lay::Layout> layouts) {
    cases.push_back(
        withLayouts(std::move(c), std::move(text), std::move(layouts)));
  };
  // name, context, width, heads, layers, ffMult, position, -, -, batch
  add({"dense_n8", 8, 8, 1, 1, 2, {2, 4}, {}, {}, 2}, {"#st.dense_causal"},
      {L::denseCausal()});
  add({"strided_n20", 20, 16, 2, 1, 2, {4, 5}, {}, {}, 2},
      {"#st.strided<stride = 4>"}, {L::strided(4)});
  add({"fixed_n24", 24, 16, 2, 1, 2, {4, 6}, {}, {}, 2},
      {"#st.fixed<stride = 8, summary = 2>"}, {L::fixed(8, 2)});
  add({"fixed_per_head_n33", 33, 16, 2, 1, 2, {3, 11}, {}, {}, 1},
      {"#st.fixed<stride = 8, summary = 2, per_head = true>"},
      {L::fixed(8, 2, /*distinctSummaries=*/true)});
  ModelCase unionCase{
      "union_n17_approx_gelu", 17, 8, 1, 1, 2, {3, 6}, {}, {}, 2};
  unionCase.approximateGelu = true;
  add(unionCase,
      {"#st.union<[#st.strided<stride = 5>, #st.fixed<stride = 6, "
       "summary = 2>]>"},
      {L::unite({L::strided(5), L::fixed(6, 2)})});
  add({"per_head_n30", 30, 16, 2, 1, 2, {5, 6}, {}, {}, 1},
      {"#st.per_head<[#st.strided<stride = 5>, #st.local<window = 4>]>"},
      {L::perHead({L::strided(5), L::local(4)})});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cases, GradientCheck,
                         ::testing::ValuesIn(gradientCases()),
                         [](const ::testing::TestParamInfo<ModelCase> &info) {
                           return info.param.name;
                         });

} // namespace
