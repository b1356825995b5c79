/* test_window.c - streams/: event-time windows. Each window kind (tumbling,
 * hopping, sliding, session) with in-order, out-of-order and late records,
 * in both emit modes, with exact expected outputs; late records counted or
 * routed to a topic; results independent of batching; the watermark. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "beck/streams.h"
#include "streams_test.h"

/* reduce: agg + "+" + value (shows exactly which records a window holds). */
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

typedef enum { AGG_COUNT, AGG_CONCAT } agg_t;

/* input -> group_by_key -> window(spec) -> count|concat -> to_stream -> output */
static beck_test_driver_t *window_driver(beck_topology_t **tp, const beck_window_spec_t *spec, agg_t agg) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *w =
      beck_stream_window(beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g"), "w", spec);
  beck_stream_t *a =
      agg == AGG_COUNT ? beck_stream_count(w, "agg", NULL) : beck_stream_reduce(w, "agg", concat, NULL, NULL);
  beck_stream_to(beck_stream_to_stream(a, "changes"), "out", "output", NULL);
  *tp = t;
  return st_driver(t, 0, NULL);
}

static void pipe_each(beck_test_driver_t *d, const beck_srec_t *recs, size_t n) {
  beck_error_t e;
  for (size_t i = 0; i < n; i++)
    ST_OK(e, beck_test_driver_pipe(d, "input", &recs[i], 1, &e));
}

static void advance(beck_test_driver_t *d, int64_t t) {
  beck_error_t e;
  ST_OK(e, beck_test_driver_advance(d, t, &e));
}

static const char *out_time(beck_test_driver_t *d) { return st_drain_fmt(d, "output", ST_KEY_TIME_WINDOW); }
static const char *out_session(beck_test_driver_t *d) { return st_drain_fmt(d, "output", ST_KEY_SESSION_WINDOW); }

/* ---- tumbling ---------------------------------------------------------- */

static const beck_srec_t tumbling_input[] = {
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"1", 1}, .timestamp = 1},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"2", 1}, .timestamp = 5},
    {.key = {(const uint8_t *)"b", 1}, .value = {(const uint8_t *)"3", 1}, .timestamp = 12},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"4", 1}, .timestamp = 11},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"5", 1}, .timestamp = 3}, /* out of order, in grace */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"6", 1}, .timestamp = 16}, /* closes [0,10) */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"7", 1}, .timestamp = 4},  /* late */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"8", 1}, .timestamp = 20},
};

static void tumbling_emits_every_update_and_drops_late_records(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 10, .grace_ms = 5};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_COUNT);
  pipe_each(d, tumbling_input, 8);
  assert_string_equal(out_time(d), "a[0]:1@1\n"
                                   "a[0]:2@5\n"
                                   "b[10]:1@12\n"
                                   "a[10]:1@11\n"
                                   "a[0]:3@5\n"
                                   "a[10]:2@16\n"
                                   "a[20]:1@20\n");
  assert_int_equal(beck_test_driver_metric(d, "agg", "late"), 1);
  assert_int_equal(beck_test_driver_metric(d, "agg", "processed"), 7);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void tumbling_final_emits_once_when_the_window_closes(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 10, .grace_ms = 5, .emit = BECK_EMIT_FINAL};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_COUNT);
  pipe_each(d, tumbling_input, 8);
  assert_string_equal(out_time(d), "a[0]:3@5\n");
  advance(d, 24); /* [10,20) closes at 25 */
  assert_string_equal(out_time(d), "");
  advance(d, 25);
  assert_string_equal(out_time(d), "a[10]:2@16\nb[10]:1@12\n");
  advance(d, 35);
  assert_string_equal(out_time(d), "a[20]:1@20\n");
  advance(d, 1000);
  assert_string_equal(out_time(d), "");
  assert_int_equal(beck_test_driver_metric(d, "agg", "late"), 1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void tumbling_results_do_not_depend_on_batching(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 10, .grace_ms = 5, .emit = BECK_EMIT_FINAL};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_COUNT);
  beck_error_t e;
  ST_OK(e, beck_test_driver_pipe(d, "input", tumbling_input, 8, &e));
  advance(d, 1000);
  assert_string_equal(out_time(d), "a[0]:3@5\na[10]:2@16\nb[10]:1@12\na[20]:1@20\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);

  spec.emit = BECK_EMIT_ON_UPDATE;
  d = window_driver(&t, &spec, AGG_COUNT);
  ST_OK(e, beck_test_driver_pipe(d, "input", tumbling_input, 8, &e));
  assert_string_equal(out_time(d), "a[0]:1@1\na[0]:2@5\nb[10]:1@12\na[10]:1@11\na[0]:3@5\na[10]:2@16\na[20]:1@20\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void late_records_go_to_the_late_topic(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_window_spec_t spec = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 10, .late_topic = "too-late"};
  beck_stream_t *w =
      beck_stream_window(beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g"), "w", &spec);
  beck_stream_to(beck_stream_to_stream(beck_stream_count(w, "agg", NULL), "changes"), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("a", "x", 5), R("a", "y", 10), R("a", "old", 9), R("b", "older", 2), R("a", "z", 19)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 5, &e));
  assert_string_equal(out_time(d), "a[0]:1@5\na[10]:1@10\na[10]:2@19\n");
  ST_EXPECT(d, "too-late", "a:old@9\nb:older@2\n");
  assert_int_equal(beck_test_driver_metric(d, "agg", "late"), 2);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

/* ---- hopping --------------------------------------------------------------- */

static const beck_srec_t hopping_input[] = {
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"1", 1}, .timestamp = 3},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"2", 1}, .timestamp = 7},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"3", 1}, .timestamp = 12}, /* closes [0,10) */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"4", 1}, .timestamp = 9},  /* only [5,15) open */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"5", 1}, .timestamp = 4},  /* late */
};

static void hopping_updates_every_window_holding_the_record(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_HOPPING, .size_ms = 10, .advance_ms = 5};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_COUNT);
  pipe_each(d, hopping_input, 5);
  assert_string_equal(out_time(d), "a[0]:1@3\n"
                                   "a[0]:2@7\n"
                                   "a[5]:1@7\n"
                                   "a[5]:2@12\n"
                                   "a[10]:1@12\n"
                                   "a[5]:3@12\n");
  assert_int_equal(beck_test_driver_metric(d, "agg", "late"), 1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void hopping_final_emits_each_window_once(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_HOPPING, .size_ms = 10, .advance_ms = 5, .emit = BECK_EMIT_FINAL};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_COUNT);
  pipe_each(d, hopping_input, 5);
  assert_string_equal(out_time(d), "a[0]:2@7\n");
  advance(d, 15);
  assert_string_equal(out_time(d), "a[5]:3@12\n");
  advance(d, 20);
  assert_string_equal(out_time(d), "a[10]:1@12\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

/* ---- sliding ---------------------------------------------------------------- */

static const beck_srec_t sliding_input[] = {
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"x", 1}, .timestamp = 10},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"y", 1}, .timestamp = 15},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"z", 1}, .timestamp = 12}, /* out of order */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"w", 1}, .timestamp = 40}, /* closes all so far */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"v", 1}, .timestamp = 20}, /* late */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"u", 1}, .timestamp = 26}, /* only closed windows */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"t", 1}, .timestamp = 33},
};

static void sliding_windows_hold_exactly_the_records_within_the_difference(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_SLIDING, .size_ms = 10, .grace_ms = 5};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_CONCAT);
  pipe_each(d, sliding_input, 3);
  assert_string_equal(out_time(d), "a[0]:x@10\n"     /* x: left window [0,10] */
                                   "a[5]:x+y@15\n"   /* y: left window [5,15] */
                                   "a[11]:y@15\n"    /*    right window of x, no longer empty */
                                   "a[2]:x+z@12\n"   /* z: its left window, folded from x and z */
                                   "a[5]:x+y+z@15\n" /*    existing windows holding 12 */
                                   "a[11]:y+z@15\n"  /*    */
                                   "a[13]:y@15\n");  /*    its right window holds y */
  pipe_each(d, sliding_input + 3, 4);
  assert_string_equal(out_time(d), "a[30]:w@40\n"   /* w */
                                   "a[27]:t@33\n"   /* t: right window of u */
                                   "a[30]:w+t@40\n" /*    existing window */
                                   "a[34]:w@40\n"); /*    its right window holds w */
  assert_int_equal(beck_test_driver_metric(d, "agg", "late"), 1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void sliding_final_emits_each_window_after_grace(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_SLIDING, .size_ms = 10, .grace_ms = 5, .emit = BECK_EMIT_FINAL};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_CONCAT);
  pipe_each(d, sliding_input, 3);
  assert_string_equal(out_time(d), "");
  advance(d, 16); /* [0,10] closes at 10+5+1 */
  assert_string_equal(out_time(d), "a[0]:x@10\n");
  pipe_each(d, sliding_input + 3, 4);
  assert_string_equal(out_time(d), "a[2]:x+z@12\na[5]:x+y+z@15\na[11]:y+z@15\na[13]:y@15\n");
  advance(d, 100);
  assert_string_equal(out_time(d), "a[27]:t@33\na[30]:w+t@40\na[34]:w@40\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void sliding_count_in_order(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_SLIDING, .size_ms = 5};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_COUNT);
  beck_srec_t recs[] = {R("k", "1", 1), R("k", "2", 3), R("k", "3", 8), R("j", "4", 8)};
  pipe_each(d, recs, 4);
  /* per record: 1: [-4,1]{1} | 3: [-2,3]{1,3} [2,7]{3} | 8: [3,8]{3,8} [4,9]{8} | j 8: [3,8]{8}
   * ([2,7] closed at 8 before 8 was added: it does not hold 8 anyway) */
  assert_string_equal(out_time(d), "k[-4]:1@1\n"
                                   "k[-2]:2@3\n"
                                   "k[2]:1@3\n"
                                   "k[3]:2@8\n"
                                   "k[4]:1@8\n"
                                   "j[3]:1@8\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

/* ---- session ------------------------------------------------------------------ */

static const beck_srec_t session_input[] = {
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"1", 1}, .timestamp = 0},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"2", 1}, .timestamp = 5},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"3", 1}, .timestamp = 30}, /* closes [0,5] */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"4", 1}, .timestamp = 18}, /* late */
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"5", 1}, .timestamp = 22}, /* extends back */
    {.key = {(const uint8_t *)"b", 1}, .value = {(const uint8_t *)"6", 1}, .timestamp = 25},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"7", 1}, .timestamp = 45},
    {.key = {(const uint8_t *)"a", 1}, .value = {(const uint8_t *)"8", 1}, .timestamp = 39}, /* bridges two */
};

static void session_windows_merge_and_retract_replaced_sessions(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_SESSION, .gap_ms = 10, .grace_ms = 5};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_COUNT);
  pipe_each(d, session_input, 8);
  assert_string_equal(out_session(d), "a[0,0]:1@0\n"
                                      "a[0,0]:null@0\n"
                                      "a[0,5]:2@5\n"
                                      "a[30,30]:1@30\n"
                                      "a[30,30]:null@30\n"
                                      "a[22,30]:2@30\n"
                                      "b[25,25]:1@25\n"
                                      "a[45,45]:1@45\n"
                                      "a[22,30]:null@30\n"
                                      "a[45,45]:null@45\n"
                                      "a[22,45]:4@45\n");
  assert_int_equal(beck_test_driver_metric(d, "agg", "late"), 1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void session_final_emits_when_no_record_could_extend_it(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_SESSION, .gap_ms = 10, .grace_ms = 5, .emit = BECK_EMIT_FINAL};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_COUNT);
  pipe_each(d, session_input, 8);
  assert_string_equal(out_session(d), "a[0,5]:2@5\nb[25,25]:1@25\n");
  advance(d, 60); /* [22,45] is final after 45+10+5 */
  assert_string_equal(out_session(d), "");
  advance(d, 61);
  assert_string_equal(out_session(d), "a[22,45]:4@45\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void session_reduce_merges_contents_in_order(void **state) {
  beck_window_spec_t spec = {.kind = BECK_WINDOW_SESSION, .gap_ms = 10, .grace_ms = 10, .emit = BECK_EMIT_FINAL};
  beck_topology_t *t;
  beck_test_driver_t *d = window_driver(&t, &spec, AGG_CONCAT);
  beck_srec_t recs[] = {R("k", "p", 0), R("k", "q", 20), R("k", "r", 10), R("k", "s", 100)};
  pipe_each(d, recs, 4);
  assert_string_equal(out_session(d), "k[0,20]:p+q+r@20\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void windowed_sum_uses_the_number_parser(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_window_spec_t spec = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 100, .emit = BECK_EMIT_FINAL};
  beck_stream_t *w =
      beck_stream_window(beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g"), "w", &spec);
  beck_stream_to(beck_stream_to_stream(beck_stream_avg(w, "agg", NULL), "changes"), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_srec_t recs[] = {R("p", "10", 1), R("p", "20", 50), R("q", "1", 99), R("p", "5.5", 120)};
  pipe_each(d, recs, 4);
  advance(d, 200);
  assert_string_equal(out_time(d), "p[0]:15@50\nq[0]:1@99\np[100]:5.5@120\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

/* reduce: the aggregate's last three bytes, pointing into the aggregate
 * (the aggregate itself once it has three). */
static beck_err_t tail3(void *ud, beck_sctx_t *ctx, beck_nstr_t agg, const beck_srec_t *r, beck_nstr_t *out) {
  *out = agg.len > 3 ? beck_nstr(agg.ptr + agg.len - 3, 3) : agg;
  return BECK_ERR_OK;
}

/* The store may be handed back bytes it holds: the whole stored value, or
 * part of one it frees as the value shrinks. ASan checks the copies. */
static void reduce_may_return_bytes_of_its_aggregate(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_window_spec_t spec = {.kind = BECK_WINDOW_TUMBLING, .size_ms = 100, .emit = BECK_EMIT_FINAL};
  beck_stream_t *w =
      beck_stream_window(beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g"), "w", &spec);
  beck_stream_to(beck_stream_to_stream(beck_stream_reduce(w, "agg", tail3, NULL, NULL), "changes"), "out", "output",
                 NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  char big[400];
  memset(big, 'b', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  beck_srec_t recs[] = {R("p", "first", 1), R("p", "second", 50), R("q", big, 60), R("q", "x", 70), R("p", "y", 99)};
  pipe_each(d, recs, 5);
  advance(d, 200);
  assert_string_equal(out_time(d), "p[0]:rst@99\nq[0]:bbb@70\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tumbling_emits_every_update_and_drops_late_records),
      cmocka_unit_test(tumbling_final_emits_once_when_the_window_closes),
      cmocka_unit_test(tumbling_results_do_not_depend_on_batching),
      cmocka_unit_test(late_records_go_to_the_late_topic),
      cmocka_unit_test(hopping_updates_every_window_holding_the_record),
      cmocka_unit_test(hopping_final_emits_each_window_once),
      cmocka_unit_test(sliding_windows_hold_exactly_the_records_within_the_difference),
      cmocka_unit_test(sliding_final_emits_each_window_after_grace),
      cmocka_unit_test(sliding_count_in_order),
      cmocka_unit_test(session_windows_merge_and_retract_replaced_sessions),
      cmocka_unit_test(session_final_emits_when_no_record_could_extend_it),
      cmocka_unit_test(session_reduce_merges_contents_in_order),
      cmocka_unit_test(windowed_sum_uses_the_number_parser),
      cmocka_unit_test(reduce_may_return_bytes_of_its_aggregate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
