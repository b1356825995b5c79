/* test_join.c - streams/: tables from topics and joins: stream-table
 * (inner, left), table-table (inner, left, outer), stream-stream windowed
 * (inner, left, outer) with the null cases, late records, no premature null
 * results, re-keyed streams through repartition topics, and restore of join
 * state. Exact outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "beck/streams.h"
#include "streams_test.h"

/* "<left value or null>|<right value or null>" */
static beck_err_t pair(void *ud, beck_sctx_t *ctx, const beck_srec_t *l, const beck_srec_t *r, beck_nstr_t *out) {
  char buf[256];
  int n = snprintf(buf, sizeof buf, "%.*s|%.*s", l->value.len < 0 ? 4 : (int)l->value.len,
                   l->value.len < 0 ? "null" : (const char *)l->value.ptr, r->value.len < 0 ? 4 : (int)r->value.len,
                   r->value.len < 0 ? "null" : (const char *)r->value.ptr);
  *out = beck_sctx_copy(ctx, buf, n);
  return BECK_ERR_OK;
}

static beck_err_t value_as_key(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  *out = in->value;
  return BECK_ERR_OK;
}

static void pipe1(beck_test_driver_t *d, const char *topic, const char *k, const char *v, int64_t ts) {
  beck_error_t e;
  ST_OK(e, st_pipe(d, topic, k, v, ts, &e));
}

/* ---- stream-table ------------------------------------------------------------ */

static beck_test_driver_t *stream_table(beck_topology_t **tp, beck_join_kind_t kind) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *users = beck_topology_table(t, "users", "users", NULL);
  beck_stream_t *clicks = beck_topology_stream(t, "clicks", "clicks", NULL);
  beck_join_opts_t o = {.kind = kind};
  beck_stream_to(beck_stream_join(clicks, users, "enrich", pair, NULL, &o), "out", "output", NULL);
  *tp = t;
  return st_driver(t, 0, NULL);
}

static void stream_table_feed(beck_test_driver_t *d) {
  pipe1(d, "users", "u1", "alice", 1);
  pipe1(d, "users", "u2", "bob", 2);
  pipe1(d, "clicks", "u1", "c1", 5);
  pipe1(d, "clicks", "u3", "c2", 6);
  pipe1(d, "clicks", "u2", "c3", 7);
  pipe1(d, "users", "u1", NULL, 8); /* tombstone: u1 deleted */
  pipe1(d, "clicks", "u1", "c4", 9);
  pipe1(d, "users", "u1", "carol", 10);
  pipe1(d, "clicks", "u1", "c5", 11);
  pipe1(d, "clicks", NULL, "c6", 12);
}

static void stream_table_inner_join_needs_a_table_value(void **state) {
  beck_topology_t *t;
  beck_test_driver_t *d = stream_table(&t, BECK_JOIN_INNER);
  stream_table_feed(d);
  ST_EXPECT(d, "output", "u1:c1|alice@5\nu2:c3|bob@7\nu1:c5|carol@11\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void stream_table_left_join_joins_missing_rows_with_null(void **state) {
  beck_topology_t *t;
  beck_test_driver_t *d = stream_table(&t, BECK_JOIN_LEFT);
  stream_table_feed(d);
  ST_EXPECT(d, "output", "u1:c1|alice@5\nu3:c2|null@6\nu2:c3|bob@7\nu1:c4|null@9\nu1:c5|carol@11\nnull:c6|null@12\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void table_restores_and_keeps_serving_joins(void **state) {
  beck_topology_t *t;
  beck_test_driver_t *d = stream_table(&t, BECK_JOIN_INNER);
  pipe1(d, "users", "u1", "alice", 1);
  pipe1(d, "users", "u2", "bob", 2);
  pipe1(d, "users", "u2", NULL, 3);
  beck_error_t e;
  ST_OK(e, beck_test_driver_restart(d, BECK_RESTART_WIPE, &e));
  assert_int_equal(beck_test_driver_metric(d, "users", "restored"), 3);
  pipe1(d, "clicks", "u1", "c1", 5);
  pipe1(d, "clicks", "u2", "c2", 6);
  ST_EXPECT(d, "output", "u1:c1|alice@5\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void rekeyed_stream_joins_through_a_repartition_topic(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *users = beck_topology_table(t, "users", "users", NULL);
  beck_stream_t *clicks =
      beck_stream_select_key(beck_topology_stream(t, "clicks", "clicks", NULL), "by-user", value_as_key, NULL);
  beck_join_opts_t o = {.kind = BECK_JOIN_INNER};
  beck_stream_to(beck_stream_join(clicks, users, "enrich", pair, NULL, &o), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 4, NULL);
  const char *names[] = {"ann", "ben", "cat", "dan", "eve", "fay"};
  char val[16];
  for (int i = 0; i < 6; i++) {
    snprintf(val, sizeof val, "user-%d", i);
    pipe1(d, "users", names[i], val, i);
  }
  char id[16];
  for (int i = 0; i < 12; i++) {
    snprintf(id, sizeof id, "click-%02d", i);
    pipe1(d, "clicks", id, names[(i * 5) % 6], 100 + i);
  }
  assert_int_equal(beck_test_driver_topic_size(d, "app-enrich-left-repartition"), 12);
  /* each click found its user whatever partition it came in on */
  beck_srec_t r;
  int n = 0;
  while (beck_test_driver_read(d, "output", &r, NULL) == 1) {
    int u = -1;
    for (int i = 0; i < 6; i++)
      if ((size_t)r.key.len == strlen(names[i]) && memcmp(r.key.ptr, names[i], (size_t)r.key.len) == 0)
        u = i;
    assert_true(u >= 0);
    char want[64];
    int wn = snprintf(want, sizeof want, "%s|user-%d", names[u], u);
    assert_int_equal(r.value.len, wn);
    assert_memory_equal(r.value.ptr, want, (size_t)wn);
    n++;
  }
  assert_int_equal(n, 12);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

/* ---- table-table ------------------------------------------------------------- */

static const char *table_table(beck_join_kind_t kind) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *l = beck_topology_table(t, "lt", "lt", NULL);
  beck_stream_t *r = beck_topology_table(t, "rt", "rt", NULL);
  beck_join_opts_t o = {.kind = kind};
  beck_stream_to(beck_stream_join(l, r, "both", pair, NULL, &o), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  pipe1(d, "lt", "k", "l1", 1);
  pipe1(d, "rt", "k", "r1", 2);
  pipe1(d, "lt", "j", "l2", 3);
  pipe1(d, "rt", "k", NULL, 4);
  pipe1(d, "lt", "k", NULL, 5);
  pipe1(d, "rt", "m", "r3", 6);
  pipe1(d, "lt", "k", "l4", 7);
  pipe1(d, "rt", "k", "r5", 8);
  const char *out = st_drain(d, "output");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
  return out;
}

static void table_table_inner_join_retracts_when_a_side_is_deleted(void **state) {
  assert_string_equal(table_table(BECK_JOIN_INNER), "k:l1|r1@2\nk:null@4\nk:l4|r5@8\n");
}

static void table_table_left_join_keeps_left_rows(void **state) {
  assert_string_equal(table_table(BECK_JOIN_LEFT),
                      "k:l1|null@1\nk:l1|r1@2\nj:l2|null@3\nk:l1|null@4\nk:null@5\nk:l4|null@7\nk:l4|r5@8\n");
}

static void table_table_outer_join_keeps_rows_of_either_side(void **state) {
  assert_string_equal(table_table(BECK_JOIN_OUTER), "k:l1|null@1\nk:l1|r1@2\nj:l2|null@3\nk:l1|null@4\nk:null@5\n"
                                                    "m:null|r3@6\nk:l4|null@7\nk:l4|r5@8\n");
}

static beck_err_t count_as_value(void *ud, beck_sctx_t *ctx, const beck_srec_t *l, const beck_srec_t *r,
                                 beck_nstr_t *out) {
  return pair(ud, ctx, l, r, out);
}

static void table_table_join_reads_aggregation_results(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *counts =
      beck_stream_count(beck_stream_group_by_key(beck_topology_stream(t, "ev", "events", NULL), "g"), "counts", NULL);
  beck_stream_t *names = beck_topology_table(t, "names", "names", NULL);
  beck_join_opts_t o = {.kind = BECK_JOIN_INNER};
  beck_stream_to(beck_stream_join(names, counts, "named", count_as_value, NULL, &o), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  pipe1(d, "events", "k", "x", 1);
  pipe1(d, "names", "k", "Kay", 2);
  pipe1(d, "events", "k", "y", 3);
  ST_EXPECT(d, "output", "k:Kay|1@2\nk:Kay|2@3\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

/* ---- stream-stream ------------------------------------------------------------- */

static beck_test_driver_t *stream_stream(beck_topology_t **tp, beck_join_kind_t kind, int64_t before, int64_t after,
                                         int64_t grace) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *l = beck_topology_stream(t, "ls", "ls", NULL);
  beck_stream_t *r = beck_topology_stream(t, "rs", "rs", NULL);
  beck_join_opts_t o = {.kind = kind, .before_ms = before, .after_ms = after, .grace_ms = grace};
  beck_stream_to(beck_stream_join(l, r, "j", pair, NULL, &o), "out", "output", NULL);
  *tp = t;
  return st_driver(t, 0, NULL);
}

static void stream_stream_feed(beck_test_driver_t *d) {
  pipe1(d, "ls", "k", "a", 0);
  pipe1(d, "rs", "k", "x", 5);  /* joins a */
  pipe1(d, "rs", "k", "y", 30); /* a and x expire, both matched */
  pipe1(d, "ls", "k", "b", 25); /* out of order, joins y */
  pipe1(d, "ls", "k", "c", 40); /* joins y */
  pipe1(d, "ls", "j", "d", 45); /* never matched */
  pipe1(d, "rs", "k", "z", 70); /* d expires unmatched */
  pipe1(d, "ls", "k", "e", 50); /* late: 50 + 10 < 70 */
}

static void stream_stream_inner_join_within_the_window(void **state) {
  beck_topology_t *t;
  beck_test_driver_t *d = stream_stream(&t, BECK_JOIN_INNER, 10, 10, 0);
  stream_stream_feed(d);
  beck_error_t e;
  ST_OK(e, beck_test_driver_advance(d, 100, &e));
  ST_EXPECT(d, "output", "k:a|x@5\nk:b|y@30\nk:c|y@40\n");
  assert_int_equal(beck_test_driver_metric(d, "j", "late"), 1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

/* Buffered records with empty values (a flags byte and nothing else) read
 * back as empty, from either side. */
static void stream_stream_join_buffers_empty_values(void **state) {
  beck_topology_t *t;
  beck_test_driver_t *d = stream_stream(&t, BECK_JOIN_INNER, 10, 10, 0);
  pipe1(d, "ls", "k", "", 0);
  pipe1(d, "rs", "k", "x", 5);
  pipe1(d, "rs", "m", "", 20);
  pipe1(d, "ls", "m", "y", 21);
  ST_EXPECT(d, "output", "k:|x@5\nm:y|@21\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void stream_stream_left_join_emits_unmatched_left_after_the_window(void **state) {
  beck_topology_t *t;
  beck_test_driver_t *d = stream_stream(&t, BECK_JOIN_LEFT, 10, 10, 0);
  stream_stream_feed(d);
  ST_EXPECT(d, "output", "k:a|x@5\nk:b|y@30\nk:c|y@40\nj:d|null@45\n");
  beck_error_t e;
  ST_OK(e, beck_test_driver_advance(d, 100, &e));
  ST_EXPECT(d, "output", "");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void stream_stream_outer_join_emits_unmatched_of_both_sides(void **state) {
  beck_topology_t *t;
  beck_test_driver_t *d = stream_stream(&t, BECK_JOIN_OUTER, 10, 10, 0);
  stream_stream_feed(d);
  ST_EXPECT(d, "output", "k:a|x@5\nk:b|y@30\nk:c|y@40\nj:d|null@45\n");
  beck_error_t e;
  ST_OK(e, beck_test_driver_advance(d, 90, &e)); /* z expires at 70 + 21 */
  ST_EXPECT(d, "output", "");
  ST_OK(e, beck_test_driver_advance(d, 91, &e));
  ST_EXPECT(d, "output", "k:null|z@70\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void stream_stream_asymmetric_window(void **state) {
  beck_topology_t *t;
  /* a left record at t joins right records in [t - 0, t + 20] */
  beck_test_driver_t *d = stream_stream(&t, BECK_JOIN_INNER, 0, 20, 100);
  pipe1(d, "ls", "k", "a", 10);
  pipe1(d, "rs", "k", "before", 9);
  pipe1(d, "rs", "k", "start", 10);
  pipe1(d, "rs", "k", "end", 30);
  pipe1(d, "rs", "k", "after", 31);
  pipe1(d, "ls", "k", "b", 31);
  ST_EXPECT(d, "output", "k:a|start@10\nk:a|end@30\nk:b|after@31\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void stream_stream_left_join_never_emits_a_premature_null(void **state) {
  beck_topology_t *t;
  beck_test_driver_t *d = stream_stream(&t, BECK_JOIN_LEFT, 5, 5, 0);
  pipe1(d, "ls", "q", "p", 10);
  pipe1(d, "rs", "other", "filler", 16); /* observed 16 > 10 + 5: Kafka would emit q:p|null here */
  pipe1(d, "rs", "q", "r", 15);          /* still accepted (15 + 5 >= 16) and matches p */
  beck_error_t e;
  ST_OK(e, beck_test_driver_advance(d, 100, &e));
  ST_EXPECT(d, "output", "q:p|r@15\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void stream_stream_buffers_survive_a_restart(void **state) {
  beck_topology_t *t;
  beck_test_driver_t *d = stream_stream(&t, BECK_JOIN_OUTER, 10, 10, 0);
  pipe1(d, "ls", "k", "a", 0);
  pipe1(d, "ls", "m", "lonely", 1);
  beck_error_t e;
  ST_OK(e, beck_test_driver_restart(d, BECK_RESTART_WIPE, &e));
  pipe1(d, "rs", "k", "x", 5);
  ST_OK(e, beck_test_driver_restart(d, BECK_RESTART_CRASH, &e));
  ST_OK(e, beck_test_driver_advance(d, 100, &e));
  ST_EXPECT(d, "output", "k:a|x@5\nm:lonely|null@1\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stream_table_inner_join_needs_a_table_value),
      cmocka_unit_test(stream_table_left_join_joins_missing_rows_with_null),
      cmocka_unit_test(table_restores_and_keeps_serving_joins),
      cmocka_unit_test(rekeyed_stream_joins_through_a_repartition_topic),
      cmocka_unit_test(table_table_inner_join_retracts_when_a_side_is_deleted),
      cmocka_unit_test(table_table_left_join_keeps_left_rows),
      cmocka_unit_test(table_table_outer_join_keeps_rows_of_either_side),
      cmocka_unit_test(table_table_join_reads_aggregation_results),
      cmocka_unit_test(stream_stream_inner_join_within_the_window),
      cmocka_unit_test(stream_stream_join_buffers_empty_values),
      cmocka_unit_test(stream_stream_left_join_emits_unmatched_left_after_the_window),
      cmocka_unit_test(stream_stream_outer_join_emits_unmatched_of_both_sides),
      cmocka_unit_test(stream_stream_asymmetric_window),
      cmocka_unit_test(stream_stream_left_join_never_emits_a_premature_null),
      cmocka_unit_test(stream_stream_buffers_survive_a_restart),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
