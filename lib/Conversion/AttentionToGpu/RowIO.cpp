//===- RowIO.cpp - Fragment rows to and from global memory ---------------===//
//
// KernelEmitter's row I/O outside the tile loops: the A fragments of a
// row operand (mma.sync), the accumulator rows of the outputs and of the
// chain between a layout's kernels (KernelEmitter.h, "The chain between
// the kernels of one pass"), 16-bit rows as 16-byte chunks through a
// transpose within each quad of lanes.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

SmallVector<std::array<Value, 4>>
KernelEmitter::rowFragments(Value mem, const LaneRows &rows) {
  SmallVector<std::array<Value, 4>> frags;
  Value off[2] = {m.add(base, m.mul(rows.orig[0], m.c(d))),
                  m.add(base, m.mul(rows.orig[1], m.c(d)))};
  if (isTf32()) {
    // tf32 A fragments per 8-column step: (g, t), (g+8, t), (g, t+4),
    // (g+8, t+4).
    for (int64_t ks = 0; ks < d / 8; ++ks) {
      std::array<Value, 4> a;
      for (int k = 0; k < 4; ++k) {
        Value col = m.add(m.c(ks * 8 + (k / 2) * 4), t);
        a[k] = tf32(load(mem, m.add(off[k % 2], col)));
      }
      frags.push_back(a);
    }
    return frags;
  }
  for (int64_t ks = 0; ks < d / 16; ++ks) {
    std::array<Value, 4> a;
    for (int k = 0; k < 4; ++k) {
      Value col = m.add(m.c(ks * 16 + (k / 2) * 8), m.mul(t, m.c(2)));
      a[k] = pairLoad(mem, m.add(off[k % 2], col));
    }
    frags.push_back(a);
  }
  return frags;
}

std::array<Value, 4> KernelEmitter::quadTranspose(std::array<Value, 4> v) {
  // Two exchange rounds: lanes t and t ^ bit swap the elements whose index
  // differs from their own lane index in `bit`, so that after both lane
  // t's element e is lane e's element t.
  for (int32_t bit : {2, 1}) {
    Value high = m.cmp(arith::CmpIPredicate::ne,
                       m.rem(m.div(t, m.c(bit)), m.c(2)), m.c(0));
    for (int e = 0; e < 4; ++e) {
      if (e & bit)
        continue;
      Value send = select(high, v[e], v[e | bit]);
      Value got = shuffleXor(send, bit);
      Value keepLow = v[e], keepHigh = v[e | bit];
      v[e] = select(high, got, keepLow);
      v[e | bit] = select(high, keepHigh, got);
    }
  }
  return v;
}

Value KernelEmitter::chunkIndex(Value orig, int64_t group) {
  return m.add(base, m.add(m.mul(orig, m.c(d)),
                           m.mul(m.add(m.c(group * 4), t), m.c(8))));
}

void KernelEmitter::storeChunks(ArrayRef<Value> pairs, Value valid, Value orig,
                                Value mem) {
  auto i32 = b.getI32Type();
  Type memElt = cast<MemRefType>(mem.getType()).getElementType();
  SmallVector<std::array<Value, 4>> chunks;
  for (size_t j = 0; j < pairs.size() / 4; ++j) {
    std::array<Value, 4> v;
    for (int e = 0; e < 4; ++e)
      v[e] = vector::ExtractOp::create(
          b, loc,
          vector::BitCastOp::create(b, loc, VectorType::get({1}, i32),
                                    pairs[4 * j + e]),
          int64_t(0));
    chunks.push_back(quadTranspose(v));
  }
  auto ifOp = scf::IfOp::create(b, loc, valid, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  for (auto [j, v] : llvm::enumerate(chunks)) {
    Value words = vector::FromElementsOp::create(
        b, loc, VectorType::get({4}, i32), ValueRange(v));
    Value chunk =
        vector::BitCastOp::create(b, loc, VectorType::get({8}, memElt), words);
    vector::StoreOp::create(b, loc, chunk, mem,
                            ValueRange{chunkIndex(orig, int64_t(j))}, false,
                            llvm::MaybeAlign(16));
  }
}

SmallVector<Value> KernelEmitter::loadChunks(Value orig, Value mem) {
  auto i32 = b.getI32Type();
  Type memElt = cast<MemRefType>(mem.getType()).getElementType();
  auto pairType = VectorType::get({2}, memElt);
  SmallVector<Value> pairs;
  for (int64_t j = 0; j < d / 32; ++j) {
    Value chunk = vector::LoadOp::create(b, loc, VectorType::get({8}, memElt),
                                         mem, ValueRange{chunkIndex(orig, j)},
                                         false, llvm::MaybeAlign(16));
    Value words =
        vector::BitCastOp::create(b, loc, VectorType::get({4}, i32), chunk);
    std::array<Value, 4> v;
    for (int e = 0; e < 4; ++e)
      v[e] = vector::ExtractOp::create(b, loc, words, int64_t(e));
    for (Value w : quadTranspose(v))
      pairs.push_back(vector::BitCastOp::create(
          b, loc, pairType,
          vector::FromElementsOp::create(b, loc, VectorType::get({1}, i32),
                                         ValueRange{w})));
  }
  return pairs;
}

void KernelEmitter::storeRows(const Frags &acc, const LaneRows &rows,
                              Value factor[2], Value mem) {
  Type memElt = cast<MemRefType>(mem.getType()).getElementType();
  if (memElt != f32) {
    auto pairType = VectorType::get({2}, memElt);
    for (int k = 0; k < 2; ++k) {
      SmallVector<Value> pairs;
      for (int64_t dt = 0; dt < d / 8; ++dt)
        pairs.push_back(vector::FromElementsOp::create(
            b, loc, pairType,
            ValueRange{
                arith::TruncFOp::create(b, loc, memElt,
                                        fmul(acc[dt][2 * k], factor[k])),
                arith::TruncFOp::create(b, loc, memElt,
                                        fmul(acc[dt][2 * k + 1], factor[k]))}));
      storeChunks(pairs, rows.valid[k], rows.orig[k], mem);
    }
    return;
  }
  for (int k = 0; k < 2; ++k) {
    auto ifOp = scf::IfOp::create(b, loc, rows.valid[k], false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    for (int64_t dt = 0; dt < d / 8; ++dt) {
      Value lo = fmul(acc[dt][2 * k], factor[k]);
      Value hi = fmul(acc[dt][2 * k + 1], factor[k]);
      if (memElt != f32) {
        lo = arith::TruncFOp::create(b, loc, memElt, lo);
        hi = arith::TruncFOp::create(b, loc, memElt, hi);
      }
      Value pair = vector::FromElementsOp::create(
          b, loc, VectorType::get({2}, memElt), ValueRange{lo, hi});
      vector::StoreOp::create(b, loc, pair, mem,
                              ValueRange{fragIndex(rows.orig[k], dt, 0)}, false,
                              llvm::MaybeAlign(memElt == f32 ? 8 : 4));
    }
  }
}

Frags KernelEmitter::loadRows(const LaneRows &rows, Value mem) {
  Frags acc;
  for (int64_t dt = 0; dt < d / 8; ++dt) {
    std::array<Value, 4> c;
    for (int e = 0; e < 4; ++e)
      c[e] = load(mem, fragIndex(rows.orig[e / 2], dt, e % 2));
    acc.push_back(c);
  }
  return acc;
}

void KernelEmitter::storeChain(const Frags &acc, const LaneRows &rows,
                               Value factor[2], StringRef name) {
  if (!scaledChain())
    return storeRows(acc, rows, factor, arg[name]);
  Type f16 = chainType();
  Value scales = arg[chainScaleName(name)];
  for (int k = 0; k < 2; ++k) {
    // The row's values and its largest magnitude (the row's four lanes,
    // t = 0..3, reduce with shuffles: outside the valid-row guard).
    SmallVector<Value> x;
    Value mx = f(0);
    for (int64_t dt = 0; dt < d / 8; ++dt)
      for (int e = 2 * k; e < 2 * k + 2; ++e) {
        x.push_back(fmul(acc[dt][e], factor[k]));
        mx = arith::MaximumFOp::create(b, loc, mx,
                                       math::AbsFOp::create(b, loc, x.back()));
      }
    mx = rowReduce(mx, true);
    Value inv = inverseScale(mx);
    SmallVector<Value> pairs;
    for (int64_t dt = 0; dt < d / 8; ++dt) {
      Value lo = arith::TruncFOp::create(b, loc, f16, fmul(x[2 * dt], inv));
      Value hi = arith::TruncFOp::create(b, loc, f16, fmul(x[2 * dt + 1], inv));
      pairs.push_back(vector::FromElementsOp::create(
          b, loc, VectorType::get({2}, f16), ValueRange{lo, hi}));
    }
    storeChunks(pairs, rows.valid[k], rows.orig[k], arg[name]);
    auto lead = scf::IfOp::create(b, loc, m.andi(rows.valid[k], t0), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&lead.getThenRegion().front());
    memref::StoreOp::create(b, loc, mx, scales,
                            ValueRange{m.add(rowBase, rows.orig[k])});
  }
}

Frags KernelEmitter::loadChain(const LaneRows &rows, StringRef name) {
  if (!scaledChain())
    return loadRows(rows, arg[name]);
  Value scales = arg[chainScaleName(name)];
  Value scale[2];
  for (int k = 0; k < 2; ++k)
    scale[k] = load(scales, m.add(rowBase, rows.orig[k]));
  Frags acc(d / 8);
  SmallVector<Value> pairs[2] = {loadChunks(rows.orig[0], arg[name]),
                                 loadChunks(rows.orig[1], arg[name])};
  for (int64_t dt = 0; dt < d / 8; ++dt)
    for (int k = 0; k < 2; ++k) {
      Value wide = arith::ExtFOp::create(b, loc, VectorType::get({2}, f32),
                                         pairs[k][dt]);
      for (int64_t i = 0; i < 2; ++i)
        acc[dt][2 * k + i] =
            fmul(vector::ExtractOp::create(b, loc, wide, i), scale[k]);
    }
  return acc;
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
