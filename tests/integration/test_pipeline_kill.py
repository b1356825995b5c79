#!/usr/bin/python3
"""test_pipeline_kill.py - a whole YAML pipeline, run as users run it
(`beck run FILE`), SIGKILLed at random moments while its input file grows,
then run to completion; what its sinks hold is checked against the input
and against an uninterrupted run (issue 8, "Connect and pipelines").

The pipeline (written below as PIPELINE):

  file source (json lines; errors.tolerance=all, bad lines to the
  dead-letter topic bad_events)
    -> stream copy: map {id, usr, amount, read_at: timestamp} -> events_out
         -> sqlite sink events_db        (insert: one row per record)
    -> stream per-user: event time from value.ts, select_key usr,
       tumbling 10s window emit final, aggregate {n: count(), total: sum()}
                                                            -> user_totals
         -> sqlite sink totals_db        (insert: one row per emission)
  bad_events (the dead-letter topic)
    -> stream dead-letters: map {line: value, stage/error/connector from
       the __connect.errors.* headers, read_at: timestamp}   -> bad_out
         -> sqlite sink bad_db

The sqlite sinks store their offsets with their rows (exactly once) and
write the offset of each row's record; the record timestamp is the time
the file source read the line. So a duplicate shows where it was made: the
same line with two read times (read twice by the source), the same line
and read time at two offsets (the streams processed it twice), one offset
twice (the sink). The expression language's `offset` would say it better,
but `beck run` gives -1 for it (connect/pipeline/compile.c sets it so).

For each guarantee (`beck run --exactly-once`, then the default
at-least-once):

  1. reference: the whole input file, one uninterrupted run; its tables
     must equal what Python computes from the input (every good record
     once, every window's count and sum, every bad line once);
  2. killed: the same bytes are appended to an empty file (in chunks cut
     anywhere, also inside a line; see Feeder) while `beck run
     --stop-when-idle 0` is started and SIGKILLed --cycles times: at a
     random moment, or (one in two) shortly after a burst of input; it
     sometimes stays down a moment. Then one run with the file's
     stop_when_idle is killed while it closes the windows (after "stopping
     (the input ended)"), and a last one runs to its clean end (exit 0);
  3. checks:
       every good record is in events_db (no loss); no bad line is;
       exactly-once: each once; at-least-once: duplicates counted, and only
         made by the streams (replayed input), never by the source or sink;
       totals_db: every window of the reference; exactly-once: one row each
         with the reference's count and sum; at-least-once: the last row of
         each window at least the reference's (replays may count twice);
         repeated emissions counted; no window the reference lacks;
       bad_db: exactly the bad lines (none missing, no good line), with
         stage TASK_POLL, the parser's message and the connector's name,
         each copied once under exactly-once; lines dead-lettered twice (a
         source replays its batch after a crash, and the dead letters are
         produced before the batch, as connect/dlq.c says) are counted and
         reported, not failed.

Prints one figures line per guarantee (and appends it to $BECK_FIGURES).

    /usr/bin/python3 tests/integration/test_pipeline_kill.py [--cycles 8] [--records N]
        [--seed S] [--only eos|alos] [--keep]

--cycles defaults to $BECK_PIPELINE_KILL_CYCLES, else 8; --records to
7,500 per cycle, at least 60,000. $BECK_BIN names the binary.
"""

import argparse
import collections
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import beckit  # noqa: E402

PIPELINE = """\
pipeline: kill-events
description: events copied, counted per user and 10 s window, bad lines dead-lettered
topics:
  bad_events: {}                      # written by the source's worker (its dead-letter topic)
sources:
  events:
    connector: file
    config:
      file.path: ${EVENTS_FILE}
      format: json
      errors.tolerance: all
      errors.deadletterqueue.topic.name: bad_events
streams:
  - name: copy
    from: events
    steps:
      - map: { id: value.id, usr: value.usr, amount: value.amount, read_at: timestamp }
    to: events_out
  - name: per-user
    from: events
    timestamp: value.ts
    steps:
      - select_key: value.usr
      - window: { tumbling: 10s, emit: final }
      - aggregate:
          usr: key
          wstart: window.start
          n: count()
          total: sum(value.amount)
    to: user_totals
  - name: dead-letters
    from: bad_events
    steps:
      - map:
          line: value
          stage: headers["__connect.errors.stage"]
          error: headers["__connect.errors.exception.message"]
          connector: headers["__connect.errors.connector.name"]
          read_at: timestamp
    to: bad_out
sinks:
  events_db:
    connector: sqlite
    from: events_out
    config:
      db.path: ${OUT_DIR}/events.db
      table: events
      fields: id:integer,usr:text,amount:integer,read_at:integer,off:integer=@offset
  totals_db:
    connector: sqlite
    from: user_totals
    config:
      db.path: ${OUT_DIR}/totals.db
      table: totals
      fields: usr:text,wstart:integer,n:integer,total:integer,off:integer=@offset
  bad_db:
    connector: sqlite
    from: bad_out
    config:
      db.path: ${OUT_DIR}/bad.db
      table: bad
      fields: line:text,stage:text,error:text,connector:text,read_at:integer,off:integer=@offset
run:
  stop_when_idle: 2s
"""

USERS = 20
T0 = 1700000000000  # event time of line 0; each line 4 ms later
STEP_MS = 4
WINDOW_MS = 10000


def log(msg):
    sys.stderr.write("test_pipeline_kill: %s\n" % msg)
    sys.stderr.flush()


# ---- the input and what it must give ------------------------------------------------------


def make_input(records, rng):
    """JSON lines with ids 0..records-1, about one in 400 of them replaced by
    a bad line (not JSON, or JSON cut short), and now and then a blank line
    (skipped by the source). Returns (bytes, good {id: (usr, amount, ts)},
    bad [line text])."""
    lines, good, bad = [], {}, []
    for i in range(records):
        r = rng.random()
        if r < 0.0025:
            text = "not json %d" % i if r < 0.00125 else '{"id": %d, "usr": "u%d", "amo' % (i, i % USERS)
            bad.append(text)
            lines.append(text)
            continue
        if r < 0.003:
            lines.append("")
        usr = "u%d" % rng.randrange(USERS)
        amount = rng.randrange(1000)
        ts = T0 + i * STEP_MS
        good[i] = (usr, amount, ts)
        lines.append(json.dumps({"id": i, "usr": usr, "amount": amount, "ts": ts}, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode(), good, bad


def expected_windows(good):
    """(usr, window start) -> (count, sum) of the tumbling 10 s windows."""
    w = collections.defaultdict(lambda: [0, 0])
    for usr, amount, ts in good.values():
        acc = w[(usr, ts - ts % WINDOW_MS)]
        acc[0] += 1
        acc[1] += amount
    return {k: tuple(v) for k, v in w.items()}


# ---- running the pipeline -----------------------------------------------------------------


class Run:
    """One data directory, one output directory, one events file; `beck run`
    started as often as needed, its stderr appended to run.log."""

    def __init__(self, root, name, guarantee):
        self.dir = os.path.join(root, name)
        self.out = os.path.join(self.dir, "out")
        self.data = os.path.join(self.dir, "data")
        self.events = os.path.join(self.dir, "events.jsonl")
        self.log_path = os.path.join(self.dir, "run.log")
        os.makedirs(self.out)
        self.pipeline = os.path.join(self.dir, "pipeline.yaml")
        with open(self.pipeline, "w") as f:
            f.write(PIPELINE)
        self.guarantee = guarantee
        self.starts = 0

    def start(self, *extra):
        cmd = [beckit.beck_bin(), "run", self.pipeline, "--data-dir", self.data] + list(extra)
        if self.guarantee == "eos":
            cmd.append("--exactly-once")
        env = dict(os.environ, EVENTS_FILE=self.events, OUT_DIR=self.out)
        env.pop("BECK_LOG_LEVEL", None)
        self.starts += 1
        with open(self.log_path, "a") as lf:
            lf.write("---- start %d: %s\n" % (self.starts, " ".join(cmd)))
        lf = open(self.log_path, "a")
        try:
            return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=lf)
        finally:
            lf.close()

    def log_size(self):
        return os.path.getsize(self.log_path)

    def log_since(self, pos):
        with open(self.log_path, errors="replace") as f:
            f.seek(pos)
            return f.read()

    def log_tail(self, n=40):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def to_end(self, timeout=120):
        p = self.start()
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("beck run did not end within %d s\n%s" % (timeout, self.log_tail()))
        if rc != 0:
            raise AssertionError("beck run exited %d\n%s" % (rc, self.log_tail()))

    def tables(self):
        """The three sinks' rows."""
        out = {}
        for db, table, cols in (("events.db", "events", "id, usr, amount, read_at, off"),
                                ("totals.db", "totals", "usr, wstart, n, total, off"),
                                ("bad.db", "bad", "line, stage, error, connector, read_at, off")):
            path = os.path.join(self.out, db)
            if not os.path.exists(path):
                out[table] = []
                continue
            c = sqlite3.connect(path)
            try:
                out[table] = c.execute("SELECT %s FROM %s ORDER BY off" % (cols, table)).fetchall()
            except sqlite3.OperationalError as e:
                if "no such table" not in str(e):
                    raise
                out[table] = []
            finally:
                c.close()
        return out


class Feeder:
    """Appends `data` to the events file: a thread writes small chunks (up
    to 64 KiB, about 1,000 lines, cut at any byte: also inside a line) at a
    pace that ends the data after about `seconds`, and burst() writes
    0.25-1.5 MiB at once (4,500 to 28,000 lines) for a kill to land in while
    the pipeline works through them. Each chunk is one write()."""

    def __init__(self, path, data, seconds, rng):
        self.data, self.pos, self.rng = data, 0, rng
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.t0, self.seconds = time.monotonic(), seconds
        self.thread = threading.Thread(target=self._steady)
        self.thread.start()

    def _append(self, size):
        with self.lock:
            size = min(size, len(self.data) - self.pos)
            if size > 0:
                os.write(self.fd, self.data[self.pos:self.pos + size])
                self.pos += size
            return self.pos < len(self.data)

    def _steady(self):
        while not self.stop.is_set() and self._append(self.rng.randint(1, 64 << 10)):
            # keep to the schedule: the data ends about `seconds` after the start
            wait = self.t0 + self.seconds * self.pos / len(self.data) - time.monotonic()
            if wait > 0:
                self.stop.wait(wait)

    def burst(self, rng):
        return self._append(rng.randint(256 << 10, 1536 << 10))

    def finish(self):
        """Stops the thread and writes what is left."""
        self.stop.set()
        self.thread.join()
        self._append(len(self.data))
        os.close(self.fd)


def run_with_kills(run, data, cycles, rng):
    """The killed run (step 2 of the docstring). Each of the `cycles` runs
    is killed either at a random moment 0.05-1.6 s after its start, or (one
    in two) 0.02-0.35 s after a burst of input that it writes 0.05-0.8 s
    after the start. Returns the figures of the kills."""
    open(run.events, "wb").close()
    feeder = Feeder(run.events, data, 0.55 * cycles, random.Random(rng.random()))
    ups, downs, in_burst = [], 0, 0
    try:
        for i in range(cycles):
            p = run.start("--stop-when-idle", "0")
            t0 = time.monotonic()
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0.05, 0.8))
                feeder.burst(rng)
                in_burst += 1
                time.sleep(rng.uniform(0.02, 0.35))
            else:
                time.sleep(rng.uniform(0.05, 1.6))
            if p.poll() is not None:
                raise AssertionError("beck run exited %s by itself before kill %d\n%s"
                                     % (p.returncode, i + 1, run.log_tail()))
            p.send_signal(signal.SIGKILL)
            p.wait()
            ups.append(time.monotonic() - t0)
            if rng.random() < 0.4:
                downs += 1
                time.sleep(rng.uniform(0.0, 0.5))  # the file keeps growing meanwhile
    finally:
        feeder.finish()
    # the end of the input: killed while it closes windows and drains its sinks
    pos = run.log_size()
    p = run.start()
    deadline = time.monotonic() + 60
    closing = False
    while time.monotonic() < deadline and p.poll() is None:
        if "stopping (the input ended)" in run.log_since(pos):
            closing = True
            time.sleep(rng.uniform(0.0, 0.05))
            break
        time.sleep(0.005)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        p.wait()
        last = "while closing" if closing else "before the input ended (no closing seen within 60 s)"
    else:
        if p.returncode != 0:
            raise AssertionError("beck run exited %d\n%s" % (p.returncode, run.log_tail()))
        last = "too late: it had stopped"
    run.to_end()
    return {"uptimes": ups, "downs": downs, "in_burst": in_burst, "last": last}


# ---- checks --------------------------------------------------------------------------------


class Checker:
    def __init__(self):
        self.problems = []

    def fail(self, fmt, *args):
        self.problems.append(fmt % args)

    def events(self, rows, good, bad, exact):
        """rows (id, usr, amount, read_at, off). Returns the duplicates."""
        bad_ids = set()
        for text in bad:
            if text.startswith("{"):
                bad_ids.add(int(text.split(",")[0].split(":")[1]))
        by_id = collections.defaultdict(list)
        offs = collections.Counter()
        for id_, usr, amount, read_at, off in rows:
            by_id[id_].append(read_at)
            offs[off] += 1
            want = good.get(id_)
            if want is None:
                self.fail("events_db: id %s is not a good input record%s", id_,
                          " (its line was bad)" if id_ in bad_ids else "")
            elif (usr, amount) != want[:2]:
                self.fail("events_db: id %d has (%r, %r), the input (%r, %r)", id_, usr, amount, *want[:2])
        missing = sorted(set(good) - set(by_id))
        if missing:
            self.fail("events_db: %d of %d good records missing (lost), e.g. ids %s", len(missing), len(good),
                      missing[:10])
        sink_dups = sum(n - 1 for n in offs.values())
        if sink_dups:
            self.fail("events_db: %d rows of an events_out offset already there (the exactly-once sink wrote "
                      "twice)", sink_dups)
        # a line read twice by the source has two read times; a record the
        # streams processed twice has one
        src_dups = [(i, sorted(set(t))) for i, t in by_id.items() if len(set(t)) > 1]
        if src_dups:
            self.fail("events: %d ids read twice by the file source (two record timestamps), e.g. %s",
                      len(src_dups), src_dups[:5])
        dups = sum(len(t) - 1 for t in by_id.values())
        if exact and dups:
            ex = [(i, t) for i, t in by_id.items() if len(t) > 1][:5]
            self.fail("events_db: %d duplicates under exactly-once, e.g. (id, record timestamps) %s", dups, ex)
        return dups

    def totals(self, rows, ref, exact):
        """rows (usr, wstart, n, total, off) against ref {(usr, wstart):
        (n, total)}. Returns (repeated emissions, windows counted higher)."""
        got = collections.defaultdict(list)
        for usr, wstart, n, total, off in rows:
            got[(usr, wstart)].append((n, total))
        missing = [k for k in ref if k not in got]
        extra = [k for k in got if k not in ref]
        if missing:
            self.fail("totals_db: %d of %d windows missing, e.g. %s", len(missing), len(ref), missing[:5])
        if extra:
            self.fail("totals_db: %d windows the reference lacks, e.g. %s", len(extra),
                      [(k, got[k]) for k in extra[:5]])
        repeats = sum(len(v) - 1 for v in got.values())
        higher, wrong = 0, []
        for k, want in ref.items():
            if k not in got:
                continue
            last = got[k][-1]
            if exact:
                if got[k] != [want]:
                    wrong.append((k, want, got[k]))
            elif last[0] < want[0] or last[1] < want[1]:
                wrong.append((k, want, got[k]))
            elif last != want:
                higher += 1
        if wrong:
            self.fail("totals_db: %d windows %s the reference's (window, reference, rows): %s", len(wrong),
                      "differ from" if exact else "below", wrong[:5])
        return repeats, higher

    def dead_letters(self, rows, bad, exact_rows):
        """rows (line, stage, error, connector, read_at, off). Returns the
        number of lines dead-lettered more than once (each time the source
        reads a line it gets a new timestamp)."""
        want = collections.Counter(bad)
        by_line = collections.defaultdict(list)
        offs = collections.Counter()
        for line, stage, error, connector, read_at, off in rows:
            by_line[line].append(read_at)
            offs[off] += 1
            if line not in want:
                self.fail("bad_db: %r is not a bad line of the input", line)
            if stage != "TASK_POLL" or not (error or "").startswith("not JSON") or \
                    connector != "kill-events.events":
                self.fail("bad_db: %r has stage %r, error %r, connector %r", line, stage, error, connector)
        missing = [l for l in want if l not in by_line]
        if missing:
            self.fail("bad_db: %d of %d bad lines missing from the dead-letter topic, e.g. %s", len(missing),
                      len(want), missing[:5])
        twice = sum(n - 1 for n in offs.values())
        if twice:
            self.fail("bad_db: %d rows of a bad_out offset already there (the exactly-once sink wrote twice)", twice)
        if exact_rows:  # exactly-once streams copy each dead letter once
            again = sum(len(v) - len(set(v)) for v in by_line.values())
            if again:
                self.fail("bad_db: %d dead letters copied twice under exactly-once", again)
        return sum(len(set(v)) - 1 for v in by_line.values())


def check_reference(tables, good, bad, windows):
    c = Checker()
    dups = c.events(tables["events"], good, bad, exact=True)
    c.totals(tables["totals"], windows, exact=True)
    dlq = c.dead_letters(tables["bad"], bad, exact_rows=True)
    if dlq:
        c.fail("bad_db: %d lines dead-lettered twice in an uninterrupted run", dlq)
    return c.problems, dups


# ---- main -----------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=int(os.environ.get("BECK_PIPELINE_KILL_CYCLES", "8")))
    ap.add_argument("--records", type=int, default=0, help="default: 7,500 per cycle, at least 60,000")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("BECK_KILL_SEED", "0")) or None)
    ap.add_argument("--only", choices=("eos", "alos"))
    ap.add_argument("--keep", action="store_true", help="keep the directories")
    a = ap.parse_args()
    records = a.records or max(60000, 7500 * a.cycles)
    seed = a.seed if a.seed is not None else random.randrange(1, 1 << 30)
    print("seed %d (--seed %d or BECK_KILL_SEED=%d repeats this input and schedule)" % (seed, seed, seed))
    rng = random.Random(seed)
    data, good, bad = make_input(records, random.Random(seed))
    windows = expected_windows(good)
    root = tempfile.mkdtemp(prefix="beck-pipeline-kill-")
    failed = False
    try:
        for g in ("eos", "alos"):
            if a.only and a.only != g:
                continue
            name = "exactly-once" if g == "eos" else "at-least-once"
            t0 = time.monotonic()
            ref = Run(root, g + "-ref", g)
            with open(ref.events, "wb") as f:
                f.write(data)
            ref.to_end()
            ref_secs = time.monotonic() - t0
            ref_tables = ref.tables()
            problems, _ = check_reference(ref_tables, good, bad, windows)
            if problems:
                for x in problems[:20]:
                    log("PROBLEM (%s, uninterrupted run): %s" % (name, x))
                log("run log tail:\n" + ref.log_tail())
                failed = True
                continue
            ref_windows = {(u, w): (n, t) for u, w, n, t, _ in ref_tables["totals"]}

            t1 = time.monotonic()
            killed = Run(root, g + "-killed", g)
            kills = run_with_kills(killed, data, a.cycles, rng)
            secs = time.monotonic() - t1
            got = killed.tables()
            c = Checker()
            dups = c.events(got["events"], good, bad, exact=g == "eos")
            repeats, higher = c.totals(got["totals"], ref_windows, exact=g == "eos")
            dlq_twice = c.dead_letters(got["bad"], bad, exact_rows=g == "eos")
            ups = kills["uptimes"]
            line = ("pipeline kill -9 (%s): %d cycles (up %.2f-%.2f s, %d in a burst of input, %d stayed down a "
                    "moment; last kill %s) "
                    "+ clean end, %d starts; %d records (%d good, %d bad lines): %d events rows, %d duplicates; "
                    "%d windows, %d repeated emissions, %d counted higher; %d dead letters, %d bad lines twice; "
                    "uninterrupted %.1f s, killed %.1f s; seed %d"
                    % (name, len(ups), min(ups), max(ups), kills["in_burst"], kills["downs"], kills["last"],
                       killed.starts, records,
                       len(good), len(bad), len(got["events"]), dups, len(ref_windows), repeats, higher,
                       len(got["bad"]), dlq_twice, ref_secs, secs, seed))
            if c.problems:
                failed = True
                for x in c.problems[:30]:
                    log("PROBLEM (%s): %s" % (name, x))
                log("run log tail:\n" + killed.log_tail(60))
                log("FAILED: " + line)
                a.keep = True
                continue
            print(line)
            sys.stdout.flush()
            figures = os.environ.get("BECK_FIGURES")
            if figures:
                with open(figures, "a") as f:
                    f.write(line + "\n")
            if not a.keep:
                shutil.rmtree(ref.dir, ignore_errors=True)
                shutil.rmtree(killed.dir, ignore_errors=True)
    finally:
        if a.keep:
            print("kept %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if failed:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
