//===- Kernels.cpp - The attention kernels: forward, delta, dQ, dK/dV -----===//
//
// Each kernel is built from KernelEmitter's pieces: the block's rows in its
// driving view, the key (or query) range each part walks by its structure
// (PartStructure's row and column intervals), the staged tile loop, the
// masks of boundary tiles and the online softmax.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

namespace {

/// The rows a block of a kernel driven by view `v` owns: the residue class
/// `c` (strided views), the view's length, the block's first row, the
/// warp's first row and the lane's two rows. Positions the builder inside a
/// block-uniform guard (the block has rows), so that every warp of a live
/// block takes part in the shared-memory staging. `queryDriven` kernels
/// start their last row tiles first (KernelEmitter::tileOf).
struct BlockRows {
  /// `row0` is the warpgroup's first row (the block's with one warpgroup),
  /// `r0` the warp's, `blockRow0` the block's.
  Value c, len, row0, r0, blockRow0;
  LaneRows lanes;
};

BlockRows blockRows(KernelEmitter &k, const ga::View &v, bool queryDriven) {
  IndexMath &m = k.m;
  assert((queryDriven || k.warpgroups == 1) &&
         "the key-driven kernels have one warpgroup a block");
  BlockRows br;
  auto [c, tile] = k.tileOf(v, /*reversed=*/queryDriven);
  br.c = c;
  br.len = k.viewLength(v, c);
  br.blockRow0 = m.mul(tile, m.c(k.rowsPerBlock()));
  br.row0 = k.warpgroups == 1
                ? br.blockRow0
                : m.add(br.blockRow0, m.mul(k.wg, m.c(kBlockRows)));
  br.r0 = m.add(br.row0, m.mul(k.warp, m.c(kWarpRows)));
  // Every warpgroup of a live block stages (and meets the barriers), also
  // one whose own rows are all past the view.
  auto live = scf::IfOp::create(
      k.b, k.loc, m.cmp(arith::CmpIPredicate::slt, br.blockRow0, br.len),
      false);
  k.b.setInsertionPointToStart(&live.getThenRegion().front());
  br.lanes = k.laneRows(v, c, br.r0, br.len);
  return br;
}

/// The structure of one part over a view of length `len`.
PartStructure structureOf(IndexMath &m, const ga::GpuPart &p, Value len) {
  return PartStructure(m, p.viewFactor, {}, p.compact, len);
}

/// Whether the tile loops of `part` are long walks (KernelEmitter::tileLoop):
/// those over a compact key view (fixed's summaries, up to N / l tiles).
bool longWalk(const ga::GpuPart &part) {
  return part.keyView.kind == ga::ViewKind::Compact;
}

/// The keys one query-driven kernel walks for `part`: the block's range,
/// the range of the unit that runs a tile or not (a warp with mma.sync, a
/// warpgroup with wgmma; empty for one past the view), each lane row's
/// interval, and the last valid key.
struct KeyRange {
  Value lo, hi, wlo, whi, lastKey, klen;
  std::pair<Value, Value> rowIv[2];
  /// Key tiles [kt, kt + 64) with innerLo <= kt and kt + 64 <= innerHi lie
  /// inside every row interval of the warp (row intervals are monotone, so
  /// the warp's last row bounds the lows and its first row the highs): they
  /// need no mask. Null when the part has exclusions.
  Value innerLo, innerHi;
};

/// The first and last rows (keys, for dK/dV) that the unmasked-interior
/// test covers: the warp's 16 from `r0`, or with wgmma the block's 64 from
/// `row0`. A branch that differed between the warps of a warpgroup could
/// let LLVM duplicate a warpgroup MMA into both sides (the inline PTX is not
/// marked convergent), and the four warps must run the same instruction.
std::pair<Value, Value> interiorRows(KernelEmitter &k, Value row0, Value r0) {
  Value first = k.useWgmma ? row0 : r0;
  int64_t span = k.useWgmma ? kBlockRows : kWarpRows;
  return {first, k.m.add(first, k.m.c(span - 1))};
}

KeyRange keyRange(KernelEmitter &k, const ga::GpuPart &part,
                  const BlockRows &br) {
  IndexMath &m = k.m;
  Value c = br.c, row0 = br.row0, r0 = br.r0, qlen = br.len;
  const LaneRows &rows = br.lanes;
  KeyRange kr;
  kr.klen = k.viewLength(part.keyView, c);
  PartStructure ps = structureOf(m, part, kr.klen);
  Value lastQ = m.sub(qlen, m.c(1));
  auto hiOf = [&](Value row, int64_t span) {
    return m.min(
        ps.rowInterval(m.min(m.add(row, m.c(span - 1)), lastQ)).second,
        kr.klen);
  };
  kr.lo = ps.rowInterval(br.blockRow0).first;
  kr.hi = hiOf(br.blockRow0, k.rowsPerBlock());
  Value u0 = k.useWgmma ? row0 : r0;
  kr.wlo = ps.rowInterval(m.min(u0, lastQ)).first;
  kr.whi = k.select(m.cmp(arith::CmpIPredicate::slt, u0, qlen),
                    hiOf(u0, k.useWgmma ? kBlockRows : kWarpRows), kr.wlo);
  for (int r = 0; r < 2; ++r)
    kr.rowIv[r] = ps.rowInterval(rows.view[r]);
  kr.lastKey = m.max(m.sub(kr.klen, m.c(1)), m.c(0));
  if (part.excluded.empty()) {
    auto [first, rLast] = interiorRows(k, row0, r0);
    Value full = m.cmp(arith::CmpIPredicate::slt, rLast, qlen);
    kr.innerLo = ps.rowInterval(m.min(rLast, lastQ)).first;
    // A warp (block) with rows past the view is never unmasked.
    kr.innerHi = k.select(
        full, m.min(ps.rowInterval(m.min(first, lastQ)).second, kr.klen),
        m.c(-1));
  }
  return kr;
}

/// Whether the staged tile [x0, x0 + keyTile) lies in [lo, hi) (null when
/// `lo` is: no unmasked version).
Value tileInside(KernelEmitter &k, Value x0, Value lo, Value hi) {
  IndexMath &m = k.m;
  if (!lo)
    return Value();
  return m.andi(
      m.cmp(arith::CmpIPredicate::sge, x0, lo),
      m.cmp(arith::CmpIPredicate::sle, m.add(x0, m.c(k.keyTile)), hi));
}

/// Whether score element (tile `nt`, element `e`) of key tile `kt` is in
/// lane row `r`'s interval and passes the part's exclusions.
/// The per-tile bounds of the element mask: lane row r's interval shifted
/// by the lane's first key column kt + 2t, so that element (nt, e) tests
/// the constant nt * 8 + e % 2 against them. The bounds are i32 (view
/// indices are below N < 2^31): a 64-bit compare is two instructions, and
/// a masked tile tests every score twice.
struct TileMask {
  Value lo[2], hi[2], colBase;
};

TileMask tileMask(KernelEmitter &k, const KeyRange &kr, Value kt) {
  IndexMath &m = k.m;
  TileMask tm;
  tm.colBase = m.add(kt, m.mul(k.t, m.c(2)));
  for (int r = 0; r < 2; ++r) {
    tm.lo[r] = k.narrow(m.sub(kr.rowIv[r].first, tm.colBase));
    tm.hi[r] = k.narrow(m.sub(m.min(kr.rowIv[r].second, kr.klen), tm.colBase));
  }
  return tm;
}

Value keyAllowed(KernelEmitter &k, const ga::GpuPart &part,
                 const KeyRange &kr, const TileMask &tm, Value c,
                 const LaneRows &rows, int r, int64_t nt, int e) {
  IndexMath &m = k.m;
  Value col = k.i32(nt * 8 + e % 2);
  Value ok = m.andi(m.cmp(arith::CmpIPredicate::sge, col, tm.lo[r]),
                    m.cmp(arith::CmpIPredicate::slt, col, tm.hi[r]));
  if (part.excluded.empty())
    return ok;
  Value j = m.add(tm.colBase, m.c(nt * 8 + e % 2));
  Value jOrig = k.toOriginal(part.keyView, c, m.min(j, kr.lastKey));
  return m.andi(ok, k.passesExcluded(part, rows.orig[r], jOrig));
}

/// The scores `s` of key tile `kt` for a query-driven kernel: -inf outside
/// the lane rows' intervals (and exclusions), unless the tile is interior.
Frags maskQueryTile(KernelEmitter &k, const ga::GpuPart &part,
                    const KeyRange &kr, Value c, const LaneRows &rows,
                    Value kt, Frags s) {
  return k.maskedOrNot(
      tileInside(k, kt, kr.innerLo, kr.innerHi), std::move(s), [&](Frags &x) {
        TileMask tm = tileMask(k, kr, kt);
        for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
          for (int e = 0; e < 4; ++e)
            x[nt][e] =
                k.select(keyAllowed(k, part, kr, tm, c, rows, e / 2, nt, e),
                         x[nt][e], k.negInf());
      });
}

/// One tile's online-softmax step in the forward: the probabilities of the
/// masked scores against the rows' reference max, which moves only when a
/// tile's max passes it by more than kRescaleSlack, and the running sums.
struct SoftmaxStep {
  Frags p;
  Value m[2], l[2], alpha[2], up[2];
};

SoftmaxStep softmaxStep(KernelEmitter &k, Frags s, const Value mOld[2],
                        const Value lOld[2]) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  // The row max of the raw scores is scaled once (the scale is positive:
  // the op's verifier), and p = 2^(s * scale2 - m) is one fma: one
  // instruction a score fewer than scaling every score first (the loop is
  // issue-bound).
  Value scale2 = k.f(k.scale * kLog2e);
  Value mx[2] = {k.negInf(), k.negInf()};
  for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
    for (int e = 0; e < 4; ++e)
      mx[e / 2] = arith::MaximumFOp::create(b, loc, mx[e / 2], s[nt][e]);
  // Lazy rescaling: the reference max m moves only when the tile's max
  // exceeds it by more than kRescaleSlack, so after the first tiles the
  // output accumulators almost never need the factor alpha = 2^(mOld -
  // mNew), and the block skips those d / 2 multiplies (a tenth of the
  // tile's instructions at d = 64) unless some row moved (rescale). The
  // result is exact: l and the accumulators share the reference, and lse =
  // m + log2 l.
  SoftmaxStep st;
  for (int r = 0; r < 2; ++r) {
    Value mTile = k.fmul(k.rowReduce(mx[r], true), scale2);
    st.up[r] = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, mTile,
                                     k.fadd(mOld[r], k.f(kRescaleSlack)));
    st.m[r] = k.select(st.up[r], mTile, mOld[r]);
    Value safe = k.select(k.isNegInf(st.m[r]), k.f(0), st.m[r]);
    st.alpha[r] = k.exp2(k.fsub(mOld[r], safe));
    st.l[r] = k.fmul(lOld[r], st.alpha[r]);
    Value minusSafe = arith::NegFOp::create(b, loc, safe);
    for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
      for (int e = 2 * r; e < 2 * r + 2; ++e) {
        s[nt][e] = k.exp2(k.fma(s[nt][e], scale2, minusSafe));
        st.l[r] = k.fadd(st.l[r], s[nt][e]);
      }
  }
  st.p = std::move(s);
  return st;
}

/// `acc` times each row's alpha, skipped unless some row of the unit (the
/// warpgroup, or the warp with mma.sync) moved its reference: a row that
/// did not has alpha = 1 (or, before its first key, zero accumulators), so
/// skipping it is exact.
Frags rescale(KernelEmitter &k, const Frags &acc, const SoftmaxStep &st) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  SmallVector<Value> flat;
  KernelEmitter::flatten(acc, flat);
  auto ifOp = scf::IfOp::create(b, loc, TypeRange(ValueRange(flat)),
                                k.anyThread(k.m.ori(st.up[0], st.up[1])), true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  Frags scaled = acc;
  for (auto &a : scaled)
    for (int e = 0; e < 4; ++e)
      a[e] = k.fmul(a[e], st.alpha[e / 2]);
  SmallVector<Value> out;
  KernelEmitter::flatten(scaled, out);
  scf::YieldOp::create(b, loc, out);
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  scf::YieldOp::create(b, loc, flat);
  return KernelEmitter::unflatten(ifOp.getResults(), acc.size());
}

/// The forward's state between tiles: the rows' reference max (log2 units)
/// and lane-partial sum, and the output accumulators.
struct ForwardState {
  Value m[2], l[2];
  Frags acc;

  SmallVector<Value> flat() const {
    SmallVector<Value> v = {m[0], m[1], l[0], l[1]};
    KernelEmitter::flatten(acc, v);
    return v;
  }
  static ForwardState of(ValueRange v, int64_t dTiles) {
    ForwardState s;
    s.m[0] = v[0], s.m[1] = v[1], s.l[0] = v[2], s.l[1] = v[3];
    s.acc = KernelEmitter::unflatten(v.slice(4, 4 * dTiles), dTiles);
    return s;
  }
};

/// The rows' state after softmax step `step`: its reference max and sums,
/// and `acc` rescaled (before the step's P V is added).
ForwardState afterSoftmax(KernelEmitter &k, const SoftmaxStep &step,
                          const Frags &acc) {
  ForwardState n;
  for (int r = 0; r < 2; ++r)
    n.m[r] = step.m[r], n.l[r] = step.l[r];
  n.acc = rescale(k, acc, step);
  return n;
}

/// One part's walk, a tile at a time: S = Q K^T, softmax, O += P V.
ForwardState forwardWalk(KernelEmitter &k, const ga::GpuPart &part,
                         const KeyRange &kr, const BlockRows &br,
                         const RowOperand &qf, ForwardState state) {
  int64_t dTiles = k.d / 8;
  SmallVector<Value> out = k.tileLoop(
      kr.lo, kr.hi, kr.wlo, kr.whi, part.keyView, br.c, kr.lastKey, k.arg["k"],
      k.arg["v"], state.flat(),
      [&](Value kt, ValueRange st) -> SmallVector<Value> {
        ForwardState s = ForwardState::of(st, dTiles);
        Frags scores = k.scoresShared(qf, k.smem[0]);
        scores = maskQueryTile(k, part, kr, br.c, br.lanes, kt, scores);
        SoftmaxStep step = softmaxStep(k, std::move(scores), s.m, s.l);
        ForwardState n = afterSoftmax(k, step, s.acc);
        // acc += P . V (V single-staged at d >= 128: wait for it here).
        k.awaitStagedB();
        k.accumulateShared(n.acc, step.p, k.smem[1]);
        return n.flat();
      },
      longWalk(part));
  return ForwardState::of(out, dTiles);
}

/// The same walk with the products of two tiles in flight together
/// (FlashAttention-3's intra-warpgroup pipelining; wgmma, two stages of K
/// and V): each iteration issues S_j = Q K_j^T and O += P_{j-1} V_{j-1}
/// back to back, computes tile j's softmax while the second runs, then
/// rescales O. Tile j + 2's K and tile j + 1's V are copied into the
/// stages that S_j and the update just finished with, so one copy group
/// {K_j, V_{j-1}} is waited for a tile. The option `pipelined-forward`;
/// on the H100 it was slower than forwardWalk (more registers, and the
/// block barrier at every tile still keeps a block's warps in step:
/// docs/gpu.md, session 8).
ForwardState forwardWalkPipelined(KernelEmitter &k, const ga::GpuPart &part,
                                  const KeyRange &kr, const BlockRows &br,
                                  const RowOperand &qf, ForwardState state) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  int64_t dTiles = k.d / 8, kt = k.keyTile;
  assert(k.useWgmma && k.stages == 2 && !k.singleStageB &&
         "the pipelined forward stages K and V twice");
  Value lo = kr.lo, hi = m.max(kr.lo, kr.hi);
  const ga::View &v = part.keyView;
  // Starts copying K of the tile at kx into stage kst and V of the tile at
  // vx into stage vst, each if it is before hi (and given). The copies
  // join the next group that is committed (awaitCopies commits one).
  auto copy = [&](Value kx, Value kst, Value vx, Value vst) {
    for (auto [x0, st, mem, tile] :
         {std::tuple(kx, kst, k.arg["k"], k.smem[0]),
          std::tuple(vx, vst, k.arg["v"], k.smem[1])}) {
      if (!x0)
        continue;
      auto ifOp = scf::IfOp::create(
          b, loc, m.cmp(arith::CmpIPredicate::slt, x0, hi), false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      k.stage(tile, st, mem, v, br.c, x0, kr.lastKey, kt);
    }
  };
  auto stageOf = [&](Value x0) {
    return m.rem(m.div(m.sub(x0, lo), m.c(kt)), m.c(2));
  };
  // The softmax of the tile at x0's scores `s` from `st`; O is rescaled
  // by the caller once no product writes it.
  auto soft = [&](Value x0, Frags s, const ForwardState &st) {
    s = maskQueryTile(k, part, kr, br.c, br.lanes, x0, std::move(s));
    return softmaxStep(k, std::move(s), st.m, st.l);
  };
  SmallVector<Value> init = state.flat();
  auto walk = scf::IfOp::create(b, loc, TypeRange(ValueRange(init)),
                                m.cmp(arith::CmpIPredicate::slt, lo, hi), true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&walk.getThenRegion().front());
    // Prologue: groups {K_0}, {K_1, V_0}; S_0 and its softmax; then the
    // copies of K_2 and V_1, which the loop's first wait commits.
    Value x1 = m.add(lo, m.c(kt)), x2 = m.add(lo, m.c(2 * kt));
    gpu::BarrierOp::create(b, loc);
    copy(lo, m.c(0), Value(), Value());
    k.commitCopies();
    copy(x1, m.c(1), lo, m.c(0));
    k.awaitCopies(1); // commits {K_1, V_0}, completes {K_0}
    k.curStage = m.c(0);
    Frags s0 = k.stepWgmma({k.scoresOperands(qf, k.smem[0])}, 0)[0];
    SoftmaxStep step0 = soft(lo, std::move(s0), state);
    ForwardState st0 = afterSoftmax(k, step0, state.acc);
    gpu::BarrierOp::create(b, loc);
    copy(x2, m.c(0), x1, m.c(1));
    SmallVector<Value> carried = st0.flat();
    SmallVector<Value> p0 = KernelEmitter::flattened(step0.p);
    carried.append(p0);
    int64_t pCount = int64_t(p0.size());
    auto loop = scf::ForOp::create(
        b, loc, x1, hi, m.c(kt), carried,
        [&](OpBuilder &, Location, Value x0, ValueRange it) {
          ForwardState st = ForwardState::of(it, dTiles);
          Frags pPrev =
              KernelEmitter::unflatten(it.take_back(pCount), pCount / 4);
          Value cur = stageOf(x0), prev = m.sub(m.c(1), cur);
          // Commits the copies of the last iteration's end, {K_{j+1}, V_j},
          // and completes {K_j, V_{j-1}}.
          k.awaitCopies(1);
          k.curStage = cur;
          KernelEmitter::WgmmaOperands sOps = k.scoresOperands(qf, k.smem[0]);
          k.curStage = prev;
          KernelEmitter::WgmmaOperands pvOps =
              k.accumulateOperands(st.acc, pPrev, k.smem[1]);
          // S_j completes; the update stays in flight over the softmax.
          SmallVector<Frags> r = k.stepWgmma({sOps, pvOps}, 1);
          SoftmaxStep step = soft(x0, r[0], st);
          Frags acc = k.stepWgmma({}, 0, {r[1]})[0];
          ForwardState n = afterSoftmax(k, step, acc);
          gpu::BarrierOp::create(b, loc);
          copy(m.add(x0, m.c(2 * kt)), cur, m.add(x0, m.c(kt)), prev);
          SmallVector<Value> out = n.flat();
          out.append(KernelEmitter::flattened(step.p));
          scf::YieldOp::create(b, loc, out);
        });
    // Epilogue: the last tile's update (its V is in the last group).
    ForwardState last = ForwardState::of(loop.getResults(), dTiles);
    Frags pLast = KernelEmitter::unflatten(
        ValueRange(loop.getResults()).take_back(pCount), pCount / 4);
    k.awaitCopies(0);
    k.curStage = stageOf(m.sub(hi, m.c(1)));
    last.acc =
        k.stepWgmma({k.accumulateOperands(last.acc, pLast, k.smem[1])}, 0)[0];
    scf::YieldOp::create(b, loc, last.flat());
    b.setInsertionPointToStart(&walk.getElseRegion().front());
    scf::YieldOp::create(b, loc, init);
  }
  return ForwardState::of(walk.getResults(), dTiles);
}
} // namespace

//===----------------------------------------------------------------------===//
// Forward kernel: one group of parts sharing a query view
//===----------------------------------------------------------------------===//

void emitForward(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
                 bool last) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  const ga::View &qv = parts.front().queryView;
  BlockRows br = blockRows(k, qv, /*queryDriven=*/true);
  Value c = br.c, qlen = br.len, row0 = br.row0;
  LaneRows rows = br.lanes;
  // With a producer warpgroup (wg 2) the block splits: it copies every
  // key tile of the walks, the two consumer warpgroups run the rest. The
  // producer gives registers back so that the consumers can hold 232.
  if (k.producerWarpgroup) {
    k.initStageBarriers();
    // Both sides count the walks' tiles from here (stage and phase).
    Value noTiles = m.c(0);
    k.tileCount = noTiles;
    auto role = scf::IfOp::create(
        b, loc, m.cmp(arith::CmpIPredicate::eq, k.wg, m.c(2)), true);
    // The rest of the kernel is the consumers' (the else region).
    b.setInsertionPointToStart(&role.getThenRegion().front());
    NVVM::SetMaxRegisterOp::create(b, loc, 40,
                                   NVVM::SetMaxRegisterAction::decrease);
    for (const ga::GpuPart &part : parts) {
      KeyRange kr = keyRange(k, part, br);
      k.producerWalk(kr.lo, kr.hi, part.keyView, c, kr.lastKey, k.arg["k"],
                     k.arg["v"]);
    }
    // The consumers wait for every copy; nothing is left in flight.
    nvgpu::DeviceAsyncWaitOp::create(b, loc, k.commitCopies(),
                                     b.getI32IntegerAttr(0));
    b.setInsertionPointToStart(&role.getElseRegion().front());
    NVVM::SetMaxRegisterOp::create(b, loc, 232,
                                   NVVM::SetMaxRegisterAction::increase);
    k.tileCount = noTiles;
  }
  RowOperand qf = k.rowOperands({"q"}, rows, qv, c, row0, qlen)[0];
  k.awaitPredecessors(); // lse and o_acc come from the previous kernel
  if (k.producerWarpgroup)
    k.awaitRowOperands();
  int64_t dTiles = k.d / 8;

  // State: m (log2 units) and lane-partial l for both rows, then acc.
  ForwardState state;
  if (first) {
    for (int r = 0; r < 2; ++r)
      state.m[r] = k.negInf(), state.l[r] = k.f(0);
    state.acc = k.zeros(dTiles);
  } else {
    for (int r = 0; r < 2; ++r) {
      Value lse = k.load(k.arg["lse"], m.add(k.rowBase, rows.orig[r]));
      state.m[r] = k.fmul(lse, k.f(kLog2e));
      Value has = m.andi(k.t0, arith::CmpFOp::create(
                                   b, loc, arith::CmpFPredicate::OGT, lse,
                                   k.negInf()));
      state.l[r] = k.select(has, k.f(1), k.f(0));
    }
    state.acc = k.loadChain(rows, "o_acc");
  }

  for (const ga::GpuPart &part : parts) {
    KeyRange kr = keyRange(k, part, br);
    state = k.pipelinedForward
                ? forwardWalkPipelined(k, part, kr, br, qf, std::move(state))
                : forwardWalk(k, part, kr, br, qf, std::move(state));
  }
  // Nothing stays in flight: an empty walk never waited for the row
  // operands, and copies must not land in shared memory after the block
  // exits.
  if (k.pipelinedForward)
    nvgpu::DeviceAsyncWaitOp::create(b, loc, k.commitCopies(),
                                     b.getI32IntegerAttr(0));
  k.releaseDependents();

  // Epilogue: normalise, write the output (or the f32 chain) and lse.
  Frags acc = state.acc;
  Value inv[2];
  for (int r = 0; r < 2; ++r) {
    Value l = k.rowReduce(state.l[r], false);
    Value has = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, l,
                                      k.f(0));
    inv[r] = k.select(has, arith::DivFOp::create(b, loc, k.f(1), l), k.f(0));
    Value lse = k.fmul(k.fadd(state.m[r], math::Log2Op::create(b, loc, l)),
                       k.f(1.0 / kLog2e));
    lse = k.select(has, lse, k.negInf());
    auto ifOp = scf::IfOp::create(b, loc, m.andi(k.t0, rows.valid[r]), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    memref::StoreOp::create(b, loc, lse, k.arg["lse"],
                            ValueRange{m.add(k.rowBase, rows.orig[r])});
  }
  if (last)
    k.storeRows(acc, rows, inv, k.arg["o"]);
  else
    k.storeChain(acc, rows, inv, "o_acc");
}

//===----------------------------------------------------------------------===//
// Backward kernels
//===----------------------------------------------------------------------===//

/// The two score products of a backward tile, S = A0 . X0^T and dP = A1 .
/// X1^T with X0, X1 the staged tiles. With wgmma they are two commit
/// groups and only S is waited for: dP comes back in flight (Wgmma.h,
/// WarpgroupStep), so the caller's exponentials overlap its product and a
/// later step must complete it. The kernels' loops had each product wait
/// for completion, and ncu put the backward's tensor pipe at 44-49% busy:
/// the block's arithmetic and its products took turns.
static std::pair<Frags, Frags>
pipelineScores(KernelEmitter &k, const RowOperand &a0, const RowOperand &a1) {
  if (!k.useWgmma)
    return k.scoresPair(a0, k.smem[0], a1, k.smem[1]);
  SmallVector<Frags> r = k.stepWgmma(
      {k.scoresOperands(a0, k.smem[0]), k.scoresOperands(a1, k.smem[1])}, 1);
  return {r[0], r[1]};
}

/// -lse in log2 units, clamped so that it is finite even for a row without
/// keys (lse = -inf): masked scores (-inf) then give p = 0, never NaN. The
/// dQ kernels compute it per row; the first stores it (`lse2`) for the
/// dK/dV kernels, which stage it per query tile and would otherwise redo
/// it for every score (two instructions of each tile's ~250).
static Value minusLog2Lse(KernelEmitter &k, Value lse) {
  return arith::MinimumFOp::create(k.b, k.loc, k.fmul(lse, k.f(-kLog2e)),
                                   k.f(kHugeLse));
}

/// sum_d x[row] * y[row] over the [.., N, D] tensors `x` and `y` for the
/// lane's two fragment rows (rows g and g + 8 of the warp's 16 from `r0`
/// in view `v`, class `c`, of length `len`). The rows are read coalesced:
/// two lanes a row (row r0 + lane / 2), each taking every other 16-byte
/// chunk, so that a warp's load covers a whole 32-byte sector of each of
/// its 16 rows; the pair sums by a shuffle and the fragment lanes fetch
/// their rows' sums from lanes 2g and 2g + 16. Reading the fragment
/// columns instead (4 bytes a lane, 16 of each sector's 32 bytes a load)
/// left the first dQ kernel of the strided layout bound by L2 throughput
/// (ncu: 91.5% of peak, DRAM 78%; session 9). Every lane must call it.
static std::array<Value, 2> rowDots(KernelEmitter &k, StringRef x, StringRef y,
                                    const ga::View &v, Value c, Value r0,
                                    Value len) {
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

/// dQ for one group of parts sharing a query view.
void emitDq(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
            bool last) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  const ga::View &qv = parts.front().queryView;
  BlockRows br = blockRows(k, qv, /*queryDriven=*/true);
  Value c = br.c, qlen = br.len, row0 = br.row0;
  LaneRows rows = br.lanes;
  auto ops = k.rowOperands({"q", "dout"}, rows, qv, c, row0, qlen);
  k.awaitPredecessors(); // delta, lse2 and dq_acc come from earlier kernels
  const RowOperand &qf = ops[0], &dof = ops[1];
  Value minusLse2[2], delta[2];
  std::array<Value, 2> dots;
  if (first)
    dots = rowDots(k, "o", "dout", qv, c, br.r0, qlen);
  for (int r = 0; r < 2; ++r) {
    Value idx = m.add(k.rowBase, rows.orig[r]);
    minusLse2[r] = minusLog2Lse(k, k.load(k.arg["lse"], idx));
    delta[r] = first ? dots[r] : k.load(k.arg["delta"], idx);
  }
  // Stores each valid row's delta and lse2 (from lane t = 0) into
  // `deltaBuf` and `lse2Buf` at index(r).
  auto storeStats = [&](StringRef deltaBuf, StringRef lse2Buf,
                        function_ref<Value(int)> index) {
    for (int r = 0; r < 2; ++r) {
      auto ifOp = scf::IfOp::create(b, loc, m.andi(k.t0, rows.valid[r]), false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      Value idx = index(r);
      memref::StoreOp::create(b, loc, delta[r], k.arg[deltaBuf], idx);
      memref::StoreOp::create(b, loc, minusLse2[r], k.arg[lse2Buf], idx);
    }
  };
  // The first dQ kernel of a head group computes delta = rowsum(dO * O)
  // for its rows (every row is in its view) and stores it, with lse2, for
  // the later dQ and the dK/dV kernels: no separate delta kernel and its
  // second pass over dO.
  if (first)
    storeStats("delta", "lse2",
               [&](int r) { return m.add(k.rowBase, rows.orig[r]); });
  // A kernel over the residue view whose statistics have class-major
  // copies writes them (its rows are a class's, adjacent there).
  if (k.usesClassStats(qv))
    storeStats("delta_c", "lse2_c",
               [&](int r) { return k.classStatIndex(c, rows.view[r]); });
  int64_t dTiles = k.d / 8;
  SmallVector<Value> state;
  KernelEmitter::flatten(first ? k.zeros(dTiles) : k.loadChain(rows, "dq_acc"),
                         state);
  Value scale2 = k.f(k.scale * kLog2e);
  for (const ga::GpuPart &part : parts) {
    KeyRange kr = keyRange(k, part, br);
    Value lastKey = kr.lastKey;
    state = k.tileLoop(
        kr.lo, kr.hi, kr.wlo, kr.whi, part.keyView, c, lastKey, k.arg["k"],
        k.arg["v"], state,
        [&](Value kt, ValueRange st) -> SmallVector<Value> {
          Frags acc = KernelEmitter::unflatten(st, dTiles);
          // With wgmma, S and dP are two commit groups and P is computed
          // while dP still runs (pipelineScores).
          auto [s, dp] = pipelineScores(k, qf, dof);
          s = maskQueryTile(k, part, kr, c, rows, kt, s);
          for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
            for (int e = 0; e < 4; ++e)
              s[nt][e] = k.exp2(k.fma(s[nt][e], scale2, minusLse2[e / 2]));
          if (k.useWgmma)
            dp = k.stepWgmma({}, 0, {dp})[0];
          for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
            for (int e = 0; e < 4; ++e)
              s[nt][e] = k.fmul(s[nt][e], k.fsub(dp[nt][e], delta[e / 2]));
          k.accumulateShared(acc, s, k.smem[0]);
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
}

/// dK and dV for one group of parts sharing a key view: each warp owns 16
/// keys and walks the query rows that attend them.
void emitDkv(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
             ArrayRef<ga::View> later) {
  IndexMath &m = k.m;
  const ga::View &kv = parts.front().keyView;
  BlockRows br = blockRows(k, kv, /*queryDriven=*/false);
  Value c = br.c, klen = br.len, row0 = br.row0, r0 = br.r0;
  LaneRows keys = br.lanes;
  auto ops = k.rowOperands({"k", "v"}, keys, kv, c, row0, klen);
  k.awaitPredecessors(); // delta, lse2 and the chain come from earlier kernels
  const RowOperand &kf = ops[0], &vf = ops[1];
  int64_t dTiles = k.d / 8;
  SmallVector<Value> state;
  if (first) {
    KernelEmitter::flatten(k.zeros(dTiles), state);
    KernelEmitter::flatten(k.zeros(dTiles), state);
  } else {
    KernelEmitter::flatten(k.loadChain(keys, "dk_acc"), state);
    KernelEmitter::flatten(k.loadChain(keys, "dv_acc"), state);
  }
  Value scale2 = k.f(k.scale * kLog2e);
  for (const ga::GpuPart &part : parts) {
    const ga::View &qv = part.queryView;
    Value qlen = k.viewLength(qv, c);
    PartStructure ps = structureOf(m, part, qlen);
    Value lastK = m.sub(klen, m.c(1));
    Value lo = ps.columnInterval(row0).first;
    Value hi = ps.columnInterval(
                     m.min(m.add(row0, m.c(kBlockRows - 1)), lastK)).second;
    Value wlo = ps.columnInterval(m.min(r0, lastK)).first;
    Value whi = ps.columnInterval(
                      m.min(m.add(r0, m.c(kWarpRows - 1)), lastK)).second;
    whi = k.select(m.cmp(arith::CmpIPredicate::slt, r0, klen), whi, wlo);
    std::pair<Value, Value> colIv[2] = {ps.columnInterval(keys.view[0]),
                                        ps.columnInterval(keys.view[1])};
    Value lastRow = m.max(m.sub(qlen, m.c(1)), m.c(0));
    // Query tiles inside every key column of the warp need no mask (column
    // intervals are monotone: the warp's last key bounds the lows, its
    // first key the highs).
    Value innerLo, innerHi;
    if (part.excluded.empty()) {
      auto [first, kLast] = interiorRows(k, row0, r0);
      innerLo = ps.columnInterval(m.min(kLast, lastK)).first;
      innerHi = k.select(
          m.cmp(arith::CmpIPredicate::slt, kLast, klen),
          m.min(ps.columnInterval(m.min(first, lastK)).second, qlen),
          m.c(-1));
    }
    state = k.tileLoop(
        lo, hi, wlo, whi, qv, c, lastRow, k.arg["q"], k.arg["dout"], state,
        [&](Value qt, ValueRange st) -> SmallVector<Value> {
          Frags dk = KernelEmitter::unflatten(st, dTiles);
          Frags dv = KernelEmitter::unflatten(st.drop_front(4 * dTiles),
                                              dTiles);
          auto [s, dp] = pipelineScores(k, kf, vf);
          // The lane's query rows qt + 2t + {0, 1} + 8 nt (clamped).
          Value rowBase = m.add(qt, m.mul(k.t, m.c(2)));
          auto rowOrig = [&](int64_t nt, int e) {
            Value i = m.add(rowBase, m.c(nt * 8 + e % 2));
            return k.toOriginal(qv, c, m.min(i, lastRow));
          };
          s = k.maskedOrNot(
              tileInside(k, qt, innerLo, innerHi), s, [&](Frags &x) {
                // i32 bounds, as for the query-driven kernels (TileMask).
                Value lo[2], hi[2];
                for (int r = 0; r < 2; ++r) {
                  lo[r] = k.narrow(m.sub(colIv[r].first, rowBase));
                  hi[r] = k.narrow(k.select(
                      keys.valid[r], m.sub(colIv[r].second, rowBase), m.c(-1)));
                }
                for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
                  for (int e = 0; e < 4; ++e) {
                    int r = e / 2;
                    Value col = k.i32(nt * 8 + e % 2);
                    Value ok =
                        m.andi(m.cmp(arith::CmpIPredicate::sge, col, lo[r]),
                               m.cmp(arith::CmpIPredicate::slt, col, hi[r]));
                    if (!part.excluded.empty())
                      ok = m.andi(ok, k.passesExcluded(part, rowOrig(nt, e),
                                                       keys.orig[r]));
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
              stats[i][nt] =
                  k.rowStatPair(i, m.add(m.mul(k.t, m.c(2)), m.c(nt * 8)));
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
                k.stepWgmma({k.accumulateOperands(dv, p, k.smem[1])}, 1, {dp});
            dv = r[0];
            dp = r[1];
          }
          for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
            for (int e = 0; e < 4; ++e)
              s[nt][e] = k.fmul(p[nt][e], k.fsub(dp[nt][e], stat(1, nt, e)));
          if (k.useWgmma) {
            SmallVector<Frags> r =
                k.stepWgmma({k.accumulateOperands(dk, s, k.smem[0])}, 0, {dv});
            dk = r[0];
            dv = r[1];
          } else {
            k.accumulatePair(dv, p, k.smem[1], dk, s, k.smem[0]);
          }
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
  Value factor[2] = {k.f(k.scale), k.f(k.scale)};
  Value one[2] = {k.f(1), k.f(1)};
  // The rows that a later kernel continues go to the chain, the others are
  // final (fixed: the band's kernel ends every row outside the summaries).
  bool coveredLater =
      llvm::any_of(later, [](const ga::View &v) { return v.coversAll(); });
  LaneRows ends = keys, goesOn = keys;
  if (!later.empty() && !coveredLater)
    for (int r = 0; r < 2; ++r) {
      Value held = k.inView(later.front(), keys.orig[r]);
      for (const ga::View &v : later.drop_front())
        held = m.ori(held, k.inView(v, keys.orig[r]));
      goesOn.valid[r] = m.andi(keys.valid[r], held);
      ends.valid[r] = m.andi(keys.valid[r], m.noti(held));
    }
  if (!coveredLater) {
    k.storeRows(dk, ends, factor, k.arg["dk"]);
    k.storeRows(dv, ends, one, k.arg["dv"]);
  }
  if (!later.empty()) {
    k.storeChain(dk, goesOn, one, "dk_acc");
    k.storeChain(dv, goesOn, one, "dv_acc");
  }
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
