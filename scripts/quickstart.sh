#!/usr/bin/env bash
# The README's main command: installs dependencies, builds, and runs Beck's
# main job. Until the pipeline runner exists that is the broker on a data
# directory under the working tree (data/quickstart), listening on
# 127.0.0.1:9092. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
exec ./build/bin/beck broker --data-dir data/quickstart "$@"
