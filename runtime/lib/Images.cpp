//===- Images.cpp - Image files as bytes in raster order ------------------===//

#include "st/Runtime/Images.h"

#include "st/Runtime/Files.h"

#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>

using namespace st::rt;

std::string ImageShape::str() const {
  return std::to_string(height) + "x" + std::to_string(width) + "x" +
         std::to_string(channels);
}

//===----------------------------------------------------------------------===//
// IDX
//===----------------------------------------------------------------------===//

namespace {

/// IDX element type code of unsigned bytes.
constexpr uint8_t kIdxUnsignedByte = 0x08;

uint32_t readBigEndian32(const uint8_t *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
         (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

void appendBigEndian32(std::vector<uint8_t> &out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(value >> shift));
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

const char *idxTypeName(uint8_t type) {
  switch (type) {
  case 0x08:
    return "unsigned byte";
  case 0x09:
    return "signed byte";
  case 0x0B:
    return "short";
  case 0x0C:
    return "int";
  case 0x0D:
    return "float";
  case 0x0E:
    return "double";
  default:
    return "unknown";
  }
}

} // namespace

Expected<ImageSet> st::rt::readIdx(const std::string &path) {
  Expected<std::vector<uint8_t>> file = readFile(path);
  if (!file)
    return file.status();
  std::vector<uint8_t> bytes = file.take();
  if (isGzip(bytes)) {
    Expected<std::vector<uint8_t>> inflated = gunzip(bytes, path);
    if (!inflated)
      return inflated.status();
    bytes = inflated.take();
  }
  const std::string expected =
      "expected an IDX file of images (magic 0x00000803: unsigned bytes, 3 "
      "dimensions)";
  if (bytes.size() < 4)
    return Status::error(path + ": truncated: " + std::to_string(bytes.size()) +
                         " bytes, " + expected);
  uint32_t magic = readBigEndian32(bytes.data());
  uint8_t type = bytes[2], dims = bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0)
    return Status::error(path + ": wrong magic " + hex32(magic) + ", " +
                         expected);
  if (type != kIdxUnsignedByte)
    return Status::error(path + ": IDX of " + idxTypeName(type) +
                         " elements (magic " + hex32(magic) + "), " + expected);
  if (dims == 1)
    return Status::error(path + ": IDX with 1 dimension (labels?, magic " +
                         hex32(magic) + "), " + expected);
  if (dims != 3 && dims != 4)
    return Status::error(path + ": IDX with " + std::to_string(dims) +
                         " dimensions (magic " + hex32(magic) + "), " +
                         expected);
  size_t headerSize = 4 + 4 * size_t(dims);
  if (bytes.size() < headerSize)
    return Status::error(path + ": truncated: the header needs " +
                         std::to_string(headerSize) + " bytes, the file has " +
                         std::to_string(bytes.size()));
  uint64_t sizes[4] = {1, 1, 1, 1};
  for (uint8_t d = 0; d < dims; ++d) {
    sizes[d] = readBigEndian32(bytes.data() + 4 + 4 * d);
    if (sizes[d] == 0)
      return Status::error(path + ": IDX dimension " + std::to_string(d) +
                           " is 0, expected at least one image of at least "
                           "one pixel");
  }
  ImageSet images;
  images.count = int64_t(sizes[0]);
  images.shape = {int64_t(sizes[1]), int64_t(sizes[2]), int64_t(sizes[3])};
  // Each factor is below 2^32, the product of four may overflow: check.
  uint64_t total = 0;
  if (__builtin_mul_overflow(sizes[0], uint64_t(images.shape.size()), &total))
    return Status::error(path + ": IDX sizes overflow");
  uint64_t have = bytes.size() - headerSize;
  std::string promised = "the header promises " + std::to_string(images.count) +
                         " images of " + images.shape.str() + " (" +
                         std::to_string(total) + " bytes)";
  if (have < total)
    return Status::error(path + ": truncated: " + promised + ", the file has " +
                         std::to_string(have));
  if (have > total)
    return Status::error(path + ": " + std::to_string(have - total) +
                         " bytes after the data: " + promised);
  images.pixels.assign(bytes.begin() + headerSize, bytes.end());
  return images;
}

Status st::rt::writeIdx(const std::string &path, const ImageSet &images,
                        bool compress) {
  uint8_t dims = images.shape.channels == 1 ? 3 : 4;
  std::vector<uint8_t> out = {0, 0, kIdxUnsignedByte, dims};
  appendBigEndian32(out, uint32_t(images.count));
  appendBigEndian32(out, uint32_t(images.shape.height));
  appendBigEndian32(out, uint32_t(images.shape.width));
  if (dims == 4)
    appendBigEndian32(out, uint32_t(images.shape.channels));
  out.insert(out.end(), images.pixels.begin(),
             images.pixels.begin() + images.count * images.shape.size());
  if (compress)
    out = gzip(out);
  return writeFile(path, out.data(), out.size());
}

//===----------------------------------------------------------------------===//
// CIFAR-10
//===----------------------------------------------------------------------===//

Expected<ImageSet> st::rt::readCifar10(const std::string &path) {
  Expected<std::vector<uint8_t>> file = readFile(path);
  if (!file)
    return file.status();
  const std::vector<uint8_t> &bytes = *file;
  const std::string expected = "expected CIFAR-10 records of " +
                               std::to_string(kCifar10RecordSize) +
                               " bytes (1 label + 32x32x3 pixels)";
  if (bytes.empty())
    return Status::error(path + ": file is empty, " + expected);
  if (bytes.size() % kCifar10RecordSize != 0)
    return Status::error(
        path + ": truncated: " + std::to_string(bytes.size()) +
        " bytes = " + std::to_string(bytes.size() / kCifar10RecordSize) +
        " records + " + std::to_string(bytes.size() % kCifar10RecordSize) +
        " bytes, " + expected);
  ImageSet images;
  images.shape = {32, 32, 3};
  images.count = int64_t(bytes.size() / kCifar10RecordSize);
  images.pixels.resize(size_t(images.count) * 3072);
  for (int64_t i = 0; i < images.count; ++i) {
    const uint8_t *record = bytes.data() + i * kCifar10RecordSize;
    if (record[0] > 9)
      return Status::error(path + ": record " + std::to_string(i) +
                           " has label " + std::to_string(record[0]) +
                           ", not a CIFAR-10 file: " + expected +
                           " with labels 0-9");
    uint8_t *out = images.image(i);
    for (int64_t p = 0; p < 1024; ++p)
      for (int64_t c = 0; c < 3; ++c)
        out[3 * p + c] = record[1 + c * 1024 + p];
  }
  return images;
}

Status st::rt::writeCifar10(const std::string &path, const ImageSet &images,
                            const std::vector<uint8_t> &labels) {
  if (images.shape != ImageShape{32, 32, 3})
    return Status::error(path + ": CIFAR-10 images are 32x32x3, got " +
                         images.shape.str());
  if (labels.size() != size_t(images.count))
    return Status::error(path + ": " + std::to_string(images.count) +
                         " images but " + std::to_string(labels.size()) +
                         " labels");
  std::vector<uint8_t> out(size_t(images.count) * kCifar10RecordSize);
  for (int64_t i = 0; i < images.count; ++i) {
    uint8_t *record = out.data() + i * kCifar10RecordSize;
    record[0] = labels[i];
    const uint8_t *in = images.image(i);
    for (int64_t p = 0; p < 1024; ++p)
      for (int64_t c = 0; c < 3; ++c)
        record[1 + c * 1024 + p] = in[3 * p + c];
  }
  return writeFile(path, out.data(), out.size());
}

//===----------------------------------------------------------------------===//
// PNG
//===----------------------------------------------------------------------===//

namespace {

/// Decodes PNG bytes with libpng's simplified API; `name` prefixes errors.
Expected<ImageSet> decodePng(const std::vector<uint8_t> &bytes,
                             const std::string &name) {
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  if (bytes.size() < 8 || png_sig_cmp(bytes.data(), 0, 8) != 0)
    return Status::error(name + ": wrong magic, expected a PNG file");
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    return Status::error(name + ": not a valid PNG file: " + image.message);
  bool color = image.format & PNG_FORMAT_FLAG_COLOR;
  image.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  ImageSet result;
  result.count = 1;
  result.shape = {int64_t(image.height), int64_t(image.width), color ? 3 : 1};
  // Zero-filled: libpng composes an alpha channel onto the buffer, i.e.
  // onto black.
  result.pixels.assign(PNG_IMAGE_SIZE(image), 0);
  if (!png_image_finish_read(&image, /*background=*/nullptr,
                             result.pixels.data(), /*row_stride=*/0,
                             /*colormap=*/nullptr)) {
    std::string message = image.message;
    png_image_free(&image);
    return Status::error(name + ": corrupt or truncated PNG: " + message);
  }
  return result;
}

/// libpng's error callback: keep the message, unwind to the setjmp.
void pngError(png_structp png, png_const_charp message) {
  auto *text = static_cast<std::string *>(png_get_error_ptr(png));
  *text = message;
  png_longjmp(png, 1);
}

void pngWarning(png_structp, png_const_charp) {}

void pngWrite(png_structp png, png_bytep data, size_t size) {
  auto *out = static_cast<std::vector<uint8_t> *>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}

void pngFlush(png_structp) {}

/// The libpng write sequence. Kept free of objects with destructors, since
/// libpng's errors unwind with longjmp.
bool encodePngRaw(const uint8_t *pixels, const ImageShape &shape, int level,
                  std::vector<uint8_t> *out, std::string *error) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, error,
                                            pngError, pngWarning);
  if (!png)
    return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  int colorType = shape.channels == 1   ? PNG_COLOR_TYPE_GRAY
                  : shape.channels == 2 ? PNG_COLOR_TYPE_GRAY_ALPHA
                  : shape.channels == 3 ? PNG_COLOR_TYPE_RGB
                                        : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_write_fn(png, out, pngWrite, pngFlush);
  png_set_compression_level(png, level);
  png_set_compression_mem_level(png, 9);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_ALL_FILTERS);
  png_set_IHDR(png, info, png_uint_32(shape.width), png_uint_32(shape.height),
               8, colorType, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int64_t row = 0; row < shape.height; ++row)
    png_write_row(png, pixels + row * shape.width * shape.channels);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

} // namespace

Expected<ImageSet> st::rt::readPng(const std::string &path) {
  Expected<std::vector<uint8_t>> file = readFile(path);
  if (!file)
    return file.status();
  return decodePng(*file, path);
}

Expected<ImageSet> st::rt::readPngFolder(const std::string &path) {
  DIR *dir = ::opendir(path.c_str());
  if (!dir)
    return Status::error(path +
                         ": cannot open folder: " + std::strerror(errno));
  std::vector<std::string> names;
  while (dirent *entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.size() > 4 && extensionOf(name) == ".png" &&
        name.compare(name.size() - 3, 3, ".gz") != 0)
      names.push_back(name);
  }
  ::closedir(dir);
  if (names.empty())
    return Status::error(path + ": no .png files in the folder, expected "
                                "a folder of PNG images");
  std::sort(names.begin(), names.end());
  ImageSet images;
  for (const std::string &name : names) {
    std::string file = path + "/" + name;
    Expected<ImageSet> one = readPng(file);
    if (!one)
      return one.status();
    if (images.count == 0) {
      images.shape = one->shape;
      images.pixels.reserve(names.size() * size_t(images.shape.size()));
    } else if (one->shape != images.shape) {
      return Status::error(file + ": image is " + one->shape.str() +
                           ", expected " + images.shape.str() + " like " +
                           path + "/" + names.front());
    }
    images.pixels.insert(images.pixels.end(), one->pixels.begin(),
                         one->pixels.end());
    ++images.count;
  }
  return images;
}

Expected<std::vector<uint8_t>>
st::rt::encodePng(const uint8_t *pixels, const ImageShape &shape, int level) {
  if (shape.height < 1 || shape.width < 1 || shape.channels < 1 ||
      shape.channels > 4)
    return Status::error("cannot write a PNG of shape " + shape.str() +
                         ": expected 1 to 4 channels and a positive size");
  std::vector<uint8_t> out;
  std::string error;
  if (!encodePngRaw(pixels, shape, std::clamp(level, 0, 9), &out, &error))
    return Status::error(
        "PNG encoding failed: " +
        (error.empty() ? std::string("out of memory") : error));
  return out;
}

Status st::rt::writePng(const std::string &path, const uint8_t *pixels,
                        const ImageShape &shape, int level) {
  Expected<std::vector<uint8_t>> bytes = encodePng(pixels, shape, level);
  if (!bytes)
    return Status::error(path + ": " + bytes.message());
  return writeFile(path, bytes->data(), bytes->size());
}

ImageSet st::rt::tileImages(const ImageSet &images, int64_t columns,
                            int64_t padding, uint8_t background) {
  const ImageShape &s = images.shape;
  columns = std::max<int64_t>(1, std::min(columns, images.count));
  int64_t rows = (images.count + columns - 1) / columns;
  ImageSet grid;
  grid.count = 1;
  grid.shape = {rows * s.height + (rows + 1) * padding,
                columns * s.width + (columns + 1) * padding, s.channels};
  grid.pixels.assign(size_t(grid.shape.size()), background);
  int64_t rowBytes = s.width * s.channels;
  for (int64_t i = 0; i < images.count; ++i) {
    int64_t top = padding + (i / columns) * (s.height + padding);
    int64_t left = padding + (i % columns) * (s.width + padding);
    for (int64_t y = 0; y < s.height; ++y)
      std::memcpy(grid.pixels.data() +
                      ((top + y) * grid.shape.width + left) * s.channels,
                  images.image(i) + y * rowBytes, size_t(rowBytes));
  }
  return grid;
}
