/* test_client.c - core/client: the log client, embedded and remote.
 *
 * The same scenarios run in three modes and must give identical outputs
 * (exact records, offsets, partitions, watermarks, committed offsets):
 *   embedded  (no argument)  beck_client_open_embedded over a temp data dir;
 *   broker    (argv[1] "broker")  the remote client against the built
 *             `beck broker` ($BECK_BIN), started here on a free port;
 *   mock      (argv[1] "mock")  the remote client against librdkafka's mock
 *             cluster with 3 brokers.
 * A fresh data dir / broker / mock cluster per test. The mock cluster cannot
 * create topics over the protocol (it has no controller) and auto-creates
 * any topic it is asked about, so there topics are made with
 * rd_kafka_mock_topic_create and the "does not exist" checks are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/logging.h"
#include "client/client.h"
#include "record/codec.h"
#include "tmpdir.h"
#include "topic/topics.h"

enum { MODE_EMBEDDED, MODE_BROKER, MODE_MOCK };
static int g_mode = MODE_EMBEDDED;

typedef struct fx {
  char *dir;
  pid_t broker;
  char bootstrap[512];
  rd_kafka_t *mock_rk; /* owns the mock cluster */
  beck_client_t *c;
} fx_t;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- fixtures -------------------------------------------------------------- */

static void start_broker(fx_t *f) {
  const char *bin = getenv("BECK_BIN");
  if (bin == NULL)
    fail_msg("BECK_BIN is not set (the path of the built beck binary)");
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    close(pfd[1]);
    setenv("BECK_LOG_LEVEL", "warn", 1);
    execl(bin, bin, "broker", "--data-dir", f->dir, "--listen", "127.0.0.1:0", (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  FILE *out = fdopen(pfd[0], "r");
  char line[1024];
  int port = 0;
  while (fgets(line, sizeof line, out)) {
    const char *p = strstr(line, "listening on 127.0.0.1:");
    if (strstr(line, "ready") && p) {
      port = atoi(p + strlen("listening on 127.0.0.1:"));
      break;
    }
  }
  fclose(out); /* the broker prints nothing more on stdout */
  if (port <= 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("beck broker did not say it was ready");
  }
  f->broker = pid;
  snprintf(f->bootstrap, sizeof f->bootstrap, "127.0.0.1:%d", port);
}

static void start_mock(fx_t *f) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  assert_int_equal(rd_kafka_conf_set(conf, "test.mock.num.brokers", "3", err, sizeof err), RD_KAFKA_CONF_OK);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  f->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  assert_non_null(f->mock_rk);
  snprintf(f->bootstrap, sizeof f->bootstrap, "%s",
           rd_kafka_mock_cluster_bootstraps(rd_kafka_handle_mock_cluster(f->mock_rk)));
}

static beck_client_t *open_client(fx_t *f) {
  beck_client_t *c = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  beck_err_t err;
  if (g_mode == MODE_EMBEDDED)
    err = beck_client_open_embedded(f->dir, &c, &e);
  else {
    /* BECK_TEST_RDKAFKA_DEBUG=fetch,msg,... turns on librdkafka's debug log */
    const char *dk[] = {"debug"};
    const char *dv[] = {getenv("BECK_TEST_RDKAFKA_DEBUG")};
    err = beck_client_open_remote(f->bootstrap, dk, dv, dv[0] ? 1 : 0, &c, &e);
  }
  if (err)
    fail_msg("open client: %s", e.msg);
  assert_string_equal(beck_client_kind(c), g_mode == MODE_EMBEDDED ? "embedded" : "remote");
  return c;
}

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  f->dir = beck_test_tmpdir("client");
  if (g_mode == MODE_BROKER)
    start_broker(f);
  else if (g_mode == MODE_MOCK)
    start_mock(f);
  f->c = open_client(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  beck_client_close(f->c);
  if (f->broker > 0) {
    kill(f->broker, SIGTERM);
    waitpid(f->broker, NULL, 0);
  }
  if (f->mock_rk)
    rd_kafka_destroy(f->mock_rk);
  beck_test_rmdir(f->dir);
  free(f);
  return 0;
}

static void reopen(fx_t *f) {
  beck_client_close(f->c);
  f->c = open_client(f);
}

static void make_topic(fx_t *f, const char *name, int32_t partitions) {
  beck_error_t e;
  beck_error_clear(&e);
  if (g_mode == MODE_MOCK)
    assert_int_equal(rd_kafka_mock_topic_create(rd_kafka_handle_mock_cluster(f->mock_rk), name, partitions, 3), 0);
  beck_err_t err = beck_client_create_topic(f->c, name, partitions, NULL, NULL, 0, g_mode == MODE_MOCK, &e);
  if (err)
    fail_msg("create topic %s: %s", name, e.msg);
}

/* ---- records in and out ---------------------------------------------------- */

static beck_nstr_t str(const char *s) { return s ? beck_nstr(s, (int32_t)strlen(s)) : beck_nstr_null(); }

static beck_client_record_t rec(int32_t partition, int64_t ts, const char *key, const char *value) {
  beck_client_record_t r = {.partition = partition, .timestamp = ts, .key = str(key), .value = str(value)};
  return r;
}

#define TS0 1700000000000LL

typedef struct collect {
  char text[16384];
  size_t len;
  int n;
  int stop_after; /* return non-zero from the callback after this many (0 = never) */
  int64_t first, last;
} collect_t;

static void put(collect_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(collect_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(c->text + c->len, sizeof c->text - c->len, fmt, ap);
  va_end(ap);
  assert_true(n >= 0 && (size_t)n < sizeof c->text - c->len);
  c->len += (size_t)n;
}

static void put_nstr(collect_t *c, beck_nstr_t s) {
  if (s.len < 0)
    put(c, "~");
  else
    put(c, "'%.*s'", (int)s.len, (const char *)s.ptr);
}

static int collect_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  collect_t *c = arg;
  put(c, "%s-%d@%lld ts=%lld k=", topic, partition, (long long)r->offset, (long long)r->timestamp);
  put_nstr(c, r->key);
  put(c, " v=");
  put_nstr(c, r->value);
  put(c, " h=[");
  beck_slice_t cur = r->headers;
  beck_record_header_t h;
  int i = 0;
  while (beck_record_header_next(&cur, &h) == 1) {
    put(c, "%s%.*s=", i++ ? "," : "", (int)h.key.len, (const char *)h.key.ptr);
    put_nstr(c, h.value);
  }
  assert_int_equal(i, r->headers_count);
  put(c, "]\n");
  if (c->n == 0)
    c->first = r->offset;
  c->last = r->offset;
  c->n++;
  return c->stop_after > 0 && c->n >= c->stop_after;
}

static void produce(fx_t *f, const char *topic, const beck_client_record_t *recs, int n, int64_t *offsets,
                    int32_t *parts) {
  beck_error_t e;
  beck_error_clear(&e);
  beck_err_t err = beck_client_produce(f->c, topic, recs, n, offsets, parts, &e);
  if (err)
    fail_msg("produce to %s: %s", topic, e.msg);
}

static void watermarks(fx_t *f, const char *topic, int32_t p, int64_t *start, int64_t *high) {
  beck_error_t e;
  beck_error_clear(&e);
  if (beck_client_watermarks(f->c, topic, p, start, high, &e))
    fail_msg("watermarks %s-%d: %s", topic, p, e.msg);
}

/* Fetches topic-p from `from` up to its high watermark (what a consumer does:
 * remote fetches may hand out a few records at a time). Returns next offset. */
static int64_t fetch_all(fx_t *f, const char *topic, int32_t p, int64_t from, collect_t *c) {
  int64_t start, high;
  watermarks(f, topic, p, &start, &high);
  int64_t next = from, deadline = now_ms() + 20000;
  while (next < high) {
    if (now_ms() > deadline)
      fail_msg("fetch %s-%d: stuck at %lld of %lld", topic, p, (long long)next, (long long)high);
    beck_error_t e;
    beck_error_clear(&e);
    if (beck_client_fetch(f->c, topic, p, next, 1 << 20, 1000, collect_cb, c, &next, &e))
      fail_msg("fetch %s-%d at %lld: %s", topic, p, (long long)next, e.msg);
  }
  assert_int_equal(next, high);
  return next;
}

/* ---- the partitioner ------------------------------------------------------- */

/* Java's Utils.murmur2 of the UTF-8 bytes (from Kafka's and kafkajs' tests and
 * librdkafka's rdmurmur2.c unit test). */
static const struct {
  const char *key;
  int32_t java_hash;
} java_murmur2[] = {
    {"kafka", 1348980580},     {"amqp", 767747138},        {"giberish123456789", 257239820},
    {"1", -1993445489},        {"12", 126087238},          {"123", -267702483},
    {"1234", -1614185708},     {"12345", -1188365604},     {"0", 971027396},
    {"128", -326012175},       {"2187", -1508407203},      {"16384", -325739742},
    {"100:48069", 1009543857}, {"170859375", -1658323481},
};

static void murmur2_partitioner_matches_java_vectors(void **state) {
  static const int32_t counts[] = {1, 2, 3, 7, 12, 100, 1000};
  for (size_t i = 0; i < sizeof java_murmur2 / sizeof java_murmur2[0]; i++)
    for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++) {
      uint32_t positive = (uint32_t)java_murmur2[i].java_hash & 0x7fffffffu;
      int32_t want = (int32_t)(positive % (uint32_t)counts[j]);
      assert_int_equal(beck_client_partition_for_key(java_murmur2[i].key, strlen(java_murmur2[i].key), counts[j]),
                       want);
    }
  /* the ones the scenarios rely on */
  assert_int_equal(beck_client_partition_for_key("kafka", 5, 3), 1);
  assert_int_equal(beck_client_partition_for_key("amqp", 4, 3), 2);
  assert_int_equal(beck_client_partition_for_key("1234", 4, 3), 0);
}

static void murmur2_partitioner_agrees_with_librdkafka(void **state) {
  unsigned seed = 42;
  uint8_t key[64];
  for (int i = 0; i < 20000; i++) {
    size_t len = (size_t)(rand_r(&seed) % (int)sizeof key);
    for (size_t k = 0; k < len; k++)
      key[k] = (uint8_t)rand_r(&seed);
    int32_t n = 1 + rand_r(&seed) % 64;
    assert_int_equal(beck_client_partition_for_key(key, len, n),
                     rd_kafka_msg_partitioner_murmur2(NULL, key, len, n, NULL, NULL));
  }
}

/* ---- scenarios ------------------------------------------------------------- */

static const char *exact_transcript = "orders-0@0 ts=1700000000002 k='bob' v='v2' h=[]\n"
                                      "orders-0@1 ts=1700000000003 k=~ v='n1' h=[]\n"
                                      "orders-0@2 ts=1700000000004 k=~ v='n2' h=[trace='t-4']\n"
                                      "orders-0@3 ts=1700000000006 k='' v='' h=[e='']\n"
                                      "orders-1@0 ts=1700000000001 k='dave' v='v1' h=[h1='x',h2=~,h1='y']\n"
                                      "orders-1@1 ts=1700000000005 k='dave' v=~ h=[]\n"
                                      "orders-2@0 ts=1700000000007 k='carol' v='v7' h=[]\n"
                                      "orders-2@1 ts=1700000000008 k='kafka' v='explicit' h=[]\n";

static void produce_then_fetch_gives_exact_records_and_offsets(void **state) {
  fx_t *f = *state;
  make_topic(f, "orders", 3);
  beck_record_header_t h1[] = {
      {beck_slice("h1", 2), str("x")}, {beck_slice("h2", 2), beck_nstr_null()}, {beck_slice("h1", 2), str("y")}};
  beck_record_header_t h4[] = {{beck_slice("trace", 5), str("t-4")}};
  beck_record_header_t h6[] = {{beck_slice("e", 1), beck_nstr(NULL, 0)}};
  beck_client_record_t recs[] = {
      rec(BECK_CLIENT_PARTITION_ANY, TS0 + 1, "dave", "v1"),
      rec(BECK_CLIENT_PARTITION_ANY, TS0 + 2, "bob", "v2"),
      rec(BECK_CLIENT_PARTITION_ANY, TS0 + 3, NULL, "n1"),
      rec(BECK_CLIENT_PARTITION_ANY, TS0 + 4, NULL, "n2"),
      rec(BECK_CLIENT_PARTITION_ANY, TS0 + 5, "dave", NULL),
      {.partition = BECK_CLIENT_PARTITION_ANY,
       .timestamp = TS0 + 6,
       .key = beck_nstr(NULL, 0),
       .value = beck_nstr(NULL, 0)},
      rec(BECK_CLIENT_PARTITION_ANY, TS0 + 7, "carol", "v7"),
      rec(2, TS0 + 8, "kafka", "explicit"), /* murmur2 says 1; explicit wins */
  };
  recs[0].headers = h1;
  recs[0].nheaders = 3;
  recs[3].headers = h4;
  recs[3].nheaders = 1;
  recs[5].headers = h6;
  recs[5].nheaders = 1;
  int n = (int)(sizeof recs / sizeof recs[0]);
  int64_t offsets[8];
  int32_t parts[8];
  produce(f, "orders", recs, n, offsets, parts);
  /* dave -> 1, bob -> 0, carol -> 2 (murmur2); null keys -> the call's sticky
   * partition, 0 for a fresh client; '' is a key and hashes to 0 */
  static const int32_t want_parts[] = {1, 0, 0, 0, 1, 0, 2, 2};
  static const int64_t want_offsets[] = {0, 0, 1, 2, 1, 3, 0, 1};
  for (int i = 0; i < n; i++) {
    assert_int_equal(parts[i], want_parts[i]);
    assert_int_equal(offsets[i], want_offsets[i]);
  }
  collect_t c = {0};
  for (int32_t p = 0; p < 3; p++)
    fetch_all(f, "orders", p, 0, &c);
  assert_string_equal(c.text, exact_transcript);
}

static void keys_land_on_murmur2_partitions(void **state) {
  fx_t *f = *state;
  make_topic(f, "keys", 3);
  const char *keys[] = {"kafka", "amqp", "giberish123456789", "1234", "12", "123", "1"};
  static const int32_t want[] = {1, 2, 2, 0, 1, 2, 0};
  beck_client_record_t recs[7];
  for (int i = 0; i < 7; i++)
    recs[i] = rec(BECK_CLIENT_PARTITION_ANY, TS0 + i, keys[i], keys[i]);
  int32_t parts[7];
  produce(f, "keys", recs, 7, NULL, parts);
  for (int i = 0; i < 7; i++)
    assert_int_equal(parts[i], want[i]);
  for (int32_t p = 0; p < 3; p++) {
    collect_t c = {0};
    fetch_all(f, "keys", p, 0, &c);
    int expect = 0;
    for (int i = 0; i < 7; i++)
      if (want[i] == p) {
        char line[128];
        snprintf(line, sizeof line, "keys-%d@%d ts=%lld k='%s'", p, expect++, TS0 + i, keys[i]);
        assert_non_null(strstr(c.text, line));
      }
    assert_int_equal(c.n, expect);
  }
}

static void null_keys_stick_to_one_partition_per_call(void **state) {
  fx_t *f = *state;
  make_topic(f, "nulls", 3);
  for (int call = 0; call < 4; call++) {
    beck_client_record_t recs[5];
    for (int i = 0; i < 5; i++)
      recs[i] = rec(BECK_CLIENT_PARTITION_ANY, TS0 + call * 10 + i, NULL, "x");
    int32_t parts[5];
    int64_t offsets[5];
    produce(f, "nulls", recs, 5, offsets, parts);
    for (int i = 0; i < 5; i++) {
      assert_int_equal(parts[i], call % 3); /* round robin from call to call */
      assert_int_equal(offsets[i], (call / 3) * 5 + i);
    }
  }
  int64_t start, high;
  watermarks(f, "nulls", 0, &start, &high);
  assert_int_equal(high, 10);
  watermarks(f, "nulls", 1, &start, &high);
  assert_int_equal(high, 5);
}

static void fetch_from_middle_of_a_batch_skips_earlier_records(void **state) {
  fx_t *f = *state;
  make_topic(f, "mid", 1);
  beck_client_record_t recs[10];
  char vals[10][8];
  for (int i = 0; i < 10; i++) {
    snprintf(vals[i], sizeof vals[i], "v%d", i);
    recs[i] = rec(0, TS0 + i, "k", vals[i]);
  }
  int64_t offsets[10];
  produce(f, "mid", recs, 10, offsets, NULL);
  assert_int_equal(offsets[9], 9);
  collect_t c = {0};
  int64_t next = fetch_all(f, "mid", 0, 4, &c);
  assert_int_equal(next, 10);
  assert_int_equal(c.n, 6);
  assert_int_equal(c.first, 4);
  assert_int_equal(c.last, 9);
  const char *first = "mid-0@4 ts=1700000000004 k='k' v='v4' h=[]\n";
  assert_true(strncmp(c.text, first, strlen(first)) == 0);
}

static void fetch_callback_can_stop_early(void **state) {
  fx_t *f = *state;
  make_topic(f, "stop", 1);
  beck_client_record_t recs[6];
  for (int i = 0; i < 6; i++)
    recs[i] = rec(0, TS0 + i, NULL, "x");
  produce(f, "stop", recs, 6, NULL, NULL);
  collect_t c = {.stop_after = 3};
  int64_t next = 0;
  beck_error_t e;
  int64_t deadline = now_ms() + 20000;
  while (c.n < 3 && now_ms() < deadline)
    assert_int_equal(beck_client_fetch(f->c, "stop", 0, next, 1 << 20, 1000, collect_cb, &c, &next, &e), 0);
  assert_int_equal(c.n, 3);
  assert_int_equal(next, 3); /* the record that stopped counts as consumed */
  collect_t rest = {0};
  fetch_all(f, "stop", 0, next, &rest);
  assert_int_equal(rest.n, 3);
  assert_int_equal(rest.first, 3);
}

static void fetch_on_empty_partition_times_out_with_nothing(void **state) {
  fx_t *f = *state;
  make_topic(f, "empty", 1);
  collect_t c = {0};
  int64_t next = -1;
  beck_error_t e;
  int64_t t0 = now_ms();
  assert_int_equal(beck_client_fetch(f->c, "empty", 0, 0, 1 << 20, 400, collect_cb, &c, &next, &e), 0);
  int64_t took = now_ms() - t0;
  assert_int_equal(c.n, 0);
  assert_int_equal(next, 0);
  assert_true(took >= 350);
  assert_true(took < 5000);
}

typedef struct later {
  fx_t *f;
  const char *topic;
  int delay_ms;
} later_t;

static void *produce_later(void *arg) {
  later_t *l = arg;
  usleep((useconds_t)l->delay_ms * 1000);
  beck_client_record_t r = rec(0, TS0, "late", "arrival");
  beck_error_t e;
  if (beck_client_produce(l->f->c, l->topic, &r, 1, NULL, NULL, &e))
    fprintf(stderr, "produce_later: %s\n", e.msg);
  return NULL;
}

static void fetch_wakes_early_when_another_thread_produces(void **state) {
  fx_t *f = *state;
  make_topic(f, "wake", 1);
  later_t l = {f, "wake", 300};
  pthread_t th;
  int64_t t0 = now_ms();
  pthread_create(&th, NULL, produce_later, &l);
  collect_t c = {0};
  int64_t next = 0;
  beck_error_t e;
  while (c.n == 0 && now_ms() - t0 < 20000)
    assert_int_equal(beck_client_fetch(f->c, "wake", 0, next, 1 << 20, 15000, collect_cb, &c, &next, &e), 0);
  int64_t took = now_ms() - t0;
  pthread_join(th, NULL);
  assert_int_equal(c.n, 1);
  assert_int_equal(next, 1);
  assert_string_equal(c.text, "wake-0@0 ts=1700000000000 k='late' v='arrival' h=[]\n");
  assert_true(took >= 250);
  assert_true(took < 10000); /* woke long before the 15 s timeout */
}

static void fetch_beyond_the_end_is_out_of_range(void **state) {
  fx_t *f = *state;
  make_topic(f, "range", 1);
  beck_client_record_t recs[3] = {rec(0, TS0, NULL, "a"), rec(0, TS0, NULL, "b"), rec(0, TS0, NULL, "c")};
  produce(f, "range", recs, 3, NULL, NULL);
  collect_t c = {0};
  int64_t next = -1;
  beck_error_t e;
  assert_int_equal(beck_client_fetch(f->c, "range", 0, 10, 1 << 20, 500, collect_cb, &c, &next, &e), BECK_ERR_RANGE);
  assert_int_equal(c.n, 0);
  /* the end itself is fine: nothing yet */
  assert_int_equal(beck_client_fetch(f->c, "range", 0, 3, 1 << 20, 100, collect_cb, &c, &next, &e), 0);
  assert_int_equal(next, 3);
  assert_int_equal(c.n, 0);
}

static void committed_offsets_survive_close_and_reopen(void **state) {
  fx_t *f = *state;
  make_topic(f, "commits", 2);
  beck_error_t e;
  int64_t off = 0;
  assert_int_equal(beck_client_committed(f->c, "g1", "commits", 0, &off, &e), 0);
  assert_int_equal(off, -1);
  assert_int_equal(beck_client_commit(f->c, "g1", "commits", 0, 7, &e), 0);
  assert_int_equal(beck_client_commit(f->c, "g1", "commits", 1, 3, &e), 0);
  assert_int_equal(beck_client_commit(f->c, "g2", "commits", 1, 11, &e), 0);
  assert_int_equal(beck_client_commit(f->c, "g1", "commits", 1, 4, &e), 0); /* moves */
  assert_int_equal(beck_client_committed(f->c, "g1", "commits", 0, &off, &e), 0);
  assert_int_equal(off, 7);
  reopen(f);
  assert_int_equal(beck_client_committed(f->c, "g1", "commits", 0, &off, &e), 0);
  assert_int_equal(off, 7);
  assert_int_equal(beck_client_committed(f->c, "g1", "commits", 1, &off, &e), 0);
  assert_int_equal(off, 4);
  assert_int_equal(beck_client_committed(f->c, "g2", "commits", 1, &off, &e), 0);
  assert_int_equal(off, 11);
  assert_int_equal(beck_client_committed(f->c, "g2", "commits", 0, &off, &e), 0);
  assert_int_equal(off, -1);
  assert_int_equal(beck_client_committed(f->c, "g3", "commits", 0, &off, &e), 0);
  assert_int_equal(off, -1);
}

static void watermarks_follow_produce(void **state) {
  fx_t *f = *state;
  make_topic(f, "wm", 2);
  int64_t start = -5, high = -5;
  watermarks(f, "wm", 0, &start, &high);
  assert_int_equal(start, 0);
  assert_int_equal(high, 0);
  beck_client_record_t recs[5];
  for (int i = 0; i < 5; i++)
    recs[i] = rec(1, TS0 + i, NULL, "x");
  produce(f, "wm", recs, 5, NULL, NULL);
  produce(f, "wm", recs, 2, NULL, NULL);
  watermarks(f, "wm", 1, &start, &high);
  assert_int_equal(start, 0);
  assert_int_equal(high, 7);
  watermarks(f, "wm", 0, &start, &high);
  assert_int_equal(high, 0);
  beck_error_t e;
  if (g_mode != MODE_MOCK) /* the mock cluster makes up topics it is asked about */
    assert_int_equal(beck_client_watermarks(f->c, "no-such-topic", 0, &start, &high, &e), BECK_ERR_NOTFOUND);
}

static void topics_create_exist_ok_and_partition_count(void **state) {
  fx_t *f = *state;
  make_topic(f, "t3", 3);
  beck_error_t e;
  int32_t n = 0;
  assert_int_equal(beck_client_partitions(f->c, "t3", &n, &e), 0);
  assert_int_equal(n, 3);
  assert_int_equal(beck_client_create_topic(f->c, "t3", 5, NULL, NULL, 0, true, &e), 0);
  assert_int_equal(beck_client_partitions(f->c, "t3", &n, &e), 0);
  assert_int_equal(n, 3); /* an existing topic is left alone */
  beck_client_record_t r = rec(3, TS0, NULL, "x");
  assert_int_equal(beck_client_produce(f->c, "t3", &r, 1, NULL, NULL, &e), BECK_ERR_NOTFOUND);
  if (g_mode == MODE_MOCK)
    return;
  assert_int_equal(beck_client_create_topic(f->c, "t3", 3, NULL, NULL, 0, false, &e), BECK_ERR_EXISTS);
  assert_int_equal(beck_client_partitions(f->c, "nope", &n, &e), BECK_ERR_NOTFOUND);
  r.partition = BECK_CLIENT_PARTITION_ANY;
  assert_int_equal(beck_client_produce(f->c, "nope", &r, 1, NULL, NULL, &e), BECK_ERR_NOTFOUND);
  const char *k[] = {"cleanup.policy", "retention.ms"};
  const char *v[] = {"compact", "60000"};
  assert_int_equal(beck_client_create_topic(f->c, "changelog", 2, k, v, 2, false, &e), 0);
  assert_int_equal(beck_client_partitions(f->c, "changelog", &n, &e), 0);
  assert_int_equal(n, 2);
  const char *bad_k[] = {"cleanup.policy"};
  const char *bad_v[] = {"sometimes"};
  assert_int_not_equal(beck_client_create_topic(f->c, "badcfg", 1, bad_k, bad_v, 1, false, &e), 0);
}

/* Three producer threads, each on its own partition, and a reader per
 * partition: offsets come back contiguous and every value in order. */
#define PAR_CALLS 20
#define PAR_PER_CALL 10

typedef struct par {
  fx_t *f;
  int32_t partition;
  int failures;
  collect_t c;
} par_t;

static void *par_produce(void *arg) {
  par_t *p = arg;
  char vals[PAR_PER_CALL][16];
  for (int call = 0; call < PAR_CALLS; call++) {
    beck_client_record_t recs[PAR_PER_CALL];
    for (int i = 0; i < PAR_PER_CALL; i++) {
      snprintf(vals[i], sizeof vals[i], "%d", call * PAR_PER_CALL + i);
      recs[i] = rec(p->partition, TS0 + i, NULL, vals[i]);
    }
    int64_t offsets[PAR_PER_CALL];
    beck_error_t e;
    if (beck_client_produce(p->f->c, "par", recs, PAR_PER_CALL, offsets, NULL, &e))
      p->failures++;
    for (int i = 0; i < PAR_PER_CALL; i++)
      if (offsets[i] != call * PAR_PER_CALL + i)
        p->failures++;
  }
  return NULL;
}

static int par_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  par_t *p = arg;
  char want[16];
  snprintf(want, sizeof want, "%lld", (long long)r->offset);
  if (r->offset != p->c.n || r->value.len != (int32_t)strlen(want) || memcmp(r->value.ptr, want, strlen(want)) != 0)
    p->failures++;
  p->c.n++;
  return 0;
}

static void *par_fetch(void *arg) {
  par_t *p = arg;
  int64_t next = 0, deadline = now_ms() + 30000;
  while (next < PAR_CALLS * PAR_PER_CALL && now_ms() < deadline) {
    beck_error_t e;
    if (beck_client_fetch(p->f->c, "par", p->partition, next, 4096, 1000, par_cb, p, &next, &e))
      p->failures++;
  }
  return NULL;
}

static void parallel_produce_and_fetch_on_partitions(void **state) {
  fx_t *f = *state;
  make_topic(f, "par", 3);
  par_t w[3] = {{f, 0}, {f, 1}, {f, 2}}, r[3] = {{f, 0}, {f, 1}, {f, 2}};
  pthread_t tw[3], tr[3];
  for (int i = 0; i < 3; i++) {
    pthread_create(&tr[i], NULL, par_fetch, &r[i]);
    pthread_create(&tw[i], NULL, par_produce, &w[i]);
  }
  for (int i = 0; i < 3; i++) {
    pthread_join(tw[i], NULL);
    pthread_join(tr[i], NULL);
    assert_int_equal(w[i].failures, 0);
    assert_int_equal(r[i].failures, 0);
    assert_int_equal(r[i].c.n, PAR_CALLS * PAR_PER_CALL);
  }
}

/* ---- embedded only --------------------------------------------------------- */

static void embedded_splits_batches_at_max_message_bytes(void **state) {
  fx_t *f = *state;
  const char *k[] = {"max.message.bytes"};
  const char *v[] = {"2000"};
  beck_error_t e;
  assert_int_equal(beck_client_create_topic(f->c, "small", 1, k, v, 1, false, &e), 0);
  static char big[500];
  memset(big, 'b', sizeof big);
  beck_client_record_t recs[12];
  for (int i = 0; i < 12; i++)
    recs[i] = (beck_client_record_t){
        .partition = 0, .timestamp = TS0 + i, .key = beck_nstr_null(), .value = beck_nstr(big, sizeof big)};
  int64_t offsets[12];
  produce(f, "small", recs, 12, offsets, NULL);
  for (int i = 0; i < 12; i++)
    assert_int_equal(offsets[i], i);
  collect_t c = {0};
  fetch_all(f, "small", 0, 0, &c);
  assert_int_equal(c.n, 12);
  /* a record larger than the limit is refused, not silently split */
  static char huge[4000];
  beck_client_record_t h = {
      .partition = 0, .timestamp = TS0, .key = beck_nstr_null(), .value = beck_nstr(huge, sizeof huge)};
  assert_int_not_equal(beck_client_produce(f->c, "small", &h, 1, NULL, NULL, &e), 0);
}

/* Batches written by others (the broker stores what librdkafka sends,
 * compressed) are decompressed on fetch. */
static void embedded_fetch_decompresses_batches(void **state) {
  fx_t *f = *state;
  beck_client_close(f->c);
  f->c = NULL;
  beck_topics_t *ts;
  beck_error_t e;
  assert_int_equal(beck_topics_open(f->dir, NULL, &ts, &e), 0);
  beck_topic_t *t;
  assert_int_equal(beck_topics_create(ts, "z", 1, NULL, NULL, 0, false, &t, &e), 0);
  static const beck_codec_t codecs[] = {BECK_CODEC_GZIP, BECK_CODEC_SNAPPY, BECK_CODEC_LZ4, BECK_CODEC_ZSTD};
  for (int b = 0; b < 4; b++) {
    beck_batch_builder_t bb;
    beck_batch_builder_init(&bb);
    for (int i = 0; i < 3; i++) {
      char v[16];
      snprintf(v, sizeof v, "%s-%d", beck_codec_name(codecs[b]), i);
      assert_int_equal(beck_batch_builder_add(&bb, TS0 + b * 3 + i, str("k"), str(v), NULL, 0), 0);
    }
    assert_int_equal(beck_batch_builder_finish_compressed(&bb, codecs[b], &e), 0);
    beck_plog_append_info_t info;
    assert_int_equal(beck_plog_append(t->partitions[0]->log, bb.buf.data, bb.buf.len, &info, &e), 0);
    assert_int_equal(beck_plog_sync(t->partitions[0]->log, &e), 0);
    beck_batch_builder_free(&bb);
  }
  beck_topics_close(ts);
  f->c = open_client(f);
  collect_t c = {0};
  fetch_all(f, "z", 0, 4, &c);
  assert_int_equal(c.n, 8);
  assert_non_null(strstr(c.text, "z-0@4 ts=1700000000004 k='k' v='snappy-1' h=[]\n"));
  assert_non_null(strstr(c.text, "z-0@11 ts=1700000000011 k='k' v='zstd-2' h=[]\n"));
}

static void embedded_data_dir_is_locked_against_a_second_client(void **state) {
  fx_t *f = *state;
  beck_client_t *c2 = NULL;
  beck_error_t e;
  assert_int_not_equal(beck_client_open_embedded(f->dir, &c2, &e), 0);
  assert_null(c2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "embedded";
  if (strcmp(mode, "broker") == 0)
    g_mode = MODE_BROKER;
  else if (strcmp(mode, "mock") == 0)
    g_mode = MODE_MOCK;
  else if (strcmp(mode, "embedded") != 0) {
    fprintf(stderr, "usage: %s [embedded|broker|mock]\n", argv[0]);
    return 2;
  }
  const struct CMUnitTest shared[] = {
      T(produce_then_fetch_gives_exact_records_and_offsets),
      T(keys_land_on_murmur2_partitions),
      T(null_keys_stick_to_one_partition_per_call),
      T(fetch_from_middle_of_a_batch_skips_earlier_records),
      T(fetch_callback_can_stop_early),
      T(fetch_on_empty_partition_times_out_with_nothing),
      T(fetch_wakes_early_when_another_thread_produces),
      T(fetch_beyond_the_end_is_out_of_range),
      T(committed_offsets_survive_close_and_reopen),
      T(watermarks_follow_produce),
      T(topics_create_exist_ok_and_partition_count),
      T(parallel_produce_and_fetch_on_partitions),
  };
  const struct CMUnitTest embedded_only[] = {
      cmocka_unit_test(murmur2_partitioner_matches_java_vectors),
      cmocka_unit_test(murmur2_partitioner_agrees_with_librdkafka),
      T(embedded_splits_batches_at_max_message_bytes),
      T(embedded_fetch_decompresses_batches),
      T(embedded_data_dir_is_locked_against_a_second_client),
  };
  if (getenv("BECK_LOG_LEVEL") == NULL)
    beck_log_set_level(BECK_LOG_WARN);
  int failed = 0;
  if (g_mode == MODE_EMBEDDED)
    failed += cmocka_run_group_tests_name("client_embedded_only", embedded_only, NULL, NULL);
  char name[64];
  snprintf(name, sizeof name, "client_%s", mode);
  failed += _cmocka_run_group_tests(name, shared, sizeof shared / sizeof shared[0], NULL, NULL);
  return failed;
}
