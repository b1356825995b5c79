#!/usr/bin/python3
"""Restarts between produce and consume: a clean stop (SIGTERM) and a crash
(SIGKILL) lose nothing that was acknowledged with acks=all, keep offsets,
topics, configs and committed group offsets, and producers carry on.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import threading  # noqa: E402
import time  # noqa: E402

from beckit import BrokerTestCase, fetch_batches, init_producer_id, main, produce_raw, record_batch  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import ConfigResource  # noqa: E402

T0 = 1700000000000


def records(n, parts):
    return [{"value": b"rec-%05d" % i + b"." * (i % 50), "key": b"key-%d" % (i % 11), "partition": i % parts,
             "headers": [("seq", b"%d" % i)], "timestamp": T0 + i} for i in range(n)]


class RestartTest(BrokerTestCase):
    def check_all(self, topic, recs, delivered):
        """Every record at its acknowledged offset, exactly; nothing else."""
        parts = sorted({p for p, _ in delivered})
        got = self.consume_assigned(topic, parts)
        by_po = {(m.partition(), m.offset()): m for msgs in got.values() for m in msgs}
        self.assertEqual(len(by_po), len(recs))
        for r, po in zip(recs, delivered):
            m = by_po[po]
            self.assertEqual((m.value(), m.key(), m.headers(), m.timestamp()[1]),
                             (r["value"], r["key"], r["headers"], r["timestamp"]), po)

    def restart_keeps_acknowledged_records(self, hard):
        # The records carry 2023 timestamps (T0). After a restart the next
        # append rolls the segment (segment.ms counts from the first batch's
        # timestamp, as in Kafka), and time retention then deletes the old
        # segment for good: a 1-day retention.ms here made kafka-python read
        # only the 3 records produced after the restart whenever the
        # broker's retention check ran before it (correct behaviour, flaky
        # test). So the config that must survive is "keep forever".
        topic = self.create_topic(self.topic_name(), 3, {"retention.ms": "-1"})
        recs = records(3000, 3)
        delivered = self.produce(topic, recs, acks="all")
        self.broker.restart(hard=hard)
        self.check_all(topic, recs, delivered)
        # and the log continues where it was
        more = self.produce(topic, [{"value": b"after restart", "partition": p} for p in range(3)])
        self.assertEqual(more, [(p, 1000) for p in range(3)])
        # the topic config survived too
        res = ConfigResource(ConfigResource.Type.TOPIC, topic)
        cfg = self.admin().describe_configs([res])[res].result(timeout=15)
        self.assertEqual((cfg["retention.ms"].value, cfg["retention.ms"].is_default), ("-1", False))
        # kafka-python reads the same after the restart
        kp = self.kp_consume(topic, [0, 1, 2], 3003)
        self.assertEqual([(m.partition, m.offset, m.value) for m in kp if m.offset < 1000],
                         sorted((po[0], po[1], r["value"]) for r, po in zip(recs, delivered)))

    def test_sigterm_between_produce_and_consume(self):
        self.restart_keeps_acknowledged_records(hard=False)

    def test_sigkill_between_produce_and_consume(self):
        self.restart_keeps_acknowledged_records(hard=True)

    def committed_offsets_survive(self, hard):
        topic = self.create_topic(self.topic_name(), 2)
        group = "g-" + topic
        self.produce(topic, [{"value": b"v%d" % i, "partition": i % 2} for i in range(40)])
        c = Consumer({"bootstrap.servers": self.bootstrap, "log.connection.close": False, "group.id": group,
                      "enable.auto.commit": False})
        try:
            c.commit(offsets=[TopicPartition(topic, 0, 7), TopicPartition(topic, 1, 13)], asynchronous=False)
        finally:
            c.close()
        self.broker.restart(hard=hard)
        c = Consumer({"bootstrap.servers": self.bootstrap, "log.connection.close": False, "group.id": group,
                      "enable.auto.commit": False, "auto.offset.reset": "latest", "session.timeout.ms": 6000,
                      "heartbeat.interval.ms": 300})
        try:
            got = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)
            self.assertEqual([tp.offset for tp in got], [7, 13])
            # a group member resumes there
            c.subscribe([topic])
            out = []
            deadline = time.monotonic() + 30
            while len(out) < (20 - 7) + (20 - 13) and time.monotonic() < deadline:
                out += [m for m in c.consume(100, 0.2) if not m.error()]
            out += [m for m in c.consume(100, 0.3) if not m.error()]  # nothing more
            self.assertEqual(sorted((m.partition(), m.offset()) for m in out),
                             sorted([(0, o) for o in range(7, 20)] + [(1, o) for o in range(13, 20)]))
        finally:
            c.close()

    def test_topic_changes_survive_restart(self):
        from confluent_kafka.admin import NewPartitions
        grown = self.create_topic(self.topic_name("grown"), 1)
        gone = self.create_topic(self.topic_name("gone"), 2)
        self.produce(gone, [{"value": b"x", "partition": 1}])
        self.admin().create_partitions([NewPartitions(grown, 3)])[grown].result(timeout=15)
        self.admin().delete_topics([gone])[gone].result(timeout=15)
        for hard in (False, True):
            self.broker.restart(hard=hard)
            self._admin = None
            md = self.admin().list_topics(timeout=10)
            self.assertEqual(sorted(md.topics[grown].partitions), [0, 1, 2])
            self.assertNotIn(gone, md.topics)
        self.assertEqual(self.produce(grown, [{"value": b"p2", "partition": 2}]), [(2, 0)])

    def test_committed_offsets_survive_sigterm(self):
        self.committed_offsets_survive(hard=False)

    def test_committed_offsets_survive_sigkill(self):
        self.committed_offsets_survive(hard=True)

    def test_sigkill_during_produce_loses_nothing_acknowledged(self):
        """A producer keeps sending while the broker is killed and restarted:
        every record acknowledged (acks=all) is there afterwards, at the
        offset it was acknowledged with."""
        topic = self.create_topic(self.topic_name(), 2)
        p = Producer({"bootstrap.servers": self.bootstrap, "log.connection.close": False, "acks": "all", "linger.ms": 5,
                      "message.timeout.ms": 60000, "retry.backoff.ms": 100, "reconnect.backoff.max.ms": 200})
        acked = {}
        lock = threading.Lock()

        def on_delivery(err, msg):
            if err is None:
                with lock:
                    acked[(msg.partition(), msg.offset())] = msg.value()

        stop = threading.Event()

        def run():
            i = 0
            while not stop.is_set():
                try:
                    p.produce(topic, b"live-%06d" % i, partition=i % 2, on_delivery=on_delivery)
                    i += 1
                except BufferError:
                    pass
                p.poll(0.001 if i % 20 else 0.01)

        t = threading.Thread(target=run)
        t.start()
        try:
            deadline = time.monotonic() + 20
            while len(acked) < 2000 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertGreaterEqual(len(acked), 2000)
            self.broker.kill()
            time.sleep(0.3)
            self.broker.start()
            n = len(acked)
            deadline = time.monotonic() + 20
            while len(acked) < n + 2000 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            t.join(30)
        self.assertEqual(p.flush(60), 0)
        with lock:
            acked = dict(acked)
        self.assertGreater(len(acked), n)
        got = self.consume_assigned(topic, [0, 1])
        stored = {(m.partition(), m.offset()): m.value() for msgs in got.values() for m in msgs}
        missing = [po for po in acked if stored.get(po) != acked[po]]
        self.assertEqual(missing[:10], [], "%d acknowledged records lost or changed" % len(missing))
        # offsets stay dense across the crash
        for part in (0, 1):
            offs = sorted(o for p_, o in stored if p_ == part)
            self.assertEqual(offs, list(range(len(offs))))

    def test_idempotent_producer_across_sigkill_exactly_once(self):
        topic = self.create_topic(self.topic_name(), 1)
        p = Producer({"bootstrap.servers": self.bootstrap, "log.connection.close": False, "enable.idempotence": True,
                      "linger.ms": 5,
                      "message.timeout.ms": 60000, "retry.backoff.ms": 100, "reconnect.backoff.max.ms": 200})
        errors = []
        total = 6000

        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)

        p.list_topics(topic, timeout=10)
        for i in range(total):
            while True:
                try:
                    p.produce(topic, b"once-%06d" % i, partition=0, on_delivery=on_delivery)
                    break
                except BufferError:
                    p.poll(0.05)
            if i == total // 2:
                p.poll(0.05)
                self.broker.kill()
                self.broker.start()
            p.poll(0)
        self.assertEqual(p.flush(60), 0)
        self.assertEqual(errors, [])
        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([m.value() for m in got], [b"once-%06d" % i for i in range(total)])
        self.assertEqual([m.offset() for m in got], list(range(total)))
        _, hw, batches = fetch_batches(self.bootstrap, topic, 0)
        self.assertEqual(hw, total)

    def test_producer_state_survives_restart(self):
        """A retry that arrives after a restart is still recognised as a
        duplicate: the broker rebuilds producer state from the log."""
        topic = self.create_topic(self.topic_name(), 1)
        err, pid, epoch = init_producer_id(self.bootstrap)
        self.assertEqual(err, 0)
        b0 = record_batch([b"a", b"b"], pid, epoch, 0)
        b1 = record_batch([b"c"], pid, epoch, 2)
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, b0), (0, 0))
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, b1), (0, 2))
        for hard in (True, False):
            self.broker.restart(hard=hard)
            self.assertEqual(produce_raw(self.bootstrap, topic, 0, b1), (0, 2), "retry after restart (hard=%s)" % hard)
            self.assertEqual(produce_raw(self.bootstrap, topic, 0, b0), (0, 0), "retry after restart (hard=%s)" % hard)
            self.assertEqual(produce_raw(self.bootstrap, topic, 0, record_batch([b"x"], pid, epoch, 9))[0], 45)
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, record_batch([b"d"], pid, epoch, 3)), (0, 3))
        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([m.value() for m in got], [b"a", b"b", b"c", b"d"])


if __name__ == "__main__":
    main()
