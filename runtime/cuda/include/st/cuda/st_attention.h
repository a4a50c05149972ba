/*===- st_attention.h - C API: ST's GPU attention kernels --------*- C -*-===*\
|*                                                                            *|
|* One attention layout, compiled by st-opt into a kernel library (a         *|
|* directory with manifest.json and CUDA modules; docs/gpu-kernel-abi.md),   *|
|* called on the caller's device buffers and stream. libst_cuda.so exports   *|
|* these functions; it needs no CUDA headers or libraries at build time of   *|
|* the caller (streams and device pointers are plain pointers here) and      *|
|* loads the NVIDIA driver (libcuda.so.1) when a handle is first opened.     *|
|*                                                                            *|
|* Tensors are contiguous, row-major, 16-byte aligned device buffers:        *|
|*   q, k, v, o, dout, dq, dk, dv: [B, H, N, D] of the handle's dtype;       *|
|*   lse: [B, H, N] float32, the per-row log-sum-exp of the scaled scores    *|
|*        (natural log), written by forward and read by backward.            *|
|* The scale is 1/sqrt(D). Calls are asynchronous on `stream` (a CUstream;   *|
|* NULL is the legacy default stream); errors found before launching are     *|
|* returned at once, faults inside kernels surface at the next               *|
|* synchronisation (set ST_CUDA_SYNC=1 to check after every launch).         *|
|*                                                                            *|
|* A handle belongs to the CUDA context that was current on the thread that  *|
|* opened it (device 0's primary context when none was; that is PyTorch's    *|
|* context for device 0 too) and switches to it for every call. Calls on one *|
|* handle are serialised; its scratch memory is shared across streams        *|
|* safely. Every function returns ST_ATTENTION_OK or an error code; the      *|
|* message is st_attention_last_error() on the same thread.                  *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef ST_CUDA_ST_ATTENTION_H
#define ST_CUDA_ST_ATTENTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ST_ATTENTION_ABI_VERSION 1

#define ST_ATTENTION_OK 0
/** A bad library, bad arguments or a CUDA failure; see the message. */
#define ST_ATTENTION_ERROR 1
/** No NVIDIA driver or no device on this machine. */
#define ST_ATTENTION_NO_DEVICE 2

typedef struct st_attention st_attention;

/** ST_ATTENTION_ABI_VERSION of the library (checked by bindings). */
int st_attention_abi_version(void);

/** ST_ATTENTION_OK when a CUDA device can be used, else
 *  ST_ATTENTION_NO_DEVICE (or ST_ATTENTION_ERROR) with a message. */
int st_attention_device_available(void);

/** Opens the entry (layout, head_dim, dtype) of the kernel library in
 *  `library_dir`. `layout` is the attribute as MLIR prints it, e.g.
 *  "#st.strided<stride = 128>"; `dtype` is "bf16", "f16" or "f32". The
 *  manifest is checked before the device is touched. On success *handle is
 *  set; on failure it is set to NULL. */
int st_attention_open(const char *library_dir, const char *layout,
                      int64_t head_dim, const char *dtype,
                      st_attention **handle);

/** o, lse <- attention(q, k, v). */
int st_attention_forward(st_attention *handle, int64_t batch, int64_t heads,
                         int64_t length, const void *q, const void *k,
                         const void *v, void *o, void *lse, void *stream);

/** dq, dk, dv <- gradients of attention given dout, with o and lse from
 *  st_attention_forward on the same q, k, v. Every element of dq, dk and dv
 *  is written. */
int st_attention_backward(st_attention *handle, int64_t batch, int64_t heads,
                          int64_t length, const void *q, const void *k,
                          const void *v, const void *o, const void *lse,
                          const void *dout, void *dq, void *dk, void *dv,
                          void *stream);

/** Bytes of device scratch memory the handle holds now (allocated with
 *  cuMemAlloc, so invisible to other allocators). */
int64_t st_attention_scratch_bytes(const st_attention *handle);

/** "<layout>, head_dim D, dtype on <device>"; valid until close. */
const char *st_attention_describe(const st_attention *handle);

/** The calling thread's last error message ("" if none). */
const char *st_attention_last_error(void);

/** Waits for the handle's work, frees its memory and module. NULL is a
 *  no-op. */
void st_attention_close(st_attention *handle);

#ifdef __cplusplus
}
#endif

#endif /* ST_CUDA_ST_ATTENTION_H */
