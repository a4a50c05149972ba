//===- ImagesTest.cpp - Tests of the image readers and writers ------------===//

#include "st/Runtime/Images.h"
#include "st/Runtime/Files.h"

#include "TempDir.h"

#include <png.h>

#include <csetjmp>
#include <cstring>
#include <random>

using namespace st::rt;
using st::test::contains;
using st::test::readBytes;
using st::test::TempDir;
using st::test::writeBytes;

namespace {

ImageSet randomImages(int64_t count, ImageShape shape, uint32_t seed) {
  std::mt19937 gen(seed);
  ImageSet images;
  images.shape = shape;
  images.count = count;
  images.pixels.resize(size_t(count * shape.size()));
  for (uint8_t &p : images.pixels)
    p = uint8_t(gen());
  return images;
}

void expectSame(const ImageSet &a, const ImageSet &b) {
  EXPECT_EQ(a.shape, b.shape) << a.shape.str() << " vs " << b.shape.str();
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.pixels, b.pixels);
}

/// Decodes PNG bytes with libpng's classic (non-simplified) read API, which
/// the reader under test does not use: an independent check of the writer.
struct Decoded {
  bool ok = false;
  uint32_t width = 0, height = 0;
  int colorType = -1, bitDepth = 0;
  std::vector<uint8_t> pixels;
};

struct MemoryReader {
  const std::vector<uint8_t> *bytes;
  size_t at;
};

void readFromMemory(png_structp png, png_bytep out, size_t size) {
  auto *reader = static_cast<MemoryReader *>(png_get_io_ptr(png));
  if (reader->at + size > reader->bytes->size())
    png_error(png, "read past the end");
  std::memcpy(out, reader->bytes->data() + reader->at, size);
  reader->at += size;
}

bool decodeClassic(const std::vector<uint8_t> &bytes, Decoded *out) {
  MemoryReader reader{&bytes, 0};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &reader, readFromMemory);
  png_read_info(png, info);
  out->width = png_get_image_width(png, info);
  out->height = png_get_image_height(png, info);
  out->colorType = png_get_color_type(png, info);
  out->bitDepth = png_get_bit_depth(png, info);
  size_t rowBytes = png_get_rowbytes(png, info);
  out->pixels.resize(rowBytes * out->height);
  for (uint32_t y = 0; y < out->height; ++y)
    png_read_row(png, out->pixels.data() + y * rowBytes, nullptr);
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  out->ok = true;
  return true;
}

//===----------------------------------------------------------------------===//
// IDX
//===----------------------------------------------------------------------===//

TEST(IdxTest, RoundTripsGreyImages) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ImageSet images = randomImages(5, {7, 9, 1}, 1);
  std::string path = dir.path("images-idx3-ubyte");
  ASSERT_TRUE(writeIdx(path, images).isOk());
  // The file is the documented layout: magic, big-endian sizes, pixels.
  std::vector<uint8_t> raw = readBytes(path);
  ASSERT_EQ(raw.size(), 16u + 5 * 7 * 9);
  EXPECT_EQ(
      std::vector<uint8_t>(raw.begin(), raw.begin() + 16),
      (std::vector<uint8_t>{0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 7, 0, 0, 0, 9}));
  Expected<ImageSet> back = readIdx(path);
  ASSERT_TRUE(back) << back.message();
  expectSame(*back, images);
}

TEST(IdxTest, RoundTripsGzipAndChannels) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ImageSet images = randomImages(3, {4, 6, 3}, 2);
  std::string path = dir.path("rgb.idx.gz");
  ASSERT_TRUE(writeIdx(path, images, /*compress=*/true).isOk());
  EXPECT_TRUE(isGzip(readBytes(path)));
  Expected<ImageSet> back = readIdx(path);
  ASSERT_TRUE(back) << back.message();
  expectSame(*back, images);
}

TEST(IdxTest, MalformedFiles) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ImageSet images = randomImages(4, {5, 5, 1}, 3);
  std::string good = dir.path("good.idx");
  ASSERT_TRUE(writeIdx(good, images).isOk());
  std::vector<uint8_t> bytes = readBytes(good);

  auto errorOf = [&](const std::string &name, std::vector<uint8_t> content) {
    std::string path = dir.path(name);
    writeBytes(path, content);
    Expected<ImageSet> result = readIdx(path);
    EXPECT_FALSE(result) << name;
    EXPECT_EQ(result.message().rfind(path + ": ", 0), 0u) << result.message();
    EXPECT_EQ(result.message().find('\n'), std::string::npos);
    return result.message();
  };
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r'};
  EXPECT_TRUE(contains(errorOf("text.idx", text), "wrong magic 0x68656c6c"));
  std::vector<uint8_t> labels = {0, 0, 8, 1, 0, 0, 0, 2, 3, 4};
  EXPECT_TRUE(contains(errorOf("labels.idx", labels), "1 dimension (labels?"));
  std::vector<uint8_t> floats = bytes;
  floats[2] = 0x0D;
  EXPECT_TRUE(contains(errorOf("floats.idx", floats), "IDX of float"));
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 1);
  EXPECT_TRUE(contains(errorOf("cut.idx", cut),
                       "truncated: the header promises 4 images of 5x5x1 "
                       "(100 bytes), the file has 99"));
  std::vector<uint8_t> header(bytes.begin(), bytes.begin() + 10);
  EXPECT_TRUE(contains(errorOf("header.idx", header), "truncated: the header"));
  std::vector<uint8_t> longer = bytes;
  longer.push_back(7);
  EXPECT_TRUE(contains(errorOf("long.idx", longer), "1 bytes after the data"));
  std::vector<uint8_t> zipped = gzip(bytes);
  zipped.resize(zipped.size() - 12);
  EXPECT_TRUE(contains(errorOf("cut.idx.gz", zipped), "truncated gzip data"));
  std::vector<uint8_t> zero = bytes;
  zero[7] = 0; // count 0
  zero.resize(16);
  EXPECT_TRUE(contains(errorOf("zero.idx", zero), "dimension 0 is 0"));
}

//===----------------------------------------------------------------------===//
// CIFAR-10
//===----------------------------------------------------------------------===//

TEST(Cifar10Test, RoundTripsAndInterleavesChannels) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ImageSet images = randomImages(3, {32, 32, 3}, 4);
  std::vector<uint8_t> labels = {7, 0, 9};
  std::string path = dir.path("data_batch_1.bin");
  ASSERT_TRUE(writeCifar10(path, images, labels).isOk());
  std::vector<uint8_t> raw = readBytes(path);
  ASSERT_EQ(raw.size(), 3u * 3073);
  // The file is channel-planar: record i = label, 1024 R, 1024 G, 1024 B,
  // each plane row-major; the images are raster order (row, column,
  // channel).
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(raw[i * 3073], labels[i]);
    for (int64_t y : {0, 5, 31})
      for (int64_t x : {0, 17, 31})
        for (int64_t c = 0; c < 3; ++c)
          EXPECT_EQ(raw[i * 3073 + 1 + c * 1024 + y * 32 + x],
                    images.image(i)[(y * 32 + x) * 3 + c]);
  }
  Expected<ImageSet> back = readCifar10(path);
  ASSERT_TRUE(back) << back.message();
  expectSame(*back, images);
}

TEST(Cifar10Test, MalformedFiles) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ImageSet images = randomImages(2, {32, 32, 3}, 5);
  std::string path = dir.path("batch.bin");
  ASSERT_TRUE(writeCifar10(path, images, {1, 2}).isOk());
  std::vector<uint8_t> bytes = readBytes(path);

  std::string cut = dir.path("cut.bin");
  writeBytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.end() - 5));
  Expected<ImageSet> result = readCifar10(cut);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.message(),
            cut + ": truncated: 6141 bytes = 1 records + 3068 bytes, expected "
                  "CIFAR-10 records of 3073 bytes (1 label + 32x32x3 pixels)");

  std::string label = dir.path("label.bin");
  bytes[3073] = 200;
  writeBytes(label, bytes);
  result = readCifar10(label);
  ASSERT_FALSE(result);
  EXPECT_TRUE(contains(result.message(),
                       label + ": record 1 has label 200, not a CIFAR-10 "
                               "file"))
      << result.message();

  std::string empty = dir.path("empty.bin");
  writeBytes(empty, {});
  result = readCifar10(empty);
  ASSERT_FALSE(result);
  EXPECT_TRUE(contains(result.message(), empty + ": file is empty"));

  EXPECT_TRUE(
      writeCifar10(dir.path("x.bin"), randomImages(1, {28, 28, 1}, 6), {0})
          .isError());
}

//===----------------------------------------------------------------------===//
// PNG
//===----------------------------------------------------------------------===//

TEST(PngTest, WriterOutputDecodesToTheBytes) {
  for (int64_t channels : {1, 3}) {
    ImageSet image = randomImages(1, {13, 29, channels}, 7);
    // A smooth part too, so that the filters and deflate have work to do.
    for (int64_t i = 0; i < 29 * channels; ++i)
      image.pixels[i] = uint8_t(i);
    for (int level : {0, 9}) {
      Expected<std::vector<uint8_t>> png =
          encodePng(image.pixels.data(), image.shape, level);
      ASSERT_TRUE(png) << png.message();
      Decoded decoded;
      ASSERT_TRUE(decodeClassic(*png, &decoded));
      EXPECT_EQ(decoded.width, 29u);
      EXPECT_EQ(decoded.height, 13u);
      EXPECT_EQ(decoded.bitDepth, 8);
      EXPECT_EQ(decoded.colorType,
                channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB);
      EXPECT_EQ(decoded.pixels, image.pixels) << "channels " << channels;
    }
  }
}

TEST(PngTest, MaximumCompressionIsSmaller) {
  ImageSet image;
  image.shape = {64, 64, 1};
  image.count = 1;
  for (int64_t y = 0; y < 64; ++y)
    for (int64_t x = 0; x < 64; ++x)
      image.pixels.push_back(uint8_t((x * y) / 16));
  Expected<std::vector<uint8_t>> stored =
      encodePng(image.pixels.data(), image.shape, 0);
  Expected<std::vector<uint8_t>> best =
      encodePng(image.pixels.data(), image.shape, 9);
  ASSERT_TRUE(stored && best);
  EXPECT_GT(stored->size(), 64u * 64u);
  EXPECT_LT(best->size(), stored->size() / 2);
}

TEST(PngTest, FileAndFolderRoundTrip) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ImageSet images = randomImages(3, {8, 5, 3}, 8);
  ASSERT_TRUE(std::filesystem::create_directory(dir.path("set")));
  // Written out of order: the folder is read in order of file name.
  for (int64_t i : {2, 0, 1})
    ASSERT_TRUE(writePng(dir.path("set/img" + std::to_string(i) + ".png"),
                         images.image(i), images.shape)
                    .isOk());
  writeBytes(dir.path("set/notes.txt"), {'x'});
  Expected<ImageSet> one = readPng(dir.path("set/img1.png"));
  ASSERT_TRUE(one) << one.message();
  EXPECT_EQ(one->count, 1);
  EXPECT_EQ(one->shape, images.shape);
  EXPECT_TRUE(
      std::equal(one->pixels.begin(), one->pixels.end(), images.image(1)));
  Expected<ImageSet> all = readPngFolder(dir.path("set"));
  ASSERT_TRUE(all) << all.message();
  expectSame(*all, images);
}

TEST(PngTest, ReadsAlphaOntoBlackAndGreyAsOneChannel) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  // RGBA: an opaque pixel keeps its colour, a transparent one is black.
  std::vector<uint8_t> rgba = {10, 200, 30, 255, 90, 80, 70, 0};
  std::string path = dir.path("alpha.png");
  ASSERT_TRUE(writePng(path, rgba.data(), {1, 2, 4}).isOk());
  Expected<ImageSet> read = readPng(path);
  ASSERT_TRUE(read) << read.message();
  EXPECT_EQ(read->shape, (ImageShape{1, 2, 3}));
  EXPECT_EQ(read->pixels, (std::vector<uint8_t>{10, 200, 30, 0, 0, 0}));
}

TEST(PngTest, MalformedFiles) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string text = dir.path("text.png");
  writeBytes(text, {'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'});
  Expected<ImageSet> result = readPng(text);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.message(), text + ": wrong magic, expected a PNG file");

  ImageSet image = randomImages(1, {16, 16, 1}, 9);
  Expected<std::vector<uint8_t>> png =
      encodePng(image.pixels.data(), image.shape);
  ASSERT_TRUE(png);
  std::string cut = dir.path("cut.png");
  writeBytes(cut, std::vector<uint8_t>(png->begin(), png->begin() + 100));
  result = readPng(cut);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.message().rfind(cut + ": ", 0), 0u) << result.message();
  EXPECT_EQ(result.message().find('\n'), std::string::npos);

  // A folder of images of two shapes names the odd one out.
  ASSERT_TRUE(std::filesystem::create_directory(dir.path("mixed")));
  ASSERT_TRUE(
      writePng(dir.path("mixed/a.png"), image.pixels.data(), image.shape)
          .isOk());
  ASSERT_TRUE(writePng(dir.path("mixed/b.png"), image.pixels.data(), {8, 32, 1})
                  .isOk());
  result = readPngFolder(dir.path("mixed"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.message(), dir.path("mixed/b.png") +
                                  ": image is 8x32x1, expected 16x16x1 like " +
                                  dir.path("mixed/a.png"));

  ASSERT_TRUE(std::filesystem::create_directory(dir.path("none")));
  result = readPngFolder(dir.path("none"));
  ASSERT_FALSE(result);
  EXPECT_TRUE(contains(result.message(), "no .png files"));
}

TEST(PngTest, TilesImagesIntoAGrid) {
  ImageSet images = randomImages(5, {2, 3, 1}, 10);
  ImageSet grid = tileImages(images, /*columns=*/2, /*padding=*/1, 255);
  // 3 rows x 2 columns of 2x3 images with 1 pixel of padding.
  EXPECT_EQ(grid.shape, (ImageShape{3 * 2 + 4, 2 * 3 + 3, 1}));
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t y = 0; y < 2; ++y)
      for (int64_t x = 0; x < 3; ++x) {
        int64_t top = 1 + (i / 2) * 3, left = 1 + (i % 2) * 4;
        EXPECT_EQ(grid.pixels[(top + y) * grid.shape.width + left + x],
                  images.image(i)[y * 3 + x]);
      }
  EXPECT_EQ(grid.pixels[0], 255);
  // The empty sixth cell is background.
  EXPECT_EQ(grid.pixels[(7 + 1) * grid.shape.width + 5 + 1], 255);
}

} // namespace
