//===- Data.cpp - st-run's training data, checked against the model -------===//

#include "st/Driver/Data.h"

using namespace mlir;
using namespace mlir::st;
namespace rt = ::st::rt;

namespace {

std::string listOf(const std::vector<int64_t> &values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i)
    text += (i ? ", " : "") + std::to_string(values[i]);
  return text + "]";
}

/// Whether the model's position axes describe images of `shape`.
bool declaresShape(const std::vector<int64_t> &position,
                   const rt::ImageShape &shape) {
  const auto &[h, w, c] = shape;
  if (position.size() == 3)
    return position[0] == h && position[1] == w && position[2] == c;
  if (position.size() == 2)
    return position[0] == h && position[1] == w * c;
  return false;
}

} // namespace

rt::Expected<rt::Dataset> mlir::st::loadData(const ModelConfig &model,
                                             const std::string &path,
                                             const std::string &format,
                                             double valFraction) {
  std::optional<rt::DataFormat> parsed = rt::parseDataFormat(format);
  if (!parsed)
    return rt::Status::error("--format: unknown format '" + format +
                             "', expected one of " + rt::dataFormatChoices());
  rt::Expected<rt::Dataset> data =
      rt::Dataset::load(path, *parsed, model.context, valFraction);
  if (!data || !data->isImages())
    return data;
  const rt::ImageShape &shape = data->imageShape();
  if (!declaresShape(model.position, shape))
    return rt::Status::error(
        path + ": images are " + shape.str() + ", but model " + model.name +
        " declares position " + listOf(model.position) +
        " (expected [height, width, channels], or [height, width x "
        "channels])");
  return data;
}

const char *mlir::st::bitsUnit(const rt::Dataset &data) {
  return data.format() == rt::DataFormat::Bytes ? "bits/byte" : "bits/dim";
}
