#!/bin/sh
# run_fuzzers.sh - build the fuzz build and run every libFuzzer target for
# SECONDS each (default 60) on its seed corpus in tests/fuzz/corpus/<name>.
# Fails when any target crashes, leaks, times out, exceeds the RSS limit or
# prints a sanitizer report; prints executions and exec/s per target.
#
#   tests/fuzz/run_fuzzers.sh [SECONDS]
#
# Environment:
#   BUILD_DIR     fuzz build directory (default build-fuzz), configured with
#                 CC=clang -DBECK_FUZZ=ON -DBECK_SANITIZE=ON if needed
#   FUZZERS       space-separated target names to run (default: every
#                 tests/fuzz/fuzz_*.c the build knows)
#   PARALLEL      targets run at once (default 1)
#   RSS_LIMIT_MB  libFuzzer -rss_limit_mb (default 2048)
#   FUZZ_WORK     scratch directory for new inputs, logs and crash artifacts
#                 (default: a new directory under ${TMPDIR:-/tmp}; kept on failure)
#   BECK_FIGURES  a file the per-target figures are appended to
#
# New inputs found go to the scratch directory, not to the corpus in the
# tree; copy interesting ones (and every crash once fixed) into
# tests/fuzz/corpus/<name>/ by hand. Reproduce a crash with
#   $BUILD_DIR/bin/fuzz_<name> <artifact>
set -eu

SECONDS_EACH=${1:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build-fuzz}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
PARALLEL=${PARALLEL:-1}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-2048}
WORK=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/beck-fuzz.XXXXXX")}
mkdir -p "$WORK"

case $SECONDS_EACH in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
command -v clang >/dev/null || { echo "run_fuzzers: clang is not installed (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
# Debian's clang only recommends its runtimes (libFuzzer, ASan, UBSan): an
# install with --no-install-recommends lacks them and every link fails
rt=$(clang -print-file-name="libclang_rt.fuzzer-$(uname -m).a")
[ -f "$rt" ] || { echo "run_fuzzers: clang's libFuzzer runtime is missing (apt-get install libclang-rt-14-dev)" >&2; exit 2; }

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  CC=clang cmake -S "$ROOT" -B "$BUILD_DIR" -DBECK_FUZZ=ON -DBECK_SANITIZE=ON -DBECK_BENCH=OFF >"$WORK/configure.log" 2>&1 ||
    { cat "$WORK/configure.log" >&2; echo "run_fuzzers: configure failed" >&2; exit 2; }
else
  cmake "$BUILD_DIR" >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log" >&2; exit 2; }
fi
grep -q '^BECK_FUZZ:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" ||
  { echo "run_fuzzers: $BUILD_DIR is not a fuzz build (BECK_FUZZ=OFF)" >&2; exit 2; }

# every fuzz_*.c in the tree that the build registers
known=$(cmake --build "$BUILD_DIR" --target help 2>/dev/null | sed -n 's/^\.\.\. \(fuzz_[a-z0-9_]*\).*/\1/p')
if [ -z "${FUZZERS:-}" ]; then
  FUZZERS=
  for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    if echo "$known" | grep -qx "$t"; then
      FUZZERS="$FUZZERS $t"
    else
      echo "run_fuzzers: warning: $t.c is not registered in CMake; skipped" >&2
    fi
  done
fi
[ -n "$FUZZERS" ] || { echo "run_fuzzers: no fuzz targets" >&2; exit 2; }

echo "run_fuzzers: building $(echo $FUZZERS)"
# shellcheck disable=SC2086
cmake --build "$BUILD_DIR" -j"$(nproc)" --target $FUZZERS >"$WORK/build.log" 2>&1 ||
  { tail -50 "$WORK/build.log" >&2; echo "run_fuzzers: build failed (log: $WORK/build.log)" >&2; exit 2; }

# UBSan findings must stop the run; leaks are reported by LeakSanitizer at exit of each input's process
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_one() {
  t=$1
  corpus=$ROOT/tests/fuzz/corpus/${t#fuzz_}
  mkdir -p "$WORK/$t.new"
  if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
    echo "$t: FAIL no seed corpus in tests/fuzz/corpus/${t#fuzz_}" >"$WORK/$t.result"
    return
  fi
  rc=0
  t0=$(date +%s)
  "$BUILD_DIR/bin/$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb="$RSS_LIMIT_MB" -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$WORK/$t-" "$WORK/$t.new" "$corpus" >"$WORK/$t.log" 2>&1 || rc=$?
  took=$(($(date +%s) - t0))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t.log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$WORK/$t.log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$WORK/$t.log" | tail -1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$WORK/$t.log" | tail -1)
  nseeds=$(ls "$corpus" | wc -l)
  verdict=ok
  if [ "$rc" -ne 0 ] || grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$WORK/$t.log"; then
    verdict="FAIL (exit $rc; log $WORK/$t.log; artifacts $WORK/$t-*)"
  fi
  printf '%s: %s executions in %ss (%s exec/s), %s seeds, %s new inputs, peak RSS %s MB: %s\n' \
    "$t" "${runs:-?}" "$took" "${eps:-?}" "$nseeds" "${added:-?}" "${rss:-?}" "$verdict" >"$WORK/$t.result"
}

echo "run_fuzzers: $SECONDS_EACH s per target, $PARALLEL at a time, scratch in $WORK"
running=0
for t in $FUZZERS; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$PARALLEL" ]; then
    wait
    running=0
  fi
done
wait

failed=0
for t in $FUZZERS; do
  cat "$WORK/$t.result"
  if ! grep -q ': ok$' "$WORK/$t.result"; then
    failed=1
    grep -E 'ERROR:|runtime error:|SUMMARY:|^    #[0-9] ' "$WORK/$t.log" 2>/dev/null | head -20 | sed 's/^/    /'
  fi
  if [ -n "${BECK_FIGURES:-}" ]; then cat "$WORK/$t.result" >>"$BECK_FIGURES"; fi
done
if [ "$failed" -ne 0 ]; then
  echo "run_fuzzers: FAILED (scratch kept in $WORK)" >&2
  exit 1
fi
[ -n "${FUZZ_WORK:-}" ] || rm -rf "$WORK"
echo "run_fuzzers: all targets clean"
