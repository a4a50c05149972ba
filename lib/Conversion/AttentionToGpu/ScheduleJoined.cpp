//===- ScheduleJoined.cpp - Two kernels' tiles in one launch --------------===//
//
// EntrySchedule's joined launches (Schedule.h): where an option gives the
// tiles of two of a head group's kernels one launch, so that they run
// side by side and share what they read in L2 -- the span order of a
// pass's band and column kernels (span-forward, span-dq, span-dkv),
// fixed's mixed dK/dV (mixed-dkv) and the paired backward
// (paired-backward). The bodies and the ticket orders are SpanOrder.cpp's;
// this file decides where they apply and builds their manifest entries.
//
//===----------------------------------------------------------------------===//

#include "Schedule.h"

#include "Kernels.h"
#include "Manifest.h"
#include "SpanOrder.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

namespace json = llvm::json;

/// The flags of a launch whose blocks take tickets: buffer `name` in
/// `bufs`, and its zeroed scratch, a ticket counter, then a flag for each
/// of the `perHead` units (spans, tiles) of each (batch, head).
void EntrySchedule::addTicketFlags(Buffers &bufs, StringRef name,
                                   json::Value perHead) {
  bufs.push_back({name, b.getI32Type()});
  scratch.push_back(json::Object{
      {"name", name},
      {"bytes",
       exOp("mul",
            exOp("add", ex(1), exOp("mul", ex("BH"), std::move(perHead))),
            ex(4))},
      {"zeroed", true}});
}

/// span-forward, span-dq, span-dkv: a pass's chain of a band kernel and a
/// column kernel (one pattern for every head, kernels of 64 rows a block,
/// neither split) runs as one kernel that takes its tiles by ticket
/// (SpanOrder.cpp). Off by default: slower at every size measured, within
/// a head (session 16) and across heads (session 17; docs/performance.md).
std::optional<std::pair<size_t, int64_t>>
EntrySchedule::spanPair(ArrayRef<std::vector<ga::GpuPart>> groups,
                        bool byKeyView, int64_t producerOption) const {
  auto viewOf = [&](size_t i) -> const ga::View & {
    return byKeyView ? groups[i].front().keyView : groups[i].front().queryView;
  };
  if (cycle != 1 || groups.size() != 2 || splits(producerOption, groups[0]) ||
      splits(producerOption, groups[1]))
    return std::nullopt;
  size_t band = viewOf(0).kind == ga::ViewKind::Identity ? 0 : 1;
  if (viewOf(band).kind != ga::ViewKind::Identity ||
      viewOf(1 - band).kind != ga::ViewKind::Residue)
    return std::nullopt;
  return std::make_pair(band, viewOf(1 - band).stride);
}

/// Emits the span-ordered kernel of the two bodies over `bufs` and the
/// scratch `flags` into `list`, launched as one ticket a block (2 L tiles a
/// span, `spans` a head), and adds `flags`, zeroed (a ticket counter, then
/// a flag a span a head).
void EntrySchedule::addSpanKernel(StringRef kind, Buffers bufs, bool rowStats,
                                  const ga::View &view, json::Array &list,
                                  StringRef flags, int64_t stride, int64_t lag,
                                  function_ref<void(KernelEmitter &)> band,
                                  function_ref<void(KernelEmitter &)> columns) {
  json::Value spans =
      exOp("ceildiv", exOp("ceildiv", ex("N"), ex(stride)), ex(kBlockRows));
  addTicketFlags(bufs, flags, spans);
  addKernel(
      kind, bufs, rowStats, view, /*reversedHeads=*/false,
      /*split=*/false, list,
      [&](KernelEmitter &k) {
        emitSpanOrdered(
            k, stride, lag, opt.discardChain, flags, [&] { band(k); },
            [&] { columns(k); });
      },
      /*variant=*/"", /*tickets=*/true);
  (*list.back().getAsObject())["grid"] = json::Array{
      exOp("mul", ex("BH"), exOp("mul", ex(2 * stride), spans)), ex(1), ex(1)};
}

/// span-dkv: the dK/dV pair (band keys first, then the key residue
/// classes) as one kernel. It needs the class-major statistics of the last
/// dQ kernel, so it waits for the whole dQ chain instead of running beside
/// its second kernel.
bool EntrySchedule::spanDkvPair() {
  auto pair = spanPair(bwd, /*byKeyView=*/true, opt.dkvProducer);
  if (!pair || opt.spanDkv <= 0 || ownWriter >= 0 || pair->first != 0)
    return false;
  int64_t stride = pair->second;
  const auto &band = bwd[0], &columns = bwd[1];
  needDkvAcc = true;
  Buffers bufs = dkvBuffers();
  addChain(bufs, "dk_acc");
  addChain(bufs, "dv_acc");
  bool readsClassStats = byClass(columns);
  if (readsClassStats)
    bufs.append({{"lse2_c", f32}, {"delta_c", f32}});
  SmallVector<ga::View> later = {columns.front().keyView};
  addSpanKernel(
      "dkv", bufs, /*rowStats=*/true, band.front().keyView, backward,
      "span_flags_dkv", stride, opt.spanDkv,
      [&](KernelEmitter &k) { emitDkv(k, band, /*first=*/true, later); },
      [&](KernelEmitter &k) { emitDkv(k, columns, /*first=*/false, {}); });
  json::Object &dkv = *backward.back().getAsObject();
  dkv["stream"] = 1;
  json::Array waits{firstDq};
  if (readsClassStats && classWriter != firstDq) {
    assert(classWriter >= 0 && "a residue view's dQ kernel writes them");
    waits.push_back(classWriter);
  }
  dkv["waits"] = std::move(waits);
  return true;
}

/// mixed-dkv: fixed's dK/dV pair (the own blocks, which start the summary
/// keys' chain, and the summaries) as one kernel whose tickets mix the two
/// kinds of tile (SpanOrder.cpp, "Mixed"). A summary tile (64 keys) holds
/// whole blocks' summaries, which whole own-block tiles cover.
bool EntrySchedule::mixedDkvPair() {
  if (!opt.mixedDkv || cycle != 1 || bwd.size() != 2 || ownWriter >= 0 ||
      bwd[0].front().keyView.kind != ga::ViewKind::Identity ||
      bwd[1].front().keyView.kind != ga::ViewKind::Compact ||
      splits(opt.dkvProducer, bwd[0]) || splits(opt.dkvProducer, bwd[1]) ||
      byClass(bwd[0]) || kBlockRows % bwd[1].front().keyView.width != 0 ||
      bwd[1].front().keyView.stride % kBlockRows != 0)
    return false;
  const auto &own = bwd[0], &summaries = bwd[1];
  const ga::View &summaryView = summaries.front().keyView;
  needDkvAcc = true;
  Buffers bufs = dkvBuffers();
  addChain(bufs, "dk_acc");
  addChain(bufs, "dv_acc");
  StringRef flags = "mix_flags_dkv";
  addTicketFlags(bufs, flags, gridX(own.front().keyView, kBlockRows));
  SmallVector<ga::View> later = {summaryView};
  addKernel(
      "dkv", bufs, /*rowStats=*/true, own.front().keyView,
      /*reversedHeads=*/false, /*split=*/false, backward,
      [&](KernelEmitter &k) {
        emitMixedDkv(
            k, summaryView, flags,
            [&] { emitDkv(k, own, /*first=*/true, later); },
            [&] { emitDkv(k, summaries, /*first=*/false, {}); });
      },
      /*variant=*/"", /*tickets=*/true);
  json::Object &dkv = *backward.back().getAsObject();
  // Each head: a round (L / c own-block tiles, then a summary tile) a
  // summary tile.
  int64_t round = summaryView.stride / summaryView.width + 1;
  dkv["grid"] =
      json::Array{exOp("mul", ex("BH"),
                       exOp("mul", gridX(summaryView, kBlockRows), ex(round))),
                  ex(1), ex(1)};
  dkv["stream"] = 1;
  dkv["waits"] = json::Array{firstDq};
  return true;
}

/// The paired kernel takes the dQ tiles of the last query group (which
/// finishes dq_acc) and the dK/dV tiles of the last key group (which
/// finishes dk_acc and dv_acc), block by block (emitPairedTiles). It runs
/// on the second stream after the band's dK/dV kernel, which waited for
/// the band's dQ (delta, lse2, dq_acc); where the fused band backward
/// wrote all of them, it follows that kernel on the first.
void EntrySchedule::pairedColumnKernel() {
  const auto &dqGroup = fwd.back(), &dkvGroup = bwd.back();
  const ga::View &view = dqGroup.front().queryView;
  needDqAcc = needDkvAcc = true;
  Buffers bufs = dkvBuffers();
  bufs.append({{"lse", f32}, {"dq", elt}});
  addChain(bufs, "dq_acc");
  addChain(bufs, "dk_acc");
  addChain(bufs, "dv_acc");
  if (byClass(dkvGroup))
    bufs.append({{"lse2_c", f32}, {"delta_c", f32}});
  // After the band's dK/dV kernel on the second stream (reversed heads:
  // serpentine), or on the first after the kernel that wrote every chain
  // and statistic it reads (the fused band backward: heads in order).
  bool afterBandDkv = ownWriter < 0;
  addKernel("pair", bufs, /*rowStats=*/true, view,
            /*reversedHeads=*/!afterBandDkv,
            /*split=*/false, backward, [&](KernelEmitter &k) {
              emitPairedTiles(
                  k,
                  [&] {
                    emitDq(k, dqGroup, /*first=*/false, /*last=*/true, nullptr);
                  },
                  [&] { emitDkv(k, dkvGroup, /*first=*/false, {}); });
            });
  json::Object &pair = *backward.back().getAsObject();
  pair["grid"] = json::Array{exOp("mul", ex(2), gridX(view, kBlockRows)),
                             gridY(h, cycle), ex(1)};
  if (afterBandDkv)
    pair["stream"] = 1;
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
