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

/* ---- hopping, final, from panes (window_hop.c) ---------------------------------- */

typedef enum { HK_COUNT, HK_SUM, HK_MIN, HK_MAX, HK_AVG, HK_CUSTOM } hop_kind_t;

/* custom: an 8-byte little-endian sum, merged by adding */
static beck_err_t sum8_init(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *out) {
  uint8_t *p = beck_sctx_alloc(ctx, 8);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  memset(p, 0, 8);
  *out = beck_nstr(p, 8);
  return BECK_ERR_OK;
}

static int64_t sum8_get(beck_nstr_t v) {
  int64_t x;
  memcpy(&x, v.ptr, 8);
  return x;
}

static beck_err_t sum8_put(beck_sctx_t *ctx, int64_t v, beck_nstr_t *out) {
  uint8_t *p = beck_sctx_alloc(ctx, 8);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  memcpy(p, &v, 8);
  *out = beck_nstr(p, 8);
  return BECK_ERR_OK;
}

static beck_err_t sum8_add(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_nstr_t agg, beck_nstr_t *out) {
  int64_t v = 0;
  for (int32_t i = 0; i < r->value.len; i++)
    v = v * 10 + (r->value.ptr[i] - '0');
  return sum8_put(ctx, sum8_get(agg) + v, out);
}

static beck_err_t sum8_merge(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t a, beck_nstr_t b,
                             beck_nstr_t *out) {
  return sum8_put(ctx, sum8_get(a) + sum8_get(b), out);
}

static beck_test_driver_t *hop_driver(beck_topology_t **tp, const beck_window_spec_t *spec, hop_kind_t kind) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *w =
      beck_stream_window(beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g"), "w", spec);
  beck_aggregator_t custom = {.init = sum8_init, .add = sum8_add, .merge = sum8_merge};
  beck_stream_t *a = kind == HK_COUNT ? beck_stream_count(w, "agg", NULL)
                     : kind == HK_SUM ? beck_stream_sum(w, "agg", NULL)
                     : kind == HK_MIN ? beck_stream_min(w, "agg", NULL)
                     : kind == HK_MAX ? beck_stream_max(w, "agg", NULL)
                     : kind == HK_AVG ? beck_stream_avg(w, "agg", NULL)
                                      : beck_stream_aggregate(w, "agg", &custom, NULL);
  beck_stream_to(beck_stream_to_stream(a, "changes"), "out", "output", NULL);
  *tp = t;
  return st_driver(t, 0, NULL);
}

/* Deterministic input: five keys, times drifting forward with jitter up to
 * +-7 (out of order), now and then a jump ahead (closing windows) and a
 * record far behind (late); records [from, to) of it, piped in uneven
 * batches. */
static void hop_feed_range(beck_test_driver_t *d, uint32_t seed, int from, int to) {
  char keys[256][2], vals[256][4];
  beck_srec_t batch[256];
  int nb = 0;
  int64_t base = 0;
  beck_error_t e;
  for (int i = 0; i < to; i++) {
    seed = seed * 1103515245u + 12345u;
    uint32_t r = seed >> 8;
    base += r % 3 == 0 ? 1 : 0;
    if (r % 97 == 0)
      base += 25;
    int64_t t = base + (int64_t)(r % 15) - 7;
    if (r % 61 == 0)
      t -= 40;
    if (t < 0)
      t = 0;
    if (i < from)
      continue;
    keys[nb][0] = (char)('a' + (r >> 4) % 5);
    keys[nb][1] = '\0';
    snprintf(vals[nb], sizeof vals[nb], "%u", 1 + (r >> 7) % 9);
    batch[nb] = R(keys[nb], vals[nb], t);
    nb++;
    if (nb == (int)(1 + (r >> 9) % 17) || nb == 256 || i == to - 1) {
      ST_OK(e, beck_test_driver_pipe(d, "input", batch, (size_t)nb, &e));
      nb = 0;
    }
  }
}

static void hop_feed(beck_test_driver_t *d, int n, uint32_t seed) { hop_feed_range(d, seed, 0, n); }

typedef struct lines {
  char **v;
  int n, cap;
} lines_t;

/* Every unread record of "output" as a "key[start]:value@ts" line. */
static void drain_lines(beck_test_driver_t *d, lines_t *l) {
  memset(l, 0, sizeof *l);
  beck_srec_t r;
  while (beck_test_driver_read(d, "output", &r, NULL) == 1) {
    assert_true(r.key.len >= 8);
    char line[256], *p = line;
    st_fmt_bytes(&p, line + 200, r.key.ptr, r.key.len - 8);
    p += snprintf(p, 20, "[%lld]:", (long long)(int64_t)beck_load_be64(r.key.ptr + r.key.len - 8));
    st_fmt_bytes(&p, line + 240, r.value.ptr, r.value.len);
    snprintf(p, 16, "@%lld", (long long)r.timestamp);
    if (l->n == l->cap) {
      l->cap = l->cap ? l->cap * 2 : 1024;
      l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
      assert_non_null(l->v);
    }
    l->v[l->n++] = strdup(line);
  }
}

static void lines_free(lines_t *l) {
  for (int i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static int cmp_line(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The last update of each window ("key[start]" before the ':'). */
static void last_per_window(lines_t *l) {
  int k = 0;
  for (int i = 0; i < l->n; i++) {
    size_t w = strcspn(l->v[i], ":");
    bool later = false;
    for (int j = i + 1; j < l->n && !later; j++)
      later = strncmp(l->v[i], l->v[j], w + 1) == 0;
    if (later)
      free(l->v[i]);
    else
      l->v[k++] = l->v[i];
  }
  l->n = k;
}

static void assert_same_lines(lines_t *a, lines_t *b) {
  qsort(a->v, (size_t)a->n, sizeof *a->v, cmp_line);
  qsort(b->v, (size_t)b->n, sizeof *b->v, cmp_line);
  assert_int_equal(a->n, b->n);
  for (int i = 0; i < a->n; i++)
    assert_string_equal(a->v[i], b->v[i]);
}

/* Final hopping results (computed from panes) equal the last update of
 * each window of the same topology emitting every update (computed window
 * by window), and the same records are late: every aggregation that
 * merges, several advances, out-of-order and late records. */
static void hopping_final_from_panes_equals_the_last_update_of_each_window(void **state) {
  static const int64_t advances[] = {1, 2, 5, 3};
  for (int k = HK_COUNT; k <= HK_CUSTOM; k++) {
    for (size_t ai = 0; ai < sizeof advances / sizeof advances[0]; ai++) {
      beck_window_spec_t fin = {.kind = BECK_WINDOW_HOPPING,
                                .size_ms = advances[ai] == 3 ? 11 : 10,
                                .advance_ms = advances[ai],
                                .grace_ms = 4,
                                .emit = BECK_EMIT_FINAL};
      beck_window_spec_t upd = fin;
      upd.emit = BECK_EMIT_ON_UPDATE;
      beck_topology_t *tf, *tu;
      beck_test_driver_t *df = hop_driver(&tf, &fin, (hop_kind_t)k), *du = hop_driver(&tu, &upd, (hop_kind_t)k);
      hop_feed(df, 3000, 7u + (uint32_t)k);
      hop_feed(du, 3000, 7u + (uint32_t)k);
      advance(df, 1000000);
      lines_t a, b;
      drain_lines(df, &a);
      drain_lines(du, &b);
      last_per_window(&b);
      assert_true(a.n > 100);
      assert_same_lines(&a, &b);
      assert_int_equal(beck_test_driver_metric(df, "agg", "late"), beck_test_driver_metric(du, "agg", "late"));
      assert_true(beck_test_driver_metric(df, "agg", "late") > 0);
      lines_free(&a);
      lines_free(&b);
      beck_test_driver_destroy(df);
      beck_test_driver_destroy(du);
      beck_topology_destroy(tf);
      beck_topology_destroy(tu);
    }
  }
}

/* Panes come back from the changelog: a run restarted part-way (cleanly,
 * after a crash, with the local state wiped) emits exactly the windows of
 * an uninterrupted run, none twice. */
static void hopping_final_from_panes_survives_restarts(void **state) {
  static const beck_restart_mode_t modes[] = {BECK_RESTART_CLEAN, BECK_RESTART_CRASH, BECK_RESTART_WIPE};
  beck_window_spec_t spec = {
      .kind = BECK_WINDOW_HOPPING, .size_ms = 10, .advance_ms = 2, .grace_ms = 4, .emit = BECK_EMIT_FINAL};
  beck_topology_t *t0;
  beck_test_driver_t *d0 = hop_driver(&t0, &spec, HK_COUNT);
  hop_feed(d0, 2000, 3);
  advance(d0, 1000000);
  lines_t want;
  drain_lines(d0, &want);
  for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    beck_topology_t *t;
    beck_test_driver_t *d = hop_driver(&t, &spec, HK_COUNT);
    beck_error_t e;
    hop_feed_range(d, 3, 0, 1000);
    ST_OK(e, beck_test_driver_restart(d, modes[m], &e));
    hop_feed_range(d, 3, 1000, 1500);
    ST_OK(e, beck_test_driver_restart(d, modes[m], &e));
    hop_feed_range(d, 3, 1500, 2000);
    advance(d, 1000000);
    lines_t got;
    drain_lines(d, &got);
    assert_same_lines(&got, &want);
    lines_free(&got);
    beck_test_driver_destroy(d);
    beck_topology_destroy(t);
  }
  lines_free(&want);
  beck_test_driver_destroy(d0);
  beck_topology_destroy(t0);
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
      cmocka_unit_test(hopping_final_from_panes_equals_the_last_update_of_each_window),
      cmocka_unit_test(hopping_final_from_panes_survives_restarts),
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
