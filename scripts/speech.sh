#!/usr/bin/env bash
# Synthesises demo and test audio without downloading anything: the first
# BYTES bytes (default 4000) of the bundled English corpus (scripts/corpus.sh,
# Debian's fortunes) spoken by espeak-ng (installed by scripts/setup.sh) into
# a 16-bit mono WAV file at 22050 Hz. Usage: scripts/speech.sh OUTPUT.wav
# [BYTES]
set -euo pipefail
out=${1:?usage: scripts/speech.sh OUTPUT.wav [BYTES]}
bytes=${2:-4000}
if ! command -v espeak-ng >/dev/null; then
  echo "speech: espeak-ng is missing; run scripts/setup.sh" >&2
  exit 1
fi
dir=$(dirname "$0")
tmp="$out.tmp.$$"
"$dir/corpus.sh" "$tmp.txt" >/dev/null
head -c "$bytes" "$tmp.txt" > "$tmp.head.txt"
espeak-ng -w "$tmp" -f "$tmp.head.txt"
rm -f "$tmp.txt" "$tmp.head.txt"
mv "$tmp" "$out"
echo "speech: $(stat -c %s "$out") bytes of WAV in $out"
