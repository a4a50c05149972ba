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
// st.attention_grad is decomposed the same way: the parts of a union are
// disjoint and share the global log-sum-exp and D = rowsum(dout * out)
// (computed once), so its gradient is the sum of one
// st.attention_part_grad per part, each mapped back from its view (inverse
// transpose for columns, scatter to the summary positions for compact
// summaries). No n x n tensor is created.
//
//===----------------------------------------------------------------------===//

#include "st/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/Builders.h"

#include <optional>

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

/// Shape plumbing shared by the forward and backward decompositions: head
/// slices, padding, the transposed column view and the summary gather, each
/// with its inverse.
class ShapeBuilder {
protected:
  ShapeBuilder(Operation *op) : b(op), loc(op->getLoc()) {}

  SmallVector<OpFoldResult> sizesOf(Value t) {
    return tensor::getMixedSizes(b, loc, t);
  }

  Value emptyLike(Value t, Type elt = {}) {
    auto type = cast<RankedTensorType>(t.getType());
    return tensor::EmptyOp::create(b, loc, sizesOf(t),
                                   elt ? elt : type.getElementType());
  }

  Value zerosLike(ArrayRef<OpFoldResult> sizes, Type elt) {
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elt));
    Value empty = tensor::EmptyOp::create(b, loc, sizes, elt);
    return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  }

  /// Heads [first, first + count * step) with stride `step` of a rank-3
  /// ([B, H, N]) or rank-4 ([B, H, N, D]) tensor.
  Value headSlice(Value t, int64_t first, int64_t count, int64_t step) {
    auto type = cast<RankedTensorType>(t.getType());
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> sizes = sizesOf(t);
    sizes[1] = b.getIndexAttr(count);
    SmallVector<int64_t> shape(type.getShape());
    shape[1] = count;
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
    offsets[1] = b.getIndexAttr(first);
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    strides[1] = b.getIndexAttr(step);
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), t, offsets,
        sizes, strides);
  }

  /// The inverse of headSlice: inserts `part` into `into`.
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

  /// [B, H, N(, D)] -> [B, H * L, M, (D)] with M = ceil(N / L): position
  /// i = a * L + r becomes row a of residue class r (zero padded).
  Value toColumnView(Value t, int64_t l) {
    auto type = cast<RankedTensorType>(t.getType());
    int64_t rank = type.getRank();
    int64_t n = type.getDimSize(2), m = (n + l - 1) / l;
    SmallVector<int64_t> shape(type.getShape());
    shape[2] = m;
    shape.insert(shape.begin() + 3, l);
    SmallVector<ReassociationIndices> split = {{0}, {1}, {2, 3}};
    SmallVector<int64_t> perm = {0, 1, 3, 2};
    SmallVector<ReassociationIndices> merge = {{0}, {1, 2}, {3}};
    if (rank == 4) {
      split.push_back({4});
      perm.push_back(4);
      merge.push_back({4});
    }
    t = expand(padSequence(t, m * l), shape, split);
    return collapse(transpose(t, perm), merge);
  }

  /// The inverse of toColumnView, truncated to the original length `n`.
  Value fromColumnView(Value t, int64_t l, int64_t n) {
    auto type = cast<RankedTensorType>(t.getType());
    int64_t rank = type.getRank();
    SmallVector<int64_t> shape(type.getShape());
    shape[1] = ShapedType::isDynamic(shape[1]) ? shape[1] : shape[1] / l;
    shape.insert(shape.begin() + 2, l);
    SmallVector<ReassociationIndices> split = {{0}, {1, 2}, {3}};
    SmallVector<int64_t> perm = {0, 1, 3, 2};
    SmallVector<ReassociationIndices> merge = {{0}, {1}, {2, 3}};
    if (rank == 4) {
      split.push_back({4});
      perm.push_back(4);
      merge.push_back({4});
    }
    t = collapse(transpose(expand(t, shape, split), perm), merge);
    return truncateSequence(t, n);
  }

  /// The keys of Summary(L, lo, hi) of [B, H, N, D], gathered in order into
  /// [B, H, M * (hi - lo), D] with M = ceil(N / L).
  Value gatherSummary(Value t, const lay::Factor &summary) {
    auto type = cast<RankedTensorType>(t.getType());
    int64_t bsz = type.getDimSize(0), h = type.getDimSize(1),
            n = type.getDimSize(2), d = type.getDimSize(3);
    int64_t l = summary.getPeriod(), w = summary.getHi() - summary.getLo();
    int64_t m = (n + l - 1) / l;
    t = padSequence(t, m * l);
    t = expand(t, {bsz, h, m, l, d}, {{0}, {1}, {2, 3}, {4}});
    SmallVector<OpFoldResult> sizes = sizesOf(t);
    sizes[3] = b.getIndexAttr(w);
    SmallVector<OpFoldResult> offsets(5, b.getIndexAttr(0));
    offsets[3] = b.getIndexAttr(summary.getLo());
    SmallVector<OpFoldResult> strides(5, b.getIndexAttr(1));
    t = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({bsz, h, m, w, d}, type.getElementType()),
        t, offsets, sizes, strides);
    return collapse(t, {{0}, {1}, {2, 3}, {4}});
  }

  /// The inverse of gatherSummary (its adjoint): the compact rows go back to
  /// their summary positions of a zero [B, H, N, D] tensor.
  Value scatterSummary(Value t, const lay::Factor &summary, int64_t n) {
    auto type = cast<RankedTensorType>(t.getType());
    int64_t bsz = type.getDimSize(0), h = type.getDimSize(1),
            d = type.getDimSize(3);
    int64_t l = summary.getPeriod(), w = summary.getHi() - summary.getLo();
    int64_t m = (n + l - 1) / l;
    t = expand(t, {bsz, h, m, w, d}, {{0}, {1}, {2, 3}, {4}});
    SmallVector<OpFoldResult> sizes = sizesOf(t);
    SmallVector<OpFoldResult> fullSizes = sizes;
    fullSizes[3] = b.getIndexAttr(l);
    Value full = zerosLike(fullSizes, type.getElementType());
    SmallVector<OpFoldResult> offsets(5, b.getIndexAttr(0));
    offsets[3] = b.getIndexAttr(summary.getLo());
    SmallVector<OpFoldResult> strides(5, b.getIndexAttr(1));
    full = tensor::InsertSliceOp::create(b, loc, t, full, offsets, sizes,
                                         strides);
    return truncateSequence(collapse(full, {{0}, {1}, {2, 3}, {4}}), n);
  }

  SmallVector<Attribute> factorAttrs(ArrayRef<lay::Factor> factors) {
    SmallVector<Attribute> attrs;
    for (const lay::Factor &f : factors)
      attrs.push_back(getFactorAttr(b.getContext(), f));
    return attrs;
  }

  /// True when part `p` becomes shifted causal attention over the
  /// transposed column view.
  static bool isTransposedColumn(const lay::Pattern::Part &p) {
    return p.excluded.empty() &&
           p.factor.getKind() == lay::FactorKind::Column &&
           p.factor.getPeriod() > 1;
  }

  /// True when part `p` attends its summary keys as a compact prefix.
  static bool isCompactSummary(const lay::Pattern::Part &p) {
    return p.excluded.empty() && p.factor.getKind() == lay::FactorKind::Summary;
  }

  /// Column(L, d0) is Column(1, ceil(d0 / L)) over the transposed view:
  /// (i - j) mod L == 0 says j is in i's residue class, and i - j >= d0
  /// says j is at least ceil(d0 / L) rows earlier in it. Padding keys sit
  /// after every real query of their class, so causality keeps them out.
  static lay::Factor transposedFactor(const lay::Factor &column) {
    int64_t l = column.getPeriod();
    return lay::Factor::column(1, (column.getMinDistance() + l - 1) / l);
  }

  OpBuilder b;
  Location loc;
};

//===----------------------------------------------------------------------===//
// Forward
//===----------------------------------------------------------------------===//

struct PartResult {
  Value out, lse;
};

class AttentionDecomposer : public ShapeBuilder {
public:
  AttentionDecomposer(AttentionOp op) : ShapeBuilder(op), op(op) {}

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
  PartResult part(Value q, Value k, Value v, const lay::Factor &factor,
                  ArrayRef<lay::Factor> excluded, bool compact) {
    auto qType = cast<RankedTensorType>(q.getType());
    SmallVector<int64_t> lseShape(qType.getShape().take_front(3));
    auto lseType = RankedTensorType::get(lseShape, b.getF32Type());
    auto partOp = AttentionPartOp::create(
        b, loc, qType, lseType, q, k, v,
        getFactorAttr(b.getContext(), factor),
        b.getArrayAttr(factorAttrs(excluded)),
        b.getF64FloatAttr(op.getScaleValue()),
        compact ? b.getUnitAttr() : UnitAttr());
    return {partOp.getOut(), partOp.getLse()};
  }

  /// Column(L, d0) over [B, H, N, D] as Column(1, ceil(d0 / L)) over the
  /// transposed view [B, H * L, N / L, D].
  PartResult transposedColumn(Value q, Value k, Value v,
                              const lay::Factor &column) {
    int64_t n = cast<RankedTensorType>(q.getType()).getDimSize(2);
    int64_t l = column.getPeriod();
    PartResult r = part(toColumnView(q, l), toColumnView(k, l),
                        toColumnView(v, l), transposedFactor(column), {},
                        false);
    return {fromColumnView(r.out, l, n), fromColumnView(r.lse, l, n)};
  }

  /// Summary(L, lo, hi) keys gathered into [B, H, (N / L) * (hi - lo), D].
  PartResult compactSummary(Value q, Value k, Value v,
                            const lay::Factor &summary) {
    return part(q, gatherSummary(k, summary), gatherSummary(v, summary),
                summary, {}, /*compact=*/true);
  }

  /// The attention of one head group and its log-sum-exp.
  std::pair<Value, Value> lowerPattern(Value q, Value k, Value v,
                                       const lay::Pattern &pattern) {
    SmallVector<Value> outs, lses;
    for (const lay::Pattern::Part &p : pattern.disjointParts()) {
      PartResult r;
      if (isTransposedColumn(p))
        r = transposedColumn(q, k, v, p.factor);
      else if (isCompactSummary(p))
        r = compactSummary(q, k, v, p.factor);
      else
        r = part(q, k, v, p.factor, p.excluded, false);
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
};

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

/// One part's (or head group's) dq, dk, dv.
struct Grads {
  Value dq, dk, dv;
};

/// The operands every gradient part reads, in one head group's (or one
/// view's) coordinates.
struct GradInputs {
  Value q, k, v, lse, delta, dout;
};

class AttentionGradDecomposer : public ShapeBuilder {
public:
  AttentionGradDecomposer(AttentionGradOp op) : ShapeBuilder(op), op(op) {}

  void run() {
    lay::Layout layout = op.getLayout().getLayout();
    auto type = op.getQuery().getType();
    int64_t heads = type.getDimSize(1);
    int64_t groups = std::min<int64_t>(layout.getCycleLength(), heads);
    GradInputs in{op.getQuery(), op.getKey(),   op.getValue(),
                  op.getLse(),   rowDot(op.getDout(), op.getOut()),
                  op.getDout()};
    Grads result;
    if (groups == 1) {
      result = lowerPattern(in, layout.forHead(0));
    } else {
      result = {emptyLike(in.q), emptyLike(in.k), emptyLike(in.v)};
      for (int64_t g = 0; g < groups; ++g) {
        int64_t count = (heads - g + groups - 1) / groups;
        auto slice = [&](Value t) { return headSlice(t, g, count, groups); };
        GradInputs gin{slice(in.q),   slice(in.k),     slice(in.v),
                       slice(in.lse), slice(in.delta), slice(in.dout)};
        Grads r = lowerPattern(gin, layout.forHead(g));
        result.dq = insertHeads(r.dq, result.dq, g, count, groups);
        result.dk = insertHeads(r.dk, result.dk, g, count, groups);
        result.dv = insertHeads(r.dv, result.dv, g, count, groups);
      }
    }
    op.getDquery().replaceAllUsesWith(result.dq);
    op.getDkey().replaceAllUsesWith(result.dk);
    op.getDvalue().replaceAllUsesWith(result.dv);
    op.erase();
  }

private:
  /// D = rowsum(dout * out) as [B, H, N] f32, computed once for every part.
  Value rowDot(Value dout, Value out) {
    auto type = cast<RankedTensorType>(dout.getType());
    Type f32 = b.getF32Type();
    Value init = zerosLike(ArrayRef(sizesOf(dout)).take_front(3), f32);
    MLIRContext *ctx = b.getContext();
    AffineMap full = AffineMap::getMultiDimIdentityMap(4, ctx);
    AffineMap rows = AffineMap::get(
        4, 0,
        {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx),
         getAffineDimExpr(2, ctx)},
        ctx);
    SmallVector<utils::IteratorType> iterators(3,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    Type elt = type.getElementType();
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{dout, out},
        ValueRange{init}, ArrayRef<AffineMap>{full, full, rows}, iterators,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value x = args[0], y = args[1];
          if (elt.getIntOrFloatBitWidth() < 32) {
            x = arith::ExtFOp::create(nb, nloc, f32, x);
            y = arith::ExtFOp::create(nb, nloc, f32, y);
          }
          Value prod = arith::MulFOp::create(nb, nloc, x, y);
          if (elt.getIntOrFloatBitWidth() > 32)
            prod = arith::TruncFOp::create(nb, nloc, f32, prod);
          linalg::YieldOp::create(
              nb, nloc, ValueRange{arith::AddFOp::create(nb, nloc, args[2],
                                                         prod)});
        });
    return generic.getResult(0);
  }

  Grads part(const GradInputs &in, const lay::Factor &factor,
             ArrayRef<lay::Factor> excluded, bool compact) {
    auto partOp = AttentionPartGradOp::create(
        b, loc, in.q.getType(), in.k.getType(), in.v.getType(), in.q, in.k,
        in.v, in.lse, in.delta, in.dout, getFactorAttr(b.getContext(), factor),
        b.getArrayAttr(factorAttrs(excluded)),
        b.getF64FloatAttr(op.getScale().convertToDouble()),
        compact ? b.getUnitAttr() : UnitAttr());
    return {partOp.getDquery(), partOp.getDkey(), partOp.getDvalue()};
  }

  /// Column(L, d0) over the transposed view, as in the forward pass; lse, D
  /// and dout are transposed with q, and every gradient comes back through
  /// the inverse view. Padded rows have zero dout and D, so they contribute
  /// nothing.
  Grads transposedColumn(const GradInputs &in, const lay::Factor &column) {
    int64_t n = cast<RankedTensorType>(in.q.getType()).getDimSize(2);
    int64_t l = column.getPeriod();
    auto view = [&](Value t) { return toColumnView(t, l); };
    GradInputs cin{view(in.q),   view(in.k),     view(in.v),
                   view(in.lse), view(in.delta), view(in.dout)};
    Grads r = part(cin, transposedFactor(column), {}, false);
    return {fromColumnView(r.dq, l, n), fromColumnView(r.dk, l, n),
            fromColumnView(r.dv, l, n)};
  }

  /// Summary keys gathered as in the forward pass; their gradients are
  /// scattered back to the summary positions.
  Grads compactSummary(const GradInputs &in, const lay::Factor &summary) {
    int64_t n = cast<RankedTensorType>(in.k.getType()).getDimSize(2);
    GradInputs cin = in;
    cin.k = gatherSummary(in.k, summary);
    cin.v = gatherSummary(in.v, summary);
    Grads r = part(cin, summary, {}, /*compact=*/true);
    return {r.dq, scatterSummary(r.dk, summary, n),
            scatterSummary(r.dv, summary, n)};
  }

  /// The gradient of one head group: the sum of its disjoint parts'.
  Grads lowerPattern(const GradInputs &in, const lay::Pattern &pattern) {
    std::optional<Grads> sum;
    for (const lay::Pattern::Part &p : pattern.disjointParts()) {
      Grads r;
      if (isTransposedColumn(p))
        r = transposedColumn(in, p.factor);
      else if (isCompactSummary(p))
        r = compactSummary(in, p.factor);
      else
        r = part(in, p.factor, p.excluded, false);
      if (!sum) {
        sum = r;
        continue;
      }
      sum->dq = arith::AddFOp::create(b, loc, sum->dq, r.dq);
      sum->dk = arith::AddFOp::create(b, loc, sum->dk, r.dk);
      sum->dv = arith::AddFOp::create(b, loc, sum->dv, r.dv);
    }
    if (!sum) {
      // A pattern without factors attends nothing: every gradient is 0.
      auto zeros = [&](Value t) {
        return zerosLike(sizesOf(t),
                         cast<RankedTensorType>(t.getType()).getElementType());
      };
      return {zeros(in.q), zeros(in.k), zeros(in.v)};
    }
    return *sum;
  }

  AttentionGradOp op;
};

struct DecomposeAttentionPass
    : public mlir::st::impl::StDecomposeAttentionBase<DecomposeAttentionPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<AttentionOp, AttentionGradOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      auto type = cast<RankedTensorType>(op->getOperand(0).getType());
      if (type.isDynamicDim(1) || type.isDynamicDim(2) ||
          type.isDynamicDim(3)) {
        op->emitOpError() << "structure-aware lowering needs static heads, "
                             "length and head dim";
        return signalPassFailure();
      }
      if (auto fwd = dyn_cast<AttentionOp>(op))
        AttentionDecomposer(fwd).run();
      else
        AttentionGradDecomposer(cast<AttentionGradOp>(op)).run();
    }
  }
};

} // namespace
