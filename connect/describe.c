/*
 * describe.c - connector schemas as data, for `beck connector list` and
 * `beck connector describe NAME --output json`: one JSON object per
 * connector with its plugin options and the worker options that apply to
 * its kind, straight from the schema tables (so the output cannot drift
 * from what the worker accepts).
 */
#include "connect_int.h"

#include <jansson.h>
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
