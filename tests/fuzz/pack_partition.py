#!/usr/bin/python3
"""pack_partition - turn partition directories into inputs for
fuzz_segment_recovery (format in tests/fuzz/fuzz_segment_recovery.c), and
write the seed corpus from directories the real broker produced.

    pack_partition.py DIR > input           one partition directory
    pack_partition.py --seeds OUTDIR        start build/bin/beck (or $BECK_BIN),
                                            produce, stop cleanly / kill -9,
                                            pack each partition directory

A crash found by the fuzzer can be unpacked the same way the target does
(records {u8 kind, u16 BE length, bytes}) to look at the files.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

LOG, INDEX, TIMEINDEX, CKPT, START, CLEAN = range(6)
MAX_SEGMENTS = 4


def rec(kind, data):
    data = data[:0xFFFF]
    return struct.pack(">BH", kind, len(data)) + data


def pack(d, cut_tail=0):
    """The fuzz input for partition directory d; cut_tail drops that many
    bytes from the end of the last segment (a torn write)."""
    out = b""
    logs = sorted(n for n in os.listdir(d) if n.endswith(".log") and len(n) == 24)[:MAX_SEGMENTS]
    for name in logs:
        base = int(name[:20])
        stem = os.path.join(d, name[:20])
        with open(stem + ".log", "rb") as f:
            data = f.read()[:0xFFFF - 8]
        if name == logs[-1] and cut_tail:
            data = data[:max(len(data) - cut_tail, 0)]
        out += rec(LOG, struct.pack(">Q", base) + data)
        for kind, ext in ((INDEX, ".index"), (TIMEINDEX, ".timeindex")):
            if os.path.exists(stem + ext):
                with open(stem + ext, "rb") as f:
                    out += rec(kind, f.read())
    for kind, fname in ((CKPT, "recovery-point"), (START, "log-start-offset")):
        p = os.path.join(d, fname)
        if os.path.exists(p):
            with open(p, "rb") as f:
                out += rec(kind, f.read())
    if os.path.exists(os.path.join(d, "clean-shutdown")):
        out += rec(CLEAN, b"")
    return out


def make_seeds(outdir):
    from beckit import Broker, produce_raw, record_batch
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    os.makedirs(outdir, exist_ok=True)
    seeds = {}
    for ending in ("clean", "killed"):
        b = Broker({"group.initial.rebalance.delay.ms": "0"}).start()
        try:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            topics = {"small-segments": {"segment.bytes": "2048", "index.interval.bytes": "128"},
                      "one-segment": {"index.interval.bytes": "256"},
                      "deleted-head": {"segment.bytes": "1500"}}
            fs = admin.create_topics([NewTopic(t, 1, 1, config=c) for t, c in topics.items()])
            for f in fs.values():
                f.result(15)
            for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
                p = Producer({"bootstrap.servers": b.bootstrap, "compression.type": codec, "linger.ms": 5,
                              "enable.idempotence": codec in ("none", "lz4")})
                for i in range(12):
                    p.produce("small-segments", b"%s value %d " % (codec.encode(), i) * 3, key=b"k%d" % (i % 4))
                    p.produce("one-segment", b"%s %d" % (codec.encode(), i), key=b"k%d" % i,
                              headers=[("h", b"v%d" % i)])
                    if i % 4 == 3:
                        p.flush(10)
                p.flush(10)
            for i in range(8):
                produce_raw(b.bootstrap, "deleted-head", 0, record_batch([b"head %d" % i] * 3))
            from beckit import Wire, roundtrip
            # DeleteRecords v0: start offset 10 (writes log-start-offset, drops a segment)
            body = (Wire.arr(["deleted-head"], lambda t: Wire.s(t) + Wire.arr(
                [0], lambda p_: Wire.i32(p_) + Wire.i64(10))) + Wire.i32(10000))
            roundtrip(b.bootstrap, 21, 0, body)
            if ending == "clean":
                b.stop()
            else:
                b.kill()
            for t in topics:
                d = os.path.join(b.data_dir, "%s-0" % t)
                seeds["%s-%s" % (t, ending)] = pack(d)
                if ending == "killed":
                    seeds["%s-torn-tail" % t] = pack(d, cut_tail=37)
        finally:
            b.cleanup()
    # hand-made shapes: an empty dir, a recovery point and no segment
    seeds["empty"] = b""
    seeds["only-recovery-point"] = rec(CKPT, b"5 0 100\n")
    for name, data in sorted(seeds.items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        print("%-32s %6d bytes" % (name, len(data)))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--seeds":
        make_seeds(sys.argv[2])
    elif len(sys.argv) == 2 and os.path.isdir(sys.argv[1]):
        sys.stdout.buffer.write(pack(sys.argv[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
