//===- DeviceTest.cpp - The CUDA runtime on a GPU (skips without one) -----===//
//
// Loads the kernel library built from TestKernels.mlir (cubin and PTX) and
// runs its forward and backward sequences through AttentionPlan and the C
// API. The kernels compute elementwise and per-row f32 arithmetic without
// multiply-adds, so the host recomputes every output bit for bit. Outputs are
// poisoned (all bits set: NaN) first, so an element no kernel wrote fails.
//
// The library directory is $ST_CUDA_TEST_KERNELS, or cuda-test-kernels next
// to this binary.
//
//===----------------------------------------------------------------------===//

#include "st/cuda/Plan.h"
#include "st/cuda/st_attention.h"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <random>
#include <unistd.h>

using namespace st::cuda;

namespace {

constexpr int64_t kHeadDim = 8;

std::string kernelDir() {
  if (const char *dir = std::getenv("ST_CUDA_TEST_KERNELS"))
    return dir;
  char path[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0)
    return "cuda-test-kernels";
  std::string exe(path, static_cast<size_t>(length));
  return exe.substr(0, exe.rfind('/')) + "/cuda-test-kernels";
}

/// Host copies of one call's tensors.
struct Host {
  Sizes sizes;
  std::vector<float> q, k, v, dout;
  int64_t elements() const {
    return sizes.batch * sizes.heads * sizes.length * kHeadDim;
  }
  int64_t rows() const { return sizes.batch * sizes.heads * sizes.length; }
};

Host randomHost(Sizes sizes, uint32_t seed) {
  Host host;
  host.sizes = sizes;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  for (std::vector<float> *t : {&host.q, &host.k, &host.v, &host.dout}) {
    t->resize(host.elements());
    for (float &x : *t)
      x = dist(rng);
  }
  return host;
}

/// What TestKernels.mlir computes, in the same order of f32 operations.
struct Outputs {
  std::vector<float> o, lse, dq, dk, dv;
};
Outputs reference(const Host &host) {
  Outputs r;
  int64_t n = host.elements();
  r.o.resize(n);
  r.lse.resize(host.rows());
  for (int64_t row = 0; row < host.rows(); ++row) {
    float sum = 0.0f;
    for (int64_t d = 0; d < kHeadDim; ++d) {
      int64_t i = row * kHeadDim + d;
      float prod = host.q[i] * host.k[i];
      r.o[i] = prod + host.v[i];
      sum = sum + r.o[i];
    }
    float s1 = sum + static_cast<float>(host.sizes.length);
    float s2 = s1 + static_cast<float>(100 * host.sizes.heads);
    r.lse[row] = s2 + static_cast<float>(10000 * host.sizes.batch);
  }
  r.dq.resize(n);
  r.dk.resize(n);
  r.dv.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    r.dq[i] = host.dout[i] * host.k[i];
    r.dk[i] = host.dout[i] * host.q[i];
    float dv = host.dout[i] + r.o[i];
    r.dv[i] = dv + r.lse[i / kHeadDim];
  }
  return r;
}

/// Bitwise comparison that names the first mismatch.
::testing::AssertionResult sameBits(const std::vector<float> &got,
                                    const std::vector<float> &want,
                                    const char *name) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << name << ": size " << got.size() << " vs " << want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure()
             << name << "[" << i << "] = " << got[i] << ", expected "
             << want[i];
  return ::testing::AssertionSuccess();
}

class CudaDevice : public ::testing::Test {
protected:
  void SetUp() override {
    Expected<const Driver *> loaded = Driver::get();
    if (!loaded) {
      if (Driver::isUnavailable(loaded.status()))
        GTEST_SKIP() << loaded.message();
      FAIL() << loaded.message();
    }
    driver = *loaded;
    Expected<DeviceContext> context = DeviceContext::acquire(0);
    ASSERT_TRUE(context.isOk()) << context.message();
    ctx.emplace(context.take());
    // Like PyTorch: the primary context is current on this thread.
    ASSERT_EQ(driver->cuCtxSetCurrent(ctx->get()), CUDA_SUCCESS);
    library = kernelDir();
  }

  /// Device buffers for `host`, outputs poisoned.
  struct Device {
    DeviceBuffer q, k, v, o, lse, dout, dq, dk, dv;
  };
  Device upload(const Host &host) {
    Device dev;
    int64_t bytes = host.elements() * 4;
    auto alloc = [&](int64_t size) {
      Expected<DeviceBuffer> buffer =
          DeviceBuffer::allocate(*driver, size, "test");
      EXPECT_TRUE(buffer.isOk()) << buffer.message();
      EXPECT_EQ(driver->cuMemsetD8(buffer->get(), 0xFF, size), CUDA_SUCCESS);
      return buffer.take();
    };
    dev.q = alloc(bytes);
    dev.k = alloc(bytes);
    dev.v = alloc(bytes);
    dev.o = alloc(bytes);
    dev.lse = alloc(host.rows() * 4);
    dev.dout = alloc(bytes);
    dev.dq = alloc(bytes);
    dev.dk = alloc(bytes);
    dev.dv = alloc(bytes);
    EXPECT_EQ(driver->cuMemcpyHtoD(dev.q.get(), host.q.data(), bytes),
              CUDA_SUCCESS);
    EXPECT_EQ(driver->cuMemcpyHtoD(dev.k.get(), host.k.data(), bytes),
              CUDA_SUCCESS);
    EXPECT_EQ(driver->cuMemcpyHtoD(dev.v.get(), host.v.data(), bytes),
              CUDA_SUCCESS);
    EXPECT_EQ(driver->cuMemcpyHtoD(dev.dout.get(), host.dout.data(), bytes),
              CUDA_SUCCESS);
    return dev;
  }

  static Buffers buffers(const Device &dev) {
    Buffers b;
    b.q = dev.q.get();
    b.k = dev.k.get();
    b.v = dev.v.get();
    b.o = dev.o.get();
    b.lse = dev.lse.get();
    b.dout = dev.dout.get();
    b.dq = dev.dq.get();
    b.dk = dev.dk.get();
    b.dv = dev.dv.get();
    return b;
  }

  std::vector<float> download(const DeviceBuffer &buffer) {
    std::vector<float> host(buffer.size() / 4);
    EXPECT_EQ(driver->cuMemcpyDtoH(host.data(), buffer.get(), buffer.size()),
              CUDA_SUCCESS);
    return host;
  }

  /// Runs forward and backward of `plan` on fresh random inputs and checks
  /// every output bit for bit.
  void runAndCheck(AttentionPlan &plan, Sizes sizes, CUstream stream,
                   uint32_t seed) {
    Host host = randomHost(sizes, seed);
    Outputs want = reference(host);
    Device dev = upload(host);
    Buffers b = buffers(dev);
    Status fwd = plan.forward(sizes, b, stream);
    ASSERT_TRUE(fwd.isOk()) << fwd.message();
    Status bwd = plan.backward(sizes, b, stream);
    ASSERT_TRUE(bwd.isOk()) << bwd.message();
    ASSERT_EQ(driver->cuCtxSynchronize(), CUDA_SUCCESS);
    EXPECT_TRUE(sameBits(download(dev.o), want.o, "o"));
    EXPECT_TRUE(sameBits(download(dev.lse), want.lse, "lse"));
    EXPECT_TRUE(sameBits(download(dev.dq), want.dq, "dq"));
    EXPECT_TRUE(sameBits(download(dev.dk), want.dk, "dk"));
    EXPECT_TRUE(sameBits(download(dev.dv), want.dv, "dv"));
  }

  std::unique_ptr<AttentionPlan> open(const char *layout) {
    Expected<std::unique_ptr<AttentionPlan>> plan =
        AttentionPlan::open(library, layout, kHeadDim, DType::F32);
    EXPECT_TRUE(plan.isOk()) << plan.message();
    return plan ? plan.take() : nullptr;
  }

  const Driver *driver = nullptr;
  std::optional<DeviceContext> ctx;
  std::string library;
};

TEST_F(CudaDevice, CubinForwardBackwardMatchTheHost) {
  std::unique_ptr<AttentionPlan> plan = open("test.elementwise");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->getContext().get(), ctx->get());
  runAndCheck(*plan, Sizes{2, 3, 100}, nullptr, 1);
  // B * H * N * D not a multiple of any block size; N = 1.
  runAndCheck(*plan, Sizes{1, 5, 1}, nullptr, 2);
  runAndCheck(*plan, Sizes{3, 1, 77}, nullptr, 3);
}

TEST_F(CudaDevice, PtxModuleMatchesTheHost) {
  std::unique_ptr<AttentionPlan> plan = open("test.elementwise.ptx");
  ASSERT_TRUE(plan);
  runAndCheck(*plan, Sizes{2, 3, 100}, nullptr, 4);
}

// Each pass over two streams (Launch::stream, Launch::waits): the second
// kernel reads what the first wrote on the other stream, and the results
// are read on the caller's stream after the pass. A missing wait or join
// shows as wrong bits (the sizes make the first kernel the longer one).
TEST_F(CudaDevice, LaunchesOnTwoStreamsWaitForEachOther) {
  std::unique_ptr<AttentionPlan> plan = open("test.elementwise.streams");
  ASSERT_TRUE(plan);
  CUstream stream = nullptr;
  ASSERT_EQ(driver->cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
            CUDA_SUCCESS);
  runAndCheck(*plan, Sizes{2, 3, 100}, nullptr, 11);
  runAndCheck(*plan, Sizes{4, 8, 4096}, stream, 12);
  runAndCheck(*plan, Sizes{1, 5, 1}, stream, 13);
  EXPECT_EQ(driver->cuStreamDestroy(stream), CUDA_SUCCESS);
}

// fwd_rows reads the prod that fwd_mul writes; launched early, its blocks
// start while fwd_mul's run and wait inside. Each call's inputs differ, so
// a read before the wait would see the previous call's prod (or none).
TEST_F(CudaDevice, EarlyLaunchWaitsForThePreviousKernel) {
  std::unique_ptr<AttentionPlan> plan = open("test.elementwise.early");
  ASSERT_TRUE(plan);
  CUstream stream = nullptr;
  ASSERT_EQ(driver->cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
            CUDA_SUCCESS);
  runAndCheck(*plan, Sizes{4, 8, 4096}, stream, 31);
  runAndCheck(*plan, Sizes{4, 8, 4096}, stream, 32);
  runAndCheck(*plan, Sizes{2, 3, 100}, nullptr, 33);
  runAndCheck(*plan, Sizes{1, 1, 1}, stream, 34);
  EXPECT_EQ(driver->cuStreamDestroy(stream), CUDA_SUCCESS);
}

TEST_F(CudaDevice, ScratchGrowsAcrossStreams) {
  std::unique_ptr<AttentionPlan> plan = open("test.elementwise");
  ASSERT_TRUE(plan);
  CUstream first = nullptr, second = nullptr;
  ASSERT_EQ(driver->cuStreamCreate(&first, CU_STREAM_NON_BLOCKING),
            CUDA_SUCCESS);
  ASSERT_EQ(driver->cuStreamCreate(&second, CU_STREAM_NON_BLOCKING),
            CUDA_SUCCESS);
  runAndCheck(*plan, Sizes{1, 2, 10}, first, 5);
  // prod: BH * N * 32 bytes, rounded up to 256.
  EXPECT_EQ(plan->getScratchBytes(), 768);
  runAndCheck(*plan, Sizes{2, 4, 3000}, second, 6);
  EXPECT_EQ(plan->getScratchBytes(), 2 * 4 * 3000 * 32);
  runAndCheck(*plan, Sizes{1, 1, 16}, first, 7);
  EXPECT_EQ(plan->getScratchBytes(), 2 * 4 * 3000 * 32) << "never shrinks";
  EXPECT_EQ(driver->cuStreamDestroy(first), CUDA_SUCCESS);
  EXPECT_EQ(driver->cuStreamDestroy(second), CUDA_SUCCESS);
}

TEST_F(CudaDevice, WithoutACurrentContextThePrimaryOneIsUsed) {
  ASSERT_EQ(driver->cuCtxSetCurrent(nullptr), CUDA_SUCCESS);
  std::unique_ptr<AttentionPlan> plan = open("test.elementwise");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->getContext().get(), ctx->get());
  CUcontext current = reinterpret_cast<CUcontext>(0x1);
  ASSERT_EQ(driver->cuCtxGetCurrent(&current), CUDA_SUCCESS);
  EXPECT_EQ(current, nullptr) << "open must not leave a context current";

  Host host = randomHost(Sizes{1, 2, 50}, 8);
  // Buffers need a context: allocate them in the primary one, then leave
  // the thread without a current context again for the calls.
  ASSERT_EQ(driver->cuCtxSetCurrent(ctx->get()), CUDA_SUCCESS);
  Device dev = upload(host);
  ASSERT_EQ(driver->cuCtxSetCurrent(nullptr), CUDA_SUCCESS);
  Status fwd = plan->forward(host.sizes, buffers(dev), nullptr);
  ASSERT_TRUE(fwd.isOk()) << fwd.message();
  ASSERT_EQ(driver->cuCtxGetCurrent(&current), CUDA_SUCCESS);
  EXPECT_EQ(current, nullptr) << "a call must restore the thread's context";
  ASSERT_EQ(driver->cuCtxSetCurrent(ctx->get()), CUDA_SUCCESS);
  ASSERT_EQ(driver->cuCtxSynchronize(), CUDA_SUCCESS);
  EXPECT_TRUE(sameBits(download(dev.o), reference(host).o, "o"));
}

TEST_F(CudaDevice, MissingKernelIsReported) {
  Expected<std::unique_ptr<AttentionPlan>> plan =
      AttentionPlan::open(library, "test.missing_kernel", kHeadDim, DType::F32);
  ASSERT_FALSE(plan.isOk());
  EXPECT_NE(plan.message().find("test_kernels.cubin: kernel 'no_such_kernel' "
                                "not found in the module"),
            std::string::npos)
      << plan.message();
}

TEST_F(CudaDevice, ParameterCountMismatchIsReported) {
  if (!driver->cuFuncGetParamInfo)
    GTEST_SKIP() << "the driver has no cuFuncGetParamInfo";
  Expected<std::unique_ptr<AttentionPlan>> plan =
      AttentionPlan::open(library, "test.wrong_params", kHeadDim, DType::F32);
  ASSERT_FALSE(plan.isOk());
  EXPECT_NE(plan.message().find("forward[0] (kernel 'fwd_mul'): the kernel "
                                "takes 15 parameters but the manifest's args "
                                "expand to 20"),
            std::string::npos)
      << plan.message();
}

TEST_F(CudaDevice, BadPointersAreReported) {
  std::unique_ptr<AttentionPlan> plan = open("test.elementwise");
  ASSERT_TRUE(plan);
  Host host = randomHost(Sizes{1, 1, 4}, 9);
  Device dev = upload(host);
  Buffers b = buffers(dev);
  b.q += 4;
  Status misaligned = plan->forward(host.sizes, b, nullptr);
  ASSERT_TRUE(misaligned.isError());
  EXPECT_NE(misaligned.message().find(") is not 16-byte aligned"),
            std::string::npos)
      << misaligned.message();
  b = buffers(dev);
  b.dk = 0;
  Status null = plan->backward(host.sizes, b, nullptr);
  ASSERT_TRUE(null.isError());
  EXPECT_EQ(null.message(), "backward (test.elementwise, head_dim 8, f32): dk "
                            "is null");
}

TEST_F(CudaDevice, CApiRunsTheLibrary) {
  st_attention *handle = nullptr;
  ASSERT_EQ(st_attention_device_available(), ST_ATTENTION_OK);
  ASSERT_EQ(st_attention_open(library.c_str(), "test.elementwise", kHeadDim,
                              "f32", &handle),
            ST_ATTENTION_OK)
      << st_attention_last_error();
  EXPECT_NE(std::string(st_attention_describe(handle)).find("sm_"),
            std::string::npos);
  Host host = randomHost(Sizes{2, 2, 33}, 10);
  Outputs want = reference(host);
  Device dev = upload(host);
  auto ptr = [](const DeviceBuffer &b) {
    return reinterpret_cast<void *>(static_cast<uintptr_t>(b.get()));
  };
  ASSERT_EQ(st_attention_forward(handle, 2, 2, 33, ptr(dev.q), ptr(dev.k),
                                 ptr(dev.v), ptr(dev.o), ptr(dev.lse), nullptr),
            ST_ATTENTION_OK)
      << st_attention_last_error();
  ASSERT_EQ(st_attention_backward(handle, 2, 2, 33, ptr(dev.q), ptr(dev.k),
                                  ptr(dev.v), ptr(dev.o), ptr(dev.lse),
                                  ptr(dev.dout), ptr(dev.dq), ptr(dev.dk),
                                  ptr(dev.dv), nullptr),
            ST_ATTENTION_OK)
      << st_attention_last_error();
  ASSERT_EQ(driver->cuCtxSynchronize(), CUDA_SUCCESS);
  EXPECT_GT(st_attention_scratch_bytes(handle), 0);
  EXPECT_TRUE(sameBits(download(dev.o), want.o, "o"));
  EXPECT_TRUE(sameBits(download(dev.lse), want.lse, "lse"));
  EXPECT_TRUE(sameBits(download(dev.dv), want.dv, "dv"));
  EXPECT_EQ(st_attention_forward(handle, 0, 2, 33, ptr(dev.q), ptr(dev.k),
                                 ptr(dev.v), ptr(dev.o), ptr(dev.lse), nullptr),
            ST_ATTENTION_ERROR);
  EXPECT_STREQ(st_attention_last_error(),
               "forward (test.elementwise, head_dim 8, f32): sizes must be "
               "positive, got B=0 H=2 N=33");
  st_attention_close(handle);
}

} // namespace
