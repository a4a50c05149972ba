//===- Driver.h - A checked wrapper over the CUDA driver API ----*- C++ -*-===//
//
// The runtime calls the CUDA driver API through this file only. The driver
// library (libcuda.so.1) is opened with dlopen on first use instead of being
// linked: a machine without an NVIDIA driver (CI, build hosts) can then load
// the runtime, run its CPU tests and get a clear "no driver" error instead of
// a loader failure. Every call is checked; a failure becomes a Status whose
// message names the CUresult (e.g. CUDA_ERROR_OUT_OF_MEMORY), its
// description and what was being done.
//
// Contexts cooperate with other CUDA users in the process (PyTorch): a
// DeviceContext uses the context current on the calling thread when there is
// one and otherwise retains the device's primary context, which is the one
// the CUDA runtime API (and so PyTorch) uses too.
//
//===----------------------------------------------------------------------===//

#ifndef ST_CUDA_DRIVER_H
#define ST_CUDA_DRIVER_H

#include "st/Runtime/Status.h"

#include <cuda.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace st {
namespace cuda {

using rt::Expected;
using rt::Status;

// The driver entry points the runtime uses. cuda.h maps several of these
// names to versioned symbols (cuMemAlloc -> cuMemAlloc_v2); the macros expand
// here too, so both the member names and the dlsym names are the versioned
// ones the header's prototypes belong to.
#define ST_CUDA_DRIVER_FUNCTIONS(X)                                            \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuInit)                                                                    \
  X(cuDriverGetVersion)                                                        \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGetName)                                                           \
  X(cuDeviceGetAttribute)                                                      \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuDevicePrimaryCtxRelease)                                                 \
  X(cuCtxGetCurrent)                                                           \
  X(cuCtxSetCurrent)                                                           \
  X(cuCtxPushCurrent)                                                          \
  X(cuCtxPopCurrent)                                                           \
  X(cuCtxGetDevice)                                                            \
  X(cuCtxSynchronize)                                                          \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuModuleGetFunction)                                                       \
  X(cuFuncGetAttribute)                                                        \
  X(cuFuncSetAttribute)                                                        \
  X(cuLaunchKernel)                                                            \
  X(cuMemAlloc)                                                                \
  X(cuMemFree)                                                                 \
  X(cuMemcpyHtoD)                                                              \
  X(cuMemcpyDtoH)                                                              \
  X(cuMemsetD8)                                                                \
  X(cuMemsetD8Async)                                                           \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamWaitEvent)                                                         \
  X(cuEventCreate)                                                             \
  X(cuEventDestroy)                                                            \
  X(cuEventRecord)                                                             \
  X(cuEventSynchronize)

/// The loaded driver: one per process, never unloaded.
class Driver {
public:
  /// Opens libcuda.so.1 (or $ST_LIBCUDA) and calls cuInit(0) once. Fails
  /// with a message when there is no driver or no device; every later call
  /// returns the same answer.
  static Expected<const Driver *> get();

  /// Whether a failure from get() means "no usable GPU here" (as opposed to
  /// a broken installation). Tests skip on it.
  static bool isUnavailable(const Status &status);

  /// `what` failed with `result`: "what: CUDA_ERROR_X (description)".
  Status error(CUresult result, const std::string &what) const;
  /// Success, or error(result, what).
  Status check(CUresult result, const std::string &what) const {
    return result == CUDA_SUCCESS ? Status::success() : error(result, what);
  }

#define ST_CUDA_DECLARE(name) decltype(&::name) name = nullptr;
  ST_CUDA_DRIVER_FUNCTIONS(ST_CUDA_DECLARE)
#undef ST_CUDA_DECLARE
  /// Optional (drivers for CUDA 12.4 and later); null when absent.
  decltype(&::cuFuncGetParamInfo) cuFuncGetParamInfo = nullptr;
  /// Optional (drivers for CUDA 12.0 and later); null when absent, and
  /// then no launch is programmatic (launchKernel).
  decltype(&::cuLaunchKernelEx) cuLaunchKernelEx = nullptr;

private:
  Driver() = default;
  static Expected<const Driver *> load();
};

/// The context that buffers, modules and launches belong to. Uses the
/// thread's current context if any, else retains the primary context of
/// device `ordinal` (released again on destruction).
class DeviceContext {
public:
  static Expected<DeviceContext> acquire(int ordinal = 0);

  DeviceContext(DeviceContext &&other) noexcept;
  DeviceContext &operator=(DeviceContext &&other) = delete;
  DeviceContext(const DeviceContext &) = delete;
  ~DeviceContext();

  CUcontext get() const { return context; }
  CUdevice getDevice() const { return device; }
  const Driver &getDriver() const { return *driver; }
  /// E.g. "NVIDIA H100 80GB HBM3 (device 0, sm_90)".
  std::string describe() const;

  /// Makes this context current on the calling thread for the guard's
  /// lifetime (and restores the previous one).
  class Scope {
  public:
    ~Scope();
    Scope(Scope &&other) noexcept : driver(other.driver), pushed(other.pushed) {
      other.pushed = false;
    }
    Scope(const Scope &) = delete;

  private:
    friend class DeviceContext;
    Scope(const Driver *driver, bool pushed) : driver(driver), pushed(pushed) {}
    const Driver *driver;
    bool pushed;
  };
  Expected<Scope> enter() const;

private:
  DeviceContext(const Driver *driver, CUcontext context, CUdevice device,
                bool retained)
      : driver(driver), context(context), device(device), retained(retained) {}
  const Driver *driver;
  CUcontext context;
  CUdevice device;
  bool retained;
};

/// A loaded module (cubin, fatbin or PTX) with its kernels looked up.
class Module {
public:
  /// Loads `path` into the current context. PTX is compiled by the driver;
  /// its compiler log is part of the error message.
  static Expected<Module> load(const Driver &driver, const std::string &path);

  Module(Module &&other) noexcept;
  Module &operator=(Module &&other) = delete;
  Module(const Module &) = delete;
  ~Module();

  /// The kernel `name`; the error names the module file.
  Expected<CUfunction> function(const std::string &name) const;
  const std::string &getPath() const { return path; }

private:
  Module(const Driver *driver, CUmodule module, std::string path)
      : driver(driver), module(module), path(std::move(path)) {}
  const Driver *driver;
  CUmodule module;
  std::string path;
};

/// Device memory owned by the runtime (in the current context).
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  static Expected<DeviceBuffer> allocate(const Driver &driver, int64_t bytes,
                                         const std::string &what);
  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  ~DeviceBuffer();

  CUdeviceptr get() const { return address; }
  int64_t size() const { return bytes; }

private:
  const Driver *driver = nullptr;
  CUdeviceptr address = 0;
  int64_t bytes = 0;
};

/// An owned event (timing disabled: used for ordering only).
class Event {
public:
  static Expected<Event> create(const Driver &driver);
  Event(Event &&other) noexcept;
  Event &operator=(Event &&other) = delete;
  Event(const Event &) = delete;
  ~Event();
  CUevent get() const { return event; }

private:
  Event(const Driver *driver, CUevent event) : driver(driver), event(event) {}
  const Driver *driver;
  CUevent event;
};

/// A non-blocking stream of the current context, destroyed with it.
class Stream {
public:
  static Expected<Stream> create(const Driver &driver);
  Stream(Stream &&other) noexcept;
  Stream &operator=(Stream &&other) = delete;
  Stream(const Stream &) = delete;
  ~Stream();
  CUstream get() const { return stream; }

private:
  Stream(const Driver *driver, CUstream stream)
      : driver(driver), stream(stream) {}
  const Driver *driver;
  CUstream stream;
};

/// Launches `function` with the packed 8-byte parameters (see
/// packArguments). `what` names the kernel in messages. `programmatic`
/// (which needs driver.cuLaunchKernelEx) lets the kernel start before the
/// previous kernel on `stream` completes: it must wait for it with
/// griddepcontrol.wait (programmatic stream serialization).
Status launchKernel(const Driver &driver, CUfunction function,
                    const std::array<int64_t, 3> &grid,
                    const std::array<int64_t, 3> &block, int64_t sharedBytes,
                    CUstream stream, std::vector<uint64_t> &params,
                    const std::string &what, bool programmatic = false);

} // namespace cuda
} // namespace st

#endif // ST_CUDA_DRIVER_H
