/* test_stateless.c - streams/: the stateless operators (filter, map,
 * map_values, select_key, flat_map, branch, merge, peek, process, to), the
 * builder's checks, the error policy and the sink partitioner. Every test
 * asserts the exact records each output topic received. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#include "beck/streams.h"
#include "streams_test.h"

/* ---- callbacks ------------------------------------------------------------ */

static long num(beck_nstr_t v) {
  char buf[32];
  int n = v.len < 0 ? 0 : v.len > 31 ? 31 : v.len;
  memcpy(buf, v.ptr, (size_t)n);
  buf[n] = '\0';
  return strtol(buf, NULL, 10);
}

static int value_at_least(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  return r->value.len >= 0 && num(r->value) >= *(const long *)ud;
}

static beck_err_t swap_and_shift(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_srec_t *out) {
  out->key = in->value;
  out->value = in->key;
  out->timestamp = in->timestamp + 1;
  return BECK_ERR_OK;
}

static beck_err_t upper(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  if (in->value.len < 0)
    return BECK_ERR_OK;
  char *p = beck_sctx_alloc(ctx, (size_t)in->value.len + 1);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  for (int32_t i = 0; i < in->value.len; i++) {
    char c = (char)in->value.ptr[i];
    p[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
  }
  *out = beck_nstr(p, in->value.len);
  return BECK_ERR_OK;
}

static beck_err_t first_char_of_value(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  *out = in->value.len > 0 ? beck_nstr(in->value.ptr, 1) : beck_nstr_null();
  return BECK_ERR_OK;
}

/* "a,b,c" -> three records with the same key; "" -> none. */
static beck_err_t split_commas(void *ud, beck_sctx_t *ctx, const beck_srec_t *in) {
  int32_t start = 0;
  for (int32_t i = 0; i <= in->value.len; i++) {
    if (i == in->value.len || in->value.ptr[i] == ',') {
      if (i > start) {
        beck_srec_t o = *in;
        o.value = beck_nstr(in->value.ptr + start, i - start);
        beck_err_t rc = beck_sctx_emit(ctx, &o);
        if (rc != BECK_ERR_OK)
          return rc;
      }
      start = i + 1;
    }
  }
  return BECK_ERR_OK;
}

static int starts_with(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  return r->value.len > 0 && r->value.ptr[0] == *(const char *)ud;
}

typedef struct peek_log {
  char text[512];
  int calls;
} peek_log_t;

static void log_peek(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  peek_log_t *l = ud;
  size_t n = strlen(l->text);
  snprintf(l->text + n, sizeof l->text - n, "%s %.*s=%.*s;", beck_sctx_node(ctx), (int)r->key.len,
           (const char *)r->key.ptr, (int)r->value.len, (const char *)r->value.ptr);
  l->calls++;
}

/* Emits one summary record per batch: "batch" -> number of records, then
 * every record whose value is not "drop". */
static beck_err_t summarize(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in) {
  char buf[16];
  int n = snprintf(buf, sizeof buf, "%zu", in->n);
  beck_srec_t s = {.key = beck_nstr("batch", 5),
                   .value = beck_sctx_copy(ctx, buf, n),
                   .timestamp = in->n ? in->recs[in->n - 1].timestamp : 0};
  beck_err_t rc = beck_sctx_emit(ctx, &s);
  for (size_t i = 0; i < in->n && rc == BECK_ERR_OK; i++)
    if (!(in->recs[i].value.len == 4 && memcmp(in->recs[i].value.ptr, "drop", 4) == 0))
      rc = beck_sctx_emit(ctx, &in->recs[i]);
  return rc;
}

static int fails_on_bad(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  if (r->value.len == 3 && memcmp(r->value.ptr, "bad", 3) == 0)
    return beck_sctx_fail(ctx, BECK_ERR_PARSE, "cannot read value 'bad'");
  return 1;
}

static beck_err_t join_keep_left(void *ud, beck_sctx_t *ctx, const beck_srec_t *l, const beck_srec_t *r,
                                 beck_nstr_t *out) {
  *out = l->value;
  return BECK_ERR_OK;
}

static int64_t time_from_value(void *ud, const beck_srec_t *r) { return num(r->value) * 1000; }

/* ---- tests ------------------------------------------------------------- */

static void filter_keeps_matching_records_in_order(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  long min = 10;
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_filter(in, "big", value_at_least, &min), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("a", "5", 1), R("b", "10", 2), R("c", "15", 3), R("d", "9", 4), R("e", NULL, 5)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 5, &e));
  ST_EXPECT(d, "output", "b:10@2\nc:15@3\n");
  ST_OK(e, st_pipe(d, "input", "f", "99", 6, &e));
  ST_EXPECT(d, "output", "f:99@6\n");
  assert_int_equal(beck_test_driver_metric(d, "big", "processed"), 6);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void map_changes_key_value_and_timestamp(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_map(in, "swap", swap_and_shift, NULL), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("k1", "v1", 100), R(NULL, "v2", 200), R("k3", NULL, 300)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 3, &e));
  ST_EXPECT(d, "output", "v1:k1@101\nv2:null@201\nnull:k3@301\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void map_values_rewrites_values_with_arena_memory(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_map_values(in, "up", upper, NULL), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("k", "hello", 1), R("k", "", 2), R("j", NULL, 3), R("j", "MiXed 42", 4)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 4, &e));
  ST_EXPECT(d, "output", "k:HELLO@1\nk:@2\nj:null@3\nj:MIXED 42@4\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void select_key_rekeys_and_keeps_values(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_select_key(in, "first", first_char_of_value, NULL), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("1", "apple", 1), R("2", "banana", 2), R(NULL, "avocado", 3), R("4", "", 4)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 4, &e));
  ST_EXPECT(d, "output", "a:apple@1\nb:banana@2\na:avocado@3\nnull:@4\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void flat_map_emits_zero_or_more_records_per_input(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_flat_map(in, "split", split_commas, NULL), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("x", "a,b,c", 1), R("y", "", 2), R("z", "only", 3), R("w", ",,d,", 4)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 4, &e));
  ST_EXPECT(d, "output", "x:a@1\nx:b@1\nx:c@1\nz:only@3\nw:d@4\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void flat_map_handles_batches_larger_than_the_initial_capacity(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_flat_map(in, "split", split_commas, NULL), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  enum { N = 500 };
  static beck_srec_t recs[N];
  static char vals[N][32];
  for (int i = 0; i < N; i++) {
    snprintf(vals[i], sizeof vals[i], "%d,%d,%d", i, i + 1, i + 2);
    recs[i] = R("k", vals[i], i);
  }
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, N, &e));
  assert_int_equal(beck_test_driver_topic_size(d, "output"), 3 * N);
  beck_srec_t r;
  for (int i = 0; i < 3 * N; i++) {
    assert_int_equal(beck_test_driver_read(d, "output", &r, NULL), 1);
    char want[16];
    int n = snprintf(want, sizeof want, "%d", i / 3 + i % 3);
    assert_int_equal(r.value.len, n);
    assert_memory_equal(r.value.ptr, want, (size_t)n);
    assert_int_equal(r.timestamp, i / 3);
  }
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void branch_routes_each_record_to_the_first_match(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  static const char a = 'a', b = 'b';
  beck_pred_fn preds[] = {starts_with, starts_with, NULL};
  void *uds[] = {(void *)&a, (void *)&b, NULL};
  beck_stream_t *arms[3];
  assert_int_equal(beck_stream_branch(in, "split", 3, preds, uds, arms), BECK_ERR_OK);
  assert_string_equal(beck_stream_name(arms[1]), "split-1");
  beck_stream_to(arms[0], "to-a", "out-a", NULL);
  beck_stream_to(arms[1], "to-b", "out-b", NULL);
  beck_stream_to(arms[2], "to-rest", "out-rest", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("1", "apple", 1), R("2", "banana", 2), R("3", "cherry", 3), R("4", "avocado", 4),
                        R("5", NULL, 5)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 5, &e));
  ST_EXPECT(d, "out-a", "1:apple@1\n4:avocado@4\n");
  ST_EXPECT(d, "out-b", "2:banana@2\n");
  ST_EXPECT(d, "out-rest", "3:cherry@3\n5:null@5\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void branch_without_default_drops_unmatched(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  static const char a = 'a';
  beck_pred_fn preds[] = {starts_with};
  void *uds[] = {(void *)&a};
  beck_stream_t *arms[1];
  assert_int_equal(beck_stream_branch(in, "only-a", 1, preds, uds, arms), BECK_ERR_OK);
  beck_stream_to(arms[0], "to-a", "out-a", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("1", "apple", 1), R("2", "banana", 2)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 2, &e));
  ST_EXPECT(d, "out-a", "1:apple@1\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void merge_passes_records_in_arrival_order(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *ins[2] = {beck_topology_stream(t, "left", "in-left", NULL),
                           beck_topology_stream(t, "right", "in-right", NULL)};
  beck_stream_to(beck_topology_merge(t, "both", 2, ins), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  ST_OK(e, st_pipe(d, "in-left", "l", "1", 30, &e));
  ST_OK(e, st_pipe(d, "in-right", "r", "2", 10, &e));
  ST_OK(e, st_pipe(d, "in-left", "l", "3", 20, &e));
  ST_EXPECT(d, "output", "l:1@30\nr:2@10\nl:3@20\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void peek_sees_every_record_and_changes_nothing(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  peek_log_t log = {{0}, 0};
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_peek(in, "look", log_peek, &log), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("a", "1", 1), R("b", "2", 2)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 2, &e));
  ST_EXPECT(d, "output", "a:1@1\nb:2@2\n");
  assert_string_equal(log.text, "look a=1;look b=2;");
  assert_int_equal(log.calls, 2);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void process_sees_whole_batches(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_process(in, "sum", summarize, NULL, false), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("a", "x", 1), R("b", "drop", 2), R("c", "y", 3)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 3, &e));
  ST_OK(e, st_pipe(d, "input", "d", "z", 4, &e));
  ST_EXPECT(d, "output", "batch:3@3\na:x@1\nc:y@3\nbatch:1@4\nd:z@4\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void headers_and_null_keys_pass_through_to_the_sink(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_map_values(in, "up", upper, NULL), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_record_header_t h[2] = {{beck_slice("trace", 5), beck_nstr("abc", 3)},
                               {beck_slice("empty", 5), beck_nstr_null()}};
  beck_srec_t r = R(NULL, "v", 7);
  r.headers = h;
  r.nheaders = 2;
  ST_OK(e, beck_test_driver_pipe(d, "input", &r, 1, &e));
  beck_srec_t o;
  assert_int_equal(beck_test_driver_read(d, "output", &o, NULL), 1);
  assert_int_equal(o.key.len, -1);
  assert_int_equal(o.value.len, 1);
  assert_memory_equal(o.value.ptr, "V", 1);
  assert_int_equal(o.timestamp, 7);
  assert_int_equal(o.nheaders, 2);
  assert_int_equal(o.headers[0].key.len, 5);
  assert_memory_equal(o.headers[0].key.ptr, "trace", 5);
  assert_int_equal(o.headers[0].value.len, 3);
  assert_memory_equal(o.headers[0].value.ptr, "abc", 3);
  assert_int_equal(o.headers[1].value.len, -1);
  assert_int_equal(beck_test_driver_read(d, "output", &o, NULL), 0);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void time_extractor_sets_event_time(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_source_opts_t so = {.time_fn = time_from_value};
  beck_stream_t *in = beck_topology_stream(t, "in", "input", &so);
  beck_stream_to(in, "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("a", "3", 1), R("b", "1", 2)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 2, &e));
  ST_EXPECT(d, "output", "a:3@3000\nb:1@1000\n");
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void sink_partitions_by_key_like_kafka(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_sink_opts_t so = {.partitions = 7};
  beck_stream_to(in, "out", "output", &so);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  enum { N = 200 };
  static char keys[N][16];
  static beck_srec_t recs[N];
  for (int i = 0; i < N; i++) {
    snprintf(keys[i], sizeof keys[i], "key-%d", i * 7919);
    recs[i] = R(keys[i], "v", i);
  }
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, N, &e));
  assert_int_equal(beck_test_driver_topic_size(d, "output"), N);
  beck_srec_t r;
  int32_t p;
  int seen = 0, last_p = 0;
  while (beck_test_driver_read(d, "output", &r, &p) == 1) {
    /* librdkafka's murmur2 partitioner is Kafka's Java default partitioner. */
    int32_t want = rd_kafka_msg_partitioner_murmur2(NULL, r.key.ptr, (size_t)r.key.len, 7, NULL, NULL);
    assert_int_equal(p, want);
    assert_true(p >= last_p);
    last_p = p;
    seen++;
  }
  assert_int_equal(seen, N);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void large_outputs_reach_the_sink_in_order(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_flat_map(in, "split", split_commas, NULL), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  enum { N = 12000 };
  static beck_srec_t recs[N];
  static char vals[N][24];
  for (int i = 0; i < N; i++) {
    snprintf(vals[i], sizeof vals[i], "%d,%d", 2 * i, 2 * i + 1);
    recs[i] = R("k", vals[i], i);
  }
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, N, &e));
  assert_int_equal(beck_test_driver_topic_size(d, "output"), 2 * N);
  beck_srec_t r;
  for (int i = 0; i < 2 * N; i++) {
    assert_int_equal(beck_test_driver_read(d, "output", &r, NULL), 1);
    char want[16];
    int n = snprintf(want, sizeof want, "%d", i);
    assert_int_equal(r.value.len, n);
    assert_memory_equal(r.value.ptr, want, (size_t)n);
  }
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void callback_error_fails_with_context(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_filter(in, "check", fails_on_bad, NULL), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("a", "ok", 1), R("b", "bad", 2)};
  beck_error_clear(&e);
  assert_int_equal(beck_test_driver_pipe(d, "input", recs, 2, &e), BECK_ERR_PARSE);
  assert_non_null(strstr(e.msg, "task 0_0"));
  assert_non_null(strstr(e.msg, "topic input partition 0 offsets 0..1"));
  assert_non_null(strstr(e.msg, "node 'check': cannot read value 'bad'"));
  /* nothing was committed: no output */
  assert_int_equal(beck_test_driver_topic_size(d, "output"), 0);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void skip_policy_drops_and_counts_failing_records(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_topology_set_on_error(t, BECK_ON_ERROR_SKIP);
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_to(beck_stream_filter(in, "check", fails_on_bad, NULL), "out", "output", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  beck_error_t e;
  beck_srec_t recs[] = {R("a", "ok", 1), R("b", "bad", 2), R("c", "fine", 3)};
  ST_OK(e, beck_test_driver_pipe(d, "input", recs, 3, &e));
  ST_EXPECT(d, "output", "a:ok@1\nc:fine@3\n");
  assert_int_equal(beck_test_driver_metric(d, "check", "skipped"), 1);
  assert_int_equal(beck_test_driver_metric(d, "check", "processed"), 2);
  assert_int_equal(beck_test_driver_metric(d, "nope", "skipped"), -1);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void builder_rejects_bad_steps_with_a_clear_first_error(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  assert_non_null(in);
  assert_null(beck_topology_stream(t, "in", "other", NULL));
  assert_int_equal(beck_topology_error(t)->code, BECK_ERR_EXISTS);
  assert_string_equal(beck_topology_error(t)->msg, "node name 'in' is already used");
  /* later calls change nothing and keep the first error */
  assert_null(beck_stream_filter(in, "f", value_at_least, NULL));
  assert_string_equal(beck_topology_error(t)->msg, "node name 'in' is already used");
  beck_topology_destroy(t);

  t = beck_topology_new("app");
  in = beck_topology_stream(t, "in", "input", NULL);
  assert_null(beck_stream_count(in, "c", NULL));
  assert_string_equal(beck_topology_error(t)->msg, "count: input 'in' is a stream");
  beck_topology_destroy(t);

  /* one source node per topic: a second would resume from the first's
   * committed offset after a restart */
  t = beck_topology_new("app");
  in = beck_topology_stream(t, "in", "input", NULL);
  assert_null(beck_topology_stream(t, "again", "input", NULL));
  assert_int_equal(beck_topology_error(t)->code, BECK_ERR_INVAL);
  assert_string_equal(beck_topology_error(t)->msg,
                      "source 'again': topic input is already read by node 'in'; read a topic once and use that "
                      "stream twice (two readers would share one committed offset)");
  beck_topology_destroy(t);
  t = beck_topology_new("app");
  in = beck_topology_stream(t, "in", "input", NULL);
  assert_null(beck_topology_table(t, "tbl", "input", NULL));
  assert_int_equal(beck_topology_error(t)->code, BECK_ERR_INVAL);
  beck_topology_destroy(t);

  t = beck_topology_new("app");
  assert_null(beck_topology_stream(t, "bad name", "x", NULL));
  assert_int_equal(beck_topology_error(t)->code, BECK_ERR_INVAL);
  beck_topology_destroy(t);

  t = beck_topology_new("app");
  in = beck_topology_stream(t, "in", "input", NULL);
  beck_window_spec_t w = {.kind = BECK_WINDOW_HOPPING, .size_ms = 10, .advance_ms = 20};
  assert_null(beck_stream_window(beck_stream_group_by_key(in, "g"), "w", &w));
  assert_string_equal(beck_topology_error(t)->msg,
                      "window w: hopping windows need size_ms > 0 and 0 < advance_ms <= size_ms");
  beck_topology_destroy(t);

  t = beck_topology_new("app");
  in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_t *tbl = beck_topology_table(t, "tbl", "table", NULL);
  beck_join_opts_t jo = {.kind = BECK_JOIN_OUTER};
  assert_null(beck_stream_join(in, tbl, "j", join_keep_left, NULL, &jo));
  assert_string_equal(beck_topology_error(t)->msg, "join: a stream-table join is inner or left, not outer");
  beck_topology_destroy(t);

  t = beck_topology_new("app");
  in = beck_topology_stream(t, "in", "input", NULL);
  beck_test_driver_t *d = st_driver(t, 0, NULL);
  assert_null(beck_stream_filter(in, "late", value_at_least, NULL));
  assert_int_equal(beck_topology_error(t)->code, BECK_ERR_STATE);
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
}

static void describe_shows_sub_topologies_and_repartition_topics(void **state) {
  beck_topology_t *t = beck_topology_new("app");
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_t *g = beck_stream_group_by(in, "by-first", first_char_of_value, NULL);
  beck_stream_to(beck_stream_to_stream(beck_stream_count(g, "counts", NULL), "changes"), "out", "output", NULL);
  beck_buf_t b = {0};
  assert_int_equal(beck_topology_describe(t, &b), BECK_ERR_OK);
  beck_buf_append(&b, "", 1);
  assert_string_equal((const char *)b.data,
                      "Topology app\n"
                      "  Sub-topology 0\n"
                      "    source in [topic input]\n"
                      "    group_by by-first <- in\n"
                      "    repartition_sink counts-repartition-sink [topic app-counts-repartition] <- by-first\n"
                      "  Sub-topology 1\n"
                      "    repartition_source counts-repartition-source [topic app-counts-repartition]\n"
                      "    count counts [store counts memory, changelog app-counts-changelog] <- "
                      "counts-repartition-source\n"
                      "    to_stream changes <- counts\n"
                      "    sink out [topic output] <- changes\n");
  beck_buf_free(&b);
  beck_topology_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(filter_keeps_matching_records_in_order),
      cmocka_unit_test(map_changes_key_value_and_timestamp),
      cmocka_unit_test(map_values_rewrites_values_with_arena_memory),
      cmocka_unit_test(select_key_rekeys_and_keeps_values),
      cmocka_unit_test(flat_map_emits_zero_or_more_records_per_input),
      cmocka_unit_test(flat_map_handles_batches_larger_than_the_initial_capacity),
      cmocka_unit_test(branch_routes_each_record_to_the_first_match),
      cmocka_unit_test(branch_without_default_drops_unmatched),
      cmocka_unit_test(merge_passes_records_in_arrival_order),
      cmocka_unit_test(peek_sees_every_record_and_changes_nothing),
      cmocka_unit_test(process_sees_whole_batches),
      cmocka_unit_test(headers_and_null_keys_pass_through_to_the_sink),
      cmocka_unit_test(time_extractor_sets_event_time),
      cmocka_unit_test(sink_partitions_by_key_like_kafka),
      cmocka_unit_test(large_outputs_reach_the_sink_in_order),
      cmocka_unit_test(callback_error_fails_with_context),
      cmocka_unit_test(skip_policy_drops_and_counts_failing_records),
      cmocka_unit_test(builder_rejects_bad_steps_with_a_clear_first_error),
      cmocka_unit_test(describe_shows_sub_topologies_and_repartition_topics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
