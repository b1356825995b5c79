/* test_pipeline_runtime.c - connect/pipeline's runtime: every kind of step
 * compiled onto the streams runtime gives its exact output (the tests of
 * fixtures/runtime/steps.yaml, run on the deterministic test driver); the
 * example pipelines and the docs' examples are valid against the real
 * built connector plugins and pass their own tests; a mismatch is reported
 * as an exact diff; a runtime expression error names the file, line, column
 * and step; compiled node names follow the streams and steps; streams that
 * read one topic share its source node (one committed offset per topic
 * partition). `beck run` itself is tested end to end by
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

#include "base/alloc.h"
#include "connect/pipeline/runtime.h"

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
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
