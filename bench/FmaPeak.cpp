//===- FmaPeak.cpp - Measured float FMA peak of this machine --------------===//
//
// Built with -march=native (see CMakeLists.txt) so that the vector type below
// maps onto the host's widest FMA registers. Each thread keeps `kChains`
// independent accumulators so that FMA latency (4-5 cycles) times the number
// of FMA pipes (2 on current x86 cores) is covered; the chain count is kept
// below the register file so nothing spills.
//
//===----------------------------------------------------------------------===//

#include "FmaPeak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

using namespace st::bench;

namespace {

#if defined(__AVX512F__)
constexpr unsigned kVectorBytes = 64;
constexpr unsigned kChains = 16; // of 32 zmm registers
#elif defined(__AVX__)
constexpr unsigned kVectorBytes = 32;
constexpr unsigned kChains = 12; // of 16 ymm registers
#else
constexpr unsigned kVectorBytes = 16;
constexpr unsigned kChains = 12; // of 16 xmm registers
#endif
constexpr unsigned kLanes = kVectorBytes / sizeof(float);

typedef float Vec __attribute__((vector_size(kVectorBytes)));

inline Vec fma(Vec a, Vec b, Vec c) {
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_fma)
  return __builtin_elementwise_fma(a, b, c);
#endif
#endif
  return a * b + c;
}

// Stores the result so that the chains are not dead code.
volatile float sink;
// Read at run time so that the compiler cannot fold the chains.
volatile float multiplier = 0.999999f;
volatile float addend = 1e-6f;

/// Runs `iterations` rounds of kChains independent FMAs.
void fmaChains(int64_t iterations) {
  Vec m, a;
  for (unsigned l = 0; l < kLanes; ++l) {
    m[l] = multiplier;
    a[l] = addend;
  }
  Vec acc[kChains];
  for (unsigned c = 0; c < kChains; ++c)
    for (unsigned l = 0; l < kLanes; ++l)
      acc[c][l] = float(c * kLanes + l);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma clang loop unroll(full)
    for (unsigned c = 0; c < kChains; ++c)
      acc[c] = fma(acc[c], m, a);
  }
  float total = 0.0f;
  for (unsigned c = 0; c < kChains; ++c)
    for (unsigned l = 0; l < kLanes; ++l)
      total += acc[c][l];
  sink = total;
}

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

/// GFLOP/s of `threads` threads each running `iterations` rounds, timed from
/// a common start to the last thread's end.
double runThreads(unsigned threads, int64_t iterations) {
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire))
        std::this_thread::yield();
      fmaChains(iterations);
    });
  while (ready.load() != threads)
    std::this_thread::yield();
  auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread &t : pool)
    t.join();
  double time = seconds(start);
  double flops = 2.0 * kLanes * kChains * double(iterations) * threads;
  return flops / time * 1e-9;
}

} // namespace

FmaPeak st::bench::measureFmaPeak(double targetSeconds, int trials) {
  // Calibrate the iteration count on one thread.
  int64_t iterations = 1 << 16;
  for (;;) {
    auto start = std::chrono::steady_clock::now();
    fmaChains(iterations);
    double time = seconds(start);
    if (time > 0.05) {
      iterations = std::max<int64_t>(
          1, int64_t(double(iterations) * targetSeconds / time));
      break;
    }
    iterations *= 2;
  }

  FmaPeak peak;
  peak.threads = std::max(1u, std::thread::hardware_concurrency());
  peak.lanes = kLanes;
  peak.chains = kChains;
  for (int t = 0; t < trials; ++t) {
    peak.singleCoreGflops =
        std::max(peak.singleCoreGflops, runThreads(1, iterations));
    peak.allCoreGflops =
        std::max(peak.allCoreGflops, runThreads(peak.threads, iterations));
  }
  return peak;
}
