#!/usr/bin/env python3
"""Two or more ST configurations timed against each other in one process.

    bench/gpu_ab.py --lib build-cuda/libst_cuda.so CONFIG CONFIG [CONFIG...]

A CONFIG is a kernel library directory, optionally preceded by runtime
environment settings and a colon: `ST_CUDA_PDL=0:kernels` opens the library
with programmatic launch off, `kernels` as it is, `other-kernels` another
library. The runtime reads its environment when a library handle opens, so
each configuration gets its own handle, opened with its settings.

For each pattern and head dim (one shape: n, B, 8 heads, bf16), checks that
every configuration's output and gradients agree with the first's, then
times forward+backward of all of them in alternation (bench/gpu_attention.py's
Timer: each repetition runs each configuration once, after an L2 flush), for
--rounds rounds, and prints each configuration's median over the rounds'
medians and its ratio to the first. Alternation keeps the machine's drift
(clocks, temperature) out of the ratios: kernels whose code did not change
moved by up to 4% between two profiles of one call (docs/performance.md,
session 7).
"""

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import st_attention  # noqa: E402
from st_attention import layouts, libraries  # noqa: E402
from gpu_attention import HEADS, PATTERNS, Timer, random_inputs, rel  # noqa: E402


def parse_config(text):
    """(environment settings, library directory) of `[K=V,...:]DIR`."""
    env = {}
    head, sep, tail = text.partition(":")
    if sep and "=" in head:
        for item in head.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise ValueError(f"config '{text}': '{item}' is not KEY=VALUE")
            env[key] = value
        return env, tail
    return env, text


def open_with(env, entry, layout, d, torch, q, k, v):
    """A StAttention whose handle opens (on its first call) under `env`."""
    st = st_attention.StAttention(entry.library_dir, layout, d, torch.bfloat16)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        st.handle(q.device)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return st


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--lib", help="path to libst_cuda.so")
    parser.add_argument("--n", type=int, default=65536)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--head-dims", default="64,128")
    parser.add_argument("--patterns", default="strided,fixed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target-ms", type=float, default=300.0,
                        help="time per round of alternation")
    parser.add_argument("--idle-us", type=float, default=0.0,
                        help="the GPU idles about this long (a sleeping "
                        "kernel, torch.cuda._sleep at 1.98 GHz) before "
                        "each repetition's flush, so that back-to-back "
                        "repetitions stay below the board's power cap: "
                        "beside a run with 0 it tells a configuration's "
                        "time from its clocks")
    args = parser.parse_args()
    if len(args.configs) < 2:
        parser.error("give at least two configurations")
    try:
        configs = [parse_config(c) for c in args.configs]
    except ValueError as e:
        parser.error(str(e))

    import torch
    problem = st_attention.device_problem(torch, args.lib)
    if problem:
        print(f"gpu_ab: {problem}")
        return 2
    timer = Timer(torch)
    gen = torch.Generator(device="cuda").manual_seed(0)
    print(f"gpu_ab: {torch.cuda.get_device_name()}, n = {args.n}, "
          f"B = {args.batch}, {HEADS} heads, bf16, {args.rounds} rounds")
    for i, (env, lib) in enumerate(configs):
        print(f"  config {i}: {lib} "
              f"{' '.join(f'{k}={v}' for k, v in env.items()) or '(as is)'}")
    status = 0
    for name in [p for p in args.patterns.split(",") if p]:
        layout = PATTERNS[name]
        for d in [int(x) for x in args.head_dims.split(",") if x]:
            q, k, v, dout = random_inputs(torch, gen, args.batch, args.n, d)
            methods = []
            for env, lib in configs:
                entry = libraries.find_entry(libraries.find_entries([lib]),
                                             layout, d, "bf16")
                if entry is None:
                    print(f"  {name} d={d}: no entry in {lib}")
                    break
                methods.append(open_with(env, entry, layout, d, torch,
                                         q, k, v))
            if len(methods) != len(configs):
                status = 1
                continue

            def results(st):
                q.grad = k.grad = v.grad = None
                o = st(q, k, v)
                o.backward(dout)
                return [o.detach().clone(), q.grad.clone(), k.grad.clone(),
                        v.grad.clone()]

            reference = results(methods[0])
            worst = 0.0
            for st in methods[1:]:
                for x, ref in zip(results(st), reference):
                    worst = max(worst, rel(x, ref))

            def fwd_bwd(st):
                def run():
                    q.grad = k.grad = v.grad = None
                    st(q, k, v).backward(dout)
                return run

            before = None
            if args.idle_us > 0:
                cycles = int(args.idle_us * 1980)

                def idle_then_flush():
                    torch.cuda._sleep(cycles)
                    timer.flush.zero_()
                before = [idle_then_flush] * len(methods)
            rounds = [timer.alternating([fwd_bwd(st) for st in methods],
                                        args.target_ms, before=before)
                      for _ in range(args.rounds)]
            ms = [statistics.median(r[i] for r in rounds)
                  for i in range(len(methods))]
            cells = ", ".join(
                f"{i}: {t:.3f} ms ({t / ms[0]:.3f}; rounds "
                f"{' '.join(f'{r[i]:.3f}' for r in rounds)})"
                for i, t in enumerate(ms))
            print(f"  {name:8s} d={d:3d} fwd+bwd {cells}; outputs vs config "
                  f"0: {worst:.1e}", flush=True)
            if worst > 2e-2:
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
