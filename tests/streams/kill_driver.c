/*
 * kill_driver.c - the program tests/streams/kill_test.py kills: a windowed
 * aggregation over the embedded log, run until its bounded input is done,
 * restartable after SIGKILL at any point.
 *
 *   kill_driver produce DATA --records N [--seed S]
 *       makes topic "events" (4 partitions) and writes N deterministic
 *       records: key "u<0..49>", value "<amount 1..100>", event time
 *       T0 + 10 ms * i minus up to 3 s of jitter (so some are late).
 *   kill_driver run DATA STATE --guarantee eos|alos [--threads T]
 *       builds the topology, runs it until every input and repartition
 *       partition is committed up to its end, then pushes the final
 *       watermark (closing every window) and exits 0. Prints
 *       "started C of N" (committed input records of all), then
 *       "progress C" as commits go, "advancing", "done". A restart
 *       resumes from whatever was committed.
 *   kill_driver dump DATA TOPIC
 *       prints every visible record of TOPIC, one per line:
 *       "<partition> <key hex> <value> <timestamp>".
 *
 * Topology (app id "kill"):
 *   events -> group_by_key -> tumbling 10 s, grace 2 s, emit final -> count
 *          -> "user-counts"            (no repartition: one task per input
 *                                       partition, windows close mid-run
 *                                       and late records are dropped)
 *   events -> group_by(region = "r" + user % 7) -> tumbling 10 s, grace
 *          10 days, emit final -> sum -> "region-sums"
 *                                      (through a repartition topic written
 *                                       by every upstream task; its windows
 *                                       close at the final watermark, so the
 *                                       result does not depend on how the
 *                                       upstream tasks interleave)
 * Both are deterministic for a given input, so an uninterrupted run and a
 * run killed and restarted many times must agree: exactly under
 * exactly-once; under at-least-once every window is there with a value at
 * least the uninterrupted one (replayed records may count twice).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beck/streams.h"
#include "client/client.h"

#define TOPIC "events"
#define PARTITIONS 4
#define USERS 50
#define REGIONS 7
#define T0 1700000000000LL

static void die(const char *what, const beck_error_t *e) {
  fprintf(stderr, "kill_driver: %s: %s\n", what, e ? e->msg : "");
  exit(1);
}

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int cmd_produce(const char *data, long n, uint64_t seed) {
  beck_client_t *c;
  beck_error_t e;
  if (beck_client_open_embedded(data, &c, &e))
    die("open", &e);
  if (beck_client_create_topic(c, TOPIC, PARTITIONS, NULL, NULL, 0, false, &e))
    die("create topic", &e);
  enum { CHUNK = 4096 };
  static beck_client_record_t r[CHUNK];
  static char kb[CHUNK][8], vb[CHUNK][8];
  uint64_t s = seed;
  for (long i = 0; i < n;) {
    int m = 0;
    for (; m < CHUNK && i < n; m++, i++) {
      int user = (int)(rng_next(&s) % USERS), amount = 1 + (int)(rng_next(&s) % 100);
      int64_t jitter = (int64_t)(rng_next(&s) % 3000);
      int kl = snprintf(kb[m], sizeof kb[m], "u%d", user), vl = snprintf(vb[m], sizeof vb[m], "%d", amount);
      r[m] = (beck_client_record_t){.partition = BECK_CLIENT_PARTITION_ANY,
                                    .timestamp = T0 + 10 * (int64_t)i - jitter,
                                    .key = beck_nstr(kb[m], kl),
                                    .value = beck_nstr(vb[m], vl)};
    }
    if (beck_client_produce(c, TOPIC, r, m, NULL, NULL, &e))
      die("produce", &e);
  }
  beck_client_close(c);
  return 0;
}

static beck_err_t region_of(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  (void)ud;
  int user = 0; /* key "u<n>" (not NUL-terminated) */
  for (int32_t i = 1; i < in->key.len; i++)
    user = user * 10 + (in->key.ptr[i] - '0');
  char buf[8];
  int n = snprintf(buf, sizeof buf, "r%d", user % REGIONS);
  *out = beck_sctx_copy(ctx, buf, n);
  return BECK_ERR_OK;
}

static beck_topology_t *topology(void) {
  beck_topology_t *t = beck_topology_new("kill");
  beck_stream_t *in = beck_topology_stream(t, "events", TOPIC, NULL);
  beck_agg_opts_t sq = {.store = {.kind = BECK_STORE_SQLITE}};
  beck_window_spec_t w1 = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 10000, .grace_ms = 2000, .emit = BECK_EMIT_FINAL};
  beck_stream_t *uc =
      beck_stream_count(beck_stream_window(beck_stream_group_by_key(in, "by-user"), "w-user", &w1), "user-count", &sq);
  beck_stream_to(beck_stream_to_stream(uc, "user-count-s"), "user-counts-out", "user-counts", NULL);
  beck_window_spec_t w2 = {
      .kind = BECK_WINDOW_TUMBLING, .size_ms = 10000, .grace_ms = 10LL * 86400 * 1000, .emit = BECK_EMIT_FINAL};
  beck_stream_t *rs = beck_stream_sum(
      beck_stream_window(beck_stream_group_by(in, "by-region", region_of, NULL), "w-region", &w2), "region-sum", NULL);
  beck_stream_to(beck_stream_to_stream(rs, "region-sum-s"), "region-sums-out", "region-sums", NULL);
  const beck_error_t *te = beck_topology_error(t);
  if (te->code != BECK_ERR_OK)
    die("topology", te);
  return t;
}

/* Sums of topic's committed offsets (group "kill") and high watermarks. */
static void progress(beck_client_t *c, const char *topic, int64_t *committed, int64_t *high) {
  int32_t parts;
  beck_error_t e;
  if (beck_client_partitions(c, topic, &parts, &e))
    die("partitions", &e);
  *committed = *high = 0;
  for (int32_t p = 0; p < parts; p++) {
    int64_t start, h, o;
    if (beck_client_watermarks(c, topic, p, &start, &h, &e) || beck_client_committed(c, "kill", topic, p, &o, &e))
      die("watermarks", &e);
    *committed += o > 0 ? o : 0;
    *high += h;
  }
}

static int cmd_run(const char *data, const char *state, beck_guarantee_t g, int threads) {
  beck_client_t *c;
  beck_error_t e;
  if (beck_client_open_embedded(data, &c, &e))
    die("open", &e);
  beck_topology_t *t = topology();
  beck_streams_config_t cfg = {
      .state_dir = state, .threads = threads > 0 ? threads : 1, .commit_interval_ms = 100, .guarantee = g};
  beck_streams_t *s;
  if (beck_streams_new(t, c, &cfg, &s, &e))
    die("streams", &e);
  int64_t done, total, rdone, rtotal;
  progress(c, TOPIC, &done, &total);
  printf("started %" PRId64 " of %" PRId64 "\n", done, total);
  fflush(stdout);
  if (threads > 0) {
    /* progress lines (committed input records) until input and
     * repartition topic are committed up to their ends */
    if (beck_streams_start(s, &e))
      die("start", &e);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int64_t last = done, last_r = -1;;) {
      progress(c, TOPIC, &done, &total);
      progress(c, "kill-region-sum-repartition", &rdone, &rtotal);
      if (done != last)
        printf("progress %" PRId64 "\n", done);
      fflush(stdout);
      if (done == total && rdone == rtotal)
        break;
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (done != last || rdone != last_r)
        t0 = now;
      else if (now.tv_sec - t0.tv_sec > 60) { /* a failed task stops its thread: say why */
        if (beck_streams_stop(s, &e))
          die("run", &e);
        die("no progress for a minute", NULL);
      }
      last = done;
      last_r = rdone;
      struct timespec ts = {0, 5 * 1000000L};
      nanosleep(&ts, NULL);
    }
    if (beck_streams_stop(s, &e))
      die("stop", &e);
  }
  if (beck_streams_run_until_idle(s, &e))
    die("run", &e);
  printf("advancing\n");
  fflush(stdout);
  if (beck_streams_advance(s, INT64_MAX, &e))
    die("advance", &e);
  beck_streams_destroy(s);
  beck_topology_destroy(t);
  beck_client_close(c);
  printf("done\n");
  return 0;
}

static int dump_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  (void)arg;
  (void)topic;
  printf("%d ", (int)partition);
  for (int32_t i = 0; i < r->key.len; i++)
    printf("%02x", r->key.ptr[i]);
  printf(" %.*s %" PRId64 "\n", (int)(r->value.len < 0 ? 0 : r->value.len), (const char *)r->value.ptr, r->timestamp);
  return 0;
}

static int cmd_dump(const char *data, const char *topic) {
  beck_client_t *c;
  beck_error_t e;
  if (beck_client_open_embedded(data, &c, &e))
    die("open", &e);
  int32_t parts;
  if (beck_client_partitions(c, topic, &parts, &e))
    die("partitions", &e);
  for (int32_t p = 0; p < parts; p++) {
    int64_t off = 0, start, high;
    if (beck_client_watermarks(c, topic, p, &start, &high, &e))
      die("watermarks", &e);
    off = start;
    while (off < high)
      if (beck_client_fetch(c, topic, p, off, 1 << 20, 0, dump_cb, NULL, &off, &e))
        die("fetch", &e);
  }
  beck_client_close(c);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: kill_driver produce DATA --records N [--seed S]\n"
                  "       kill_driver run DATA STATE --guarantee eos|alos [--threads T]\n"
                  "       kill_driver dump DATA TOPIC\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 3)
    return usage();
  const char *cmd = argv[1];
  if (strcmp(cmd, "produce") == 0) {
    long n = 0;
    uint64_t seed = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
      if (strcmp(argv[i], "--records") == 0)
        n = atol(argv[i + 1]);
      else if (strcmp(argv[i], "--seed") == 0)
        seed = strtoull(argv[i + 1], NULL, 10);
      else
        return usage();
    }
    return n > 0 ? cmd_produce(argv[2], n, seed) : usage();
  }
  if (strcmp(cmd, "run") == 0 && argc >= 4) {
    beck_guarantee_t g = BECK_AT_LEAST_ONCE;
    int threads = 2;
    for (int i = 4; i + 1 < argc; i += 2) {
      if (strcmp(argv[i], "--guarantee") == 0 && strcmp(argv[i + 1], "eos") == 0)
        g = BECK_EXACTLY_ONCE;
      else if (strcmp(argv[i], "--guarantee") == 0 && strcmp(argv[i + 1], "alos") == 0)
        g = BECK_AT_LEAST_ONCE;
      else if (strcmp(argv[i], "--threads") == 0)
        threads = atoi(argv[i + 1]);
      else
        return usage();
    }
    return cmd_run(argv[2], argv[3], g, threads);
  }
  if (strcmp(cmd, "dump") == 0 && argc == 4)
    return cmd_dump(argv[2], argv[3]);
  return usage();
}
