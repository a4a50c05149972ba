# bench/gpu_harness.py's timing without torch or a GPU: a fake torch whose
# CUDA events read a simulated clock. The variants run in alternation
# (gpu_attention.Timer, given the variants' own hooks in place of its
# flush); the flush and the GPU-ahead sleep happen before the start event,
# so they stay out of the times; each variant's median is its own
# duration.
# RUN: %python %s %st_src_root | FileCheck %s
import os
import sys

root = sys.argv[1]
sys.path.insert(0, os.path.join(root, "python"))
sys.path.insert(0, os.path.join(root, "bench"))
import gpu_harness  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "Inputs"))
from fake_cuda import calls, clock, torch  # noqa: E402
import gpu_attention  # noqa: E402


def method(name, ms):
    def run():
        calls.append(name)
        clock[0] += ms
    return run


variants = [("a", method("a", 1.0), True, False),
            ("b", method("b", 2.0), False, True),
            ("c", method("c", 0.5), True, True)]
results = gpu_harness.time_variants(torch, gpu_attention.Timer(torch),
                                    variants, reps=3)
# The timed repetitions (the last three) run the variants in turn, each
# after its flush and sleep.
# CHECK: timed calls: flush a sleep b flush sleep c flush a sleep b flush sleep c flush a sleep b flush sleep c
print("timed calls:", " ".join(calls[-21:]))
# CHECK: a 1.000 ms
# CHECK: b 2.000 ms
# CHECK: c 0.500 ms
for name, (ms, cpu_us) in results.items():
    print(f"{name} {ms:.3f} ms")
