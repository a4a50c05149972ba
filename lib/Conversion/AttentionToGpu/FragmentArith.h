//===- FragmentArith.h - Scalar and fragment arithmetic of the kernels ---===//
//
// FragmentArith builds the arithmetic that every attention kernel does on
// its registers: f32 constants and operations, 16-bit pairs packed as the
// tensor cores' operands, shuffles within a fragment row's quad of lanes,
// and fragments (Frags: the accumulator tiles of KernelTypes.h) flattened
// into loop-carried values and back. It knows the builder, the element
// type and nothing of the kernel's frame; KernelEmitter (KernelEmitter.h),
// which builds the rest of a kernel, derives from it.
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_FRAGMENTARITH_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_FRAGMENTARITH_H

#include "../AttentionToLoops/PartStructure.h"
#include "KernelTypes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <cmath>

namespace mlir {
namespace st {
namespace gpu_kernels {

using attention_loops::IndexMath;

class FragmentArith {
public:
  FragmentArith(OpBuilder &b, Location loc, Type elt)
      : b(b), loc(loc), m{b, loc}, elt(elt), f32(b.getF32Type()) {}

  bool isBf16() const { return elt.isBF16(); }
  /// f32 inputs run on the tensor cores as tf32 (m16n8k8, operands rounded
  /// to nearest with ties away, cvt.rna.tf32.f32).
  bool isTf32() const { return elt.isF32(); }
  Value tf32(Value x) {
    return NVVM::ConvertFloatToTF32Op::create(
        b, loc, b.getI32Type(), x, NVVM::FPRoundingMode::RNA,
        NVVM::SaturationMode::NONE, false);
  }

  Value f(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }
  Value negInf() { return f(-INFINITY); }

  /// The mma operand type of a pair of elements.
  Value operand(Value pair) {
    auto pairType = cast<VectorType>(pair.getType());
    if (!isBf16()) {
      if (pairType.getElementType() != elt)
        pair =
            vector::BitCastOp::create(b, loc, VectorType::get({2}, elt), pair);
      return pair;
    }
    return asI32(pair);
  }

  /// An mma operand (a pair of 16-bit elements) as the i32 register that
  /// inline PTX takes.
  Value asI32(Value operand) {
    if (operand.getType().isInteger(32))
      return operand;
    Value w = vector::BitCastOp::create(
        b, loc, VectorType::get({1}, b.getI32Type()), operand);
    return vector::ExtractOp::create(b, loc, w, ArrayRef<int64_t>{0});
  }

  /// Elements [idx, idx + 2) of `mem` (4-byte aligned: idx is even).
  Value pairLoad(Value mem, Value idx) {
    auto type = VectorType::get({2}, elt);
    return operand(vector::LoadOp::create(b, loc, type, mem, ValueRange{idx},
                                          false, llvm::MaybeAlign(4)));
  }

  Value pack(Value lo, Value hi) {
    return operand(vector::FromElementsOp::create(
        b, loc, VectorType::get({2}, elt), ValueRange{lo, hi}));
  }
  Value packF32(Value lo, Value hi) {
    return pack(arith::TruncFOp::create(b, loc, elt, lo),
                arith::TruncFOp::create(b, loc, elt, hi));
  }
  Value load(Value mem, Value idx) {
    return memref::LoadOp::create(b, loc, mem, ValueRange{idx});
  }
  Value loadF32(Value mem, Value idx) {
    Value v = load(mem, idx);
    if (v.getType() != f32)
      v = arith::ExtFOp::create(b, loc, f32, v);
    return v;
  }

  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  Value narrow(Value x) {
    return arith::IndexCastOp::create(b, loc, b.getI32Type(), x);
  }
  /// A non-negative i32 as an index (zero-extended).
  Value widen(Value x) {
    return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), x);
  }

  Value shuffleXor(Value v, int32_t offset) {
    return gpu::ShuffleOp::create(b, loc, v, offset, 32, gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  /// Reduces over the four lanes that share a fragment row.
  Value rowReduce(Value v, bool isMax) {
    for (int32_t off : {1, 2}) {
      Value o = shuffleXor(v, off);
      v = isMax ? Value(arith::MaximumFOp::create(b, loc, v, o))
                : Value(arith::AddFOp::create(b, loc, v, o));
    }
    return v;
  }

  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  /// 2^x as one ex2.approx.ftz.f32. math.exp2 lowers to the non-ftz
  /// form, which ptxas wraps in a subnormal range test and two multiplies:
  /// four instructions a score instead of one, on every score of every
  /// tile (the kernels' inner loops are issue-bound). Flushing subnormals
  /// only zeroes probabilities below 2^-126, which no output type keeps.
  Value exp2(Value x) {
    return LLVM::CallIntrinsicOp::create(
               b, loc, f32, b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
               ValueRange{x})
        .getResult(0);
  }
  /// x * y + z, fused (one instruction, one rounding).
  Value fma(Value x, Value y, Value z) {
    return math::FmaOp::create(b, loc, x, y, z);
  }
  /// The largest magnitude among `xs` (0 when there are none).
  Value absMax(ArrayRef<Value> xs) {
    Value mx = f(0);
    for (Value x : xs)
      mx = arith::MaximumFOp::create(b, loc, mx,
                                     math::AbsFOp::create(b, loc, x));
    return mx;
  }
  /// 1 / mx where mx > 0, else 0: the factor that takes values of largest
  /// magnitude mx into [-1, 1] for 16-bit storage over the scale mx (the
  /// chains' rows, the fused band backward's dQ carries).
  Value inverseScale(Value mx) {
    Value has =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, mx, f(0));
    return select(has, arith::DivFOp::create(b, loc, f(1), mx), f(0));
  }
  Value isNegInf(Value x) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x,
                                 negInf());
  }

  Frags zeros(int64_t tiles) {
    Frags z;
    for (int64_t i = 0; i < tiles; ++i)
      z.push_back({f(0), f(0), f(0), f(0)});
    return z;
  }

  /// Flattens fragments into values for loop-carried state, and back.
  static void flatten(const Frags &f, SmallVectorImpl<Value> &out) {
    for (auto &c : f)
      out.append(c.begin(), c.end());
  }
  static SmallVector<Value> flattened(const Frags &f) {
    SmallVector<Value> out;
    flatten(f, out);
    return out;
  }
  static Frags unflatten(ValueRange v, int64_t tiles) {
    Frags f;
    for (int64_t i = 0; i < tiles; ++i)
      f.push_back({v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]});
    return f;
  }

  OpBuilder &b;
  Location loc;
  IndexMath m;
  /// The kernel's element type (bf16, f16, or f32 run as tf32) and f32.
  Type elt, f32;
};

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_FRAGMENTARITH_H
