#!/usr/bin/python3
"""Idempotent producer: librdkafka with enable.idempotence=true, acks=all
stores every record exactly once at dense offsets; the broker's side of
it (duplicate batches answered with their first offset and not stored,
sequence gaps and stale epochs refused) checked with raw batches.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from beckit import (BrokerTestCase, fetch_batches, init_producer_id, main, produce_raw,  # noqa: E402
                    record_batch)

OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
CORRUPT_MESSAGE = 2


class IdempotenceTest(BrokerTestCase):
    def test_idempotent_producer_exactly_once_dense_offsets(self):
        topic = self.create_topic(self.topic_name(), 3)
        n = 6000
        recs = [{"value": b"idem-%05d" % i, "key": b"k%d" % (i % 17)} for i in range(n)]
        delivered = self.produce(topic, recs, **{"enable.idempotence": True, "acks": "all", "linger.ms": 2,
                                                 "batch.num.messages": 250,
                                                 "max.in.flight.requests.per.connection": 5})
        per_part = {}
        for (p, off), r in zip(delivered, recs):
            per_part.setdefault(p, []).append(off)
        for p, offs in per_part.items():
            self.assertEqual(offs, list(range(len(offs))), "partition %d offsets not dense" % p)
        got = self.consume_assigned(topic, sorted(per_part))
        values = [m.value() for msgs in got.values() for m in msgs]
        self.assertEqual(len(values), n)
        self.assertEqual(sorted(values), sorted(r["value"] for r in recs))
        for p, msgs in got.items():
            self.assertEqual([m.offset() for m in msgs], list(range(len(msgs))))

        # the stored batches carry one producer id, epoch 0 and gapless sequences
        pids = set()
        for p in per_part:
            err, hw, batches = fetch_batches(self.bootstrap, topic, p)
            self.assertEqual((err, hw), (0, len(per_part[p])))
            seq = 0
            for b in batches:
                pids.add((b["producer_id"], b["producer_epoch"]))
                self.assertEqual(b["base_sequence"], seq)
                self.assertEqual(b["base_offset"], seq)  # one producer from offset 0: sequence == offset
                seq += b["count"]
            self.assertEqual(seq, hw)
        self.assertEqual(len(pids), 1)
        (pid, epoch), = pids
        self.assertGreaterEqual(pid, 0)
        self.assertEqual(epoch, 0)

    def test_each_idempotent_producer_gets_its_own_id(self):
        topic = self.create_topic(self.topic_name(), 1)
        for i in range(2):
            self.produce(topic, [{"value": b"p%d" % i}], **{"enable.idempotence": True})
        _, _, batches = fetch_batches(self.bootstrap, topic, 0)
        self.assertEqual(len(batches), 2)
        self.assertNotEqual(batches[0]["producer_id"], batches[1]["producer_id"])
        self.assertEqual([b["base_sequence"] for b in batches], [0, 0])

    def test_retried_batch_is_stored_once(self):
        topic = self.create_topic(self.topic_name(), 1)
        err, pid, epoch = init_producer_id(self.bootstrap)
        self.assertEqual((err, epoch), (0, 0))
        self.assertGreaterEqual(pid, 0)
        b0 = record_batch([b"a", b"b", b"c"], pid, epoch, 0)
        b1 = record_batch([b"d", b"e"], pid, epoch, 3)
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, b0), (0, 0))
        # the same batch again (a retry after a lost response): original offset, nothing stored
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, b0), (0, 0))
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, b1), (0, 3))
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, b0), (0, 0))  # still within the last 5
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, b1), (0, 3))
        # a gap in the sequence is refused
        gap = record_batch([b"x"], pid, epoch, 7)
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, gap)[0], OUT_OF_ORDER_SEQUENCE_NUMBER)
        # a bumped epoch restarts at 0; the old epoch is then fenced
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, record_batch([b"f"], pid, epoch + 1, 0)), (0, 5))
        stale = record_batch([b"y"], pid, epoch, 5)
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, stale)[0], INVALID_PRODUCER_EPOCH)
        # a corrupted CRC is refused
        bad = bytearray(record_batch([b"z"], pid, epoch + 1, 1))
        bad[-2] ^= 0xFF
        self.assertEqual(produce_raw(self.bootstrap, topic, 0, bytes(bad))[0], CORRUPT_MESSAGE)

        got = self.consume_assigned(topic, [0])[0]
        self.assertEqual([(m.offset(), m.value()) for m in got],
                         [(0, b"a"), (1, b"b"), (2, b"c"), (3, b"d"), (4, b"e"), (5, b"f")])
        self.assertEqual([m.value for m in self.kp_consume(topic, [0], 6)], [b"a", b"b", b"c", b"d", b"e", b"f"])


if __name__ == "__main__":
    main()
