//===- LinalgToBlas.cpp - f32 matrix products as BLAS calls ---------------===//
//
// Dense GEMMs are library calls (the one kind of kernel ST does not
// generate): every bufferized 2-D f32 contraction C(m, n) += A . B whose
// operands are A(m, k) or A(k, m) and B(k, n) or B(n, k) becomes a call to
// the runtime's `st_blas_sgemm(transA, transB, A, B, C)`, which accumulates
// into C exactly as the linalg op does (beta = 1).
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STLINALGTOBLAS
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;

namespace {

constexpr StringLiteral kSgemm = "st_blas_sgemm";

/// A 2-D f32 memref with fully dynamic strides and offset: one declaration
/// serves every call.
MemRefType anyStrided2D(MLIRContext *ctx) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get(
      {d, d}, Float32Type::get(ctx),
      StridedLayoutAttr::get(ctx, /*offset=*/d, /*strides=*/{d, d}));
}

/// Whether `map`'s results are exactly (first, second) loop dims.
bool mapsTo(AffineMap map, unsigned first, unsigned second) {
  return map.getNumResults() == 2 && map.getResult(0).isFunctionOfDim(first) &&
         isa<AffineDimExpr>(map.getResult(0)) &&
         isa<AffineDimExpr>(map.getResult(1)) &&
         map.getResult(1).isFunctionOfDim(second);
}

struct LinalgToBlasPass
    : public mlir::st::impl::StLinalgToBlasBase<LinalgToBlasPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<linalg::LinalgOp> candidates;
    module.walk([&](linalg::LinalgOp op) {
      if (op.hasPureBufferSemantics() && linalg::isaContractionOpInterface(op))
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates) {
      if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
          op.getNumLoops() != 3)
        continue;
      FailureOr<linalg::ContractionDimensions> dims =
          linalg::inferContractionDims(op);
      if (failed(dims) || !dims->batch.empty() || dims->m.size() != 1 ||
          dims->n.size() != 1 || dims->k.size() != 1)
        continue;
      unsigned m = dims->m[0], n = dims->n[0], k = dims->k[0];
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      bool allF32 = llvm::all_of(op->getOperands(), [](Value v) {
        auto t = dyn_cast<MemRefType>(v.getType());
        return t && t.getRank() == 2 && t.getElementType().isF32();
      });
      if (!allF32 || !mapsTo(maps[2], m, n))
        continue;
      int transA, transB;
      if (mapsTo(maps[0], m, k))
        transA = 0;
      else if (mapsTo(maps[0], k, m))
        transA = 1;
      else
        continue;
      if (mapsTo(maps[1], k, n))
        transB = 0;
      else if (mapsTo(maps[1], n, k))
        transB = 1;
      else
        continue;
      declare(module);
      OpBuilder b(op);
      Location loc = op.getLoc();
      auto cast = [&](Value v) {
        return memref::CastOp::create(b, loc, anyStrided2D(ctx), v).getResult();
      };
      Value ta = arith::ConstantIntOp::create(b, loc, transA, 32);
      Value tb = arith::ConstantIntOp::create(b, loc, transB, 32);
      func::CallOp::create(b, loc, kSgemm, TypeRange{},
                           ValueRange{ta, tb, cast(op.getDpsInputs()[0]),
                                      cast(op.getDpsInputs()[1]),
                                      cast(op.getDpsInits()[0])});
      op->erase();
    }
  }

  void declare(ModuleOp module) {
    if (module.lookupSymbol(kSgemm))
      return;
    MLIRContext *ctx = module.getContext();
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    Type i32 = IntegerType::get(ctx, 32);
    MemRefType mat = anyStrided2D(ctx);
    auto fn = func::FuncOp::create(
        b, module.getLoc(), kSgemm,
        FunctionType::get(ctx, {i32, i32, mat, mat, mat}, {}));
    fn.setPrivate();
    fn->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
  }
};

} // namespace
