#!/usr/bin/python3
"""Every compression codec end to end: batches compressed by librdkafka
(and by kafka-python), stored as sent, read back by confluent-kafka,
kafka-python (python3-snappy/lz4/zstandard) and kcat with exact contents.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from beckit import BrokerTestCase, fetch_batches, main  # noqa: E402

from confluent_kafka import TIMESTAMP_CREATE_TIME  # noqa: E402

CODECS = ("gzip", "snappy", "lz4", "zstd")
T0 = 1650000000000
N = 300


def records():
    # compressible values, so librdkafka keeps the compressed form. No null
    # header values: confluent-kafka 1.7.0 drops a reference to None for each
    # one it converts, fatal at exit after a few thousand (test_produce_consume
    # checks a null header value once).
    return [{"value": (("record %04d " % i) * (1 + i % 13)).encode(), "key": b"key-%d" % (i % 5),
             "headers": [("i", b"%d" % i), ("empty", b"")], "timestamp": T0 + i} for i in range(N)]


class CompressionTest(BrokerTestCase):
    def check_confluent(self, topic, recs):
        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([m.offset() for m in got], list(range(len(recs))))
        for m, r in zip(got, recs):
            self.assertEqual((m.value(), m.key(), m.headers(), m.timestamp()),
                             (r["value"], r["key"], r["headers"], (TIMESTAMP_CREATE_TIME, r["timestamp"])))

    def check_kafka_python(self, topic, recs):
        got = self.kp_consume(topic, [0], len(recs))
        self.assertEqual([m.offset for m in got], list(range(len(recs))))
        for m, r in zip(got, recs):
            self.assertEqual((m.value, m.key, list(m.headers), m.timestamp),
                             (r["value"], r["key"], r["headers"], r["timestamp"]))

    def check_kcat(self, topic, recs):
        got = self.kcat_consume_json(topic, 0)
        self.assertEqual([m["offset"] for m in got], list(range(len(recs))))
        for m, r in zip(got, recs):
            self.assertEqual((m["payload"], m["key"], m["ts"], m["headers"]),
                             (r["value"].decode(), r["key"].decode(), r["timestamp"],
                              [h for k, v in r["headers"] for h in (k, v.decode() if v is not None else None)]))

    def produce_codec(self, codec):
        topic = self.create_topic(self.topic_name(codec), 1)
        recs = records()
        self.produce(topic, [dict(r, partition=0) for r in recs],
                     **{"compression.type": codec, "linger.ms": 200, "batch.num.messages": 100})
        err, hw, batches = fetch_batches(self.bootstrap, topic, 0)
        self.assertEqual((err, hw), (0, N))
        # the stored batches are the producer's, compressed with this codec
        self.assertGreaterEqual(len(batches), 3)
        self.assertEqual({b["codec"] for b in batches}, {codec})
        self.assertEqual(sum(b["count"] for b in batches), N)
        return topic, recs

    def test_gzip(self):
        topic, recs = self.produce_codec("gzip")
        self.check_confluent(topic, recs)
        self.check_kafka_python(topic, recs)
        self.check_kcat(topic, recs)

    def test_snappy(self):
        topic, recs = self.produce_codec("snappy")
        self.check_confluent(topic, recs)
        self.check_kafka_python(topic, recs)
        self.check_kcat(topic, recs)

    def test_lz4(self):
        topic, recs = self.produce_codec("lz4")
        self.check_confluent(topic, recs)
        self.check_kafka_python(topic, recs)
        self.check_kcat(topic, recs)

    def test_zstd(self):
        topic, recs = self.produce_codec("zstd")
        self.check_confluent(topic, recs)
        self.check_kafka_python(topic, recs)
        self.check_kcat(topic, recs)

    def test_kafka_python_producer_every_codec(self):
        # kafka-python frames snappy with xerial blocks and lz4 as frames
        from kafka import KafkaProducer
        for codec in CODECS:
            topic = self.create_topic(self.topic_name(codec), 1)
            recs = records()[:120]
            p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", compression_type=codec, linger_ms=50,
                              batch_size=4096)
            try:
                futs = [p.send(topic, value=r["value"], key=r["key"], headers=r["headers"], partition=0,
                               timestamp_ms=r["timestamp"]) for r in recs]
                p.flush(30)
                self.assertEqual([f.get(10).offset for f in futs], list(range(len(recs))))
            finally:
                p.close(10)
            err, hw, batches = fetch_batches(self.bootstrap, topic, 0)
            self.assertEqual((err, hw), (0, len(recs)), codec)
            self.assertEqual({b["codec"] for b in batches}, {codec})
            self.check_confluent(topic, recs)
            self.check_kcat(topic, recs)


if __name__ == "__main__":
    main()
