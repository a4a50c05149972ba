"""ctypes binding of libst_cuda.so (runtime/cuda/include/st/cuda/
st_attention.h). No torch here: device pointers and streams are ints."""

import ctypes
import os

ABI_VERSION = 1
OK, ERROR, NO_DEVICE = 0, 1, 2

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class StError(RuntimeError):
    """An error from ST's CUDA runtime (bad library, arguments, CUDA)."""


class NoDeviceError(StError):
    """No NVIDIA driver or no CUDA device on this machine."""


_lib = None
_lib_path = None


def _candidates(path):
    if path:
        return [path]
    env = os.environ.get("ST_CUDA_LIB")
    if env:
        return [env]
    return [os.path.join(_REPO, "build", "lib", "libst_cuda.so"),
            os.path.join(_REPO, "build-cuda", "libst_cuda.so")]


def load_library(path=None):
    """Loads libst_cuda.so: `path`, else $ST_CUDA_LIB, else the repository's
    build/lib or build-cuda. Loading needs no GPU."""
    global _lib, _lib_path
    if _lib is not None:
        if path and os.path.abspath(path) != _lib_path:
            raise StError(f"libst_cuda.so is already loaded from {_lib_path}, "
                          f"not {path}")
        return _lib
    tried = _candidates(path)
    found = [p for p in tried if os.path.exists(p)]
    if not found:
        raise StError("libst_cuda.so not found (tried " + ", ".join(tried) +
                      "); build it (scripts/build.sh st_cuda) or set "
                      "ST_CUDA_LIB")
    lib = ctypes.CDLL(found[0])
    i64, vp, cp = ctypes.c_int64, ctypes.c_void_p, ctypes.c_char_p
    handle_p = ctypes.POINTER(vp)
    sigs = {
        "st_attention_abi_version": (ctypes.c_int, []),
        "st_attention_device_available": (ctypes.c_int, []),
        "st_attention_open": (ctypes.c_int, [cp, cp, i64, cp, handle_p]),
        "st_attention_forward": (ctypes.c_int,
                                 [vp, i64, i64, i64] + [vp] * 6),
        "st_attention_backward": (ctypes.c_int,
                                  [vp, i64, i64, i64] + [vp] * 10),
        "st_attention_scratch_bytes": (i64, [vp]),
        "st_attention_describe": (cp, [vp]),
        "st_attention_last_error": (cp, []),
        "st_attention_close": (None, [vp]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    version = lib.st_attention_abi_version()
    if version != ABI_VERSION:
        raise StError(f"{found[0]}: ABI version {version}, this module "
                      f"needs {ABI_VERSION}")
    _lib, _lib_path = lib, os.path.abspath(found[0])
    return lib


def library_path():
    return _lib_path


def _raise(lib, code, context):
    message = lib.st_attention_last_error().decode(errors="replace")
    cls = NoDeviceError if code == NO_DEVICE else StError
    raise cls(f"{context}: {message}" if context else message)


def device_available(lib_path=None):
    """(True, "") or (False, why)."""
    lib = load_library(lib_path)
    code = lib.st_attention_device_available()
    if code == OK:
        return True, ""
    return False, lib.st_attention_last_error().decode(errors="replace")


def device_problem(torch, lib_path=None):
    """Why ST's kernels cannot run on this machine (PyTorch sees no CUDA
    device, or the runtime finds no usable driver or device), or None: what
    a tool checks before it touches a GPU."""
    if not torch.cuda.is_available():
        return "no CUDA device visible to PyTorch"
    ok, why = device_available(lib_path)
    return None if ok else why


class Handle:
    """One opened (layout, head_dim, dtype) entry of a kernel library, in the
    CUDA context current on this thread (or device 0's primary context)."""

    def __init__(self, library_dir, layout, head_dim, dtype, lib_path=None):
        lib = load_library(lib_path)
        self._lib = lib
        self._ptr = ctypes.c_void_p()
        code = lib.st_attention_open(
            os.fsencode(library_dir), layout.encode(), int(head_dim),
            dtype.encode(), ctypes.byref(self._ptr))
        if code != OK:
            _raise(lib, code, "")
        self.library_dir = library_dir
        self.layout = layout
        self.head_dim = int(head_dim)
        self.dtype = dtype

    def forward(self, b, h, n, q, k, v, o, lse, stream=0):
        code = self._lib.st_attention_forward(
            self._ptr, b, h, n, q, k, v, o, lse, stream or None)
        if code != OK:
            _raise(self._lib, code, "")

    def backward(self, b, h, n, q, k, v, o, lse, dout, dq, dk, dv, stream=0):
        code = self._lib.st_attention_backward(
            self._ptr, b, h, n, q, k, v, o, lse, dout, dq, dk, dv,
            stream or None)
        if code != OK:
            _raise(self._lib, code, "")

    @property
    def scratch_bytes(self):
        return int(self._lib.st_attention_scratch_bytes(self._ptr))

    def describe(self):
        return self._lib.st_attention_describe(self._ptr).decode()

    def close(self):
        if self._ptr:
            self._lib.st_attention_close(self._ptr)
            self._ptr = ctypes.c_void_p()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
