//===- Rng.h - Counter-based Philox4x32-10 random numbers -------*- C++ -*-===//
//
// All randomness in training (batch offsets, dropout masks, initialization)
// comes from Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy
// as 1, 2, 3", SC 2011). Philox is counter-based: output block c under key k
// is a pure function philox(c, k), so any draw can be recomputed from
// (seed, step, op id, position) alone. That is what makes a resumed run
// bit-identical to an uninterrupted one without replaying earlier steps, and
// what lets threads draw from disjoint counters in any order.
//
// Conventions used throughout the runtime:
//  - the key is 64 bits: word 0 = low half, word 1 = high half;
//  - the counter is 128 bits: words 0-1 = a 64-bit block index (low word
//    first), words 2-3 = a 64-bit "substream" chosen by the caller;
//  - keys for independent uses are derived with mixKey(seed, step, opId...).
//
// Float conversions are specified bit-exactly (see uniformFloat) so that the
// same seed gives the same numbers on every platform; normalPair uses libm's
// log/cos/sin in double precision and rounds to float, which is exact across
// IEEE-conforming libms in all but astronomically rare rounding ties.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_RNG_H
#define ST_RUNTIME_RNG_H

#include <array>
#include <cstdint>
#include <initializer_list>
#include <utility>

namespace st {
namespace rt {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

/// One Philox4x32-10 block: 10 rounds over `counter` under `key`, exactly as
/// philox4x32_R(10, ...) in the Random123 library.
PhiloxCounter philox4x32x10(PhiloxCounter counter, PhiloxKey key);

/// Splits a 64-bit key into Philox key words (low word first).
inline PhiloxKey philoxKey(uint64_t key) {
  return {static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32)};
}

/// A float uniformly distributed in [0, 1): the top 24 bits of `bits` times
/// 2^-24. Every result is exactly representable, and 1.0 is never returned.
inline float uniformFloat(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

/// A float uniformly distributed in (0, 1]; safe to take the log of.
inline float uniformFloatOpenZero(uint32_t bits) {
  return static_cast<float>((bits >> 8) + 1) * (1.0f / 16777216.0f);
}

/// Two independent standard normal samples from two uniform 32-bit words
/// (Box-Muller: r = sqrt(-2 ln u1), theta = 2 pi u2, returns r cos, r sin).
std::pair<float, float> normalPair(uint32_t bits1, uint32_t bits2);

/// An integer uniform in [0, bound) from 64 random bits, by Lemire's
/// multiply-shift. The bias is at most bound / 2^64 (below 2^-30 for any
/// dataset that fits in memory), and unlike rejection sampling it consumes a
/// fixed number of draws, which keeps counters predictable. `bound` > 0.
inline uint64_t uniformBelow(uint64_t bits, uint64_t bound) {
  // __extension__: -pedantic otherwise warns that __int128 is not ISO C++.
  __extension__ typedef unsigned __int128 UInt128;
  return static_cast<uint64_t>((static_cast<UInt128>(bits) * bound) >> 64);
}

/// A strong 64-bit bijective mixer (the SplitMix64 finalizer).
uint64_t mix64(uint64_t x);

/// Derives an independent 64-bit Philox key from a seed and a sequence of
/// stream identifiers (step, op id, ...). Sensitive to order and count:
/// mixKey(s, 1, 2), mixKey(s, 2, 1) and mixKey(s, 1) are unrelated keys.
uint64_t mixKeyList(uint64_t seed, std::initializer_list<uint64_t> streams);

template <typename... Streams>
uint64_t mixKey(uint64_t seed, Streams... streams) {
  return mixKeyList(seed, {static_cast<uint64_t>(streams)...});
}

/// A sequential reader over one Philox substream: block index 0, 1, 2, ...
/// of counter {index, substream} under `key`, handed out one 32-bit word at a
/// time. Cheap to copy; two Philox objects with equal (key, substream) yield
/// the same sequence.
class Philox {
public:
  explicit Philox(uint64_t key, uint64_t substream = 0)
      : key(philoxKey(key)), substream(substream) {}

  /// The block at an arbitrary index (random access; does not advance).
  PhiloxCounter block(uint64_t index) const;

  /// Starts reading at word `wordIndex` (4 words per block).
  void seek(uint64_t wordIndex);

  uint32_t nextU32();
  uint64_t nextU64();
  /// uniformFloat(nextU32()).
  float nextUniform();
  /// One standard normal sample; samples come in Box-Muller pairs, the
  /// second is kept for the next call.
  float nextNormal();

private:
  PhiloxKey key;
  uint64_t substream;
  uint64_t nextBlock = 0;
  PhiloxCounter buffer{};
  unsigned used = 4;
  bool haveSpareNormal = false;
  float spareNormal = 0.0f;
};

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_RNG_H
