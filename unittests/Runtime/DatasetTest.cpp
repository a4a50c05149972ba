//===- DatasetTest.cpp - Tests of format detection and image datasets -----===//

#include "st/Runtime/Dataset.h"
#include "st/Runtime/Audio.h"

#include "TempDir.h"

#include <cmath>
#include <cstring>
#include <set>

using namespace st::rt;
using st::test::contains;
using st::test::TempDir;
using st::test::writeBytes;

namespace {

/// `count` images whose bytes all equal the image's index + 1, so a row of
/// a batch tells which image it is.
ImageSet labelledImages(int64_t count, ImageShape shape) {
  ImageSet images;
  images.shape = shape;
  images.count = count;
  for (int64_t i = 0; i < count; ++i)
    images.pixels.insert(images.pixels.end(), size_t(shape.size()),
                         uint8_t(i + 1));
  return images;
}

TEST(DataFormatTest, NamesRoundTrip) {
  for (DataFormat f : {DataFormat::Auto, DataFormat::Bytes, DataFormat::Idx,
                       DataFormat::Cifar10, DataFormat::Png, DataFormat::Wav})
    EXPECT_EQ(parseDataFormat(dataFormatName(f)), f);
  EXPECT_FALSE(parseDataFormat("jpeg"));
}

TEST(DataFormatTest, DetectsByMagicThenExtension) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ImageSet grey = labelledImages(2, {4, 4, 1});
  ASSERT_TRUE(writeIdx(dir.path("a.idx"), grey).isOk());
  // The magic number wins over a misleading name, also inside gzip data.
  ASSERT_TRUE(writeIdx(dir.path("images.txt"), grey).isOk());
  ASSERT_TRUE(writeIdx(dir.path("images.gz"), grey, true).isOk());
  ASSERT_TRUE(writePng(dir.path("pic.dat"), grey.image(0), grey.shape).isOk());
  ASSERT_TRUE(writePcmWav(dir.path("sound.bin"), {0, 1}, 1, 16, 8000).isOk());
  ASSERT_TRUE(std::filesystem::create_directory(dir.path("folder")));
  // Without a magic number the extension decides.
  writeBytes(dir.path("t10k-images-idx3-ubyte"), {'x'});
  writeBytes(dir.path("bad.png"), {'x'});
  writeBytes(dir.path("bad.wav"), {'x'});
  writeBytes(dir.path("data_batch_1.bin"), {'x'});
  writeBytes(dir.path("text.txt"), {'h', 'i'});
  writeBytes(dir.path("noext"), {'h', 'i'});
  std::pair<const char *, DataFormat> cases[] = {
      {"a.idx", DataFormat::Idx},
      {"images.txt", DataFormat::Idx},
      {"images.gz", DataFormat::Idx},
      {"pic.dat", DataFormat::Png},
      {"sound.bin", DataFormat::Wav},
      {"folder", DataFormat::Png},
      {"t10k-images-idx3-ubyte", DataFormat::Idx},
      {"bad.png", DataFormat::Png},
      {"bad.wav", DataFormat::Wav},
      {"data_batch_1.bin", DataFormat::Cifar10},
      {"text.txt", DataFormat::Bytes},
      {"noext", DataFormat::Bytes}};
  for (auto [name, format] : cases) {
    Expected<DataFormat> detected = detectDataFormat(dir.path(name));
    ASSERT_TRUE(detected) << detected.message();
    EXPECT_EQ(*detected, format) << name;
  }
  Expected<DataFormat> missing = detectDataFormat(dir.path("nope"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.message(), dir.path("nope") + ": no such file");
}

TEST(ImageDatasetTest, SplitsBatchesAndEvaluatesWholeImages) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ImageShape shape{3, 5, 1};
  std::string path = dir.path("train.idx.gz");
  ASSERT_TRUE(writeIdx(path, labelledImages(20, shape), true).isOk());
  Expected<Dataset> data = Dataset::load(path, DataFormat::Auto, 15, 0.25);
  ASSERT_TRUE(data) << data.message();
  EXPECT_TRUE(data->isImages());
  EXPECT_EQ(data->format(), DataFormat::Idx);
  EXPECT_EQ(data->imageShape(), shape);
  EXPECT_EQ(data->summary(), "20 images of 3x5x1 (15 train / 5 validation)");

  // Training rows: the start byte, then a whole training image.
  std::vector<uint8_t> batch, again;
  std::set<int> seen;
  for (uint64_t step = 0; step < 50; ++step) {
    ASSERT_TRUE(data->trainBatch(step, 4, 15, 7, batch).isOk());
    ASSERT_EQ(batch.size(), 4u * 16);
    for (int row = 0; row < 4; ++row) {
      const uint8_t *r = batch.data() + row * 16;
      EXPECT_EQ(r[0], kImageStartByte);
      EXPECT_GE(r[1], 1);
      EXPECT_LE(r[1], 15) << "a validation image in a training batch";
      for (int i = 2; i < 16; ++i)
        EXPECT_EQ(r[i], r[1]);
      seen.insert(r[1]);
    }
  }
  EXPECT_EQ(seen.size(), 15u) << "every training image is drawn";
  // The batch is a function of (seed, step).
  ASSERT_TRUE(data->trainBatch(3, 4, 15, 7, batch).isOk());
  ASSERT_TRUE(data->trainBatch(3, 4, 15, 7, again).isOk());
  EXPECT_EQ(batch, again);
  ASSERT_TRUE(data->trainBatch(3, 4, 15, 8, again).isOk());
  EXPECT_NE(batch, again);

  // Evaluation: the held-out tail, in order.
  std::vector<ByteSpan> seqs = data->evalSequences(15);
  ASSERT_EQ(seqs.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_EQ(seqs[i].size, 16u);
    EXPECT_EQ(seqs[i][0], kImageStartByte);
    EXPECT_EQ(seqs[i][15], 16 + i);
  }
  ImageSet val = data->validationImages();
  EXPECT_EQ(val.count, 5);
  EXPECT_EQ(val.image(0)[0], 16);
}

TEST(ImageDatasetTest, WholeFileForEvaluation) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("test_batch.bin");
  ImageSet images = labelledImages(3, {32, 32, 3});
  ASSERT_TRUE(writeCifar10(path, images, {0, 1, 2}).isOk());
  Expected<Dataset> data = Dataset::load(path, DataFormat::Auto, 3072, 1.0);
  ASSERT_TRUE(data) << data.message();
  EXPECT_EQ(data->format(), DataFormat::Cifar10);
  EXPECT_EQ(data->evalSequences(3072).size(), 3u);
  std::vector<uint8_t> batch;
  Status s = data->trainBatch(0, 1, 3072, 0, batch);
  ASSERT_TRUE(s.isError());
  EXPECT_EQ(s.message(),
            path + ": no training images (all 3 are held out for validation)");
}

TEST(ImageDatasetTest, ImagesOfTheWrongSize) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("mnist.idx");
  ASSERT_TRUE(writeIdx(path, labelledImages(2, {28, 28, 1})).isOk());
  Expected<Dataset> data = Dataset::load(path, DataFormat::Auto, 3072, 0.05);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.message(), path + ": images are 28x28x1 = 784 bytes, "
                                   "expected 3072 bytes each (the model's "
                                   "context)");
}

TEST(ImageDatasetTest, FormatOverrideAndItsErrors) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  // A text file forced to be read as IDX fails on its magic number.
  std::string path = dir.path("notes.txt");
  writeBytes(path, std::vector<uint8_t>(100, 'a'));
  Expected<Dataset> data = Dataset::load(path, DataFormat::Idx, 16, 0.05);
  ASSERT_FALSE(data);
  EXPECT_TRUE(contains(data.message(), path + ": wrong magic 0x61616161"))
      << data.message();
  // As bytes it is a stream.
  data = Dataset::load(path, DataFormat::Bytes, 16, 0.2);
  ASSERT_TRUE(data) << data.message();
  EXPECT_FALSE(data->isImages());
  EXPECT_EQ(data->summary(), "80 train / 20 validation bytes");
  // A folder read as PNG images.
  ASSERT_TRUE(std::filesystem::create_directory(dir.path("pngs")));
  ImageSet images = labelledImages(4, {2, 2, 3});
  for (int64_t i = 0; i < 4; ++i)
    ASSERT_TRUE(writePng(dir.path("pngs/" + std::to_string(i) + ".png"),
                         images.image(i), images.shape)
                    .isOk());
  data = Dataset::load(dir.path("pngs"), DataFormat::Auto, 12, 0.05);
  ASSERT_TRUE(data) << data.message();
  EXPECT_EQ(data->summary(), "4 images of 2x2x3 (3 train / 1 validation)");
}

TEST(AudioDatasetTest, WavIsAStreamOfMuLawSamples) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::vector<int32_t> pcm;
  for (int i = 0; i < 1000; ++i)
    pcm.push_back(int32_t(20000 * std::sin(i * 0.05)));
  std::string path = dir.path("voice.wav");
  ASSERT_TRUE(writePcmWav(path, pcm, 1, 16, 16000).isOk());
  Expected<Dataset> data = Dataset::load(path, DataFormat::Auto, 63, 0.1);
  ASSERT_TRUE(data) << data.message();
  EXPECT_EQ(data->format(), DataFormat::Wav);
  EXPECT_EQ(data->sampleRate(), 16000);
  EXPECT_EQ(data->summary(),
            "900 train / 100 validation mu-law samples at 16000 Hz");
  std::vector<ByteSpan> seqs = data->evalSequences(63);
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(seqs[0][0], muLawEncode(pcm[900] / 32768.0));
}

} // namespace
