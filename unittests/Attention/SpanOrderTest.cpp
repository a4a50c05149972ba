//===- SpanOrderTest.cpp - The span-ordered kernels' ticket order, run ----===//
//
// The span-ordered kernels (lib/Conversion/AttentionToGpu/SpanOrder.cpp)
// name their tiles by ticket. Their correctness and their freedom from
// deadlock rest on two properties of that order, which this test checks by
// running the very index arithmetic the kernels contain
// (decodeSpanTicket), emitted into a host function and JIT-compiled, over
// every ticket of a launch:
//   - every ticket names one tile, and every tile of the launch (BH heads,
//     2 L tiles a span: its L band tiles and one column tile a class) has
//     one ticket;
//   - every band tile of a column tile's (head, span) has a smaller ticket
//     (a column tile waits only for blocks that have started).
// It also checks the order the kernels promise for L2: a column span's
// band tiles come at most `lag` + 1 spans of tickets before it (the lag
// counted over the launch's spans, across heads), and the last spans
// first.
//
// HeadGroupsRenumberEveryBlockOnce does the same for head-groups'
// renumbering of blockIdx (groupedBlock), and MixedTicketsNameEveryTileOnce
// for the mixed dK/dV kernel's tickets (decodeMixTicket): every own-block
// and summary tile of every head once, and the own-block tiles that hold a
// summary tile's keys before it in the same head. ExcludedKeysCounted
// checks the count of excluded keys in a key range (excludedKeysIn, Walks.h)
// by which the dK/dV kernels of a part with key-only exclusions decide
// whether a key tile can skip its mask.
//
//===----------------------------------------------------------------------===//

#include "../../lib/Conversion/AttentionToGpu/SpanOrder.h"
#include "../../lib/Conversion/AttentionToGpu/Walks.h"
#include "st/Target/Cpu/Jit.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"

#include "gtest/gtest.h"

#include <map>
#include <set>
#include <tuple>
#include <vector>

using namespace mlir;
using mlir::st::attention_loops::IndexMath;
using mlir::st::gpu_kernels::decodeMixTicket;
using mlir::st::gpu_kernels::decodeSpanTicket;
using mlir::st::gpu_kernels::MixTicket;
using mlir::st::gpu_kernels::SpanTicket;

namespace {

constexpr int64_t kFields = 7;

/// Stores `fields` (index or i64 values) at out[n t ..], n their count:
/// what each test's host function records of its ticket or block t.
void storeFields(IndexMath &m, Value out, Value t, ArrayRef<Value> fields) {
  int64_t n = int64_t(fields.size());
  for (int64_t i = 0; i < n; ++i) {
    Value v = fields[i];
    if (v.getType().isIndex())
      v = arith::IndexCastOp::create(m.b, m.loc, m.b.getI64Type(), v);
    memref::StoreOp::create(m.b, m.loc, v, out,
                            ValueRange{m.add(m.mul(t, m.c(n)), m.c(i))});
  }
}

/// A 1-D memref descriptor over `out`.
StridedMemRefType<int64_t, 1> descriptor(std::vector<int64_t> &out) {
  StridedMemRefType<int64_t, 1> desc;
  desc.basePtr = desc.data = out.data();
  desc.offset = 0;
  desc.sizes[0] = int64_t(out.size());
  desc.strides[0] = 1;
  return desc;
}

class SpanOrder : public ::testing::Test {
protected:
  void SetUp() override {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    context = std::make_unique<MLIRContext>(registry);
    context->loadAllAvailableDialects();
  }

  /// A module of one host function `name`(out: memref<?xi64>, then
  /// `indexArgs` index arguments) that runs `body(m, out, args, t)` for t
  /// in [0, count(m, args)): each test's loop over the tickets or blocks
  /// of a launch, storing what the kernels' index math gives for each.
  OwningOpRef<ModuleOp>
  hostLoop(StringRef name, int64_t indexArgs,
           function_ref<Value(IndexMath &, ValueRange)> count,
           function_ref<void(IndexMath &, Value, ValueRange, Value)> body) {
    OpBuilder b(context.get());
    Location loc = b.getUnknownLoc();
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
    b.setInsertionPointToEnd(module->getBody());
    SmallVector<Type> args = {
        MemRefType::get({ShapedType::kDynamic}, b.getI64Type())};
    args.append(indexArgs, b.getIndexType());
    auto func = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
    func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToEnd(entry);
    Value out = entry->getArgument(0);
    ValueRange indices = entry->getArguments().drop_front();
    IndexMath m{b, loc};
    scf::ForOp::create(b, loc, m.c(0), count(m, indices), m.c(1), ValueRange(),
                       [&](OpBuilder &, Location, Value t, ValueRange) {
                         body(m, out, indices, t);
                         scf::YieldOp::create(b, loc);
                       });
    func::ReturnOp::create(b, loc);
    return module;
  }

  /// A function decode(out: memref<?xi64>, n: index, count: index) that
  /// stores ticket t's head, spans, isBand, band tile and span, column
  /// class and span at out[7 t ..], for t < count.
  OwningOpRef<ModuleOp> build(int64_t stride, int64_t rows, int64_t lag) {
    return hostLoop(
        "decode", 2, [](IndexMath &, ValueRange a) { return a[1]; },
        [&](IndexMath &m, Value out, ValueRange a, Value t) {
          SpanTicket st = decodeSpanTicket(m, t, a[1], a[0], stride, rows, lag);
          Value isBand =
              arith::ExtUIOp::create(m.b, m.loc, m.b.getI64Type(), st.isBand);
          storeFields(m, out, t,
                      {st.head, st.spans, isBand, st.bandTile, st.bandSpan,
                       st.columnClass, st.columnSpan});
        });
  }

  std::unique_ptr<MLIRContext> context;
};

TEST_F(SpanOrder, EveryTileOnceAndBandTilesFirst) {
  const int64_t rows = 64, heads = 3;
  for (int64_t stride : {128, 100})
    for (int64_t lag : {1, 2, 3}) {
      OwningOpRef<ModuleOp> module = build(stride, rows, lag);
      auto engine = mlir::st::compileForCpu(*module, {});
      ASSERT_TRUE(succeeded(engine));
      auto fn = (*engine)->lookup("_mlir_ciface_decode");
      ASSERT_TRUE(!!fn);
      using Fn = void (*)(StridedMemRefType<int64_t, 1> *, int64_t, int64_t);
      for (int64_t n : {int64_t(1), int64_t(100), int64_t(1000), int64_t(4096),
                        stride * rows - 1, stride * rows, stride * rows + 1,
                        int64_t(65536), int64_t(100003)}) {
        SCOPED_TRACE("L=" + std::to_string(stride) +
                     " lag=" + std::to_string(lag) + " n=" + std::to_string(n));
        int64_t perClass = (n + stride - 1) / stride;
        int64_t spans = (perClass + rows - 1) / rows;
        int64_t count = heads * 2 * stride * spans;
        std::vector<int64_t> out(count * kFields, -7);
        StridedMemRefType<int64_t, 1> desc = descriptor(out);
        reinterpret_cast<Fn> (*fn)(&desc, n, count);

        // (head, band?, tile or class, span) -> ticket
        std::map<std::tuple<int64_t, bool, int64_t, int64_t>, int64_t> named;
        // (head, span) -> last band ticket, first column ticket
        std::map<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>>
            order;
        for (int64_t t = 0; t < count; ++t) {
          const int64_t *f = &out[t * kFields];
          int64_t head = f[0];
          bool band = f[2] != 0;
          ASSERT_EQ(f[1], spans);
          ASSERT_TRUE(head >= 0 && head < heads) << "ticket " << t;
          int64_t what = band ? f[3] : f[5], span = band ? f[4] : f[6];
          ASSERT_TRUE(span >= 0 && span < spans) << "ticket " << t;
          if (band)
            ASSERT_TRUE(what >= span * stride && what < (span + 1) * stride)
                << "ticket " << t << ": band tile " << what << " in span "
                << span;
          else
            ASSERT_TRUE(what >= 0 && what < stride) << "ticket " << t;
          ASSERT_TRUE(named.insert({{head, band, what, span}, t}).second)
              << "ticket " << t << " names a tile twice";
          auto &o = order.try_emplace({head, span}, -1, count).first->second;
          if (band)
            o.first = std::max(o.first, t);
          else
            o.second = std::min(o.second, t);
        }
        ASSERT_EQ(int64_t(named.size()), count);
        for (auto &[key, o] : order) {
          // Every band tile before the first column tile of the span, and
          // not more than lag + 1 spans of tickets (2 L each) before it.
          EXPECT_LT(o.first, o.second)
              << "head " << key.first << " span " << key.second;
          EXPECT_LE(o.second - o.first, (lag + 1) * 2 * stride)
              << "head " << key.first << " span " << key.second;
        }
        // The last span first: the launch's first ticket is a band tile of
        // head 0's span spans - 1.
        EXPECT_EQ(out[0], 0);
        EXPECT_EQ(out[2], 1);
        EXPECT_EQ(out[4], spans - 1);
        // The lag crosses heads: with one span a head, head 0's columns
        // follow the band tiles of head min(lag, heads - 1).
        if (spans == 1) {
          int64_t lastBand = std::min(lag, heads - 1);
          EXPECT_GT(order.at({0, 0}).second, order.at({lastBand, 0}).first);
        }
      }
    }
}

/// head-groups' renumbering (groupedBlock, the IR that
/// KernelEmitter::groupHeads emits), run over every block of launches of
/// gx tiles by gy head rows: every (tile, head row) once, tile-major
/// within groups of G = max(1, ceil(resident / gx)) head rows, the groups
/// in order, and each head row's tiles in their blockIdx order.
TEST_F(SpanOrder, HeadGroupsRenumberEveryBlockOnce) {
  // order(out, gx, gy, resident): (tile, head row) of each linear block.
  OwningOpRef<ModuleOp> module = hostLoop(
      "order", 3, [](IndexMath &m, ValueRange a) { return m.mul(a[0], a[1]); },
      [](IndexMath &m, Value out, ValueRange a, Value linear) {
        Value gx = a[0], gy = a[1], resident = a[2];
        auto [tile, row] = mlir::st::gpu_kernels::groupedBlock(
            m, m.rem(linear, gx), m.div(linear, gx), gx, gy, resident);
        storeFields(m, out, linear, {tile, row});
      });
  auto engine = mlir::st::compileForCpu(*module, {});
  ASSERT_TRUE(succeeded(engine));
  auto fn = (*engine)->lookup("_mlir_ciface_order");
  ASSERT_TRUE(!!fn);
  using Fn =
      void (*)(StridedMemRefType<int64_t, 1> *, int64_t, int64_t, int64_t);
  for (int64_t gx : {1, 7, 16, 64, 1024})
    for (int64_t gy : {1, 3, 8, 128, 129})
      for (int64_t resident : {1, 132, 264, 396, 100000}) {
        SCOPED_TRACE("gx=" + std::to_string(gx) + " gy=" + std::to_string(gy) +
                     " resident=" + std::to_string(resident));
        std::vector<int64_t> out(2 * gx * gy, -7);
        StridedMemRefType<int64_t, 1> desc = descriptor(out);
        reinterpret_cast<Fn> (*fn)(&desc, gx, gy, resident);
        int64_t group = std::max<int64_t>(1, (resident + gx - 1) / gx);
        std::vector<int64_t> nextTile(gy, 0);
        std::set<std::pair<int64_t, int64_t>> seen;
        for (int64_t l = 0; l < gx * gy; ++l) {
          int64_t tile = out[2 * l], row = out[2 * l + 1];
          ASSERT_TRUE(tile >= 0 && tile < gx && row >= 0 && row < gy)
              << "block " << l << ": (" << tile << ", " << row << ")";
          ASSERT_TRUE(seen.insert({tile, row}).second)
              << "block " << l << " repeats (" << tile << ", " << row << ")";
          // Each head row's tiles in order; the groups in order, each
          // tile-major: block l is in group l / (group * gx).
          ASSERT_EQ(tile, nextTile[row]++) << "block " << l;
          int64_t first = l / (group * gx) * group;
          int64_t size = std::min(group, gy - first);
          ASSERT_EQ(row, first + (l - first * gx) % size) << "block " << l;
        }
      }
}

/// The mixed dK/dV kernel's tickets (decodeMixTicket, as emitMixedDkv
/// calls it: 64-key tiles, rounds of L / c own-block tiles and a summary
/// tile), run over every ticket of launches of fixed<L, c> with the
/// summaries at the end of each block: every own-block tile of the
/// sequence and every summary tile of the grid once a head (own-block
/// tiles past the sequence are empty), and the own-block tiles that hold
/// the positions of a summary tile's keys come before it in its head.
TEST_F(SpanOrder, MixedTicketsNameEveryTileOnce) {
  constexpr int64_t tile = 64, heads = 3, fields = 4;
  for (auto [stride, width] :
       {std::pair<int64_t, int64_t>{128, 32}, {128, 64}, {256, 16}, {64, 64}}) {
    int64_t perRound = stride / width;
    // mix(out, summaryTiles, count): each ticket's head, kind and tiles.
    OwningOpRef<ModuleOp> module = hostLoop(
        "mix", 2, [](IndexMath &, ValueRange a) { return a[1]; },
        [&](IndexMath &m, Value out, ValueRange a, Value t) {
          MixTicket mt = decodeMixTicket(m, t, a[0], perRound);
          storeFields(
              m, out, t,
              {mt.head,
               arith::ExtUIOp::create(m.b, m.loc, m.b.getI64Type(), mt.isOwn),
               mt.ownTile, mt.summaryTile});
        });
    auto engine = mlir::st::compileForCpu(*module, {});
    ASSERT_TRUE(succeeded(engine));
    auto fn = (*engine)->lookup("_mlir_ciface_mix");
    ASSERT_TRUE(!!fn);
    using Fn = void (*)(StridedMemRefType<int64_t, 1> *, int64_t, int64_t);
    for (int64_t n :
         {int64_t(1), int64_t(100), int64_t(127), int64_t(129), int64_t(1000),
          int64_t(4096), int64_t(4097), int64_t(65536)}) {
      SCOPED_TRACE("L=" + std::to_string(stride) +
                   " c=" + std::to_string(width) + " n=" + std::to_string(n));
      int64_t ownTiles = (n + tile - 1) / tile;
      int64_t blocks = (n + stride - 1) / stride;
      int64_t summaryTiles = (blocks * width + tile - 1) / tile;
      int64_t count = heads * summaryTiles * (perRound + 1);
      std::vector<int64_t> out(count * fields, -7);
      StridedMemRefType<int64_t, 1> desc = descriptor(out);
      reinterpret_cast<Fn> (*fn)(&desc, summaryTiles, count);
      // (head, tile) -> ticket, own-block and summary tiles apart.
      std::map<std::pair<int64_t, int64_t>, int64_t> own, summary;
      for (int64_t t = 0; t < count; ++t) {
        const int64_t *f = &out[t * fields];
        ASSERT_TRUE(f[0] >= 0 && f[0] < heads) << "ticket " << t;
        if (f[1]) {
          ASSERT_TRUE(f[2] >= 0 && f[2] < summaryTiles * perRound)
              << "ticket " << t;
          ASSERT_TRUE(own.insert({{f[0], f[2]}, t}).second)
              << "ticket " << t << " names own-block tile " << f[2] << " twice";
        } else {
          ASSERT_TRUE(f[3] >= 0 && f[3] < summaryTiles) << "ticket " << t;
          ASSERT_TRUE(summary.insert({{f[0], f[3]}, t}).second)
              << "ticket " << t << " names summary tile " << f[3] << " twice";
        }
      }
      ASSERT_EQ(int64_t(summary.size()), heads * summaryTiles);
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t o = 0; o < ownTiles; ++o)
          ASSERT_TRUE(own.count({h, o})) << "own-block tile " << o;
        // The summary positions (window [L - c, L) of each block) below n,
        // in order: the compact view.
        std::vector<int64_t> positions;
        for (int64_t p = 0; p < n; ++p)
          if (p % stride >= stride - width)
            positions.push_back(p);
        for (int64_t s = 0; s < summaryTiles; ++s) {
          int64_t at = summary.at({h, s});
          for (int64_t x = s * tile;
               x < std::min<int64_t>((s + 1) * tile, positions.size()); ++x)
            EXPECT_LT(own.at({h, positions[x] / tile}), at)
                << "summary tile " << s << " key " << x << " (position "
                << positions[x] << ")";
        }
      }
    }
  }
}

TEST_F(SpanOrder, ExcludedKeysCounted) {
  namespace lay = ::st::layout;
  // fixed's summary columns (l = 128, c = 32), and two disjoint sets of
  // columns of period 8 (factors counted one after the other).
  std::vector<std::vector<lay::Factor>> sets = {
      {lay::Factor::summary(128, 96, 128, /*earlierOnly=*/false)},
      {lay::Factor::summary(8, 2, 5, false),
       lay::Factor::summary(8, 6, 8, false)}};
  for (const auto &excluded : sets) {
    // count(out, n): for t < n * n, a = t / n and b = max(t mod n, a - 1),
    // the excluded keys in [a, b].
    OwningOpRef<ModuleOp> module = hostLoop(
        "count", 1,
        [](IndexMath &m, ValueRange a) { return m.mul(a[0], a[0]); },
        [&](IndexMath &m, Value out, ValueRange a, Value t) {
          Value lo = m.div(t, a[0]);
          Value hi = m.max(m.rem(t, a[0]), m.sub(lo, m.c(1)));
          storeFields(
              m, out, t,
              {lo, hi,
               mlir::st::gpu_kernels::excludedKeysIn(m, excluded, lo, hi)});
        });
    auto engine = mlir::st::compileForCpu(*module, {});
    ASSERT_TRUE(succeeded(engine));
    auto fn = (*engine)->lookup("_mlir_ciface_count");
    ASSERT_TRUE(!!fn);
    using Fn = void (*)(StridedMemRefType<int64_t, 1> *, int64_t);
    const int64_t n = 300;
    std::vector<int64_t> out(n * n * 3, -7);
    StridedMemRefType<int64_t, 1> desc = descriptor(out);
    reinterpret_cast<Fn> (*fn)(&desc, n);
    for (int64_t t = 0; t < n * n; ++t) {
      int64_t a = out[3 * t], b = out[3 * t + 1], expected = 0;
      ASSERT_EQ(a, t / n);
      for (int64_t j = a; j <= b; ++j)
        for (const lay::Factor &f : excluded)
          expected +=
              j % f.getPeriod() >= f.getLo() && j % f.getPeriod() < f.getHi();
      ASSERT_EQ(out[3 * t + 2], expected) << "keys [" << a << ", " << b << "]";
    }
  }
}

} // namespace
