/* test_describe.c - connect/describe.c: the schema of every built-in
 * connector as JSON (what `beck connector describe --json` prints), the
 * values column, and the option reference in docs/connectors.md, which must
 * equal what beck_connect_write_reference() renders from the descriptors'
 * tables (BECK_WRITE_DOCS=1 rewrites the document instead of failing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "connect/connect_int.h"
#include "connect/plugin.h"

static const char *const builtin_names[] = {
    "datagen-source",  "file-sink",   "file-source",   "postgres-sink",
    "postgres-source", "sqlite-sink", "sqlite-source", "stdout-sink",
};

/* The built-in connectors alone: BECK_PLUGIN_PATH and the user's path are
 * left out so the reference does not depend on the environment. */
static beck_plugin_set_t *builtins(void) {
  beck_plugin_set_t *s = NULL;
  beck_error_t e;
  unsetenv("BECK_PLUGIN_PATH");
  assert_int_equal(beck_plugin_set_discover(BECK_TEST_CONNECTORS_DIR, 1, &s, &e), BECK_ERR_OK);
  for (size_t k = 0; k < beck_plugin_set_problem_count(s); k++)
    fail_msg("built-in plugin problem: %s", beck_plugin_set_problem(s, k));
  return s;
}

static void every_builtin_connector_is_discovered_and_documented(void **state) {
  beck_plugin_set_t *s = builtins();
  assert_int_equal(beck_plugin_set_count(s), BECK__ARRAY_SIZE(builtin_names));
  for (size_t k = 0; k < BECK__ARRAY_SIZE(builtin_names); k++) {
    const beck_connector_info_t *c = beck_plugin_set_find(s, builtin_names[k]);
    if (c == NULL)
      fail_msg("built-in connector %s not found", builtin_names[k]);
    assert_non_null(c->desc.description);
    assert_non_null(c->desc.version);
    for (uint32_t i = 0; i < c->option_count; i++) {
      const beck_connector_option_t *o = &c->options[i];
      if (o->description == NULL || strlen(o->description) < 10)
        fail_msg("%s: option %s has no description", c->name, o->name);
      if (o->required && o->default_value != NULL)
        fail_msg("%s: option %s is required and has a default", c->name, o->name);
    }
  }
  beck_plugin_set_free(s);
}

static void describe_json_lists_plugin_and_worker_options(void **state) {
  beck_plugin_set_t *s = builtins();
  const beck_connector_info_t *c = beck_plugin_set_find(s, "postgres-sink");
  assert_non_null(c);
  char *text = beck_connector_describe_json(c);
  assert_non_null(text);
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "name")), "postgres-sink");
  assert_string_equal(json_string_value(json_object_get(j, "kind")), "sink");
  assert_string_equal(json_string_value(json_object_get(j, "abi")), "1.0");
  json_t *opts = json_object_get(j, "options");
  assert_int_equal(json_array_size(opts), c->option_count);
  for (uint32_t i = 0; i < c->option_count; i++) {
    json_t *o = json_array_get(opts, i);
    assert_string_equal(json_string_value(json_object_get(o, "name")), c->options[i].name);
    assert_string_equal(json_string_value(json_object_get(o, "type")),
                        beck_connector_opt_type_name(c->options[i].type));
    assert_int_equal(json_is_true(json_object_get(o, "required")), c->options[i].required != 0);
  }
  json_t *mode = json_array_get(opts, 3);
  assert_string_equal(json_string_value(json_object_get(mode, "name")), "mode");
  assert_string_equal(json_string_value(json_object_get(mode, "default")), "copy");
  assert_string_equal(json_string_value(json_object_get(mode, "choices")), "copy|upsert");
  assert_true(json_is_null(json_object_get(json_array_get(opts, 0), "default")));
  uint32_t nw;
  beck_connect_worker_options(BECK_CONNECTOR_SINK, &nw);
  json_t *wopts = json_object_get(j, "worker_options");
  assert_int_equal(json_array_size(wopts), nw);
  bool topics = false;
  for (size_t i = 0; i < json_array_size(wopts); i++)
    topics |= strcmp(json_string_value(json_object_get(json_array_get(wopts, i), "name")), "topics") == 0;
  assert_true(topics);
  json_decref(j);
  beck_free(text);
  beck_plugin_set_free(s);
}

static void option_values_say_choices_and_ranges(void **state) {
  char buf[64];
  beck_connector_option_t o = {.name = "x", .type = BECK_CONNECTOR_OPT_ENUM, .choices = "a|b"};
  assert_string_equal(beck_connector_option_values(&o, buf, sizeof buf), "a|b");
  o = (beck_connector_option_t){.name = "x", .type = BECK_CONNECTOR_OPT_INT, .min = 1, .max = 1000000};
  assert_string_equal(beck_connector_option_values(&o, buf, sizeof buf), "1..1000000");
  o = (beck_connector_option_t){.name = "x", .type = BECK_CONNECTOR_OPT_INT, .min = 0, .max = 9.2e18};
  assert_string_equal(beck_connector_option_values(&o, buf, sizeof buf), ">= 0");
  o = (beck_connector_option_t){.name = "x", .type = BECK_CONNECTOR_OPT_DURATION, .min = 1, .max = 3600000};
  assert_string_equal(beck_connector_option_values(&o, buf, sizeof buf), "1ms..1h");
  o = (beck_connector_option_t){.name = "x", .type = BECK_CONNECTOR_OPT_DURATION, .min = 250, .max = 90000};
  assert_string_equal(beck_connector_option_values(&o, buf, sizeof buf), "250ms..90s");
  o = (beck_connector_option_t){.name = "x", .type = BECK_CONNECTOR_OPT_DOUBLE, .min = 0.5, .max = 2};
  assert_string_equal(beck_connector_option_values(&o, buf, sizeof buf), "0.5..2");
  o = (beck_connector_option_t){.name = "x", .type = BECK_CONNECTOR_OPT_INT}; /* min == max: no range */
  assert_string_equal(beck_connector_option_values(&o, buf, sizeof buf), "");
  o = (beck_connector_option_t){.name = "x", .type = BECK_CONNECTOR_OPT_STRING, .min = 1, .max = 2};
  assert_string_equal(beck_connector_option_values(&o, buf, sizeof buf), "");
}

/* ---- docs/connectors.md stays in sync with the tables ---- */

static char *read_file(const char *path) {
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
  return s;
}

#define BEGIN_MARK "<!-- BEGIN GENERATED: connector options (beck_connect_write_reference) -->"
#define END_MARK "<!-- END GENERATED: connector options -->"

static void docs_reference_matches_the_option_tables(void **state) {
  char *doc = read_file(BECK_DOCS_FILE);
  if (doc == NULL)
    fail_msg("cannot read %s", BECK_DOCS_FILE);
  beck_plugin_set_t *s = builtins();
  beck_buf_t gen = {0};
  assert_int_equal(beck_connect_write_reference(s, &gen), BECK_ERR_OK);
  beck_plugin_set_free(s);
  char *b = strstr(doc, BEGIN_MARK), *e = b ? strstr(b, END_MARK) : NULL;
  if (b == NULL || e == NULL)
    fail_msg("docs/connectors.md lacks the markers " BEGIN_MARK " ... " END_MARK);
  b += strlen(BEGIN_MARK);
  size_t have = (size_t)(e - b);
  bool same = have == gen.len + 2 && b[0] == '\n' && memcmp(b + 1, gen.data, gen.len) == 0 && b[have - 1] == '\n';
  bool write = getenv("BECK_WRITE_DOCS") != NULL && strcmp(getenv("BECK_WRITE_DOCS"), "1") == 0;
  if (!same && !write)
    fail_msg("docs/connectors.md is out of date with the connectors' option tables; run test_connect_describe "
             "with BECK_WRITE_DOCS=1 to regenerate it");
  if (!same) {
    FILE *out = fopen(BECK_DOCS_FILE, "wb");
    assert_non_null(out);
    fwrite(doc, 1, (size_t)(b - doc), out);
    fputc('\n', out);
    fwrite(gen.data, 1, gen.len, out);
    fputc('\n', out);
    fputs(e, out);
    assert_int_equal(fclose(out), 0);
  }
  beck_buf_free(&gen);
  free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_builtin_connector_is_discovered_and_documented),
      cmocka_unit_test(describe_json_lists_plugin_and_worker_options),
      cmocka_unit_test(option_values_say_choices_and_ranges),
      cmocka_unit_test(docs_reference_matches_the_option_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
