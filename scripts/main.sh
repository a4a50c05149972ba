#!/usr/bin/env bash
# Sets up, builds and runs ST's main job on the CPU.
#
# Until training lands (issue 4) the main job shows the compiler end to end:
# the layout statistics of the paper's attention layers, then the tiny text
# model compiled for this CPU and evaluated (bits per byte at its random
# initialisation) on the bundled corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh st-opt st-run
BUILD_DIR=${ST_BUILD_DIR:-build}
scripts/corpus.sh "$BUILD_DIR/data/fortunes.txt"
"$BUILD_DIR/bin/st-opt" models/attention-layouts.mlir --st-layout-stats -o /dev/null
"$BUILD_DIR/bin/st-run" models/tiny-text.mlir eval \
  --data "$BUILD_DIR/data/fortunes.txt" --batch 8 --max-sequences 32
