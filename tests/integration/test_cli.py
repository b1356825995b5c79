#!/usr/bin/python3
"""The `beck` command line (topic, produce, consume, group, cluster) against
the real broker, each effect checked through an independent client:
confluent-kafka (librdkafka through Python) and kcat; partition sizes
against the files in the broker's data dir and kafka-python.

Every command runs as a subprocess with -b pointing at the test's broker.
Tables are parsed by their two-space column gaps and compared with the
--output json of the same command, so both views hold the same values.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import json  # noqa: E402
import pty  # noqa: E402
import re  # noqa: E402
import select  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from beckit import REPO, Broker, BrokerTestCase, beck_bin, fetch_batches, free_port, main  # noqa: E402

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import ConfigResource  # noqa: E402

COMPLETION = os.path.join(REPO, "cli", "completion", "beck.bash")


def parse_table(text):
    """Rows of an aligned table (header line first) as dicts."""
    lines = [l.strip() for l in text.strip("\n").splitlines() if l.strip()]
    head = re.split(r"\s{2,}", lines[0])
    rows = []
    for l in lines[1:]:
        cells = re.split(r"\s{2,}", l)
        rows.append(dict(zip(head, cells + [""] * (len(head) - len(cells)))))
    return rows


def sections(text):
    """A describe-style output: {"": key/value block, "NAME": table text}."""
    out, name, buf = {}, "", []
    for line in text.splitlines():
        if line and not line.startswith(" ") and re.fullmatch(r"[A-Z][A-Z ]*", line.strip()):
            out[name] = "\n".join(buf)
            name, buf = line.strip(), []
        else:
            buf.append(line)
    out[name] = "\n".join(buf)
    return out


def kv_block(text):
    d = {}
    for line in text.strip("\n").splitlines():
        if line.strip():
            k, v = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            d[k] = v
    return d


def num(cell):
    return None if cell == "-" else int(cell)


def human_bytes(n):
    """What `topic describe` prints in SIZE (docs/cli.md)."""
    if n < 1024:
        return "%d B" % n
    x, units, u = n / 1024, ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"], 0
    while x >= 1024 and u + 1 < len(units):
        x, u = x / 1024, u + 1
    return "%.1f %s" % (x, units[u])


def segment_bytes(data_dir, topic, partition):
    """Sum of the segment files (*.log) in a partition's directory, and how many."""
    d = os.path.join(data_dir, "%s-%d" % (topic, partition))
    logs = [f for f in os.listdir(d) if f.endswith(".log")]
    return sum(os.path.getsize(os.path.join(d, f)) for f in logs), len(logs)


def kafka_python_log_dirs(bootstrap, topics):
    """DescribeLogDirs v1 sent and parsed by kafka-python, to every broker:
    {(dir, topic, partition): size} of the current (not future) replicas.
    topics: None for everything, else [(topic, [partitions])].

    kafka-python 2.0.2 (Debian) has no describe_log_dirs() (added in 2.1):
    the v1 request and response are declared here from the apache/kafka
    spec with kafka-python's protocol types, and KafkaAdminClient encodes,
    frames, sends and decodes them."""
    from kafka.admin import KafkaAdminClient
    from kafka.protocol.api import Request, Response
    from kafka.protocol.types import Array, Boolean, Int16, Int32, Int64, Schema, String

    class DescribeLogDirsResponse_v1(Response):
        API_KEY = 35
        API_VERSION = 1
        SCHEMA = Schema(("throttle_time_ms", Int32),
                        ("results", Array(("error_code", Int16), ("log_dir", String("utf-8")),
                                          ("topics", Array(("name", String("utf-8")),
                                                           ("partitions", Array(("partition_index", Int32),
                                                                                ("partition_size", Int64),
                                                                                ("offset_lag", Int64),
                                                                                ("is_future_key", Boolean))))))))

    class DescribeLogDirsRequest_v1(Request):
        API_KEY = 35
        API_VERSION = 1
        RESPONSE_TYPE = DescribeLogDirsResponse_v1
        SCHEMA = Schema(("topics", Array(("topic", String("utf-8")), ("partitions", Array(Int32)))))

    a = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        sizes = {}
        for node in a._client.cluster.brokers():
            f = a._send_request_to_node(node.nodeId, DescribeLogDirsRequest_v1(topics))
            a._wait_for_futures([f])
            for err, log_dir, dir_topics in f.value.results:
                assert err == 0, "log dir %s: error %d" % (log_dir, err)
                for name, parts in dir_topics:
                    for index, size, lag, future in parts:
                        if not future:
                            sizes[(log_dir, name, index)] = size
        return sizes
    finally:
        a.close()


class DroppingProxy:
    """A TCP relay to a broker that closes a connection at its first request
    of one API key, the way a Kafka broker treats an API it does not know."""

    def __init__(self, drop_key):
        self.drop_key, self.target, self.dropped = drop_key, None, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _relay(self, client):
        upstream = socket.create_connection(("127.0.0.1", self.target))
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        buf = b""
        try:
            while True:
                d = client.recv(65536)
                if not d:
                    break
                buf += d
                while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">i", buf[:4])[0]:
                    n = 4 + struct.unpack(">i", buf[:4])[0]
                    frame, buf = buf[:n], buf[n:]
                    if struct.unpack(">h", frame[4:6])[0] == self.drop_key:
                        self.dropped += 1
                        raise ConnectionAbortedError
                    upstream.sendall(frame)
        except OSError:
            pass
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class CliTest(BrokerTestCase):
    # ---- running beck ------------------------------------------------------

    def beck(self, *args, input=None, env=None, bootstrap=True, expect=0, timeout=60):
        cmd = [beck_bin()] + list(args)
        if bootstrap:
            cmd += ["-b", self.bootstrap]
        e = dict(os.environ)
        e.pop("BECK_BOOTSTRAP", None)
        e.update(env or {})
        r = subprocess.run(cmd, input=input.encode() if isinstance(input, str) else input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=e, timeout=timeout)
        r.out = r.stdout.decode("utf-8", "replace")
        r.err = r.stderr.decode("utf-8", "replace")
        if expect is not None:
            self.assertEqual(r.returncode, expect, "beck %s exited %d\nstdout:\n%s\nstderr:\n%s" %
                             (" ".join(args), r.returncode, r.out, r.err))
        return r

    def beck_json(self, *args, **kw):
        return json.loads(self.beck(*(list(args) + ["--output", "json"]), **kw).out)

    def group_consumer(self, group, **conf):
        c = Consumer(dict({"bootstrap.servers": self.bootstrap, "group.id": group, "enable.auto.commit": False,
                           "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                           "heartbeat.interval.ms": 300}, **conf))
        self.addCleanup(self._close, c)
        return c

    def _close(self, c):
        try:
            c.close()
        except RuntimeError:
            pass

    def committed(self, group, topic, partitions):
        c = self.group_consumer(group)
        got = c.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return {tp.partition: tp.offset for tp in got}

    def watermarks(self, topic, partitions):
        c = self.group_consumer("wm-" + topic)
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions}

    def topic_configs(self, topic):
        res = ConfigResource(ConfigResource.Type.TOPIC, topic)
        entries = self.admin().describe_configs([res])[res].result(timeout=15)
        return {k: e.value for k, e in entries.items()}

    def topic_partitions(self, topic):
        md = self.admin().list_topics(timeout=10)
        t = md.topics.get(topic)
        return None if t is None or t.error is not None else len(t.partitions)

    # ---- topic ---------------------------------------------------------------

    def test_topic_create_sets_partitions_and_configs(self):
        a, b = self.topic_name("a"), self.topic_name("b")
        r = self.beck("topic", "create", a, b, "-p", "3", "-c", "retention.ms=3600000", "--config",
                      "cleanup.policy=compact")
        rows = parse_table(r.out)
        self.assertEqual([(x["TOPIC"], x["STATUS"]) for x in rows], [(a, "created"), (b, "created")])
        for t in (a, b):
            self.assertEqual(self.topic_partitions(t), 3)
            cfg = self.topic_configs(t)
            self.assertEqual(cfg["retention.ms"], "3600000")
            self.assertEqual(cfg["cleanup.policy"], "compact")
        # default partition count is the broker's num.partitions (1 here)
        c = self.topic_name("c")
        j = self.beck_json("topic", "create", c)
        self.assertEqual(j, {"topics": [{"topic": c, "ok": True, "error": None}]})
        self.assertEqual(self.topic_partitions(c), 1)

    def test_topic_create_dry_run_creates_nothing(self):
        t = self.topic_name()
        r = self.beck("topic", "create", t, "-p", "2", "--dry-run")
        self.assertIn("dry run", r.out)
        self.assertIsNone(self.topic_partitions(t))

    def test_topic_create_existing_fails_with_hint(self):
        t = self.create_topic(self.topic_name(), 2)
        new = self.topic_name("new")
        r = self.beck("topic", "create", t, new, expect=1)
        rows = {x["TOPIC"]: x["STATUS"] for x in parse_table(r.out)}
        self.assertTrue(rows[t].startswith("TOPIC_ALREADY_EXISTS"), rows)
        self.assertEqual(rows[new], "created")
        self.assertIn("beck topic describe", r.err)
        j = self.beck_json("topic", "create", t, expect=1)
        self.assertEqual(j["topics"][0]["error"]["code"], "TOPIC_ALREADY_EXISTS")
        self.assertFalse(j["topics"][0]["ok"])

    def test_topic_list_table_and_json_agree(self):
        a = self.create_topic(self.topic_name("a"), 3)
        b = self.create_topic(self.topic_name("b"), 1)
        table = {x["NAME"]: x for x in parse_table(self.beck("topic", "list").out)}
        j = {x["name"]: x for x in self.beck_json("topic", "list")["topics"]}
        md = self.admin().list_topics(timeout=10)
        for t in (a, b):
            self.assertEqual(int(table[t]["PARTITIONS"]), len(md.topics[t].partitions))
            self.assertEqual(j[t]["partitions"], len(md.topics[t].partitions))
            self.assertEqual(int(table[t]["REPLICAS"]), j[t]["replication_factor"])
        self.assertEqual(set(table), set(j))
        self.assertEqual(sorted(table), list(table), "sorted by name")
        # -q and glob patterns
        names = self.beck("topic", "list", "-q", self.topic_name()[:-1] + "*").out.split()
        self.assertIn(a, names)
        self.assertIn(b, names)
        self.assertEqual(self.beck("topic", "list", "-q", a).out, a + "\n")

    def test_topic_describe_shows_offsets_and_configs(self):
        t = self.create_topic(self.topic_name(), 3, {"retention.ms": "7200000"})
        self.produce(t, [{"value": b"v%d" % i, "partition": i % 3} for i in range(10)])
        wm = self.watermarks(t, range(3))
        j = self.beck_json("topic", "describe", t)["topics"][0]
        self.assertEqual((j["name"], j["partition_count"], j["replication_factor"]), (t, 3, 1))
        self.assertEqual([(p["partition"], p["start_offset"], p["end_offset"]) for p in j["partitions"]],
                         [(p, wm[p][0], wm[p][1]) for p in range(3)])
        self.assertEqual([p["end_offset"] for p in j["partitions"]], [4, 3, 3])
        for p in j["partitions"]:
            self.assertEqual((p["leader"], p["replicas"], p["isr"]), (0, [0], [0]))
        cfg = {c["name"]: c for c in j["configs"]}
        self.assertEqual((cfg["retention.ms"]["value"], cfg["retention.ms"]["source"]), ("7200000", "topic"))
        self.assertEqual(cfg["cleanup.policy"]["source"], "default")
        self.assertEqual({k: v["value"] for k, v in cfg.items()}, self.topic_configs(t))

        # the table holds the same values
        s = sections(self.beck("topic", "describe", t).out)
        self.assertEqual(kv_block(s[""]), {"NAME": t, "PARTITIONS": "3", "REPLICAS": "1"})
        self.assertEqual({r["KEY"]: (r["VALUE"], r["SOURCE"]) for r in parse_table(s["CONFIGS"])},
                         {k: (v["value"], v["source"]) for k, v in cfg.items()})
        self.assertEqual([(int(r["PARTITION"]), int(r["LEADER"]), r["REPLICAS"], r["ISR"], num(r["START-OFFSET"]),
                           num(r["END-OFFSET"])) for r in parse_table(s["PARTITIONS"])],
                         [(p["partition"], p["leader"], "[0]", "[0]", p["start_offset"], p["end_offset"])
                          for p in j["partitions"]])
        # one section only
        only = self.beck("topic", "describe", t, "--partitions").out
        self.assertTrue(only.startswith("PARTITIONS\n"), only)
        self.assertNotIn("CONFIGS", only)

    def test_topic_describe_size_is_the_segment_bytes_on_disk(self):
        # partition 0: three small records (under 1 KiB); partition 1: six
        # batches of ~1.7 KiB with segment.bytes=1024, so several segment
        # files; partition 2: nothing (an empty active segment)
        t = self.create_topic(self.topic_name(), 3, {"segment.bytes": "1024"})
        self.produce(t, [{"value": b"small-%d" % i, "key": b"k", "partition": 0} for i in range(3)])
        for chunk in range(6):
            self.produce(t, [{"value": (b"%03d-" % (10 * chunk + i)) * 40, "partition": 1} for i in range(10)])
        on_disk, files = {}, {}
        for p in range(3):
            on_disk[p], files[p] = segment_bytes(self.broker.data_dir, t, p)
        self.assertTrue(0 < on_disk[0] < 1024, on_disk)
        self.assertGreater(files[1], 2, "partition 1 spans several segments")
        self.assertGreater(on_disk[1], 6 * 1600)
        self.assertEqual(on_disk[2], 0)

        j = self.beck_json("topic", "describe", t)["topics"][0]
        self.assertEqual({p["partition"]: p["size_bytes"] for p in j["partitions"]}, on_disk)
        r = self.beck("topic", "describe", t, "--partitions")
        self.assertEqual(r.err, "")
        rows = parse_table(sections(r.out)["PARTITIONS"])
        self.assertEqual([(int(row["PARTITION"]), row["SIZE"]) for row in rows],
                         [(p, human_bytes(on_disk[p])) for p in range(3)])
        self.assertEqual(rows[0]["SIZE"], "%d B" % on_disk[0])
        self.assertRegex(rows[1]["SIZE"], r"^[0-9]+\.[0-9] KiB$")

        # kafka-python's own encoding of DescribeLogDirs v1 reads the same
        # sizes, asked for these partitions and asked for everything
        data_dir = os.path.realpath(self.broker.data_dir)
        want = {(data_dir, t, p): n for p, n in on_disk.items()}
        self.assertEqual(kafka_python_log_dirs(self.bootstrap, [(t, [0, 1, 2])]), want)
        everything = kafka_python_log_dirs(self.bootstrap, None)
        self.assertEqual({k: v for k, v in everything.items() if k[1] == t}, want)
        self.assertEqual(kafka_python_log_dirs(self.bootstrap, [(t, [2, 7]), ("no-such-topic", [0])]),
                         {(data_dir, t, 2): 0})

        # appending grows the size by exactly the bytes written
        self.produce(t, [{"value": b"more", "partition": 0}])
        grown, _ = segment_bytes(self.broker.data_dir, t, 0)
        self.assertGreater(grown, on_disk[0])
        j = self.beck_json("topic", "describe", t, "--partitions")["topics"][0]
        self.assertEqual(j["partitions"][0]["size_bytes"], grown)

    def test_topic_describe_size_unknown_when_the_broker_lacks_describe_log_dirs(self):
        # a broker whose advertised address is a relay that drops API 35
        # connections: what `beck topic describe` meets on a cluster
        # without DescribeLogDirs
        proxy = DroppingProxy(35)
        self.addCleanup(proxy.close)
        b = Broker({"advertise": "127.0.0.1:%d" % proxy.port})
        self.addCleanup(b.cleanup)
        b.start()
        proxy.target = b.port

        def beck(*args, **kw):
            return self.beck(*(list(args) + ["-b", b.bootstrap]), bootstrap=False, **kw)

        t = self.topic_name()
        beck("topic", "create", t, "-p", "2")
        beck("produce", t, "-p", "0", input="a\nb\n")
        r = beck("topic", "describe", t, "--partitions")
        rows = parse_table(sections(r.out)["PARTITIONS"])
        self.assertEqual([(row["END-OFFSET"], row["SIZE"]) for row in rows], [("2", "-"), ("0", "-")])
        lines = r.err.splitlines()
        self.assertEqual(len(lines), 1, r.err)  # said once, not per partition
        self.assertIn("partition sizes unknown", lines[0])
        self.assertIn("does not support DescribeLogDirs (API 35)", lines[0])
        r = beck("topic", "describe", t, "--json")
        j = json.loads(r.out)["topics"][0]
        self.assertEqual([(p["end_offset"], p["size_bytes"]) for p in j["partitions"]], [(2, None), (0, None)])
        self.assertEqual(len(r.err.splitlines()), 1, r.err)
        self.assertEqual(proxy.dropped, 2)
        b.stop()

    def test_topic_describe_missing_topic_fails(self):
        r = self.beck("topic", "describe", "no-such-topic-here", expect=1)
        self.assertIn("topic 'no-such-topic-here' does not exist", r.err)
        self.assertIn("beck topic list", r.err)

    def test_topic_alter_changes_only_named_settings(self):
        t = self.create_topic(self.topic_name(), 1, {"retention.ms": "3600000", "segment.ms": "60000"})
        r = self.beck("topic", "alter", t, "-c", "max.message.bytes=2000000", "-c", "retention.ms=1000")
        self.assertEqual([(x["KEY"], x["OLD"], x["NEW"]) for x in parse_table(r.out)],
                         [("max.message.bytes", "1048588", "2000000"), ("retention.ms", "3600000", "1000")])
        cfg = self.topic_configs(t)
        self.assertEqual((cfg["max.message.bytes"], cfg["retention.ms"], cfg["segment.ms"]),
                         ("2000000", "1000", "60000"))
        j = self.beck_json("topic", "alter", t, "--delete", "retention.ms")
        self.assertEqual(j, {"topic": t, "dry_run": False,
                             "changes": [{"name": "retention.ms", "old": "1000", "new": "604800000"}]})
        cfg = self.topic_configs(t)
        self.assertEqual((cfg["max.message.bytes"], cfg["retention.ms"], cfg["segment.ms"]),
                         ("2000000", "604800000", "60000"))
        # dry run: nothing changes
        self.beck("topic", "alter", t, "-c", "segment.ms=5000", "--dry-run")
        self.assertEqual(self.topic_configs(t)["segment.ms"], "60000")
        # a bad key fails, names it, changes nothing
        r = self.beck("topic", "alter", t, "-c", "no.such.setting=1", expect=1)
        self.assertIn("no.such.setting", r.err)
        self.assertEqual(self.topic_configs(t)["segment.ms"], "60000")
        r = self.beck("topic", "alter", t, expect=2)
        self.assertIn("nothing to change", r.err)

    def test_topic_delete_removes_topics(self):
        a = self.create_topic(self.topic_name("a"))
        b = self.create_topic(self.topic_name("b"))
        r = self.beck("topic", "delete", a, b)
        self.assertEqual({x["TOPIC"]: x["STATUS"] for x in parse_table(r.out)}, {a: "deleted", b: "deleted"})
        md = self.admin().list_topics(timeout=10)
        self.assertNotIn(a, md.topics)
        self.assertNotIn(b, md.topics)
        j = self.beck_json("topic", "delete", a, expect=1)
        self.assertEqual(j["topics"][0]["error"]["code"], "UNKNOWN_TOPIC_OR_PART")

    def test_topic_add_partitions(self):
        t = self.create_topic(self.topic_name(), 2)
        r = self.beck("topic", "add-partitions", t, "--to", "4")
        self.assertIn("2 -> 4 partitions", r.out)
        self.assertEqual(self.topic_partitions(t), 4)
        j = self.beck_json("topic", "add-partitions", t, "--add", "1")
        self.assertEqual(j["topics"][0], {"topic": t, "ok": True, "partitions_before": 4, "partitions": 5,
                                          "error": None})
        self.assertEqual(self.topic_partitions(t), 5)
        r = self.beck("topic", "add-partitions", t, "--to", "3", expect=1)
        self.assertIn("has 5 partitions already", r.err)
        self.assertEqual(self.topic_partitions(t), 5)

    # ---- produce -------------------------------------------------------------

    def test_produce_records_arrive_with_keys_and_headers(self):
        t = self.create_topic(self.topic_name(), 3)
        lines = ["user%d:event %d" % (i % 5, i) for i in range(30)] + ["no separator here", ""]
        j = self.beck_json("produce", t, "-K", ":", "-H", "source=cli", "-H", "run=7",
                           input="\n".join(lines) + "\n")
        self.assertEqual((j["topic"], j["records"], j["acknowledged"], j["failed"], j["error"]),
                         (t, 32, 32, 0, None))
        got = self.kcat_consume_json(t)
        self.assertEqual(len(got), 32)
        def order(kv):
            return (kv[0] is not None, kv[0] or "", kv[1])

        want = sorted(((l.split(":", 1)[0] if ":" in l else None, l.split(":", 1)[1] if ":" in l else l)
                       for l in lines), key=order)
        self.assertEqual(sorted(((m["key"], m["payload"]) for m in got), key=order), want)
        for m in got:
            self.assertEqual(m["headers"], ["source", "cli", "run", "7"])
        # one key, one partition (the default partitioner hashes the key)
        by_key = {}
        for m in got:
            by_key.setdefault(m["key"], set()).add(m["partition"])
        for k, parts in by_key.items():
            if k is not None:
                self.assertEqual(len(parts), 1, k)
        # the summary names the offsets kcat sees
        seen = {}
        for m in got:
            seen.setdefault(m["partition"], []).append(m["offset"])
        self.assertEqual({p["partition"]: (p["records"], p["first_offset"], p["last_offset"]) for p in j["partitions"]},
                         {p: (len(o), min(o), max(o)) for p, o in seen.items()})
        # the table says the same
        r = self.beck("produce", t, "-p", "2", input="x\n")
        self.assertEqual(r.out.splitlines()[0], "1 record acknowledged by %s" % t)
        self.assertEqual(parse_table("\n".join(r.out.splitlines()[1:])),
                         [{"PARTITION": "2", "RECORDS": "1", "FIRST-OFFSET": str(len(seen.get(2, []))),
                           "LAST-OFFSET": str(len(seen.get(2, [])))}])

    def test_produce_to_partition_with_compression_and_fixed_key(self):
        t = self.create_topic(self.topic_name(), 3)
        data = "".join("line %d\n" % i for i in range(200))
        f = os.path.join(self.broker.tmp, "in.txt")
        with open(f, "w") as fh:
            fh.write(data)
        j = self.beck_json("produce", t, "-f", f, "-p", "1", "-z", "gzip", "-k", "k1", "--acks", "1")
        self.assertEqual((j["acknowledged"], j["partitions"][0]["partition"], j["partitions"][0]["records"]),
                         (200, 1, 200))
        err, hw, batches = fetch_batches(self.bootstrap, t, 1)
        self.assertEqual((err, hw), (0, 200))
        self.assertEqual({b["codec"] for b in batches}, {"gzip"})
        got = self.kcat_consume_json(t, partition=1)
        self.assertEqual([m["payload"] for m in got], ["line %d" % i for i in range(200)])
        self.assertEqual({m["key"] for m in got}, {"k1"})
        self.assertEqual(self.watermarks(t, [0, 2]), {0: (0, 0), 2: (0, 0)})

    def test_produce_errors(self):
        r = self.beck("produce", "missing-topic-x", input="a\n", expect=1)
        self.assertIn("topic 'missing-topic-x' does not exist", r.err)
        self.assertIn("beck topic create missing-topic-x", r.err)
        t = self.create_topic(self.topic_name(), 2)
        r = self.beck("produce", t, "-p", "2", input="a\n", expect=1)
        self.assertIn("no partition 2", r.err)
        r = self.beck("produce", t, "-z", "brotli", input="a\n", expect=2)
        self.assertIn("--compression", r.err)
        r = self.beck("produce", t, "-f", "/nonexistent/file", expect=1)
        self.assertIn("cannot open /nonexistent/file", r.err)
        self.assertEqual(self.watermarks(t, [0, 1]), {0: (0, 0), 1: (0, 0)})

    def test_produce_progress_on_terminal_only(self):
        t = self.create_topic(self.topic_name())
        # a pipe: nothing on stderr
        r = self.beck("produce", t, input="".join("%d\n" % i for i in range(5000)))
        self.assertEqual(r.err, "")
        # stderr a terminal, input a pipe that trickles for ~1.6 s: a progress line
        master, slave = pty.openpty()
        p = subprocess.Popen([beck_bin(), "produce", t, "-b", self.bootstrap], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        for i in range(16):
            p.stdin.write(b"".join(b"r%d-%d\n" % (i, k) for k in range(100)))
            p.stdin.flush()
            time.sleep(0.1)
        p.stdin.close()
        out = p.stdout.read().decode()
        p.stdout.close()
        p.wait(30)
        err = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("1,600 records acknowledged", out)
        self.assertIn(b"producing:", err)
        self.assertIn(b"records/s", err)
        self.assertTrue(err.endswith(b"\r\x1b[K"), "the meter erases itself: %r" % err[-40:])
        self.assertEqual(self.watermarks(t, [0])[0], (0, 6600))

    def test_produce_from_a_terminal_acknowledges_each_line(self):
        t = self.create_topic(self.topic_name())
        master, slave = pty.openpty()
        p = subprocess.Popen([beck_bin(), "produce", t, "-b", self.bootstrap, "-K", ":"], stdin=slave,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(slave)
        os.write(master, b"k1:first\n")
        line = p.stdout.readline()
        self.assertEqual(line, b"acknowledged: partition 0 offset 0\n")  # before the next line is typed
        os.write(master, b"k2:second\n\x04")  # Ctrl-D ends the input
        out, err = p.communicate(timeout=30)
        p.stdout.close()
        os.close(master)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.decode().splitlines()[:2],
                         ["acknowledged: partition 0 offset 1", "2 records acknowledged by %s" % t])
        self.assertEqual([(m["key"], m["payload"]) for m in self.kcat_consume_json(t)],
                         [("k1", "first"), ("k2", "second")])

    # ---- consume -------------------------------------------------------------

    def kcat_produce(self, topic, lines, *args):
        r = self.kcat("-P", "-t", topic, *args, input=("\n".join(lines) + "\n").encode())
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_consume_matches_what_kcat_produced(self):
        t = self.create_topic(self.topic_name(), 3)
        for p in range(3):
            self.kcat_produce(t, ["k%d-%d:value-%d-%d" % (p, i, p, i) for i in range(7)], "-K", ":", "-p", str(p),
                              "-H", "h1=a", "-H", "h2=b")
        theirs = self.kcat("-C", "-t", t, "-e", "-q", "-f", "%k %s %p %o %T %h\n")
        self.assertEqual(theirs.returncode, 0)
        ours = self.beck("consume", t, "-e", "--format", "%k %v %p %o %t %h")
        self.assertEqual(sorted(ours.out.splitlines()), sorted(theirs.stdout.decode().splitlines()))
        self.assertEqual(len(ours.out.splitlines()), 21)
        # per partition in offset order
        for p in range(3):
            offs = [int(l.split()[3]) for l in ours.out.splitlines() if int(l.split()[2]) == p]
            self.assertEqual(offs, list(range(7)))
        # JSON lines hold the same as kcat -J
        js = [json.loads(l) for l in self.beck("consume", t, "-e", "--json").out.splitlines()]
        kj = self.kcat_consume_json(t)
        self.assertEqual(sorted((m["partition"], m["offset"], m["key"], m["value"], m["timestamp"],
                                 [x for h in m["headers"] for x in (h["key"], h["value"])]) for m in js),
                         sorted((m["partition"], m["offset"], m["key"], m["payload"], m["ts"], m["headers"])
                                for m in kj))
        self.assertEqual({m["topic"] for m in js}, {t})

    def test_consume_json_keeps_binary_exact(self):
        t = self.create_topic(self.topic_name(), 1)
        self.produce(t, [{"value": b"\xff\x00\x01", "key": b"\xc3\xa9t\xc3\xa9", "headers": [("bin", b"\x80")]},
                         {"value": None, "key": None}])
        js = [json.loads(l) for l in self.beck("consume", t, "-e", "--json").out.splitlines()]
        self.assertEqual(len(js), 2)
        a, b = js
        self.assertEqual((a["key"], a["value"], a["value_encoding"]), ("\u00e9t\u00e9", "/wAB", "base64"))
        self.assertNotIn("key_encoding", a)
        self.assertEqual(a["headers"], [{"key": "bin", "value": "gA==", "value_encoding": "base64"}])
        self.assertEqual((b["key"], b["value"], b["headers"]), (None, None, []))
        # raw bytes with a format
        out = self.beck("consume", t, "-e", "-n", "1", "-f", "%K %V %v").stdout
        self.assertEqual(out, b"5 3 \xff\x00\x01\n")

    def test_consume_positions_and_count(self):
        t = self.create_topic(self.topic_name(), 1)
        base = 1700000000000
        self.produce(t, [{"value": b"v%d" % i, "timestamp": base + i * 1000, "partition": 0} for i in range(10)])
        fmt = ["-f", "%o:%v"]

        def run(*a):
            return self.beck("consume", t, "-e", *(list(a) + fmt)).out.split()

        self.assertEqual(run(), ["%d:v%d" % (i, i) for i in range(10)])
        self.assertEqual(run("--from", "7"), ["7:v7", "8:v8", "9:v9"])
        self.assertEqual(run("--from", "-2"), ["8:v8", "9:v9"])
        self.assertEqual(run("--from", "end"), [])
        self.assertEqual(run("--from", "@%d" % (base + 4500)), ["5:v5", "6:v6", "7:v7", "8:v8", "9:v9"])
        self.assertEqual(run("--from", "2023-11-14T22:13:28Z"), ["8:v8", "9:v9"])  # base + 8 s
        self.assertEqual(run("--from", "99"), [], "an offset past the end starts at the end")
        self.assertEqual(run("--from", "3", "-n", "2"), ["3:v3", "4:v4"])
        # --count without -e returns as soon as it has the records
        r = self.beck("consume", t, "-n", "4", "-f", "%v", timeout=20)
        self.assertEqual(r.out.split(), ["v0", "v1", "v2", "v3"])
        r = self.beck("consume", t, "--from", "yesterday-ish", expect=2)
        self.assertIn("is not a position", r.err)
        r = self.beck("consume", "no-such-topic-c", "-e", expect=1)
        self.assertIn("does not exist", r.err)

    def test_consume_stops_on_sigterm_and_when_stdout_closes(self):
        t = self.create_topic(self.topic_name(), 1)
        self.produce(t, [{"value": b"v%d" % i} for i in range(100)])
        p = subprocess.Popen([beck_bin(), "consume", t, "-b", self.bootstrap], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        first = p.stdout.readline()
        self.assertEqual(first, b"v0\n")
        p.terminate()
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        # `| head -3`
        r = subprocess.run("%s consume %s -b %s | head -3" % (beck_bin(), t, self.bootstrap), shell=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20,
                           executable="/bin/bash")
        self.assertEqual(r.stdout.decode().split(), ["v0", "v1", "v2"])

    def test_consume_in_group_commits_what_it_printed(self):
        t = self.create_topic(self.topic_name(), 2)
        self.produce(t, [{"value": b"v%d" % i, "partition": i % 2} for i in range(20)])
        g = "g-" + t
        r = self.beck("consume", t, "-g", g, "-n", "6", "-f", "%p %o")
        printed = [tuple(map(int, l.split())) for l in r.out.splitlines()]
        self.assertEqual(len(printed), 6)
        want = {p: max([o for pp, o in printed if pp == p], default=-1) + 1 for p in (0, 1)}
        got = self.committed(g, t, [0, 1])
        for p in (0, 1):
            self.assertEqual(got[p], want[p] if want[p] > 0 else -1001)
        # the next run resumes where the group stopped
        r = self.beck("consume", t, "-g", g, "-e", "-f", "%p %o")
        rest = [tuple(map(int, l.split())) for l in r.out.splitlines()]
        self.assertEqual(sorted(printed + rest), [(p, o) for p in (0, 1) for o in range(10)])
        self.assertEqual(self.committed(g, t, [0, 1]), {0: 10, 1: 10})
        r = self.beck("consume", t, "-g", g, "--from", "5", expect=2)
        self.assertIn("beck group reset", r.err)

    # ---- group -----------------------------------------------------------------

    def test_group_lag_after_partial_consume(self):
        t = self.create_topic(self.topic_name(), 2)
        self.produce(t, [{"value": b"v%d" % i, "partition": 0 if i < 6 else 1} for i in range(10)])  # 6 + 4
        g = "lag-" + t
        c = self.group_consumer(g)
        c.assign([TopicPartition(t, 0, 0), TopicPartition(t, 1, 0)])
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 10 and time.monotonic() < deadline:
            got += [m for m in c.consume(100, 0.5) if not m.error()]
        # the group processed 4 of partition 0 and 1 of partition 1
        c.commit(offsets=[TopicPartition(t, 0, 4), TopicPartition(t, 1, 1)], asynchronous=False)
        c.close()
        self.produce(t, [{"value": b"late", "partition": 1}])  # end offsets 6 and 5
        committed = self.committed(g, t, [0, 1])
        wm = self.watermarks(t, [0, 1])
        self.assertEqual(committed, {0: 4, 1: 1})
        lag = {p: wm[p][1] - committed[p] for p in (0, 1)}
        self.assertEqual(lag, {0: 2, 1: 4})

        j = self.beck_json("group", "describe", g)["groups"][0]
        self.assertEqual((j["group"], j["state"], j["members"], j["total_lag"]), (g, "Empty", [], 6))
        self.assertEqual([(o["topic"], o["partition"], o["committed_offset"], o["log_start_offset"],
                           o["log_end_offset"], o["lag"], o["member_id"]) for o in j["offsets"]],
                         [(t, p, committed[p], wm[p][0], wm[p][1], lag[p], None) for p in (0, 1)])
        s = sections(self.beck("group", "describe", g).out)
        head = kv_block(s[""])
        self.assertEqual((head["GROUP"], head["STATE"], head["MEMBERS"], head["TOTAL-LAG"]), (g, "Empty", "0", "6"))
        self.assertEqual([(r["TOPIC"], int(r["PARTITION"]), num(r["CURRENT-OFFSET"]), num(r["LOG-START-OFFSET"]),
                           num(r["LOG-END-OFFSET"]), num(r["LAG"])) for r in parse_table(s["OFFSETS"])],
                         [(o["topic"], o["partition"], o["committed_offset"], o["log_start_offset"],
                           o["log_end_offset"], o["lag"]) for o in j["offsets"]])
        # only one topic; an unknown group
        j = self.beck_json("group", "describe", g, "-t", t)["groups"][0]
        self.assertEqual(len(j["offsets"]), 2)
        r = self.beck("group", "describe", "no-such-group-q", expect=1)
        self.assertIn("group 'no-such-group-q' does not exist", r.err)

    def test_group_describe_shows_members_and_assignments(self):
        t = self.create_topic(self.topic_name(), 3)
        g = "members-" + t
        c = self.group_consumer(g, **{"client.id": "cli-test-client"})
        c.subscribe([t])
        deadline = time.monotonic() + 20
        while len(c.assignment()) < 3 and time.monotonic() < deadline:
            c.poll(0.2)
        self.assertEqual(len(c.assignment()), 3)
        j = self.beck_json("group", "describe", g)["groups"][0]
        self.assertEqual((j["state"], j["protocol_type"], j["protocol"]), ("Stable", "consumer", "range"))
        self.assertEqual(len(j["members"]), 1)
        m = j["members"][0]
        self.assertEqual(m["client_id"], "cli-test-client")
        self.assertEqual(m["assignments"], [{"topic": t, "partitions": [0, 1, 2]}])
        self.assertEqual([o["member_id"] for o in j["offsets"]], [m["member_id"]] * 3)
        self.assertEqual([o["committed_offset"] for o in j["offsets"]], [None] * 3)
        s = sections(self.beck("group", "describe", g).out)
        rows = parse_table(s["MEMBERS"])
        self.assertEqual([(r["MEMBER-ID"], r["CLIENT-ID"], r["ASSIGNMENT"]) for r in rows],
                         [(m["member_id"], "cli-test-client", "%s[0,1,2]" % t)])
        # reset is refused while the member is there; the offsets stay
        r = self.beck("group", "reset", g, "-t", t, "--to", "earliest", expect=1)
        self.assertIn("1 active member", r.err)
        self.assertIn("stop its consumers first", r.err)
        self.assertEqual(self.committed(g, t, [0, 1, 2]), {0: -1001, 1: -1001, 2: -1001})
        # so is delete
        r = self.beck("group", "delete", g, expect=1)
        self.assertIn("NON_EMPTY_GROUP", r.out)

    def test_group_reset_moves_committed_offsets(self):
        t = self.create_topic(self.topic_name(), 2)
        base = 1700000000000
        self.produce(t, [{"value": b"v", "partition": i % 2, "timestamp": base + i * 1000} for i in range(20)])
        g = "reset-" + t
        r = self.beck("group", "reset", g, "-t", t, "--to", "latest")
        self.assertEqual([(x["TOPIC"], x["PARTITION"], x["OLD-OFFSET"], x["NEW-OFFSET"]) for x in parse_table(r.out)],
                         [(t, "0", "-", "10"), (t, "1", "-", "10")])
        self.assertEqual(self.committed(g, t, [0, 1]), {0: 10, 1: 10})
        j = self.beck_json("group", "reset", g, "-t", t, "--to", "earliest")
        self.assertEqual(j, {"group": g, "dry_run": False, "offsets": [
            {"topic": t, "partition": 0, "old_offset": 10, "new_offset": 0, "error": None},
            {"topic": t, "partition": 1, "old_offset": 10, "new_offset": 0, "error": None}]})
        self.assertEqual(self.committed(g, t, [0, 1]), {0: 0, 1: 0})
        self.beck("group", "reset", g, "-t", t, "-p", "1", "--to", "7")
        self.assertEqual(self.committed(g, t, [0, 1]), {0: 0, 1: 7})
        # by time: partition 0 holds even seconds, partition 1 odd ones
        self.beck("group", "reset", g, "-t", t, "--to", "@%d" % (base + 5000))
        self.assertEqual(self.committed(g, t, [0, 1]), {0: 3, 1: 2})
        c = self.group_consumer("tmp-" + g)
        ft = c.offsets_for_times([TopicPartition(t, p, base + 5000) for p in (0, 1)], timeout=10)
        self.assertEqual({x.partition: x.offset for x in ft}, {0: 3, 1: 2})
        # clamped offsets, dry run, the lag that follows
        r = self.beck("group", "reset", g, "-t", t, "--to", "500", "--dry-run")
        self.assertIn("dry run", r.out)
        self.assertIn("using 10", r.err)
        self.assertEqual(self.committed(g, t, [0, 1]), {0: 3, 1: 2})
        j = self.beck_json("group", "describe", g)["groups"][0]
        self.assertEqual([o["lag"] for o in j["offsets"]], [7, 8])
        self.beck("group", "reset", g, "--all-topics", "--to", "-1")
        self.assertEqual(self.committed(g, t, [0, 1]), {0: 9, 1: 9})
        r = self.beck("group", "reset", g, "-t", t, expect=2)
        self.assertIn("--to", r.err)

    def test_group_list_and_delete(self):
        t = self.create_topic(self.topic_name(), 1)
        self.produce(t, [{"value": b"x"}])
        g1, g2 = "list-a-" + t, "list-b-" + t
        for g in (g1, g2):
            self.beck("consume", t, "-g", g, "-n", "1")
        rows = {r["GROUP"]: r for r in parse_table(self.beck("group", "list").out)}
        j = {x["group"]: x for x in self.beck_json("group", "list")["groups"]}
        theirs = {x.id: x for x in self.admin().list_groups(timeout=10)}
        for g in (g1, g2):
            self.assertEqual((rows[g]["STATE"], rows[g]["MEMBERS"], rows[g]["COORDINATOR"]), ("Empty", "0", "0"))
            self.assertEqual((j[g]["state"], j[g]["members"], j[g]["protocol_type"], j[g]["coordinator"]),
                             ("Empty", 0, "consumer", 0))
            self.assertEqual(theirs[g].state, "Empty")
        self.assertEqual(set(rows), set(j))
        self.assertIn(g1, self.beck("group", "list", "-q").out.split())
        r = self.beck("group", "delete", g1, g2)
        self.assertEqual({x["GROUP"]: x["STATUS"] for x in parse_table(r.out)}, {g1: "deleted", g2: "deleted"})
        theirs = {x.id for x in self.admin().list_groups(timeout=10)}
        self.assertNotIn(g1, theirs)
        self.assertNotIn(g2, theirs)
        self.assertEqual(self.committed(g1, t, [0]), {0: -1001})
        j = self.beck_json("group", "delete", g1, expect=1)
        self.assertEqual(j["groups"][0]["error"]["code"], "GROUP_ID_NOT_FOUND")

    # ---- cluster ---------------------------------------------------------------

    def test_cluster_info(self):
        self.create_topic(self.topic_name())
        j = self.beck_json("cluster", "info", "--api-versions")
        md = self.admin().list_topics(timeout=10)
        self.assertEqual(j["cluster_id"], md.cluster_id)
        self.assertEqual(j["controller_id"], md.controller_id)
        self.assertEqual([(b["id"], b["host"], b["port"], b["controller"]) for b in j["brokers"]],
                         [(0, "127.0.0.1", self.broker.port, True)])
        apis = {a["api"]: (a["key"], a["min"], a["max"]) for a in j["brokers"][0]["api_versions"]}
        self.assertEqual(apis["Produce"][0], 0)
        self.assertIn("Metadata", apis)
        self.assertEqual(j["topics"], len([t for t in md.topics if not t.startswith("__")]))
        self.assertEqual(j["client"]["librdkafka"], "2.0.2")
        s = sections(self.beck("cluster", "info", "--api-versions").out)
        head = kv_block(s[""])
        self.assertEqual((head["CLUSTER"], head["CONTROLLER"], head["TOPICS"]),
                         (j["cluster_id"], str(j["controller_id"]), str(j["topics"])))
        self.assertEqual(parse_table(s["BROKERS"]), [{"ID": "0", "HOST": "127.0.0.1", "PORT": str(self.broker.port),
                                                      "CONTROLLER": "yes", "KAFKA-APIS": str(len(apis))}])
        self.assertEqual({r["API"]: (int(r["KEY"]), int(r["MIN"]), int(r["MAX"]))
                          for r in parse_table(s["API VERSIONS"])}, apis)

    # ---- every command ------------------------------------------------------------

    COMMANDS = [["topic", "create", "x"], ["topic", "list"], ["topic", "describe", "x"],
                ["topic", "alter", "x", "-c", "a=b"], ["topic", "delete", "x"],
                ["topic", "add-partitions", "x", "--to", "2"], ["produce", "x"], ["consume", "x"],
                ["group", "list"], ["group", "describe", "g"], ["group", "reset", "g", "-t", "x", "--to", "earliest"],
                ["group", "delete", "g"], ["cluster", "info"]]

    def test_unreachable_broker_says_what_to_do(self):
        port = free_port()
        for cmd in self.COMMANDS:
            for how in ("flag", "env"):
                t0 = time.monotonic()
                if how == "flag":
                    r = self.beck(*(cmd + ["-b", "127.0.0.1:%d" % port]), bootstrap=False, input="", expect=1)
                else:
                    r = self.beck(*cmd, bootstrap=False, input="", expect=1,
                                  env={"BECK_BOOTSTRAP": "127.0.0.1:%d" % port})
                self.assertLess(time.monotonic() - t0, 8, cmd)
                self.assertIn("cannot reach 127.0.0.1:%d" % port, r.err, cmd)
                self.assertIn("is a broker running? start one with `beck broker`", r.err, cmd)
                self.assertEqual(r.out, "", cmd)
                self.assertEqual(len(r.err.splitlines()), 1, r.err)
        r = self.beck("topic", "list", "-b", "no-such-host.invalid:9092", bootstrap=False, expect=1)
        self.assertIn("cannot reach no-such-host.invalid:9092", r.err)
        self.assertIn("check the host name", r.err)

    def test_bootstrap_from_environment(self):
        t = self.create_topic(self.topic_name())
        r = self.beck("topic", "list", "-q", bootstrap=False, env={"BECK_BOOTSTRAP": self.bootstrap})
        self.assertIn(t, r.out.split())

    def test_help_on_every_command(self):
        for cmd in self.COMMANDS:
            r = self.beck(*(cmd[:2] if cmd[0] in ("topic", "group", "cluster") else cmd[:1]), "--help",
                          bootstrap=False)
            self.assertTrue(r.out.startswith("Usage: beck "), cmd)
            self.assertRegex(r.out, r"\nExamples:\n(  .*beck .*\n)+$", cmd)
            self.assertIn("--bootstrap", r.out, cmd)
            self.assertIn("--output table|json", r.out, cmd)
        for group in ("topic", "group", "cluster"):
            r = self.beck(group, "--help", bootstrap=False)
            self.assertIn("Subcommands:", r.out)
            r = self.beck(group, bootstrap=False, expect=2)
            self.assertIn("Subcommands:", r.err)
        r = self.beck("--help", bootstrap=False)
        for name in ("topic", "produce", "consume", "group", "cluster"):
            self.assertIn("  %s " % name, r.out)

    def test_usage_errors_exit_2(self):
        cases = [(["topic", "create"], "missing topic NAME"),
                 (["topic", "create", "x", "--partitions", "zero"], "--partitions"),
                 (["topic", "list", "--bogus"], "unknown option '--bogus'"),
                 (["topic", "frobnicate"], "unknown subcommand 'frobnicate': expected create, list, describe"),
                 (["topic", "craete", "x"], "unknown subcommand 'craete' (did you mean 'create'?)"),
                 (["topic", "create", "x", "--partitons", "3"], "did you mean '--partitions'?"),
                 (["consume", "x", "--from"], "needs a value"),
                 (["topic", "list", "--output", "yaml"], "expected table or json"),
                 (["group", "reset", "g", "--to", "earliest"], "--topic"),
                 (["produce", "x", "--acks", "2"], "--acks")]
        for args, msg in cases:
            r = self.beck(*args, bootstrap=False, expect=2)
            self.assertIn(msg, r.err, args)
            self.assertEqual(r.out, "", args)

    def test_bash_completion(self):
        t = self.create_topic(self.topic_name())
        script = r'''
source %s
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _beck; echo "${COMPREPLY[*]}"; }
comp %s to
comp %s topic a
comp %s topic describe -b %s %s
comp %s produce -z l
comp %s produce --ac
comp %s consume --json -g ""
comp %s group reset g --to la
''' % (COMPLETION, *([beck_bin()] * 3), self.bootstrap, t[:-1], *([beck_bin()] * 4))
        r = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                           env=dict(os.environ, BECK_BOOTSTRAP=self.bootstrap))
        self.assertEqual(r.stderr, b"")
        lines = r.stdout.decode().splitlines()
        self.assertEqual(lines[0], "topic")
        self.assertEqual(lines[1].split(), ["alter", "add-partitions"])
        self.assertIn(t, lines[2].split())
        self.assertEqual(lines[3], "lz4")
        self.assertEqual(lines[4], "--acks")
        self.assertEqual(lines[6], "latest")


if __name__ == "__main__":
    main()
