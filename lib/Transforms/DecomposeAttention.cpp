//===- DecomposeAttention.cpp - st.attention by structure -----------------===//
//
// Lowers every st.attention into parts that each have a dense, tileable
// structure, merged exactly by log-sum-exp:
//  - heads with different patterns (per-head layouts) are split into head
//    groups by a strided slice of the head dimension;
//  - each group's pattern is split into disjoint factor parts
//    (Pattern::disjointParts: the strided pattern's column starts beyond its
//    band, the fixed pattern's summaries skip the own block);
//  - a column of stride L becomes attention with stride 1 over the
//    transposed [L, N/L] view: dense causal attention per residue class;
//  - a summary factor gathers its summary keys into a compact sequence that
//    every query attends as a prefix;
//  - bands, own blocks and anything that needs an exclusion mask stay on
//    the original sequence (st.attention_part), to be tiled as banded or
//    masked loops by the next stage.
// No n x n tensor is created.
//
//===----------------------------------------------------------------------===//

#include "st/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STDECOMPOSEATTENTION
#include "st/Transforms/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;
namespace lay = ::st::layout;

namespace {

struct PartResult {
  Value out, lse;
};

class AttentionDecomposer {
public:
  AttentionDecomposer(AttentionOp op) : op(op), b(op), loc(op.getLoc()) {}

  void run() {
    lay::Layout layout = op.getLayout().getLayout();
    int64_t heads = op.getNumHeads();
    int64_t groups = std::min<int64_t>(layout.getCycleLength(), heads);
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    Value result, lse;
    if (groups == 1) {
      std::tie(result, lse) = lowerPattern(q, k, v, layout.forHead(0));
    } else {
      // Heads h = g (mod groups) share a pattern: slice them out with a
      // stride on the head dimension and put the results back the same way.
      result = emptyLike(q);
      if (op.getLse())
        lse = tensor::EmptyOp::create(b, loc,
                                      ArrayRef(sizesOf(q)).take_front(3),
                                      b.getF32Type());
      for (int64_t g = 0; g < groups; ++g) {
        int64_t count = (heads - g + groups - 1) / groups;
        Value qg = headSlice(q, g, count, groups);
        Value kg = headSlice(k, g, count, groups);
        Value vg = headSlice(v, g, count, groups);
        auto [og, lg] = lowerPattern(qg, kg, vg, layout.forHead(g));
        result = insertHeads(og, result, g, count, groups);
        if (lse)
          lse = insertHeads(lg, lse, g, count, groups);
      }
    }
    op.getResult().replaceAllUsesWith(result);
    if (op.getLse())
      op.getLse().replaceAllUsesWith(lse);
    op.erase();
  }

private:
  //===--------------------------------------------------------------------===//
  // Shapes
  //===--------------------------------------------------------------------===//

  SmallVector<OpFoldResult> sizesOf(Value t) {
    return tensor::getMixedSizes(b, loc, t);
  }

  Value emptyLike(Value t, Type elt = {}) {
    auto type = cast<RankedTensorType>(t.getType());
    return tensor::EmptyOp::create(b, loc, sizesOf(t),
                                   elt ? elt : type.getElementType());
  }

  Value headSlice(Value t, int64_t first, int64_t count, int64_t step) {
    auto type = cast<RankedTensorType>(t.getType());
    SmallVector<OpFoldResult> sizes = sizesOf(t);
    sizes[1] = b.getIndexAttr(count);
    SmallVector<int64_t> shape(type.getShape());
    shape[1] = count;
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0),
                                         b.getIndexAttr(first),
                                         b.getIndexAttr(0), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> strides = {b.getIndexAttr(1),
                                         b.getIndexAttr(step),
                                         b.getIndexAttr(1), b.getIndexAttr(1)};
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), t, offsets,
        sizes, strides);
  }

  /// Inserts heads [first, first + count * step) with stride `step` of a
  /// rank-3 (lse) or rank-4 (out) tensor.
  Value insertHeads(Value part, Value into, int64_t first, int64_t count,
                    int64_t step) {
    SmallVector<OpFoldResult> sizes = sizesOf(part);
    int64_t rank = sizes.size();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
    offsets[1] = b.getIndexAttr(first);
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    strides[1] = b.getIndexAttr(step);
    return tensor::InsertSliceOp::create(b, loc, part, into, offsets, sizes,
                                         strides);
  }

  /// Pads dimension 2 (the sequence) with zeros up to `padded`.
  Value padSequence(Value t, int64_t padded) {
    auto type = cast<RankedTensorType>(t.getType());
    int64_t n = type.getDimSize(2);
    if (n == padded)
      return t;
    SmallVector<int64_t> shape(type.getShape());
    shape[2] = padded;
    Value zero = arith::ConstantOp::create(
        b, loc, b.getZeroAttr(type.getElementType()));
    return tensor::createPadHighOp(
        RankedTensorType::get(shape, type.getElementType()), t, zero,
        /*nofold=*/false, loc, b);
  }

  /// [d0, ..., dk] -> reshaped by `reassociation` into `shape`.
  Value expand(Value t, ArrayRef<int64_t> shape,
               ArrayRef<ReassociationIndices> reassociation) {
    auto type = cast<RankedTensorType>(t.getType());
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), t,
        reassociation);
  }

  Value collapse(Value t, ArrayRef<ReassociationIndices> reassociation) {
    return tensor::CollapseShapeOp::create(b, loc, t, reassociation);
  }

  Value transpose(Value t, ArrayRef<int64_t> perm) {
    SmallVector<OpFoldResult> sizes = sizesOf(t);
    SmallVector<OpFoldResult> permuted;
    for (int64_t p : perm)
      permuted.push_back(sizes[p]);
    auto type = cast<RankedTensorType>(t.getType());
    Value init =
        tensor::EmptyOp::create(b, loc, permuted, type.getElementType());
    return linalg::TransposeOp::create(b, loc, t, init, perm)->getResult(0);
  }

  /// Keeps the first `n` positions of dimension 2.
  Value truncateSequence(Value t, int64_t n) {
    auto type = cast<RankedTensorType>(t.getType());
    if (type.getDimSize(2) == n)
      return t;
    SmallVector<OpFoldResult> sizes = sizesOf(t);
    sizes[2] = b.getIndexAttr(n);
    SmallVector<int64_t> shape(type.getShape());
    shape[2] = n;
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), t, offsets,
        sizes, strides);
  }

  //===--------------------------------------------------------------------===//
  // Parts
  //===--------------------------------------------------------------------===//

  PartResult part(Value q, Value k, Value v, const lay::Factor &factor,
                  ArrayRef<lay::Factor> excluded, bool compact) {
    auto qType = cast<RankedTensorType>(q.getType());
    SmallVector<int64_t> lseShape(qType.getShape().take_front(3));
    auto lseType = RankedTensorType::get(lseShape, b.getF32Type());
    SmallVector<Attribute> excludedAttrs;
    for (const lay::Factor &e : excluded)
      excludedAttrs.push_back(getFactorAttr(b.getContext(), e));
    auto partOp = AttentionPartOp::create(
        b, loc, qType, lseType, q, k, v,
        getFactorAttr(b.getContext(), factor), b.getArrayAttr(excludedAttrs),
        b.getF64FloatAttr(op.getScaleValue()),
        compact ? b.getUnitAttr() : UnitAttr());
    return {partOp.getOut(), partOp.getLse()};
  }

  /// Column(L, d0) over [B, H, N, D] as Column(1, ceil(d0 / L)) over the
  /// transposed view [B, H * L, N / L, D]: position i = a * L + r becomes
  /// row a of residue class r, and (i - j) mod L == 0 says j is in the same
  /// class. Padding keys sit after every real query of their class, so
  /// causality keeps them out.
  PartResult transposedColumn(Value q, Value k, Value v,
                              const lay::Factor &column) {
    auto type = cast<RankedTensorType>(q.getType());
    int64_t bsz = type.getDimSize(0), h = type.getDimSize(1),
            n = type.getDimSize(2), d = type.getDimSize(3);
    int64_t l = column.getPeriod();
    int64_t m = (n + l - 1) / l;
    int64_t from = (column.getMinDistance() + l - 1) / l;
    auto toColumns = [&](Value t) {
      t = padSequence(t, m * l);
      t = expand(t, {bsz, h, m, l, d}, {{0}, {1}, {2, 3}, {4}});
      t = transpose(t, {0, 1, 3, 2, 4});
      return collapse(t, {{0}, {1, 2}, {3}, {4}});
    };
    PartResult r = part(toColumns(q), toColumns(k), toColumns(v),
                        lay::Factor::column(1, from), {}, false);
    Value out = expand(r.out, {bsz, h, l, m, d}, {{0}, {1, 2}, {3}, {4}});
    out = transpose(out, {0, 1, 3, 2, 4});
    out = collapse(out, {{0}, {1}, {2, 3}, {4}});
    Value lse = expand(r.lse, {bsz, h, l, m}, {{0}, {1, 2}, {3}});
    lse = transpose(lse, {0, 1, 3, 2});
    lse = collapse(lse, {{0}, {1}, {2, 3}});
    return {truncateSequence(out, n), truncateSequence(lse, n)};
  }

  /// Summary(L, lo, hi) keys gathered into [B, H, (N / L) * (hi - lo), D].
  PartResult compactSummary(Value q, Value k, Value v,
                            const lay::Factor &summary) {
    auto type = cast<RankedTensorType>(k.getType());
    int64_t bsz = type.getDimSize(0), h = type.getDimSize(1),
            n = type.getDimSize(2), d = type.getDimSize(3);
    int64_t l = summary.getPeriod(), w = summary.getHi() - summary.getLo();
    int64_t m = (n + l - 1) / l;
    auto gather = [&](Value t) {
      t = padSequence(t, m * l);
      t = expand(t, {bsz, h, m, l, d}, {{0}, {1}, {2, 3}, {4}});
      SmallVector<OpFoldResult> sizes = sizesOf(t);
      sizes[3] = b.getIndexAttr(w);
      SmallVector<OpFoldResult> offsets(5, b.getIndexAttr(0));
      offsets[3] = b.getIndexAttr(summary.getLo());
      SmallVector<OpFoldResult> strides(5, b.getIndexAttr(1));
      t = tensor::ExtractSliceOp::create(
          b, loc,
          RankedTensorType::get({bsz, h, m, w, d}, type.getElementType()), t,
          offsets, sizes, strides);
      return collapse(t, {{0}, {1}, {2, 3}, {4}});
    };
    return part(q, gather(k), gather(v), summary, {}, /*compact=*/true);
  }

  /// The attention of one head group and its log-sum-exp.
  std::pair<Value, Value> lowerPattern(Value q, Value k, Value v,
                                       const lay::Pattern &pattern) {
    SmallVector<Value> outs, lses;
    for (const lay::Pattern::Part &p : pattern.disjointParts()) {
      PartResult r;
      const lay::Factor &f = p.factor;
      if (p.excluded.empty() && f.getKind() == lay::FactorKind::Column &&
          f.getPeriod() > 1)
        r = transposedColumn(q, k, v, f);
      else if (p.excluded.empty() && f.getKind() == lay::FactorKind::Summary)
        r = compactSummary(q, k, v, f);
      else
        r = part(q, k, v, f, p.excluded, false);
      outs.push_back(r.out);
      lses.push_back(r.lse);
    }
    if (outs.size() == 1)
      return {outs.front(), lses.front()};
    auto merge = AttentionMergeOp::create(b, loc, outs.front().getType(),
                                          lses.front().getType(), outs, lses);
    return {merge.getResult(), merge.getLse()};
  }

  AttentionOp op;
  OpBuilder b;
  Location loc;
};

struct DecomposeAttentionPass
    : public mlir::st::impl::StDecomposeAttentionBase<DecomposeAttentionPass> {
  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops) {
      if (ShapedType::isDynamic(op.getSeqLen()) ||
          ShapedType::isDynamic(op.getNumHeads()) ||
          ShapedType::isDynamic(op.getHeadDim())) {
        op.emitOpError() << "structure-aware lowering needs static heads, "
                            "length and head dim";
        return signalPassFailure();
      }
      AttentionDecomposer(op).run();
    }
  }
};

} // namespace
