#!/usr/bin/python3
"""kill_test.py - streams/: a windowed aggregation killed with SIGKILL
several times part-way and restarted, against an uninterrupted run of the
same input (issue 5, "Tests").

For each guarantee (exactly-once, then at-least-once):
  1. reference: `kill_driver produce` N records into a fresh data dir, then
     `kill_driver run` to completion (D seconds of processing);
  2. killed: the same input in another data dir; `kill_driver run` is
     started and SIGKILLed after a random delay in [0.1 D, 0.6 D], again and
     again (at least --kills times while it was still running), then run to
     completion;
  3. both outputs are dumped (`kill_driver dump`, through the embedded
     client: what any reader sees) and compared:
       exactly-once   the multiset of records (partition, key, value,
                      timestamp) of each output topic is identical;
       at-least-once  every window of the reference is present, with a
                      value (the last one written for it) at least the
                      reference value (records replayed after a crash may
                      count twice), and no window the reference lacks.

Usage: kill_test.py --driver PATH [--records N] [--kills K] [--seed S]
       [--only eos|alos] [--keep]
"""
import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOPICS = ("user-counts", "region-sums")


def run(cmd, env):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("FAIL: %s exited %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


def dump(driver, data, env):
    out = {}
    for t in TOPICS:
        lines = run([driver, "dump", data, t], env).splitlines()
        out[t] = [tuple(l.split(" ")) for l in lines]
    return out


def produce(driver, root, name, records, seed, env):
    data = os.path.join(root, name, "data")
    run([driver, "produce", data, "--records", str(records), "--seed", str(seed)], env)
    return data, os.path.join(root, name, "state")


def start(driver, data, state, guarantee, env):
    return subprocess.Popen([driver, "run", data, state, "--guarantee", guarantee], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p):
    out, err = p.communicate()
    if p.returncode != 0 or "done" not in out:
        sys.exit("FAIL: run exited %d\n%s%s" % (p.returncode, out, err))


def run_to_end(driver, data, state, guarantee, env):
    """Returns the seconds from "started" (topology up, stores restored) to
    the end."""
    p = start(driver, data, state, guarantee, env)
    p.stdout.readline()
    t0 = time.monotonic()
    finish(p)
    return time.monotonic() - t0


def run_with_kills(driver, data, state, guarantee, env, kills, rng):
    """Starts the run and SIGKILLs it, `kills` times: mostly a few ms after
    its committed input passed a random point of the first quarter of what
    is left, sometimes while it opens and restores its stores, and maybe
    (the last time) while it pushes the final watermark. Then runs it to
    the end. Returns where the kills landed."""
    landed = []
    for i in range(kills):
        p = start(driver, data, state, guarantee, env)
        r = rng.random()
        if r < 0.15:
            where = "opening"
            time.sleep(rng.uniform(0.0, 0.03))
        else:
            line = p.stdout.readline().split()
            if not line or line[0] != "started":
                finish(p)  # report why
            done, total = int(line[1]), int(line[3])
            where = "advancing" if i == kills - 1 and r > 0.6 else "processing"
            target = done + rng.uniform(0.02, 0.25) * (total - done)
            for line in p.stdout:
                w = line.split()
                if where == "processing" and w[0] == "progress" and int(w[1]) >= target:
                    time.sleep(rng.uniform(0.0, 0.01))
                    break
                if w[0] == "advancing":  # (processing: the last commits went past the target)
                    time.sleep(rng.uniform(0.0, 0.002))
                    break
        if p.poll() is not None:
            finish(p)  # it finished (or failed) before the kill
            if where != "advancing":
                sys.exit("FAIL: the run ended before kill %d (%s)" % (i + 1, where))
            break
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        p.stderr.close()
        landed.append(where)
    run_to_end(driver, data, state, guarantee, env)
    return landed


def by_window(records):
    """(partition, key) -> values in log order, per topic."""
    w = collections.OrderedDict()
    for part, key, value, ts in records:
        w.setdefault((part, key), []).append((value, ts))
    return w


def check_eos(ref, got):
    for t in TOPICS:
        a, b = collections.Counter(ref[t]), collections.Counter(got[t])
        if a != b:
            missing = list((a - b).elements())[:5]
            extra = list((b - a).elements())[:5]
            sys.exit("FAIL: exactly-once: %s differs from the uninterrupted run (%d vs %d records)\n"
                     "  missing: %s\n  extra: %s" % (t, sum(b.values()), sum(a.values()), missing, extra))
        print("  %s: %d records, identical to the uninterrupted run" % (t, sum(a.values())))


def check_alos(ref, got):
    for t in TOPICS:
        rw, gw = by_window(ref[t]), by_window(got[t])
        for k, vals in rw.items():
            if len(vals) != 1:
                sys.exit("FAIL: the reference run emitted window %s of %s %d times" % (k, t, len(vals)))
        missing = [k for k in rw if k not in gw]
        extra = [k for k in gw if k not in rw]
        if missing or extra:
            sys.exit("FAIL: at-least-once: %s: windows missing %s, unexpected %s" % (t, missing[:5], extra[:5]))
        low = [(k, rw[k][0][0], gw[k][-1][0]) for k in rw if int(gw[k][-1][0]) < int(rw[k][0][0])]
        if low:
            sys.exit("FAIL: at-least-once: %s: windows with less than the reference: %s" % (t, low[:5]))
        dup = sum(len(v) - 1 for v in gw.values())
        more = sum(1 for k in rw if int(gw[k][-1][0]) > int(rw[k][0][0]))
        print("  %s: %d windows all present; %d repeated emissions, %d windows counted higher (replays)"
              % (t, len(rw), dup, more))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("BECK_KILL_SEED", "0")) or None)
    ap.add_argument("--only", choices=("eos", "alos"))
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1, 1 << 30)
    print("seed %d (BECK_KILL_SEED=%d repeats this run)" % (seed, seed))
    rng = random.Random(seed)
    env = dict(os.environ, BECK_LOG_LEVEL="error")
    root = tempfile.mkdtemp(prefix="beck-kill-")
    try:
        for g in ("eos", "alos"):
            if a.only and a.only != g:
                continue
            print("%s:" % ("exactly-once" if g == "eos" else "at-least-once"))
            data, state = produce(a.driver, root, g + "-ref", a.records, seed, env)
            secs = run_to_end(a.driver, data, state, g, env)
            ref = dump(a.driver, data, env)
            print("  uninterrupted: %d records in %.2fs" % (a.records, secs))
            data, state = produce(a.driver, root, g + "-killed", a.records, seed, env)
            landed = run_with_kills(a.driver, data, state, g, env, a.kills, rng)
            print("  killed %d times (%s), restarted, finished"
                  % (len(landed), ", ".join("%d %s" % (landed.count(w), w) for w in sorted(set(landed)))))
            got = dump(a.driver, data, env)
            (check_eos if g == "eos" else check_alos)(ref, got)
            if not a.keep:
                shutil.rmtree(os.path.join(root, g + "-ref"))
                shutil.rmtree(os.path.join(root, g + "-killed"))
        print("PASS")
    finally:
        if a.keep:
            print("kept %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
