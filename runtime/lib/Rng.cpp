//===- Rng.cpp - Counter-based Philox4x32-10 random numbers ---------------===//

#include "st/Runtime/Rng.h"

#include <cmath>

using namespace st::rt;

namespace {
// Round multipliers and key-schedule (Weyl) increments from Random123.
constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;
constexpr uint32_t kWeyl1 = 0xBB67AE85u;

inline void mulHiLo(uint32_t a, uint32_t b, uint32_t &hi, uint32_t &lo) {
  uint64_t product = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

inline PhiloxCounter philoxRound(const PhiloxCounter &ctr,
                                 const PhiloxKey &key) {
  uint32_t hi0, lo0, hi1, lo1;
  mulHiLo(kMul0, ctr[0], hi0, lo0);
  mulHiLo(kMul1, ctr[2], hi1, lo1);
  return {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
}
} // namespace

PhiloxCounter st::rt::philox4x32x10(PhiloxCounter counter, PhiloxKey key) {
  counter = philoxRound(counter, key);
  for (int round = 1; round < 10; ++round) {
    key[0] += kWeyl0;
    key[1] += kWeyl1;
    counter = philoxRound(counter, key);
  }
  return counter;
}

std::pair<float, float> st::rt::normalPair(uint32_t bits1, uint32_t bits2) {
  // Double precision keeps the float results correctly rounded in practice,
  // so they do not depend on the libm's float-precision accuracy.
  double u1 = uniformFloatOpenZero(bits1);
  double theta = 6.283185307179586476925286766559 * uniformFloat(bits2);
  double radius = std::sqrt(-2.0 * std::log(u1));
  return {static_cast<float>(radius * std::cos(theta)),
          static_cast<float>(radius * std::sin(theta))};
}

uint64_t st::rt::mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t st::rt::mixKeyList(uint64_t seed,
                            std::initializer_list<uint64_t> streams) {
  // Each step is a bijection of the running hash for a fixed stream value and
  // of the stream value for a fixed running hash, so distinct inputs of the
  // same length collide only by chance; the count is mixed in last so that
  // prefixes do not share keys with their extensions.
  constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;
  uint64_t hash = mix64(seed + kGolden);
  for (uint64_t stream : streams)
    hash = mix64(hash ^ mix64(stream + kGolden));
  return mix64(hash + kGolden * (streams.size() + 1));
}

PhiloxCounter Philox::block(uint64_t index) const {
  PhiloxCounter counter = {
      static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
      static_cast<uint32_t>(substream), static_cast<uint32_t>(substream >> 32)};
  return philox4x32x10(counter, key);
}

void Philox::seek(uint64_t wordIndex) {
  nextBlock = wordIndex / 4;
  used = 4;
  haveSpareNormal = false;
  if (wordIndex % 4 != 0) {
    buffer = block(nextBlock++);
    used = static_cast<unsigned>(wordIndex % 4);
  }
}

uint32_t Philox::nextU32() {
  if (used == 4) {
    buffer = block(nextBlock++);
    used = 0;
  }
  return buffer[used++];
}

uint64_t Philox::nextU64() {
  uint64_t lo = nextU32();
  uint64_t hi = nextU32();
  return lo | (hi << 32);
}

float Philox::nextUniform() { return uniformFloat(nextU32()); }

float Philox::nextNormal() {
  if (haveSpareNormal) {
    haveSpareNormal = false;
    return spareNormal;
  }
  uint32_t bits1 = nextU32();
  uint32_t bits2 = nextU32();
  auto [first, second] = normalPair(bits1, bits2);
  spareNormal = second;
  haveSpareNormal = true;
  return first;
}
