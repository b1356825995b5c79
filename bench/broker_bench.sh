#!/usr/bin/env bash
# broker_bench.sh - Beck's broker against its peers: the same workload, in
# the same run, on the same machine, all on loopback.
#
#   systems   Beck (fsync.policy=interval: page-cache class; =always: fsync
#             class), NATS JetStream (nats-server -js, file store), Redis
#             Streams (AOF on, appendfsync everysec / always), and the
#             librdkafka producer against librdkafka's in-process mock
#             cluster (the client's ceiling); plus raw dd writes (the disk's).
#   workloads one producer then one consumer, 100 B and 1 KiB records;
#             end-to-end latency at 50k records/s; broker CPU seconds and
#             peak RSS; Beck alone: 1/100/1,000 partitions, a multi-GB topic
#             against an empty one, start-up and RSS with 10,000 partitions.
#
# The load generators are bench/{kafka,redis,nats}_load.c (built here);
# bench/broker_bench_report.py turns the results into the table (or JSON)
# with ratios and marks each goal MET or MISSED. docs/broker-benchmark.md
# says how each peer is configured and what a run measured.
#
# Usage: bench/broker_bench.sh [--quick | --full] [--output table|json]
#          [--dir DIR] [--wait-quiet SECONDS] [--no-install] [--no-build]
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BECK_BUILD_DIR:-$REPO/build}
SCALE=default
OUTPUT=table
BASEDIR=${TMPDIR:-/tmp}
INSTALL=1
DO_BUILD=1
WAIT_QUIET=0

usage() {
  cat <<EOF
Usage: bench/broker_bench.sh [options]

Runs Beck's broker and its peers (NATS JetStream, Redis Streams, librdkafka's
mock cluster) on loopback with the same workloads and prints one table with
absolute figures, ratios and the goals MET/MISSED.

Options:
  --quick             ~2 minutes: fewer records, one repetition, 1 GB topic,
                      2,000 partitions instead of 10,000 (those goals: n/a)
  --full              longer runs: more records, 7 repetitions, 10 GB topic
  --output table|json the table (default) or one JSON document on stdout
  --dir DIR           where data directories go (default \$TMPDIR or /tmp)
  --wait-quiet S      wait up to S seconds for a quiet machine (under 0.4
                      CPUs busy over 10 s, load average under 1.5) before
                      starting (default: don't wait)
  --no-install        do not apt-get install missing peers
  --no-build          use the binaries already in \$BECK_BUILD_DIR (default build/)
  -h, --help          this text

Progress goes to stderr. Needs root (or sudo) only to install packages.
EOF
}

die() {
  echo "broker_bench: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) SCALE=quick ;;
    --full) SCALE=full ;;
    --output) OUTPUT=${2:?--output needs table or json}; shift ;;
    --output=*) OUTPUT=${1#--output=} ;;
    --dir) BASEDIR=${2:?--dir needs a directory}; shift ;;
    --dir=*) BASEDIR=${1#--dir=} ;;
    --wait-quiet) WAIT_QUIET=${2:?--wait-quiet needs seconds}; shift ;;
    --no-install) INSTALL=0 ;;
    --no-build) DO_BUILD=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
  shift
done
case "$OUTPUT" in table | json) ;; *) die "--output is table or json, not '$OUTPUT'" ;; esac

# ---- scale: records per throughput run, repetitions, seconds, sizes ----
case "$SCALE" in
  quick) N100=300000 N1K=60000 REPS=1 LAT_SECS=3 LAT_REPS=1 CAP_SECS=10 PART_N=200000 BIG_GB=1 TENK=2000 ;;
  default) N100=2000000 N1K=400000 REPS=5 LAT_SECS=10 LAT_REPS=3 CAP_SECS=20 PART_N=1000000 BIG_GB=3 TENK=10000 ;;
  full) N100=5000000 N1K=1000000 REPS=7 LAT_SECS=30 LAT_REPS=5 CAP_SECS=60 PART_N=2000000 BIG_GB=10 TENK=10000 ;;
esac
LAT_RATE=50000
BIG_REPS=$((REPS < 6 ? 6 : REPS)) # short runs, and the goal is a 10% band: more of them

T_START=$(date +%s)
log() { printf '[%4ds] %s\n' "$(($(date +%s) - T_START))" "$*" >&2; }
now_ms() { date +%s%3N; }

# ---- peers from Debian, installed only when missing ----
PEER_PKGS=(nats-server redis-server redis-tools libhiredis-dev libnats-dev)
install_peers() {
  local missing=() p
  for p in "${PEER_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$INSTALL" -eq 0 ]; then
    log "missing ${missing[*]} (--no-install): those peers are skipped"
    return 0
  fi
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  # policy-rc.d may refuse to start the packaged services; we start our own
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}
install_peers

if [ "$DO_BUILD" -eq 1 ]; then
  log "building beck and the load generators in $BUILD"
  [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  cmake -S "$REPO" -B "$BUILD" >/dev/null
  cmake --build "$BUILD" -j2 --target beck beck-bench-kafka beck-bench-disk >&2
  cmake --build "$BUILD" -j2 --target beck-bench-redis >&2 2>/dev/null || log "beck-bench-redis not built (no hiredis)"
  cmake --build "$BUILD" -j2 --target beck-bench-nats >&2 2>/dev/null || log "beck-bench-nats not built (no libnats)"
fi
BIN=$BUILD/bin
for b in beck beck-bench-kafka beck-bench-disk; do
  [ -x "$BIN/$b" ] || die "no $BIN/$b (build first, or drop --no-build)"
done
HAVE_REDIS=0 HAVE_NATS=0
[ -x "$BIN/beck-bench-redis" ] && command -v redis-server >/dev/null && command -v redis-cli >/dev/null && HAVE_REDIS=1
[ -x "$BIN/beck-bench-nats" ] && command -v nats-server >/dev/null && HAVE_NATS=1

# ---- the run's scratch space; every server we start is stopped on exit ----
mkdir -p "$BASEDIR"
WORK=$(mktemp -d "$BASEDIR/beck-broker-bench.XXXXXX")
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
SRV_PID=""
declare -A PIDS=() PORTS=() # the peers' servers, by system-class name
cleanup() {
  local p
  for p in "$SRV_PID" "${PIDS[@]}"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load1() { cut -d' ' -f1 /proc/loadavg; }
busy_jiffies() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# busy_cpus SECONDS: how many CPUs' worth the machine was busy (we run nothing meanwhile)
busy_cpus() {
  local j0 j1
  j0=$(busy_jiffies)
  sleep "$1"
  j1=$(busy_jiffies)
  awk -v a="$j0" -v b="$j1" -v s="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b - a) / hz / s}'
}
if [ "$WAIT_QUIET" -gt 0 ]; then
  deadline=$(($(date +%s) + WAIT_QUIET))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    b=$(busy_cpus 10)
    awk -v b="$b" 'BEGIN{exit !(b < 0.4)}' && awk -v l="$(load1)" 'BEGIN{exit !(l < 1.5)}' && break
    log "machine busy ($b CPUs over 10 s, load average $(load1)): waiting for a quiet one"
  done
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
proc_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; } # proc_kb PID VmRSS
proc_cpu() { # CPU seconds (utime + stime, all threads)
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# emit SECTION SYSTEM CLASS SIZE PARTITIONS REP JSON: one result line
emit() {
  printf '{"section": "%s", "system": "%s", "class": "%s", "size": %s, "partitions": %s, "rep": %s, "data": %s}\n' \
    "$1" "$2" "$3" "$4" "$5" "$6" "$7" >>"$RESULTS"
}

# run_tool VAR CMD...: VAR = the tool's JSON, or {"error": ...} when it fails
run_tool() {
  local __var=$1 __out __err=$WORK/tool.err __rc=0
  shift
  __out=$("$@" 2>"$__err") || __rc=$?
  if [ $__rc -ne 0 ] || [ -z "$__out" ]; then
    log "FAILED ($__rc): $* :: $(tail -n 3 "$__err" | tr '\n' ' ')"
    __out=$(python3 -c 'import json,sys; print(json.dumps({"error": sys.argv[1]}))' "$(tail -n 3 "$__err" | tr '\n' ' ')")
  fi
  printf -v "$__var" '%s' "$__out"
}

# wait_line FILE PATTERN SECONDS
wait_line() {
  local i n=$(($3 * 200))
  for ((i = 0; i < n; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$SRV_PID" 2>/dev/null || return 1
    sleep 0.005
  done
  return 1
}

# ---- servers: SRV_PID, SRV_PORT, SRV_READY_MS ----
start_beck() { # start_beck DIR
  mkdir -p "$1"
  SRV_PORT=$(free_port)
  : >"$1/stdout"
  local t0
  t0=$(now_ms)
  "$BIN/beck" broker --data-dir "$1/data" --listen "127.0.0.1:$SRV_PORT" >"$1/stdout" 2>>"$1/stderr" &
  SRV_PID=$!
  wait_line "$1/stdout" 'beck broker ready' 120 || die "beck did not start: $(tail -n 5 "$1/stderr")"
  SRV_READY_MS=$(($(now_ms) - t0))
}

start_redis() { # start_redis DIR everysec|always
  mkdir -p "$1"
  SRV_PORT=$(free_port)
  redis-server --port "$SRV_PORT" --bind 127.0.0.1 --protected-mode no --daemonize no --dir "$1" \
    --logfile "$1/redis.log" --appendonly yes --appendfsync "$2" --save '' --auto-aof-rewrite-percentage 0 &
  SRV_PID=$!
  local i t0
  t0=$(now_ms)
  for ((i = 0; i < 2000; i++)); do
    [ "$(redis-cli -p "$SRV_PORT" ping 2>/dev/null)" = PONG ] && break
    sleep 0.01
  done
  [ "$(redis-cli -p "$SRV_PORT" ping 2>/dev/null)" = PONG ] || die "redis-server did not start"
  SRV_READY_MS=$(($(now_ms) - t0))
}

start_nats() { # start_nats DIR
  mkdir -p "$1"
  SRV_PORT=$(free_port)
  : >"$1/nats.log"
  local t0
  t0=$(now_ms)
  nats-server -js -sd "$1/js" -a 127.0.0.1 -p "$SRV_PORT" -l "$1/nats.log" &
  SRV_PID=$!
  wait_line "$1/nats.log" 'Server is ready' 60 || die "nats-server did not start: $(tail -n 5 "$1/nats.log")"
  SRV_READY_MS=$(($(now_ms) - t0))
}

stop_server() { # sets SRV_STOP_MS
  local t0
  t0=$(now_ms)
  kill -TERM "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || true
  SRV_STOP_MS=$(($(now_ms) - t0))
  SRV_PID=""
}

# idle_cpu SECONDS: the server's CPU share while nobody talks to it
idle_cpu() {
  local c0 c1
  c0=$(proc_cpu "$SRV_PID")
  sleep "$1"
  c1=$(proc_cpu "$SRV_PID")
  awk -v a="$c0" -v b="$c1" -v s="$1" 'BEGIN{printf "%.4f", (b - a) / s}'
}

# idle RSS and CPU in the two seconds after start, before any topic exists
emit_idle() { # emit_idle SYSTEM CLASS
  local cpu
  cpu=$(idle_cpu 2)
  emit idle "$1" "$2" 0 0 0 "{\"rss_kb\": $(proc_kb "$SRV_PID" VmRSS), \"ready_ms\": $SRV_READY_MS, \"idle_cpu\": $cpu}"
}

SEQ=0
next_topic() { SEQ=$((SEQ + 1)); T="$1$SEQ"; } # sets T: a name not used before in this run

size_count() { [ "$1" = 100 ] && echo "$N100" || echo "$N1K"; }

# ---- meta ----
emit meta host - 0 0 0 "$(python3 - "$SCALE" "$(load1)" "$REPO" <<'EOF'
import json, os, platform, subprocess, sys
def sh(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
print(json.dumps({
    "scale": sys.argv[1], "load1_start": float(sys.argv[2]), "cpus": os.cpu_count(), "cpu_model": cpu,
    "mem_gib": round(mem / 1048576, 1), "kernel": platform.release(),
    "date": sh("date", "-u", "+%Y-%m-%dT%H:%M:%SZ"),
    "beck_commit": sh("git", "-C", sys.argv[3], "rev-parse", "--short", "HEAD"),
    "beck_dirty": bool(sh("git", "-C", sys.argv[3], "status", "--porcelain", "--untracked-files=no")),
    "librdkafka": sh("pkg-config", "--modversion", "rdkafka"),
    "nats_server": sh("nats-server", "--version"), "redis_server": sh("redis-server", "--version"),
}))
EOF
)"
log "scale $SCALE: $N100 x 100 B and $N1K x 1 KiB records per run, $REPS repetition(s), latency $LAT_SECS s at $LAT_RATE/s; data in $WORK"

# ---- raw disk: the physical limit for the same bytes (run with the others) ----
raw_write() { # raw_write CLASS MB SIZE REP [dd flags...]
  local cls=$1 mb=$2 size=$3 r=$4 t0 t1
  shift 4
  rm -f "$WORK/raw.bin"
  t0=$(now_ms)
  dd if=/dev/zero of="$WORK/raw.bin" bs=1M count="$mb" "$@" status=none
  t1=$(now_ms)
  rm -f "$WORK/raw.bin"
  emit raw raw "$cls" "$size" 1 "$r" "{\"bytes\": $((mb * 1048576)), \"seconds\": $(awk -v d=$((t1 - t0)) 'BEGIN{printf "%.3f", d / 1000}')}"
}

# ---- Beck and its peers side by side: every server up at once, and each
# repetition runs every system back to back (in a rotating order), so that
# whatever else the machine does hits them alike. One Beck broker serves
# both classes (fsync.policy is a topic config); Redis needs one server per
# appendfsync setting. The mock lives inside the load generator.
SYSTEMS=(raw mock beck/page-cache beck/fsync)
start_beck "$WORK/beck"
PIDS[beck]=$SRV_PID PORTS[beck]=$SRV_PORT
emit_idle beck -
if [ "$HAVE_NATS" -eq 1 ]; then
  start_nats "$WORK/nats"
  PIDS[nats/page-cache]=$SRV_PID PORTS[nats/page-cache]=$SRV_PORT
  emit_idle nats page-cache
  SYSTEMS+=(nats/page-cache)
else
  log "NATS JetStream skipped (nats-server or beck-bench-nats missing)"
fi
if [ "$HAVE_REDIS" -eq 1 ]; then
  start_redis "$WORK/redis-everysec" everysec
  PIDS[redis/page-cache]=$SRV_PID PORTS[redis/page-cache]=$SRV_PORT
  emit_idle redis page-cache
  start_redis "$WORK/redis-always" always
  PIDS[redis/fsync]=$SRV_PID PORTS[redis/fsync]=$SRV_PORT
  emit_idle redis fsync
  SYSTEMS+=(redis/page-cache redis/fsync)
else
  log "Redis skipped (redis-server or beck-bench-redis missing)"
fi
SRV_PID=""

# run_one MODE SYSTEM/CLASS SIZE REP: one pc or latency run, recorded
run_one() {
  local mode=$1 sc=$2 size=$3 r=$4 sys cls server tool
  sys=${sc%%/*} cls=${sc#*/}
  [ "$sys" = "$sc" ] && cls=-
  case "$sys" in
    raw)
      if [ "$mode" = latency ]; then # the floor for the fsync class: group commit on the bare file
        run_tool out "$BIN/beck-bench-disk" latency --topic "$WORK/raw.lat" --size 100 --rate "$LAT_RATE" \
          --seconds "$LAT_SECS" --warmup 1
        emit latency raw fsync 100 1 "$r" "$out"
        return 0
      fi
      local mb=$(($(size_count "$size") * size / 1048576))
      raw_write page-cache "$mb" "$size" "$r"
      raw_write fsync $((mb < 200 ? mb : 200)) "$size" "$r" oflag=dsync
      return 0
      ;;
    mock)
      [ "$mode" = latency ] && return 0 # the mock answers a Fetch only when fetch.wait.max.ms ends
      next_topic m
      run_tool out "$BIN/beck-bench-kafka" pc --mock --topic "$T" --size "$size" --count "$(size_count "$size")" \
        --seconds "$CAP_SECS"
      emit throughput mock - "$size" 1 "$r" "$out"
      return 0
      ;;
    beck) server=beck tool=beck-bench-kafka ;;
    *) server=$sc tool=beck-bench-$sys ;;
  esac
  next_topic "${mode:0:1}"
  if [ "$sys" = beck ]; then
    local policy=interval
    [ "$cls" = fsync ] && policy=always
    run_tool out "$BIN/beck-bench-kafka" create --server "127.0.0.1:${PORTS[$server]}" --topic "$T" \
      --config "fsync.policy=$policy"
  fi
  if [ "$mode" = pc ]; then
    run_tool out "$BIN/$tool" pc --server "127.0.0.1:${PORTS[$server]}" --pid "${PIDS[$server]}" --topic "$T" \
      --size "$size" --count "$(size_count "$size")" --seconds "$CAP_SECS"
    emit throughput "$sys" "$cls" "$size" 1 "$r" "$out"
  else
    run_tool out "$BIN/$tool" latency --server "127.0.0.1:${PORTS[$server]}" --pid "${PIDS[$server]}" --topic "$T" \
      --size 100 --rate "$LAT_RATE" --seconds "$LAT_SECS" --warmup 1
    emit latency "$sys" "$cls" 100 1 "$r" "$out"
  fi
}

n=${#SYSTEMS[@]}
for size in 100 1024; do
  for ((r = 1; r <= REPS; r++)); do
    log "produce then consume $(size_count $size) x $size B, repetition $r/$REPS: ${SYSTEMS[*]}"
    sync # every repetition starts with no dirty pages left by the one before
    for ((i = 0; i < n; i++)); do
      run_one pc "${SYSTEMS[$(((i + r) % n))]}" "$size" "$r"
    done
  done
done
for ((r = 1; r <= LAT_REPS; r++)); do
  log "end-to-end latency, 100 B at $LAT_RATE/s for $LAT_SECS s, repetition $r/$LAT_REPS: ${SYSTEMS[*]}"
  for ((i = 0; i < n; i++)); do
    sync # no dirty pages of earlier runs for this run's fsyncs to wait behind (ext4 commits them together)
    run_one latency "${SYSTEMS[$(((i + r) % n))]}" 100 "$r"
  done
done
# CPU over each server's life and its peak RSS, then stop them
for server in "${!PIDS[@]}"; do
  sys=${server%%/*} cls=${server#*/}
  [ "$sys" = "$server" ] && cls=-
  emit life "$sys" "$cls" 0 0 0 "{\"hwm_kb\": $(proc_kb "${PIDS[$server]}" VmHWM), \"cpu_s\": $(proc_cpu "${PIDS[$server]}")}"
  SRV_PID=${PIDS[$server]}
  stop_server
  unset "PIDS[$server]"
done
rm -rf "$WORK/beck" "$WORK/nats" "$WORK/redis-everysec" "$WORK/redis-always"

# ---- Beck: 1, 100 and 1,000 partitions (records round-robin over them) ----
for cls in page-cache fsync; do
  policy=interval
  [ "$cls" = fsync ] && policy=always
  start_beck "$WORK/beck-parts-$cls"
  for parts in 1 100 1000; do
    next_topic p
    run_tool out "$BIN/beck-bench-kafka" create --server "127.0.0.1:$SRV_PORT" --topic "$T" --partitions "$parts" --config "fsync.policy=$policy"
    log "beck $cls: $parts partition(s), produce then consume $PART_N x 100 B"
    run_tool out "$BIN/beck-bench-kafka" pc --server "127.0.0.1:$SRV_PORT" --pid "$SRV_PID" --topic "$T" --size 100 \
      --count "$PART_N" --partitions "$parts" --seconds "$CAP_SECS"
    emit partitions beck "$cls" 100 "$parts" 1 "$out"
  done
  stop_server
  rm -rf "$WORK/beck-parts-$cls"
done

# ---- Beck: a topic holding several GB against an empty one ----
# Fill one topic first; then take turns, each repetition on a new empty topic
# and on the full one (alternating which goes first), so that outside load
# and the disk's writeback of the fill hit both the same way.
start_beck "$WORK/beck-big"
run_tool out "$BIN/beck-bench-kafka" create --server "127.0.0.1:$SRV_PORT" --topic big --config fsync.policy=interval
fill=$((BIG_GB * 1000000000 / 1024))
log "beck page-cache: filling a topic with $BIG_GB GB ($fill x 1 KiB)"
run_tool out "$BIN/beck-bench-kafka" produce --server "127.0.0.1:$SRV_PORT" --pid "$SRV_PID" --topic big --size 1024 \
  --count "$fill" --seconds 3600
emit bigfill beck page-cache 1024 1 1 "$out"
emit bigsize beck page-cache 0 1 0 "{\"data_bytes\": $(du -sb "$WORK/beck-big/data" | cut -f1)}"
for ((r = 1; r <= BIG_REPS; r++)); do
  next_topic e
  run_tool out "$BIN/beck-bench-kafka" create --server "127.0.0.1:$SRV_PORT" --topic "$T" --config fsync.policy=interval
  order="empty full"
  ((r % 2 == 0)) && order="full empty" # alternate who goes first: no order bias
  for which in $order; do
    topic=$T label=empty
    [ "$which" = full ] && topic=big label="${BIG_GB}GB"
    log "beck page-cache: $label topic, produce then consume $N100 x 100 B ($r/$BIG_REPS)"
    run_tool out "$BIN/beck-bench-kafka" pc --server "127.0.0.1:$SRV_PORT" --pid "$SRV_PID" --topic "$topic" --size 100 \
      --count "$N100" --seconds "$CAP_SECS"
    emit bigtopic beck "$label" 100 1 "$r" "$out"
  done
done
stop_server
rm -rf "$WORK/beck-big"

# ---- Beck: start-up and RSS with many partitions ----
dir=$WORK/beck-many
start_beck "$dir"
log "beck: creating a topic with $TENK partitions"
run_tool out "$BIN/beck-bench-kafka" create --server "127.0.0.1:$SRV_PORT" --topic many --partitions "$TENK"
emit many beck create 0 "$TENK" 0 "$out"
log "beck: 10 records into each of the $TENK partitions"
run_tool out "$BIN/beck-bench-kafka" produce --server "127.0.0.1:$SRV_PORT" --pid "$SRV_PID" --topic many --size 100 \
  --count $((TENK * 10)) --partitions "$TENK" --seconds 600
emit many beck fill 100 "$TENK" 0 "$out"
rss_loaded=$(proc_kb "$SRV_PID" VmRSS)
stop_server
emit many beck stop 0 "$TENK" 0 "{\"stop_ms\": $SRV_STOP_MS, \"rss_kb_before\": $rss_loaded}"
log "beck: restart over $TENK partitions (clean shutdown before)"
start_beck "$dir"
emit many beck clean-start 0 "$TENK" 0 "{\"ready_ms\": $SRV_READY_MS, \"rss_kb\": $(proc_kb "$SRV_PID" VmRSS)}"
emit many beck idle 0 "$TENK" 0 "{\"idle_cpu\": $(idle_cpu 5)}"
run_tool out "$BIN/beck-bench-kafka" produce --server "127.0.0.1:$SRV_PORT" --pid "$SRV_PID" --topic many --size 100 \
  --count "$TENK" --partitions "$TENK" --seconds 600
emit many beck serve 100 "$TENK" 0 "$out"
emit many beck serving-rss 0 "$TENK" 0 "{\"rss_kb\": $(proc_kb "$SRV_PID" VmRSS), \"hwm_kb\": $(proc_kb "$SRV_PID" VmHWM)}"
log "beck: kill -9, then restart over $TENK partitions (recovery)"
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=""
start_beck "$dir"
emit many beck recovery-start 0 "$TENK" 0 "{\"ready_ms\": $SRV_READY_MS, \"rss_kb\": $(proc_kb "$SRV_PID" VmRSS)}"
stop_server
rm -rf "$dir"

emit meta end - 0 0 0 "{\"load1_end\": $(load1), \"seconds\": $(($(date +%s) - T_START))}"
log "done in $(($(date +%s) - T_START)) s"
cp "$RESULTS" "$BASEDIR/beck-broker-bench-last.jsonl" 2>/dev/null || true
python3 "$REPO/bench/broker_bench_report.py" --output "$OUTPUT" "$RESULTS"
