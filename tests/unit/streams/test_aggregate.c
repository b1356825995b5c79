/* test_aggregate.c - streams/: grouping and the non-windowed aggregations
 * (count, sum, min, max, avg, reduce, aggregate), repartitioning through
 * internal topics, number formats, null handling. Exact outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "beck/streams.h"
#include "streams_test.h"

/* ---- callbacks ------------------------------------------------------------ */

static beck_err_t first_char_of_value(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  *out = in->value.len > 0 ? beck_nstr(in->value.ptr, 1) : beck_nstr_null();
  return BECK_ERR_OK;
}

/* reduce: agg + "+" + value; "reset" as a value returns null (delete). */
static beck_err_t join_plus(void *ud, beck_sctx_t *ctx, beck_nstr_t agg, const beck_srec_t *r, beck_nstr_t *out) {
  if (r->value.len == 5 && memcmp(r->value.ptr, "reset", 5) == 0) {
    *out = beck_nstr_null();
    return BECK_ERR_OK;
  }
  char *p = beck_sctx_alloc(ctx, (size_t)agg.len + 1 + (size_t)r->value.len);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  memcpy(p, agg.ptr, (size_t)agg.len);
  p[agg.len] = '+';
  memcpy(p + agg.len + 1, r->value.ptr, (size_t)r->value.len);
  *out = beck_nstr(p, agg.len + 1 + r->value.len);
  return BECK_ERR_OK;
}

static beck_err_t init_with_key(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *out) {
  char *p = beck_sctx_alloc(ctx, (size_t)key.len + 1);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  memcpy(p, key.ptr, (size_t)key.len);
  p[key.len] = '=';
  *out = beck_nstr(p, key.len + 1);
  return BECK_ERR_OK;
}

static beck_err_t append_value(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_nstr_t agg, beck_nstr_t *out) {
  char *p = beck_sctx_alloc(ctx, (size_t)agg.len + (size_t)r->value.len);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  memcpy(p, agg.ptr, (size_t)agg.len);
  memcpy(p + agg.len, r->value.ptr, (size_t)r->value.len);
  *out = beck_nstr(p, agg.len + r->value.len);
  return BECK_ERR_OK;
}

/* "price=12" -> 12; no "price=" -> skip the record. */
static int price_field(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_num_t *out) {
  if (r->value.len < 6 || memcmp(r->value.ptr, "price=", 6) != 0)
    return 0;
  char buf[32];
  int n = r->value.len - 6 < 31 ? r->value.len - 6 : 31;
  memcpy(buf, r->value.ptr + 6, (size_t)n);
  buf[n] = '\0';
  out->is_double = false;
  out->i = strtoll(buf, NULL, 10);
  return 1;
}

/* Sorts the lines of text by their key (the part before ':'), keeping the
 * order of lines with the same key: per-key output order is what a
 * partitioned computation guarantees. */
static const char *sort_by_key(const char *text) {
  static char out[1 << 16];
  static const char *lines[4096];
  static size_t lens[4096];
  int n = 0;
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
    lines[n] = p;
    lens[n++] = len;
    p += len;
  }
  for (int i = 1; i < n; i++) /* insertion sort: stable */
    for (int j = i; j > 0; j--) {
      size_t ka = strcspn(lines[j - 1], ":"), kb = strcspn(lines[j], ":");
      size_t m = ka < kb ? ka : kb;
      int c = memcmp(lines[j - 1], lines[j], m);
      if (c < 0 || (c == 0 && ka <= kb))
        break;
      const char *tl = lines[j];
      lines[j] = lines[j - 1];
      lines[j - 1] = tl;
      size_t tn = lens[j];
      lens[j] = lens[j - 1];
      lens[j - 1] = tn;
    }
  char *o = out;
  for (int i = 0; i < n; i++) {
    memcpy(o, lines[i], lens[i]);
    o += lens[i];
  }
  *o = '\0';
  return out;
}

/* Removes the "@ts" of every line: updates of one key that came from
 * different input partitions arrive in an order Kafka does not define, so
 * their intermediate timestamps are not part of the contract. */
static const char *strip_ts(const char *text) {
  static char out[1 << 16];
  char *o = out;
  for (const char *p = text; *p; p++) {
    if (*p == '@') {
      while (*p && *p != '\n')
        p++;
      if (!*p)
        break;
    }
    *o++ = *p;
  }
  *o = '\0';
  return out;
}

/* A topology: input -> group_by_key -> <agg> -> to_stream -> output. */
typedef beck_stream_t *(*agg_builder_t)(beck_stream_t *g, const char *name, const beck_agg_opts_t *o);

static beck_topology_t *agg_topology(agg_builder_t build, const beck_agg_opts_t *opts) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *g = beck_stream_group_by_key(beck_topology_stream(t, "in", "input", NULL), "g");
  beck_stream_to(beck_stream_to_stream(build(g, "agg", opts), "changes"), "out", "output", NULL);
  return t;
}

static const char *run_agg(agg_builder_t build, const beck_agg_opts_t *opts, const beck_srec_t *recs, size_t n) {
  beck_topology_t *t = agg_topology(build, opts);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, n, &e));
  const char *out = st_drain(d, "output");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
  return out;
}

/* ---- tests ------------------------------------------------------------- */

static void count_emits_every_update_with_the_latest_timestamp(void **state) {
  beck_srec_t recs[] = {R("a", "x", 10), R("b", "y", 5), R("a", "z", 7), R("a", "w", 12), R("b", "v", 6)};
  assert_string_equal(run_agg(beck_stream_count, NULL, recs, 5), "a:1@10\nb:1@5\na:2@10\na:3@12\nb:2@6\n");
}

static void count_keeps_state_across_batches(void **state) {
  beck_topology_t *t = agg_topology(beck_stream_count, NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  ST_OK(e, st_pipe(d, "input", "k", "1", 1, &e));
  ST_OK(e, st_pipe(d, "input", "k", "2", 2, &e));
  beck_srec_t recs[] = {R("k", "3", 3), R("j", "4", 4)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 2, &e));
  ST_EXPECT(d, "output", "k:1@1\nk:2@2\nk:3@3\nj:1@4\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void sum_stays_exact_for_integers_then_becomes_double(void **state) {
  beck_srec_t recs[] = {R("a", "1", 1),   R("a", "2", 2),   R("b", "-5", 3),
                        R("a", "0.5", 4), R("a", "1e1", 5), R("b", "9223372036854775807", 6),
                        R("b", "10", 7)};
  assert_string_equal(run_agg(beck_stream_sum, NULL, recs, 7),
                      "a:1@1\na:3@2\nb:-5@3\na:3.5@4\na:13.5@5\nb:9223372036854775802@6\nb:9.223372036854776e+18@7\n");
}

static void min_and_max_compare_numerically(void **state) {
  beck_srec_t recs[] = {R("a", "5", 1), R("a", "30", 2), R("a", "-2.5", 3), R("a", "10", 4)};
  assert_string_equal(run_agg(beck_stream_min, NULL, recs, 4), "a:5@1\na:5@2\na:-2.5@3\na:-2.5@4\n");
  assert_string_equal(run_agg(beck_stream_max, NULL, recs, 4), "a:5@1\na:30@2\na:30@3\na:30@4\n");
}

static void avg_is_a_double(void **state) {
  beck_srec_t recs[] = {R("a", "1", 1), R("a", "2", 2), R("a", "4", 3), R("b", "7", 4)};
  assert_string_equal(run_agg(beck_stream_avg, NULL, recs, 4), "a:1@1\na:1.5@2\na:2.3333333333333335@3\nb:7@4\n");
}

static void numeric_results_in_kafka_long_format(void **state) {
  beck_agg_opts_t o = {.format = BECK_NUM_BE64};
  beck_srec_t recs[] = {R("a", "x", 1), R("a", "y", 2)};
  assert_string_equal(run_agg(beck_stream_count, &o, recs, 2),
                      "a:\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01@1\na:\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02@2\n");
  beck_srec_t d[] = {R("a", "0.5", 1)};
  assert_string_equal(run_agg(beck_stream_avg, &o, d, 1), "a:?\\xe0\\x00\\x00\\x00\\x00\\x00\\x00@1\n");
}

static void custom_number_extractor_skips_records_without_a_number(void **state) {
  beck_agg_opts_t o = {.num_fn = price_field};
  beck_srec_t recs[] = {R("a", "price=3", 1), R("a", "note", 2), R("a", "price=4", 3)};
  beck_topology_t *t = agg_topology(beck_stream_sum, &o);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 3, &e));
  ST_EXPECT(d, "output", "a:3@1\na:7@3\n");
  assert_int_equal(beck_test_driver_metric(d, "agg", "skipped"), 1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void non_numeric_value_fails_or_is_skipped_by_policy(void **state) {
  beck_topology_t *t = agg_topology(beck_stream_sum, NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_error_clear(&e);
  assert_int_equal(st_pipe(d, "input", "a", "abc", 1, &e), BECK_ERR_PARSE);
  assert_non_null(strstr(e.msg, "node 'agg': value 'abc' is not a number"));
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);

  t = agg_topology(beck_stream_sum, NULL);
  beck_topology_set_on_error(t, BECK_ON_ERROR_SKIP);
  d = st_driver(t, 0, NULL);
  beck_srec_t recs[] = {R("a", "2", 1), R("a", "abc", 2), R("a", "3", 3)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 3, &e));
  ST_EXPECT(d, "output", "a:2@1\na:5@3\n");
  assert_int_equal(beck_test_driver_metric(d, "agg", "skipped"), 1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void null_keys_and_values_are_skipped_and_counted(void **state) {
  beck_topology_t *t = agg_topology(beck_stream_count, NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R(NULL, "x", 1), R("a", NULL, 2), R("a", "y", 3)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 3, &e));
  ST_EXPECT(d, "output", "a:1@3\n");
  assert_int_equal(beck_test_driver_metric(d, "agg", "skipped"), 2);
  assert_int_equal(beck_test_driver_metric(d, "agg", "processed"), 1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static beck_stream_t *reduce_plus(beck_stream_t *g, const char *name, const beck_agg_opts_t *o) {
  return beck_stream_reduce(g, name, join_plus, NULL, o);
}

static void reduce_folds_values_and_null_deletes(void **state) {
  beck_srec_t recs[] = {R("a", "x", 1), R("a", "y", 2),     R("b", "p", 3),
                        R("a", "z", 4), R("a", "reset", 5), R("a", "fresh", 6)};
  assert_string_equal(run_agg(reduce_plus, NULL, recs, 6), "a:x@1\na:x+y@2\nb:p@3\na:x+y+z@4\na:null@5\na:fresh@6\n");
}

static beck_stream_t *aggregate_append(beck_stream_t *g, const char *name, const beck_agg_opts_t *o) {
  beck_aggregator_t a = {.init = init_with_key, .add = append_value};
  return beck_stream_aggregate(g, name, &a, o);
}

static void aggregate_calls_init_once_per_key_then_add(void **state) {
  beck_srec_t recs[] = {R("a", "1", 1), R("b", "2", 2), R("a", "3", 3)};
  assert_string_equal(run_agg(aggregate_append, NULL, recs, 3), "a:a=1@1\nb:b=2@2\na:a=13@3\n");
}

static void group_by_derived_key_repartitions_across_partitions(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *g =
      beck_stream_group_by(beck_topology_stream(t, "in", "input", NULL), "by-first", first_char_of_value, NULL);
  beck_stream_to(beck_stream_to_stream(beck_stream_count(g, "counts", NULL), "changes"), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 3, NULL);
  beck_error_t e;
  /* Keys spread over the three input partitions; values decide the group. */
  beck_srec_t recs[] = {R("k1", "apple", 1),  R("k2", "banana", 2),  R("k3", "avocado", 3), R("k4", "blueberry", 4),
                        R("k5", "cherry", 5), R("k6", "apricot", 6), R("k7", "", 7)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 7, &e));
  const char *sorted = sort_by_key(st_drain(d, "output"));
  assert_string_equal(strip_ts(sorted), "a:1\na:2\na:3\nb:1\nb:2\nc:1\n");
  assert_non_null(strstr(sorted, "a:3@6\nb:1@")); /* the last update carries the largest timestamp */
  assert_non_null(strstr(sorted, "b:2@4\nc:1@5\n"));
  /* the empty value has a null group key: dropped at the repartition sink */
  assert_int_equal(beck_test_driver_topic_size(d, "app-counts-repartition"), 6);
  assert_int_equal(beck_test_driver_metric(d, "counts-repartition-sink", "skipped"), 1);
  /* every record of a group went to one partition of the repartition topic */
  beck_srec_t r;
  int32_t p, part_of[256];
  memset(part_of, -1, sizeof part_of);
  while (beck_test_driver_read(d, "app-counts-repartition", &r, &p) == 1) {
    uint8_t k = r.key.ptr[0];
    if (part_of[k] < 0)
      part_of[k] = p;
    assert_int_equal(part_of[k], p);
  }
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void group_by_key_after_select_key_repartitions(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *s =
      beck_stream_select_key(beck_topology_stream(t, "in", "input", NULL), "rekey", first_char_of_value, NULL);
  beck_stream_to(beck_stream_to_stream(beck_stream_count(beck_stream_group_by_key(s, "g"), "counts", NULL), "ch"),
                 "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 2, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("1", "xa", 1), R("2", "xb", 2), R("3", "yc", 3), R("4", "xd", 4)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 4, &e));
  const char *sorted = sort_by_key(st_drain(d, "output"));
  assert_string_equal(strip_ts(sorted), "x:1\nx:2\nx:3\ny:1\n");
  assert_non_null(strstr(sorted, "x:3@4\ny:1@3\n"));
  assert_int_equal(beck_test_driver_topic_size(d, "app-counts-repartition"), 4);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void aggregation_state_goes_to_its_changelog_once_per_commit(void **state) {
  beck_topology_t *t = agg_topology(beck_stream_count, NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("b", "x", 1), R("a", "y", 2), R("b", "z", 3)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 3, &e));
  /* one commit: the latest state of each key, in first-write order */
  assert_string_equal(st_drain(d, "app-agg-changelog"), "b:\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02@3\n"
                                                        "a:\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01@2\n");
  ST_OK(e, st_pipe(d, "input", "a", "w", 4, &e));
  assert_string_equal(st_drain(d, "app-agg-changelog"), "a:\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02@4\n");
  ST_EXPECT(d, "output", "b:1@1\na:1@2\nb:2@3\na:2@4\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(count_emits_every_update_with_the_latest_timestamp),
      cmocka_unit_test(count_keeps_state_across_batches),
      cmocka_unit_test(sum_stays_exact_for_integers_then_becomes_double),
      cmocka_unit_test(min_and_max_compare_numerically),
      cmocka_unit_test(avg_is_a_double),
      cmocka_unit_test(numeric_results_in_kafka_long_format),
      cmocka_unit_test(custom_number_extractor_skips_records_without_a_number),
      cmocka_unit_test(non_numeric_value_fails_or_is_skipped_by_policy),
      cmocka_unit_test(null_keys_and_values_are_skipped_and_counted),
      cmocka_unit_test(reduce_folds_values_and_null_deletes),
      cmocka_unit_test(aggregate_calls_init_once_per_key_then_add),
      cmocka_unit_test(group_by_derived_key_repartitions_across_partitions),
      cmocka_unit_test(group_by_key_after_select_key_repartitions),
      cmocka_unit_test(aggregation_state_goes_to_its_changelog_once_per_commit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
