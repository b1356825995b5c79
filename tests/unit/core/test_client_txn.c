/* test_client_txn.c - core/client: transactions of the embedded client
 * (txn.c): records of several partitions and offsets visible together or
 * not at all, plain produces to enlisted partitions, and recovery after a
 * process died at each stage of a commit (a forked child stops itself with
 * _exit from the commit's test hook; the parent reopens the directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/client.h"
#include "client/embedded_int.h"
#include "record/batch.h"
#include "tmpdir.h"
#include "topic/topics.h"

#define OK(call)                                                                                                       \
  do {                                                                                                                 \
    beck_error_t e_;                                                                                                   \
    beck_error_clear(&e_);                                                                                             \
    beck_err_t rc_ = (call);                                                                                           \
    if (rc_ != BECK_ERR_OK)                                                                                            \
      fail_msg("%s: %s", #call, e_.msg);                                                                               \
  } while (0)
/* OK() for calls that name the error `&e_`. */
#define E (&e_)
/* In a forked child: any failure ends it with status 2. */
#define CHILD_OK(call)                                                                                                 \
  do {                                                                                                                 \
    beck_error_t e_;                                                                                                   \
    if ((call) != BECK_ERR_OK) {                                                                                       \
      fprintf(stderr, "child: %s: %s\n", #call, e_.msg);                                                               \
      _exit(2);                                                                                                        \
    }                                                                                                                  \
  } while (0)

typedef struct fx {
  char *dir;
  beck_client_t *c;
} fx_t;

static beck_client_t *open_client(const char *dir) {
  beck_client_t *c = NULL;
  OK(beck_client_open_embedded(dir, &c, E));
  return c;
}

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  f->dir = beck_test_tmpdir("client-txn");
  f->c = open_client(f->dir);
  OK(beck_client_create_topic(f->c, "out", 2, NULL, NULL, 0, false, E));
  OK(beck_client_create_topic(f->c, "in", 1, NULL, NULL, 0, false, E));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  beck_client_close(f->c);
  beck_test_rmdir(f->dir);
  free(f);
  return 0;
}

static beck_client_record_t rec(int32_t partition, const char *key, const char *value) {
  beck_client_record_t r = {.partition = partition,
                            .timestamp = 1000,
                            .key = beck_nstr(key, (int32_t)strlen(key)),
                            .value = beck_nstr(value, (int32_t)strlen(value))};
  return r;
}

static int64_t high(beck_client_t *c, const char *topic, int32_t p) {
  int64_t s, h;
  OK(beck_client_watermarks(c, topic, p, &s, &h, E));
  return h;
}

static int64_t committed(beck_client_t *c, const char *topic, int32_t p) {
  int64_t o;
  OK(beck_client_committed(c, "g", topic, p, &o, E));
  return o;
}

static int collect(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  char *out = arg;
  size_t n = strlen(out);
  snprintf(out + n, 4096 - n, "%s-%d@%lld %.*s=%.*s\n", topic, partition, (long long)r->offset, (int)r->key.len,
           (const char *)r->key.ptr, (int)r->value.len, (const char *)r->value.ptr);
  return 0;
}

/* Everything a reader sees in topic (both partitions), as text. */
static const char *visible(beck_client_t *c, const char *topic) {
  static char out[4096];
  out[0] = '\0';
  for (int32_t p = 0; p < 2; p++) {
    int64_t off = 0, h = high(c, topic, p);
    while (off < h)
      OK(beck_client_fetch(c, topic, p, off, 1 << 20, 0, collect, out, &off, E));
    /* a fetch at the high watermark hands out nothing, even with data above it */
    char none[4096] = "";
    OK(beck_client_fetch(c, topic, p, off, 1 << 20, 0, collect, none, &off, E));
    assert_string_equal(none, "");
  }
  return out;
}

static void commit_first(beck_client_t *c) {
  beck_client_txn_t *tx;
  OK(beck_client_txn_new(c, &tx, E));
  beck_client_record_t r[] = {rec(0, "a", "1"), rec(1, "b", "2"), rec(0, "c", "3")};
  OK(beck_client_txn_produce(tx, "out", r, 3, NULL, E));
  OK(beck_client_txn_commit_offset(tx, "g", "in", 0, 10, E));
  OK(beck_client_txn_commit(tx, E));
  beck_client_txn_destroy(tx);
}

static void records_and_offsets_are_invisible_until_commit(void **state) {
  fx_t *f = *state;
  beck_client_txn_t *tx;
  OK(beck_client_txn_new(f->c, &tx, E));
  beck_client_record_t r[] = {rec(0, "a", "1"), rec(1, "b", "2"), rec(0, "c", "3")};
  int32_t parts[3];
  OK(beck_client_txn_produce(tx, "out", r, 3, parts, E));
  assert_int_equal(parts[0], 0);
  assert_int_equal(parts[1], 1);
  OK(beck_client_txn_commit_offset(tx, "g", "in", 0, 7, E));
  OK(beck_client_txn_commit_offset(tx, "g", "in", 0, 10, E)); /* replaces 7 */
  assert_string_equal(visible(f->c, "out"), "");
  assert_int_equal(committed(f->c, "in", 0), -1);
  OK(beck_client_txn_commit(tx, E));
  assert_string_equal(visible(f->c, "out"), "out-0@0 a=1\nout-0@1 c=3\nout-1@0 b=2\n");
  assert_int_equal(committed(f->c, "in", 0), 10);
  assert_int_equal(beck_client_txn_next_offset(tx, "out", 0), 2);
  assert_int_equal(beck_client_txn_next_offset(tx, "out", 1), 1);
  assert_int_equal(beck_client_txn_next_offset(tx, "in", 0), -1);

  /* the object is reused: the next transaction writes one partition only */
  beck_client_record_t r2 = rec(1, "d", "4");
  OK(beck_client_txn_produce(tx, "out", &r2, 1, NULL, E));
  assert_int_equal(high(f->c, "out", 1), 1);
  OK(beck_client_txn_commit(tx, E));
  assert_int_equal(beck_client_txn_next_offset(tx, "out", 0), -1);
  assert_int_equal(beck_client_txn_next_offset(tx, "out", 1), 2);
  assert_int_equal(committed(f->c, "in", 0), 10);
  beck_client_txn_destroy(tx);

  /* and all of it survives a reopen */
  beck_client_close(f->c);
  f->c = open_client(f->dir);
  assert_string_equal(visible(f->c, "out"), "out-0@0 a=1\nout-0@1 c=3\nout-1@0 b=2\nout-1@1 d=4\n");
}

static int count_only(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  (*(int64_t *)arg)++;
  return 0;
}

/* Inside a commit (from the test hook): what a reader sees at each stage. */
static beck_client_t *g_reader;
static int64_t g_high_at[4], g_fetched_at[4];

static void peek_hook(int stage) {
  g_high_at[stage] = high(g_reader, "out", 0);
  int64_t n = 0, off = 0;
  OK(beck_client_fetch(g_reader, "out", 0, 0, 1 << 20, 0, count_only, &n, &off, E));
  g_fetched_at[stage] = n;
}

static void records_stay_hidden_while_the_commit_runs(void **state) {
  fx_t *f = *state;
  commit_first(f->c); /* out-0 holds 2 committed records */
  beck_client_txn_t *tx;
  OK(beck_client_txn_new(f->c, &tx, E));
  beck_client_record_t r[] = {rec(0, "x", "1"), rec(0, "y", "2")};
  OK(beck_client_txn_produce(tx, "out", r, 2, NULL, E));
  g_reader = f->c;
  beck__emb_txn_test_hook = peek_hook;
  OK(beck_client_txn_commit(tx, E));
  beck__emb_txn_test_hook = NULL;
  for (int stage = 1; stage <= 3; stage++) { /* appended, durable, committed in the store */
    assert_int_equal(g_high_at[stage], 2);
    assert_int_equal(g_fetched_at[stage], 2);
  }
  assert_int_equal(high(f->c, "out", 0), 4);
  beck_client_txn_destroy(tx);
}

static void abort_and_destroy_drop_everything(void **state) {
  fx_t *f = *state;
  beck_client_txn_t *tx;
  OK(beck_client_txn_new(f->c, &tx, E));
  beck_client_record_t r = rec(0, "x", "lost");
  OK(beck_client_txn_produce(tx, "out", &r, 1, NULL, E));
  OK(beck_client_txn_commit_offset(tx, "g", "in", 0, 99, E));
  beck_client_txn_abort(tx);
  OK(beck_client_txn_commit(tx, E)); /* empty: nothing to do */
  assert_int_equal(high(f->c, "out", 0), 0);
  assert_int_equal(committed(f->c, "in", 0), -1);
  OK(beck_client_txn_produce(tx, "out", &r, 1, NULL, E));
  beck_client_txn_destroy(tx);
  commit_first(f->c);
  assert_string_equal(visible(f->c, "out"), "out-0@0 a=1\nout-0@1 c=3\nout-1@0 b=2\n");
}

static void plain_produce_to_an_enlisted_partition_commits_at_once(void **state) {
  fx_t *f = *state;
  commit_first(f->c);
  beck_client_record_t r[] = {rec(0, "p", "5"), rec(1, "q", "6")};
  int64_t offs[2];
  OK(beck_client_produce(f->c, "out", r, 2, offs, NULL, E));
  assert_int_equal(offs[0], 2);
  assert_int_equal(offs[1], 1);
  assert_string_equal(visible(f->c, "out"), "out-0@0 a=1\nout-0@1 c=3\nout-0@2 p=5\nout-1@0 b=2\nout-1@1 q=6\n");
  /* a partition no transaction wrote stays plain */
  beck_client_record_t i = rec(0, "k", "v");
  OK(beck_client_produce(f->c, "in", &i, 1, offs, NULL, E));
  assert_int_equal(offs[0], 0);
  assert_int_equal(high(f->c, "in", 0), 1);
}

/* ---- crashes ----------------------------------------------------------------- */

static int g_crash_stage;

static void crash_hook(int stage) {
  if (stage == g_crash_stage)
    _exit(0);
}

/* In a child: commit_first, then a second transaction that dies at stage. */
static void crash_in_child(const char *dir, int stage) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    beck_client_t *c = NULL;
    CHILD_OK(beck_client_open_embedded(dir, &c, E));
    beck_client_txn_t *tx;
    CHILD_OK(beck_client_txn_new(c, &tx, E));
    beck_client_record_t r1[] = {rec(0, "a", "1"), rec(1, "b", "2"), rec(0, "c", "3")};
    CHILD_OK(beck_client_txn_produce(tx, "out", r1, 3, NULL, E));
    CHILD_OK(beck_client_txn_commit_offset(tx, "g", "in", 0, 10, E));
    CHILD_OK(beck_client_txn_commit(tx, E));
    beck_client_record_t r[] = {rec(0, "u", "7"), rec(1, "v", "8")};
    CHILD_OK(beck_client_txn_produce(tx, "out", r, 2, NULL, E));
    CHILD_OK(beck_client_txn_commit_offset(tx, "g", "in", 0, 20, E));
    g_crash_stage = stage;
    beck__emb_txn_test_hook = crash_hook;
    beck_error_t e;
    beck_client_txn_commit(tx, &e);
    _exit(3); /* the hook should have ended the process */
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

static void crash_before_the_commit_point_cuts_the_records(void **state) {
  fx_t *f = *state;
  for (int stage = 1; stage <= 2; stage++) {
    beck_client_close(f->c);
    f->c = NULL;
    beck_test_rmdir(f->dir);
    f->dir = beck_test_tmpdir("client-txn");
    f->c = open_client(f->dir);
    OK(beck_client_create_topic(f->c, "out", 2, NULL, NULL, 0, false, E));
    OK(beck_client_create_topic(f->c, "in", 1, NULL, NULL, 0, false, E));
    beck_client_close(f->c);
    crash_in_child(f->dir, stage);
    f->c = open_client(f->dir);
    assert_string_equal(visible(f->c, "out"), "out-0@0 a=1\nout-0@1 c=3\nout-1@0 b=2\n");
    assert_int_equal(committed(f->c, "in", 0), 10);
    /* the records were cut, not just hidden: the next ones take their offsets */
    beck_client_record_t r = rec(0, "w", "9");
    int64_t off;
    OK(beck_client_produce(f->c, "out", &r, 1, &off, NULL, E));
    assert_int_equal(off, 2);
  }
}

static void crash_after_the_commit_point_keeps_the_commit(void **state) {
  fx_t *f = *state;
  beck_client_close(f->c);
  crash_in_child(f->dir, 3);
  f->c = open_client(f->dir);
  assert_string_equal(visible(f->c, "out"), "out-0@0 a=1\nout-0@1 c=3\nout-0@2 u=7\nout-1@0 b=2\nout-1@1 v=8\n");
  assert_int_equal(committed(f->c, "in", 0), 20);
}

/* A writer that ignores the protocol (the broker over the same directory
 * while the application was down) appended after the unfinished commit:
 * nothing is cut, so its acknowledged records stay. */
static void plain_records_after_an_unfinished_commit_are_kept(void **state) {
  fx_t *f = *state;
  beck_client_close(f->c);
  crash_in_child(f->dir, 2);
  beck_topics_options_t o;
  beck_topics_options_default(&o);
  beck_topics_t *ts;
  OK(beck_topics_open(f->dir, &o, &ts, E));
  beck_partition_t *p = beck_topics_partition(ts, "out", 3, 0);
  assert_non_null(p);
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  OK(beck_batch_builder_add(&b, 1000, beck_nstr("z", 1), beck_nstr("broker", 6), NULL, 0));
  OK(beck_batch_builder_finish(&b));
  beck_plog_append_info_t info;
  OK(beck_plog_append(p->log, b.buf.data, b.buf.len, &info, E));
  assert_int_equal(info.base_offset, 3);
  beck_batch_builder_free(&b);
  beck_topics_close(ts);
  f->c = open_client(f->dir); /* logs an error: exactly-once does not hold there */
  assert_string_equal(visible(f->c, "out"), "out-0@0 a=1\nout-0@1 c=3\nout-0@2 u=7\nout-0@3 z=broker\nout-1@0 b=2\n");
}

/* ---- concurrency --------------------------------------------------------------- */

typedef struct worker {
  beck_client_t *c;
  int id, rounds;
} worker_t;

/* Each round writes "<id>:<round>" to both partitions in one transaction. */
static void *txn_worker(void *arg) {
  worker_t *w = arg;
  beck_client_txn_t *tx;
  OK(beck_client_txn_new(w->c, &tx, E));
  for (int i = 0; i < w->rounds; i++) {
    char v[32];
    int n = snprintf(v, sizeof v, "%d:%d", w->id, i);
    beck_client_record_t r[] = {{.partition = 0, .timestamp = 1, .key = beck_nstr("k", 1), .value = beck_nstr(v, n)},
                                {.partition = 1, .timestamp = 1, .key = beck_nstr("k", 1), .value = beck_nstr(v, n)}};
    OK(beck_client_txn_produce(tx, "out", r, 2, NULL, E));
    OK(beck_client_txn_commit(tx, E));
  }
  beck_client_txn_destroy(tx);
  return NULL;
}

static void *plain_worker(void *arg) {
  worker_t *w = arg;
  for (int i = 0; i < w->rounds; i++) {
    beck_client_record_t r = rec(i % 2, "p", "plain");
    OK(beck_client_produce(w->c, "out", &r, 1, NULL, NULL, E));
  }
  return NULL;
}

typedef struct tally {
  int txn[2][200], plain;
} tally_t;

static int count_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  tally_t *t = arg;
  int id, round;
  if (r->value.len == 5 && memcmp(r->value.ptr, "plain", 5) == 0)
    t->plain++;
  else if (sscanf((const char *)r->value.ptr, "%d:%d", &id, &round) == 2)
    t->txn[id][round]++;
  return 0;
}

static void concurrent_commits_and_plain_produces_all_land_once(void **state) {
  fx_t *f = *state;
  worker_t w[3] = {{f->c, 0, 200}, {f->c, 1, 200}, {f->c, 2, 200}};
  pthread_t th[3];
  pthread_create(&th[0], NULL, txn_worker, &w[0]);
  pthread_create(&th[1], NULL, txn_worker, &w[1]);
  pthread_create(&th[2], NULL, plain_worker, &w[2]);
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  tally_t t = {0};
  for (int32_t p = 0; p < 2; p++) {
    int64_t off = 0, h = high(f->c, "out", p);
    assert_int_equal(h, 2 * 200 + 100);
    while (off < h)
      OK(beck_client_fetch(f->c, "out", p, off, 1 << 20, 0, count_cb, &t, &off, E));
  }
  assert_int_equal(t.plain, 200);
  for (int id = 0; id < 2; id++)
    for (int i = 0; i < 200; i++)
      assert_int_equal(t.txn[id][i], 2);
}

/* Each commit writes 3 records to out-0; a reader polling meanwhile must
 * only ever see whole commits. */
static void *triple_worker(void *arg) {
  worker_t *w = arg;
  beck_client_txn_t *tx;
  OK(beck_client_txn_new(w->c, &tx, E));
  for (int i = 0; i < w->rounds; i++) {
    beck_client_record_t r[] = {rec(0, "a", "1"), rec(0, "b", "2"), rec(0, "c", "3")};
    OK(beck_client_txn_produce(tx, "out", r, 3, NULL, E));
    OK(beck_client_txn_commit(tx, E));
  }
  beck_client_txn_destroy(tx);
  return NULL;
}

static void readers_never_see_part_of_a_commit(void **state) {
  fx_t *f = *state;
  worker_t w[2] = {{f->c, 0, 300}, {f->c, 1, 300}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    pthread_create(&th[i], NULL, triple_worker, &w[i]);
  int64_t off = 0, seen = 0, polls = 0;
  while (off < 2 * 300 * 3) {
    int64_t h = high(f->c, "out", 0);
    assert_int_equal(h % 3, 0);
    /* a long-polling fetch hands out whole commits only, too */
    OK(beck_client_fetch(f->c, "out", 0, off, 1 << 20, 100, count_only, &seen, &off, E));
    assert_int_equal(off % 3, 0);
    assert_int_equal(seen, off);
    polls++;
  }
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  assert_true(polls > 1);
}

static void remote_clients_have_no_transactions(void **state) {
  (void)state;
  beck_client_t *c = NULL;
  const char *k[] = {"log_level"}, *v[] = {"0"};
  OK(beck_client_open_remote("127.0.0.1:1", k, v, 1, &c, E));
  beck_client_txn_t *tx = (beck_client_txn_t *)1;
  beck_error_t e;
  assert_int_equal(beck_client_txn_new(c, &tx, &e), BECK_ERR_UNSUPPORTED);
  assert_null(tx);
  beck_client_close(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(records_and_offsets_are_invisible_until_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(records_stay_hidden_while_the_commit_runs, setup, teardown),
      cmocka_unit_test_setup_teardown(abort_and_destroy_drop_everything, setup, teardown),
      cmocka_unit_test_setup_teardown(plain_produce_to_an_enlisted_partition_commits_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(crash_before_the_commit_point_cuts_the_records, setup, teardown),
      cmocka_unit_test_setup_teardown(crash_after_the_commit_point_keeps_the_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(plain_records_after_an_unfinished_commit_are_kept, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_commits_and_plain_produces_all_land_once, setup, teardown),
      cmocka_unit_test_setup_teardown(readers_never_see_part_of_a_commit, setup, teardown),
      cmocka_unit_test(remote_clients_have_no_transactions),
  };
  return cmocka_run_group_tests_name("client_txn", tests, NULL, NULL);
}
