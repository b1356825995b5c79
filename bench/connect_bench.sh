#!/usr/bin/env bash
# connect_bench.sh - the built-in connectors against the plain tools, on the
# same rows, in the same run, on the same machine:
#
#   postgres-sink (mode=copy)     rows/s from a topic into a table, exactly
#                                 once (offsets in the same transaction),
#                                 against `psql \copy` of the same rows into
#                                 the same server                 goal >= 0.7x
#   postgres-sink (mode=upsert)   the same into a fresh table with a primary
#                                 key, against the same `psql \copy` (into a
#                                 table without one)              goal >= 0.3x
#                                 and, like for like, against `psql \copy`
#                                 into the table with the primary key
#   sqlite-sink                   rows/s into a WAL sqlite3 file (synchronous
#                                 FULL, the default)              goal >= 600,000 rows/s
#   file-source                   lines/s from a file into a topic (durable)
#                                 against `cat FILE > /dev/null`  no goal
#
# Rows are small, 4 columns: {"id":i,"name":"user-N","amount":12.34,
# "ts":1704067200000+i} as JSON in the topic and as COPY text for psql. The
# sinks read a topic of an embedded log filled beforehand (untimed); a sink's
# time runs from starting the connector until its consumer group has
# committed the last offset, i.e. until every row is committed in the
# database. The worker runs with its defaults. PostgreSQL is started here as
# the `postgres` user (initdb refuses root) on a temporary directory and a
# free port, with its defaults (fsync on, synchronous_commit on). Each figure
# is the median of --repeat runs (default 3), every run into a fresh table;
# the rows are checked (counts, and the sink's rows equal psql's).
#
# Usage: bench/connect_bench.sh [--rows N] [--lines N] [--repeat R]
#          [--dir DIR] [--no-build]
# The helper is bench/connect_load.c (beck-bench-connect).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BECK_BUILD_DIR:-$REPO/build}
ROWS=1000000
LINES=2000000
REPEAT=3
BASEDIR=${TMPDIR:-/tmp}
DO_BUILD=1

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
  --rows) ROWS=$2; shift 2 ;;
  --lines) LINES=$2; shift 2 ;;
  --repeat) REPEAT=$2; shift 2 ;;
  --dir) BASEDIR=$2; shift 2 ;;
  --no-build) DO_BUILD=0; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "connect_bench.sh: unknown option '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done

if [ "$DO_BUILD" = 1 ]; then
  cmake --build "$BUILD" -j2 --target beck-bench-connect beck_connector_postgres beck_connector_sqlite \
    beck_connector_file > /dev/null
fi
HELPER=$BUILD/bin/beck-bench-connect
[ -x "$HELPER" ] || { echo "connect_bench.sh: $HELPER not built" >&2; exit 1; }

PGBIN=${BECK_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "connect_bench.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
PSQL=$PGBIN/psql

TMP=$(mktemp -d "$BASEDIR/beck-connect-bench-XXXXXX")
PGDIR=$TMP/pg
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  if [ -f "$PGDIR/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop > /dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# ---- PostgreSQL on a free port ----------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$PGDIR"
chmod 755 "$TMP" # the postgres user must reach $PGDIR
if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDIR"; fi
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 > "$PGDIR/initdb.log" 2>&1 ||
  { cat "$PGDIR/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
  -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1" start > /dev/null
CONN="host=127.0.0.1 port=$PORT user=postgres dbname=postgres"
sql() { PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }

# ---- the inputs -----------------------------------------------------------------------
echo "machine: $(nproc) cores, $(uname -r); load before: $(uptime | sed 's/.*load average: //')" >&2
LOG=$TMP/helper.log
# runs the helper with its log in $LOG, shown when it fails
helper() {
  if ! "$HELPER" "$@" 2>> "$LOG"; then
    echo "connect_bench.sh: beck-bench-connect $1 failed:" >&2
    tail -20 "$LOG" >&2
    exit 1
  fi
}
helper rows "$ROWS" "$TMP/rows.jsonl" "$TMP/rows.copy"
helper produce "$TMP/log" rows "$TMP/rows.jsonl"
if [ "$LINES" = "$ROWS" ]; then
  cp "$TMP/rows.jsonl" "$TMP/lines.txt"
else
  helper rows "$LINES" "$TMP/lines.txt" /dev/null
fi

now() { date +%s.%N; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

TABLE_COLS="id bigint, name text, amount double precision, ts bigint"

# ---- postgres: psql \copy, sink copy, sink upsert ----------------------------------------
copy_rates=() pkcopy_rates=() pgcopy_rates=() pgupsert_rates=()
for r in $(seq 1 "$REPEAT"); do
  sql -c "DROP TABLE IF EXISTS bench_psql; CREATE TABLE bench_psql ($TABLE_COLS)"
  t0=$(now)
  sql -c "\\copy bench_psql (id, name, amount, ts) from '$TMP/rows.copy'"
  t1=$(now)
  n=$(sql -c "SELECT count(*) FROM bench_psql")
  [ "$n" = "$ROWS" ] || { echo "psql \\copy loaded $n rows, not $ROWS" >&2; exit 1; }
  copy_rates+=("$(echo "$ROWS / ($t1 - $t0)" | bc -l)")

  sql -c "DROP TABLE IF EXISTS bench_psql_pk; CREATE TABLE bench_psql_pk ($TABLE_COLS, PRIMARY KEY (id))"
  t0=$(now)
  sql -c "\\copy bench_psql_pk (id, name, amount, ts) from '$TMP/rows.copy'"
  t1=$(now)
  pkcopy_rates+=("$(echo "$ROWS / ($t1 - $t0)" | bc -l)")

  sql -c "DROP TABLE IF EXISTS bench_sink; CREATE TABLE bench_sink ($TABLE_COLS)"
  out=$(helper sink "$TMP/log" rows name=pg-copy-$r connector=postgres-sink topics=rows \
    "connection=$CONN" table=bench_sink mode=copy)
  n=$(sql -c "SELECT count(*) FROM bench_sink")
  [ "$n" = "$ROWS" ] || { echo "postgres-sink (copy) wrote $n rows, not $ROWS" >&2; exit 1; }
  pgcopy_rates+=("$(echo "$out" | field per_sec)")

  sql -c "DROP TABLE IF EXISTS bench_upsert; CREATE TABLE bench_upsert ($TABLE_COLS, PRIMARY KEY (id))"
  out=$(helper sink "$TMP/log" rows name=pg-upsert-$r connector=postgres-sink topics=rows \
    "connection=$CONN" table=bench_upsert mode=upsert pk.fields=id)
  n=$(sql -c "SELECT count(*) FROM bench_upsert")
  [ "$n" = "$ROWS" ] || { echo "postgres-sink (upsert) wrote $n rows, not $ROWS" >&2; exit 1; }
  pgupsert_rates+=("$(echo "$out" | field per_sec)")
done
# the rows must be the same ones psql loaded
diff_rows=$(sql -c "SELECT count(*) FROM (SELECT * FROM bench_psql EXCEPT SELECT * FROM bench_sink) d")
[ "$diff_rows" = 0 ] || { echo "postgres-sink rows differ from psql's: $diff_rows" >&2; exit 1; }

# ---- sqlite ------------------------------------------------------------------------------------
sqlite_rates=()
for r in $(seq 1 "$REPEAT"); do
  rm -f "$TMP/bench.db"*
  out=$(helper sink "$TMP/log" rows name=sqlite-$r connector=sqlite-sink topics=rows \
    "db.path=$TMP/bench.db" table=rows "fields=id:integer,name:text,amount:real,ts:integer")
  sqlite_rates+=("$(echo "$out" | field per_sec)")
done
if command -v sqlite3 > /dev/null; then
  n=$(sqlite3 "$TMP/bench.db" "SELECT count(*) FROM rows")
  [ "$n" = "$ROWS" ] || { echo "sqlite-sink wrote $n rows, not $ROWS" >&2; exit 1; }
fi

# ---- file source ----------------------------------------------------------------------------
cat "$TMP/lines.txt" > /dev/null # in the page cache, for both
cat_rates=() src_rates=()
for r in $(seq 1 "$REPEAT"); do
  t0=$(now)
  cat "$TMP/lines.txt" > /dev/null
  t1=$(now)
  cat_rates+=("$(echo "$LINES / ($t1 - $t0)" | bc -l)")
  out=$(helper source "$TMP/srclog-$r" lines "$LINES" name=tail-$r connector=file-source topic=lines \
    "file.path=$TMP/lines.txt")
  src_rates+=("$(echo "$out" | field per_sec)")
  rm -rf "$TMP/srclog-$r"
done

# ---- the table -----------------------------------------------------------------------------------
psql_rate=$(median "${copy_rates[@]}")
psql_pk_rate=$(median "${pkcopy_rates[@]}")
pgcopy=$(median "${pgcopy_rates[@]}")
pgupsert=$(median "${pgupsert_rates[@]}")
sqlite=$(median "${sqlite_rates[@]}")
catr=$(median "${cat_rates[@]}")
src=$(median "${src_rates[@]}")
echo "machine: load after: $(uptime | sed 's/.*load average: //')" >&2
python3 - "$ROWS" "$LINES" "$REPEAT" "$psql_rate" "$pgcopy" "$pgupsert" "$sqlite" "$catr" "$src" "$psql_pk_rate" <<'EOF'
import sys
rows, lines, rep = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
psql, pgcopy, pgupsert, sqlite, cat, src, psql_pk = map(float, sys.argv[4:])
def k(v):
    return "{:,.0f}".format(v)
out = [("measurement", "beck", "peer", "ratio", "goal", "")]
def row(name, mine, unit, peer_name, peer, goal_ratio=None, goal_abs=None):
    ratio = mine / peer if peer else None
    if goal_ratio is not None:
        goal, met = ">= %.1fx" % goal_ratio, ratio >= goal_ratio
    elif goal_abs is not None:
        goal, met = ">= %s %s" % (k(goal_abs), unit), mine >= goal_abs
    else:
        goal, met = "-", None
    out.append((name, "%s %s" % (k(mine), unit), "%s %s %s" % (peer_name, k(peer), unit) if peer else "-",
                "%.2fx" % ratio if ratio is not None else "-", goal,
                "" if met is None else ("MET" if met else "MISSED")))
row("postgres-sink mode=copy", pgcopy, "rows/s", "psql \\copy", psql, goal_ratio=0.7)
row("postgres-sink mode=upsert", pgupsert, "rows/s", "psql \\copy", psql, goal_ratio=0.3)
row("  the same, like for like", pgupsert, "rows/s", "psql \\copy (pk)", psql_pk)
row("sqlite-sink", sqlite, "rows/s", "", 0, goal_abs=600000)
row("file-source -> topic", src, "lines/s", "cat", cat)
w = [max(len(r[i]) for r in out) for i in range(6)]
print("connect_bench: %s rows, %s lines, median of %d runs" % (k(rows), k(lines), rep))
for r in out:
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
EOF
