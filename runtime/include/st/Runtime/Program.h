//===- Program.h - Calling compiled ST programs -----------------*- C++ -*-===//
//
// The contract between the compiler and the runtime, with no MLIR include:
//  - a compiled entry point is a packed function `void(void **args)` where
//    args[i] points to the i-th argument, and every argument is a pointer
//    to a strided memref descriptor (MLIR's C interface);
//  - entry points take the model's parameters first, in declaration order,
//    then their data inputs, then caller-allocated outputs;
//  - descriptors describe dense row-major buffers:
//    { T *allocated; T *aligned; int64_t offset; int64_t sizes[R];
//      int64_t strides[R]; }.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_PROGRAM_H
#define ST_RUNTIME_PROGRAM_H

#include "st/Runtime/Status.h"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace st {
namespace rt {

/// A compiled entry point in packed form.
using PackedFunction = void (*)(void **);

/// Collects the arguments of one call as memref descriptors. The pack owns
/// the descriptors; the buffers stay owned by the caller.
class ArgumentPack {
public:
  /// Appends a dense row-major buffer of the given shape (rank 0 allowed).
  void add(void *data, const std::vector<int64_t> &shape);
  /// The `void **` array the packed function expects.
  void **data();
  size_t size() const { return descriptors.size(); }

private:
  /// One descriptor per argument, as 64-bit words (pointers are 64-bit on
  /// every target we run on). A deque keeps element addresses stable.
  std::deque<std::vector<int64_t>> descriptors;
  std::vector<void *> descriptorPtrs;
  std::vector<void *> argPtrs;
};

/// How a parameter starts.
enum class InitKind { Normal, Zeros, Ones };

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  InitKind init = InitKind::Zeros;
  double std = 0.0;

  int64_t numElements() const;
};

/// The model's parameters in declaration order, as fp32 host buffers.
class SafetensorsFile;

class ParamStore {
public:
  explicit ParamStore(std::vector<ParamSpec> specs);

  const std::vector<ParamSpec> &getSpecs() const { return specs; }
  size_t size() const { return specs.size(); }
  float *data(size_t i) { return values[i].data(); }
  const float *data(size_t i) const { return values[i].data(); }
  int64_t numParameters() const;

  /// Initialises every parameter from its spec. Normal values come from
  /// Philox keyed by (seed, FNV-1a of the name), so a parameter's initial
  /// values depend only on the seed and its name.
  void initialize(uint64_t seed);

  /// Loads every parameter from a safetensors checkpoint; each must exist
  /// with dtype F32 and exactly the declared shape.
  Status load(const std::string &path);
  /// The same from a checkpoint already read (so that a caller that also
  /// needs its metadata reads the file once).
  Status load(const SafetensorsFile &file);

  /// Appends every parameter to `pack` in declaration order.
  void addTo(ArgumentPack &pack);

private:
  std::vector<ParamSpec> specs;
  std::vector<std::vector<float>> values;
};

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_PROGRAM_H
