//===- Schedule.cpp - One attention's kernels and launch schedule ---------===//
//
// EntrySchedule (Schedule.h): the kernels of one `st.attention` and its
// manifest entry.
//
//===----------------------------------------------------------------------===//

#include "Schedule.h"

#include "Kernels.h"
#include "Manifest.h"
#include "Walks.h"

#include "llvm/ADT/SetVector.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

namespace json = llvm::json;

namespace {

/// Whether a split dQ kernel of query group `dq` (blocks of `rows` query
/// rows) can compute the dK/dV of key group `dkv` itself
/// (dq-own-block-dkv, emitDq): one part, a block factor whose blocks lie
/// inside the dQ block's rows (identity views both ways), which that dQ
/// kernel walks too. Then every query that attends a key of the block is
/// one of the block's rows.
bool ownBlockInside(ArrayRef<ga::GpuPart> dkv, ArrayRef<ga::GpuPart> dq,
                    int64_t rows) {
  if (dkv.size() != 1)
    return false;
  const ga::GpuPart &p = dkv.front();
  if (p.factor.getKind() != lay::FactorKind::Block ||
      rows % p.factor.getPeriod() != 0 ||
      p.queryView.kind != ga::ViewKind::Identity ||
      p.keyView.kind != ga::ViewKind::Identity)
    return false;
  return llvm::any_of(dq, [&](const ga::GpuPart &q) { return q.sameAs(p); });
}

std::string typeName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  return "f32";
}

/// Serpentine order: the kernels of a chain alternate the order in
/// which their blocks take the (batch, head) pairs, so that each one
/// starts on the heads that the kernel before it touched last, whose
/// inputs and chain rows are still in L2 (50 MB on the H100: about
/// one head's q, k, v and o_acc at n = 65536, d = 64). The first dK/dV
/// kernel waits for the first dQ kernel (forward order) and runs
/// beside the second dQ kernel (reversed): it is reversed too, so
/// that the two read the same heads' q, k, v and dout at the same
/// time. (A delta kernel ahead of both chains, so that they start
/// together in the same order, made strided d = 64 4.8% slower on
/// the H100: docs/performance.md, session 9.)
bool serpentine(size_t i) { return i % 2 == 1; }

/// The bytes of one f32 a row of every (batch, head): delta, lse2 and the
/// chains' row scales.
json::Value rowsF32() {
  return exOp("mul", exOp("mul", ex("BH"), ex("N")), ex(4));
}

/// paired-backward: whether the last query group and the last key group
/// are one part over residue classes (strided's columns), alone in their
/// groups, so that its dQ and dK/dV tiles are the same classes' and one
/// kernel can take both (emitPairedTiles).
bool columnPair(ArrayRef<std::vector<ga::GpuPart>> byQuery,
                ArrayRef<std::vector<ga::GpuPart>> byKey) {
  if (byQuery.size() < 2 || byKey.size() < 2 || byQuery.back().size() != 1 ||
      byKey.back().size() != 1)
    return false;
  const ga::GpuPart &p = byQuery.back().front();
  return p.sameAs(byKey.back().front()) &&
         p.queryView.kind == ga::ViewKind::Residue &&
         p.keyView.kind == ga::ViewKind::Residue;
}

} // namespace

EntrySchedule::EntrySchedule(const ConvertStAttentionToGpuOptions &options,
                             AttentionOp op, StringRef entryName)
    : opt(options), op(op), name(entryName.str()),
      b(op->getParentOfType<ModuleOp>().getBodyRegion()), loc(op.getLoc()),
      layout(op.getLayout().getLayout()) {
  auto type = op.getQuery().getType();
  elt = type.getElementType();
  f32 = b.getF32Type();
  d = type.getDimSize(3);
  scale = op.getScaleValue();
  wgmma = llvm::is_contained(opt.wgmmaHeadDims, d);
  cycle = layout.getCycleLength();
  chainType = chainElementType(elt);
  scaled = chainIsScaled(elt);
}

LogicalResult EntrySchedule::checkOptions() {
  if (!elt.isBF16() && !elt.isF16() && !elt.isF32())
    return op.emitOpError()
           << "GPU kernels take bf16, f16 or f32 inputs (got " << elt << ")";
  if (ShapedType::isDynamic(d) || d % 32 != 0 || d > 256)
    return op.emitOpError() << "GPU kernels need a static head dimension "
                               "that is a multiple of 32, at most 256";
  if (wgmma && opt.wgmmaKeyTile != 64 && opt.wgmmaKeyTile != 128)
    return op.emitOpError() << "wgmma-key-tile must be 64 or 128 (got "
                            << opt.wgmmaKeyTile << ")";
  if (opt.forwardWarpgroups != 1 && opt.forwardWarpgroups != 2)
    return op.emitOpError() << "forward-warpgroups must be 1 or 2 (got "
                            << opt.forwardWarpgroups << ")";
  for (auto [option, value] :
       {std::pair<StringRef, int64_t>{"forward-producer", opt.forwardProducer},
        {"dq-producer", opt.dqProducer},
        {"dkv-producer", opt.dkvProducer}})
    if (value < 0 || value > 2)
      return op.emitOpError()
             << option
             << " must be 0 (never), 1 (where it pays) or 2 (always) (got "
             << value << ")";
  if (opt.splitForwardMinN < 0)
    return op.emitOpError() << "split-forward-min-n must be at least 0 (got "
                            << opt.splitForwardMinN << ")";
  for (auto [option, value] :
       {std::pair<StringRef, int64_t>{"span-forward", opt.spanForward},
        {"span-dq", opt.spanDq},
        {"span-dkv", opt.spanDkv}})
    if (value < 0)
      return op.emitOpError()
             << option << " must be 0 (off) or a lag of at least one span (got "
             << value << ")";
  if (opt.bandBackward < 0)
    return op.emitOpError()
           << "band-backward must be 0 (off) or a number of key tiles a "
              "block (got "
           << opt.bandBackward << ")";
  if (opt.forwardPingPong && !(opt.forwardProducer && opt.pipelinedForward))
    return op.emitOpError() << "forward-ping-pong takes forward-producer and "
                               "pipelined-forward";
  return success();
}

LogicalResult EntrySchedule::lower(json::Array &entries) {
  if (failed(checkOptions()))
    return failure();
  b.setInsertionPointToEnd(op->getParentOfType<ModuleOp>().getBody());
  module = gpu::GPUModuleOp::create(b, loc, name);

  // Class-major statistics: where the layout (one pattern for every
  // head) walks its query rows in residue classes of one stride L (the
  // strided columns), the dQ kernel over that view also stores its
  // rows' lse2 and delta with a class's rows adjacent ([B * H, L,
  // ceil(N / L)]: `lse2_c`, `delta_c`), and the dK/dV kernels over it
  // stage them from there: 256 contiguous bytes a statistic a tile
  // instead of 64 rows L apart, a 32-byte sector each
  // (KernelEmitter::classStatsStride).
  // paired-backward: decided before the class-major statistics, which the
  // paired kernel's dK/dV tiles cannot read (its own dQ tiles would write
  // them).
  if (opt.pairedBackward && cycle == 1 && opt.spanDq == 0 && opt.spanDkv == 0) {
    std::vector<ga::GpuPart> parts = ga::gpuParts(layout.forHead(0));
    auto byQuery = ga::groupParts(parts, /*byKeyView=*/false);
    auto byKey = ga::groupParts(parts, /*byKeyView=*/true);
    pairColumns = columnPair(byQuery, byKey) &&
                  !splits(opt.dqProducer, byQuery.back()) &&
                  !splits(opt.dkvProducer, byKey.back());
    // Its statistics' class-major copies then come from the first dQ
    // kernel, over the identity view (KernelEmitter::classStatsFromFirst);
    // the fused band backward does not write them.
    classFromFirst =
        pairColumns && opt.bandBackward == 0 &&
        byQuery.front().front().queryView.kind == ga::ViewKind::Identity;
  }
  if (cycle == 1 && opt.classStats && (!pairColumns || classFromFirst)) {
    llvm::SmallSetVector<int64_t, 2> strides;
    for (const ga::GpuPart &p : ga::gpuParts(layout.forHead(0)))
      if (p.queryView.kind == ga::ViewKind::Residue)
        strides.insert(p.queryView.stride);
    if (strides.size() == 1)
      classStride = strides.front();
  }
  // Without class-major copies the first dQ kernel has none to write.
  classFromFirst = classFromFirst && classStride;
  for (h = 0; h < cycle; ++h)
    if (failed(lowerHead()))
      return failure();

  scratch.push_back(json::Object{{"name", "delta"}, {"bytes", rowsF32()}});
  scratch.push_back(json::Object{{"name", "lse2"}, {"bytes", rowsF32()}});
  if (classStride) {
    json::Value classF32 =
        exOp("mul",
             exOp("mul", exOp("mul", ex("BH"), ex(classStride)),
                  exOp("ceildiv", ex("N"), ex(classStride))),
             ex(4));
    scratch.push_back(json::Object{{"name", "delta_c"}, {"bytes", classF32}});
    scratch.push_back(json::Object{{"name", "lse2_c"}, {"bytes", classF32}});
  }
  if (needOacc)
    addChainScratch("o_acc");
  if (needDqAcc)
    addChainScratch("dq_acc");
  if (needDkvAcc) {
    addChainScratch("dk_acc");
    addChainScratch("dv_acc");
  }
  std::string layoutStr;
  llvm::raw_string_ostream os(layoutStr);
  os << Attribute(op.getLayout());
  entries.push_back(json::Object{{"layout", layoutStr},
                                 {"head_dim", d},
                                 {"dtype", typeName(elt)},
                                 {"module", name},
                                 {"scratch", std::move(scratch)},
                                 {"forward", std::move(forward)},
                                 {"backward", std::move(backward)}});
  return success();
}

void EntrySchedule::addChain(Buffers &bufs, StringRef chain) const {
  bufs.push_back({chain, chainType});
  if (scaled)
    bufs.push_back({chainScaleName(chain), f32});
}

/// A chain buffer [B, H, N, D] of chainType and, scaled, its row scales
/// (KernelEmitter::storeChain).
void EntrySchedule::addChainScratch(StringRef chain) {
  int64_t chainBytes = chainType.getIntOrFloatBitWidth() / 8;
  scratch.push_back(json::Object{
      {"name", chain},
      {"bytes", exOp("mul", exOp("mul", exOp("mul", ex("BH"), ex("N")), ex(d)),
                     ex(chainBytes))},
      {"element_bytes", chainBytes}});
  if (scaled)
    scratch.push_back(
        json::Object{{"name", chainScaleName(chain)}, {"bytes", rowsF32()}});
}

bool EntrySchedule::byClass(ArrayRef<ga::GpuPart> group) const {
  return classStride && llvm::any_of(group, [&](const ga::GpuPart &p) {
           return p.queryView.kind == ga::ViewKind::Residue;
         });
}

/// Emits one staged kernel of head group h over `bufs` (then N, H),
/// driven by `view`, and appends its launch to `list`.
/// `reversedHeads`: the kernel takes the (batch, head) pairs last first
/// (serpentine order).
/// `split`: a kernel with the producer split (splits: a third warpgroup
/// copies the walked tiles for two consumer warpgroups).
/// `variant`: the kernel is an alternative to the last one in `list` (its
/// name with `_<variant>` appended).
void EntrySchedule::addKernel(StringRef kind,
                              ArrayRef<std::pair<StringRef, Type>> bufs,
                              bool rowStats, const ga::View &view,
                              bool reversedHeads, bool split, json::Array &list,
                              function_ref<void(KernelEmitter &)> emit,
                              StringRef variant, bool tickets) {
  KernelEmitter k(b, loc, elt, d, scale, wgmma);
  k.dependentLaunch = opt.dependentLaunch;
  k.ticketSlot = tickets;
  k.classStatsStride = classStride;
  k.classStatsFromFirst = classFromFirst;
  k.bandCarrySlots = bandCarries.slots;
  k.bandCarryHalf = bandCarries.half;
  k.walkStart = opt.walkStart;
  if (kind == "fwd" && k.useWgmma) {
    k.warpgroups = opt.forwardWarpgroups;
    k.pipelinedForward = opt.pipelinedForward;
  }
  if (split) {
    k.warpgroups = 2;
    k.producerWarpgroup = true;
    k.pingPong = kind == "fwd" && opt.forwardPingPong;
    k.pipelinedDq = kind == "dq" && opt.pipelinedDq;
    // The dK/dV consumers hold dK and dV (and the dQ consumers that
    // compute their own block's: rowStats, emitDq).
    if (kind == "dkv" || (kind == "dq" && rowStats)) {
      k.producerRegisters = kMinProducerRegisters;
      k.consumerRegisters = kMaxConsumerRegisters;
    }
  }
  std::string kn =
      variant.empty()
          ? (Twine(name) + "_" + kind + std::to_string(counter++)).str()
          : (*list.back().getAsObject()->getString("kernel") + "_" + variant)
                .str();
  // One row operand (wgmma) per score product: Q for the forward, Q and dO
  // for dQ, K and V for dK/dV. The key tile is the option's where the
  // score accumulators (keyTile / 2 a thread per product) and the kernel's
  // others (d / 2 each) stay within 160 registers.
  int64_t scoreProducts = kind == "fwd" ? 1 : 2;
  int64_t accumulators = kind == "dkv" ? 2 : 1; // dK and dV
  int64_t keyTile = opt.wgmmaKeyTile;
  if (keyTile / 2 * scoreProducts + d / 2 * accumulators > 160)
    keyTile = kKeyTile;
  // The split forward's consumers (224 registers) hold a 128-key score
  // tile beside the d / 2 of O at d = 128 without spilling: half the
  // tiles, each S product twice as wide (m64n128), and half the softmax
  // reductions a key. Fixed d = 128's forward went from 4566.8 to 4367.3
  // us (H100, session 11, call 3). With pipelined-forward the consumer
  // holds two score tiles: 128 keys spill 434 bytes there, so it keeps the
  // option's tile.
  if (kind == "fwd" && split && !opt.pipelinedForward)
    keyTile = kSplitForwardKeyTile;
  gpu::GPUFuncOp func = k.begin(module, kn, bufs, /*staged=*/true, rowStats,
                                /*rowOperands=*/scoreProducts, keyTile);
  // The d = 64 warpgroup-MMA kernels have one warpgroup a block, so blocks
  // per SM are their latency hiding: ptxas is asked for 5 (forward: at
  // most 102 registers), 4 (dQ: 128) or 3 (dK/dV: 168), which the shared
  // memory allows and which they reach without spilling (fixed's summary
  // dK/dV: 16 bytes). Without the hint, a small change in the epilogue
  // took that kernel from 167 to 184 registers, 2 blocks an SM, and 9%
  // slower (session 6). The forward with a single-staged V (d = 128: 65
  // KiB of shared memory a block) asks for 3 (170 registers; it uses
  // 165-168). Two warpgroups a block (256 threads): 2 blocks at d = 64
  // (128 registers), 1 at d = 128. The pipelined forward (two score
  // accumulators): 4 at d = 64 (128 registers), no hint at d = 128.
  int32_t blocks = 0;
  if (k.producerWarpgroup)
    blocks = 1;
  else if (kind == "bwd") // what its shared memory allows, at most 2
    blocks = std::min<int64_t>(
        2,
        std::max<int64_t>(1, kSmSharedBytes / (k.dynamicSharedBytes + 1024)));
  else if (k.warpgroups == 2)
    blocks = d == 64 ? 2 : 0;
  else if (k.pipelinedForward)
    blocks = d == 64 ? 4 : 0;
  else if (k.useWgmma && d == 64 && keyTile == kKeyTile)
    blocks = kind == "fwd" ? 5 : kind == "dq" ? 4 : 3;
  else if (k.singleStageB && d == 128)
    blocks = 3;
  if (blocks)
    func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                  b.getI32IntegerAttr(blocks));
  if (opt.headGroups && !tickets) {
    // Blocks an SM: the hint, or what 255 registers a thread and the
    // shared memory allow (228 KiB an SM on sm_90, 1 KiB of it reserved a
    // block).
    int64_t perSm =
        blocks ? blocks : std::max<int64_t>(1, 65536 / (k.threads() * 255));
    perSm = std::min<int64_t>(perSm,
                              kSmSharedBytes / (k.dynamicSharedBytes + 1024));
    k.groupHeads(perSm);
  }
  k.headMapping(h, cycle, opt.serpentineHeads && reversedHeads);
  emit(k);
  SmallVector<StringRef> args;
  for (auto &bf : bufs)
    args.push_back(bf.first);
  args.append({"N", "H"});
  list.push_back(launch(kn, gridX(view, k.rowsPerBlock()), gridY(h, cycle),
                        k.threads(), args, k.dynamicSharedBytes));
  if (opt.dependentLaunch)
    (*list.back().getAsObject())["early_launch"] = true;
}

/// The dQ kernels take the producer split (pipelined-dq: the update of one
/// tile in flight over the next tile's scores) where it measured faster:
/// at d = 128 over a long walk (fixed's summaries). There the default dQ
/// holds two blocks of 215 registers an SM, the same 8 warps of arithmetic
/// as the split, and the split adds four stages, no block barrier and one
/// read of each K and V tile for 128 query rows: fixed d = 128's dQ went
/// from 5668.5 to 4970.4 us, fwd+bwd 0.943-0.948 of the default (H100,
/// session 10, call 3). Where the walks are short (strided's, the whole
/// block's start and end with nothing to overlap them) or at d = 64 (the
/// default dQ holds four blocks, 16 warps) it was slower: strided d = 128
/// 1.065, fixed d = 64 1.05, strided d = 64 1.19. The forward kernels take
/// the same rule (forward-producer=1, with 128-key tiles: see the key tile
/// in addKernel): fixed d = 128's forward 4566.8 -> 4367.3 us; everywhere,
/// fixed d = 64 was 1.06 and strided d = 128 1.12 (H100, session 11, calls
/// 3 and 4). The dK/dV split (dkv-producer) is off: exact, no faster, and
/// its consumers spill even at 240 registers (docs/gpu.md, session 11).
bool EntrySchedule::splits(int64_t option, ArrayRef<ga::GpuPart> group) const {
  if (!KernelEmitter::takesWgmma(elt, wgmma) || option == 0)
    return false;
  return option == 2 ||
         (d >= 128 && llvm::any_of(group, [](const ga::GpuPart &p) {
            return longWalk(p);
          }));
}

LogicalResult EntrySchedule::lowerHead() {
  std::vector<ga::GpuPart> parts = ga::gpuParts(layout.forHead(h));
  if (parts.empty())
    return op.emitOpError() << "head " << h << " attends nothing";
  fwd = ga::groupParts(parts, /*byKeyView=*/false);
  forwardKernels();
  // dK, dV: covering key views first (groupParts), so the first kernel
  // starts every row's chain and no scratch needs zeroing. Every layout
  // has one (the diagonal is in a band, own block or column).
  bwd = ga::groupParts(parts, /*byKeyView=*/true);
  if (!bwd.front().front().keyView.coversAll())
    return op.emitOpError()
           << "head " << h << ": no key view covers the sequence";
  // dq-own-block-dkv: the split dQ kernel of query group `ownDq` computes
  // the first key group's dK/dV (fixed's own block) from the tiles it
  // holds, and that group's kernel is not emitted. Its part is walked last
  // (emitDq). The split dQ's key tile is 64 at wgmma-key-tile=64 (its
  // accumulators' rule in addKernel).
  ownDq = -1;
  if (opt.dqOwnBlockDkv && opt.wgmmaKeyTile == kKeyTile)
    for (auto entry : llvm::enumerate(fwd))
      if (splits(opt.dqProducer, entry.value()) &&
          ownBlockInside(bwd.front(), entry.value(), 2 * kBlockRows))
        ownDq = int64_t(entry.index());
  laterKeys.clear();
  for (const auto &g : ArrayRef(bwd).drop_front())
    laterKeys.push_back(g.front().keyView);
  firstDq = int64_t(backward.size());
  classWriter = ownWriter = -1;
  dqKernels();
  dkvKernels();
  return success();
}

void EntrySchedule::forwardKernels() {
  if (auto pair = spanPair(fwd, /*byKeyView=*/false, opt.forwardProducer);
      pair && opt.spanForward > 0 && opt.forwardWarpgroups == 1 &&
      !opt.pipelinedForward) {
    auto [bandAt, stride] = *pair;
    const auto &band = fwd[bandAt], &columns = fwd[1 - bandAt];
    needOacc = true;
    Buffers bufs = {
        {"q", elt}, {"k", elt}, {"v", elt}, {"o", elt}, {"lse", f32}};
    addChain(bufs, "o_acc");
    addSpanKernel(
        "fwd", bufs, /*rowStats=*/false, band.front().queryView, forward,
        "span_flags", stride, opt.spanForward,
        [&](KernelEmitter &k) {
          emitForward(k, band, /*first=*/true, /*last=*/false);
        },
        [&](KernelEmitter &k) {
          emitForward(k, columns, /*first=*/false, /*last=*/true);
        });
    return;
  }
  for (auto entry : llvm::enumerate(fwd)) {
    size_t i = entry.index();
    const auto &group = entry.value();
    bool first = i == 0, last = i + 1 == fwd.size();
    needOacc |= !last || !first;
    Buffers bufs = {
        {"q", elt}, {"k", elt}, {"v", elt}, {"o", elt}, {"lse", f32}};
    if (fwd.size() > 1)
      addChain(bufs, "o_acc");
    auto emit = [&](KernelEmitter &k) { emitForward(k, group, first, last); };
    bool split = splits(opt.forwardProducer, group);
    addKernel("fwd", bufs, /*rowStats=*/false, group.front().queryView,
              serpentine(i), split, forward, emit);
    // Where the rule splits the forward, short sequences run it unsplit:
    // fixed d = 128 at n = 4096 (summary walks of at most 8 tiles of 128
    // keys, 32 blocks a head) took 458.8 us split and 393.5 us unsplit, at
    // n = 8192 696 and 661, at n = 16384 1139.8 and 1207.2 (H100, session
    // 12, calls 1 and 3). Both kernels are in the module; the manifest
    // gates their grids on N (split-forward-min-n, 16384), and the runtime
    // skips the empty launch.
    if (split && opt.forwardProducer == 1 && opt.splitForwardMinN > 1) {
      gateGridX(forward.back(), /*atLeast=*/true, opt.splitForwardMinN);
      addKernel("fwd", bufs, /*rowStats=*/false, group.front().queryView,
                serpentine(i), /*split=*/false, forward, emit, "short");
      gateGridX(forward.back(), /*atLeast=*/false, opt.splitForwardMinN);
    }
  }
}

/// The buffers of a kernel that is a head group's first dQ and first
/// dK/dV kernel (the fused band backward), with the chains
/// that later kernels continue.
Buffers EntrySchedule::firstBackwardBuffers(bool lastDq) {
  Buffers bufs = {{"q", elt},    {"k", elt},     {"v", elt},  {"dout", elt},
                  {"lse", f32},  {"delta", f32}, {"dq", elt}, {"o", elt},
                  {"lse2", f32}, {"dk", elt},    {"dv", elt}};
  if (!lastDq) {
    addChain(bufs, "dq_acc");
    needDqAcc = true;
  }
  if (!laterKeys.empty()) {
    addChain(bufs, "dk_acc");
    addChain(bufs, "dv_acc");
    needDkvAcc = true;
  }
  return bufs;
}

void EntrySchedule::dqKernels() {
  // band-backward: where the first dQ group and the first dK/dV group are
  // one band part (identity views, a bounded window of w positions), one
  // kernel computes both, with delta and lse2 (emitBandBackward). It then
  // stands for the first dQ kernel (the others read its delta, lse2 and
  // dq_acc) and for the first dK/dV kernel (ownWriter: the others continue
  // its dk_acc, dv_acc), where its part and shared memory allow
  // (bandBackwardCarries).
  bool bandFused = false;
  if (opt.bandBackward > 0 && cycle == 1 && ownDq < 0 &&
      KernelEmitter::takesWgmma(elt, wgmma) && opt.wgmmaKeyTile == kKeyTile &&
      fwd.front().size() == 1 && bwd.front().size() == 1 &&
      fwd.front().front().sameAs(bwd.front().front()) &&
      !splits(opt.dqProducer, fwd.front()) &&
      !splits(opt.dkvProducer, bwd.front())) {
    const ga::GpuPart &band = bwd.front().front();
    if (BandCarries carries = bandBackwardCarries(band, d, elt);
        carries.slots) {
      bool lastDq = fwd.size() == 1;
      Buffers bufs = firstBackwardBuffers(lastDq);
      bandCarries = carries;
      addKernel("bwd", bufs, /*rowStats=*/true, band.keyView,
                /*reversedHeads=*/false, /*split=*/false, backward,
                [&](KernelEmitter &k) {
                  emitBandBackward(k, band, opt.bandBackward, lastDq,
                                   laterKeys);
                });
      bandCarries = {};
      // One block a segment of `band-backward` key tiles.
      (*backward.back().getAsObject())["grid"] =
          json::Array{exOp("ceildiv", exOp("ceildiv", ex("N"), ex(kBlockRows)),
                           ex(opt.bandBackward)),
                      gridY(h, cycle), ex(1)};
      ownWriter = firstDq;
      bandFused = true;
    }
  }
  // span-dq: dQ's band and column kernels as one span-ordered kernel (the
  // column tiles read the band tiles' delta and lse2 as well as the chain
  // dq_acc). The dK/dV kernels then wait for all of dQ.
  if (auto pair = spanPair(fwd, /*byKeyView=*/false, opt.dqProducer);
      pair && opt.spanDq > 0 && ownDq < 0 && !bandFused) {
    auto [bandAt, stride] = *pair;
    const auto &band = fwd[bandAt], &columns = fwd[1 - bandAt];
    needDqAcc = true;
    Buffers bufs = {{"q", elt},    {"k", elt},   {"v", elt},
                    {"dout", elt}, {"lse", f32}, {"delta", f32},
                    {"dq", elt},   {"o", elt},   {"lse2", f32}};
    addChain(bufs, "dq_acc");
    if (byClass(columns)) {
      bufs.append({{"lse2_c", f32}, {"delta_c", f32}});
      classWriter = firstDq;
    }
    addSpanKernel(
        "dq", bufs, /*rowStats=*/false, band.front().queryView, backward,
        "span_flags_dq", stride, opt.spanDq,
        [&](KernelEmitter &k) {
          emitDq(k, band, /*first=*/true, /*last=*/false, nullptr);
        },
        [&](KernelEmitter &k) {
          emitDq(k, columns, /*first=*/false, /*last=*/true, nullptr);
        });
    return;
  }
  for (auto entry : llvm::enumerate(fwd)) {
    size_t i = entry.index();
    if ((i == 0 && bandFused) || (i + 1 == fwd.size() && pairColumns))
      continue;
    std::vector<ga::GpuPart> group = entry.value();
    bool first = i == 0, last = i + 1 == fwd.size();
    needDqAcc |= fwd.size() > 1;
    Buffers bufs = {{"q", elt},   {"k", elt},     {"v", elt}, {"dout", elt},
                    {"lse", f32}, {"delta", f32}, {"dq", elt}};
    // The first computes delta and lse2 for the rest (emitDq).
    if (first)
      bufs.append({{"o", elt}, {"lse2", f32}});
    if (fwd.size() > 1)
      addChain(bufs, "dq_acc");
    if (byClass(group) || (first && classFromFirst)) {
      bufs.append({{"lse2_c", f32}, {"delta_c", f32}});
      classWriter = int64_t(backward.size());
    }
    bool owns = int64_t(i) == ownDq;
    OwnBlockDkv own{bwd.front(), laterKeys};
    if (owns) {
      // The own part last: its K and V tiles stay in the last stages. (Not
      // std::stable_partition: libstdc++ 12's temporary buffer for it is
      // deprecated.)
      const ga::GpuPart &p = own.parts.front();
      std::vector<ga::GpuPart> others, same;
      for (ga::GpuPart &q : group)
        (q.sameAs(p) ? same : others).push_back(std::move(q));
      llvm::append_range(others, same);
      group = std::move(others);
      bufs.append({{"dk", elt}, {"dv", elt}});
      if (!laterKeys.empty()) {
        addChain(bufs, "dk_acc");
        addChain(bufs, "dv_acc");
        needDkvAcc = true;
      }
      ownWriter = int64_t(backward.size());
    }
    addKernel("dq", bufs, /*rowStats=*/owns, group.front().queryView,
              serpentine(i), splits(opt.dqProducer, group), backward,
              [&](KernelEmitter &k) {
                emitDq(k, group, first, last, owns ? &own : nullptr);
              });
  }
}

Buffers EntrySchedule::dkvBuffers() const {
  return {{"q", elt},    {"k", elt},     {"v", elt},  {"dout", elt},
          {"lse2", f32}, {"delta", f32}, {"dk", elt}, {"dv", elt}};
}

void EntrySchedule::dkvKernels() {
  if (spanDkvPair() || mixedDkvPair() || wholeSummaryKeyPair())
    return;
  chainedDkv();
}

/// whole-summary-keys: fixed's dK/dV pair with no chain. The summary
/// kernel's part becomes the summary keys' whole columns (every row from
/// the key on: its own block's rows too), the own block's part leaves them
/// out (an exclusion, masked), and its kernel does not store the summary
/// keys. The summary kernel (long walks) follows dQ on the first stream,
/// launched early, and the own-block kernel (short walks, bound by DRAM)
/// waits for dQ on the second: its blocks start as the summary kernel's
/// last ones do and fill its tail, where the chain had them run after it.
/// Fixed's fwd+bwd took 0.933-0.935 of the chain's time at n = 4096 (d =
/// 64, 128), 0.948-0.960 at 16384 and 0.985-0.989 at 65536 (H100, session
/// 18; docs/gpu.md, "Whole summary keys").
bool EntrySchedule::wholeSummaryKeyPair() {
  auto wholeKeys = ga::wholeSummaryKeyParts(bwd);
  if (!opt.wholeSummaryKeys || ownWriter >= 0 || !wholeKeys ||
      splits(opt.dkvProducer, bwd[0]) || splits(opt.dkvProducer, bwd[1]))
    return false;
  const ga::GpuPart &keys = wholeKeys->first, &rest = wholeKeys->second;
  Buffers bufs = dkvBuffers();
  SmallVector<ga::View> elsewhere = {keys.keyView};
  addKernel("dkv", bufs, /*rowStats=*/true, keys.keyView,
            /*reversedHeads=*/true, /*split=*/false, backward,
            [&](KernelEmitter &k) { emitDkv(k, {keys}, /*first=*/true, {}); });
  addKernel("dkv", bufs, /*rowStats=*/true, rest.keyView,
            /*reversedHeads=*/false, /*split=*/false, backward,
            [&](KernelEmitter &k) {
              emitDkv(k, {rest}, /*first=*/true, {}, elsewhere);
            });
  json::Object &own = *backward.back().getAsObject();
  own["stream"] = 1;
  own["waits"] = json::Array{firstDq};
  return true;
}

void EntrySchedule::chainedDkv() {
  for (auto entry : llvm::enumerate(bwd)) {
    size_t i = entry.index();
    const auto &group = entry.value();
    if (i == 0 && ownWriter >= 0)
      continue;
    if (i + 1 == bwd.size() && pairColumns) {
      pairedColumnKernel();
      continue;
    }
    bool first = i == 0;
    // The first dK/dV kernel launched waits for the dQ kernels that write
    // delta and lse2 (and, fused, the start of its chain).
    bool firstLaunched = i == (ownWriter >= 0 ? 1 : 0);
    bool chained = bwd.size() > 1;
    needDkvAcc |= chained;
    Buffers bufs = dkvBuffers();
    if (chained) {
      addChain(bufs, "dk_acc");
      addChain(bufs, "dv_acc");
    }
    bool readsClassStats = byClass(group);
    if (readsClassStats)
      bufs.append({{"lse2_c", f32}, {"delta_c", f32}});
    SmallVector<ga::View> later;
    for (const auto &g : ArrayRef(bwd).drop_front(i + 1))
      later.push_back(g.front().keyView);
    addKernel("dkv", bufs, /*rowStats=*/true, group.front().keyView,
              serpentine(i + 1), splits(opt.dkvProducer, group), backward,
              [&](KernelEmitter &k) { emitDkv(k, group, first, later); });
    // The dK/dV kernels run on a second stream beside the dQ kernels
    // (docs/gpu-kernel-abi.md, "stream" and "waits"): they need only the
    // inputs and the delta and lse2 that the first dQ kernel of their head
    // group writes. Overlapping the two chains fills each kernel's tail
    // with the other's blocks.
    json::Object &dkv = *backward.back().getAsObject();
    dkv["stream"] = 1;
    json::Array waits;
    if (firstLaunched)
      waits.push_back(firstDq);
    if (firstLaunched && ownWriter >= 0 && ownWriter != firstDq)
      waits.push_back(ownWriter);
    if (readsClassStats) {
      assert(classWriter >= 0 && "a residue view's dQ kernel writes them");
      waits.push_back(classWriter);
    }
    if (!waits.empty())
      dkv["waits"] = std::move(waits);
  }
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
