//===- Plan.cpp - One attention layout on the GPU, ready to launch --------===//

#include "st/cuda/Plan.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace st::cuda;

namespace {
/// Kernel parameters the manifest's args expand to (a buffer is a five-value
/// memref descriptor, a size one i64).
size_t paramCount(const Launch &launch) {
  size_t count = 0;
  for (const Arg &arg : launch.args)
    count += (arg.kind == ArgKind::N || arg.kind == ArgKind::B ||
              arg.kind == ArgKind::H || arg.kind == ArgKind::BH)
                 ? 1
                 : 5;
  return count;
}

/// Checks that `function` takes (at least) `expected` 8-byte parameters at
/// offsets 0, 8, ..., when the driver can tell (cuFuncGetParamInfo). A
/// mismatch means the manifest and the module disagree about the ABI;
/// launching would read garbage. Only the expected indices are queried:
/// probing one past the last parameter would fail by design, and
/// compute-sanitizer reports every failing driver call as an error.
Status checkParams(const Driver &driver, CUfunction function, size_t expected,
                   const std::string &where) {
  if (!driver.cuFuncGetParamInfo)
    return Status::success();
  for (size_t i = 0; i < expected; ++i) {
    size_t offset = 0, size = 0;
    CUresult result = driver.cuFuncGetParamInfo(function, i, &offset, &size);
    if (result == CUDA_ERROR_INVALID_VALUE)
      return Status::error(where + ": the kernel takes " + std::to_string(i) +
                           " parameters but the manifest's args expand to " +
                           std::to_string(expected));
    if (result != CUDA_SUCCESS)
      return Status::success(); // Not supported for this module kind.
    if (size != 8 || offset != 8 * i)
      return Status::error(where + ": kernel parameter " + std::to_string(i) +
                           " has " + std::to_string(size) +
                           " bytes at offset " + std::to_string(offset) +
                           "; the ABI passes 8-byte pointers and i64s");
  }
  return Status::success();
}
} // namespace

Expected<std::unique_ptr<AttentionPlan>>
AttentionPlan::open(const std::string &libraryDir, const std::string &layout,
                    int64_t headDim, DType dtype) {
  Expected<Manifest> manifest = Manifest::load(libraryDir);
  if (!manifest)
    return manifest.status();
  Expected<const Entry *> found = manifest->lookup(layout, headDim, dtype);
  if (!found)
    return found.status();

  Expected<DeviceContext> context = DeviceContext::acquire(0);
  if (!context)
    return context.status();
  std::unique_ptr<AttentionPlan> plan(
      new AttentionPlan(**found, context.take()));
  const Driver &driver = plan->context.getDriver();
  Expected<DeviceContext::Scope> scope = plan->context.enter();
  if (!scope)
    return scope.status();

  const char *sync = std::getenv("ST_CUDA_SYNC");
  plan->syncEveryLaunch = sync && *sync && std::strcmp(sync, "0") != 0;
  int optin = 0;
  if (Status s = driver.check(
          driver.cuDeviceGetAttribute(
              &optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
              plan->context.getDevice()),
          "cuDeviceGetAttribute(max shared memory per block)");
      s.isError())
    return s;
  plan->maxOptinShared = optin;
  // Programmatic dependent launch (Launch::earlyLaunch) needs sm_90 and a
  // driver with cuLaunchKernelEx; ST_CUDA_PDL=0 turns it off (to compare,
  // or to rule it out).
  int major = 0;
  if (Status s =
          driver.check(driver.cuDeviceGetAttribute(
                           &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                           plan->context.getDevice()),
                       "cuDeviceGetAttribute(compute capability)");
      s.isError())
    return s;
  const char *pdl = std::getenv("ST_CUDA_PDL");
  plan->dependentLaunch = major >= 9 && driver.cuLaunchKernelEx &&
                          !(pdl && std::strcmp(pdl, "0") == 0);

  Expected<Module> module =
      Module::load(driver, libraryDir + "/" + plan->entry.module);
  if (!module)
    return module.status();
  plan->module.emplace(module.take());

  std::string where = manifest->getSource() + " " + plan->entry.describe();
  for (Pass pass : {Pass::Forward, Pass::Backward}) {
    const std::vector<Launch> &launches = plan->entry.launches(pass);
    std::vector<Kernel> &kernels =
        pass == Pass::Forward ? plan->forwardKernels : plan->backwardKernels;
    for (size_t i = 0; i < launches.size(); ++i) {
      const Launch &launch = launches[i];
      std::string launchWhere =
          where + ": " + (pass == Pass::Forward ? "forward[" : "backward[") +
          std::to_string(i) + "] (kernel '" + launch.kernel + "')";
      Expected<CUfunction> function = plan->module->function(launch.kernel);
      if (!function)
        return Status::error(where + ": " + function.message());
      int maxThreads = 0;
      if (Status s = driver.check(
              driver.cuFuncGetAttribute(&maxThreads,
                                        CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
                                        *function),
              launchWhere + ": cuFuncGetAttribute(max threads)");
          s.isError())
        return s;
      int64_t threads = launch.block[0] * launch.block[1] * launch.block[2];
      if (threads > maxThreads)
        return Status::error(launchWhere + ": block of " +
                             std::to_string(threads) +
                             " threads, but the kernel allows at most " +
                             std::to_string(maxThreads));
      if (Status s =
              checkParams(driver, *function, paramCount(launch), launchWhere);
          s.isError())
        return s;
      kernels.push_back({*function, 48 * 1024});
      std::vector<size_t> &zeroed = plan->zeroedScratch[static_cast<int>(pass)];
      for (const Arg &arg : launch.args)
        if (arg.kind == ArgKind::Scratch &&
            plan->entry.scratch[arg.scratch].zeroed &&
            std::find(zeroed.begin(), zeroed.end(), size_t(arg.scratch)) ==
                zeroed.end())
          zeroed.push_back(size_t(arg.scratch));
    }
  }

  Expected<Event> event = Event::create(driver);
  if (!event)
    return event.status();
  plan->lastUse.emplace(event.take());
  return plan;
}

AttentionPlan::~AttentionPlan() {
  Expected<DeviceContext::Scope> scope = context.enter();
  if (!scope)
    return; // The context is gone; so is everything it held.
  const Driver &driver = context.getDriver();
  if (lastStream && lastUse)
    (void)driver.cuEventSynchronize(lastUse->get());
  scratch = DeviceBuffer();
  lastUse.reset();
  for (auto &events : done)
    events.clear();
  fork.reset();
  join.reset();
  sideStream.reset();
  module.reset();
}

Status AttentionPlan::forward(const Sizes &sizes, const Buffers &buffers,
                              CUstream stream) {
  return run(Pass::Forward, sizes, buffers, stream);
}

Status AttentionPlan::backward(const Sizes &sizes, const Buffers &buffers,
                               CUstream stream) {
  return run(Pass::Backward, sizes, buffers, stream);
}

Status AttentionPlan::prepareScratch(const Sizes &sizes,
                                     std::vector<int64_t> &bytes,
                                     std::vector<uint64_t> &addresses) {
  Expected<std::vector<int64_t>> evaluated = scratchBytes(entry, sizes);
  if (!evaluated)
    return evaluated.status();
  bytes = evaluated.take();
  Expected<ScratchLayout> layout = layoutScratch(bytes);
  if (!layout)
    return layout.status();
  const Driver &driver = context.getDriver();
  if (layout->totalBytes > scratch.size()) {
    // The old buffer may still be in use by the previous call.
    if (lastStream)
      if (Status s = driver.check(driver.cuEventSynchronize(lastUse->get()),
                                  "cuEventSynchronize(before growing scratch)");
          s.isError())
        return s;
    scratch = DeviceBuffer();
    Expected<DeviceBuffer> grown = DeviceBuffer::allocate(
        driver, layout->totalBytes, "scratch of " + entry.describe());
    if (!grown)
      return grown.status();
    scratch = grown.take();
  }
  addresses.clear();
  for (size_t i = 0; i < bytes.size(); ++i)
    addresses.push_back(bytes[i] == 0
                            ? 0
                            : scratch.get() +
                                  static_cast<uint64_t>(layout->offsets[i]));
  return Status::success();
}

Status AttentionPlan::zeroScratch(Pass pass, const std::vector<int64_t> &bytes,
                                  const std::vector<uint64_t> &addresses,
                                  CUstream stream) {
  const Driver &driver = context.getDriver();
  for (size_t i : zeroedScratch[static_cast<int>(pass)]) {
    if (addresses[i] == 0)
      continue;
    if (Status s = driver.check(
            driver.cuMemsetD8Async(addresses[i], 0,
                                   static_cast<size_t>(bytes[i]), stream),
            "cuMemsetD8Async(scratch '" + entry.scratch[i].name + "')");
        s.isError())
      return s;
  }
  return Status::success();
}

Expected<bool> AttentionPlan::prepareStreams(Pass pass) {
  const std::vector<Launch> &launches = entry.launches(pass);
  std::vector<std::optional<Event>> &doneEvents = done[static_cast<int>(pass)];
  bool concurrent = false;
  for (const Launch &launch : launches)
    concurrent |= launch.stream != 0;
  if (!concurrent || !doneEvents.empty())
    return concurrent;
  const Driver &driver = context.getDriver();
  if (!sideStream) {
    Expected<Stream> side = Stream::create(driver);
    if (!side)
      return side.status();
    Expected<Event> forkEvent = Event::create(driver);
    if (!forkEvent)
      return forkEvent.status();
    Expected<Event> joinEvent = Event::create(driver);
    if (!joinEvent)
      return joinEvent.status();
    sideStream.emplace(side.take());
    fork.emplace(forkEvent.take());
    join.emplace(joinEvent.take());
  }
  doneEvents.resize(launches.size());
  for (const Launch &launch : launches)
    for (int32_t w : launch.waits)
      if (!doneEvents[w]) {
        Expected<Event> event = Event::create(driver);
        if (!event)
          return event.status();
        doneEvents[w].emplace(event.take());
      }
  return true;
}

Status AttentionPlan::recordAndWait(const Event &event, CUstream from,
                                    CUstream to) {
  const Driver &driver = context.getDriver();
  if (Status s = driver.check(driver.cuEventRecord(event.get(), from),
                              "cuEventRecord");
      s.isError())
    return s;
  return driver.check(driver.cuStreamWaitEvent(to, event.get(), 0),
                      "cuStreamWaitEvent");
}

Status AttentionPlan::run(Pass pass, const Sizes &sizes,
                          const Buffers &userBuffers, CUstream stream) {
  std::lock_guard<std::mutex> lock(mutex);
  const char *passName = pass == Pass::Forward ? "forward" : "backward";
  auto fail = [&](const std::string &message) {
    return Status::error(std::string(passName) + " " + entry.describe() + ": " +
                         message);
  };
  if (Status s = checkSizes(entry, sizes); s.isError())
    return fail(s.message());

  struct Named {
    const char *name;
    uint64_t address;
  };
  std::vector<Named> required = {{"q", userBuffers.q},
                                 {"k", userBuffers.k},
                                 {"v", userBuffers.v},
                                 {"o", userBuffers.o},
                                 {"lse", userBuffers.lse}};
  if (pass == Pass::Backward)
    required.insert(required.end(), {{"dout", userBuffers.dout},
                                     {"dq", userBuffers.dq},
                                     {"dk", userBuffers.dk},
                                     {"dv", userBuffers.dv}});
  for (const Named &buffer : required) {
    if (buffer.address == 0)
      return fail(std::string(buffer.name) + " is null");
    if (buffer.address % kBufferAlignment != 0)
      return fail(
          std::string(buffer.name) + " (0x" +
          [&] {
            char text[32];
            std::snprintf(text, sizeof(text), "%llx",
                          static_cast<unsigned long long>(buffer.address));
            return std::string(text);
          }() +
          ") is not " + std::to_string(kBufferAlignment) + "-byte aligned");
  }

  Expected<DeviceContext::Scope> scope = context.enter();
  if (!scope)
    return fail(scope.message());
  const Driver &driver = context.getDriver();

  if (lastStream && *lastStream != stream)
    if (Status s =
            driver.check(driver.cuStreamWaitEvent(stream, lastUse->get(), 0),
                         "cuStreamWaitEvent(previous call on another stream)");
        s.isError())
      return fail(s.message());

  Buffers buffers = userBuffers;
  std::vector<int64_t> scratchSizes;
  if (Status s = prepareScratch(sizes, scratchSizes, buffers.scratch);
      s.isError())
    return fail(s.message());
  // Before the fork below, so that both streams' launches see the zeros.
  if (Status s = zeroScratch(pass, scratchSizes, buffers.scratch, stream);
      s.isError())
    return fail(s.message());

  const std::vector<Launch> &launches = entry.launches(pass);
  std::vector<Kernel> &kernels =
      pass == Pass::Forward ? forwardKernels : backwardKernels;
  Expected<bool> concurrent = prepareStreams(pass);
  if (!concurrent)
    return fail(concurrent.message());
  std::vector<std::optional<Event>> &doneEvents = done[static_cast<int>(pass)];
  // Marks launch i's place on `on` for the launches that wait for it (a
  // launch skipped as empty too).
  auto recordDone = [&](size_t i, CUstream on) {
    if (i >= doneEvents.size() || !doneEvents[i])
      return Status::success();
    return driver.check(driver.cuEventRecord(doneEvents[i]->get(), on),
                        "cuEventRecord");
  };
  // The second stream starts after everything before this pass on the
  // caller's stream (the inputs).
  if (*concurrent)
    if (Status s = recordAndWait(*fork, stream, sideStream->get()); s.isError())
      return fail(s.message());
  // Whether a kernel of this pass was launched on stream 0 or 1: only
  // after one may a launch be programmatic, so that everything before the
  // pass (the inputs) is complete when it starts.
  bool launchedOn[2] = {false, false};
  for (size_t i = 0; i < launches.size(); ++i) {
    const Launch &launch = launches[i];
    Kernel &kernel = kernels[i];
    CUstream on = launch.stream == 0 ? stream : sideStream->get();
    for (int32_t w : launch.waits)
      if (Status s = driver.check(
              driver.cuStreamWaitEvent(on, doneEvents[w]->get(), 0),
              "cuStreamWaitEvent(launch " + std::to_string(w) + ")");
          s.isError())
        return fail(s.message());
    Expected<LaunchShape> shape = evaluateShape(launch, sizes);
    if (!shape)
      return fail(shape.message());
    if (shape->isEmpty()) {
      if (Status s = recordDone(i, on); s.isError())
        return fail(s.message());
      continue;
    }
    if (shape->sharedBytes > kernel.sharedLimit) {
      if (shape->sharedBytes > maxOptinShared)
        return fail("kernel '" + launch.kernel + "' needs " +
                    std::to_string(shape->sharedBytes) +
                    " bytes of shared memory; the device allows " +
                    std::to_string(maxOptinShared));
      if (Status s = driver.check(
              driver.cuFuncSetAttribute(
                  kernel.function,
                  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                  static_cast<int>(shape->sharedBytes)),
              "cuFuncSetAttribute(" + launch.kernel + ", max dynamic shared " +
                  std::to_string(shape->sharedBytes) + " B)");
          s.isError())
        return fail(s.message());
      kernel.sharedLimit = shape->sharedBytes;
    }
    Expected<std::vector<uint64_t>> params =
        packArguments(entry, launch, sizes, buffers);
    if (!params)
      return fail(params.message());
    // Early only after a kernel of the pass on the same stream and without
    // an event to wait for (an event orders the whole launch).
    bool programmatic = dependentLaunch && launch.earlyLaunch &&
                        launch.waits.empty() && launchedOn[launch.stream];
    if (Status s = launchKernel(driver, kernel.function, shape->grid,
                                shape->block, shape->sharedBytes, on, *params,
                                launch.kernel, programmatic);
        s.isError())
      return fail(s.message());
    launchedOn[launch.stream] = true;
    if (syncEveryLaunch)
      if (Status s =
              driver.check(driver.cuStreamSynchronize(on),
                           "kernel '" + launch.kernel + "' (ST_CUDA_SYNC)");
          s.isError())
        return fail(s.message());
    if (Status s = recordDone(i, on); s.isError())
      return fail(s.message());
  }
  // The caller's stream goes on only after the second one's launches.
  if (*concurrent)
    if (Status s = recordAndWait(*join, sideStream->get(), stream); s.isError())
      return fail(s.message());
  if (Status s = driver.check(driver.cuEventRecord(lastUse->get(), stream),
                              "cuEventRecord");
      s.isError())
    return fail(s.message());
  lastStream = stream;
  return Status::success();
}
