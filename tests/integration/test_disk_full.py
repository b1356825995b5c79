#!/usr/bin/python3
"""Disk full: the broker's data directory sits on a small filesystem (an
8 MiB tmpfs, else a loop-mounted 16 MiB ext4 image; skipped with a message
when neither can be mounted). A filler file takes most of the space, then:

  - produce until the disk is full: the failing produce is answered
    promptly with KAFKA_STORAGE_ERROR (56), raw and through librdkafka;
  - nothing partial becomes visible: what a consumer reads, and what the
    segment files hold (CRC-checked, dense offsets), is exactly the
    acknowledged records;
  - once the filler is deleted, produce succeeds again on the same broker
    (no restart), offsets go on densely, and an idempotent producer that
    was retrying meanwhile gets every record in exactly once;
  - with 64 KiB segments, rolls happen while the disk is full and the log
    stays dense and whole (also after a kill -9 and recovery);
  - after a restart everything acknowledged is still there.

Needs root for the mount; elsewhere it re-executes itself in a new user
and mount namespace (unshare -rm) where a tmpfs mount is allowed.
Run: /usr/bin/python3 tests/integration/test_disk_full.py
     BECK_DISK_FULL_FS=ext4|userns picks the loop image / the namespace.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "crash"))

import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

from beckit import Broker, BrokerTestCase, fetch_batches, main, produce_raw, record_batch  # noqa: E402
from broker_kill_loop import check_dense, read_partition  # noqa: E402

STORAGE_ERROR = 56


def _run(*cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def mount_small_fs(where, tmp):
    """Mounts a small filesystem on `where`; returns (kind, undo) or raises
    SkipTest saying why none could be mounted."""
    why = []
    if os.environ.get("BECK_DISK_FULL_NS"):
        fs = "tmpfs 8 MiB in a user namespace"
    else:
        fs = "tmpfs 8 MiB"
    if os.environ.get("BECK_DISK_FULL_FS", "tmpfs") != "ext4":  # BECK_DISK_FULL_FS=ext4 tries the image only
        r = _run("mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", where)
        if r.returncode == 0:
            return fs, lambda: _run("umount", "-l", where)
        why.append("tmpfs: %s" % r.stderr.decode(errors="replace").strip())
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    r = _run("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", img)
    if r.returncode == 0:
        r = _run("mount", "-o", "loop", img, where)
        if r.returncode == 0:
            shutil.rmtree(os.path.join(where, "lost+found"), ignore_errors=True)
            return "loop ext4 16 MiB", lambda: _run("umount", "-l", where)
    why.append("loop ext4: %s" % r.stderr.decode(errors="replace").strip())
    raise unittest.SkipTest("cannot mount a small filesystem for the disk-full test (%s)" % "; ".join(why))


def can_mount_tmpfs():
    d = tempfile.mkdtemp(prefix="beck-mount-probe-")
    try:
        if _run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d).returncode != 0:
            return False
        _run("umount", d)
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        os.rmdir(d)


def run():
    """Runs the tests; where mounting is not allowed (not root, or a
    container without CAP_SYS_ADMIN), first re-executes itself as root of
    a new user and mount namespace (unshare -rm), where a tmpfs mount is
    allowed to anyone. BECK_DISK_FULL_FS=userns forces that path."""
    forced = os.environ.get("BECK_DISK_FULL_FS") == "userns"
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    if not os.environ.get("BECK_DISK_FULL_NS") and os.path.exists(unshare) and (forced or not can_mount_tmpfs()):
        env = dict(os.environ, BECK_DISK_FULL_NS="1", BECK_DISK_FULL_FS="tmpfs")
        argv = [unshare, "--user", "--map-root-user", "--mount", sys.executable, os.path.abspath(__file__)]
        os.execve(unshare, argv + sys.argv[1:], env)
    main()


def fill(path, leave):
    """Writes a filler file until only `leave` bytes are free; returns its size."""
    st = os.statvfs(os.path.dirname(path))
    size = max(st.f_bavail * st.f_frsize - leave, 0)
    with open(path, "wb") as f:
        chunk = b"\0" * (1 << 20)
        left = size
        while left > 0:
            left -= f.write(chunk[:min(left, len(chunk))])
    return size


def figure(line):
    sys.stderr.write("\n" + line + "\n")
    if os.environ.get("BECK_FIGURES"):
        with open(os.environ["BECK_FIGURES"], "a") as f:
            f.write(line + "\n")


class DiskFullTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("the disk-full test mounts a filesystem: needs root (or user namespaces)")
        b = Broker(cls.SETTINGS)
        os.makedirs(b.data_dir)
        try:
            cls.fs_kind, cls.umount = mount_small_fs(b.data_dir, b.tmp)
        except unittest.SkipTest:
            b.cleanup()
            raise
        sys.stderr.write("\ndisk-full data dir on %s\n" % cls.fs_kind)
        cls.broker = b.start()

    @classmethod
    def tearDownClass(cls):
        b = cls.broker
        try:
            if b is not None and b.alive():
                b.stop()
        finally:
            cls.umount()
            cls.broker = b
            super().tearDownClass()

    def filler(self, leave):
        path = os.path.join(self.broker.data_dir, "filler")
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        fill(path, leave)
        return path

    def part_dir(self, topic, p=0):
        return os.path.join(self.broker.data_dir, "%s-%d" % (topic, p))

    def assert_log_is(self, topic, values):
        """The partition holds exactly `values` at offsets 0.. : read from
        the segment files (CRC, density) and through a consumer."""
        batches, problems = read_partition(self.part_dir(topic))
        self.assertEqual(problems + check_dense(batches), [])
        on_disk = [v for b in batches for _, _, v in b["records"]]
        self.assertEqual(on_disk, values)
        err, hw, _ = fetch_batches(self.bootstrap, topic, 0)
        self.assertEqual((err, hw), (0, len(values)))
        if values:
            got = self.consume_assigned(topic, [0])[0]
            self.assertEqual([m.value() for m in got], values)
            self.assertEqual([m.offset() for m in got], list(range(len(values))))

    def fill_with_raw_produce(self, topic, size):
        """Produces `size`-byte records (one per request, acks=all) until
        one fails; returns (acked values, the error, seconds the failing
        request took)."""
        acked = []
        for i in range(100000):
            v = b"%06d|" % i + b"x" * (size - 7)
            t0 = time.monotonic()
            err, base = produce_raw(self.bootstrap, topic, 0, record_batch([v]))
            took = time.monotonic() - t0
            if err:
                return acked, err, took
            self.assertEqual(base, len(acked))
            acked.append(v)
        self.fail("the disk never filled up")

    def test_produce_fails_promptly_then_recovers_when_space_is_freed(self):
        self.fill_then_free(self.create_topic("full-raw"), "")

    def test_small_segments_roll_while_the_disk_is_full(self):
        # segment rolls (new file, index files of the old one) fail or half-succeed
        # while full; the log stays consistent and continues after the space is back
        topic = self.create_topic("full-rolls", config={"segment.bytes": "65536", "index.interval.bytes": "1024"})
        self.fill_then_free(topic, ", 64 KiB segments")
        self.assertGreater(len([n for n in os.listdir(self.part_dir(topic)) if n.endswith(".log")]), 5)
        self.broker.restart(hard=True)  # and recovery after a crash agrees
        err, hw, _ = fetch_batches(self.bootstrap, topic, 0)
        self.assertEqual(err, 0)
        batches, problems = read_partition(self.part_dir(topic))
        self.assertEqual(problems + check_dense(batches), [])
        self.assertEqual(hw, batches[-1]["last_offset"] + 1)

    def fill_then_free(self, topic, what):
        filler = self.filler(leave=1 << 20)
        acked, err, took = self.fill_with_raw_produce(topic, 16 * 1024)
        self.assertEqual(err, STORAGE_ERROR)
        self.assertLess(took, 2.0, "the storage error took %.1f s" % took)
        self.assertGreater(len(acked), 10)
        # still full: fails again, promptly, and stores nothing
        for _ in range(3):
            t0 = time.monotonic()
            self.assertEqual(produce_raw(self.bootstrap, topic, 0, record_batch([b"y" * 65536]))[0], STORAGE_ERROR)
            self.assertLess(time.monotonic() - t0, 2.0)
        self.assert_log_is(topic, acked)
        # small records may still fit; whatever is acknowledged is there, in order
        err, base = produce_raw(self.bootstrap, topic, 0, record_batch([b"small"]))
        if err == 0:
            self.assertEqual(base, len(acked))
            acked.append(b"small")
        else:
            self.assertEqual(err, STORAGE_ERROR)
        self.assert_log_is(topic, acked)
        # free the space: the same broker takes writes again
        os.unlink(filler)
        more = [b"after %d" % i + b"z" * 20000 for i in range(20)]
        for v in more:
            err, base = produce_raw(self.bootstrap, topic, 0, record_batch([v]))
            self.assertEqual((err, base), (0, len(acked)))
            acked.append(v)
        self.assert_log_is(topic, acked)
        figure("disk full (%s): %d records of 16 KiB acknowledged before the disk filled, KAFKA_STORAGE_ERROR in "
               "%.0f ms, nothing partial visible, 20 more acknowledged after freeing space (no restart)" %
               (self.fs_kind + what, len(acked) - 20, took * 1000))

    def test_librdkafka_gets_storage_error_and_idempotent_retries_land_once(self):
        from confluent_kafka import KafkaError
        topic = self.create_topic("full-rdkafka")
        filler = self.filler(leave=512 << 10)
        # a producer without retries sees the error itself
        p = self.producer(enable_idempotence=False, retries=0, linger_ms=0)
        results = []

        def dr(err, msg):
            results.append((err.code() if err else 0, msg.offset() if err is None else None, msg.value()))
        t0 = time.monotonic()
        i = 0
        while not any(r[0] for r in results) and time.monotonic() - t0 < 60:
            p.produce(topic, b"%06d|" % i + b"r" * 32000, partition=0, on_delivery=dr)
            i += 1
            p.flush(10)
        self.assertEqual(p.flush(10), 0)
        codes = [r[0] for r in results]
        self.assertIn(KafkaError.KAFKA_STORAGE_ERROR, codes)
        self.assertEqual(set(codes), {0, KafkaError.KAFKA_STORAGE_ERROR})
        acked = [v for c, _, v in results if c == 0]
        self.assertEqual([o for c, o, _ in results if c == 0], list(range(len(acked))))
        self.assert_log_is(topic, acked)

        # an idempotent producer (retries on) keeps trying while the disk is full ...
        p = self.producer(enable_idempotence=True, message_timeout_ms=60000, retry_backoff_ms=100)
        delivered = {}
        errors = []

        def dr2(err, msg):
            if err:
                errors.append(err)
            else:
                delivered[msg.value()] = msg.offset()
        pending = [b"retry %03d|" % k + b"q" * 30000 for k in range(40)]
        for v in pending:
            p.produce(topic, v, partition=0, on_delivery=dr2)
        p.poll(3.0)
        self.assertLess(len(delivered), len(pending), "everything fit: the disk was not full")
        # ... and once space is freed, every record lands exactly once
        os.unlink(filler)
        self.assertEqual(p.flush(60), 0)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(delivered), sorted(pending))
        batches, problems = read_partition(self.part_dir(topic))
        self.assertEqual(problems + check_dense(batches), [])
        on_disk = [v for b in batches for _, _, v in b["records"]]
        self.assertEqual(on_disk[:len(acked)], acked)
        self.assertEqual(sorted(on_disk[len(acked):]), sorted(pending))  # each exactly once
        self.assertEqual({v: on_disk.index(v) for v in pending}, delivered)

        p = None
        figure("disk full (%s, librdkafka): %d records acknowledged, then KAFKA_STORAGE_ERROR in delivery "
               "reports; an idempotent producer retrying through the full disk got all %d records in exactly "
               "once after the filler was deleted" % (self.fs_kind, len(acked), len(pending)))
        # and a restart keeps all of it
        self.broker.restart()
        self.assert_log_is(topic, on_disk)


if __name__ == "__main__":
    run()
