//===- ModelForwardTest.cpp - Compiled models vs a float64 reference ------===//
//
// Compiles small st.transformer models through the whole CPU path
// (compileModel: expansion, attention by structure, BLAS, OpenMP, JIT),
// overwrites every parameter with random values and compares the `logits`
// and `evalLoss` entry points with a plain-loop double-precision forward pass
// written from the ops' documented semantics (Reference.h). The attention mask
// is the dense mask from the layout library's membership function, with each
// layout built through the library's constructors rather than read back from
// the compiled attribute.
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

#include "Reference.h"

#include "st/Driver/Model.h"
#include "st/Layout/Layout.h"
#include "st/Runtime/Program.h"

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
using namespace ::st::modeltest;
namespace lay = ::st::layout;
namespace rt = ::st::rt;

namespace {

constexpr double kTolerance = 1e-5;

//===----------------------------------------------------------------------===//
// Comparisons
//===----------------------------------------------------------------------===//

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
