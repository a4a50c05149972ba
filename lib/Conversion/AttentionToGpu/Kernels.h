//===- Kernels.h - The attention kernels' bodies ----------------*- C++ -*-===//
//
// The kernels that the pass (Schedule.h) emits, each over a KernelEmitter
// after begin() and headMapping(): the forward (ForwardKernel.cpp), dQ
// and dK/dV (BackwardKernels.cpp), and the span-ordered pair of a pass
// (SpanOrder.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELS_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELS_H

#include "KernelEmitter.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

/// Forward (O and lse) of one group of parts sharing a query view; `first`
/// and `last` say whether it starts or ends the f32 chain through o_acc.
void emitForward(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
                 bool last);

/// A span-ordered kernel (SpanOrder.cpp): one kernel for a chain of two
/// kernels of a pass, `band` (emits the kernel body over an identity
/// view; it starts the chain) and `columns` (over residue classes of
/// `stride`; it finishes the chain): the forward, dQ or dK/dV. Blocks take
/// tickets that name band tiles and column tiles in span order, `lag`
/// spans of band tiles ahead of the column tiles that read their chain
/// rows, so that those rows are read from L2; with `discard` the column
/// tiles then discard those rows' L2 lines (KernelEmitter::discardChain).
/// Needs begin() with ticketSlot, and the zeroed scratch `flagsName` as an
/// argument (a ticket counter, then a flag a span a head).
void emitSpanOrdered(KernelEmitter &k, int64_t stride, int64_t lag,
                     bool discard, StringRef flagsName,
                     function_ref<void()> band, function_ref<void()> columns);
/// The mixed dK/dV kernel (SpanOrder.cpp, "Mixed"): fixed's two dK/dV
/// kernels as one, `own` (emits the body over the identity key view of
/// the own blocks; it starts the chain of the summary keys) and
/// `summaries` (over the compact key view `summaryView`; it finishes the
/// chain). Blocks take tickets that name own-block and summary tiles
/// mixed in each head, so that the own blocks' dK/dV, bound by DRAM,
/// run beside the summaries', bound by the tensor cores, and read the
/// head's Q, K, V and dO while the summaries' tiles have them in L2.
/// Needs begin() with ticketSlot, and the zeroed scratch `flagsName` as an
/// argument (a ticket counter, then a flag an own-block tile a head).
void emitMixedDkv(KernelEmitter &k, const ga::View &summaryView,
                  StringRef flagsName, function_ref<void()> own,
                  function_ref<void()> summaries);
/// The paired column backward (paired-backward; SpanOrder.cpp, "Paired"):
/// the last dQ kernel and the last dK/dV kernel of one residue part as
/// one kernel, `dq` (emits the dQ body over the query view) and `dkv` (the
/// dK/dV body over the key view, the same classes). Block 2 i + 1 takes
/// the dK/dV tile that block i of the dK/dV kernel would, block 2 i the
/// dQ tile of block i of the dQ kernel, so that both kinds of tile of a
/// class run together and read its Q, K, V and dO from DRAM once. The
/// launch's grid is twice the view's (Manifest.h, gridX). Neither body
/// waits for the other: the statistics they read (delta, lse2) and the
/// chains they finish were written by earlier kernels.
void emitPairedTiles(KernelEmitter &k, function_ref<void()> dq,
                     function_ref<void()> dkv);
/// The dK/dV that a split dQ kernel computes for the key group `parts`
/// (dq-own-block-dkv): blocks inside its 128 query rows, which it walks
/// last; `later` are the key views of the dK/dV kernels after it (as
/// emitDkv's).
struct OwnBlockDkv {
  ArrayRef<ga::GpuPart> parts;
  ArrayRef<ga::View> later;
};
/// dQ for one group of parts sharing a query view; with `own`, also the
/// dK and dV of its keys (the parts in `own` must come last in `parts`).
void emitDq(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
            bool last, const OwnBlockDkv *own = nullptr);
/// dK and dV for one group of parts sharing a key view, followed in the
/// chain by kernels over the key views `later` (none: it ends the chain).
/// A key row that no later view holds ends here: it is stored as the final
/// dK, dV; the others go to the chain. Key rows of the views `elsewhere`
/// are not stored at all: another kernel, not chained to this one, takes
/// their whole columns (whole-summary-keys).
void emitDkv(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
             ArrayRef<ga::View> later, ArrayRef<ga::View> elsewhere = {});

/// The backward of a band part (identity views, a bounded window: strided's
/// band, local) as one kernel (band-backward; docs/gpu.md, "The band's
/// backward as one kernel"): a block takes `segment` key tiles of 64 keys,
/// walks them from the last with dK, dV in registers, adds each pair's dS
/// K into a dQ carry in shared memory (k.bandCarrySlots of them: one fewer
/// than the query tiles a key tile meets, walked from the last), and ends
/// with the halo key tiles before its
/// first, for its own query tiles' dQ; it also computes delta and lse2.
/// dQ goes to the chain dq_acc (or, `lastDq`, is final); dK and dV as
/// emitDkv's with `later`.
void emitBandBackward(KernelEmitter &k, const ga::GpuPart &part,
                      int64_t segment, bool lastDq, ArrayRef<ga::View> later);
/// The dQ carries of emitBandBackward (KernelEmitter::bandCarrySlots and
/// bandCarryHalf).
struct BandCarries {
  /// One fewer than the query tiles a key tile meets, floor((w + 62) /
  /// 64) + 1 for a band of width w; 0: no fused kernel.
  int64_t slots = 0;
  /// f16 carries and one stage of Q and dO.
  bool half = false;
};
/// The carries for `part` at head dim `d` and element type `elt`: none
/// where the part is no such band (identity views, no exclusions, a
/// bounded window) or the kernel's shared memory would not fit. f32
/// carries with two stages where two blocks fit an SM (d = 64), else f16
/// carries with one stage where those do (d = 128: 109.5 KiB against 170),
/// else f32 with two stages, one block an SM.
BandCarries bandBackwardCarries(const ga::GpuPart &part, int64_t d, Type elt);

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELS_H
