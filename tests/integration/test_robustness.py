#!/usr/bin/python3
"""Hostile bytes on a raw socket: absurd, negative and short frame sizes,
truncated frames, random bytes, unknown API keys and versions, lying
counts inside requests, 1 KiB frames declaring 2^31-1 elements. Each
connection is closed (or answered with an error) and the broker keeps
serving: produce + consume works after each.

HeaderTimeoutTest: a client that stops inside a frame (half a size prefix,
half a header, all but one byte, or dripping) is closed once the partial
frame is older than connections.header.timeout.ms; a silent one is idle.
HostileClientsMemoryTest: all of the above, round after round on one broker;
its RSS (/proc/PID/status VmRSS) stays within 4 MiB of the post-warm-up
baseline (skipped for ASan builds). BECK_HOSTILE_ROUNDS sets the rounds,
BECK_FIGURES names a file the RSS figures are appended to.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import random  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from beckit import BrokerTestCase, Wire, fetch_batches, main, produce_raw, record_batch, roundtrip  # noqa: E402

CLOSED, ANSWERED = "closed", "answered"


class HostileClientCase(BrokerTestCase):
    """Raw-socket helpers; every test starts by checking the broker serves."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.serve_topic = "robustness-check"
        cls.serve_count = 0

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.broker.port), timeout=10)
        self.addCleanup(s.close)
        return s

    def outcome(self, sock, timeout=10.0):
        """CLOSED if the broker closes the connection, else (ANSWERED, frame)."""
        sock.settimeout(timeout)
        try:
            head = sock.recv(4)
        except (ConnectionResetError, BrokenPipeError):
            return CLOSED, None
        except socket.timeout:
            self.fail("broker neither answered nor closed within %.0fs" % timeout)
        if head == b"":
            return CLOSED, None
        while len(head) < 4:
            head += sock.recv(4 - len(head))
        size = struct.unpack(">i", head)[0]
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                break
            data += chunk
        return ANSWERED, data

    def send(self, sock, data):
        try:
            sock.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            pass  # closed while we were still sending: fine

    def hang_up(self, sock):
        """Half-close: no more bytes from us (the broker may have closed first)."""
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def assert_serving(self):
        """A fresh client can still produce and read back (raw Produce v7 +
        Fetch v4, then librdkafka every few checks)."""
        cls = type(self)
        cls.serve_count += 1
        value = b"still serving %d" % cls.serve_count
        err, base = produce_raw(self.bootstrap, cls.serve_topic, 0, record_batch([value]))
        self.assertEqual(err, 0)
        err, hw, batches = fetch_batches(self.bootstrap, cls.serve_topic, 0, offset=base)
        self.assertEqual((err, hw), (0, base + 1))
        self.assertEqual(batches[0]["base_offset"], base)
        if cls.serve_count % 5 == 0:
            got = self.consume_assigned(cls.serve_topic, [0], start={0: base})[0]
            self.assertEqual([m.value() for m in got], [value])

    def setUp(self):
        super().setUp()
        if self.serve_count == 0:
            self.create_topic(self.serve_topic, 1)
        self.assert_serving()


class RobustnessTest(HostileClientCase):
    # ---- frame sizes -------------------------------------------------------

    def test_size_int32_max_closes(self):
        s = self.connect()
        self.send(s, struct.pack(">i", 2 ** 31 - 1) + b"\x00\x03\x00\x01\x00\x00\x00\x07" + b"x" * 1000)
        self.assertEqual(self.outcome(s)[0], CLOSED)
        self.assert_serving()

    def test_size_just_over_the_request_limit_closes(self):
        s = self.connect()
        self.send(s, struct.pack(">i", 100 * 1024 * 1024 + 1) + b"\x00\x12\x00\x00\x00\x00\x00\x01")
        self.assertEqual(self.outcome(s)[0], CLOSED)
        self.assert_serving()

    def test_negative_sizes_close(self):
        for size in (-1, -2 ** 31, -12345):
            s = self.connect()
            self.send(s, struct.pack(">i", size) + b"\x00\x12\x00\x00\x00\x00\x00\x01")
            self.assertEqual(self.outcome(s)[0], CLOSED, size)
            self.assert_serving()

    def test_sizes_below_a_header_close(self):
        for size in (0, 1, 7):
            s = self.connect()
            self.send(s, struct.pack(">i", size) + b"\x00" * size)
            self.assertEqual(self.outcome(s)[0], CLOSED, size)
            self.assert_serving()

    # ---- truncation ----------------------------------------------------------

    def test_truncated_frames_then_hang_up(self):
        full = Wire.request(3, 1, 11, Wire.arr([self.serve_topic], Wire.s))
        for cut in (1, 3, 4, 6, 12, len(full) - 1):
            s = self.connect()
            self.send(s, full[:cut])
            self.hang_up(s)
            self.assertEqual(self.outcome(s)[0], CLOSED, cut)
            self.assert_serving()

    def test_truncated_body_inside_a_complete_frame_closes(self):
        # the frame is whole, but the Metadata body ends inside the array
        body = Wire.i32(3) + Wire.s("a")
        s = self.connect()
        self.send(s, Wire.request(3, 1, 5, body))
        self.assertEqual(self.outcome(s)[0], CLOSED)
        self.assert_serving()

    def test_a_1kib_frame_declaring_int32_max_elements_closes(self):
        # a whole, plausible 1 KiB frame whose first array claims 2^31-1
        # elements: the decoder must cap by the bytes left, not allocate 16 GiB
        big = 2 ** 31 - 1
        bodies = [
            (3, 1, Wire.i32(big)),                                              # Metadata topics
            (0, 7, Wire.s(None) + Wire.i16(-1) + Wire.i32(1000) + Wire.i32(big)),  # Produce topics
            (1, 4, Wire.i32(-1) * 3 + Wire.i32(1 << 20) + Wire.i8(0) + Wire.i32(big)),  # Fetch topics
            (2, 1, Wire.i32(-1) + Wire.i32(big)),                               # ListOffsets topics
            (19, 2, Wire.i32(big)),                                             # CreateTopics topics
            (9, 1, Wire.s("g") + Wire.i32(big)),                                # OffsetFetch topics
        ]
        for key, version, body in bodies:
            frame = Wire.request(key, version, 1, body)
            frame = Wire.request(key, version, 1, body + b"\x01" * (1024 - len(frame)))
            self.assertEqual(len(frame), 1024)
            s = self.connect()
            self.send(s, frame)
            kind, data = self.outcome(s)
            if kind == ANSWERED:  # an error answer is acceptable too
                self.assertEqual(struct.unpack_from(">i", data)[0], 1, key)
            self.assert_serving()

    def test_lying_counts_close_without_allocating(self):
        cases = [
            Wire.request(3, 1, 1, Wire.i32(2 ** 31 - 1)),                          # Metadata topics
            Wire.request(0, 7, 2, Wire.s(None) + Wire.i16(-1) + Wire.i32(1000) + Wire.i32(2 ** 30)),  # Produce
            Wire.request(1, 4, 3, Wire.i32(-1) * 4 + Wire.i8(0) + Wire.i32(2 ** 31 - 1)),            # Fetch
            Wire.request(3, 1, 4, Wire.i32(1) + Wire.i16(32767)),                   # string longer than frame
            Wire.request(19, 2, 5, Wire.i32(1) + Wire.s("t") + Wire.i32(1) + Wire.i16(1) + Wire.i32(-7)),
        ]
        for frame in cases:
            s = self.connect()
            self.send(s, frame)
            self.assertEqual(self.outcome(s)[0], CLOSED, frame[:16].hex())
            self.assert_serving()

    def test_any_partition_leader_epoch_in_a_produced_batch_is_accepted(self):
        # reference §7.1 item 17: librdkafka sends 0, others -1
        for epoch in (-1, 0, 12345, -2 ** 31):
            err, base = produce_raw(self.bootstrap, self.serve_topic, 0, record_batch([b"e"], leader_epoch=epoch))
            self.assertEqual(err, 0, epoch)
        self.assert_serving()

    def test_produce_with_corrupt_records_is_answered_with_an_error(self):
        batch = record_batch([b"fine"])
        cases = [batch[:40], batch[:-3], batch[:8] + struct.pack(">i", 2 ** 31 - 1) + batch[12:],
                 batch[:16] + b"\x01" + batch[17:], os.urandom(len(batch))]
        for bad in cases:
            err, _ = produce_raw(self.bootstrap, self.serve_topic, 0, bad)
            self.assertIn(err, (2, 87), bad[:20].hex())  # CORRUPT_MESSAGE / INVALID_RECORD
            self.assert_serving()

    # ---- junk ------------------------------------------------------------------

    def test_random_bytes(self):
        rng = random.Random(20241121)
        for i in range(30):
            s = self.connect()
            n = rng.choice((1, 5, 64, 1000, 70000))
            data = bytes(rng.getrandbits(8) for _ in range(n))
            if i % 3 == 0:  # a plausible size prefix in front of the junk
                data = struct.pack(">i", len(data)) + data
            self.send(s, data)
            self.hang_up(s)
            kind, _ = self.outcome(s)
            self.assertIn(kind, (CLOSED, ANSWERED))
            if i % 5 == 0:
                self.assert_serving()
        self.assert_serving()

    def test_random_bytes_on_many_connections_at_once(self):
        rng = random.Random(7)
        blobs = [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096))) for _ in range(40)]
        errors = []

        def hit(blob):
            try:
                with socket.create_connection(("127.0.0.1", self.broker.port), timeout=10) as s:
                    s.sendall(struct.pack(">i", len(blob)) + blob)
                    try:
                        s.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    while s.recv(65536):
                        pass
            except (ConnectionResetError, BrokenPipeError):
                pass
            except Exception as e:  # timeouts: the broker hung on a connection
                errors.append(e)

        threads = [threading.Thread(target=hit, args=(b,)) for b in blobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assert_serving()

    # ---- unknown APIs and versions ---------------------------------------------

    def test_unknown_api_keys_close(self):
        for key in (999, 32767, -1, 17, 23, 24, 57):
            s = self.connect()
            self.send(s, Wire.request(key, 0, 9, b""))
            self.assertEqual(self.outcome(s)[0], CLOSED, key)
            self.assert_serving()

    def test_unsupported_versions_close(self):
        for key, version in ((3, 99), (0, 2), (0, -1), (1, 3), (1, 12)):
            s = self.connect()
            self.send(s, Wire.request(key, version, 9, Wire.i32(0)))
            self.assertEqual(self.outcome(s)[0], CLOSED, (key, version))
            self.assert_serving()

    def test_api_versions_too_new_is_answered(self):
        s = self.connect()
        self.send(s, Wire.request(18, 77, 42, b"\x00\x01\x02"))
        kind, data = self.outcome(s)
        self.assertEqual(kind, ANSWERED)
        cid, err, n = struct.unpack_from(">ihi", data)
        self.assertEqual((cid, err), (42, 35))  # UNSUPPORTED_VERSION, v0 body
        keys = [struct.unpack_from(">hhh", data, 10 + 6 * i) for i in range(n)]
        self.assertIn(18, [k[0] for k in keys])
        # the connection stays usable: a v0 ApiVersions on it works
        self.send(s, Wire.request(18, 0, 43, b""))
        kind, data = self.outcome(s)
        self.assertEqual(kind, ANSWERED)
        self.assertEqual(struct.unpack_from(">ih", data), (43, 0))
        self.assert_serving()

    def test_good_requests_pipelined_before_junk_are_answered_in_order(self):
        s = self.connect()
        frames = b"".join(Wire.request(18, 0, 100 + i, b"") for i in range(5))
        self.send(s, frames + struct.pack(">i", -5))
        for i in range(5):
            kind, data = self.outcome(s)
            self.assertEqual(kind, ANSWERED)
            self.assertEqual(struct.unpack_from(">ih", data), (100 + i, 0))
        self.assertEqual(self.outcome(s)[0], CLOSED)
        self.assert_serving()

    def test_hang_up_with_requests_in_flight(self):
        # a long-polling Fetch parked on an empty partition, an acks=all
        # Produce waiting for its fsync, then the client vanishes
        empty = self.create_topic("robustness-empty", 1)
        part = Wire.i32(0) + Wire.i64(0) + Wire.i32(1 << 20)
        fetch = (Wire.i32(-1) + Wire.i32(5000) + Wire.i32(1) + Wire.i32(1 << 20) + Wire.i8(0) +
                 Wire.arr([empty], lambda t: Wire.s(t) + Wire.arr([part], lambda p: p)))
        batch = record_batch([b"in flight"])
        produce = (Wire.s(None) + Wire.i16(-1) + Wire.i32(10000) +
                   Wire.arr([self.serve_topic], lambda t: Wire.s(t) + Wire.arr(
                       [0], lambda p: Wire.i32(p) + Wire.i32(len(batch)) + batch)))
        for i in range(20):
            s = socket.create_connection(("127.0.0.1", self.broker.port), timeout=10)
            s.sendall(Wire.request(1, 4, 1, fetch) + Wire.request(0, 7, 2, produce) + Wire.request(1, 4, 3, fetch))
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
            s.close()
        self.assert_serving()
        # and a parked fetch on a live connection still wakes up on produce
        s = self.connect()
        self.send(s, Wire.request(1, 4, 77, fetch))
        self.assertEqual(produce_raw(self.bootstrap, empty, 0, record_batch([b"wake"])), (0, 0))
        kind, data = self.outcome(s)
        self.assertEqual(kind, ANSWERED)
        self.assertEqual(struct.unpack_from(">i", data)[0], 77)
        self.assertIn(b"wake", data)

    def test_requests_for_missing_topics_and_partitions_get_error_codes(self):
        batch = record_batch([b"nowhere"])
        self.assertEqual(produce_raw(self.bootstrap, self.serve_topic, 99, batch)[0], 3)
        self.assertEqual(produce_raw(self.bootstrap, self.serve_topic, -1, batch)[0], 3)
        self.assertEqual(fetch_batches(self.bootstrap, "no-such-topic", 0)[0], 3)
        self.assertEqual(fetch_batches(self.bootstrap, self.serve_topic, 5)[0], 3)
        self.assertEqual(fetch_batches(self.bootstrap, self.serve_topic, 0, offset=10 ** 12)[0], 1)
        self.assertEqual(fetch_batches(self.bootstrap, self.serve_topic, 0, offset=-5)[0], 1)
        # ListOffsets v1 for a missing partition
        part = Wire.i32(7) + Wire.i64(-1)
        r = roundtrip(self.bootstrap, 2, 1, Wire.i32(-1) + Wire.arr(
            [self.serve_topic], lambda t: Wire.s(t) + Wire.arr([part], lambda p: p)))
        (_, parts), = r.arr(lambda r: (r.s(), r.arr(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
        self.assertEqual(parts[0][:2], (7, 3))
        # acks outside {-1, 0, 1}
        self.assertEqual(produce_raw(self.bootstrap, self.serve_topic, 0, batch, acks=2)[0], 21)
        self.assert_serving()

    def test_deep_pipelining_is_answered_in_order(self):
        # more requests than the broker keeps in flight per connection (it
        # pauses reading and resumes), then a parked Fetch ahead of quick ones
        s = self.connect()
        n = 20000
        frames = b"".join(Wire.request(18, i % 3, i, b"") for i in range(n))
        sender = threading.Thread(target=self.send, args=(s, frames))
        sender.start()
        for i in range(n):
            kind, data = self.outcome(s)
            self.assertEqual(kind, ANSWERED)
            self.assertEqual(struct.unpack_from(">ih", data), (i, 0))
        sender.join()
        empty = self.create_topic("robustness-pipeline", 1)
        part = Wire.i32(0) + Wire.i64(0) + Wire.i32(1 << 20)
        fetch = (Wire.i32(-1) + Wire.i32(300) + Wire.i32(1) + Wire.i32(1 << 20) + Wire.i8(0) +
                 Wire.arr([empty], lambda t: Wire.s(t) + Wire.arr([part], lambda p: p)))
        self.send(s, Wire.request(1, 4, 1000, fetch) + b"".join(Wire.request(18, 0, 1001 + i, b"") for i in range(100)))
        cids = []
        for i in range(101):
            kind, data = self.outcome(s)
            cids.append(struct.unpack_from(">i", data)[0])
        self.assertEqual(cids, list(range(1000, 1101)))
        self.assert_serving()

    def test_metadata_after_all_that(self):
        r = roundtrip(self.bootstrap, 3, 1, Wire.arr([self.serve_topic], Wire.s))
        brokers = r.arr(lambda r: (r.i32(), r.s(), r.i32(), r.s()))
        self.assertEqual(brokers, [(0, "127.0.0.1", self.broker.port, None)])


def rss_kib(pid):
    """VmRSS of a process in KiB (/proc/PID/status)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def sanitized(path):
    """True for a broker built with ASan: its quarantine keeps freed memory
    resident, so RSS says nothing about leaks there (LeakSanitizer does)."""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


HEADER_TIMEOUT_MS = 600


class HeaderTimeoutTest(HostileClientCase):
    """A client that stops in the middle of a frame is closed once the
    partial frame is older than connections.header.timeout.ms; one that
    sends nothing at all is an idle connection and stays."""

    SETTINGS = dict(HostileClientCase.SETTINGS, **{"connections.header.timeout.ms": str(HEADER_TIMEOUT_MS)})

    def closed_after(self, sock, limit=10.0):
        """Seconds until the broker closes sock (which must stay silent)."""
        t0 = time.monotonic()
        kind, _ = self.outcome(sock, timeout=limit)
        self.assertEqual(kind, CLOSED)
        return time.monotonic() - t0

    def test_half_a_header_then_stall_is_closed_after_the_header_timeout(self):
        frame = Wire.request(3, 1, 11, Wire.arr([self.serve_topic], Wire.s))
        for cut in (2, 4, 9, len(frame) - 1):  # half a size, a size, half a header, all but one byte
            s = self.connect()
            self.send(s, frame[:cut])
            waited = self.closed_after(s)
            self.assertGreaterEqual(waited, HEADER_TIMEOUT_MS / 1000.0 - 0.15, cut)
            self.assertLess(waited, HEADER_TIMEOUT_MS / 1000.0 + 3, cut)
            self.assert_serving()

    def test_a_slow_client_is_timed_from_its_first_partial_byte(self):
        # dripping one byte every 200 ms does not reset the clock
        frame = Wire.request(18, 0, 5, b"")
        s = self.connect()
        t0 = time.monotonic()
        closed = False
        for b in frame:
            try:
                s.sendall(bytes([b]))
            except OSError:
                closed = True
                break
            time.sleep(0.2)
            if time.monotonic() - t0 > HEADER_TIMEOUT_MS / 1000.0 + 1.5:
                break
        if not closed:
            self.assertEqual(self.outcome(s)[0], CLOSED)
        self.assertLess(time.monotonic() - t0, HEADER_TIMEOUT_MS / 1000.0 + 3)
        self.assert_serving()

    def test_many_stalled_clients_at_once(self):
        socks = []
        for i in range(50):
            s = self.connect()
            self.send(s, struct.pack(">i", 100) + b"\x00\x03")
            socks.append(s)
        self.assert_serving()  # served while they hang
        for s in socks:
            self.closed_after(s)
        self.assert_serving()

    def test_a_silent_connection_is_idle_not_stalled(self):
        s = self.connect()
        time.sleep(HEADER_TIMEOUT_MS / 1000.0 * 3)
        self.send(s, Wire.request(18, 0, 9, b""))
        kind, data = self.outcome(s)
        self.assertEqual(kind, ANSWERED)
        self.assertEqual(struct.unpack_from(">ih", data), (9, 0))


class HostileClientsMemoryTest(HostileClientCase):
    """Every kind of hostile client, round after round, on one broker: the
    broker keeps serving after each, and its resident memory after the
    rounds stays within a few MiB of the baseline taken after a warm-up
    round (allocator arenas and buffers grow once, a leak grows per round)."""

    SETTINGS = dict(HostileClientCase.SETTINGS, **{"connections.header.timeout.ms": str(HEADER_TIMEOUT_MS)})
    ROUNDS = int(os.environ.get("BECK_HOSTILE_ROUNDS", "12"))
    RSS_SLACK_KIB = 4 * 1024

    def one_round(self, rng):
        port = self.broker.port
        big = 2 ** 31 - 1
        frames = [
            struct.pack(">i", big) + b"\x00\x03\x00\x01\x00\x00\x00\x07" + b"x" * 1000,  # 2^31-1 size
            struct.pack(">i", -1) + b"\x00\x12\x00\x00",                                  # negative sizes
            struct.pack(">i", -2 ** 31) + b"\x00\x12\x00\x00",
            struct.pack(">i", 3) + b"\x00\x12\x00",                                         # below a header
            Wire.request(999, 0, 1, b""),                                                   # unknown API keys
            Wire.request(-1, 0, 1, b""),
            Wire.request(3, 99, 1, b""),                                                    # unknown version
        ]
        for key, version, body in ((3, 1, Wire.i32(big)), (0, 7, Wire.s(None) + Wire.i16(-1) + Wire.i32(1000) +
                                                            Wire.i32(big))):
            f = Wire.request(key, version, 1, body)
            frames.append(Wire.request(key, version, 1, body + b"\x01" * (1024 - len(f))))  # 1 KiB, 2^31-1 elements
        full = Wire.request(3, 1, 11, Wire.arr([self.serve_topic], Wire.s))
        frames += [full[:cut] for cut in (1, 4, 6, 12, len(full) - 1)]                       # truncated, then hang up
        frames += [bytes(rng.getrandbits(8) for _ in range(rng.choice((7, 64, 1000, 9000)))) for _ in range(8)]
        frames += [struct.pack(">i", 200) + bytes(rng.getrandbits(8) for _ in range(200)) for _ in range(4)]
        stalled = []
        for i in range(10):  # half a header, then silence: the header timeout closes them
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(struct.pack(">i", 40) + b"\x00\x03\x00")
            stalled.append(s)
        for data in frames:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                self.send(s, data)
                self.hang_up(s)
                kind, _ = self.outcome(s)
                self.assertIn(kind, (CLOSED, ANSWERED))
        self.assert_serving()
        for s in stalled:
            self.assertEqual(self.outcome(s, timeout=HEADER_TIMEOUT_MS / 1000.0 + 5)[0], CLOSED)
            s.close()
        self.assert_serving()
        return len(frames) + len(stalled)

    def test_rss_stays_flat_over_rounds_of_hostile_clients(self):
        pid = self.broker.proc.pid
        rng = random.Random(8)
        fresh = rss_kib(pid)
        clients = self.one_round(rng) + self.one_round(rng)  # warm-up
        base = rss_kib(pid)
        for _ in range(self.ROUNDS):
            clients += self.one_round(rng)
        after = rss_kib(pid)
        line = ("hostile clients: %d connections in %d rounds; broker RSS %d KiB fresh, %d KiB after warm-up, "
                "%d KiB after (%+d KiB)" % (clients, self.ROUNDS + 2, fresh, base, after, after - base))
        sys.stderr.write("\n" + line + "\n")
        out = os.environ.get("BECK_FIGURES")
        if out:
            with open(out, "a") as f:
                f.write(line + "\n")
        if sanitized(self.broker.proc.args[0]):
            self.skipTest("ASan build: RSS not meaningful (LeakSanitizer checks leaks) - " + line)
        self.assertLess(after - base, self.RSS_SLACK_KIB, line)


if __name__ == "__main__":
    main()
