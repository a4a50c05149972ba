//===- AudioTest.cpp - Tests of mu-law and the WAV reader and writer ------===//

#include "st/Runtime/Audio.h"

#include "TempDir.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using namespace st::rt;
using st::test::contains;
using st::test::readBytes;
using st::test::TempDir;
using st::test::writeBytes;

namespace {

/// The continuous mu-law curve evaluated in long double: the level before
/// rounding, (F(x) + 1) * 255 / 2.
long double referenceLevel(long double x) {
  long double f = std::log1p(255.0L * std::fabs(x)) / std::log1p(255.0L);
  return (std::copysign(f, x) + 1.0L) * 127.5L;
}

/// The inverse curve at a (possibly fractional) level.
long double referenceDecode(long double level) {
  long double y = 2.0L * level / 255.0L - 1.0L;
  return std::copysign((std::pow(256.0L, std::fabs(y)) - 1.0L) / 255.0L, y);
}

TEST(MuLawTest, EncodeMatchesClosedForm) {
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> xs = {-1.0, -0.5, -1e-6, 0.0, 1e-6, 0.25, 1.0};
  for (int i = 0; i < 100000; ++i)
    xs.push_back(uniform(gen));
  // Small amplitudes, where the curve is steepest.
  for (int i = 0; i < 10000; ++i)
    xs.push_back(uniform(gen) * 1e-3);
  for (double x : xs) {
    long double level = referenceLevel(x);
    long double fraction = level - std::floor(level);
    // Ties are decided by double rounding; away from them the byte is the
    // nearest level exactly.
    if (std::fabs(fraction - 0.5L) < 1e-9L)
      continue;
    EXPECT_EQ(int(muLawEncode(x)), int(std::floor(level + 0.5L))) << x;
  }
  EXPECT_EQ(muLawEncode(-1.0), 0);
  EXPECT_EQ(muLawEncode(1.0), 255);
  EXPECT_EQ(muLawEncode(-3.0), 0);
  EXPECT_EQ(muLawEncode(3.0), 255);
  EXPECT_EQ(muLawEncode(NAN), 0);
}

TEST(MuLawTest, DecodeMatchesClosedForm) {
  // 1e-12: double evaluation of expm1/log1p, a few ulps of values <= 1.
  for (int b = 0; b < 256; ++b)
    EXPECT_NEAR(muLawDecode(uint8_t(b)), double(referenceDecode(b)), 1e-12)
        << b;
  EXPECT_DOUBLE_EQ(muLawDecode(0), -1.0);
  EXPECT_DOUBLE_EQ(muLawDecode(255), 1.0);
}

TEST(MuLawTest, DecodeInvertsEncode) {
  for (int b = 0; b < 256; ++b)
    EXPECT_EQ(int(muLawEncode(muLawDecode(uint8_t(b)))), b);
  // Quantisation: rounding happens on the companded scale, so x lies
  // between the inverse curve at the level b -/+ one half.
  std::mt19937_64 gen(12);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (int i = 0; i < 10000; ++i) {
    double x = uniform(gen);
    int b = muLawEncode(x);
    double low = double(referenceDecode(std::max(b - 0.5L, 0.0L)));
    double high = double(referenceDecode(std::min(b + 0.5L, 255.0L)));
    EXPECT_GE(x, low - 1e-12);
    EXPECT_LE(x, high + 1e-12);
  }
}

TEST(WavTest, Reads16BitMono) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::mt19937 gen(13);
  std::vector<int32_t> pcm = {-32768, -1, 0, 1, 32767};
  for (int i = 0; i < 1000; ++i)
    pcm.push_back(int32_t(gen() % 65536) - 32768);
  std::string path = dir.path("mono.wav");
  ASSERT_TRUE(writePcmWav(path, pcm, 1, 16, 22050).isOk());
  Expected<MuLawAudio> audio = readWav(path);
  ASSERT_TRUE(audio) << audio.message();
  EXPECT_EQ(audio->sampleRate, 22050);
  ASSERT_EQ(audio->samples.size(), pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i)
    EXPECT_EQ(audio->samples[i], muLawEncode(pcm[i] / 32768.0)) << i;
}

TEST(WavTest, Reads8BitStereoAsTheMeanOfTheChannels) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  // Frames (left, right); 8-bit PCM is unsigned with 128 as zero.
  std::vector<int32_t> pcm = {0, 255, 128, 128, 255, 255, 0,
                              0, 64,  192, 200, 100, 17};
  pcm.pop_back(); // whole frames only
  std::string path = dir.path("stereo.wav");
  ASSERT_TRUE(writePcmWav(path, pcm, 2, 8, 8000).isOk());
  Expected<MuLawAudio> audio = readWav(path);
  ASSERT_TRUE(audio) << audio.message();
  EXPECT_EQ(audio->sampleRate, 8000);
  ASSERT_EQ(audio->samples.size(), pcm.size() / 2);
  for (size_t f = 0; f < pcm.size() / 2; ++f) {
    double mean =
        ((pcm[2 * f] - 128) / 128.0 + (pcm[2 * f + 1] - 128) / 128.0) / 2;
    EXPECT_EQ(audio->samples[f], muLawEncode(mean)) << f;
  }
}

TEST(WavTest, MuLawRoundTripsThroughAWavFile) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::vector<uint8_t> samples(256);
  for (int b = 0; b < 256; ++b)
    samples[b] = uint8_t((b * 37) % 256);
  std::string path = dir.path("sample.wav");
  ASSERT_TRUE(writeWav(path, samples.data(), samples.size(), 16000).isOk());
  std::vector<uint8_t> raw = readBytes(path);
  EXPECT_EQ(raw.size(), 44u + 2 * 256);
  Expected<MuLawAudio> audio = readWav(path);
  ASSERT_TRUE(audio) << audio.message();
  EXPECT_EQ(audio->sampleRate, 16000);
  EXPECT_EQ(audio->samples, samples);
}

TEST(WavTest, SkipsOtherChunksAndReadsExtensiblePcm) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("plain.wav");
  ASSERT_TRUE(writePcmWav(path, {0, 1000, -1000}, 1, 16, 44100).isOk());
  std::vector<uint8_t> raw = readBytes(path);
  // Insert an odd-sized LIST chunk (padded to even) before "data" and turn
  // the format into WAVE_FORMAT_EXTENSIBLE with the PCM sub-format.
  std::vector<uint8_t> list = {'L', 'I', 'S', 'T', 3,   0,
                               0,   0,   'a', 'b', 'c', 0};
  raw.insert(raw.begin() + 36, list.begin(), list.end());
  raw[20] = 0xFE;
  raw[21] = 0xFF;
  // Extensible fmt chunks are 40 bytes; the sub-format sits at offset 24.
  std::vector<uint8_t> extension(24, 0);
  extension[0] = 22; // cbSize
  extension[8] = 1;  // sub-format GUID starts with 0x0001: PCM
  raw[16] = 40;
  raw.insert(raw.begin() + 36, extension.begin(), extension.end());
  std::string odd = dir.path("odd.wav");
  writeBytes(odd, raw);
  Expected<MuLawAudio> audio = readWav(odd);
  ASSERT_TRUE(audio) << audio.message();
  EXPECT_EQ(audio->samples,
            (std::vector<uint8_t>{muLawEncode(0.0), muLawEncode(1000 / 32768.0),
                                  muLawEncode(-1000 / 32768.0)}));
}

TEST(WavTest, MalformedFiles) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string good = dir.path("good.wav");
  ASSERT_TRUE(writePcmWav(good, {1, 2, 3, 4}, 1, 16, 16000).isOk());
  std::vector<uint8_t> bytes = readBytes(good);
  auto errorOf = [&](const std::string &name, std::vector<uint8_t> content) {
    std::string path = dir.path(name);
    writeBytes(path, content);
    Expected<MuLawAudio> result = readWav(path);
    EXPECT_FALSE(result) << name;
    EXPECT_EQ(result.message().rfind(path + ": ", 0), 0u) << result.message();
    EXPECT_EQ(result.message().find('\n'), std::string::npos);
    return result.message();
  };
  std::vector<uint8_t> text(bytes.size(), 'a');
  EXPECT_TRUE(contains(errorOf("text.wav", text),
                       "wrong magic, expected a WAV file (RIFF/WAVE) of 8- "
                       "or 16-bit integer PCM"));
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 3);
  EXPECT_TRUE(contains(errorOf("cut.wav", cut),
                       "truncated: the data chunk holds 8 bytes, the file 5"));
  std::vector<uint8_t> noData(bytes.begin(), bytes.begin() + 36);
  EXPECT_TRUE(contains(errorOf("nodata.wav", noData), "truncated: no data"));
  std::vector<uint8_t> floats = bytes;
  floats[20] = 3; // WAVE_FORMAT_IEEE_FLOAT
  EXPECT_TRUE(contains(errorOf("float.wav", floats), "WAV format 3"));
  std::vector<uint8_t> deep = bytes;
  deep[34] = 24;
  EXPECT_TRUE(contains(errorOf("deep.wav", deep), "24-bit samples"));
  std::vector<uint8_t> empty = bytes;
  empty.resize(44);
  empty[40] = 0;
  EXPECT_TRUE(contains(errorOf("empty.wav", empty), "no samples"));
}

} // namespace
