//===- KernelEmitter.h - Building blocks of the attention kernels -*- C++ -*-===//
//
// KernelEmitter builds the pieces every attention kernel is made of: the
// kernel function and its shared-memory tiles, the block's rows in a view
// (Views.h), fragments in registers, the tensor-core products (mma.sync, or
// warpgroup MMA through Wgmma.h), shared-memory staging with asynchronous
// copies and the double-buffered tile loop, masks and the online-softmax
// arithmetic. The kernels themselves (forward, delta, dQ, dK/dV) are in
// Kernels.cpp; the pass that chooses and schedules them is
// AttentionToGpu.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELEMITTER_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELEMITTER_H

#include "../AttentionToLoops/PartStructure.h"
#include "Views.h"
#include "Wgmma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>

namespace mlir {
namespace st {
namespace gpu_kernels {

using attention_loops::IndexMath;
using attention_loops::PartStructure;
namespace lay = ::st::layout;
namespace ga = ::st::gpu_attention;

inline constexpr int64_t kWarps = 4;
inline constexpr int64_t kWarpRows = 16;
inline constexpr int64_t kBlockRows = kWarps * kWarpRows;
inline constexpr int64_t kMaxKeyTile = 64;
inline constexpr int64_t kThreads = kWarps * 32;
inline constexpr double kLog2e = 1.4426950408889634;
inline constexpr double kHugeLse = 1e30;
inline constexpr int64_t kStaticShared = 48 * 1024;
/// Shared memory of a wgmma kernel's tiles: beyond 48 KiB it is dynamic
/// (the runtime opts in with cuFuncSetAttribute). Up to two 64-row stages
/// of two d = 128 operands; with 255 registers a thread, two or three
/// blocks share an SM's 228 KiB anyway.
inline constexpr int64_t kWgmmaShared = 72 * 1024;


/// The two rows of an MMA fragment that one lane holds: `g` and `g + 8` of
/// the warp's 16.
struct LaneRows {
  Value view[2];  // view index, clamped into the view
  Value orig[2];  // original position
  Value valid[2]; // view index < view length
};

/// One accumulator fragment row pair: c[tile][0..3] per 8-column tile.
using Frags = SmallVector<std::array<Value, 4>>;

class KernelEmitter {
public:
  /// `wgmma`: 16-bit products as warpgroup MMA (Wgmma.h); f32 (tf32)
  /// always uses mma.sync (tf32 wgmma has no MN-major B).
  KernelEmitter(OpBuilder &b, Location loc, Type elt, int64_t d, double scale,
                bool wgmma = false)
      : b(b), loc(loc), m{b, loc}, elt(elt), d(d), scale(scale),
        useWgmma(wgmma && !elt.isF32()) {
    f32 = b.getF32Type();
  }

  /// Creates `name` in `module` with the buffer arguments `bufs` (element
  /// types) and i64 `N`, `H`; positions the builder in its body.
  gpu::GPUFuncOp begin(gpu::GPUModuleOp module, StringRef name,
                       ArrayRef<std::pair<StringRef, Type>> bufs,
                       bool staged = false, bool rowStats = false) {
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
    // (and the key-driven kernels' lse and delta rows) fit the 48 KiB of
    // static shared memory, else 32 or 16 (f32 at d = 128, d = 256); two
    // stages (double buffering: the copy of tile i + 1 overlaps the math on
    // tile i) where they fit too. wgmma kernels may use up to
    // kWgmmaShared: above 48 KiB, as dynamic shared memory (two stages at
    // d = 128).
    SmallVector<Type> shared;
    int64_t eltBytes = elt.getIntOrFloatBitWidth() / 8;
    int64_t pad = useWgmma ? 0 : 16 / eltBytes; // elements per 16 bytes
    int64_t rowBytes = (d + pad) * eltBytes;
    int64_t budget = useWgmma ? kWgmmaShared : kStaticShared;
    auto bytes = [&](int64_t tile, int64_t numStages) {
      int64_t statBytes = rowStats ? 2 * tile * 4 : 0;
      return numStages * (2 * tile * rowBytes + statBytes);
    };
    keyTile = kMaxKeyTile;
    while (bytes(keyTile, 1) > budget)
      keyTile /= 2;
    stages = bytes(keyTile, 2) <= budget ? 2 : 1;
    SmallVector<MemRefType> tiles;
    auto ws = gpu::AddressSpaceAttr::get(b.getContext(),
                                         gpu::AddressSpace::Workgroup);
    if (staged) {
      auto tileType =
          useWgmma ? MemRefType::get({stages, keyTile * d}, elt,
                                     MemRefLayoutAttrInterface(), ws)
                   : MemRefType::get({stages, keyTile, d + pad}, elt,
                                     MemRefLayoutAttrInterface(), ws);
      tiles = {tileType, tileType};
      // The staged rows' lse and delta (key-driven kernels).
      if (rowStats) {
        auto statType = MemRefType::get({stages, keyTile}, f32,
                                        MemRefLayoutAttrInterface(), ws);
        tiles.append({statType, statType});
      }
      // wgmma tiles are 1024-byte aligned (the 128-byte swizzle's atoms):
      // dynamic shared memory with room to align its start.
      if (useWgmma)
        dynamicSharedBytes = bytes(keyTile, stages) + 1024;
      else
        shared.assign(tiles.begin(), tiles.end());
    }
    auto func = gpu::GPUFuncOp::create(b, loc, name,
                                       b.getFunctionType(types, {}), shared);
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
      Value start =
          memref::ExtractAlignedPointerAsIndexOp::create(b, loc, raw);
      Value pad = m.rem(m.sub(m.c(1024), m.rem(start, m.c(1024))),
                        m.c(1024));
      int64_t offset = 0;
      for (MemRefType type : tiles) {
        tileValues.push_back(memref::ViewOp::create(
            b, loc, type, raw, m.add(pad, m.c(offset)), ValueRange()));
        offset += type.getNumElements() *
                  type.getElementType().getIntOrFloatBitWidth() / 8;
      }
    }
    if (staged) {
      smem[0] = tileValues[0];
      smem[1] = tileValues[1];
    }
    if (staged && rowStats) {
      statMem[0] = tileValues[2];
      statMem[1] = tileValues[3];
    }
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    func.setKnownBlockSizeAttr(
        b.getDenseI32ArrayAttr({int32_t(kThreads), 1, 1}));
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
    warp = m.div(tid, m.c(32));
    this->tid = tid;
    lane = m.rem(tid, m.c(32));
    g = m.div(lane, m.c(4));
    t = m.rem(lane, m.c(4));
    t0 = m.cmp(arith::CmpIPredicate::eq, t, m.c(0));
    bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    return func;
  }

  /// Computes the (batch, head) of this block for head group `first` of a
  /// cycle of `cycle` patterns, and the base offsets.
  void headMapping(int64_t first, int64_t cycle) {
    Value by = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value bh = by;
    if (cycle != 1) {
      Value cnt = m.ceilDiv(m.sub(heads, m.c(first)), m.c(cycle));
      Value h = m.add(m.c(first), m.mul(m.rem(by, cnt), m.c(cycle)));
      bh = m.add(m.mul(m.div(by, cnt), heads), h);
    }
    rowBase = m.mul(bh, n);
    base = m.mul(rowBase, m.c(d));
  }

  /// Decomposes blockIdx.x for driving view `v` into (residue, tile).
  std::pair<Value, Value> tileOf(const ga::View &v) {
    if (v.kind != ga::ViewKind::Residue)
      return {m.c(0), bx};
    Value per = m.ceilDiv(m.ceilDiv(n, m.c(v.stride)), m.c(kBlockRows));
    return {m.div(bx, per), m.rem(bx, per)};
  }

  Value viewLength(const ga::View &v, Value c) {
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

  Value toOriginal(const ga::View &v, Value c, Value x) {
    switch (v.kind) {
    case ga::ViewKind::Identity:
      return x;
    case ga::ViewKind::Residue:
      return m.add(c, m.mul(x, m.c(v.stride)));
    case ga::ViewKind::Compact: {
      Value w = m.c(v.width);
      return m.add(m.add(m.mul(m.div(x, w), m.c(v.stride)), m.c(v.lo)),
                   m.rem(x, w));
    }
    }
    llvm_unreachable("unknown view");
  }

  /// The lane's two rows (g and g + 8 of the warp's 16 from `r0`).
  LaneRows laneRows(const ga::View &v, Value c, Value r0, Value len) {
    LaneRows r;
    Value last = m.max(m.sub(len, m.c(1)), m.c(0));
    for (int k = 0; k < 2; ++k) {
      Value x = m.add(r0, m.add(g, m.c(8 * k)));
      r.valid[k] = m.cmp(arith::CmpIPredicate::slt, x, len);
      r.view[k] = m.min(x, last);
      r.orig[k] = toOriginal(v, c, r.view[k]);
    }
    return r;
  }

  //===--------------------------------------------------------------===//
  // Registers and tensor cores
  //===--------------------------------------------------------------===//

  bool isBf16() const { return elt.isBF16(); }
  /// f32 inputs run on the tensor cores as tf32 (m16n8k8, operands rounded
  /// to nearest with ties away, cvt.rna.tf32.f32).
  bool isTf32() const { return elt.isF32(); }
  Value tf32(Value x) {
    return NVVM::ConvertFloatToTF32Op::create(b, loc, b.getI32Type(), x,
                                              NVVM::FPRoundingMode::RNA,
                                              NVVM::SaturationMode::NONE,
                                              false);
  }

  Value f(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }
  Value negInf() { return f(-INFINITY); }

  /// The mma operand type of a pair of elements.
  Value operand(Value pair) {
    auto pairType = cast<VectorType>(pair.getType());
    if (!isBf16()) {
      if (pairType.getElementType() != elt)
        pair = vector::BitCastOp::create(b, loc, VectorType::get({2}, elt),
                                         pair);
      return pair;
    }
    return asI32(pair);
  }

  /// An mma operand (a pair of 16-bit elements) as the i32 register that
  /// inline PTX takes.
  Value asI32(Value operand) {
    if (operand.getType().isInteger(32))
      return operand;
    Value w = vector::BitCastOp::create(
        b, loc, VectorType::get({1}, b.getI32Type()), operand);
    return vector::ExtractOp::create(b, loc, w, ArrayRef<int64_t>{0});
  }

  /// Elements [idx, idx + 2) of `mem` (4-byte aligned: idx is even).
  Value pairLoad(Value mem, Value idx) {
    auto type = VectorType::get({2}, elt);
    return operand(vector::LoadOp::create(b, loc, type, mem, ValueRange{idx},
                                          false, llvm::MaybeAlign(4)));
  }

  Value pack(Value lo, Value hi) {
    return operand(vector::FromElementsOp::create(
        b, loc, VectorType::get({2}, elt), ValueRange{lo, hi}));
  }
  Value packF32(Value lo, Value hi) {
    return pack(arith::TruncFOp::create(b, loc, elt, lo),
                arith::TruncFOp::create(b, loc, elt, hi));
  }
  Value load(Value mem, Value idx) {
    return memref::LoadOp::create(b, loc, mem, ValueRange{idx});
  }
  Value loadF32(Value mem, Value idx) {
    Value v = load(mem, idx);
    if (v.getType() != f32)
      v = arith::ExtFOp::create(b, loc, f32, v);
    return v;
  }

  /// c += a * b for one m16n8k16 tile (m16n8k8 for tf32).
  std::array<Value, 4> mma(ArrayRef<Value> a, ArrayRef<Value> bv,
                           const std::array<Value, 4> &c) {
    auto type = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                 {f32, f32, f32, f32});
    NVVM::MMATypes pt = isTf32()   ? NVVM::MMATypes::tf32
                        : isBf16() ? NVVM::MMATypes::bf16
                                   : NVVM::MMATypes::f16;
    Value r = NVVM::MmaOp::create(
        b, loc, type, a, bv, ValueRange(c),
        ArrayRef<int64_t>{16, 8, isTf32() ? 8 : 16},
        std::nullopt, std::nullopt, std::array<NVVM::MMATypes, 2>{pt, pt},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    std::array<Value, 4> out;
    for (int64_t e = 0; e < 4; ++e)
      out[e] = LLVM::ExtractValueOp::create(b, loc, r, ArrayRef<int64_t>{e});
    return out;
  }

  /// The A fragments (row-major 16 x D) of rows `rows` of [.., N, D]
  /// tensor `mem`: per 16-column step, {(g, 2t), (g+8, 2t), (g, 2t+8),
  /// (g+8, 2t+8)} pairs.
  SmallVector<std::array<Value, 4>> rowFragments(Value mem,
                                                 const LaneRows &rows) {
    SmallVector<std::array<Value, 4>> frags;
    Value off[2] = {m.add(base, m.mul(rows.orig[0], m.c(d))),
                    m.add(base, m.mul(rows.orig[1], m.c(d)))};
    if (isTf32()) {
      // tf32 A fragments per 8-column step: (g, t), (g+8, t), (g, t+4),
      // (g+8, t+4).
      for (int64_t ks = 0; ks < d / 8; ++ks) {
        std::array<Value, 4> a;
        for (int k = 0; k < 4; ++k) {
          Value col = m.add(m.c(ks * 8 + (k / 2) * 4), t);
          a[k] = tf32(load(mem, m.add(off[k % 2], col)));
        }
        frags.push_back(a);
      }
      return frags;
    }
    for (int64_t ks = 0; ks < d / 16; ++ks) {
      std::array<Value, 4> a;
      for (int k = 0; k < 4; ++k) {
        Value col = m.add(m.c(ks * 16 + (k / 2) * 8), m.mul(t, m.c(2)));
        a[k] = pairLoad(mem, m.add(off[k % 2], col));
      }
      frags.push_back(a);
    }
    return frags;
  }

  //===--------------------------------------------------------------===//
  // Shared-memory staging
  //===--------------------------------------------------------------===//

  /// Starts copying the 64 rows of view `v` from view index `x0` (clamped
  /// to `last`) of [.., N, D] tensor `mem` into stage `st` of shared
  /// operand `tile`: asynchronous 16-byte copies (cp.async.cg, around L1),
  /// D/16 per thread, coalesced along each row. The caller commits them as
  /// a group.
  void stage(Value tile, Value st, Value mem, const ga::View &v, Value c,
             Value x0, Value last) {
    int64_t chunk = 16 / (elt.getIntOrFloatBitWidth() / 8);
    int64_t chunksPerRow = d / chunk;
    assert(keyTile * chunksPerRow % kThreads == 0 && "partial staging");
    for (int64_t it = 0; it < keyTile * chunksPerRow / kThreads; ++it) {
      Value id = m.add(tid, m.c(it * kThreads));
      Value row, col;
      SmallVector<Value> dst;
      if (useWgmma && tileLayout().swizzle128()) {
        // Chunk `id` is chunk id % chunksPerRow of row id / chunksPerRow
        // (coalesced reads); in the 128-byte swizzle (Wgmma.h) it lands in
        // atom chunk / 8, row `row`, chunk (chunk % 8) ^ (row % 8).
        row = m.div(id, m.c(chunksPerRow));
        Value cg = m.rem(id, m.c(chunksPerRow));
        col = m.mul(cg, m.c(chunk));
        Value swizzled = arith::XOrIOp::create(b, loc, m.rem(cg, m.c(8)),
                                               m.rem(row, m.c(8)));
        Value atom = m.div(cg, m.c(8));
        dst = {st, m.add(m.add(m.mul(atom, m.c(keyTile * 64)),
                               m.mul(row, m.c(64))),
                         m.mul(swizzled, m.c(chunk)))};
      } else if (useWgmma) {
        // Chunk `id` is row 8 (id / 8 / chunksPerRow) + id % 8, chunk
        // (id / 8) % chunksPerRow: in the core-matrix layout it lands at
        // element 8 id, so the block fills the tile linearly.
        Value group = m.div(id, m.c(8));
        row = m.add(m.mul(m.div(group, m.c(chunksPerRow)), m.c(8)),
                    m.rem(id, m.c(8)));
        col = m.mul(m.rem(group, m.c(chunksPerRow)), m.c(chunk));
        dst = {st, m.mul(id, m.c(chunk))};
      } else {
        row = m.div(id, m.c(chunksPerRow));
        col = m.mul(m.rem(id, m.c(chunksPerRow)), m.c(chunk));
        dst = {st, row, col};
      }
      Value orig = toOriginal(v, c, m.min(m.add(x0, row), last));
      Value idx = m.add(base, m.add(m.mul(orig, m.c(d)), col));
      nvgpu::DeviceAsyncCopyOp::create(b, loc, tile, dst, mem,
                                       ValueRange{idx}, b.getIndexAttr(chunk),
                                       Value(), b.getUnitAttr());
    }
  }

  /// Starts copying lse and delta of the `keyTile` rows of view `v` from
  /// `x0` (clamped to `last`) into stage `st` of the row-stat tiles: one
  /// 4-byte cp.async per row and statistic.
  void stageRowStats(Value st, const ga::View &v, Value c, Value x0,
                     Value last) {
    auto ifOp = scf::IfOp::create(
        b, loc, m.cmp(arith::CmpIPredicate::slt, tid, m.c(keyTile)), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    Value idx = m.add(rowBase, toOriginal(v, c, m.min(m.add(x0, tid), last)));
    for (int i = 0; i < 2; ++i)
      nvgpu::DeviceAsyncCopyOp::create(
          b, loc, statMem[i], ValueRange{st, tid},
          arg[i == 0 ? "lse" : "delta"], ValueRange{idx}, b.getIndexAttr(1),
          Value(), UnitAttr());
  }

  /// Row `r` of the current stage of the staged lse (i = 0) or delta.
  Value rowStat(int i, Value r) {
    return memref::LoadOp::create(b, loc, statMem[i], ValueRange{curStage, r});
  }

  /// Four 8x8 matrices of the current stage of `tile` through ldmatrix:
  /// lane l addresses row `row(l)`, column `col(l)`.
  std::array<Value, 4> ldmatrix(Value tile, Value row, Value col,
                                bool transpose) {
    Value r = nvgpu::LdMatrixOp::create(
        b, loc, VectorType::get({4, 2}, elt), tile,
        ValueRange{curStage, row, col}, b.getBoolAttr(transpose),
        b.getI32IntegerAttr(4));
    std::array<Value, 4> out;
    for (int64_t i = 0; i < 4; ++i)
      out[i] = operand(
          vector::ExtractOp::create(b, loc, r, ArrayRef<int64_t>{i}));
    return out;
  }

  /// S[16 x 64] = A . X^T with the 64 rows of X staged in `tile`.
  Frags scoresShared(ArrayRef<std::array<Value, 4>> a, Value tile) {
    if (isTf32())
      return scoresSharedTf32(a, tile);
    if (useWgmma)
      return scoresWgmma(a, tile);
    Frags s;
    Value l8 = m.rem(lane, m.c(8)), q8 = m.div(lane, m.c(8));
    for (int64_t nt = 0; nt < keyTile / 8; ++nt) {
      std::array<Value, 4> c = {f(0), f(0), f(0), f(0)};
      Value row = m.add(m.c(nt * 8), l8);
      for (int64_t ks = 0; ks < d / 16; ks += 2) {
        auto x = ldmatrix(tile, row, m.add(m.c(ks * 16), m.mul(q8, m.c(8))),
                          false);
        c = mma(a[ks], {x[0], x[1]}, c);
        c = mma(a[ks + 1], {x[2], x[3]}, c);
      }
      s.push_back(c);
    }
    return s;
  }

  /// acc += P . X with the 64 rows of X staged in `tile` (ldmatrix.trans).
  void accumulateShared(Frags &acc, const Frags &p, Value tile) {
    if (isTf32())
      return accumulateSharedTf32(acc, p, tile);
    if (useWgmma)
      return accumulateWgmma(acc, p, tile);
    Value l8 = m.rem(lane, m.c(8));
    Value half = m.rem(m.div(lane, m.c(8)), m.c(2));
    Value pairSel = m.div(lane, m.c(16));
    for (int64_t kk = 0; kk < keyTile / 16; ++kk) {
      Value a[4] = {packF32(p[2 * kk][0], p[2 * kk][1]),
                    packF32(p[2 * kk][2], p[2 * kk][3]),
                    packF32(p[2 * kk + 1][0], p[2 * kk + 1][1]),
                    packF32(p[2 * kk + 1][2], p[2 * kk + 1][3])};
      Value row = m.add(m.c(kk * 16), m.add(m.mul(half, m.c(8)), l8));
      for (int64_t dt = 0; dt < d / 8; dt += 2) {
        Value col = m.mul(m.add(m.c(dt), pairSel), m.c(8));
        auto x = ldmatrix(tile, row, col, true);
        acc[dt] = mma(a, {x[0], x[1]}, acc[dt]);
        acc[dt + 1] = mma(a, {x[2], x[3]}, acc[dt + 1]);
      }
    }
  }

  /// The layout of a staged wgmma tile (Wgmma.h).
  ga::TileLayout tileLayout() const { return {keyTile, d}; }

  /// The shared-state-space byte address (i64) of the current stage of
  /// wgmma `tile`.
  Value stageAddress(Value tile) {
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, tile);
    int64_t stageBytes = keyTile * d * (elt.getIntOrFloatBitWidth() / 8);
    Value addr = m.add(base, m.mul(curStage, m.c(stageBytes)));
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), addr);
  }

  /// `desc` advanced by `bytes` (the address field counts 16 bytes).
  Value advance(Value desc, int64_t bytes) {
    return arith::AddIOp::create(
        b, loc, desc,
        arith::ConstantIntOp::create(b, loc, b.getI64Type(), bytes / 16));
  }

  /// The operands of one warpgroup product (Wgmma.h).
  struct WgmmaOperands {
    SmallVector<Value> acc;
    SmallVector<std::array<Value, 4>> a;
    SmallVector<Value> desc;
    bool transB;
    ga::WarpgroupProduct product() const { return {acc, a, desc, transB}; }
  };

  /// S = A . X^T over the block's 64 rows (this warp's 16 in its
  /// registers) and the keyTile rows of X staged in `tile`, read K-major.
  WgmmaOperands scoresOperands(ArrayRef<std::array<Value, 4>> a,
                               Value tile) {
    WgmmaOperands w;
    w.transB = false;
    ga::TileLayout layout = tileLayout();
    Value desc0 = ga::matrixDescriptor(b, loc, stageAddress(tile),
                                       layout.kMajorBits());
    for (int64_t ks = 0; ks < d / 16; ++ks) {
      w.a.push_back({asI32(a[ks][0]), asI32(a[ks][1]), asI32(a[ks][2]),
                     asI32(a[ks][3])});
      w.desc.push_back(advance(desc0, layout.kMajorStep(ks)));
    }
    w.acc.assign(keyTile / 2, f(0));
    return w;
  }

  /// acc + P . X: P (score accumulators, packed to the A layout) times the
  /// tile X read MN-major.
  WgmmaOperands accumulateOperands(const Frags &acc, const Frags &p,
                                   Value tile) {
    WgmmaOperands w;
    w.transB = true;
    ga::TileLayout layout = tileLayout();
    Value desc0 = ga::matrixDescriptor(b, loc, stageAddress(tile),
                                       layout.mnMajorBits());
    for (int64_t kk = 0; kk < keyTile / 16; ++kk) {
      w.a.push_back({asI32(packF32(p[2 * kk][0], p[2 * kk][1])),
                     asI32(packF32(p[2 * kk][2], p[2 * kk][3])),
                     asI32(packF32(p[2 * kk + 1][0], p[2 * kk + 1][1])),
                     asI32(packF32(p[2 * kk + 1][2], p[2 * kk + 1][3]))});
      w.desc.push_back(advance(desc0, layout.mnMajorStep(kk)));
    }
    flatten(acc, w.acc);
    return w;
  }

  /// Runs independent products in one warpgroup-MMA block.
  SmallVector<Frags> runWgmma(ArrayRef<WgmmaOperands> ops) {
    SmallVector<ga::WarpgroupProduct> products;
    for (const WgmmaOperands &w : ops)
      products.push_back(w.product());
    SmallVector<Frags> out;
    for (auto &acc : ga::warpgroupMmas(b, loc, products, isBf16()))
      out.push_back(unflatten(acc, acc.size() / 4));
    return out;
  }

  Frags scoresWgmma(ArrayRef<std::array<Value, 4>> a, Value tile) {
    return runWgmma({scoresOperands(a, tile)})[0];
  }
  void accumulateWgmma(Frags &acc, const Frags &p, Value tile) {
    acc = runWgmma({accumulateOperands(acc, p, tile)})[0];
  }

  /// Two independent score products (S and dP): with wgmma, issued
  /// together so the second overlaps the first.
  std::pair<Frags, Frags> scoresPair(ArrayRef<std::array<Value, 4>> a0,
                                     Value tile0,
                                     ArrayRef<std::array<Value, 4>> a1,
                                     Value tile1) {
    if (!useWgmma)
      return {scoresShared(a0, tile0), scoresShared(a1, tile1)};
    auto out = runWgmma({scoresOperands(a0, tile0), scoresOperands(a1, tile1)});
    return {out[0], out[1]};
  }

  /// Two independent updates acc0 += p0 . X0 and acc1 += p1 . X1.
  void accumulatePair(Frags &acc0, const Frags &p0, Value tile0, Frags &acc1,
                      const Frags &p1, Value tile1) {
    if (!useWgmma) {
      accumulateShared(acc0, p0, tile0);
      accumulateShared(acc1, p1, tile1);
      return;
    }
    auto out = runWgmma({accumulateOperands(acc0, p0, tile0),
                         accumulateOperands(acc1, p1, tile1)});
    acc0 = out[0];
    acc1 = out[1];
  }

  /// Element (row, col) of the current stage of f32 `tile` as tf32.
  Value sharedTf32(Value tile, Value row, Value col) {
    return tf32(memref::LoadOp::create(b, loc, tile,
                                       ValueRange{curStage, row, col}));
  }

  /// scoresShared for tf32: B fragments (k = t and t + 4, n = g) are
  /// scalar shared loads; rows are d + 4 floats apart, so the 32 lanes hit
  /// 32 banks.
  Frags scoresSharedTf32(ArrayRef<std::array<Value, 4>> a, Value tile) {
    Frags s;
    for (int64_t nt = 0; nt < keyTile / 8; ++nt) {
      std::array<Value, 4> c = {f(0), f(0), f(0), f(0)};
      Value row = m.add(m.c(nt * 8), g);
      for (int64_t ks = 0; ks < d / 8; ++ks) {
        Value b0 = sharedTf32(tile, row, m.add(m.c(ks * 8), t));
        Value b1 = sharedTf32(tile, row, m.add(m.c(ks * 8 + 4), t));
        c = mma(a[ks], {b0, b1}, c);
      }
      s.push_back(c);
    }
    return s;
  }

  /// accumulateShared for tf32: the A fragment of P (columns t and t + 4
  /// of rows g and g + 8) comes from the accumulator layout (columns 2t,
  /// 2t + 1) through index shuffles within each quad of lanes.
  void accumulateSharedTf32(Frags &acc, const Frags &p, Value tile) {
    Value lane32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), lane);
    Value t32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), t);
    auto ci = [&](int32_t v) {
      return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
    };
    // Source lanes: g * 4 + t / 2 (column t) and that + 2 (column t + 4).
    Value src1 = arith::AddIOp::create(
        b, loc, arith::SubIOp::create(b, loc, lane32, t32),
        arith::ShRUIOp::create(b, loc, t32, ci(1)));
    Value src2 = arith::AddIOp::create(b, loc, src1, ci(2));
    Value odd = m.cmp(arith::CmpIPredicate::eq, m.rem(t, m.c(2)), m.c(1));
    auto fetch = [&](Value lo, Value hi, Value src) {
      Value x0 = gpu::ShuffleOp::create(b, loc, lo, src, ci(32),
                                        gpu::ShuffleMode::IDX)
                     .getShuffleResult();
      Value x1 = gpu::ShuffleOp::create(b, loc, hi, src, ci(32),
                                        gpu::ShuffleMode::IDX)
                     .getShuffleResult();
      return tf32(select(odd, x1, x0));
    };
    for (int64_t kk = 0; kk < keyTile / 8; ++kk) {
      const auto &c = p[kk];
      Value a[4] = {fetch(c[0], c[1], src1), fetch(c[2], c[3], src1),
                    fetch(c[0], c[1], src2), fetch(c[2], c[3], src2)};
      Value r0 = m.add(m.c(kk * 8), t), r1 = m.add(m.c(kk * 8 + 4), t);
      for (int64_t dt = 0; dt < d / 8; ++dt) {
        Value col = m.add(m.c(dt * 8), g);
        Value b0 = sharedTf32(tile, r0, col);
        Value b1 = sharedTf32(tile, r1, col);
        acc[dt] = mma(a, {b0, b1}, acc[dt]);
      }
    }
  }

  /// The block-level walk over 64-wide tiles [lo, hi) of view `v`: stages
  /// rows of `memA` and `memB` into shared memory, then lets each warp whose
  /// own range [wlo, whi) meets the tile run `body`; others keep their state.
  SmallVector<Value>
  tileLoop(Value lo, Value hi, Value wlo, Value whi, const ga::View &v,
           Value c, Value last, Value memA, Value memB, ValueRange state,
           function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    hi = m.max(lo, hi);
    auto copyTile = [&](Value x0, Value st) {
      stage(smem[0], st, memA, v, c, x0, last);
      stage(smem[1], st, memB, v, c, x0, last);
      if (statMem[0])
        stageRowStats(st, v, c, x0, last);
    };
    auto commit = [&] {
      return nvgpu::DeviceAsyncCreateGroupOp::create(
          b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()),
          ValueRange{});
    };
    // Copies the tile at `x0` into stage `st` if it is before `hi`.
    auto copyIfBefore = [&](Value x0, Value st) {
      auto ifOp = scf::IfOp::create(
          b, loc, m.cmp(arith::CmpIPredicate::slt, x0, hi), false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      copyTile(x0, st);
    };
    // Prologue: the first tile into stage 0 (every thread of the block
    // runs the loop: its bounds are block-uniform).
    gpu::BarrierOp::create(b, loc);
    copyIfBefore(lo, m.c(0));
    commit();
    auto loop = scf::ForOp::create(
        b, loc, lo, hi, m.c(keyTile), state,
        [&](OpBuilder &, Location, Value x0, ValueRange st) {
          Value next = m.add(x0, m.c(keyTile));
          curStage = m.rem(m.div(m.sub(x0, lo), m.c(keyTile)), m.c(stages));
          Value token;
          if (stages == 2) {
            // Start the next tile into the other stage, then wait for this
            // one (at most the group just committed stays in flight).
            copyIfBefore(next, m.sub(m.c(1), curStage));
            token = commit();
            nvgpu::DeviceAsyncWaitOp::create(b, loc, token,
                                             b.getI32IntegerAttr(1));
          } else {
            token = commit();
            nvgpu::DeviceAsyncWaitOp::create(b, loc, token,
                                             b.getI32IntegerAttr(0));
          }
          // wgmma reads shared memory through the async proxy.
          if (useWgmma)
            ga::fenceProxyAsyncShared(b, loc);
          gpu::BarrierOp::create(b, loc);
          SmallVector<Value> results;
          if (useWgmma) {
            // A warpgroup MMA takes all four warps: every warp runs the
            // tile, and the mask gives p = 0 to rows that do not meet it.
            results = body(x0, st);
          } else {
            Value active = m.andi(
                m.cmp(arith::CmpIPredicate::slt, x0, whi),
                m.cmp(arith::CmpIPredicate::sgt, m.add(x0, m.c(keyTile)),
                      wlo));
            auto ifOp =
                scf::IfOp::create(b, loc, TypeRange(st), active, true);
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(&ifOp.getThenRegion().front());
            scf::YieldOp::create(b, loc, body(x0, st));
            b.setInsertionPointToStart(&ifOp.getElseRegion().front());
            scf::YieldOp::create(b, loc, st);
            results.assign(ifOp.getResults().begin(), ifOp.getResults().end());
          }
          // Every warp is done with this stage before it is refilled.
          gpu::BarrierOp::create(b, loc);
          if (stages == 1)
            copyIfBefore(next, m.c(0));
          scf::YieldOp::create(b, loc, results);
        });
    return SmallVector<Value>(loop.getResults().begin(),
                              loop.getResults().end());
  }

  Value shuffleXor(Value v, int32_t offset) {
    return gpu::ShuffleOp::create(b, loc, v, offset, 32, gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  /// Reduces over the four lanes that share a fragment row.
  Value rowReduce(Value v, bool isMax) {
    for (int32_t off : {1, 2}) {
      Value o = shuffleXor(v, off);
      v = isMax ? Value(arith::MaximumFOp::create(b, loc, v, o))
                : Value(arith::AddFOp::create(b, loc, v, o));
    }
    return v;
  }

  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value exp2(Value x) { return math::Exp2Op::create(b, loc, x); }
  Value isNegInf(Value x) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x,
                                 negInf());
  }

  /// Index of element (row k, pair element e) of fragment tile `tile` of an
  /// [.., N, D] tensor at original row `orig`.
  Value fragIndex(Value orig, int64_t tile, int64_t e) {
    return m.add(base, m.add(m.mul(orig, m.c(d)),
                             m.add(m.c(tile * 8 + e), m.mul(t, m.c(2)))));
  }

  /// Stores accumulator fragments (rows `rows`), scaled per row by
  /// `factor[k]`, to `mem` (converting to its element type), valid rows only.
  void storeRows(const Frags &acc, const LaneRows &rows, Value factor[2],
                 Value mem) {
    Type memElt = cast<MemRefType>(mem.getType()).getElementType();
    for (int k = 0; k < 2; ++k) {
      auto ifOp = scf::IfOp::create(b, loc, rows.valid[k], false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      for (int64_t dt = 0; dt < d / 8; ++dt) {
        Value lo = fmul(acc[dt][2 * k], factor[k]);
        Value hi = fmul(acc[dt][2 * k + 1], factor[k]);
        if (memElt != f32) {
          lo = arith::TruncFOp::create(b, loc, memElt, lo);
          hi = arith::TruncFOp::create(b, loc, memElt, hi);
        }
        Value pair = vector::FromElementsOp::create(
            b, loc, VectorType::get({2}, memElt), ValueRange{lo, hi});
        vector::StoreOp::create(b, loc, pair, mem,
                                ValueRange{fragIndex(rows.orig[k], dt, 0)},
                                false,
                                llvm::MaybeAlign(memElt == f32 ? 8 : 4));
      }
    }
  }

  /// Loads accumulator fragments of rows `rows` from f32 `mem`.
  Frags loadRows(const LaneRows &rows, Value mem) {
    Frags acc;
    for (int64_t dt = 0; dt < d / 8; ++dt) {
      std::array<Value, 4> c;
      for (int e = 0; e < 4; ++e)
        c[e] = load(mem, fragIndex(rows.orig[e / 2], dt, e % 2));
      acc.push_back(c);
    }
    return acc;
  }

  Frags zeros(int64_t tiles) {
    Frags z;
    for (int64_t i = 0; i < tiles; ++i)
      z.push_back({f(0), f(0), f(0), f(0)});
    return z;
  }

  /// Whether (row view index `i` of rows[k] or `col`) passes the excluded
  /// factors (original positions).
  Value passesExcluded(const ga::GpuPart &part, Value iOrig, Value jOrig) {
    Value ok = arith::ConstantIntOp::create(b, loc, 1, 1);
    for (const lay::Factor &e : part.excluded) {
      Value in = attention_loops::emitContains(m, e, iOrig, jOrig);
      ok = m.andi(ok, arith::XOrIOp::create(
                          b, loc, in,
                          arith::ConstantIntOp::create(b, loc, 1, 1)));
    }
    return ok;
  }

  /// Flattens fragments into values for loop-carried state, and back.
  static void flatten(const Frags &f, SmallVectorImpl<Value> &out) {
    for (auto &c : f)
      out.append(c.begin(), c.end());
  }
  static Frags unflatten(ValueRange v, int64_t tiles) {
    Frags f;
    for (int64_t i = 0; i < tiles; ++i)
      f.push_back({v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]});
    return f;
  }

  /// Returns `s` where warp-uniform `inner` holds (a tile inside every
  /// lane row's interval) and `s` after `mask` elsewhere, so interior tiles
  /// skip the per-element tests. With a null `inner`, always masks.
  Frags maskedOrNot(Value inner, Frags s, function_ref<void(Frags &)> mask) {
    if (!inner) {
      mask(s);
      return s;
    }
    SmallVector<Value> flat;
    flatten(s, flat);
    auto ifOp = scf::IfOp::create(b, loc, TypeRange(ValueRange(flat)), inner,
                                  true);
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

  OpBuilder &b;
  Location loc;
  IndexMath m;
  Type elt, f32;
  int64_t d;
  double scale;
  bool useWgmma;
  llvm::StringMap<Value> arg;
  Value n, heads, tid, lane, warp, g, t, t0, bx, rowBase, base;
  Value smem[2];
  Value statMem[2]; // staged lse and delta, when the kernel has them
  int64_t stages = 1;
  int64_t keyTile = kMaxKeyTile; // rows per staged tile
  int64_t dynamicSharedBytes = 0; // the launch's dynamic shared memory
  Value curStage; // the stage the current tile-loop iteration reads
};

//===----------------------------------------------------------------------===//
// The kernels (Kernels.cpp)
//===----------------------------------------------------------------------===//

/// Forward (O and lse) of one group of parts sharing a query view; `first`
/// and `last` say whether it starts or ends the f32 chain through o_acc.
void emitForward(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
                 bool last);
/// delta[row] = sum_d dout . o, over deltaLanesPerRow(elt, d) lanes per
/// row (so N * that many threads).
void emitDelta(KernelEmitter &k);
int64_t deltaLanesPerRow(Type elt, int64_t d);
/// Zeroes the f32 buffers `names` ([B, H, N, D]), four elements per thread.
void emitZero(KernelEmitter &k, ArrayRef<StringRef> names);
/// dQ for one group of parts sharing a query view.
void emitDq(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
            bool last);
/// dK and dV for one group of parts sharing a key view.
void emitDkv(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
             bool last);

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELEMITTER_H
