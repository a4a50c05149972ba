//===- Json.h - JSON helpers shared by the manifest sources -----*- C++ -*-===//
//
// Internal to libSTCudaManifest: Manifest.cpp and Expr.cpp read the same
// JSON document and report errors the same way.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_CUDA_LIB_JSON_H
#define ST_RUNTIME_CUDA_LIB_JSON_H

#include "st/cuda/Manifest.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace st {
namespace cuda {
namespace detail {

/// Text of a JSON value for messages, shortened.
std::string brief(const nlohmann::json &value);

/// Reads an integer that fits in int64 (JSON has no integer type of its own:
/// 3.0 is not an integer here, 2^63 does not fit).
std::optional<int64_t> asInt64(const nlohmann::json &value);

/// One EXPR of a manifest (an integer, N, B, H, BH or {"op", "args"}) at
/// nesting `depth`; `where` prefixes error messages.
Expected<Expr> parseExprJson(const nlohmann::json &value,
                             const std::string &where, int depth);

} // namespace detail
} // namespace cuda
} // namespace st

#endif // ST_RUNTIME_CUDA_LIB_JSON_H
