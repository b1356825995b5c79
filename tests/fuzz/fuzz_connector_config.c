/*
 * fuzz_connector_config.c - libFuzzer target for binding a connector's
 * user configuration (connect/config.c): arbitrary key/value pairs against
 * a plugin schema with every option type, with the worker's own options
 * (connect/options.c) as the other schema, both ways round as the host
 * (host.c) and the worker (worker.c) do. Covers the value parsers (INT,
 * DOUBLE, BOOL, DURATION with units, ENUM, LIST), range checks, required
 * options, defaults, repeated keys and the "did you mean" suggestions.
 *
 * Input: text; each line "key=value" (split at the first '='; a line
 * without one is a key with a NULL value, which binding must refuse), at
 * most 64 lines. Byte 0 of the input picks source (even) or sink (odd)
 * worker options.
 *
 * Checked: a successful bind gives one value per schema option; every INT,
 * DOUBLE and DURATION value read back lies within its [min, max] when
 * min < max; BOOL reads 0 or 1; an ENUM value is one of its choices; a
 * failed bind says why.
 *
 * Seeds: tests/fuzz/corpus/connector_config.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connect/connect_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAIRS 64

static const beck_connector_option_t plugin_opts[] = {
    {.name = "file.path", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "File."},
    {.name = "file.format",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "lines",
     .choices = "lines|json|raw",
     .description = "Format."},
    {.name = "poll.interval",
     .type = BECK_CONNECTOR_OPT_DURATION,
     .default_value = "1s",
     .min = 10,
     .max = 3600000,
     .description = "Poll."},
    {.name = "batch.size",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "500",
     .min = 1,
     .max = 100000,
     .description = "Batch."},
    {.name = "rate",
     .type = BECK_CONNECTOR_OPT_DOUBLE,
     .default_value = "0.5",
     .min = 0,
     .max = 10,
     .description = "Rate."},
    {.name = "any.int", .type = BECK_CONNECTOR_OPT_INT, .description = "No range."},
    {.name = "any.duration", .type = BECK_CONNECTOR_OPT_DURATION, .description = "No range."},
    {.name = "follow", .type = BECK_CONNECTOR_OPT_BOOL, .default_value = "true", .description = "Bool."},
    {.name = "dsn", .type = BECK_CONNECTOR_OPT_PASSWORD, .description = "Secret."},
    {.name = "columns", .type = BECK_CONNECTOR_OPT_LIST, .description = "List."},
};

static bool enum_has(const char *choices, const char *v) {
  size_t n = strlen(v);
  for (const char *p = choices; p;) {
    const char *bar = strchr(p, '|');
    size_t l = bar ? (size_t)(bar - p) : strlen(p);
    if (l == n && strncmp(p, v, l) == 0)
      return true;
    p = bar ? bar + 1 : NULL;
  }
  return false;
}

static void check_bound(const beck__config_t *cfg, const beck_connector_option_t *opts, size_t n) {
  if (cfg->n != n)
    abort();
  for (size_t k = 0; k < n; k++) {
    const beck__config_value_t *v = &cfg->vals[k];
    const beck_connector_option_t *o = &opts[k];
    if (v->opt != o || (o->required && !v->is_set))
      abort();
    if (v->text == NULL)
      continue;
    switch (o->type) {
    case BECK_CONNECTOR_OPT_INT:
    case BECK_CONNECTOR_OPT_DURATION: {
      int64_t i = beck__config_int(cfg, o->name);
      if (o->min < o->max && ((double)i < o->min - 0.5 || (double)i > o->max + 0.5))
        abort();
      if (o->type == BECK_CONNECTOR_OPT_DURATION && i < 0)
        abort();
      break;
    }
    case BECK_CONNECTOR_OPT_DOUBLE: {
      double d = beck__config_double(cfg, o->name);
      if (!isfinite(d) || (o->min < o->max && (d < o->min || d > o->max)))
        abort();
      break;
    }
    case BECK_CONNECTOR_OPT_BOOL:
      if (v->i != 0 && v->i != 1)
        abort();
      break;
    case BECK_CONNECTOR_OPT_ENUM:
      if (!enum_has(o->choices, v->text))
        abort();
      break;
    default:
      if (beck__config_string(cfg, o->name) != v->text)
        abort();
      break;
    }
  }
}

static void bind_both_ways(const beck_connector_option_t *wopts, size_t nw, const char *const *keys,
                           const char *const *values, int n) {
  beck__config_t cfg;
  beck_error_t e;
  beck_error_clear(&e);
  if (beck__config_bind(&cfg, plugin_opts, sizeof plugin_opts / sizeof plugin_opts[0], wopts, nw, keys, values, n,
                        &e) == BECK_ERR_OK) {
    check_bound(&cfg, plugin_opts, sizeof plugin_opts / sizeof plugin_opts[0]);
    beck__config_free(&cfg);
  } else if (e.msg[0] == '\0') {
    abort(); /* errors say why */
  }
  beck_error_clear(&e);
  if (beck__config_bind(&cfg, wopts, nw, plugin_opts, sizeof plugin_opts / sizeof plugin_opts[0], keys, values, n,
                        &e) == BECK_ERR_OK) {
    check_bound(&cfg, wopts, nw);
    beck__config_free(&cfg);
  } else if (e.msg[0] == '\0') {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  beck_connector_kind_t kind = data[0] % 2 ? BECK_CONNECTOR_SINK : BECK_CONNECTOR_SOURCE;
  /* a private NUL-terminated copy, cut into lines and pairs in place */
  char *text = malloc(size);
  if (text == NULL)
    return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  const char *keys[MAX_PAIRS], *values[MAX_PAIRS];
  int n = 0;
  for (char *line = text; line != NULL && n < MAX_PAIRS;) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    char *eq = strchr(line, '=');
    if (eq)
      *eq = '\0';
    keys[n] = line;
    values[n] = eq ? eq + 1 : NULL;
    n++;
    line = nl ? nl + 1 : NULL;
  }
  uint32_t nw = 0;
  const beck_connector_option_t *wopts = beck_connect_worker_options(kind, &nw);
  bind_both_ways(wopts, nw, keys, values, n);
  free(text);
  return 0;
}
