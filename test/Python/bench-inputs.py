# bench/gpu_attention.py's random_inputs, shared by the GPU benchmarks,
# without torch or a GPU: q, k and v require gradients, dout does not;
# all four are [B, 8, n, d] bf16 on the GPU from the caller's generator.
# RUN: %python %s %st_src_root | FileCheck %s
import os
import sys
import types

root = sys.argv[1]
sys.path.insert(0, os.path.join(root, "python"))
sys.path.insert(0, os.path.join(root, "bench"))
import gpu_attention  # noqa: E402


class FakeTensor:
    def __init__(self, shape, **kw):
        self.shape, self.kw, self.grad = shape, kw, False

    def requires_grad_(self, flag):
        self.grad = flag
        return self


fake = types.SimpleNamespace(bfloat16="bf16",
                             randn=lambda *shape, **kw: FakeTensor(shape, **kw))
for name, t in zip("q k v dout".split(),
                   gpu_attention.random_inputs(fake, "gen", 2, 100, 64)):
    print(name, t.shape, t.kw["device"], t.kw["dtype"], t.kw["generator"],
          t.grad)
# CHECK: q (2, 8, 100, 64) cuda bf16 gen True
# CHECK-NEXT: k (2, 8, 100, 64) cuda bf16 gen True
# CHECK-NEXT: v (2, 8, 100, 64) cuda bf16 gen True
# CHECK-NEXT: dout (2, 8, 100, 64) cuda bf16 gen False
