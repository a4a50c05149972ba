# scripts/gpu-check.py --quick, without torch or a GPU: per layout one
# entry at d <= 64 and one at d >= 128 (the producer-split kernels exist
# only at d = 128), bf16 before f16 and f32, the head dim nearest 64 or
# 128, in the entries' order.
# RUN: %python %s %st_src_root | FileCheck %s
import importlib.util
import os
import sys
import types

root = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "gpu_check", os.path.join(root, "scripts", "gpu-check.py"))
gpu_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_check)


def entry(layout, d, dtype):
    return types.SimpleNamespace(layout=layout, head_dim=d, dtype=dtype)


entries = [entry(layout, d, t)
           for layout in ["#st.fixed", "#st.strided"]
           for t in ["f32", "f16", "bf16"]
           for d in [32, 64, 128]]
entries.append(entry("#st.local", 32, "f32"))
entries.append(entry("#st.dense", 256, "f16"))
for e in gpu_check.quick_subset(entries):
    print(e.layout, e.head_dim, e.dtype)
# CHECK: #st.fixed 64 bf16
# CHECK-NEXT: #st.fixed 128 bf16
# CHECK-NEXT: #st.strided 64 bf16
# CHECK-NEXT: #st.strided 128 bf16
# CHECK-NEXT: #st.local 32 f32
# CHECK-NEXT: #st.dense 256 f16
# CHECK-NOT: #st
