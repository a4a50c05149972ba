#!/usr/bin/env bash
# Packs a kernel library that scripts/gpu-kernels.sh wrote into one .tar.xz
# for the GPU machine (what a device call carries is at most 64 MiB; a whole
# library is about 32 MiB of PTX or 19 MiB of cubins, about 1.7 MiB packed):
#
#   scripts/gpu-pack.sh LIB_DIR ARCHIVE.tar.xz
#
# The archive holds LIB_DIR's manifest.json and the module files it names
# (the cubins of ST_GPU_CUBIN=1, else the PTX), under LIB_DIR's own name;
# scripts/gpu-run.sh ARCHIVE.tar.xz unpacks it into $OUT/kernels/.
set -euo pipefail
if [ $# -ne 2 ] || [[ "$2" != *.tar.xz ]]; then
  echo "usage: scripts/gpu-pack.sh LIB_DIR ARCHIVE.tar.xz" >&2
  exit 2
fi
lib=${1%/}
archive=$2
manifest="$lib/manifest.json"
if [ ! -f "$manifest" ]; then
  echo "gpu-pack: $manifest: no such file (build the library with scripts/gpu-kernels.sh)" >&2
  exit 1
fi
name=$(basename "$lib")
mapfile -t modules < <(python3 -c '
import json, sys
seen = []
for e in json.load(open(sys.argv[1]))["entries"]:
    m = e["module"]
    if m not in seen:
        seen.append(m)
print("\n".join(seen))' "$manifest")
files=(manifest.json)
for m in "${modules[@]}"; do
  if [ ! -f "$lib/$m" ]; then
    echo "gpu-pack: $lib/$m: no such file (named by $manifest)" >&2
    exit 1
  fi
  files+=("$m")
done
tar -C "$(dirname "$lib")" -cJf "$archive" "${files[@]/#/$name/}"
echo "gpu-pack: $archive: ${#modules[@]} modules of $lib, $(du -h "$archive" | cut -f1)"
