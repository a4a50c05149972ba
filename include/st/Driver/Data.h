//===- Data.h - st-run's training data, checked against the model -*- C++
//-*-===//
//
// Loads `--data PATH [--format F]` for a compiled model: text, images or
// audio (st/Runtime/Dataset.h), and checks that images fit the model: one
// image is one sequence, so its height x width x channels bytes must be the
// model's context, and its shape must be the image shape the model declares
// in `position` ([H, W, C], [H, W] for one channel, or [H, W x C]).
//
//===----------------------------------------------------------------------===//

#ifndef ST_DRIVER_DATA_H
#define ST_DRIVER_DATA_H

#include "st/Driver/Model.h"
#include "st/Runtime/Dataset.h"

#include <string>

namespace mlir {
namespace st {

/// Loads the data at `path` for `model`; `format` is a --format name
/// ("auto" detects). Errors are one line naming the file (or the flag).
::st::rt::Expected<::st::rt::Dataset> loadData(const ModelConfig &model,
                                               const std::string &path,
                                               const std::string &format,
                                               double valFraction);

/// The unit of the loss in bits: "bits/dim" for images and audio (bits per
/// pixel channel or sample), "bits/byte" for text. The numbers are the same
/// quantity, the mean negative log2-likelihood per predicted byte.
const char *bitsUnit(const ::st::rt::Dataset &data);

} // namespace st
} // namespace mlir

#endif // ST_DRIVER_DATA_H
