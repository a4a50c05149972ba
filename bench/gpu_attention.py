#!/usr/bin/env python3
"""ST's GPU attention next to PyTorch SDPA (dense causal) and FlexAttention
(the same mask), on one GPU.

For n in 4096, 16384, 65536 with B x n = 65536, 8 heads, bf16, d = 64 and
128, and the strided (l = 128) and fixed (l = 128, c = 32) layouts:
  - builds FlexAttention's BlockMask from the layout's mask_mod (python/
    st_attention/patterns.py) and compiles flex_attention;
  - checks ST against FlexAttention (output and the three gradients,
    relative error <= 2e-2: both are bf16) before timing;
  - times forward and forward+backward (CUDA events, warm-up, L2 flushed,
    median), the methods that a target compares in alternation (SDPA
    with ST, FlexAttention with ST: each repetition runs each method once),
    so that the machine's drift during the run (clocks, temperature)
    reaches both alike and cancels out of their ratio; counts effective TFLOP/s on the pattern's true nonzeros
    (forward 4 d nnz per head, forward+backward 3.5x that; SDPA's on the
    causal n (n + 1) / 2), and peak memory above the inputs
    (torch.cuda.max_memory_allocated, plus ST's scratch, which is
    allocated outside PyTorch);
  - runs forward+backward of one strided layer at n = 2^20 (B = 1), checking
    64 random output rows against a float64 reference;
  - measures the device's DRAM bandwidth (a 1 GiB device-to-device copy)
    and gives each rate target its DRAM ceiling: the highest ratio that
    any implementation of the call could reach, moving only the call's
    own tensors (forward: q, k, v in, o and lse out; backward: q, k, v,
    o, lse, dout in, dq, dk, dv out) once at that bandwidth and doing
    nothing else (dram_ceiling);
  - prints markdown tables and the targets as ratios from this run, and
    writes everything as JSON to $OUT/gpu_attention.json (or --json).

    bench/gpu_attention.py --lib build-cuda/libst_cuda.so KERNELS...

KERNELS: kernel library directories (or directories of them) holding the
strided and fixed entries for bf16 and d = 64, 128.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))

import st_attention  # noqa: E402
from st_attention import layouts, libraries, patterns  # noqa: E402

HEADS = 8
TOKENS = 65536  # B x n
PATTERNS = {"strided": layouts.strided(128),
            "fixed": layouts.fixed(128, 32)}
CHECK_BOUND = 2e-2


class Timer:
    """do_bench-style timing: warm-up, then repetitions each bracketed by
    CUDA events after an L2 flush; the median in ms."""

    def __init__(self, torch):
        self.torch = torch
        self.flush = torch.empty(256 << 20, dtype=torch.int8, device="cuda")

    def __call__(self, fn, **kw):
        return self.alternating([fn], **kw)[0]

    def alternating(self, fns, target_ms=200.0, min_reps=5, max_reps=100,
                    before=None):
        """The median of each of `fns`, timed in alternation: repetition i
        runs fns[0], fns[1], ... in turn, each after its own flush. Timing
        one method after the other let the same kernels' ratio to SDPA
        move by 4% between two runs (docs/performance.md, session 6).
        `before`, one callable a fn, replaces the flush: what runs ahead
        of that fn's start event in each repetition."""
        torch = self.torch
        if before is None:
            before = [self.flush.zero_] * len(fns)
        estimates = []
        for fn in fns:
            fn()
            torch.cuda.synchronize()
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(3):
                fn()
            end.record()
            torch.cuda.synchronize()
            estimate = max(start.elapsed_time(end) / 3, 1e-3)
            for _ in range(max(1, int(25 / estimate))):
                fn()
            estimates.append(estimate)
        reps = min(max_reps, max(min_reps, int(target_ms / sum(estimates))))
        events = [[(torch.cuda.Event(enable_timing=True),
                    torch.cuda.Event(enable_timing=True))
                   for _ in range(reps)] for _ in fns]
        for i in range(reps):
            for fn, ahead, per_fn in zip(fns, before, events):
                s, e = per_fn[i]
                ahead()
                s.record()
                fn()
                e.record()
        torch.cuda.synchronize()
        return [statistics.median(s.elapsed_time(e) for s, e in per_fn)
                for per_fn in events]


def random_inputs(torch, gen, b, n, d):
    """q, k, v (requiring gradients) and dout: [b, HEADS, n, d] bf16
    normal samples from `gen` on the GPU."""
    q, k, v, dout = (torch.randn(b, HEADS, n, d, generator=gen,
                                 device="cuda", dtype=torch.bfloat16)
                     for _ in range(4))
    for t in (q, k, v):
        t.requires_grad_(True)
    return q, k, v, dout


def rel(x, ref):
    x, ref = x.double(), ref.double()
    if not bool(x.isfinite().all()):
        return float("nan")
    return float((x - ref).norm() / ref.norm())


class Method:
    """One attention implementation: name, callable (q, k, v) -> o, and
    extra memory it holds outside PyTorch's allocator."""

    def __init__(self, name, fn, outside_bytes=lambda: 0):
        self.name, self.fn, self.outside_bytes = name, fn, outside_bytes


def measure(torch, timer, methods, q, k, v, dout, target_ms=200.0):
    """Per method: fwd ms, fwd+bwd ms (`methods` timed in alternation,
    Timer.alternating) and peak MiB above the inputs."""
    def fwd(method):
        def run():
            with torch.no_grad():
                method.fn(q, k, v)
        return run

    def fwd_bwd(method):
        def run():
            q.grad = k.grad = v.grad = None
            method.fn(q, k, v).backward(dout)
        return run

    fwd_ms = timer.alternating([fwd(m) for m in methods], target_ms)
    fwd_bwd_ms = timer.alternating([fwd_bwd(m) for m in methods], target_ms)
    results = []
    for method, f, fb in zip(methods, fwd_ms, fwd_bwd_ms):
        q.grad = k.grad = v.grad = None
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fwd_bwd(method)()
        torch.cuda.synchronize()
        peak = (torch.cuda.max_memory_allocated() - base +
                method.outside_bytes())
        q.grad = k.grad = v.grad = None
        results.append((f, fb, peak / 2**20))
    return results


def outputs(method, q, k, v, dout):
    q.grad = k.grad = v.grad = None
    o = method.fn(q, k, v)
    o.backward(dout)
    got = [o.detach().clone(), q.grad.clone(), k.grad.clone(),
           v.grad.clone()]
    q.grad = k.grad = v.grad = None
    return got


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("kernels", nargs="+")
    parser.add_argument("--lib", help="path to libst_cuda.so")
    parser.add_argument("--sizes", default="4096,16384,65536")
    parser.add_argument("--head-dims", default="64,128")
    parser.add_argument("--patterns", default="strided,fixed")
    parser.add_argument("--long", type=int, default=1 << 20,
                        help="n of the single-sequence strided run (0: skip)")
    parser.add_argument("--no-flex", action="store_true")
    parser.add_argument("--sequential", action="store_true",
                        help="time each method on its own, one after the "
                        "other (the method before session 7), instead of "
                        "in alternation")
    parser.add_argument("--budget", type=float, default=400.0,
                        help="seconds; FlexAttention runs left then are "
                        "skipped (marked in the table)")
    parser.add_argument("--json", help="default: $OUT/gpu_attention.json")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F
    problem = st_attention.device_problem(torch, args.lib)
    if problem:
        print(f"gpu_attention: {problem}")
        return 2
    flex_attention = create_block_mask = None
    if not args.no_flex:
        try:
            from torch.nn.attention.flex_attention import (create_block_mask,
                                                           flex_attention)
            import torch._dynamo
            for name in ("cache_size_limit", "recompile_limit",
                         "accumulated_cache_size_limit",
                         "accumulated_recompile_limit"):
                if hasattr(torch._dynamo.config, name):
                    setattr(torch._dynamo.config, name, 256)
            flex_attention = torch.compile(flex_attention, dynamic=False)
        except ImportError as e:
            print(f"gpu_attention: FlexAttention unavailable ({e})")

    started = time.perf_counter()
    entries = libraries.find_entries(args.kernels)
    timer = Timer(torch)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    dims = [int(d) for d in args.head_dims.split(",") if d]
    names = [p for p in args.patterns.split(",") if p]
    device_name = torch.cuda.get_device_name()
    bandwidth = copy_bandwidth(torch)
    print(f"gpu_attention: {device_name}, torch {torch.__version__}, "
          f"lib {st_attention.library_path()}, {HEADS} heads, bf16, "
          f"B x n = {TOKENS}; DRAM copy bandwidth {bandwidth / 1e9:.0f} "
          f"GB/s", flush=True)
    gen = torch.Generator(device="cuda").manual_seed(0)
    rows = []
    problems = []
    long_row = None
    out = args.json or (os.path.join(os.environ["OUT"], "gpu_attention.json")
                        if os.environ.get("OUT") else None)

    def save(done=False):
        """Writes JSON and markdown after every measurement, so that a run
        cut short still leaves its results."""
        if not out:
            return None
        targets = evaluate_targets(rows, sizes, dims, names, bandwidth)
        with open(out, "w") as f:
            json.dump({"device": device_name, "torch": torch.__version__,
                       "dram_copy_bytes_per_s": bandwidth,
                       "heads": HEADS, "tokens": TOKENS, "complete": done,
                       "rows": rows, "long": long_row, "targets": targets,
                       "problems": problems, "command": sys.argv}, f,
                      indent=1)
        with open(os.path.splitext(out)[0] + ".md", "w") as f:
            f.write(markdown(rows, targets, device_name, torch.__version__,
                             bandwidth) +
                    ("" if done else "\n\n(incomplete run)") + "\n")
        return out

    def inputs(b, n, d):
        return random_inputs(torch, gen, b, n, d)

    def record(method, pattern, n, d, b, nnz, result, note=""):
        fwd_ms, fb_ms, peak = result
        flops = 4.0 * d * nnz * b * HEADS
        row = {"method": method, "pattern": pattern, "n": n, "d": d, "B": b,
               "heads": HEADS, "nnz_per_head": nnz, "fwd_ms": fwd_ms,
               "fwd_bwd_ms": fb_ms,
               "fwd_tflops": flops / (fwd_ms * 1e-3) / 1e12,
               "fwd_bwd_tflops": 3.5 * flops / (fb_ms * 1e-3) / 1e12,
               "peak_mib": peak, "note": note}
        rows.append(row)
        save()
        print(f"  {method:5s} {pattern:8s} n={n:6d} d={d:3d}: fwd "
              f"{fwd_ms:8.3f} ms ({row['fwd_tflops']:6.1f} TFLOP/s), "
              f"fwd+bwd {fb_ms:8.3f} ms ({row['fwd_bwd_tflops']:6.1f} "
              f"TFLOP/s), peak {peak:8.1f} MiB {note}", flush=True)

    st_objects = {}

    def st_method(name, d):
        layout = PATTERNS[name]
        entry = libraries.find_entry(entries, layout, d, "bf16")
        if entry is None:
            return None
        key = (layout, d)
        if key not in st_objects:
            st_objects[key] = st_attention.StAttention(
                entry.library_dir, layout, d, torch.bfloat16)
        st = st_objects[key]
        return Method("ST", st, st.scratch_bytes)

    # Phase 1: SDPA and ST (fast), every size.
    for d in dims:
        for n in sizes:
            b = max(1, TOKENS // n)
            q, k, v, dout = inputs(b, n, d)
            sdpa = Method("SDPA", lambda q, k, v: F.scaled_dot_product_attention(
                q, k, v, is_causal=True))
            # SDPA and every ST layout that runs, timed in alternation.
            timed = [("SDPA", "causal", n * (n + 1) // 2, sdpa)]
            for name in names:
                layout = PATTERNS[name]
                st = st_method(name, d)
                if st is None:
                    problems.append(f"no ST entry for {layout} d={d} bf16")
                    print(f"  ST    {name:8s} n={n:6d} d={d:3d}: no entry")
                    continue
                try:
                    outputs(st, q, k, v, dout)
                except (st_attention.StError, RuntimeError) as e:
                    problems.append(f"ST {name} n={n} d={d} failed: {e}")
                    print(f"  ST    {name:8s} n={n:6d} d={d:3d}: {e}")
                    continue
                timed.append(("ST", name,
                              patterns.closed_form_nonzeros(layout, n), st))
            if args.sequential:
                results = [measure(torch, timer, [t[3]], q, k, v, dout)[0]
                           for t in timed]
            else:
                results = measure(torch, timer, [t[3] for t in timed], q, k,
                                  v, dout, target_ms=150.0 * len(timed))
            for (method, name, nnz, _), result in zip(timed, results):
                record(method, name, n, d, b, nnz, result)
            del q, k, v, dout
            torch.cuda.empty_cache()

    # Phase 2: one strided layer at n = 2^20.
    if args.long and "strided" in names:
        n, d, b = args.long, 64, 1
        st = st_method("strided", d)
        if st is None:
            problems.append(f"n={n}: no strided d=64 bf16 entry")
        else:
            q, k, v, dout = inputs(b, n, d)
            try:
                result = measure(torch, timer, [st], q, k, v, dout)[0]
                o, dq, dk, dv = outputs(st, q, k, v, dout)
                finite = all(bool(t.isfinite().all()) for t in (o, dq, dk, dv))
                err = long_rows_error(torch, q, k, v, o,
                                      patterns.parse(PATTERNS["strided"]))
                note = (f"64-row check {err:.1e}" +
                        ("" if finite else ", NON-FINITE gradients"))
                if not (finite and err <= CHECK_BOUND):
                    problems.append(f"n={n} strided check failed: {note}")
                record("ST", "strided", n, d, b,
                       patterns.closed_form_nonzeros(PATTERNS["strided"], n),
                       result, note)
                long_row = rows[-1]
                save()
            except (st_attention.StError, RuntimeError) as e:
                problems.append(f"n={n} strided failed: {e}")
                print(f"  ST    strided  n={n}: FAILED: {e}")
            del q, k, v, dout
            torch.cuda.empty_cache()

    # Phase 3: FlexAttention, checked against ST first.
    if flex_attention is not None:
        for d in dims:
            for n in sizes:
                b = max(1, TOKENS // n)
                for name in names:
                    layout = PATTERNS[name]
                    nnz = patterns.closed_form_nonzeros(layout, n)
                    if time.perf_counter() - started > args.budget:
                        problems.append(f"Flex {name} n={n} d={d}: skipped "
                                        f"(budget)")
                        print(f"  Flex  {name:8s} n={n:6d} d={d:3d}: "
                              f"skipped (budget)")
                        continue
                    try:
                        pattern = patterns.parse(layout)

                        def mask_mod(b_, h, q_idx, kv_idx, pattern=pattern):
                            return pattern.mask(h, q_idx, kv_idx)

                        t0 = time.perf_counter()
                        try:
                            block_mask = create_block_mask(
                                mask_mod, None, None, n, n, device="cuda",
                                BLOCK_SIZE=128, _compile=True)
                        except TypeError:
                            block_mask = create_block_mask(
                                mask_mod, None, None, n, n, device="cuda",
                                BLOCK_SIZE=128)
                        flex = Method("Flex", lambda q, k, v, bm=block_mask:
                                      flex_attention(q, k, v, block_mask=bm))
                        q, k, v, dout = inputs(b, n, d)
                        want = outputs(flex, q, k, v, dout)
                        build_s = time.perf_counter() - t0
                        note = f"mask+compile {build_s:.0f} s"
                        st = st_method(name, d)
                        if st is not None:
                            got = outputs(st, q, k, v, dout)
                            errs = [rel(g, w) for g, w in zip(got, want)]
                            good = all(e <= CHECK_BOUND for e in errs)
                            check = ("ST vs Flex o/dq/dk/dv " +
                                     "/".join(f"{e:.1e}" for e in errs))
                            print(f"  check {name:8s} n={n:6d} d={d:3d}: "
                                  f"{'ok' if good else 'MISMATCH'} {check}")
                            for row in rows:
                                if (row["method"], row["pattern"], row["n"],
                                        row["d"]) == ("ST", name, n, d):
                                    row["check_vs_flex"] = errs
                                    row["note"] = (row["note"] + " " if
                                                   row["note"] else "") + (
                                        "matches Flex" if good else
                                        "MISMATCH vs Flex")
                            if not good:
                                problems.append(f"{name} n={n} d={d}: {check}")
                        # FlexAttention with ST's same layout, timed in
                        # alternation: the Flex target's ratio.
                        timed = [flex] + ([st] if st is not None else [])
                        results = measure(torch, timer, timed, q, k, v, dout,
                                          target_ms=600.0)
                        record("Flex", name, n, d, b, nnz, results[0], note)
                        if st is not None:
                            rows[-1]["st_alternating_fwd_bwd_ms"] = (
                                results[1][1])
                            rows[-1]["note"] += (f"; ST alongside "
                                                 f"{results[1][1]:.3f} ms")
                            save()
                        del q, k, v, dout, want, block_mask
                        torch.cuda.empty_cache()
                    except Exception as e:  # noqa: BLE001 - report, go on
                        message = (str(e).splitlines() or [repr(e)])[0]
                        problems.append(f"Flex {name} n={n} d={d}: error: "
                                        f"{type(e).__name__}: {message}")
                        print(f"  Flex  {name:8s} n={n:6d} d={d:3d}: error: "
                              f"{type(e).__name__}: {message}")
                        torch.cuda.empty_cache()

    # Report.
    path = save(done=True)
    print()
    print(markdown(rows, evaluate_targets(rows, sizes, dims, names,
                                          bandwidth),
                   device_name, torch.__version__, bandwidth))
    if problems:
        print("problems:")
        for p in problems:
            print(f"  - {p}")
    if path:
        print(f"wrote {path} and {os.path.splitext(path)[0]}.md")
    print(f"gpu_attention: done in {time.perf_counter() - started:.0f} s")
    return 1 if any("MISMATCH" in p or "failed" in p for p in problems) else 0


def long_rows_error(torch, q, k, v, o, pattern, count=64):
    """Relative error of `count` random output rows (all heads) against a
    float64 reference over all of each row's keys."""
    n = q.shape[2]
    d = q.shape[3]
    gen = torch.Generator(device="cuda").manual_seed(1)
    idx = torch.randint(0, n, (count,), generator=gen, device="cuda")
    idx[0] = n - 1
    errs, norms = 0.0, 0.0
    heads = torch.arange(q.shape[1], device="cuda").view(-1, 1, 1)
    for r in idx.tolist():
        j = torch.arange(r + 1, device="cuda").view(1, 1, -1)
        mask = pattern.mask(heads, torch.tensor(r, device="cuda"), j)
        qr = q[0, :, r:r + 1].double()
        s = (qr @ k[0, :, :r + 1].double().transpose(-1, -2)) / math.sqrt(d)
        s = s.masked_fill(~mask.expand_as(s), float("-inf"))
        ref = torch.softmax(s, -1) @ v[0, :, :r + 1].double()
        got = o[0, :, r:r + 1].double()
        errs += float(((got - ref) ** 2).sum())
        norms += float((ref ** 2).sum())
    return math.sqrt(errs / norms)


def copy_bandwidth(torch, mib=1024, reps=10):
    """DRAM bandwidth in bytes/s: the median of `reps` device-to-device
    copies of `mib` MiB (read once, written once; far larger than L2)."""
    src = torch.empty(mib << 20, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    dst.copy_(src)
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1e-3)
    del src, dst
    torch.cuda.empty_cache()
    return 2.0 * (mib << 20) / statistics.median(times)


# Bytes per row (one head, one position) that an attention call must move
# at the least, bf16 tensors of head dim d: forward reads q, k, v and
# writes o (2 d bytes each) and lse (4); backward reads q, k, v, o, dout
# and lse and writes dq, dk, dv.
def min_bytes_per_row(kind, d):
    forward = 4 * 2 * d + 4
    backward = 8 * 2 * d + 4
    return forward if kind == "fwd" else forward + backward


def dram_ceiling(st, sdpa, kind, bandwidth):
    """The highest `kind` ("fwd" or "fwd_bwd") rate ratio to SDPA that ST's
    row could reach if its call took only the time to move its minimum
    bytes (min_bytes_per_row) at `bandwidth` bytes/s: its effective FLOPs
    over that time, over SDPA's measured rate. A target above it is out of
    reach of any implementation on this device, not only of ST's."""
    rows = st["B"] * st["heads"] * st["n"]
    seconds = min_bytes_per_row(kind, st["d"]) * rows / bandwidth
    flops = 4.0 * st["d"] * st["nnz_per_head"] * st["B"] * st["heads"]
    if kind == "fwd_bwd":
        flops *= 3.5
    return flops / seconds / 1e12 / sdpa[f"{kind}_tflops"]


def find(rows, method, pattern, n, d):
    for r in rows:
        if (r["method"], r["pattern"], r["n"], r["d"]) == (method, pattern,
                                                           n, d):
            return r
    return None


def evaluate_targets(rows, sizes, dims, names, bandwidth=None):
    """The issue's targets as ratios measured in this run; a rate target
    also carries its DRAM ceiling (dram_ceiling) when `bandwidth` (bytes/s)
    is known, else None."""
    targets = []

    def add(what, value, bound, ceiling=None):
        targets.append({"target": what, "value": value, "bound": bound,
                        "met": value is not None and value >= bound,
                        "ceiling": ceiling})

    for d in dims:
        for n in sizes:
            sdpa = find(rows, "SDPA", "causal", n, d)
            for name in names:
                st = find(rows, "ST", name, n, d)
                flex = find(rows, "Flex", name, n, d)
                if not (st and sdpa):
                    continue
                for kind in ("fwd", "fwd_bwd"):
                    add(f"{name} n={n} d={d}: ST {kind} effective TFLOP/s / "
                        f"SDPA dense", st[f"{kind}_tflops"] /
                        sdpa[f"{kind}_tflops"], 0.6,
                        dram_ceiling(st, sdpa, kind, bandwidth)
                        if bandwidth else None)
                if n == 65536:
                    speedup = sdpa["fwd_bwd_ms"] / st["fwd_bwd_ms"]
                    bound = 20.0 if name == "strided" else 3.0
                    add(f"{name} n={n} d={d}: fwd+bwd speed-up over SDPA",
                        speedup, bound)
                    if name == "strided":
                        # ST's time from the repetitions alternating with
                        # FlexAttention's.
                        st_ms = (flex.get("st_alternating_fwd_bwd_ms",
                                          st["fwd_bwd_ms"]) if flex else None)
                        add(f"{name} n={n} d={d}: fwd+bwd speed-up over Flex",
                            flex["fwd_bwd_ms"] / st_ms if flex else None,
                            60.0)
    return targets


def markdown(rows, targets, device, torch_version, bandwidth=None):
    dram = (f" DRAM ceiling: the highest rate ratio any implementation "
            f"could reach moving only the call's tensors at the copy "
            f"bandwidth measured in this run, {bandwidth / 1e9:.0f} GB/s."
            if bandwidth else "")
    lines = [f"Device: {device}; torch {torch_version}; {HEADS} heads, bf16, "
             f"B x n = {TOKENS} (n = 2^20: B = 1). Effective TFLOP/s count "
             f"the pattern's true nonzeros (SDPA: n(n+1)/2); peak is memory "
             f"above the inputs during forward+backward.{dram}", "",
             "| method | pattern | n | d | B | fwd ms | fwd TFLOP/s | "
             "fwd+bwd ms | fwd+bwd TFLOP/s | peak MiB | note |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
             "---: | --- |"]
    for r in sorted(rows, key=lambda r: (r["d"], r["n"], r["pattern"],
                                         r["method"])):
        lines.append(
            f"| {r['method']} | {r['pattern']} | {r['n']} | {r['d']} | "
            f"{r['B']} | {r['fwd_ms']:.3f} | {r['fwd_tflops']:.1f} | "
            f"{r['fwd_bwd_ms']:.3f} | {r['fwd_bwd_tflops']:.1f} | "
            f"{r['peak_mib']:.0f} | {r['note']} |")
    lines += ["", "| target | measured | bound | met | DRAM ceiling |",
              "| --- | ---: | ---: | --- | ---: |"]
    for t in targets:
        # Four significant digits: a rate of 0.5998 is below 0.6, which
        # two decimals would print as 0.60 next to "NO".
        value = "n/a" if t["value"] is None else f"{t['value']:.4g}"
        ceiling = t.get("ceiling")
        ceiling = "" if ceiling is None else (
            f"{ceiling:.3g}" + (" (below the bound)"
                                if ceiling < t["bound"] else ""))
        lines.append(f"| {t['target']} | {value} | {t['bound']} | "
                     f"{'yes' if t['met'] else 'NO'} | {ceiling} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
