//===- TileWalks.cpp - The tile loops of the attention kernels -----------===//
//
// KernelEmitter's walks over staged tiles (KernelEmitter.h): the
// double-buffered tileLoop with block barriers, its prologue (startWalk),
// and the mbarrier-tracked stages of a block with a producer warpgroup
// (producerWalk, acquireStage, releaseStage). Staging one tile is in
// KernelEmitter.cpp.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

Value KernelEmitter::stageBarrier(bool empty, Value s) {
  Value at = m.mul(m.add(s, m.c(empty ? stages : 0)), m.c(8));
  return arith::TruncIOp::create(b, loc, b.getI32Type(),
                                 sharedAddress(stageBarriers, at));
}

void KernelEmitter::initStageBarriers() {
  auto ifOp = scf::IfOp::create(
      b, loc, m.cmp(arith::CmpIPredicate::eq, tid, m.c(0)), false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    for (int64_t s = 0; s < stages; ++s) {
      ga::mbarrierInit(b, loc, stageBarrier(false, m.c(s)), kThreads);
      ga::mbarrierInit(b, loc, stageBarrier(true, m.c(s)),
                       kThreads * warpgroups);
    }
  }
  gpu::BarrierOp::create(b, loc);
}

std::pair<Value, Value> KernelEmitter::stageAndParity(Value j) {
  Value s = m.rem(j, m.c(stages));
  Value parity = m.rem(m.div(j, m.c(stages)), m.c(2));
  return {s, narrow(parity)};
}

Value KernelEmitter::claimTiles(Value lo, Value hi) {
  Value first = tileCount;
  Value count = m.div(m.add(m.sub(hi, lo), m.c(keyTile - 1)), m.c(keyTile));
  tileCount = m.add(first, count);
  return first;
}

Value KernelEmitter::acquireStage(Value j) {
  auto [s, parity] = stageAndParity(j);
  ga::mbarrierWait(b, loc, stageBarrier(false, s), parity);
  ga::fenceProxyAsyncShared(b, loc);
  return s;
}

void KernelEmitter::releaseStage(Value s) {
  ga::mbarrierArrive(b, loc, stageBarrier(true, s));
}

void KernelEmitter::producerWalk(Value lo, Value hi, const ga::View &v, Value c,
                                 Value last, Value memA, Value memB) {
  hi = m.max(lo, hi);
  auto loop = scf::ForOp::create(
      b, loc, lo, hi, m.c(keyTile), ValueRange{tileCount},
      [&](OpBuilder &, Location, Value x0, ValueRange it) {
        auto [s, parity] = stageAndParity(it[0]);
        // Round r of a stage waits for round r - 1's consumers (parity
        // r - 1; a fresh barrier counts that phase as complete).
        ga::mbarrierWait(b, loc, stageBarrier(true, s),
                         arith::XOrIOp::create(b, loc, parity, i32(1)));
        stage(smem[0], s, memA, v, c, x0, last, keyTile, /*ownWarpgroup=*/true,
              /*wholeTiles=*/true);
        stage(smem[1], s, memB, v, c, x0, last, keyTile, /*ownWarpgroup=*/true,
              /*wholeTiles=*/true);
        if (statMem[0] && walkStats)
          stageRowStats(s, v, c, x0, last, /*ownWarpgroup=*/true);
        ga::mbarrierArriveCopies(b, loc, stageBarrier(false, s));
        scf::YieldOp::create(b, loc, ValueRange{m.add(it[0], m.c(1))});
      });
  tileCount = loop.getResult(0);
}

void KernelEmitter::awaitRowOperands() {
  nvgpu::DeviceAsyncWaitOp::create(b, loc, commitCopies(),
                                   b.getI32IntegerAttr(0));
  ga::fenceProxyAsyncShared(b, loc);
  byWarpgroup(Type(), [&](int32_t w) {
    ga::namedBarrierSync(b, loc, 3 + w, kThreads);
    return Value();
  });
}

// Named barrier 5 + w is warpgroup w's turn: it completes when w's 128
// threads sync on it and the other warpgroup's 128 have arrived (passed
// the turn), 256 in all. The id is a register (no branch on wg).
void KernelEmitter::awaitTurn() {
  ga::namedBarrierSync(b, loc, narrow(m.add(m.c(5), wg)), 2 * kThreads);
}

SmallVector<Value> KernelEmitter::ifMeets(
    Value x0, Value wlo, Value whi, ValueRange state,
    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  Value active =
      m.andi(m.cmp(arith::CmpIPredicate::slt, x0, whi),
             m.cmp(arith::CmpIPredicate::sgt, m.add(x0, m.c(keyTile)), wlo));
  auto ifOp = scf::IfOp::create(b, loc, TypeRange(state), active, true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  scf::YieldOp::create(b, loc, body(x0, state));
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  scf::YieldOp::create(b, loc, state);
  return SmallVector<Value>(ifOp.getResults());
}

KernelEmitter::WalkCopies
KernelEmitter::walkCopies(Value lo, Value hi, const ga::View &v, Value c,
                          Value last, Value memA, Value memB, bool descending) {
  WalkCopies w{lo, m.max(lo, hi), Value(), &v, c, last, memA, memB, descending};
  // The tile of the walk's x-th step (x from lo by keyTile): x itself, or
  // counted from the last tile, lo + lastTile.
  if (descending)
    w.lastTile = m.mul(
        m.div(m.max(m.sub(m.sub(w.hi, lo), m.c(1)), m.c(0)), m.c(keyTile)),
        m.c(keyTile));
  return w;
}

Value KernelEmitter::walkTileAt(const WalkCopies &w, Value x0) {
  return w.descending ? m.sub(m.add(w.lo, w.lastTile), m.sub(x0, w.lo)) : x0;
}

// Copies operand A (`withA`) and B (`withB`) of the tile at `x0` into
// stage `st` (B's only stage when single-staged) if it is before `hi`.
void KernelEmitter::copyWalkTile(const WalkCopies &w, Value x0, Value st,
                                 bool withA, bool withB) {
  auto ifOp = scf::IfOp::create(
      b, loc, m.cmp(arith::CmpIPredicate::slt, x0, w.hi), false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  Value x = walkTileAt(w, x0);
  if (withA)
    stage(smem[0], st, w.memA, *w.v, w.c, x, w.last, keyTile);
  if (withB)
    stage(smem[1], singleStageB ? m.c(0) : st, w.memB, *w.v, w.c, x, w.last,
          keyTile);
  if (withA && statMem[0] && walkStats)
    stageRowStats(st, *w.v, w.c, x, w.last);
}

void KernelEmitter::walkPrologue(const WalkCopies &w) {
  // The first tile into stage 0 (every thread of the block runs the loop:
  // its bounds are block-uniform). A single-staged B is a copy group of
  // its own, after A's (tileLoop).
  gpu::BarrierOp::create(b, loc);
  copyWalkTile(w, w.lo, m.c(0), true, !singleStageB);
  commitCopies();
  if (singleStageB) {
    copyWalkTile(w, w.lo, m.c(0), false, true);
    commitCopies();
  }
}

void KernelEmitter::startWalk(Value lo, Value hi, const ga::View &v, Value c,
                              Value last, Value memA, Value memB,
                              bool descending) {
  assert(!producerWarpgroup && !startedWalk && "one walk started at a time");
  walkPrologue(walkCopies(lo, hi, v, c, last, memA, memB, descending));
  startedWalk = lo;
}

SmallVector<Value> KernelEmitter::tileLoop(
    Value lo, Value hi, Value wlo, Value whi, const ga::View &v, Value c,
    Value last, Value memA, Value memB, ValueRange state,
    function_ref<SmallVector<Value>(Value, ValueRange)> body, bool longWalk,
    bool descending) {
  WalkCopies w = walkCopies(lo, hi, v, c, last, memA, memB, descending);
  hi = w.hi;
  if (producerWarpgroup) {
    assert(!descending && "a producer walks its tiles in order");
    // A consumer warpgroup: every tile of the block's walk waits for its
    // stage to be full, runs `body` if the warpgroup's keys meet it (every
    // tile without `wlo`), and marks the stage empty once its products
    // have completed (body waits for them). A warpgroup that skips a tile still
    // waits for it: an arrival on the empty barrier before the stage is full
    // could count towards the round before.
    SmallVector<Value> init(state.begin(), state.end());
    init.push_back(tileCount);
    auto loop = scf::ForOp::create(
        b, loc, lo, hi, m.c(keyTile), init,
        [&](OpBuilder &, Location, Value x0, ValueRange it) {
          ValueRange st = it.drop_back();
          Value s = acquireStage(it.back());
          curStage = s;
          SmallVector<Value> results =
              wlo ? ifMeets(x0, wlo, whi, st, body) : body(x0, st);
          releaseStage(s);
          results.push_back(m.add(it.back(), m.c(1)));
          scf::YieldOp::create(b, loc, results);
        });
    tileCount = loop.getResults().back();
    return SmallVector<Value>(loop.getResults().drop_back());
  }
  if (startedWalk) {
    assert(startedWalk == lo && "tileLoop runs the walk startWalk started");
    startedWalk = Value();
  } else {
    walkPrologue(w);
  }
  // With two stages of both operands, one barrier a tile: the wait for
  // tile x0 ends in a barrier that every warp reaches only after its work
  // on the tile before, so the next tile's copy into that tile's stage
  // follows it, and no barrier closes the iteration. (The copy then
  // overlaps this tile's body instead of also the wait for it, which the
  // body of the tile before already covered.)
  bool oneBarrier = longWalk && stages == 2 && !singleStageB;
  auto loop = scf::ForOp::create(
      b, loc, lo, hi, m.c(keyTile), state,
      [&](OpBuilder &, Location, Value x0, ValueRange st) {
        Value next = m.add(x0, m.c(keyTile));
        curStage = m.rem(m.div(m.sub(x0, lo), m.c(keyTile)), m.c(stages));
        if (oneBarrier) {
          awaitCopies(0);
          copyWalkTile(w, next, m.sub(m.c(1), curStage), true, true);
          commitCopies();
        } else {
          // With two stages, start the next tile into the other stage,
          // then wait for this one (at most the group just committed stays
          // in flight). A single-staged B: tile x0's B group (committed at
          // the end of the last iteration) may stay in flight too, until
          // the body's awaitStagedB.
          if (stages == 2)
            copyWalkTile(w, next, m.sub(m.c(1), curStage), true, !singleStageB);
          awaitCopies(stages == 1 ? 0 : singleStageB ? 2 : 1);
        }
        SmallVector<Value> results;
        if (useWgmma && warpgroups == 1) {
          // A warpgroup MMA takes all four warps: every warp runs the
          // tile, and the mask gives p = 0 to rows that do not meet it.
          results = body(walkTileAt(w, x0), st);
        } else {
          // A warp (mma.sync) or warpgroup (wgmma, two a block) whose own
          // range [wlo, whi) misses the tile keeps its state.
          results = ifMeets(walkTileAt(w, x0), wlo, whi, st, body);
        }
        if (!oneBarrier) {
          // Every warp is done with this stage before it is refilled.
          gpu::BarrierOp::create(b, loc);
          if (stages == 1)
            copyWalkTile(w, next, m.c(0), true, true);
          // B's next tile goes into its only stage now that the products
          // that read it are done: its own group, which the next
          // iteration's S product overlaps.
          if (singleStageB) {
            copyWalkTile(w, next, m.c(0), false, true);
            commitCopies();
          }
        }
        scf::YieldOp::create(b, loc, results);
      });
  // Nothing stays in flight past the loop: an empty walk never waited for
  // the row operands (rowOperands), and copies must not land in shared
  // memory after the block exits.
  nvgpu::DeviceAsyncWaitOp::create(b, loc, commitCopies(),
                                   b.getI32IntegerAttr(0));
  return SmallVector<Value>(loop.getResults().begin(), loop.getResults().end());
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
