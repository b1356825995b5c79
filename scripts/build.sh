#!/usr/bin/env bash
# Configures and builds Beck into build/ (binary: build/bin/beck).
# Extra arguments go to cmake's configure step (e.g. -DBECK_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BECK_BUILD_DIR:-build}"
werror=OFF
if [ "${CI:-}" = "true" ]; then werror=ON; fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBECK_WERROR="$werror" "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
