//===- Audio.h - WAV files as 8-bit mu-law bytes ----------------*- C++ -*-===//
//
// The paper models audio as a sequence of 8-bit mu-law samples. readWav
// reads a RIFF WAVE file of 8-bit (unsigned) or 16-bit (signed) integer PCM,
// any sample rate and any number of channels (averaged to mono), and
// converts every sample x in [-1, 1] to one byte by the continuous mu-law
// curve with mu = 255:
//
//   F(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu),   byte = round((F + 1) 255 / 2)
//
// and muLawDecode inverts it (byte b -> y = 2 b / 255 - 1 ->
// sign(y) ((1 + mu)^|y| - 1) / mu). writeWav writes decoded samples as
// 16-bit mono PCM. Errors are one line starting with the file's path.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_AUDIO_H
#define ST_RUNTIME_AUDIO_H

#include "st/Runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace st {
namespace rt {

/// The mu-law curve's parameter.
constexpr double kMuLaw = 255.0;

/// x in [-1, 1] (clamped) -> byte 0..255 (0 = -1, 255 = +1).
uint8_t muLawEncode(double x);

/// byte -> x in [-1, 1].
double muLawDecode(uint8_t byte);

/// A mono recording as mu-law bytes.
struct MuLawAudio {
  int64_t sampleRate = 0;
  std::vector<uint8_t> samples;
};

/// Reads a WAV file (PCM 8 or 16 bits, mono or more channels, downmixed).
/// Errors: wrong magic (not RIFF/WAVE), a missing fmt or data chunk, a
/// format other than 8/16-bit integer PCM, truncated chunks, no samples.
Expected<MuLawAudio> readWav(const std::string &path);

/// Writes mu-law bytes, decoded, as a 16-bit mono PCM WAV file.
Status writeWav(const std::string &path, const uint8_t *samples, size_t count,
                int64_t sampleRate);

/// Writes integer PCM frames as a WAV file: `samples` holds frames of
/// `channels` interleaved values, each in the range of `bitsPerSample`
/// (8: 0..255 unsigned, 16: -32768..32767).
Status writePcmWav(const std::string &path, const std::vector<int32_t> &samples,
                   int channels, int bitsPerSample, int64_t sampleRate);

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_AUDIO_H
