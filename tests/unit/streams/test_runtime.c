/* test_runtime.c - streams/: the runtime over the real log client: tasks
 * per input partition, repartition topics, sqlite stores, at-least-once
 * commits (offsets committed only after outputs and state), restart from
 * committed state, the thread pool, bounded input closed with a final
 * watermark, inputs merged by timestamp.
 *
 * Modes (argv[1]), with the same expected outputs in each:
 *   none      embedded over a temporary data directory;
 *   "eos"     the same with BECK_EXACTLY_ONCE (every commit one
 *             transaction of the embedded log);
 *   "broker"  the remote client against the built `beck broker`
 *             ($BECK_BIN), started here on a free port over a temporary
 *             data directory (like test_client.c);
 *   "mock"    the remote client against librdkafka's mock cluster with 3
 *             brokers (partition leaders spread over them). The mock
 *             cluster cannot create topics over the protocol and makes up
 *             any topic it is asked about (with its own partition count),
 *             so there inputs are made with rd_kafka_mock_topic_create and
 *             the checks of created topics' partition counts and of a
 *             missing input are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "beck/streams.h"
#include "client/client.h"
#include "streams_test.h"
#include "tmpdir.h"

enum { MODE_EMBEDDED, MODE_EOS, MODE_BROKER, MODE_MOCK };
static int g_mode = MODE_EMBEDDED;
static bool g_mock; /* g_mode == MODE_MOCK */

typedef struct fx {
  char *dir;
  char data[1024], state[1024];
  rd_kafka_t *mock_rk; /* owns the mock cluster */
  pid_t broker;
  beck_client_t *c;
} fx_t;

/* Starts `$BECK_BIN broker` over f->data on a free port; returns the port. */
static int start_broker(fx_t *f) {
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
    execl(bin, bin, "broker", "--data-dir", f->data, "--listen", "127.0.0.1:0", (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  FILE *out = fdopen(pfd[0], "r");
  char line[1024];
  int port = 0;
  const char *tag = "listening on 127.0.0.1:";
  while (fgets(line, sizeof line, out)) {
    const char *p = strstr(line, tag);
    if (strstr(line, "ready") && p) {
      port = atoi(p + strlen(tag));
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
  return port;
}

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  f->dir = beck_test_tmpdir("streams-rt");
  snprintf(f->data, sizeof f->data, "%s/data", f->dir);
  snprintf(f->state, sizeof f->state, "%s/state", f->dir);
  beck_error_t e;
  if (g_mode == MODE_BROKER) {
    char bs[64];
    snprintf(bs, sizeof bs, "127.0.0.1:%d", start_broker(f));
    const char *k[] = {"log_level"}, *v[] = {"3"};
    ST_OK(e, beck_client_open_remote(bs, k, v, 1, &f->c, &e));
  } else if (g_mock) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "test.mock.num.brokers", "3", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    f->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(f->mock_rk);
    const char *bs = rd_kafka_mock_cluster_bootstraps(rd_kafka_handle_mock_cluster(f->mock_rk));
    const char *k[] = {"log_level"}, *v[] = {"3"};
    ST_OK(e, beck_client_open_remote(bs, k, v, 1, &f->c, &e));
  } else {
    ST_OK(e, beck_client_open_embedded(f->data, &f->c, &e));
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  beck_client_close(f->c);
  if (f->mock_rk != NULL)
    rd_kafka_destroy(f->mock_rk);
  if (f->broker > 0) {
    kill(f->broker, SIGTERM);
    waitpid(f->broker, NULL, 0);
  }
  beck_test_rmdir(f->dir);
  free(f);
  return 0;
}

static void create(fx_t *f, const char *topic, int32_t parts) {
  beck_error_t e;
  if (g_mock) {
    assert_int_equal(rd_kafka_mock_topic_create(rd_kafka_handle_mock_cluster(f->mock_rk), topic, parts, 3), 0);
    return;
  }
  ST_OK(e, beck_client_create_topic(f->c, topic, parts, NULL, NULL, 0, false, &e));
}

/* Produces n records key "k<i % keys>", value "<i>", timestamp ts0 + i. */
static void produce(fx_t *f, const char *topic, int from, int n, int keys) {
  beck_client_record_t *r = calloc((size_t)n, sizeof *r);
  char(*kb)[16] = calloc((size_t)n, 16), (*vb)[16] = calloc((size_t)n, 16);
  for (int i = 0; i < n; i++) {
    int x = from + i;
    int kl = snprintf(kb[i], 16, "k%d", x % keys), vl = snprintf(vb[i], 16, "%d", x);
    r[i].partition = BECK_CLIENT_PARTITION_ANY;
    r[i].timestamp = 1000 + x;
    r[i].key = beck_nstr(kb[i], kl);
    r[i].value = beck_nstr(vb[i], vl);
  }
  beck_error_t e;
  ST_OK(e, beck_client_produce(f->c, topic, r, n, NULL, NULL, &e));
  free(r);
  free(kb);
  free(vb);
}

/* Everything in topic: the latest value per key (text "key=value;" sorted
 * by key) and the record count. */
typedef struct latest {
  char keys[64][32];
  char vals[64][32];
  int n;
  int64_t records;
} latest_t;

static int on_rec(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  latest_t *l = arg;
  char k[32], v[32];
  snprintf(k, sizeof k, "%.*s", r->key.len < 0 ? 4 : (int)r->key.len,
           r->key.len < 0 ? "null" : (const char *)r->key.ptr);
  snprintf(v, sizeof v, "%.*s", r->value.len < 0 ? 4 : (int)r->value.len,
           r->value.len < 0 ? "null" : (const char *)r->value.ptr);
  int i = 0;
  while (i < l->n && strcmp(l->keys[i], k) != 0)
    i++;
  if (i == l->n) {
    strcpy(l->keys[l->n++], k);
  }
  strcpy(l->vals[i], v);
  l->records++;
  return 0;
}

static const char *latest(fx_t *f, const char *topic, int64_t *records) {
  static latest_t l;
  static char out[4096];
  memset(&l, 0, sizeof l);
  int32_t parts;
  beck_error_t e;
  ST_OK(e, beck_client_partitions(f->c, topic, &parts, &e));
  for (int32_t p = 0; p < parts; p++) {
    int64_t off = 0, start, high;
    ST_OK(e, beck_client_watermarks(f->c, topic, p, &start, &high, &e));
    while (off < high)
      ST_OK(e, beck_client_fetch(f->c, topic, p, off, 1 << 20, 100, on_rec, &l, &off, &e));
  }
  /* sort by key */
  for (int i = 1; i < l.n; i++)
    for (int j = i; j > 0 && strcmp(l.keys[j - 1], l.keys[j]) > 0; j--) {
      char t[32];
      strcpy(t, l.keys[j]), strcpy(l.keys[j], l.keys[j - 1]), strcpy(l.keys[j - 1], t);
      strcpy(t, l.vals[j]), strcpy(l.vals[j], l.vals[j - 1]), strcpy(l.vals[j - 1], t);
    }
  char *o = out;
  *o = '\0';
  for (int i = 0; i < l.n; i++)
    o += sprintf(o, "%s=%s;", l.keys[i], l.vals[i]);
  if (records != NULL)
    *records = l.records;
  return out;
}

/* Every input partition's committed offset (group app) equals its end. */
static void assert_all_committed(fx_t *f, const char *topic) {
  int32_t parts;
  beck_error_t e;
  ST_OK(e, beck_client_partitions(f->c, topic, &parts, &e));
  for (int32_t p = 0; p < parts; p++) {
    int64_t start, high, committed;
    ST_OK(e, beck_client_watermarks(f->c, topic, p, &start, &high, &e));
    ST_OK(e, beck_client_committed(f->c, "app", topic, p, &committed, &e));
    assert_int_equal(committed < 0 ? 0 : committed, high); /* an empty partition needs no commit */
  }
}

static beck_topology_t *count_topology(beck_store_kind_t kind) {
  beck_topology_t *t = beck_topology_new("app");
  beck_agg_opts_t o = {.store = {.kind = kind}};
  beck_stream_t *g = beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g");
  beck_stream_to(beck_stream_to_stream(beck_stream_count(g, "counts", &o), "ch"), "out", "counts", NULL);
  return t;
}

static beck_streams_t *runtime(fx_t *f, beck_topology_t *t) {
  beck_streams_config_t cfg = {.state_dir = f->state,
                               .threads = 2,
                               .commit_interval_ms = 50,
                               .guarantee = g_mode == MODE_EOS ? BECK_EXACTLY_ONCE : BECK_AT_LEAST_ONCE};
  beck_streams_t *s = NULL;
  beck_error_t e;
  ST_OK(e, beck_streams_new(t, f->c, &cfg, &s, &e));
  return s;
}

static void counts_over_the_embedded_log_and_commits_inputs(void **state) {
  fx_t *f = *state;
  create(f, "input", 3);
  produce(f, "input", 0, 300, 4);
  beck_topology_t *t = count_topology(BECK_STORE_MEMORY);
  beck_streams_t *s = runtime(f, t);
  beck_error_t e;
  ST_OK(e, beck_streams_run_until_idle(s, &e));
  int64_t n;
  assert_string_equal(latest(f, "counts", &n), "k0=75;k1=75;k2=75;k3=75;");
  assert_int_equal(n, 300);
  assert_all_committed(f, "input");
  /* the changelog and output topics were created like the input */
  int32_t parts;
  if (!g_mock) {
    ST_OK(e, beck_client_partitions(f->c, "app-counts-changelog", &parts, &e));
    assert_int_equal(parts, 3);
    ST_OK(e, beck_client_partitions(f->c, "counts", &parts, &e));
    assert_int_equal(parts, 3);
  }
  beck_streams_destroy(s);
  beck_topology_destroy(t);
}

static void restart_resumes_from_committed_offsets_and_restored_state(void **state) {
  fx_t *f = *state;
  create(f, "input", 2);
  produce(f, "input", 0, 100, 5);
  beck_topology_t *t = count_topology(BECK_STORE_SQLITE);
  beck_streams_t *s = runtime(f, t);
  beck_error_t e;
  ST_OK(e, beck_streams_run_until_idle(s, &e));
  beck_streams_destroy(s);
  beck_topology_destroy(t);
  assert_string_equal(latest(f, "counts", NULL), "k0=20;k1=20;k2=20;k3=20;k4=20;");

  produce(f, "input", 100, 50, 5);
  t = count_topology(BECK_STORE_SQLITE);
  s = runtime(f, t);
  assert_int_equal(beck_streams_metric(s, "counts", "restored"), 0); /* the sqlite files were up to date */
  ST_OK(e, beck_streams_run_until_idle(s, &e));
  int64_t n;
  assert_string_equal(latest(f, "counts", &n), "k0=30;k1=30;k2=30;k3=30;k4=30;");
  assert_int_equal(n, 150);
  beck_streams_destroy(s);
  beck_topology_destroy(t);

  /* without the local files, the state comes back from the changelog */
  char cmd[2200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->state);
  assert_int_equal(system(cmd), 0);
  produce(f, "input", 150, 10, 5);
  t = count_topology(BECK_STORE_SQLITE);
  s = runtime(f, t);
  int64_t changelog = 0;
  int32_t clparts;
  ST_OK(e, beck_client_partitions(f->c, "app-counts-changelog", &clparts, &e));
  for (int32_t p = 0; p < clparts; p++) {
    int64_t start, high;
    ST_OK(e, beck_client_watermarks(f->c, "app-counts-changelog", p, &start, &high, &e));
    changelog += high - start;
  }
  assert_true(changelog >= 5 && changelog < 150); /* at most one record per key and commit */
  assert_int_equal(beck_streams_metric(s, "counts", "restored"), changelog);
  ST_OK(e, beck_streams_run_until_idle(s, &e));
  assert_string_equal(latest(f, "counts", &n), "k0=32;k1=32;k2=32;k3=32;k4=32;");
  assert_all_committed(f, "input");
  beck_streams_destroy(s);
  beck_topology_destroy(t);
}

static beck_err_t last_digit(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  *out = in->value.len > 0 ? beck_nstr(in->value.ptr + in->value.len - 1, 1) : beck_nstr_null();
  return BECK_ERR_OK;
}

static void group_by_repartitions_through_a_real_topic(void **state) {
  fx_t *f = *state;
  create(f, "input", 3);
  produce(f, "input", 0, 200, 7);
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *g = beck_stream_group_by(beck_topology_stream(t, "in", "input", NULL), "digit", last_digit, NULL);
  beck_stream_to(beck_stream_to_stream(beck_stream_count(g, "counts", NULL), "ch"), "out", "counts", NULL);
  beck_streams_t *s = runtime(f, t);
  beck_error_t e;
  ST_OK(e, beck_streams_run_until_idle(s, &e));
  assert_string_equal(latest(f, "counts", NULL), "0=20;1=20;2=20;3=20;4=20;5=20;6=20;7=20;8=20;9=20;");
  int32_t parts;
  ST_OK(e, beck_client_partitions(f->c, "app-counts-repartition", &parts, &e));
  if (!g_mock)
    assert_int_equal(parts, 3);
  assert_all_committed(f, "input");
  assert_all_committed(f, "app-counts-repartition");
  beck_streams_destroy(s);
  beck_topology_destroy(t);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void thread_pool_processes_while_input_arrives(void **state) {
  fx_t *f = *state;
  create(f, "input", 4);
  beck_topology_t *t = count_topology(BECK_STORE_SQLITE);
  beck_streams_t *s = runtime(f, t);
  beck_error_t e;
  ST_OK(e, beck_streams_start(s, &e));
  for (int i = 0; i < 10; i++)
    produce(f, "input", i * 100, 100, 8);
  int64_t n = 0, deadline = now_ms() + 20000;
  const char *got = "";
  while (now_ms() < deadline) {
    got = latest(f, "counts", &n);
    if (n == 1000)
      break;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  ST_OK(e, beck_streams_stop(s, &e));
  assert_string_equal(got, "k0=125;k1=125;k2=125;k3=125;k4=125;k5=125;k6=125;k7=125;");
  assert_int_equal(n, 1000);
  assert_all_committed(f, "input");
  beck_streams_destroy(s);
  beck_topology_destroy(t);
}

static void bounded_input_closes_windows_with_a_final_watermark(void **state) {
  fx_t *f = *state;
  create(f, "input", 2);
  produce(f, "input", 0, 60, 3); /* timestamps 1000..1059 */
  beck_topology_t *t = beck_topology_new("app");
  beck_window_spec_t w = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 100, .emit = BECK_EMIT_FINAL};
  beck_stream_t *g = beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g");
  beck_stream_to(beck_stream_to_stream(beck_stream_count(beck_stream_window(g, "w", &w), "counts", NULL), "ch"), "out",
                 "counts", NULL);
  beck_streams_t *s = runtime(f, t);
  beck_error_t e;
  ST_OK(e, beck_streams_run_until_idle(s, &e));
  int64_t n;
  latest(f, "counts", &n);
  assert_int_equal(n, 0); /* the window [1000,1100) is still open */
  ST_OK(e, beck_streams_advance(s, INT64_MAX, &e));
  latest(f, "counts", &n);
  assert_int_equal(n, 3);
  beck_streams_destroy(s);
  beck_topology_destroy(t);
}

static void produce_one(fx_t *f, const char *topic, const char *k, const char *v, int64_t ts) {
  beck_client_record_t r = {.partition = 0,
                            .timestamp = ts,
                            .key = beck_nstr(k, (int32_t)strlen(k)),
                            .value = beck_nstr(v, (int32_t)strlen(v))};
  beck_error_t e;
  ST_OK(e, beck_client_produce(f->c, topic, &r, 1, NULL, NULL, &e));
}

static beck_err_t pair(void *ud, beck_sctx_t *ctx, const beck_srec_t *l, const beck_srec_t *r, beck_nstr_t *out) {
  char buf[128];
  int n = snprintf(buf, sizeof buf, "%.*s|%.*s", (int)l->value.len, (const char *)l->value.ptr,
                   r->value.len < 0 ? 4 : (int)r->value.len, r->value.len < 0 ? "null" : (const char *)r->value.ptr);
  *out = beck_sctx_copy(ctx, buf, n);
  return BECK_ERR_OK;
}

static int collect_text(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  char *out = arg;
  size_t n = strlen(out);
  snprintf(out + n, 4096 - n, "%.*s:%.*s@%lld\n", (int)r->key.len, (const char *)r->key.ptr, (int)r->value.len,
           (const char *)r->value.ptr, (long long)r->timestamp);
  return 0;
}

static void inputs_of_a_task_are_merged_in_timestamp_order(void **state) {
  fx_t *f = *state;
  create(f, "users", 1);
  create(f, "clicks", 1);
  /* everything is in the log before the task starts: only timestamps say
   * which table value each click should see */
  produce_one(f, "users", "u1", "alice", 10);
  produce_one(f, "users", "u1", "bob", 30);
  produce_one(f, "clicks", "u1", "c0", 5);
  produce_one(f, "clicks", "u1", "c1", 20);
  produce_one(f, "clicks", "u1", "c2", 30);
  produce_one(f, "clicks", "u1", "c3", 40);
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *users = beck_topology_table(t, "users", "users", NULL);
  beck_join_opts_t o = {.kind = BECK_JOIN_LEFT};
  beck_stream_to(beck_stream_join(beck_topology_stream(t, "clicks", "clicks", NULL), users, "j", pair, NULL, &o), "out",
                 "output", NULL);
  beck_streams_t *s = runtime(f, t);
  beck_error_t e;
  ST_OK(e, beck_streams_run_until_idle(s, &e));
  char out[4096] = "";
  int64_t off = 0, start, high;
  ST_OK(e, beck_client_watermarks(f->c, "output", 0, &start, &high, &e));
  while (off < high)
    ST_OK(e, beck_client_fetch(f->c, "output", 0, off, 1 << 20, 100, collect_text, out, &off, &e));
  /* a tie (bob and c2 at 30) goes to the input created first: the table */
  assert_string_equal(out, "u1:c0|null@5\nu1:c1|alice@20\nu1:c2|bob@30\nu1:c3|bob@40\n");
  beck_streams_destroy(s);
  beck_topology_destroy(t);
}

static void missing_input_topic_is_an_error(void **state) {
  fx_t *f = *state;
  if (g_mock)
    skip(); /* the mock cluster makes up topics it is asked about */
  beck_topology_t *t = count_topology(BECK_STORE_MEMORY);
  beck_streams_config_t cfg = {0};
  beck_streams_t *s = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  assert_int_equal(beck_streams_new(t, f->c, &cfg, &s, &e), BECK_ERR_NOTFOUND);
  assert_null(s);
  assert_non_null(strstr(e.msg, "input 'input'"));
  beck_topology_destroy(t);
}

static void exactly_once_needs_the_embedded_log(void **state) {
  fx_t *f = *state;
  if (g_mode == MODE_EMBEDDED || g_mode == MODE_EOS)
    skip();
  create(f, "input", 1);
  beck_topology_t *t = count_topology(BECK_STORE_MEMORY);
  beck_streams_config_t cfg = {.guarantee = BECK_EXACTLY_ONCE};
  beck_streams_t *s = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  assert_int_equal(beck_streams_new(t, f->c, &cfg, &s, &e), BECK_ERR_UNSUPPORTED);
  assert_null(s);
  assert_non_null(strstr(e.msg, "exactly-once needs the embedded log"));
  beck_topology_destroy(t);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "embedded";
  if (strcmp(mode, "broker") == 0)
    g_mode = MODE_BROKER;
  else if (strcmp(mode, "mock") == 0)
    g_mode = MODE_MOCK;
  else if (strcmp(mode, "eos") == 0)
    g_mode = MODE_EOS;
  else if (strcmp(mode, "embedded") != 0) {
    fprintf(stderr, "usage: %s [embedded|eos|broker|mock]\n", argv[0]);
    return 2;
  }
  g_mock = g_mode == MODE_MOCK;
  static const char *const names[] = {"streams_runtime_embedded", "streams_runtime_eos", "streams_runtime_broker",
                                      "streams_runtime_mock"};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(counts_over_the_embedded_log_and_commits_inputs, setup, teardown),
      cmocka_unit_test_setup_teardown(restart_resumes_from_committed_offsets_and_restored_state, setup, teardown),
      cmocka_unit_test_setup_teardown(group_by_repartitions_through_a_real_topic, setup, teardown),
      cmocka_unit_test_setup_teardown(thread_pool_processes_while_input_arrives, setup, teardown),
      cmocka_unit_test_setup_teardown(bounded_input_closes_windows_with_a_final_watermark, setup, teardown),
      cmocka_unit_test_setup_teardown(inputs_of_a_task_are_merged_in_timestamp_order, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_input_topic_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(exactly_once_needs_the_embedded_log, setup, teardown),
  };
  return cmocka_run_group_tests_name(names[g_mode], tests, NULL, NULL);
}
