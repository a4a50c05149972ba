#!/usr/bin/env python3
"""Where a kernel library's wrong numbers are, for debugging a failing
`scripts/gpu-check.py` case.

For one layout, head dim and dtype, and each library dir given (e.g. the
same kernels assembled or emitted differently), runs B = 1, H = 1 at each
n and prints the relative error of every output against gpu-check's
float64 reference; for an output over the dtype's bound, its largest
absolute error per 16-row group (query rows for o and dq, key rows for dk
and dv: a warp's rows) and per 8-column group. Inputs are seeded by n, so
every library sees the same ones.

    scripts/gpu-error-map.py --lib build-cuda/libst_cuda.so \\
        --layout '#st.dense_causal' --head-dim 64 --sizes 64,65,100,128 LIB...

(This is how the session-5 d = 64 wgmma fault showed itself: exact on the
first key tile, wrong from the second; docs/gpu.md.)
"""

import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))


def load_check():
    spec = importlib.util.spec_from_file_location(
        "gpu_check", os.path.join(HERE, "gpu-check.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("kernels", nargs="+", help="kernel library dirs")
    parser.add_argument("--lib", help="path to libst_cuda.so")
    parser.add_argument("--layout", default="#st.dense_causal")
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--dtype", default="bf16")
    parser.add_argument("--sizes", default="64,65,100,128,256")
    args = parser.parse_args()

    import torch
    import st_attention
    from st_attention import patterns

    check = load_check()
    st_attention.load_library(args.lib)
    pattern = patterns.parse(args.layout)
    dtype = getattr(torch, check.TORCH_DTYPES[args.dtype])
    bound = check.TOLERANCE[args.dtype]
    d = args.head_dim
    for library in args.kernels:
        st = st_attention.StAttention(library, args.layout, d, args.dtype)
        print(f"=== {library}: {args.layout} d={d} {args.dtype}")
        for n in [int(x) for x in args.sizes.split(",") if x]:
            gen = torch.Generator(device="cuda").manual_seed(n)
            q, k, v, dout = (torch.randn(1, 1, n, d, generator=gen,
                                         device="cuda").to(dtype)
                             for _ in range(4))
            nan = float("nan")
            o = torch.full_like(q, nan)
            lse = torch.full((1, 1, n), nan, device="cuda")
            dq, dk, dv = (torch.full_like(q, nan) for _ in range(3))
            st.forward_into(q, k, v, o, lse)
            st.backward_into(q, k, v, o, lse, dout, dq, dk, dv)
            torch.cuda.synchronize()
            ref = check.reference(q, k, v, dout, pattern)
            got = {"o": o, "lse": lse, "dq": dq, "dk": dk, "dv": dv}
            errors = {name: check.rel_error(got[name], ref[name],
                                            ref.get(name + "_mag"))
                      for name in check.OUTPUTS}
            print(f"n={n}: " + " ".join(f"{name} {err:.1e}"
                                        for name, err in errors.items()))
            for name in ["o", "dq", "dk", "dv"]:
                if errors[name] <= bound:
                    continue
                diff = (got[name].double() - ref[name]).abs()[0, 0]
                diff = torch.nan_to_num(diff, nan=float("inf"))
                rows = " ".join(f"{float(diff[r:r + 16].max()):.2g}"
                                for r in range(0, n, 16))
                cols = " ".join(f"{float(diff[:, c:c + 8].max()):.2g}"
                                for c in range(0, d, 8))
                print(f"   {name} max |error| per 16 rows: {rows}")
                print(f"   {name} max |error| per 8 columns: {cols}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
