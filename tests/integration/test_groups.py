#!/usr/bin/python3
"""Consumer groups with real clients: partitions split with no gap and no
overlap, committed offsets resumed exactly (also across client libraries),
kafka-python group members, kcat -G.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import time  # noqa: E402

from beckit import BrokerTestCase, main  # noqa: E402

from confluent_kafka import Consumer, TopicPartition  # noqa: E402

FAST = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 300, "enable.auto.commit": False,
        "auto.offset.reset": "earliest"}


class GroupsTest(BrokerTestCase):
    def group_consumer(self, group, **conf):
        c = Consumer(dict(FAST, **{"bootstrap.servers": self.bootstrap, "group.id": group}, **conf))
        self.addCleanup(self.close, c)
        return c

    def poll_until(self, consumers, cond, timeout=30.0, sink=None):
        """Polls every consumer in turn until cond() holds; messages go to sink[i]."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, c in enumerate(consumers):
                for m in c.consume(500, 0.1):
                    self.assertIsNone(m.error(), m.error())
                    if sink is not None:
                        sink[i].append(m)
            if cond():
                return
        self.fail("condition not reached in %.0fs" % timeout)

    def close(self, c):
        try:
            c.close()
        except RuntimeError:  # closed already
            pass

    def test_two_consumers_split_four_partitions(self):
        topic = self.create_topic(self.topic_name(), 4)
        group = "g-" + topic
        c1, c2 = self.group_consumer(group), self.group_consumer(group)

        def parts(c):
            return sorted(tp.partition for tp in c.assignment())

        # c1 alone owns everything; c2 joining rebalances the stable group
        c1.subscribe([topic])
        self.poll_until([c1], lambda: parts(c1) == [0, 1, 2, 3])
        c2.subscribe([topic])

        def split():
            a, b = parts(c1), parts(c2)
            return len(a) == 2 and len(b) == 2 and sorted(a + b) == [0, 1, 2, 3]

        self.poll_until([c1, c2], split)
        a1, a2 = set(parts(c1)), set(parts(c2))
        self.assertEqual(a1 | a2, {0, 1, 2, 3})
        self.assertEqual(a1 & a2, set())

        # ListGroups + DescribeGroups see the same
        groups = {g.id: g for g in self.admin().list_groups(timeout=10)}
        g = groups[group]
        self.assertEqual((g.state, g.protocol_type, g.protocol), ("Stable", "consumer", "range"))
        self.assertEqual(len(g.members), 2)
        self.assertEqual({m.client_id for m in g.members}, {"rdkafka"})

        recs = [{"value": b"r%d" % i, "partition": i % 4} for i in range(400)]
        self.produce(topic, recs)
        got = [[], []]
        self.poll_until([c1, c2], lambda: len(got[0]) + len(got[1]) >= 400, sink=got)
        self.poll_until([c1, c2], lambda: True, sink=got)  # nothing more arrives
        self.assertEqual({m.partition() for m in got[0]}, a1)
        self.assertEqual({m.partition() for m in got[1]}, a2)
        seen = [(m.partition(), m.offset(), m.value()) for m in got[0] + got[1]]
        self.assertEqual(len(seen), 400, "duplicates")
        self.assertEqual(sorted(seen), sorted((i % 4, i // 4, b"r%d" % i) for i in range(400)))

        # one leaves: the other takes over all four partitions
        self.close(c2)
        self.poll_until([c1], lambda: parts(c1) == [0, 1, 2, 3])

    def test_members_join_and_leave_one_by_one(self):
        topic = self.create_topic(self.topic_name(), 12)
        group = "g-" + topic
        members = []

        def parts(c):
            return {tp.partition for tp in c.assignment()}

        def is_partition():
            got = [parts(c) for c in members]
            return (sorted(p for g in got for p in g) == list(range(12)) and
                    all(len(g) in (12 // len(members), -(-12 // len(members))) for g in got))

        for n in range(1, 6):
            c = self.group_consumer(group)
            c.subscribe([topic])
            members.append(c)
            self.poll_until(members, is_partition, timeout=30)
        for n in range(4):
            self.close(members.pop(0))
            self.poll_until(members, is_partition, timeout=30)
        self.assertEqual(parts(members[0]), set(range(12)))

    def test_member_that_dies_is_expired_and_its_partitions_move(self):
        import subprocess
        topic = self.create_topic(self.topic_name(), 2)
        group = "g-" + topic
        c1 = self.group_consumer(group)
        c1.subscribe([topic])
        parts = lambda: sorted(tp.partition for tp in c1.assignment())  # noqa: E731
        self.poll_until([c1], lambda: parts() == [0, 1])
        # a second member in another process, killed without leaving the group
        code = ("import sys, time; from confluent_kafka import Consumer\n"
                "c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': sys.argv[2], "
                "'session.timeout.ms': 6000, 'heartbeat.interval.ms': 300})\n"
                "c.subscribe([sys.argv[3]])\n"
                "while True:\n"
                "    c.poll(0.1)\n"
                "    if c.assignment(): print('assigned', flush=True)\n")
        proc = subprocess.Popen(["/usr/bin/python3", "-c", code, self.bootstrap, group, topic],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            self.poll_until([c1], lambda: len(parts()) == 1)
            self.assertEqual(proc.stdout.readline().strip(), b"assigned")
        finally:
            proc.kill()
            proc.wait()
        t0 = time.monotonic()
        self.poll_until([c1], lambda: parts() == [0, 1], timeout=30)
        # expired by the session timeout (6 s), not before and not much later
        self.assertLess(time.monotonic() - t0, 6 + 8)

    def test_commit_close_resume_after_committed_offset(self):
        topic = self.create_topic(self.topic_name(), 1)
        group = "g-" + topic
        self.produce(topic, [{"value": b"c%d" % i, "partition": 0} for i in range(100)])
        c = self.group_consumer(group)
        c.subscribe([topic])
        got = [[]]
        self.poll_until([c], lambda: len(got[0]) >= 30, sink=got)
        last = got[0][29]
        self.assertEqual((last.offset(), last.value()), (29, b"c29"))
        c.commit(message=last, asynchronous=False)  # commits 30: the next to read
        self.assertEqual(c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset, 30)
        self.close(c)

        # a new member resumes right after the commit, even with reset=latest
        c2 = self.group_consumer(group, **{"auto.offset.reset": "latest"})
        c2.subscribe([topic])
        got2 = [[]]
        self.poll_until([c2], lambda: len(got2[0]) >= 70, sink=got2)
        self.assertEqual([(m.offset(), m.value()) for m in got2[0]], [(i, b"c%d" % i) for i in range(30, 100)])
        c2.commit(asynchronous=False)
        self.assertEqual(c2.committed([TopicPartition(topic, 0)], timeout=10)[0].offset, 100)
        self.close(c2)

        # kafka-python sees the same committed offset (OffsetFetch v1)
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KTP
        k = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False)
        try:
            self.assertEqual(k.committed(KTP(topic, 0)), 100)
        finally:
            k.close()

    def test_committed_offset_past_the_end_resets(self):
        # OFFSET_OUT_OF_RANGE on fetch; the consumer applies auto.offset.reset
        topic = self.create_topic(self.topic_name(), 1)
        group = "g-" + topic
        self.produce(topic, [{"value": b"o%d" % i, "partition": 0} for i in range(10)])
        c = self.group_consumer(group)
        c.commit(offsets=[TopicPartition(topic, 0, 1000)], asynchronous=False)
        self.close(c)
        c = self.group_consumer(group, **{"auto.offset.reset": "earliest"})
        c.subscribe([topic])
        got = [[]]
        self.poll_until([c], lambda: len(got[0]) >= 10, sink=got)
        self.assertEqual([m.value() for m in got[0]], [b"o%d" % i for i in range(10)])

    def test_commit_metadata_round_trips(self):
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KTP
        from kafka.structs import OffsetAndMetadata
        topic = self.create_topic(self.topic_name(), 2)
        group = "g-" + topic
        k = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False)
        self.addCleanup(k.close)
        tp0, tp1 = KTP(topic, 0), KTP(topic, 1)
        k.commit({tp0: OffsetAndMetadata(5, "where I was"), tp1: OffsetAndMetadata(0, "")})
        got = k._coordinator.fetch_committed_offsets([tp0, tp1])  # OffsetFetch v1 with metadata
        self.assertEqual((got[tp0].offset, got[tp0].metadata), (5, "where I was"))
        self.assertEqual((got[tp1].offset, got[tp1].metadata), (0, ""))
        c = self.group_consumer(group)
        self.assertEqual([tp.offset for tp in c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)],
                                                          timeout=10)], [5, 0])

    def test_regex_subscription_and_static_member(self):
        prefix = self.topic_name("rx")
        a = self.create_topic(prefix + "-a", 2)
        b = self.create_topic(prefix + "-b", 1)
        self.create_topic(self.topic_name("other"), 1)
        group = "g-" + prefix
        for attempt in range(2):  # the same static member id twice, one after the other
            c = self.group_consumer(group, **{"group.instance.id": "static-1"})
            c.subscribe(["^" + prefix + "-.*"])
            self.poll_until([c], lambda: len(c.assignment()) == 3)
            self.assertEqual(sorted((tp.topic, tp.partition) for tp in c.assignment()),
                             [(a, 0), (a, 1), (b, 0)])
            self.close(c)

    def test_kafka_python_group_commit_and_resume(self):
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KTP
        topic = self.create_topic(self.topic_name(), 3)
        group = "g-" + topic
        self.produce(topic, [{"value": b"k%d" % i, "partition": i % 3} for i in range(90)])

        def kp_consumer():
            k = KafkaConsumer(topic, bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False,
                              auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=500)
            self.addCleanup(k.close)
            return k

        k1 = kp_consumer()
        out = []
        deadline = time.monotonic() + 30
        while len(out) < 45 and time.monotonic() < deadline:
            for recs in k1.poll(timeout_ms=300, max_records=5).values():
                out.extend(recs)
        self.assertGreaterEqual(len(out), 45)
        self.assertEqual(k1.assignment(), {KTP(topic, p) for p in range(3)})
        k1.commit()  # commits the positions: everything returned so far
        positions = {p: k1.position(KTP(topic, p)) for p in range(3)}
        committed = {p: k1.committed(KTP(topic, p)) for p in range(3)}
        self.assertEqual(committed, positions)
        self.assertEqual(sum(positions.values()), len(out))
        k1.close()

        # a librdkafka member of the same group resumes at kafka-python's commits
        c = self.group_consumer(group, **{"auto.offset.reset": "latest"})
        c.subscribe([topic])
        got = [[]]
        self.poll_until([c], lambda: len(got[0]) >= 90 - len(out), sink=got)
        self.poll_until([c], lambda: True, sink=got)
        rest = sorted((m.partition(), m.offset()) for m in got[0])
        self.assertEqual(rest, sorted((p, o) for p in range(3) for o in range(positions[p], 30)))
        first = sorted((r.partition, r.offset) for r in out)
        self.assertEqual(sorted(first + rest), sorted((p, o) for p in range(3) for o in range(30)))

    def test_two_kafka_python_consumers_split_partitions(self):
        # one thread per consumer: kafka-python's poll() blocks in JoinGroup
        # until every member rejoins, so one thread polling both deadlocks
        import threading
        from kafka import KafkaConsumer
        topic = self.create_topic(self.topic_name(), 4)
        group = "g-" + topic
        stop = threading.Event()
        got = [[], []]
        assigned = [set(), set()]
        errors = []

        def run(i):
            k = KafkaConsumer(topic, bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False,
                              auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=300)
            try:
                while not stop.is_set():
                    for recs in k.poll(timeout_ms=100).values():
                        got[i].extend(recs)
                    assigned[i] = {tp.partition for tp in k.assignment()}
            except Exception as e:  # reported by the test thread
                errors.append(e)
            finally:
                k.close()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not errors:
                a = list(assigned)
                if len(a[0]) == 2 and len(a[1]) == 2 and a[0] | a[1] == {0, 1, 2, 3}:
                    break
                time.sleep(0.1)
            self.assertEqual(errors, [])
            self.assertEqual(a[0] | a[1], {0, 1, 2, 3})
            self.assertEqual(a[0] & a[1], set())
            self.produce(topic, [{"value": b"x%d" % i, "partition": i % 4} for i in range(200)])
            deadline = time.monotonic() + 30
            while sum(map(len, got)) < 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # nothing more arrives
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(errors, [])
        for i in range(2):
            self.assertEqual({r.partition for r in got[i]}, a[i])
        seen = sorted((r.partition, r.offset, r.value) for r in got[0] + got[1])
        self.assertEqual(seen, sorted((i % 4, i // 4, b"x%d" % i) for i in range(200)))

    def test_kcat_group_mode_reads_everything(self):
        topic = self.create_topic(self.topic_name(), 3)
        group = "g-" + topic
        recs = [{"value": b"kc%d" % i, "key": b"k%d" % i, "partition": i % 3} for i in range(150)]
        self.produce(topic, recs)
        r = self.kcat("-G", group, "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000", "-e", "-J",
                      "-q", topic, timeout=40)
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        got = [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]
        self.assertEqual(sorted((m["partition"], m["offset"], m["key"], m["payload"]) for m in got),
                         sorted((i % 3, i // 3, "k%d" % i, "kc%d" % i) for i in range(150)))
        # kcat committed what it read when it left the group
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group})
        try:
            committed = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
            self.assertEqual([tp.offset for tp in committed], [50, 50, 50])
        finally:
            c.close()


if __name__ == "__main__":
    main()
