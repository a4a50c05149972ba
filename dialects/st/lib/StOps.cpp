//===- StOps.cpp - Operations of the st dialect ---------------------------===//

#include "st/Dialect/StDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace mlir::st;

#define GET_OP_CLASSES
#include "st/Dialect/StOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shared by AttentionOp and AttentionRowOp
//===----------------------------------------------------------------------===//

/// The softmax scale: the op's `scale`, else 1 / sqrt(head_dim).
static double scaleValue(std::optional<llvm::APFloat> scale, int64_t headDim) {
  if (scale)
    return scale->convertToDouble();
  return 1.0 / std::sqrt(double(headDim));
}

/// The checks after the operand types': a positive `scale`, and the
/// layout's against the key length `n` where it is static.
static LogicalResult verifyScaleAndLayout(Operation *op,
                                          std::optional<llvm::APFloat> scale,
                                          LayoutAttrInterface layout,
                                          int64_t n) {
  if (scale && !(scale->convertToDouble() > 0.0))
    return op->emitOpError()
           << "scale must be positive, got " << scale->convertToDouble();
  if (ShapedType::isDynamic(n))
    return success();
  return layout.verifyForLength(n, [&] { return op->emitOpError(); });
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

double AttentionOp::getScaleValue() {
  return scaleValue(getScale(), getHeadDim());
}

LogicalResult AttentionOp::verify() {
  auto qType = getQuery().getType();
  if (qType.getRank() != 4)
    return emitOpError() << "expects tensors of rank 4 (batch, heads, length, "
                            "head_dim), got "
                         << qType;
  auto names = {"key", "value", "result"};
  auto types = {getKey().getType(), getValue().getType(),
                cast<RankedTensorType>(getResult().getType())};
  auto name = names.begin();
  for (RankedTensorType t : types) {
    if (t.getElementType() != qType.getElementType())
      return emitOpError() << *name << " element type " << t.getElementType()
                           << " differs from the query's "
                           << qType.getElementType();
    if (failed(verifyCompatibleShape(t.getShape(), qType.getShape())))
      return emitOpError() << *name << " shape " << t << " differs from the query's "
                           << qType;
    ++name;
  }
  if (Value lse = getLse()) {
    auto lseType = cast<RankedTensorType>(lse.getType());
    if (lseType.getRank() != 3 ||
        failed(verifyCompatibleShape(lseType.getShape(),
                                     qType.getShape().take_front(3))))
      return emitOpError() << "lse " << lseType << " is not [B, H, N] of "
                           << qType;
  }
  return verifyScaleAndLayout(*this, getScale(), getLayout(), getSeqLen());
}

//===----------------------------------------------------------------------===//
// AttentionRowOp
//===----------------------------------------------------------------------===//

double AttentionRowOp::getScaleValue() {
  return scaleValue(getScale(), getHeadDim());
}

LogicalResult AttentionRowOp::verify() {
  auto qType = getQuery().getType();
  auto cacheType = getKeyCache().getType();
  if (qType.getRank() != 4 || cacheType.getRank() != 4)
    return emitOpError() << "expects tensors of rank 4 (batch, heads, length, "
                            "head_dim), got "
                         << qType << " and " << cacheType;
  if (!ShapedType::isDynamic(qType.getDimSize(2)) && qType.getDimSize(2) != 1)
    return emitOpError() << "query " << qType
                         << " must hold exactly one row (length 1)";
  if (cacheType.getElementType() != qType.getElementType())
    return emitOpError() << "cache element type " << cacheType.getElementType()
                         << " differs from the query's "
                         << qType.getElementType();
  for (unsigned dim : {0u, 1u, 3u})
    if (failed(verifyCompatibleShape(ArrayRef(qType.getDimSize(dim)),
                                     ArrayRef(cacheType.getDimSize(dim)))))
      return emitOpError() << "cache " << cacheType
                           << " does not match the batch, heads and head dim "
                              "of the query "
                           << qType;
  return verifyScaleAndLayout(*this, getScale(), getLayout(), getCacheLength());
}

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  RankedTensorType type = getTensorType();
  if (!type.hasStaticShape() || !type.getElementType().isF32())
    return emitOpError() << "parameters are static-shaped f32 tensors, got "
                         << type;
  if (!isa<NormalInitAttr, ZerosInitAttr, OnesInitAttr>(getInit()))
    return emitOpError() << "unknown initialiser " << getInit()
                         << " (expected #st.normal, #st.zeros or #st.ones)";
  return success();
}

LogicalResult
LoadParamOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto param = symbolTable.lookupNearestSymbolFrom<ParamOp>(*this, getNameAttr());
  if (!param)
    return emitOpError() << "'" << getName() << "' does not name an st.param";
  if (param.getType() != getResult().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " differs from the parameter's " << param.getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Model ops
//===----------------------------------------------------------------------===//

namespace {

/// Static size of `dim` of `type`, or kDynamic.
int64_t dimOf(Type type, unsigned dim) {
  return cast<ShapedType>(type).getDimSize(dim);
}

/// True when two sizes agree or one is unknown.
bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

LogicalResult expectRank(Operation *op, StringRef what, Type type,
                         int64_t rank) {
  auto shaped = cast<ShapedType>(type);
  if (shaped.hasRank() && shaped.getRank() == rank)
    return success();
  return op->emitOpError() << "expects " << what << " of rank " << rank
                           << ", got " << type;
}

} // namespace

LogicalResult EmbedOp::verify() {
  if (failed(expectRank(*this, "tokens", getTokens().getType(), 2)) ||
      failed(expectRank(*this, "table", getTable().getType(), 2)) ||
      failed(expectRank(*this, "result", getResult().getType(), 3)))
    return failure();
  Type t = getTokens().getType(), w = getTable().getType(),
       r = getResult().getType();
  if (!compatible(dimOf(r, 0), dimOf(t, 0)) ||
      !compatible(dimOf(r, 1), dimOf(t, 1)) ||
      !compatible(dimOf(r, 2), dimOf(w, 1)))
    return emitOpError() << "result " << r << " does not match tokens " << t
                         << " and table " << w;
  return success();
}

LogicalResult PosEmbedOp::verify() {
  Type x = getInput().getType();
  if (failed(expectRank(*this, "input", x, 3)))
    return failure();
  if (getTables().empty())
    return emitOpError() << "needs at least one position table";
  int64_t positions = 1;
  for (Value table : getTables()) {
    if (failed(expectRank(*this, "tables", table.getType(), 2)))
      return failure();
    if (!compatible(dimOf(table.getType(), 1), dimOf(x, 2)))
      return emitOpError() << "table " << table.getType()
                           << " width differs from the input's " << x;
    int64_t rows = dimOf(table.getType(), 0);
    if (ShapedType::isDynamic(rows))
      return emitOpError() << "position tables need a static number of rows";
    positions *= rows;
  }
  int64_t n = dimOf(x, 1);
  if (!ShapedType::isDynamic(n) && positions < n)
    return emitOpError() << "position tables cover " << positions
                         << " positions, fewer than the sequence length " << n;
  return success();
}

LogicalResult LayerNormOp::verify() {
  auto x = cast<ShapedType>(getInput().getType());
  if (!x.hasRank() || x.getRank() < 1)
    return emitOpError() << "expects a ranked input";
  int64_t d = x.getDimSize(x.getRank() - 1);
  for (Value p : {getWeight(), getBias()}) {
    if (failed(expectRank(*this, "weight and bias", p.getType(), 1)))
      return failure();
    if (!compatible(dimOf(p.getType(), 0), d))
      return emitOpError() << "weight/bias " << p.getType()
                           << " do not match the normalised width " << d;
  }
  if (!(getEps().convertToDouble() > 0.0))
    return emitOpError() << "eps must be positive";
  return success();
}

LogicalResult LinearOp::verify() {
  auto x = cast<ShapedType>(getInput().getType());
  auto r = cast<ShapedType>(getResult().getType());
  if (!x.hasRank() || x.getRank() < 1 || !r.hasRank() ||
      r.getRank() != x.getRank())
    return emitOpError() << "input and result must have the same rank";
  if (failed(expectRank(*this, "weight", getWeight().getType(), 2)))
    return failure();
  int64_t in = x.getDimSize(x.getRank() - 1);
  int64_t out = r.getDimSize(r.getRank() - 1);
  Type w = getWeight().getType();
  if (!compatible(dimOf(w, 1), in) || !compatible(dimOf(w, 0), out))
    return emitOpError() << "weight " << w << " is not [out = " << out
                         << ", in = " << in << "]";
  for (int64_t i = 0; i + 1 < x.getRank(); ++i)
    if (!compatible(x.getDimSize(i), r.getDimSize(i)))
      return emitOpError() << "result " << r << " does not match input " << x;
  if (Value b = getBias()) {
    if (failed(expectRank(*this, "bias", b.getType(), 1)))
      return failure();
    if (!compatible(dimOf(b.getType(), 0), out))
      return emitOpError() << "bias " << b.getType() << " does not match "
                           << out << " outputs";
  }
  return success();
}

LogicalResult DropoutOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return emitOpError() << "rate must be in [0, 1), got " << rate;
  auto rng = cast<ShapedType>(getRng().getType());
  if (!rng.hasRank() || rng.getRank() != 1 ||
      !compatible(rng.getDimSize(0), 2))
    return emitOpError() << "rng must be tensor<2xi64> (seed, step), got "
                         << rng;
  return success();
}

/// Split and merge of heads are reshapes between `flat` [B, N, H * Dh] and
/// `heads` [B, H, N, Dh]; `verb` names the direction in the message.
static LogicalResult verifyHeadsReshape(Operation *op, Type flat, Type heads,
                                        StringRef flatName,
                                        StringRef headsName, StringRef verb,
                                        Type from, Type to) {
  if (failed(expectRank(op, flatName, flat, 3)) ||
      failed(expectRank(op, headsName, heads, 4)))
    return failure();
  int64_t h = dimOf(heads, 1), dh = dimOf(heads, 3), d = dimOf(flat, 2);
  bool widthOk = ShapedType::isDynamic(h) || ShapedType::isDynamic(dh) ||
                 ShapedType::isDynamic(d) || h * dh == d;
  if (!compatible(dimOf(flat, 0), dimOf(heads, 0)) ||
      !compatible(dimOf(flat, 1), dimOf(heads, 2)) || !widthOk ||
      cast<ShapedType>(flat).getElementType() !=
          cast<ShapedType>(heads).getElementType())
    return op->emitOpError() << "cannot " << verb << " " << from << " into "
                             << to;
  return success();
}

LogicalResult SplitHeadsOp::verify() {
  Type x = getInput().getType(), r = getResult().getType();
  return verifyHeadsReshape(*this, x, r, "input", "result", "split", x, r);
}

LogicalResult MergeHeadsOp::verify() {
  Type x = getInput().getType(), r = getResult().getType();
  return verifyHeadsReshape(*this, r, x, "result", "input", "merge", x, r);
}

LogicalResult CrossEntropyOp::verify() {
  Type l = getLogits().getType(), t = getTargets().getType();
  if (failed(expectRank(*this, "logits", l, 3)) ||
      failed(expectRank(*this, "targets", t, 2)))
    return failure();
  if (!compatible(dimOf(l, 0), dimOf(t, 0)) ||
      !compatible(dimOf(l, 1), dimOf(t, 1)))
    return emitOpError() << "targets " << t << " do not match logits " << l;
  return success();
}

//===----------------------------------------------------------------------===//
// TransformerOp
//===----------------------------------------------------------------------===//

LayoutAttrInterface TransformerOp::getLayerLayout(int64_t layer) {
  ArrayAttr layouts = getLayouts();
  return cast<LayoutAttrInterface>(layouts[layer % int64_t(layouts.size())]);
}

LogicalResult TransformerOp::verify() {
  auto positive = [&](StringRef name, int64_t v) -> LogicalResult {
    if (v >= 1)
      return success();
    return emitOpError() << name << " must be positive, got " << v;
  };
  if (failed(positive("vocab", getVocab())) ||
      failed(positive("context", getContextSize())) ||
      failed(positive("width", getWidth())) ||
      failed(positive("heads", getHeads())) ||
      failed(positive("layers", getLayers())) ||
      failed(positive("ff_mult", getFfMult())))
    return failure();
  if (getWidth() % getHeads() != 0)
    return emitOpError() << "width " << getWidth()
                         << " is not a multiple of heads " << getHeads();
  double dropout = getDropout().convertToDouble();
  if (!(dropout >= 0.0 && dropout < 1.0))
    return emitOpError() << "dropout must be in [0, 1), got " << dropout;
  int64_t positions = 1;
  for (int64_t s : getPosition()) {
    if (s < 1)
      return emitOpError() << "position axis sizes must be positive";
    positions *= s;
  }
  if (getPosition().empty() || positions < int64_t(getContextSize()))
    return emitOpError() << "position axes cover " << positions
                         << " positions, fewer than the context "
                         << getContextSize();
  if (getLayouts().empty())
    return emitOpError() << "needs at least one layout";
  for (Attribute a : getLayouts()) {
    auto layout = dyn_cast<LayoutAttrInterface>(a);
    if (!layout)
      return emitOpError() << a << " is not an attention layout";
    if (failed(layout.verifyForLength(getContextSize(),
                                      [&] { return emitOpError(); })))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionPartOp / AttentionMergeOp
//===----------------------------------------------------------------------===//

namespace {

/// The factors named by a part's `excluded` attribute.
SmallVector<::st::layout::Factor> factorsOf(ArrayAttr excluded) {
  SmallVector<::st::layout::Factor> factors;
  for (Attribute a : excluded)
    factors.push_back(*mlir::st::getFactor(a));
  return factors;
}

/// A part's factor and exclusions must each be one factor.
LogicalResult verifyPartFactors(Operation *op, Attribute factor,
                                ArrayAttr excluded) {
  if (!mlir::st::getFactor(factor))
    return op->emitOpError() << "factor " << factor
                             << " is not a single factor";
  for (Attribute a : excluded)
    if (!mlir::st::getFactor(a))
      return op->emitOpError() << "excluded " << a
                               << " is not a single factor";
  return success();
}

} // namespace

::st::layout::Factor AttentionPartOp::getFactorValue() {
  return *mlir::st::getFactor(getFactorAttr());
}

SmallVector<::st::layout::Factor> AttentionPartOp::getExcludedFactors() {
  return factorsOf(getExcluded());
}

LogicalResult AttentionPartOp::verify() {
  if (failed(verifyPartFactors(*this, getFactorAttr(), getExcluded())))
    return failure();
  auto q = getQuery().getType(), k = getKey().getType(),
       v = getValue().getType();
  for (RankedTensorType t : {q, k, v})
    if (t.getRank() != 4)
      return emitOpError() << "expects rank-4 query, key and value, got " << t;
  if (k != v)
    return emitOpError() << "key " << k << " and value " << v << " differ";
  if (!compatible(q.getDimSize(0), k.getDimSize(0)) ||
      !compatible(q.getDimSize(1), k.getDimSize(1)) ||
      !compatible(q.getDimSize(3), k.getDimSize(3)))
    return emitOpError() << "key " << k << " does not match query " << q;
  if (!getCompactKeys() && !compatible(q.getDimSize(2), k.getDimSize(2)))
    return emitOpError() << "key length differs from the query's; only "
                            "compact_keys parts have their own key length";
  if (getCompactKeys() &&
      getFactorValue().getKind() != ::st::layout::FactorKind::Summary)
    return emitOpError() << "compact_keys needs a summary factor";
  if (getOut().getType() != q)
    return emitOpError() << "out type " << getOut().getType()
                         << " differs from the query's " << q;
  auto lse = getLse().getType();
  if (lse.getRank() != 3 || !compatible(lse.getDimSize(0), q.getDimSize(0)) ||
      !compatible(lse.getDimSize(1), q.getDimSize(1)) ||
      !compatible(lse.getDimSize(2), q.getDimSize(2)))
    return emitOpError() << "lse " << lse << " is not [B, H, N] of " << q;
  return success();
}

LogicalResult AttentionMergeOp::verify() {
  if (getOuts().empty())
    return emitOpError() << "needs at least one part";
  for (Value o : getOuts())
    if (o.getType() != getResult().getType())
      return emitOpError() << "part " << o.getType() << " differs from result "
                           << getResult().getType();
  for (Value l : getLses())
    if (l.getType() != getLse().getType())
      return emitOpError() << "part lse " << l.getType()
                           << " differs from result lse " << getLse().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionGradOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionGradOp::verify() {
  auto q = getQuery().getType();
  for (Value t : {getKey(), getValue(), getOut(), getDout(), getDquery(),
                  getDkey(), getDvalue()})
    if (t.getType() != q)
      return emitOpError() << "expects every tensor operand and result to be "
                           << q << ", got " << t.getType();
  auto lse = getLse().getType();
  if (lse.getRank() != 3 ||
      failed(verifyCompatibleShape(lse.getShape(), q.getShape().take_front(3))))
    return emitOpError() << "lse " << lse << " is not [B, H, N] of " << q;
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionPartGradOp
//===----------------------------------------------------------------------===//

::st::layout::Factor AttentionPartGradOp::getFactorValue() {
  return *mlir::st::getFactor(getFactorAttr());
}

SmallVector<::st::layout::Factor> AttentionPartGradOp::getExcludedFactors() {
  return factorsOf(getExcluded());
}

LogicalResult AttentionPartGradOp::verify() {
  if (failed(verifyPartFactors(*this, getFactorAttr(), getExcluded())))
    return failure();
  auto q = getQuery().getType(), k = getKey().getType();
  for (RankedTensorType t : {q, k})
    if (t.getRank() != 4)
      return emitOpError() << "expects rank-4 query and key, got " << t;
  if (q.getElementType() != k.getElementType() ||
      !compatible(q.getDimSize(0), k.getDimSize(0)) ||
      !compatible(q.getDimSize(1), k.getDimSize(1)) ||
      !compatible(q.getDimSize(3), k.getDimSize(3)))
    return emitOpError() << "key " << k << " does not match query " << q;
  if (!getCompactKeys() && !compatible(q.getDimSize(2), k.getDimSize(2)))
    return emitOpError() << "key length differs from the query's; only "
                            "compact_keys parts have their own key length";
  if (getCompactKeys() &&
      getFactorValue().getKind() != ::st::layout::FactorKind::Summary)
    return emitOpError() << "compact_keys needs a summary factor";
  auto lse = getLse().getType();
  if (lse.getRank() != 3 || !compatible(lse.getDimSize(0), q.getDimSize(0)) ||
      !compatible(lse.getDimSize(1), q.getDimSize(1)) ||
      !compatible(lse.getDimSize(2), q.getDimSize(2)))
    return emitOpError() << "lse " << lse << " is not [B, H, N] of " << q;
  if (!(getScale().convertToDouble() > 0.0))
    return emitOpError() << "scale must be positive, got "
                         << getScale().convertToDouble();
  return success();
}
