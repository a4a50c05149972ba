//===- Manifest.h - GPU attention kernel library manifests ------*- C++ -*-===//
//
// The runtime's reading of a kernel library's manifest.json (the contract is
// docs/gpu-kernel-abi.md): entries keyed by (layout, head_dim, dtype), each
// with its CUDA module, scratch buffers and the forward and backward launch
// sequences. Everything here is plain C++ with no CUDA dependency, so parsing,
// validation, size expressions and kernel argument packing are tested on
// machines without a GPU.
//
// A manifest is validated completely when it is parsed: every expression,
// every argument name and every launch shape. What can only be checked on the
// device (the module loads, the kernels exist) is checked when a plan opens
// the entry. Messages are one line and start with the manifest's path.
//
//===----------------------------------------------------------------------===//

#ifndef ST_CUDA_MANIFEST_H
#define ST_CUDA_MANIFEST_H

#include "st/Runtime/Status.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace st {
namespace cuda {

using rt::Expected;
using rt::Status;

/// Element type of the user tensors q, k, v, o, dout, dq, dk, dv.
enum class DType { BF16, F16, F32 };

/// The manifest's spelling: "bf16", "f16", "f32".
const char *dtypeName(DType dtype);
int64_t dtypeBytes(DType dtype);
/// The inverse of dtypeName; nullopt for anything else.
std::optional<DType> parseDType(std::string_view name);

/// The sizes of one call, as expressions see them.
struct Sizes {
  int64_t batch = 0;  ///< B
  int64_t heads = 0;  ///< H
  int64_t length = 0; ///< N
};

/// An integer expression over the call's sizes (the manifest's EXPR): an
/// integer, a variable (N, B, H, BH = B * H) or an operation on two
/// expressions. Evaluation checks for overflow and division by zero.
class Expr {
public:
  enum class Op { Constant, Variable, Add, Sub, Mul, CeilDiv, Min, Max };
  enum class Var { N, B, H, BH };

  Expr() = default;
  static Expr constant(int64_t value);
  static Expr variable(Var var);
  static Expr binary(Op op, Expr lhs, Expr rhs);

  /// Parses the JSON text of one EXPR; `where` prefixes error messages.
  static Expected<Expr> parse(std::string_view jsonText,
                              const std::string &where = "expr");

  Expected<int64_t> evaluate(const Sizes &sizes) const;

  /// Infix form for messages, e.g. "ceildiv(N, 128)".
  std::string str() const;

  /// Whether the expression reads any size (false for a plain integer).
  bool isConstant() const;

private:
  struct Node {
    Op op = Op::Constant;
    int64_t value = 0; ///< Constant: the value; Variable: the Var.
    int32_t lhs = -1;  ///< Operations: node indices into `nodes`.
    int32_t rhs = -1;
  };
  /// Post-order: children before parents, the root last.
  std::vector<Node> nodes;

  Expected<int64_t> evaluateNode(int32_t index, const Sizes &sizes) const;
  std::string strNode(int32_t index) const;
};

/// What an argument name in a launch's `args` refers to.
enum class ArgKind {
  Q,
  K,
  V,
  O,
  Lse,
  Dout,
  Dq,
  Dk,
  Dv,      ///< user buffers
  Scratch, ///< a runtime-allocated buffer
  N,
  B,
  H,
  BH ///< sizes, one i64 each
};

struct Arg {
  ArgKind kind;
  /// ArgKind::Scratch: index into Entry::scratch.
  int32_t scratch = -1;
};

/// The name of a non-scratch argument kind ("q", "lse", "BH", ...).
const char *argKindName(ArgKind kind);

struct Scratch {
  std::string name;
  Expr bytes;
  /// Size of one element as the kernels see it; the descriptor's size
  /// parameter is bytes / elementBytes.
  int64_t elementBytes = 4;
  /// Whether the runtime sets the buffer to zero before each pass whose
  /// launches take it (synchronisation counters that the kernels count
  /// up from zero; every other scratch buffer is uninitialised).
  bool zeroed = false;
};

struct Launch {
  std::string kernel;
  std::array<Expr, 3> grid;
  std::array<int64_t, 3> block = {1, 1, 1};
  Expr sharedBytes;
  std::vector<Arg> args;
  /// The stream it runs on: 0 is the caller's, 1 a second one that the
  /// plan joins into the caller's before the pass returns. A pass's
  /// launches are listed in an order that is correct one after the other;
  /// `stream` and `waits` only allow overlap.
  int32_t stream = 0;
  /// Launches of the same pass, earlier in the list and on the other
  /// stream, that must complete before this one starts (launches on one
  /// stream run in list order).
  std::vector<int32_t> waits;
  /// The kernel waits for the previous kernel on its stream inside
  /// (griddepcontrol.wait) before it reads anything but the pass's inputs
  /// or writes anything, so it may be launched while that kernel runs
  /// (programmatic dependent launch; AttentionPlan decides when).
  bool earlyLaunch = false;
};

enum class Pass { Forward, Backward };

struct Entry {
  std::string layout;
  int64_t headDim = 0;
  DType dtype = DType::F32;
  /// File name relative to the library directory.
  std::string module;
  std::vector<Scratch> scratch;
  std::vector<Launch> forward;
  std::vector<Launch> backward;

  const std::vector<Launch> &launches(Pass pass) const {
    return pass == Pass::Forward ? forward : backward;
  }
  /// "(#st.strided<stride = 128>, head_dim 64, bf16)" for messages.
  std::string describe() const;
};

class Manifest {
public:
  /// Parses and validates manifest text; `source` (a path) starts every
  /// error message.
  static Expected<Manifest> parse(std::string_view text, std::string source);
  /// Reads and parses `<libraryDir>/manifest.json`.
  static Expected<Manifest> load(const std::string &libraryDir);

  const std::vector<Entry> &getEntries() const { return entries; }
  const std::string &getSource() const { return source; }

  /// The entry for (layout, headDim, dtype); the layout string must match
  /// exactly. The error lists what the library has.
  Expected<const Entry *> lookup(std::string_view layout, int64_t headDim,
                                 DType dtype) const;

private:
  std::string source;
  std::vector<Entry> entries;
};

//===----------------------------------------------------------------------===//
// Launch preparation (pure arithmetic; the device side is in Plan.h)
//===----------------------------------------------------------------------===//

/// Device addresses of one call's buffers; 0 where a pass has none (the
/// forward pass has no dout, dq, dk, dv).
struct Buffers {
  uint64_t q = 0, k = 0, v = 0, o = 0, lse = 0;
  uint64_t dout = 0, dq = 0, dk = 0, dv = 0;
  /// One address per Entry::scratch, in order.
  std::vector<uint64_t> scratch;
};

/// Checks the sizes of a call (positive, element counts fit in int64).
Status checkSizes(const Entry &entry, const Sizes &sizes);

/// Bytes of every scratch buffer for these sizes, in Entry::scratch order.
Expected<std::vector<int64_t>> scratchBytes(const Entry &entry,
                                            const Sizes &sizes);

/// Scratch buffers share one allocation; each starts at a multiple of this.
constexpr int64_t kScratchAlignment = 256;

/// Offsets of the scratch buffers inside one allocation and its total size.
struct ScratchLayout {
  std::vector<int64_t> offsets;
  int64_t totalBytes = 0;
};
Expected<ScratchLayout> layoutScratch(const std::vector<int64_t> &bytes);

/// Grid, block and dynamic shared memory of one launch for these sizes. A
/// grid with a dimension <= 0 means the launch has nothing to do at these
/// sizes and is skipped.
struct LaunchShape {
  std::array<int64_t, 3> grid;
  std::array<int64_t, 3> block;
  int64_t sharedBytes;
  bool isEmpty() const { return grid[0] <= 0 || grid[1] <= 0 || grid[2] <= 0; }
};
Expected<LaunchShape> evaluateShape(const Launch &launch, const Sizes &sizes);

/// The kernel's parameter values in order, 8 bytes each: every buffer as
/// the expanded memref<?xT> descriptor (allocated, aligned, offset 0, size in
/// elements, stride 1), every size as one i64. cuLaunchKernel gets pointers
/// to these values.
Expected<std::vector<uint64_t>> packArguments(const Entry &entry,
                                              const Launch &launch,
                                              const Sizes &sizes,
                                              const Buffers &buffers);

} // namespace cuda
} // namespace st

#endif // ST_CUDA_MANIFEST_H
