"""ST's GPU attention kernels on PyTorch tensors.

    from st_attention import StAttention, layouts
    attn = StAttention("kernels/strided128", layouts.strided(128),
                       head_dim=64, dtype=torch.bfloat16)
    o = attn(q, k, v)          # q, k, v: CUDA [B, H, N, 64] bf16
    o.sum().backward()         # q.grad, k.grad, v.grad from ST's backward

A kernel library is a directory that st-opt wrote (manifest.json and CUDA
modules, docs/gpu-kernel-abi.md); libst_cuda.so runs it (found through
`lib_path`, $ST_CUDA_LIB or the repository's build directories). This
package is pure Python over ctypes: torch is imported only when tensors are
used, and nothing is compiled against it.
"""

from . import layouts, libraries, patterns
from ._capi import (Handle, NoDeviceError, StError, device_available,
                    device_problem, library_path, load_library)

__all__ = ["StAttention", "attention", "Handle", "StError", "NoDeviceError",
           "device_available", "device_problem", "load_library",
           "library_path", "layouts", "libraries", "patterns"]

_DTYPES = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}


def _dtype_name(dtype):
    """'bf16' | 'f16' | 'f32' from a string or a torch dtype."""
    if isinstance(dtype, str):
        aliases = {"bfloat16": "bf16", "float16": "f16", "half": "f16",
                   "float32": "f32", "float": "f32", "fp16": "f16",
                   "fp32": "f32"}
        name = aliases.get(dtype, dtype)
        if name not in _DTYPES:
            raise StError(f"unknown dtype {dtype!r} (expected bf16, f16 or "
                          f"f32)")
        return name
    import torch
    names = {torch.bfloat16: "bf16", torch.float16: "f16",
             torch.float32: "f32"}
    if dtype not in names:
        raise StError(f"unsupported dtype {dtype} (expected torch.bfloat16, "
                      f"torch.float16 or torch.float32)")
    return names[dtype]


_function = None


def _attention_function():
    """The torch.autograd.Function, created on first use (imports torch)."""
    global _function
    if _function is not None:
        return _function
    import torch

    class AttentionFunction(torch.autograd.Function):
        """o = attention(q, k, v) with ST's forward; backward runs ST's
        backward from the saved q, k, v, o and lse."""

        @staticmethod
        def forward(ctx, q, k, v, st):
            q, k, v = st._prepare(q, k, v)
            o, lse = st.forward_into(q, k, v)
            ctx.save_for_backward(q, k, v, o, lse)
            ctx.st = st
            return o

        @staticmethod
        def backward(ctx, dout):
            q, k, v, o, lse = ctx.saved_tensors
            dout = ctx.st._aligned(dout.contiguous())
            dq, dk, dv = ctx.st.backward_into(q, k, v, o, lse, dout)
            return dq, dk, dv, None

    _function = AttentionFunction
    return _function


class StAttention:
    """One attention layout of a kernel library, callable on CUDA tensors
    [B, H, N, D] (D = head_dim, dtype as given). Opens the library once per
    device, in PyTorch's context for that device."""

    def __init__(self, library_dir, layout, head_dim, dtype, lib_path=None):
        self.library_dir = str(library_dir)
        self.layout = layout
        self.head_dim = int(head_dim)
        self.dtype = _dtype_name(dtype)
        self.lib_path = lib_path
        self._handles = {}
        load_library(lib_path)

    def __repr__(self):
        return (f"StAttention({self.library_dir!r}, {self.layout!r}, "
                f"head_dim={self.head_dim}, dtype={self.dtype!r})")

    def handle(self, device):
        """The opened entry on a torch CUDA device."""
        import torch
        index = torch.device(device).index
        if index is None:
            index = torch.cuda.current_device()
        if index not in self._handles:
            with torch.cuda.device(index):
                torch.cuda.init()
                # Makes the device's primary context current on this thread.
                torch.cuda.current_stream(index)
                self._handles[index] = Handle(self.library_dir, self.layout,
                                              self.head_dim, self.dtype,
                                              self.lib_path)
        return self._handles[index]

    def scratch_bytes(self):
        """Device memory the opened handles hold (outside PyTorch's
        allocator)."""
        return sum(h.scratch_bytes for h in self._handles.values())

    def __call__(self, q, k, v):
        """o = attention(q, k, v), differentiable in q, k and v."""
        return _attention_function().apply(q, k, v, self)

    attention = __call__

    # --- explicit buffers (no autograd) ---------------------------------

    @staticmethod
    def _aligned(t):
        # The kernels may use 16-byte accesses; a contiguous view can start
        # anywhere in its storage.
        return t if t.data_ptr() % 16 == 0 else t.clone()

    def _check(self, name, t, like=None):
        import torch
        if not isinstance(t, torch.Tensor):
            raise StError(f"{name} must be a torch.Tensor")
        if not t.is_cuda:
            raise StError(f"{name} must be a CUDA tensor, got {t.device}")
        want = getattr(torch, _DTYPES[self.dtype])
        if t.dtype != want:
            raise StError(f"{name} has dtype {t.dtype}; this StAttention is "
                          f"{self.dtype}")
        if t.dim() != 4 or t.shape[3] != self.head_dim:
            raise StError(f"{name} must be [B, H, N, {self.head_dim}], got "
                          f"{list(t.shape)}")
        if like is not None and (t.shape != like.shape or
                                 t.device != like.device):
            raise StError(f"{name} is {list(t.shape)} on {t.device}, q is "
                          f"{list(like.shape)} on {like.device}")

    def _prepare(self, q, k, v):
        self._check("q", q)
        self._check("k", k, q)
        self._check("v", v, q)
        return tuple(self._aligned(t.contiguous()) for t in (q, k, v))

    def forward_into(self, q, k, v, o=None, lse=None):
        """Runs the forward pass into `o` ([B, H, N, D]) and `lse` ([B, H, N]
        float32), allocated when not given; returns (o, lse). Inputs must be
        contiguous and 16-byte aligned (see _prepare)."""
        import torch
        b, h, n, _ = q.shape
        if o is None:
            o = torch.empty_like(q)
        if lse is None:
            lse = torch.empty((b, h, n), dtype=torch.float32, device=q.device)
        for name, t in (("q", q), ("k", k), ("v", v), ("o", o)):
            self._check(name, t, q)
            if not t.is_contiguous():
                raise StError(f"{name} must be contiguous")
        self._check_lse(lse, q)
        handle = self.handle(q.device)
        stream = torch.cuda.current_stream(q.device).cuda_stream
        handle.forward(b, h, n, q.data_ptr(), k.data_ptr(), v.data_ptr(),
                       o.data_ptr(), lse.data_ptr(), stream)
        return o, lse

    def backward_into(self, q, k, v, o, lse, dout, dq=None, dk=None,
                      dv=None):
        """Runs the backward pass; returns (dq, dk, dv), allocated when not
        given."""
        import torch
        b, h, n, _ = q.shape
        dq = torch.empty_like(q) if dq is None else dq
        dk = torch.empty_like(k) if dk is None else dk
        dv = torch.empty_like(v) if dv is None else dv
        for name, t in (("o", o), ("dout", dout), ("dq", dq), ("dk", dk),
                        ("dv", dv)):
            self._check(name, t, q)
            if not t.is_contiguous():
                raise StError(f"{name} must be contiguous")
        self._check_lse(lse, q)
        handle = self.handle(q.device)
        stream = torch.cuda.current_stream(q.device).cuda_stream
        handle.backward(b, h, n, q.data_ptr(), k.data_ptr(), v.data_ptr(),
                        o.data_ptr(), lse.data_ptr(), dout.data_ptr(),
                        dq.data_ptr(), dk.data_ptr(), dv.data_ptr(), stream)
        return dq, dk, dv

    @staticmethod
    def _check_lse(lse, q):
        import torch
        if (lse.dtype != torch.float32 or tuple(lse.shape) != tuple(q.shape[:3])
                or lse.device != q.device or not lse.is_contiguous()):
            raise StError(f"lse must be contiguous float32 {list(q.shape[:3])} "
                          f"on {q.device}")


_cache = {}


def attention(q, k, v, library_dir, layout, lib_path=None):
    """o = attention(q, k, v) with the library's entry for (layout,
    q.shape[-1], q.dtype); differentiable."""
    key = (str(library_dir), layout, int(q.shape[-1]), q.dtype)
    if key not in _cache:
        _cache[key] = StAttention(library_dir, layout, q.shape[-1], q.dtype,
                                  lib_path)
    return _cache[key](q, k, v)
