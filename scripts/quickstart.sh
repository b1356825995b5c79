#!/usr/bin/env bash
# The README's main command: installs dependencies, builds, and runs the
# quickstart pipeline (pipelines/quickstart.yaml) on an embedded log, no
# server needed: generated shop orders, counted and summed per status for
# each minute of event time, printed as each minute closes. It ends by
# itself after about ten seconds. Each invocation starts from a fresh data
# directory (data/quickstart) so that it always shows the whole run; `beck
# run` itself resumes where the previous run stopped. Extra arguments go to
# `beck run` (e.g. --listen 127.0.0.1:9092 --stop-when-idle 0).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
rm -rf data/quickstart
exec ./build/bin/beck run pipelines/quickstart.yaml --data-dir data/quickstart "$@"
