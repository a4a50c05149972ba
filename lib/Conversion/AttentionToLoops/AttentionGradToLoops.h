//===- AttentionGradToLoops.h - Gradient parts to loops ---------*- C++ -*-===//

#ifndef ST_LIB_CONVERSION_ATTENTIONTOLOOPS_ATTENTIONGRADTOLOOPS_H
#define ST_LIB_CONVERSION_ATTENTIONTOLOOPS_ATTENTIONGRADTOLOOPS_H

#include "st/Dialect/StDialect.h"

namespace mlir {
namespace st {
namespace attention_loops {

/// Replaces `op` by its two loop nests (dq parallel over query tiles of
/// `blockQ` rows, dk/dv parallel over key tiles of `blockK` rows); with
/// `countWork`, both add their visited (row, key) pairs to
/// @st_attention_work.
LogicalResult lowerAttentionPartGrad(AttentionPartGradOp op, int64_t blockQ,
                                     int64_t blockK, bool countWork);

} // namespace attention_loops
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_ATTENTIONTOLOOPS_ATTENTIONGRADTOLOOPS_H
