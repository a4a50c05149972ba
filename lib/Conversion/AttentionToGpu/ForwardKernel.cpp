//===- ForwardKernel.cpp - The forward kernel: O and log-sum-exp --------===//
//
// The forward kernel of one group of parts sharing a query view: the
// block's rows (Walks.h), the online softmax over each part's staged key
// tiles (one walk a part, or with the pipelined forward two tiles'
// products in flight), and the output or the chain to the next kernel.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "Walks.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

namespace {

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

/// The softmax step of key tile `x0`'s scores `s` (masked to the lane
/// rows' intervals) against the rows' state `st`.
SoftmaxStep tileSoftmax(KernelEmitter &k, const ga::GpuPart &part,
                        const KeyRange &kr, const BlockRows &br, Value x0,
                        Frags s, const ForwardState &st) {
  s = maskQueryTile(k, part, kr, br.c, br.lanes, x0, std::move(s));
  return softmaxStep(k, std::move(s), st.m, st.l);
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
        SoftmaxStep step =
            tileSoftmax(k, part, kr, br, kt, k.scoresShared(qf, k.smem[0]), s);
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
    SoftmaxStep step0 = tileSoftmax(k, part, kr, br, lo, std::move(s0), state);
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
          SoftmaxStep step = tileSoftmax(k, part, kr, br, x0, r[0], st);
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

/// The pipelined walk of a consumer warpgroup fed by a producer
/// (forward-producer with pipelined-forward): as forwardWalkPipelined, S_j
/// and the update by P_{j-1} V_{j-1} in flight together and tile j's
/// softmax over the update, but the stages are the producer's
/// mbarrier-tracked ones ({K_j, V_j} arrive together), so the warpgroup
/// holds two stages at a time and never meets the other at a block
/// barrier. With ping-pong (KernelEmitter::pingPong) each issue of
/// products waits for the warpgroup's turn and passes it on, so the two
/// warpgroups' products alternate on the tensor cores while the other's
/// softmax runs. Both consumers walk every tile of the block's range (the
/// mask zeroes a warpgroup's rows outside it): the stages' barriers and
/// the turns count every tile once a warpgroup.
ForwardState forwardWalkConsumer(KernelEmitter &k, const ga::GpuPart &part,
                                 const KeyRange &kr, const BlockRows &br,
                                 const RowOperand &qf, ForwardState state) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  int64_t dTiles = k.d / 8, kt = k.keyTile;
  Value lo = kr.lo, hi = m.max(kr.lo, kr.hi);
  Value first = k.claimTiles(lo, hi);
  // Issues `ops` in the warpgroup's turn (passed on before the wait) and
  // waits until `pending` of them are in flight.
  auto issue = [&](ArrayRef<KernelEmitter::WgmmaOperands> ops,
                   int64_t pending) {
    if (k.pingPong)
      k.awaitTurn();
    return k.stepWgmma(ops, pending, {}, k.pingPong);
  };
  SmallVector<Value> init = state.flat();
  auto walk = scf::IfOp::create(b, loc, TypeRange(ValueRange(init)),
                                m.cmp(arith::CmpIPredicate::slt, lo, hi), true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&walk.getThenRegion().front());
    // Prologue: S_0 and its softmax.
    k.curStage = k.acquireStage(first);
    Frags s0 = issue({k.scoresOperands(qf, k.smem[0])}, 0)[0];
    SoftmaxStep step0 = tileSoftmax(k, part, kr, br, lo, std::move(s0), state);
    ForwardState st0 = afterSoftmax(k, step0, state.acc);
    // P is carried packed (A registers: half of its f32 scores).
    auto packed = [&](const Frags &p) {
      return KernelEmitter::flattened(k.packA(p).steps);
    };
    auto unpacked = [](ValueRange v) {
      return PackedA{KernelEmitter::unflatten(v, v.size() / 4)};
    };
    SmallVector<Value> carried = st0.flat();
    SmallVector<Value> p0 = packed(step0.p);
    carried.append(p0);
    size_t pCount = p0.size();
    auto loop = scf::ForOp::create(
        b, loc, m.add(lo, m.c(kt)), hi, m.c(kt), carried,
        [&](OpBuilder &, Location, Value x0, ValueRange it) {
          ForwardState st = ForwardState::of(it, dTiles);
          auto pPrev = unpacked(it.take_back(pCount));
          Value j = m.add(first, m.div(m.sub(x0, lo), m.c(kt)));
          Value prev = k.stageAndParity(m.sub(j, m.c(1))).first;
          k.curStage = k.acquireStage(j);
          KernelEmitter::WgmmaOperands sOps = k.scoresOperands(qf, k.smem[0]);
          k.curStage = prev;
          KernelEmitter::WgmmaOperands pvOps =
              k.accumulatePackedOperands(st.acc, pPrev, k.smem[1]);
          // S_j completes; the update stays in flight over the softmax.
          SmallVector<Frags> r = issue({sOps, pvOps}, 1);
          SoftmaxStep step = tileSoftmax(k, part, kr, br, x0, r[0], st);
          Frags acc = k.stepWgmma({}, 0, {r[1]})[0];
          k.releaseStage(prev);
          ForwardState n = afterSoftmax(k, step, acc);
          SmallVector<Value> out = n.flat();
          out.append(packed(step.p));
          scf::YieldOp::create(b, loc, out);
        });
    // Epilogue: the last tile's update.
    ForwardState last = ForwardState::of(loop.getResults(), dTiles);
    auto pLast = unpacked(ValueRange(loop.getResults()).take_back(pCount));
    Value lastStage = k.stageAndParity(m.sub(k.tileCount, m.c(1))).first;
    k.curStage = lastStage;
    last.acc =
        issue({k.accumulatePackedOperands(last.acc, pLast, k.smem[1])}, 0)[0];
    k.releaseStage(lastStage);
    scf::YieldOp::create(b, loc, last.flat());
    b.setInsertionPointToStart(&walk.getElseRegion().front());
    scf::YieldOp::create(b, loc, init);
  }
  return ForwardState::of(walk.getResults(), dTiles);
}

} // namespace

void emitForward(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
                 bool last) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  QueryBlock qb = beginQueryBlock(k, parts, {"q"});
  const BlockRows &br = qb.br;
  const LaneRows &rows = br.lanes;
  const RowOperand &qf = qb.ops[0];
  int64_t dTiles = k.d / 8;

  // State: m (log2 units) and lane-partial l for both rows, then acc.
  ForwardState state;
  // The first part's walk, when it starts before the chain's loads.
  std::optional<KeyRange> started;
  if (first) {
    for (int r = 0; r < 2; ++r)
      state.m[r] = k.negInf(), state.l[r] = k.f(0);
    state.acc = k.zeros(dTiles);
  } else {
    if (k.startsWalks() && !k.pipelinedForward)
      started = startKeyWalk(k, parts.front(), br);
    for (int r = 0; r < 2; ++r) {
      Value lse = k.load(k.arg["lse"], m.add(k.rowBase, rows.orig[r]));
      state.m[r] = k.fmul(lse, k.f(kLog2e));
      Value has =
          m.andi(k.t0, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                             lse, k.negInf()));
      state.l[r] = k.select(has, k.f(1), k.f(0));
    }
    state.acc = k.loadChain(rows, "o_acc");
  }

  for (const ga::GpuPart &part : parts) {
    KeyRange kr =
        started && &part == &parts.front() ? *started : keyRange(k, part, br);
    if (k.pipelinedForward && k.producerWarpgroup)
      state = forwardWalkConsumer(k, part, kr, br, qf, std::move(state));
    else if (k.pipelinedForward)
      state = forwardWalkPipelined(k, part, kr, br, qf, std::move(state));
    else
      state = forwardWalk(k, part, kr, br, qf, std::move(state));
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
    Value has =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, l, k.f(0));
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
  if (!last) {
    k.storeChain(acc, rows, inv, "o_acc");
    return;
  }
  k.storeRows(acc, rows, inv, k.arg["o"]);
  if (!first && k.discardChain)
    discardChainRows(k, parts.front().queryView, br, "o_acc");
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
