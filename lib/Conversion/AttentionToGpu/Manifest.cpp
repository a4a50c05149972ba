//===- Manifest.cpp - Expressions of the kernel library's manifest
//---------===//

#include "Manifest.h"

#include "llvm/Support/ErrorHandling.h"

namespace json = llvm::json;
namespace ga = ::st::gpu_attention;

namespace mlir {
namespace st {
namespace gpu_kernels {

json::Value ex(int64_t v) { return v; }
json::Value ex(const char *name) { return name; }
json::Value exOp(const char *op, json::Value a, json::Value b) {
  return json::Object{{"op", op}, {"args", json::Array{a, b}}};
}

json::Value gridX(const ga::View &v, int64_t rows) {
  switch (v.kind) {
  case ga::ViewKind::Identity:
    return exOp("ceildiv", ex("N"), ex(rows));
  case ga::ViewKind::Residue:
    return exOp(
        "mul", ex(v.stride),
        exOp("ceildiv", exOp("ceildiv", ex("N"), ex(v.stride)), ex(rows)));
  case ga::ViewKind::Compact:
    return exOp(
        "ceildiv",
        exOp("mul", exOp("ceildiv", ex("N"), ex(v.stride)), ex(v.width)),
        ex(rows));
  }
  llvm_unreachable("unknown view");
}

json::Value gridY(int64_t first, int64_t cycle) {
  if (cycle == 1)
    return ex("BH");
  return exOp("mul", ex("B"),
              exOp("ceildiv", exOp("sub", ex("H"), ex(first)), ex(cycle)));
}

void gateGridX(json::Value &launch, bool atLeast, int64_t minN) {
  json::Array &grid = *launch.getAsObject()->getArray("grid");
  json::Value on = atLeast ? exOp("sub", ex("N"), ex(minN - 1))
                           : exOp("sub", ex(minN), ex("N"));
  grid[0] =
      exOp("mul", grid[0], exOp("min", ex(1), exOp("max", ex(int64_t(0)), on)));
}

json::Value launch(StringRef kernel, json::Value gx, json::Value gy,
                   int64_t threads, ArrayRef<StringRef> args,
                   int64_t sharedBytes) {
  json::Array a;
  for (StringRef s : args)
    a.push_back(s.str());
  return json::Object{{"kernel", kernel.str()},
                      {"grid", json::Array{gx, gy, ex(1)}},
                      {"block", json::Array{ex(threads), ex(1), ex(1)}},
                      {"shared_bytes", sharedBytes},
                      {"args", std::move(a)}};
}

} // namespace gpu_kernels
} // namespace st
} // namespace mlir
