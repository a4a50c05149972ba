//===- Optimizer.cpp - Adam with warm-up, cosine decay and clipping -------===//
//
// Builds `@m_train_step` from `@m_grad`: one training step as ops, so that
// the optimizer is compiled (and fused, parallelised) like the model.
//
//   (m..., v..., step, tokens, targets, rng)
//     -> (params'..., m'..., v'..., nats, bits, grad_norm, lr)
//
// The current parameters are read with st.load_param like every other
// function (--st-params-to-args makes them leading arguments), and the
// gradient function is called (the pipeline inlines it).
//
// - gradients are clipped by their global L2 norm (scale = min(1, clip /
//   norm));
// - the learning rate warms up linearly over `warmup` steps to `lr`, then
//   decays along a cosine to `min-lr` at `total-steps`;
// - Adam with bias correction, state in fp32, and decoupled weight decay
//   (AdamW) applied only to matrices of linear layers: norms, biases and
//   embeddings are not decayed.
// `step` counts completed steps (the first call passes 0).
//
//===----------------------------------------------------------------------===//

#include "st/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"

#include <cmath>

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STOPTIMIZER
#include "st/Transforms/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;

namespace {

/// Whether AdamW decays this parameter: linear layers' weight matrices only.
bool isDecayed(ParamOp p) {
  StringRef name = p.getSymName();
  return p.getTensorType().getRank() == 2 && !name.starts_with("tok_emb") &&
         !name.starts_with("pos_emb");
}

struct OptimizerPass : public mlir::st::impl::StOptimizerBase<OptimizerPass> {
  using StOptimizerBase::StOptimizerBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> grads;
    for (func::FuncOp fn : module.getOps<func::FuncOp>())
      if (fn.getName().ends_with("_grad"))
        grads.push_back(fn);
    for (func::FuncOp g : grads)
      if (failed(build(module, g)))
        return signalPassFailure();
  }

  LogicalResult build(ModuleOp module, func::FuncOp gradFn) {
    SmallVector<ParamOp> params(module.getOps<ParamOp>());
    size_t np = params.size();
    FunctionType gradType = gradFn.getFunctionType();
    if (gradType.getNumResults() != 2 + np)
      return gradFn.emitOpError()
             << "expected (nats, bits, one gradient per st.param)";
    MLIRContext *ctx = module.getContext();
    OpBuilder mb(gradFn);
    mb.setInsertionPointAfter(gradFn);
    Location loc = gradFn.getLoc();
    Type f32 = mb.getF32Type();
    auto scalarF32 = RankedTensorType::get({}, f32);
    auto scalarI64 = RankedTensorType::get({}, mb.getI64Type());

    SmallVector<Type> inputs, results;
    for (int copy = 0; copy < 2; ++copy)
      for (ParamOp p : params)
        inputs.push_back(p.getTensorType());
    inputs.push_back(scalarI64);
    inputs.append(gradType.getInputs().begin(), gradType.getInputs().end());
    for (int copy = 0; copy < 3; ++copy)
      for (ParamOp p : params)
        results.push_back(p.getTensorType());
    results.append({scalarF32, scalarF32, scalarF32, scalarF32});
    std::string name = gradFn.getName().drop_back(5).str() + "_train_step";
    if (module.lookupSymbol(name))
      return gradFn.emitOpError() << "'" << name << "' already exists";
    auto fn = func::FuncOp::create(mb, loc, name,
                                   FunctionType::get(ctx, inputs, results));
    Block *entry = fn.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    ValueRange args = entry->getArguments();
    ValueRange mArgs = args.slice(0, np), vArgs = args.slice(np, np);
    Value stepArg = args[2 * np];
    ValueRange dataArgs = args.drop_front(2 * np + 1);
    SmallVector<Value> pArgs;
    for (ParamOp p : params)
      pArgs.push_back(LoadParamOp::create(
          b, loc, p.getTensorType(),
          FlatSymbolRefAttr::get(ctx, p.getSymName())));

    // The gradients. A call keeps the gradient function testable on its
    // own; the pipeline inlines it.
    auto call = func::CallOp::create(b, loc, gradFn, dataArgs);
    ValueRange g = call.getResults().drop_front(2);

    auto cf = [&](double x) {
      return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(x))
          .getResult();
    };
    // Global gradient norm: sum of squares of every gradient.
    Value sumSq = cf(0.0);
    for (Value gi : g)
      sumSq = arith::AddFOp::create(b, loc, sumSq, sumOfSquares(b, loc, gi));
    Value norm = math::SqrtOp::create(b, loc, sumSq);
    Value clipScale = arith::MinimumFOp::create(
        b, loc, cf(1.0),
        arith::DivFOp::create(b, loc, cf(clip),
                              arith::MaximumFOp::create(b, loc, norm,
                                                        cf(1e-12))));

    // t = step + 1 and the learning rate schedule.
    Value step = tensor::ExtractOp::create(b, loc, stepArg, ValueRange{});
    Value t = arith::SIToFPOp::create(
        b, loc, f32,
        arith::AddIOp::create(
            b, loc, step,
            arith::ConstantIntOp::create(b, loc, b.getI64Type(), 1)));
    Value lrNow = schedule(b, loc, t, cf);
    Value bc1 = arith::SubFOp::create(
        b, loc, cf(1.0), math::PowFOp::create(b, loc, cf(beta1), t));
    Value bc2 = arith::SubFOp::create(
        b, loc, cf(1.0), math::PowFOp::create(b, loc, cf(beta2), t));

    SmallVector<Value> newP, newM, newV;
    for (size_t i = 0; i < np; ++i) {
      double wd = isDecayed(params[i]) ? weightDecay : 0.0;
      auto type = params[i].getTensorType();
      SmallVector<AffineMap> maps(
          7, AffineMap::getMultiDimIdentityMap(type.getRank(), ctx));
      SmallVector<utils::IteratorType> iters(type.getRank(),
                                             utils::IteratorType::parallel);
      Value e1 = tensor::EmptyOp::create(b, loc, type.getShape(), f32);
      Value e2 = tensor::EmptyOp::create(b, loc, type.getShape(), f32);
      Value e3 = tensor::EmptyOp::create(b, loc, type.getShape(), f32);
      auto update = linalg::GenericOp::create(
          b, loc, TypeRange{type, type, type},
          ValueRange{pArgs[i], g[i], mArgs[i], vArgs[i]},
          ValueRange{e1, e2, e3}, maps, iters,
          [&](OpBuilder &nb, Location nl, ValueRange x) {
            auto c = [&](double v) {
              return arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(v))
                  .getResult();
            };
            Value p = x[0], m = x[2], v = x[3];
            Value gr = arith::MulFOp::create(nb, nl, x[1], clipScale);
            Value m2 = arith::AddFOp::create(
                nb, nl, arith::MulFOp::create(nb, nl, c(beta1), m),
                arith::MulFOp::create(nb, nl, c(1.0 - beta1), gr));
            Value v2 = arith::AddFOp::create(
                nb, nl, arith::MulFOp::create(nb, nl, c(beta2), v),
                arith::MulFOp::create(
                    nb, nl, c(1.0 - beta2),
                    arith::MulFOp::create(nb, nl, gr, gr)));
            Value mHat = arith::DivFOp::create(nb, nl, m2, bc1);
            Value vHat = arith::DivFOp::create(nb, nl, v2, bc2);
            Value step = arith::DivFOp::create(
                nb, nl, mHat,
                arith::AddFOp::create(nb, nl,
                                      math::SqrtOp::create(nb, nl, vHat),
                                      c(eps)));
            if (wd != 0.0)
              step = arith::AddFOp::create(
                  nb, nl, step, arith::MulFOp::create(nb, nl, c(wd), p));
            Value p2 = arith::SubFOp::create(
                nb, nl, p, arith::MulFOp::create(nb, nl, lrNow, step));
            linalg::YieldOp::create(nb, nl, ValueRange{p2, m2, v2});
          });
      newP.push_back(update.getResult(0));
      newM.push_back(update.getResult(1));
      newV.push_back(update.getResult(2));
    }
    auto toTensor = [&](Value scalar) {
      return tensor::FromElementsOp::create(b, loc, scalarF32,
                                            ValueRange{scalar})
          .getResult();
    };
    SmallVector<Value> outs;
    outs.append(newP);
    outs.append(newM);
    outs.append(newV);
    outs.push_back(call.getResult(0));
    outs.push_back(call.getResult(1));
    outs.push_back(toTensor(norm));
    outs.push_back(toTensor(lrNow));
    func::ReturnOp::create(b, loc, outs);
    fn->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
    return success();
  }

  /// sum(x^2) over every element of `x`, as an f32 scalar.
  Value sumOfSquares(OpBuilder &b, Location loc, Value x) {
    auto type = cast<RankedTensorType>(x.getType());
    Type f32 = b.getF32Type();
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
    Value init = linalg::FillOp::create(
                     b, loc, zero,
                     tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, f32)
                         .getResult())
                     .getResult(0);
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(type.getRank(), b.getContext()),
        AffineMap::get(type.getRank(), 0, b.getContext())};
    SmallVector<utils::IteratorType> iters(type.getRank(),
                                           utils::IteratorType::reduction);
    auto red = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{x}, ValueRange{init},
        maps, iters, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value sq = arith::MulFOp::create(nb, nl, a[0], a[0]);
          linalg::YieldOp::create(nb, nl,
                                  ValueRange{arith::AddFOp::create(
                                      nb, nl, a[1], sq)});
        });
    return tensor::ExtractOp::create(b, loc, red.getResult(0), ValueRange{});
  }

  /// Linear warm-up to `lr` over `warmup` steps, then cosine decay to
  /// `minLr` at `totalSteps`, as a function of t = completed steps + 1.
  template <typename ConstFn>
  Value schedule(OpBuilder &b, Location loc, Value t, ConstFn cf) {
    double w = std::max<int64_t>(warmup, 0);
    double decaySteps = std::max<double>(1.0, double(totalSteps) - w);
    Value warm = arith::MulFOp::create(
        b, loc, cf(lr),
        arith::MinimumFOp::create(b, loc, cf(1.0),
                                  arith::DivFOp::create(
                                      b, loc, t, cf(std::max(w, 1.0)))));
    Value progress = arith::DivFOp::create(
        b, loc, arith::SubFOp::create(b, loc, t, cf(w)), cf(decaySteps));
    progress = arith::MinimumFOp::create(
        b, loc, cf(1.0), arith::MaximumFOp::create(b, loc, cf(0.0), progress));
    Value cosine = math::CosOp::create(
        b, loc, arith::MulFOp::create(b, loc, cf(M_PI), progress));
    Value decayed = arith::AddFOp::create(
        b, loc, cf(minLr),
        arith::MulFOp::create(
            b, loc, cf(0.5 * (lr - minLr)),
            arith::AddFOp::create(b, loc, cf(1.0), cosine)));
    Value inWarmup = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE,
                                           t, cf(w));
    return arith::SelectOp::create(b, loc, inWarmup, warm, decayed);
  }
};

} // namespace
