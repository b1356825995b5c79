/* test_pipeline_runtime.c - connect/pipeline's runtime: every kind of step
 * compiled onto the streams runtime gives its exact output (the tests of
 * fixtures/runtime/steps.yaml, run on the deterministic test driver); the
 * example pipelines and the docs' examples are valid against the real
 * built connector plugins and pass their own tests; a mismatch is reported
 * as an exact diff; a runtime expression error names the file, line, column
 * and step; compiled node names follow the streams and steps; streams that
 * read one topic share its source node (one committed offset per topic
 * partition); a run that reads nothing new still closes the windows an
 * earlier run left open. `beck run` itself is tested end to end by
 * tests/integration/test_pipelines.py (and killed by test_pipeline_kill.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "connect/pipeline/runtime.h"
#include "tmpdir.h"

#define FIXTURE(name) BECK_FIXTURE_DIR "/runtime/" name

static beck_plugin_set_t *plugins;
static beck_pipeline_connectors_t connectors;

static int setup(void **state) {
  beck_error_t e;
  if (beck_plugin_set_discover(BECK_PLUGIN_DIR, 1, &plugins, &e) != BECK_ERR_OK)
    return -1;
  beck_pipeline_connectors_from_plugins(plugins, &connectors);
  return beck_plugin_set_count(plugins) >= 5 ? 0 : -1;
}

static int teardown(void **state) {
  beck_plugin_set_free(plugins);
  return 0;
}

static const char *diag_text(beck_pipeline_diags_t *d) {
  static char buf[8192];
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; d != NULL && i < beck_pipeline_diags_count(d) && n < sizeof buf; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\n", beck_pipeline_diags_get(d, i)->text);
  return buf;
}

static beck_pipeline_t *load_file(const char *path, bool with_connectors) {
  beck_pipeline_load_opts_t o = {.connectors = with_connectors ? &connectors : NULL};
  beck_pipeline_t *p = NULL;
  beck_pipeline_diags_t *d = NULL;
  if (beck_pipeline_load_file(path, &o, &p, &d) != BECK_ERR_OK)
    fail_msg("%s does not load:\n%s", path, diag_text(d));
  beck_pipeline_diags_free(d);
  return p;
}

static beck_pipeline_t *load_text(const char *text) {
  beck_pipeline_t *p = NULL;
  beck_pipeline_diags_t *d = NULL;
  if (beck_pipeline_load_string("t.yaml", text, strlen(text), NULL, &p, &d) != BECK_ERR_OK)
    fail_msg("does not load:\n%s\n%s", text, diag_text(d));
  beck_pipeline_diags_free(d);
  return p;
}

/* Runs every test of p; fails with the reports of those that fail. */
static void all_tests_pass(const beck_pipeline_t *p) {
  assert_true(p->ntests > 0);
  for (size_t i = 0; i < p->ntests; i++) {
    beck_pipeline_test_result_t res;
    beck_error_t e;
    beck_error_clear(&e);
    beck_pipeline_test_run(p, i, &res, &e);
    if (!res.passed)
      fail_msg("%s: test '%s' failed:\n%s", p->file, p->tests[i].name, (const char *)res.report.data);
    beck_buf_free(&res.report);
  }
}

static void every_step_gives_its_exact_output(void **state) {
  beck_pipeline_t *p = load_file(FIXTURE("steps.yaml"), true);
  assert_int_equal(p->ntests, 12);
  all_tests_pass(p);
  beck_pipeline_free(p);
}

static void examples_are_valid_against_the_real_plugins_and_pass_their_tests(void **state) {
  glob_t g;
  assert_int_equal(glob(BECK_PIPELINES_DIR "/*.yaml", 0, NULL, &g), 0);
  assert_true(g.gl_pathc >= 4);
  for (size_t i = 0; i < g.gl_pathc; i++) {
    beck_pipeline_t *p = load_file(g.gl_pathv[i], true);
    all_tests_pass(p);
    beck_pipeline_free(p);
  }
  globfree(&g);
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

static void docs_examples_use_the_real_connector_options(void **state) {
  char *doc = read_all(BECK_DOCS_FILE);
  int found = 0;
  setenv("PG_DSN", "host=127.0.0.1 dbname=postgres", 0);
  for (char *b = strstr(doc, "```yaml\npipeline:"); b != NULL; b = strstr(b, "```yaml\npipeline:")) {
    b += 8;
    char *e = strstr(b, "```");
    assert_non_null(e);
    *e = '\0';
    beck_pipeline_load_opts_t o = {.connectors = &connectors};
    beck_pipeline_t *p = NULL;
    beck_pipeline_diags_t *d = NULL;
    if (beck_pipeline_load_string("doc.yaml", b, strlen(b), &o, &p, &d) != BECK_ERR_OK)
      fail_msg("a docs example is not valid against the built plugins:\n%s\n%s", b, diag_text(d));
    beck_pipeline_free(p);
    beck_pipeline_diags_free(d);
    found++;
    b = e + 1;
  }
  assert_true(found >= 1);
  free(doc);
}

static void a_mismatch_is_reported_as_a_diff(void **state) {
  beck_pipeline_t *p =
      load_text("pipeline: p\n"
                "topics: { in: {} }\n"
                "streams:\n"
                "  - from: in\n"
                "    steps:\n"
                "      - map: '{n: value.n * 10}'\n"
                "    to: out\n"
                "tests:\n"
                "  - name: tens\n"
                "    inputs:\n"
                "      - in: [ { key: a, value: { n: 1 } }, { key: b, value: { n: 2 }, timestamp: 90s } ]\n"
                "    expect:\n"
                "      out:\n"
                "        - { key: a, value: { n: 10 } }\n"
                "        - { key: b, value: { n: 30 }, timestamp: 90s }\n");
  beck_pipeline_test_result_t res;
  beck_error_t e;
  assert_int_equal(beck_pipeline_test_run(p, 0, &res, &e), BECK_ERR_OK);
  assert_false(res.passed);
  assert_string_equal((const char *)res.report.data,
                      "  out (t.yaml:13:7): expected 2 records, got 2 (1 missing, 1 unexpected)\n"
                      "      { key: a, value: {\"n\":10}, timestamp: 0s }\n"
                      "    + { key: b, value: {\"n\":20}, timestamp: 1m30s }\n"
                      "    - { key: b, value: {\"n\":30}, timestamp: 1m30s }\n");
  beck_buf_free(&res.report);
  beck_pipeline_free(p);
}

static void a_runtime_error_names_the_file_position_and_step(void **state) {
  beck_pipeline_t *p = load_text("pipeline: p\n"
                                 "topics: { in: {} }\n"
                                 "streams:\n"
                                 "  - name: sums\n"
                                 "    from: in\n"
                                 "    steps:\n"
                                 "      - filter: value.a + 1 > 2\n"
                                 "    to: out\n"
                                 "tests:\n"
                                 "  - name: a string where a number was expected\n"
                                 "    inputs:\n"
                                 "      - in: { value: { a: x } }\n"
                                 "    expect: { out: [] }\n");
  beck_pipeline_test_result_t res;
  beck_error_t e;
  beck_error_clear(&e);
  assert_int_not_equal(beck_pipeline_test_run(p, 0, &res, &e), BECK_ERR_OK);
  assert_false(res.passed);
  const char *r = (const char *)res.report.data;
  if (strstr(r, "t.yaml:12:9: input 1 (to in): ") == NULL ||
      strstr(r, "t.yaml:7:9: step 'filter' of stream 'sums': column 9:") == NULL)
    fail_msg("report: %s", r);
  beck_buf_free(&res.report);
  beck_pipeline_free(p);
}

static void on_error_skip_drops_the_record_and_goes_on(void **state) {
  beck_pipeline_t *p = load_text("pipeline: p\n"
                                 "topics: { in: {} }\n"
                                 "streams:\n"
                                 "  - from: in\n"
                                 "    steps:\n"
                                 "      - map: '{b: value.a + 1}'\n"
                                 "    to: out\n"
                                 "run: { on_error: skip }\n"
                                 "tests:\n"
                                 "  - name: the bad record is dropped\n"
                                 "    inputs:\n"
                                 "      - in: [ { value: { a: 1 } }, { value: { a: x } }, { value: { a: 2 } } ]\n"
                                 "    expect:\n"
                                 "      out: [ { value: { b: 2 } }, { value: { b: 3 } } ]\n");
  all_tests_pass(p);
  beck_pipeline_free(p);
}

static void nodes_are_named_after_streams_and_steps(void **state) {
  beck_pipeline_t *p = load_text("pipeline: shop\n"
                                 "topics: { orders: {} }\n"
                                 "streams:\n"
                                 "  - name: per-user\n"
                                 "    from: orders\n"
                                 "    steps:\n"
                                 "      - select_key: value.user\n"
                                 "      - window: { tumbling: 1m, grace: 10s }\n"
                                 "      - aggregate: { n: count() }\n"
                                 "      - filter: value.n > 1\n"
                                 "    to: busy_users\n");
  beck_pipeline_compiled_t *c;
  beck_error_t e;
  assert_int_equal(beck_pipeline_compile(p, &c, &e), BECK_ERR_OK);
  beck_buf_t out = {0};
  assert_int_equal(beck_topology_describe(beck_pipeline_compiled_topology(c), &out), BECK_ERR_OK);
  beck_buf_append(&out, "", 1);
  const char *want[] = {"per-user-from",   "per-user-steps",  "per-user-group", "per-user-window", "per-user-aggregate",
                        "per-user-result", "per-user-steps2", "per-user-out",   "per-user-to"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (strstr((const char *)out.data, want[i]) == NULL)
      fail_msg("no node %s in\n%s", want[i], (const char *)out.data);
  /* a finite input ends 1m + 10s (+ 1 ms) after the latest record */
  assert_int_equal(beck_pipeline_compiled_horizon(c), 70002);
  assert_int_equal(beck_pipeline_compiled_max_time(c), INT64_MIN);
  beck_buf_free(&out);
  beck_pipeline_compiled_free(c);
  beck_pipeline_free(p);
}

/* Two streams, a merge, a stream-stream join and a table reading one topic
 * compile to one source node of that topic (the streams runtime resumes
 * every reader of a topic partition from one committed offset: two source
 * nodes would skip records after a restart), and still give each their
 * records. */
static void readers_of_one_topic_share_its_source_node(void **state) {
  beck_pipeline_t *p = load_text("pipeline: shop\n"
                                 "topics: { orders: {}, more: {} }\n"
                                 "tables:\n"
                                 "  last: { from: orders }\n"
                                 "streams:\n"
                                 "  - name: copy\n"
                                 "    from: orders\n"
                                 "    to: copied\n"
                                 "  - name: counts\n"
                                 "    from: orders\n"
                                 "    steps:\n"
                                 "      - aggregate: { n: count() }\n"
                                 "    to: counted\n"
                                 "  - name: both\n"
                                 "    from: more\n"
                                 "    steps:\n"
                                 "      - merge: orders\n"
                                 "    to: merged\n"
                                 "  - name: seen\n"
                                 "    from: more\n"
                                 "    steps:\n"
                                 "      - join: { with: last, type: left, select: '{v: left, last: right}' }\n"
                                 "    to: joined\n"
                                 "tests:\n"
                                 "  - name: every reader gets every record\n"
                                 "    inputs:\n"
                                 "      - orders: [ { key: a, value: 1 }, { key: a, value: 2 } ]\n"
                                 "      - more: { key: a, value: 3 }\n"
                                 "    expect:\n"
                                 "      copied: [ { key: a, value: 1 }, { key: a, value: 2 } ]\n"
                                 "      counted: [ { key: a, value: { n: 1 } }, { key: a, value: { n: 2 } } ]\n"
                                 "      merged: [ { value: 1 }, { value: 2 }, { value: 3 } ]\n"
                                 "      joined: [ { key: a, value: { v: 3, last: 2 } } ]\n");
  beck_pipeline_compiled_t *c;
  beck_error_t e;
  assert_int_equal(beck_pipeline_compile(p, &c, &e), BECK_ERR_OK);
  beck_buf_t out = {0};
  assert_int_equal(beck_topology_describe(beck_pipeline_compiled_topology(c), &out), BECK_ERR_OK);
  beck_buf_append(&out, "", 1);
  int sources = 0;
  for (const char *x = (const char *)out.data; (x = strstr(x, "[topic orders]")) != NULL; x++)
    sources++;
  if (sources != 1)
    fail_msg("%d nodes read topic orders:\n%s", sources, (const char *)out.data);
  beck_buf_free(&out);
  beck_pipeline_compiled_free(c);
  all_tests_pass(p);
  beck_pipeline_free(p);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  int n = 0, ch;
  while ((ch = fgetc(f)) != EOF)
    n += ch == '\n';
  fclose(f);
  return n;
}

/* Polls r until its first stream has read `records` (> 0) or, with
 * records == 0, until its sinks have drained; fails after 30 s. */
static void wait_for(beck_pipeline_runner_t *r, uint64_t records) {
  int64_t deadline = now_ms() + 30000;
  while (now_ms() < deadline) {
    beck_pipeline_status_t st;
    assert_int_not_equal(beck_pipeline_runner_poll(r, &st), BECK_PIPELINE_FAILED);
    if (records == 0 && beck_pipeline_runner_drained(r))
      return;
    for (size_t i = 0; records > 0 && i < st.n; i++)
      if (st.items[i].kind == BECK_PIPELINE_ITEM_STREAM && st.items[i].records >= records)
        return;
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
  }
  fail_msg("the pipeline did not get there in 30 s");
}

/* A run stopped (Ctrl-C) before its input ended leaves the last window
 * open; the next run over the same data directory reads nothing new, and
 * when its input ends it must still close that window: the largest event
 * time seen is kept across runs. */
static void a_run_with_nothing_new_closes_the_windows_left_open(void **state) {
  char *dir = beck_test_tmpdir("plrun");
  char in[512], out[512], data[512], text[2048];
  snprintf(in, sizeof in, "%s/in.jsonl", dir);
  snprintf(out, sizeof out, "%s/out.jsonl", dir);
  snprintf(data, sizeof data, "%s/data", dir);
  FILE *f = fopen(in, "w");
  assert_non_null(f);
  fputs("{\"u\":\"a\",\"ts\":10000}\n{\"u\":\"b\",\"ts\":20000}\n{\"u\":\"a\",\"ts\":70000}\n", f);
  fclose(f);
  snprintf(text, sizeof text,
           "pipeline: resume\n"
           "sources:\n"
           "  in: { connector: file, config: { file.path: \"%s\", format: json } }\n"
           "streams:\n"
           "  - name: per-user\n"
           "    from: in\n"
           "    timestamp: value.ts\n"
           "    steps:\n"
           "      - select_key: value.u\n"
           "      - window: { tumbling: 1m, emit: final }\n"
           "      - aggregate: { u: key, n: count() }\n"
           "    to: counts\n"
           "sinks:\n"
           "  out: { connector: file, from: counts, config: { file.path: \"%s\" } }\n",
           in, out);
  beck_pipeline_t *p = load_text(text);
  beck_pipeline_run_config_t cfg = {.data_dir = data, .plugins = plugins, .stop_when_idle_ms = -1};
  beck_error_t e;
  beck_pipeline_runner_t *r;
  /* run 1: reads the three records (window [0, 1m) closes at 70s), then stops */
  if (beck_pipeline_runner_new(p, &cfg, &r, &e) != BECK_ERR_OK || beck_pipeline_runner_start(r, &e) != BECK_ERR_OK)
    fail_msg("%s", e.msg);
  wait_for(r, 3);
  wait_for(r, 0);
  assert_int_equal(beck_pipeline_runner_stop(r, &e), BECK_ERR_OK);
  beck_pipeline_runner_free(r);
  assert_int_equal(count_lines(out), 2);
  /* run 2: nothing new; the input ends: window [1m, 2m) of a closes */
  if (beck_pipeline_runner_new(p, &cfg, &r, &e) != BECK_ERR_OK || beck_pipeline_runner_start(r, &e) != BECK_ERR_OK)
    fail_msg("%s", e.msg);
  assert_int_equal(beck_pipeline_runner_end_input(r, &e), BECK_ERR_OK);
  wait_for(r, 0);
  assert_int_equal(beck_pipeline_runner_stop(r, &e), BECK_ERR_OK);
  beck_pipeline_runner_free(r);
  assert_int_equal(count_lines(out), 3);
  beck_pipeline_free(p);
  beck_test_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_step_gives_its_exact_output),
      cmocka_unit_test(examples_are_valid_against_the_real_plugins_and_pass_their_tests),
      cmocka_unit_test(docs_examples_use_the_real_connector_options),
      cmocka_unit_test(a_mismatch_is_reported_as_a_diff),
      cmocka_unit_test(a_runtime_error_names_the_file_position_and_step),
      cmocka_unit_test(on_error_skip_drops_the_record_and_goes_on),
      cmocka_unit_test(nodes_are_named_after_streams_and_steps),
      cmocka_unit_test(readers_of_one_topic_share_its_source_node),
      cmocka_unit_test(a_run_with_nothing_new_closes_the_windows_left_open),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
