//===- Dropout.cpp - st.dropout to a Philox4x32-10 mask in linalg ---------===//
//
// The mask must be bit-identical to the runtime's st::rt::philox4x32x10
// (runtime/lib/Rng.cpp): element e (row-major linear index over the whole
// tensor) draws counter (lo32(e), hi32(e), lo32(step), u32(op_id)) under key
// (lo32(seed), hi32(seed)) and is kept iff uniformFloat(word 0) >= rate.
// Recomputing the op in the backward pass, or at the same step after a
// resume, therefore reproduces the mask exactly.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "st/Dialect/StDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

using namespace mlir;
using namespace mlir::st;
using namespace mlir::st::lowering;

namespace {

// Random123's Philox4x32 round multipliers and key (Weyl) increments.
constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;
constexpr uint32_t kWeyl1 = 0xBB67AE85u;
constexpr int kRounds = 10;

Value i32Constant(OpBuilder &b, Location loc, uint32_t value) {
  return arith::ConstantOp::create(
      b, loc, b.getI32IntegerAttr(static_cast<int32_t>(value)));
}

Value lowHalf(OpBuilder &b, Location loc, Value i64) {
  return arith::TruncIOp::create(b, loc, b.getI32Type(), i64);
}

Value highHalf(OpBuilder &b, Location loc, Value i64) {
  Value shift = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(32));
  return lowHalf(b, loc, arith::ShRUIOp::create(b, loc, i64, shift));
}

/// The round keys of Philox4x32-10 for key (k0, k1): round r uses
/// (k0 + r * kWeyl0, k1 + r * kWeyl1) mod 2^32. They depend only on the
/// seed, so they are computed once outside the element loop.
SmallVector<std::pair<Value, Value>> roundKeys(OpBuilder &b, Location loc,
                                               Value k0, Value k1) {
  Value weyl0 = i32Constant(b, loc, kWeyl0);
  Value weyl1 = i32Constant(b, loc, kWeyl1);
  SmallVector<std::pair<Value, Value>> keys = {{k0, k1}};
  for (int r = 1; r < kRounds; ++r) {
    auto [prev0, prev1] = keys.back();
    keys.push_back({arith::AddIOp::create(b, loc, prev0, weyl0),
                    arith::AddIOp::create(b, loc, prev1, weyl1)});
  }
  return keys;
}

/// Word 0 of Philox4x32-10 of `ctr` under the precomputed round keys, with
/// `mul0` and `mul1` the constants kMul0 and kMul1. A
/// round maps (c0, c1, c2, c3) to (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2),
/// hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)); the last round only needs word 0.
Value philoxWord0(OpBuilder &b, Location loc, std::array<Value, 4> ctr,
                  ArrayRef<std::pair<Value, Value>> keys, Value mul0,
                  Value mul1) {
  for (int r = 0; r < kRounds; ++r) {
    auto [k0, k1] = keys[r];
    auto p1 = arith::MulUIExtendedOp::create(b, loc, mul1, ctr[2]);
    Value word0 = arith::XOrIOp::create(
        b, loc, arith::XOrIOp::create(b, loc, p1.getHigh(), ctr[1]), k0);
    if (r + 1 == kRounds)
      return word0;
    auto p0 = arith::MulUIExtendedOp::create(b, loc, mul0, ctr[0]);
    Value word2 = arith::XOrIOp::create(
        b, loc, arith::XOrIOp::create(b, loc, p0.getHigh(), ctr[3]), k1);
    ctr = {word0, p1.getLow(), word2, p0.getLow()};
  }
  llvm_unreachable("Philox has at least one round");
}

/// out[e] = keep(e) ? x[e] * f32(1 / (1 - rate)) : 0. The keep test
/// uniformFloat(w) >= rate, with uniformFloat(w) = (w >> 8) * 2^-24 exact,
/// is done in integers as (w >> 8) >= ceil(rate * 2^24): the same answer as
/// comparing the exact values, whatever float type `rate` were rounded to.
struct DropoutLowering : OpConversionPattern<DropoutOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(DropoutOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), rng = adaptor.getRng();
    double rate = op.getRate().convertToDouble();
    // Every element is kept and scaled by exactly 1.
    if (rate == 0.0) {
      rewriter.replaceOp(op, x);
      return success();
    }
    auto type = cast<RankedTensorType>(x.getType());
    unsigned rank = type.getRank();

    Value seed = tensor::ExtractOp::create(
        rewriter, loc, rng,
        ValueRange{arith::ConstantIndexOp::create(rewriter, loc, 0)});
    Value step = tensor::ExtractOp::create(
        rewriter, loc, rng,
        ValueRange{arith::ConstantIndexOp::create(rewriter, loc, 1)});
    SmallVector<std::pair<Value, Value>> keys =
        roundKeys(rewriter, loc, lowHalf(rewriter, loc, seed),
                  highHalf(rewriter, loc, seed));
    Value ctr2 = lowHalf(rewriter, loc, step);
    Value ctr3 =
        i32Constant(rewriter, loc, static_cast<uint32_t>(op.getOpId()));
    auto threshold = static_cast<uint32_t>(std::ceil(std::ldexp(rate, 24)));
    Value keepFrom = i32Constant(rewriter, loc, threshold);
    Value scale = arith::ConstantOp::create(
        rewriter, loc, rewriter.getF32FloatAttr(float(1.0 / (1.0 - rate))));
    Value zero =
        arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    Value mul0 = i32Constant(rewriter, loc, kMul0);
    Value mul1 = i32Constant(rewriter, loc, kMul1);
    Value eight = i32Constant(rewriter, loc, 8);
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    // The size of dimension 0 does not enter the linear index.
    SmallVector<Value> dims(rank);
    for (unsigned i = 1; i < rank; ++i)
      dims[i] = getValueOrCreateConstantIndexOp(rewriter, loc, sizes[i]);

    Value init = emptyTensor(rewriter, loc, sizes, rewriter.getF32Type());
    AffineMap id = rewriter.getMultiDimIdentityMap(rank);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{init.getType()}, ValueRange{x},
        ValueRange{init}, ArrayRef<AffineMap>{id, id}, iterators(rank),
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          // Row-major linear index, e = ((i0 * d1 + i1) * d2 + i2) ...
          Value e;
          for (unsigned i = 0; i < rank; ++i) {
            Value idx = linalg::IndexOp::create(b, nloc, i);
            e = e ? arith::AddIOp::create(
                        b, nloc, arith::MulIOp::create(b, nloc, e, dims[i]),
                        idx)
                        .getResult()
                  : idx;
          }
          if (!e)
            e = arith::ConstantIndexOp::create(b, nloc, 0);
          Value e64 = arith::IndexCastUIOp::create(b, nloc, b.getI64Type(), e);
          Value word = philoxWord0(
              b, nloc,
              {lowHalf(b, nloc, e64), highHalf(b, nloc, e64), ctr2, ctr3}, keys,
              mul0, mul1);
          Value top24 = arith::ShRUIOp::create(b, nloc, word, eight);
          Value keep = arith::CmpIOp::create(b, nloc, arith::CmpIPredicate::uge,
                                             top24, keepFrom);
          Value scaled = arith::MulFOp::create(b, nloc, args[0], scale);
          linalg::YieldOp::create(
              b, nloc,
              arith::SelectOp::create(b, nloc, keep, scaled, zero).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

void mlir::st::populateStDropoutLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<DropoutLowering>(patterns.getContext());
}
