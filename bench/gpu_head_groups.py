#!/usr/bin/env python3
"""Whether running a call's heads in groups keeps the chain in L2.

    bench/gpu_head_groups.py --lib build-cuda/libst_cuda.so KERNELS

A layout with two views (strided: band and columns) chains its kernels
through scratch rows (o_acc, dq_acc, dk_acc, dv_acc; docs/gpu.md): the
first kernel writes a row, the next reads it back after the whole call's
heads have passed through L2. This runs ST's forward and backward on one
set of tensors (strided l = 128 by default, n = 65536, B = 1, 8 heads,
d = 128, bf16) as one call over every head, then as calls over groups of
G heads in turn (per-head slices of the same tensors), so that a group's
chain (16.7 MB a head at n = 65536, d = 128) is read back one group later.
It prints each grouping's outputs against the one-call run (they must be
equal: the kernels see the same rows) and its median forward+backward
time, timed in alternation with an L2 flush before each repetition.
--groups 0 is the one call.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))

from gpu_attention import Timer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("kernels", nargs="+")
    parser.add_argument("--lib", help="path to libst_cuda.so")
    parser.add_argument("--n", type=int, default=65536)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--pattern", default="strided",
                        choices=["strided", "fixed"])
    parser.add_argument("--groups", default="0,4,2,1",
                        help="heads a call, comma-separated (0: one call)")
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()

    import torch
    from st_attention import StAttention, layouts
    from st_attention.libraries import find_entries

    layout = {"strided": layouts.strided(128),
              "fixed": layouts.fixed(128, 32)}[args.pattern]
    match = [e for e in find_entries(args.kernels) if e.layout == layout and
             e.head_dim == args.head_dim and e.dtype == "bf16"]
    if not match:
        sys.exit(f"gpu_head_groups: no bf16 {args.pattern} entry at d = "
                 f"{args.head_dim} in {args.kernels}")
    attn = StAttention(match[0].library_dir, layout, args.head_dim,
                       torch.bfloat16, lib_path=args.lib)
    shape = (args.batch, args.heads, args.n, args.head_dim)
    q, k, v, dout = (torch.randn(shape, device="cuda", dtype=torch.bfloat16)
                     for _ in range(4))
    o = torch.empty_like(q)
    lse = torch.empty(shape[:3], device="cuda", dtype=torch.float32)
    dq, dk, dv = (torch.empty_like(q) for _ in range(3))

    def run(group):
        if group == 0:
            attn.forward_into(q, k, v, o, lse)
            attn.backward_into(q, k, v, o, lse, dout, dq, dk, dv)
            return
        # One batch element's heads [h0, h0 + group) are contiguous.
        for b in range(args.batch):
            for h0 in range(0, args.heads, group):
                s = (slice(b, b + 1), slice(h0, h0 + group))
                attn.forward_into(q[s], k[s], v[s], o[s], lse[s])
                attn.backward_into(q[s], k[s], v[s], o[s], lse[s], dout[s],
                                   dq[s], dk[s], dv[s])

    groups = [int(x) for x in args.groups.split(",")]
    reference = None
    for group in groups:
        run(group)
        torch.cuda.synchronize()
        got = torch.cat([o, dq, dk, dv]).float()
        if reference is None:
            reference = got
        err = float((got - reference).norm() / reference.norm())
        print(f"heads {group} a call: outputs vs heads {groups[0]}: "
              f"{err:.1e}")
    # Each grouping once, after an L2 flush, in every repetition.
    unique = list(dict.fromkeys(groups))
    times = Timer(torch).alternating(
        [lambda g=g: run(g) for g in unique], min_reps=args.reps,
        max_reps=args.reps)
    for group, ms in zip(unique, times):
        print(f"{args.pattern} n={args.n} B={args.batch} H={args.heads} "
              f"d={args.head_dim}: heads {group} a call: fwd+bwd {ms:.3f} ms "
              f"({ms / times[0]:.3f})")


if __name__ == "__main__":
    main()
