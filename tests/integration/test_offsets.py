#!/usr/bin/python3
"""ListOffsets: offsets for times (record by record inside batches,
reference §7.1 item 20) and watermarks, from confluent-kafka,
kafka-python and kcat.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import re  # noqa: E402
import time  # noqa: E402

from beckit import BrokerTestCase, Wire, fetch_batches, main, roundtrip  # noqa: E402

from confluent_kafka import Consumer, TopicPartition  # noqa: E402

T0 = 1690000000000


class OffsetsTest(BrokerTestCase):
    SETTINGS = dict(BrokerTestCase.SETTINGS, **{"log.retention.check.interval.ms": "200"})

    def consumer(self):
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "offsets-" + self._testMethodName})
        self.addCleanup(c.close)
        return c

    def offsets_for_times(self, c, topic, partition, times):
        tps = c.offsets_for_times([TopicPartition(topic, partition, t) for t in times], timeout=10)
        # one request per time keeps the answer per query unambiguous
        return tps[0].offset if len(times) == 1 else [tp.offset for tp in tps]

    def test_offsets_for_times_inside_batches(self):
        topic = self.create_topic(self.topic_name(), 2)
        # partition 0: 100 records 10 ms apart in batches of 20
        recs = [{"value": b"t%d" % i, "partition": 0, "timestamp": T0 + 10 * i} for i in range(100)]
        # partition 1: non-monotonic timestamps in one batch
        p1_ts = [T0 + 100, T0 + 300, T0 + 200, T0 + 400, T0 + 50]
        recs += [{"value": b"u%d" % i, "partition": 1, "timestamp": t} for i, t in enumerate(p1_ts)]
        self.produce(topic, recs, **{"linger.ms": 1000, "batch.num.messages": 20})
        self.assertGreaterEqual(len(fetch_batches(self.bootstrap, topic, 0)[2]), 5)

        c = self.consumer()
        want = {T0 - 1000: 0, T0: 0, T0 + 1: 1, T0 + 9: 1, T0 + 10: 1, T0 + 15: 2, T0 + 199: 20, T0 + 200: 20,
                T0 + 201: 21, T0 + 555: 56, T0 + 990: 99, T0 + 991: -1, T0 + 10 ** 9: -1}
        for ts, off in want.items():
            self.assertEqual(self.offsets_for_times(c, topic, 0, [ts]), off, "timestamp T0%+d" % (ts - T0))
        # first offset in log order whose timestamp is >= the target
        want1 = {T0: 0, T0 + 100: 0, T0 + 101: 1, T0 + 250: 1, T0 + 301: 3, T0 + 400: 3, T0 + 401: -1}
        for ts, off in want1.items():
            self.assertEqual(self.offsets_for_times(c, topic, 1, [ts]), off, "p1 timestamp T0%+d" % (ts - T0))

        # kafka-python (ListOffsets v1) also returns the record's timestamp
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KTP
        k = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            tp0, tp1 = KTP(topic, 0), KTP(topic, 1)
            r = k.offsets_for_times({tp0: T0 + 555})
            self.assertEqual((r[tp0].offset, r[tp0].timestamp), (56, T0 + 560))
            r = k.offsets_for_times({tp1: T0 + 250})
            self.assertEqual((r[tp1].offset, r[tp1].timestamp), (1, T0 + 300))
            r = k.offsets_for_times({tp0: T0 + 991})
            self.assertIsNone(r[tp0])
            self.assertEqual(k.beginning_offsets([tp0, tp1]), {tp0: 0, tp1: 0})
            self.assertEqual(k.end_offsets([tp0, tp1]), {tp0: 100, tp1: 5})
        finally:
            k.close()

        # kcat -Q
        r = self.kcat("-Q", "-t", "%s:0:%d" % (topic, T0 + 15), "-t", "%s:1:%d" % (topic, T0 + 301))
        self.assertEqual(r.returncode, 0, r.stderr)
        got = dict(re.findall(r"\[(\d+)\]\s+offset\s+(-?\d+)", r.stdout.decode()))
        self.assertEqual(got, {"0": "2", "1": "3"})

    def test_watermarks(self):
        topic = self.create_topic(self.topic_name(), 3)
        self.produce(topic, [{"value": b"w", "partition": p} for p in (0, 0, 0, 0, 2, 2)])
        c = self.consumer()
        wm = [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False) for p in range(3)]
        self.assertEqual(wm, [(0, 4), (0, 0), (0, 2)])
        self.produce(topic, [{"value": b"more", "partition": 1}] * 7)
        self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 1), timeout=10, cached=False), (0, 7))
        # the fetch response reports the same high watermark
        self.assertEqual(fetch_batches(self.bootstrap, topic, 0)[1], 4)
        # kcat -Q: -1 is the end (high watermark), -2 the beginning
        r = self.kcat("-Q", "-t", "%s:0:-1" % topic, "-t", "%s:1:-1" % topic, "-t", "%s:2:-2" % topic)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = dict(re.findall(r"\[(\d+)\]\s+offset\s+(-?\d+)", r.stdout.decode()))
        self.assertEqual(got, {"0": "4", "1": "7", "2": "0"})

    def delete_records(self, topic, partition, offset):
        """Raw DeleteRecords v0 (no installed client sends it): (error, low watermark)."""
        part = Wire.i32(partition) + Wire.i64(offset)
        r = roundtrip(self.bootstrap, 21, 0, Wire.arr([topic], lambda t: Wire.s(t) + Wire.arr([part], lambda p: p)) +
                      Wire.i32(10000))
        r.i32()
        (_, parts), = r.arr(lambda r: (r.s(), r.arr(lambda r: (r.i32(), r.i64(), r.i16()))))
        (_, low, err), = parts
        return err, low

    def test_low_watermark_after_delete_records(self):
        topic = self.create_topic(self.topic_name(), 1)
        self.produce(topic, [{"value": b"d%d" % i, "partition": 0, "timestamp": T0 + i} for i in range(100)],
                     **{"linger.ms": 500, "batch.num.messages": 10})
        self.assertEqual(self.delete_records(topic, 0, 35), (0, 35))
        self.assertEqual(self.delete_records(topic, 0, 20), (0, 35))  # never moves back
        self.assertEqual(self.delete_records(topic, 0, 101)[0], 1)  # past the high watermark
        c = self.consumer()
        self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False), (35, 100))
        # offsets for a time before the new start give the start
        self.assertEqual(self.offsets_for_times(c, topic, 0, [T0]), 35)
        self.assertEqual(self.offsets_for_times(c, topic, 0, [T0 + 50]), 50)
        # reading from the beginning starts at 35 (inside a batch that began at 30)
        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([m.offset() for m in got], list(range(35, 100)))
        self.assertEqual(self.kp_consume(topic, [0], 65)[0].offset, 35)
        # a fetch below the start is out of range
        self.assertEqual(fetch_batches(self.bootstrap, topic, 0, offset=10)[0], 1)
        self.assertEqual(self.delete_records(topic, 0, -1), (0, 100))  # -1: up to the high watermark
        self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False), (100, 100))

    def test_low_watermark_after_retention(self):
        topic = self.create_topic(self.topic_name(), 1, {"retention.ms": "600000", "segment.bytes": "1024"})
        old = int(time.time() * 1000) - 3600 * 1000  # an hour ago: past retention.ms
        recs = [{"value": b"old-%02d-" % i + b"x" * 100, "timestamp": old + i, "partition": 0} for i in range(50)]
        recs += [{"value": b"new-%02d" % i, "partition": 0} for i in range(10)]
        self.produce(topic, recs, **{"linger.ms": 0, "batch.num.messages": 1})
        c = self.consumer()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
            if lo > 0:
                break
            time.sleep(0.1)
        # whole old segments went; the segment holding new records stays
        self.assertEqual(hi, 60)
        self.assertTrue(0 < lo <= 50, lo)
        err, _, batches = fetch_batches(self.bootstrap, topic, 0, offset=lo)
        self.assertEqual((err, batches[0]["base_offset"]), (0, lo))
        self.assertEqual(fetch_batches(self.bootstrap, topic, 0, offset=lo - 1)[0], 1)  # out of range now
        self.assertEqual(self.offsets_for_times(c, topic, 0, [old]), lo)
        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([(m.offset(), m.value()) for m in got], [(i, recs[i]["value"]) for i in range(lo, 60)])

    def test_empty_topic_offsets(self):
        topic = self.create_topic(self.topic_name(), 1)
        c = self.consumer()
        self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False), (0, 0))
        self.assertEqual(self.offsets_for_times(c, topic, 0, [T0]), -1)


if __name__ == "__main__":
    main()
