# bench/gpu_profile.py's timeline: the span of kernel intervals from the
# first start to the last end, and the part of it that no kernel covers
# (launch gaps, event waits). Overlapping kernels (two streams, an early
# launch) count once; a kernel inside another adds nothing.
# RUN: %python %s %st_src_root | FileCheck %s
import os
import sys

sys.path.insert(0, os.path.join(sys.argv[1], "bench"))
import gpu_profile  # noqa: E402

# CHECK: empty: 0.0 0.0
print("empty:", *gpu_profile.timeline([]))
# Back to back: no idle time.
# CHECK: back to back: 30.0 0.0
print("back to back:", *gpu_profile.timeline([(0.0, 10.0), (10.0, 30.0)]))
# A 5-unit gap between two kernels, given out of order.
# CHECK: gap: 25.0 5.0
print("gap:", *gpu_profile.timeline([(15.0, 25.0), (0.0, 10.0)]))
# Overlap (the second starts before the first ends), one kernel inside
# another, then a gap of 2 before the last.
# CHECK: overlap: 32.0 2.0
print("overlap:", *gpu_profile.timeline(
    [(0.0, 10.0), (8.0, 20.0), (12.0, 14.0), (22.0, 32.0)]))
