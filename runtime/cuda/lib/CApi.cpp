//===- CApi.cpp - C API over AttentionPlan --------------------------------===//

#include "st/cuda/st_attention.h"

#include "st/cuda/Plan.h"

using namespace st::cuda;

struct st_attention {
  std::unique_ptr<AttentionPlan> plan;
  std::string description;
};

namespace {
thread_local std::string lastError;

int succeed() {
  lastError.clear();
  return ST_ATTENTION_OK;
}

int failWith(const Status &status) {
  lastError = status.message();
  return Driver::isUnavailable(status) ? ST_ATTENTION_NO_DEVICE
                                       : ST_ATTENTION_ERROR;
}

int failWith(const std::string &message) {
  lastError = message;
  return ST_ATTENTION_ERROR;
}

uint64_t address(const void *pointer) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(pointer));
}
} // namespace

extern "C" {

int st_attention_abi_version(void) { return ST_ATTENTION_ABI_VERSION; }

int st_attention_device_available(void) {
  Expected<const Driver *> driver = Driver::get();
  if (!driver)
    return failWith(driver.status());
  return succeed();
}

int st_attention_open(const char *libraryDir, const char *layout,
                      int64_t headDim, const char *dtype,
                      st_attention **handle) {
  if (!handle)
    return failWith("st_attention_open: handle is null");
  *handle = nullptr;
  if (!libraryDir || !layout || !dtype)
    return failWith("st_attention_open: library_dir, layout and dtype must "
                    "not be null");
  std::optional<DType> parsed = parseDType(dtype);
  if (!parsed)
    return failWith(std::string("st_attention_open: unknown dtype '") + dtype +
                    "' (expected bf16, f16 or f32)");
  Expected<std::unique_ptr<AttentionPlan>> plan =
      AttentionPlan::open(libraryDir, layout, headDim, *parsed);
  if (!plan)
    return failWith(plan.status());
  auto *result = new st_attention;
  result->plan = plan.take();
  result->description = std::string(layout) + ", head_dim " +
                        std::to_string(headDim) + ", " + dtype + " on " +
                        result->plan->getContext().describe();
  *handle = result;
  return succeed();
}

int st_attention_forward(st_attention *handle, int64_t batch, int64_t heads,
                         int64_t length, const void *q, const void *k,
                         const void *v, void *o, void *lse, void *stream) {
  if (!handle)
    return failWith("st_attention_forward: handle is null");
  Buffers buffers;
  buffers.q = address(q);
  buffers.k = address(k);
  buffers.v = address(v);
  buffers.o = address(o);
  buffers.lse = address(lse);
  Status status = handle->plan->forward({batch, heads, length}, buffers,
                                        static_cast<CUstream>(stream));
  return status.isOk() ? succeed() : failWith(status);
}

int st_attention_backward(st_attention *handle, int64_t batch, int64_t heads,
                          int64_t length, const void *q, const void *k,
                          const void *v, const void *o, const void *lse,
                          const void *dout, void *dq, void *dk, void *dv,
                          void *stream) {
  if (!handle)
    return failWith("st_attention_backward: handle is null");
  Buffers buffers;
  buffers.q = address(q);
  buffers.k = address(k);
  buffers.v = address(v);
  buffers.o = address(o);
  buffers.lse = address(lse);
  buffers.dout = address(dout);
  buffers.dq = address(dq);
  buffers.dk = address(dk);
  buffers.dv = address(dv);
  Status status = handle->plan->backward({batch, heads, length}, buffers,
                                         static_cast<CUstream>(stream));
  return status.isOk() ? succeed() : failWith(status);
}

int64_t st_attention_scratch_bytes(const st_attention *handle) {
  return handle ? handle->plan->getScratchBytes() : 0;
}

const char *st_attention_describe(const st_attention *handle) {
  return handle ? handle->description.c_str() : "";
}

const char *st_attention_last_error(void) { return lastError.c_str(); }

void st_attention_close(st_attention *handle) { delete handle; }

} // extern "C"
