/*
 * config.c - binding a connector's key/value configuration to its schema.
 *
 * Invariants after beck__config_bind() succeeds:
 *   - cfg has exactly one value per schema option, in schema order;
 *   - every value with text != NULL parsed as its type and lies in range
 *     (defaults included), so plugins read typed values without checks;
 *   - every required option is set by the user;
 *   - no user key went unclaimed: it names an option of this schema or of
 *     the `others` schema (the worker's own options), else binding fails
 *     with a "did you mean" hint.
 *
 * Value syntax: INT decimal (optionally with sign); DOUBLE strtod; BOOL
 * true/false, yes/no, on/off, 1/0; DURATION a number with ms, s, m, h or d
 * (a bare number is ms); ENUM one of the '|'-separated choices.
 */
#include "connect_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"

static beck_err_t check_range(const beck_connector_option_t *opt, double v, const char *text, beck_error_t *e) {
  if (opt->min < opt->max && (v < opt->min || v > opt->max))
    return beck_error_set(e, BECK_ERR_INVAL, "option %s: %s is out of range [%g, %g]", opt->name, text, opt->min,
                          opt->max);
  return BECK_ERR_OK;
}

static bool enum_has(const char *choices, const char *v) {
  size_t vl = strlen(v);
  const char *p = choices;
  while (p != NULL && *p != '\0') {
    const char *bar = strchr(p, '|');
    size_t l = bar ? (size_t)(bar - p) : strlen(p);
    if (l == vl && strncmp(p, v, l) == 0)
      return true;
    p = bar ? bar + 1 : NULL;
  }
  return false;
}

beck_err_t beck__config_parse_value(const beck_connector_option_t *opt, const char *text, int64_t *i, double *d,
                                    beck_error_t *e) {
  *i = 0;
  *d = 0;
  switch (opt->type) {
  case BECK_CONNECTOR_OPT_STRING:
  case BECK_CONNECTOR_OPT_PASSWORD:
  case BECK_CONNECTOR_OPT_LIST:
    return BECK_ERR_OK;
  case BECK_CONNECTOR_OPT_ENUM:
    if (opt->choices == NULL || !enum_has(opt->choices, text))
      return beck_error_set(e, BECK_ERR_INVAL, "option %s: '%s' is not one of %s", opt->name, text,
                            opt->choices ? opt->choices : "(no choices)");
    return BECK_ERR_OK;
  case BECK_CONNECTOR_OPT_INT: {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
      return beck_error_set(e, BECK_ERR_INVAL, "option %s: '%s' is not an integer", opt->name, text);
    *i = v;
    return check_range(opt, (double)v, text, e);
  }
  case BECK_CONNECTOR_OPT_DOUBLE: {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v))
      return beck_error_set(e, BECK_ERR_INVAL, "option %s: '%s' is not a number", opt->name, text);
    *d = v;
    return check_range(opt, v, text, e);
  }
  case BECK_CONNECTOR_OPT_BOOL: {
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t k = 0; k < BECK__ARRAY_SIZE(yes); k++) {
      if (strcasecmp(text, yes[k]) == 0) {
        *i = 1;
        return BECK_ERR_OK;
      }
      if (strcasecmp(text, no[k]) == 0)
        return BECK_ERR_OK;
    }
    return beck_error_set(e, BECK_ERR_INVAL, "option %s: '%s' is not a boolean (true/false)", opt->name, text);
  }
  case BECK_CONNECTOR_OPT_DURATION: {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || !isfinite(v) || v < 0)
      return beck_error_set(e, BECK_ERR_INVAL, "option %s: '%s' is not a duration (like 250ms, 30s, 5m)", opt->name,
                            text);
    while (isspace((unsigned char)*end))
      end++;
    double mult;
    if (*end == '\0' || strcmp(end, "ms") == 0)
      mult = 1;
    else if (strcmp(end, "s") == 0)
      mult = 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
      mult = 60000;
    else if (strcmp(end, "h") == 0)
      mult = 3600000;
    else if (strcmp(end, "d") == 0)
      mult = 86400000;
    else
      return beck_error_set(e, BECK_ERR_INVAL, "option %s: unknown unit '%s' in '%s' (use ms, s, m, h or d)", opt->name,
                            end, text);
    double ms = v * mult;
    if (ms > 9.2e18)
      return beck_error_set(e, BECK_ERR_INVAL, "option %s: '%s' is too long", opt->name, text);
    *i = (int64_t)llround(ms);
    return check_range(opt, ms, text, e);
  }
  default:
    return beck_error_set(e, BECK_ERR_INVAL, "option %s: unknown type %u", opt->name, opt->type);
  }
}

/* Levenshtein distance, capped: small names only. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63)
    return 99;
  size_t row[64];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j];
      size_t best = prev + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      prev = cur;
    }
  }
  return row[lb];
}

static const char *suggest(const char *key, const beck_connector_option_t *a, size_t na,
                           const beck_connector_option_t *b, size_t nb) {
  const char *best = NULL;
  size_t bestd = 3; /* only close matches */
  for (size_t k = 0; k < na + nb; k++) {
    const beck_connector_option_t *o = k < na ? &a[k] : &b[k - na];
    size_t dist = edit_distance(key, o->name);
    if (dist < bestd) {
      bestd = dist;
      best = o->name;
    }
  }
  return best;
}

static const beck_connector_option_t *find_opt(const beck_connector_option_t *opts, size_t n, const char *name) {
  for (size_t k = 0; k < n; k++)
    if (strcmp(opts[k].name, name) == 0)
      return &opts[k];
  return NULL;
}

beck_err_t beck__config_bind(beck__config_t *cfg, const beck_connector_option_t *opts, size_t nopts,
                             const beck_connector_option_t *others, size_t nothers, const char *const *keys,
                             const char *const *values, int n, beck_error_t *e) {
  memset(cfg, 0, sizeof *cfg);
  if (nopts > 0) {
    cfg->vals = beck_calloc(nopts, sizeof *cfg->vals);
    if (cfg->vals == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory binding configuration");
  }
  cfg->n = nopts;
  for (size_t k = 0; k < nopts; k++)
    cfg->vals[k].opt = &opts[k];

  for (int j = 0; j < n; j++) {
    if (keys[j] == NULL || values[j] == NULL) {
      beck__config_free(cfg);
      return beck_error_set(e, BECK_ERR_INVAL, "configuration entry %d has no %s", j, keys[j] ? "value" : "name");
    }
    const beck_connector_option_t *o = find_opt(opts, nopts, keys[j]);
    if (o == NULL) {
      if (find_opt(others, nothers, keys[j]) != NULL)
        continue;
      const char *hint = suggest(keys[j], opts, nopts, others, nothers);
      beck__config_free(cfg);
      if (hint != NULL)
        return beck_error_set(e, BECK_ERR_INVAL, "unknown option '%s' (did you mean '%s'?)", keys[j], hint);
      return beck_error_set(e, BECK_ERR_INVAL, "unknown option '%s'", keys[j]);
    }
    beck__config_value_t *v = &cfg->vals[o - opts];
    char *copy = beck_strdup(values[j]);
    if (copy == NULL) {
      beck__config_free(cfg);
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory binding configuration");
    }
    beck_free(v->text); /* the last of repeated keys wins */
    v->text = copy;
    v->is_set = true;
  }

  for (size_t k = 0; k < nopts; k++) {
    beck__config_value_t *v = &cfg->vals[k];
    if (!v->is_set) {
      if (v->opt->required) {
        const beck_connector_option_t *o = v->opt;
        beck__config_free(cfg);
        return beck_error_set(e, BECK_ERR_INVAL, "missing required option '%s' (%s)", o->name,
                              o->description ? o->description : "no description");
      }
      if (v->opt->default_value != NULL) {
        v->text = beck_strdup(v->opt->default_value);
        if (v->text == NULL) {
          beck__config_free(cfg);
          return beck_error_set(e, BECK_ERR_NOMEM, "out of memory binding configuration");
        }
      }
    }
    if (v->text != NULL && beck__config_parse_value(v->opt, v->text, &v->i, &v->d, e) != BECK_ERR_OK) {
      beck__config_free(cfg);
      return e ? e->code : BECK_ERR_INVAL;
    }
  }
  return BECK_ERR_OK;
}

void beck__config_free(beck__config_t *cfg) {
  for (size_t k = 0; k < cfg->n; k++)
    beck_free(cfg->vals[k].text);
  beck_free(cfg->vals);
  cfg->vals = NULL;
  cfg->n = 0;
}

const beck__config_value_t *beck__config_find(const beck__config_t *cfg, const char *name) {
  if (name == NULL)
    return NULL;
  for (size_t k = 0; k < cfg->n; k++)
    if (strcmp(cfg->vals[k].opt->name, name) == 0)
      return &cfg->vals[k];
  return NULL;
}

const char *beck__config_string(const beck__config_t *cfg, const char *name) {
  const beck__config_value_t *v = beck__config_find(cfg, name);
  return v ? v->text : NULL;
}

int64_t beck__config_int(const beck__config_t *cfg, const char *name) {
  const beck__config_value_t *v = beck__config_find(cfg, name);
  if (v == NULL || v->text == NULL)
    return 0;
  if (v->opt->type == BECK_CONNECTOR_OPT_DOUBLE)
    return (int64_t)v->d;
  return v->i;
}

double beck__config_double(const beck__config_t *cfg, const char *name) {
  const beck__config_value_t *v = beck__config_find(cfg, name);
  if (v == NULL || v->text == NULL)
    return 0;
  if (v->opt->type == BECK_CONNECTOR_OPT_DOUBLE)
    return v->d;
  return (double)v->i;
}
