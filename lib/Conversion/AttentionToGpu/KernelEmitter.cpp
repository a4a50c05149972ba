//===- KernelEmitter.cpp - Kernel frame and staging ---------------------===//
//
// KernelEmitter's kernel function and shared-memory tiles, the block's
// (batch, head) and tiles in a view, the asynchronous staging of tiles,
// and the unmasked-interior branch (KernelEmitter.h). The tile loops are in
// TileWalks.cpp, row I/O outside them in RowIO.cpp.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"
#include "SpanOrder.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

int64_t KernelEmitter::stagedBytes(int64_t rowBytes, int64_t tile,
                                   int64_t stages, int64_t stagesB,
                                   bool rowStats, int64_t rowOperands,
                                   int64_t warpgroups, bool ticketSlot) {
  int64_t statBytes = rowStats ? 2 * tile * 4 : 0;
  return (ticketSlot ? 16 : 0) + stages * (tile * rowBytes + statBytes) +
         stagesB * tile * rowBytes +
         rowOperands * warpgroups * kBlockRows * rowBytes;
}

int64_t KernelEmitter::bandCarryBytes(int64_t d, Type elt, int64_t slots,
                                      bool half) {
  // The dS tile (64 x 64 of elt), then each slot's 64 x d carries (f32,
  // or f16 and then an f32 scale for each of a thread's two rows in each
  // 64 columns).
  int64_t carry = half ? d / 2 * kThreads * 2 + d / kAtomCols * 2 * kThreads * 4
                       : d / 2 * kThreads * 4;
  return kBlockRows * kBlockRows * (elt.getIntOrFloatBitWidth() / 8) +
         slots * carry;
}

gpu::GPUFuncOp KernelEmitter::begin(gpu::GPUModuleOp module, StringRef name,
                                    ArrayRef<std::pair<StringRef, Type>> bufs,
                                    bool staged, bool rowStats,
                                    int64_t rowOperands,
                                    int64_t wgmmaKeyTile) {
  SmallVector<Type> types;
  for (auto &[n, t] : bufs)
    types.push_back(MemRefType::get({ShapedType::kDynamic}, t));
  types.push_back(b.getI64Type());
  types.push_back(b.getI64Type());
  b.setInsertionPointToEnd(module.getBody());
  // Two shared-memory operands (A and B) of `stages` tiles of `keyTile`
  // rows each. For mma.sync, rows are padded by 16 bytes so that the lanes
  // of a warp hit distinct banks (ldmatrix's eight row addresses; the
  // tf32 path's scalar loads); for wgmma, a tile is its core matrices in
  // order (Wgmma.h), unpadded. The tile is 64 rows where two operands
  // (and the key-driven kernels' lse2 and delta rows) fit the 48 KiB of
  // static shared memory, else 32 or 16 (f32 at d = 128, d = 256); two
  // stages (double buffering: the copy of tile i + 1 overlaps the math on
  // tile i) where they fit too. wgmma kernels may use up to
  // kWgmmaShared: above 48 KiB, as dynamic shared memory (two stages at
  // d = 128), and also hold the block's row operands (RowOperand) there.
  assert((warpgroups == 1 || (useWgmma && staged)) &&
         "two warpgroups a block need warpgroup MMA and staged tiles");
  SmallVector<Type> shared;
  int64_t eltBytes = elt.getIntOrFloatBitWidth() / 8;
  int64_t pad = useWgmma ? 0 : 16 / eltBytes; // elements per 16 bytes
  int64_t rowBytes = (d + pad) * eltBytes;
  int64_t budget = useWgmma ? kWgmmaShared : kStaticShared;
  if (!useWgmma || !staged)
    rowOperands = 0;
  auto bytes = [&](int64_t tile, int64_t numStages, int64_t numStagesB) {
    return stagedBytes(rowBytes, tile, numStages, numStagesB, rowStats,
                       rowOperands, warpgroups, ticketSlot);
  };
  // The fused band backward's dS tile and dQ carries: outside the staging
  // budget, after the staged tiles (both 1024-byte multiples).
  int64_t bandBytes =
      bandCarrySlots ? bandCarryBytes(d, elt, bandCarrySlots, bandCarryHalf)
                     : 0;
  keyTile = useWgmma ? wgmmaKeyTile : kKeyTile;
  while (bytes(keyTile, 1, 1) > budget)
    keyTile /= 2;
  stages = bytes(keyTile, 2, 2) <= budget && !bandCarryHalf ? 2 : 1;
  // With a producer the block holds the SM alone (one block of 384
  // threads): four stages where they fit, else three (a pipelined
  // consumer holds two stages at a time: the producer needs a third to
  // copy ahead).
  if (producerWarpgroup)
    for (int64_t s : {4, 3})
      if (bytes(keyTile, s, s) + 1024 + 16 * s <= kMaxDynamicShared) {
        stages = s;
        break;
      }
  // The wgmma forward at d >= 128 stages V once (singleStageB): 65 KiB a
  // block at d = 128 instead of 81, so three blocks share an SM (its 168
  // registers allow three) where two stages of both held it to two.
  singleStageB = useWgmma && staged && !rowStats && rowOperands == 1 &&
                 d >= 128 && stages == 2 && warpgroups == 1 &&
                 !pipelinedForward;
  int64_t stagesB = singleStageB ? 1 : stages;
  SmallVector<MemRefType> tiles;
  auto ws =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  if (staged) {
    assert((!useWgmma || keyTile % kBlockRows == 0) &&
           "a wgmma key tile is 64 or 128 rows");
    // Row operands first (1024-byte multiples: the swizzle's alignment).
    auto rowType = MemRefType::get({1, kBlockRows * d}, elt,
                                   MemRefLayoutAttrInterface(), ws);
    tiles.append(rowOperands, rowType);
    auto tileType = [&](int64_t n) {
      return useWgmma ? MemRefType::get({n, keyTile * d}, elt,
                                        MemRefLayoutAttrInterface(), ws)
                      : MemRefType::get({n, keyTile, d + pad}, elt,
                                        MemRefLayoutAttrInterface(), ws);
    };
    tiles.append({tileType(stages), tileType(stagesB)});
    if (bandCarrySlots) {
      assert(useWgmma && warpgroups == 1 && "a one-warpgroup wgmma kernel");
      tiles.push_back(MemRefType::get({1, kBlockRows * kBlockRows}, elt,
                                      MemRefLayoutAttrInterface(), ws));
      Type carryType = bandCarryHalf ? Type(b.getF16Type()) : Type(f32);
      tiles.push_back(MemRefType::get({bandCarrySlots * d / 2 * kThreads},
                                      carryType, MemRefLayoutAttrInterface(),
                                      ws));
      if (bandCarryHalf)
        tiles.push_back(
            MemRefType::get({bandCarrySlots * d / kAtomCols * 2 * kThreads},
                            f32, MemRefLayoutAttrInterface(), ws));
    }
    // The staged rows' lse2 and delta (key-driven kernels).
    if (rowStats) {
      auto statType = MemRefType::get({stages, keyTile}, f32,
                                      MemRefLayoutAttrInterface(), ws);
      tiles.append({statType, statType});
    }
    if (producerWarpgroup)
      tiles.push_back(MemRefType::get({2 * stages}, b.getI64Type(),
                                      MemRefLayoutAttrInterface(), ws));
    if (ticketSlot)
      tiles.push_back(MemRefType::get({4}, b.getI32Type(),
                                      MemRefLayoutAttrInterface(), ws));
    // wgmma tiles are 1024-byte aligned (the 128-byte swizzle's atoms):
    // dynamic shared memory with room to align its start.
    if (useWgmma)
      dynamicSharedBytes = bytes(keyTile, stages, stagesB) + bandBytes + 1024 +
                           (producerWarpgroup ? 16 * stages : 0);
    else
      shared.assign(tiles.begin(), tiles.end());
  }
  auto func = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(types, {}),
                                     shared);
  SmallVector<Value> tileValues(func.getWorkgroupAttributions().begin(),
                                func.getWorkgroupAttributions().end());
  if (dynamicSharedBytes) {
    // The tiles as views of the dynamic shared memory, back to back
    // from its first 1024-byte boundary (every tile's size is a multiple
    // of 1024 bytes, the stats' of 16).
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&func.getBody().front());
    Value raw = gpu::DynamicSharedMemoryOp::create(
        b, loc,
        MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                        MemRefLayoutAttrInterface(), ws));
    Value start = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, raw);
    Value pad = m.rem(m.sub(m.c(1024), m.rem(start, m.c(1024))), m.c(1024));
    // A row operand has a tile per warpgroup, back to back; each thread
    // sees its warpgroup's.
    Value ownWg = m.div(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x),
                        m.c(kThreads));
    int64_t offset = 0;
    for (auto [i, type] : llvm::enumerate(tiles)) {
      int64_t tileBytes = type.getNumElements() *
                          type.getElementType().getIntOrFloatBitWidth() / 8;
      bool perWg = int64_t(i) < rowOperands && warpgroups > 1;
      Value at = m.add(pad, m.c(offset));
      if (perWg)
        at = m.add(at, m.mul(ownWg, m.c(tileBytes)));
      tileValues.push_back(
          memref::ViewOp::create(b, loc, type, raw, at, ValueRange()));
      tileOffsets.push_back(offset);
      offset += tileBytes * (perWg ? warpgroups : 1);
    }
    sharedRaw = raw;
    sharedStart = pad;
  }
  rowOperandCount = rowOperands;
  for (int64_t i = 0; i < rowOperands; ++i)
    rowMem[i] = tileValues[i];
  if (staged) {
    smem[0] = tileValues[rowOperands];
    smem[1] = tileValues[rowOperands + 1];
  }
  int64_t next = rowOperands + 2;
  if (staged && bandCarrySlots) {
    dsTile = tileValues[next++];
    carryMem = tileValues[next++];
    if (bandCarryHalf)
      carryScales = tileValues[next++];
  }
  if (staged && rowStats) {
    statMem[0] = tileValues[next];
    statMem[1] = tileValues[next + 1];
  }
  if (ticketSlot)
    ticketMem = tileValues.back();
  if (producerWarpgroup)
    stageBarriers = tileValues[tileValues.size() - (ticketSlot ? 2 : 1)];
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(threads()), 1, 1}));
  Block &body = func.getBody().front();
  for (auto [i, buf] : llvm::enumerate(bufs))
    arg[buf.first] = body.getArgument(i);
  b.setInsertionPointToEnd(&body);
  b.setInsertionPoint(gpu::ReturnOp::create(b, loc));
  n = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                 body.getArgument(bufs.size()));
  heads = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                     body.getArgument(bufs.size() + 1));
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  this->tid = tid;
  wg = m.div(tid, m.c(kThreads));
  wtid = m.rem(tid, m.c(kThreads));
  warp = m.div(wtid, m.c(32));
  lane = m.rem(tid, m.c(32));
  g = m.div(lane, m.c(4));
  t = m.rem(lane, m.c(4));
  t0 = m.cmp(arith::CmpIPredicate::eq, t, m.c(0));
  bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  by = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  return func;
}

void KernelEmitter::groupHeads(int64_t blocksPerSm) {
  Value gx = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  Value gy = gpu::GridDimOp::create(b, loc, gpu::Dimension::y);
  Value sms = arith::IndexCastUIOp::create(
      b, loc, b.getIndexType(), NVVM::SmDimOp::create(b, loc, b.getI32Type()));
  Value resident = m.mul(sms, m.c(std::max<int64_t>(1, blocksPerSm)));
  std::tie(bx, by) = groupedBlock(m, bx, by, gx, gy, resident);
}

void KernelEmitter::headMapping(int64_t first, int64_t cycle, bool reversed) {
  Value by = this->by;
  if (reversed)
    by = m.sub(m.sub(gpu::GridDimOp::create(b, loc, gpu::Dimension::y), m.c(1)),
               by);
  Value bh = by;
  if (cycle != 1) {
    Value cnt = m.ceilDiv(m.sub(heads, m.c(first)), m.c(cycle));
    Value h = m.add(m.c(first), m.mul(m.rem(by, cnt), m.c(cycle)));
    bh = m.add(m.mul(m.div(by, cnt), heads), h);
  }
  setHead(bh);
}

void KernelEmitter::setHead(Value bh) {
  headIndex = bh;
  rowBase = m.mul(bh, n);
  base = m.mul(rowBase, m.c(d));
}

std::pair<Value, Value> KernelEmitter::tileOf(const ga::View &v,
                                              bool reversed) {
  if (tileOverride)
    return *tileOverride;
  if (v.kind == ga::ViewKind::Compact)
    return {m.c(0), bx};
  // Row tiles per residue class (the whole view for Identity).
  Value rows =
      v.kind == ga::ViewKind::Residue ? m.ceilDiv(n, m.c(v.stride)) : n;
  Value per = m.ceilDiv(rows, m.c(rowsPerBlock()));
  Value c = m.c(0), tile = bx;
  if (v.kind == ga::ViewKind::Residue) {
    c = m.div(bx, per);
    tile = m.rem(bx, per);
  }
  if (reversed)
    tile = m.sub(m.sub(per, m.c(1)), tile);
  return {c, tile};
}

Value KernelEmitter::viewLength(const ga::View &v, Value c) {
  switch (v.kind) {
  case ga::ViewKind::Identity:
    return n;
  case ga::ViewKind::Residue:
    return m.max(m.c(0), m.ceilDiv(m.sub(n, c), m.c(v.stride)));
  case ga::ViewKind::Compact: {
    Value l = m.c(v.stride), w = m.c(v.width);
    Value tail = m.max(m.c(0), m.min(m.sub(m.rem(n, l), m.c(v.lo)), w));
    return m.add(m.mul(m.div(n, l), w), tail);
  }
  }
  llvm_unreachable("unknown view");
}

Value KernelEmitter::sharedTileAt(int64_t i, Value byteOffset) {
  assert(sharedRaw && "tiles in dynamic shared memory");
  auto type = MemRefType::get(
      {1, kBlockRows * d}, elt, MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup));
  Value at = m.add(sharedStart, m.add(m.c(tileOffsets[i]), byteOffset));
  return memref::ViewOp::create(b, loc, type, sharedRaw, at, ValueRange());
}

Value KernelEmitter::rowOperandOf(int64_t i, Value w) {
  int64_t tileBytes = kBlockRows * d * (elt.getIntOrFloatBitWidth() / 8);
  return sharedTileAt(i, m.mul(w, m.c(tileBytes)));
}

Value KernelEmitter::stagedTile(int64_t i, Value s) {
  assert(keyTile == kBlockRows && "a stage of 64 rows");
  int64_t stageBytes = keyTile * d * (elt.getIntOrFloatBitWidth() / 8);
  return sharedTileAt(rowOperandCount + i, m.mul(s, m.c(stageBytes)));
}

Value KernelEmitter::anyThread(Value pred) {
  auto i32 = b.getI32Type();
  if (useWgmma && warpgroups > 1) {
    // Two warpgroups walk their tiles independently (tileLoop): each
    // reduces over its own 128 threads at named barrier 1 + wg.
    return byWarpgroup(b.getI1Type(), [&](int32_t w) {
      return ga::namedBarrierAny(b, loc, pred, 1 + w, kThreads);
    });
  }
  if (useWgmma) {
    Value word = arith::ExtUIOp::create(b, loc, i32, pred);
    Value any =
        NVVM::BarrierOp::create(b, loc, i32, Value(), Value(),
                                NVVM::BarrierReductionAttr::get(
                                    b.getContext(), NVVM::BarrierReduction::OR),
                                word)
            .getResult(0);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, any,
                                 arith::ConstantIntOp::create(b, loc, i32, 0));
  }
  return NVVM::VoteSyncOp::create(b, loc, b.getI1Type(),
                                  arith::ConstantIntOp::create(b, loc, i32, -1),
                                  pred, NVVM::VoteSyncKind::any);
}

Value KernelEmitter::byWarpgroup(Type type, function_ref<Value(int32_t)> emit) {
  auto ifOp =
      scf::IfOp::create(b, loc, type ? TypeRange(type) : TypeRange(),
                        m.cmp(arith::CmpIPredicate::eq, wg, m.c(0)), true);
  OpBuilder::InsertionGuard guard(b);
  for (int32_t w = 0; w < 2; ++w) {
    Block &block =
        w == 0 ? ifOp.getThenRegion().front() : ifOp.getElseRegion().front();
    b.setInsertionPointToStart(&block);
    Value v = emit(w);
    if (type)
      scf::YieldOp::create(b, loc, v);
  }
  return type ? ifOp.getResult(0) : Value();
}

SmallVector<RowOperand>
KernelEmitter::rowOperands(ArrayRef<StringRef> names, const LaneRows &rows,
                           const ga::View &v, Value c, Value row0, Value len) {
  SmallVector<RowOperand> out(names.size());
  if (!useWgmma) {
    for (auto [name, op] : llvm::zip(names, out))
      op.frags = rowFragments(arg[name], rows);
    return out;
  }
  assert(names.size() <= 2 && rowMem[names.size() - 1] &&
         "begin() made fewer row-operand tiles");
  Value last = m.max(m.sub(len, m.c(1)), m.c(0));
  for (auto [i, name] : llvm::enumerate(names)) {
    stage(rowMem[i], m.c(0), arg[name], v, c, row0, last, kBlockRows,
          /*ownWarpgroup=*/true);
    out[i].tile = rowMem[i];
  }
  commitCopies();
  return out;
}

void KernelEmitter::awaitPredecessors() {
  if (dependentLaunch)
    NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::wait);
  if (chainFlag)
    awaitChainFlag();
}

void KernelEmitter::releaseDependents() {
  if (dependentLaunch)
    NVVM::GriddepcontrolOp::create(b, loc,
                                   NVVM::GridDepActionKind::launch_dependents);
}

void KernelEmitter::awaitCopies(int32_t pending) {
  nvgpu::DeviceAsyncWaitOp::create(b, loc, commitCopies(),
                                   b.getI32IntegerAttr(pending));
  if (useWgmma)
    ga::fenceProxyAsyncShared(b, loc);
  gpu::BarrierOp::create(b, loc);
}

void KernelEmitter::stage(Value tile, Value st, Value mem, const ga::View &v,
                          Value c, Value x0, Value last, int64_t rows,
                          bool ownWarpgroup, bool wholeTiles) {
  int64_t chunk = 16 / (elt.getIntOrFloatBitWidth() / 8);
  int64_t chunksPerRow = d / chunk;
  int64_t count = ownWarpgroup ? kThreads : threads();
  Value first = ownWarpgroup ? wtid : tid;
  int64_t copies = rows * chunksPerRow / count;
  assert(rows * chunksPerRow % count == 0 && "partial staging");
  bool swizzled = useWgmma && tileLayout().swizzle128();
  bool coreMatrices = useWgmma && !swizzled;
  // Copy `it` of a thread moves chunk id = first + it * count. Its tile
  // row and chunk column:
  //  - core-matrix layout (Wgmma.h): row 8 (id / 8 / chunksPerRow) + id %
  //    8, chunk (id / 8) % chunksPerRow: it lands at element 8 id, so the
  //    block fills the tile linearly;
  //  - otherwise row id / chunksPerRow, chunk id % chunksPerRow (coalesced
  //    reads).
  // When count is a multiple of the chunks of a row (of 8 rows for core
  // matrices), a thread's copies share one column and take rows row0 +
  // rowStep * it, row0 < rowStep: its source and destination addresses
  // are one per-thread address plus a constant (an immediate in PTX).
  bool stepped = wholeTiles &&
                 count % (coreMatrices ? 8 * chunksPerRow : chunksPerRow) == 0;
  int64_t rowStep = count / chunksPerRow;
  auto chunkAt = [&](int64_t it) -> std::pair<Value, Value> {
    Value id = stepped ? first : m.add(first, m.c(it * count));
    Value row, cg;
    if (coreMatrices) {
      Value group = m.div(id, m.c(8));
      row = m.add(m.mul(m.div(group, m.c(chunksPerRow)), m.c(8)),
                  m.rem(id, m.c(8)));
      cg = m.rem(group, m.c(chunksPerRow));
    } else {
      row = m.div(id, m.c(chunksPerRow));
      cg = m.rem(id, m.c(chunksPerRow));
    }
    if (stepped)
      row = m.add(row, m.c(it * rowStep));
    return {row, cg};
  };
  // Emits copy it's tile row, chunk column and shared destination.
  auto destination = [&](int64_t it) {
    auto [row, cg] = chunkAt(it);
    Value col = m.mul(cg, m.c(chunk));
    SmallVector<Value> dst;
    if (swizzled) {
      // In the 128-byte swizzle (Wgmma.h) chunk cg of row `row` lands in
      // atom cg / 8, row `row`, chunk (cg % 8) ^ (row % 8); a rowStep of
      // 8k leaves row % 8 at row0 % 8.
      Value cg8 = m.rem(cg, m.c(8));
      Value row8 =
          m.rem(stepped && rowStep % 8 == 0 ? chunkAt(0).first : row, m.c(8));
      Value x = arith::XOrIOp::create(b, loc, cg8, row8);
      dst = {st, m.add(m.add(m.mul(m.div(cg, m.c(8)), m.c(rows * 64)),
                             m.mul(row, m.c(64))),
                       m.mul(x, m.c(chunk)))};
    } else if (coreMatrices) {
      dst = {st, m.mul(m.add(first, m.c(it * count)), m.c(chunk))};
    } else {
      dst = {st, row, col};
    }
    return std::make_tuple(row, col, dst);
  };
  auto element = [&](Value col, Value orig) {
    return m.add(base, widen(m.add(m.mul(orig, i32(d)), narrow(col))));
  };
  auto copy = [&](ValueRange dst, Value idx) {
    nvgpu::DeviceAsyncCopyOp::create(b, loc, tile, dst, mem, ValueRange{idx},
                                     b.getIndexAttr(chunk), Value(),
                                     b.getUnitAttr());
  };
  auto clampEveryRow = [&] {
    for (int64_t it = 0; it < copies; ++it) {
      auto [row, col, dst] = destination(it);
      copy(dst, element(col, originalRow32(v, c, x0, row, last)));
    }
  };
  // Source rows at constant offsets from row0's (View::positionOffset):
  // every view map is affine over a tile whose rows are all at most
  // `last`, a compact view's only when the tile starts a window (x0 %
  // width == 0, checked at run time) and the window is a multiple of
  // rowStep rows (row0 + r then stays in r's window).
  if (!stepped || (v.kind == ga::ViewKind::Compact && v.width % rowStep != 0)) {
    clampEveryRow();
    return;
  }
  Value whole =
      m.cmp(arith::CmpIPredicate::sle, m.add(x0, m.c(rows - 1)), last);
  if (v.kind == ga::ViewKind::Compact)
    whole = m.andi(whole, m.cmp(arith::CmpIPredicate::eq,
                                m.rem(x0, m.c(v.width)), m.c(0)));
  auto ifOp = scf::IfOp::create(b, loc, whole, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  // The offsets are added in 64 bits, where they fold into the copies.
  auto [row0, col, dst0] = destination(0);
  Value first0 = element(col, originalRow32(v, c, x0, row0, last));
  copy(dst0, first0);
  for (int64_t it = 1; it < copies; ++it)
    copy(std::get<2>(destination(it)),
         m.add(first0, m.c(v.positionOffset(it * rowStep) * d)));
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  clampEveryRow();
}

Value KernelEmitter::originalRow32(const ga::View &v, Value c, Value x0,
                                   Value row, Value last) {
  Value x = m.min(m.add(narrow(x0), narrow(row)), narrow(last));
  switch (v.kind) {
  case ga::ViewKind::Identity:
    return x;
  case ga::ViewKind::Residue:
    return m.add(narrow(c), m.mul(x, i32(v.stride)));
  case ga::ViewKind::Compact: {
    // Unsigned: x >= 0, so a power-of-two width is a shift and a mask.
    Value w = i32(v.width);
    return m.add(
        m.add(m.mul(arith::DivUIOp::create(b, loc, x, w), i32(v.stride)),
              i32(v.lo)),
        arith::RemUIOp::create(b, loc, x, w));
  }
  }
  llvm_unreachable("unknown view");
}

void KernelEmitter::stageRowStats(Value st, const ga::View &v, Value c,
                                  Value x0, Value last, bool ownWarpgroup) {
  Value id = ownWarpgroup ? wtid : tid;
  auto ifOp = scf::IfOp::create(
      b, loc, m.cmp(arith::CmpIPredicate::slt, id, m.c(keyTile)), false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  bool byClass = usesClassStats(v);
  Value idx = byClass
                  ? classStatIndex(c, m.min(m.add(x0, id), last))
                  : m.add(rowBase, widen(originalRow32(v, c, x0, id, last)));
  for (int i = 0; i < 2; ++i) {
    StringRef name =
        byClass ? (i == 0 ? "lse2_c" : "delta_c") : (i == 0 ? "lse2" : "delta");
    nvgpu::DeviceAsyncCopyOp::create(b, loc, statMem[i], ValueRange{st, id},
                                     arg[name], ValueRange{idx},
                                     b.getIndexAttr(1), Value(), UnitAttr());
  }
}

Frags KernelEmitter::maskedOrNot(Value inner, Frags s,
                                 function_ref<void(Frags &)> mask) {
  if (!inner) {
    mask(s);
    return s;
  }
  SmallVector<Value> flat;
  flatten(s, flat);
  auto ifOp =
      scf::IfOp::create(b, loc, TypeRange(ValueRange(flat)), inner, true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  scf::YieldOp::create(b, loc, flat);
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  mask(s);
  flat.clear();
  flatten(s, flat);
  scf::YieldOp::create(b, loc, flat);
  return unflatten(ifOp.getResults(), s.size());
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
