//===- FmaPeak.h - Measured float FMA peak of this machine ------*- C++ -*-===//
//
// A measurement tool, not a product kernel: independent chains of vector
// FMAs on every hardware thread give the machine's attainable float peak,
// the denominator of the attention benchmark's "fraction of peak".
//
//===----------------------------------------------------------------------===//

#ifndef ST_BENCH_FMAPEAK_H
#define ST_BENCH_FMAPEAK_H

namespace st {
namespace bench {

struct FmaPeak {
  /// GFLOP/s (2 flops per FMA lane) of one thread and of all threads.
  double singleCoreGflops = 0.0;
  double allCoreGflops = 0.0;
  /// Threads of the all-core run (std::thread::hardware_concurrency()).
  unsigned threads = 0;
  /// Float lanes of the vector type the kernel was compiled for.
  unsigned lanes = 0;
  /// Independent accumulator chains per thread.
  unsigned chains = 0;
};

/// Measures the peak; each of the single- and all-core figures is the best
/// of `trials` runs of about `seconds` each.
FmaPeak measureFmaPeak(double seconds, int trials);

} // namespace bench
} // namespace st

#endif // ST_BENCH_FMAPEAK_H
