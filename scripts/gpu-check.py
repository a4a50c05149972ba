#!/usr/bin/env python3
"""Correctness of ST's GPU attention kernels against a float64 reference.

For every entry (layout, head_dim, dtype) of the given kernel libraries and
every sequence length, on fresh random inputs:
  - outputs (o, lse, dq, dk, dv) are poisoned with NaN, then ST's forward and
    backward run through libst_cuda.so;
  - a float64 dense-masked reference (masks from python/st_attention/
    patterns.py, written from the layout definitions, not the compiler)
    computes the same on the GPU, in row chunks;
  - each output passes when ||out - ref|| / ||ref|| <= the dtype's bound
    (NaN never passes).
One line per case, a summary, coverage of the required patterns, exit status
1 on any failure. Every entry is also run once through the autograd Function
(StAttention(...)(q, k, v).backward(dout)).

    scripts/gpu-check.py --lib build-cuda/libst_cuda.so KERNELS...

KERNELS: kernel library directories, or directories of them. --quick picks
the small subset used under compute-sanitizer (quick_subset). --self-test
checks the reference itself against autograd of a naive masked softmax (CPU
is fine).
"""

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))

import st_attention  # noqa: E402
from st_attention import libraries, patterns  # noqa: E402

SIZES = [1, 100, 128, 1000, 4096, 16384]
# Relative-error bounds: f32 runs on the TF32 tensor cores (10-bit mantissa,
# operands rounded to nearest: METHOD.md puts tf32 "near 3e-4"; measured
# 2-6e-4 on the gradients, which chain two rounded products); f16 and bf16
# round inputs, probabilities and outputs to 11 and 8 bits.
TOLERANCE = {"f32": 1e-3, "f16": 5e-3, "bf16": 1e-2}
REQUIRED_KINDS = ["dense_causal", "local", "strided", "fixed",
                  "fixed per_head", "union"]
REQUIRED_DIMS = [32, 64, 128]
REQUIRED_DTYPES = ["bf16", "f16", "f32"]
OUTPUTS = ["o", "lse", "dq", "dk", "dv"]
DEVICE = "cuda"  # where cases run (tests of this script use "cpu")


def batch_heads(n):
    """(B, H) per length: batches and more heads than any per-head cycle of
    the usual layouts (4) where it is cheap."""
    if n <= 1000:
        return 2, 5
    if n <= 4096:
        return 1, 4
    return 1, 4


# --------------------------------------------------------------------------
# The float64 reference
# --------------------------------------------------------------------------

def reference(q, k, v, dout, pattern, chunk_elements=1 << 26):
    """o, lse, dq, dk, dv of softmax(q k^T / sqrt(D), masked) v in float64.
    Rows are processed in chunks; keys beyond a chunk's last row are never
    attended (causality) and are left out."""
    import torch
    q, k, v, dout = (t.double() for t in (q, k, v, dout))
    B, H, N, D = q.shape
    dev = q.device
    scale = 1.0 / math.sqrt(D)
    o = torch.empty_like(q)
    lse = torch.empty((B, H, N), dtype=torch.float64, device=dev)
    dq = torch.empty_like(q)
    dk = torch.zeros_like(k)
    dv = torch.zeros_like(v)
    dq_mag = torch.empty_like(q)
    dk_mag = torch.zeros_like(k)
    heads = torch.arange(H, device=dev).view(H, 1, 1)
    rows = max(1, min(N, chunk_elements // max(1, H * N)))

    def probabilities(b, r0, r1, lse_rows=None):
        i = torch.arange(r0, r1, device=dev).view(1, -1, 1)
        j = torch.arange(r1, device=dev).view(1, 1, -1)
        mask = pattern.mask(heads, i, j).expand(H, r1 - r0, r1)
        s = torch.matmul(q[b, :, r0:r1], k[b, :, :r1].transpose(-1, -2))
        s = (s * scale).masked_fill(~mask, float("-inf"))
        if lse_rows is None:
            lse_rows = torch.logsumexp(s, dim=-1)
        return torch.exp(s - lse_rows.unsqueeze(-1)), lse_rows

    for b in range(B):
        for r0 in range(0, N, rows):
            r1 = min(N, r0 + rows)
            p, l = probabilities(b, r0, r1)
            o[b, :, r0:r1] = torch.matmul(p, v[b, :, :r1])
            lse[b, :, r0:r1] = l
        delta = (dout[b] * o[b]).sum(-1)
        for r0 in range(0, N, rows):
            r1 = min(N, r0 + rows)
            p, _ = probabilities(b, r0, r1, lse[b, :, r0:r1])
            dp = torch.matmul(dout[b, :, r0:r1], v[b, :, :r1].transpose(-1, -2))
            ds = p * (dp - delta[:, r0:r1].unsqueeze(-1)) * scale
            dq[b, :, r0:r1] = torch.matmul(ds, k[b, :, :r1])
            dk[b, :, :r1] += torch.matmul(ds.transpose(-1, -2), q[b, :, r0:r1])
            # The magnitude of the terms that dS sums (see rel_error).
            dsm = p * (dp.abs() + delta[:, r0:r1].abs().unsqueeze(-1)) * scale
            dq_mag[b, :, r0:r1] = torch.matmul(dsm, k[b, :, :r1].abs())
            dk_mag[b, :, :r1] += torch.matmul(dsm.transpose(-1, -2),
                                              q[b, :, r0:r1].abs())
            dv[b, :, :r1] += torch.matmul(p.transpose(-1, -2), dout[b, :, r0:r1])
    return {"o": o, "lse": lse, "dq": dq, "dk": dk, "dv": dv,
            "dq_mag": dq_mag, "dk_mag": dk_mag}


def rel_error(x, ref, magnitude=None):
    """||x - ref|| / ||ref|| in float64; NaN if x has NaN or inf.

    dQ and dK sum P (dP - delta) terms that can cancel to nothing: at n = 1
    every row has one key, P = 1 and dP = delta, so the exact gradient is 0
    and its float64 reference is rounding noise (~1e-17), against which any
    float32 rounding is a "relative error" of 1e12. Where the reference's
    norm is below 1e-6 of `magnitude` (the norm of the same sums over the
    terms' absolute values), the error is measured against `magnitude`."""
    import torch
    x = x.double()
    if not bool(torch.isfinite(x).all()):
        return float("nan")
    denom = float(ref.norm())
    if magnitude is not None:
        mag = float(magnitude.norm())
        if denom < 1e-6 * mag:
            denom = mag
    err = float((x - ref).norm())
    return err / denom if denom > 0 else err


def self_test(device):
    """The reference against autograd through a naive masked softmax."""
    import torch
    gen = torch.Generator(device="cpu").manual_seed(1)
    worst = 0.0
    layouts = ["#st.dense_causal", "#st.strided<stride = 8>",
               "#st.fixed<stride = 8, summary = 2, per_head = true>",
               "#st.union<[#st.local<window = 3>, #st.strided<stride = 5>]>"]
    for text in layouts:
        pattern = patterns.parse(text)
        B, H, N, D = 2, 5, 37, 16
        q, k, v, dout = (torch.randn(B, H, N, D, generator=gen,
                                     dtype=torch.float64).to(device)
                         for _ in range(4))
        # Small chunks, so the chunked path is what is tested.
        got = reference(q, k, v, dout, pattern, chunk_elements=H * N * 7)
        qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
        h = torch.arange(H, device=device).view(H, 1, 1)
        i = torch.arange(N, device=device).view(1, N, 1)
        j = torch.arange(N, device=device).view(1, 1, N)
        mask = pattern.mask(h, i, j).expand(H, N, N)
        s = (qq @ kk.transpose(-1, -2)) / math.sqrt(D)
        s = s.masked_fill(~mask, float("-inf"))
        want_lse = torch.logsumexp(s, -1)
        want_o = torch.softmax(s, -1) @ vv
        want_o.backward(dout)
        want = {"o": want_o.detach(), "lse": want_lse.detach(),
                "dq": qq.grad, "dk": kk.grad, "dv": vv.grad}
        errs = {name: rel_error(got[name], want[name]) for name in OUTPUTS}
        worst = max([worst] + list(errs.values()))
        print(f"self-test {text}: " +
              " ".join(f"{n} {e:.1e}" for n, e in errs.items()))
        if not all(e <= 1e-12 for e in errs.values()):
            print("self-test FAILED: the reference disagrees with autograd")
            return False
    print(f"self-test passed: worst relative error {worst:.1e}")
    return True


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

TORCH_DTYPES = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}


def run_case(entry, n, gen, autograd=False):
    """Runs one case; returns (errors dict, ms for ST's forward+backward)."""
    import torch
    dtype = getattr(torch, TORCH_DTYPES[entry.dtype])
    B, H = batch_heads(n)
    D = entry.head_dim
    dev = torch.device(DEVICE)
    q, k, v, dout = (torch.randn(B, H, n, D, generator=gen, device=dev,
                                 dtype=torch.float32).to(dtype)
                     for _ in range(4))
    st = entry.st
    torch.cuda.synchronize()
    start = time.perf_counter()
    if autograd:
        qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
        o = st(qq, kk, vv)
        o.backward(dout)
        _, lse = st.forward_into(q, k, v)
        got = {"o": o.detach(), "lse": lse, "dq": qq.grad, "dk": kk.grad,
               "dv": vv.grad}
    else:
        nan = float("nan")
        o = torch.full_like(q, nan)
        lse = torch.full((B, H, n), nan, dtype=torch.float32, device=dev)
        dq, dk, dv = (torch.full_like(q, nan) for _ in range(3))
        st.forward_into(q, k, v, o, lse)
        st.backward_into(q, k, v, o, lse, dout, dq, dk, dv)
        got = {"o": o, "lse": lse, "dq": dq, "dk": dk, "dv": dv}
    torch.cuda.synchronize()
    ms = (time.perf_counter() - start) * 1e3
    ref = reference(q, k, v, dout, entry.pattern)
    errors = {name: rel_error(got[name], ref[name], ref.get(name + "_mag"))
              for name in OUTPUTS}
    return (B, H), errors, ms


def quick_subset(entries):
    """The --quick subset: per layout, one entry of head_dim up to 64 and
    one of 128 or more (each the nearest to 64 or 128, bf16 first). The
    two are different kernels, not only different sizes: at d = 128 the
    kernels over long walks (fixed's summaries) split into a producer and
    two consumer warpgroups with mbarrier-tracked stages, named barriers
    and setmaxnreg (docs/gpu.md), which only a d = 128 entry takes under
    the sanitizers. Order: the entries' own."""
    picked = {}
    for i, e in enumerate(entries):
        wide = e.head_dim >= 128
        key = (e.layout, wide)
        score = (e.dtype != "bf16", abs(e.head_dim - (128 if wide else 64)))
        if key not in picked or score < picked[key][0]:
            picked[key] = (score, i, e)
    return [e for _, _, e in sorted(picked.values(), key=lambda p: p[1])]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("kernels", nargs="*", help="kernel library dirs")
    parser.add_argument("--lib", help="path to libst_cuda.so")
    parser.add_argument("--sizes", help="default: " +
                        ",".join(map(str, SIZES)) + " (--quick: 100,1000)")
    parser.add_argument("--layouts", default="",
                        help="only layouts containing this text")
    parser.add_argument("--dtypes", default="bf16,f16,f32")
    parser.add_argument("--head-dims", default="32,64,128")
    parser.add_argument("--seed", type=int,
                        help="default: fresh, printed for reruns")
    parser.add_argument("--quick", action="store_true",
                        help="small subset for compute-sanitizer: per "
                        "layout one entry at d <= 64 and one at d >= 128 "
                        "(bf16 first), n = 100 and 1000")
    parser.add_argument("--time-limit", type=float, default=240.0,
                        help="seconds; cases left then are reported skipped "
                        "and the run fails")
    parser.add_argument("--require-all", action="store_true",
                        help="fail when a required pattern, head_dim or "
                        "dtype has no entry")
    parser.add_argument("--self-test", action="store_true",
                        help="check the reference against autograd and exit")
    parser.add_argument("--device", default="cuda",
                        help="device of --self-test")
    args = parser.parse_args()

    import torch
    if args.self_test:
        return 0 if self_test(torch.device(args.device)) else 1
    if not args.kernels:
        parser.error("give at least one kernel library directory")
    problem = st_attention.device_problem(torch, args.lib)
    if problem:
        print(f"gpu-check: {problem}; nothing checked")
        return 2
    if not self_test(torch.device(DEVICE)):
        return 1

    sizes_text = args.sizes or ("100,1000" if args.quick else
                                ",".join(map(str, SIZES)))
    sizes = [int(s) for s in sizes_text.split(",") if s]
    dtypes = args.dtypes.split(",")
    dims = [int(d) for d in args.head_dims.split(",")]
    entries = [e for e in libraries.find_entries(args.kernels)
               if args.layouts in e.layout and e.dtype in dtypes
               and e.head_dim in dims]
    if not entries:
        print("gpu-check: no entries match")
        return 1
    if args.quick:
        entries = quick_subset(entries)
    seed = args.seed if args.seed is not None else int.from_bytes(
        os.urandom(4), "little")
    gen = torch.Generator(device=DEVICE).manual_seed(seed)
    print(f"gpu-check: {len(entries)} entries x {len(sizes)} sizes on "
          f"{torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"seed {seed}, lib {st_attention.library_path()}")
    for e in entries:
        e.pattern = patterns.parse(e.layout)
        e.st = st_attention.StAttention(e.library_dir, e.layout, e.head_dim,
                                        e.dtype)

    cases = [(n, e, False) for n in sizes for e in entries]
    autograd_n = 1000 if 1000 in sizes else sizes[0]
    if not args.quick:
        cases += [(autograd_n, e, True) for e in entries]
    start = time.perf_counter()
    passed = failed = skipped = 0
    worst = {}
    for idx, (n, e, autograd) in enumerate(cases):
        tol = TOLERANCE[e.dtype]
        label = (f"{e.layout} d={e.head_dim} {e.dtype} n={n}"
                 + (" autograd" if autograd else ""))
        if time.perf_counter() - start > args.time_limit:
            skipped += 1
            print(f"SKIP  {label} (time limit)")
            continue
        try:
            (B, H), errors, ms = run_case(e, n, gen, autograd)
        except Exception as exc:  # noqa: BLE001 - report and go on
            failed += 1
            message = str(exc).splitlines()[0] if str(exc) else repr(exc)
            print(f"FAIL  {label}: {type(exc).__name__}: {message}")
            try:
                torch.cuda.synchronize()
            except Exception:  # noqa: BLE001
                print("gpu-check: the CUDA context is broken (a kernel "
                      "faulted); stopping")
                break
            continue
        good = all(err <= tol for err in errors.values())
        passed += good
        failed += not good
        key = (e.dtype,)
        worst[key] = max([worst.get(key, 0.0)] +
                         [x if x == x else float("inf")
                          for x in errors.values()])
        print(f"{'PASS' if good else 'FAIL'}  {label} B={B} H={H}  " +
              " ".join(f"{name} {err:.1e}" for name, err in errors.items()) +
              f"  (bound {tol:.0e}, {ms:.1f} ms)", flush=True)

    elapsed = time.perf_counter() - start
    print()
    for (dtype,), w in sorted(worst.items()):
        print(f"worst relative error {dtype}: {w:.2e} "
              f"(bound {TOLERANCE[dtype]:.0e})")
    present = {(libraries.kind(e.layout), e.head_dim, e.dtype)
               for e in libraries.find_entries(args.kernels)}
    missing = [f"{kind} d={d} {dt}" for kind in REQUIRED_KINDS
               for d in REQUIRED_DIMS for dt in REQUIRED_DTYPES
               if (kind, d, dt) not in present]
    if missing:
        print(f"coverage: {len(missing)} required combinations have no "
              f"entry: " + ", ".join(missing))
    else:
        print("coverage: every required pattern x head_dim x dtype is "
              "present")
    print(f"gpu-check: {passed} passed, {failed} failed, {skipped} skipped "
          f"in {elapsed:.0f} s (seed {seed})")
    if failed or skipped or (missing and args.require_all):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
