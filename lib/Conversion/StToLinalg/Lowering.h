//===- Lowering.h - Shared pieces of the st-to-linalg lowering --*- C++ -*-===//
//
// Private to lib/Conversion/StToLinalg: the pattern sets of each file and the
// small IR-building helpers they share. Every helper works on ranked tensors
// with any mix of static and dynamic sizes.
//
//===----------------------------------------------------------------------===//

#ifndef ST_LIB_CONVERSION_STTOLINALG_LOWERING_H
#define ST_LIB_CONVERSION_STTOLINALG_LOWERING_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace st {

/// Patterns for st.embed, st.pos_embed, st.layer_norm, st.linear, st.gelu,
/// st.split_heads, st.merge_heads and st.cross_entropy.
void populateStModelOpLoweringPatterns(RewritePatternSet &patterns);

/// The pattern for st.dropout (Philox4x32-10 mask).
void populateStDropoutLoweringPatterns(RewritePatternSet &patterns);

/// Patterns for the backward ops st.embed_grad, st.pos_embed_grad,
/// st.layer_norm_grad, st.linear_grad, st.gelu_grad and
/// st.cross_entropy_grad.
void populateStGradOpLoweringPatterns(RewritePatternSet &patterns);

/// Diagnoses, at `op`, a backward op whose operand and result types the
/// lowering cannot express (unranked, wrong rank, mismatched sizes, a table
/// with a dynamic row count); success for every other op. The backward ops
/// have no verifiers: gradient rules build them from verified forward ops.
LogicalResult checkGradOpLowerable(Operation *op);

namespace lowering {

/// An f32 constant (rounded from `value`).
Value f32Constant(OpBuilder &b, Location loc, double value);

/// (d0, ..., d_{rank-1}) -> (d_{dims[0]}, d_{dims[1]}, ...).
AffineMap projection(MLIRContext *ctx, unsigned rank, ArrayRef<unsigned> dims);

/// `n` parallel iterators followed by `numReduction` reduction iterators.
SmallVector<utils::IteratorType> iterators(unsigned numParallel,
                                           unsigned numReduction = 0);

/// The static shape that tensor.empty would give to `sizes`: attributes are
/// static, values dynamic (even when they happen to be constants).
SmallVector<int64_t> staticShape(ArrayRef<OpFoldResult> sizes);

/// An uninitialised tensor of the given sizes.
Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType);

/// A tensor of the given sizes filled with `value`.
Value filledTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                   TypedAttr value);

/// Size `dim` of `shaped` where `preferred` is static, else of `source`: the
/// most static answer two compatible types give for one dimension.
OpFoldResult joinedSize(OpBuilder &b, Location loc, ShapedType preferred,
                        int64_t preferredDim, Value source, int64_t sourceDim);

/// `value` as a tensor of `type` (a tensor.cast when the types differ only
/// in static information).
Value castTo(OpBuilder &b, Location loc, Value value, Type type);

/// An index-typed size converted to a float of `type` (exact up to 2^24 for
/// f32, which covers every width we normalise over).
Value indexToFloat(OpBuilder &b, Location loc, OpFoldResult size,
                   FloatType type);

/// `bound - 1` as an index value, the largest valid index into a dimension
/// of size `bound`.
Value lastIndex(OpBuilder &b, Location loc, OpFoldResult bound);

/// `lhs * rhs`, folded when both are static.
OpFoldResult mulSizes(OpBuilder &b, Location loc, OpFoldResult lhs,
                      OpFoldResult rhs);

/// Clamps an i32 index read from a tensor (a token or target id) into
/// [0, maxIndex] as an `index`, so that a gather never reads out of bounds.
Value clampedIndex(OpBuilder &b, Location loc, Value i32Index, Value maxIndex);

/// The two passes of layer normalisation over the last dimension of `x`
/// (its other sizes are `rowSizes`, its last as f32 is `width`): per row,
/// the sum, then the sum of squared deviations from the mean sum / width
/// (which, unlike E[x^2] - E[x]^2, does not cancel catastrophically when
/// |mean| >> std). Shared by st.layer_norm and st.layer_norm_grad, so that
/// the backward pass recomputes exactly the forward statistics.
std::pair<Value, Value> rowMoments(OpBuilder &b, Location loc, Value x,
                                   ArrayRef<OpFoldResult> rowSizes,
                                   Value width);

/// What st.cross_entropy and its gradient both start from, for logits
/// [B, N, V]: the sizes, the positions {B, N}, the last class V - 1 (targets
/// are clamped into [0, V - 1]), and per position the max over the classes
/// and the sum of exp(logit - max).
struct SoftmaxRows {
  SmallVector<OpFoldResult> sizes, positions;
  Value maxClass, rowMax, sumExp;
};
SoftmaxRows softmaxRows(OpBuilder &b, Location loc, Value logits);

} // namespace lowering
} // namespace st
} // namespace mlir

#endif // ST_LIB_CONVERSION_STTOLINALG_LOWERING_H
