//===- TensorCores.cpp - The attention kernels' tensor-core products ------===//
//
// KernelEmitter's matrix products: mma.sync with ldmatrix fragments (bf16,
// f16), tf32 mma.sync with scalar shared loads (f32), and warpgroup MMA
// with shared-memory descriptors (Wgmma.h), singly or in independent pairs.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

std::array<Value, 4> KernelEmitter::mma(ArrayRef<Value> a, ArrayRef<Value> bv,
                                        const std::array<Value, 4> &c) {
  auto type =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  NVVM::MMATypes pt = isTf32()   ? NVVM::MMATypes::tf32
                      : isBf16() ? NVVM::MMATypes::bf16
                                 : NVVM::MMATypes::f16;
  Value r = NVVM::MmaOp::create(
      b, loc, type, a, bv, ValueRange(c),
      ArrayRef<int64_t>{16, 8, isTf32() ? 8 : 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{pt, pt},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  std::array<Value, 4> out;
  for (int64_t e = 0; e < 4; ++e)
    out[e] = LLVM::ExtractValueOp::create(b, loc, r, ArrayRef<int64_t>{e});
  return out;
}

std::array<Value, 4> KernelEmitter::ldmatrix(Value tile, Value row, Value col,
                                             bool transpose) {
  Value r = nvgpu::LdMatrixOp::create(b, loc, VectorType::get({4, 2}, elt),
                                      tile, ValueRange{curStage, row, col},
                                      b.getBoolAttr(transpose),
                                      b.getI32IntegerAttr(4));
  std::array<Value, 4> out;
  for (int64_t i = 0; i < 4; ++i)
    out[i] =
        operand(vector::ExtractOp::create(b, loc, r, ArrayRef<int64_t>{i}));
  return out;
}

Frags KernelEmitter::scoresShared(const RowOperand &op, Value tile) {
  if (isTf32())
    return scoresSharedTf32(op.frags, tile);
  if (useWgmma)
    return scoresWgmma(op, tile);
  ArrayRef<std::array<Value, 4>> a = op.frags;
  Frags s;
  Value l8 = m.rem(lane, m.c(8)), q8 = m.div(lane, m.c(8));
  for (int64_t nt = 0; nt < keyTile / 8; ++nt) {
    std::array<Value, 4> c = {f(0), f(0), f(0), f(0)};
    Value row = m.add(m.c(nt * 8), l8);
    for (int64_t ks = 0; ks < d / 16; ks += 2) {
      auto x =
          ldmatrix(tile, row, m.add(m.c(ks * 16), m.mul(q8, m.c(8))), false);
      c = mma(a[ks], {x[0], x[1]}, c);
      c = mma(a[ks + 1], {x[2], x[3]}, c);
    }
    s.push_back(c);
  }
  return s;
}

void KernelEmitter::accumulateShared(Frags &acc, const Frags &p, Value tile) {
  if (isTf32())
    return accumulateSharedTf32(acc, p, tile);
  if (useWgmma)
    return accumulateWgmma(acc, p, tile);
  Value l8 = m.rem(lane, m.c(8));
  Value half = m.rem(m.div(lane, m.c(8)), m.c(2));
  Value pairSel = m.div(lane, m.c(16));
  for (int64_t kk = 0; kk < keyTile / 16; ++kk) {
    Value a[4] = {packF32(p[2 * kk][0], p[2 * kk][1]),
                  packF32(p[2 * kk][2], p[2 * kk][3]),
                  packF32(p[2 * kk + 1][0], p[2 * kk + 1][1]),
                  packF32(p[2 * kk + 1][2], p[2 * kk + 1][3])};
    Value row = m.add(m.c(kk * 16), m.add(m.mul(half, m.c(8)), l8));
    for (int64_t dt = 0; dt < d / 8; dt += 2) {
      Value col = m.mul(m.add(m.c(dt), pairSel), m.c(8));
      auto x = ldmatrix(tile, row, col, true);
      acc[dt] = mma(a, {x[0], x[1]}, acc[dt]);
      acc[dt + 1] = mma(a, {x[2], x[3]}, acc[dt + 1]);
    }
  }
}

Value KernelEmitter::sharedAddress(Value tile, Value byteOffset) {
  Value addr = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, tile);
  if (byteOffset)
    addr = m.add(addr, byteOffset);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), addr);
}

Value KernelEmitter::stageAddress(Value tile) {
  if (cast<MemRefType>(tile.getType()).getDimSize(0) == 1)
    return sharedAddress(tile);
  int64_t stageBytes = keyTile * d * (elt.getIntOrFloatBitWidth() / 8);
  return sharedAddress(tile, m.mul(curStage, m.c(stageBytes)));
}

KernelEmitter::WgmmaOperands KernelEmitter::scoresOperands(const RowOperand &a,
                                                           Value tile) {
  WgmmaOperands w;
  w.transB = false;
  // A (the block's 64 rows) and X (keyTile rows) are both K-major tiles
  // of d columns.
  ga::TileLayout aLayout = rowLayout(), layout = tileLayout();
  Value aDesc0 = ga::matrixDescriptor(b, loc, sharedAddress(a.tile),
                                      aLayout.kMajorBits());
  Value desc0 =
      ga::matrixDescriptor(b, loc, stageAddress(tile), layout.kMajorBits());
  for (int64_t ks = 0; ks < d / 16; ++ks) {
    w.aDesc.push_back(advance(aDesc0, aLayout.kMajorStep(ks)));
    w.desc.push_back(advance(desc0, layout.kMajorStep(ks)));
  }
  // Zero-based: the product overwrites (scale-d = 0 on its first step).
  w.acc.assign(keyTile / 2, f(0));
  w.fresh = true;
  return w;
}

std::array<Value, 4> KernelEmitter::packAStep(const Frags &p, int64_t kk) {
  return {asI32(packF32(p[2 * kk][0], p[2 * kk][1])),
          asI32(packF32(p[2 * kk][2], p[2 * kk][3])),
          asI32(packF32(p[2 * kk + 1][0], p[2 * kk + 1][1])),
          asI32(packF32(p[2 * kk + 1][2], p[2 * kk + 1][3]))};
}

PackedA KernelEmitter::packA(const Frags &p) {
  PackedA a;
  for (int64_t kk = 0; kk < int64_t(p.size()) / 2; ++kk)
    a.steps.push_back(packAStep(p, kk));
  return a;
}

KernelEmitter::WgmmaOperands KernelEmitter::accumulateOperandsWith(
    const Frags &acc, Value tile,
    function_ref<std::array<Value, 4>(int64_t)> aStep) {
  WgmmaOperands w;
  w.transB = true;
  ga::TileLayout layout = tileLayout();
  Value desc0 =
      ga::matrixDescriptor(b, loc, stageAddress(tile), layout.mnMajorBits());
  for (int64_t kk = 0; kk < keyTile / 16; ++kk) {
    w.a.push_back(aStep(kk));
    w.desc.push_back(advance(desc0, layout.mnMajorStep(kk)));
  }
  flatten(acc, w.acc);
  return w;
}

SmallVector<Frags> KernelEmitter::runWgmma(ArrayRef<WgmmaOperands> ops) {
  SmallVector<ga::WarpgroupProduct> products;
  for (const WgmmaOperands &w : ops)
    products.push_back(w.product());
  SmallVector<Frags> out;
  for (auto &acc : ga::warpgroupMmas(b, loc, products, isBf16()))
    out.push_back(unflatten(acc, acc.size() / 4));
  return out;
}

SmallVector<Frags> KernelEmitter::stepWgmma(ArrayRef<WgmmaOperands> ops,
                                            int64_t pending,
                                            ArrayRef<Frags> inFlight,
                                            bool passTurn) {
  SmallVector<ga::WarpgroupProduct> products;
  for (const WgmmaOperands &w : ops)
    products.push_back(w.product());
  SmallVector<SmallVector<Value>> flat(inFlight.size());
  SmallVector<ValueRange> carried;
  for (auto [f, out] : llvm::zip(inFlight, flat)) {
    flatten(f, out);
    carried.push_back(out);
  }
  SmallVector<Frags> out;
  ga::WarpgroupStep step{products, pending, carried};
  if (passTurn) {
    // Warpgroup w passes the turn to 1 - w: named barrier 6 - w.
    step.arriveAt = narrow(m.sub(m.c(6), wg));
    step.arriveThreads = 2 * kThreads;
  }
  for (auto &acc : ga::warpgroupStep(b, loc, step, isBf16()))
    out.push_back(unflatten(acc, acc.size() / 4));
  return out;
}

std::pair<Frags, Frags> KernelEmitter::scoresPair(const RowOperand &a0,
                                                  Value tile0,
                                                  const RowOperand &a1,
                                                  Value tile1) {
  if (!useWgmma)
    return {scoresShared(a0, tile0), scoresShared(a1, tile1)};
  auto out = runWgmma({scoresOperands(a0, tile0), scoresOperands(a1, tile1)});
  return {out[0], out[1]};
}

void KernelEmitter::accumulatePair(Frags &acc0, const Frags &p0, Value tile0,
                                   Frags &acc1, const Frags &p1, Value tile1) {
  if (!useWgmma) {
    accumulateShared(acc0, p0, tile0);
    accumulateShared(acc1, p1, tile1);
    return;
  }
  auto out = runWgmma({accumulateOperands(acc0, p0, tile0),
                       accumulateOperands(acc1, p1, tile1)});
  acc0 = out[0];
  acc1 = out[1];
}

Frags KernelEmitter::scoresSharedTf32(ArrayRef<std::array<Value, 4>> a,
                                      Value tile) {
  Frags s;
  for (int64_t nt = 0; nt < keyTile / 8; ++nt) {
    std::array<Value, 4> c = {f(0), f(0), f(0), f(0)};
    Value row = m.add(m.c(nt * 8), g);
    for (int64_t ks = 0; ks < d / 8; ++ks) {
      Value b0 = sharedTf32(tile, row, m.add(m.c(ks * 8), t));
      Value b1 = sharedTf32(tile, row, m.add(m.c(ks * 8 + 4), t));
      c = mma(a[ks], {b0, b1}, c);
    }
    s.push_back(c);
  }
  return s;
}

void KernelEmitter::accumulateSharedTf32(Frags &acc, const Frags &p,
                                         Value tile) {
  Value lane32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), lane);
  Value t32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), t);
  auto ci = [&](int32_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  };
  // Source lanes: g * 4 + t / 2 (column t) and that + 2 (column t + 4).
  Value src1 =
      arith::AddIOp::create(b, loc, arith::SubIOp::create(b, loc, lane32, t32),
                            arith::ShRUIOp::create(b, loc, t32, ci(1)));
  Value src2 = arith::AddIOp::create(b, loc, src1, ci(2));
  Value odd = m.cmp(arith::CmpIPredicate::eq, m.rem(t, m.c(2)), m.c(1));
  auto fetch = [&](Value lo, Value hi, Value src) {
    Value x0 =
        gpu::ShuffleOp::create(b, loc, lo, src, ci(32), gpu::ShuffleMode::IDX)
            .getShuffleResult();
    Value x1 =
        gpu::ShuffleOp::create(b, loc, hi, src, ci(32), gpu::ShuffleMode::IDX)
            .getShuffleResult();
    return tf32(select(odd, x1, x0));
  };
  for (int64_t kk = 0; kk < keyTile / 8; ++kk) {
    const auto &c = p[kk];
    Value a[4] = {fetch(c[0], c[1], src1), fetch(c[2], c[3], src1),
                  fetch(c[0], c[1], src2), fetch(c[2], c[3], src2)};
    Value r0 = m.add(m.c(kk * 8), t), r1 = m.add(m.c(kk * 8 + 4), t);
    for (int64_t dt = 0; dt < d / 8; ++dt) {
      Value col = m.add(m.c(dt * 8), g);
      Value b0 = sharedTf32(tile, r0, col);
      Value b1 = sharedTf32(tile, r1, col);
      acc[dt] = mma(a, {b0, b1}, acc[dt]);
    }
  }
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
