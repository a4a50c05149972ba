//===- Plan.h - One attention layout on the GPU, ready to launch -*- C++
//-*-===//
//
// An AttentionPlan is one manifest entry (layout, head_dim, dtype) opened on
// a device: its module loaded, every kernel looked up and checked against the
// launch shapes the manifest asks for, scratch memory allocated on demand.
// forward() and backward() launch the entry's sequences in order on the
// caller's stream. The plan knows nothing about attention patterns: the
// compiler chose the kernels, grids and arguments.
//
// Streams: launches are asynchronous. The plan's scratch memory is shared by
// its calls; a call on a different stream than the previous one first waits
// (on the device) for the previous call to finish with it. Growing scratch
// waits for the previous call on the host before freeing the old buffer.
//
// Set ST_CUDA_SYNC=1 in the environment to synchronise after every launch,
// so that an asynchronous fault is reported with the kernel that caused it.
//
//===----------------------------------------------------------------------===//

#ifndef ST_CUDA_PLAN_H
#define ST_CUDA_PLAN_H

#include "st/cuda/Driver.h"
#include "st/cuda/Manifest.h"

#include <memory>
#include <mutex>
#include <optional>

namespace st {
namespace cuda {

/// Every user buffer must be aligned to this many bytes (kernels may use
/// 16-byte vector accesses).
constexpr uint64_t kBufferAlignment = 16;

class AttentionPlan {
public:
  /// Reads `<libraryDir>/manifest.json`, picks the entry and opens it in the
  /// calling thread's current context, or in device 0's primary context
  /// when none is current. The manifest is checked before the device is
  /// touched, so a bad library is reported on machines without a GPU too.
  static Expected<std::unique_ptr<AttentionPlan>>
  open(const std::string &libraryDir, const std::string &layout,
       int64_t headDim, DType dtype);

  ~AttentionPlan();

  /// o, lse <- attention(q, k, v). Pointers are device addresses of
  /// contiguous [B, H, N, D] tensors of the entry's dtype (lse: [B, H, N]
  /// f32).
  Status forward(const Sizes &sizes, const Buffers &buffers, CUstream stream);
  /// dq, dk, dv from q, k, v, o, lse (from forward) and dout.
  Status backward(const Sizes &sizes, const Buffers &buffers, CUstream stream);

  const Entry &getEntry() const { return entry; }
  const DeviceContext &getContext() const { return context; }
  /// Bytes of scratch memory currently allocated (outside any caller's
  /// allocator).
  int64_t getScratchBytes() const { return scratch.size(); }

private:
  AttentionPlan(Entry entry, DeviceContext context)
      : entry(std::move(entry)), context(std::move(context)) {}

  Status run(Pass pass, const Sizes &sizes, const Buffers &buffers,
             CUstream stream);
  /// Grows the scratch allocation for `sizes` if needed; `bytes` and
  /// `addresses` get every scratch buffer's size and address.
  Status prepareScratch(const Sizes &sizes, std::vector<int64_t> &bytes,
                        std::vector<uint64_t> &addresses);
  /// Sets the scratch buffers of `zeroedScratch[pass]` to zero on `stream`,
  /// ahead of the pass's launches.
  Status zeroScratch(Pass pass, const std::vector<int64_t> &bytes,
                     const std::vector<uint64_t> &addresses, CUstream stream);
  /// Whether `pass` uses the second stream; creates it and the events that
  /// the pass's launches need (Launch::stream, Launch::waits), once.
  Expected<bool> prepareStreams(Pass pass);
  /// Records `event` on `from` and makes `to` wait for it.
  Status recordAndWait(const Event &event, CUstream from, CUstream to);

  struct Kernel {
    CUfunction function = nullptr;
    /// Dynamic shared memory the function was opted in for.
    int64_t sharedLimit = 48 * 1024;
  };

  // Device objects are released in ~AttentionPlan with the context current,
  // hence the optionals.
  Entry entry;
  DeviceContext context;
  std::optional<Module> module;
  /// Parallel to entry.forward and entry.backward.
  std::vector<Kernel> forwardKernels, backwardKernels;
  /// Per pass, the scratch buffers (Entry::scratch indices) marked
  /// `zeroed` that its launches take (open()).
  std::vector<size_t> zeroedScratch[2];
  DeviceBuffer scratch;
  /// Recorded on the last call's stream after its last launch.
  std::optional<Event> lastUse;
  /// Launches with `stream` 1 (Launch::stream) run on `sideStream`, which
  /// starts after `fork` (recorded on the caller's stream when the pass
  /// begins) and ends in `join` (the caller's stream waits for it before
  /// `lastUse`). `done[pass][i]` is recorded after launch i when a later
  /// launch waits for it. Created on the first pass that needs them.
  std::optional<Stream> sideStream;
  std::optional<Event> fork, join;
  std::vector<std::optional<Event>> done[2];
  std::optional<CUstream> lastStream;
  bool syncEveryLaunch = false;
  /// Launches marked early_launch start programmatically (run()).
  bool dependentLaunch = false;
  int64_t maxOptinShared = 0;
  std::mutex mutex;
};

} // namespace cuda
} // namespace st

#endif // ST_CUDA_PLAN_H
