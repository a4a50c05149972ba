# The st_attention Python package without torch and (on CI) without a GPU:
# it loads libst_cuda.so, reports bad libraries with the runtime's one-line
# messages, and opening a valid entry either works or says there is no
# device.
# REQUIRES: st-cuda
# RUN: %python %s %st_src_root/python %st_cuda_lib %t | FileCheck %s
import json
import os
import sys

sys.path.insert(0, sys.argv[1])
import st_attention  # noqa: E402
from st_attention import layouts  # noqa: E402

# CHECK: torch imported: False
print("torch imported:", "torch" in sys.modules)
st_attention.load_library(sys.argv[2])
# CHECK-NEXT: loaded: libst_cuda.so
print("loaded:", os.path.basename(st_attention.library_path()))

# CHECK-NEXT: #st.fixed<stride = 128, summary = 32, per_head = true>
print(layouts.fixed(128, 32, per_head=True))
# CHECK-NEXT: #st.per_head<[#st.strided<stride = 64>, #st.dense_causal]>
print(layouts.per_head(layouts.strided(64), layouts.dense_causal()))

try:
    st_attention.Handle("/nonexistent/lib", layouts.strided(128), 64, "bf16")
except st_attention.StError as e:
    # CHECK-NEXT: StError: /nonexistent/lib/manifest.json: cannot open: No such file or directory
    print(f"{type(e).__name__}: {e}")

lib = sys.argv[3]
os.makedirs(lib, exist_ok=True)
launch = {"grid": [1, 1, 1], "block": [32, 1, 1]}
manifest = {
    "format": "st-attention-kernels", "version": 1,
    "entries": [{
        "layout": layouts.strided(128), "head_dim": 64, "dtype": "bf16",
        "module": "missing.cubin",
        "forward": [dict(launch, kernel="f",
                         args=["q", "k", "v", "o", "lse"])],
        "backward": [dict(launch, kernel="b",
                          args=["q", "k", "v", "o", "lse", "dout", "dq",
                                "dk", "dv"])]}]}
with open(os.path.join(lib, "manifest.json"), "w") as f:
    json.dump(manifest, f)
try:
    st_attention.Handle(lib, layouts.strided(128), 32, "bf16")
except st_attention.StError as e:
    # CHECK-NEXT: StError: {{.*}}/manifest.json: no entry for (#st.strided<stride = 128>, head_dim 32, bf16); the library has (#st.strided<stride = 128>, head_dim 64, bf16)
    print(f"{type(e).__name__}: {e}")

# With a device, the module file is missing; without one, the device is.
try:
    st_attention.Handle(lib, layouts.strided(128), 64, "bf16")
    print("open: ok")
except st_attention.NoDeviceError as e:
    print(f"open: NoDeviceError: {e}")
except st_attention.StError as e:
    print(f"open: StError: {e}")
# CHECK-NEXT: open: {{NoDeviceError: no usable CUDA device: .*|StError: .*missing.cubin: cannot open: No such file or directory}}
available, why = st_attention.device_available()
# CHECK-NEXT: device available: {{True|False}}
print("device available:", available)

# device_problem: PyTorch's view first, then the runtime's (fake torch
# modules: this test has no torch).
import types  # noqa: E402


def fake_torch(visible):
    return types.SimpleNamespace(
        cuda=types.SimpleNamespace(is_available=lambda: visible))


print("without a device for PyTorch:", st_attention.device_problem(
    fake_torch(False)))
# CHECK-NEXT: without a device for PyTorch: no CUDA device visible to PyTorch
problem = st_attention.device_problem(fake_torch(True))
print("with one:", problem if not available else "usable" if problem is None
      else f"unexpected {problem}")
# CHECK-NEXT: with one: {{no usable CUDA device: .*|usable}}
