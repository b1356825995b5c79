/*
 * connect_load.c - beck-bench-connect: the Connect side of
 * bench/connect_bench.sh. Each subcommand does one step so the script can
 * time the peers (psql \copy, cat) on exactly the same inputs:
 *
 *   rows N JSON_FILE COPY_FILE
 *       writes N small 4-column rows twice: as JSON lines (what a sink
 *       reads from a topic) and in PostgreSQL COPY text format (what psql
 *       \copy reads). Row i: {"id":i,"name":"user-(i%1000)",
 *       "amount":(i%100000)/100,"ts":1704067200000+i}.
 *   produce DATA_DIR TOPIC FILE
 *       appends each line of FILE as one record value to TOPIC (created
 *       with one partition) in an embedded log; untimed setup.
 *   sink DATA_DIR TOPIC KEY=VALUE...
 *       runs one sink connector (the KEY=VALUE configuration; name and
 *       topics are required) over the embedded log and waits until its
 *       group has committed the topic's end offset, i.e. until every
 *       record is flushed into the sink's system.
 *   source DATA_DIR TOPIC N KEY=VALUE...
 *       runs one source connector writing TOPIC and waits until the topic
 *       holds N records, all acknowledged (durable).
 *
 * sink and source print one JSON object: {"records":N,"seconds":S,
 * "per_sec":R,"cpu_seconds":C} where seconds run from starting the
 * connector to the last record being committed (sink) or durable in the
 * topic (source), and C is this process's CPU time over the same span.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/logging.h"
#include "client/client.h"
#include "connect/worker.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static int die(const char *what, const char *msg) {
  fprintf(stderr, "beck-bench-connect: %s: %s\n", what, msg);
  return 1;
}

/* ---- rows ------------------------------------------------------------------------ */

static int cmd_rows(int argc, char **argv) {
  if (argc != 5)
    return die("usage", "rows N JSON_FILE COPY_FILE");
  long long n = atoll(argv[2]);
  FILE *j = fopen(argv[3], "w"), *c = fopen(argv[4], "w");
  if (j == NULL || c == NULL)
    return die(j == NULL ? argv[3] : argv[4], strerror(errno));
  for (long long i = 0; i < n; i++) {
    long long cents = i % 100000;
    long long ts = 1704067200000LL + i;
    fprintf(j, "{\"id\":%lld,\"name\":\"user-%lld\",\"amount\":%lld.%02lld,\"ts\":%lld}\n", i, i % 1000, cents / 100,
            cents % 100, ts);
    fprintf(c, "%lld\tuser-%lld\t%lld.%02lld\t%lld\n", i, i % 1000, cents / 100, cents % 100, ts);
  }
  if (fclose(j) != 0 || fclose(c) != 0)
    return die("rows", strerror(errno));
  return 0;
}

/* ---- produce ---------------------------------------------------------------------- */

static int cmd_produce(int argc, char **argv) {
  if (argc != 5)
    return die("usage", "produce DATA_DIR TOPIC FILE");
  beck_error_t e;
  beck_client_t *c = NULL;
  if (beck_client_open_embedded(argv[2], &c, &e) != BECK_ERR_OK)
    return die(argv[2], e.msg);
  if (beck_client_create_topic(c, argv[3], 1, NULL, NULL, 0, true, &e) != BECK_ERR_OK)
    return die(argv[3], e.msg);
  FILE *f = fopen(argv[4], "r");
  if (f == NULL)
    return die(argv[4], strerror(errno));
  enum { BATCH = 5000 };
  static beck_client_record_t recs[BATCH];
  static char *lines[BATCH];
  static size_t caps[BATCH];
  long long total = 0;
  int n = 0, rc = 0;
  for (;;) {
    ssize_t len = getline(&lines[n], &caps[n], f);
    if (len > 0) {
      if (lines[n][len - 1] == '\n')
        len--;
      recs[n] = (beck_client_record_t){.partition = 0, .timestamp = -1, .key = {.len = -1}};
      recs[n].value.ptr = (const uint8_t *)lines[n];
      recs[n].value.len = (int32_t)len;
      n++;
    }
    if (n == BATCH || (len < 0 && n > 0)) {
      if (beck_client_produce(c, argv[3], recs, n, NULL, NULL, &e) != BECK_ERR_OK) {
        rc = die("produce", e.msg);
        break;
      }
      total += n;
      n = 0;
    }
    if (len < 0)
      break;
  }
  fclose(f);
  for (int k = 0; k < BATCH; k++)
    free(lines[k]);
  beck_client_close(c);
  if (rc == 0)
    fprintf(stderr, "produced %lld records to %s\n", total, argv[3]);
  return rc;
}

/* ---- running one connector ---------------------------------------------------------------- */

typedef struct run {
  beck_client_t *client;
  beck_connect_worker_t *worker;
  char name[128];
} run_t;

/* Opens the log and adds the connector of the KEY=VALUE arguments. */
static int run_open(run_t *r, const char *dir, char **kv, int n) {
  beck_error_t e;
  memset(r, 0, sizeof *r);
  if (beck_client_open_embedded(dir, &r->client, &e) != BECK_ERR_OK)
    return die(dir, e.msg);
  beck_connect_worker_config_t cfg = {.client = r->client};
  if (beck_connect_worker_new(&cfg, &r->worker, &e) != BECK_ERR_OK)
    return die("worker", e.msg);
  const char *keys[64], *vals[64];
  if (n > 64)
    return die("usage", "too many options");
  for (int k = 0; k < n; k++) {
    char *eq = strchr(kv[k], '=');
    if (eq == NULL)
      return die(kv[k], "expected KEY=VALUE");
    *eq = '\0';
    keys[k] = kv[k];
    vals[k] = eq + 1;
    if (strcmp(keys[k], "name") == 0)
      snprintf(r->name, sizeof r->name, "%s", vals[k]);
  }
  if (beck_connect_worker_add(r->worker, keys, vals, n, &e) != BECK_ERR_OK)
    return die("connector", e.msg);
  return 0;
}

static void run_close(run_t *r) {
  beck_connect_worker_free(r->worker);
  beck_client_close(r->client);
}

/* Non-zero (after printing why) when the connector failed. */
static int run_failed(run_t *r) {
  beck_connect_status_t st;
  beck_error_t e;
  if (beck_connect_worker_status(r->worker, r->name, &st, &e) != BECK_ERR_OK)
    return die("status", e.msg);
  if (st.state == BECK_CONNECT_FAILED)
    return die(r->name, st.error);
  return 0;
}

static void report(long long records, double secs, double cpu) {
  printf("{\"records\":%lld,\"seconds\":%.4f,\"per_sec\":%.1f,\"cpu_seconds\":%.4f}\n", records, secs,
         secs > 0 ? (double)records / secs : 0.0, cpu);
}

static int cmd_sink(int argc, char **argv) {
  if (argc < 5)
    return die("usage", "sink DATA_DIR TOPIC KEY=VALUE...");
  const char *topic = argv[3];
  run_t r;
  if (run_open(&r, argv[2], argv + 4, argc - 4) != 0)
    return 1;
  beck_error_t e;
  int64_t start, end;
  if (beck_client_watermarks(r.client, topic, 0, &start, &end, &e) != BECK_ERR_OK)
    return die(topic, e.msg);
  char group[160];
  snprintf(group, sizeof group, "connect-%s", r.name);
  double t0 = now_s(), c0 = cpu_s();
  if (beck_connect_worker_start(r.worker, r.name, &e) != BECK_ERR_OK)
    return die("start", e.msg);
  int rc = 0;
  for (;;) {
    int64_t committed = -1;
    if (beck_client_committed(r.client, group, topic, 0, &committed, &e) != BECK_ERR_OK) {
      rc = die("committed", e.msg);
      break;
    }
    if (committed >= end)
      break;
    if ((rc = run_failed(&r)) != 0)
      break;
    usleep(2000);
  }
  double secs = now_s() - t0, cpu = cpu_s() - c0;
  run_close(&r);
  if (rc == 0)
    report(end - start, secs, cpu);
  return rc;
}

static int cmd_source(int argc, char **argv) {
  if (argc < 6)
    return die("usage", "source DATA_DIR TOPIC N KEY=VALUE...");
  const char *topic = argv[3];
  long long want = atoll(argv[4]);
  run_t r;
  if (run_open(&r, argv[2], argv + 5, argc - 5) != 0)
    return 1;
  beck_error_t e;
  double t0 = now_s(), c0 = cpu_s();
  if (beck_connect_worker_start(r.worker, r.name, &e) != BECK_ERR_OK)
    return die("start", e.msg);
  int rc = 0;
  for (;;) {
    int64_t start = 0, end = 0;
    int32_t parts = 0;
    long long have = 0;
    if (beck_client_partitions(r.client, topic, &parts, &e) == BECK_ERR_OK)
      for (int32_t p = 0; p < parts; p++)
        if (beck_client_watermarks(r.client, topic, p, &start, &end, &e) == BECK_ERR_OK)
          have += end - start;
    if (have >= want)
      break;
    if ((rc = run_failed(&r)) != 0)
      break;
    usleep(2000);
  }
  double secs = now_s() - t0, cpu = cpu_s() - c0;
  run_close(&r);
  if (rc == 0)
    report(want, secs, cpu);
  return rc;
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "";
  if (strcmp(cmd, "rows") == 0)
    return cmd_rows(argc, argv);
  if (strcmp(cmd, "produce") == 0)
    return cmd_produce(argc, argv);
  if (strcmp(cmd, "sink") == 0)
    return cmd_sink(argc, argv);
  if (strcmp(cmd, "source") == 0)
    return cmd_source(argc, argv);
  fprintf(stderr, "usage: beck-bench-connect rows|produce|sink|source ... (see bench/connect_load.c)\n");
  return 2;
}
