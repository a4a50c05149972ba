//===- AttentionToGpu.cpp - Block-sparse attention kernels for NVIDIA GPUs ===//
//
// Lowers every `st.attention` of a module to a kernel library: a
// `gpu.module` of tensor-core kernels (forward, and the backward's delta,
// dQ and dK/dV kernels) plus the launch schedule that the runtime follows
// (docs/gpu-kernel-abi.md), recorded as the module attribute
// `st.gpu_manifest`.
//
// The schedule is the pattern's structure, as on the CPU (the same
// disjoint parts and the same PartStructure interval math): each part is
// walked in its view (Views.h), so query and key tiles are dense and no
// empty tile is visited; only the tiles on a part's boundary are masked.
// Sequence length, batch and heads are run-time kernel arguments.
//
// Inside a kernel: a thread block of 4 warps owns 64 view rows (16 per
// warp); each warp keeps its Q fragments in registers and walks 64-key
// tiles with `mma.sync.m16n8k16` (bf16 or f16 operands, f32 accumulators),
// an online softmax in registers (row statistics reduced across the four
// lanes of a row with shuffles) and the FlashAttention-2 register reuse
// of the score accumulators as the A operand of P.V. The backward
// recomputes P from the forward's log-sum-exp: dQ per query tile, dK/dV
// per key tile over the transposed structure (PartStructure's column
// intervals), so no atomics are needed.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"
#include "st/Dialect/StDialect.h"

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
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <cmath>

namespace mlir {
namespace st {
#define GEN_PASS_DEF_CONVERTSTATTENTIONTOGPU
#include "st/Conversion/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;
using attention_loops::IndexMath;
using attention_loops::PartStructure;
namespace lay = ::st::layout;
namespace ga = ::st::gpu_attention;
namespace json = llvm::json;

namespace {

constexpr int64_t kWarps = 4;
constexpr int64_t kWarpRows = 16;
constexpr int64_t kBlockRows = kWarps * kWarpRows;
constexpr int64_t kMaxKeyTile = 64;
constexpr int64_t kThreads = kWarps * 32;
constexpr double kLog2e = 1.4426950408889634;
constexpr double kHugeLse = 1e30;
constexpr int64_t kStaticShared = 48 * 1024;

//===----------------------------------------------------------------------===//
// Manifest expressions (docs/gpu-kernel-abi.md)
//===----------------------------------------------------------------------===//

json::Value ex(int64_t v) { return v; }
json::Value ex(const char *name) { return name; }
json::Value exOp(const char *op, json::Value a, json::Value b) {
  return json::Object{{"op", op}, {"args", json::Array{a, b}}};
}

/// Grid x of a kernel driven by `v`: one block per 64 view rows.
json::Value gridX(const ga::View &v) {
  switch (v.kind) {
  case ga::ViewKind::Identity:
    return exOp("ceildiv", ex("N"), ex(kBlockRows));
  case ga::ViewKind::Residue:
    return exOp("mul", ex(v.stride),
                exOp("ceildiv", exOp("ceildiv", ex("N"), ex(v.stride)),
                     ex(kBlockRows)));
  case ga::ViewKind::Compact:
    return exOp("ceildiv",
                exOp("mul", exOp("ceildiv", ex("N"), ex(v.stride)),
                     ex(v.width)),
                ex(kBlockRows));
  }
  llvm_unreachable("unknown view");
}

/// Grid y of head group `first` of a cycle of `cycle` patterns.
json::Value gridY(int64_t first, int64_t cycle) {
  if (cycle == 1)
    return ex("BH");
  return exOp("mul", ex("B"),
              exOp("ceildiv", exOp("sub", ex("H"), ex(first)), ex(cycle)));
}

json::Value launch(StringRef kernel, json::Value gx, json::Value gy,
                   ArrayRef<StringRef> args) {
  json::Array a;
  for (StringRef s : args)
    a.push_back(s.str());
  return json::Object{{"kernel", kernel.str()},
                      {"grid", json::Array{gx, gy, ex(1)}},
                      {"block", json::Array{ex(kThreads), ex(1), ex(1)}},
                      {"shared_bytes", 0},
                      {"args", std::move(a)}};
}

//===----------------------------------------------------------------------===//
// Kernel emission
//===----------------------------------------------------------------------===//

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
  /// always uses mma.sync.
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
    // tile i) where they fit too.
    SmallVector<Type> shared;
    int64_t eltBytes = elt.getIntOrFloatBitWidth() / 8;
    int64_t pad = useWgmma ? 0 : 16 / eltBytes; // elements per 16 bytes
    int64_t rowBytes = (d + pad) * eltBytes;
    auto fits = [&](int64_t tile, int64_t numStages) {
      int64_t statBytes = rowStats ? 2 * tile * 4 : 0;
      return numStages * (2 * tile * rowBytes + statBytes) <= kStaticShared;
    };
    keyTile = kMaxKeyTile;
    while (!fits(keyTile, 1))
      keyTile /= 2;
    stages = fits(keyTile, 2) ? 2 : 1;
    if (staged) {
      auto ws = gpu::AddressSpaceAttr::get(b.getContext(),
                                           gpu::AddressSpace::Workgroup);
      auto tileType =
          useWgmma ? MemRefType::get({stages, keyTile * d}, elt,
                                     MemRefLayoutAttrInterface(), ws)
                   : MemRefType::get({stages, keyTile, d + pad}, elt,
                                     MemRefLayoutAttrInterface(), ws);
      shared = {tileType, tileType};
      // The staged rows' lse and delta (key-driven kernels).
      if (rowStats) {
        auto statType = MemRefType::get({stages, keyTile}, f32,
                                        MemRefLayoutAttrInterface(), ws);
        shared.append({statType, statType});
      }
    }
    auto func = gpu::GPUFuncOp::create(b, loc, name,
                                       b.getFunctionType(types, {}), shared);
    if (staged) {
      smem[0] = func.getWorkgroupAttributions()[0];
      smem[1] = func.getWorkgroupAttributions()[1];
    }
    if (staged && rowStats) {
      statMem[0] = func.getWorkgroupAttributions()[2];
      statMem[1] = func.getWorkgroupAttributions()[3];
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
    Value w = vector::BitCastOp::create(
        b, loc, VectorType::get({1}, b.getI32Type()), pair);
    return vector::ExtractOp::create(b, loc, w, ArrayRef<int64_t>{0});
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
      if (useWgmma) {
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

  /// scoresShared as warpgroup MMA: the 64 x keyTile scores of the block
  /// (this warp's 16 rows in its registers), X read K-major.
  Frags scoresWgmma(ArrayRef<std::array<Value, 4>> a, Value tile) {
    Value desc0 = ga::matrixDescriptor(b, loc, stageAddress(tile),
                                       ga::kMajorStrides(d));
    SmallVector<std::array<Value, 4>> regs;
    SmallVector<Value> descs;
    for (int64_t ks = 0; ks < d / 16; ++ks) {
      regs.push_back({asI32(a[ks][0]), asI32(a[ks][1]), asI32(a[ks][2]),
                      asI32(a[ks][3])});
      // k16 = two core matrices along K, 128 bytes apart.
      descs.push_back(advance(desc0, ks * 256));
    }
    SmallVector<Value> acc(keyTile / 2, f(0));
    return unflatten(
        ga::warpgroupMma(b, loc, acc, regs, descs, isBf16(), false),
        keyTile / 8);
  }

  /// accumulateShared as warpgroup MMA: P (the score accumulators, packed
  /// to the A layout) times X read MN-major.
  void accumulateWgmma(Frags &acc, const Frags &p, Value tile) {
    Value desc0 = ga::matrixDescriptor(b, loc, stageAddress(tile),
                                       ga::mnMajorStrides(d));
    SmallVector<std::array<Value, 4>> regs;
    SmallVector<Value> descs;
    for (int64_t kk = 0; kk < keyTile / 16; ++kk) {
      regs.push_back({asI32(packF32(p[2 * kk][0], p[2 * kk][1])),
                      asI32(packF32(p[2 * kk][2], p[2 * kk][3])),
                      asI32(packF32(p[2 * kk + 1][0], p[2 * kk + 1][1])),
                      asI32(packF32(p[2 * kk + 1][2], p[2 * kk + 1][3]))});
      // k16 = two 8-row groups of d / 8 core matrices each.
      descs.push_back(advance(desc0, kk * 2 * d * 16));
    }
    SmallVector<Value> flat;
    flatten(acc, flat);
    acc = unflatten(ga::warpgroupMma(b, loc, flat, regs, descs, isBf16(),
                                     /*transB=*/true),
                    d / 8);
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
  Value curStage; // the stage the current tile-loop iteration reads
};

/// The rows a block of a kernel driven by view `v` owns: the residue class
/// `c` (strided views), the view's length, the block's first row, the
/// warp's first row and the lane's two rows. Positions the builder inside a
/// block-uniform guard (the block has rows), so that every warp of a live
/// block takes part in the shared-memory staging.
struct BlockRows {
  Value c, len, row0, r0;
  LaneRows lanes;
};

BlockRows blockRows(KernelEmitter &k, const ga::View &v) {
  IndexMath &m = k.m;
  BlockRows br;
  auto [c, tile] = k.tileOf(v);
  br.c = c;
  br.len = k.viewLength(v, c);
  br.row0 = m.mul(tile, m.c(kBlockRows));
  br.r0 = m.add(br.row0, m.mul(k.warp, m.c(kWarpRows)));
  auto live = scf::IfOp::create(
      k.b, k.loc, m.cmp(arith::CmpIPredicate::slt, br.row0, br.len), false);
  k.b.setInsertionPointToStart(&live.getThenRegion().front());
  br.lanes = k.laneRows(v, c, br.r0, br.len);
  return br;
}

/// The structure of one part over a view of length `len`.
PartStructure structureOf(IndexMath &m, const ga::GpuPart &p, Value len) {
  return PartStructure(m, p.viewFactor, {}, p.compact, len);
}

/// The keys one query-driven kernel walks for `part`: the block's range,
/// the warp's range (empty for a warp past the view), each lane row's
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

KeyRange keyRange(KernelEmitter &k, const ga::GpuPart &part, Value c,
                  Value row0, Value r0, Value qlen, const LaneRows &rows) {
  IndexMath &m = k.m;
  KeyRange kr;
  kr.klen = k.viewLength(part.keyView, c);
  PartStructure ps = structureOf(m, part, kr.klen);
  Value lastQ = m.sub(qlen, m.c(1));
  auto hiOf = [&](Value row, int64_t span) {
    return m.min(
        ps.rowInterval(m.min(m.add(row, m.c(span - 1)), lastQ)).second,
        kr.klen);
  };
  kr.lo = ps.rowInterval(row0).first;
  kr.hi = hiOf(row0, kBlockRows);
  kr.wlo = ps.rowInterval(m.min(r0, lastQ)).first;
  kr.whi = k.select(m.cmp(arith::CmpIPredicate::slt, r0, qlen),
                    hiOf(r0, kWarpRows), kr.wlo);
  for (int r = 0; r < 2; ++r)
    kr.rowIv[r] = ps.rowInterval(rows.view[r]);
  kr.lastKey = m.max(m.sub(kr.klen, m.c(1)), m.c(0));
  if (part.excluded.empty()) {
    Value rLast = m.add(r0, m.c(kWarpRows - 1));
    Value full = m.cmp(arith::CmpIPredicate::slt, rLast, qlen);
    kr.innerLo = ps.rowInterval(m.min(rLast, lastQ)).first;
    // A warp with rows past the view is never unmasked.
    kr.innerHi = k.select(
        full, m.min(ps.rowInterval(m.min(r0, lastQ)).second, kr.klen),
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
/// the constant nt * 8 + e % 2 against them.
struct TileMask {
  Value lo[2], hi[2], colBase;
};

TileMask tileMask(KernelEmitter &k, const KeyRange &kr, Value kt) {
  IndexMath &m = k.m;
  TileMask tm;
  tm.colBase = m.add(kt, m.mul(k.t, m.c(2)));
  for (int r = 0; r < 2; ++r) {
    tm.lo[r] = m.sub(kr.rowIv[r].first, tm.colBase);
    tm.hi[r] = m.sub(m.min(kr.rowIv[r].second, kr.klen), tm.colBase);
  }
  return tm;
}

Value keyAllowed(KernelEmitter &k, const ga::GpuPart &part,
                 const KeyRange &kr, const TileMask &tm, Value c,
                 const LaneRows &rows, int r, int64_t nt, int e) {
  IndexMath &m = k.m;
  Value col = m.c(nt * 8 + e % 2);
  Value ok = m.andi(m.cmp(arith::CmpIPredicate::sge, col, tm.lo[r]),
                    m.cmp(arith::CmpIPredicate::slt, col, tm.hi[r]));
  if (part.excluded.empty())
    return ok;
  Value j = m.add(tm.colBase, col);
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

//===----------------------------------------------------------------------===//
// Forward kernel: one group of parts sharing a query view
//===----------------------------------------------------------------------===//

void emitForward(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
                 bool last) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  const ga::View &qv = parts.front().queryView;
  BlockRows br = blockRows(k, qv);
  Value c = br.c, qlen = br.len, row0 = br.row0, r0 = br.r0;
  LaneRows rows = br.lanes;
  auto qf = k.rowFragments(k.arg["q"], rows);
  int64_t dTiles = k.d / 8;

  // State: m (log2 units) and lane-partial l for both rows, then acc.
  SmallVector<Value> state;
  if (first) {
    state = {k.negInf(), k.negInf(), k.f(0), k.f(0)};
    KernelEmitter::flatten(k.zeros(dTiles), state);
  } else {
    Value mm[2], ll[2];
    for (int r = 0; r < 2; ++r) {
      Value lse = k.load(k.arg["lse"], m.add(k.rowBase, rows.orig[r]));
      mm[r] = k.fmul(lse, k.f(kLog2e));
      Value has = m.andi(k.t0, arith::CmpFOp::create(
                                   b, loc, arith::CmpFPredicate::OGT, lse,
                                   k.negInf()));
      ll[r] = k.select(has, k.f(1), k.f(0));
    }
    state = {mm[0], mm[1], ll[0], ll[1]};
    KernelEmitter::flatten(k.loadRows(rows, k.arg["o_acc"]), state);
  }

  Value scale2 = k.f(k.scale * kLog2e);
  for (const ga::GpuPart &part : parts) {
    KeyRange kr = keyRange(k, part, c, row0, r0, qlen, rows);
    Value lastKey = kr.lastKey;
    state = k.tileLoop(
        kr.lo, kr.hi, kr.wlo, kr.whi, part.keyView, c, lastKey, k.arg["k"],
        k.arg["v"],
        state, [&](Value kt, ValueRange st) -> SmallVector<Value> {
          Value mOld[2] = {st[0], st[1]}, lOld[2] = {st[2], st[3]};
          Frags acc = KernelEmitter::unflatten(st.drop_front(4), dTiles);
          // Scores against the 64 keys of this tile, masked to the rows'
          // intervals (and exclusions) unless the tile is interior; scaled;
          // row max.
          Frags s = k.scoresShared(qf, k.smem[0]);
          s = maskQueryTile(k, part, kr, c, rows, kt, s);
          Value mx[2] = {k.negInf(), k.negInf()};
          for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
            for (int e = 0; e < 4; ++e) {
              s[nt][e] = k.fmul(s[nt][e], scale2);
              mx[e / 2] =
                  arith::MaximumFOp::create(b, loc, mx[e / 2], s[nt][e]);
            }
          Value mNew[2], alpha[2], lNew[2];
          for (int r = 0; r < 2; ++r) {
            mNew[r] = arith::MaximumFOp::create(b, loc, mOld[r],
                                                k.rowReduce(mx[r], true));
            Value safe = k.select(k.isNegInf(mNew[r]), k.f(0), mNew[r]);
            alpha[r] = k.exp2(k.fsub(mOld[r], safe));
            lNew[r] = k.fmul(lOld[r], alpha[r]);
            for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
              for (int e = 2 * r; e < 2 * r + 2; ++e) {
                s[nt][e] = k.exp2(k.fsub(s[nt][e], safe));
                lNew[r] = k.fadd(lNew[r], s[nt][e]);
              }
          }
          for (auto &a : acc)
            for (int e = 0; e < 4; ++e)
              a[e] = k.fmul(a[e], alpha[e / 2]);
          // acc += P . V
          k.accumulateShared(acc, s, k.smem[1]);
          SmallVector<Value> next = {mNew[0], mNew[1], lNew[0], lNew[1]};
          KernelEmitter::flatten(acc, next);
          return next;
        });
  }

  // Epilogue: normalise, write the output (or the f32 chain) and lse.
  Frags acc = KernelEmitter::unflatten(ValueRange(state).drop_front(4), dTiles);
  Value inv[2];
  for (int r = 0; r < 2; ++r) {
    Value l = k.rowReduce(state[2 + r], false);
    Value has = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, l,
                                      k.f(0));
    inv[r] = k.select(has, arith::DivFOp::create(b, loc, k.f(1), l), k.f(0));
    Value lse = k.fmul(k.fadd(state[r], math::Log2Op::create(b, loc, l)),
                       k.f(1.0 / kLog2e));
    lse = k.select(has, lse, k.negInf());
    auto ifOp = scf::IfOp::create(b, loc, m.andi(k.t0, rows.valid[r]), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    memref::StoreOp::create(b, loc, lse, k.arg["lse"],
                            ValueRange{m.add(k.rowBase, rows.orig[r])});
  }
  k.storeRows(acc, rows, inv, last ? k.arg["o"] : k.arg["o_acc"]);
}

//===----------------------------------------------------------------------===//
// Backward kernels
//===----------------------------------------------------------------------===//

/// delta[row] = sum_d dout . o, one thread per row.
void emitDelta(KernelEmitter &k) {
  OpBuilder &b = k.b;
  IndexMath &m = k.m;
  Value tid = gpu::ThreadIdOp::create(b, k.loc, gpu::Dimension::x);
  Value i = m.add(m.mul(k.bx, m.c(kThreads)), tid);
  auto live = scf::IfOp::create(
      b, k.loc, m.cmp(arith::CmpIPredicate::slt, i, k.n), false);
  b.setInsertionPointToStart(&live.getThenRegion().front());
  Value off = m.add(k.base, m.mul(i, m.c(k.d)));
  Value sum = k.f(0);
  for (int64_t x = 0; x < k.d; ++x) {
    Value idx = m.add(off, m.c(x));
    sum = k.fadd(sum, k.fmul(k.loadF32(k.arg["o"], idx),
                             k.loadF32(k.arg["dout"], idx)));
  }
  memref::StoreOp::create(b, k.loc, sum, k.arg["delta"],
                          ValueRange{m.add(k.rowBase, i)});
}

/// Zeroes the f32 buffers `names` ([B, H, N, D]), one element per thread.
void emitZero(KernelEmitter &k, ArrayRef<StringRef> names) {
  OpBuilder &b = k.b;
  IndexMath &m = k.m;
  Value tid = gpu::ThreadIdOp::create(b, k.loc, gpu::Dimension::x);
  Value x = m.add(m.mul(k.bx, m.c(kThreads)), tid);
  auto live = scf::IfOp::create(
      b, k.loc, m.cmp(arith::CmpIPredicate::slt, x, m.mul(k.n, m.c(k.d))),
      false);
  b.setInsertionPointToStart(&live.getThenRegion().front());
  for (StringRef name : names)
    memref::StoreOp::create(b, k.loc, k.f(0), k.arg[name],
                            ValueRange{m.add(k.base, x)});
}

/// dQ for one group of parts sharing a query view.
void emitDq(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
            bool last) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  const ga::View &qv = parts.front().queryView;
  BlockRows br = blockRows(k, qv);
  Value c = br.c, qlen = br.len, row0 = br.row0, r0 = br.r0;
  LaneRows rows = br.lanes;
  auto qf = k.rowFragments(k.arg["q"], rows);
  auto dof = k.rowFragments(k.arg["dout"], rows);
  Value lse2[2], delta[2];
  for (int r = 0; r < 2; ++r) {
    Value idx = m.add(k.rowBase, rows.orig[r]);
    // Finite even for a row without keys, so that masked scores (-inf)
    // give p = 0, never NaN.
    lse2[r] = arith::MaximumFOp::create(
        b, loc, k.fmul(k.load(k.arg["lse"], idx), k.f(kLog2e)),
        k.f(-kHugeLse));
    delta[r] = k.load(k.arg["delta"], idx);
  }
  int64_t dTiles = k.d / 8;
  SmallVector<Value> state;
  KernelEmitter::flatten(first ? k.zeros(dTiles)
                               : k.loadRows(rows, k.arg["dq_acc"]),
                         state);
  Value scale2 = k.f(k.scale * kLog2e);
  for (const ga::GpuPart &part : parts) {
    KeyRange kr = keyRange(k, part, c, row0, r0, qlen, rows);
    Value lastKey = kr.lastKey;
    state = k.tileLoop(
        kr.lo, kr.hi, kr.wlo, kr.whi, part.keyView, c, lastKey, k.arg["k"],
        k.arg["v"],
        state, [&](Value kt, ValueRange st) -> SmallVector<Value> {
          Frags acc = KernelEmitter::unflatten(st, dTiles);
          Frags s = k.scoresShared(qf, k.smem[0]);
          Frags dp = k.scoresShared(dof, k.smem[1]);
          s = maskQueryTile(k, part, kr, c, rows, kt, s);
          for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
            for (int e = 0; e < 4; ++e) {
              int r = e / 2;
              Value p = k.exp2(k.fsub(k.fmul(s[nt][e], scale2), lse2[r]));
              s[nt][e] = k.fmul(p, k.fsub(dp[nt][e], delta[r]));
            }
          k.accumulateShared(acc, s, k.smem[0]);
          SmallVector<Value> next;
          KernelEmitter::flatten(acc, next);
          return next;
        });
  }
  Frags acc = KernelEmitter::unflatten(state, dTiles);
  Value factor[2] = {k.f(k.scale), k.f(k.scale)};
  Value one[2] = {k.f(1), k.f(1)};
  k.storeRows(acc, rows, last ? factor : one,
              last ? k.arg["dq"] : k.arg["dq_acc"]);
  (void)b;
}

/// dK and dV for one group of parts sharing a key view: each warp owns 16
/// keys and walks the query rows that attend them.
void emitDkv(KernelEmitter &k, ArrayRef<ga::GpuPart> parts, bool first,
             bool last) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  IndexMath &m = k.m;
  const ga::View &kv = parts.front().keyView;
  BlockRows br = blockRows(k, kv);
  Value c = br.c, klen = br.len, row0 = br.row0, r0 = br.r0;
  LaneRows keys = br.lanes;
  auto kf = k.rowFragments(k.arg["k"], keys);
  auto vf = k.rowFragments(k.arg["v"], keys);
  int64_t dTiles = k.d / 8;
  SmallVector<Value> state;
  if (first) {
    KernelEmitter::flatten(k.zeros(dTiles), state);
    KernelEmitter::flatten(k.zeros(dTiles), state);
  } else {
    KernelEmitter::flatten(k.loadRows(keys, k.arg["dk_acc"]), state);
    KernelEmitter::flatten(k.loadRows(keys, k.arg["dv_acc"]), state);
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
      Value kLast = m.add(r0, m.c(kWarpRows - 1));
      innerLo = ps.columnInterval(m.min(kLast, lastK)).first;
      innerHi = k.select(
          m.cmp(arith::CmpIPredicate::slt, kLast, klen),
          m.min(ps.columnInterval(m.min(r0, lastK)).second, qlen), m.c(-1));
    }
    state = k.tileLoop(
        lo, hi, wlo, whi, qv, c, lastRow, k.arg["q"], k.arg["dout"], state,
        [&](Value qt, ValueRange st) -> SmallVector<Value> {
          Frags dk = KernelEmitter::unflatten(st, dTiles);
          Frags dv = KernelEmitter::unflatten(st.drop_front(4 * dTiles),
                                              dTiles);
          Frags s = k.scoresShared(kf, k.smem[0]);
          Frags dp = k.scoresShared(vf, k.smem[1]);
          // The lane's query rows qt + 2t + {0, 1} + 8 nt (clamped).
          Value rowBase = m.add(qt, m.mul(k.t, m.c(2)));
          auto rowOrig = [&](int64_t nt, int e) {
            Value i = m.add(rowBase, m.c(nt * 8 + e % 2));
            return k.toOriginal(qv, c, m.min(i, lastRow));
          };
          s = k.maskedOrNot(
              tileInside(k, qt, innerLo, innerHi), s, [&](Frags &x) {
                Value lo[2], hi[2];
                for (int r = 0; r < 2; ++r) {
                  lo[r] = m.sub(colIv[r].first, rowBase);
                  hi[r] = k.select(keys.valid[r],
                                   m.sub(colIv[r].second, rowBase), m.c(-1));
                }
                for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
                  for (int e = 0; e < 4; ++e) {
                    int r = e / 2;
                    Value col = m.c(nt * 8 + e % 2);
                    Value ok =
                        m.andi(m.cmp(arith::CmpIPredicate::sge, col, lo[r]),
                               m.cmp(arith::CmpIPredicate::slt, col, hi[r]));
                    if (!part.excluded.empty())
                      ok = m.andi(ok, k.passesExcluded(part, rowOrig(nt, e),
                                                       keys.orig[r]));
                    x[nt][e] = k.select(ok, x[nt][e], k.negInf());
                  }
              });
          Frags p = s;
          for (int64_t nt = 0; nt < k.keyTile / 8; ++nt)
            for (int e = 0; e < 4; ++e) {
              Value r = m.add(m.mul(k.t, m.c(2)), m.c(nt * 8 + e % 2));
              // Finite even for a row without keys (masked p = 0, not NaN).
              Value lse2 = arith::MaximumFOp::create(
                  b, loc, k.fmul(k.rowStat(0, r), k.f(kLog2e)),
                  k.f(-kHugeLse));
              Value delta = k.rowStat(1, r);
              Value pe = k.exp2(k.fsub(k.fmul(s[nt][e], scale2), lse2));
              p[nt][e] = pe;
              s[nt][e] = k.fmul(pe, k.fsub(dp[nt][e], delta));
            }
          k.accumulateShared(dv, p, k.smem[1]);
          k.accumulateShared(dk, s, k.smem[0]);
          SmallVector<Value> next;
          KernelEmitter::flatten(dk, next);
          KernelEmitter::flatten(dv, next);
          return next;
        });
  }
  Frags dk = KernelEmitter::unflatten(state, dTiles);
  Frags dv = KernelEmitter::unflatten(ValueRange(state).drop_front(4 * dTiles),
                                      dTiles);
  Value factor[2] = {k.f(k.scale), k.f(k.scale)};
  Value one[2] = {k.f(1), k.f(1)};
  k.storeRows(dk, keys, last ? factor : one,
              last ? k.arg["dk"] : k.arg["dk_acc"]);
  k.storeRows(dv, keys, one, last ? k.arg["dv"] : k.arg["dv_acc"]);
  (void)b;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

std::string typeName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  return "f32";
}

struct ConvertStAttentionToGpuPass
    : public mlir::st::impl::ConvertStAttentionToGpuBase<
          ConvertStAttentionToGpuPass> {
  using Base::Base;

  LogicalResult lower(AttentionOp op, StringRef name, json::Array &entries) {
    auto type = op.getQuery().getType();
    Type elt = type.getElementType();
    int64_t d = type.getDimSize(3);
    if (!elt.isBF16() && !elt.isF16() && !elt.isF32())
      return op.emitOpError()
             << "GPU kernels take bf16, f16 or f32 inputs (got " << elt << ")";
    if (ShapedType::isDynamic(d) || d % 32 != 0 || d > 256)
      return op.emitOpError() << "GPU kernels need a static head dimension "
                                 "that is a multiple of 32, at most 256";
    auto layoutAttr = op.getLayout();
    lay::Layout layout = layoutAttr.getLayout();
    double scale = op.getScaleValue();

    OpBuilder b(op->getParentOfType<ModuleOp>().getBodyRegion());
    b.setInsertionPointToEnd(op->getParentOfType<ModuleOp>().getBody());
    Location loc = op.getLoc();
    auto module = gpu::GPUModuleOp::create(b, loc, name);
    Type f32 = b.getF32Type();

    json::Array forward, backward, scratch;
    bool needOacc = false, needDqAcc = false, needDkvAcc = false,
         needZero = false;
    int64_t cycle = layout.getCycleLength();
    int64_t counter = 0;
    auto kernelName = [&](StringRef what) {
      return (name + "_" + what + std::to_string(counter++)).str();
    };

    // The delta kernel runs once for all heads.
    {
      KernelEmitter k(b, loc, elt, d, scale, wgmma);
      std::string kn = (name + "_delta").str();
      k.begin(module, kn, {{"o", elt}, {"dout", elt}, {"delta", f32}});
      k.headMapping(0, 1);
      emitDelta(k);
      backward.push_back(launch(kn, exOp("ceildiv", ex("N"), ex(kThreads)),
                                ex("BH"), {"o", "dout", "delta", "N", "H"}));
    }
    json::Array zeroLaunches;
    for (int64_t h = 0; h < cycle; ++h) {
      std::vector<ga::GpuPart> parts = ga::gpuParts(layout.forHead(h));
      if (parts.empty())
        return op.emitOpError() << "head " << h << " attends nothing";
      // Emits one staged kernel of head group h over `bufs` (then N, H),
      // driven by `view`, and appends its launch to `list`.
      auto addKernel = [&](StringRef kind,
                           ArrayRef<std::pair<StringRef, Type>> bufs,
                           bool rowStats, const ga::View &view,
                           json::Array &list,
                           function_ref<void(KernelEmitter &)> emit) {
        KernelEmitter k(b, loc, elt, d, scale, wgmma);
        std::string kn = kernelName(kind);
        k.begin(module, kn, bufs, /*staged=*/true, rowStats);
        k.headMapping(h, cycle);
        emit(k);
        SmallVector<StringRef> args;
        for (auto &bf : bufs)
          args.push_back(bf.first);
        args.append({"N", "H"});
        list.push_back(launch(kn, gridX(view), gridY(h, cycle), args));
      };
      // Forward.
      auto fwd = ga::groupParts(parts, /*byKeyView=*/false);
      for (auto entry : llvm::enumerate(fwd)) {
        size_t i = entry.index();
        const auto &group = entry.value();
        bool first = i == 0, last = i + 1 == fwd.size();
        needOacc |= !last || !first;
        SmallVector<std::pair<StringRef, Type>> bufs = {
            {"q", elt}, {"k", elt}, {"v", elt}, {"o", elt}, {"lse", f32}};
        if (fwd.size() > 1)
          bufs.push_back({"o_acc", f32});
        addKernel("fwd", bufs, /*rowStats=*/false, group.front().queryView,
                  forward, [&](KernelEmitter &k) {
                    emitForward(k, group, first, last);
                  });
      }
      // dQ.
      for (auto entry : llvm::enumerate(fwd)) {
        size_t i = entry.index();
        const auto &group = entry.value();
        bool first = i == 0, last = i + 1 == fwd.size();
        needDqAcc |= fwd.size() > 1;
        SmallVector<std::pair<StringRef, Type>> bufs = {
            {"q", elt},   {"k", elt},     {"v", elt},  {"dout", elt},
            {"lse", f32}, {"delta", f32}, {"dq", elt}};
        if (fwd.size() > 1)
          bufs.push_back({"dq_acc", f32});
        addKernel("dq", bufs, /*rowStats=*/false, group.front().queryView,
                  backward, [&](KernelEmitter &k) {
                    emitDq(k, group, first, last);
                  });
      }
      // dK, dV: a compact group first needs zeroed scratch.
      auto bwd = ga::groupParts(parts, /*byKeyView=*/true);
      bool zeroFirst = !bwd.front().front().keyView.coversAll();
      needZero |= zeroFirst;
      for (auto entry : llvm::enumerate(bwd)) {
        size_t i = entry.index();
        const auto &group = entry.value();
        bool first = i == 0 && !zeroFirst, last = i + 1 == bwd.size();
        bool chained = bwd.size() > 1 || zeroFirst;
        needDkvAcc |= chained;
        SmallVector<std::pair<StringRef, Type>> bufs = {
            {"q", elt},   {"k", elt},     {"v", elt},  {"dout", elt},
            {"lse", f32}, {"delta", f32}, {"dk", elt}, {"dv", elt}};
        if (chained) {
          bufs.push_back({"dk_acc", f32});
          bufs.push_back({"dv_acc", f32});
        }
        addKernel("dkv", bufs, /*rowStats=*/true, group.front().keyView,
                  backward, [&](KernelEmitter &k) {
                    emitDkv(k, group, first, last);
                  });
      }
    }
    if (needZero) {
      KernelEmitter k(b, loc, elt, d, scale, wgmma);
      std::string kn = (name + "_zero").str();
      k.begin(module, kn, {{"dk_acc", f32}, {"dv_acc", f32}});
      k.headMapping(0, 1);
      emitZero(k, {"dk_acc", "dv_acc"});
      // After delta, before any dK/dV kernel: right after the delta launch.
      backward.insert(backward.begin() + 1,
                      launch(kn,
                             exOp("ceildiv", exOp("mul", ex("N"), ex(d)),
                                  ex(kThreads)),
                             ex("BH"), {"dk_acc", "dv_acc", "N", "H"}));
    }
    json::Value rowsF32 =
        exOp("mul", exOp("mul", ex("BH"), ex("N")), ex(4));
    json::Value tensorF32 = exOp("mul", rowsF32, ex(d));
    scratch.push_back(json::Object{{"name", "delta"}, {"bytes", rowsF32}});
    if (needOacc)
      scratch.push_back(json::Object{{"name", "o_acc"}, {"bytes", tensorF32}});
    if (needDqAcc)
      scratch.push_back(
          json::Object{{"name", "dq_acc"}, {"bytes", tensorF32}});
    if (needDkvAcc) {
      scratch.push_back(
          json::Object{{"name", "dk_acc"}, {"bytes", tensorF32}});
      scratch.push_back(
          json::Object{{"name", "dv_acc"}, {"bytes", tensorF32}});
    }
    std::string layoutStr;
    llvm::raw_string_ostream os(layoutStr);
    os << Attribute(layoutAttr);
    entries.push_back(json::Object{{"layout", layoutStr},
                                   {"head_dim", d},
                                   {"dtype", typeName(elt)},
                                   {"module", name.str()},
                                   {"scratch", std::move(scratch)},
                                   {"forward", std::move(forward)},
                                   {"backward", std::move(backward)}});
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<AttentionOp> ops;
    module.walk([&](AttentionOp op) { ops.push_back(op); });
    json::Array entries;
    llvm::StringMap<int64_t> perFunction;
    for (AttentionOp op : ops)
      if (auto func = op->getParentOfType<FunctionOpInterface>())
        ++perFunction[func.getName()];
    llvm::StringMap<int64_t> seen;
    for (auto [i, op] : llvm::enumerate(ops)) {
      std::string name = prefix + std::to_string(i);
      if (auto func = op->getParentOfType<FunctionOpInterface>()) {
        name = (prefix + func.getName()).str();
        int64_t index = seen[func.getName()]++;
        if (perFunction[func.getName()] > 1)
          name += "_" + std::to_string(index);
      }
      if (failed(lower(op, name, entries)))
        return signalPassFailure();
    }
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    std::string text;
    llvm::raw_string_ostream os(text);
    os << json::Value(std::move(entries));
    module->setAttr("st.gpu_manifest", StringAttr::get(&getContext(), text));
  }
};

} // namespace
