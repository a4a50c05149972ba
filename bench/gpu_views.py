#!/usr/bin/env python3
"""What strided's two views cost apart, beside FlashAttention on the same work.

    bench/gpu_views.py --lib build-cuda/libst_cuda.so [--n 65536] KERNELS...

Strided with stride L at length n is a band of width L (the layout
`#st.local<window = L>`) and, in each of the L residue classes, dense
causal attention over the class's ceil(n / L) rows. ST runs the two as
separate kernels joined by a chain (docs/gpu.md). To see what each part
costs, and how far ST's kernels are from FlashAttention's on the column
part's work, this times, in alternation (gpu_attention.Timer, L2 flushed
before each call), forward and forward+backward of:

  ST strided        the layout at n, B = 65536 / n sequences
  ST local          the band alone at the same shape (no chain)
  ST dense causal   n / L rows, B x L sequences: the column part's work
                    as dense causal batches (contiguous rows, no chain)
  SDPA causal       the same batches through PyTorch's
                    scaled_dot_product_attention (FlashAttention)

The last two differ from the column part in what it adds: rows L
positions apart, the diagonal (the column part starts one class row
back), and the chain. ST's dense output is checked against SDPA's first.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import st_attention  # noqa: E402
from st_attention import layouts, libraries  # noqa: E402
from gpu_attention import (CHECK_BOUND, HEADS, TOKENS, Method, Timer,  # noqa: E402
                           measure, random_inputs, rel)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("kernels", nargs="+")
    parser.add_argument("--lib", help="path to libst_cuda.so")
    parser.add_argument("--n", type=int, default=65536)
    parser.add_argument("--stride", type=int, default=128)
    parser.add_argument("--head-dims", default="64,128")
    parser.add_argument("--target-ms", type=float, default=300.0)
    args = parser.parse_args()
    if args.n % args.stride or TOKENS % args.n:
        parser.error(f"n must divide {TOKENS} and be a multiple of the stride")

    import torch
    import torch.nn.functional as F
    problem = st_attention.device_problem(torch, args.lib)
    if problem:
        print(f"gpu_views: {problem}")
        return 2
    entries = libraries.find_entries(args.kernels)
    timer = Timer(torch)
    gen = torch.Generator(device="cuda").manual_seed(0)
    b, rows = TOKENS // args.n, args.n // args.stride
    print(f"gpu_views: {torch.cuda.get_device_name()}, strided L = "
          f"{args.stride} at n = {args.n} (B = {b}), columns as "
          f"{b * args.stride} sequences of {rows}, {HEADS} heads, bf16")

    def st(layout, d):
        entry = libraries.find_entry(entries, layout, d, "bf16")
        if entry is None:
            raise SystemExit(f"gpu_views: no entry for {layout} d={d} bf16")
        return Method("ST", st_attention.StAttention(
            entry.library_dir, layout, d, torch.bfloat16))

    status = 0
    for d in [int(x) for x in args.head_dims.split(",") if x]:
        long = random_inputs(torch, gen, b, args.n, d)
        short = random_inputs(torch, gen, b * args.stride, rows, d)
        sdpa = Method("SDPA", lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, is_causal=True))
        dense = st(layouts.dense_causal(), d)
        with torch.no_grad():
            err = rel(dense.fn(*short[:3]), sdpa.fn(*short[:3]))
        if not err <= CHECK_BOUND:
            print(f"  d={d}: ST dense causal differs from SDPA ({err:.1e})")
            status = 1
            continue
        results = []
        for names, methods, (q, k, v, dout) in (
                (["ST strided", "ST local"],
                 [st(layouts.strided(args.stride), d),
                  st(layouts.local(args.stride), d)], long),
                (["ST dense causal", "SDPA causal"], [dense, sdpa], short)):
            timed = measure(torch, timer, methods, q, k, v, dout,
                            args.target_ms)
            results += zip(names, timed)
        print(f"  d={d} (ST dense vs SDPA {err:.1e}):")
        for name, (fwd, fwd_bwd, _) in results:
            print(f"    {name:16s} fwd {fwd:8.3f} ms  fwd+bwd {fwd_bwd:8.3f} ms")
    return status


if __name__ == "__main__":
    sys.exit(main())
