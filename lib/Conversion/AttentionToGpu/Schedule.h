//===- Schedule.h - One attention's kernels and launch schedule -*- C++ -*-===//
//
// The pass (AttentionToGpu.cpp) lowers each `st.attention` through an
// EntrySchedule: it emits the op's kernels into one gpu.module and builds
// the op's entry of the manifest (docs/gpu-kernel-abi.md): the forward's
// and the backward's launches, in order, with their streams and waits,
// and the scratch buffers they share (the chains, delta, lse2).
//
// A layout's head group h (one pattern of the head cycle) gives one kernel
// per query view for the forward and for dQ and one per key view for
// dK/dV, chained where a pass has several views (KernelEmitter.h, "the
// chain"); the options fuse or split some of them (the span-ordered pairs,
// fixed's mixed and whole-summary-key dK/dV, the fused band backward, the
// producer splits). Each such choice is one method below; those that give
// two kernels' tiles one launch are in ScheduleJoined.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_SCHEDULE_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_SCHEDULE_H

#include "st/Conversion/Passes.h"
#include "st/Dialect/StDialect.h"

#include "KernelEmitter.h"
#include "Kernels.h"

#include "llvm/Support/JSON.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

/// A kernel's buffers, in argument order: name and element type.
using Buffers = SmallVector<std::pair<StringRef, Type>>;

class EntrySchedule {
public:
  EntrySchedule(const ConvertStAttentionToGpuOptions &options, AttentionOp op,
                StringRef name);

  /// Emits the kernels of the op and appends its manifest entry to
  /// `entries`; fails with a diagnostic on the op where the options or the
  /// layout cannot be lowered.
  LogicalResult lower(llvm::json::Array &entries);

private:
  /// The ranges the options must lie in, checked before anything is
  /// emitted.
  LogicalResult checkOptions();
  /// Head group h: its forward, dQ and dK/dV kernels.
  LogicalResult lowerHead();

  /// One staged kernel of the current head group over `bufs` (then N, H),
  /// driven by `view`, appended to `list` (see the definition).
  void addKernel(StringRef kind, ArrayRef<std::pair<StringRef, Type>> bufs,
                 bool rowStats, const ga::View &view, bool reversedHeads,
                 bool split, llvm::json::Array &list,
                 function_ref<void(KernelEmitter &)> emit,
                 StringRef variant = "", bool tickets = false);
  /// A ticketed launch's flags: the buffer and its zeroed scratch (see
  /// the definition).
  void addTicketFlags(Buffers &bufs, StringRef name, llvm::json::Value perHead);
  /// The span-ordered kernel of a band body and a column body (see the
  /// definition).
  void addSpanKernel(StringRef kind, Buffers bufs, bool rowStats,
                     const ga::View &view, llvm::json::Array &list,
                     StringRef flags, int64_t stride, int64_t lag,
                     function_ref<void(KernelEmitter &)> band,
                     function_ref<void(KernelEmitter &)> columns);
  /// The band group's index and the columns' stride, where `groups` (by
  /// query view, or by key view) are a span-ordered pair.
  std::optional<std::pair<size_t, int64_t>>
  spanPair(ArrayRef<std::vector<ga::GpuPart>> groups, bool byKeyView,
           int64_t producerOption) const;
  /// Whether `group`'s kernel takes the producer split under `option`.
  bool splits(int64_t option, ArrayRef<ga::GpuPart> group) const;
  /// Whether `group` has a residue view whose statistics have class-major
  /// copies (classStride).
  bool byClass(ArrayRef<ga::GpuPart> group) const;
  /// The buffers of every dK/dV kernel (the chains' come after).
  Buffers dkvBuffers() const;
  /// Appends chain `name` (and its row scales) to `bufs`.
  void addChain(Buffers &bufs, StringRef name) const;
  /// The scratch entry of chain `name` (and its row scales).
  void addChainScratch(StringRef name);

  /// The buffers of a kernel that is both the first dQ and the first
  /// dK/dV kernel of the head group (see the definition).
  Buffers firstBackwardBuffers(bool lastDq);
  /// The head group's forward kernels.
  void forwardKernels();
  /// dQ, with the fused band backward where it applies: the kernels and
  /// the indices of the launches the dK/dV kernels wait for.
  void dqKernels();
  /// dK/dV: one of the fused pairs where the options take it, else the
  /// chain over the key views.
  void dkvKernels();
  bool spanDkvPair();
  bool mixedDkvPair();
  bool wholeSummaryKeyPair();
  void chainedDkv();
  /// paired-backward: the column part's dQ and dK/dV kernel as one
  /// (emitPairedTiles), on the second stream after the band's dK/dV.
  void pairedColumnKernel();

  const ConvertStAttentionToGpuOptions &opt;
  AttentionOp op;
  std::string name;
  OpBuilder b;
  Location loc;
  gpu::GPUModuleOp module;
  Type elt, f32;
  int64_t d;
  double scale;
  bool wgmma;
  lay::Layout layout;
  int64_t cycle;
  /// Kernels emitted so far (their names' suffix).
  int64_t counter = 0;
  llvm::json::Array forward, backward, scratch;
  /// The chain between the kernels of a pass (KernelEmitter.h): f16 with
  /// row scales for 16-bit inputs, f32 for f32.
  Type chainType;
  bool scaled;
  bool needOacc = false, needDqAcc = false, needDkvAcc = false;
  /// paired-backward applies: the last dQ group and the last dK/dV group
  /// are one residue part, run as one kernel (pairedColumnKernel).
  bool pairColumns = false;
  /// With pairColumns and class-major statistics (classStride): the first
  /// dQ kernel (identity view) writes them
  /// (KernelEmitter::classStatsFromFirst).
  bool classFromFirst = false;
  /// The stride L of the residue classes whose statistics have
  /// class-major copies (0: none).
  int64_t classStride = 0;

  /// The current head group (lowerHead).
  int64_t h = 0;
  std::vector<std::vector<ga::GpuPart>> fwd, bwd;
  /// The dQ carries of the next kernel that addKernel emits, when it is
  /// the fused band backward (emitBandBackward).
  BandCarries bandCarries;
  /// The key views after the first key group: those whose kernels
  /// continue the chains that the first key group's dK/dV starts.
  SmallVector<ga::View> laterKeys;
  /// dq-own-block-dkv: the query group whose split dQ kernel computes the
  /// first key group's dK/dV (-1: none).
  int64_t ownDq = -1;
  /// The backward launch of the head group's first dQ kernel, of the one
  /// that writes the class-major statistics and of the one that computes
  /// the first key group's dK/dV (-1: none).
  int64_t firstDq = 0, classWriter = -1, ownWriter = -1;
};

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_SCHEDULE_H
