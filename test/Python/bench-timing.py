# bench/gpu_attention.py's timing and targets without torch or a GPU: a
# fake torch whose CUDA events read a simulated clock on which every call
# takes its method's time, stretched by a drift that grows with each call
# (the machine warming up). Timed in alternation, two methods keep their
# true ratio; timed one after the other, the later one absorbs the drift.
# The FlexAttention target divides by ST's time from the repetitions
# alongside FlexAttention.
# RUN: %python %s %st_src_root | FileCheck %s
import os
import sys
import types

root = sys.argv[1]
sys.path.insert(0, os.path.join(root, "python"))
sys.path.insert(0, os.path.join(root, "bench"))
import gpu_attention  # noqa: E402

clock = [0.0]
calls = []
DRIFT = 0.002  # each call 0.2% slower than the one before


class Event:
    def __init__(self, enable_timing=False):
        self.t = None

    def record(self):
        self.t = clock[0]

    def elapsed_time(self, end):
        return end.t - self.t


class Flush:
    def zero_(self):
        clock[0] += 0.1


cuda = types.SimpleNamespace(Event=Event, synchronize=lambda: None)
torch = types.SimpleNamespace(cuda=cuda, int8="int8",
                              empty=lambda *a, **k: Flush())


def method(name, ms):
    def run():
        calls.append(name)
        clock[0] += ms * (1 + DRIFT * len(calls))
    return run


timer = gpu_attention.Timer(torch)
a, b = method("a", 1.0), method("b", 2.0)
fa, fb = timer.alternating([a, b], target_ms=60.0)
# The timed repetitions run a, b, a, b, ...
timed = calls[-10:]
# CHECK: alternating calls: a b a b a b a b a b
print("alternating calls:", " ".join(timed))
# CHECK: alternating ratio: 2.00
print(f"alternating ratio: {fb / fa:.2f}")

calls.clear()
sa = timer(a, target_ms=60.0)
sb = timer(b, target_ms=60.0)
# CHECK: one after the other, ratio off by more than 5%: True
print("one after the other, ratio off by more than 5%:",
      abs(sb / sa - 2.0) > 0.1)

rows = [
    {"method": "SDPA", "pattern": "causal", "n": 65536, "d": 64,
     "fwd_ms": 10.0, "fwd_bwd_ms": 36.0, "fwd_tflops": 440.0,
     "fwd_bwd_tflops": 420.0},
    {"method": "ST", "pattern": "strided", "n": 65536, "d": 64,
     "fwd_ms": 0.3, "fwd_bwd_ms": 1.2, "fwd_tflops": 170.0,
     "fwd_bwd_tflops": 160.0},
    {"method": "Flex", "pattern": "strided", "n": 65536, "d": 64,
     "fwd_ms": 16.0, "fwd_bwd_ms": 62.0, "fwd_tflops": 3.0,
     "fwd_bwd_tflops": 3.0, "st_alternating_fwd_bwd_ms": 1.0},
]
for t in gpu_attention.evaluate_targets(rows, [65536], [64], ["strided"]):
    print(f"{t['target']}: {t['value']:.2f} {'yes' if t['met'] else 'NO'}")
# CHECK: strided n=65536 d=64: fwd+bwd speed-up over SDPA: 30.00 yes
# CHECK-NEXT: strided n=65536 d=64: fwd+bwd speed-up over Flex: 62.00 yes

# The markdown table prints a target's value with four significant digits,
# so that a rate just below its bound does not print as the bound.
rows = [
    {"method": "SDPA", "pattern": "causal", "n": 4096, "d": 128, "B": 16,
     "fwd_ms": 1.0, "fwd_bwd_ms": 4.0, "fwd_tflops": 560.0,
     "fwd_bwd_tflops": 482.7, "peak_mib": 772.0, "note": ""},
    {"method": "ST", "pattern": "fixed", "n": 4096, "d": 128, "B": 16,
     "fwd_ms": 0.43, "fwd_bwd_ms": 1.8, "fwd_tflops": 351.8,
     "fwd_bwd_tflops": 289.5, "peak_mib": 778.0, "note": ""},
]
targets = gpu_attention.evaluate_targets(rows, [4096], [128], ["fixed"])
table = gpu_attention.markdown(rows, targets, "test", "0")
print("\n".join(l for l in table.splitlines() if "fwd_bwd effective" in l))
# CHECK: | fixed n=4096 d=128: ST fwd_bwd effective TFLOP/s / SDPA dense | 0.5998 | 0.6 | NO |
