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

root = sys.argv[1]
sys.path.insert(0, os.path.join(root, "python"))
sys.path.insert(0, os.path.join(root, "bench"))
import gpu_attention  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "Inputs"))
from fake_cuda import calls, clock, torch  # noqa: E402

DRIFT = 0.002  # each call 0.2% slower than the one before


def method(name, ms):
    def run():
        calls.append(name)
        clock[0] += ms * (1 + DRIFT * sum(c != "flush" for c in calls))
    return run


timer = gpu_attention.Timer(torch)
a, b = method("a", 1.0), method("b", 2.0)
fa, fb = timer.alternating([a, b], target_ms=60.0)
# The timed repetitions run a, b, a, b, ...
timed = [c for c in calls if c != "flush"][-10:]
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

# A rate target's DRAM ceiling: strided (l = 128) at n = 4096 has 579648
# attended pairs a head (band: 128 x 129 / 2 + 3968 x 128; strided:
# 128 x 32 x 31 / 2). At d = 128 a row moves at least 4 x 256 + 4 = 1028
# bytes in the forward (q, k, v, o; lse) and 8 x 256 + 4 = 2052 more in the
# backward (q, k, v, o, dout, dq, dk, dv; lse). The ceiling is the rate at
# that many bytes moved at the bandwidth, over SDPA's rate; here computed
# again by hand.
from st_attention import layouts, patterns  # noqa: E402
nnz = patterns.closed_form_nonzeros(layouts.strided(128), 4096)
# CHECK: strided 4096 nonzeros a head: 579648
print("strided 4096 nonzeros a head:", nnz)
st = {"method": "ST", "pattern": "strided", "n": 4096, "d": 128, "B": 16,
      "heads": 8, "nnz_per_head": nnz, "fwd_ms": 0.45, "fwd_bwd_ms": 1.88,
      "fwd_tflops": 83.7, "fwd_bwd_tflops": 70.7, "peak_mib": 1042.0,
      "note": ""}
sdpa = {"method": "SDPA", "pattern": "causal", "n": 4096, "d": 128, "B": 16,
        "fwd_ms": 0.96, "fwd_bwd_ms": 3.97, "fwd_tflops": 570.4,
        "fwd_bwd_tflops": 484.3, "peak_mib": 772.0, "note": ""}
rows_per_call = 16 * 8 * 4096
by_hand = {"fwd": (4 * 128 * nnz * 16 * 8) /
           (1028 * rows_per_call / 3.35e12) / 570.4e12,
           "fwd_bwd": (3.5 * 4 * 128 * nnz * 16 * 8) /
           ((1028 + 2052) * rows_per_call / 3.35e12) / 484.3e12}
for kind in ("fwd", "fwd_bwd"):
    got = gpu_attention.dram_ceiling(st, sdpa, kind, 3.35e12)
    print(f"{kind} ceiling {got:.4f}, by hand {by_hand[kind]:.4f}")
# CHECK: fwd ceiling 0.4139, by hand 0.4139
# CHECK: fwd_bwd ceiling 0.5695, by hand 0.5695
targets = gpu_attention.evaluate_targets([sdpa, st], [4096], [128],
                                         ["strided"], 3.35e12)
table = gpu_attention.markdown([sdpa, st], targets, "test", "0", 3.35e12)
print("\n".join(l for l in table.splitlines()
                if "ceiling" in l or "effective" in l))
# CHECK: bandwidth measured in this run, 3350 GB/s.
# CHECK: | target | measured | bound | met | DRAM ceiling |
# CHECK: | strided n=4096 d=128: ST fwd effective TFLOP/s / SDPA dense | 0.1467 | 0.6 | NO | 0.414 (below the bound) |
# CHECK: | strided n=4096 d=128: ST fwd_bwd effective TFLOP/s / SDPA dense | 0.146 | 0.6 | NO | 0.57 (below the bound) |
# Without a bandwidth the column stays empty.
# CHECK-NOT: below the bound
# CHECK: last line
print("\n".join(l for l in gpu_attention.markdown(
    [sdpa, st], gpu_attention.evaluate_targets([sdpa, st], [4096], [128],
                                               ["strided"]),
    "test", "0").splitlines() if "effective" in l))
print("last line")
