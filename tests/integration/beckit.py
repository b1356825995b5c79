"""beckit - shared fixtures for Beck's integration tests.

Starts the real built broker (`beck broker`) on a temporary data directory
and a free port, waits for its "beck broker ready:" line, stops it with
SIGTERM (clean) or SIGKILL (crash) and restarts it on the same directory and
port. Also small client helpers (confluent-kafka, kafka-python, kcat) that
the test files share, so each test states only what it checks.

The binary comes from $BECK_BIN (CTest passes $<TARGET_FILE:beck>), else
build/bin/beck in the source tree. Run with the Debian python
(/usr/bin/python3): the client libraries are Debian packages.
"""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
KCAT = shutil.which("kcat") or "/usr/bin/kcat"


def beck_bin():
    path = os.environ.get("BECK_BIN") or os.path.join(REPO, "build", "bin", "beck")
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest("beck binary not found at %s (build first or set BECK_BIN)" % path)
    return path


def free_port():
    """A TCP port nobody listens on right now (the broker binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """One `beck broker` process over a data directory it keeps across restarts.

    settings: extra key=value broker settings written to a --config file.
    """

    def __init__(self, settings=None, port=None):
        self.tmp = tempfile.mkdtemp(prefix="beck-it-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.port = port  # None: the first start binds port 0 and reads the port from the ready line
        self.settings = dict(settings or {})
        self.proc = None
        self.log_path = os.path.join(self.tmp, "broker.log")
        self.ready_line = None
        self.starts = 0

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=15.0):
        assert self.proc is None, "broker already running"
        listen = "127.0.0.1:%d" % (self.port or 0)
        cmd = [beck_bin(), "broker", "--data-dir", self.data_dir, "--listen", listen]
        if self.settings:
            conf = os.path.join(self.tmp, "broker.conf")
            with open(conf, "w") as f:
                for k, v in self.settings.items():
                    f.write("%s=%s\n" % (k, v))
            cmd += ["--config", conf]
        self.starts += 1
        log = open(self.log_path, "a")
        log.write("---- start %d: %s\n" % (self.starts, " ".join(cmd)))
        log.flush()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        line = b""
        # the ready line is the only thing the broker prints on stdout
        os.set_blocking(self.proc.stdout.fileno(), False)
        while time.monotonic() < deadline:
            chunk = self.proc.stdout.read()
            if chunk:
                line += chunk
                if b"\n" in line:
                    break
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        first = line.split(b"\n")[0].decode(errors="replace")
        if not first.startswith("beck broker ready:"):
            rc = self.proc.poll()
            self._reap(signal.SIGKILL)
            raise AssertionError("broker did not become ready (exit %s, stdout %r)\n%s" % (rc, first, self.log_tail()))
        self.ready_line = first
        if not self.port:
            m = re.search(r"listening on [^ ]*:(\d+) ", first)
            if not m:
                self._reap(signal.SIGKILL)
                raise AssertionError("no port in the ready line %r" % first)
            self.port = int(m.group(1))
        return self

    def _reap(self, sig, timeout=20.0):
        p, self.proc = self.proc, None
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("broker did not exit within %.0fs of signal %d\n%s" % (timeout, sig, self.log_tail()))
        p.stdout.close()
        return rc

    def stop(self):
        """SIGTERM: the broker finishes in-flight work and exits 0."""
        rc = self._reap(signal.SIGTERM)
        if rc not in (0, None):
            raise AssertionError("broker exited %s after SIGTERM\n%s" % (rc, self.log_tail()))
        return rc

    def kill(self):
        """SIGKILL: a crash; the next start recovers the logs."""
        return self._reap(signal.SIGKILL)

    def restart(self, hard=False):
        self.kill() if hard else self.stop()
        return self.start()

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "WARNING: ThreadSanitizer")

    def sanitizer_reports(self):
        """Sanitizer findings in the broker's log (BECK_SANITIZE builds)."""
        try:
            with open(self.log_path, errors="replace") as f:
                return [l.rstrip() for l in f if any(m in l for m in self.SANITIZER_MARKS)]
        except OSError:
            return []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def cleanup(self):
        if self.proc is not None:
            self._reap(signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)


class BrokerTestCase(unittest.TestCase):
    """One broker for the whole class; tests use their own topics.

    SETTINGS: broker settings for the class (key=value config file).
    """

    SETTINGS = {"group.initial.rebalance.delay.ms": "0"}
    broker = None

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(cls.SETTINGS).start()

    @classmethod
    def tearDownClass(cls):
        b, cls.broker = cls.broker, None
        if b is None:
            return
        try:
            if b.alive():
                b.stop()
            reports = b.sanitizer_reports()
            if reports:
                raise AssertionError("sanitizer reports in the broker log:\n%s\n%s" % ("\n".join(reports),
                                                                                       b.log_tail(80)))
        finally:
            b.cleanup()

    def setUp(self):
        if not self.broker.alive():
            self.fail("broker is not running\n" + self.broker.log_tail())
        self._topic_seq = 0
        self._admin = None

    def tearDown(self):
        # a test that leaves the broker dead fails, with its log
        if self.broker is not None and self.broker.proc is not None and self.broker.proc.poll() is not None:
            self.fail("broker died during the test (exit %s)\n%s" % (self.broker.proc.returncode,
                                                                     self.broker.log_tail()))

    def topic_name(self, tag=""):
        self._topic_seq += 1
        return "%s-%s%d" % (self._testMethodName.replace("_", "-")[:60], tag, self._topic_seq)

    @property
    def bootstrap(self):
        return self.broker.bootstrap

    # ---- admin -----------------------------------------------------------

    def admin(self):
        """The test's AdminClient (kept alive: futures fail with _DESTROY
        when their client is garbage collected)."""
        from confluent_kafka.admin import AdminClient
        if getattr(self, "_admin", None) is None:
            self._admin = AdminClient({"bootstrap.servers": self.bootstrap, "log.connection.close": False})
        return self._admin

    def create_topic(self, name, partitions=1, config=None):
        from confluent_kafka.admin import NewTopic
        fs = self.admin().create_topics([NewTopic(name, partitions, 1, config=config or {})], operation_timeout=10)
        fs[name].result(timeout=15)
        return name

    # ---- confluent-kafka -------------------------------------------------

    def producer(self, **conf):
        from confluent_kafka import Producer
        c = {"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 5, "log.connection.close": False}
        c.update({k.replace("_", "."): v for k, v in conf.items()})
        return Producer(c)

    def produce(self, topic, records, **conf):
        """Produces records (dicts: value, key, partition, headers, timestamp)
        and flushes; returns the delivered (partition, offset) per record, in order."""
        p = self.producer(**conf)
        # know the partitions first: records queued before metadata arrives
        # may be split over more batches than linger.ms would give
        p.list_topics(topic, timeout=10)
        delivered = [None] * len(records)
        errors = []

        def cb(i):
            def on_delivery(err, msg):
                if err is not None:
                    errors.append((i, err))
                else:
                    delivered[i] = (msg.partition(), msg.offset())
            return on_delivery

        for i, r in enumerate(records):
            kw = {k: r[k] for k in ("key", "partition", "headers", "timestamp") if k in r}
            while True:
                try:
                    p.produce(topic, r.get("value"), on_delivery=cb(i), **kw)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        left = p.flush(30)
        self.assertEqual(left, 0, "producer could not deliver %d records" % left)
        self.assertEqual(errors, [], "delivery errors")
        return delivered

    def consume_assigned(self, topic, partitions, start=None, conf=None, timeout=20.0):
        """Reads every partition from its log start (or start[p]) up to its
        high watermark with confluent-kafka. Returns {partition: [Message]}."""
        from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
        c = Consumer(dict({"bootstrap.servers": self.bootstrap, "group.id": "it-assign-%s" % topic,
                           "enable.auto.commit": False, "enable.partition.eof": True,
                           "log.connection.close": False}, **(conf or {})))
        try:
            want = {}
            for p in partitions:
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                first = max(lo, (start or {}).get(p, 0))
                if hi > first:
                    want[p] = hi - first
            c.assign([TopicPartition(topic, p, (start or {}).get(p, OFFSET_BEGINNING)) for p in partitions])
            out = {p: [] for p in partitions}
            deadline = time.monotonic() + timeout
            while any(len(out[p]) < n for p, n in want.items()) and time.monotonic() < deadline:
                for m in c.consume(1000, 0.5):
                    if m.error():
                        if m.error().code() == -191:  # _PARTITION_EOF
                            continue
                        self.fail("consume error: %s" % m.error())
                    out[m.partition()].append(m)
            for p, n in want.items():
                self.assertEqual(len(out[p]), n, "partition %d: got %d of %d records" % (p, len(out[p]), n))
            return out
        finally:
            c.close()

    # ---- kafka-python ----------------------------------------------------

    def kp_consume(self, topic, partitions, expect, timeout=20.0, **conf):
        """Reads `expect` records from the given partitions with kafka-python
        (manual assignment, from the beginning). Returns the records sorted
        by (partition, offset)."""
        from kafka import KafkaConsumer, TopicPartition
        c = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
                          auto_offset_reset="earliest", consumer_timeout_ms=int(timeout * 1000), **conf)
        try:
            tps = [TopicPartition(topic, p) for p in partitions]
            c.assign(tps)
            c.seek_to_beginning(*tps)
            out = []
            deadline = time.monotonic() + timeout
            while len(out) < expect and time.monotonic() < deadline:
                for recs in c.poll(timeout_ms=500, max_records=100000).values():
                    out.extend(recs)
            self.assertEqual(len(out), expect, "kafka-python read %d of %d records" % (len(out), expect))
            return sorted(out, key=lambda r: (r.partition, r.offset))
        finally:
            c.close()

    # ---- kcat ------------------------------------------------------------

    def kcat(self, *args, input=None, timeout=30):
        r = subprocess.run([KCAT, "-b", self.bootstrap] + list(args), input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return r

    def kcat_consume_json(self, topic, partition=None, extra=()):
        """All records of topic (one partition or all) via `kcat -C -e -J`."""
        args = ["-C", "-t", topic, "-e", "-J", "-q"]
        if partition is not None:
            args += ["-p", str(partition)]
        r = self.kcat(*(args + list(extra)))
        self.assertEqual(r.returncode, 0, "kcat failed: %s" % r.stderr.decode(errors="replace"))
        return [json.loads(l) for l in r.stdout.decode("utf-8", "replace").splitlines() if l.strip()]


class Wire:
    """Minimal Kafka wire encoding/decoding for requests no installed client
    sends (IncrementalAlterConfigs) and for hostile frames. Non-flexible
    versions only: INT16-length strings, INT32-count arrays."""

    @staticmethod
    def i8(v):
        return struct.pack(">b", v)

    @staticmethod
    def i16(v):
        return struct.pack(">h", v)

    @staticmethod
    def i32(v):
        return struct.pack(">i", v)

    @staticmethod
    def i64(v):
        return struct.pack(">q", v)

    @staticmethod
    def s(v):
        if v is None:
            return struct.pack(">h", -1)
        b = v.encode() if isinstance(v, str) else v
        return struct.pack(">h", len(b)) + b

    @staticmethod
    def arr(items, enc):
        return struct.pack(">i", len(items)) + b"".join(enc(x) for x in items)

    @staticmethod
    def request(api_key, version, correlation_id, body, client_id="beckit"):
        """A whole frame (size prefix, header v1, body)."""
        hdr = struct.pack(">hhi", api_key, version, correlation_id) + Wire.s(client_id)
        return struct.pack(">i", len(hdr) + len(body)) + hdr + body


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v[0]

    def i8(self):
        return self.take(">b")

    def i16(self):
        return self.take(">h")

    def i32(self):
        return self.take(">i")

    def i64(self):
        return self.take(">q")

    def s(self):
        n = self.i16()
        if n < 0:
            return None
        v = self.d[self.p:self.p + n].decode()
        self.p += n
        return v

    def bytes_(self):
        n = self.i32()
        if n < 0:
            return None
        v = self.d[self.p:self.p + n]
        self.p += n
        return v

    def arr(self, dec):
        n = self.i32()
        return None if n < 0 else [dec(self) for _ in range(n)]


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def roundtrip(bootstrap, api_key, version, body, correlation_id=7, timeout=10.0):
    """Sends one request on a fresh connection; returns a Reader positioned
    at the response body (after the correlation id, which is checked)."""
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(Wire.request(api_key, version, correlation_id, body))
        size = struct.unpack(">i", recv_exact(sock, 4))[0]
        data = recv_exact(sock, size)
    r = Reader(data)
    cid = r.i32()
    if cid != correlation_id:
        raise AssertionError("correlation id %d, expected %d" % (cid, correlation_id))
    return r


CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def fetch_batches(bootstrap, topic, partition, offset=0, max_bytes=64 << 20):
    """Raw Fetch v4 of one partition: (error, high watermark, [batch header
    dicts]) for the whole batches in the response (a cut-off tail is
    ignored). Shows what was stored: batch boundaries, codec, producer id."""
    part = Wire.i32(partition) + Wire.i64(offset) + Wire.i32(max_bytes)
    body = (Wire.i32(-1) + Wire.i32(0) + Wire.i32(0) + Wire.i32(max_bytes) + Wire.i8(0) +
            Wire.arr([topic], lambda t: Wire.s(t) + Wire.arr([part], lambda p: p)))
    r = roundtrip(bootstrap, 1, 4, body)
    r.i32()  # throttle
    topics = r.arr(lambda r: (r.s(), r.arr(lambda r: (
        r.i32(), r.i16(), r.i64(), r.i64(), r.arr(lambda r: (r.i64(), r.i64())), r.bytes_()))))
    (_, parts), = topics
    (_, err, hw, _, _, records), = parts
    batches, pos = [], 0
    while len(records) - pos >= 61:
        (base, blen, _ple, magic, _crc, attrs, lod, base_ts, max_ts, pid, epoch, seq,
         count) = struct.unpack_from(">qiibIhiqqqhii", records, pos)
        if pos + 12 + blen > len(records):
            break
        batches.append({"base_offset": base, "last_offset_delta": lod, "magic": magic,
                        "codec": CODECS.get(attrs & 7, attrs & 7), "attributes": attrs,
                        "base_timestamp": base_ts, "max_timestamp": max_ts, "producer_id": pid,
                        "producer_epoch": epoch, "base_sequence": seq, "count": count})
        pos += 12 + blen
    return err, hw, batches


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _varint(n):
    n = (n << 1) ^ (n >> 63)  # zigzag
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def record_batch(values, producer_id=-1, epoch=-1, base_sequence=-1, timestamp=None, leader_epoch=0):
    """An uncompressed RecordBatch v2 of values (bytes, no key, no headers),
    as a producer sends it (BaseOffset 0). Timestamp: now by default (the
    broker rebuilds producer state only from the recent log tail)."""
    if timestamp is None:
        timestamp = int(time.time() * 1000)
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + _varint(0) + _varint(i) + _varint(-1) + _varint(len(v)) + v + _varint(0)
        recs += _varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, timestamp, timestamp, producer_id, epoch,
                            base_sequence, len(values)) + recs
    crc = crc32c(after_crc)
    tail = struct.pack(">ibI", leader_epoch, 2, crc) + after_crc  # leader epoch (outside the crc), magic, crc
    return struct.pack(">qi", 0, len(tail)) + tail


def produce_raw(bootstrap, topic, partition, batch, acks=-1, version=7):
    """Raw Produce: returns (error, base offset) of the one partition."""
    body = (Wire.s(None) + Wire.i16(acks) + Wire.i32(10000) +
            Wire.arr([topic], lambda t: Wire.s(t) + Wire.arr([partition], lambda p: Wire.i32(p) +
                                                             Wire.i32(len(batch)) + batch)))
    r = roundtrip(bootstrap, 0, version, body)
    (_, parts), = r.arr(lambda r: (r.s(), r.arr(lambda r: (r.i32(), r.i16(), r.i64(), r.i64(), r.i64()))))
    (_, err, base, _, _), = parts
    return err, base


def init_producer_id(bootstrap):
    """Raw InitProducerId v1 (no transactional id): (error, id, epoch)."""
    r = roundtrip(bootstrap, 22, 1, Wire.s(None) + Wire.i32(60000))
    r.i32()
    return r.i16(), r.i64(), r.i16()


def main():
    unittest.main(verbosity=2)


if __name__ == "__main__":
    sys.exit("beckit is a helper module; run a test_*.py file")
