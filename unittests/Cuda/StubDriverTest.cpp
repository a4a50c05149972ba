//===- StubDriverTest.cpp - The driver wrapper against the toolkit's stub -===//
//
// The CUDA toolkit ships a stub libcuda.so with every driver entry point,
// each returning CUDA_ERROR_STUB_LIBRARY. Loading it through ST_LIBCUDA
// checks, on machines without a driver, that every symbol the wrapper looks
// up exists under that (versioned) name, and that the stub is recognised
// and reported instead of a device.
//
// A binary of its own: the driver is loaded once per process.
//
//===----------------------------------------------------------------------===//

#include "st/cuda/Driver.h"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace st::cuda;

namespace {

TEST(CudaStubDriver, EverySymbolResolvesAndTheStubIsReported) {
  ASSERT_EQ(setenv("ST_LIBCUDA", ST_CUDA_STUB_LIBRARY, 1), 0);
  Expected<const Driver *> driver = Driver::get();
  ASSERT_FALSE(driver.isOk());
  // Reaching cuInit means dlsym found every entry point.
  EXPECT_EQ(driver.message(),
            "no usable CUDA device: cuInit failed: CUDA_ERROR_STUB_LIBRARY "
            "(34): the CUDA toolkit's stub libcuda.so was loaded instead of "
            "the driver's (check LD_LIBRARY_PATH)");
  EXPECT_TRUE(Driver::isUnavailable(driver.status()));
}

TEST(CudaStubDriver, TheAnswerIsCached) {
  // Self-contained: lit runs each test of this binary in its own process.
  ASSERT_EQ(setenv("ST_LIBCUDA", ST_CUDA_STUB_LIBRARY, 1), 0);
  Expected<const Driver *> first = Driver::get();
  ASSERT_FALSE(first.isOk());
  // A second lookup returns the first answer, whatever the environment.
  ASSERT_EQ(setenv("ST_LIBCUDA", "/nonexistent/libcuda.so.1", 1), 0);
  Expected<const Driver *> second = Driver::get();
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.message(), first.message());
  EXPECT_NE(second.message().find("CUDA_ERROR_STUB_LIBRARY"),
            std::string::npos);
}

} // namespace
