/*
 * plugin.h - connector plugins as the rest of Beck sees them: loading one
 * .so, discovering all plugins on the plugin path, and the checked,
 * normalised view of each connector descriptor (what `beck connector list`
 * and `describe` print).
 *
 * Invariants of a loaded connector (beck_connector_info_t):
 *   - its descriptor passed every check in loader.c: same major ABI, size at
 *     least the 1.0 layout, name and kind set, the callbacks its kind needs;
 *   - `desc` is a host-side copy: fields the plugin's struct_size did not
 *     cover are zero, so the host never reads past what the plugin defined;
 *   - `options` are host-side copies too, one per schema entry, strided by
 *     the plugin's option_size;
 *   - the .so stays mapped until the plugin set that loaded it is freed.
 *
 * Search order for plugins (first definition of a connector name wins, a
 * later one is reported as a duplicate): the directories given by the caller
 * (config `plugin.path`), then $BECK_PLUGIN_PATH, then the built-in directory
 * (../lib/beck/connectors next to the running executable, then the install
 * prefix). Each is a colon-separated list of directories or .so files.
 */
#ifndef BECK_CONNECT_PLUGIN_H
#define BECK_CONNECT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "beck/connector.h"

typedef struct beck_connector_info {
  beck_connector_descriptor_t desc; /* normalised copy */
  const char *name;                 /* = desc.name */
  beck_connector_kind_t kind;
  uint32_t abi_version; /* as the plugin declared it */
  const char *path;     /* the .so it came from */
  beck_connector_option_t *options;
  uint32_t option_count;
} beck_connector_info_t;

/* ---- one shared object ---------------------------------------------------- */

typedef struct beck_plugin beck_plugin_t;

/* Loads the plugin at path and checks every connector it exports. Never
 * crashes on a file that is not a plugin: a missing file, a non-ELF file, an
 * ELF for another machine, a .so without the entry symbol, a wrong ABI major
 * or a too-small descriptor each give an error whose message names the file
 * and the reason. (Code inside a well-formed .so runs in-process and is
 * trusted once loaded.) */
beck_err_t beck_plugin_open(const char *path, beck_plugin_t **out, beck_error_t *e);
/* Unloads; NULL is ok. Every instance created from it must be gone. */
void beck_plugin_close(beck_plugin_t *p);
uint32_t beck_plugin_connector_count(const beck_plugin_t *p);
const beck_connector_info_t *beck_plugin_connector(const beck_plugin_t *p, uint32_t i);
const char *beck_plugin_path(const beck_plugin_t *p);

/* ---- all plugins on the path ------------------------------------------------ */

typedef struct beck_plugin_set beck_plugin_set_t;

/* Discovers plugins: extra_path (colon-separated, may be NULL), then
 * $BECK_PLUGIN_PATH, then the built-in directory (unless no_builtin). Files
 * that fail to load do not fail discovery: they are listed by
 * beck_plugin_set_problem(). Fails only on out-of-memory. */
beck_err_t beck_plugin_set_discover(const char *extra_path, int no_builtin, beck_plugin_set_t **out, beck_error_t *e);
void beck_plugin_set_free(beck_plugin_set_t *s);
/* Connectors in discovery order. */
size_t beck_plugin_set_count(const beck_plugin_set_t *s);
const beck_connector_info_t *beck_plugin_set_get(const beck_plugin_set_t *s, size_t i);
/* Finds a connector by name; NULL when none. */
const beck_connector_info_t *beck_plugin_set_find(const beck_plugin_set_t *s, const char *name);
/* Files that were skipped, each "PATH: reason". */
size_t beck_plugin_set_problem_count(const beck_plugin_set_t *s);
const char *beck_plugin_set_problem(const beck_plugin_set_t *s, size_t i);

/* The built-in plugin directory this executable would search (for messages). */
const char *beck_plugin_builtin_dir(void);

/* ---- describing ------------------------------------------------------------ */

const char *beck_connector_kind_name(beck_connector_kind_t k); /* "source", "sink" */
const char *beck_connector_opt_type_name(uint32_t type);       /* "string", "int", ... */

/* The connector as JSON: name, kind, description, version, abi, path,
 * options[] and worker_options[] (each {name, type, required, default,
 * description[, choices][, min, max]}). Returns a string to free with
 * beck_free(), or NULL when out of memory. */
char *beck_connector_describe_json(const beck_connector_info_t *info);

/* What values an option takes beyond its type, as a user writes them:
 * "copy|upsert" (ENUM), "1..1000000" (INT, DOUBLE), "1ms..1h" (DURATION),
 * ">= 0" (no useful upper bound), or "" (anything of the type). Writes at
 * most n bytes (NUL-terminated) into buf and returns buf. */
const char *beck_connector_option_values(const beck_connector_option_t *o, char *buf, size_t n);

/* Appends the Markdown reference of the connectors in s (sorted by name),
 * after the worker options of sources and sinks: one table per schema with
 * option, type, default, values and description, straight from the tables.
 * docs/connectors.md holds this text between generated markers and a test
 * compares the two. BECK_ERR_NOMEM when out of memory. */
beck_err_t beck_connect_write_reference(const beck_plugin_set_t *s, beck_buf_t *out);

/* Options the worker itself reads for every connector (name, topic(s),
 * errors.*, ...), in the same schema format as plugin options. */
const beck_connector_option_t *beck_connect_worker_options(beck_connector_kind_t kind, uint32_t *count);

#endif
