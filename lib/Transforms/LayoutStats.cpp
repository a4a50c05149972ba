//===- LayoutStats.cpp - Report the work of sparse attention layouts ------===//

#include "st/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir {
namespace st {
#define GEN_PASS_DEF_STLAYOUTSTATS
#include "st/Transforms/Passes.h.inc"
} // namespace st
} // namespace mlir

using namespace mlir;
using namespace mlir::st;

namespace {

struct LayoutStatsPass
    : public mlir::st::impl::StLayoutStatsBase<LayoutStatsPass> {
  using StLayoutStatsBase::StLayoutStatsBase;

  void runOnOperation() override {
    SmallVector<int64_t> tiles(tileSizes.begin(), tileSizes.end());
    if (tiles.empty())
      tiles = {64, 128};
    for (int64_t t : tiles)
      if (t < 1) {
        getOperation()->emitError() << "tile size must be positive, got " << t;
        return signalPassFailure();
      }
    llvm::raw_ostream &os = llvm::outs();
    getOperation()->walk([&](AttentionOp op) {
      int64_t b = op.getBatchSize(), h = op.getNumHeads(), n = op.getSeqLen(),
              d = op.getHeadDim();
      if (ShapedType::isDynamic(n) || ShapedType::isDynamic(h)) {
        op.emitWarning() << "layout statistics need static heads and length";
        return;
      }
      ::st::layout::Layout layout = op.getLayout().getLayout();
      int64_t nnz = layout.nonzeros(n, h);
      double density = layout.density(n, h);
      os << "st.attention " << op.getLoc() << "\n";
      os << "  layout: " << op.getLayout() << "\n";
      os << "  pattern: " << layout.str() << "\n";
      auto dim = [](int64_t v) {
        return ShapedType::isDynamic(v) ? std::string("?") : std::to_string(v);
      };
      os << llvm::formatv("  shape: batch {0} heads {1} length {2} head_dim {3}\n",
                          dim(b), h, n, dim(d));
      os << llvm::formatv("  nonzeros: {0} (all heads), density {1:F6}\n", nnz,
                          density);
      for (int64_t t : tiles) {
        ::st::layout::TileCounts c = layout.countTiles(n, h, t, t);
        os << llvm::formatv("  tiles {0}x{0}: empty {1} full {2} partial {3}\n",
                            t, c.empty, c.full, c.partial);
      }
      if (!ShapedType::isDynamic(b) && !ShapedType::isDynamic(d)) {
        double fwd = 4.0 * double(d) * double(nnz) * double(b);
        os << llvm::formatv("  flops: fwd {0:E4} fwd+bwd {1:E4}\n", fwd,
                            3.5 * fwd);
      }
      if (annotate) {
        Builder builder(op.getContext());
        op->setAttr("st.nonzeros", builder.getI64IntegerAttr(nnz));
        op->setAttr("st.density", builder.getF64FloatAttr(density));
      }
    });
  }
};

} // namespace
