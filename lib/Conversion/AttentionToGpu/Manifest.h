//===- Manifest.h - Expressions of the kernel library's manifest -*- C++
//-*-===//
//
// The launch schedule that the pass (Schedule.h) records (`st.gpu_manifest`,
// docs/gpu-kernel-abi.md) sizes its grids and scratch with expressions
// over the run-time sizes N, B, H and BH, which the runtime evaluates at
// each call. These build them, and a launch entry.
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOGPU_MANIFEST_H
#define ST_LIB_CONVERSION_ATTENTIONTOGPU_MANIFEST_H

#include "Views.h"

#include "mlir/Support/LLVM.h"
#include "llvm/Support/JSON.h"

namespace mlir {
namespace st {
namespace gpu_kernels {

/// A constant, a size variable (N, B, H, BH) and an operation of two.
llvm::json::Value ex(int64_t v);
llvm::json::Value ex(const char *name);
llvm::json::Value exOp(const char *op, llvm::json::Value a,
                       llvm::json::Value b);

/// Grid x of a kernel driven by `v`: one block per `rows` view rows.
llvm::json::Value gridX(const ::st::gpu_attention::View &v, int64_t rows);

/// Grid y of head group `first` of a cycle of `cycle` patterns.
llvm::json::Value gridY(int64_t first, int64_t cycle);

/// Gates the launch's grid x on the sequence length: multiplied by [N >=
/// minN] (`atLeast`) or [N < minN], as min(1, max(0, N - (minN - 1))) or
/// min(1, max(0, minN - N)), so that the runtime skips the launch (an
/// empty grid) at the other lengths.
void gateGridX(llvm::json::Value &launch, bool atLeast, int64_t minN);

/// A launch entry: `kernel` over a (gx, gy, 1) grid of `threads`-thread
/// blocks with `sharedBytes` of dynamic shared memory, taking `args`.
llvm::json::Value launch(StringRef kernel, llvm::json::Value gx,
                         llvm::json::Value gy, int64_t threads,
                         ArrayRef<StringRef> args, int64_t sharedBytes = 0);

} // namespace gpu_kernels
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOGPU_MANIFEST_H
