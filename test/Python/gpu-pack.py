# scripts/gpu-pack.sh packs a kernel library's manifest and the modules it
# names (once each, nothing else) under the library's name; a library
# without its manifest, or a manifest naming a missing module, is an error
# with no archive written.
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t
# RUN: bash %st_src_root/scripts/gpu-pack.sh %t/lib/L/ %t/L.tar.xz | FileCheck %s --check-prefix=PACK
# RUN: tar -tJf %t/L.tar.xz | sort | FileCheck %s --check-prefix=LIST
# RUN: mkdir %t/out && tar -C %t/out -xJf %t/L.tar.xz && cmp %t/lib/L/a.cubin %t/out/L/a.cubin
# RUN: not bash %st_src_root/scripts/gpu-pack.sh %t/lib/M %t/M.tar.xz 2>&1 | FileCheck %s --check-prefix=MISSING
# RUN: not test -e %t/M.tar.xz
# RUN: not bash %st_src_root/scripts/gpu-pack.sh %t/lib/none %t/N.tar.xz 2>&1 | FileCheck %s --check-prefix=NOMANIFEST
# RUN: not bash %st_src_root/scripts/gpu-pack.sh %t/lib/L %t/L.tar 2>&1 | FileCheck %s --check-prefix=USAGE

# PACK: gpu-pack: {{.*}}L.tar.xz: 2 modules of {{.*}}lib/L,
# LIST: L/a.cubin
# LIST-NEXT: L/b.cubin
# LIST-NEXT: L/manifest.json
# LIST-EMPTY:
# MISSING: gpu-pack: {{.*}}lib/M/gone.cubin: no such file (named by {{.*}}lib/M/manifest.json)
# NOMANIFEST: gpu-pack: {{.*}}lib/none/manifest.json: no such file (build the library with scripts/gpu-kernels.sh)
# USAGE: usage: scripts/gpu-pack.sh LIB_DIR ARCHIVE.tar.xz
import json
import os
import sys

root = sys.argv[1]


def library(name, modules, files):
    d = os.path.join(root, "lib", name)
    os.makedirs(d)
    entries = [{"layout": "#st.dense_causal", "head_dim": 64,
                "dtype": "bf16", "module": m} for m in modules]
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump({"format": "st-attention-kernels", "version": 1,
                   "entries": entries}, f)
    for name in files:
        with open(os.path.join(d, name), "wb") as f:
            f.write(os.urandom(256))


# Two entries share a.cubin; the PTX beside the cubins is left out.
library("L", ["a.cubin", "b.cubin", "a.cubin"],
        ["a.cubin", "b.cubin", "a.ptx", "b.ptx"])
library("M", ["a.cubin", "gone.cubin"], ["a.cubin"])
os.makedirs(os.path.join(root, "lib", "none"))
