//===- LinalgToBlas.cpp - f32 matrix products as BLAS calls ---------------===//
//
// Dense GEMMs are library calls (the one kind of kernel ST does not
// generate): every bufferized 2-D f32 contraction C(m, n) += A . B whose
// operands are A(m, k) or A(k, m) and B(k, n) or B(n, k) becomes a call to
// the runtime's `st_blas_sgemm(transA, transB, A, B, C)`, which accumulates
// into C exactly as the linalg op does (beta = 1). Optionally the rows of
// C are split into blocks whose calls run in an scf.parallel loop.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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
  using StLinalgToBlasBase::StLinalgToBlasBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
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
      Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1],
            out = op.getDpsInits()[0];
      if (rowBlocks > 1)
        emitRowBlocks(b, op.getLoc(), transA, transB, lhs, rhs, out);
      else
        emitCall(b, op.getLoc(), transA, transB, lhs, rhs, out);
      op->erase();
    }
  }

  void emitCall(OpBuilder &b, Location loc, int transA, int transB, Value lhs,
                Value rhs, Value out) {
    MLIRContext *ctx = b.getContext();
    auto cast = [&](Value v) {
      return memref::CastOp::create(b, loc, anyStrided2D(ctx), v).getResult();
    };
    Value ta = arith::ConstantIntOp::create(b, loc, transA, 32);
    Value tb = arith::ConstantIntOp::create(b, loc, transB, 32);
    func::CallOp::create(b, loc, kSgemm, TypeRange{},
                         ValueRange{ta, tb, cast(lhs), cast(rhs), cast(out)});
  }

  /// rows = max(ceil(M / rowBlocks), minBlockRows); block i covers rows
  /// [i rows, min((i + 1) rows, M)) of C and of A (columns of A when it is
  /// transposed).
  void emitRowBlocks(OpBuilder &b, Location loc, int transA, int transB,
                     Value lhs, Value rhs, Value out) {
    auto idx = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, loc, v).getResult();
    };
    Value m = getValueOrCreateConstantIndexOp(
        b, loc, memref::getMixedSize(b, loc, out, 0));
    OpFoldResult n = memref::getMixedSize(b, loc, out, 1);
    OpFoldResult k = memref::getMixedSize(b, loc, lhs, transA ? 0 : 1);
    Value rows = arith::MaxSIOp::create(
        b, loc, arith::CeilDivSIOp::create(b, loc, m, idx(rowBlocks)),
        idx(std::max<int64_t>(minBlockRows, 1)));
    Value blocks = arith::CeilDivSIOp::create(b, loc, m, rows);
    auto par = scf::ParallelOp::create(b, loc, ValueRange{idx(0)},
                                       ValueRange{blocks}, ValueRange{idx(1)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(par.getBody());
    Value r0 = arith::MulIOp::create(b, loc, par.getInductionVars()[0], rows);
    Value r = arith::MinSIOp::create(
        b, loc, rows, arith::SubIOp::create(b, loc, m, r0));
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    auto view = [&](Value source, OpFoldResult o0, OpFoldResult o1,
                    OpFoldResult s0, OpFoldResult s1) {
      return memref::SubViewOp::create(b, loc, source,
                                       ArrayRef<OpFoldResult>{o0, o1},
                                       ArrayRef<OpFoldResult>{s0, s1},
                                       ArrayRef<OpFoldResult>{one, one})
          .getResult();
    };
    Value outBlock = view(out, r0, zero, r, n);
    Value lhsBlock = transA ? view(lhs, zero, r0, k, r)
                            : view(lhs, r0, zero, r, k);
    emitCall(b, loc, transA, transB, lhsBlock, rhs, outBlock);
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
