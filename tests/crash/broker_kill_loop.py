#!/usr/bin/python3
"""broker_kill_loop - kill -9 the broker at random moments under an
idempotent acks=all producer, restart it on the same data directory, and
check that nothing acknowledged was lost, duplicated or damaged.

    /usr/bin/python3 tests/crash/broker_kill_loop.py [--cycles 30] [--seed N]

A confluent-kafka (librdkafka) producer with enable.idempotence=true and
acks=all writes records with unique ids ("k-<n>") to a 2-partition topic
with small segments (so rolls happen under fire) at full speed. Meanwhile
the broker is SIGKILLed after a random 50-900 ms of uptime and restarted at
once on the same data dir and port, --cycles times. Then the producer is
flushed (its retries land after the last restart), the broker is killed
one last time, restarted (recovery runs), stopped cleanly, and checked:

  1. the segment files, read directly: every batch passes its CRC-32C,
     magic is 2, offsets are dense from 0 (each batch starts where the
     previous one ended, across segments) and nothing trails the last batch;
  2. every acknowledged record (delivery report without error) is present
     exactly once, at the partition and offset its report gave, with its value;
  3. no id is present twice, acknowledged or not (idempotence held across
     restarts: the broker rebuilds producer state from the log);
  4. kafka-python (which checks CRCs) reads the same records as (1).

Prints the figures (cycles, records acked and checked, batches, time) and
appends them to $BECK_FIGURES when set. Exit status 0 when all holds.
The helpers read_partition() / check_dense() are shared with
tests/integration/test_disk_full.py.
"""

import argparse
import glob
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from beckit import Broker, crc32c  # noqa: E402


# ---- reading segment files ---------------------------------------------------

def _varint(buf, pos):
    """Zigzag varint at pos: (value, new pos)."""
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise ValueError("varint runs past the end")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _records(body, count):
    """(offset delta, key, value) of each record of an uncompressed batch."""
    out, pos = [], 0
    for _ in range(count):
        length, pos = _varint(body, pos)
        end = pos + length
        pos += 1  # attributes
        _, pos = _varint(body, pos)  # timestamp delta
        delta, pos = _varint(body, pos)
        klen, pos = _varint(body, pos)
        key = None if klen < 0 else bytes(body[pos:pos + klen])
        pos += max(klen, 0)
        vlen, pos = _varint(body, pos)
        value = None if vlen < 0 else bytes(body[pos:pos + vlen])
        pos += max(vlen, 0)
        if pos > end:
            raise ValueError("record overruns its length")
        pos = end  # headers are not needed here
        out.append((delta, key, value))
    if pos != len(body):
        raise ValueError("%d bytes after the last record" % (len(body) - pos))
    return out


def read_partition(part_dir):
    """Every batch of a partition directory's segment files, in order.

    Returns (batches, problems): batches are dicts {segment, position,
    base_offset, last_offset, crc_ok, records: [(offset, key, value)]};
    problems lists what is structurally wrong (a torn or garbled tail, a
    bad magic, records that do not parse)."""
    batches, problems = [], []
    for path in sorted(glob.glob(os.path.join(part_dir, "*.log"))):
        name = os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            if len(data) - pos < 61:
                problems.append("%s@%d: %d trailing bytes, less than a batch header" % (name, pos, len(data) - pos))
                break
            base, length, _epoch, magic, crc = struct.unpack_from(">qiibI", data, pos)
            if magic != 2 or length < 49 or pos + 12 + length > len(data):
                problems.append("%s@%d: bad batch frame (magic %d, length %d, %d bytes left)" %
                                (name, pos, magic, length, len(data) - pos))
                break
            after_crc = data[pos + 21:pos + 12 + length]
            attrs, lod = struct.unpack_from(">hi", after_crc, 0)
            count = struct.unpack_from(">i", after_crc, 36)[0]
            b = {"segment": name, "position": pos, "base_offset": base, "last_offset": base + lod,
                 "crc_ok": crc32c(after_crc) == crc, "records": []}
            if attrs & 7 == 0 and b["crc_ok"]:
                try:
                    b["records"] = [(base + d, k, v) for d, k, v in _records(after_crc[40:], count)]
                except ValueError as e:
                    problems.append("%s@%d: records do not parse: %s" % (name, pos, e))
            batches.append(b)
            pos += 12 + length
    return batches, problems


def check_dense(batches, start=0):
    """Problems with offsets: each batch must start where the previous one
    ended (dense from `start`) and hold last_offset - base_offset + 1 records."""
    problems, nxt = [], start
    for b in batches:
        if b["base_offset"] != nxt:
            problems.append("%s@%d: base offset %d, expected %d" % (b["segment"], b["position"], b["base_offset"], nxt))
        if not b["crc_ok"]:
            problems.append("%s@%d: CRC mismatch" % (b["segment"], b["position"]))
        elif b["records"] and len(b["records"]) != b["last_offset"] - b["base_offset"] + 1:
            problems.append("%s@%d: %d records for offsets %d..%d" % (b["segment"], b["position"], len(b["records"]),
                                                                     b["base_offset"], b["last_offset"]))
        nxt = b["last_offset"] + 1
    return problems


# ---- the loop ----------------------------------------------------------------

TOPIC = "kill-loop"
PARTITIONS = 2


def log(msg):
    sys.stderr.write("[kill-loop] %s\n" % msg)
    sys.stderr.flush()


def run(cycles, seed, min_up, max_up, figures=None):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    rng = random.Random(seed)
    t0 = time.monotonic()
    broker = Broker({"group.initial.rebalance.delay.ms": "0"}).start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        fs = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1, config={"segment.bytes": "262144"})])
        fs[TOPIC].result(15)
        del admin

        acked = {}     # id -> (partition, offset)
        failed = {}    # id -> error string
        state = {"fatal": None}

        def on_delivery(err, msg):
            rid = msg.key().decode()
            if err is None:
                if rid in acked:
                    state["fatal"] = "two delivery reports for %s" % rid
                acked[rid] = (msg.partition(), msg.offset())
            else:
                failed[rid] = str(err)

        def on_error(err):
            if err.fatal():
                state["fatal"] = "fatal producer error: %s" % err

        p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "acks": "all",
                      "linger.ms": 2, "message.timeout.ms": 120000, "reconnect.backoff.ms": 20,
                      "reconnect.backoff.max.ms": 200, "retry.backoff.ms": 20, "socket.timeout.ms": 5000,
                      "log.connection.close": False, "error_cb": on_error,
                      "logger": _QuietLogger()})
        sent = 0
        values = {}

        def produce_some(n):
            nonlocal sent
            for _ in range(n):
                rid = "k-%08d" % sent
                v = ("%s|" % rid).encode() + rng.randbytes(rng.randint(0, 300))
                try:
                    p.produce(TOPIC, v, key=rid.encode(), partition=sent % PARTITIONS, on_delivery=on_delivery)
                except BufferError:
                    p.poll(0.05)
                    return
                values[rid] = v
                sent += 1
            p.poll(0)

        kills = 0
        while kills < cycles and state["fatal"] is None:
            up_until = time.monotonic() + rng.uniform(min_up, max_up)
            while time.monotonic() < up_until:
                produce_some(50)
                time.sleep(0.002)
            broker.kill()
            kills += 1
            if rng.random() < 0.3:  # sometimes stay down a moment: requests time out and are retried
                t_down = time.monotonic() + rng.uniform(0.05, 0.5)
                while time.monotonic() < t_down:
                    p.poll(0.02)
            broker.start()
            if kills % 10 == 0:
                log("%d/%d kills, %d sent, %d acked" % (kills, cycles, sent, len(acked)))
        left = p.flush(120)
        if state["fatal"]:
            raise AssertionError(state["fatal"])
        if left:
            raise AssertionError("%d records still unacknowledged after 120 s" % left)
        del p
        broker.kill()  # a last crash: the check sees what recovery makes of it
        broker.start()
        kp = kafka_python_read(broker.bootstrap)
        broker.stop()

        problems, found, nbatches = [], {}, 0
        for part in range(PARTITIONS):
            d = os.path.join(broker.data_dir, "%s-%d" % (TOPIC, part))
            batches, probs = read_partition(d)
            problems += ["%s-%d %s" % (TOPIC, part, x) for x in probs + check_dense(batches)]
            nbatches += len(batches)
            for b in batches:
                for off, key, value in b["records"]:
                    rid = key.decode()
                    if rid in found:
                        problems.append("%s present twice: %s and %s" % (rid, found[rid][:2], (part, off)))
                    found[rid] = (part, off, value)
                    if value != values.get(rid):
                        problems.append("%s at %d/%d: wrong value" % (rid, part, off))
        for rid, (part, off) in acked.items():
            if rid not in found:
                problems.append("acknowledged %s (%d/%d) is missing" % (rid, part, off))
            elif found[rid][:2] != (part, off):
                problems.append("acknowledged %s at %d/%d was reported at %s" % (rid, found[rid][0], found[rid][1],
                                                                                 (part, off)))
        problems += ["sanitizer report in the broker log: %s" % x for x in broker.sanitizer_reports()]
        ondisk = sorted((p_, o, rid) for rid, (p_, o, _) in found.items())
        if kp != ondisk:
            problems.append("kafka-python read %d records, the files hold %d (first difference at %s)" %
                            (len(kp), len(ondisk), next((a for a, b in zip(kp, ondisk) if a != b), "the end")))
        secs = time.monotonic() - t0
        line = ("kill -9 loop: %d cycles survived, %d records sent, %d acknowledged, %d on disk checked "
                "(%d batches, CRC-32C ok, offsets dense), %d delivery errors, %d unacknowledged extra, "
                "kafka-python agrees; %.0f s, seed %d" %
                (kills, sent, len(acked), len(found), nbatches, len(failed), len(set(found) - set(acked)), secs, seed))
        if problems:
            log("broker log tail:\n" + broker.log_tail(60))
            for x in problems[:50]:
                log("PROBLEM: " + x)
            log("%d problems; %s" % (len(problems), line))
            return 1
        print(line)
        if figures:
            with open(figures, "a") as f:
                f.write(line + "\n")
        return 0
    finally:
        broker.cleanup()


class _QuietLogger:
    """librdkafka logs every refused connection while the broker is down."""

    def log(self, level, msg, *args, **kw):
        pass

    def __getattr__(self, name):
        return lambda *a, **k: None


def kafka_python_read(bootstrap):
    """All records of the topic via kafka-python (check_crcs=True), as
    sorted (partition, offset, id)."""
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                      auto_offset_reset="earliest", check_crcs=True, consumer_timeout_ms=30000)
    try:
        tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        out, deadline = [], time.monotonic() + 60
        pos = {tp: 0 for tp in tps}
        while any(pos[tp] < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for tp, recs in c.poll(timeout_ms=500, max_records=100000).items():
                for r in recs:
                    out.append((r.partition, r.offset, r.key.decode()))
                    pos[tp] = r.offset + 1
        return sorted(out)
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=int(os.environ.get("BECK_KILL_CYCLES", "30")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("BECK_KILL_SEED", "0")) or int(time.time()))
    ap.add_argument("--min-up", type=float, default=0.05, help="shortest uptime before a kill, seconds")
    ap.add_argument("--max-up", type=float, default=0.9, help="longest uptime before a kill, seconds")
    a = ap.parse_args()
    log("seed %d, %d cycles" % (a.seed, a.cycles))
    return run(a.cycles, a.seed, a.min_up, a.max_up, os.environ.get("BECK_FIGURES"))


if __name__ == "__main__":
    sys.exit(main())
