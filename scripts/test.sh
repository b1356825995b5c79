#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, runs every test.
# Ends with CTest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
ctest --test-dir "${BECK_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
