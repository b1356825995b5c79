/* test_eos.c - streams/: exactly-once over the embedded log. A forked child
 * runs a topology (keyed counts in a sqlite store, and counts by a derived
 * key through a repartition topic in a memory store) and dies at a chosen
 * stage of its N-th transaction commit (the client's test hook); the parent
 * reopens the directory, runs the rest, and checks that every count update
 * is in the outputs exactly once: per key the values 1..n, each once. The
 * same crash under at-least-once would repeat some. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "beck/streams.h"
#include "client/client.h"
#include "client/embedded_int.h"
#include "streams_test.h"
#include "tmpdir.h"

#define RECORDS 400
#define KEYS 4

static char g_dir[1024], g_data[1100], g_state[1100];

static int setup(void **state) {
  char *d = beck_test_tmpdir("streams-eos");
  snprintf(g_dir, sizeof g_dir, "%s", d);
  snprintf(g_data, sizeof g_data, "%s/data", d);
  snprintf(g_state, sizeof g_state, "%s/state", d);
  *state = d;
  beck_client_t *c;
  beck_error_t e;
  ST_OK(e, beck_client_open_embedded(g_data, &c, &e));
  ST_OK(e, beck_client_create_topic(c, "input", 2, NULL, NULL, 0, false, &e));
  beck_client_record_t r[RECORDS];
  char kb[RECORDS][8], vb[RECORDS][8];
  for (int i = 0; i < RECORDS; i++) {
    int kl = snprintf(kb[i], 8, "k%d", i % KEYS), vl = snprintf(vb[i], 8, "%d", i);
    r[i] = (beck_client_record_t){.partition = BECK_CLIENT_PARTITION_ANY,
                                  .timestamp = 1000 + i,
                                  .key = beck_nstr(kb[i], kl),
                                  .value = beck_nstr(vb[i], vl)};
  }
  ST_OK(e, beck_client_produce(c, "input", r, RECORDS, NULL, NULL, &e));
  beck_client_close(c);
  return 0;
}

static int teardown(void **state) {
  beck_test_rmdir(*state);
  return 0;
}

static beck_err_t last_digit(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  *out = beck_nstr(in->value.ptr + in->value.len - 1, 1);
  return BECK_ERR_OK;
}

static beck_topology_t *topology(void) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_agg_opts_t sq = {.store = {.kind = BECK_STORE_SQLITE}};
  beck_stream_to(beck_stream_to_stream(beck_stream_count(beck_stream_group_by_key(in, "g"), "counts", &sq), "c1"),
                 "out1", "counts", NULL);
  beck_stream_to(
      beck_stream_to_stream(beck_stream_count(beck_stream_group_by(in, "d", last_digit, NULL), "digits", NULL), "c2"),
      "out2", "digits", NULL);
  return t;
}

/* Opens the runtime; max_batch small so a run is many commits. */
static beck_streams_t *runtime(beck_client_t *c, beck_topology_t *t, beck_guarantee_t g) {
  beck_streams_config_t cfg = {.state_dir = g_state, .max_batch = 25, .guarantee = g};
  beck_streams_t *s = NULL;
  beck_error_t e;
  ST_OK(e, beck_streams_new(t, c, &cfg, &s, &e));
  return s;
}

static int g_stage, g_commit, g_seen;

static void crash_hook(int stage) {
  if (stage == g_stage && ++g_seen == g_commit)
    _exit(0);
}

/* Runs the topology in a child that dies at `stage` of its commit-th
 * transaction commit. */
static void run_and_crash(int stage, int commit) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    beck_client_t *c;
    beck_error_t e;
    if (beck_client_open_embedded(g_data, &c, &e) != BECK_ERR_OK)
      _exit(2);
    beck_topology_t *t = topology();
    beck_streams_config_t cfg = {.state_dir = g_state, .max_batch = 25, .guarantee = BECK_EXACTLY_ONCE};
    beck_streams_t *s = NULL;
    if (beck_streams_new(t, c, &cfg, &s, &e) != BECK_ERR_OK)
      _exit(2);
    g_stage = stage;
    g_commit = commit;
    beck__emb_txn_test_hook = crash_hook;
    beck_streams_run_until_idle(s, &e);
    _exit(3); /* finished without reaching the crash point */
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

typedef struct tally {
  int seen[16][RECORDS + 1]; /* [key index][count value] */
  int64_t records;
} tally_t;

static int tally_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  tally_t *t = arg;
  char vb[16];
  snprintf(vb, sizeof vb, "%.*s", (int)r->value.len, (const char *)r->value.ptr);
  int k = r->key.ptr[r->key.len - 1] - '0', v = atoi(vb);
  assert_true(k >= 0 && k < 10 && v >= 1 && v <= RECORDS);
  t->seen[k][v]++;
  t->records++;
  return 0;
}

static void read_topic(beck_client_t *c, const char *topic, tally_t *t) {
  int32_t parts;
  beck_error_t e;
  ST_OK(e, beck_client_partitions(c, topic, &parts, &e));
  for (int32_t p = 0; p < parts; p++) {
    int64_t off = 0, start, high;
    ST_OK(e, beck_client_watermarks(c, topic, p, &start, &high, &e));
    while (off < high)
      ST_OK(e, beck_client_fetch(c, topic, p, off, 1 << 20, 0, tally_cb, t, &off, &e));
  }
}

/* Every count update of every key exactly once: per key, values 1..n. */
static void assert_exactly_once(beck_client_t *c, const char *topic, int keys) {
  static tally_t t;
  memset(&t, 0, sizeof t);
  read_topic(c, topic, &t);
  assert_int_equal(t.records, RECORDS);
  for (int k = 0; k < keys; k++)
    for (int v = 1; v <= RECORDS / keys; v++)
      if (t.seen[k][v] != 1)
        fail_msg("%s: key %d count %d appears %d times", topic, k, v, t.seen[k][v]);
}

static void finish_and_check(void) {
  beck_client_t *c;
  beck_error_t e;
  ST_OK(e, beck_client_open_embedded(g_data, &c, &e));
  beck_topology_t *t = topology();
  beck_streams_t *s = runtime(c, t, BECK_EXACTLY_ONCE);
  ST_OK(e, beck_streams_run_until_idle(s, &e));
  beck_streams_destroy(s);
  beck_topology_destroy(t);
  assert_exactly_once(c, "counts", KEYS);
  assert_exactly_once(c, "digits", 10);
  for (int32_t p = 0; p < 2; p++) {
    int64_t start, high, committed;
    ST_OK(e, beck_client_watermarks(c, "input", p, &start, &high, &e));
    ST_OK(e, beck_client_committed(c, "app", "input", p, &committed, &e));
    assert_int_equal(committed, high);
  }
  beck_client_close(c);
}

static void crash_after_append_is_rolled_back(void **state) {
  run_and_crash(1, 5);
  finish_and_check();
}

static void crash_after_durable_append_is_rolled_back(void **state) {
  run_and_crash(2, 9);
  finish_and_check();
}

static void crash_after_the_commit_point_is_kept(void **state) {
  run_and_crash(3, 7);
  finish_and_check();
}

static void several_crashes_in_a_row(void **state) {
  run_and_crash(2, 3);
  run_and_crash(1, 4);
  run_and_crash(3, 2);
  run_and_crash(2, 6);
  finish_and_check();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(crash_after_append_is_rolled_back, setup, teardown),
      cmocka_unit_test_setup_teardown(crash_after_durable_append_is_rolled_back, setup, teardown),
      cmocka_unit_test_setup_teardown(crash_after_the_commit_point_is_kept, setup, teardown),
      cmocka_unit_test_setup_teardown(several_crashes_in_a_row, setup, teardown),
  };
  return cmocka_run_group_tests_name("streams_eos", tests, NULL, NULL);
}
