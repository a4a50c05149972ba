//===- ImageCodecs.cpp - Classical codecs on an image dataset -------------===//
//
//   st-bench-image-codecs --data IMAGES [--format F] [--raw FILE]
//
// The baselines a density model's bits per dimension is compared with, on
// the same images: PNG at maximum compression (zlib level 9, adaptive
// filters), once as one file per image and once as one file holding every
// image stacked top to bottom; --raw writes the images' bytes (raster
// order, no header) for general-purpose compressors such as `xz -9`.
//
//===----------------------------------------------------------------------===//

#include "st/Runtime/Dataset.h"
#include "st/Runtime/Files.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
namespace rt = ::st::rt;

static cl::opt<std::string> data("data", cl::desc("Image file or PNG folder"),
                                 cl::value_desc("path"), cl::Required);
static cl::opt<std::string>
    format("format", cl::desc("idx, cifar10, png or auto"), cl::init("auto"));
static cl::opt<std::string> raw("raw", cl::desc("Write the images' bytes here"),
                                cl::value_desc("path"));

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv, "PNG baselines of an image set\n");
  auto fail = [](const std::string &message) {
    errs() << "st-bench-image-codecs: error: " << message << "\n";
    return 1;
  };
  std::optional<rt::DataFormat> parsed = rt::parseDataFormat(format);
  if (!parsed)
    return fail("--format: unknown format '" + format + "'");
  rt::Expected<rt::ImageSet> images = rt::readImages(data, *parsed);
  if (!images)
    return fail(images.message());
  double dims = double(images->pixels.size());
  outs() << formatv("images: {0} of {1} ({2} bytes)\n", images->count,
                    images->shape.str(), images->pixels.size());

  size_t perImage = 0;
  for (int64_t i = 0; i < images->count; ++i) {
    rt::Expected<std::vector<uint8_t>> png =
        rt::encodePng(images->image(i), images->shape, 9);
    if (!png)
      return fail(png.message());
    perImage += png->size();
  }
  outs() << formatv("png -9, one file per image: {0} bytes, {1:F4} bits/dim\n",
                    perImage, 8.0 * double(perImage) / dims);

  rt::ImageShape stacked = images->shape;
  stacked.height *= images->count;
  rt::Expected<std::vector<uint8_t>> one =
      rt::encodePng(images->pixels.data(), stacked, 9);
  if (!one)
    return fail(one.message());
  outs() << formatv(
      "png -9, all images in one file ({0}): {1} bytes, {2:F4} bits/dim\n",
      stacked.str(), one->size(), 8.0 * double(one->size()) / dims);

  if (!raw.empty()) {
    if (rt::Status s =
            rt::writeFile(raw, images->pixels.data(), images->pixels.size());
        s.isError())
      return fail(s.message());
    outs() << formatv("raw bytes written to {0}\n", raw.getValue());
  }
  return 0;
}
