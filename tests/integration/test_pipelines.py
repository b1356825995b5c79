"""The example pipelines (pipelines/*.yaml) end to end, with exact outputs.

Each example is validated and its own `tests:` run with `beck pipeline`;
then it runs for real with `beck run` and what its sinks wrote is compared
with outputs computed here independently from the input data:

  quickstart      datagen -> tumbling window -> stdout; the generator's
                  records recomputed in Python (splitmix64); a second run
                  resumes (prints nothing new); the same file unchanged with
                  --bootstrap against a separately started `beck broker`
                  prints the same bytes; with --listen a Kafka client reads
                  the results while it runs, and SIGTERM stops it cleanly
  sensor_stats    file -> hopping window with grace and a late topic -> files
  enrich_orders   files -> stream-table left join -> branch -> files, in two
                  runs (customers first, then orders appended: the second run
                  resumes and joins against the table restored from its
                  changelog)
  etl_postgres    file -> filter/map -> postgres upsert against a real
                  PostgreSQL started here (as the postgres user); lines
                  appended and a second run update rows, nothing twice

Plus what `beck pipeline validate` and `beck pipeline test` print for a
broken file and a failing test. Run with /usr/bin/python3 (confluent-kafka
is a Debian package); $BECK_BIN names the binary.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import beckit  # noqa: E402

REPO = beckit.REPO
PIPELINES = os.path.join(REPO, "pipelines")
DATA = os.path.join(PIPELINES, "data")


def beck(*args, env=None, timeout=120, cwd=REPO):
    e = dict(os.environ)
    e.pop("BECK_LOG_LEVEL", None)
    if env:
        e.update(env)
    return subprocess.run([beckit.beck_bin()] + list(args), cwd=cwd, env=e, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, text=True)


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l for l in f.read().split("\n") if l]


# ---- the quickstart, recomputed ------------------------------------------------------

M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def c_round2(x):
    """Beck's round(x, 2): half away from zero on x * 100."""
    import math
    y = x * 100.0
    r = math.floor(abs(y) + 0.5)
    return math.copysign(r, y) / 100.0


def quickstart_expected():
    """The datagen 'random' generator with the quickstart's settings, then
    per (minute, status): count, distinct users, rounded sum, max."""
    seed, keys, count = 42, 50, 3000
    start = 1704110400000  # 2024-01-01T12:00:00Z
    statuses = ["new", "paid", "shipped", "delivered", "returned"]
    groups = {}
    for n in range(count):
        r1 = splitmix64(seed ^ ((n * 0x2545F4914F6CDD1D) & M64))
        r2 = splitmix64(r1)
        user = "user-%d" % (r1 % keys)
        amount = float("%d.%02d" % ((r2 >> 8) % 1000, r2 % 100))
        status = statuses[(r2 >> 32) % 5]
        minute = (start + n * 100) // 60000 * 60000
        g = groups.setdefault((minute, status), {"n": 0, "users": set(), "sum": 0.0, "max": None})
        g["n"] += 1
        g["users"].add(user)
        g["sum"] += amount
        g["max"] = amount if g["max"] is None else max(g["max"], amount)
    out = {}
    for (minute, status), g in groups.items():
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minute / 1000))
        out[(t, status)] = {"minute": t, "status": status, "orders": g["n"], "customers": len(g["users"]),
                            "revenue": c_round2(g["sum"]), "biggest": g["max"]}
    return out


class QuickstartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="beck-pl-qs-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check_output(self, stdout):
        lines = [l for l in stdout.split("\n") if l]
        want = quickstart_expected()
        self.assertEqual(len(lines), len(want), stdout[-2000:])
        got = {}
        minutes = []
        for l in lines:
            v = json.loads(l)
            got[(v["minute"], v["status"])] = v
            minutes.append(v["minute"])
        self.assertEqual(minutes, sorted(minutes), "minutes are printed in order, as each closes")
        for k in sorted(want):
            self.assertEqual(got.get(k), want[k], k)

    def test_1_runs_to_the_end_and_resumes(self):
        data = os.path.join(self.tmp, "embedded")
        t0 = time.time()
        r = beck("run", "pipelines/quickstart.yaml", "--data-dir", data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.time() - t0, 60, "the quickstart ends by itself within a minute")
        self.check_output(r.stdout)
        self.assertIn("stopped after", r.stderr)
        self.assertIn("the input ended", r.stderr)
        with open(os.path.join(self.tmp, "embedded.out"), "w") as f:
            f.write(r.stdout)
        # a second run over the same data directory resumes: nothing new
        r2 = beck("run", "pipelines/quickstart.yaml", "--data-dir", data)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertEqual(r2.stdout, "")
        self.assertIn("nothing new to process", r2.stderr)

    def test_2_same_file_against_a_beck_broker(self):
        if not os.path.exists(os.path.join(self.tmp, "embedded.out")):
            self.test_1_runs_to_the_end_and_resumes()
        broker = beckit.Broker()
        broker.start()
        try:
            r = beck("run", "pipelines/quickstart.yaml", "--bootstrap", broker.bootstrap, "--data-dir",
                     os.path.join(self.tmp, "remote-state"))
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(self.tmp, "embedded.out")) as f:
                self.assertEqual(r.stdout, f.read(), "same bytes as the embedded run")
            # the results are in the broker's topic for any Kafka client
            recs = consume(broker.bootstrap, "orders_per_status", 25)
            self.assertEqual([v for _, v, _ in recs], [l for l in r.stdout.split("\n") if l])
            self.assertEqual({k for k, _, _ in recs}, {"new", "paid", "shipped", "delivered", "returned"})
        finally:
            broker.stop()

    def test_3_listen_serves_kafka_clients_and_sigterm_stops(self):
        port = beckit.free_port()
        data = os.path.join(self.tmp, "listen")
        e = dict(os.environ)
        proc = subprocess.Popen([beckit.beck_bin(), "run", "pipelines/quickstart.yaml", "--data-dir", data,
                                 "--listen", "127.0.0.1:%d" % port, "--stop-when-idle", "0"], cwd=REPO, env=e,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # minutes 0..3 close while it runs (minute 4 would close at the end of the input)
            recs = consume("127.0.0.1:%d" % port, "orders_per_status", 20, timeout=60)
            self.assertEqual(len(recs), 20)
            for key, value, headers in recs:
                v = json.loads(value)
                self.assertEqual(key, v["status"], "windowed results keep their plain key")
                start = int(dict(headers)["beck.window.start"])
                self.assertEqual(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start / 1000)), v["minute"])
                self.assertEqual(int(dict(headers)["beck.window.end"]), start + 60000)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("SIGTERM", err)
        self.assertEqual([l for l in out.split("\n") if l], [v for _, v, _ in recs])


    def test_4_stopped_midway_then_resumed_gives_every_result_once(self):
        data = os.path.join(self.tmp, "interrupted")
        proc = subprocess.Popen([beckit.beck_bin(), "run", "pipelines/quickstart.yaml", "--data-dir", data], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)  # about half of the orders
        proc.send_signal(signal.SIGTERM)
        out1, err1 = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err1)
        r = beck("run", "pipelines/quickstart.yaml", "--data-dir", data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(len(out1), 0)
        self.assertGreater(len(r.stdout), 0)
        self.check_output(out1 + r.stdout)


def consume(bootstrap, topic, n, timeout=30):
    """The first n records of topic: (key, value, headers) as text."""
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "it-%d" % os.getpid(), "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    out = []
    deadline = time.time() + timeout
    try:
        while len(out) < n and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            hs = [(k, v.decode()) for k, v in (m.headers() or [])]
            out.append((m.key().decode() if m.key() else None, m.value().decode(), hs))
    finally:
        c.close()
    return out


# ---- sensor_stats, recomputed ------------------------------------------------------------


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def parse_iso(s):
    import calendar
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")) * 1000


def sensor_expected(readings):
    """Hopping 5m every 1m, grace 30s, emit final; late = every window of a
    reading already closed when it arrives (stream time = max time seen)."""
    size, adv, grace = 300000, 60000, 30000
    stream_time = None
    wins, late = {}, []
    for r in readings:
        t = parse_iso(r["time"])
        if r["celsius"] is None:
            stream_time = t if stream_time is None else max(stream_time, t)  # filtered after the time is read
            continue
        starts = [s for s in range((t - size) // adv * adv + adv, t + 1, adv) if s <= t < s + size]
        open_starts = [s for s in starts if stream_time is None or s + size + grace > stream_time]
        if not open_starts:
            late.append(r)
        for s in open_starts:
            wins.setdefault((s, r["sensor"]), []).append(r["celsius"])
        stream_time = t if stream_time is None else max(stream_time, t)
    out = []
    for (s, sensor) in sorted(wins):
        v = wins[(s, sensor)]
        out.append({"sensor": sensor, "from": iso(s), "to": iso(s + size), "readings": len(v), "min": min(v),
                    "max": max(v), "mean": c_round2(sum(v) / len(v))})
    return out, late


class SensorStatsTest(unittest.TestCase):
    def test_hopping_windows_and_late_readings(self):
        tmp = tempfile.mkdtemp(prefix="beck-pl-ss-")
        try:
            env = {"STATS_FILE": os.path.join(tmp, "stats.jsonl"), "LATE_FILE": os.path.join(tmp, "late.jsonl")}
            r = beck("run", "pipelines/sensor_stats.yaml", "--data-dir", os.path.join(tmp, "data"), env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            readings = [json.loads(l) for l in read_lines(os.path.join(DATA, "readings.jsonl"))]
            want, want_late = sensor_expected(readings)
            got = [json.loads(l) for l in read_lines(env["STATS_FILE"])]
            # windows close in time order; within one end, keys in any order
            self.assertEqual(sorted(got, key=lambda v: (v["from"], v["sensor"])), want)
            self.assertEqual([v["from"] for v in got], sorted(v["from"] for v in got))
            self.assertEqual([json.loads(l) for l in read_lines(env["LATE_FILE"])], want_late)
            self.assertEqual(len(want_late), 1)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


# ---- enrich_orders ------------------------------------------------------------------------


class EnrichTest(unittest.TestCase):
    def test_join_with_the_table_across_two_runs(self):
        tmp = tempfile.mkdtemp(prefix="beck-pl-en-")
        try:
            customers = os.path.join(tmp, "customers.jsonl")
            orders = os.path.join(tmp, "orders.jsonl")
            shutil.copy(os.path.join(DATA, "customers.jsonl"), customers)
            open(orders, "w").close()
            env = {"CUSTOMERS_FILE": customers, "ORDERS_FILE": orders,
                   "ENRICHED_FILE": os.path.join(tmp, "enriched.jsonl"), "BIG_FILE": os.path.join(tmp, "big.jsonl")}
            data = os.path.join(tmp, "data")
            r = beck("run", "pipelines/enrich_orders.yaml", "--data-dir", data, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(read_lines(env["ENRICHED_FILE"]), [])
            shutil.copy(os.path.join(DATA, "orders.jsonl"), orders)
            r = beck("run", "pipelines/enrich_orders.yaml", "--data-dir", data, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            cust = {c["id"]: c for c in map(json.loads, read_lines(customers))}
            small, big = [], []
            for o in map(json.loads, read_lines(orders)):
                c = cust.get(o["customer_id"])
                v = {"order": o["id"], "status": o["status"], "amount": o["amount"],
                     "customer": c["name"] if c else "unknown", "tier": c["tier"] if c else "none",
                     "country": c["country"] if c else None}
                (big if o["amount"] >= 500 else small).append(v)
            self.assertEqual([json.loads(l) for l in read_lines(env["ENRICHED_FILE"])], small)
            self.assertEqual([json.loads(l) for l in read_lines(env["BIG_FILE"])], big)
            self.assertEqual(len(big), 3)
            self.assertEqual(small[-1]["customer"], "unknown")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


# ---- etl_postgres ---------------------------------------------------------------------------


class Postgres:
    """initdb + pg_ctl on a temporary directory, as the postgres user when root."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise unittest.SkipTest("PostgreSQL server binaries not installed")
        self.bindir = os.path.dirname(bins[-1])
        self.dir = tempfile.mkdtemp(prefix="beck-pl-pg-")
        self.root = os.geteuid() == 0
        if self.root:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.port = beckit.free_port()
        self.datadir = os.path.join(self.dir, "data")
        self.run("%s/initdb -D %s -A trust -U postgres -E UTF8 --no-sync > %s/initdb.log 2>&1"
                 % (self.bindir, self.datadir, self.dir))
        self.run("%s/pg_ctl -D %s -l %s/server.log -o \"-p %d -k %s -c listen_addresses=127.0.0.1\" -w -t 60 start "
                 "> /dev/null 2>&1" % (self.bindir, self.datadir, self.dir, self.port, self.dir))
        self.dsn = "host=127.0.0.1 port=%d user=postgres dbname=postgres connect_timeout=5" % self.port

    def run(self, cmd):
        full = ["runuser", "-u", "postgres", "--", "sh", "-c", cmd] if self.root else ["sh", "-c", cmd]
        subprocess.run(full, check=True, timeout=120)

    def query(self, sql):
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                            str(self.port), "-U", "postgres", "-d", "postgres", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("psql: %s" % r.stderr)
        return [l for l in r.stdout.split("\n") if l]

    def close(self):
        try:
            self.run("%s/pg_ctl -D %s -m fast -w -t 60 stop > /dev/null 2>&1" % (self.bindir, self.datadir))
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class EtlPostgresTest(unittest.TestCase):
    def test_file_to_postgres_upsert_and_a_second_run(self):
        pg = Postgres()
        tmp = tempfile.mkdtemp(prefix="beck-pl-etl-")
        try:
            orders = os.path.join(tmp, "orders.jsonl")
            shutil.copy(os.path.join(DATA, "orders.jsonl"), orders)
            env = {"ORDERS_FILE": orders, "PG_DSN": pg.dsn}
            data = os.path.join(tmp, "data")
            r = beck("run", "pipelines/etl_postgres.yaml", "--data-dir", data, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            sql = ("SELECT order_id, customer_id, amount, currency, status, "
                   "to_char(ordered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM orders ORDER BY 1")
            self.assertEqual(pg.query(sql), self.expected(orders))
            self.assertEqual(pg.query(sql), [
                "1001|1|25.5|EUR|paid|2024-05-01T09:00:00Z",
                "1002|2|640|USD|shipped|2024-05-01T09:05:00Z",
                "1005|9|99.9|EUR|paid|2024-05-01T09:06:00Z",
                "1006|3|1250|EUR|paid|2024-05-01T09:07:45Z",
            ])
            # more lines: a new order and an update; the second run takes only these
            with open(orders, "a") as f:
                f.write('{"id":1007,"customer_id":2,"amount":42,"currency":"usd","status":"paid",'
                        '"time":"2024-05-01T10:00:00Z"}\n')
                f.write('{"id":1001,"customer_id":1,"amount":25.5,"currency":"eur","status":"shipped",'
                        '"time":"2024-05-01T10:05:00Z"}\n')
            r = beck("run", "pipelines/etl_postgres.yaml", "--data-dir", data, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(pg.query(sql), self.expected(orders))
            self.assertEqual(pg.query("SELECT status FROM orders WHERE order_id = 1001"), ["shipped"])
            # the sink's offsets: every clean record once, across both runs
            self.assertEqual(pg.query("SELECT count(*) FROM orders"), ["5"])
        finally:
            pg.close()
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def expected(path):
        rows = {}
        for o in map(json.loads, read_lines(path)):
            if o["status"] == "test" or not o["amount"] > 0:
                continue
            amount = ("%g" % o["amount"]) if isinstance(o["amount"], float) else str(o["amount"])
            rows[o["id"]] = "%d|%d|%s|%s|%s|%s" % (o["id"], o["customer_id"], amount,
                                                  (o.get("currency") or "eur").upper(), o["status"], o["time"])
        return [rows[k] for k in sorted(rows)]


# ---- validate and test ------------------------------------------------------------------------


class CommandsTest(unittest.TestCase):
    def test_every_example_validates_and_passes_its_tests(self):
        files = sorted(glob.glob(os.path.join(PIPELINES, "*.yaml")))
        self.assertGreaterEqual(len(files), 4)
        for f in files:
            rel = os.path.relpath(f, REPO)
            r = beck("pipeline", "validate", rel)
            self.assertEqual(r.returncode, 0, rel + ": " + r.stderr)
            self.assertIn("valid", r.stdout)
            r = beck("pipeline", "test", rel)
            self.assertEqual(r.returncode, 0, rel + ": " + r.stdout + r.stderr)
            self.assertRegex(r.stdout, r"\d+ passed, 0 failed")

    def test_validate_points_at_each_mistake(self):
        tmp = tempfile.mkdtemp(prefix="beck-pl-val-")
        try:
            with open(os.path.join(PIPELINES, "quickstart.yaml")) as f:
                text = f.read()
            text = text.replace("connector: datagen", "connector: datagn")
            text = text.replace("connector: stdout", "connector: stdout\n    config: { formt: json }")
            text = text.replace("- select_key: value.status", "- select_key: valeu.status")
            path = os.path.join(tmp, "broken.yaml")
            with open(path, "w") as f:
                f.write(text)
            r = beck("pipeline", "validate", path)
            self.assertEqual(r.returncode, 1)
            lines = text.split("\n")
            ln = next(i for i, l in enumerate(lines) if "datagn" in l) + 1
            col = lines[ln - 1].index("datagn") + 1
            self.assertIn("%s:%d:%d: unknown connector 'datagn' (did you mean 'datagen'?)" % (path, ln, col), r.stderr)
            ln = next(i for i, l in enumerate(lines) if "formt" in l) + 1
            col = lines[ln - 1].index("formt") + 1
            self.assertIn("%s:%d:%d: unknown option 'formt' for connector 'stdout' (sink 'console') (did you mean "
                          "'format'?)" % (path, ln, col), r.stderr)
            self.assertIn("unknown name 'valeu'", r.stderr.replace("unknown field", "unknown name"))
            self.assertIn("^", r.stderr)  # the line is shown with a caret
            self.assertIn("3 problems; nothing was run", r.stderr)
            # beck run refuses the same file before anything runs
            r = beck("run", path, "--data-dir", os.path.join(tmp, "data"))
            self.assertEqual(r.returncode, 1)
            self.assertFalse(os.path.exists(os.path.join(tmp, "data")))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_a_failing_test_shows_a_diff(self):
        tmp = tempfile.mkdtemp(prefix="beck-pl-diff-")
        try:
            with open(os.path.join(PIPELINES, "sensor_stats.yaml")) as f:
                text = f.read()
            text = text.replace("readings: 2, min: 20, max: 22, mean: 21 } }\n        - { key: hall, value: { sensor: "
                                "hall, from: \"2024-05-01T12:00:00Z\"",
                                "readings: 3, min: 20, max: 22, mean: 21 } }\n        - { key: hall, value: { sensor: "
                                "hall, from: \"2024-05-01T12:00:00Z\"", 1)
            path = os.path.join(tmp, "wrong.yaml")
            with open(path, "w") as f:
                f.write(text)
            r = beck("pipeline", "test", path)
            self.assertEqual(r.returncode, 1)
            self.assertIn("FAIL  a reading counts in the five windows that cover it", r.stdout)
            self.assertIn("ok    a reading after its windows closed goes to late_readings", r.stdout)
            self.assertIn("expected 6 records, got 6 (1 missing, 1 unexpected)", r.stdout)
            self.assertIn('    - { key: hall, value: {"sensor":"hall","from":"2024-05-01T11:59:00Z",'
                          '"to":"2024-05-01T12:04:00Z","readings":3', r.stdout)
            self.assertIn('    + { key: hall, value: {"sensor":"hall","from":"2024-05-01T11:59:00Z",'
                          '"to":"2024-05-01T12:04:00Z","readings":2', r.stdout)
            self.assertIn("1 passed, 1 failed", r.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
