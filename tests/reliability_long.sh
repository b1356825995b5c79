#!/bin/sh
# reliability_long.sh - the long reliability runs of issue 8 (not in CI):
#
#   1. the broker kill -9 loop for 200 cycles   (tests/crash/broker_kill_loop.py)
#   2. every fuzz target for an hour            (tests/fuzz/run_fuzzers.sh 3600)
#   3. a 30-minute soak: producers, a consumer group and a YAML pipeline (beck run) at a fixed rate,
#      reporting broker RSS drift and throughput / ack latency drift
#                                               (tests/integration/test_soak.py)
#   4. the hostile-client rounds with many more rounds (RSS flat)
#   5. a YAML pipeline (beck run) killed 100 times, each guarantee
#                                               (tests/integration/test_pipeline_kill.py)
#
#   tests/reliability_long.sh [all|kill|fuzz|soak|hostile|pipeline]...
#
# Environment (defaults in brackets): BECK_BIN [build/bin/beck],
# KILL_CYCLES [200], FUZZ_SECONDS [3600], PARALLEL [1] fuzzers at a time,
# SOAK_SECONDS [1800], SOAK_RATE [20000], HOSTILE_ROUNDS [200],
# PIPELINE_CYCLES [100].
# Figures are appended to $BECK_FIGURES [reliability-figures.txt in the
# current directory]; copy them into docs/reliability.md.
# Needs: a built tree (cmake --build build), clang for the fuzz build, root
# for nothing here (the disk-full test is in CI: ctest -L reliability).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3 # Debian's: it sees python3-confluent-kafka and kafka-python
export BECK_BIN=${BECK_BIN:-$ROOT/build/bin/beck}
export BECK_FIGURES=${BECK_FIGURES:-$PWD/reliability-figures.txt}
export PYTHONDONTWRITEBYTECODE=1
[ -x "$BECK_BIN" ] || { echo "reliability_long: no broker at $BECK_BIN (build first)" >&2; exit 2; }

what=${*:-all}
failed=""
step() {
  name=$1
  shift
  echo "==== $name: $* ($(date -u +%H:%M:%S))"
  start=$(date +%s)
  if "$@"; then
    echo "==== $name: ok in $(($(date +%s) - start)) s"
  else
    echo "==== $name: FAILED after $(($(date +%s) - start)) s"
    failed="$failed $name"
  fi
}

for w in $what; do
  case $w in
  all | kill) step kill-loop "$PY" "$ROOT/tests/crash/broker_kill_loop.py" --cycles "${KILL_CYCLES:-200}" ;;
  esac
  case $w in
  all | fuzz) step fuzz env PARALLEL="${PARALLEL:-1}" "$ROOT/tests/fuzz/run_fuzzers.sh" "${FUZZ_SECONDS:-3600}" ;;
  esac
  case $w in
  all | soak) step soak env BECK_SOAK_SECONDS="${SOAK_SECONDS:-1800}" BECK_SOAK_RATE="${SOAK_RATE:-20000}" \
    "$PY" "$ROOT/tests/integration/test_soak.py" ;;
  esac
  case $w in
  all | hostile) step hostile env BECK_HOSTILE_ROUNDS="${HOSTILE_ROUNDS:-200}" \
    "$PY" "$ROOT/tests/integration/test_robustness.py" HostileClientsMemoryTest ;;
  esac
  case $w in
  all | pipeline) step pipeline-kill "$PY" "$ROOT/tests/integration/test_pipeline_kill.py" \
    --cycles "${PIPELINE_CYCLES:-100}" ;;
  esac
  case $w in
  all | kill | fuzz | soak | hostile | pipeline) ;;
  *) echo "reliability_long: unknown run '$w' (all, kill, fuzz, soak, hostile, pipeline)" >&2; exit 2 ;;
  esac
done

echo "figures in $BECK_FIGURES:"
cat "$BECK_FIGURES" 2>/dev/null || true
if [ -n "$failed" ]; then
  echo "reliability_long: FAILED:$failed" >&2
  exit 1
fi
echo "reliability_long: all passed"
