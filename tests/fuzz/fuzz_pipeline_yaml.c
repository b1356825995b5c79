/*
 * fuzz_pipeline_yaml.c - libFuzzer target for the YAML pipeline loader
 * (connect/pipeline): the whole load of arbitrary text, with a fake
 * connector registry (so connector and option checks run) and a fixed
 * environment (DATA_DIR set, everything else unset). A pipeline that loads
 * has each of its compiled step expressions evaluated once against a fixed
 * record; every diagnostic's text is read.
 *
 * Seeds: tests/fuzz/corpus/pipeline_yaml (the loader's test fixtures and
 * small variations).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "connect/pipeline/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const beck_connector_option_t file_opts[] = {
    {.name = "path", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "File."},
    {.name = "format", .type = BECK_CONNECTOR_OPT_ENUM, .choices = "lines|json", .description = "Format."},
    {.name = "poll", .type = BECK_CONNECTOR_OPT_DURATION, .min = 10, .max = 60000, .description = "Poll."},
    {.name = "rate", .type = BECK_CONNECTOR_OPT_DOUBLE, .min = 0, .max = 10, .description = "Rate."},
    {.name = "ok", .type = BECK_CONNECTOR_OPT_BOOL, .description = "Bool."},
};
static const beck_connector_option_t pg_opts[] = {
    {.name = "dsn", .type = BECK_CONNECTOR_OPT_PASSWORD, .required = 1, .description = "DSN."},
    {.name = "batch", .type = BECK_CONNECTOR_OPT_INT, .min = 1, .max = 100, .description = "Batch."},
};

static bool lookup(void *ud, const char *name, beck_pipeline_connector_t *out) {
  if (strcmp(name, "file") == 0 || strcmp(name, "datagen") == 0) {
    out->kind = BECK_CONNECTOR_SOURCE;
    out->options = file_opts;
    out->option_count = 5;
    return true;
  }
  if (strcmp(name, "postgres") == 0 || strcmp(name, "stdout") == 0) {
    out->kind = BECK_CONNECTOR_SINK;
    out->options = pg_opts;
    out->option_count = 2;
    out->extra = file_opts + 2;
    out->extra_count = 1;
    return true;
  }
  return false;
}

static const char *name_at(void *ud, size_t i) {
  static const char *const names[] = {"file", "datagen", "postgres", "stdout"};
  return i < 4 ? names[i] : NULL;
}

static const char *fake_getenv(void *ud, const char *name) {
  return strcmp(name, "DATA_DIR") == 0 ? "/data" : NULL;
}

static void run(const beck_expr_t *x, const beck_expr_input_t *in, beck_expr_ctx_t *c) {
  beck_val_t v;
  if (x != NULL)
    (void)beck_expr_eval(x, in, c, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const beck_pipeline_connectors_t cs = {NULL, lookup, name_at};
  beck_pipeline_load_opts_t o = {.connectors = &cs, .getenv = fake_getenv, .max_errors = 20};
  beck_pipeline_t *p = NULL;
  beck_pipeline_diags_t *d = NULL;
  beck_err_t rc = beck_pipeline_load_string("fuzz.yaml", (const char *)data, size, &o, &p, &d);
  size_t total = 0;
  for (size_t i = 0; i < beck_pipeline_diags_count(d); i++)
    total += strlen(beck_pipeline_diags_get(d, i)->text);
  (void)total;
  if (rc == BECK_ERR_OK && p != NULL) {
    json_error_t je;
    json_t *value = json_loads("{\"a\": 1, \"items\": [1, 2], \"s\": \"x\"}", 0, &je);
    beck_expr_input_t in;
    memset(&in, 0, sizeof in);
    in.value = beck_val_from_json(value);
    beck_expr_ctx_t c;
    beck_expr_ctx_init(&c);
    for (size_t i = 0; i < p->nstreams; i++) {
      for (size_t k = 0; k < p->streams[i].nsteps; k++) {
        const beck_pipeline_step_t *st = &p->streams[i].steps[k];
        switch (st->kind) {
        case BECK_STEP_FILTER: run(st->u.filter, &in, &c); break;
        case BECK_STEP_MAP: run(st->u.map, &in, &c); break;
        case BECK_STEP_SELECT_KEY: run(st->u.select_key, &in, &c); break;
        case BECK_STEP_FLAT_MAP: run(st->u.flat_map, &in, &c); break;
        case BECK_STEP_AGGREGATE: run(st->u.aggregate, &in, &c); break;
        case BECK_STEP_JOIN: run(st->u.join.select, &in, &c); break;
        case BECK_STEP_DEDUPE: run(st->u.dedupe.by, &in, &c); break;
        case BECK_STEP_BRANCH:
          for (size_t b = 0; b < st->u.branch.n; b++)
            run(st->u.branch.items[b].when, &in, &c);
          break;
        default: break;
        }
        beck_expr_ctx_reset(&c);
      }
    }
    beck_expr_ctx_destroy(&c);
    json_decref(value);
  }
  beck_pipeline_free(p);
  beck_pipeline_diags_free(d);
  return 0;
}
