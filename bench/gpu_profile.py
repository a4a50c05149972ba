#!/usr/bin/env python3
"""Where ST's GPU attention spends its time, kernel by kernel.

    bench/gpu_profile.py --lib build-cuda/libst_cuda.so KERNELS...

For each layout (strided l = 128, fixed l = 128 c = 32 by default) at one
shape (n = 65536, B = 1, 8 heads, bf16, d = 64 by default), runs ST's
forward and backward under torch.profiler (CUPTI sees the kernels that
libst_cuda.so launches through the driver API in PyTorch's context) and
prints, per kernel name, the number of launches and the mean time per
forward+backward, plus the sum. The kernel names are the manifest's
(st_attn_<entry>_fwd0, _dq2, _dkv4, ...), so the table says
which part of the layout (band, column, own block, summary) costs what.
Below the sum, the GPU's wall time per forward+backward (first kernel
start to last kernel end over the repetitions) and the part of it in
which no kernel ran: what launch gaps and event waits add to the sum
(kernels that overlap, on two streams or launched early, count once).
The repetitions run back to back, so where a forward+backward is short
(about 2 ms) the idle part is mostly the CPU's launches between them,
slower under the profiler; --timeline shows the gaps inside one.

--once runs one forward and one backward per layout and nothing else (no
profiler): the program to put under a profiler that replays kernels,
whose CUPTI use would conflict with torch.profiler's:

    ncu --clock-control none -k regex:st_attn --section SpeedOfLight \
        --section Occupancy --section WarpStateStats \
        python3 bench/gpu_profile.py --once --lib build-cuda/libst_cuda.so KERNELS
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))


def timeline(intervals):
    """(span, idle) of kernel intervals [(start, end), ...] in one unit:
    span from the first start to the last end, idle the part of it that
    no interval covers (launch gaps, event waits, a kernel's start before
    the one it depends on ends counts as busy)."""
    if not intervals:
        return 0.0, 0.0
    intervals = sorted(intervals)
    busy, (lo, hi) = 0.0, intervals[0]
    for start, end in intervals[1:]:
        if start > hi:
            busy += hi - lo
            lo, hi = start, end
        else:
            hi = max(hi, end)
    busy += hi - lo
    span = hi - intervals[0][0]
    return span, span - busy


def as_timed_reps(intervals):
    """(span, sum) in us of the kernels in each --as-timed repetition: the
    intervals [(start, end, name), ...] in start order split at the flush
    (the first interval's kernel), span from the first kernel's start
    after a flush to the last one's end, sum of their durations. Set
    beside the repetition's CUDA events (start after the flush, end after
    the backward), the difference is what the events time outside the
    kernels."""
    intervals = sorted(intervals)
    flush = intervals[0][2] if intervals else ""
    reps, current = [], []
    for start, end, name in intervals + [(0.0, 0.0, flush)]:
        if name != flush:
            current.append((start, end))
            continue
        if current:
            reps.append((max(e for _, e in current) - current[0][0],
                         sum(e - s for s, e in current)))
        current = []
    return reps


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("kernels", nargs="+")
    parser.add_argument("--lib", help="path to libst_cuda.so")
    parser.add_argument("--n", type=int, default=65536)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dims", default="64")
    parser.add_argument("--patterns", default="strided,fixed")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--timeline", action="store_true",
                        help="also print the last forward+backward's "
                        "kernels in start order: start, duration and the "
                        "idle gap before each (us)")
    parser.add_argument("--as-timed", action="store_true",
                        help="each repetition as bench/gpu_attention.py "
                        "times it: an L2 flush (a 256 MiB memset, listed "
                        "with the kernels), then forward and backward "
                        "through torch.autograd, bracketed by CUDA events "
                        "as the benchmark's; prints the events' median "
                        "beside the kernels' span and sum in the same "
                        "repetitions")
    parser.add_argument("--once", action="store_true",
                        help="one forward and backward per layout, no "
                        "profiler (for ncu)")
    args = parser.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile
    from st_attention import StAttention, layouts
    from st_attention.libraries import find_entries

    chosen = {"strided": layouts.strided(128),
              "fixed": layouts.fixed(128, 32)}
    entries = find_entries(args.kernels)
    for pattern in args.patterns.split(","):
        layout = chosen[pattern]
        for d in (int(x) for x in args.head_dims.split(",")):
            match = [e for e in entries if e.layout == layout and
                     e.head_dim == d and e.dtype == "bf16"]
            if not match:
                print(f"{pattern} d={d}: no bf16 entry in {args.kernels}")
                continue
            attn = StAttention(match[0].library_dir, layout, d,
                               torch.bfloat16, lib_path=args.lib)
            shape = (args.batch, args.heads, args.n, d)
            q, k, v, dout = (torch.randn(shape, device="cuda",
                                         dtype=torch.bfloat16)
                             for _ in range(4))
            o, lse = attn.forward_into(q, k, v)
            attn.backward_into(q, k, v, o, lse, dout)
            torch.cuda.synchronize()
            if args.once:
                print(f"{pattern} d={d}: one forward and backward done",
                      flush=True)
                continue
            if args.as_timed:
                flush = torch.empty(256 << 20, dtype=torch.int8,
                                    device="cuda")
                leaves = [t.detach().requires_grad_() for t in (q, k, v)]
            marks = [(torch.cuda.Event(enable_timing=True),
                      torch.cuda.Event(enable_timing=True))
                     for _ in range(args.reps)]
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                for start, end in marks:
                    if args.as_timed:
                        flush.zero_()
                        for t in leaves:
                            t.grad = None
                        start.record()
                        attn(*leaves).backward(dout)
                        end.record()
                        continue
                    o, lse = attn.forward_into(q, k, v, o, lse)
                    attn.backward_into(q, k, v, o, lse, dout)
                torch.cuda.synchronize()
            times = {}
            intervals = []
            for ev in prof.events():
                if ev.device_type.name != "CUDA":
                    continue
                name = ev.name
                count, total = times.get(name, (0, 0.0))
                times[name] = (count + 1, total + ev.device_time_total)
                intervals.append((ev.time_range.start, ev.time_range.end,
                                  name))
            print(f"\n{pattern} n={args.n} B={args.batch} H={args.heads} "
                  f"d={d} bf16 ({match[0].library_dir}), per fwd+bwd:")
            print(f"  {'kernel':<44} {'launches':>8} {'us':>9}")
            total = 0.0
            for name, (count, us) in sorted(times.items(),
                                            key=lambda x: -x[1][1]):
                per = us / args.reps
                total += per
                print(f"  {name[:44]:<44} {count // args.reps:>8} "
                      f"{per:>9.1f}")
            print(f"  {'total':<44} {'':>8} {total:>9.1f}")
            span, idle = timeline([i[:2] for i in intervals])
            print(f"  {'GPU wall (first start to last end)':<44} {'':>8} "
                  f"{span / args.reps:>9.1f}")
            print(f"  {'  of which no kernel ran':<44} {'':>8} "
                  f"{idle / args.reps:>9.1f}")
            if args.as_timed:
                reps = as_timed_reps(intervals)
                events = sorted(s.elapsed_time(e) * 1e3 for s, e in marks)
                print(f"  as timed, median of {len(reps)} repetitions "
                      f"(us): CUDA events {events[len(events) // 2]:.1f}, "
                      f"kernels' span "
                      f"{sorted(r[0] for r in reps)[len(reps) // 2]:.1f}, "
                      f"kernels' sum "
                      f"{sorted(r[1] for r in reps)[len(reps) // 2]:.1f}")
            if args.timeline:
                per = len(intervals) // args.reps
                last = sorted(intervals)[-per:]
                t0, busy = last[0][0], last[0][0]
                print(f"  last forward+backward: {'start':>9} {'us':>9} "
                      f"{'idle before':>12}")
                for start, end, name in last:
                    gap = max(0.0, start - busy)
                    busy = max(busy, end)
                    print(f"  {name[:44]:<44} {start - t0:>9.1f} "
                          f"{end - start:>9.1f} {gap:>12.1f}")


if __name__ == "__main__":
    main()
