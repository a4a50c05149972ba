"""Compares --st-layout-stats' nonzero counts with the Python reference
masks. Usage: check_masks.py PYTHON_DIR STATS_FILE"""
import re
import sys

sys.path.insert(0, sys.argv[1])
from st_attention import patterns  # noqa: E402

text = open(sys.argv[2]).read()
blocks = re.findall(r"layout: (.*)\n(?:.*\n)*?\s*shape: batch (\d+) heads (\d+) "
                    r"length (\d+) head_dim \d+\n\s*nonzeros: (\d+)", text)
failed = 0
for layout, batch, heads, n, nnz in blocks:
    got = patterns.nonzeros(patterns.parse(layout), int(n), int(heads))
    if got != int(nnz):
        failed += 1
        print(f"MISMATCH {layout} heads {heads} n {n}: python {got}, "
              f"st-opt {nnz}")
    else:
        print(f"ok {layout} heads {heads} n {n} nonzeros {got}")
print(f"checked {len(blocks)} layouts")
sys.exit(1 if failed or not blocks else 0)
