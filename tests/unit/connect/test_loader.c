/* test_loader.c - connect/: loading plugins (good and deliberately bad),
 * discovery on the plugin path, binding configuration to a schema, and one
 * instance driven through the host services. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect/connect_int.h"
#include "connect/plugin.h"
#include "base/alloc.h"
#include "tmpdir.h"

#define PLUGIN(name) BECK_TEST_PLUGIN_DIR "/" name ".so"

/* Loads path expecting failure; returns the message (static). */
static const char *refused(const char *path) {
  static beck_error_t e;
  beck_plugin_t *p = (beck_plugin_t *)0x1;
  beck_error_clear(&e);
  assert_int_not_equal(beck_plugin_open(path, &p, &e), BECK_ERR_OK);
  assert_null(p);
  /* every message names the file */
  assert_non_null(strstr(e.msg, path));
  return e.msg;
}

static void good_plugin_loads_both_connectors_with_schema(void **state) {
  beck_plugin_t *p = NULL;
  beck_error_t e;
  assert_int_equal(beck_plugin_open(PLUGIN("good_plugin"), &p, &e), BECK_ERR_OK);
  assert_int_equal(beck_plugin_connector_count(p), 2);
  const beck_connector_info_t *src = beck_plugin_connector(p, 0);
  const beck_connector_info_t *sink = beck_plugin_connector(p, 1);
  assert_string_equal(src->name, "test-source");
  assert_int_equal(src->kind, BECK_CONNECTOR_SOURCE);
  assert_string_equal(sink->name, "test-sink");
  assert_int_equal(sink->kind, BECK_CONNECTOR_SINK);
  assert_int_equal(src->option_count, 6);
  assert_string_equal(src->options[0].name, "count");
  assert_string_equal(src->options[0].default_value, "100");
  assert_int_equal(src->options[4].type, BECK_CONNECTOR_OPT_ENUM);
  assert_string_equal(src->options[4].choices, "plain|fancy");
  assert_string_equal(sink->options[0].name, "out.path");
  assert_true(sink->options[0].required);
  assert_string_equal(src->path, PLUGIN("good_plugin"));
  assert_null(beck_plugin_connector(p, 2));
  beck_plugin_close(p);
}

static void wrong_major_abi_is_refused(void **state) {
  const char *m = refused(PLUGIN("bad_major"));
  assert_non_null(strstr(m, "ABI version 2.0 is not supported"));
  assert_non_null(strstr(m, "rebuild"));
}

static void too_small_descriptor_is_refused(void **state) {
  const char *m = refused(PLUGIN("bad_size"));
  assert_non_null(strstr(m, "struct_size 24 is smaller"));
}

static void missing_entry_symbol_is_refused(void **state) {
  const char *m = refused(PLUGIN("bad_no_entry"));
  assert_non_null(strstr(m, "does not export beck_connector_entry()"));
}

static void missing_required_callback_is_refused(void **state) {
  const char *m = refused(PLUGIN("bad_no_poll"));
  assert_non_null(strstr(m, "bad-plugin (source) has no poll callback"));
}

static void option_default_that_does_not_parse_is_refused(void **state) {
  const char *m = refused(PLUGIN("bad_option"));
  assert_non_null(strstr(m, "bad default: option level: 'lots' is not an integer"));
}

static void plugin_exporting_no_connector_is_refused(void **state) {
  const char *m = refused(PLUGIN("bad_empty"));
  assert_non_null(strstr(m, "returned no connector"));
}

static void undefined_symbol_is_refused_at_load(void **state) {
  const char *m = refused(PLUGIN("bad_undefined"));
  assert_non_null(strstr(m, "cannot load"));
  assert_non_null(strstr(m, "beck_test_symbol_that_does_not_exist"));
}

static void non_elf_and_missing_files_are_refused(void **state) {
  char *dir = beck_test_tmpdir("connect-loader");
  char path[512];
  snprintf(path, sizeof path, "%s/text.so", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("this is not a shared object\n", f);
  fclose(f);
  assert_non_null(strstr(refused(path), "not an ELF shared object"));

  snprintf(path, sizeof path, "%s/empty.so", dir);
  f = fopen(path, "w");
  fclose(f);
  assert_non_null(strstr(refused(path), "not an ELF shared object"));

  /* an ELF that is not a shared object: a relocatable object file header */
  snprintf(path, sizeof path, "%s/object.so", dir);
  unsigned char h[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
  h[16] = 1; /* ET_REL, little-endian */
  h[18] = 62;
  f = fopen(path, "wb");
  fwrite(h, 1, sizeof h, f);
  fclose(f);
  assert_non_null(strstr(refused(path), "not a shared object"));

  snprintf(path, sizeof path, "%s/nope.so", dir);
  assert_non_null(strstr(refused(path), "No such file"));
  assert_non_null(strstr(refused(dir), "not a regular file"));
  beck_test_rmdir(dir);
}

static void discovery_keeps_good_plugins_and_lists_bad_ones(void **state) {
  char *dir = beck_test_tmpdir("connect-discover");
  char path[512];
  snprintf(path, sizeof path, "%s/junk.so", dir);
  FILE *f = fopen(path, "w");
  fputs("junk", f);
  fclose(f);
  /* the test plugin dir has one good and many bad plugins; the junk dir
   * comes first via the extra path, the plugin dir via BECK_PLUGIN_PATH,
   * and the good plugin is listed again explicitly (deduplicated). */
  setenv("BECK_PLUGIN_PATH", BECK_TEST_PLUGIN_DIR ":" PLUGIN("good_plugin"), 1);
  beck_plugin_set_t *s = NULL;
  beck_error_t e;
  assert_int_equal(beck_plugin_set_discover(dir, 1, &s, &e), BECK_ERR_OK);
  unsetenv("BECK_PLUGIN_PATH");
  assert_int_equal(beck_plugin_set_count(s), 2);
  assert_non_null(beck_plugin_set_find(s, "test-source"));
  assert_non_null(beck_plugin_set_find(s, "test-sink"));
  assert_null(beck_plugin_set_find(s, "nope"));
  /* junk + bad_empty, bad_major, bad_no_entry, bad_no_poll, bad_option,
   * bad_size, bad_undefined */
  assert_int_equal(beck_plugin_set_problem_count(s), 8);
  assert_non_null(strstr(beck_plugin_set_problem(s, 0), "junk.so: not an ELF"));
  int saw_major = 0;
  for (size_t k = 0; k < beck_plugin_set_problem_count(s); k++)
    saw_major |= strstr(beck_plugin_set_problem(s, k), "bad_major.so: connector #0: ABI version 2.0") != NULL;
  assert_true(saw_major);
  beck_plugin_set_free(s);
  beck_test_rmdir(dir);
}

static void describe_json_lists_plugin_and_worker_options(void **state) {
  beck_plugin_t *p = NULL;
  beck_error_t e;
  assert_int_equal(beck_plugin_open(PLUGIN("good_plugin"), &p, &e), BECK_ERR_OK);
  char *j = beck_connector_describe_json(beck_plugin_connector(p, 0));
  assert_non_null(j);
  assert_non_null(strstr(j, "\"name\": \"test-source\",\n  \"kind\": \"source\""));
  assert_non_null(strstr(j, "\"abi\": \"1.0\""));
  assert_non_null(strstr(j, "\"name\": \"mode\",\n      \"type\": \"enum\",\n      \"required\": false,\n"
                            "      \"default\": \"plain\""));
  assert_non_null(strstr(j, "\"choices\": \"plain|fancy\""));
  assert_non_null(strstr(j, "\"name\": \"errors.tolerance\""));
  assert_non_null(strstr(j, "\"name\": \"topic\""));
  beck_free(j);
  j = beck_connector_describe_json(beck_plugin_connector(p, 1));
  assert_non_null(strstr(j, "\"name\": \"topics\""));
  assert_non_null(strstr(j, "\"name\": \"out.path\",\n      \"type\": \"string\",\n      \"required\": true"));
  beck_free(j);
  beck_plugin_close(p);
}

static void builtin_dir_is_next_to_the_executable(void **state) {
  const char *d = beck_plugin_builtin_dir();
  assert_non_null(d);
  assert_non_null(strstr(d, "lib/beck/connectors"));
}

/* ---- config binding ------------------------------------------------------- */

static const beck_connector_option_t opts[] = {
    {.name = "path", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "A path."},
    {.name = "batch.size", .type = BECK_CONNECTOR_OPT_INT, .default_value = "10", .min = 1, .max = 100},
    {.name = "interval", .type = BECK_CONNECTOR_OPT_DURATION, .default_value = "1s"},
    {.name = "ratio", .type = BECK_CONNECTOR_OPT_DOUBLE, .default_value = "0.5"},
    {.name = "enabled", .type = BECK_CONNECTOR_OPT_BOOL, .default_value = "off"},
    {.name = "format", .type = BECK_CONNECTOR_OPT_ENUM, .default_value = "lines", .choices = "lines|json"},
    {.name = "unset", .type = BECK_CONNECTOR_OPT_STRING},
};
static const beck_connector_option_t others[] = {{.name = "name", .type = BECK_CONNECTOR_OPT_STRING}};

static beck_err_t bind(beck__config_t *c, beck_error_t *e, int n, ...) {
  const char *keys[16], *vals[16];
  va_list ap;
  va_start(ap, n);
  for (int k = 0; k < n; k++) {
    keys[k] = va_arg(ap, const char *);
    vals[k] = va_arg(ap, const char *);
  }
  va_end(ap);
  beck_error_clear(e);
  return beck__config_bind(c, opts, 7, others, 1, keys, vals, n, e);
}

static void config_binds_types_defaults_and_units(void **state) {
  beck__config_t c;
  beck_error_t e;
  assert_int_equal(bind(&c, &e, 6, "path", "/tmp/x", "interval", "2.5m", "enabled", "yes", "format", "json", "name",
                        "ignored-here", "batch.size", "100"),
                   BECK_ERR_OK);
  assert_string_equal(beck__config_string(&c, "path"), "/tmp/x");
  assert_int_equal(beck__config_int(&c, "batch.size"), 100);
  assert_int_equal(beck__config_int(&c, "interval"), 150000);
  assert_true(beck__config_double(&c, "ratio") == 0.5);
  assert_int_equal(beck__config_int(&c, "enabled"), 1);
  assert_string_equal(beck__config_string(&c, "format"), "json");
  assert_null(beck__config_string(&c, "unset"));
  assert_null(beck__config_string(&c, "name"));
  assert_true(beck__config_find(&c, "path")->is_set);
  assert_false(beck__config_find(&c, "ratio")->is_set);
  beck__config_free(&c);

  assert_int_equal(bind(&c, &e, 2, "path", "p", "interval", "250ms"), BECK_ERR_OK);
  assert_int_equal(beck__config_int(&c, "interval"), 250);
  assert_int_equal(beck__config_int(&c, "batch.size"), 10);
  beck__config_free(&c);
  assert_int_equal(bind(&c, &e, 2, "path", "p", "interval", "1500"), BECK_ERR_OK);
  assert_int_equal(beck__config_int(&c, "interval"), 1500);
  beck__config_free(&c);
}

static void config_errors_say_what_is_wrong(void **state) {
  beck__config_t c;
  beck_error_t e;
  assert_int_equal(bind(&c, &e, 1, "batch.size", "5"), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "missing required option 'path' (A path.)");
  assert_int_equal(bind(&c, &e, 2, "path", "p", "batch.sise", "5"), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "unknown option 'batch.sise' (did you mean 'batch.size'?)");
  assert_int_equal(bind(&c, &e, 2, "path", "p", "completely.different", "5"), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "unknown option 'completely.different'");
  assert_int_equal(bind(&c, &e, 2, "path", "p", "batch.size", "500"), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "option batch.size: 500 is out of range [1, 100]");
  assert_int_equal(bind(&c, &e, 2, "path", "p", "batch.size", "12x"), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "option batch.size: '12x' is not an integer");
  assert_int_equal(bind(&c, &e, 2, "path", "p", "interval", "5 weeks"), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "option interval: unknown unit 'weeks' in '5 weeks' (use ms, s, m, h or d)");
  assert_int_equal(bind(&c, &e, 2, "path", "p", "format", "xml"), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "option format: 'xml' is not one of lines|json");
  assert_int_equal(bind(&c, &e, 2, "path", "p", "enabled", "maybe"), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "option enabled: 'maybe' is not a boolean (true/false)");
}

/* ---- one instance through the host services -------------------------------- */

static const char *fixed_offset(void *arg, const char *spart) {
  assert_string_equal(spart, "test");
  return arg;
}

static void source_instance_emits_copies_and_resumes_from_offset(void **state) {
  beck_plugin_t *p = NULL;
  beck_error_t e;
  assert_int_equal(beck_plugin_open(PLUGIN("good_plugin"), &p, &e), BECK_ERR_OK);
  const beck_connector_info_t *src = beck_plugin_connector(p, 0);
  const char *keys[] = {"name", "count", "per.poll", "bad.every", "topic"};
  const char *vals[] = {"counter", "10", "4", "3", "t"};
  beck__ctx_hooks_t hooks = {.offset_get = fixed_offset};
  beck_connector_ctx_t *ctx = NULL;
  assert_int_equal(beck__ctx_new(src, "counter", 0, keys, vals, 5, &hooks, "5", &ctx, &e), BECK_ERR_OK);
  assert_string_equal(ctx->log_ctx, "source:test-source:counter/0");
  assert_int_equal(beck__ctx_create(ctx, &e), BECK_CONNECTOR_OK);
  assert_int_equal(beck__ctx_start(ctx, &e), BECK_CONNECTOR_OK);
  beck_source_batch_t b;
  beck__source_batch_init(&b, 100, 1 << 20);
  assert_int_equal(beck__ctx_poll(ctx, &b, &e), BECK_CONNECTOR_OK);
  /* resumed at 5: records 5, 6, 7, 8; with bad.every=3 the records whose
   * next position (offset) is a multiple of 3 are errors: 5 and 8 */
  assert_int_equal(b.n, 4);
  assert_int_equal(b.nerrors, 2);
  assert_string_equal(beck__srec_str(&b, b.recs[0].error), "cannot convert");
  assert_string_equal(beck__srec_str(&b, b.recs[3].error), "cannot convert");
  const beck__srec_t *r = &b.recs[1];
  assert_int_equal(r->key_len, 5);
  assert_memory_equal(beck__srec_ptr(&b, r->key), "key-6", 5);
  assert_memory_equal(beck__srec_ptr(&b, r->value), "value-6", 7);
  assert_string_equal(beck__srec_str(&b, r->spart), "test");
  assert_string_equal(beck__srec_str(&b, r->soff), "7");
  assert_null(beck__srec_str(&b, r->topic));
  assert_int_equal(r->partition, -1);
  assert_int_equal(r->timestamp, -1);
  assert_null(beck__srec_str(&b, r->error));
  beck_connector_header_t h;
  assert_int_equal(beck__srec_header(&b, r, 0, &h), 1);
  assert_int_equal(h.key_len, 1);
  assert_memory_equal(h.key, "n", 1);
  assert_int_equal(h.value_len, 1);
  assert_memory_equal(h.value, "6", 1);
  assert_int_equal(beck__srec_header(&b, r, 1, &h), 0);
  assert_memory_equal(beck__srec_ptr(&b, b.recs[0].value), "value-5", 7);
  assert_string_equal(beck__srec_str(&b, b.recs[3].soff), "9");

  /* a batch of 1 record is full after one emit */
  beck__source_batch_free(&b);
  beck__source_batch_init(&b, 1, 1 << 20);
  assert_int_equal(beck__ctx_poll(ctx, &b, &e), BECK_CONNECTOR_OK);
  assert_int_equal(b.n, 1);
  assert_string_equal(beck__srec_str(&b, b.recs[0].soff), "10");
  beck__source_batch_free(&b);
  beck__ctx_free(ctx);
  beck_plugin_close(p);
}

static void instance_reports_plugin_errors_with_context(void **state) {
  beck_plugin_t *p = NULL;
  beck_error_t e;
  assert_int_equal(beck_plugin_open(PLUGIN("good_plugin"), &p, &e), BECK_ERR_OK);
  const beck_connector_info_t *src = beck_plugin_connector(p, 0);
  const char *keys[] = {"fail.poll.times"};
  const char *vals[] = {"1"};
  beck_connector_ctx_t *ctx = NULL;
  assert_int_equal(beck__ctx_new(src, "flaky", 2, keys, vals, 1, NULL, NULL, &ctx, &e), BECK_ERR_OK);
  assert_int_equal(beck__ctx_create(ctx, &e), BECK_CONNECTOR_OK);
  assert_int_equal(beck__ctx_start(ctx, &e), BECK_CONNECTOR_OK);
  beck_source_batch_t b;
  beck__source_batch_init(&b, 100, 1 << 20);
  assert_int_equal(beck__ctx_poll(ctx, &b, &e), BECK_CONNECTOR_RETRY);
  assert_string_equal(e.msg, "[source:test-source:flaky/2] poll: simulated transient failure");
  assert_int_equal(beck__ctx_poll(ctx, &b, &e), BECK_CONNECTOR_OK);
  assert_int_equal(b.n, 10);
  beck__source_batch_free(&b);
  beck__ctx_free(ctx);

  /* a config error names the connector */
  const char *k2[] = {"mode"};
  const char *v2[] = {"weird"};
  assert_int_equal(beck__ctx_new(src, "x", 0, k2, v2, 1, NULL, NULL, &ctx, &e), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "connector x (test-source): option mode: 'weird' is not one of plain|fancy");
  beck_plugin_close(p);
}

static void sleep_returns_early_when_interrupted(void **state) {
  beck_plugin_t *p = NULL;
  beck_error_t e;
  assert_int_equal(beck_plugin_open(PLUGIN("good_plugin"), &p, &e), BECK_ERR_OK);
  beck_connector_ctx_t *ctx = NULL;
  assert_int_equal(beck__ctx_new(beck_plugin_connector(p, 0), "s", 0, NULL, NULL, 0, NULL, NULL, &ctx, &e),
                   BECK_ERR_OK);
  int64_t t0 = beck__mono_ms();
  assert_int_equal(beck__host.sleep_ms(ctx, 30), 0);
  assert_true(beck__mono_ms() - t0 >= 29);
  beck__ctx_interrupt(ctx, true);
  t0 = beck__mono_ms();
  assert_int_equal(beck__host.sleep_ms(ctx, 10000), 1);
  assert_true(beck__mono_ms() - t0 < 1000);
  beck__ctx_free(ctx);
  beck_plugin_close(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(good_plugin_loads_both_connectors_with_schema),
      cmocka_unit_test(wrong_major_abi_is_refused),
      cmocka_unit_test(too_small_descriptor_is_refused),
      cmocka_unit_test(missing_entry_symbol_is_refused),
      cmocka_unit_test(missing_required_callback_is_refused),
      cmocka_unit_test(option_default_that_does_not_parse_is_refused),
      cmocka_unit_test(plugin_exporting_no_connector_is_refused),
      cmocka_unit_test(undefined_symbol_is_refused_at_load),
      cmocka_unit_test(non_elf_and_missing_files_are_refused),
      cmocka_unit_test(discovery_keeps_good_plugins_and_lists_bad_ones),
      cmocka_unit_test(describe_json_lists_plugin_and_worker_options),
      cmocka_unit_test(builtin_dir_is_next_to_the_executable),
      cmocka_unit_test(config_binds_types_defaults_and_units),
      cmocka_unit_test(config_errors_say_what_is_wrong),
      cmocka_unit_test(source_instance_emits_copies_and_resumes_from_offset),
      cmocka_unit_test(instance_reports_plugin_errors_with_context),
      cmocka_unit_test(sleep_returns_early_when_interrupted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
