//===- Audio.cpp - WAV files as 8-bit mu-law bytes ------------------------===//

#include "st/Runtime/Audio.h"

#include "st/Runtime/Files.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace st::rt;

uint8_t st::rt::muLawEncode(double x) {
  if (!(x > -1.0))
    x = -1.0; // also NaN
  if (x > 1.0)
    x = 1.0;
  double f =
      std::copysign(std::log1p(kMuLaw * std::fabs(x)) / std::log1p(kMuLaw), x);
  double level = std::floor((f + 1.0) * 127.5 + 0.5);
  return static_cast<uint8_t>(std::clamp(level, 0.0, 255.0));
}

double st::rt::muLawDecode(uint8_t byte) {
  double y = 2.0 * byte / 255.0 - 1.0;
  return std::copysign(std::expm1(std::fabs(y) * std::log1p(kMuLaw)) / kMuLaw,
                       y);
}

namespace {

uint32_t readLittle32(const uint8_t *p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) |
         (uint32_t(p[3]) << 24);
}

uint16_t readLittle16(const uint8_t *p) { return uint16_t(p[0] | (p[1] << 8)); }

void appendLittle(std::vector<uint8_t> &out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;
/// The data chunk size streaming writers leave when they cannot seek back.
constexpr uint32_t kUnknownSize = 0xFFFFFFFF;

} // namespace

Expected<MuLawAudio> st::rt::readWav(const std::string &path) {
  Expected<std::vector<uint8_t>> file = readFile(path);
  if (!file)
    return file.status();
  const std::vector<uint8_t> &bytes = *file;
  const std::string expected = "expected a WAV file (RIFF/WAVE) of 8- or "
                               "16-bit integer PCM";
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 ||
      std::memcmp(bytes.data() + 8, "WAVE", 4) != 0)
    return Status::error(path + ": wrong magic, " + expected);
  uint16_t format = 0, channels = 0, bits = 0, blockAlign = 0;
  uint32_t rate = 0;
  bool haveFormat = false;
  size_t at = 12;
  while (true) {
    if (at + 8 > bytes.size())
      return Status::error(path + ": truncated: no data chunk, " + expected);
    const uint8_t *chunk = bytes.data() + at;
    uint32_t size = readLittle32(chunk + 4);
    size_t body = at + 8;
    if (std::memcmp(chunk, "data", 4) == 0) {
      if (!haveFormat)
        return Status::error(path + ": data chunk before the fmt chunk, " +
                             expected);
      size_t available = bytes.size() - body;
      if (size == kUnknownSize)
        size = uint32_t(std::min<size_t>(available, kUnknownSize - 1));
      if (size > available)
        return Status::error(path + ": truncated: the data chunk holds " +
                             std::to_string(size) + " bytes, the file " +
                             std::to_string(available));
      size_t frames = size / blockAlign;
      if (frames == 0)
        return Status::error(path + ": no samples in the data chunk");
      MuLawAudio audio;
      audio.sampleRate = rate;
      audio.samples.resize(frames);
      const uint8_t *data = bytes.data() + body;
      for (size_t f = 0; f < frames; ++f) {
        double sum = 0.0;
        for (uint16_t c = 0; c < channels; ++c) {
          const uint8_t *s = data + f * blockAlign + c * (bits / 8);
          sum += bits == 8 ? (double(s[0]) - 128.0) / 128.0
                           : double(int16_t(readLittle16(s))) / 32768.0;
        }
        audio.samples[f] = muLawEncode(sum / channels);
      }
      return audio;
    }
    if (size > bytes.size() - body)
      return Status::error(path + ": truncated: chunk '" +
                           std::string(chunk, chunk + 4) + "' holds " +
                           std::to_string(size) + " bytes, the file " +
                           std::to_string(bytes.size() - body));
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      if (size < 16)
        return Status::error(path + ": fmt chunk of " + std::to_string(size) +
                             " bytes, expected at least 16");
      const uint8_t *f = bytes.data() + body;
      format = readLittle16(f);
      channels = readLittle16(f + 2);
      rate = readLittle32(f + 4);
      blockAlign = readLittle16(f + 12);
      bits = readLittle16(f + 14);
      // WAVE_FORMAT_EXTENSIBLE names the real format in its sub-format GUID.
      if (format == kFormatExtensible && size >= 26)
        format = readLittle16(f + 24);
      if (format != kFormatPcm)
        return Status::error(path + ": WAV format " + std::to_string(format) +
                             " (not integer PCM), " + expected);
      if (bits != 8 && bits != 16)
        return Status::error(path + ": " + std::to_string(bits) +
                             "-bit samples, " + expected);
      if (channels == 0 || rate == 0 || blockAlign != channels * (bits / 8))
        return Status::error(path + ": inconsistent fmt chunk (" +
                             std::to_string(channels) + " channels, " +
                             std::to_string(rate) + " Hz, block of " +
                             std::to_string(blockAlign) + " bytes)");
      haveFormat = true;
    }
    // Chunks are padded to an even size.
    at = body + size + (size & 1);
  }
}

Status st::rt::writePcmWav(const std::string &path,
                           const std::vector<int32_t> &samples, int channels,
                           int bitsPerSample, int64_t sampleRate) {
  if ((bitsPerSample != 8 && bitsPerSample != 16) || channels < 1 ||
      sampleRate < 1 || samples.size() % size_t(channels) != 0)
    return Status::error(path + ": cannot write " +
                         std::to_string(bitsPerSample) + "-bit PCM with " +
                         std::to_string(channels) + " channels at " +
                         std::to_string(sampleRate) + " Hz");
  uint32_t bytesPerSample = uint32_t(bitsPerSample / 8);
  uint32_t dataSize = uint32_t(samples.size()) * bytesPerSample;
  std::vector<uint8_t> out;
  out.reserve(44 + dataSize + 1);
  out.insert(out.end(), {'R', 'I', 'F', 'F'});
  appendLittle(out, 36 + dataSize + (dataSize & 1), 4);
  out.insert(out.end(), {'W', 'A', 'V', 'E', 'f', 'm', 't', ' '});
  appendLittle(out, 16, 4);
  appendLittle(out, kFormatPcm, 2);
  appendLittle(out, uint32_t(channels), 2);
  appendLittle(out, uint32_t(sampleRate), 4);
  appendLittle(out, uint32_t(sampleRate) * channels * bytesPerSample, 4);
  appendLittle(out, channels * bytesPerSample, 2);
  appendLittle(out, uint32_t(bitsPerSample), 2);
  out.insert(out.end(), {'d', 'a', 't', 'a'});
  appendLittle(out, dataSize, 4);
  for (int32_t s : samples)
    appendLittle(out, uint32_t(s), int(bytesPerSample));
  if (dataSize & 1)
    out.push_back(0);
  return writeFile(path, out.data(), out.size());
}

Status st::rt::writeWav(const std::string &path, const uint8_t *samples,
                        size_t count, int64_t sampleRate) {
  std::vector<int32_t> pcm(count);
  for (size_t i = 0; i < count; ++i)
    pcm[i] = int32_t(std::lround(
        std::clamp(muLawDecode(samples[i]) * 32768.0, -32768.0, 32767.0)));
  return writePcmWav(path, pcm, 1, 16, sampleRate);
}
