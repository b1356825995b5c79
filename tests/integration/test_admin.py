#!/usr/bin/python3
"""Metadata and topic administration against the real broker.

Clients: confluent-kafka AdminClient (librdkafka 2.0.2), kafka-python for a
second view of metadata, kcat -L. IncrementalAlterConfigs is sent as a raw
request: neither python binding in Debian bookworm implements it.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import json  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402

from beckit import BrokerTestCase, Reader, Wire, main, recv_exact, roundtrip  # noqa: E402

from confluent_kafka import KafkaError, KafkaException  # noqa: E402
from confluent_kafka.admin import ConfigResource, ConfigSource, NewPartitions, NewTopic  # noqa: E402

DEFAULTS = {
    "cleanup.policy": "delete",
    "retention.ms": "604800000",
    "retention.bytes": "-1",
    "segment.bytes": "1073741824",
    "max.message.bytes": "1048588",
    "message.timestamp.type": "CreateTime",
}

API_INCREMENTAL_ALTER_CONFIGS = 44
OP_SET, OP_DELETE = 0, 1


class AdminTest(BrokerTestCase):
    def kafka_error(self, future):
        with self.assertRaises(KafkaException) as cm:
            future.result(timeout=15)
        return cm.exception.args[0]

    def describe(self, topic):
        res = ConfigResource(ConfigResource.Type.TOPIC, topic)
        return self.admin().describe_configs([res])[res].result(timeout=15)

    def incremental_alter(self, topic, ops, validate_only=False):
        """Raw IncrementalAlterConfigs v0; returns [(error, message, type, name)]."""
        cfg = lambda c: Wire.s(c[0]) + Wire.i8(c[1]) + Wire.s(c[2])  # noqa: E731
        res = lambda r: Wire.i8(2) + Wire.s(r) + Wire.arr(ops, cfg)  # noqa: E731
        body = Wire.arr([topic], res) + Wire.i8(1 if validate_only else 0)
        r = roundtrip(self.bootstrap, API_INCREMENTAL_ALTER_CONFIGS, 0, body)  # v1 is flexible
        self.assertEqual(r.i32(), 0)  # throttle
        return r.arr(lambda r: (r.i16(), r.s(), r.i8(), r.s()))

    # ---- metadata ----------------------------------------------------------

    def test_metadata_lists_advertised_broker_and_topics(self):
        a = self.create_topic(self.topic_name("a"), 3)
        b = self.create_topic(self.topic_name("b"), 1)
        md = self.admin().list_topics(timeout=10)
        self.assertEqual(list(md.brokers), [0])
        self.assertEqual((md.brokers[0].host, md.brokers[0].port), ("127.0.0.1", self.broker.port))
        self.assertEqual(md.controller_id, 0)
        self.assertTrue(md.cluster_id)
        for name, n in ((a, 3), (b, 1)):
            t = md.topics[name]
            self.assertIsNone(t.error)
            self.assertEqual(sorted(t.partitions), list(range(n)))
            for p in t.partitions.values():
                self.assertEqual((p.leader, p.replicas, p.isrs, p.error), (0, [0], [0], None))
        # one named topic only
        md1 = self.admin().list_topics(topic=a, timeout=10)
        self.assertEqual(len(md1.topics[a].partitions), 3)

        # kafka-python sees the same (Metadata v1, null = all topics)
        from kafka import KafkaConsumer
        c = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            self.assertIn(a, c.topics())
            self.assertEqual(c.partitions_for_topic(a), {0, 1, 2})
            self.assertEqual(c.partitions_for_topic(b), {0})
        finally:
            c.close()

        # and kcat -L
        r = self.kcat("-L", "-J")
        self.assertEqual(r.returncode, 0, r.stderr)
        kl = json.loads(r.stdout)
        self.assertEqual(kl["brokers"], [{"id": 0, "name": "127.0.0.1:%d" % self.broker.port}])
        kt = {t["topic"]: t for t in kl["topics"]}
        self.assertEqual(len(kt[a]["partitions"]), 3)

    def test_metadata_for_missing_topic_without_auto_create(self):
        from confluent_kafka import Consumer
        name = self.topic_name()
        # librdkafka consumers ask with AllowAutoTopicCreation=false
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "md-probe"})
        try:
            md = c.list_topics(topic=name, timeout=10)
            self.assertEqual(md.topics[name].error.code(), KafkaError.UNKNOWN_TOPIC_OR_PART)
        finally:
            c.close()
        self.assertNotIn(name, self.admin().list_topics(timeout=10).topics)

    def test_api_versions_v3_with_null_and_empty_client_id(self):
        # librdkafka's first request: flexible header v2 (client id still an
        # INT16 string, then a tag buffer), reply in header v0 (KIP-511)
        body = b"\x0blibrdkafka\x062.0.2\x00"  # compact strings + empty tag buffer
        want = {0: (0, 7), 1: (4, 11), 2: (1, 3), 3: (0, 6), 8: (2, 7), 9: (1, 5), 10: (0, 2), 11: (0, 5),
                12: (0, 3), 13: (0, 3), 14: (0, 3), 15: (0, 4), 16: (0, 2), 18: (0, 3), 19: (0, 4), 20: (0, 3),
                21: (0, 1), 22: (0, 1), 32: (0, 2)}
        for client_id in (None, "", "rdkafka"):
            hdr = struct.pack(">hhi", 18, 3, 99) + Wire.s(client_id) + b"\x00"
            host, port = self.bootstrap.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
                data = recv_exact(s, struct.unpack(">i", recv_exact(s, 4))[0])
            cid, err, n = struct.unpack_from(">ihB", data)
            self.assertEqual((cid, err), (99, 0), client_id)
            self.assertLess(n, 128)  # one-byte varint: N + 1 entries
            keys = {}
            for i in range(n - 1):
                k, lo, hi, tags = struct.unpack_from(">hhhB", data, 7 + 7 * i)
                self.assertEqual(tags, 0)
                keys[k] = (lo, hi)
            end = 7 + 7 * (n - 1)
            self.assertEqual(data[end:], b"\x00\x00\x00\x00\x00")  # throttle 0, no tags
            for k, v in want.items():
                # Produce from v0: librdkafka <= 2.11 compresses only then (KAFKA-18659)
                self.assertEqual(keys.get(k), v, "api key %d" % k)
            self.assertNotIn(23, keys)  # OffsetForLeaderEpoch: no epoch history

    # ---- create / describe ---------------------------------------------------

    def test_create_topic_with_partitions_and_configs_then_describe(self):
        name = self.topic_name()
        fs = self.admin().create_topics(
            [NewTopic(name, 4, 1, config={"retention.ms": "1234567", "cleanup.policy": "compact",
                                            "max.message.bytes": "2000000"})])
        self.assertIsNone(fs[name].result(timeout=15))
        self.assertEqual(len(self.admin().list_topics(topic=name, timeout=10).topics[name].partitions), 4)
        cfg = self.describe(name)
        self.assertEqual(cfg["retention.ms"].value, "1234567")
        self.assertEqual(cfg["cleanup.policy"].value, "compact")
        self.assertEqual(cfg["max.message.bytes"].value, "2000000")
        for k in ("retention.ms", "cleanup.policy", "max.message.bytes"):
            self.assertFalse(cfg[k].is_default, k)
            self.assertEqual(cfg[k].source, ConfigSource.DYNAMIC_TOPIC_CONFIG.value, k)
        for k in ("segment.bytes", "retention.bytes", "message.timestamp.type"):
            self.assertEqual(cfg[k].value, DEFAULTS[k], k)
            self.assertTrue(cfg[k].is_default, k)
            self.assertEqual(cfg[k].source, ConfigSource.DEFAULT_CONFIG.value, k)
        self.assertFalse(cfg["retention.ms"].is_read_only)

    def test_create_topic_defaults(self):
        name = self.create_topic(self.topic_name(), 1)
        cfg = self.describe(name)
        for k, v in DEFAULTS.items():
            self.assertEqual((cfg[k].value, cfg[k].is_default), (v, True), k)

    def test_create_topic_validate_only_creates_nothing(self):
        name = self.topic_name()
        fs = self.admin().create_topics([NewTopic(name, 2, 1)], validate_only=True)
        self.assertIsNone(fs[name].result(timeout=15))
        self.assertNotIn(name, self.admin().list_topics(timeout=10).topics)

    def test_create_topic_errors(self):
        name = self.create_topic(self.topic_name(), 2)
        adm = self.admin()
        err = self.kafka_error(adm.create_topics([NewTopic(name, 2, 1)])[name])
        self.assertEqual(err.code(), KafkaError.TOPIC_ALREADY_EXISTS)

        bad = self.topic_name("badcfg")
        err = self.kafka_error(adm.create_topics([NewTopic(bad, 1, 1, config={"retention.ms": "soon"})])[bad])
        self.assertEqual(err.code(), KafkaError.INVALID_CONFIG)
        err = self.kafka_error(adm.create_topics([NewTopic(bad, 1, 1, config={"retention.msx": "1"})])[bad])
        self.assertEqual(err.code(), KafkaError.INVALID_CONFIG)
        err = self.kafka_error(adm.create_topics([NewTopic(bad, 1, 1, config={"cleanup.policy": "shred"})])[bad])
        self.assertEqual(err.code(), KafkaError.INVALID_CONFIG)
        err = self.kafka_error(adm.create_topics([NewTopic(bad, 1, 3)])[bad])
        self.assertEqual(err.code(), KafkaError.INVALID_REPLICATION_FACTOR)
        err = self.kafka_error(adm.create_topics([NewTopic("bad/name", 1, 1)])["bad/name"])
        self.assertEqual(err.code(), KafkaError.TOPIC_EXCEPTION)
        self.assertNotIn(bad, adm.list_topics(timeout=10).topics)
        # the failed attempts did not touch the existing topic
        self.assertEqual(len(adm.list_topics(topic=name, timeout=10).topics[name].partitions), 2)

    # ---- alter ---------------------------------------------------------------

    def test_alter_configs_classic_replaces_all_overrides(self):
        name = self.create_topic(self.topic_name(), 1, {"retention.ms": "1234567"})
        res = ConfigResource(ConfigResource.Type.TOPIC, name, set_config={"segment.bytes": "2097152"})
        self.assertIsNone(self.admin().alter_configs([res])[res].result(timeout=15))
        cfg = self.describe(name)
        self.assertEqual((cfg["segment.bytes"].value, cfg["segment.bytes"].is_default), ("2097152", False))
        # AlterConfigs is a full replacement: the earlier override is gone
        self.assertEqual((cfg["retention.ms"].value, cfg["retention.ms"].is_default), (DEFAULTS["retention.ms"], True))

        bad = ConfigResource(ConfigResource.Type.TOPIC, name, set_config={"segment.bytes": "lots"})
        err = self.kafka_error(self.admin().alter_configs([bad])[bad])
        self.assertEqual(err.code(), KafkaError.INVALID_CONFIG)
        self.assertEqual(self.describe(name)["segment.bytes"].value, "2097152")

        missing = ConfigResource(ConfigResource.Type.TOPIC, self.topic_name("nope"), set_config={"retention.ms": "1"})
        err = self.kafka_error(self.admin().alter_configs([missing])[missing])
        self.assertEqual(err.code(), KafkaError.UNKNOWN_TOPIC_OR_PART)

    def test_incremental_alter_configs_set_and_delete(self):
        name = self.create_topic(self.topic_name(), 1, {"retention.ms": "1234567"})
        out = self.incremental_alter(name, [("segment.bytes", OP_SET, "4194304")])
        self.assertEqual(out, [(0, None, 2, name)])
        cfg = self.describe(name)
        self.assertEqual(cfg["segment.bytes"].value, "4194304")
        self.assertEqual(cfg["retention.ms"].value, "1234567")  # untouched by an incremental SET

        out = self.incremental_alter(name, [("retention.ms", OP_DELETE, None)])
        self.assertEqual(out[0][0], 0)
        cfg = self.describe(name)
        self.assertEqual((cfg["retention.ms"].value, cfg["retention.ms"].is_default), (DEFAULTS["retention.ms"], True))
        self.assertEqual(cfg["segment.bytes"].value, "4194304")

        # validate_only changes nothing
        out = self.incremental_alter(name, [("segment.bytes", OP_SET, "8388608")], validate_only=True)
        self.assertEqual(out[0][0], 0)
        self.assertEqual(self.describe(name)["segment.bytes"].value, "4194304")

        # a bad value is refused with INVALID_CONFIG and changes nothing
        out = self.incremental_alter(name, [("retention.ms", OP_SET, "1"), ("segment.bytes", OP_SET, "-5")])
        self.assertEqual(out[0][0], KafkaError.INVALID_CONFIG)
        self.assertTrue(out[0][1])
        cfg = self.describe(name)
        self.assertEqual((cfg["retention.ms"].value, cfg["segment.bytes"].value), (DEFAULTS["retention.ms"], "4194304"))

        out = self.incremental_alter(self.topic_name("nope"), [("retention.ms", OP_SET, "1")])
        self.assertEqual(out[0][0], KafkaError.UNKNOWN_TOPIC_OR_PART)

    # ---- delete / partitions ---------------------------------------------------

    def test_delete_topic_then_recreate_is_empty(self):
        name = self.create_topic(self.topic_name(), 2)
        self.produce(name, [{"value": b"v%d" % i, "partition": i % 2} for i in range(10)])
        fs = self.admin().delete_topics([name], operation_timeout=10)
        self.assertIsNone(fs[name].result(timeout=15))
        self.assertNotIn(name, self.admin().list_topics(timeout=10).topics)
        err = self.kafka_error(self.admin().delete_topics([name])[name])
        self.assertEqual(err.code(), KafkaError.UNKNOWN_TOPIC_OR_PART)

        self.create_topic(name, 3)
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "wm"})
        try:
            for p in range(3):
                self.assertEqual(c.get_watermark_offsets(TopicPartition(name, p), timeout=10), (0, 0))
        finally:
            c.close()
        self.assertEqual(self.describe(name)["retention.ms"].is_default, True)

    def test_delete_topic_answers_parked_fetches_then_recreate(self):
        topic = self.create_topic(self.topic_name(), 2)
        part = lambda p: Wire.i32(p) + Wire.i64(0) + Wire.i32(1 << 20)  # noqa: E731
        fetch = (Wire.i32(-1) + Wire.i32(20000) + Wire.i32(1) + Wire.i32(1 << 20) + Wire.i8(0) +
                 Wire.arr([topic], lambda t: Wire.s(t) + Wire.arr([0, 1], part)))

        def answer(s):
            data = recv_exact(s, struct.unpack(">i", recv_exact(s, 4))[0])
            r = Reader(data)
            r.i32()  # correlation id
            r.i32()  # throttle
            return r.arr(lambda r: (r.s(), r.arr(lambda r: (r.i32(), r.i16(), r.i64(), r.i64(),
                                                            r.arr(lambda r: (r.i64(), r.i64())), r.bytes_()))))

        socks = [socket.create_connection(("127.0.0.1", self.broker.port), timeout=10) for _ in range(4)]
        try:
            for s in socks:
                s.sendall(Wire.request(1, 4, 1, fetch))  # long polls on the empty partitions
            time.sleep(0.2)
            t0 = time.monotonic()
            self.assertIsNone(self.admin().delete_topics([topic])[topic].result(timeout=15))
            for s in socks:
                (name, parts), = answer(s)  # answered now, not after MaxWaitMs
                self.assertEqual(name, topic)
                self.assertEqual([(p[0], p[5]) for p in parts], [(0, b""), (1, b"")])
            self.assertLess(time.monotonic() - t0, 10)
            for s in socks:  # the same connections, now for a missing topic
                s.sendall(Wire.request(1, 4, 2, fetch))
                (name, parts), = answer(s)
                self.assertEqual([(p[0], p[1]) for p in parts], [(0, 3), (1, 3)])
        finally:
            for s in socks:
                s.close()
        self.create_topic(topic, 1)
        self.assertEqual(self.produce(topic, [{"value": b"again"}]), [(0, 0)])
        self.assertEqual([m.value() for m in self.consume_assigned(topic, [0])[0]], [b"again"])

    def test_create_partitions(self):
        name = self.create_topic(self.topic_name(), 2)
        fs = self.admin().create_partitions([NewPartitions(name, 5)])
        self.assertIsNone(fs[name].result(timeout=15))
        md = self.admin().list_topics(topic=name, timeout=10)
        self.assertEqual(sorted(md.topics[name].partitions), [0, 1, 2, 3, 4])
        # the new partitions take data
        got = self.produce(name, [{"value": b"p%d" % p, "partition": p} for p in range(5)])
        self.assertEqual(got, [(p, 0) for p in range(5)])
        # lowering or keeping the count is refused
        for n in (5, 3):
            err = self.kafka_error(self.admin().create_partitions([NewPartitions(name, n)])[name])
            self.assertEqual(err.code(), KafkaError.INVALID_PARTITIONS)
        missing = self.topic_name("nope")
        err = self.kafka_error(self.admin().create_partitions([NewPartitions(missing, 3)])[missing])
        self.assertEqual(err.code(), KafkaError.UNKNOWN_TOPIC_OR_PART)
        self.assertEqual(len(self.admin().list_topics(topic=name, timeout=10).topics[name].partitions), 5)

    def test_kafka_python_admin_client(self):
        from kafka.admin import ConfigResource as KConfigResource
        from kafka.admin import ConfigResourceType, KafkaAdminClient
        from kafka.admin import NewPartitions as KNewPartitions
        from kafka.admin import NewTopic as KNewTopic
        from kafka.errors import TopicAlreadyExistsError
        name = self.topic_name()
        a = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            r = a.create_topics([KNewTopic(name, 2, 1, topic_configs={"retention.ms": "7654321"})])
            self.assertEqual([(t[0], t[1]) for t in r.topic_errors], [(name, 0)])
            with self.assertRaises(TopicAlreadyExistsError):
                a.create_topics([KNewTopic(name, 2, 1)])
            (resp,) = a.describe_configs([KConfigResource(ConfigResourceType.TOPIC, name)])
            (res,) = resp.resources
            self.assertEqual(res[0], 0)  # error code
            cfg = {c[0]: c for c in res[4]}  # name, value, read_only, is_default|source, sensitive...
            self.assertEqual(cfg["retention.ms"][1], "7654321")
            self.assertEqual(cfg["segment.bytes"][1], DEFAULTS["segment.bytes"])
            r = a.alter_configs([KConfigResource(ConfigResourceType.TOPIC, name, configs={"retention.ms": "1000"})])
            self.assertEqual([x[0] for x in r.resources], [0])
            self.assertEqual(self.describe(name)["retention.ms"].value, "1000")
            r = a.create_partitions({name: KNewPartitions(4)})
            self.assertEqual([(t[0], t[1]) for t in r.topic_errors], [(name, 0)])
            self.assertEqual(len(self.admin().list_topics(topic=name, timeout=10).topics[name].partitions), 4)
            r = a.delete_topics([name])
            self.assertEqual([(t[0], t[1]) for t in r.topic_error_codes], [(name, 0)])
            self.assertNotIn(name, a.list_topics())
        finally:
            a.close()


if __name__ == "__main__":
    main()
