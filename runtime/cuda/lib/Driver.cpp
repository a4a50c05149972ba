//===- Driver.cpp - A checked wrapper over the CUDA driver API ------------===//

#include "st/cuda/Driver.h"

#include <dlfcn.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace st::cuda;

namespace {
/// Every "no usable GPU here" message starts with this.
constexpr const char *kUnavailablePrefix = "no usable CUDA device: ";

#define ST_CUDA_STRINGIFY_(x) #x
#define ST_CUDA_STRINGIFY(x) ST_CUDA_STRINGIFY_(x)

/// Replaces line breaks so that a driver or compiler log fits a one-line
/// message.
std::string oneLine(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' ||
                           text.back() == ' ' || text.back() == '\0'))
    text.pop_back();
  std::string result;
  for (char c : text) {
    if (c == '\n')
      result += "; ";
    else if (c != '\r')
      result += c;
  }
  return result;
}
} // namespace

Expected<const Driver *> Driver::load() {
  const char *override = std::getenv("ST_LIBCUDA");
  const char *name = override && *override ? override : "libcuda.so.1";
  void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *reason = dlerror();
    return Status::error(std::string(kUnavailablePrefix) +
                         "cannot load the driver library " + name + " (" +
                         (reason ? reason : "unknown reason") +
                         "); is the NVIDIA driver installed?");
  }
  // Never freed: the driver stays loaded for the life of the process.
  Driver *driver = new Driver();
#define ST_CUDA_LOAD(fn)                                                       \
  driver->fn = reinterpret_cast<decltype(driver->fn)>(                         \
      dlsym(handle, ST_CUDA_STRINGIFY(fn)));                                   \
  if (!driver->fn)                                                             \
    return Status::error(std::string(name) + " has no symbol '" +              \
                         ST_CUDA_STRINGIFY(fn) +                               \
                         "': the driver is older than this runtime needs");
  ST_CUDA_DRIVER_FUNCTIONS(ST_CUDA_LOAD)
#undef ST_CUDA_LOAD
  driver->cuFuncGetParamInfo =
      reinterpret_cast<decltype(&::cuFuncGetParamInfo)>(
          dlsym(handle, "cuFuncGetParamInfo"));
  driver->cuLaunchKernelEx = reinterpret_cast<decltype(&::cuLaunchKernelEx)>(
      dlsym(handle, "cuLaunchKernelEx"));

  CUresult result = driver->cuInit(0);
  if (result != CUDA_SUCCESS) {
    Status status = driver->error(result, "cuInit");
    return Status::error(std::string(kUnavailablePrefix) + status.message());
  }
  int count = 0;
  if (Status s =
          driver->check(driver->cuDeviceGetCount(&count), "cuDeviceGetCount");
      s.isError())
    return s;
  if (count == 0)
    return Status::error(std::string(kUnavailablePrefix) +
                         "the driver reports no devices");
  return static_cast<const Driver *>(driver);
}

Expected<const Driver *> Driver::get() {
  static const Expected<const Driver *> driver = load();
  if (!driver)
    return driver.status();
  return *driver;
}

bool Driver::isUnavailable(const Status &status) {
  return status.isError() && status.message().rfind(kUnavailablePrefix, 0) == 0;
}

Status Driver::error(CUresult result, const std::string &what) const {
  std::string code = std::to_string(static_cast<int>(result));
  if (result == CUDA_ERROR_STUB_LIBRARY)
    return Status::error(what + " failed: CUDA_ERROR_STUB_LIBRARY (" + code +
                         "): the CUDA toolkit's stub libcuda.so was loaded "
                         "instead of the driver's (check LD_LIBRARY_PATH)");
  const char *name = nullptr;
  const char *description = nullptr;
  if (cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    return Status::error(what + " failed: CUresult " + code);
  if (cuGetErrorString(result, &description) != CUDA_SUCCESS || !description)
    description = "no description";
  std::string message =
      what + " failed: " + name + " (" + code + ": " + description + ")";
  if (result == CUDA_ERROR_NO_BINARY_FOR_GPU ||
      result == CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
    message += "; the module was built for another GPU or a newer driver";
  return Status::error(oneLine(message));
}

//===----------------------------------------------------------------------===//
// DeviceContext
//===----------------------------------------------------------------------===//

Expected<DeviceContext> DeviceContext::acquire(int ordinal) {
  Expected<const Driver *> loaded = Driver::get();
  if (!loaded)
    return loaded.status();
  const Driver &d = **loaded;

  CUcontext current = nullptr;
  if (Status s = d.check(d.cuCtxGetCurrent(&current), "cuCtxGetCurrent");
      s.isError())
    return s;
  CUdevice device = 0;
  if (current) {
    if (Status s = d.check(d.cuCtxGetDevice(&device), "cuCtxGetDevice");
        s.isError())
      return s;
  } else {
    int count = 0;
    if (Status s = d.check(d.cuDeviceGetCount(&count), "cuDeviceGetCount");
        s.isError())
      return s;
    if (ordinal < 0 || ordinal >= count)
      return Status::error("CUDA device " + std::to_string(ordinal) +
                           " does not exist (" + std::to_string(count) +
                           " devices)");
    if (Status s = d.check(d.cuDeviceGet(&device, ordinal),
                           "cuDeviceGet(" + std::to_string(ordinal) + ")");
        s.isError())
      return s;
  }
  // Holding a reference on the primary context keeps it alive as long as
  // this object, whether we found it current (PyTorch) or not.
  CUcontext primary = nullptr;
  if (Status s = d.check(d.cuDevicePrimaryCtxRetain(&primary, device),
                         "cuDevicePrimaryCtxRetain");
      s.isError())
    return s;
  if (current && current != primary) {
    // Someone else's context: use it, and let go of the primary one.
    if (Status s = d.check(d.cuDevicePrimaryCtxRelease(device),
                           "cuDevicePrimaryCtxRelease");
        s.isError())
      return s;
    return DeviceContext(&d, current, device, /*retained=*/false);
  }
  return DeviceContext(&d, primary, device, /*retained=*/true);
}

DeviceContext::DeviceContext(DeviceContext &&other) noexcept
    : driver(other.driver), context(other.context), device(other.device),
      retained(other.retained) {
  other.retained = false;
  other.context = nullptr;
}

DeviceContext::~DeviceContext() {
  if (retained)
    (void)driver->cuDevicePrimaryCtxRelease(device);
}

std::string DeviceContext::describe() const {
  char name[256] = {0};
  if (driver->cuDeviceGetName(name, sizeof(name) - 1, device) != CUDA_SUCCESS)
    std::strcpy(name, "unknown device");
  int major = 0, minor = 0;
  (void)driver->cuDeviceGetAttribute(
      &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  (void)driver->cuDeviceGetAttribute(
      &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  return std::string(name) + " (device " + std::to_string(device) + ", sm_" +
         std::to_string(major) + std::to_string(minor) + ")";
}

Expected<DeviceContext::Scope> DeviceContext::enter() const {
  CUcontext current = nullptr;
  if (Status s =
          driver->check(driver->cuCtxGetCurrent(&current), "cuCtxGetCurrent");
      s.isError())
    return s;
  if (current == context)
    return Scope(driver, /*pushed=*/false);
  if (Status s =
          driver->check(driver->cuCtxPushCurrent(context), "cuCtxPushCurrent");
      s.isError())
    return s;
  return Scope(driver, /*pushed=*/true);
}

DeviceContext::Scope::~Scope() {
  if (pushed) {
    CUcontext popped = nullptr;
    (void)driver->cuCtxPopCurrent(&popped);
  }
}

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

Expected<Module> Module::load(const Driver &driver, const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << file.rdbuf();
  std::string image = bytes.str();
  if (image.empty())
    return Status::error(path + ": the module file is empty");
  // PTX is text and must be NUL-terminated; a terminator does not hurt a
  // cubin or fatbin either.
  image.push_back('\0');

  char log[8192] = {0};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log) - 1)};
  CUmodule module = nullptr;
  CUresult result =
      driver.cuModuleLoadDataEx(&module, image.data(), 2, options, values);
  if (result != CUDA_SUCCESS) {
    Status status = driver.error(result, path + ": cuModuleLoadDataEx");
    std::string message = status.message();
    if (log[0])
      message += ": " + oneLine(log);
    return Status::error(message);
  }
  return Module(&driver, module, path);
}

Module::Module(Module &&other) noexcept
    : driver(other.driver), module(other.module), path(std::move(other.path)) {
  other.module = nullptr;
}

Module::~Module() {
  if (module)
    (void)driver->cuModuleUnload(module);
}

Expected<CUfunction> Module::function(const std::string &name) const {
  CUfunction function = nullptr;
  CUresult result =
      driver->cuModuleGetFunction(&function, module, name.c_str());
  if (result == CUDA_ERROR_NOT_FOUND)
    return Status::error(path + ": kernel '" + name +
                         "' not found in the module");
  if (Status s =
          driver->check(result, path + ": cuModuleGetFunction('" + name + "')");
      s.isError())
    return s;
  return function;
}

//===----------------------------------------------------------------------===//
// DeviceBuffer, Event
//===----------------------------------------------------------------------===//

Expected<DeviceBuffer> DeviceBuffer::allocate(const Driver &driver,
                                              int64_t bytes,
                                              const std::string &what) {
  DeviceBuffer buffer;
  buffer.driver = &driver;
  if (bytes <= 0)
    return buffer;
  if (Status s = driver.check(
          driver.cuMemAlloc(&buffer.address, static_cast<size_t>(bytes)),
          "cuMemAlloc(" + std::to_string(bytes) + " bytes for " + what + ")");
      s.isError())
    return s;
  buffer.bytes = bytes;
  return buffer;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other) noexcept
    : driver(other.driver), address(other.address), bytes(other.bytes) {
  other.address = 0;
  other.bytes = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    if (address)
      (void)driver->cuMemFree(address);
    driver = other.driver;
    address = other.address;
    bytes = other.bytes;
    other.address = 0;
    other.bytes = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (address)
    (void)driver->cuMemFree(address);
}

Expected<Event> Event::create(const Driver &driver) {
  CUevent event = nullptr;
  if (Status s =
          driver.check(driver.cuEventCreate(&event, CU_EVENT_DISABLE_TIMING),
                       "cuEventCreate");
      s.isError())
    return s;
  return Event(&driver, event);
}

Event::Event(Event &&other) noexcept
    : driver(other.driver), event(other.event) {
  other.event = nullptr;
}

Event::~Event() {
  if (event)
    (void)driver->cuEventDestroy(event);
}

Expected<Stream> Stream::create(const Driver &driver) {
  CUstream stream = nullptr;
  if (Status s =
          driver.check(driver.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
                       "cuStreamCreate");
      s.isError())
    return s;
  return Stream(&driver, stream);
}

Stream::Stream(Stream &&other) noexcept
    : driver(other.driver), stream(other.stream) {
  other.stream = nullptr;
}

Stream::~Stream() {
  if (stream)
    (void)driver->cuStreamDestroy(stream);
}

//===----------------------------------------------------------------------===//
// Launch
//===----------------------------------------------------------------------===//

Status st::cuda::launchKernel(const Driver &driver, CUfunction function,
                              const std::array<int64_t, 3> &grid,
                              const std::array<int64_t, 3> &block,
                              int64_t sharedBytes, CUstream stream,
                              std::vector<uint64_t> &params,
                              const std::string &what, bool programmatic) {
  std::vector<void *> pointers(params.size());
  for (size_t i = 0; i < params.size(); ++i)
    pointers[i] = &params[i];
  CUresult result;
  if (programmatic) {
    if (!driver.cuLaunchKernelEx)
      return Status::error("programmatic launch of " + what +
                           ": the driver has no cuLaunchKernelEx");
    CUlaunchAttribute attribute = {};
    attribute.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attribute.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config = {};
    config.gridDimX = static_cast<unsigned>(grid[0]);
    config.gridDimY = static_cast<unsigned>(grid[1]);
    config.gridDimZ = static_cast<unsigned>(grid[2]);
    config.blockDimX = static_cast<unsigned>(block[0]);
    config.blockDimY = static_cast<unsigned>(block[1]);
    config.blockDimZ = static_cast<unsigned>(block[2]);
    config.sharedMemBytes = static_cast<unsigned>(sharedBytes);
    config.hStream = stream;
    config.attrs = &attribute;
    config.numAttrs = 1;
    result =
        driver.cuLaunchKernelEx(&config, function, pointers.data(), nullptr);
  } else {
    result = driver.cuLaunchKernel(
        function, static_cast<unsigned>(grid[0]),
        static_cast<unsigned>(grid[1]), static_cast<unsigned>(grid[2]),
        static_cast<unsigned>(block[0]), static_cast<unsigned>(block[1]),
        static_cast<unsigned>(block[2]), static_cast<unsigned>(sharedBytes),
        stream, pointers.data(), nullptr);
  }
  return driver.check(
      result, std::string(programmatic ? "cuLaunchKernelEx(programmatic, "
                                       : "cuLaunchKernel(") +
                  what + ", grid " + std::to_string(grid[0]) + "x" +
                  std::to_string(grid[1]) + "x" + std::to_string(grid[2]) +
                  ", block " + std::to_string(block[0]) + "x" +
                  std::to_string(block[1]) + "x" + std::to_string(block[2]) +
                  ", " + std::to_string(sharedBytes) + " B shared, " +
                  std::to_string(params.size()) + " params)");
}
