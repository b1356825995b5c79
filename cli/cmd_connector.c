/*
 * cmd_connector.c - `beck connector list|describe`: the connector plugins
 * this `beck` can run and their configuration schemas.
 *
 * Everything comes from plugin discovery (connect/plugin.h): the directories
 * of --plugin-path, then $BECK_PLUGIN_PATH, then the built-in directory
 * (lib/beck/connectors next to bin/). Nothing talks to a cluster, so these
 * commands take only --plugin-path and the output options, not the client
 * options of cli_parse(). A file on the path that is not a valid plugin is
 * reported on stderr ("skipped PATH: why") and does not fail the command.
 *
 * The option tables printed here are the ones the worker validates
 * configurations against, plus the worker's own options (describe.c), so
 * the output cannot drift from what `beck` accepts. Output shapes (tables
 * and JSON) are documented in docs/cli.md.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "connect/plugin.h"
#include "kafka_util.h"

typedef struct conn_args {
  const char *cmd; /* "connector list" */
  const char *plugin_path;
  cli_output_t output;
  bool quiet;
  bool no_worker; /* describe: leave out the worker options */
} conn_args_t;

enum { OPT_PLUGIN_PATH = 3001, OPT_OUTPUT, OPT_JSON, OPT_NO_WORKER };

static void conn_error(const conn_args_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conn_error(const conn_args_t *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "beck %s: ", a->cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static const char plugin_help[] =
    "\n"
    "Plugins and output:\n"
    "      --plugin-path DIRS     more directories or .so files to search first, colon-separated\n"
    "                             (then $BECK_PLUGIN_PATH, then the built-in connectors)\n"
    "      --output table|json    aligned tables (default) or JSON for scripts\n"
    "      --json                 same as --output json\n"
    "  -h, --help                 show this help\n";

/* Parses the options shared by both subcommands plus `own` ones; positional
 * arguments stay in argv[*first..argc). Returns -1 to exit with *status. */
static int conn_parse(conn_args_t *a, const char *help, const char *examples, const struct option *own, int nown,
                      const char *shortopts, int min_args, int max_args, const char *arg_name, int argc, char **argv,
                      int *first, int *status) {
  static const struct option common[] = {
      {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},
      {"output", required_argument, NULL, OPT_OUTPUT},
      {"json", no_argument, NULL, OPT_JSON},
      {"help", no_argument, NULL, 'h'},
  };
  size_t ncommon = sizeof common / sizeof common[0];
  struct option lo[16];
  const char *names[16];
  int n = 0;
  for (int k = 0; k < nown; k++)
    lo[n++] = own[k];
  for (size_t k = 0; k < ncommon; k++)
    lo[n++] = common[k];
  for (int k = 0; k < n; k++)
    names[k] = lo[k].name;
  memset(&lo[n], 0, sizeof lo[n]);
  char so[32];
  snprintf(so, sizeof so, ":h%s", shortopts);
  opterr = 0;
  optind = 0;
  int ch;
  *status = CLI_EXIT_USAGE;
  while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
    switch (ch) {
    case 'h':
      fputs(help, stdout);
      fputs(plugin_help, stdout);
      fputs("\n", stdout);
      fputs(examples, stdout);
      *status = CLI_EXIT_OK;
      return -1;
    case OPT_PLUGIN_PATH:
      a->plugin_path = optarg;
      break;
    case OPT_OUTPUT:
      if (strcmp(optarg, "table") == 0 || strcmp(optarg, "text") == 0) {
        a->output = CLI_OUTPUT_TABLE;
      } else if (strcmp(optarg, "json") == 0) {
        a->output = CLI_OUTPUT_JSON;
      } else {
        conn_error(a, "--output: expected table or json, got '%s'", optarg);
        goto usage;
      }
      break;
    case OPT_JSON:
      a->output = CLI_OUTPUT_JSON;
      break;
    case 'q':
      a->quiet = true;
      break;
    case OPT_NO_WORKER:
      a->no_worker = true;
      break;
    case ':':
      conn_error(a, "option '%s' needs a value", argv[optind - 1]);
      goto usage;
    default: {
      const char *arg = argv[optind - 1];
      const char *guess = NULL;
      if (optopt == 0 && strncmp(arg, "--", 2) == 0) {
        char word[64];
        snprintf(word, sizeof word, "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
        guess = cli_suggest(word, names, n);
      }
      if (optopt != 0)
        conn_error(a, "unknown option '-%c'", optopt);
      else if (guess != NULL)
        conn_error(a, "unknown option '%s' (did you mean '--%s'?)", arg, guess);
      else
        conn_error(a, "unknown option '%s'", arg);
      goto usage;
    }
    }
  }
  int nargs = argc - optind;
  if (nargs < min_args) {
    conn_error(a, "missing %s", arg_name);
    goto usage;
  }
  if (max_args >= 0 && nargs > max_args) {
    conn_error(a, "unexpected argument '%s'", argv[optind + max_args]);
    goto usage;
  }
  *first = optind;
  return 0;
usage:
  fprintf(stderr, "Run `beck %s --help` for the options and examples.\n", a->cmd);
  return -1;
}

/* Discovers the plugins; prints each file that was skipped. NULL after
 * printing why (out of memory only). */
static beck_plugin_set_t *discover(const conn_args_t *a) {
  beck_plugin_set_t *s = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  if (beck_plugin_set_discover(a->plugin_path, 0, &s, &e) != BECK_ERR_OK) {
    conn_error(a, "%s", e.msg);
    return NULL;
  }
  for (size_t k = 0; k < beck_plugin_set_problem_count(s); k++)
    conn_error(a, "skipped %s", beck_plugin_set_problem(s, k));
  return s;
}

/* Whether the connector came from the built-in directory. */
static bool is_builtin(const beck_connector_info_t *c) {
  const char *dir = beck_plugin_builtin_dir();
  size_t n = strlen(dir);
  return strncmp(c->path, dir, n) == 0 && c->path[n] == '/' && strchr(c->path + n + 1, '/') == NULL;
}

static int cmp_info(const void *x, const void *y) {
  return strcmp((*(const beck_connector_info_t *const *)x)->name, (*(const beck_connector_info_t *const *)y)->name);
}

/* The connectors of s sorted by name, in a new array (beck_free it). */
static const beck_connector_info_t **sorted_connectors(const beck_plugin_set_t *s, size_t *n) {
  *n = beck_plugin_set_count(s);
  const beck_connector_info_t **v = cli_xcalloc(*n, sizeof *v);
  for (size_t k = 0; k < *n; k++)
    v[k] = beck_plugin_set_get(s, k);
  qsort(v, *n, sizeof *v, cmp_info);
  return v;
}

static int print_json(json_t *j) {
  int rc = cli_json_print(j, false) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
  json_decref(j);
  return rc;
}

static json_t *problems_json(const beck_plugin_set_t *s) {
  json_t *arr = json_array();
  for (size_t k = 0; k < beck_plugin_set_problem_count(s); k++)
    json_array_append_new(arr, json_string(beck_plugin_set_problem(s, k)));
  return arr;
}

/* ---- connector list ------------------------------------------------------------ */

static int connector_list(int argc, char **argv) {
  static const struct option own[] = {{"quiet", no_argument, NULL, 'q'}};
  conn_args_t a = {.cmd = "connector list"};
  int first, status;
  if (conn_parse(&a,
                 "Usage: beck connector list [-q] [--plugin-path DIRS]\n"
                 "\n"
                 "Lists the connectors this beck can run: the built-in ones and the plugins found\n"
                 "on the plugin path, sorted by name, with their kind and options (required\n"
                 "options are marked with *). `beck connector describe NAME` shows an option's\n"
                 "type, default and meaning.\n"
                 "\n"
                 "Options:\n"
                 "  -q, --quiet  names only, one per line\n",
                 "Examples:\n"
                 "  beck connector list\n"
                 "  beck connector list --plugin-path ./build/plugins --json\n",
                 own, 1, "q", 0, 0, NULL, argc, argv, &first, &status) < 0)
    return status;
  beck_plugin_set_t *s = discover(&a);
  if (s == NULL)
    return CLI_EXIT_FAIL;
  size_t n;
  const beck_connector_info_t **v = sorted_connectors(s, &n);
  int rc = CLI_EXIT_OK;
  if (a.quiet) {
    for (size_t k = 0; k < n; k++)
      printf("%s\n", v[k]->name);
  } else if (a.output == CLI_OUTPUT_JSON) {
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++) {
      json_t *c = json_object();
      json_object_set_new(c, "name", json_string(v[k]->name));
      json_object_set_new(c, "kind", json_string(beck_connector_kind_name(v[k]->kind)));
      json_object_set_new(c, "description", cli_json_str_or_null(v[k]->desc.description));
      json_object_set_new(c, "version", cli_json_str_or_null(v[k]->desc.version));
      json_object_set_new(c, "builtin", json_boolean(is_builtin(v[k])));
      json_object_set_new(c, "path", json_string(v[k]->path));
      json_t *opts = json_array();
      for (uint32_t i = 0; i < v[k]->option_count; i++) {
        const beck_connector_option_t *o = &v[k]->options[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(o->name));
        json_object_set_new(j, "type", json_string(beck_connector_opt_type_name(o->type)));
        json_object_set_new(j, "required", json_boolean(o->required));
        json_array_append_new(opts, j);
      }
      json_object_set_new(c, "options", opts);
      json_array_append_new(arr, c);
    }
    json_t *top = json_object();
    json_object_set_new(top, "connectors", arr);
    json_object_set_new(top, "skipped", problems_json(s));
    rc = print_json(top);
  } else {
    static const char *const hdr[] = {"NAME", "KIND", "VERSION", "FROM", "OPTIONS"};
    cli_table_t *t = cli_table_new(5, hdr);
    for (size_t k = 0; k < n; k++) {
      cli_table_str(t, v[k]->name);
      cli_table_str(t, beck_connector_kind_name(v[k]->kind));
      cli_table_str(t, v[k]->desc.version);
      cli_table_str(t, is_builtin(v[k]) ? "built-in" : v[k]->path);
      size_t len = 1;
      for (uint32_t i = 0; i < v[k]->option_count; i++)
        len += strlen(v[k]->options[i].name) + 3;
      char *opts = cli_xmalloc(len);
      opts[0] = '\0';
      for (uint32_t i = 0; i < v[k]->option_count; i++) {
        if (i > 0)
          strcat(opts, ", ");
        strcat(opts, v[k]->options[i].name);
        if (v[k]->options[i].required)
          strcat(opts, "*");
      }
      cli_table_str(t, opts[0] ? opts : NULL);
      beck_free(opts);
    }
    cli_table_print(t, stdout, 0);
    cli_table_destroy(t);
    if (n == 0)
      conn_error(&a, "no connectors found (built-in directory %s; set --plugin-path or BECK_PLUGIN_PATH)",
                 beck_plugin_builtin_dir());
  }
  beck_free(v);
  beck_plugin_set_free(s);
  return rc;
}

/* ---- connector describe ------------------------------------------------------------ */

static void options_table(const beck_connector_option_t *opts, uint32_t n) {
  static const char *const hdr[] = {"OPTION", "TYPE", "DEFAULT", "VALUES", "DESCRIPTION"};
  cli_table_t *t = cli_table_new(5, hdr);
  for (uint32_t k = 0; k < n; k++) {
    const beck_connector_option_t *o = &opts[k];
    char values[128];
    beck_connector_option_values(o, values, sizeof values);
    cli_table_str(t, o->name);
    cli_table_str(t, beck_connector_opt_type_name(o->type));
    if (o->required)
      cli_table_str(t, "(required)");
    else
      cli_table_str(t, o->default_value && o->default_value[0] ? o->default_value : NULL);
    cli_table_str(t, values[0] ? values : NULL);
    cli_table_str(t, o->description);
  }
  cli_table_print(t, stdout, 2);
  cli_table_destroy(t);
}

static int connector_describe(int argc, char **argv) {
  static const struct option own[] = {{"no-worker-options", no_argument, NULL, OPT_NO_WORKER}};
  conn_args_t a = {.cmd = "connector describe"};
  int first, status;
  if (conn_parse(&a,
                 "Usage: beck connector describe NAME [--no-worker-options] [--plugin-path DIRS]\n"
                 "\n"
                 "Prints a connector's configuration schema: each option with its type, default,\n"
                 "the values it takes and what it does; then the options the worker reads for\n"
                 "every connector of its kind (name, topic or topics, errors.*, batch.*, ...).\n"
                 "\n"
                 "Options:\n"
                 "      --no-worker-options  only the connector's own options\n",
                 "Examples:\n"
                 "  beck connector describe postgres-sink\n"
                 "  beck connector describe file-source --json\n",
                 own, 1, "", 1, 1, "connector NAME", argc, argv, &first, &status) < 0)
    return status;
  const char *name = argv[first];
  beck_plugin_set_t *s = discover(&a);
  if (s == NULL)
    return CLI_EXIT_FAIL;
  const beck_connector_info_t *c = beck_plugin_set_find(s, name);
  if (c == NULL) {
    size_t n;
    const beck_connector_info_t **v = sorted_connectors(s, &n);
    const char **names = cli_xcalloc(n, sizeof *names);
    for (size_t k = 0; k < n; k++)
      names[k] = v[k]->name;
    const char *guess = cli_suggest(name, names, (int)n);
    if (guess != NULL)
      conn_error(&a, "no connector '%s' (did you mean '%s'? `beck connector list` shows them)", name, guess);
    else
      conn_error(&a, "no connector '%s' (`beck connector list` shows them)", name);
    beck_free(names);
    beck_free(v);
    beck_plugin_set_free(s);
    return CLI_EXIT_FAIL;
  }
  int rc = CLI_EXIT_OK;
  uint32_t nw = 0;
  const beck_connector_option_t *wopts = beck_connect_worker_options(c->kind, &nw);
  if (a.output == CLI_OUTPUT_JSON) {
    char *text = beck_connector_describe_json(c);
    json_error_t je;
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, &je) : NULL;
    beck_free(text);
    if (j == NULL) {
      fputs("beck: out of memory\n", stderr);
      exit(1);
    }
    json_object_set_new(j, "builtin", json_boolean(is_builtin(c)));
    if (a.no_worker)
      json_object_del(j, "worker_options");
    rc = print_json(j);
  } else {
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", BECK_CONNECTOR_ABI_MAJOR_OF(c->abi_version),
             BECK_CONNECTOR_ABI_MINOR_OF(c->abi_version));
    cli_table_t *kv = cli_table_new(2, NULL);
    cli_table_str(kv, "NAME");
    cli_table_str(kv, c->name);
    cli_table_str(kv, "KIND");
    cli_table_str(kv, beck_connector_kind_name(c->kind));
    cli_table_str(kv, "DESCRIPTION");
    cli_table_str(kv, c->desc.description);
    cli_table_str(kv, "VERSION");
    cli_table_str(kv, c->desc.version);
    cli_table_str(kv, "ABI");
    cli_table_str(kv, abi);
    cli_table_str(kv, "PLUGIN");
    cli_table_cell(kv, "%s%s", c->path, is_builtin(c) ? " (built-in)" : "");
    cli_table_print(kv, stdout, 0);
    cli_table_destroy(kv);
    printf("\nOPTIONS\n");
    if (c->option_count > 0)
      options_table(c->options, c->option_count);
    else
      printf("  (none of its own)\n");
    if (!a.no_worker) {
      printf("\nWORKER OPTIONS\n");
      options_table(wopts, nw);
    }
  }
  beck_plugin_set_free(s);
  return rc;
}

/* ---- the group ------------------------------------------------------------------------- */

static const beck_cli_command_t connector_commands[] = {
    {"list", "built-in and discovered connectors with their kind and options", connector_list},
    {"describe", "a connector's configuration schema", connector_describe},
    {NULL, NULL, NULL},
};

int cmd_connector(int argc, char **argv) {
  return cli_dispatch("connector",
                      "Lists the connector plugins (built-in and on the plugin path) and describes their options.",
                      connector_commands, argc, argv);
}
