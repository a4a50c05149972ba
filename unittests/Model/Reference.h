//===- Reference.h - Shared float64 reference for the model tests -*- C++
//-*-===//
//
// What ModelForwardTest and GradientCheckTest share: the test-model
// description and its model file, compiling it in one shared context,
// random parameters and tokens, and a plain-loop double-precision forward
// pass (logits and loss) written from the ops' documented semantics.
//
//===----------------------------------------------------------------------===//

#ifndef ST_UNITTESTS_MODEL_REFERENCE_H
#define ST_UNITTESTS_MODEL_REFERENCE_H

#include "st/Driver/Model.h"
#include "st/Layout/Layout.h"
#include "st/Runtime/Program.h"

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace st {
namespace modeltest {

constexpr int64_t kVocab = 256;

/// One model under test.
struct ModelCase {
  std::string name;
  int64_t context, width, heads, layers, ffMult;
  std::vector<int64_t> position;
  /// Layer r uses layouts[r mod k]: `layoutText` is what the model file
  /// says, `layouts` the same layouts built with the library's constructors
  /// for the reference's masks.
  std::vector<std::string> layoutText;
  std::vector<::st::layout::Layout> layouts;
  int64_t batch;
  bool approximateGelu = false;
  double dropout = 0.0;
};

/// The case's model file.
std::string modelText(const ModelCase &c);

/// Writes the case's model file and compiles it (for training when
/// `training` is given, with `cpu`'s options when given); diagnostics are
/// collected into `diagnostics`.
mlir::FailureOr<mlir::st::CompiledModel>
compile(const ModelCase &c, std::string &diagnostics,
        const mlir::st::TrainingPipelineOptions *training = nullptr,
        const mlir::st::CpuPipelineOptions *cpu = nullptr);

/// Overwrites every parameter: the default initialisation (zero head, unit
/// gains, zero biases, small weights) would make logits zero and attention
/// nearly uniform, hiding most mistakes. Weights get std gain/sqrt(fan_in),
/// with a larger gain on qkv so that softmax rows are far from uniform.
void randomizeParams(::st::rt::ParamStore &store, uint64_t seed);

/// A compiled case with its parameters, built once per test suite.
struct CompiledCase {
  explicit CompiledCase(mlir::st::CompiledModel compiled)
      : model(std::move(compiled)), params(model.params) {}
  mlir::st::CompiledModel model;
  ::st::rt::ParamStore params;
};

/// Compiles `c`, initializes its parameters and randomizes them with
/// `seed` (randomizeParams); null, after printing the model file and the
/// diagnostics to stderr, when it does not compile.
std::unique_ptr<CompiledCase> compileRandomized(const ModelCase &c,
                                                uint64_t seed);

std::vector<int32_t> randomTokens(int64_t count, std::mt19937_64 &rng);

/// Every parameter by name, widened to double.
class ReferenceParams {
public:
  explicit ReferenceParams(const ::st::rt::ParamStore &store);
  /// Callers check names and shapes beforehand (expectParams).
  const std::vector<double> &operator[](const std::string &name) const {
    return values.at(name);
  }
  /// Mutable access (finite differences perturb single elements).
  std::vector<double> &at(const std::string &name) { return values.at(name); }

private:
  std::map<std::string, std::vector<double>> values;
};

/// The parameters the model declares: the names of ExpandModel.cpp with the
/// shapes the op semantics require.
std::map<std::string, std::vector<int64_t>> expectedShapes(const ModelCase &c);

/// The whole forward pass without dropout: logits [batch, n, vocab].
/// `layouts` overrides the case's layouts (the mask-sensitivity check).
std::vector<double>
referenceLogits(const ModelCase &c, const ReferenceParams &p,
                const std::vector<int32_t> &tokens,
                const std::vector<::st::layout::Layout> &layouts);

/// Mean over every position of logsumexp(logits) - logits[target], in nats.
double referenceLoss(const std::vector<double> &logits,
                     const std::vector<int32_t> &targets);

} // namespace modeltest
} // namespace st

#endif // ST_UNITTESTS_MODEL_REFERENCE_H
