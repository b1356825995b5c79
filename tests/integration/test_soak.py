#!/usr/bin/python3
"""Soak: producers and a consumer group run against one broker for a long
while (BECK_SOAK_SECONDS, default 60; tests/reliability_long.sh runs 1800),
and the broker's RSS, open descriptors and the achieved throughput and ack
latency are sampled per interval, to show drift.

  - 2 idempotent acks=all producers (confluent-kafka) at a fixed total rate
    (BECK_SOAK_RATE records/s, default 20000, 200-byte values) into a
    6-partition topic with 64 MiB segments and retention.bytes 256 MiB per
    partition (so rolls and retention run too); each value carries
    (producer, sequence), each key is one of 12 (two per partition, the
    producers pick the partition round-robin);
  - a group of 2 consumers reads everything; a bitmap per producer marks
    what was consumed;
  - a YAML pipeline (PIPELINE below) runs as users run it against a cluster,
    `beck run FILE --bootstrap BROKER`: it reads the soak topic and counts
    the records per key in tumbling 5 s windows (grace 10 s, emit final,
    late records to their own topic) into an output topic. Its RSS and
    descriptors are sampled like the broker's, and its throughput and lag
    from its consumer group's committed offsets (the application id) and
    the topic's high watermarks.

Checks: no delivery error; every acknowledged record consumed (duplicates
counted and reported); RSS after the warm-up (first tenth) grows by less
than 32 MiB to the end; descriptors other than segment files do not grow,
and segment files stay bounded by retention; the last interval's
throughput is at least half the target. Pipeline: it runs to the end,
catches up once the producers stop (lag 0), and exits 0 on SIGTERM; its RSS
grows by less than 32 MiB after the warm-up; read back with confluent-kafka,
every window that closed (end + grace before the last record's time, for
every key) is in the output topic, and each window's count (the last one
written for it) is at least the number of acknowledged records whose
timestamp falls in it (at-least-once: the excess is reported, no record may
be late). Prints a table of intervals and summary lines (appended to
$BECK_FIGURES when set).
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import json  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from beckit import BrokerTestCase, beck_bin, main  # noqa: E402

SECONDS = int(os.environ.get("BECK_SOAK_SECONDS", "60"))
RATE = int(os.environ.get("BECK_SOAK_RATE", "20000"))
PRODUCERS, CONSUMERS, PARTITIONS = 2, 2, 6
VALUE_PAD = b"s" * 190
KEYS = 12  # key j goes to partition j % PARTITIONS
WINDOW_MS, GRACE_MS = 5000, 10000
APP = "soak-counts"
PIPELINE = """\
pipeline: %(app)s
topics:
  soak: {}                      # made by the test (6 partitions)
streams:
  - name: per-key
    from: soak
    steps:
      - window: { tumbling: %(window)dms, grace: %(grace)dms, emit: final, late: soak_late }
      - aggregate: { n: count() }
    to: soak_counts
""" % {"app": APP, "window": WINDOW_MS, "grace": GRACE_MS}


def proc_status(pid):
    """(VmRSS KiB, open descriptors, of which segment files of the `soak`
    topic): each segment keeps its .log open, so rolls add descriptors until
    retention deletes old segments; the rest (sockets, metadata, libuv, the
    pipeline's topics, whose 1 GiB segments do not roll in a soak) must stay
    flat."""
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = segs = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        fds += 1
        try:
            path = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            segs += path.endswith(".log") and re.search(r"/soak-[0-9]+/", path) is not None
        except OSError:
            pass
    return rss, fds, segs


def percentile(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


class SoakTest(BrokerTestCase):
    SETTINGS = dict(BrokerTestCase.SETTINGS, **{"log.retention.check.interval.ms": "10000"})

    def find_in_log(self, topic, wanted):
        """Which of wanted (producer, seq) a plain assign-and-read finds."""
        from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "soak-check", "enable.auto.commit": False,
                      "enable.partition.eof": True})
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        found, eof, deadline = set(), set(), time.monotonic() + 120
        while len(eof) < PARTITIONS and time.monotonic() < deadline:
            for m in c.consume(5000, 1.0):
                if m.error():
                    if m.error().code() == -191:
                        eof.add(m.partition())
                    continue
                key = struct.unpack_from(">HI", m.value())
                if key in wanted:
                    found.add(key)
        c.close()
        return found

    def start_pipeline(self):
        """`beck run` against the soak broker, as a user runs it; its pipeline
        file and local state live in the broker's temporary directory."""
        path = os.path.join(self.broker.tmp, "soak-pipeline.yaml")
        with open(path, "w") as f:
            f.write(PIPELINE)
        self.pipeline_log = os.path.join(self.broker.tmp, "beck-run.log")
        with open(self.pipeline_log, "w") as log:
            run = subprocess.Popen([beck_bin(), "run", path, "--bootstrap", self.bootstrap, "--data-dir",
                                    os.path.join(self.broker.tmp, "pipeline-state")],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        self.addCleanup(lambda: run.poll() is not None or (run.kill(), run.wait()))
        return run

    def pipeline_log_tail(self, n=30):
        with open(self.pipeline_log, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def pipeline_progress(self, topic):
        """(records the pipeline has committed, its lag): the committed
        offsets of its consumer group (the application id) against the
        topic's high watermarks, read with confluent-kafka."""
        from confluent_kafka import Consumer, TopicPartition
        if getattr(self, "_progress", None) is None:
            self._progress = Consumer({"bootstrap.servers": self.bootstrap, "group.id": APP,
                                       "enable.auto.commit": False, "log.connection.close": False})
            self.addCleanup(self._progress.close)
        c = self._progress
        done = lag = 0
        for tp in c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10):
            hw = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10, cached=False)[1]
            off = max(tp.offset, 0)
            done += off
            lag += max(0, hw - off)
        return done, lag

    def topic_records(self, topic):
        """The sum of a topic's high watermarks (records ever written)."""
        from confluent_kafka import TopicPartition
        md = self.admin().list_topics(topic, timeout=10).topics[topic]
        return sum(self._progress.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
                   for p in md.partitions)

    def read_all(self, topic):
        """Every record of a 1-partition topic: (key, value, headers, timestamp)."""
        from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "soak-read", "enable.auto.commit": False,
                      "enable.partition.eof": True, "log.connection.close": False})
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        out, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:
                    break
                continue
            out.append((m.key(), m.value(), dict(m.headers() or []), m.timestamp()[1]))
        c.close()
        return out

    def test_soak_reports_rss_and_throughput_drift(self):
        from confluent_kafka import Consumer, Producer
        topic = self.create_topic("soak", PARTITIONS, {"segment.bytes": str(64 << 20),
                                                       "retention.bytes": str(256 << 20)})
        pid = self.broker.proc.pid
        interval = max(5, SECONDS // 30)
        stop = threading.Event()
        lock = threading.Lock()
        cap = RATE * (SECONDS + 60) // PRODUCERS + 1
        acked = [bytearray(cap // 8 + 1) for _ in range(PRODUCERS)]
        seen = [bytearray(cap // 8 + 1) for _ in range(PRODUCERS)]
        stats = {"acked": 0, "errors": [], "consumed": 0, "dups": 0, "lat": [], "sent": [0] * PRODUCERS}
        per_window = {}  # (key, window start ms) -> acknowledged records
        last_ts = [0] * PARTITIONS  # the latest acknowledged timestamp per partition
        run = self.start_pipeline()

        def producer(k):
            p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "acks": "all",
                          "linger.ms": 5, "log.connection.close": False})
            per = RATE / PRODUCERS
            t0 = time.monotonic()
            seq = 0

            def dr(err, msg):
                pk, s = struct.unpack_from(">HI", msg.value())
                if err is not None:
                    with lock:
                        stats["errors"].append(str(err))
                    return
                lat = time.monotonic() - struct.unpack_from(">d", msg.value(), 6)[0]
                ts = msg.timestamp()[1]
                w = (msg.key(), ts - ts % WINDOW_MS)
                with lock:
                    acked[pk][s >> 3] |= 1 << (s & 7)
                    stats["acked"] += 1
                    stats["lat"].append(lat)
                    per_window[w] = per_window.get(w, 0) + 1
                    last_ts[msg.partition()] = max(last_ts[msg.partition()], ts)

            while not stop.is_set():
                due = int((time.monotonic() - t0) * per)
                while seq < due and seq < cap - 1:
                    v = struct.pack(">HId", k, seq, time.monotonic()) + VALUE_PAD
                    j = seq % KEYS
                    try:
                        p.produce(topic, v, key=b"k%02d" % j, partition=j % PARTITIONS,
                                  timestamp=int(time.time() * 1000), on_delivery=dr)
                    except BufferError:
                        p.poll(0.01)
                        continue
                    seq += 1
                p.poll(0.005)
            stats["sent"][k] = seq
            left = p.flush(60)
            if left:
                with lock:
                    stats["errors"].append("%d records not delivered at the end" % left)

        def consumer():
            c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "soak", "auto.offset.reset": "earliest",
                          "enable.auto.commit": True, "log.connection.close": False})
            c.subscribe([topic])
            idle_since = None  # when the producers were done
            while True:
                # poll(), not consume(n): librdkafka 2.0.2's batch API stores offsets of messages it then drops
                # at a rebalance, so a group member skips them (fixed in librdkafka 2.1.0, PR #4208)
                m = c.poll(0.5)
                for m in [m] if m is not None else []:
                    if m.error():
                        continue
                    pk, s = struct.unpack_from(">HI", m.value())
                    with lock:
                        if seen[pk][s >> 3] & (1 << (s & 7)):
                            stats["dups"] += 1
                        seen[pk][s >> 3] |= 1 << (s & 7)
                        stats["consumed"] += 1
                if producers_done.is_set():
                    with lock:
                        complete = stats["consumed"] - stats["dups"] >= stats["acked"]
                    if idle_since is None:
                        idle_since = time.monotonic()
                    if complete or time.monotonic() - idle_since > 120:
                        break
            c.close()

        producers_done = threading.Event()
        ps = [threading.Thread(target=producer, args=(k,)) for k in range(PRODUCERS)]
        cs = [threading.Thread(target=consumer) for _ in range(CONSUMERS)]
        for t in cs + ps:
            t.start()
        rows = []
        t0 = time.monotonic()
        last_acked, last_consumed, last_t = 0, 0, t0
        last_done = 0
        while time.monotonic() - t0 < SECONDS:
            time.sleep(interval - ((time.monotonic() - t0) % interval))
            now = time.monotonic()
            rss, fds, segs = proc_status(pid)
            if run.poll() is None:
                prss, pfds, _ = proc_status(run.pid)
            else:
                prss = pfds = 0
            done, lag = self.pipeline_progress(topic)
            with lock:
                a, c, lat = stats["acked"], stats["consumed"], stats["lat"]
                stats["lat"] = []
            rows.append({"t": now - t0, "rss": rss, "fds": fds, "segs": segs, "other": fds - segs, "prod": (a - last_acked) / (now - last_t),
                         "cons": (c - last_consumed) / (now - last_t), "p50": percentile(lat, 0.5) * 1000,
                         "p99": percentile(lat, 0.99) * 1000,
                         "prss": prss, "pfds": pfds, "pipe": (done - last_done) / (now - last_t), "lag": lag})
            last_acked, last_consumed, last_t, last_done = a, c, now, done
            r = rows[-1]
            sys.stderr.write("soak %5.0fs  RSS %7d KiB  fds %4d (segments %3d)  produced %7.0f/s  consumed %7.0f/s  "
                             "ack p50 %6.1f ms  p99 %6.1f ms\n" % (r["t"], r["rss"], r["fds"], r["segs"], r["prod"],
                                                                   r["cons"], r["p50"], r["p99"]))
            sys.stderr.write("      pipeline RSS %7d KiB  fds %4d  processed %7.0f/s  lag %8d%s\n" %
                             (r["prss"], r["pfds"], r["pipe"], r["lag"],
                              "" if run.poll() is None else "  (beck run exited %s)" % run.returncode))
        stop.set()
        t_stop = time.monotonic()
        for t in ps:
            t.join(120)
        producers_done.set()
        for t in cs:
            t.join(180)
        # the pipeline catches up, then stops cleanly on SIGTERM
        done, lag = self.pipeline_progress(topic)
        while lag and run.poll() is None and time.monotonic() - t_stop < 180:
            time.sleep(0.5)
            done, lag = self.pipeline_progress(topic)
        catch_up = time.monotonic() - t_stop
        time.sleep(2)  # a commit interval or two: the windows the last records closed are written
        alive = run.poll() is None
        if alive:
            run.send_signal(signal.SIGTERM)
        try:
            rc = run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
            rc = "hung after SIGTERM (killed)"

        self.assertEqual(stats["errors"], [])
        missing, first_missing = 0, []
        for k in range(PRODUCERS):
            for i, (a, s) in enumerate(zip(acked[k], seen[k])):
                if a & ~s:
                    missing += bin(a & ~s).count("1")
                    first_missing += [(k, i * 8 + b) for b in range(8) if (a & ~s) >> b & 1][:5]
        if missing:  # tell a lost record from a consumer that missed it: read the log itself
            in_log = self.find_in_log(topic, set(first_missing[:20]))
            sys.stderr.write("missing (producer, seq) %s; found by a plain read of the log: %s\n" %
                             (first_missing[:20], sorted(in_log)))
        warm = rows[max(0, len(rows) // 10)]
        end = rows[-1]
        line = ("soak %d s at %d records/s target: %d records acknowledged, %d consumed, %d missing, %d duplicates; "
                "broker RSS %d KiB after warm-up -> %d KiB at the end (%+d KiB, peak %d KiB), descriptors other than "
                "segments %d -> %d (segments %d -> %d, at most %d); throughput %.0f/s -> %.0f/s, ack p50 %.1f -> "
                "%.1f ms, p99 %.1f -> %.1f ms" %
                (SECONDS, RATE, stats["acked"], stats["consumed"], missing, stats["dups"], warm["rss"], end["rss"],
                 end["rss"] - warm["rss"], max(r["rss"] for r in rows), warm["other"], end["other"], warm["segs"],
                 end["segs"], max(r["segs"] for r in rows), warm["prod"], end["prod"], warm["p50"], end["p50"],
                 warm["p99"], end["p99"]))
        sys.stderr.write(line + "\n")

        # the pipeline's output, read back by an independent client
        closed_before = min(last_ts) - GRACE_MS  # every task has seen a record this late: these windows closed
        out = self.read_all("soak_counts")
        late = self.read_all("soak_late")
        final, emissions = {}, 0
        for key, value, headers, ts in out:
            w = (key, int(headers["beck.window.start"]))
            final[w] = json.loads(value)["n"]  # the last one written counts
            emissions += 1
        expected = {w: n for w, n in per_window.items() if w[1] + WINDOW_MS < closed_before}
        absent = sorted(w for w in expected if w not in final)
        short = sorted((w, final[w], per_window.get(w, 0)) for w in final if final[w] < per_window.get(w, 0))
        excess = sum(max(0, final[w] - per_window.get(w, 0)) for w in final)
        unknown = sorted(w for w in final if w not in per_window)
        counted = sum(final.values())
        input_in = sum(per_window.get(w, 0) for w in final)
        pwarm = rows[max(0, len(rows) // 10)]
        changelog = self.topic_records(APP + "-per-key-aggregate-changelog")
        pline = ("soak pipeline (beck run --bootstrap, tumbling %d s per key): RSS %d KiB at the first sample, %d KiB "
                 "after warm-up -> %d KiB at the end (%+d KiB, peak %d KiB), descriptors %d -> %d; processed %.0f/s "
                 "-> %.0f/s (lag %d -> %d, at most %d), caught up %.1f s after the producers stopped, exit %s; "
                 "%d windows emitted (%d emissions, %d expected closed, %d missing, %d short, %d unknown), "
                 "%d records counted for %d input records in them (excess %d), %d late; %d changelog records" %
                 (WINDOW_MS // 1000, rows[0]["prss"], pwarm["prss"], end["prss"], end["prss"] - pwarm["prss"],
                  max(r["prss"] for r in rows), pwarm["pfds"], end["pfds"], pwarm["pipe"], end["pipe"], pwarm["lag"],
                  end["lag"], max(r["lag"] for r in rows), catch_up, rc, len(final), emissions, len(expected),
                  len(absent), len(short), len(unknown), counted, input_in, excess, len(late), changelog))
        sys.stderr.write("beck run's last lines:\n%s" % self.pipeline_log_tail(3))
        sys.stderr.write(pline + "\n")
        if absent or short or unknown or rc != 0:
            sys.stderr.write("missing windows %s; short (window, counted, input) %s; unknown %s\nbeck run's stderr:\n%s\n" %
                             (absent[:10], short[:10], unknown[:10], self.pipeline_log_tail()))
        if os.environ.get("BECK_FIGURES"):
            with open(os.environ["BECK_FIGURES"], "a") as f:
                f.write(line + "\n" + pline + "\n")
        self.assertEqual(missing, 0, line)
        self.assertLess(end["rss"] - warm["rss"], 32 * 1024, line)
        self.assertLessEqual(end["other"], warm["other"] + 8, line)
        self.assertLessEqual(max(r["segs"] for r in rows), PARTITIONS * 8, line)  # retention keeps ~5 per partition
        self.assertGreater(end["prod"], RATE * 0.5, line)
        self.assertTrue(alive, "beck run exited during the soak (%s)\n%s" % (rc, self.pipeline_log_tail()))
        self.assertEqual(lag, 0, pline)
        self.assertEqual(rc, 0, pline)
        self.assertEqual(absent, [], pline)
        self.assertEqual(short, [], pline)
        self.assertEqual(unknown, [], pline)
        self.assertEqual(len(late), 0, pline)
        self.assertLess(end["prss"] - pwarm["prss"], 32 * 1024, pline)


if __name__ == "__main__":
    main()
