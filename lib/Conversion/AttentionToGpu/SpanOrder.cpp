//===- SpanOrder.cpp - Both views of a chained pass in one kernel ---------===//
//
// The span-ordered kernels (the pass options `span-forward`, `span-dq`,
// `span-dkv`): where a pass is a chain of two kernels, the band (identity
// view; it starts the chain: o_acc and lse, dq_acc with delta and lse2, or
// dk_acc and dv_acc) and the residue classes of one stride L (they finish
// it), one kernel runs the tiles of both, so that a chain row is read a
// few microseconds after it was written, from L2, instead of after the
// whole band kernel has streamed Q, K, V past it (docs/performance.md,
// session 13: the chains are 1.05 of the 4.71 GB that strided d = 128
// moves at n = 65536; without them the call took 0.783 of its time).
// The two bodies are the ordinary kernels' (emitForward, emitDq, emitDkv);
// this file adds the order and the synchronisation around them.
//
// Spans. A column tile (class c, view rows R s .. R s + R - 1 at R rows
// a block; query rows, or key rows for dK/dV) holds the positions
// c + L (R s .. R s + R - 1): all of them lie in positions R L s ..
// R L (s + 1), the band tiles L s .. L s + L - 1 of the same head. That
// set is span s; a head has ns = ceil(ceil(N / L) / R) spans, each of L
// band tiles (past the sequence: empty) and L column tiles (one a class;
// empty where the class is shorter).
//
// Tickets, not blockIdx. Thread 0 of each block takes a ticket from a
// counter (atomic add); the ticket names the tile. The launch's spans
// form one list, head after head, each head's last span first (σ(i) = ns
// - 1 - i: their column walks are the longest, as the column kernel's
// reversed tiles: KernelEmitter::tileOf). Tickets come in rounds: round r
// holds the band tiles of the list's span r and then the column tiles of
// its span r - lag. The lag runs across heads: where a head is one span
// (n <= 64 L), the columns of head h follow the band of head h + lag, so
// that a head's q, k, v and chain are read by its columns from L2 (a
// lag within each head, as first built, left the columns spinning on the
// band tiles just started: 1.49x slower at n = 4096).
//
// Flags. A band tile, after its chain rows and lse are stored and the
// block has met at a barrier, adds one to its span's flag (a release at
// device scope). A column tile's thread 0 spins on its span's flag until
// it reads L (acquire at device scope), and the block meets at a barrier,
// before it reads the chain and the statistics the band tiles wrote
// (KernelEmitter::awaitPredecessors). After its output it may discard the
// chain rows' L2 lines (discardChainRows).
//
// No deadlock: a column tile waits only for band tiles whose tickets are
// smaller than its own; their blocks took those tickets, so they are
// running, and a band tile never waits. So the launch completes whatever
// order the hardware starts the blocks in.
//
// The counter and the flags are a scratch buffer (`span_flags`,
// `span_flags_dq`, `span_flags_dkv`, `mix_flags_dkv`) that the manifest
// marks `zeroed`: the runtime sets it to zero before each pass that takes
// it.
//
// Mixed (`mixed-dkv`). Fixed's dK/dV is a chain of two kernels too: the
// own blocks (identity key view; the summary keys' rows go to the chain)
// and the summaries (compact key view; they finish the chain). The first
// is bound by DRAM (it reads Q, K, V and dO again: 267 us at 88% of the
// H100's bandwidth at n = 4096, d = 128, session 13), the second by the
// tensor cores (491 TFLOP/s on its pairs, session 17), and they ran one
// after the other. One kernel of both, its tickets mixing the two kinds
// of tile in every head, runs them side by side on each SM, and the own
// blocks read the head's Q, K, V and dO from L2 while its summary tiles
// walk them. With T = 64 keys a tile, stride L and summary width c (T a
// multiple of c, L of T), a summary tile holds the summaries of T / c
// blocks, which q = L / c own-block tiles cover; each head's tickets come
// in rounds of q own-block tiles and then the summary tile of the blocks
// they cover, so that the longest summary walks (the first) start first.
// An own-block tile, after its stores and a block barrier, sets its flag
// (release); a summary tile walks its query tiles with its accumulators
// from zero and, before it adds the chain, waits for the flags of the
// own-block tiles that hold its keys (acquire). Those have smaller
// tickets than it (its round's or before), so, as above, the launch
// cannot deadlock; and they are short, so the wait after a whole walk
// finds them done.
//
// Paired (`paired-backward`). Strided's column part is one residue part
// for both backward passes: its dQ kernel walks the classes' query tiles,
// its dK/dV kernel their key tiles, and each reads the whole class's Q,
// K, V and dO (the column kernels' DRAM reads were those four and their
// chain: session 13's ncu, docs/performance.md). Run one after the
// other, the two kernels read the four tensors twice. One kernel whose
// blocks alternate the two kinds of tile (block 2 i: the dQ kernel's
// block i; block 2 i + 1: the dK/dV kernel's block i) keeps a class's
// tiles of both kinds in flight together, so that the second reader of a
// row finds it in L2. A dQ tile walks its class's keys from the first to
// its own (the kernel's tiles are reversed: its last query tile first)
// and a dK/dV tile its queries from its own to the last, so the two
// tiles of a pair walk as many tiles. No tile waits: the chains dq_acc,
// dk_acc and dv_acc and the statistics were written by the band's
// kernels before the launch, the class-major copies of the statistics
// too (KernelEmitter::classStatsFromFirst: this kernel's own dQ tiles,
// which wrote them in the column dQ kernel, now run beside their
// readers).
//
//===----------------------------------------------------------------------===//

#include "SpanOrder.h"
#include "Kernels.h"
#include "Walks.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

namespace {

constexpr int64_t kL2Line = 128; // bytes

/// The generic address of element `index` of the i32 buffer `mem`.
Value wordAddress(KernelEmitter &k, Value mem, Value index) {
  return k.sharedAddress(mem, k.m.mul(index, k.m.c(4)));
}

/// Thread `0` adds one to the counter at `addr` (relaxed, device scope)
/// and returns the old value.
Value takeTicket(KernelEmitter &k, Value addr) {
  OpBuilder &b = k.b;
  Value one = arith::ConstantIntOp::create(b, k.loc, b.getI32Type(), 1);
  return ga::sideEffectAsm(b, k.loc, b.getI32Type(), {addr, one},
                           "atom.relaxed.gpu.add.u32 $0, [$1], $2;", "=r,l,r")
      .getRes();
}

/// The block's ticket (an index), from thread 0 through shared memory:
/// the counter is word 0 of `flags`.
Value blockTicket(KernelEmitter &k, Value flags) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value zero = k.m.c(0);
  auto first = scf::IfOp::create(
      b, loc, k.m.cmp(arith::CmpIPredicate::eq, k.tid, zero), false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&first.getThenRegion().front());
    Value ticket = takeTicket(k, wordAddress(k, flags, zero));
    memref::StoreOp::create(b, loc, ticket, k.ticketMem, ValueRange{zero});
  }
  gpu::BarrierOp::create(b, loc);
  return arith::IndexCastUIOp::create(
      b, loc, b.getIndexType(),
      memref::LoadOp::create(b, loc, k.ticketMem, ValueRange{zero}));
}

/// After a tile's body (the builder at the end of its region): a block
/// barrier (every thread's chain stores), then thread 0 adds one to word
/// `index` of `flags` with release semantics at device scope.
void releaseFlag(KernelEmitter &k, Value flags, Value index) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  gpu::BarrierOp::create(b, loc);
  auto release = scf::IfOp::create(
      b, loc, k.m.cmp(arith::CmpIPredicate::eq, k.tid, k.m.c(0)), false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&release.getThenRegion().front());
  Value one = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 1);
  ga::sideEffectAsm(b, loc, Type(), {wordAddress(k, flags, index), one},
                    "fence.acq_rel.gpu;\n\tred.relaxed.gpu.add.u32 [$0], $1;",
                    "l,r");
}

} // namespace

SpanTicket decodeSpanTicket(attention_loops::IndexMath &m, Value ticket,
                            Value tickets, Value n, int64_t stride,
                            int64_t rows, int64_t lag) {
  OpBuilder &b = m.b;
  Location loc = m.loc;
  auto select = [&](Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y).getResult();
  };
  SpanTicket st;
  Value zero = m.c(0), L = m.c(stride), twoL = m.c(2 * stride);
  st.spans = m.ceilDiv(m.ceilDiv(n, L), m.c(rows));
  // The launch's spans, head after head: g = head * spans + σ⁻¹(span).
  Value total = m.div(tickets, twoL);
  // The rounds (file comment): `lead` band tickets first (spans 0 ..
  // lag - 1 of that list), then `pairs` rounds of 2 L (band span r + lag,
  // column span r), then the last column spans.
  Value lagC = m.c(lag);
  Value lead = m.mul(m.min(lagC, total), L);
  Value pairs = m.max(zero, m.sub(total, lagC));
  Value pairEnd = m.add(lead, m.mul(twoL, pairs));
  Value inLead = m.cmp(arith::CmpIPredicate::slt, ticket, lead);
  Value inPairs =
      m.andi(m.noti(inLead), m.cmp(arith::CmpIPredicate::slt, ticket, pairEnd));
  // Outside their range these are negative and selected away.
  Value mid = m.sub(ticket, lead);
  Value round = m.div(mid, twoL), at = m.rem(mid, twoL);
  Value tail = m.sub(ticket, pairEnd);
  st.isBand =
      m.ori(inLead, m.andi(inPairs, m.cmp(arith::CmpIPredicate::slt, at, L)));
  Value bandOrder = select(inLead, m.div(ticket, L), m.add(round, lagC));
  Value bandAt = select(inLead, m.rem(ticket, L), at);
  Value colOrder = select(inPairs, round, m.add(pairs, m.div(tail, L)));
  st.columnClass = select(inPairs, m.sub(at, L), m.rem(tail, L));
  // A head's spans, the last first.
  auto spanOf = [&](Value order) {
    return m.sub(m.sub(st.spans, m.c(1)), m.rem(order, st.spans));
  };
  st.bandSpan = spanOf(bandOrder);
  st.bandTile = m.add(m.mul(st.bandSpan, L), bandAt);
  st.columnSpan = spanOf(colOrder);
  st.head =
      select(st.isBand, m.div(bandOrder, st.spans), m.div(colOrder, st.spans));
  return st;
}

MixTicket decodeMixTicket(attention_loops::IndexMath &m, Value ticket,
                          Value summaryTiles, int64_t perRound) {
  MixTicket mt;
  Value round = m.c(perRound + 1);
  Value perHead = m.mul(summaryTiles, round);
  Value at = m.rem(ticket, perHead);
  Value r = m.div(at, round), slot = m.rem(at, round);
  mt.head = m.div(ticket, perHead);
  mt.isOwn = m.cmp(arith::CmpIPredicate::slt, slot, m.c(perRound));
  mt.ownTile = m.add(m.mul(r, m.c(perRound)), slot);
  mt.summaryTile = r;
  return mt;
}

// head-groups' order (KernelEmitter::groupHeads) is plain index arithmetic
// on blockIdx, kept here beside the tickets' so that the same unit test
// runs both.
std::pair<Value, Value> groupedBlock(attention_loops::IndexMath &m, Value bx,
                                     Value by, Value gx, Value gy,
                                     Value resident) {
  Value group = m.max(m.c(1), m.ceilDiv(resident, gx));
  Value linear = m.add(m.mul(by, gx), bx);
  Value perGroup = m.mul(group, gx);
  Value first = m.mul(m.div(linear, perGroup), group);
  // The last group may hold fewer head rows.
  Value size = m.min(group, m.sub(gy, first));
  Value within = m.rem(linear, perGroup);
  return {m.div(within, size), m.add(first, m.rem(within, size))};
}

/// Spins until the i32 at `addr` is at least `target` (acquire, device
/// scope: the stores that its writer's release covers are then visible),
/// backing off between reads: a spinning block shares its SM with others.
static void spinUntilAtLeast(KernelEmitter &k, Value addr, int64_t target) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  OpBuilder::InsertionGuard guard(b);
  Type i32 = b.getI32Type();
  Value bound = arith::ConstantIntOp::create(b, loc, i32, target);
  auto loop = scf::WhileOp::create(b, loc, TypeRange(), ValueRange());
  b.createBlock(&loop.getBefore());
  Value seen = ga::sideEffectAsm(b, loc, i32, {addr},
                                 "ld.acquire.gpu.u32 $0, [$1];", "=r,l")
                   .getRes();
  scf::ConditionOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, seen, bound),
      ValueRange());
  b.createBlock(&loop.getAfter());
  ga::sideEffectAsm(b, loc, Type(), {}, "nanosleep.u32 256;", "");
  scf::YieldOp::create(b, loc);
}

void KernelEmitter::awaitChainFlag() {
  // Thread 0 spins until the band tiles that write the block's chain rows
  // have released the flag, then the block meets, which orders the other
  // threads' loads after its acquire.
  auto ifOp = scf::IfOp::create(
      b, loc, m.cmp(arith::CmpIPredicate::eq, tid, m.c(0)), false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    spinUntilAtLeast(*this, chainFlag, chainFlagTarget);
  }
  gpu::BarrierOp::create(b, loc);
}

void KernelEmitter::awaitTileFlags() {
  // As awaitChainFlag, over each flag of the range in turn.
  auto ifOp = scf::IfOp::create(
      b, loc, m.cmp(arith::CmpIPredicate::eq, tid, m.c(0)), false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    auto each = scf::ForOp::create(b, loc, chainTileLo,
                                   m.add(chainTileHi, m.c(1)), m.c(1));
    b.setInsertionPointToStart(each.getBody());
    spinUntilAtLeast(
        *this, wordAddress(*this, chainTileFlags, each.getInductionVar()), 1);
  }
  gpu::BarrierOp::create(b, loc);
}

void discardChainRows(KernelEmitter &k, const ga::View &v, const BlockRows &br,
                      StringRef name) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  int64_t rowBytes = k.d * k.chainType().getIntOrFloatBitWidth() / 8;
  if (rowBytes % kL2Line != 0)
    return;
  // The chain's loads have completed once every thread has got here: their
  // values went into the tile loops and the stores above.
  gpu::BarrierOp::create(b, loc);
  int64_t lines = rowBytes / kL2Line;
  int64_t total = k.rowsPerBlock() * lines, threads = k.threads();
  Value mem = k.arg[name];
  for (int64_t j = 0; j * threads < total; ++j) {
    Value at = m.add(k.tid, m.c(j * threads));
    Value row = m.add(br.blockRow0, m.div(at, m.c(lines)));
    Value valid = m.andi(m.cmp(arith::CmpIPredicate::slt, at, m.c(total)),
                         m.cmp(arith::CmpIPredicate::slt, row, br.len));
    auto ifOp = scf::IfOp::create(b, loc, valid, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    Value pos = k.toOriginal(v, br.c, row);
    Value byte = m.add(m.mul(m.add(k.rowBase, pos), m.c(rowBytes)),
                       m.mul(m.rem(at, m.c(lines)), m.c(kL2Line)));
    ga::sideEffectAsm(b, loc, Type(), {k.sharedAddress(mem, byte)},
                      "{\n\t.reg .u64 g;\n\tcvta.to.global.u64 g, $0;\n\t"
                      "discard.global.L2 [g], 128;\n\t}",
                      "l");
  }
}

void emitSpanOrdered(KernelEmitter &k, int64_t stride, int64_t lag,
                     bool discard, StringRef flagsName,
                     function_ref<void()> band, function_ref<void()> columns) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  assert(k.ticketMem && "begin() with ticketSlot");
  assert(lag > 0 && "column tiles lag their band tiles");
  Value flags = k.arg[flagsName];
  Type i32 = b.getI32Type();
  Value zero = m.c(0);
  Value ticket = blockTicket(k, flags);

  Value tickets = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  SpanTicket st =
      decodeSpanTicket(m, ticket, tickets, k.n, stride, k.rowsPerBlock(), lag);
  Value bh = st.head, spans = st.spans;
  k.setHead(bh);

  // The band tile's flag, as one 32-bit word across its body (registers:
  // the body's own are what the separate kernel had).
  Value bandFlag = arith::IndexCastOp::create(
      b, loc, i32, m.add(m.c(1), m.add(m.mul(bh, spans), st.bandSpan)));
  auto which = scf::IfOp::create(b, loc, st.isBand, true);
  Block *bandBlock = &which.getThenRegion().front();
  b.setInsertionPoint(bandBlock->getTerminator());
  k.tileOverride = {zero, st.bandTile};
  band();
  // Every thread's chain stores, then one release for the block.
  b.setInsertionPoint(bandBlock->getTerminator());
  releaseFlag(k, flags,
              arith::IndexCastUIOp::create(b, loc, b.getIndexType(), bandFlag));

  Block *colBlock = &which.getElseRegion().front();
  b.setInsertionPoint(colBlock->getTerminator());
  k.tileOverride = {st.columnClass, st.columnSpan};
  k.chainFlag = wordAddress(
      k, flags, m.add(m.c(1), m.add(m.mul(bh, spans), st.columnSpan)));
  k.chainFlagTarget = stride;
  k.discardChain = discard;
  columns();
  k.discardChain = false;
  k.chainFlag = Value();
  k.tileOverride.reset();
  b.setInsertionPointAfter(which);
}

void emitMixedDkv(KernelEmitter &k, const ga::View &summaryView,
                  StringRef flagsName, function_ref<void()> own,
                  function_ref<void()> summaries) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  assert(k.ticketMem && "begin() with ticketSlot");
  int64_t tile = k.rowsPerBlock(), stride = summaryView.stride,
          width = summaryView.width;
  assert(summaryView.kind == ga::ViewKind::Compact && tile % width == 0 &&
         stride % tile == 0 && "a summary tile's blocks are whole rounds");
  Value flags = k.arg[flagsName];
  Value zero = m.c(0);
  // The ticket's tile: own-block (identity view) and summary tiles a head
  // (the compact view's grid, Manifest.h's gridX); the head's
  // own-block flags follow the counter.
  Value ownTiles = m.ceilDiv(k.n, m.c(tile));
  Value summaryTiles =
      m.ceilDiv(m.mul(m.ceilDiv(k.n, m.c(stride)), m.c(width)), m.c(tile));
  MixTicket mt =
      decodeMixTicket(m, blockTicket(k, flags), summaryTiles, stride / width);
  Value flagBase = m.add(m.c(1), m.mul(mt.head, ownTiles));
  k.setHead(mt.head);

  auto which = scf::IfOp::create(b, loc, mt.isOwn, true);
  Block *ownBlock = &which.getThenRegion().front();
  b.setInsertionPoint(ownBlock->getTerminator());
  k.tileOverride = {zero, mt.ownTile};
  own();
  b.setInsertionPoint(ownBlock->getTerminator());
  // Tiles past the sequence (the last round's) have no flag.
  auto inside = scf::IfOp::create(
      b, loc, m.cmp(arith::CmpIPredicate::slt, mt.ownTile, ownTiles), false);
  b.setInsertionPointToStart(&inside.getThenRegion().front());
  releaseFlag(k, flags, m.add(flagBase, mt.ownTile));

  Block *summaryBlock = &which.getElseRegion().front();
  b.setInsertionPoint(summaryBlock->getTerminator());
  k.tileOverride = {zero, mt.summaryTile};
  // The own-block tiles holding the positions of the tile's first and
  // last keys (a tile past the view has no walk: emitDkv's guard).
  // Computed here, so live across the walk: decoding the ticket again
  // from shared memory at the wait spilled more (fixed d = 128: 372 bytes
  // against 88).
  Value len = k.viewLength(summaryView, zero);
  Value x0 = m.mul(mt.summaryTile, m.c(tile));
  Value x1 = m.max(x0, m.sub(m.min(m.add(x0, m.c(tile)), len), m.c(1)));
  auto flagOf = [&](Value x) {
    return m.add(flagBase,
                 m.div(k.toOriginal(summaryView, zero, x), m.c(tile)));
  };
  k.chainTileFlags = flags;
  k.chainTileLo = flagOf(x0);
  k.chainTileHi = flagOf(x1);
  summaries();
  k.chainTileFlags = k.chainTileLo = k.chainTileHi = Value();
  k.tileOverride.reset();
  b.setInsertionPointAfter(which);
}

void emitPairedTiles(KernelEmitter &k, function_ref<void()> dq,
                     function_ref<void()> dkv) {
  OpBuilder &b = k.b;
  IndexMath &m = k.m;
  Value bx = k.bx;
  Value isDq = m.cmp(arith::CmpIPredicate::eq, m.rem(bx, m.c(2)), m.c(0));
  // Both bodies find their tile from bx (KernelEmitter::tileOf).
  k.bx = m.div(bx, m.c(2));
  auto which = scf::IfOp::create(b, k.loc, isDq, true);
  b.setInsertionPoint(which.getThenRegion().front().getTerminator());
  k.walkStats = false;
  dq();
  k.walkStats = true;
  b.setInsertionPoint(which.getElseRegion().front().getTerminator());
  dkv();
  k.bx = bx;
  b.setInsertionPointAfter(which);
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
