# bench/gpu_views.py refuses shapes it cannot split into its two views
# before it imports torch or looks for a GPU.
# RUN: not %python %st_src_root/bench/gpu_views.py --n 1000 lib 2>&1 | FileCheck %s --check-prefix=SPLIT
# RUN: not %python %st_src_root/bench/gpu_views.py --n 4096 --stride 100 lib 2>&1 | FileCheck %s --check-prefix=SPLIT
# RUN: %python %st_src_root/bench/gpu_views.py --help | FileCheck %s --check-prefix=HELP
# SPLIT: error: n must divide 65536 and be a multiple of the stride
# HELP: ST dense causal
# HELP: SDPA causal
