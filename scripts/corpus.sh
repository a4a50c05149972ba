#!/usr/bin/env bash
# Builds the bundled English text corpus from Debian's `fortunes` package
# (installed by scripts/setup.sh): every fortune file, in name order, joined
# into one byte file. Usage: scripts/corpus.sh OUTPUT
set -euo pipefail
out=${1:?usage: scripts/corpus.sh OUTPUT}
src=/usr/share/games/fortunes
if [ ! -d "$src" ]; then
  echo "corpus: $src is missing; run scripts/setup.sh (package fortunes)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
# Plain files only: skip the .dat indexes and the .u8 symlinks.
find "$src" -maxdepth 1 -type f ! -name '*.dat' -printf '%f\n' | LC_ALL=C sort |
  while read -r f; do cat "$src/$f"; done > "$tmp"
mv "$tmp" "$out"
echo "corpus: $(wc -c < "$out") bytes in $out"
