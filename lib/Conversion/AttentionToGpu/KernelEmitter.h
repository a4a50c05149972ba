//===- KernelEmitter.h - Building blocks of the attention kernels -*- C++
//-*-===//
//
// KernelEmitter builds the pieces every attention kernel is made of: the
// kernel function and its shared-memory tiles, the block's rows in a view
// (Views.h), fragments in registers, the tensor-core products (mma.sync, or
// warpgroup MMA through Wgmma.h), shared-memory staging with asynchronous
// copies and the double-buffered tile loop, masks and the online-softmax
// arithmetic, over the scalar and fragment arithmetic of its base
// FragmentArith (FragmentArith.h). The larger members are defined in
// KernelEmitter.cpp (the kernel frame, staging), TileWalks.cpp (the tile
// loops), RowIO.cpp (fragment rows to and from global memory) and
// TensorCores.cpp (the products). The kernels
// themselves (Kernels.h) are in ForwardKernel.cpp, BackwardKernels.cpp (dQ
// with delta, dK/dV) and SpanOrder.cpp, over the rows and key ranges of
// Walks.h; the pass that chooses and schedules them is Schedule.h.
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELEMITTER_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELEMITTER_H

#include "../AttentionToLoops/PartStructure.h"
#include "FragmentArith.h"
#include "KernelTypes.h"
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
#include "llvm/ADT/StringSwitch.h"

#include <cmath>
#include <optional>

namespace mlir {
namespace st {
namespace gpu_kernels {

using attention_loops::IndexMath;
using attention_loops::PartStructure;
namespace lay = ::st::layout;
namespace ga = ::st::gpu_attention;

class KernelEmitter : public FragmentArith {
public:
  /// `wgmma`: 16-bit products as warpgroup MMA (Wgmma.h); f32 (tf32)
  /// always uses mma.sync (tf32 wgmma has no MN-major B).
  KernelEmitter(OpBuilder &b, Location loc, Type elt, int64_t d, double scale,
                bool wgmma = false)
      : FragmentArith(b, loc, elt), d(d), scale(scale),
        useWgmma(takesWgmma(elt, wgmma)) {}

  /// Whether kernels of element type `elt` at a head dim listed for
  /// warpgroup MMA (`wgmma`) take it: bf16 and f16 do, f32 (tf32) keeps
  /// mma.sync.
  static bool takesWgmma(Type elt, bool wgmma) { return wgmma && !elt.isF32(); }

  /// Shared memory of a staged kernel's tiles, of rows of `rowBytes`:
  /// `stages` tiles of A of `tile` rows (with the rows' lse2 and delta
  /// where `rowStats`), `stagesB` of B, `rowOperands` block-row operands a
  /// warpgroup, and the ticket slot. begin() sizes the tiles by it; a
  /// wgmma kernel adds bandCarryBytes and 1024 bytes for alignment (and a
  /// producer's stage barriers).
  static int64_t stagedBytes(int64_t rowBytes, int64_t tile, int64_t stages,
                             int64_t stagesB, bool rowStats,
                             int64_t rowOperands, int64_t warpgroups,
                             bool ticketSlot);
  /// The fused band backward's dS tile and `slots` dQ carries
  /// (bandCarrySlots), in f32 or, with `half`, in f16 with their row
  /// scales (bandCarryHalf).
  static int64_t bandCarryBytes(int64_t d, Type elt, int64_t slots, bool half);

  /// Creates `name` in `module` with the buffer arguments `bufs` (element
  /// types) and i64 `N`, `H`; positions the builder in its body.
  /// `rowOperands` is the number of block-row operands (RowOperand) that
  /// the kernel stages for wgmma; `wgmmaKeyTile` the rows of a staged
  /// wgmma tile (64 or 128: the N of the score products and the K of the
  /// updates), halved while the tiles do not fit kWgmmaShared.
  gpu::GPUFuncOp begin(gpu::GPUModuleOp module, StringRef name,
                       ArrayRef<std::pair<StringRef, Type>> bufs,
                       bool staged = false, bool rowStats = false,
                       int64_t rowOperands = 0, int64_t wgmmaKeyTile = 64);

  /// Computes the (batch, head) of this block for head group `first` of a
  /// cycle of `cycle` patterns, and the base offsets. With `reversed` the
  /// blocks take the (batch, head) pairs last first (blockIdx.y counted
  /// from the end): blocks start in blockIdx order, so a kernel that
  /// follows one in the other order starts on the heads whose rows that
  /// one touched last, still in L2 (Schedule.cpp, "serpentine").
  void headMapping(int64_t first, int64_t cycle, bool reversed = false);
  /// Renumbers the blocks of the launch (tiles x head rows, gridDim.x by
  /// gridDim.y) so that they take their (tile, head row) pairs tile-major
  /// within groups of G head rows instead of head row after head row:
  /// G = ceil(R / gridDim.x), where R = %nsmid x `blocksPerSm` is about
  /// the blocks that run at once. Blocks start in blockIdx order, and
  /// each head's tiles come longest walk first (tileOf's `reversed` for
  /// query-driven causal walks; the key-driven summaries' first tiles are
  /// the longest), so head after head the launch ends with the last
  /// heads' long walks, started late: a tail with SMs idle (list
  /// scheduling of fixed's summary dK/dV at n = 4096, B x H = 128, 16
  /// tiles a head, 264 blocks at once: 1.156 of the work's even share,
  /// against 1.031 tile-major in groups of 16 heads). With gridDim.x >=
  /// R (long sequences) G = 1, the order of headMapping alone. Measured
  /// 1-7% slower at n <= 16384 on an H100 (docs/performance.md, session
  /// 17; likely because the blocks that run together span G heads' rows
  /// instead of one head's, and the renumbered indices take registers),
  /// so it is off. Call after begin(), before headMapping().
  void groupHeads(int64_t blocksPerSm);
  /// Sets the block's (batch, head) pair to `bh` (batch * H + head) and
  /// the base offsets from it (headMapping, or a ticket: SpanOrder.cpp).
  void setHead(Value bh);

  /// Decomposes blockIdx.x for driving view `v` into (residue, tile).
  /// Blocks start in blockIdx order. The tiles of one residue are
  /// adjacent, so the blocks that run together share that residue's key
  /// tiles in L2 (taking the residue fastest instead, for contiguous rows
  /// across residues, made the strided column kernels 5-17% slower on the
  /// H100: docs/performance.md, session 6; groups of 16 or 32 classes
  /// with the class fastest inside a group, for 2-4 KiB runs of rows while
  /// a group's key tiles stay in L2, were no faster and the column dK/dV
  /// 4-7% slower: session 7). With `reversed` (query-driven
  /// causal walks, longer for later rows) the last tiles start first, so
  /// that short walks fill the tail (fixed's forward and dQ: 3%).
  std::pair<Value, Value> tileOf(const ga::View &v, bool reversed);
  /// When set, tileOf returns this (residue, tile) instead of decomposing
  /// blockIdx.x: a kernel that names its tiles by ticket (SpanOrder.cpp).
  std::optional<std::pair<Value, Value>> tileOverride;

  Value viewLength(const ga::View &v, Value c);

  /// Whether original position `pos` is some index of view `v` (for
  /// Residue, of some class).
  Value inView(const ga::View &v, Value pos) {
    if (v.coversAll())
      return arith::ConstantIntOp::create(b, loc, 1, 1);
    Value r = m.rem(pos, m.c(v.stride));
    return m.andi(m.cmp(arith::CmpIPredicate::sge, r, m.c(v.lo)),
                  m.cmp(arith::CmpIPredicate::slt, r, m.c(v.lo + v.width)));
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

  /// c += a * b for one m16n8k16 tile (m16n8k8 for tf32).
  std::array<Value, 4> mma(ArrayRef<Value> a, ArrayRef<Value> bv,
                           const std::array<Value, 4> &c);

  /// The A fragments (row-major 16 x D) of rows `rows` of [.., N, D]
  /// tensor `mem`: per 16-column step, {(g, 2t), (g+8, 2t), (g, 2t+8),
  /// (g+8, 2t+8)} pairs.
  SmallVector<std::array<Value, 4>> rowFragments(Value mem,
                                                 const LaneRows &rows);

  /// The block's rows of the [.., N, D] tensors `names` as score-product
  /// operands: fragments of the lane rows `rows` (mma.sync), or (wgmma) the
  /// 64 rows of view `v` from `row0` (clamped to `len` - 1) being copied
  /// into the row-operand tiles: committed as one group, not waited for.
  /// The first tile loop's first wait completes them (groups complete in
  /// order) together with its first tile, so their memory latencies
  /// overlap instead of adding up: a block of the strided layout walks only
  /// three or four tiles, and its start was two round trips to memory.
  SmallVector<RowOperand> rowOperands(ArrayRef<StringRef> names,
                                      const LaneRows &rows, const ga::View &v,
                                      Value c, Value row0, Value len);

  /// The end of the kernel's prologue under programmatic dependent launch
  /// (`dependentLaunch`; docs/gpu-kernel-abi.md, "early_launch"): waits
  /// until the previous kernel on the stream has completed and its memory
  /// is visible (griddepcontrol.wait). Before it a kernel may only read
  /// the pass's inputs (Q, K, V, dO: rowOperands) and must not write:
  /// anything else may belong to a kernel still running. The runtime
  /// launches early only after a kernel of the same pass, which itself
  /// started after the inputs were complete. Without the launch attribute
  /// it returns at once.
  void awaitPredecessors();
  /// The span-ordered kernels' column tiles (SpanOrder.cpp): when
  /// `chainFlag` (the generic address of an i32 counter) is set,
  /// awaitPredecessors also waits until the counter reaches
  /// `chainFlagTarget`, the band tiles that write the block's chain rows.
  Value chainFlag;
  int64_t chainFlagTarget = 0;
  /// The kernel that finishes a chain (forward, dQ or dK/dV) discards the
  /// chain's L2 lines once it has read them (discardChainRows; the
  /// span-ordered kernels, whose chain rows are read from L2 soon after
  /// they are written).
  bool discardChain = false;
  void awaitChainFlag();
  /// The mixed own-block and summary dK/dV kernel's summary tiles
  /// (SpanOrder.cpp, "Mixed"): when `chainTileFlags` (an i32 buffer) is
  /// set, the dK/dV kernel that finishes the chain starts its
  /// accumulators at zero and adds the chain after its walk, once
  /// awaitTileFlags has seen the words `chainTileLo` .. `chainTileHi`
  /// (inclusive) set by the tiles that write its chain rows.
  Value chainTileFlags, chainTileLo, chainTileHi;
  void awaitTileFlags();
  /// Lets the next kernel's blocks be scheduled once every block of this
  /// one has got here or exited (griddepcontrol.launch_dependents): after
  /// the tile loops, so that they take only the SMs that this kernel's
  /// last blocks leave idle while they finish.
  void releaseDependents();

  //===--------------------------------------------------------------===//
  // Shared-memory staging
  //===--------------------------------------------------------------===//

  /// Starts copying the 64 rows of view `v` from view index `x0` (clamped
  /// to `last`) of [.., N, D] tensor `mem` into stage `st` of shared
  /// operand `tile`: asynchronous 16-byte copies (cp.async.cg, around L1),
  /// D/16 per thread, coalesced along each row. The caller commits them as
  /// a group.
  /// With `ownWarpgroup`, only the calling warpgroup's threads copy (a
  /// row operand of its own, or a producer's tiles).
  /// With `wholeTiles`, a tile with no row past `last` takes its rows at
  /// constant offsets from the thread's first (one address a tile, the
  /// offsets immediates in PTX) where the view allows, instead of clamping
  /// every row. Producers take it: at 56 registers, the per-row addresses
  /// that LLVM hoists out of the walk spilled. Elsewhere the branch costs
  /// the kernel's other code registers (the split dQ consumers spilled 56
  /// bytes with it on their row operands).
  void stage(Value tile, Value st, Value mem, const ga::View &v, Value c,
             Value x0, Value last, int64_t rows, bool ownWarpgroup = false,
             bool wholeTiles = false);

  /// The original position of row min(x0 + row, last) of view `v`, as
  /// i32. Staging computes the address of every row it copies on every
  /// tile, and a 64-bit integer operation takes two instructions or more
  /// on the GPU; in 32 bits the address math of a tile costs about a
  /// third. Sound because view indices and positions are below N, and N *
  /// d < 2^31: the runtime refuses longer heads (docs/gpu-kernel-abi.md),
  /// so offsets within a (batch, head) fit; only `base` needs 64 bits.
  Value originalRow32(const ga::View &v, Value c, Value x0, Value row,
                      Value last);
  /// Commits the copies started so far as one asynchronous group.
  Value commitCopies() {
    return nvgpu::DeviceAsyncCreateGroupOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), ValueRange{});
  }
  /// Commits the copies started so far, waits until at most `pending`
  /// groups are in flight, orders the copies before the tensor cores'
  /// async-proxy reads (wgmma), and synchronises the block.
  void awaitCopies(int32_t pending);
  /// With a single-staged B operand (`singleStageB`), waits for the
  /// current tile's B copies; a tile body calls it before the product that
  /// reads B, so that the copy overlaps the products and arithmetic before.
  void awaitStagedB() {
    if (singleStageB)
      awaitCopies(2);
  }

  /// Starts copying lse2 (-lse log2 e, clamped: the first dQ kernel's) and
  /// delta of the `keyTile` rows of view `v` from
  /// `x0` (clamped to `last`) into stage `st` of the row-stat tiles: one
  /// 4-byte cp.async per row and statistic, by the block's first threads
  /// (the warpgroup's with `ownWarpgroup`: a producer).
  void stageRowStats(Value st, const ga::View &v, Value c, Value x0, Value last,
                     bool ownWarpgroup = false);

  /// Whether the row statistics of view `v`'s rows are the class-major
  /// copies `lse2_c` and `delta_c` (classStatsStride).
  bool usesClassStats(const ga::View &v) const {
    return classStatsStride && v.kind == ga::ViewKind::Residue &&
           v.stride == classStatsStride;
  }
  /// Index of row `x` of residue class `c` in the class-major statistics:
  /// [B * H, L, ceil(N / L)] for stride L.
  Value classStatIndex(Value c, Value x) {
    Value per = m.ceilDiv(n, m.c(classStatsStride));
    return m.add(m.mul(m.add(m.mul(headIndex, m.c(classStatsStride)), c), per),
                 x);
  }

  /// Rows `r` and `r` + 1 (r even) of the current stage of the staged
  /// lse2 (i = 0) or delta, in one 8-byte load.
  std::array<Value, 2> rowStatPair(int i, Value r) {
    Value pair = vector::LoadOp::create(b, loc, VectorType::get({2}, f32),
                                        statMem[i], ValueRange{curStage, r},
                                        false, llvm::MaybeAlign(8));
    return {vector::ExtractOp::create(b, loc, pair, int64_t(0)),
            vector::ExtractOp::create(b, loc, pair, int64_t(1))};
  }

  /// Four 8x8 matrices of the current stage of `tile` through ldmatrix:
  /// lane l addresses row `row(l)`, column `col(l)`.
  std::array<Value, 4> ldmatrix(Value tile, Value row, Value col,
                                bool transpose);

  /// S[16 x 64] = A . X^T with the 64 rows of X staged in `tile`.
  Frags scoresShared(const RowOperand &a, Value tile);

  /// acc += P . X with the 64 rows of X staged in `tile` (ldmatrix.trans).
  void accumulateShared(Frags &acc, const Frags &p, Value tile);

  /// The layout of a staged wgmma tile (Wgmma.h).
  ga::TileLayout tileLayout() const { return {keyTile, d}; }
  /// The layout of a row-operand tile (the block's 64 rows).
  ga::TileLayout rowLayout() const { return {kBlockRows, d}; }

  /// The shared-state-space byte address (i64) of the current stage of
  /// wgmma `tile` (its only one when single-staged).
  Value stageAddress(Value tile);
  /// The shared-state-space byte address (i64) of `tile`, plus
  /// `byteOffset` (an index) if given. Of a global buffer (an argument),
  /// the generic address (SpanOrder.cpp's counters and discarded lines).
  Value sharedAddress(Value tile, Value byteOffset = Value());

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
    SmallVector<Value> aDesc;
    SmallVector<Value> desc;
    bool transB;
    bool fresh = false;
    ga::WarpgroupProduct product() const {
      return {acc, a, aDesc, desc, transB, fresh};
    }
  };

  /// S = A . X^T over the block's 64 rows of A (a row-operand tile, read
  /// K-major) and the keyTile rows of X staged in `tile`, read K-major.
  WgmmaOperands scoresOperands(const RowOperand &a, Value tile);

  /// acc + P . X: P (score accumulators, packed to the A layout) times the
  /// tile X read MN-major.
  WgmmaOperands accumulateOperands(const Frags &acc, const Frags &p,
                                   Value tile) {
    return accumulateOperandsWith(acc, tile,
                                  [&](int64_t kk) { return packAStep(p, kk); });
  }
  /// The same with P already packed (packA): a loop that carries P to the
  /// next tile's update holds half the registers.
  WgmmaOperands accumulatePackedOperands(const Frags &acc, const PackedA &a,
                                         Value tile) {
    return accumulateOperandsWith(acc, tile,
                                  [&](int64_t kk) { return a.steps[kk]; });
  }
  /// acc + P . X with `aStep(kk)` the A registers of k16 step kk.
  WgmmaOperands
  accumulateOperandsWith(const Frags &acc, Value tile,
                         function_ref<std::array<Value, 4>(int64_t)> aStep);
  /// Score accumulators as a warpgroup MMA's A registers: each k16 step's
  /// four 32-bit registers of two 16-bit elements (packAStep: step kk's;
  /// packA: all steps).
  std::array<Value, 4> packAStep(const Frags &p, int64_t kk);
  PackedA packA(const Frags &p);

  /// Runs independent products in one warpgroup-MMA block.
  SmallVector<Frags> runWgmma(ArrayRef<WgmmaOperands> ops);

  /// One step of a product pipeline (Wgmma.h, WarpgroupStep): issues
  /// `ops`, each its own commit group, then waits until at most `pending`
  /// groups are in flight. `inFlight` are accumulators that earlier steps
  /// left in flight: they may only be passed on, and come back (after the
  /// products' accumulators) as the values to use from here on.
  /// `passTurn`: ping-pong's pass of the turn to the other warpgroup,
  /// between the issue and the wait (pingPong).
  SmallVector<Frags> stepWgmma(ArrayRef<WgmmaOperands> ops, int64_t pending,
                               ArrayRef<Frags> inFlight = {},
                               bool passTurn = false);

  Frags scoresWgmma(const RowOperand &a, Value tile) {
    return runWgmma({scoresOperands(a, tile)})[0];
  }
  void accumulateWgmma(Frags &acc, const Frags &p, Value tile) {
    acc = runWgmma({accumulateOperands(acc, p, tile)})[0];
  }

  /// Two independent score products (S and dP): with wgmma, issued
  /// together so the second overlaps the first.
  std::pair<Frags, Frags> scoresPair(const RowOperand &a0, Value tile0,
                                     const RowOperand &a1, Value tile1);

  /// Two independent updates acc0 += p0 . X0 and acc1 += p1 . X1.
  void accumulatePair(Frags &acc0, const Frags &p0, Value tile0, Frags &acc1,
                      const Frags &p1, Value tile1);

  /// Element (row, col) of the current stage of f32 `tile` as tf32.
  Value sharedTf32(Value tile, Value row, Value col) {
    return tf32(memref::LoadOp::create(b, loc, tile,
                                       ValueRange{curStage, row, col}));
  }

  /// scoresShared for tf32: B fragments (k = t and t + 4, n = g) are
  /// scalar shared loads; rows are d + 4 floats apart, so the 32 lanes hit
  /// 32 banks.
  Frags scoresSharedTf32(ArrayRef<std::array<Value, 4>> a, Value tile);

  /// accumulateShared for tf32: the A fragment of P (columns t and t + 4
  /// of rows g and g + 8) comes from the accumulator layout (columns 2t,
  /// 2t + 1) through index shuffles within each quad of lanes.
  void accumulateSharedTf32(Frags &acc, const Frags &p, Value tile);

  /// `body` at the tile at x0 where the unit's key range [wlo, whi) meets
  /// it (a warp with mma.sync, a warpgroup with two a block), else
  /// `state` unchanged.
  SmallVector<Value>
  ifMeets(Value x0, Value wlo, Value whi, ValueRange state,
          function_ref<SmallVector<Value>(Value, ValueRange)> body);

  /// The block-level walk over 64-wide tiles [lo, hi) of view `v`: stages
  /// rows of `memA` and `memB` into shared memory, then lets each warp whose
  /// own range [wlo, whi) meets the tile run `body`; others keep their state.
  /// With a producer warpgroup, the consumers take the staged tiles from
  /// it; a null `wlo` then runs `body` on every tile (its masks zero the
  /// rows it misses). `longWalk` (the walks of a compact key view: fixed's
  /// summaries) asks for one barrier a tile where both operands have two
  /// stages: the next tile's copy starts after the wait for this one instead of
  /// before it. On the H100 that was 1.5% faster for fixed at d = 128 and 2%
  /// slower for strided at d = 64, whose short, memory-bound walks lose the
  /// second copy in flight (session 8). `descending` walks the tiles from
  /// the last (lo + a multiple of 64) down to lo (without a producer).
  SmallVector<Value>
  tileLoop(Value lo, Value hi, Value wlo, Value whi, const ga::View &v, Value c,
           Value last, Value memA, Value memB, ValueRange state,
           function_ref<SmallVector<Value>(Value, ValueRange)> body,
           bool longWalk = false, bool descending = false);

  /// Issues now the first copies (the prologue) of the walk that the next
  /// tileLoop over [lo, hi) runs, which then starts from them. A kernel
  /// that loads values for its walk's state from global memory (the chain
  /// it continues, its rows' lse, delta's rows) calls it before those
  /// loads, so that they overlap the first tile's copies: otherwise their
  /// first use, before the prologue's block barrier, holds the copies
  /// back by one round trip to memory (the column kernels of strided
  /// continue a chain from DRAM; dQ's first kernel reads O for delta).
  /// The forward's later kernels and the first dQ kernel call it; the
  /// backward's chains load first (no faster with it, and slower over
  /// short walks: emitDq, emitDkv). Without a producer warpgroup only: a
  /// producer makes every copy.
  void startWalk(Value lo, Value hi, const ga::View &v, Value c, Value last,
                 Value memA, Value memB, bool descending = false);
  /// Whether the kernels call startWalk (the option walk-start). A kernel
  /// with a producer warpgroup never does.
  bool startsWalks() const { return walkStart && !producerWarpgroup; }
  bool walkStart = true;

  /// Whether i1 `pred` holds in any thread that runs a tile: with wgmma
  /// the block's (it is one warpgroup, whose four warps must take the same
  /// branches around their shared products: a barrier with an or
  /// reduction), else the warp's (a vote; with mma.sync a warp may skip a
  /// tile that the others run, so no block barrier may sit in a tile).
  Value anyThread(Value pred);

  /// `emit(w)` for this thread's warpgroup w (0 or 1) in a branch on wg,
  /// so that w is an immediate (a named barrier's id), with the value it
  /// returns as the result (null `type`: none). The branch is uniform over
  /// each warpgroup.
  Value byWarpgroup(Type type, function_ref<Value(int32_t)> emit);

  /// Index of element (row k, pair element e) of fragment tile `tile` of an
  /// [.., N, D] tensor at original row `orig`.
  Value fragIndex(Value orig, int64_t tile, int64_t e) {
    return m.add(base, m.add(m.mul(orig, m.c(d)),
                             m.add(m.c(tile * 8 + e), m.mul(t, m.c(2)))));
  }

  /// Within each quad of lanes (t = 0..3): element e of lane t becomes
  /// element t of lane e (a 4 x 4 transpose of 32-bit values, four
  /// shuffles).
  std::array<Value, 4> quadTranspose(std::array<Value, 4> v);
  /// Index of this lane's 16-byte chunk of group `group` (fragment column
  /// tiles 4 group .. 4 group + 3) of row `orig` of a 16-bit [.., N, D]
  /// tensor: chunk 4 group + t, i.e. columns 8 (4 group + t) .. + 7.
  Value chunkIndex(Value orig, int64_t group);
  /// Stores the lane's pairs (one a fragment column tile, 16-bit elements)
  /// of row `orig`, if `valid`, as 16-byte chunks: the quad's pairs of
  /// four column tiles are transposed (quadTranspose), so that lane t
  /// writes tile 4 j + t whole. A warp's store then writes 64 contiguous
  /// bytes of each of its 8 rows, whole 32-byte sectors, where a pair
  /// each wrote 16 bytes a row, half sectors; the strided layout's
  /// kernels are bound by L2 throughput (ncu: 79-92% of peak, session 9).
  /// Every lane must call it.
  void storeChunks(ArrayRef<Value> pairs, Value valid, Value orig, Value mem);
  /// The inverse: the lane's pairs (one a fragment column tile) of row
  /// `orig` of 16-bit `mem`, read as 16-byte chunks.
  SmallVector<Value> loadChunks(Value orig, Value mem);

  /// Stores accumulator fragments (rows `rows`), scaled per row by
  /// `factor[k]`, to `mem` (converting to its element type), valid rows only.
  void storeRows(const Frags &acc, const LaneRows &rows, Value factor[2],
                 Value mem);

  /// Loads accumulator fragments of rows `rows` from f32 `mem`.
  Frags loadRows(const LaneRows &rows, Value mem);

  //===--------------------------------------------------------------===//
  // The chain between the kernels of one pass
  //===--------------------------------------------------------------===//
  //
  // A layout whose parts need two views (strided: the band and the
  // transposed columns; fixed: the band and the compact summaries) runs
  // one kernel per view, and the later one continues the earlier one's
  // rows (o_acc, dq_acc, dk_acc, dv_acc). For 16-bit inputs each chained
  // row is stored as f16 values scaled by the row's largest magnitude,
  // plus that magnitude (f32, `<name>_scale`): half the bytes of f32 with
  // an 11-bit significand relative to the row's maximum, four times finer
  // than the bf16 output's, and no overflow whatever the inputs' range.
  // Those kernels are bound by memory, and the chain was about a third of
  // the strided layout's bytes. f32 inputs keep an f32 chain (tf32's
  // error bound leaves no room).

  /// The element type of the chain buffers, and whether they have row
  /// scales (chainElementType, chainIsScaled).
  Type chainType() const { return chainElementType(elt); }
  bool scaledChain() const { return chainIsScaled(elt); }

  /// Stores accumulator fragments (rows `rows`, scaled by `factor`) to the
  /// chain buffer `name` (and its row scales). Every lane must call it.
  void storeChain(const Frags &acc, const LaneRows &rows, Value factor[2],
                  StringRef name);

  /// Loads the chain buffer `name`'s rows `rows` as accumulator fragments.
  Frags loadChain(const LaneRows &rows, StringRef name);

  /// Whether (row view index `i` of rows[k] or `col`) passes the excluded
  /// factors (original positions).
  Value passesExcluded(const ga::GpuPart &part, Value iOrig, Value jOrig) {
    Value ok = arith::ConstantIntOp::create(b, loc, 1, 1);
    for (const lay::Factor &e : part.excluded)
      ok =
          m.andi(ok, m.noti(attention_loops::emitContains(m, e, iOrig, jOrig)));
    return ok;
  }

  /// Returns `s` where warp-uniform `inner` holds (a tile inside every
  /// lane row's interval) and `s` after `mask` elsewhere, so interior tiles
  /// skip the per-element tests. With a null `inner`, always masks.
  Frags maskedOrNot(Value inner, Frags s, function_ref<void(Frags &)> mask);

  int64_t d;
  double scale;
  bool useWgmma;
  /// Kernels end their prologue with awaitPredecessors() (sm_90 and
  /// later: griddepcontrol); without it that emits nothing.
  bool dependentLaunch = false;
  /// begin() reserves 16 bytes of shared memory (`ticketSlot`, [4] i32)
  /// through which thread 0 hands the block its ticket (SpanOrder.cpp).
  bool ticketSlot = false;
  Value ticketMem;
  /// Warpgroups a block (set before begin(); 2 only with wgmma, for the
  /// query-driven kernels): each owns 64 rows of the block and its own row
  /// operands, and the block stages every key tile once for all of them.
  /// A 64-row block reads each key tile from L2 once per 64 query rows,
  /// and the fixed layout's forward at d = 128 was bound by exactly that
  /// (ncu: L2 throughput 85% of peak, tensor pipe 53%; session 8). Two
  /// (the pass option forward-warpgroups) relieved L2 but ran slower: one
  /// block of 210 registers holds the SM, and the block barrier at every
  /// tile keeps its warpgroups in step (docs/gpu.md).
  int64_t warpgroups = 1;
  /// The residue stride whose rows' lse2 and delta have class-major copies
  /// (`lse2_c`, `delta_c`: a class's rows adjacent), 0 for none. The
  /// dK/dV kernels over a residue view stage the statistics of 64 rows of
  /// a class a tile: 4 bytes a row in position order, L rows apart, is a
  /// 32-byte sector a row and a fifth of the column dK/dV kernel's L2
  /// requests at d = 64 (Schedule.cpp, "class-major statistics").
  int64_t classStatsStride = 0;
  /// The class-major copies come from the first dQ kernel over the
  /// identity view (paired-backward: the paired column kernel's dK/dV
  /// tiles read them while its dQ tiles run, so those cannot write them).
  /// emitDq then writes them where `first` and not over the residue view.
  bool classStatsFromFirst = false;
  /// The forward walks with two tiles' products in flight together
  /// (ForwardKernel.cpp, forwardWalkPipelined; wgmma only; set before begin(),
  /// which then stages V twice).
  bool pipelinedForward = false;
  /// A third warpgroup that only copies the key tiles (set before begin();
  /// with two warpgroups, the forward): the stages are tracked by
  /// mbarriers (a full and an empty barrier each) instead of block
  /// barriers, so the two consumer warpgroups never meet
  /// (FlashAttention-3's producer; docs/gpu.md, "Not yet").
  bool producerWarpgroup = false;
  /// The fused band backward (BandBackward.cpp, emitBandBackward; set
  /// before begin()): this many dQ carries of 64 query rows in f32 (f16:
  /// bandCarryHalf), each thread's accumulators at [slot][value][thread]
  /// (`carryMem`), and a
  /// 64 x 64 dS tile (`dsTile`, the A operand of dQ += dS K).
  int64_t bandCarrySlots = 0;
  /// The carries in f16, each thread's two rows in each 64 columns of d
  /// over their own scale (`carryScales`, f32 at [slot][d / 64][row]
  /// [thread]: the thread's largest magnitude there), and Q and dO staged
  /// once: 109.5 KiB at d = 128, so that two blocks share an SM, where f32
  /// carries and two stages take 170 (bandBackwardCarries).
  bool bandCarryHalf = false;
  Value dsTile, carryMem, carryScales;
  /// With producerWarpgroup: each side's registers a thread (setmaxnreg;
  /// KernelTypes.h).
  int32_t producerRegisters = kProducerRegisters;
  int32_t consumerRegisters = kConsumerRegisters;
  /// With producerWarpgroup: the stage barriers ([2 * stages] i64: full,
  /// then empty) and the tiles walked so far (it sets the stage and
  /// phase of the next tile, across a kernel's walks).
  Value stageBarriers, tileCount;
  /// The 32-bit shared address of stage `s`'s full (`empty` false) or
  /// empty barrier.
  Value stageBarrier(bool empty, Value s);
  /// Thread 0 initialises the stage barriers (full: the producer's 128
  /// threads' copies; empty: the consumers' 256 threads), then the block
  /// meets.
  void initStageBarriers();
  /// The producer's walk over tiles [lo, hi) of view `v`: waits for a
  /// stage to be empty, copies the tile's A and B rows (and the rows'
  /// statistics, where the kernel stages them: dK/dV) into it, and lets
  /// the stage's full barrier track the copies.
  void producerWalk(Value lo, Value hi, const ga::View &v, Value c, Value last,
                    Value memA, Value memB);
  /// The stage and phase parity (i32) of the tile walked `j`-th.
  std::pair<Value, Value> stageAndParity(Value j);
  /// A walk of the key tiles in [lo, hi) (hi >= lo) by a consumer that
  /// does not use tileLoop: returns the number of its first tile and
  /// counts its tiles in tileCount.
  Value claimTiles(Value lo, Value hi);
  /// A consumer's wait for the stage of the tile walked `j`-th to be
  /// full (then a proxy fence: the tensor cores read it); returns the
  /// stage. releaseStage marks a stage's tile done for this thread.
  Value acquireStage(Value j);
  void releaseStage(Value s);
  /// With producerWarpgroup and the pipelined forward: the two consumer
  /// warpgroups take turns at issuing their products (named barriers 5
  /// and 6), so that one's softmax runs while the other's products do
  /// (FlashAttention-3's ping-pong schedule).
  bool pingPong = false;
  /// With producerWarpgroup, the dQ kernel's consumers overlap a tile's
  /// update with the next tile's scores (BackwardKernels.cpp,
  /// dqWalkConsumer; the option `pipelined-dq`).
  bool pipelinedDq = false;
  /// Ping-pong: waits for this warpgroup's turn (named barrier 5 + wg);
  /// stepWgmma passes it on.
  void awaitTurn();
  /// A consumer warpgroup waits for its own row operands' copies (named
  /// barrier 3 + wg), which no block barrier completes with a producer.
  void awaitRowOperands();
  int64_t threads() const {
    return kThreads * (warpgroups + (producerWarpgroup ? 1 : 0));
  }
  int64_t rowsPerBlock() const { return kBlockRows * warpgroups; }
  llvm::StringMap<Value> arg;
  /// `tid` is the block's thread, `wtid` the warpgroup's (0..127), `wg`
  /// the warpgroup and `warp` the warp within it.
  Value n, heads, tid, wtid, wg, lane, warp, g, t, t0, bx, rowBase, base;
  Value by;        // the block's head row, blockIdx.y (or groupHeads')
  Value headIndex; // the block's batch * H + head (headMapping)
  Value smem[2];
  Value statMem[2]; // staged lse2 and delta, when the kernel has them
  /// Whether walks stage their tiles' statistics where the kernel has them
  /// (statMem): the paired kernel's dQ tiles walk keys, whose statistics
  /// they do not read (emitPairedTiles).
  bool walkStats = true;
  Value rowMem[2];  // wgmma: the row operands' tiles (rowOperands())
  int64_t stages = 1;
  /// Operand B has one stage while A has two (begin()): B's next tile is
  /// copied after the products that read the current one, as a copy group
  /// of its own (tileLoop, awaitStagedB).
  bool singleStageB = false;
  int64_t keyTile = kKeyTile;     // rows per staged tile
  int64_t dynamicSharedBytes = 0; // the launch's dynamic shared memory
  Value curStage; // the stage the current tile-loop iteration reads

  /// wgmma tiles in dynamic shared memory, seen from any warpgroup: row
  /// operand `i` (Q, dO: rowOperands()) of warpgroup `w`, and stage `s` of
  /// staged operand `i` (smem[i], 64-row stages). Each is a [1, 64 * d]
  /// tile, as a RowOperand's (the split dQ kernel's own-block dK/dV reads
  /// the other warpgroup's rows and the last walked stages).
  Value rowOperandOf(int64_t i, Value w);
  Value stagedTile(int64_t i, Value s);

private:
  /// The tile `i` of begin()'s layout, `byteOffset` bytes in.
  Value sharedTileAt(int64_t i, Value byteOffset);
  /// A walk's tiles as tileLoop copies them: the tile of step x0 (from lo
  /// by keyTile; from the last tile down when descending), copied into
  /// stage `st` if x0 is before hi.
  struct WalkCopies {
    Value lo, hi, lastTile;
    const ga::View *v;
    Value c, last, memA, memB;
    bool descending;
  };
  WalkCopies walkCopies(Value lo, Value hi, const ga::View &v, Value c,
                        Value last, Value memA, Value memB, bool descending);
  Value walkTileAt(const WalkCopies &w, Value x0);
  void copyWalkTile(const WalkCopies &w, Value x0, Value st, bool withA,
                    bool withB);
  /// tileLoop's prologue: the first tile into stage 0.
  void walkPrologue(const WalkCopies &w);
  /// The `lo` of the walk whose prologue startWalk issued, until the
  /// tileLoop that runs it.
  Value startedWalk;
  Value sharedRaw, sharedStart;
  SmallVector<int64_t> tileOffsets;
  int64_t rowOperandCount = 0;
};

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_KERNELEMITTER_H
