/* test_pipeline_loader.c - connect/pipeline: a valid file loads into the
 * expected structure; each class of mistake gives its exact message and
 * position (bad indentation, unknown key, wrong type, unknown function, type
 * error in an expression, unknown connector, missing required option,
 * undefined topic, cycle, and more); every problem of a file is reported;
 * the option reference in docs/pipelines.md matches the binding tables.
 * Connector schemas come from a fake table, as the Connect worker will
 * provide them. Fixtures: tests/unit/connect/fixtures/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "connect/pipeline/pipeline.h"

#define FIXTURE(name) BECK_FIXTURE_DIR "/" name

/* ---- a fake connector registry ---- */

static const beck_connector_option_t file_opts[] = {
    {.name = "path", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "File to read."},
    {.name = "format", .type = BECK_CONNECTOR_OPT_ENUM, .default_value = "lines", .choices = "lines|json",
     .description = "How lines are read."},
    {.name = "poll", .type = BECK_CONNECTOR_OPT_DURATION, .default_value = "1s", .min = 10, .max = 60000,
     .description = "How often to look for new lines."},
};
static const beck_connector_option_t datagen_opts[] = {
    {.name = "rate", .type = BECK_CONNECTOR_OPT_INT, .min = 1, .max = 1000000, .description = "Records per second."},
    {.name = "max.records", .type = BECK_CONNECTOR_OPT_INT, .description = "Stop after this many."},
};
static const beck_connector_option_t postgres_opts[] = {
    {.name = "dsn", .type = BECK_CONNECTOR_OPT_PASSWORD, .required = 1, .description = "libpq connection string."},
    {.name = "table", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "Target table."},
    {.name = "mode", .type = BECK_CONNECTOR_OPT_ENUM, .choices = "insert|upsert", .default_value = "insert",
     .description = "Insert or upsert by key."},
};
static const beck_connector_option_t worker_opts[] = {
    {.name = "batch.max.records", .type = BECK_CONNECTOR_OPT_INT, .min = 1, .max = 1000000,
     .description = "Most records per batch."},
    {.name = "errors.tolerance", .type = BECK_CONNECTOR_OPT_ENUM, .choices = "none|all", .description = "x"},
};

static const struct fake {
  const char *name;
  beck_connector_kind_t kind;
  const beck_connector_option_t *opts;
  size_t n;
} fakes[] = {
    {"file", BECK_CONNECTOR_SOURCE, file_opts, 3},
    {"datagen", BECK_CONNECTOR_SOURCE, datagen_opts, 2},
    {"postgres", BECK_CONNECTOR_SINK, postgres_opts, 3},
    {"stdout", BECK_CONNECTOR_SINK, NULL, 0},
};

static bool fake_lookup(void *ud, const char *name, beck_pipeline_connector_t *out) {
  for (size_t i = 0; i < sizeof fakes / sizeof fakes[0]; i++) {
    if (strcmp(fakes[i].name, name) == 0) {
      out->kind = fakes[i].kind;
      out->options = fakes[i].opts;
      out->option_count = fakes[i].n;
      out->option_size = sizeof(beck_connector_option_t);
      out->extra = worker_opts;
      out->extra_count = 2;
      return true;
    }
  }
  return false;
}

static const char *fake_name_at(void *ud, size_t i) {
  return i < sizeof fakes / sizeof fakes[0] ? fakes[i].name : NULL;
}

static const beck_pipeline_connectors_t connectors = {NULL, fake_lookup, fake_name_at};

/* ---- environment ---- */

static const char *env_vars[8][2];

static const char *fake_getenv(void *ud, const char *name) {
  for (size_t i = 0; i < 8 && env_vars[i][0]; i++)
    if (strcmp(env_vars[i][0], name) == 0)
      return env_vars[i][1];
  return NULL;
}

static beck_pipeline_load_opts_t opts(void) {
  beck_pipeline_load_opts_t o = {.connectors = &connectors, .getenv = fake_getenv};
  return o;
}

/* ---- helpers ---- */

static char problems[16384];

/* Loads a fixture; returns the problems, one "LINE:COL: message" per line
 * (the file name is checked separately). */
static const char *problems_of(beck_err_t rc, beck_pipeline_t *p, beck_pipeline_diags_t *d, const char *file) {
  size_t len = 0;
  problems[0] = '\0';
  for (size_t i = 0; i < beck_pipeline_diags_count(d); i++) {
    const beck_pipeline_diag_t *g = beck_pipeline_diags_get(d, i);
    size_t fl = strlen(file);
    assert_memory_equal(g->text, file, fl); /* FILE:LINE:COL: ... */
    len += (size_t)snprintf(problems + len, sizeof problems - len, "%s%u:%u: %s", i ? "\n" : "", g->line, g->col,
                            g->message);
  }
  if (rc == BECK_ERR_OK)
    assert_non_null(p);
  else
    assert_null(p);
  return problems;
}

static const char *load_fixture_rc(const char *name, beck_err_t want_rc) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", BECK_FIXTURE_DIR, name);
  beck_pipeline_load_opts_t o = opts();
  beck_pipeline_t *p = NULL;
  beck_pipeline_diags_t *d = NULL;
  beck_err_t rc = beck_pipeline_load_file(path, &o, &p, &d);
  assert_int_equal(rc, want_rc);
  problems_of(rc, p, d, path);
  beck_pipeline_free(p);
  beck_pipeline_diags_free(d);
  return problems;
}

static const char *load_fixture(const char *name) { return load_fixture_rc(name, BECK_ERR_INVAL); }

static const char *load_text_rc(const char *text, beck_err_t want_rc) {
  beck_pipeline_load_opts_t o = opts();
  beck_pipeline_t *p = NULL;
  beck_pipeline_diags_t *d = NULL;
  beck_err_t rc = beck_pipeline_load_string("t.yaml", text, strlen(text), &o, &p, &d);
  if (rc != want_rc)
    fail_msg("rc %d (want %d) for:\n%s\nproblems:\n%s", rc, want_rc, text, problems_of(rc, p, d, "t.yaml"));
  problems_of(rc, p, d, "t.yaml");
  beck_pipeline_free(p);
  beck_pipeline_diags_free(d);
  return problems;
}

static const char *load_text(const char *text) { return load_text_rc(text, BECK_ERR_INVAL); }

static void expect_problems(const char *got, const char *want) {
  if (strcmp(got, want) != 0)
    fail_msg("problems differ\n--- expected\n%s\n--- got\n%s", want, got);
}

static const char *option(const beck_pipeline_option_t *o, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(o[i].name, name) == 0)
      return o[i].value;
  return NULL;
}

static char json_buf[4096];
static const char *json_text(json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  snprintf(json_buf, sizeof json_buf, "%s", s ? s : "(null)");
  free(s);
  return json_buf;
}

/* Evaluates a compiled expression against a record value given as JSON. */
static const char *eval_on(const beck_expr_t *x, const char *value_json) {
  json_error_t je;
  json_t *v = json_loads(value_json, JSON_DECODE_ANY, &je);
  assert_non_null(v);
  beck_expr_input_t in;
  memset(&in, 0, sizeof in);
  in.value = beck_val_from_json(v);
  beck_expr_ctx_t c;
  beck_expr_ctx_init(&c);
  beck_val_t out;
  assert_int_equal(beck_expr_eval(x, &in, &c, &out), BECK_ERR_OK);
  beck_buf_t b = {0};
  beck_val_write_json(&out, &b);
  snprintf(json_buf, sizeof json_buf, "%.*s", (int)b.len, (const char *)b.data);
  beck_buf_free(&b);
  beck_expr_ctx_destroy(&c);
  json_decref(v);
  return json_buf;
}

/* ---- a valid file ---- */

static void valid_file_loads_into_the_expected_structure(void **state) {
  beck_pipeline_load_opts_t o = opts();
  beck_pipeline_t *p = NULL;
  beck_pipeline_diags_t *d = NULL;
  beck_err_t rc = beck_pipeline_load_file(FIXTURE("valid.yaml"), &o, &p, &d);
  if (rc != BECK_ERR_OK)
    fail_msg("%s", problems_of(rc, p, d, FIXTURE("valid.yaml")));
  assert_int_equal(beck_pipeline_diags_count(d), 0);
  beck_pipeline_diags_free(d);

  assert_string_equal(p->name, "shop-analytics");
  assert_string_equal(p->description, "Clicks and orders per page, enriched with users.");
  assert_string_equal(p->file, FIXTURE("valid.yaml"));

  /* topics */
  assert_int_equal(p->ntopics, 2);
  assert_string_equal(p->topics[0].name, "users");
  assert_int_equal(p->topics[0].partitions, 3);
  assert_int_equal(p->topics[0].retention_ms, 7 * 86400000LL);
  assert_int_equal(p->topics[0].retention_bytes, 64 << 20);
  assert_int_equal(p->topics[1].retention_ms, -1);
  assert_int_equal(p->topics[1].retention_bytes, -1);
  assert_int_equal(p->topics[0].nconfig, 1);
  assert_string_equal(p->topics[0].config[0].name, "cleanup.policy");
  assert_string_equal(p->topics[0].config[0].value, "compact");
  assert_string_equal(p->topics[1].name, "payments");
  assert_int_equal(p->topics[1].partitions, 0);

  /* sources: ${DATA_DIR:-data} took its default; topic defaults to the name */
  assert_int_equal(p->nsources, 2);
  const beck_pipeline_source_t *clicks = beck_pipeline_find_source(p, "clicks");
  assert_non_null(clicks);
  assert_string_equal(clicks->connector, "file");
  assert_string_equal(clicks->topic, "clicks");
  assert_int_equal(clicks->pos.line, 10);
  assert_int_equal(clicks->pos.col, 3);
  assert_string_equal(option(clicks->config, clicks->nconfig, "path"), "data/clicks.jsonl");
  assert_string_equal(option(clicks->config, clicks->nconfig, "format"), "json");
  const beck_pipeline_source_t *orders = &p->sources[1];
  assert_string_equal(orders->name, "orders");
  assert_string_equal(orders->topic, "orders");
  assert_string_equal(option(orders->config, orders->nconfig, "rate"), "100");
  assert_string_equal(option(orders->config, orders->nconfig, "max.records"), "1000");
  assert_int_equal(orders->config[1].pos.line, 18);
  assert_int_equal(orders->config[1].pos.col, 39);

  /* tables */
  assert_int_equal(p->ntables, 1);
  const beck_pipeline_table_t *users = beck_pipeline_find_table(p, "users_by_id");
  assert_non_null(users);
  assert_string_equal(users->topic, "users");
  assert_string_equal(beck_expr_source(users->key), "value.id");
  assert_int_equal(users->store, BECK_PIPELINE_STORE_SQLITE);

  assert_int_equal(p->nstreams, 4);

  /* stream 1: filter, select_key, window, aggregate */
  const beck_pipeline_stream_t *s = &p->streams[0];
  assert_string_equal(s->name, "pages");
  assert_int_equal(s->nfrom, 1);
  assert_string_equal(s->from[0], "clicks");
  assert_string_equal(s->to, "clicks_per_page");
  assert_int_equal(s->nsteps, 4);
  assert_int_equal(s->steps[0].kind, BECK_STEP_FILTER);
  assert_int_equal(s->steps[0].pos.line, 30);
  assert_int_equal(s->steps[0].pos.col, 9);
  assert_int_equal(beck_expr_type(s->steps[0].u.filter), BECK_TYPE_BOOL);
  assert_string_equal(eval_on(s->steps[0].u.filter, "{\"kind\": \"click\", \"page\": \"home\"}"), "true");
  assert_string_equal(eval_on(s->steps[0].u.filter, "{\"kind\": \"click\"}"), "false");
  assert_int_equal(s->steps[1].kind, BECK_STEP_SELECT_KEY);
  assert_string_equal(beck_expr_source(s->steps[1].u.select_key), "value.page");
  assert_int_equal(s->steps[2].kind, BECK_STEP_WINDOW);
  const beck_pipeline_window_t *w = &s->steps[2].u.window;
  assert_int_equal(w->kind, BECK_PIPELINE_WINDOW_TUMBLING);
  assert_int_equal(w->size_ms, 60000);
  assert_int_equal(w->grace_ms, 10000);
  assert_int_equal(w->emit, BECK_PIPELINE_EMIT_FINAL);
  assert_string_equal(w->late_topic, "late_clicks");
  assert_int_equal(s->steps[3].kind, BECK_STEP_AGGREGATE);
  const beck_expr_t *agg = s->steps[3].u.aggregate;
  assert_int_equal(beck_expr_agg_count(agg), 2);
  assert_int_equal(beck_expr_agg(agg, 0)->kind, BECK_AGG_COUNT);
  assert_int_equal(beck_expr_agg(agg, 1)->kind, BECK_AGG_COUNT_DISTINCT);
  assert_string_equal(beck_expr_source(agg), "{page: key, start: window.start, clicks: count(), visitors: "
                                             "count_distinct(value.user)}");

  /* stream 2: map (nested), select_key, stream-table join, dedupe, branch */
  s = &p->streams[1];
  assert_string_equal(s->name, "enriched");
  assert_int_equal(s->nfrom, 2);
  assert_string_equal(s->from[1], "payments");
  assert_null(s->to); /* the branch routes everything */
  assert_int_equal(s->nsteps, 5);
  assert_int_equal(s->steps[0].kind, BECK_STEP_MAP);
  assert_string_equal(eval_on(s->steps[0].u.map, "{\"order_id\": 9, \"amount\": 2000, \"user_id\": 7}"),
                      "{\"id\":9,\"amount\":2400.0,\"customer\":{\"id\":7,\"vip\":true}}");
  assert_int_equal(beck_expr_roots(s->steps[0].u.map), BECK_ROOT_VALUE);
  const beck_pipeline_join_t *j = &s->steps[2].u.join;
  assert_int_equal(s->steps[2].kind, BECK_STEP_JOIN);
  assert_string_equal(j->with, "users_by_id");
  assert_true(j->with_table);
  assert_int_equal(j->kind, BECK_PIPELINE_JOIN_LEFT);
  assert_int_equal(j->before_ms, -1);
  assert_int_equal(j->after_ms, -1);
  assert_string_equal(beck_expr_source(j->select), "{order: left, user: right.name ?? \"unknown\"}");
  assert_int_equal(beck_expr_roots(j->select), BECK_ROOT_LEFT | BECK_ROOT_RIGHT);
  assert_int_equal(s->steps[3].kind, BECK_STEP_DEDUPE);
  assert_string_equal(beck_expr_source(s->steps[3].u.dedupe.by), "value.order.id");
  assert_int_equal(s->steps[3].u.dedupe.within_ms, 3600000);
  assert_int_equal(s->steps[4].kind, BECK_STEP_BRANCH);
  assert_int_equal(s->steps[4].u.branch.n, 2);
  assert_string_equal(s->steps[4].u.branch.items[0].to, "big_orders");
  assert_string_equal(eval_on(s->steps[4].u.branch.items[0].when, "{\"order\": {\"amount\": 101}}"), "true");
  assert_null(s->steps[4].u.branch.items[1].when);
  assert_string_equal(s->steps[4].u.branch.items[1].to, "small_orders");

  /* stream 3: flat_map, stream-stream join, hopping window, table */
  s = &p->streams[2];
  assert_string_equal(s->name, "stream-3");
  assert_int_equal(s->steps[0].kind, BECK_STEP_FLAT_MAP);
  assert_string_equal(eval_on(s->steps[0].u.flat_map, "{\"order\": {}}"), "[]");
  j = &s->steps[1].u.join;
  assert_string_equal(j->with, "payments");
  assert_false(j->with_table);
  assert_int_equal(j->kind, BECK_PIPELINE_JOIN_OUTER);
  assert_int_equal(j->before_ms, 300000);
  assert_int_equal(j->after_ms, 300000);
  assert_int_equal(j->grace_ms, 30000);
  assert_null(j->select);
  w = &s->steps[2].u.window;
  assert_int_equal(w->kind, BECK_PIPELINE_WINDOW_HOPPING);
  assert_int_equal(w->size_ms, 300000);
  assert_int_equal(w->advance_ms, 60000);
  assert_int_equal(w->grace_ms, 0);
  assert_int_equal(w->emit, BECK_PIPELINE_EMIT_UPDATE);
  assert_null(w->late_topic);
  assert_int_equal(s->steps[4].kind, BECK_STEP_TABLE);
  assert_string_equal(s->steps[4].u.table, "order_totals");

  /* stream 4: merge, session window, collect */
  s = &p->streams[3];
  assert_int_equal(s->steps[0].kind, BECK_STEP_MERGE);
  assert_int_equal(s->steps[0].u.merge.n, 1);
  assert_string_equal(s->steps[0].u.merge.topics[0], "big_orders");
  assert_int_equal(s->steps[1].u.window.kind, BECK_PIPELINE_WINDOW_SESSION);
  assert_int_equal(s->steps[1].u.window.gap_ms, 1800000);
  assert_int_equal(beck_expr_agg(s->steps[2].u.aggregate, 0)->kind, BECK_AGG_COLLECT);

  /* sinks */
  assert_int_equal(p->nsinks, 2);
  assert_string_equal(p->sinks[0].name, "pages_db");
  assert_string_equal(p->sinks[0].connector, "postgres");
  assert_int_equal(p->sinks[0].nfrom, 1);
  assert_string_equal(p->sinks[0].from[0], "clicks_per_page");
  assert_string_equal(option(p->sinks[0].config, p->sinks[0].nconfig, "dsn"), "postgres://localhost/beck");
  assert_string_equal(option(p->sinks[0].config, p->sinks[0].nconfig, "mode"), "upsert");
  assert_int_equal(p->sinks[1].nfrom, 2);
  assert_string_equal(p->sinks[1].from[1], "late_clicks");

  /* tests */
  assert_int_equal(p->ntests, 1);
  const beck_pipeline_test_t *t = &p->tests[0];
  assert_string_equal(t->name, "two clicks on one page in one minute");
  assert_int_equal(t->ninputs, 6);
  const beck_pipeline_test_input_t *in = t->inputs;
  assert_int_equal(in[0].kind, BECK_PIPELINE_TEST_SEND);
  assert_string_equal(in[0].source, "clicks");
  assert_string_equal(in[0].topic, "clicks");
  assert_true(in[0].record.has_key);
  assert_string_equal(json_text(in[0].record.key), "\"u1\"");
  assert_string_equal(json_text(in[0].record.value), "{\"kind\":\"click\",\"page\":\"home\",\"user\":\"u1\"}");
  assert_int_equal(in[0].record.timestamp, 1714564805000);
  assert_false(in[1].record.has_key);
  assert_int_equal(in[1].record.timestamp, 20000);
  assert_int_equal(in[2].record.timestamp, 20000); /* inherited */
  assert_string_equal(json_text(in[2].record.value), "{\"kind\":\"view\",\"page\":\"home\",\"user\":\"u3\"}");
  assert_int_equal(in[3].kind, BECK_PIPELINE_TEST_ADVANCE);
  assert_int_equal(in[3].ms, 120000);
  assert_int_equal(in[4].kind, BECK_PIPELINE_TEST_ADVANCE_TO);
  assert_int_equal(in[4].ms, 600000);
  assert_string_equal(in[5].topic, "users"); /* a topic, not a source */
  assert_int_equal(in[5].record.timestamp, 600000);
  assert_string_equal(json_text(in[5].record.key), "\"7\"");
  assert_string_equal(json_text(in[5].record.value), "{\"id\":7,\"name\":\"Ann\"}");
  assert_int_equal(in[5].record.nheaders, 1);
  assert_string_equal(in[5].record.headers[0].name, "trace");
  assert_string_equal(in[5].record.headers[0].value, "abc");
  assert_int_equal(t->noutputs, 2);
  assert_string_equal(t->outputs[0].topic, "clicks_per_page");
  assert_int_equal(t->outputs[0].n, 1);
  const beck_pipeline_test_record_t *r = &t->outputs[0].records[0];
  assert_true(r->has_key && r->has_value && r->has_window);
  assert_false(r->has_timestamp);
  assert_string_equal(json_text(r->key), "\"home\"");
  assert_string_equal(json_text(r->value), "{\"page\":\"home\",\"clicks\":2,\"visitors\":2}");
  assert_int_equal(r->window_start, 0);
  assert_int_equal(r->window_end, 60000);
  assert_string_equal(t->outputs[1].topic, "late_clicks");
  assert_int_equal(t->outputs[1].n, 0);

  beck_pipeline_free(p);
}

static void environment_variables_are_substituted(void **state) {
  env_vars[0][0] = "DATA_DIR";
  env_vars[0][1] = "/srv/data";
  env_vars[1][0] = "MODE";
  env_vars[1][1] = "";
  beck_pipeline_load_opts_t o = opts();
  beck_pipeline_t *p = NULL;
  beck_pipeline_diags_t *d = NULL;
  beck_err_t rc = beck_pipeline_load_file(FIXTURE("env.yaml"), &o, &p, &d);
  if (rc != BECK_ERR_OK)
    fail_msg("%s", problems_of(rc, p, d, FIXTURE("env.yaml")));
  const beck_pipeline_source_t *s = &p->sources[0];
  assert_string_equal(option(s->config, s->nconfig, "path"), "/srv/data/clicks.jsonl");
  assert_string_equal(option(s->config, s->nconfig, "format"), "lines"); /* empty: the default */
  assert_string_equal(p->description, "costs ${NOT_A_VAR}");
  beck_pipeline_free(p);
  beck_pipeline_diags_free(d);
  env_vars[0][0] = env_vars[1][0] = NULL;
  /* unset without a default: the position of the ${ */
  expect_problems(load_fixture("env.yaml"),
                  "7:14: environment variable DATA_DIR is not set; expected it to be set, or a default: "
                  "${DATA_DIR:-value}");
  expect_problems(load_text("pipeline: p\ndescription: \"a ${oops\"\n"),
                  "2:17: unterminated '${'; expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)");
  expect_problems(load_text("pipeline: p\ndescription: x ${1X} y\n"),
                  "2:16: invalid reference '${1X}'; expected ${NAME} or ${NAME:-default}");
}

/* ---- each class of mistake ---- */

static void bad_indentation_reports_the_yaml_position(void **state) {
  expect_problems(load_fixture_rc("bad_indentation.yaml", BECK_ERR_PARSE),
                  "5:4: invalid YAML: did not find expected key while parsing a block mapping (line 3); expected "
                  "the next key at the same indentation as the keys above it");
  expect_problems(load_text_rc("pipeline: p\nsources:\n  s:\n    connector: file\n      topic: t\n", BECK_ERR_PARSE),
                  "5:12: invalid YAML: mapping values are not allowed in this context; expected 'key: value' on its "
                  "own line at the mapping's indentation (is a ':' or the indentation off?)");
  /* valid YAML, wrong structure: the stream's 'to' indented into the last step */
  expect_problems(load_text("pipeline: p\ntopics: {a: {}}\nstreams:\n  - from: a\n    steps:\n"
                            "      - filter: value.ok\n        to: b\n"),
                  "4:5: stream 1 has no 'to'; expected the topic its records go to (or a branch that routes every "
                  "record, or a table step at the end)\n"
                  "7:9: step 'filter' in stream 1 has a second key 'to'; expected one key per step (if 'to' belongs "
                  "to the stream, indent it like 'steps:')");
  expect_problems(load_text_rc("pipeline: p\nstreams:\n\t- from: a\n", BECK_ERR_PARSE),
                  "3:1: invalid YAML: found character that cannot start any token while scanning for the next token "
                  "(line 3); expected spaces, not tabs, for indentation (or quote the value)");
}

static void unknown_keys_and_steps_suggest_the_right_name(void **state) {
  expect_problems(load_fixture("unknown_key.yaml"),
                  "4:5: unknown key 'conector' in source 'clicks' (did you mean 'connector'?)\n"
                  "9:9: unknown step 'windw' (did you mean 'window'?)\n"
                  "11:5: unknown key 'partitons' in stream 1; expected name, from, timestamp, steps or to");
  expect_problems(load_text("pipline: p\n"), "1:1: unknown key 'pipline' in the pipeline (did you mean "
                                             "'pipeline'?)");
  expect_problems(load_text("pipeline: p\ntopics: {a: {}}\nstreams:\n  - from: a\n    to: b\n    steps:\n"
                            "      - explode: value.items\n"),
                  "7:9: unknown step 'explode'; expected filter, map, select_key, flat_map, branch, merge, window, "
                  "aggregate, join, table or dedupe");
}

static void wrong_types_say_what_was_expected(void **state) {
  expect_problems(load_fixture("wrong_type.yaml"),
                  "3:25: 'partitions' in topic 'clicks' is 'many'; expected an integer from 1 to 100000\n"
                  "8:40: 'grace' in step 'window' of stream 1 is '10x'; expected a duration such as 500ms, 30s, 5m, "
                  "1h or 1d\n"
                  "8:51: 'emit' in step 'window' of stream 1 is 'finl' (did you mean 'final'?); expected one of "
                  "update or final\n"
                  "10:9: 'to' in stream 1 is a mapping; expected a topic name");
  expect_problems(load_text("pipeline: p\ntopics: {a: {partitions: 0}}\nstreams:\n  - from: a\n    to: b\n"
                            "    steps:\n      - window: {tumbling: 60}\n      - aggregate: {n: count()}\n"),
                  "2:26: 'partitions' in topic 'a' is '0'; expected an integer from 1 to 100000\n"
                  "7:28: 'tumbling' in step 'window' of stream 1 is '60' without a unit; expected a duration above "
                  "zero such as 500ms, 30s, 5m, 1h or 1d (e.g. 60ms or 60s)");
  expect_problems(load_text("pipeline: [p]\nstreams: {a: b}\n"),
                  "1:11: 'pipeline' in the pipeline is a list; expected a name (letters, digits, '.', '_' or '-')\n"
                  "2:10: 'streams' in the pipeline is a mapping; expected a list of streams (- from: ...)");
}

static void unknown_function_suggests_the_right_name(void **state) {
  expect_problems(load_fixture("unknown_function.yaml"), "7:17: unknown function 'lowr' (did you mean 'lower'?)");
}

static void type_error_in_an_expression_points_into_it(void **state) {
  expect_problems(load_fixture("type_error.yaml"),
                  "7:28: type error: cannot compare number and string\n"
                  "10:30: type error: '*' cannot take a string; expected two numbers");
}

static void expression_positions_survive_quoting_and_block_scalars(void **state) {
  expect_problems(load_fixture("quoting.yaml"),
                  "7:46: unknown function 'lowr' (did you mean 'lower'?)\n"
                  "8:47: unknown function 'uppr' (did you mean 'upper'?)\n"
                  "11:25: type error: cannot compare any and array; only numbers and strings are ordered\n"
                  "14:15: unknown function 'frobnicate'; see the function list in docs/pipelines.md");
}

static void connectors_are_checked_against_their_schemas(void **state) {
  expect_problems(load_fixture("connectors.yaml"),
                  "4:16: unknown connector 'fil' (did you mean 'file'?)\n"
                  "8:13: connector 'file' (source 'more') is missing required option 'path'; expected it under "
                  "'config:' (File to read)\n"
                  "8:15: unknown option 'pth' for connector 'file' (source 'more') (did you mean 'path'?)\n"
                  "8:38: option 'format' of connector 'file' (source 'more') is 'xml'; expected one of lines|json\n"
                  "8:62: option 'batch.max.records' of connector 'file' (source 'more') is 0, out of range; expected "
                  "1 to 1000000\n"
                  "13:13: connector 'postgres' (sink 'db') is missing required option 'dsn'; expected it under "
                  "'config:' (libpq connection string)\n"
                  "15:16: connector 'file' is a source; expected a sink connector under 'sinks:'");
  expect_problems(load_text("pipeline: p\nsources:\n  s: {connector: file, config: {path: x, topic: y, poll: 5ms}}\n"),
                  "3:42: option 'topic' of connector 'file' (source 's') is set by the pipeline; expected the "
                  "source's 'topic:' key\n"
                  "3:58: option 'poll' of connector 'file' (source 's') is 5ms, out of range; expected 10 to 60000");
}

static void undefined_topic_references_are_reported(void **state) {
  expect_problems(load_fixture("undefined_topic.yaml"),
                  "5:11: unknown topic 'clikcs' (did you mean 'clicks'?)\n"
                  "7:23: unknown table or topic 'usres' in join; expected a table (under 'tables:' or from a table "
                  "step) or a topic\n"
                  "10:42: unknown topic 'missing'; expected a topic that a source or a stream writes, or one listed "
                  "under 'topics:'");
}

static void cycles_between_streams_are_reported(void **state) {
  expect_problems(load_fixture("cycle.yaml"),
                  "15:9: streams form a cycle: a -> b -> c -> a; expected topics to flow one way (a stream may not "
                  "read, directly or through other streams, a topic it writes)");
  expect_problems(load_text("pipeline: p\ntopics: {a: {}}\nstreams:\n  - from: a\n    steps:\n"
                            "      - branch: [{when: value.x, to: a}, {to: b}]\n"),
                  "6:38: streams form a cycle: a -> a; expected topics to flow one way (a stream may not read, "
                  "directly or through other streams, a topic it writes)");
}

static void step_order_and_shape_are_checked(void **state) {
  expect_problems(
      load_fixture("step_shapes.yaml"),
      "12:9: step 'map' follows a window in stream 'window-then-map'; expected an aggregate step\n"
      "19:9: step 'filter' in stream 'unreachable' is never reached: the branch before it routes every record; "
      "expected it before that branch, or a 'when' on the branch's last item\n"
      "20:5: stream 'no-to' has no 'to'; expected the topic its records go to (or a branch that routes every record, "
      "or a table step at the end)\n"
      "27:23: the join with stream 'other' has no time window; expected 'within' (e.g. within: 5m) or 'before' and "
      "'after'\n"
      "28:23: an outer join with table 'users'; expected inner or left (outer joins need two streams)\n"
      "28:23: 'users' is a table, so the join has no time window; expected no 'within', 'before' or 'after'\n"
      "29:33: step 'window' of stream 'joins' has both 'tumbling' and 'session'; expected exactly one kind\n"
      "31:17: the hopping step 'window' of stream 'joins' has no 'advance'; expected how far apart windows start "
      "(e.g. advance: 1m)\n"
      "32:25: 'value' can only be used inside an aggregate function here (an aggregate result is one value per "
      "group); e.g. last(value)\n"
      "33:19: type error: the flat_map expression must be an array, got number or null\n"
      "34:18: type error: the filter condition must be a bool, got string\n"
      "36:13: branch 1 of step 'branch' of stream 'joins' has no 'when' but is not the last; expected 'when' (only "
      "the last branch may take every other record)\n"
      "39:9: the window in stream 'joins' is not followed by a step; expected an aggregate step\n"
      "40:9: step 'window' in stream 'joins' has a second key 'grace'; expected one key per step (if 'grace' belongs "
      "to the window, indent it under 'window:')");
}

static void every_problem_is_reported_in_file_order(void **state) {
  expect_problems(load_fixture("all_errors.yaml"),
                  "1:11: 'pipeline' in the pipeline is 'many problems'; expected a name (letters, digits, '.', '_' or "
                  "'-')\n"
                  "7:9: unknown step 'filtr' (did you mean 'filter'?)\n"
                  "8:36: type error: '*' cannot take a string; expected two numbers\n"
                  "10:5: duplicate key 'to' (first at line 9); expected each key once\n"
                  "12:7: connector 'postgres' (sink 'db') is missing required option 'dsn'; expected it under "
                  "'config:' (libpq connection string)\n"
                  "12:7: connector 'postgres' (sink 'db') is missing required option 'table'; expected it under "
                  "'config:' (Target table)\n"
                  "12:36: unknown topic 'nowhere'; expected a topic that a source or a stream writes, or one listed "
                  "under 'topics:'\n"
                  "16:9: unknown source 's2' in test inputs; expected a source name, a topic, 'advance' or "
                  "'advance_to'\n"
                  "18:7: unknown topic 'outt' (did you mean 'out'?)");
  /* a cap on how many */
  beck_pipeline_load_opts_t o = opts();
  o.max_errors = 2;
  beck_pipeline_t *p;
  beck_pipeline_diags_t *d;
  assert_int_equal(beck_pipeline_load_file(FIXTURE("all_errors.yaml"), &o, &p, &d), BECK_ERR_INVAL);
  assert_int_equal(beck_pipeline_diags_count(d), 3);
  assert_string_equal(beck_pipeline_diags_get(d, 2)->message, "too many problems; stopped after 2");
  beck_pipeline_diags_free(d);
}

/* ---- YAML ---- */

static void anchors_aliases_and_merge_keys_work(void **state) {
  beck_pipeline_load_opts_t o = opts();
  beck_pipeline_t *p = NULL;
  beck_pipeline_diags_t *d = NULL;
  beck_err_t rc = beck_pipeline_load_file(FIXTURE("yaml_features.yaml"), &o, &p, &d);
  if (rc != BECK_ERR_OK)
    fail_msg("%s", problems_of(rc, p, d, FIXTURE("yaml_features.yaml")));
  assert_int_equal(p->ntopics, 2);
  assert_string_equal(p->sources[0].connector, "file");
  assert_string_equal(p->sources[0].topic, "one");
  assert_string_equal(option(p->sources[0].config, p->sources[0].nconfig, "format"), "json");
  assert_string_equal(p->sources[1].connector, "datagen"); /* its own keys win over the merged ones */
  assert_string_equal(p->sources[1].topic, "two");
  assert_int_equal(p->sources[1].nconfig, 1);
  assert_string_equal(option(p->sources[1].config, p->sources[1].nconfig, "rate"), "5");
  assert_int_equal(p->streams[0].nfrom, 4);
  beck_pipeline_free(p);
  beck_pipeline_diags_free(d);
}

static void yaml_document_problems(void **state) {
  expect_problems(load_text(""), "1:1: the file is empty; expected a pipeline (pipeline: NAME, then sources, "
                                 "streams, sinks)");
  expect_problems(load_text("- a\n- b\n"), "1:1: the file is a list; expected a mapping (pipeline: NAME, sources:, "
                                           "streams:, ...)");
  expect_problems(load_text_rc("pipeline: a\n---\npipeline: b\n", BECK_ERR_PARSE),
                  "2:1: a second YAML document; expected one pipeline per file");
  expect_problems(load_text_rc("pipeline: a\ndescription: *nope\n", BECK_ERR_PARSE),
                  "2:14: unknown alias '*nope'; expected an anchor '&nope' defined earlier (and not around this "
                  "alias)");
  expect_problems(load_text("pipeline: a\npipeline: b\n"), "2:1: duplicate key 'pipeline' (first at line 1); "
                                                           "expected each key once");
  /* the first of duplicate sections counts (found by fuzz_pipeline_yaml) */
  expect_problems(load_text("pipeline: p\ntopics: {a: {}}\nstreams:\n  - {from: a, to: b}\nstreams:\n"
                            "  - {from: a, to: c}\n  - {from: a, to: d}\n"),
                  "5:1: duplicate key 'streams' (first at line 3); expected each key once");
  expect_problems(load_text("pipeline: p\ntopics: {a: {retention_size: 1.5GB, retention: 0}}\n"),
                  "2:30: 'retention_size' in topic 'a' is '1.5GB'; expected a size above zero such as 512KiB, 64MiB "
                  "or 1GB\n"
                  "2:48: 'retention' in topic 'a' is '0'; expected a duration above zero such as 500ms, 30s, 5m, 1h "
                  "or 1d");
  /* a billion laughs stops at the alias that goes over the limit */
  char bomb[2048];
  size_t n = (size_t)snprintf(bomb, sizeof bomb, "pipeline: p\nx-a: &a [1,1,1,1,1,1,1,1,1,1]\n");
  for (char c = 'b'; c <= 'i'; c++)
    n += (size_t)snprintf(bomb + n, sizeof bomb - n, "x-%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c,
                          c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
  const char *got = load_text_rc(bomb, BECK_ERR_PARSE);
  assert_non_null(strstr(got, "aliases expand to more than 1000000 nodes; expected a smaller document"));
  /* file errors */
  beck_pipeline_t *p;
  beck_pipeline_diags_t *d;
  assert_int_equal(beck_pipeline_load_file(FIXTURE("no-such-file.yaml"), NULL, &p, &d), BECK_ERR_IO);
  assert_null(p);
  assert_int_equal(beck_pipeline_diags_count(d), 1);
  assert_string_equal(beck_pipeline_diags_get(d, 0)->text,
                      FIXTURE("no-such-file.yaml") ": cannot read the file: No such file or directory; expected the "
                                                   "path of a pipeline file");
  beck_pipeline_diags_free(d);
}

static void minimal_pipelines_load(void **state) {
  load_text_rc("pipeline: copy\ntopics: {in: {}}\nstreams:\n  - from: in\n    to: out\n", BECK_ERR_OK);
  load_text_rc("pipeline: empty\n", BECK_ERR_OK);
  load_text_rc("pipeline: t\ntopics:\n  in:\nstreams:\n  - from: in\n    steps:\n      - table: t\n", BECK_ERR_OK);
  /* a test expecting nothing on a topic, with x- keys for anchors */
  load_text_rc("pipeline: t\nx-note: ignored\ntopics: {in: {}}\nstreams: [{from: in, to: out}]\ntests:\n"
               "  - name: nothing\n    inputs: []\n    expect: {out: []}\n",
               BECK_ERR_OK);
}

static void sizes_parse(void **state) {
  int64_t b;
  assert_int_equal(beck_parse_size("64MiB", 5, &b), 0);
  assert_int_equal(b, 64 << 20);
  assert_int_equal(beck_parse_size("1GB", 3, &b), 0);
  assert_int_equal(b, 1000000000);
  assert_int_equal(beck_parse_size("512", 3, &b), 0);
  assert_int_equal(b, 512);
  assert_int_equal(beck_parse_size("2KiB", 4, &b), 0);
  assert_int_equal(b, 2048);
  assert_int_equal(beck_parse_size("1.5GB", 5, &b), -1);
  assert_int_equal(beck_parse_size("10 MB", 5, &b), -1);
  assert_int_equal(beck_parse_size("99999999999TiB", 14, &b), -1);
}

static void loading_survives_allocation_failures(void **state) {
  for (long n = 0;; n++) {
    beck_pipeline_load_opts_t o = opts();
    beck_pipeline_t *p = NULL;
    beck_pipeline_diags_t *d = NULL;
    beck_alloc_fail_after(n);
    beck_err_t rc = beck_pipeline_load_file(FIXTURE("valid.yaml"), &o, &p, &d);
    beck_alloc_fail_after(-1);
    beck_pipeline_free(p);
    beck_pipeline_diags_free(d);
    if (rc == BECK_ERR_OK)
      break;
    if (rc != BECK_ERR_NOMEM)
      fail_msg("allocation %ld failing gave %d, not NOMEM", n, rc);
    assert_null(p);
    assert_true(n < 100000);
  }
}

/* ---- the reference stays in sync with the tables ---- */

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return s;
}

/* Compares (or with BECK_WRITE_DOCS=1 rewrites) the text between the
 * markers of one generated section of docs/pipelines.md. */
static void check_generated(char **doc, const char *begin, const char *end, const beck_buf_t *gen, bool write) {
  char *b = strstr(*doc, begin), *e = b ? strstr(b, end) : NULL;
  if (b == NULL || e == NULL)
    fail_msg("docs/pipelines.md lacks the markers %s ... %s", begin, end);
  b += strlen(begin);
  size_t have = (size_t)(e - b);
  bool same = have == gen->len + 2 && b[0] == '\n' && memcmp(b + 1, gen->data, gen->len) == 0 && b[have - 1] == '\n';
  if (same)
    return;
  if (!write)
    fail_msg("docs/pipelines.md is out of date with the tables (section %s); run test_pipeline_loader with "
             "BECK_WRITE_DOCS=1 to regenerate",
             begin);
  size_t before = (size_t)(b - *doc), after = strlen(e);
  char *n = malloc(before + gen->len + 2 + after + 1);
  memcpy(n, *doc, before);
  n[before] = '\n';
  memcpy(n + before + 1, gen->data, gen->len);
  n[before + 1 + gen->len] = '\n';
  memcpy(n + before + 2 + gen->len, e, after + 1);
  free(*doc);
  *doc = n;
}

static void docs_reference_matches_the_binding_tables(void **state) {
  size_t len;
  char *doc = read_file(BECK_DOCS_FILE, &len);
  if (doc == NULL)
    fail_msg("cannot read %s", BECK_DOCS_FILE);
  bool write = getenv("BECK_WRITE_DOCS") != NULL && strcmp(getenv("BECK_WRITE_DOCS"), "1") == 0;
  beck_buf_t a = {0}, f = {0};
  assert_int_equal(beck_pipeline_write_reference(&a), BECK_ERR_OK);
  assert_int_equal(beck_expr_write_reference(&f), BECK_ERR_OK);
  check_generated(&doc, "<!-- BEGIN GENERATED: options (beck_pipeline_write_reference) -->",
                  "<!-- END GENERATED: options -->", &a, write);
  check_generated(&doc, "<!-- BEGIN GENERATED: functions (beck_expr_write_reference) -->",
                  "<!-- END GENERATED: functions -->", &f, write);
  if (write) {
    FILE *out = fopen(BECK_DOCS_FILE, "wb");
    assert_non_null(out);
    fputs(doc, out);
    fclose(out);
  }
  free(doc);
  beck_buf_free(&a);
  beck_buf_free(&f);
}

/* Every ```yaml block of docs/pipelines.md that is a whole pipeline loads. */
static void docs_examples_load(void **state) {
  size_t len;
  char *doc = read_file(BECK_DOCS_FILE, &len);
  assert_non_null(doc);
  env_vars[0][0] = "PG_DSN";
  env_vars[0][1] = "postgres://localhost/db";
  int found = 0;
  for (char *b = strstr(doc, "```yaml\npipeline:"); b != NULL; b = strstr(b, "```yaml\npipeline:")) {
    b += 8;
    char *e = strstr(b, "```");
    assert_non_null(e);
    *e = '\0';
    /* connector options are the real plugins' (test_pipeline_runtime
     * checks them against the built connectors), not the fake table's */
    beck_pipeline_load_opts_t o = opts();
    o.connectors = NULL;
    beck_pipeline_t *p = NULL;
    beck_pipeline_diags_t *d = NULL;
    beck_err_t rc = beck_pipeline_load_string("doc.yaml", b, strlen(b), &o, &p, &d);
    if (rc != BECK_ERR_OK)
      fail_msg("a docs example does not load:\n%s\nproblems:\n%s", b, problems_of(rc, p, d, "doc.yaml"));
    beck_pipeline_free(p);
    beck_pipeline_diags_free(d);
    found++;
    b = e + 1;
  }
  assert_true(found >= 1);
  env_vars[0][0] = NULL;
  free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_file_loads_into_the_expected_structure),
      cmocka_unit_test(environment_variables_are_substituted),
      cmocka_unit_test(bad_indentation_reports_the_yaml_position),
      cmocka_unit_test(unknown_keys_and_steps_suggest_the_right_name),
      cmocka_unit_test(wrong_types_say_what_was_expected),
      cmocka_unit_test(unknown_function_suggests_the_right_name),
      cmocka_unit_test(type_error_in_an_expression_points_into_it),
      cmocka_unit_test(expression_positions_survive_quoting_and_block_scalars),
      cmocka_unit_test(connectors_are_checked_against_their_schemas),
      cmocka_unit_test(undefined_topic_references_are_reported),
      cmocka_unit_test(cycles_between_streams_are_reported),
      cmocka_unit_test(step_order_and_shape_are_checked),
      cmocka_unit_test(every_problem_is_reported_in_file_order),
      cmocka_unit_test(anchors_aliases_and_merge_keys_work),
      cmocka_unit_test(yaml_document_problems),
      cmocka_unit_test(minimal_pipelines_load),
      cmocka_unit_test(sizes_parse),
      cmocka_unit_test(loading_survives_allocation_failures),
      cmocka_unit_test(docs_reference_matches_the_binding_tables),
      cmocka_unit_test(docs_examples_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
