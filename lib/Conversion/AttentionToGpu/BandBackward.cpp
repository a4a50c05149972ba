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

/// dQ's share of a pair, dS K_j: A the dS tile (K-major, 64 x 64), B the
/// key tile's row operand read MN-major (keys x d), from zero.
static KernelEmitter::WgmmaOperands dsKeyProduct(KernelEmitter &k,
                                                 Value keyTile) {
  KernelEmitter::WgmmaOperands w;
  w.transB = true;
  w.fresh = true;
  w.acc.assign(k.d / 2, k.f(0));
  ga::TileLayout aLayout{kBlockRows, kBlockRows}, bLayout = k.rowLayout();
  Value a0 = ga::matrixDescriptor(k.b, k.loc, k.sharedAddress(k.dsTile),
                                  aLayout.kMajorBits());
  Value b0 = ga::matrixDescriptor(k.b, k.loc, k.sharedAddress(keyTile),
                                  bLayout.mnMajorBits());
  for (int64_t s = 0; s < kBlockRows / 16; ++s) {
    w.aDesc.push_back(k.advance(a0, aLayout.kMajorStep(s)));
    w.desc.push_back(k.advance(b0, bLayout.mnMajorStep(s)));
  }
  return w;
}

int64_t bandBackwardCarries(const ga::GpuPart &part, int64_t d, Type elt) {
  const lay::Factor &f = part.factor;
  if (part.queryView.kind != ga::ViewKind::Identity ||
      part.keyView.kind != ga::ViewKind::Identity || !part.excluded.empty() ||
      f.getKind() != lay::FactorKind::Band || f.isDenseCausal())
    return 0;
  int64_t span = (f.getPeriod() + 62) / kBlockRows + 1;
  // What KernelEmitter::begin gives the kernel: two stages of Q and dO with
  // their statistics, K and V as row operands, the dS tile and the
  // carries, aligned.
  int64_t rowBytes = d * (elt.getIntOrFloatBitWidth() / 8);
  int64_t shared =
      KernelEmitter::stagedBytes(rowBytes, kBlockRows, 2, 2, /*rowStats=*/true,
                                 /*rowOperands=*/2, /*warpgroups=*/1,
                                 /*ticketSlot=*/false) +
      KernelEmitter::bandCarryBytes(d, elt, span - 1) + 1024;
  return span > 1 && shared <= kMaxDynamicShared ? span - 1 : 0;
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
  int64_t dTiles = k.d / 8, values = k.d / 2;
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
              // dS K_j is issued with dK's product, whatever the query
              // tile (a branch would hold dV's product in flight across
              // it); only the segment's own tiles keep it.
              Frags share;
              dkvUpdate(
                  k, kc, kf, vf, k.smem[0], k.smem[1], qt, dk, dv,
                  [&](const Frags &ds) {
                    storeDsTransposed(k, ds);
                    // Every thread's dS stores, then the tensor cores
                    // read them.
                    ga::fenceProxyAsyncShared(b, loc);
                    gpu::BarrierOp::create(b, loc);
                    return dsKeyProduct(k, kf.tile);
                  },
                  &share);
              auto ifOwn = scf::IfOp::create(b, loc, own, false);
              {
                OpBuilder::InsertionGuard guard(b);
                b.setInsertionPointToStart(&ifOwn.getThenRegion().front());
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
                auto summed = [&](int64_t v) {
                  Value x = share[v / 4][v % 4];
                  Value old = k.load(k.carryMem, carryAt(v));
                  return k.select(first, x, k.fadd(old, x));
                };
                auto ends = scf::IfOp::create(b, loc, last, true);
                b.setInsertionPointToStart(&ends.getThenRegion().front());
                SmallVector<Value> sums;
                for (int64_t v = 0; v < values; ++v)
                  sums.push_back(summed(v));
                Frags acc = KernelEmitter::unflatten(sums, dTiles);
                LaneRows rows = k.laneRows(
                    qv, cv, m.add(qt, m.mul(k.warp, m.c(kWarpRows))), len);
                if (lastDq)
                  k.storeRows(acc, rows, factor, k.arg["dq"]);
                else
                  k.storeChain(acc, rows, one, "dq_acc");
                b.setInsertionPointToStart(&ends.getElseRegion().front());
                for (int64_t v = 0; v < values; ++v)
                  memref::StoreOp::create(b, loc, summed(v), k.carryMem,
                                          ValueRange{carryAt(v)});
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
