//===- Walks.cpp - The block's rows and the keys its kernels walk ---------===//
//
// Walks.h.
//
//===----------------------------------------------------------------------===//

#include "Walks.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

BlockRows blockRows(KernelEmitter &k, const ga::View &v, bool queryDriven) {
  IndexMath &m = k.m;
  assert((queryDriven || k.warpgroups == 1 || k.producerWarpgroup) &&
         "the key-driven kernels have one warpgroup a block, or two "
         "consumers with a producer");
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

bool keyOnlyExclusions(const ga::GpuPart &part) {
  return !part.excluded.empty() &&
         llvm::all_of(part.excluded, [](const lay::Factor &f) {
           return f.getKind() == lay::FactorKind::Summary && !f.isEarlierOnly();
         });
}

Value excludedKeysIn(IndexMath &m, ArrayRef<lay::Factor> excluded, Value a,
                     Value b) {
  Value total = m.c(0);
  for (const lay::Factor &f : excluded) {
    assert(f.getKind() == lay::FactorKind::Summary && !f.isEarlierOnly() &&
           "a key-only exclusion");
    int64_t l = f.getPeriod(), lo = f.getLo(), w = f.getHi() - f.getLo();
    // The factor's keys in [0, x).
    auto before = [&](Value x) {
      Value r = m.rem(x, m.c(l));
      return m.add(m.mul(m.div(x, m.c(l)), m.c(w)),
                   m.min(m.max(m.sub(r, m.c(lo)), m.c(0)), m.c(w)));
    };
    total = m.add(total, m.sub(before(m.add(b, m.c(1))), before(a)));
  }
  return total;
}

PartStructure structureOf(IndexMath &m, const ga::GpuPart &p, Value len) {
  return PartStructure(m, p.viewFactor, {}, p.compact, len);
}

bool longWalk(const ga::GpuPart &part) {
  return part.keyView.kind == ga::ViewKind::Compact;
}

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
    return m.min(ps.rowInterval(m.min(m.add(row, m.c(span - 1)), lastQ)).second,
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

KeyRange startKeyWalk(KernelEmitter &k, const ga::GpuPart &part,
                      const BlockRows &br) {
  KeyRange kr = keyRange(k, part, br);
  k.startWalk(kr.lo, kr.hi, part.keyView, br.c, kr.lastKey, k.arg["k"],
              k.arg["v"]);
  return kr;
}

void splitProducer(KernelEmitter &k, function_ref<void()> produce) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  k.initStageBarriers();
  // Both sides count the walks' tiles from here (stage and phase).
  Value noTiles = m.c(0);
  k.tileCount = noTiles;
  auto role = scf::IfOp::create(
      b, loc, m.cmp(arith::CmpIPredicate::eq, k.wg, m.c(2)), true);
  b.setInsertionPointToStart(&role.getThenRegion().front());
  NVVM::SetMaxRegisterOp::create(b, loc, k.producerRegisters,
                                 NVVM::SetMaxRegisterAction::decrease);
  produce();
  // The consumers wait for every copy; nothing is left in flight.
  nvgpu::DeviceAsyncWaitOp::create(b, loc, k.commitCopies(),
                                   b.getI32IntegerAttr(0));
  // The rest of the kernel is the consumers' (the else region).
  b.setInsertionPointToStart(&role.getElseRegion().front());
  NVVM::SetMaxRegisterOp::create(b, loc, k.consumerRegisters,
                                 NVVM::SetMaxRegisterAction::increase);
  k.tileCount = noTiles;
  // Ping-pong: warpgroup 0 takes the first turn.
  if (k.pingPong)
    k.byWarpgroup(Type(), [&](int32_t w) {
      if (w == 1)
        ga::namedBarrierArrive(b, loc, 5, 2 * kThreads);
      return Value();
    });
}

SmallVector<RowOperand> blockRowOperands(KernelEmitter &k,
                                         ArrayRef<StringRef> names,
                                         const ga::View &v,
                                         const BlockRows &br) {
  SmallVector<RowOperand> ops =
      k.rowOperands(names, br.lanes, v, br.c, br.row0, br.len);
  k.awaitPredecessors(); // lse, delta and the chains come from earlier kernels
  if (k.producerWarpgroup)
    k.awaitRowOperands();
  return ops;
}

QueryBlock beginQueryBlock(KernelEmitter &k, ArrayRef<ga::GpuPart> parts,
                           ArrayRef<StringRef> names) {
  const ga::View &qv = parts.front().queryView;
  QueryBlock qb;
  qb.br = blockRows(k, qv, /*queryDriven=*/true);
  const BlockRows &br = qb.br;
  if (k.producerWarpgroup)
    splitProducer(k, [&] {
      for (const ga::GpuPart &part : parts) {
        KeyRange kr = keyRange(k, part, br);
        k.producerWalk(kr.lo, kr.hi, part.keyView, br.c, kr.lastKey, k.arg["k"],
                       k.arg["v"]);
      }
    });
  qb.ops = blockRowOperands(k, names, qv, br);
  return qb;
}

Value tileInside(KernelEmitter &k, Value x0, Value lo, Value hi) {
  IndexMath &m = k.m;
  if (!lo)
    return Value();
  return m.andi(
      m.cmp(arith::CmpIPredicate::sge, x0, lo),
      m.cmp(arith::CmpIPredicate::sle, m.add(x0, m.c(k.keyTile)), hi));
}

namespace {

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

Value keyAllowed(KernelEmitter &k, const ga::GpuPart &part, const KeyRange &kr,
                 const TileMask &tm, Value c, const LaneRows &rows, int r,
                 int64_t nt, int e) {
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

} // namespace

Frags maskQueryTile(KernelEmitter &k, const ga::GpuPart &part,
                    const KeyRange &kr, Value c, const LaneRows &rows, Value kt,
                    Frags s) {
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

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
