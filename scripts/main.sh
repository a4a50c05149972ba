#!/usr/bin/env bash
# Sets up, builds and runs ST's main job.
#
# Until training lands this reports the work of the paper's attention
# layouts on the models in models/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh st-opt
BUILD_DIR=${ST_BUILD_DIR:-build}
"$BUILD_DIR/bin/st-opt" models/attention-layouts.mlir --st-layout-stats -o /dev/null
