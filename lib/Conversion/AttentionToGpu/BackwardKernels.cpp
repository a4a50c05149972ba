//===- BackwardKernels.cpp - The backward kernels: dQ, dK and dV ---------===//
//
// dQ per query tile (the first kernel of a head group also computes delta
// = rowsum(dO * O) and lse2 for the others), and dK/dV per key tile over
// the transposed structure (PartStructure's column intervals), both
// recomputing P from the forward's log-sum-exp; the block's rows and key
// ranges come from Walks.h.
//
//===----------------------------------------------------------------------===//

#include "BackwardParts.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

/// The two score products of a backward tile, S = A0 . X0^T and dP = A1 .
/// X1^T with X0, X1 the staged tiles. With wgmma they are two commit
/// groups and only S is waited for: dP comes back in flight (Wgmma.h,
/// WarpgroupStep), so the caller's exponentials overlap its product and a
/// later step must complete it. The kernels' loops had each product wait
/// for completion, and ncu put the backward's tensor pipe at 44-49% busy:
/// the block's arithmetic and its products took turns.
static std::pair<Frags, Frags> pipelineScores(KernelEmitter &k,
                                              const RowOperand &a0, Value x0,
                                              const RowOperand &a1, Value x1) {
  if (!k.useWgmma)
    return k.scoresPair(a0, x0, a1, x1);
  SmallVector<Frags> r =
      k.stepWgmma({k.scoresOperands(a0, x0), k.scoresOperands(a1, x1)}, 1);
  return {r[0], r[1]};
}

Value minusLog2Lse(KernelEmitter &k, Value lse) {
  return arith::MinimumFOp::create(k.b, k.loc, k.fmul(lse, k.f(-kLog2e)),
                                   k.f(kHugeLse));
}

std::array<Value, 2> rowDots(KernelEmitter &k, StringRef x, StringRef y,
                             const ga::View &v, Value c, Value r0, Value len) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  int64_t chunk = 16 / (k.elt.getIntOrFloatBitWidth() / 8);
  int64_t chunksPerRow = k.d / chunk;
  assert(chunksPerRow % 2 == 0 && "two lanes a row");
  Value last = m.max(m.sub(len, m.c(1)), m.c(0));
  Value row = m.min(m.add(r0, m.div(k.lane, m.c(2))), last);
  Value half = m.rem(k.lane, m.c(2));
  Value off = m.add(k.base, m.mul(k.toOriginal(v, c, row), m.c(k.d)));
  auto vecType = VectorType::get({chunk}, k.elt);
  auto wideType = VectorType::get({chunk}, k.f32);
  Value sum = k.f(0);
  for (int64_t j = 0; j < chunksPerRow / 2; ++j) {
    Value idx = m.add(off, m.mul(m.add(m.c(2 * j), half), m.c(chunk)));
    auto load = [&](StringRef name) -> Value {
      Value e =
          vector::LoadOp::create(b, loc, vecType, k.arg[name], ValueRange{idx},
                                 false, llvm::MaybeAlign(16));
      return k.elt == k.f32 ? e : arith::ExtFOp::create(b, loc, wideType, e);
    };
    Value prod = arith::MulFOp::create(b, loc, load(x), load(y));
    sum = k.fadd(sum, vector::ReductionOp::create(
                          b, loc, vector::CombiningKind::ADD, prod));
  }
  sum = k.fadd(sum, k.shuffleXor(sum, 1));
  Value src = k.narrow(m.mul(k.g, m.c(2)));
  std::array<Value, 2> out;
  for (int r = 0; r < 2; ++r)
    out[r] = gpu::ShuffleOp::create(
                 b, loc, sum, arith::AddIOp::create(b, loc, src, k.i32(16 * r)),
                 k.i32(32), gpu::ShuffleMode::IDX)
                 .getShuffleResult();
  return out;
}

/// The pipelined walk of a dQ consumer warpgroup fed by a producer
/// (`pipelined-dq`, with `dq-producer`): each tile issues S_j and dP_j and
/// then the update dQ += dS_{j-1} K_{j-1}, computes P_j while dP_j and
/// the update run, and dS_j while the update does; tile j - 1's stage is
/// released once its update completes (two stages held, as the pipelined
/// forward's consumers). `dsOf(kt, s, dp, inFlight)` gives the tile's dS
/// from its scores, completing dP (and leaving `inFlight` in flight).
static SmallVector<Value> dqWalkConsumer(
    KernelEmitter &k, const KeyRange &kr, const RowOperand &qf,
    const RowOperand &dof, ArrayRef<Value> state,
    function_ref<std::pair<Frags, SmallVector<Frags>>(Value, Frags, Frags,
                                                      ArrayRef<Frags>)>
        dsOf) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  int64_t dTiles = k.d / 8, kt = k.keyTile;
  Value lo = kr.lo, hi = m.max(kr.lo, kr.hi);
  Value first = k.claimTiles(lo, hi);
  auto walk = scf::IfOp::create(b, loc, TypeRange(ValueRange(state)),
                                m.cmp(arith::CmpIPredicate::slt, lo, hi), true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&walk.getThenRegion().front());
  auto scores = [&]() {
    return SmallVector<KernelEmitter::WgmmaOperands>{
        k.scoresOperands(qf, k.smem[0]), k.scoresOperands(dof, k.smem[1])};
  };
  // Prologue: dS_0.
  k.curStage = k.acquireStage(first);
  SmallVector<Frags> r0 = k.stepWgmma(scores(), 1);
  Frags ds0 = dsOf(lo, r0[0], r0[1], {}).first;
  SmallVector<Value> carried(state.begin(), state.end());
  SmallVector<Value> p0 = KernelEmitter::flattened(k.packA(ds0).steps);
  carried.append(p0);
  size_t pCount = p0.size();
  auto loop = scf::ForOp::create(
      b, loc, m.add(lo, m.c(kt)), hi, m.c(kt), carried,
      [&](OpBuilder &, Location, Value x0, ValueRange it) {
        Frags acc = KernelEmitter::unflatten(it.take_front(4 * dTiles), dTiles);
        PackedA dsPrev{
            KernelEmitter::unflatten(it.take_back(pCount), pCount / 4)};
        Value j = m.add(first, m.div(m.sub(x0, lo), m.c(kt)));
        Value prev = k.stageAndParity(m.sub(j, m.c(1))).first;
        k.curStage = k.acquireStage(j);
        SmallVector<KernelEmitter::WgmmaOperands> ops = scores();
        k.curStage = prev;
        ops.push_back(k.accumulatePackedOperands(acc, dsPrev, k.smem[0]));
        // S_j completes; dP_j and the update stay in flight.
        SmallVector<Frags> r = k.stepWgmma(ops, 2);
        auto [ds, rest] = dsOf(x0, r[0], r[1], {r[2]});
        acc = k.stepWgmma({}, 0, rest)[0];
        k.releaseStage(prev);
        SmallVector<Value> out = KernelEmitter::flattened(acc);
        out.append(KernelEmitter::flattened(k.packA(ds).steps));
        scf::YieldOp::create(b, loc, out);
      });
  // Epilogue: the last tile's update.
  Frags acc = KernelEmitter::unflatten(
      ValueRange(loop.getResults()).take_front(4 * dTiles), dTiles);
  PackedA dsLast{KernelEmitter::unflatten(
      ValueRange(loop.getResults()).take_back(pCount), pCount / 4)};
  Value lastStage = k.stageAndParity(m.sub(k.tileCount, m.c(1))).first;
  k.curStage = lastStage;
  acc = k.stepWgmma({k.accumulatePackedOperands(acc, dsLast, k.smem[0])}, 0)[0];
  k.releaseStage(lastStage);
  scf::YieldOp::create(b, loc, KernelEmitter::flattened(acc));
  b.setInsertionPointToStart(&walk.getElseRegion().front());
  scf::YieldOp::create(b, loc, state);
  return SmallVector<Value>(walk.getResults());
}

/// dQ for one group of parts sharing a query view.
static void ownBlockDkv(KernelEmitter &k, const OwnBlockDkv &own,
                        const BlockRows &br, ArrayRef<Value> minusLse2,
                        ArrayRef<Value> delta, Value ownTiles);

void emitDq(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
            bool last, const OwnBlockDkv *own) {
  IndexMath &m = k.m;
  const ga::View &qv = parts.front().queryView;
  QueryBlock qb = beginQueryBlock(k, parts, {"q", "dout"});
  const BlockRows &br = qb.br;
  Value c = br.c, qlen = br.len;
  const LaneRows &rows = br.lanes;
  const RowOperand &qf = qb.ops[0], &dof = qb.ops[1];
  Value minusLse2[2], delta[2];
  // The first dQ kernel's first part's walk starts before the loads of
  // the rows' statistics and delta's rows (startWalk). A later one, which
  // continues the chain, loads first: so, with the dK/dV kernels loading
  // first too, strided's fwd+bwd at n = 4096 (B = 16) took 0.964 of the
  // time of walk-start everywhere at d = 128 and 0.999 at d = 64, 0.991 to
  // 1.008 elsewhere (H100, session 21, call 4; its column dQ kernel at d =
  // 128: 406.0 -> 367.3 us at n = 4096, 330.9 -> 341.2 at n = 65536).
  std::optional<KeyRange> started;
  if (k.startsWalks() && first)
    started = startKeyWalk(k, parts.front(), br);
  std::array<Value, 2> dots;
  if (first)
    dots = rowDots(k, "o", "dout", qv, c, br.r0, qlen);
  for (int r = 0; r < 2; ++r) {
    Value idx = m.add(k.rowBase, rows.orig[r]);
    minusLse2[r] = minusLog2Lse(k, k.load(k.arg["lse"], idx));
    delta[r] = first ? dots[r] : k.load(k.arg["delta"], idx);
  }
  auto storeStats = [&](StringRef deltaBuf, StringRef lse2Buf,
                        function_ref<Value(int)> index) {
    for (int r = 0; r < 2; ++r)
      storeRowStats(k, rows, r, delta[r], minusLse2[r], deltaBuf, lse2Buf,
                    [&] { return index(r); });
  };
  // The first dQ kernel of a head group computes delta = rowsum(dO * O)
  // for its rows (every row is in its view) and stores it, with lse2, for
  // the later dQ and the dK/dV kernels: no separate delta kernel and its
  // second pass over dO.
  if (first)
    storeStats("delta", "lse2",
               [&](int r) { return m.add(k.rowBase, rows.orig[r]); });
  // A kernel over the residue view whose statistics have class-major
  // copies writes them (its rows are a class's, adjacent there), or, with
  // classStatsFromFirst, the first dQ kernel over the identity view (row p
  // is row p / L of class p mod L).
  if (k.classStatsFromFirst ? first && qv.kind == ga::ViewKind::Identity
                            : k.usesClassStats(qv))
    storeStats("delta_c", "lse2_c", [&](int r) {
      if (qv.kind == ga::ViewKind::Residue)
        return k.classStatIndex(c, rows.view[r]);
      Value stride = m.c(k.classStatsStride);
      return k.classStatIndex(m.rem(rows.orig[r], stride),
                              m.div(rows.orig[r], stride));
    });
  int64_t dTiles = k.d / 8;
  SmallVector<Value> state;
  KernelEmitter::flatten(first ? k.zeros(dTiles) : k.loadChain(rows, "dq_acc"),
                         state);
  Value scale2 = k.f(k.scale * kLog2e);
  // dS = P * (dP - delta) of a tile's scores `s` (masked: the tile at kt)
  // and dP, with dP waited for after P's exponentials when in flight.
  auto dsOf = [&](const ga::GpuPart &part, const KeyRange &kr, Value kt,
                  Frags s, Frags dp, bool dpInFlight,
                  ArrayRef<Frags> alsoInFlight = {}) {
    s = maskQueryTile(k, part, kr, c, rows, kt, s);
    for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
      for (int e = 0; e < 4; ++e)
        s[nt][e] = k.exp2(k.fma(s[nt][e], scale2, minusLse2[e / 2]));
    SmallVector<Frags> rest;
    if (dpInFlight) {
      SmallVector<Frags> inFlight = {dp};
      inFlight.append(alsoInFlight.begin(), alsoInFlight.end());
      // dP completes; products issued after it stay in flight.
      SmallVector<Frags> r =
          k.stepWgmma({}, int64_t(alsoInFlight.size()), inFlight);
      dp = r[0];
      rest.append(r.begin() + 1, r.end());
    }
    for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
      for (int e = 0; e < 4; ++e)
        s[nt][e] = k.fmul(s[nt][e], k.fsub(dp[nt][e], delta[e / 2]));
    return std::make_pair(s, rest);
  };
  for (const ga::GpuPart &part : parts) {
    KeyRange kr =
        started && &part == &parts.front() ? *started : keyRange(k, part, br);
    Value lastKey = kr.lastKey;
    if (k.pipelinedDq) {
      state = dqWalkConsumer(
          k, kr, qf, dof, state,
          [&](Value kt, Frags s, Frags dp, ArrayRef<Frags> inFlight) {
            return dsOf(part, kr, kt, std::move(s), std::move(dp), true,
                        inFlight);
          });
      continue;
    }
    state = k.tileLoop(
        kr.lo, kr.hi, kr.wlo, kr.whi, part.keyView, c, lastKey, k.arg["k"],
        k.arg["v"], state,
        [&](Value kt, ValueRange st) -> SmallVector<Value> {
          Frags acc = KernelEmitter::unflatten(st, dTiles);
          // With wgmma, S and dP are two commit groups and P is computed
          // while dP still runs (pipelineScores).
          auto [s, dp] = pipelineScores(k, qf, k.smem[0], dof, k.smem[1]);
          Frags ds =
              dsOf(part, kr, kt, std::move(s), std::move(dp), k.useWgmma).first;
          k.accumulateShared(acc, ds, k.smem[0]);
          SmallVector<Value> next;
          KernelEmitter::flatten(acc, next);
          return next;
        },
        longWalk(part));
  }
  k.releaseDependents();
  Frags acc = KernelEmitter::unflatten(state, dTiles);
  Value factor[2] = {k.f(k.scale), k.f(k.scale)};
  Value one[2] = {k.f(1), k.f(1)};
  if (last)
    k.storeRows(acc, rows, factor, k.arg["dq"]);
  else
    k.storeChain(acc, rows, one, "dq_acc");
  if (last && !first && k.discardChain)
    discardChainRows(k, qv, br, "dq_acc");
  if (own) {
    // The own parts' tiles, the last that the walk staged.
    KeyRange okr = keyRange(k, own->parts.front(), br);
    Value ownTiles =
        m.ceilDiv(m.sub(m.max(okr.lo, okr.hi), okr.lo), m.c(k.keyTile));
    ownBlockDkv(k, *own, br, minusLse2, delta, ownTiles);
  }
}

void storeRowStats(KernelEmitter &k, const LaneRows &rows, int r, Value delta,
                   Value minusLse2, StringRef deltaBuf, StringRef lse2Buf,
                   function_ref<Value()> index) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  auto ifOp = scf::IfOp::create(b, loc, k.m.andi(k.t0, rows.valid[r]), false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  Value idx = index();
  memref::StoreOp::create(b, loc, delta, k.arg[deltaBuf], idx);
  memref::StoreOp::create(b, loc, minusLse2, k.arg[lse2Buf], idx);
}

std::pair<Value, Value> columnRange(KernelEmitter &k, PartStructure &ps,
                                    Value first, int64_t span, Value klen,
                                    bool clampFirst) {
  IndexMath &m = k.m;
  Value lastK = m.sub(klen, m.c(1));
  return {ps.columnInterval(clampFirst ? m.min(first, lastK) : first).first,
          ps.columnInterval(m.min(m.add(first, m.c(span - 1)), lastK)).second};
}

KeyColumns keyColumns(KernelEmitter &k, const ga::GpuPart &part,
                      PartStructure &ps, Value c, Value qlen, Value klen,
                      const LaneRows &keys, Value row0, Value r0) {
  IndexMath &m = k.m;
  KeyColumns kc;
  kc.part = &part;
  kc.c = c;
  kc.keys = keys;
  Value lastK = m.sub(klen, m.c(1));
  for (int r = 0; r < 2; ++r)
    kc.colIv[r] = ps.columnInterval(keys.view[r]);
  kc.lastRow = m.max(m.sub(qlen, m.c(1)), m.c(0));
  // Key-only exclusions mask whole keys: each lane's two once here, not
  // each score (passesExcluded of every element's row and key).
  bool keyOnly = keyOnlyExclusions(part);
  if (keyOnly)
    for (int r = 0; r < 2; ++r)
      kc.keyOk[r] = k.passesExcluded(part, keys.orig[r], keys.orig[r]);
  // Query tiles inside every key column of the warp need no mask (column
  // intervals are monotone: the warp's last key bounds the lows, its
  // first key the highs). With key-only exclusions over the identity key
  // view (the unit's keys are the positions [first, kLast]), a unit
  // that holds no excluded key has the same interior; one that holds any
  // masks every tile (fixed's own-block dK/dV with whole-summary-keys:
  // the key tiles of the block's first half have none).
  bool identityKeys = part.keyView.kind == ga::ViewKind::Identity;
  if (part.excluded.empty() || (keyOnly && identityKeys)) {
    auto [first, kLast] = interiorRows(k, row0, r0);
    kc.innerLo = ps.columnInterval(m.min(kLast, lastK)).first;
    kc.innerHi = k.select(
        m.cmp(arith::CmpIPredicate::slt, kLast, klen),
        m.min(ps.columnInterval(m.min(first, lastK)).second, qlen), m.c(-1));
    if (keyOnly) {
      Value held = excludedKeysIn(m, part.excluded, m.min(first, lastK),
                                  m.min(kLast, lastK));
      kc.innerHi = k.select(m.cmp(arith::CmpIPredicate::sgt, held, m.c(0)),
                            m.c(-1), kc.innerHi);
    }
  }
  return kc;
}

void dkvUpdate(KernelEmitter &k, const KeyColumns &kc, const RowOperand &kf,
               const RowOperand &vf, Value qTile, Value doTile, Value qt,
               Frags &dk, Frags &dv, function_ref<void(const Frags &)> onDs) {
  IndexMath &m = k.m;
  const ga::GpuPart &part = *kc.part;
  const ga::View &qv = part.queryView;
  const LaneRows &keys = kc.keys;
  Value scale2 = k.f(k.scale * kLog2e);
  auto [s, dp] = pipelineScores(k, kf, qTile, vf, doTile);
  // The lane's query rows qt + 2t + {0, 1} + 8 nt (clamped).
  Value rowBase = m.add(qt, m.mul(k.t, m.c(2)));
  auto rowOrig = [&](int64_t nt, int e) {
    Value i = m.add(rowBase, m.c(nt * 8 + e % 2));
    return k.toOriginal(qv, kc.c, m.min(i, kc.lastRow));
  };
  s = k.maskedOrNot(
      tileInside(k, qt, kc.innerLo, kc.innerHi), s, [&](Frags &x) {
        // i32 bounds, as for the query-driven kernels (TileMask).
        Value lo[2], hi[2];
        for (int r = 0; r < 2; ++r) {
          lo[r] = k.narrow(m.sub(kc.colIv[r].first, rowBase));
          hi[r] = k.narrow(k.select(
              keys.valid[r], m.sub(kc.colIv[r].second, rowBase), m.c(-1)));
        }
        for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
          for (int e = 0; e < 4; ++e) {
            int r = e / 2;
            Value col = k.i32(nt * 8 + e % 2);
            Value ok = m.andi(m.cmp(arith::CmpIPredicate::sge, col, lo[r]),
                              m.cmp(arith::CmpIPredicate::slt, col, hi[r]));
            if (kc.keyOk[r])
              ok = m.andi(ok, kc.keyOk[r]);
            else if (!part.excluded.empty())
              ok = m.andi(ok,
                          k.passesExcluded(part, rowOrig(nt, e), keys.orig[r]));
            x[nt][e] = k.select(ok, x[nt][e], k.negInf());
          }
      });
  // The staged row (lse2, delta) of score element (nt, e).
  // The lane's columns are query rows 2t + 8 nt + {0, 1}: one
  // 8-byte shared load gives both (ld.shared.v2; the short
  // scoreboard was a fifth of the summary dK/dV kernel's stalls),
  // loaded where first used, so that lse2 lives over P's loop and
  // delta over dS's only.
  SmallVector<std::optional<std::array<Value, 2>>> stats[2];
  for (int i = 0; i < 2; ++i)
    stats[i].resize(k.keyTile / 8);
  auto stat = [&](int i, int64_t nt, int e) {
    if (!stats[i][nt])
      stats[i][nt] = k.rowStatPair(i, m.add(m.mul(k.t, m.c(2)), m.c(nt * 8)));
    return (*stats[i][nt])[e % 2];
  };
  Frags p = s;
  for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
    for (int e = 0; e < 4; ++e)
      p[nt][e] = k.exp2(k.fma(s[nt][e], scale2, stat(0, nt, e)));
  // With wgmma, dV += P^T dO is issued before dS is computed, so
  // that dS's arithmetic overlaps it; its wait completes dP.
  if (k.useWgmma) {
    SmallVector<Frags> r =
        k.stepWgmma({k.accumulateOperands(dv, p, doTile)}, 1, {dp});
    dv = r[0];
    dp = r[1];
  }
  for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
    for (int e = 0; e < 4; ++e)
      s[nt][e] = k.fmul(p[nt][e], k.fsub(dp[nt][e], stat(1, nt, e)));
  // dS^T to its other user (the fused band backward's dQ) while dV's
  // product runs.
  if (onDs)
    onDs(s);
  if (k.useWgmma) {
    SmallVector<Frags> r =
        k.stepWgmma({k.accumulateOperands(dk, s, qTile)}, 0, {dv});
    dk = r[0];
    dv = r[1];
  } else {
    k.accumulatePair(dv, p, doTile, dk, s, qTile);
  }
}

void storeKeyRows(KernelEmitter &k, const Frags &dk, const Frags &dv,
                  const LaneRows &keys, ArrayRef<ga::View> later, bool addChain,
                  ArrayRef<ga::View> elsewhere) {
  IndexMath &m = k.m;
  Value factor[2] = {k.f(k.scale), k.f(k.scale)};
  Value one[2] = {k.f(1), k.f(1)};
  bool coveredLater =
      llvm::any_of(later, [](const ga::View &v) { return v.coversAll(); });
  // Whether the lane's key row r is a key of one of `views`.
  auto heldIn = [&](ArrayRef<ga::View> views, int r) {
    Value held = k.inView(views.front(), keys.orig[r]);
    for (const ga::View &v : views.drop_front())
      held = m.ori(held, k.inView(v, keys.orig[r]));
    return held;
  };
  LaneRows ends = keys, goesOn = keys;
  if (!later.empty() && !coveredLater)
    for (int r = 0; r < 2; ++r) {
      Value held = heldIn(later, r);
      goesOn.valid[r] = m.andi(keys.valid[r], held);
      ends.valid[r] = m.andi(keys.valid[r], m.noti(held));
    }
  // Keys that another kernel finishes whole are not stored here.
  if (!elsewhere.empty())
    for (int r = 0; r < 2; ++r)
      ends.valid[r] = m.andi(ends.valid[r], m.noti(heldIn(elsewhere, r)));
  assert((!addChain || later.empty()) && "the kernel ends the chain");
  auto withChain = [&](const Frags &acc, StringRef name) {
    if (!addChain)
      return acc;
    Frags sum = k.loadChain(keys, name);
    for (auto [s, a] : llvm::zip(sum, acc))
      for (int e = 0; e < 4; ++e)
        s[e] = k.fadd(a[e], s[e]);
    return sum;
  };
  if (!coveredLater) {
    k.storeRows(withChain(dk, "dk_acc"), ends, factor, k.arg["dk"]);
    k.storeRows(withChain(dv, "dv_acc"), ends, one, k.arg["dv"]);
  }
  if (!later.empty()) {
    k.storeChain(dk, goesOn, one, "dk_acc");
    k.storeChain(dv, goesOn, one, "dv_acc");
  }
}

/// The dK and dV of the keys in a split dQ block's own rows
/// (dq-own-block-dkv), after its dQ: the keys of the own parts (blocks
/// inside the block's 128 rows, one part) are its query rows, and the
/// queries that attend them are the block's own. Consumer warpgroup w
/// takes the key tile of its rows, whose K and V the walk staged last
/// (the own part is walked last: tile w of its `ownTiles` is stage
/// (T - ownTiles + w) mod stages after T tiles), and walks the block's
/// two query tiles: their Q and dO are the warpgroups' row operands, their
/// lse2 and delta each warpgroup writes into the row-stat tiles (stage =
/// its warpgroup) before a barrier of the two. No load from global memory,
/// where the own-block dK/dV kernel reads Q, K, V and dO again (fixed d =
/// 128 at n = 4096: 267 us at 88% of DRAM bandwidth; ncu, session 13).
/// Exact, but slower, so off by default: the phase runs once a block, a
/// chain of dependent products with nothing to overlap it (one block an
/// SM), and it costs the walk registers: fixed d = 128's dQ took 823 us
/// instead of 499 at n = 4096 (fwd+bwd 1.044; at n = 65536 1.029; H100,
/// session 13). It would pay where the next block's walk overlaps it (a
/// persistent dQ kernel).
static void ownBlockDkv(KernelEmitter &k, const OwnBlockDkv &own,
                        const BlockRows &br, ArrayRef<Value> minusLse2,
                        ArrayRef<Value> delta, Value ownTiles) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  assert(own.parts.size() == 1 && k.producerWarpgroup &&
         k.keyTile == kBlockRows && k.stages >= 2 && "a split dQ block");
  const ga::GpuPart &part = own.parts.front();
  // The lane's rows' statistics, at their row in the warpgroup's tile.
  for (int r = 0; r < 2; ++r) {
    auto ifOp = scf::IfOp::create(b, loc, k.t0, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    Value row = m.add(m.sub(br.r0, br.row0), m.add(k.g, m.c(8 * r)));
    memref::StoreOp::create(b, loc, minusLse2[r], k.statMem[0],
                            ValueRange{k.wg, row});
    memref::StoreOp::create(b, loc, delta[r], k.statMem[1],
                            ValueRange{k.wg, row});
  }
  // Both consumer warpgroups' statistics (and row operands) are in.
  ga::namedBarrierSync(b, loc, kOwnBlockBarrier, 2 * kThreads);
  Value c = br.c, len = br.len;
  auto live = scf::IfOp::create(
      b, loc, m.cmp(arith::CmpIPredicate::slt, br.row0, len), false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&live.getThenRegion().front());
  Value stage = m.rem(m.add(m.sub(k.tileCount, ownTiles), k.wg), m.c(k.stages));
  RowOperand kf, vf;
  kf.tile = k.stagedTile(0, stage);
  vf.tile = k.stagedTile(1, stage);
  PartStructure ps = structureOf(m, part, len);
  KeyColumns kc =
      keyColumns(k, part, ps, c, len, len, br.lanes, br.row0, br.r0);
  auto [lo, hi] = columnRange(k, ps, br.row0, kBlockRows, len, true);
  int64_t dTiles = k.d / 8;
  SmallVector<Value> state;
  KernelEmitter::flatten(k.zeros(dTiles), state);
  KernelEmitter::flatten(k.zeros(dTiles), state);
  for (int64_t w = 0; w < 2; ++w) {
    Value x0 = m.add(br.blockRow0, m.c(w * kBlockRows));
    state = k.ifMeets(
        x0, lo, hi, state, [&](Value x0, ValueRange st) -> SmallVector<Value> {
          Frags dk = KernelEmitter::unflatten(st, dTiles);
          Frags dv =
              KernelEmitter::unflatten(st.drop_front(4 * dTiles), dTiles);
          k.curStage = m.c(w);
          dkvUpdate(k, kc, kf, vf, k.rowOperandOf(0, m.c(w)),
                    k.rowOperandOf(1, m.c(w)), x0, dk, dv);
          SmallVector<Value> next;
          KernelEmitter::flatten(dk, next);
          KernelEmitter::flatten(dv, next);
          return next;
        });
  }
  Frags dk = KernelEmitter::unflatten(state, dTiles);
  Frags dv = KernelEmitter::unflatten(ValueRange(state).drop_front(4 * dTiles),
                                      dTiles);
  storeKeyRows(k, dk, dv, br.lanes, own.later);
}

/// dK and dV for one group of parts sharing a key view: each warp owns 16
/// keys and walks the query rows that attend them. With a producer
/// warpgroup (`dkv-producer`), a block is two consumer warpgroups of 64
/// keys each, and the producer stages the query tiles (Q, dO and the
/// rows' lse2 and delta) of the block's walk once for both.
void emitDkv(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
             ArrayRef<ga::View> later, ArrayRef<ga::View> elsewhere) {
  IndexMath &m = k.m;
  const ga::View &kv = parts.front().keyView;
  BlockRows br = blockRows(k, kv, /*queryDriven=*/false);
  Value c = br.c, klen = br.len, row0 = br.row0, r0 = br.r0;
  LaneRows keys = br.lanes;
  // The part's structure and the block's query-tile range.
  auto blockWalk = [&](const ga::GpuPart &part) {
    Value qlen = k.viewLength(part.queryView, c);
    PartStructure ps = structureOf(m, part, qlen);
    // The block has keys: blockRow0 < klen.
    auto [lo, hi] = columnRange(k, ps, br.blockRow0, k.rowsPerBlock(), klen,
                                /*clampFirst=*/false);
    return std::make_tuple(ps, qlen, lo, hi);
  };
  if (k.producerWarpgroup)
    splitProducer(k, [&] {
      // lse2 and delta come from the first dQ kernel.
      k.awaitPredecessors();
      for (const ga::GpuPart &part : parts) {
        auto [ps, qlen, lo, hi] = blockWalk(part);
        k.producerWalk(lo, hi, part.queryView, c,
                       m.max(m.sub(qlen, m.c(1)), m.c(0)), k.arg["q"],
                       k.arg["dout"]);
      }
    });
  auto ops = blockRowOperands(k, {"k", "v"}, kv, br);
  const RowOperand &kf = ops[0], &vf = ops[1];
  int64_t dTiles = k.d / 8;
  SmallVector<Value> state;
  // The mixed kernel's summary tiles add the chain after their walk
  // (emitMixedDkv): its rows come from own-block tiles that may still run.
  bool chainAfterWalk = !first && k.chainTileFlags;
  if (first || chainAfterWalk) {
    KernelEmitter::flatten(k.zeros(dTiles), state);
    KernelEmitter::flatten(k.zeros(dTiles), state);
  } else {
    // The chain's loads, then the walk: a dK/dV kernel whose walk started
    // first (walk-start, as the forward's) was no faster at n = 65536 and
    // strided's column dK/dV 7% slower at n = 4096 (H100, session 21;
    // docs/gpu.md, "The walk starts before the state's loads").
    KernelEmitter::flatten(k.loadChain(keys, "dk_acc"), state);
    KernelEmitter::flatten(k.loadChain(keys, "dv_acc"), state);
  }
  for (const ga::GpuPart &part : parts) {
    const ga::View &qv = part.queryView;
    auto [ps, qlen, lo, hi] = blockWalk(part);
    // The range of the unit that runs a tile or not: the warp (mma.sync),
    // the warpgroup (wgmma).
    Value u0 = k.useWgmma ? row0 : r0;
    auto [wlo, whi] =
        columnRange(k, ps, u0, k.useWgmma ? kBlockRows : kWarpRows, klen, true);
    whi = k.select(m.cmp(arith::CmpIPredicate::slt, u0, klen), whi, wlo);
    // Split, every consumer runs every tile of the block's walk (as the
    // four warps of one warpgroup do): the branch around a skipped tile
    // cost the consumers registers they do not have (ptxas spilled
    // 292 bytes with it, 148 without, at 240 registers).
    if (k.producerWarpgroup)
      wlo = whi = Value();
    KeyColumns kc = keyColumns(k, part, ps, c, qlen, klen, keys, row0, r0);
    state = k.tileLoop(
        lo, hi, wlo, whi, qv, c, kc.lastRow, k.arg["q"], k.arg["dout"], state,
        [&](Value qt, ValueRange st) -> SmallVector<Value> {
          Frags dk = KernelEmitter::unflatten(st, dTiles);
          Frags dv =
              KernelEmitter::unflatten(st.drop_front(4 * dTiles), dTiles);
          dkvUpdate(k, kc, kf, vf, k.smem[0], k.smem[1], qt, dk, dv);
          SmallVector<Value> next;
          KernelEmitter::flatten(dk, next);
          KernelEmitter::flatten(dv, next);
          return next;
        },
        longWalk(part));
  }
  k.releaseDependents();
  Frags dk = KernelEmitter::unflatten(state, dTiles);
  Frags dv = KernelEmitter::unflatten(ValueRange(state).drop_front(4 * dTiles),
                                      dTiles);
  if (chainAfterWalk)
    k.awaitTileFlags();
  storeKeyRows(k, dk, dv, keys, later, chainAfterWalk, elsewhere);
  if (later.empty() && !first && k.discardChain)
    for (StringRef chain : {"dk_acc", "dv_acc"})
      discardChainRows(k, kv, br, chain);
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
