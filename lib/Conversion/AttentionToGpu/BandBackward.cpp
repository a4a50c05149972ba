//===- BandBackward.cpp - A band part's dQ, dK and dV in one kernel -------===//
//
// The fused band backward (the pass option band-backward; docs/gpu.md,
// "The band's backward as one kernel"): emitBandBackward (Kernels.h).
//
//===----------------------------------------------------------------------===//

#include "BackwardParts.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

/// Writes dS^T (the score accumulators of a key-major tile: key rows 16
/// warp + g (+ 8), query columns 8 nt + 2 t (+ 1)) transposed into the
/// dS tile, row = query, column = key, in the 128-byte swizzle of a K-major
/// A operand (Wgmma.h): element (r, c) at 64 r + ((c / 8) ^ (r % 8)) 8 +
/// c % 8. A warp's 32 stores of one (nt, e) cover four 16-byte chunks of
/// four rows: no two lanes in one bank but the pairs that share a word.
static void storeDsTransposed(KernelEmitter &k, const Frags &ds) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
    for (int e = 0; e < 4; ++e) {
      Value query = m.add(m.c(nt * 8 + e % 2), m.mul(k.t, m.c(2)));
      Value chunk = arith::XOrIOp::create(
          b, loc, m.add(m.mul(k.warp, m.c(2)), m.c(e / 2)),
          m.add(m.mul(k.t, m.c(2)), m.c(e % 2)));
      Value off = m.add(
          m.add(m.mul(query, m.c(kBlockRows)), m.mul(chunk, m.c(8))), k.g);
      memref::StoreOp::create(b, loc,
                              arith::TruncFOp::create(b, loc, k.elt, ds[nt][e]),
                              k.dsTile, ValueRange{m.c(0), off});
    }
}

/// Stores a thread's dQ carry `sums` (its accumulators in fragment order)
/// as f16 over one scale for each of its two rows, the row's largest
/// magnitude among the thread's values (no shuffles: the thread reads its
/// own values back). The f16 values then lie in [-1, 1], each within
/// 2^-12 of that magnitude.
static void storeHalfCarry(KernelEmitter &k, ArrayRef<Value> sums,
                           function_ref<Value(int64_t)> carryAt,
                           function_ref<Value(int)> scaleAt) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  for (int r = 0; r < 2; ++r) {
    SmallVector<int64_t> row;
    SmallVector<Value> xs;
    for (auto [v, x] : llvm::enumerate(sums))
      if (int64_t(v) % 4 / 2 == r) {
        row.push_back(v);
        xs.push_back(x);
      }
    Value mx = k.absMax(xs);
    Value inv = k.inverseScale(mx);
    for (auto [v, x] : llvm::zip(row, xs))
      memref::StoreOp::create(
          b, loc,
          arith::TruncFOp::create(b, loc, b.getF16Type(), k.fmul(x, inv)),
          k.carryMem, ValueRange{carryAt(v)});
    memref::StoreOp::create(b, loc, mx, k.carryScales, ValueRange{scaleAt(r)});
  }
}

/// The accumulators a thread holds of a 64-row product over one atom.
static constexpr int64_t kAtomValues = kAtomCols / 2;

/// dQ's share of a pair in columns [64 a, 64 a + 64) of d, dS K_j[:, atom
/// a]: A the dS tile (K-major, 64 x 64), B atom a of the key tile's row
/// operand read MN-major (keys x 64), from zero.
static KernelEmitter::WgmmaOperands dsKeyProduct(KernelEmitter &k,
                                                 Value keyTile, int64_t a) {
  KernelEmitter::WgmmaOperands w;
  w.transB = true;
  w.fresh = true;
  w.acc.assign(kAtomValues, k.f(0));
  ga::TileLayout aLayout{kBlockRows, kBlockRows}, bLayout = k.rowLayout();
  Value a0 = ga::matrixDescriptor(k.b, k.loc, k.sharedAddress(k.dsTile),
                                  aLayout.kMajorBits());
  // Atoms of the MN-major tile lie 64 rows of 128 bytes apart.
  Value b0 = ga::matrixDescriptor(
      k.b, k.loc,
      k.sharedAddress(keyTile, k.m.c(a * bLayout.rows * kAtomCols *
                                     (k.elt.getIntOrFloatBitWidth() / 8))),
      bLayout.mnMajorBits());
  for (int64_t s = 0; s < kBlockRows / 16; ++s) {
    w.aDesc.push_back(k.advance(a0, aLayout.kMajorStep(s)));
    w.desc.push_back(k.advance(b0, bLayout.mnMajorStep(s)));
  }
  return w;
}

/// The query tiles after its own that a key tile of band part `p` meets
/// (its queries lie within the window after its keys), (w + 62) / 64 for a
/// window of w, where `p` is a bounded band over identity views with no
/// exclusions; otherwise none.
static std::optional<int64_t> bandHalo(const ga::GpuPart &p) {
  const lay::Factor &f = p.factor;
  if (p.queryView.kind != ga::ViewKind::Identity ||
      p.keyView.kind != ga::ViewKind::Identity || !p.excluded.empty() ||
      f.getKind() != lay::FactorKind::Band || f.isDenseCausal())
    return std::nullopt;
  return (f.getPeriod() + kBlockRows - 2) / kBlockRows;
}

BandCarries bandBackwardCarries(const ga::GpuPart &part, int64_t d, Type elt) {
  std::optional<int64_t> halo = bandHalo(part);
  if (!halo || *halo < 1)
    return {};
  int64_t span = *halo + 1;
  // What KernelEmitter::begin gives the kernel: `stages` stages of Q and
  // dO with their statistics, K and V as row operands, the dS tile and
  // the carries, aligned.
  int64_t rowBytes = d * (elt.getIntOrFloatBitWidth() / 8);
  auto shared = [&](bool half) {
    return KernelEmitter::stagedBytes(rowBytes, kBlockRows, half ? 1 : 2,
                                      half ? 1 : 2, /*rowStats=*/true,
                                      /*rowOperands=*/2, /*warpgroups=*/1,
                                      /*ticketSlot=*/false) +
           KernelEmitter::bandCarryBytes(d, elt, span - 1, half) + 1024;
  };
  // Two blocks an SM, each with 1 KiB reserved.
  int64_t twoAnSm = kSmSharedBytes / 2 - 1024;
  for (bool half : {false, true})
    if (shared(half) <= twoAnSm)
      return {span - 1, half};
  if (shared(false) <= kMaxDynamicShared)
    return {span - 1, false};
  return {};
}

void emitBandBackward(KernelEmitter &k, const ga::GpuPart &part,
                      int64_t segment, bool lastDq, ArrayRef<ga::View> later) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  using P = arith::CmpIPredicate;
  // The query tiles a key tile meets; one fewer carries (the walk of a
  // key tile's query tiles from the last finishes one before it starts
  // one).
  const int64_t slots = k.bandCarrySlots, span = slots + 1, tile = kBlockRows;
  assert(k.useWgmma && k.warpgroups == 1 && !k.producerWarpgroup &&
         k.keyTile == tile && slots > 0 && segment > 0 &&
         "a one-warpgroup wgmma kernel of 64-key tiles");
  const ga::View &kv = part.keyView, &qv = part.queryView;
  assert(kv.kind == ga::ViewKind::Identity &&
         qv.kind == ga::ViewKind::Identity && "a band part");
  assert(k.d % kAtomCols == 0 && "whole swizzle atoms");
  int64_t dTiles = k.d / 8, values = k.d / 2, atoms = k.d / kAtomCols;
  Value cv, seg;
  std::tie(cv, seg) = k.tileOf(kv, /*reversed=*/false);
  Value len = k.viewLength(kv, cv);
  Value tiles = m.ceilDiv(len, m.c(tile));
  Value k0 = m.mul(seg, m.c(segment));
  auto live = scf::IfOp::create(b, loc, m.cmp(P::slt, k0, tiles), false);
  b.setInsertionPointToStart(&live.getThenRegion().front());
  Value kEnd = m.min(m.add(k0, m.c(segment)), tiles);
  // o and lse come from the forward.
  k.awaitPredecessors();

  // delta = rowsum(dO * O) and lse2 of the query tiles that the segment's
  // key tiles meet, [k0, kEnd + span - 1): stored for the walk's staging
  // (stageRowStats) and the column kernels. The next segment's block
  // stores the same values for its first span - 1 tiles.
  Value qEnd = m.min(m.add(kEnd, m.c(span - 1)), tiles);
  scf::ForOp::create(
      b, loc, k0, qEnd, m.c(1), ValueRange(),
      [&](OpBuilder &, Location, Value q, ValueRange) {
        Value r0 = m.add(m.mul(q, m.c(tile)), m.mul(k.warp, m.c(kWarpRows)));
        LaneRows rows = k.laneRows(qv, cv, r0, len);
        std::array<Value, 2> dots = rowDots(k, "o", "dout", qv, cv, r0, len);
        for (int r = 0; r < 2; ++r) {
          Value idx = m.add(k.rowBase, rows.orig[r]);
          Value lse2 = minusLog2Lse(k, k.load(k.arg["lse"], idx));
          storeRowStats(k, rows, r, dots[r], lse2, "delta", "lse2",
                        [&] { return idx; });
        }
        scf::YieldOp::create(b, loc);
      });
  // The stores are performed at GPU scope before the walk's copies (L2)
  // read them.
  ga::sideEffectAsm(b, loc, Type(), {}, "fence.acq_rel.gpu;", "");
  gpu::BarrierOp::create(b, loc);

  // The walk: the segment's key tiles from the last, then its halo, the
  // span - 1 key tiles before k0, for the dQ of its own query tiles.
  PartStructure ps = structureOf(m, part, len);
  Value jLow = m.max(m.sub(k0, m.c(span - 1)), m.c(0));
  Value ownLo = m.mul(k0, m.c(tile)), ownHi = m.mul(kEnd, m.c(tile));
  Value one[2] = {k.f(1), k.f(1)}, factor[2] = {k.f(k.scale), k.f(k.scale)};
  scf::ForOp::create(
      b, loc, m.c(0), m.sub(kEnd, jLow), m.c(1), ValueRange(),
      [&](OpBuilder &, Location, Value it, ValueRange) {
        Value j = m.sub(m.sub(kEnd, m.c(1)), it);
        Value halo = m.cmp(P::slt, j, k0);
        Value row0 = m.mul(j, m.c(tile));
        Value r0 = m.add(row0, m.mul(k.warp, m.c(kWarpRows)));
        LaneRows keys = k.laneRows(kv, cv, r0, len);
        SmallVector<RowOperand> ops =
            k.rowOperands({"k", "v"}, keys, kv, cv, row0, len);
        const RowOperand &kf = ops[0], &vf = ops[1];
        KeyColumns kc = keyColumns(k, part, ps, cv, len, len, keys, row0, r0);
        Value lo, hi;
        std::tie(lo, hi) = columnRange(k, ps, row0, tile, len, true);
        // A halo key tile meets the segment's own query tiles only.
        Value qlo = k.select(halo, m.max(lo, ownLo), lo);
        Value qhi = k.select(halo, m.min(hi, ownHi), hi);
        SmallVector<Value> state;
        KernelEmitter::flatten(k.zeros(dTiles), state);
        KernelEmitter::flatten(k.zeros(dTiles), state);
        state = k.tileLoop(
            qlo, qhi, lo, hi, qv, cv, kc.lastRow, k.arg["q"], k.arg["dout"],
            state,
            [&](Value qt, ValueRange st) -> SmallVector<Value> {
              Frags dk = KernelEmitter::unflatten(st, dTiles);
              Frags dv =
                  KernelEmitter::unflatten(st.drop_front(4 * dTiles), dTiles);
              Value i = m.div(qt, m.c(tile));
              // The query tile is the segment's own (its dQ is this
              // block's): i >= k0 always.
              Value own = m.cmp(P::slt, i, kEnd);
              // dS^T goes to its tile while dV's product runs, whatever
              // the query tile (a branch there would hold dV's product in
              // flight across it); the last pair's dQ products have
              // completed, and the walk's barrier after it.
              dkvUpdate(k, kc, kf, vf, k.smem[0], k.smem[1], qt, dk, dv,
                        [&](const Frags &ds) { storeDsTransposed(k, ds); });
              // dQ_i += dS K_j, for the segment's own query tiles only,
              // once dK's and dV's products have completed, one atom of
              // 64 columns of d at a time: dK, dV and 32 accumulators are
              // live, not 64 (at d = 128, ptxas spilled 412 bytes with the
              // whole product issued beside dK's).
              auto ifOwn = scf::IfOp::create(b, loc, own, false);
              {
                OpBuilder::InsertionGuard guard(b);
                b.setInsertionPointToStart(&ifOwn.getThenRegion().front());
                // Every thread's dS stores, then the tensor cores read
                // them.
                ga::fenceProxyAsyncShared(b, loc);
                gpu::BarrierOp::create(b, loc);
                // The tile's contributions come from key tiles i down to
                // its first key's tile: the first starts its carry, the
                // last finishes it.
                Value slot = m.rem(i, m.c(slots));
                Value first = m.cmp(P::eq, j, i);
                Value lowest = m.div(ps.rowInterval(qt).first, m.c(tile));
                Value last = m.cmp(P::eq, j, lowest);
                auto carryAt = [&](int64_t v) {
                  return m.add(m.mul(m.add(m.mul(slot, m.c(values)), m.c(v)),
                                     m.c(kThreads)),
                               k.wtid);
                };
                // f16 carries: the scale of atom a's row r of the thread
                // (value v's row is v % 4 / 2, as in the fragments).
                auto scaleAt = [&](int64_t a, int r) {
                  Value at = m.add(m.mul(slot, m.c(atoms)), m.c(a));
                  return m.add(
                      m.mul(m.add(m.mul(at, m.c(2)), m.c(r)), m.c(kThreads)),
                      k.wtid);
                };
                // Atom a's product added to its carry (or starting it).
                auto atomSums = [&](int64_t a) {
                  Frags share = k.runWgmma({dsKeyProduct(k, kf.tile, a)})[0];
                  Value scale[2];
                  if (k.bandCarryHalf)
                    for (int r = 0; r < 2; ++r)
                      scale[r] = k.load(k.carryScales, scaleAt(a, r));
                  SmallVector<Value> sums;
                  for (int64_t v = 0; v < kAtomValues; ++v) {
                    Value x = share[v / 4][v % 4];
                    Value old =
                        k.loadF32(k.carryMem, carryAt(a * kAtomValues + v));
                    if (k.bandCarryHalf)
                      old = k.fmul(old, scale[v % 4 / 2]);
                    sums.push_back(k.select(first, x, k.fadd(old, x)));
                  }
                  return sums;
                };
                auto ends = scf::IfOp::create(b, loc, last, true);
                b.setInsertionPointToStart(&ends.getThenRegion().front());
                SmallVector<Value> sums;
                for (int64_t a = 0; a < atoms; ++a)
                  sums.append(atomSums(a));
                Frags acc = KernelEmitter::unflatten(sums, dTiles);
                LaneRows rows = k.laneRows(
                    qv, cv, m.add(qt, m.mul(k.warp, m.c(kWarpRows))), len);
                if (lastDq)
                  k.storeRows(acc, rows, factor, k.arg["dq"]);
                else
                  k.storeChain(acc, rows, one, "dq_acc");
                b.setInsertionPointToStart(&ends.getElseRegion().front());
                for (int64_t a = 0; a < atoms; ++a) {
                  SmallVector<Value> part = atomSums(a);
                  auto at = [&](int64_t v) {
                    return carryAt(a * kAtomValues + v);
                  };
                  if (k.bandCarryHalf)
                    storeHalfCarry(k, part, at,
                                   [&](int r) { return scaleAt(a, r); });
                  else
                    for (auto [v, x] : llvm::enumerate(part))
                      memref::StoreOp::create(b, loc, x, k.carryMem,
                                              ValueRange{at(v)});
                }
              }
              SmallVector<Value> next;
              KernelEmitter::flatten(dk, next);
              KernelEmitter::flatten(dv, next);
              return next;
            },
            /*longWalk=*/false, /*descending=*/true);
        Frags dk = KernelEmitter::unflatten(state, dTiles);
        Frags dv = KernelEmitter::unflatten(
            ValueRange(state).drop_front(4 * dTiles), dTiles);
        auto ownKeys = scf::IfOp::create(b, loc, m.noti(halo), false);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(&ownKeys.getThenRegion().front());
          storeKeyRows(k, dk, dv, keys, later);
        }
        // Every thread is done with the key tile's K and V (and the dS
        // tile) before the next key tile's copies.
        gpu::BarrierOp::create(b, loc);
        scf::YieldOp::create(b, loc);
      });
  k.releaseDependents();
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
