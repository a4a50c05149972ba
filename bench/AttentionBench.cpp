//===- AttentionBench.cpp - CPU attention forward per sparse pattern ------===//
//
// Compiles `st.attention` through the whole CPU path (the same
// `compileForCpu` the tests use), times the forward pass for each pattern and
// length, and reports GFLOP/s on the pattern's true nonzeros (4 * D flops per
// attended (query, key) pair: 2 D for q.k, 2 D for p.v), the speedup over
// dense causal attention at the same length, and the fraction of this
// machine's measured FMA peak.
//
// Not a test: nothing in the test suite runs it (see docs/cpu-benchmark.md).
//
//===----------------------------------------------------------------------===//

#include "FmaPeak.h"

#include "st/Dialect/StDialect.h"
#include "st/Layout/Layout.h"
#include "st/Target/Cpu/Jit.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace mlir;
namespace cl = llvm::cl;

static cl::list<int64_t>
    lengths("lengths", cl::desc("Sequence lengths n"), cl::CommaSeparated,
            cl::list_init<int64_t>({1024, 2048, 4096, 8192, 16384}));
static cl::list<std::string> patterns(
    "patterns", cl::desc("Patterns to run: dense, strided, fixed, local"),
    cl::CommaSeparated,
    cl::list_init<std::string>({"dense", "strided", "fixed", "local"}));
static cl::opt<int64_t> heads("heads", cl::desc("Heads H"), cl::init(8));
static cl::opt<int64_t> headDim("head-dim", cl::desc("Head dimension D"),
                                cl::init(64));
static cl::opt<int64_t> batch("batch", cl::desc("Batch B"), cl::init(1));
static cl::opt<int> repeats("repeats",
                            cl::desc("Timed runs after one warm-up run"),
                            cl::init(3));
static cl::opt<int64_t>
    stride("stride", cl::desc("Stride l of strided and fixed"), cl::init(128));
static cl::opt<int64_t> summary("summary", cl::desc("Summary c of fixed"),
                                cl::init(32));
static cl::opt<int64_t> window("window", cl::desc("Window of local"),
                               cl::init(128));
static cl::opt<double> maxRunSeconds(
    "max-run-seconds",
    cl::desc("Skip a run whose time, extrapolated by nonzeros from the same "
             "pattern's previous length, exceeds this"),
    cl::init(60.0));
static cl::opt<double>
    peakSeconds("peak-seconds",
                cl::desc("Duration of each FMA peak measurement"),
                cl::init(0.5));
static cl::opt<std::string> jsonPath("json",
                                     cl::desc("Also write results as JSON"),
                                     cl::value_desc("file"));

namespace {

struct Result {
  std::string pattern;
  std::string layout;
  int64_t n = 0;
  int64_t nonzeros = 0;
  double compileSeconds = 0.0;
  /// Empty when the run was skipped (see `skipReason`).
  std::vector<double> times;
  std::string skipReason;

  double best() const { return *std::min_element(times.begin(), times.end()); }
  double median() const {
    std::vector<double> t = times;
    std::sort(t.begin(), t.end());
    size_t m = t.size() / 2;
    return t.size() % 2 ? t[m] : 0.5 * (t[m - 1] + t[m]);
  }
  double flops() const {
    return 4.0 * double(headDim) * double(nonzeros) * double(batch);
  }
};

std::optional<std::string> layoutText(const std::string &name) {
  if (name == "dense")
    return std::string("#st.dense_causal");
  if (name == "strided")
    return "#st.strided<stride = " + std::to_string(stride) + ">";
  if (name == "fixed")
    return "#st.fixed<stride = " + std::to_string(stride) +
           ", summary = " + std::to_string(summary) + ">";
  if (name == "local")
    return "#st.local<window = " + std::to_string(window) + ">";
  return std::nullopt;
}

std::string moduleText(const std::string &layout, int64_t n) {
  std::string t = "tensor<" + std::to_string(batch) + "x" +
                  std::to_string(heads) + "x" + std::to_string(n) + "x" +
                  std::to_string(headDim) + "xf32>";
  return "func.func @attn(%q: " + t + ", %k: " + t + ", %v: " + t + ") -> " +
         t + " attributes {llvm.emit_c_interface} {\n" +
         "  %o = st.attention %q, %k, %v layout(" + layout + ") : " + t + ", " +
         t + ", " + t + " -> " + t + "\n  return %o : " + t + "\n}\n";
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

using Memref = StridedMemRefType<float, 4>;
using AttnFn = void (*)(Memref *, Memref *, Memref *, Memref *);

Memref describe(float *data, int64_t n) {
  Memref d;
  d.basePtr = d.data = data;
  d.offset = 0;
  int64_t sizes[4] = {batch, heads, n, headDim};
  int64_t strides[4] = {heads * n * headDim, n * headDim, headDim, 1};
  for (int i = 0; i < 4; ++i) {
    d.sizes[i] = sizes[i];
    d.strides[i] = strides[i];
  }
  return d;
}

/// Compiles and times one (pattern, n). `previous` is the same pattern's
/// result at the previous length, used to predict and cap long runs.
Result runOne(MLIRContext &context, const std::string &name,
              const std::string &layoutAttr, int64_t n,
              const Result *previous) {
  Result r;
  r.pattern = name;
  r.layout = layoutAttr;
  r.n = n;

  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(moduleText(layoutAttr, n), &context);
  if (!module) {
    r.skipReason = "parse failed";
    return r;
  }
  ::st::layout::Layout layout;
  module->walk(
      [&](mlir::st::AttentionOp op) { layout = op.getLayout().getLayout(); });
  r.nonzeros = layout.nonzeros(n, heads);

  if (previous && !previous->times.empty()) {
    double predicted =
        previous->best() * double(r.nonzeros) / double(previous->nonzeros);
    if (predicted > maxRunSeconds) {
      r.skipReason = "predicted " + std::to_string(int(predicted)) +
                     " s per run > --max-run-seconds";
      return r;
    }
  }

  auto compileStart = std::chrono::steady_clock::now();
  mlir::st::CpuPipelineOptions options;
  auto engine = mlir::st::compileForCpu(*module, options);
  if (failed(engine)) {
    r.skipReason = "compilation failed";
    return r;
  }
  auto symbol = (*engine)->lookup("_mlir_ciface_attn");
  r.compileSeconds = secondsSince(compileStart);
  if (!symbol) {
    llvm::consumeError(symbol.takeError());
    r.skipReason = "no _mlir_ciface_attn";
    return r;
  }
  auto fn = reinterpret_cast<AttnFn>(*symbol);

  int64_t size = batch * heads * n * headDim;
  std::mt19937_64 rng(n);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::vector<float> q(size), k(size), v(size);
  for (float *buf : {q.data(), k.data(), v.data()})
    for (int64_t e = 0; e < size; ++e)
      buf[e] = uni(rng);
  // The result is a caller-owned out-parameter; it is poisoned so that the
  // check after the warm-up catches unwritten outputs.
  std::vector<float> o(size, std::nanf(""));
  Memref qd = describe(q.data(), n), kd = describe(k.data(), n),
         vd = describe(v.data(), n), od = describe(o.data(), n);

  for (int run = -1; run < repeats; ++run) {
    auto start = std::chrono::steady_clock::now();
    fn(&qd, &kd, &vd, &od);
    double time = secondsSince(start);
    if (run >= 0) {
      r.times.push_back(time);
      continue;
    }
    // A softmax-weighted mean of values in [-1, 1] stays in [-1, 1]; a
    // broken kernel must not be reported as a fast one.
    for (float x : o)
      if (!(std::fabs(x) <= 1.0f)) {
        r.skipReason = "output not in [-1, 1] (wrong or unwritten)";
        return r;
      }
  }
  return r;
}

std::string loadAverage() {
  double load[3];
  if (getloadavg(load, 3) != 3)
    return "unknown";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%.2f %.2f %.2f", load[0], load[1], load[2]);
  return s;
}

} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(
      argc, argv,
      "ST CPU attention benchmark: forward pass per sparse pattern\n");
  if (repeats < 1 || heads < 1 || headDim < 1 || batch < 1) {
    llvm::errs() << "error: --repeats, --heads, --head-dim and --batch must "
                    "be positive\n";
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> selected;
  for (const std::string &name : patterns) {
    std::optional<std::string> text = layoutText(name);
    if (!text) {
      llvm::errs() << "error: unknown pattern '" << name
                   << "' (dense, strided, fixed, local)\n";
      return 1;
    }
    selected.emplace_back(name, *text);
  }

  std::string loadBefore = loadAverage();
  llvm::outs() << "load average (1/5/15 min) at start: " << loadBefore << "\n";
  const char *ompThreads = std::getenv("OMP_NUM_THREADS");
  ::st::bench::FmaPeak peak = ::st::bench::measureFmaPeak(peakSeconds, 3);
  llvm::outs() << llvm::format(
      "FMA peak (f32, %u lanes x %u chains, best of 3): 1 thread %.1f "
      "GFLOP/s, %u threads %.1f GFLOP/s\n",
      peak.lanes, peak.chains, peak.singleCoreGflops, peak.threads,
      peak.allCoreGflops);
  llvm::outs() << "B=" << batch << " H=" << heads << " D=" << headDim
               << " f32, OMP_NUM_THREADS="
               << (ompThreads ? ompThreads : "unset") << ", warm-up + "
               << repeats << " timed runs\n\n";
  llvm::outs().flush();

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<mlir::st::StDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  std::vector<Result> results;
  for (const auto &[name, text] : selected) {
    const Result *previous = nullptr;
    for (int64_t n : lengths) {
      results.push_back(runOne(context, name, text, n, previous));
      const Result &r = results.back();
      llvm::errs() << "  " << name << " n=" << n << ": "
                   << (r.times.empty() ? r.skipReason
                                       : std::to_string(r.best()) + " s")
                   << "\n";
      if (!r.times.empty())
        previous = &results.back();
    }
  }
  std::string loadAfter = loadAverage();

  auto denseAt = [&](int64_t n) -> const Result * {
    for (const Result &r : results)
      if (r.pattern == "dense" && r.n == n && !r.times.empty())
        return &r;
    return nullptr;
  };

  llvm::outs() << llvm::format("%-8s %6s %6s %14s %9s %10s %10s %9s %8s %7s\n",
                               "pattern", "n", "dens%", "nonzeros", "compile_s",
                               "best_ms", "median_ms", "GFLOP/s", "speedup",
                               "%peak");
  for (const Result &r : results) {
    double density = 100.0 * double(r.nonzeros) /
                     (double(heads) * double(r.n) * double(r.n + 1) / 2.0);
    llvm::outs() << llvm::format("%-8s %6lld %6.2f %14lld ", r.pattern.c_str(),
                                 (long long)r.n, density,
                                 (long long)r.nonzeros);
    if (r.times.empty()) {
      llvm::outs() << "skipped: " << r.skipReason << "\n";
      continue;
    }
    double gflops = r.flops() / r.best() * 1e-9;
    llvm::outs() << llvm::format("%9.2f %10.1f %10.1f %9.2f ", r.compileSeconds,
                                 r.best() * 1e3, r.median() * 1e3, gflops);
    if (const Result *dense = denseAt(r.n))
      llvm::outs() << llvm::format("%7.2fx ", dense->best() / r.best());
    else
      llvm::outs() << llvm::format("%8s ", "n/a");
    llvm::outs() << llvm::format("%6.1f%%\n",
                                 100.0 * gflops / peak.allCoreGflops);
  }
  llvm::outs() << "\nload average (1/5/15 min) at end: " << loadAfter << "\n";
  llvm::outs() << "GFLOP/s = 4 * D * nonzeros * B / best time; speedup = "
                  "dense causal best / pattern best at the same n; %peak of "
                  "the all-thread FMA peak.\n";

  if (jsonPath.empty())
    return 0;
  llvm::json::Array rows;
  for (const Result &r : results) {
    llvm::json::Object row{{"pattern", r.pattern},
                           {"layout", r.layout},
                           {"n", r.n},
                           {"nonzeros", r.nonzeros}};
    if (r.times.empty()) {
      row["skipped"] = r.skipReason;
    } else {
      double gflops = r.flops() / r.best() * 1e-9;
      row["compile_s"] = r.compileSeconds;
      row["times_s"] = llvm::json::Array(r.times);
      row["best_s"] = r.best();
      row["median_s"] = r.median();
      row["gflops"] = gflops;
      row["peak_fraction"] = gflops / peak.allCoreGflops;
      if (const Result *dense = denseAt(r.n))
        row["speedup_vs_dense"] = dense->best() / r.best();
    }
    rows.push_back(std::move(row));
  }
  llvm::json::Object doc{
      {"batch", int64_t(batch)},
      {"heads", int64_t(heads)},
      {"head_dim", int64_t(headDim)},
      {"repeats", int(repeats)},
      {"omp_num_threads", ompThreads ? ompThreads : "unset"},
      {"load_average_start", loadBefore},
      {"load_average_end", loadAfter},
      {"fma_peak",
       llvm::json::Object{{"single_thread_gflops", peak.singleCoreGflops},
                          {"all_threads_gflops", peak.allCoreGflops},
                          {"threads", int64_t(peak.threads)},
                          {"lanes", int64_t(peak.lanes)},
                          {"chains", int64_t(peak.chains)}}},
      {"results", std::move(rows)}};
  std::error_code ec;
  llvm::raw_fd_ostream os(jsonPath, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::errs() << "error: cannot write " << jsonPath << ": " << ec.message()
                 << "\n";
    return 1;
  }
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(doc))) << "\n";
  return 0;
}
