//===- CApiTest.cpp - The C API's errors, with or without a GPU -----------===//
//
// What libst_cuda.so reports before any kernel runs: bad arguments, bad
// libraries (checked before the device is touched, so these run on CI) and,
// on machines without a driver, a clean "no device" answer.
//
//===----------------------------------------------------------------------===//

#include "st/cuda/st_attention.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

/// A temporary kernel library directory holding `manifest`.
class TempLibrary {
public:
  explicit TempLibrary(const std::string &manifest) {
    char pattern[] = "/tmp/st-cuda-test-XXXXXX";
    const char *made = mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    dir = made ? made : "/tmp";
    std::ofstream(dir + "/manifest.json") << manifest;
  }
  ~TempLibrary() {
    std::remove((dir + "/manifest.json").c_str());
    rmdir(dir.c_str());
  }
  std::string dir;
};

const char *kManifest = R"({
  "format": "st-attention-kernels", "version": 1,
  "entries": [{
    "layout": "#st.local<window = 64>", "head_dim": 64, "dtype": "f16",
    "module": "local.cubin",
    "forward": [{"kernel": "f", "grid": [1, 1, 1], "block": [32, 1, 1],
                 "args": ["q", "k", "v", "o", "lse"]}],
    "backward": [{"kernel": "b", "grid": [1, 1, 1], "block": [32, 1, 1],
                  "args": ["q", "k", "v", "o", "lse", "dout", "dq", "dk",
                           "dv"]}]
  }]
})";

TEST(CudaCApi, AbiVersion) {
  EXPECT_EQ(st_attention_abi_version(), ST_ATTENTION_ABI_VERSION);
}

TEST(CudaCApi, BadArguments) {
  st_attention *handle = reinterpret_cast<st_attention *>(0x1);
  EXPECT_EQ(st_attention_open("lib", "#st.dense_causal", 64, "f16", nullptr),
            ST_ATTENTION_ERROR);
  EXPECT_STREQ(st_attention_last_error(), "st_attention_open: handle is null");
  EXPECT_EQ(st_attention_open("lib", nullptr, 64, "f16", &handle),
            ST_ATTENTION_ERROR);
  EXPECT_EQ(handle, nullptr);
  EXPECT_EQ(
      st_attention_open("lib", "#st.dense_causal", 64, "float16", &handle),
      ST_ATTENTION_ERROR);
  EXPECT_STREQ(st_attention_last_error(),
               "st_attention_open: unknown dtype 'float16' (expected bf16, "
               "f16 or f32)");
  EXPECT_EQ(st_attention_forward(nullptr, 1, 1, 1, nullptr, nullptr, nullptr,
                                 nullptr, nullptr, nullptr),
            ST_ATTENTION_ERROR);
  EXPECT_STREQ(st_attention_last_error(),
               "st_attention_forward: handle is null");
  EXPECT_EQ(st_attention_backward(nullptr, 1, 1, 1, nullptr, nullptr, nullptr,
                                  nullptr, nullptr, nullptr, nullptr, nullptr,
                                  nullptr, nullptr),
            ST_ATTENTION_ERROR);
  EXPECT_EQ(st_attention_scratch_bytes(nullptr), 0);
  EXPECT_STREQ(st_attention_describe(nullptr), "");
  st_attention_close(nullptr);
}

TEST(CudaCApi, LibraryErrorsComeBeforeTheDevice) {
  st_attention *handle = nullptr;
  EXPECT_EQ(st_attention_open("/nonexistent/lib", "#st.dense_causal", 64, "f16",
                              &handle),
            ST_ATTENTION_ERROR);
  EXPECT_STREQ(st_attention_last_error(),
               "/nonexistent/lib/manifest.json: cannot open: No such file or "
               "directory");

  TempLibrary library(kManifest);
  EXPECT_EQ(st_attention_open(library.dir.c_str(), "#st.local<window = 64>",
                              128, "f16", &handle),
            ST_ATTENTION_ERROR);
  EXPECT_EQ(std::string(st_attention_last_error()),
            library.dir +
                "/manifest.json: no entry for (#st.local<window = 64>, "
                "head_dim 128, f16); the library has (#st.local<window = 64>, "
                "head_dim 64, f16)");

  TempLibrary broken("{\"format\": \"st-attention-kernels\", \"version\": 7}");
  EXPECT_EQ(st_attention_open(broken.dir.c_str(), "#st.local<window = 64>", 64,
                              "f16", &handle),
            ST_ATTENTION_ERROR);
  EXPECT_EQ(std::string(st_attention_last_error()),
            broken.dir + "/manifest.json: manifest version 7 is not supported "
                         "(this runtime reads version 1)");
  EXPECT_EQ(handle, nullptr);
}

TEST(CudaCApi, NoDeviceIsReportedCleanly) {
  if (st_attention_device_available() == ST_ATTENTION_OK)
    GTEST_SKIP() << "a CUDA device is available";
  std::string message = st_attention_last_error();
  EXPECT_EQ(message.rfind("no usable CUDA device: ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);

  // A valid entry gets as far as the device, and stops there with the same
  // answer.
  TempLibrary library(kManifest);
  st_attention *handle = nullptr;
  EXPECT_EQ(st_attention_open(library.dir.c_str(), "#st.local<window = 64>", 64,
                              "f16", &handle),
            ST_ATTENTION_NO_DEVICE);
  EXPECT_EQ(st_attention_last_error(), message);
  EXPECT_EQ(handle, nullptr);
}

TEST(CudaCApi, LastErrorIsPerThread) {
  st_attention *handle = nullptr;
  EXPECT_EQ(st_attention_open("/nonexistent/a", "#st.dense_causal", 64, "f16",
                              &handle),
            ST_ATTENTION_ERROR);
  std::string other = "unset";
  std::thread thread([&] {
    other = st_attention_last_error();
    st_attention *h = nullptr;
    (void)st_attention_open("/nonexistent/b", "#st.dense_causal", 64, "f16",
                            &h);
  });
  thread.join();
  EXPECT_EQ(other, "");
  EXPECT_STREQ(st_attention_last_error(),
               "/nonexistent/a/manifest.json: cannot open: No such file or "
               "directory");
}

} // namespace
