/*
 * describe.c - connector schemas as data, for `beck connector list` and
 * `beck connector describe NAME --output json`: one JSON object per
 * connector with its plugin options and the worker options that apply to
 * its kind, straight from the schema tables (so the output cannot drift
 * from what the worker accepts). Also the Markdown reference of every
 * option that docs/connectors.md embeds (checked by
 * tests/unit/connect/test_describe.c).
 */
#include "connect_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

static json_t *options_json(const beck_connector_option_t *opts, uint32_t n) {
  json_t *arr = json_array();
  for (uint32_t k = 0; arr != NULL && k < n; k++) {
    const beck_connector_option_t *o = &opts[k];
    json_t *j = json_object();
    if (j == NULL || json_array_append_new(arr, j) != 0) {
      json_decref(arr);
      return NULL;
    }
    json_object_set_new(j, "name", json_string(o->name));
    json_object_set_new(j, "type", json_string(beck_connector_opt_type_name(o->type)));
    json_object_set_new(j, "required", json_boolean(o->required));
    json_object_set_new(j, "default", o->default_value ? json_string(o->default_value) : json_null());
    json_object_set_new(j, "description", json_string(o->description ? o->description : ""));
    if (o->choices != NULL)
      json_object_set_new(j, "choices", json_string(o->choices));
    if (o->min < o->max) {
      json_object_set_new(j, "min", json_real(o->min));
      json_object_set_new(j, "max", json_real(o->max));
    }
  }
  return arr;
}

char *beck_connector_describe_json(const beck_connector_info_t *info) {
  uint32_t nw = 0;
  const beck_connector_option_t *wopts = beck_connect_worker_options(info->kind, &nw);
  char abi[32];
  snprintf(abi, sizeof abi, "%u.%u", BECK_CONNECTOR_ABI_MAJOR_OF(info->abi_version),
           BECK_CONNECTOR_ABI_MINOR_OF(info->abi_version));
  json_t *root = json_object();
  if (root == NULL)
    return NULL;
  json_object_set_new(root, "name", json_string(info->name));
  json_object_set_new(root, "kind", json_string(beck_connector_kind_name(info->kind)));
  json_object_set_new(root, "description", info->desc.description ? json_string(info->desc.description) : json_null());
  json_object_set_new(root, "version", info->desc.version ? json_string(info->desc.version) : json_null());
  json_object_set_new(root, "abi", json_string(abi));
  json_object_set_new(root, "path", json_string(info->path));
  json_object_set_new(root, "options", options_json(info->options, info->option_count));
  json_object_set_new(root, "worker_options", options_json(wopts, nw));
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (text == NULL)
    return NULL;
  char *out = beck_strdup(text); /* callers free with beck_free */
  free(text);
  return out;
}

/* ---- values and the Markdown reference --------------------------------------- */

/* A duration in ms the way a user writes it: "1h", "5m", "30s", "250ms". */
static void fmt_duration(char *buf, size_t n, double ms) {
  long long v = (long long)ms;
  if (v != 0 && v % 3600000 == 0)
    snprintf(buf, n, "%lldh", v / 3600000);
  else if (v != 0 && v % 60000 == 0)
    snprintf(buf, n, "%lldm", v / 60000);
  else if (v != 0 && v % 1000 == 0)
    snprintf(buf, n, "%llds", v / 1000);
  else
    snprintf(buf, n, "%lldms", v);
}

static void fmt_number(char *buf, size_t n, uint32_t type, double v) {
  if (type == BECK_CONNECTOR_OPT_DURATION)
    fmt_duration(buf, n, v);
  else if (type == BECK_CONNECTOR_OPT_INT || v == floor(v))
    snprintf(buf, n, "%.0f", v);
  else
    snprintf(buf, n, "%g", v);
}

const char *beck_connector_option_values(const beck_connector_option_t *o, char *buf, size_t n) {
  if (n == 0)
    return buf;
  buf[0] = '\0';
  if (o->type == BECK_CONNECTOR_OPT_ENUM && o->choices != NULL) {
    snprintf(buf, n, "%s", o->choices);
  } else if ((o->type == BECK_CONNECTOR_OPT_INT || o->type == BECK_CONNECTOR_OPT_DOUBLE ||
              o->type == BECK_CONNECTOR_OPT_DURATION) &&
             o->min < o->max) {
    char lo[48], hi[48];
    fmt_number(lo, sizeof lo, o->type, o->min);
    if (o->max >= 9e18) { /* INT64_MAX as a double: no upper bound worth saying */
      snprintf(buf, n, ">= %s", lo);
    } else {
      fmt_number(hi, sizeof hi, o->type, o->max);
      snprintf(buf, n, "%s..%s", lo, hi);
    }
  }
  return buf;
}

/* Appends s with '|' escaped (a Markdown table cell). */
static beck_err_t md_cell(beck_buf_t *out, const char *s) {
  beck_err_t rc = BECK_ERR_OK;
  for (const char *p = s; rc == BECK_ERR_OK && *p; p++)
    rc = *p == '|' ? beck_buf_append(out, "\\|", 2) : beck_buf_append(out, p, 1);
  return rc;
}

static bool in_table(const beck_connector_option_t *opts, uint32_t n, const char *name) {
  for (uint32_t k = 0; k < n; k++)
    if (strcmp(opts[k].name, name) == 0)
      return true;
  return false;
}

/* One table of the options of opts that are (want_in != 0) or are not
 * (want_in == 0) also in other[]; other NULL: all of them. */
static beck_err_t md_options(beck_buf_t *out, const beck_connector_option_t *opts, uint32_t n,
                             const beck_connector_option_t *other, uint32_t nother, int want_in) {
  beck_err_t rc = beck_buf_printf(out, "| option | type | default | values | description |\n|---|---|---|---|---|\n");
  for (uint32_t k = 0; rc == BECK_ERR_OK && k < n; k++) {
    const beck_connector_option_t *o = &opts[k];
    if (other != NULL && in_table(other, nother, o->name) != (want_in != 0))
      continue;
    char values[128];
    beck_connector_option_values(o, values, sizeof values);
    rc = beck_buf_printf(out, "| `%s` | %s | ", o->name, beck_connector_opt_type_name(o->type));
    if (rc == BECK_ERR_OK) {
      if (o->required)
        rc = beck_buf_printf(out, "*required*");
      else if (o->default_value != NULL && o->default_value[0] != '\0')
        rc = beck_buf_printf(out, "`%s`", o->default_value);
    }
    if (rc == BECK_ERR_OK)
      rc = beck_buf_printf(out, " | ");
    if (rc == BECK_ERR_OK && values[0] != '\0') {
      rc = beck_buf_printf(out, "`");
      if (rc == BECK_ERR_OK)
        rc = md_cell(out, values);
      if (rc == BECK_ERR_OK)
        rc = beck_buf_printf(out, "`");
    }
    if (rc == BECK_ERR_OK)
      rc = beck_buf_printf(out, " | ");
    if (rc == BECK_ERR_OK)
      rc = md_cell(out, o->description ? o->description : "");
    if (rc == BECK_ERR_OK)
      rc = beck_buf_printf(out, " |\n");
  }
  return rc;
}

static int cmp_info(const void *a, const void *b) {
  return strcmp((*(const beck_connector_info_t *const *)a)->name, (*(const beck_connector_info_t *const *)b)->name);
}

beck_err_t beck_connect_write_reference(const beck_plugin_set_t *s, beck_buf_t *out) {
  uint32_t nsrc = 0, nsink = 0;
  const beck_connector_option_t *src = beck_connect_worker_options(BECK_CONNECTOR_SOURCE, &nsrc);
  const beck_connector_option_t *sink = beck_connect_worker_options(BECK_CONNECTOR_SINK, &nsink);
  beck_err_t rc = beck_buf_printf(out, "### Worker options of every connector\n\n");
  if (rc == BECK_ERR_OK)
    rc = md_options(out, src, nsrc, sink, nsink, 1);
  if (rc == BECK_ERR_OK)
    rc = beck_buf_printf(out, "\n### Worker options of sources\n\n");
  if (rc == BECK_ERR_OK)
    rc = md_options(out, src, nsrc, sink, nsink, 0);
  if (rc == BECK_ERR_OK)
    rc = beck_buf_printf(out, "\n### Worker options of sinks\n\n");
  if (rc == BECK_ERR_OK)
    rc = md_options(out, sink, nsink, src, nsrc, 0);
  size_t n = beck_plugin_set_count(s);
  const beck_connector_info_t **sorted = n ? beck_calloc(n, sizeof *sorted) : NULL;
  if (n > 0 && sorted == NULL)
    return BECK_ERR_NOMEM;
  for (size_t k = 0; k < n; k++)
    sorted[k] = beck_plugin_set_get(s, k);
  if (n > 1)
    qsort(sorted, n, sizeof *sorted, cmp_info);
  for (size_t k = 0; rc == BECK_ERR_OK && k < n; k++) {
    const beck_connector_info_t *c = sorted[k];
    rc = beck_buf_printf(out, "\n### `%s` (%s)\n\n%s\n\n", c->name, beck_connector_kind_name(c->kind),
                         c->desc.description ? c->desc.description : "");
    if (rc == BECK_ERR_OK)
      rc = c->option_count > 0 ? md_options(out, c->options, c->option_count, NULL, 0, 0)
                               : beck_buf_printf(out, "No options of its own.\n");
  }
  beck_free(sorted);
  return rc;
}
