# bench/gpu_ab.py's configurations, without torch or a GPU: a library
# directory with optional KEY=VALUE settings before a colon; the settings
# apply only while a configuration's handle opens, and the environment is
# restored afterwards.
# RUN: %python %s %st_src_root | FileCheck %s
import os
import sys
import types

root = sys.argv[1]
sys.path.insert(0, os.path.join(root, "python"))
sys.path.insert(0, os.path.join(root, "bench"))
import gpu_ab  # noqa: E402

for text in ["ST_CUDA_PDL=0:lib", "lib", "A=1,B=x:/tmp/k:2", "/a/b:c",
             "A=1,B:lib"]:
    try:
        env, lib = gpu_ab.parse_config(text)
        print(f"{text} -> {sorted(env.items())} {lib}")
    except ValueError as e:
        print(f"{text} -> error: {e}")
# CHECK: ST_CUDA_PDL=0:lib -> [('ST_CUDA_PDL', '0')] lib
# CHECK-NEXT: lib -> [] lib
# CHECK-NEXT: A=1,B=x:/tmp/k:2 -> [('A', '1'), ('B', 'x')] /tmp/k:2
# CHECK-NEXT: /a/b:c -> [] /a/b:c
# CHECK-NEXT: A=1,B:lib -> error: config 'A=1,B:lib': 'B' is not KEY=VALUE


class FakeSt:
    """Records the environment that its handle opened under."""

    def __init__(self, library_dir, layout, d, dtype):
        self.seen = None

    def handle(self, device):
        self.seen = (os.environ.get("ST_CUDA_PDL"), os.environ.get("ST_X"))


gpu_ab.st_attention.StAttention = FakeSt
os.environ["ST_CUDA_PDL"] = "1"
os.environ.pop("ST_X", None)
q = types.SimpleNamespace(device="cuda:0")
torch = types.SimpleNamespace(bfloat16="bf16")
entry = types.SimpleNamespace(library_dir="lib")
st = gpu_ab.open_with({"ST_CUDA_PDL": "0", "ST_X": "y"}, entry, "L", 64,
                      torch, q, q, q)
print(f"opened under {st.seen}; after: {os.environ.get('ST_CUDA_PDL')} "
      f"{os.environ.get('ST_X')}")
# CHECK-NEXT: opened under ('0', 'y'); after: 1 None
