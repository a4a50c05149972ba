//===- Views.h - How a GPU kernel walks one attention part ------*- C++ -*-===//
//
// A GPU attention kernel tiles a *view* of the sequence: query tiles of 64
// consecutive view rows and key tiles of 64 consecutive view keys. Which
// original positions a view index stands for is the structure of the part:
//  - Identity: view index = position (bands, own blocks, dense causal);
//  - Residue(L): the positions c, c + L, c + 2L, ... of one residue class c
//    (the strided column: dense shifted-causal attention on this view, with
//    no transposed copy -- the kernel addresses rows with stride L);
//  - Compact(L, lo, w): the summary positions, in order (fixed summaries:
//    a dense prefix over gathered keys).
// Parts that share their driving view (the query view for the forward and
// dQ kernels, the key view for the dK/dV kernel) are fused into one kernel
// with one online-softmax state; different views chain through f32
// scratch (docs/gpu-kernel-abi.md).
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_VIEWS_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_VIEWS_H

#include "st/Layout/Layout.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace st {
namespace gpu_attention {

enum class ViewKind { Identity, Residue, Compact };

struct View {
  ViewKind kind = ViewKind::Identity;
  /// Residue and Compact: the pattern's stride L.
  int64_t stride = 1;
  /// Compact: the summary window [lo, lo + width) inside every block.
  int64_t lo = 0;
  int64_t width = 0;

  bool operator==(const View &o) const {
    return kind == o.kind && stride == o.stride && lo == o.lo &&
           width == o.width;
  }
  bool operator!=(const View &o) const { return !(*this == o); }
  /// True when every position is some view index (scratch it writes
  /// covers the whole sequence).
  bool coversAll() const { return kind != ViewKind::Compact; }
  /// The position of view index x + r minus that of x, for r >= 0 and, in
  /// a compact view, x at the start of a window (x % width == 0).
  int64_t positionOffset(int64_t r) const;
  std::string str() const;
};

/// One disjoint part of a pattern as a GPU kernel sees it.
struct GpuPart {
  /// The part's factor in original coordinates, and the factors whose
  /// positions it must skip (masked).
  layout::Factor factor;
  std::vector<layout::Factor> excluded;
  /// The same factor in view coordinates, with an exact row interval
  /// (a Residue(L) column of minimum distance d becomes column(1, ceil(d/L))).
  layout::Factor viewFactor;
  /// Keys are compact summary positions.
  bool compact = false;
  View queryView;
  View keyView;

  /// The same part of a pattern (the rest derives from these).
  bool sameAs(const GpuPart &o) const {
    return factor == o.factor && excluded == o.excluded;
  }
};

/// The GPU parts of `pattern`, in the order of Pattern::disjointParts.
std::vector<GpuPart> gpuParts(const layout::Pattern &pattern);

/// Parts grouped into kernels by `key` (query view or key view), in order of
/// first appearance, views that cover every position first: the first
/// kernel of a chain starts every row's scratch, and a kernel followed only
/// by compact views stores the rows that none of them holds as the final
/// result (emitDkv), so no kernel has to zero the scratch first.
std::vector<std::vector<GpuPart>>
groupParts(const std::vector<GpuPart> &parts, bool byKeyView);

/// Fixed's dK/dV pair cut by key instead of by part (whole-summary-keys):
/// where the key groups `bwd` (groupParts by key view) are one own-block
/// part, Block(L), and one part of earlier blocks' summaries, Summary(L,
/// lo, hi, earlierOnly), neither with exclusions, returns (the summary
/// keys' whole columns, Summary(L, lo, hi); the own-block part with those
/// columns excluded). Each key's dK/dV is then one part's, so no chain
/// joins the two kernels. Otherwise nothing.
std::optional<std::pair<GpuPart, GpuPart>>
wholeSummaryKeyParts(const std::vector<std::vector<GpuPart>> &bwd);

} // namespace gpu_attention
} // namespace st

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_VIEWS_H
