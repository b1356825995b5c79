/*
 * plugins.c - the loader's connector interface (beck_pipeline_connectors_t)
 * backed by the Connect worker's plugin set: names and config schemas come
 * from the .so files the worker would load, and every connector also
 * accepts the worker's own options (errors.*, batch.*, ...).
 */
#include "connect/pipeline/runtime_int.h"

static bool lookup(void *ud, const char *name, beck_pipeline_connector_t *out) {
  const beck_connector_info_t *info = beck_plugin_set_find(ud, name);
  if (info == NULL)
    return false;
  uint32_t nextra = 0;
  const beck_connector_option_t *extra = beck_connect_worker_options(info->kind, &nextra);
  out->kind = info->kind;
  out->options = info->options;
  out->option_count = info->option_count;
  out->option_size = sizeof(beck_connector_option_t); /* host-side copies */
  out->extra = extra;
  out->extra_count = nextra;
  return true;
}

static const char *name_at(void *ud, size_t i) {
  beck_plugin_set_t *set = ud;
  return i < beck_plugin_set_count(set) ? beck_plugin_set_get(set, i)->name : NULL;
}

void beck_pipeline_connectors_from_plugins(beck_plugin_set_t *set, beck_pipeline_connectors_t *out) {
  out->ud = set;
  out->lookup = lookup;
  out->name_at = name_at;
}
