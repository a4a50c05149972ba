//===- ExpandModel.cpp - st.transformer to parameters and layer ops -------===//
//
// The compact model op becomes what a PyTorch user would write by hand:
// named parameters with the paper's initialisers and a function per mode
// (training loss with dropout, evaluation loss without, logits, and one
// step of cached decoding) made of per-layer st ops. Later passes never see
// st.transformer.
//
//===----------------------------------------------------------------------===//

#include "st/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

#include <cmath>

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STEXPANDMODEL
#include "st/Transforms/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;

namespace {

/// Names of the factorized position axes, most significant first.
std::string axisName(size_t axis, size_t numAxes) {
  static const char *names[] = {"row", "col", "chan"};
  if (numAxes <= 3)
    return names[axis];
  return "axis" + std::to_string(axis);
}

/// Builds the parameters and functions of one st.transformer.
class ModelExpander {
public:
  ModelExpander(TransformerOp model, int64_t batch)
      : model(model), builder(model), batch(batch) {
    ctx = model.getContext();
    f32 = builder.getF32Type();
    d = model.getWidth();
    n = model.getContextSize();
    heads = model.getHeads();
  }

  LogicalResult expand() {
    declareParams();
    Type tokens = tensorType({batchDim(), n}, builder.getI32Type());
    Type rng = RankedTensorType::get({2}, builder.getI64Type());
    Type scalar = RankedTensorType::get({}, f32);
    buildFunction(model.getSymName().str() + "_loss", {tokens, tokens, rng},
                  {scalar, scalar}, /*training=*/true);
    buildFunction(model.getSymName().str() + "_eval", {tokens, tokens},
                  {scalar, scalar}, /*training=*/false);
    buildFunction(model.getSymName().str() + "_logits", {tokens},
                  {tensorType({batchDim(), n, int64_t(model.getVocab())}, f32)},
                  /*training=*/false);
    buildDecode(model.getSymName().str() + "_decode");
    model.erase();
    return success();
  }

private:
  int64_t batchDim() const { return batch > 0 ? batch : ShapedType::kDynamic; }

  RankedTensorType tensorType(ArrayRef<int64_t> shape, Type elt) const {
    return RankedTensorType::get(shape, elt);
  }

  void param(StringRef name, ArrayRef<int64_t> shape, Attribute init) {
    ParamOp::create(builder, model.getLoc(), builder.getStringAttr(name),
                            TypeAttr::get(tensorType(shape, f32)), init);
  }

  Attribute normal(double std) {
    return NormalInitAttr::get(ctx, llvm::APFloat(std));
  }

  void linearParams(const std::string &prefix, int64_t out, int64_t in,
                    double scale, bool bias = true) {
    param(prefix + ".weight", {out, in}, normal(0.125 / std::sqrt(in) * scale));
    if (bias)
      param(prefix + ".bias", {out}, ZerosInitAttr::get(ctx));
  }

  void normParams(const std::string &prefix) {
    param(prefix + ".weight", {d}, OnesInitAttr::get(ctx));
    param(prefix + ".bias", {d}, ZerosInitAttr::get(ctx));
  }

  void declareParams() {
    int64_t vocab = model.getVocab(), ff = model.getFfMult() * d;
    double residualScale = 1.0 / std::sqrt(2.0 * model.getLayers());
    param("tok_emb.weight", {vocab, d}, normal(0.125 / std::sqrt(d)));
    ArrayRef<int64_t> axes = model.getPosition();
    for (size_t a = 0, e = axes.size(); a < e; ++a)
      param("pos_emb." + axisName(a, axes.size()) + ".weight", {axes[a], d},
            normal(0.125 / std::sqrt(d)));
    for (int64_t l = 0, e = model.getLayers(); l < e; ++l) {
      std::string b = "blocks." + std::to_string(l);
      normParams(b + ".ln1");
      linearParams(b + ".attn.qkv", 3 * d, d, 1.0);
      linearParams(b + ".attn.proj", d, d, residualScale);
      normParams(b + ".ln2");
      linearParams(b + ".mlp.fc1", ff, d, 1.0);
      linearParams(b + ".mlp.fc2", d, ff, residualScale);
    }
    normParams("ln_f");
    // The logits projection starts at zero: the first loss is exactly
    // ln(vocab).
    param("head.weight", {vocab, d}, ZerosInitAttr::get(ctx));
  }

  Value load(OpBuilder &b, StringRef name, ArrayRef<int64_t> shape) {
    return LoadParamOp::create(b, model.getLoc(), tensorType(shape, f32),
                                 FlatSymbolRefAttr::get(ctx, name));
  }

  /// The activation [B, len, width].
  RankedTensorType act(int64_t len, int64_t width) const {
    return tensorType({batchDim(), len, width}, f32);
  }

  /// The sequence length of an activation [B, len, width].
  static int64_t lengthOf(Value x) {
    return cast<RankedTensorType>(x.getType()).getDimSize(1);
  }

  Value layerNorm(OpBuilder &b, Value x, const std::string &prefix) {
    Value w = load(b, prefix + ".weight", {d});
    Value bias = load(b, prefix + ".bias", {d});
    return LayerNormOp::create(b, model.getLoc(), x.getType(), x, w, bias,
                                 b.getF64FloatAttr(1e-5));
  }

  Value linear(OpBuilder &b, Value x, const std::string &prefix, int64_t out,
               int64_t in, bool bias = true) {
    Value w = load(b, prefix + ".weight", {out, in});
    Value bv = bias ? load(b, prefix + ".bias", {out}) : Value();
    return LinearOp::create(b, model.getLoc(), act(lengthOf(x), out), x, w, bv);
  }

  Value dropout(OpBuilder &b, Value x, Value rng, int64_t opId) {
    double rate = model.getDropout().convertToDouble();
    if (!rng || rate == 0.0)
      return x;
    return DropoutOp::create(b, model.getLoc(), x.getType(), x, rng,
                               b.getF64FloatAttr(rate),
                               b.getI64IntegerAttr(opId));
  }

  /// One third of the stacked qkv projection, split into heads.
  Value headsOf(OpBuilder &b, Value qkv, int64_t which) {
    Location loc = model.getLoc();
    int64_t len = lengthOf(qkv);
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0),
                                         b.getIndexAttr(which * d)};
    SmallVector<OpFoldResult> sizes;
    if (batch > 0)
      sizes.push_back(b.getIndexAttr(batch));
    else
      sizes.push_back(tensor::DimOp::create(b, loc, qkv, 0).getResult());
    sizes.push_back(b.getIndexAttr(len));
    sizes.push_back(b.getIndexAttr(d));
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    Value part = tensor::ExtractSliceOp::create(b, loc, act(len, d), qkv,
                                                offsets, sizes, strides);
    auto headType = tensorType({batchDim(), heads, len, d / heads}, f32);
    return SplitHeadsOp::create(b, loc, headType, part);
  }

  void buildFunction(const std::string &name, ArrayRef<Type> inputs,
                     ArrayRef<Type> results, bool training) {
    Location loc = model.getLoc();
    auto fnType = FunctionType::get(ctx, inputs, results);
    auto fn = func::FuncOp::create(builder, loc, name, fnType);
    Block *entry = fn.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    Value tokens = entry->getArgument(0);
    Value targets = inputs.size() > 1 ? entry->getArgument(1) : Value();
    Value rng = training ? entry->getArgument(2) : Value();
    int64_t vocab = model.getVocab();

    Value h = EmbedOp::create(b, loc, act(n, d), tokens,
                              load(b, "tok_emb.weight", {vocab, d}));
    SmallVector<Value> tables;
    ArrayRef<int64_t> axes = model.getPosition();
    for (size_t a = 0, e = axes.size(); a < e; ++a)
      tables.push_back(load(
          b, "pos_emb." + axisName(a, axes.size()) + ".weight", {axes[a], d}));
    h = PosEmbedOp::create(b, loc, h.getType(), h, tables);

    for (int64_t l = 0, e = model.getLayers(); l < e; ++l)
      h = residualBlock(b, h, l, rng, [&](Value q, Value k, Value v) {
        return AttentionOp::create(b, loc, q.getType(), /*lse=*/Type(), q, k, v,
                                   model.getLayerLayout(l), FloatAttr())
            .getResult();
      });
    h = layerNorm(b, h, "ln_f");
    Value logits = linear(b, h, "head", vocab, d, /*bias=*/false);
    if (!targets) {
      func::ReturnOp::create(b, loc, logits);
      return;
    }
    auto ce = CrossEntropyOp::create(b, loc, results[0], results[1], logits,
                                       targets);
    func::ReturnOp::create(b, loc, ce.getResults());
  }

  /// Layer `l`'s residual block on h [B, len, D]; `attend` maps the
  /// layer's q, k, v ([B, H, len, D / H]) to the attention output.
  Value residualBlock(OpBuilder &b, Value h, int64_t l, Value rng,
                      function_ref<Value(Value, Value, Value)> attend) {
    Location loc = model.getLoc();
    int64_t ff = model.getFfMult() * d, len = lengthOf(h);
    std::string p = "blocks." + std::to_string(l);
    Value x = layerNorm(b, h, p + ".ln1");
    Value qkv = linear(b, x, p + ".attn.qkv", 3 * d, d);
    Value o =
        attend(headsOf(b, qkv, 0), headsOf(b, qkv, 1), headsOf(b, qkv, 2));
    Value merged = MergeHeadsOp::create(b, loc, act(len, d), o);
    Value a = linear(b, merged, p + ".attn.proj", d, d);
    a = dropout(b, a, rng, 2 * l);
    Value ha = arith::AddFOp::create(b, loc, h, a);
    Value y = layerNorm(b, ha, p + ".ln2");
    Value f = linear(b, y, p + ".mlp.fc1", ff, d);
    f = GeluOp::create(b, loc, f, model.getApproximateGelu());
    f = linear(b, f, p + ".mlp.fc2", d, ff);
    f = dropout(b, f, rng, 2 * l + 1);
    return arith::AddFOp::create(b, loc, ha, f);
  }

  /// `@<m>_decode(%tokens [B, 1] i32, %pos [] i64, %k_0, %v_0, ...,
  /// %k_{L-1}, %v_{L-1}) -> (logits [B, V], k'_0, v'_0, ...)`: one step of
  /// generation at position pos, without dropout. The caches k_l, v_l
  /// ([B, H, N, D / H]) hold layer l's keys and values of the positions
  /// before pos; the results are the logits for the byte after pos and
  /// the keys and values of row pos ([B, H, 1, D / H]), which the caller
  /// writes into row pos of its caches before the next step. Returning the
  /// rows rather than updated caches keeps a step's cost at the pattern's
  /// row: a returned cache would be copied into a caller-allocated output
  /// on every step.
  void buildDecode(const std::string &name) {
    Location loc = model.getLoc();
    int64_t layers = model.getLayers(), vocab = model.getVocab();
    auto cache = tensorType({batchDim(), heads, n, d / heads}, f32);
    auto row = tensorType({batchDim(), heads, 1, d / heads}, f32);
    SmallVector<Type> inputs = {
        tensorType({batchDim(), 1}, builder.getI32Type()),
        RankedTensorType::get({}, builder.getI64Type())};
    SmallVector<Type> results = {tensorType({batchDim(), vocab}, f32)};
    for (int64_t i = 0; i < 2 * layers; ++i) {
      inputs.push_back(cache);
      results.push_back(row);
    }
    auto fn = func::FuncOp::create(builder, loc, name,
                                   FunctionType::get(ctx, inputs, results));
    Block *entry = fn.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    Value pos = arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        tensor::ExtractOp::create(b, loc, entry->getArgument(1), ValueRange{}));

    Value h = EmbedOp::create(b, loc, act(1, d), entry->getArgument(0),
                              load(b, "tok_emb.weight", {vocab, d}));
    // Each table's row for pos, as a one-row table: st.pos_embed of a
    // length-1 sequence then adds exactly what the full sequence adds at
    // pos, in the same order.
    SmallVector<Value> tables;
    ArrayRef<int64_t> axes = model.getPosition();
    int64_t below = 1;
    for (int64_t s : axes)
      below *= s;
    for (size_t a = 0, e = axes.size(); a < e; ++a) {
      below /= axes[a];
      Value idx = arith::RemUIOp::create(
          b, loc,
          arith::DivUIOp::create(b, loc, pos,
                                 arith::ConstantIndexOp::create(b, loc, below)),
          arith::ConstantIndexOp::create(b, loc, axes[a]));
      Value table =
          load(b, "pos_emb." + axisName(a, e) + ".weight", {axes[a], d});
      SmallVector<OpFoldResult> offsets = {idx, b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(d)};
      SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
      tables.push_back(tensor::ExtractSliceOp::create(
          b, loc, tensorType({1, d}, f32), table, offsets, sizes, strides));
    }
    h = PosEmbedOp::create(b, loc, h.getType(), h, tables);

    SmallVector<Value> returned(1);
    for (int64_t l = 0; l < layers; ++l) {
      Value keyCache = entry->getArgument(2 + 2 * l);
      Value valueCache = entry->getArgument(3 + 2 * l);
      h = residualBlock(
          b, h, l, /*rng=*/Value(), [&](Value q, Value k, Value v) {
            returned.push_back(k);
            returned.push_back(v);
            return AttentionRowOp::create(b, loc, q.getType(), q, k, v,
                                          keyCache, valueCache, pos,
                                          model.getLayerLayout(l), FloatAttr())
                .getResult();
          });
    }
    h = layerNorm(b, h, "ln_f");
    Value logits = linear(b, h, "head", vocab, d, /*bias=*/false);
    returned[0] = tensor::CollapseShapeOp::create(
        b, loc, results[0], logits,
        ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    func::ReturnOp::create(b, loc, returned);
  }

  TransformerOp model;
  OpBuilder builder;
  MLIRContext *ctx;
  Type f32;
  int64_t batch, d, n, heads;
};

struct ExpandModelPass
    : public mlir::st::impl::StExpandModelBase<ExpandModelPass> {
  using StExpandModelBase::StExpandModelBase;

  void runOnOperation() override {
    if (batch < 0) {
      getOperation().emitError() << "batch must be >= 0, got " << batch;
      return signalPassFailure();
    }
    SmallVector<TransformerOp> models(
        getOperation().getOps<TransformerOp>());
    for (TransformerOp model : models)
      if (failed(ModelExpander(model, batch).expand()))
        return signalPassFailure();
  }
};

} // namespace
