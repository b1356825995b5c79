#!/usr/bin/python3
"""Produce with confluent-kafka (librdkafka 2.0.2), read back with
confluent-kafka, kafka-python and kcat, comparing every field: payload
bytes, key, headers (order, duplicates, null values), timestamps and offsets.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import time  # noqa: E402

from beckit import BrokerTestCase, fetch_batches, main  # noqa: E402

from confluent_kafka import TIMESTAMP_CREATE_TIME, KafkaError  # noqa: E402

T0 = 1600000000000  # 2020-09-13, an explicit CreateTime

# every shape of record the tests care about; "partition" pins them
RECORDS = [
    {"value": b"hello", "key": b"k1", "headers": [("h", b"v")], "timestamp": T0},
    {"value": bytes(range(256)) * 3, "key": b"\xff\x00\x80", "timestamp": T0 + 1},
    {"value": b"", "key": b"empty value", "timestamp": T0 + 2},
    {"value": b"null key", "key": None, "timestamp": T0 + 3},
    {"value": None, "key": b"null value (tombstone)", "timestamp": T0 + 4},
    {"value": b"", "key": b"", "timestamp": T0 + 5},
    {"value": b"headers", "key": b"k2", "timestamp": T0 - 86400000,
     "headers": [("a", b"1"), ("a", b"2"), ("nul", None), ("empty", b""), ("bin", b"\x00\xff")]},
    {"value": "ünïcødé ✓ 値".encode(), "key": "ключ".encode(), "timestamp": T0 + 7},
    {"value": b"x" * 100000, "key": b"100k", "timestamp": T0 + 8},
]


def norm_headers(h):
    return [(k, v) for k, v in (h or [])]


class ProduceConsumeTest(BrokerTestCase):
    def test_exact_records_roundtrip_through_three_clients(self):
        topic = self.create_topic(self.topic_name(), 2)
        recs = [dict(r, partition=i % 2) for i, r in enumerate(RECORDS)]
        before = int(time.time() * 1000)
        recs.append({"value": b"producer stamps the time", "key": b"now", "partition": 0})
        delivered = self.produce(topic, recs)
        after = int(time.time() * 1000)
        # offsets are dense per partition, in produce order
        want_offsets, nxt = [], {0: 0, 1: 0}
        for r in recs:
            want_offsets.append((r["partition"], nxt[r["partition"]]))
            nxt[r["partition"]] += 1
        self.assertEqual(delivered, want_offsets)
        expect = {}  # (partition, offset) -> record
        for r, po in zip(recs, delivered):
            expect[po] = r

        def want_ts(r, got):
            if "timestamp" in r:
                return r["timestamp"]
            self.assertTrue(before <= got <= after, "producer timestamp %d not in [%d, %d]" % (got, before, after))
            return got

        # confluent-kafka
        got = self.consume_assigned(topic, [0, 1])
        n = 0
        for p, msgs in got.items():
            for m in msgs:
                r = expect[(p, m.offset())]
                self.assertEqual(m.value(), r.get("value"), (p, m.offset()))
                self.assertEqual(m.key(), r.get("key"), (p, m.offset()))
                self.assertEqual(norm_headers(m.headers()), r.get("headers", []), (p, m.offset()))
                tstype, ts = m.timestamp()
                self.assertEqual(tstype, TIMESTAMP_CREATE_TIME)
                self.assertEqual(ts, want_ts(r, ts))
                n += 1
        self.assertEqual(n, len(recs))

        # kafka-python
        kp = self.kp_consume(topic, [0, 1], len(recs))
        for m in kp:
            r = expect[(m.partition, m.offset)]
            self.assertEqual(m.value, r.get("value"))
            self.assertEqual(m.key, r.get("key"))
            self.assertEqual(list(m.headers), r.get("headers", []))
            self.assertEqual(m.timestamp_type, 0)
            self.assertEqual(m.timestamp, want_ts(r, m.timestamp))

        # kcat (JSON output: text, with invalid UTF-8 shown as U+FFFD)
        def text(b):
            return None if b is None else b.decode("utf-8", "replace")

        kc = self.kcat_consume_json(topic)
        self.assertEqual(len(kc), len(recs))
        for m in kc:
            r = expect[(m["partition"], m["offset"])]
            self.assertEqual(m["payload"], text(r.get("value")))
            self.assertEqual(m["key"], text(r.get("key")))
            self.assertEqual(m["tstype"], "create")
            self.assertEqual(m["ts"], want_ts(r, m["ts"]))
            flat = []
            for k, v in r.get("headers", []):
                flat += [k, text(v)]
            self.assertEqual(m.get("headers", []), flat)

    def test_keyed_records_stay_in_one_partition_in_order(self):
        topic = self.create_topic(self.topic_name(), 4)
        keys = ["key-%d" % k for k in range(24)]
        recs = [{"key": k.encode(), "value": ("%s:%d" % (k, i)).encode()} for i in range(30) for k in keys]
        self.produce(topic, recs)
        got = self.consume_assigned(topic, [0, 1, 2, 3])
        where, seqs = {}, {}
        for p, msgs in got.items():
            for m in msgs:
                k = m.key().decode()
                where.setdefault(k, set()).add(p)
                seqs.setdefault(k, []).append(m.value().decode())
        self.assertEqual(sorted(where), sorted(keys))
        for k in keys:
            self.assertEqual(len(where[k]), 1, "key %s spread over partitions %s" % (k, where[k]))
            self.assertEqual(seqs[k], ["%s:%d" % (k, i) for i in range(30)])
        self.assertGreater(len(set().union(*where.values())), 1, "all keys hashed to one partition")

        # kafka-python sees the same partition per key and the same order
        kp = self.kp_consume(topic, [0, 1, 2, 3], len(recs))
        for m in kp:
            self.assertEqual({m.partition}, where[m.key.decode()])
        kseq = {}
        for m in kp:
            kseq.setdefault(m.key.decode(), []).append(m.value.decode())
        self.assertEqual(kseq, seqs)

    def test_kafka_python_producer_keyed_to_confluent_consumer(self):
        from kafka import KafkaProducer
        topic = self.create_topic(self.topic_name(), 3)
        p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        try:
            futs = [p.send(topic, key=b"k%d" % (i % 7), value=b"v%d" % i, headers=[("i", b"%d" % i)],
                           timestamp_ms=T0 + i) for i in range(70)]
            p.flush(30)
            meta = [f.get(timeout=10) for f in futs]
        finally:
            p.close(10)
        got = self.consume_assigned(topic, [0, 1, 2])
        by_off = {(m.partition(), m.offset()): m for msgs in got.values() for m in msgs}
        self.assertEqual(len(by_off), 70)
        for i, md in enumerate(meta):
            m = by_off[(md.partition, md.offset)]
            self.assertEqual((m.key(), m.value(), m.headers(), m.timestamp()),
                             (b"k%d" % (i % 7), b"v%d" % i, [("i", b"%d" % i)], (TIMESTAMP_CREATE_TIME, T0 + i)))

    def test_one_megabyte_record_fits_the_default_limit(self):
        topic = self.create_topic(self.topic_name(), 1)  # max.message.bytes 1048588
        big = os.urandom((1 << 20) - 256)  # batch = 61 + record overhead + value < 1048588
        delivered = self.produce(topic, [{"value": big, "key": b"big"}, {"value": b"after"}],
                                 **{"message.max.bytes": 4000000})
        self.assertEqual(delivered, [(0, 0), (0, 1)])
        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([m.value() for m in got], [big, b"after"])
        kp = self.kp_consume(topic, [0], 2)
        self.assertEqual([m.value for m in kp], [big, b"after"])

    def test_record_over_max_message_bytes_is_refused(self):
        topic = self.create_topic(self.topic_name(), 1)
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.bootstrap, "message.max.bytes": 4000000, "acks": "all",
                      "retries": 0})
        errs = []
        p.produce(topic, os.urandom(1100000), on_delivery=lambda e, m: errs.append(e))
        self.assertEqual(p.flush(30), 0)
        self.assertEqual(len(errs), 1)
        self.assertIsNotNone(errs[0])
        self.assertEqual(errs[0].code(), KafkaError.MSG_SIZE_TOO_LARGE)
        self.assertEqual(fetch_batches(self.bootstrap, topic, 0)[1], 0)  # nothing stored
        # a raised topic limit takes it
        big = os.urandom(2500000)
        t2 = self.create_topic(self.topic_name(), 1, {"max.message.bytes": "3000000"})
        self.assertEqual(self.produce(t2, [{"value": big}], **{"message.max.bytes": 4000000}), [(0, 0)])
        self.assertEqual(self.consume_assigned(t2, [0])[0][0].value(), big)
        self.assertEqual(self.kp_consume(t2, [0], 1)[0].value, big)

    def test_ten_thousand_tiny_records_in_one_batch(self):
        topic = self.create_topic(self.topic_name(), 1)
        n = 10000
        recs = [{"value": b"%d" % i} for i in range(n)]
        delivered = self.produce(topic, recs, **{"linger.ms": 3000, "batch.num.messages": 100000})
        self.assertEqual(delivered, [(0, i) for i in range(n)])
        err, hw, batches = fetch_batches(self.bootstrap, topic, 0)
        self.assertEqual((err, hw), (0, n))
        self.assertEqual([(b["base_offset"], b["count"], b["last_offset_delta"]) for b in batches], [(0, n, n - 1)])
        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([m.offset() for m in got], list(range(n)))
        self.assertEqual([m.value() for m in got], [r["value"] for r in recs])
        kp = self.kp_consume(topic, [0], n)
        self.assertEqual([m.value for m in kp], [r["value"] for r in recs])
        kc = self.kcat_consume_json(topic)
        self.assertEqual([m["payload"] for m in kc], [r["value"].decode() for r in recs])

    def test_consume_from_the_middle_of_a_batch(self):
        # reference §7 item 7: the batch holding the fetch offset comes back whole
        topic = self.create_topic(self.topic_name(), 1)
        recs = [{"value": b"m%d" % i} for i in range(50)]
        self.produce(topic, recs, **{"linger.ms": 2000})
        self.assertEqual(len(fetch_batches(self.bootstrap, topic, 0)[2]), 1)
        got = self.consume_assigned(topic, [0], start={0: 37})[0]
        self.assertEqual([(m.offset(), m.value()) for m in got], [(i, b"m%d" % i) for i in range(37, 50)])
        kc = self.kcat_consume_json(topic, 0, extra=["-o", "45"])
        self.assertEqual([m["payload"] for m in kc], ["m%d" % i for i in range(45, 50)])

    def test_log_append_time_topic_stamps_broker_time(self):
        # the broker rewrites attributes and MaxTimestamp, so it must recompute
        # the CRC (reference §7 item 9): kafka-python checks it (check_crcs)
        from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME
        topic = self.create_topic(self.topic_name(), 1, {"message.timestamp.type": "LogAppendTime"})
        before = int(time.time() * 1000)
        recs = [{"value": b"lat%d" % i, "key": b"k", "timestamp": T0 + i, "partition": 0} for i in range(20)]
        recs += [{"value": b"gz%d" % i, "timestamp": T0, "partition": 0} for i in range(20)]
        self.produce(topic, recs[:20], **{"linger.ms": 200})
        self.produce(topic, recs[20:], **{"linger.ms": 200, "compression.type": "gzip"})
        after = int(time.time() * 1000)
        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([m.value() for m in got], [r["value"] for r in recs])
        for m in got:
            tstype, ts = m.timestamp()
            self.assertEqual(tstype, TIMESTAMP_LOG_APPEND_TIME)
            self.assertTrue(before <= ts <= after, (ts, before, after))
        kp = self.kp_consume(topic, [0], len(recs), check_crcs=True)
        self.assertEqual([m.value for m in kp], [r["value"] for r in recs])
        self.assertEqual({m.timestamp_type for m in kp}, {1})
        self.assertEqual([m.timestamp for m in kp], [m.timestamp()[1] for m in got])
        kc = self.kcat_consume_json(topic)
        self.assertEqual({m["tstype"] for m in kc}, {"logappend"})
        self.assertEqual([m["ts"] for m in kc], [m.timestamp()[1] for m in got])

    def test_small_fetch_sizes_still_read_everything(self):
        # responses cut at the size limit end with a partial batch the
        # clients drop and fetch again (reference §7 item 8)
        topic = self.create_topic(self.topic_name(), 2)
        recs = [{"value": (b"%05d-" % i) * (1 + i % 40), "partition": i % 2} for i in range(3000)]
        self.produce(topic, recs, **{"linger.ms": 100, "batch.num.messages": 37})
        want = {p: [r["value"] for r in recs if r["partition"] == p] for p in (0, 1)}
        got = self.consume_assigned(topic, [0, 1], conf={"fetch.max.bytes": 3000, "max.partition.fetch.bytes": 1500,
                                                          "message.max.bytes": 1000})
        self.assertEqual({p: [m.value() for m in msgs] for p, msgs in got.items()}, want)
        kp = self.kp_consume(topic, [0, 1], 3000, max_partition_fetch_bytes=1024, fetch_max_bytes=2048)
        self.assertEqual({p: [m.value for m in kp if m.partition == p] for p in (0, 1)}, want)

    def test_acks_zero_and_one(self):
        topic = self.create_topic(self.topic_name(), 1)
        self.produce(topic, [{"value": b"a1-%d" % i, "partition": 0} for i in range(500)], acks=1)
        # acks=0: no response, delivery reports carry no offset
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.bootstrap, "acks": 0, "linger.ms": 5})
        for i in range(500):
            p.produce(topic, b"a0-%d" % i, partition=0)
        self.assertEqual(p.flush(30), 0)
        deadline = time.monotonic() + 10
        while fetch_batches(self.bootstrap, topic, 0)[1] < 1000 and time.monotonic() < deadline:
            time.sleep(0.05)
        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([m.value() for m in got],
                         [b"a1-%d" % i for i in range(500)] + [b"a0-%d" % i for i in range(500)])

    def test_auto_create_on_produce_from_kcat_and_kafka_python(self):
        from kafka import KafkaProducer
        t1, t2 = self.topic_name("kcat"), self.topic_name("kp")
        r = self.kcat("-P", "-t", t1, "-K", ":", input=b"k1:v1\nk2:v2\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        kc = self.kcat_consume_json(t1)
        self.assertEqual([(m["key"], m["payload"]) for m in kc], [("k1", "v1"), ("k2", "v2")])
        p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        try:
            md = p.send(t2, b"auto").get(timeout=20)
            self.assertEqual((md.partition, md.offset), (0, 0))
        finally:
            p.close(10)
        mdata = self.admin().list_topics(timeout=10)
        self.assertEqual(len(mdata.topics[t1].partitions), 1)  # num.partitions default
        self.assertEqual(len(mdata.topics[t2].partitions), 1)
        self.assertEqual([m.value() for m in self.consume_assigned(t2, [0])[0]], [b"auto"])


if __name__ == "__main__":
    main()
