#!/usr/bin/python3
"""Many connections: 10,000 idle TCP connections held open on one broker
(non-blocking sockets from this one process; RLIMIT_NOFILE raised here and
inherited by the broker child) while a confluent-kafka producer (acks=all)
and consumer keep working. Checks:

  - the broker accepted every one (its open file descriptors, not just the
    kernel's listen queue) and its RSS per idle connection is small;
  - the producer's and the consumer's data is exact (every value once, in
    order per partition), with all the idle connections open;
  - a sample of the idle connections still answers ApiVersions;
  - afterwards all 10,000 are still connected (none closed by the broker).

BECK_CONNECTIONS sets the count (default 10000). Figures go to stderr and
are appended to $BECK_FIGURES when set.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import errno  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

from beckit import BrokerTestCase, Wire, main, recv_exact  # noqa: E402

N = int(os.environ.get("BECK_CONNECTIONS", "10000"))
NEED_FDS = N + 2000  # the sockets plus the clients, the broker's logs and libuv


def raise_nofile():
    """Raises RLIMIT_NOFILE (soft and, as root, hard) for this process and
    the broker it starts; returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(NEED_FDS, soft)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def figure(line):
    sys.stderr.write("\n" + line + "\n")
    if os.environ.get("BECK_FIGURES"):
        with open(os.environ["BECK_FIGURES"], "a") as f:
            f.write(line + "\n")


class ManyConnectionsTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        limit = raise_nofile()
        if limit < NEED_FDS:
            raise unittest.SkipTest("RLIMIT_NOFILE is %d and cannot be raised to %d" % (limit, NEED_FDS))
        super().setUpClass()

    def connect_many(self, n, batch=500):
        """n connected non-blocking sockets (connects batch at a time)."""
        socks = []
        port = self.broker.port
        while len(socks) < n:
            pending = {}
            poller = select.poll()
            for _ in range(min(batch, n - len(socks))):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                rc = s.connect_ex(("127.0.0.1", port))
                if rc not in (0, errno.EINPROGRESS):
                    s.close()
                    self.fail("connect failed: %s" % os.strerror(rc))
                pending[s.fileno()] = s
                poller.register(s, select.POLLOUT)
            deadline = time.monotonic() + 30
            while pending and time.monotonic() < deadline:
                for fd, _ in poller.poll(1000):
                    s = pending.pop(fd)
                    poller.unregister(fd)
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        self.fail("connection %d failed: %s" % (len(socks), os.strerror(err)))
                    socks.append(s)
            if pending:
                self.fail("%d connects did not complete in 30 s" % len(pending))
        return socks

    def closed_sockets(self, socks):
        """How many of socks the peer has closed (EOF or reset pending)."""
        poller = select.poll()
        for s in socks:
            poller.register(s, select.POLLIN | select.POLLHUP | select.POLLERR | select.POLLRDHUP)
        closed = 0
        by_fd = {s.fileno(): s for s in socks}
        for fd, ev in poller.poll(0):
            if ev & (select.POLLHUP | select.POLLERR | select.POLLRDHUP):
                closed += 1
                continue
            try:
                if by_fd[fd].recv(1, socket.MSG_PEEK) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        return closed

    def api_versions_on(self, s, cid):
        s.setblocking(True)
        s.settimeout(10)
        try:
            s.sendall(Wire.request(18, 0, cid, b""))
            size = struct.unpack(">i", recv_exact(s, 4))[0]
            data = recv_exact(s, size)
        finally:
            s.setblocking(False)
        return struct.unpack_from(">ih", data)

    def test_ten_thousand_idle_connections_while_producing_and_consuming(self):
        pid = self.broker.proc.pid
        topic = self.create_topic("busy", 3)
        rss0, fds0 = rss_kib(pid), open_fds(pid)
        t0 = time.monotonic()
        socks = self.connect_many(N)
        self.addCleanup(lambda: [s.close() for s in socks])
        took = time.monotonic() - t0
        # the broker accepts them from its listen queue: wait until it holds them all
        deadline = time.monotonic() + 60
        while open_fds(pid) < fds0 + N and time.monotonic() < deadline:
            time.sleep(0.2)
        fds1 = open_fds(pid)
        self.assertGreaterEqual(fds1 - fds0, N, "the broker holds %d of %d connections" % (fds1 - fds0, N))
        rss1 = rss_kib(pid)

        # a producer and a consumer at work meanwhile
        count = 50000
        values = [b"v-%06d" % i for i in range(count)]
        delivered, errors = [], []

        def produce():
            p = self.producer(linger_ms=5)
            for i, v in enumerate(values):
                while True:
                    try:
                        p.produce(topic, v, partition=i % 3,
                                  on_delivery=lambda err, msg: errors.append(err) if err else
                                  delivered.append((msg.partition(), msg.offset(), msg.value())))
                        break
                    except BufferError:
                        p.poll(0.05)
                if i % 1000 == 0:
                    p.poll(0)
                    time.sleep(0.05)  # spread over a while so the consumer works alongside
            p.flush(60)

        from confluent_kafka import Consumer
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "many-conns", "auto.offset.reset": "earliest",
                      "enable.auto.commit": True, "log.connection.close": False})
        c.subscribe([topic])
        producer = threading.Thread(target=produce)
        producer.start()
        got = []
        deadline = time.monotonic() + 120
        while len(got) < count and time.monotonic() < deadline:
            # poll(), not consume(n): librdkafka 2.0.2's batch API can skip messages across a rebalance
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                self.fail("consume error: %s" % m.error())
            got.append((m.partition(), m.offset(), m.value()))
        producer.join(60)
        c.close()
        self.assertEqual(errors, [])
        self.assertEqual(len(delivered), count)
        self.assertEqual(sorted(got), sorted(delivered))  # every value exactly once, where it was acked
        for p in range(3):
            mine = [v for q, _, v in sorted(got) if q == p]
            self.assertEqual(mine, [v for i, v in enumerate(values) if i % 3 == p])

        # the idle ones are alive: a sample answers, and none was closed
        for k, s in enumerate(random.Random(3).sample(socks, 100)):
            self.assertEqual(self.api_versions_on(s, 1000 + k), (1000 + k, 0))
        self.assertEqual(self.closed_sockets(socks), 0)
        self.assertGreaterEqual(open_fds(pid) - fds0, N)
        rss2 = rss_kib(pid)
        figure("many connections: %d idle connections opened in %.1f s and all still connected after %d records "
               "produced (acks=all) and consumed exactly; broker RSS %d KiB before, %d KiB with them (%.1f KiB "
               "each), %d KiB after the traffic" % (N, took, count, rss0, rss1, (rss1 - rss0) / N, rss2))


if __name__ == "__main__":
    main()
