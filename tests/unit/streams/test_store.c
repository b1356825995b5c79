/* test_store.c - streams/: state stores and their changelogs. A restarted
 * task restores exactly its state: memory stores from the changelog alone,
 * sqlite stores from their file plus the changelog tail, or from the
 * changelog alone when the file is gone or damaged. Windows restore their
 * open windows and observed time. A long run with restarts of every kind
 * produces exactly the output of an uninterrupted run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beck/streams.h"
#include "streams_test.h"
#include "tmpdir.h"

static beck_err_t concat(void *ud, beck_sctx_t *ctx, beck_nstr_t agg, const beck_srec_t *r, beck_nstr_t *out) {
  char *p = beck_sctx_alloc(ctx, (size_t)agg.len + 1 + (size_t)r->value.len);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  memcpy(p, agg.ptr, (size_t)agg.len);
  p[agg.len] = '+';
  memcpy(p + agg.len + 1, r->value.ptr, (size_t)r->value.len);
  *out = beck_nstr(p, agg.len + 1 + r->value.len);
  return BECK_ERR_OK;
}

static beck_test_driver_t *driver(beck_topology_t *t, const char *dir, int checkpoint_every) {
  beck_test_driver_config_t cfg = {.state_dir = dir, .store_checkpoint_every = checkpoint_every};
  beck_test_driver_t *d = NULL;
  beck_error_t e;
  if (beck_topology_error(t)->code != BECK_ERR_OK)
    fail_msg("topology: %s", beck_topology_error(t)->msg);
  ST_OK(e, beck_test_driver_new(t, &cfg, &d, &e));
  return d;
}

static beck_topology_t *count_topology(beck_store_kind_t kind, bool no_changelog) {
  beck_topology_t *t = beck_topology_new("app");
  beck_agg_opts_t o = {.store = {.kind = kind, .no_changelog = no_changelog}};
  beck_stream_t *g = beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g");
  beck_stream_to(beck_stream_to_stream(beck_stream_count(g, "agg", &o), "changes"), "out", "output", NULL);
  return t;
}

static void pipe_n(beck_test_driver_t *d, const char *key, int n, int64_t ts0) {
  beck_error_t e;
  for (int i = 0; i < n; i++)
    ST_OK(e, st_pipe(d, "input", key, "v", ts0 + i, &e));
}

static void restart(beck_test_driver_t *d, beck_restart_mode_t mode) {
  beck_error_t e;
  ST_OK(e, beck_test_driver_restart(d, mode, &e));
}

static void memory_store_restores_from_the_changelog(void **state) {
  beck_topology_t *t = count_topology(BECK_STORE_MEMORY, false);
  beck_test_driver_t *d = driver(t, NULL, 1);
  pipe_n(d, "a", 2, 1);
  pipe_n(d, "b", 1, 3);
  ST_EXPECT(d, "output", "a:1@1\na:2@2\nb:1@3\n");
  restart(d, BECK_RESTART_CRASH);
  assert_int_equal(beck_test_driver_metric(d, "agg", "restored"), 3);
  pipe_n(d, "a", 1, 4);
  pipe_n(d, "b", 1, 5);
  ST_EXPECT(d, "output", "a:3@4\nb:2@5\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void sqlite_store_restores_from_its_file_without_replaying(void **state) {
  char *dir = beck_test_tmpdir("streams-store");
  beck_topology_t *t = count_topology(BECK_STORE_SQLITE, false);
  beck_test_driver_t *d = driver(t, dir, 1);
  pipe_n(d, "a", 3, 1);
  ST_EXPECT(d, "output", "a:1@1\na:2@2\na:3@3\n");
  restart(d, BECK_RESTART_CLEAN);
  assert_int_equal(beck_test_driver_metric(d, "agg", "restored"), 0);
  pipe_n(d, "a", 1, 4);
  ST_EXPECT(d, "output", "a:4@4\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
  beck_test_rmdir(dir);
}

static void sqlite_store_replays_only_the_changelog_tail_after_a_crash(void **state) {
  char *dir = beck_test_tmpdir("streams-store");
  beck_topology_t *t = count_topology(BECK_STORE_SQLITE, false);
  beck_test_driver_t *d = driver(t, dir, 2); /* local commit every 2nd task commit */
  pipe_n(d, "a", 5, 1);                      /* local checkpoint after the 4th */
  restart(d, BECK_RESTART_CRASH);            /* the 5th is only in the changelog */
  assert_int_equal(beck_test_driver_metric(d, "agg", "restored"), 1);
  pipe_n(d, "a", 1, 6);
  ST_EXPECT(d, "output", "a:1@1\na:2@2\na:3@3\na:4@4\na:5@5\na:6@6\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
  beck_test_rmdir(dir);
}

static void wiped_state_restores_from_the_changelog_alone(void **state) {
  char *dir = beck_test_tmpdir("streams-store");
  beck_topology_t *t = count_topology(BECK_STORE_SQLITE, false);
  beck_test_driver_t *d = driver(t, dir, 1);
  pipe_n(d, "a", 4, 1);
  pipe_n(d, "b", 1, 5);
  restart(d, BECK_RESTART_WIPE);
  assert_int_equal(beck_test_driver_metric(d, "agg", "restored"), 5);
  pipe_n(d, "a", 1, 6);
  pipe_n(d, "b", 1, 7);
  assert_string_equal(st_drain(d, "output"), "a:1@1\na:2@2\na:3@3\na:4@4\nb:1@5\na:5@6\nb:2@7\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
  beck_test_rmdir(dir);
}

static void damaged_sqlite_file_is_rebuilt_from_the_changelog(void **state) {
  char *dir = beck_test_tmpdir("streams-store");
  beck_topology_t *t = count_topology(BECK_STORE_SQLITE, false);
  beck_test_driver_t *d = driver(t, dir, 1);
  pipe_n(d, "a", 3, 1);
  beck_error_t e;
  ST_OK(e, beck_test_driver_stop(d, BECK_RESTART_CLEAN, &e));
  char path[1024];
  snprintf(path, sizeof path, "%s/app/0_0/agg.db", dir);
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  char junk[4096];
  memset(junk, 0x5a, sizeof junk);
  assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
  fclose(f);
  ST_OK(e, beck_test_driver_start(d, &e));
  assert_int_equal(beck_test_driver_metric(d, "agg", "restored"), 3);
  pipe_n(d, "a", 1, 4);
  assert_string_equal(st_drain(d, "output"), "a:1@1\na:2@2\na:3@3\na:4@4\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
  beck_test_rmdir(dir);
}

static void store_without_changelog_keeps_only_local_state(void **state) {
  beck_topology_t *t = count_topology(BECK_STORE_MEMORY, true);
  beck_test_driver_t *d = driver(t, NULL, 1);
  pipe_n(d, "a", 2, 1);
  restart(d, BECK_RESTART_CLEAN);
  pipe_n(d, "a", 1, 3);
  ST_EXPECT(d, "output", "a:1@1\na:2@2\na:1@3\n");
  assert_int_equal(beck_test_driver_topic_size(d, "app-agg-changelog"), -1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);

  char *dir = beck_test_tmpdir("streams-store");
  t = count_topology(BECK_STORE_SQLITE, true);
  d = driver(t, dir, 1);
  pipe_n(d, "a", 2, 1);
  restart(d, BECK_RESTART_CLEAN);
  pipe_n(d, "a", 1, 3);
  ST_EXPECT(d, "output", "a:1@1\na:2@2\na:3@3\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
  beck_test_rmdir(dir);
}

static void window_store_restores_open_windows_and_observed_time(void **state) {
  char *dir = beck_test_tmpdir("streams-store");
  for (int kind = 0; kind < 2; kind++) {
    beck_topology_t *t = beck_topology_new("app");
    beck_window_spec_t spec = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 10, .emit = BECK_EMIT_FINAL};
    beck_agg_opts_t o = {.store = {.kind = (beck_store_kind_t)kind}};
    beck_stream_t *w =
        beck_stream_window(beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g"), "w", &spec);
    beck_stream_to(beck_stream_to_stream(beck_stream_count(w, "agg", &o), "changes"), "out", "output", NULL);
    beck_test_driver_t *d = driver(t, dir, 1);
    beck_error_t e;
    ST_OK(e, st_pipe(d, "input", "a", "x", 1, &e));
    ST_OK(e, st_pipe(d, "input", "a", "y", 5, &e));
    restart(d, BECK_RESTART_WIPE);
    ST_OK(e, st_pipe(d, "input", "a", "z", 12, &e)); /* closes [0,10): restored window, rebuilt index */
    assert_string_equal(st_drain_fmt(d, "output", ST_KEY_TIME_WINDOW), "a[0]:2@5\n");
    restart(d, BECK_RESTART_CRASH);
    ST_OK(e, st_pipe(d, "input", "a", "old", 3, &e)); /* late: observed time 12 survived */
    assert_int_equal(beck_test_driver_metric(d, "agg", "late"), 1);
    ST_OK(e, beck_test_driver_advance(d, 20, &e));
    assert_string_equal(st_drain_fmt(d, "output", ST_KEY_TIME_WINDOW), "a[10]:1@12\n");
    /* closed windows leave tombstones in the changelog */
    beck_srec_t r;
    int tombstones = 0;
    while (beck_test_driver_read(d, "app-agg-changelog", &r, NULL) == 1)
      tombstones += r.value.len < 0;
    assert_int_equal(tombstones, 2);
    beck_test_driver_destroy(d);
    beck_topology_destroy(t);
  }
  beck_test_rmdir(dir);
}

/* ---- uninterrupted vs. restarted ---------------------------------------------- */

/* One input feeding a count, a final tumbling count, an on-update session
 * count and a sliding concatenation, each to its own topic. */
static beck_topology_t *mixed_topology(beck_store_kind_t kind) {
  beck_topology_t *t = beck_topology_new("mix");
  beck_agg_opts_t o = {.store = {.kind = kind}};
  beck_stream_t *g = beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g");
  beck_stream_to(beck_stream_to_stream(beck_stream_count(g, "count", &o), "c-s"), "c-out", "counts", NULL);
  beck_window_spec_t tw = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 50, .grace_ms = 20, .emit = BECK_EMIT_FINAL};
  beck_stream_to(beck_stream_to_stream(beck_stream_count(beck_stream_window(g, "tw", &tw), "tumbling", &o), "t-s"),
                 "t-out", "tumbling", NULL);
  beck_window_spec_t sw = {.kind = BECK_WINDOW_SESSION, .gap_ms = 15, .grace_ms = 10};
  beck_stream_to(beck_stream_to_stream(beck_stream_count(beck_stream_window(g, "sw", &sw), "session", &o), "s-s"),
                 "s-out", "sessions", NULL);
  beck_window_spec_t lw = {.kind = BECK_WINDOW_SLIDING, .size_ms = 20, .grace_ms = 10};
  beck_stream_to(
      beck_stream_to_stream(beck_stream_reduce(beck_stream_window(g, "lw", &lw), "sliding", concat, NULL, &o), "l-s"),
      "l-out", "sliding", NULL);
  return t;
}

static const char *topics[] = {"counts", "tumbling", "sessions", "sliding"};

static void restarts_of_every_kind_change_no_output(void **state) {
  for (int kind = 0; kind < 2; kind++) {
    char *dir = beck_test_tmpdir("streams-store");
    beck_topology_t *t1 = mixed_topology((beck_store_kind_t)kind), *t2 = mixed_topology((beck_store_kind_t)kind);
    beck_test_driver_t *ref = driver(t1, dir, 1);
    char dir2[1024];
    snprintf(dir2, sizeof dir2, "%s/restarted", dir);
    beck_test_driver_t *d = driver(t2, dir2, 3);
    static char *want[4], *got[4];
    for (int i = 0; i < 4; i++) {
      want[i] = calloc(1, 1 << 16);
      got[i] = calloc(1, 1 << 16);
    }
    uint64_t rng = 12345;
    int64_t ts = 0;
    beck_error_t e;
    for (int step = 0; step < 300; step++) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      uint32_t x = (uint32_t)(rng >> 33);
      char key[2] = {(char)('a' + x % 3), 0}, val[16];
      snprintf(val, sizeof val, "%d", step);
      ts += (int64_t)(x >> 4) % 9;                    /* mostly forward */
      int64_t rts = (x >> 8) % 5 == 0 ? ts - 30 : ts; /* some out of order or late */
      beck_srec_t r = R(key, val, rts);
      ST_OK(e, beck_test_driver_pipe(ref, "input", &r, 1, &e));
      ST_OK(e, beck_test_driver_pipe(d, "input", &r, 1, &e));
      if ((x >> 12) % 17 == 0)
        restart(d, (beck_restart_mode_t)((x >> 16) % 3));
    }
    ST_OK(e, beck_test_driver_advance(ref, ts + 1000, &e));
    ST_OK(e, beck_test_driver_advance(d, ts + 1000, &e));
    for (int i = 0; i < 4; i++) {
      st_key_fmt_t kf = i == 0 ? ST_KEY_PLAIN : i == 2 ? ST_KEY_SESSION_WINDOW : ST_KEY_TIME_WINDOW;
      strcpy(want[i], st_drain_fmt(ref, topics[i], kf));
      strcpy(got[i], st_drain_fmt(d, topics[i], kf));
      assert_true(strlen(want[i]) > 100);
      assert_string_equal(got[i], want[i]);
      free(want[i]);
      free(got[i]);
    }
    beck_test_driver_destroy(ref);
    beck_test_driver_destroy(d);
    beck_topology_destroy(t1);
    beck_topology_destroy(t2);
    beck_test_rmdir(dir);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(memory_store_restores_from_the_changelog),
      cmocka_unit_test(sqlite_store_restores_from_its_file_without_replaying),
      cmocka_unit_test(sqlite_store_replays_only_the_changelog_tail_after_a_crash),
      cmocka_unit_test(wiped_state_restores_from_the_changelog_alone),
      cmocka_unit_test(damaged_sqlite_file_is_rebuilt_from_the_changelog),
      cmocka_unit_test(store_without_changelog_keeps_only_local_state),
      cmocka_unit_test(window_store_restores_open_windows_and_observed_time),
      cmocka_unit_test(restarts_of_every_kind_change_no_output),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
