#!/usr/bin/env python3
"""broker_bench_report.py - the table (or JSON) for bench/broker_bench.sh.

Reads the results file the script writes (one JSON object per line:
section, system, class, size, partitions, rep, data) and prints absolute
figures, ratios of Beck to each peer, and each goal MET / MISSED / n/a.
Repeated runs are summarised by their median.

Usage: broker_bench_report.py [--output table|json] RESULTS.jsonl
"""

import argparse
import json
import statistics
import sys

SYSTEM_NAMES = {"raw": "raw disk", "beck": "Beck", "mock": "rdkafka mock", "nats": "NATS JetStream", "redis": "Redis Streams"}
CLASS_NAMES = {"page-cache": "page cache", "fsync": "fsync", "-": ""}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def phase_stats(datas, phase):
    """Median records/s, MB/s and broker CPU seconds per million records of one phase."""
    ok = [d[phase] for d in datas if isinstance(d, dict) and phase in d]
    if not ok:
        return None
    cpu = [p["broker_cpu_s"] / p["records"] * 1e6 for p in ok if p.get("broker_cpu_s") is not None and p["records"]]
    return {
        "records_per_s": med([p["records_per_s"] for p in ok]),
        "mb_per_s": med([p["mb_per_s"] for p in ok]),
        "cpu_s_per_m": med(cpu),
        "busiest_client_thread": med([p.get("busiest_client_thread") for p in ok]),
        "runs": len(ok),
        "all_records_per_s": [round(p["records_per_s"]) for p in ok],
    }


def summarise(rows):
    s = {"meta": {}, "throughput": {}, "latency": {}, "idle": {}, "life": {}, "raw": {}, "partitions": {},
         "bigtopic": {}, "many": {}, "errors": [], "others": None, "big_pairs": {}, "by_rep": {}}
    groups = {}
    others = []  # CPUs' worth of other processes during each measured phase
    big_by_rep = {}
    for r in rows:
        d = r["data"]
        for ph in ("produce", "consume", "latency"):
            p = d.get(ph) if isinstance(d, dict) else None
            if isinstance(p, dict) and p.get("machine_cpu_s") is not None:
                secs = p.get("seconds") if ph != "latency" else p.get("wall_s")
                if secs:
                    others.append(max(0.0, p["machine_cpu_s"] - (p.get("broker_cpu_s") or 0)
                                      - (p.get("client_cpu_s") or 0)) / secs)
        if r["section"] == "bigtopic" and isinstance(d, dict) and "error" not in d:
            big_by_rep.setdefault(r["rep"], {})[r["class"]] = d
        if r["section"] == "throughput" and isinstance(d, dict) and "error" not in d:
            for ph in ("produce", "consume"):
                if isinstance(d.get(ph), dict):
                    s["by_rep"].setdefault((r["system"], r["class"], r["size"], ph), {})[r["rep"]] = \
                        d[ph]["records_per_s"]
                    s["by_rep"].setdefault((r["system"], r["class"], r["size"], ph + "_mb"), {})[r["rep"]] = \
                        d[ph]["mb_per_s"]
        if r["section"] == "raw" and isinstance(d, dict) and d.get("seconds"):
            for size in ((100, 1024) if r["size"] == 0 else (r["size"],)):
                s["by_rep"].setdefault(("raw", r["class"], size, "produce_mb"), {})[r["rep"]] = \
                    d["bytes"] / d["seconds"] / 1e6
    for r in rows:
        d = r["data"]
        if isinstance(d, dict) and "error" in d:
            s["errors"].append("%s %s %s %s B, %s partitions: %s" % (r["section"], r["system"], r["class"], r["size"],
                                                                     r["partitions"], d["error"]))
            continue
        sec = r["section"]
        if sec == "meta":
            s["meta"].update(d)
        elif sec in ("throughput", "partitions", "bigtopic"):
            groups.setdefault((sec, r["system"], r["class"], r["size"], r["partitions"]), []).append(d)
        elif sec == "latency":
            s["latency"].setdefault((r["system"], r["class"]), []).append(d["latency"])
        elif sec == "idle":
            s["idle"][(r["system"], r["class"])] = d
        elif sec == "life":
            s["life"][(r["system"], r["class"])] = d
        elif sec == "raw":
            for size in ((100, 1024) if r["size"] == 0 else (r["size"],)):  # 0: one dd for both sizes
                groups.setdefault(("raw", r["class"], size), []).append(d["bytes"] / d["seconds"] / 1e6
                                                                        if d["seconds"] > 0 else None)
        elif sec == "bigfill":
            s["bigtopic"]["fill"] = d.get("produce")
        elif sec == "bigsize":
            s["bigtopic"]["data_bytes"] = d["data_bytes"]
        elif sec == "many":
            d = d.get("create") or d.get("produce") or d
            s["many"][r["class"]] = dict(d, partitions=r["partitions"])
    if others:
        s["others"] = {"median_cpus": med(others), "max_cpus": max(others), "phases": len(others)}
    for rep, pair in big_by_rep.items():
        if "empty" in pair and len(pair) == 2:
            full = next(v for k, v in pair.items() if k != "empty")
            for ph in ("produce", "consume"):
                e, f = pair["empty"][ph]["records_per_s"], full[ph]["records_per_s"]
                s["big_pairs"].setdefault(ph, []).append(f / e if e else None)
    for key, datas in groups.items():
        if key[0] == "raw":
            s["raw"][(key[1], key[2])] = med(datas)
            continue
        sec, system, cls, size, parts = key
        entry = {"produce": phase_stats(datas, "produce"), "consume": phase_stats(datas, "consume")}
        if sec == "throughput":
            s["throughput"][(system, cls, size)] = entry
        elif sec == "partitions":
            s["partitions"][(cls, parts)] = entry
        else:
            s["bigtopic"][cls] = entry
    # several latency runs per system: keep the one with the median p99 (an actual run, not a mix), and every p99
    for key, runs in list(s["latency"].items()):
        if isinstance(runs, dict):
            continue
        ranked = sorted(runs, key=lambda l: l["p99_us"])
        pick = dict(ranked[(len(ranked) - 1) // 2])
        pick["p99_runs_us"] = [l["p99_us"] for l in runs]
        s["latency"][key] = pick
    return s


# ---- formatting ----

def fmt_rate(rps, mbps=None):
    if rps is None:
        return "n/a"
    r = "%.2fM/s" % (rps / 1e6) if rps >= 1e6 else "%.0fk/s" % (rps / 1e3)
    return r if mbps is None else "%s %.0fMB/s" % (r, mbps)


def fmt_x(r):
    if r is None:
        return "n/a"
    return "%.1fx" % r if r < 100 else "%.0fx" % r


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return "%.1fx" % (a / b) if a / b < 100 else "%.0fx" % (a / b)


def fmt_pct(share, suffix=""):
    return "n/a" if share is None else "%.1f%%%s" % (share * 100, suffix)


def fmt_num(v, f="%.1f"):
    return "n/a" if v is None else f % v


def table(headers, rows, out):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    out.write(line + "\n" + "-" * len(line) + "\n")
    for r in rows:
        out.write("  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(r, widths)))
                  + "\n")
    out.write("\n")


def rep_ratio(s, a, b):
    """Median over repetitions of a / b measured in the same repetition.

    a and b are by_rep keys (system, class, size, phase). Every repetition
    runs all systems back to back, so a ratio within one repetition is not
    skewed by what else the machine did at another time."""
    va, vb = s["by_rep"].get(a, {}), s["by_rep"].get(b, {})
    return med([va[r] / vb[r] for r in va if r in vb and vb[r]])


def server_key(s, system, cls):
    """The server that ran (system, cls): one Beck broker serves both classes."""
    return (system, "-") if (system, "-") in s["idle"] else (system, cls)


def get(d, *keys):
    for k in keys:
        if d is None:
            return None
        d = d.get(k) if isinstance(d, dict) else None
    return d


def goals(s):
    """[(goal, measured, status)]."""
    tp = s["throughput"]
    res = []

    def check(name, value, target, higher_better=True, shown=None, na_reason=None):
        if value is None:
            res.append((name, na_reason or "n/a", "n/a"))
            return
        ok = value >= target if higher_better else value <= target
        res.append((name, shown if shown is not None else "%.2f" % value, "MET" if ok else "MISSED"))

    def ratio(size, cls, peer, peer_cls, phase):
        return rep_ratio(s, ("beck", cls, size, phase), (peer, peer_cls, size, phase))

    for size, label in ((100, "100 B"), (1024, "1 KiB")):
        r = ratio(size, "page-cache", "mock", "-", "produce")
        check("produce %s >= 0.6x librdkafka mock (page cache)" % label, r, 0.6, shown=r and "%.2fx" % r)
    for size, label in ((100, "100 B"), (1024, "1 KiB")):
        r = ratio(size, "page-cache", "nats", "page-cache", "produce")
        check("produce %s >= 7x NATS JetStream (page cache)" % label, r, 7, shown=r and "%.2fx" % r)
    for size, label in ((100, "100 B"), (1024, "1 KiB")):
        r = ratio(size, "page-cache", "redis", "page-cache", "produce")
        check("produce %s >= 3x Redis everysec (page cache)" % label, r, 3, shown=r and "%.2fx" % r)
    for size, label in ((100, "100 B"), (1024, "1 KiB")):
        r = ratio(size, "fsync", "redis", "fsync", "produce")
        check("durable produce %s >= 4x Redis appendfsync always" % label, r, 4, shown=r and "%.2fx" % r)
    for size, label in ((100, "100 B"), (1024, "1 KiB")):
        r = ratio(size, "page-cache", "nats", "page-cache", "consume")
        ceiling = rep_ratio(s, ("mock", "-", size, "consume"), ("nats", "page-cache", size, "consume"))
        shown = r and "%.2fx" % r + (" (mock %.2fx)" % ceiling if ceiling else "")
        check("consume %s >= 10x NATS JetStream" % label, r, 10, shown=shown)
    for cls in ("page-cache", "fsync"):
        p99 = get(s["latency"].get(("beck", cls)), "p99_us")
        floor = get(s["latency"].get(("raw", cls)), "p99_us")
        shown = p99 and "%.2f ms" % (p99 / 1e3) + (" (raw disk %.2f ms)" % (floor / 1e3) if floor else "")
        check("end-to-end p99 <= 2 ms at 50k rec/s (%s)" % CLASS_NAMES[cls], p99 and p99 / 1e3, 2.0, False,
              shown=shown)
    for cls in ("page-cache", "fsync"):
        t = tp.get(("beck", cls, 100))
        pc, cc = get(t, "produce", "cpu_s_per_m"), get(t, "consume", "cpu_s_per_m")
        v = pc + cc if pc is not None and cc is not None else None
        check("broker <= 0.5 CPU-s per million 100 B records, produced + consumed (%s)" % CLASS_NAMES[cls], v, 0.5,
              False, shown=v is not None and "%.2f s (%.2f + %.2f)" % (v, pc, cc) or None)
    idle = get(s["idle"].get(server_key(s, "beck", "page-cache")), "rss_kb")
    check("idle RSS <= 20 MB", idle and idle / 1024, 20, False, shown=idle and "%.1f MB" % (idle / 1024))
    many = s["many"]
    nparts = get(many.get("clean-start"), "partitions")
    full_scale = nparts is not None and nparts >= 10000
    na = "n/a (%s partitions)" % nparts if nparts and not full_scale else None
    for key, label in (("clean-start", "after a clean shutdown"), ("recovery-start", "after kill -9")):
        ms = get(many.get(key), "ready_ms")
        check("10,000 partitions: start-up <= 2 s (%s)" % label, ms / 1e3 if ms is not None and full_scale else None,
              2.0, False, shown=ms is not None and "%.2f s" % (ms / 1e3), na_reason=na)
    rss = [get(many.get(k), "rss_kb") for k in ("clean-start", "recovery-start")]
    rss += [get(many.get("serving-rss"), "hwm_kb")]
    rss = [x for x in rss if x is not None]
    peak = max(rss) / 1024 if rss else None
    check("10,000 partitions: RSS <= 200 MB", peak if full_scale else None, 200, False,
          shown=peak and "%.1f MB" % peak, na_reason=na)
    big = s["bigtopic"]
    full_label = next((k for k in big if k not in ("empty", "fill", "data_bytes")), None)
    for phase in ("produce", "consume"):
        r = med(s["big_pairs"].get(phase, []))  # median of the run-by-run ratios
        check("%s with a %s topic within 10%% of an empty one" % (phase, full_label or "multi-GB"),
              abs(1 - r) if r else None, 0.10, False, shown=r and "%.2fx of empty" % r)
    return res


def render_table(s, out):
    m = s["meta"]
    out.write("Beck broker benchmark (bench/broker_bench.sh, scale %s), %s\n" % (m.get("scale"), m.get("date")))
    out.write("machine: %s CPUs (%s), %s GiB RAM, Linux %s; load average %.2f at start, %s at end\n" % (
        m.get("cpus"), m.get("cpu_model"), m.get("mem_gib"), m.get("kernel"), m.get("load1_start", 0),
        m.get("load1_end", "?")))
    o = s.get("others")
    if o:
        out.write("other processes during the measured phases: median %.2f, max %.2f of the %s CPUs busy\n" % (
            o["median_cpus"], o["max_cpus"], m.get("cpus")))
    out.write("beck %s%s; librdkafka %s; %s; %s\n\n" % (
        m.get("beck_commit"), " (with uncommitted changes)" if m.get("beck_dirty") else "", m.get("librdkafka"),
        m.get("nats_server"), (m.get("redis_server") or "").split(" sha=")[0]))

    tp = s["throughput"]
    out.write("Throughput: one producer, then one consumer reading the same records. Figures: median of the\n"
              "repetitions; ratios: median of the ratios within each repetition (all systems run back to back)\n")
    headers = ["workload", "Beck", "rdkafka mock", "NATS JetStream", "Redis Streams", "raw disk",
               "Beck/mock", "Beck/NATS", "Beck/Redis", "Beck/raw"]
    rows = []
    for phase in ("produce", "consume"):
        for size, label in ((100, "100 B"), (1024, "1 KiB")):
            for cls in ("page-cache", "fsync"):
                b = tp.get(("beck", cls, size), {}).get(phase)
                mk = tp.get(("mock", "-", size), {}).get(phase)
                n = tp.get(("nats", cls, size), {}).get(phase)
                rd = tp.get(("redis", cls, size), {}).get(phase)
                raw = s["raw"].get((cls, size)) if phase == "produce" else None
                rows.append([
                    "%s %s, %s" % (phase, label, CLASS_NAMES[cls]),
                    fmt_rate(get(b, "records_per_s"), get(b, "mb_per_s")),
                    fmt_rate(get(mk, "records_per_s"), get(mk, "mb_per_s")) if mk else "-",
                    fmt_rate(get(n, "records_per_s"), get(n, "mb_per_s")) if n else "-",
                    fmt_rate(get(rd, "records_per_s"), get(rd, "mb_per_s")) if rd else "-",
                    "%.0fMB/s" % raw if raw else "-",
                    fmt_x(rep_ratio(s, ("beck", cls, size, phase), ("mock", "-", size, phase))) if mk else "-",
                    fmt_x(rep_ratio(s, ("beck", cls, size, phase), ("nats", cls, size, phase))) if n else "-",
                    fmt_x(rep_ratio(s, ("beck", cls, size, phase), ("redis", cls, size, phase))) if rd else "-",
                    fmt_x(rep_ratio(s, ("beck", cls, size, phase + "_mb"), ("raw", cls, size, phase + "_mb"))
                          or (get(b, "mb_per_s") / raw if get(b, "mb_per_s") else None)) if raw else "-",
                ])
    table(headers, rows, out)
    out.write("  page cache: Beck fsync.policy=interval (1 s), Redis appendfsync everysec, NATS default (no sync\n"
              "  option in 2.9); fsync: Beck fsync.policy=always (acks=all after fsync), Redis appendfsync always.\n"
              "  rdkafka mock: librdkafka against its own in-process mock broker, records in memory (the client's\n"
              "  ceiling); it keeps only a partition's last 5 MB, so its consumer reads that window again and again.\n"
              "  raw disk: dd of the same bytes into a new file, 1 MiB writes (page cache), or 1 MiB write +\n"
              "  fdatasync each (fsync, at most 200 MiB), in the same repetitions as the systems.\n\n")

    out.write("Client saturation: the busiest thread of the load generator, as a share of one CPU (median of the\n"
              "repetitions); near 1.0 that client thread (librdkafka's broker thread, say), not the server, is the limit\n")
    headers = ["workload", "Beck", "rdkafka mock", "NATS JetStream", "Redis Streams"]
    rows = []
    for phase in ("produce", "consume"):
        for size, label in ((100, "100 B"), (1024, "1 KiB")):
            for cls in ("page-cache", "fsync"):
                cells = []
                for system, c in (("beck", cls), ("mock", "-"), ("nats", cls), ("redis", cls)):
                    v = get(tp.get((system, c, size), {}).get(phase), "busiest_client_thread")
                    cells.append("%.2f" % v if v is not None else "-")
                rows.append(["%s %s, %s" % (phase, label, CLASS_NAMES[cls])] + cells)
    table(headers, rows, out)

    out.write("End-to-end latency: 100 B records at 50,000/s, producer and consumer in one process; the run\n"
              "with the median p99 of the repetitions (each after a sync, systems in rotating order)\n")
    headers = ["system", "class", "p50", "p99", "p99.9", "max", "received", "broker CPU s/M", "p99 of each run"]
    rows = []
    order = {"beck": 0, "raw": 2}
    for (system, cls), l in sorted(s["latency"].items(), key=lambda kv: (order.get(kv[0][0], 1), kv[0])):
        cpu = l.get("broker_cpu_s")
        rows.append([SYSTEM_NAMES[system], CLASS_NAMES[cls], "%.2f ms" % (l["p50_us"] / 1e3),
                     "%.2f ms" % (l["p99_us"] / 1e3), "%.2f ms" % (l["p999_us"] / 1e3), "%.2f ms" % (l["max_us"] / 1e3),
                     "%d/%d" % (l["received"], l["sent"]),
                     "-" if system == "raw" else
                     fmt_num(cpu / l["sent"] * 1e6 if cpu is not None and l["sent"] else None, "%.2f"),
                     " ".join("%.2f" % (v / 1e3) for v in l.get("p99_runs_us", [l["p99_us"]]))])
    table(headers, rows, out)
    if ("raw", "fsync") in s["latency"]:
        out.write("  raw disk: the floor for the fsync class, no network or broker: records arrive at the same rate\n"
                  "  and one thread appends what has arrived to a file and calls fdatasync, again and again; latency\n"
                  "  from a record's send time to the end of the fdatasync that covered it (beck-bench-disk).\n\n")

    out.write("Broker cost: CPU seconds per million records (median); RSS and idle CPU of each server (one Beck\n"
              "broker serves both classes, so its peak RSS covers both)\n")
    headers = ["system", "class", "100 B produce", "100 B consume", "1 KiB produce", "1 KiB consume", "idle RSS",
               "idle CPU", "peak RSS"]
    rows = []
    for system in ("beck", "nats", "redis"):
        for cls in ("page-cache", "fsync"):
            if (system, cls, 100) not in tp:
                continue
            t1, t2 = tp.get((system, cls, 100), {}), tp.get((system, cls, 1024), {})
            srv = server_key(s, system, cls)
            idle = get(s["idle"].get(srv), "rss_kb")
            hwm = get(s["life"].get(srv), "hwm_kb")
            rows.append([SYSTEM_NAMES[system], CLASS_NAMES[cls],
                         fmt_num(get(t1, "produce", "cpu_s_per_m"), "%.2f"),
                         fmt_num(get(t1, "consume", "cpu_s_per_m"), "%.2f"),
                         fmt_num(get(t2, "produce", "cpu_s_per_m"), "%.2f"),
                         fmt_num(get(t2, "consume", "cpu_s_per_m"), "%.2f"),
                         fmt_num(idle and idle / 1024, "%.1f MB"),
                         fmt_pct(get(s["idle"].get(srv), "idle_cpu")),
                         fmt_num(hwm and hwm / 1024, "%.1f MB")])
    table(headers, rows, out)

    if s["partitions"]:
        out.write("Beck with more partitions: 100 B records round-robin over the partitions of one topic\n")
        headers = ["class", "partitions", "produce", "vs 1", "consume", "vs 1", "CPU s/M produce", "CPU s/M consume"]
        rows = []
        for cls in ("page-cache", "fsync"):
            base = s["partitions"].get((cls, 1), {})
            for parts in (1, 100, 1000):
                e = s["partitions"].get((cls, parts))
                if e is None:
                    continue
                rows.append([CLASS_NAMES[cls], parts, fmt_rate(get(e, "produce", "records_per_s")),
                             fmt_ratio(get(e, "produce", "records_per_s"), get(base, "produce", "records_per_s")),
                             fmt_rate(get(e, "consume", "records_per_s")),
                             fmt_ratio(get(e, "consume", "records_per_s"), get(base, "consume", "records_per_s")),
                             fmt_num(get(e, "produce", "cpu_s_per_m"), "%.2f"),
                             fmt_num(get(e, "consume", "cpu_s_per_m"), "%.2f")])
        table(headers, rows, out)

    big = s["bigtopic"]
    if big.get("empty"):
        full_label = next((k for k in big if k not in ("empty", "fill", "data_bytes")), None)
        out.write("Beck with a multi-GB topic (page cache): 100 B produce then consume on the same topic\n")
        headers = ["topic holds", "produce", "consume", "CPU s/M produce", "CPU s/M consume"]
        rows = []
        for label in ("empty", full_label):
            e = big.get(label)
            if e is None:
                continue
            shown = label if label == "empty" else "%s (%.1f GB on disk)" % (label, big.get("data_bytes", 0) / 1e9)
            rows.append([shown, fmt_rate(get(e, "produce", "records_per_s")),
                         fmt_rate(get(e, "consume", "records_per_s")),
                         fmt_num(get(e, "produce", "cpu_s_per_m"), "%.2f"),
                         fmt_num(get(e, "consume", "cpu_s_per_m"), "%.2f")])
        table(headers, rows, out)
        fill = big.get("fill")
        if fill:
            out.write("  filled at %s with 1 KiB records\n" % fmt_rate(fill["records_per_s"], fill["mb_per_s"]))
        for ph in ("produce", "consume"):
            pairs = s["big_pairs"].get(ph)
            if pairs:
                out.write("  %s, full / empty in each of %d back-to-back pairs: %s (median %.2fx)\n" % (
                    ph, len(pairs), " ".join("%.2f" % x for x in pairs), med(pairs)))
        out.write("\n")

    many = s["many"]
    if many:
        n = get(many.get("create"), "partitions")
        out.write("Beck with %s partitions (one topic, 10 records in each)\n" % n)
        rows = [
            ["create the topic", fmt_num(get(many.get("create"), "seconds"), "%.2f s")],
            ["produce 10 records to each partition (fsync.policy=always)",
             fmt_num(get(many.get("fill"), "seconds"), "%.2f s")],
            ["clean shutdown (SIGTERM)", fmt_num(get(many.get("stop"), "stop_ms"), "%.0f ms")],
            ["start-up after a clean shutdown", fmt_num(get(many.get("clean-start"), "ready_ms"), "%.0f ms")],
            ["RSS after that start-up", fmt_num((get(many.get("clean-start"), "rss_kb") or 0) / 1024, "%.1f MB")],
            ["CPU while idle (5 s after that start-up)",
             fmt_pct(get(many.get("idle"), "idle_cpu"), " of a CPU")],
            ["peak RSS after one more record per partition",
             fmt_num((get(many.get("serving-rss"), "hwm_kb") or 0) / 1024, "%.1f MB")],
            ["start-up after kill -9 (recovery)", fmt_num(get(many.get("recovery-start"), "ready_ms"), "%.0f ms")],
            ["RSS after that start-up", fmt_num((get(many.get("recovery-start"), "rss_kb") or 0) / 1024, "%.1f MB")],
        ]
        table(["", "Beck"], rows, out)

    out.write("Goals\n")
    table(["goal", "measured", "status"], goals(s), out)
    if s["errors"]:
        out.write("Failed runs (figures above are n/a where they depended on these):\n")
        for e in s["errors"]:
            out.write("  " + e + "\n")


def to_json(s):
    def keyed(d, names):
        return [dict(zip(names, k if isinstance(k, tuple) else (k,)), **(v if isinstance(v, dict) else {"value": v}))
                for k, v in d.items()]
    return {
        "meta": s["meta"],
        "throughput": keyed(s["throughput"], ("system", "class", "size")),
        "latency": keyed(s["latency"], ("system", "class")),
        "idle": keyed(s["idle"], ("system", "class")),
        "life": keyed(s["life"], ("system", "class")),
        "raw_disk_mb_per_s": [{"class": k[0], "size": k[1], "mb_per_s": v} for k, v in s["raw"].items()],
        "partitions": keyed(s["partitions"], ("class", "partitions")),
        "bigtopic": s["bigtopic"],
        "bigtopic_full_over_empty": s["big_pairs"],
        "other_processes": s["others"],
        "many_partitions": s["many"],
        "goals": [{"goal": g, "measured": m, "status": st} for g, m, st in goals(s)],
        "errors": s["errors"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", choices=("table", "json"), default="table")
    ap.add_argument("results")
    a = ap.parse_args()
    s = summarise(load(a.results))
    if a.output == "json":
        json.dump(to_json(s), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render_table(s, sys.stdout)


if __name__ == "__main__":
    main()
