#!/usr/bin/env python3
"""What the benchmark's way of timing adds to ST's kernels.

    bench/gpu_harness.py --lib build-cuda/libst_cuda.so KERNELS...

bench/gpu_attention.py times a forward+backward as CUDA events around
`attn(q, k, v).backward(dout)` after an L2 flush. Where that time exceeds
the kernels' own (bench/gpu_profile.py), the difference is one of:
the flush (a cold L2, dirty lines to write back), the Python and autograd
path between the launches (a GPU that waits for the CPU), or the clocks
(kernels that run back to back draw more power than under the profiler).

This script times, for each layout at one shape, variants that separate
those, in alternation (each repetition runs every variant once, so the
machine's drift reaches all alike), and prints each one's median GPU time
and the CPU time its call took to return:

  autograd            the benchmark's forward+backward, L2 flushed first
  autograd, no flush  the same without the flush
  autograd, GPU ahead the same with the GPU kept busy (torch.cuda._sleep)
                      between the flush and the timed call, so that the
                      CPU's launches are queued before the GPU needs them
  explicit            forward_into + backward_into on preallocated
                      buffers (no autograd, no allocation), flushed
  explicit, GPU ahead the same, GPU kept busy first
  forward, forward (GPU ahead), backward, backward (GPU ahead)
                      the explicit passes alone

If "GPU ahead" is faster than its plain variant, the GPU waited for the
CPU; if "no flush" is, the flush costs the kernels time; if neither is
and the sum is still above the profiled kernels, the clocks are the
suspect: --watch samples nvidia-smi during the run (SM clock, power,
throttle reasons).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import st_attention  # noqa: E402
from st_attention import libraries  # noqa: E402
from gpu_attention import HEADS, PATTERNS, Timer  # noqa: E402

# torch.cuda._sleep's cycles: about 200 us at the H100's 1.98 GHz, longer
# than the CPU's path to the first launch.
SLEEP_CYCLES = 400_000


def time_variants(torch, timer, variants, reps):
    """{name: (median GPU ms, median CPU us)} of `variants`, a list of
    (name, fn, flushed, gpu_ahead), timed in alternation by `timer`
    (gpu_attention.Timer), `reps` repetitions: ahead of each variant's
    start event its flush (if `flushed`) and then the GPU sleep (if
    `gpu_ahead`); the CPU time is the call's, from entry to return."""
    def before(flushed, ahead):
        def run():
            if flushed:
                timer.flush.zero_()
            if ahead:
                torch.cuda._sleep(SLEEP_CYCLES)
        return run

    cpu = {name: [] for name, *_ in variants}

    def timed(name, fn):
        def run():
            t0 = time.perf_counter()
            fn()
            cpu[name].append((time.perf_counter() - t0) * 1e6)
        return run

    fns = [timed(name, fn) for name, fn, _, _ in variants]
    hooks = [before(flushed, ahead) for _, _, flushed, ahead in variants]
    ms = timer.alternating(fns, min_reps=reps, max_reps=reps, before=hooks)
    # The last `reps` calls of each are the timed ones.
    return {name: (t, statistics.median(cpu[name][-reps:]))
            for (name, *_), t in zip(variants, ms)}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("kernels", nargs="+")
    parser.add_argument("--lib", help="path to libst_cuda.so")
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--head-dims", default="128")
    parser.add_argument("--patterns", default="fixed,strided")
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--watch", action="store_true",
                        help="sample nvidia-smi every 200 ms meanwhile and "
                        "print how often each (SM clock, throttle "
                        "reasons) pair was seen")
    args = parser.parse_args()

    import torch
    problem = st_attention.device_problem(torch, args.lib)
    if problem:
        print(f"gpu_harness: {problem}")
        return 2
    watcher = None
    if args.watch:
        try:
            watcher = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=clocks.sm,power.draw,"
                 "clocks_throttle_reasons.active", "--format=csv,noheader",
                 "-lms", "200"], stdout=subprocess.PIPE, text=True)
        except OSError as e:
            print(f"gpu_harness: --watch: nvidia-smi did not start ({e})")
    timer = Timer(torch)
    gen = torch.Generator(device="cuda").manual_seed(0)
    entries = libraries.find_entries(args.kernels)
    print(f"gpu_harness: {torch.cuda.get_device_name()}, n = {args.n}, "
          f"B = {args.batch}, {HEADS} heads, bf16")
    status = 0
    for name in [p for p in args.patterns.split(",") if p]:
        layout = PATTERNS[name]
        for d in [int(x) for x in args.head_dims.split(",") if x]:
            entry = libraries.find_entry(entries, layout, d, "bf16")
            if entry is None:
                print(f"  {name} d={d}: no bf16 entry in {args.kernels}")
                status = 1
                continue
            st = st_attention.StAttention(entry.library_dir, layout, d,
                                          torch.bfloat16, args.lib)
            shape = (args.batch, HEADS, args.n, d)
            q, k, v, dout = (torch.randn(shape, generator=gen, device="cuda",
                                         dtype=torch.bfloat16)
                             for _ in range(4))
            leaves = [t.detach().clone().requires_grad_() for t in (q, k, v)]
            o = torch.empty_like(q)
            lse = torch.empty(shape[:3], dtype=torch.float32, device="cuda")
            dq, dk, dv = (torch.empty_like(q) for _ in range(3))

            def autograd():
                for t in leaves:
                    t.grad = None
                st(*leaves).backward(dout)

            def forward():
                st.forward_into(q, k, v, o, lse)

            def backward():
                st.backward_into(q, k, v, o, lse, dout, dq, dk, dv)

            def explicit():
                forward()
                backward()

            variants = [("autograd", autograd, True, False),
                        ("autograd, no flush", autograd, False, False),
                        ("autograd, GPU ahead", autograd, True, True),
                        ("explicit", explicit, True, False),
                        ("explicit, GPU ahead", explicit, True, True),
                        ("forward", forward, True, False),
                        ("forward, GPU ahead", forward, True, True),
                        ("backward", backward, True, False),
                        ("backward, GPU ahead", backward, True, True)]
            for r in range(args.rounds):
                print(f"  {name} d={d} round {r}: GPU us, CPU us to return")
                results = time_variants(torch, timer, variants, args.reps)
                for variant, (ms, cpu_us) in results.items():
                    print(f"    {variant:22s} {ms * 1e3:9.1f} {cpu_us:9.1f}",
                          flush=True)
            del q, k, v, dout, leaves, o, lse, dq, dk, dv
            torch.cuda.empty_cache()
    if watcher:
        watcher.terminate()
        seen = {}
        for line in watcher.communicate()[0].splitlines():
            cells = [c.strip() for c in line.split(",")]
            if len(cells) == 3:
                key = (cells[0], cells[2])
                seen[key] = seen.get(key, 0) + 1
        print("  nvidia-smi samples (SM clock, throttle reasons): " +
              ", ".join(f"{c} {t} x{n}" for (c, t), n in
                        sorted(seen.items(), key=lambda x: -x[1])))
    return status


if __name__ == "__main__":
    sys.exit(main())
