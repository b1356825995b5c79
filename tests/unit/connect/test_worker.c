/* test_worker.c - connect/ worker over an embedded log client: source ->
 * topic -> sink with exact contents and committed offsets, source restart
 * resumes exactly, offset recovery from batch markers, retries, rewinds
 * after failed flushes, dead letters with their headers from sinks and
 * sources, errors.tolerance=none, plugin seeks, pause/resume, graceful stop
 * that flushes. Uses the test plugin (tests/unit/connect/plugins/good.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connect/worker.h"
#include "connect/worker_int.h"
#include "tmpdir.h"

/* The same tests run with the embedded client (default) and with the
 * remote client against the built `beck broker` ($BECK_BIN) when argv[1]
 * is "remote". */
static int g_remote;

typedef struct env {
  char *dir;
  char data[512];
  char out[512];
  pid_t broker;
  beck_client_t *client;
  beck_plugin_set_t *plugins;
  beck_connect_worker_t *w;
} env_t;

/* Starts `beck broker` on a free port over v->data; returns "host:port". */
static void start_broker(env_t *v, char *bootstrap, size_t len) {
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
    execl(bin, bin, "broker", "--data-dir", v->data, "--listen", "127.0.0.1:0", (char *)NULL);
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
  fclose(out);
  if (port <= 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("beck broker did not say it was ready");
  }
  v->broker = pid;
  snprintf(bootstrap, len, "127.0.0.1:%d", port);
}

static int setup(void **state) {
  env_t *v = calloc(1, sizeof *v);
  v->dir = beck_test_tmpdir("connect-worker");
  snprintf(v->data, sizeof v->data, "%s/data", v->dir);
  snprintf(v->out, sizeof v->out, "%s/sink.txt", v->dir);
  beck_error_t e;
  if (g_remote) {
    char bootstrap[64];
    start_broker(v, bootstrap, sizeof bootstrap);
    if (beck_client_open_remote(bootstrap, NULL, NULL, 0, &v->client, &e) != BECK_ERR_OK)
      fail_msg("%s", e.msg);
  } else {
    assert_int_equal(beck_client_open_embedded(v->data, &v->client, &e), BECK_ERR_OK);
  }
  assert_int_equal(beck_plugin_set_discover(BECK_TEST_PLUGIN_DIR "/good_plugin.so", 1, &v->plugins, &e), BECK_ERR_OK);
  beck_connect_worker_config_t cfg = {.client = v->client, .plugins = v->plugins};
  assert_int_equal(beck_connect_worker_new(&cfg, &v->w, &e), BECK_ERR_OK);
  *state = v;
  return 0;
}

static int teardown(void **state) {
  env_t *v = *state;
  beck_connect_worker_free(v->w);
  beck_plugin_set_free(v->plugins);
  beck_client_close(v->client);
  if (v->broker > 0) {
    kill(v->broker, SIGTERM);
    waitpid(v->broker, NULL, 0);
  }
  beck_test_rmdir(v->dir);
  free(v);
  return 0;
}

/* Adds a connector from a NULL-terminated k, v, k, v ... list. */
static beck_err_t add(env_t *v, beck_error_t *e, ...) {
  const char *keys[64], *vals[64];
  int n = 0;
  va_list ap;
  va_start(ap, e);
  for (;;) {
    const char *k = va_arg(ap, const char *);
    if (k == NULL)
      break;
    keys[n] = k;
    vals[n] = va_arg(ap, const char *);
    n++;
  }
  va_end(ap);
  beck_error_clear(e);
  return beck_connect_worker_add(v->w, keys, vals, n, e);
}

static void start(env_t *v, const char *name) {
  beck_error_t e;
  if (beck_connect_worker_start(v->w, name, &e) != BECK_ERR_OK)
    fail_msg("start %s: %s", name, e.msg);
}

static beck_connect_status_t status(env_t *v, const char *name) {
  beck_connect_status_t st;
  beck_error_t e;
  assert_int_equal(beck_connect_worker_status(v->w, name, &st, &e), BECK_ERR_OK);
  return st;
}

/* Waits until the connector moved `records` records (or fails the test). */
static void wait_records(env_t *v, const char *name, uint64_t records, int timeout_ms) {
  int64_t end = beck__mono_ms() + timeout_ms;
  beck_connect_status_t st;
  for (;;) {
    st = status(v, name);
    if (st.records >= records)
      return;
    if (st.state == BECK_CONNECT_FAILED)
      fail_msg("%s failed: %s", name, st.error);
    if (beck__mono_ms() > end)
      fail_msg("%s: %llu of %llu records after %d ms (%s)", name, (unsigned long long)st.records,
               (unsigned long long)records, timeout_ms, st.error);
    usleep(10000);
  }
}

typedef struct topic_read {
  int n;
  char values[4096][48];
  char hdrs[4096][512]; /* "k=v;" */
  int64_t offsets[4096];
} topic_read_t;

static int read_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  topic_read_t *tr = arg;
  if (tr->n >= 4096)
    return 1;
  int l = r->value.len < 0 ? 0 : r->value.len > 47 ? 47 : r->value.len;
  memcpy(tr->values[tr->n], r->value.ptr, (size_t)l);
  tr->values[tr->n][l] = '\0';
  tr->offsets[tr->n] = r->offset;
  tr->hdrs[tr->n][0] = '\0';
  beck_slice_t cur = r->headers;
  beck_record_header_t h;
  while (r->headers_count > 0 && beck_record_header_next(&cur, &h) == 1) {
    size_t used = strlen(tr->hdrs[tr->n]);
    snprintf(tr->hdrs[tr->n] + used, sizeof tr->hdrs[0] - used, "%.*s=%.*s;", (int)h.key.len, (const char *)h.key.ptr,
             h.value.len < 0 ? 0 : (int)h.value.len, (const char *)h.value.ptr);
  }
  tr->n++;
  return 0;
}

static topic_read_t *read_topic(env_t *v, const char *topic, int32_t partition) {
  static topic_read_t tr;
  memset(&tr, 0, sizeof tr);
  int64_t lo, hi, pos;
  beck_error_t e;
  assert_int_equal(beck_client_watermarks(v->client, topic, partition, &lo, &hi, &e), BECK_ERR_OK);
  pos = lo;
  while (pos < hi) {
    int64_t next = pos;
    assert_int_equal(beck_client_fetch(v->client, topic, partition, pos, 1 << 20, 2000, read_cb, &tr, &next, &e),
                     BECK_ERR_OK);
    if (next <= pos)
      break;
    pos = next;
  }
  return &tr;
}

static int count_lines(const char *path, char lines[][64], int max) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  int n = 0;
  char buf[256];
  while (fgets(buf, sizeof buf, f) != NULL && n < max) {
    buf[strcspn(buf, "\n")] = '\0';
    snprintf(lines[n++], 64, "%.63s", buf);
  }
  fclose(f);
  return n;
}

static void source_to_topic_to_sink_exact_with_committed_offsets(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "100", "per.poll", "7",
                       "offset.flush.interval", "50ms", NULL),
                   BECK_ERR_OK);
  assert_int_equal(add(v, &e, "name", "snk", "connector", "test-sink", "topics", "t", "out.path", v->out,
                       "offset.flush.interval", "50ms", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  start(v, "snk");
  wait_records(v, "src", 100, 5000);
  wait_records(v, "snk", 100, 5000);
  /* wait for the flush + commit after the last put */
  int64_t committed = -1;
  for (int i = 0; i < 200 && committed != 100; i++) {
    usleep(10000);
    assert_int_equal(beck_client_committed(v->client, "connect-snk", "t", 0, &committed, &e), BECK_ERR_OK);
  }
  assert_int_equal(committed, 100);
  static char lines[256][64];
  int n = count_lines(v->out, lines, 256);
  assert_int_equal(n, 100);
  for (int k = 0; k < 100; k++) {
    char want[64];
    snprintf(want, sizeof want, "t/0/%d value-%d", k, k);
    assert_string_equal(lines[k], want);
  }
  topic_read_t *tr = read_topic(v, "t", 0);
  assert_int_equal(tr->n, 100);
  /* the last record of each batch carries the marker: batch 15 (7 per poll) */
  assert_non_null(
      strstr(tr->hdrs[99], "beck.connect.source={\"c\":\"src/0\",\"s\":15,\"n\":1,\"o\":{\"test\":\"100\"}}"));
  assert_string_equal(tr->hdrs[0], "n=0;");
  beck_connect_status_t st = status(v, "snk");
  for (int i = 0; i < 100 && st.flushes == 0; i++) {
    usleep(10000); /* the counter follows the commit */
    st = status(v, "snk");
  }
  assert_int_equal(st.state, BECK_CONNECT_RUNNING);
  assert_true(st.flushes >= 1);
  assert_int_equal(st.record_errors, 0);
  st = status(v, "src");
  assert_int_equal(st.batches, 15);
  assert_string_equal(beck_connect_state_name(st.state), "RUNNING");
}

static void source_restart_resumes_exactly_after_last_batch(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "50", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  wait_records(v, "src", 50, 5000);
  assert_int_equal(beck_connect_worker_remove(v->w, "src", &e), BECK_ERR_OK);
  /* a new worker instance of the same connector continues at 50 */
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "80", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  wait_records(v, "src", 30, 5000);
  usleep(100000);
  assert_int_equal(status(v, "src").records, 30);
  topic_read_t *tr = read_topic(v, "t", 0);
  assert_int_equal(tr->n, 80);
  for (int k = 0; k < 80; k++) {
    char want[48];
    snprintf(want, sizeof want, "value-%d", k);
    assert_string_equal(tr->values[k], want);
  }
}

/* Writes records with markers by hand, then recovers. */
static void produce_marked(env_t *v, const char *topic, int32_t part, const char *value, const char *marker) {
  beck_record_header_t h = {.key = beck_slice_cstr(BECK_CONNECT_SOURCE_HEADER),
                            .value = marker ? beck_nstr(marker, (int32_t)strlen(marker)) : beck_nstr_null()};
  beck_client_record_t r = {.partition = part,
                            .timestamp = -1,
                            .key = beck_nstr_null(),
                            .value = beck_nstr(value, (int32_t)strlen(value)),
                            .headers = marker ? &h : NULL,
                            .nheaders = marker ? 1 : 0};
  beck_error_t e;
  assert_int_equal(beck_client_produce(v->client, topic, &r, 1, NULL, NULL, &e), BECK_ERR_OK);
}

static void recovery_applies_complete_batches_after_checkpoint_only(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(beck_client_create_topic(v->client, "m", 2, NULL, NULL, 0, false, &e), BECK_ERR_OK);
  /* checkpoint: seq 3, file at 10, positions m-0 at 0 and m-1 at 0 */
  beck__soffsets_t cp = {0};
  cp.seq = 3;
  assert_int_equal(beck__soffsets_set(&cp, "f", "10"), BECK_ERR_OK);
  assert_int_equal(beck__soffsets_set_pos(&cp, "m", 0, 0), BECK_ERR_OK);
  assert_int_equal(beck__soffsets_set_pos(&cp, "m", 1, 0), BECK_ERR_OK);
  assert_int_equal(beck__checkpoint_write(v->client, BECK_CONNECT_OFFSETS_TOPIC, "x/0", &cp, &e), BECK_ERR_OK);
  beck__soffsets_free(&cp);
  /* batch 3 again (old, ignored), batch 4 complete over two partitions (one
   * group written twice by a retry), batch 5 only half there; another
   * connector's marker in between */
  produce_marked(v, "m", 0, "a", "{\"c\":\"x/0\",\"s\":3,\"n\":1,\"o\":{\"f\":\"9\"}}");
  produce_marked(v, "m", 0, "b", "{\"c\":\"x/0\",\"s\":4,\"n\":2,\"o\":{\"f\":\"20\",\"g\":\"1\"}}");
  produce_marked(v, "m", 0, "b", "{\"c\":\"x/0\",\"s\":4,\"n\":2,\"o\":{\"f\":\"20\",\"g\":\"1\"}}");
  produce_marked(v, "m", 1, "y", "{\"c\":\"other/0\",\"s\":9,\"n\":1,\"o\":{\"f\":\"999\"}}");
  produce_marked(v, "m", 1, "c", "{\"c\":\"x/0\",\"s\":4,\"n\":2,\"o\":{\"f\":\"20\",\"g\":\"1\"}}");
  produce_marked(v, "m", 1, "d", "{\"c\":\"x/0\",\"s\":5,\"n\":2,\"o\":{\"f\":\"30\"}}");
  produce_marked(v, "m", 1, "plain", NULL);
  beck__soffsets_t o = {0};
  assert_int_equal(beck__soffsets_recover(v->client, BECK_CONNECT_OFFSETS_TOPIC, "x/0", &o, &e), BECK_ERR_OK);
  assert_string_equal(beck__soffsets_get(&o, "f"), "20");
  assert_string_equal(beck__soffsets_get(&o, "g"), "1");
  assert_int_equal(o.seq, 5); /* new batches start after the partial one */
  beck__soffsets_free(&o);

  /* nothing stored for an unknown task */
  assert_int_equal(beck__soffsets_recover(v->client, BECK_CONNECT_OFFSETS_TOPIC, "y/0", &o, &e), BECK_ERR_OK);
  assert_int_equal(o.n, 0);
  assert_int_equal(o.seq, 0);
  beck__soffsets_free(&o);
}

static void sink_rejects_go_to_dead_letter_topic_with_headers(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "30", NULL),
                   BECK_ERR_OK);
  /* values value-1, value-10..value-19 contain "value-1" */
  assert_int_equal(add(v, &e, "name", "snk", "connector", "test-sink", "topics", "t", "out.path", v->out,
                       "reject.match", "value-1", "errors.tolerance", "all", "errors.deadletterqueue.topic.name", "dlq",
                       "offset.flush.interval", "20ms", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  start(v, "snk");
  wait_records(v, "snk", 19, 5000);
  usleep(100000);
  beck_connect_status_t st = status(v, "snk");
  assert_int_equal(st.records, 19);
  assert_int_equal(st.record_errors, 11);
  assert_int_equal(st.dead_lettered, 11);
  static char lines[256][64];
  int n = count_lines(v->out, lines, 256);
  assert_int_equal(n, 19);
  assert_string_equal(lines[0], "t/0/0 value-0");
  assert_string_equal(lines[1], "t/0/2 value-2");
  assert_string_equal(lines[18], "t/0/29 value-29");
  topic_read_t *tr = read_topic(v, "dlq", 0);
  assert_int_equal(tr->n, 11);
  assert_string_equal(tr->values[0], "value-1");
  assert_string_equal(tr->values[1], "value-10");
  assert_string_equal(tr->hdrs[0], "n=1;__connect.errors.topic=t;__connect.errors.partition=0;"
                                   "__connect.errors.offset=1;__connect.errors.connector.name=snk;"
                                   "__connect.errors.task.id=0;__connect.errors.stage=TASK_PUT;"
                                   "__connect.errors.class.name=test-sink;"
                                   "__connect.errors.exception.message=value 'value-1' matches 'value-1';");
  assert_non_null(strstr(tr->hdrs[10], "__connect.errors.offset=19;"));
}

static void sink_reject_without_tolerance_fails_the_task(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "10", NULL),
                   BECK_ERR_OK);
  assert_int_equal(add(v, &e, "name", "snk", "connector", "test-sink", "topics", "t", "out.path", v->out,
                       "reject.match", "value-3", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  start(v, "snk");
  assert_int_equal(beck_connect_worker_wait(v->w, "snk", BECK_CONNECT_FAILED, 5000), BECK_CONNECT_FAILED);
  beck_connect_status_t st = status(v, "snk");
  assert_string_equal(st.error, "[sink:test-sink:snk/0] record t-0@3 rejected: value 'value-3' matches 'value-3' "
                                "(errors.tolerance=none)");
  int64_t committed;
  assert_int_equal(beck_client_committed(v->client, "connect-snk", "t", 0, &committed, &e), BECK_ERR_OK);
  assert_int_equal(committed, -1);
}

static void source_conversion_errors_are_dead_lettered(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "20", "bad.every", "5",
                       "errors.tolerance", "all", "errors.deadletterqueue.topic.name", "src-dlq", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  wait_records(v, "src", 16, 5000);
  usleep(50000);
  beck_connect_status_t st = status(v, "src");
  assert_int_equal(st.records, 16);
  assert_int_equal(st.dead_lettered, 4);
  topic_read_t *tr = read_topic(v, "src-dlq", 0);
  assert_int_equal(tr->n, 4);
  assert_string_equal(tr->values[0], "value-4");
  assert_string_equal(tr->hdrs[0], "n=4;__connect.errors.connector.name=src;__connect.errors.task.id=0;"
                                   "__connect.errors.stage=TASK_POLL;__connect.errors.class.name=test-source;"
                                   "__connect.errors.exception.message=cannot convert;");
  tr = read_topic(v, "t", 0);
  assert_int_equal(tr->n, 16);
  assert_string_equal(tr->values[4], "value-5");

  /* errors.tolerance=none: the task fails and writes nothing of that batch */
  assert_int_equal(add(v, &e, "name", "strict", "connector", "test-source", "topic", "t2", "count", "20", "bad.every",
                       "5", "per.poll", "20", NULL),
                   BECK_ERR_OK);
  start(v, "strict");
  assert_int_equal(beck_connect_worker_wait(v->w, "strict", BECK_CONNECT_FAILED, 5000), BECK_CONNECT_FAILED);
  assert_non_null(strstr(status(v, "strict").error, "record from test at 5 could not be converted: cannot convert"));
}

static void retriable_put_and_failed_flush_deliver_everything_once(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "40", "per.poll", "4",
                       "fail.poll.times", "2", "errors.retry.delay.initial", "5ms", NULL),
                   BECK_ERR_OK);
  assert_int_equal(add(v, &e, "name", "snk", "connector", "test-sink", "topics", "t", "out.path", v->out,
                       "fail.put.times", "2", "fail.flush.times", "2", "errors.retry.delay.initial", "5ms",
                       "offset.flush.interval", "20ms", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  start(v, "snk");
  wait_records(v, "src", 40, 5000);
  int64_t committed = -1;
  for (int i = 0; i < 300 && committed != 40; i++) {
    usleep(10000);
    assert_int_equal(beck_client_committed(v->client, "connect-snk", "t", 0, &committed, &e), BECK_ERR_OK);
  }
  assert_int_equal(committed, 40);
  static char lines[256][64];
  int n = count_lines(v->out, lines, 256);
  assert_int_equal(n, 40);
  for (int k = 0; k < 40; k++) {
    char want[64];
    snprintf(want, sizeof want, "t/0/%d value-%d", k, k);
    assert_string_equal(lines[k], want);
  }
  beck_connect_status_t st = status(v, "snk");
  assert_int_equal(st.rewinds, 2);
  assert_true(st.retries >= 4);
  assert_true(status(v, "src").retries >= 2);
}

/* Ten records in t, the group connect-snk committed at 2, then a sink "snk"
 * whose start() seeks to `seek` ("t:0:N"), started. */
static void start_seeking_sink(env_t *v, const char *seek) {
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "10", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  wait_records(v, "src", 10, 5000);
  assert_int_equal(beck_client_commit(v->client, "connect-snk", "t", 0, 2, &e), BECK_ERR_OK);
  assert_int_equal(
      add(v, &e, "name", "snk", "connector", "test-sink", "topics", "t", "out.path", v->out, "seek", seek, NULL),
      BECK_ERR_OK);
  start(v, "snk");
}

static void sink_seek_from_start_overrides_group_offset(void **state) {
  env_t *v = *state;
  beck_error_t e;
  start_seeking_sink(v, "t:0:7");
  wait_records(v, "snk", 3, 5000);
  assert_int_equal(beck_connect_worker_stop(v->w, "snk", &e), BECK_ERR_OK);
  static char lines[16][64];
  assert_int_equal(count_lines(v->out, lines, 16), 3);
  assert_string_equal(lines[0], "t/0/7 value-7");
  assert_int_equal(status(v, "snk").state, BECK_CONNECT_STOPPED);
}

/* Found by the pipeline kill test: a sink killed between its own flush
 * (offsets kept with its data) and the group commit restarts at its data's
 * end with nothing left to read, and nothing ever committed the group
 * forward: the group showed lag for records already written, and `beck run`
 * waited 60 s for its sinks to drain, then failed. */
static void sink_seek_at_the_end_brings_the_group_offset_up(void **state) {
  env_t *v = *state;
  beck_error_t e;
  start_seeking_sink(v, "t:0:10");
  int64_t committed = -1;
  for (int i = 0; i < 300 && committed != 10; i++) {
    usleep(10000);
    assert_int_equal(beck_client_committed(v->client, "connect-snk", "t", 0, &committed, &e), BECK_ERR_OK);
  }
  assert_int_equal(committed, 10);
  assert_int_equal(status(v, "snk").records, 0); /* nothing re-read */
  assert_int_equal(beck_connect_worker_stop(v->w, "snk", &e), BECK_ERR_OK);
  static char lines[16][64];
  assert_int_equal(count_lines(v->out, lines, 16), 0);
  assert_int_equal(beck_client_committed(v->client, "connect-snk", "t", 0, &committed, &e), BECK_ERR_OK);
  assert_int_equal(committed, 10);
}

static void graceful_stop_flushes_and_commits(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "25", NULL),
                   BECK_ERR_OK);
  assert_int_equal(add(v, &e, "name", "snk", "connector", "test-sink", "topics", "t", "out.path", v->out,
                       "offset.flush.interval", "1h", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  start(v, "snk");
  wait_records(v, "snk", 25, 5000);
  static char lines[64][64];
  assert_int_equal(count_lines(v->out, lines, 64), 0); /* nothing flushed yet */
  assert_int_equal(beck_connect_worker_stop(v->w, "snk", &e), BECK_ERR_OK);
  assert_int_equal(count_lines(v->out, lines, 64), 25);
  int64_t committed;
  assert_int_equal(beck_client_committed(v->client, "connect-snk", "t", 0, &committed, &e), BECK_ERR_OK);
  assert_int_equal(committed, 25);
  /* restarting continues from the committed offset: nothing again */
  start(v, "snk");
  usleep(200000);
  assert_int_equal(beck_connect_worker_stop(v->w, "snk", &e), BECK_ERR_OK);
  assert_int_equal(count_lines(v->out, lines, 64), 25);
}

static void pause_and_resume(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "src", "connector", "test-source", "topic", "t", "count", "1000000", "per.poll",
                       "10", "wait", "1ms", NULL),
                   BECK_ERR_OK);
  start(v, "src");
  wait_records(v, "src", 10, 5000);
  assert_int_equal(beck_connect_worker_pause(v->w, "src", &e), BECK_ERR_OK);
  assert_int_equal(beck_connect_worker_wait(v->w, "src", BECK_CONNECT_PAUSED, 5000), BECK_CONNECT_PAUSED);
  usleep(50000);
  uint64_t a = status(v, "src").records;
  usleep(100000);
  assert_int_equal(status(v, "src").records, a);
  assert_int_equal(beck_connect_worker_resume(v->w, "src", &e), BECK_ERR_OK);
  wait_records(v, "src", a + 10, 5000);
  assert_int_equal(status(v, "src").state, BECK_CONNECT_RUNNING);
}

static void keyed_records_spread_over_partitions_exactly_once_across_restart(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(beck_client_create_topic(v->client, "p3", 3, NULL, NULL, 0, false, &e), BECK_ERR_OK);
  assert_int_equal(
      add(v, &e, "name", "src", "connector", "test-source", "topic", "p3", "count", "60", "per.poll", "9", NULL),
      BECK_ERR_OK);
  start(v, "src");
  wait_records(v, "src", 60, 5000);
  assert_int_equal(beck_connect_worker_remove(v->w, "src", &e), BECK_ERR_OK);
  assert_int_equal(
      add(v, &e, "name", "src", "connector", "test-source", "topic", "p3", "count", "90", "per.poll", "9", NULL),
      BECK_ERR_OK);
  start(v, "src");
  wait_records(v, "src", 30, 5000);
  int seen[90] = {0}, total = 0, markers = 0;
  for (int32_t p = 0; p < 3; p++) {
    topic_read_t *tr = read_topic(v, "p3", p);
    for (int k = 0; k < tr->n; k++) {
      int n = atoi(tr->values[k] + 6);
      assert_true(n >= 0 && n < 90);
      seen[n]++;
      total++;
      /* records sit where murmur2 of their key puts them */
      char key[16];
      snprintf(key, sizeof key, "key-%d", n);
      assert_int_equal(beck_client_partition_for_key(key, strlen(key), 3), p);
      markers += strstr(tr->hdrs[k], "beck.connect.source=") != NULL;
    }
  }
  assert_int_equal(total, 90);
  for (int n = 0; n < 90; n++)
    assert_int_equal(seen[n], 1);
  assert_true(markers >= 10); /* one per partition a batch touched */

  /* a sink over all three partitions gets all 90 and commits each */
  assert_int_equal(add(v, &e, "name", "snk", "connector", "test-sink", "topics", "p3", "out.path", v->out,
                       "offset.flush.interval", "20ms", NULL),
                   BECK_ERR_OK);
  start(v, "snk");
  wait_records(v, "snk", 90, 5000);
  assert_int_equal(beck_connect_worker_pause(v->w, "snk", &e), BECK_ERR_OK);
  assert_int_equal(beck_connect_worker_wait(v->w, "snk", BECK_CONNECT_PAUSED, 5000), BECK_CONNECT_PAUSED);
  int64_t sum = 0;
  for (int32_t p = 0; p < 3; p++) {
    int64_t committed = -1, lo, hi;
    assert_int_equal(beck_client_committed(v->client, "connect-snk", "p3", p, &committed, &e), BECK_ERR_OK);
    assert_int_equal(beck_client_watermarks(v->client, "p3", p, &lo, &hi, &e), BECK_ERR_OK);
    assert_int_equal(committed, hi); /* pausing flushed and committed */
    sum += committed;
  }
  assert_int_equal(sum, 90);
  static char lines[256][64];
  assert_int_equal(count_lines(v->out, lines, 256), 90);
  assert_int_equal(beck_connect_worker_resume(v->w, "snk", &e), BECK_ERR_OK);
  assert_int_equal(beck_connect_worker_wait(v->w, "snk", BECK_CONNECT_RUNNING, 5000), BECK_CONNECT_RUNNING);
  /* lag is sampled about once a second by the fetcher */
  int64_t lag = -1;
  for (int i = 0; i < 300 && lag != 0; i++) {
    usleep(10000);
    lag = status(v, "snk").lag;
  }
  assert_int_equal(lag, 0);
}

static void bad_configurations_are_refused_at_add(void **state) {
  env_t *v = *state;
  beck_error_t e;
  assert_int_equal(add(v, &e, "name", "x", "connector", "nope", "topic", "t", NULL), BECK_ERR_NOTFOUND);
  assert_non_null(strstr(e.msg, "connector x: no plugin provides connector 'nope'"));
  assert_int_equal(add(v, &e, "name", "x", "connector", "test-source", NULL), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "connector x (test-source): missing required option 'topic' (Topic the records go to "
                             "(unless the connector names one).)");
  assert_int_equal(add(v, &e, "name", "x", "connector", "test-source", "topic", "t", "cuont", "5", NULL),
                   BECK_ERR_INVAL);
  assert_string_equal(e.msg, "connector x (test-source): unknown option 'cuont' (did you mean 'count'?)");
  assert_int_equal(add(v, &e, "name", "x", "connector", "test-sink", "topics", "t", NULL), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "connector x (test-sink): missing required option 'out.path' (File the flushed records "
                             "are appended to.)");
  assert_int_equal(add(v, &e, "name", "x", "connector", "test-source", "topic", "t", "errors.tolerance", "some", NULL),
                   BECK_ERR_INVAL);
  /* a connector's own plugin.path */
  assert_int_equal(add(v, &e, "name", "y", "connector", "template-source", "topic", "t", NULL), BECK_ERR_NOTFOUND);
  assert_int_equal(add(v, &e, "name", "y", "connector", "template-source", "topic", "t", "plugin.path",
                       BECK_TEST_EXAMPLES_DIR, "count", "3", NULL),
                   BECK_ERR_OK);
  start(v, "y");
  wait_records(v, "y", 3, 5000);
  assert_int_equal(beck_connect_worker_remove(v->w, "y", &e), BECK_ERR_OK);
  assert_int_equal(add(v, &e, "name", "x", "connector", "test-source", "topic", "t", NULL), BECK_ERR_OK);
  assert_int_equal(add(v, &e, "name", "x", "connector", "test-source", "topic", "t", NULL), BECK_ERR_EXISTS);
  assert_int_equal(beck_connect_worker_count(v->w), 1);
  beck_connect_status_t st;
  assert_int_equal(beck_connect_worker_status_at(v->w, 0, &st), BECK_ERR_OK);
  assert_string_equal(beck_connect_state_name(st.state), "UNASSIGNED");
}

int main(int argc, char **argv) {
  g_remote = argc > 1 && strcmp(argv[1], "remote") == 0;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(source_to_topic_to_sink_exact_with_committed_offsets, setup, teardown),
      cmocka_unit_test_setup_teardown(source_restart_resumes_exactly_after_last_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(recovery_applies_complete_batches_after_checkpoint_only, setup, teardown),
      cmocka_unit_test_setup_teardown(sink_rejects_go_to_dead_letter_topic_with_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(sink_reject_without_tolerance_fails_the_task, setup, teardown),
      cmocka_unit_test_setup_teardown(source_conversion_errors_are_dead_lettered, setup, teardown),
      cmocka_unit_test_setup_teardown(retriable_put_and_failed_flush_deliver_everything_once, setup, teardown),
      cmocka_unit_test_setup_teardown(sink_seek_from_start_overrides_group_offset, setup, teardown),
      cmocka_unit_test_setup_teardown(sink_seek_at_the_end_brings_the_group_offset_up, setup, teardown),
      cmocka_unit_test_setup_teardown(graceful_stop_flushes_and_commits, setup, teardown),
      cmocka_unit_test_setup_teardown(pause_and_resume, setup, teardown),
      cmocka_unit_test_setup_teardown(keyed_records_spread_over_partitions_exactly_once_across_restart, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(bad_configurations_are_refused_at_add, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
