#!/usr/bin/env bash
# Sets up, builds and runs every test: lit + FileCheck tests and the
# GoogleTest binaries, in one lit invocation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh all
BUILD_DIR=${ST_BUILD_DIR:-build}
/usr/lib/llvm-22/bin/lit -sv "$BUILD_DIR/test" "$BUILD_DIR/test/Unit"
