//===- ExpandModel.cpp - st.transformer to parameters and layer ops -------===//
//
// The compact model op becomes what a PyTorch user would write by hand:
// named parameters with the paper's initialisers and a function per mode
// (training loss with dropout, evaluation loss without) made of per-layer
// st ops. Later passes never see st.transformer.
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

  /// dims of the activation [B, N, width].
  RankedTensorType act(int64_t width) const {
    return tensorType({batchDim(), n, width}, f32);
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
    return LinearOp::create(b, model.getLoc(), act(out), x, w, bv);
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
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0),
                                         b.getIndexAttr(which * d)};
    SmallVector<OpFoldResult> sizes;
    if (batch > 0)
      sizes.push_back(b.getIndexAttr(batch));
    else
      sizes.push_back(tensor::DimOp::create(b, loc, qkv, 0).getResult());
    sizes.push_back(b.getIndexAttr(n));
    sizes.push_back(b.getIndexAttr(d));
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    Value part = tensor::ExtractSliceOp::create(b, loc, act(d), qkv, offsets,
                                                  sizes, strides);
    auto headType =
        tensorType({batchDim(), heads, n, d / heads}, f32);
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
    int64_t vocab = model.getVocab(), ff = model.getFfMult() * d;

    Value h = EmbedOp::create(b, loc, act(d), tokens,
                                load(b, "tok_emb.weight", {vocab, d}));
    SmallVector<Value> tables;
    ArrayRef<int64_t> axes = model.getPosition();
    for (size_t a = 0, e = axes.size(); a < e; ++a)
      tables.push_back(load(
          b, "pos_emb." + axisName(a, axes.size()) + ".weight", {axes[a], d}));
    h = PosEmbedOp::create(b, loc, h.getType(), h, tables);

    for (int64_t l = 0, e = model.getLayers(); l < e; ++l) {
      std::string p = "blocks." + std::to_string(l);
      Value x = layerNorm(b, h, p + ".ln1");
      Value qkv = linear(b, x, p + ".attn.qkv", 3 * d, d);
      Value q = headsOf(b, qkv, 0), k = headsOf(b, qkv, 1),
            v = headsOf(b, qkv, 2);
      Value o = AttentionOp::create(b, loc, q.getType(), /*lse=*/Type(), q, k,
                                    v, model.getLayerLayout(l), FloatAttr())
                    .getResult();
      Value merged = MergeHeadsOp::create(b, loc, act(d), o);
      Value a = linear(b, merged, p + ".attn.proj", d, d);
      a = dropout(b, a, rng, 2 * l);
      Value ha = arith::AddFOp::create(b, loc, h, a);
      Value y = layerNorm(b, ha, p + ".ln2");
      Value f = linear(b, y, p + ".mlp.fc1", ff, d);
      f = GeluOp::create(b, loc, f, model.getApproximateGelu());
      f = linear(b, f, p + ".mlp.fc2", d, ff);
      f = dropout(b, f, rng, 2 * l + 1);
      h = arith::AddFOp::create(b, loc, ha, f);
    }
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
