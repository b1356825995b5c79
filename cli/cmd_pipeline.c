/*
 * cmd_pipeline.c - `beck pipeline validate|test|describe FILE`.
 *
 *   validate  loads the file as `beck run` would (connector names and
 *             options checked against the plugins' schemas) and prints every
 *             problem as FILE:LINE:COL: message, with the line and a caret
 *   test      runs the file's `tests:` on the deterministic test driver
 *             (virtual event time) and prints a diff for each failure
 *   describe  prints the topology the streams compile to
 *
 * Exit statuses: 0 valid / every test passed, 1 problems / a test failed,
 * 2 bad usage.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cli.h"
#include "connect/pipeline/runtime.h"
#include "pipeline_cli.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

bool cli_use_color(int fd) {
  const char *term = getenv("TERM");
  return isatty(fd) && getenv("NO_COLOR") == NULL && term != NULL && strcmp(term, "dumb") != 0;
}

/* ---- diagnostics with their source line ---------------------------------------- */

typedef struct source_text {
  char *text;
  size_t len;
} source_text_t;

static void read_source(const char *path, source_text_t *s) {
  memset(s, 0, sizeof *s);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return;
  size_t cap = 0;
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0 && s->len < (64u << 20)) {
    if (s->len + n + 1 > cap) {
      cap = (s->len + n + 1) * 2;
      char *t = realloc(s->text, cap);
      if (t == NULL)
        break;
      s->text = t;
    }
    memcpy(s->text + s->len, buf, n);
    s->len += n;
  }
  fclose(f);
}

/* Prints line `line` (1-based) of the source and a caret under column col
 * (characters), as compilers do. */
static void show_line(const source_text_t *s, uint32_t line, uint32_t col, bool color) {
  if (s->text == NULL || line == 0)
    return;
  const char *p = s->text, *end = s->text + s->len;
  for (uint32_t l = 1; l < line && p < end; l++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL)
      return;
    p = nl + 1;
  }
  const char *eol = memchr(p, '\n', (size_t)(end - p));
  if (eol == NULL)
    eol = end;
  if (eol > p && eol[-1] == '\r')
    eol--;
  if (eol - p > 200)
    eol = p + 200;
  fprintf(stderr, "%6u | %.*s\n       | ", line, (int)(eol - p), p);
  /* pad with the line's own tabs so the caret lines up */
  uint32_t c = 1;
  for (const char *q = p; q < eol && c < col; q++) {
    if (((unsigned char)*q & 0xc0) == 0x80)
      continue; /* continuation byte: same character */
    fputc(*q == '\t' ? '\t' : ' ', stderr);
    c++;
  }
  fprintf(stderr, "%s^%s\n", color ? "\033[1;31m" : "", color ? "\033[0m" : "");
}

static void print_diags(const char *path, const beck_pipeline_diags_t *d) {
  source_text_t s;
  read_source(path, &s);
  bool color = cli_use_color(2);
  size_t n = beck_pipeline_diags_count(d);
  for (size_t i = 0; i < n; i++) {
    const beck_pipeline_diag_t *g = beck_pipeline_diags_get(d, i);
    if (color)
      fprintf(stderr, "\033[1m%s:%u:%u:\033[0m \033[1;31merror:\033[0m %s\n", g->file, g->line, g->col, g->message);
    else
      fprintf(stderr, "%s\n", g->text);
    show_line(&s, g->line, g->col, color);
  }
  fprintf(stderr, "%s: %zu problem%s; nothing was run\n", path, n, n == 1 ? "" : "s");
  free(s.text);
}

int cli_pipeline_load(const char *cmd, const char *path, const char *plugin_path, bool check_connectors,
                      beck_plugin_set_t **plugins, beck_pipeline_t **out) {
  *plugins = NULL;
  *out = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  if (beck_plugin_set_discover(plugin_path, 0, plugins, &e) != BECK_ERR_OK) {
    fprintf(stderr, "beck %s: %s\n", cmd, e.msg);
    return EXIT_FAIL;
  }
  for (size_t k = 0; k < beck_plugin_set_problem_count(*plugins); k++)
    fprintf(stderr, "beck %s: skipped plugin %s\n", cmd, beck_plugin_set_problem(*plugins, k));
  beck_pipeline_connectors_t cs;
  beck_pipeline_connectors_from_plugins(*plugins, &cs);
  beck_pipeline_load_opts_t o = {.connectors = check_connectors ? &cs : NULL};
  beck_pipeline_diags_t *d = NULL;
  beck_err_t rc = beck_pipeline_load_file(path, &o, out, &d);
  if (rc != BECK_ERR_OK) {
    if (d != NULL && beck_pipeline_diags_count(d) > 0)
      print_diags(path, d);
    else
      fprintf(stderr, "beck %s: %s: %s\n", cmd, path, beck_strerror(rc));
    beck_pipeline_diags_free(d);
    beck_plugin_set_free(*plugins);
    *plugins = NULL;
    return EXIT_FAIL;
  }
  beck_pipeline_diags_free(d);
  if (check_connectors && beck_plugin_set_count(*plugins) == 0 && ((*out)->nsources + (*out)->nsinks) > 0)
    fprintf(stderr, "beck %s: warning: no connector plugins found (built-in directory %s)\n", cmd,
            beck_plugin_builtin_dir());
  return EXIT_OK;
}

/* ---- validate ------------------------------------------------------------------ */

enum { OPT_PLUGIN_PATH = 1000, OPT_NO_CONNECTORS, OPT_TEST };

static void summary(const beck_pipeline_t *p, char *buf, size_t cap) {
  size_t steps = 0;
  for (size_t i = 0; i < p->nstreams; i++)
    steps += p->streams[i].nsteps;
  snprintf(buf, cap, "%zu source%s, %zu stream%s (%zu step%s), %zu sink%s, %zu test%s", p->nsources,
           p->nsources == 1 ? "" : "s", p->nstreams, p->nstreams == 1 ? "" : "s", steps, steps == 1 ? "" : "s",
           p->nsinks, p->nsinks == 1 ? "" : "s", p->ntests, p->ntests == 1 ? "" : "s");
}

static int usage_pipeline(FILE *out) {
  fprintf(out, "Usage: beck pipeline validate FILE [--plugin-path DIRS] [--no-connectors]\n"
               "       beck pipeline test FILE [--test NAME] [--plugin-path DIRS]\n"
               "       beck pipeline describe FILE\n"
               "\n"
               "  validate   check a pipeline file: every problem with FILE:LINE:COL, what was\n"
               "             expected and a did-you-mean; connector options are checked against\n"
               "             the plugins' schemas (see `beck connector describe NAME`)\n"
               "  test       run the file's tests: section on the deterministic test driver\n"
               "             (virtual event time; nothing needs to run) and show a diff on failure\n"
               "  describe   print the topology the file's streams compile to\n"
               "\n"
               "Options:\n"
               "  --plugin-path DIRS  more connector plugin directories or .so files, colon-separated\n"
               "  --no-connectors     validate: do not check connector names and options\n"
               "  --test NAME         test: run only the tests whose name contains NAME (repeatable)\n"
               "\n"
               "Exit status: 0 valid / all tests passed, 1 problems / a test failed, 2 bad usage.\n"
               "The format is documented in docs/pipelines.md.\n");
  return out == stdout ? EXIT_OK : EXIT_USAGE;
}

typedef struct pl_args {
  const char *file;
  const char *plugin_path;
  bool no_connectors;
  const char *tests[64];
  int ntests;
} pl_args_t;

static int parse(const char *sub, int argc, char **argv, pl_args_t *a) {
  static const struct option longopts[] = {
      {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},
      {"no-connectors", no_argument, NULL, OPT_NO_CONNECTORS},
      {"test", required_argument, NULL, OPT_TEST},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  memset(a, 0, sizeof *a);
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case OPT_PLUGIN_PATH:
      a->plugin_path = optarg;
      break;
    case OPT_NO_CONNECTORS:
      a->no_connectors = true;
      break;
    case OPT_TEST:
      if (a->ntests < 64)
        a->tests[a->ntests++] = optarg;
      break;
    case 'h':
      usage_pipeline(stdout);
      return -2;
    default:
      usage_pipeline(stderr);
      return -1;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "beck pipeline %s: which file? (beck pipeline %s FILE)\n", sub, sub);
    return -1;
  }
  if (optind + 1 < argc) {
    fprintf(stderr, "beck pipeline %s: unexpected argument '%s'\n", sub, argv[optind + 1]);
    return -1;
  }
  a->file = argv[optind];
  return 0;
}

static int pipeline_validate(int argc, char **argv) {
  pl_args_t a;
  int pr = parse("validate", argc, argv, &a);
  if (pr < 0)
    return pr == -2 ? EXIT_OK : EXIT_USAGE;
  beck_plugin_set_t *plugins;
  beck_pipeline_t *p;
  int rc = cli_pipeline_load("pipeline validate", a.file, a.plugin_path, !a.no_connectors, &plugins, &p);
  if (rc != EXIT_OK)
    return rc;
  char s[256];
  summary(p, s, sizeof s);
  printf("%s: valid: pipeline %s, %s\n", a.file, p->name, s);
  beck_pipeline_free(p);
  beck_plugin_set_free(plugins);
  return EXIT_OK;
}

/* ---- test ----------------------------------------------------------------------- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_report(const beck_buf_t *r, bool color) {
  const char *p = r->data ? (const char *)r->data : "", *end = p + r->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    const char *col = NULL;
    if (color && n >= 6 && strncmp(p, "    - ", 6) == 0)
      col = "\033[31m";
    else if (color && n >= 6 && strncmp(p, "    + ", 6) == 0)
      col = "\033[32m";
    else if (color && n >= 6 && strncmp(p, "      ", 6) == 0)
      col = "\033[2m";
    printf("%s%.*s%s\n", col ? col : "", (int)n, p, col ? "\033[0m" : "");
    p += n + (nl ? 1 : 0);
  }
}

static int pipeline_test(int argc, char **argv) {
  pl_args_t a;
  int pr = parse("test", argc, argv, &a);
  if (pr < 0)
    return pr == -2 ? EXIT_OK : EXIT_USAGE;
  beck_plugin_set_t *plugins;
  beck_pipeline_t *p;
  int rc = cli_pipeline_load("pipeline test", a.file, a.plugin_path, true, &plugins, &p);
  if (rc != EXIT_OK)
    return rc;
  bool color = cli_use_color(1);
  size_t passed = 0, failed = 0;
  int64_t t0 = now_ms();
  for (size_t i = 0; i < p->ntests; i++) {
    const beck_pipeline_test_t *t = &p->tests[i];
    bool want = a.ntests == 0;
    for (int k = 0; k < a.ntests && !want; k++)
      want = strstr(t->name, a.tests[k]) != NULL;
    if (!want)
      continue;
    beck_pipeline_test_result_t res;
    beck_error_t e;
    beck_error_clear(&e);
    int64_t t1 = now_ms();
    beck_pipeline_test_run(p, i, &res, &e);
    int64_t ms = now_ms() - t1;
    if (res.passed) {
      passed++;
      printf("%sok%s    %s (%lld ms)\n", color ? "\033[32m" : "", color ? "\033[0m" : "", t->name, (long long)ms);
    } else {
      failed++;
      printf("%sFAIL%s  %s (%s:%u:%u)\n", color ? "\033[1;31m" : "", color ? "\033[0m" : "", t->name, p->file,
             t->pos.line, t->pos.col);
      print_report(&res.report, color);
    }
    beck_buf_free(&res.report);
    fflush(stdout);
  }
  if (passed + failed == 0) {
    fprintf(stderr, "beck pipeline test: %s: %s\n", a.file,
            p->ntests == 0 ? "no tests (add a tests: section; see docs/pipelines.md#tests)"
                           : "no test name matches --test");
    rc = EXIT_FAIL;
  } else {
    printf("\n%s: %zu passed, %zu failed (%lld ms)\n", a.file, passed, failed, (long long)(now_ms() - t0));
    rc = failed ? EXIT_FAIL : EXIT_OK;
  }
  beck_pipeline_free(p);
  beck_plugin_set_free(plugins);
  return rc;
}

/* ---- describe ------------------------------------------------------------------- */

static int pipeline_describe(int argc, char **argv) {
  pl_args_t a;
  int pr = parse("describe", argc, argv, &a);
  if (pr < 0)
    return pr == -2 ? EXIT_OK : EXIT_USAGE;
  beck_plugin_set_t *plugins;
  beck_pipeline_t *p;
  int rc = cli_pipeline_load("pipeline describe", a.file, a.plugin_path, !a.no_connectors, &plugins, &p);
  if (rc != EXIT_OK)
    return rc;
  beck_pipeline_compiled_t *c = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  if (p->nstreams + p->ntables == 0) {
    printf("pipeline %s has no streams: its sources write topics its sinks read\n", p->name);
  } else if (beck_pipeline_compile(p, &c, &e) != BECK_ERR_OK) {
    fprintf(stderr, "beck pipeline describe: %s\n", e.msg);
    rc = EXIT_FAIL;
  } else {
    beck_buf_t out = {0};
    if (beck_topology_describe(beck_pipeline_compiled_topology(c), &out) == BECK_ERR_OK)
      printf("%.*s", (int)out.len, out.data ? (const char *)out.data : "");
    beck_buf_free(&out);
  }
  beck_pipeline_compiled_free(c);
  beck_pipeline_free(p);
  beck_plugin_set_free(plugins);
  return rc;
}

int cmd_pipeline(int argc, char **argv) {
  if (argc < 2)
    return usage_pipeline(stderr);
  const char *sub = argv[1];
  if (strcmp(sub, "validate") == 0)
    return pipeline_validate(argc - 1, argv + 1);
  if (strcmp(sub, "test") == 0)
    return pipeline_test(argc - 1, argv + 1);
  if (strcmp(sub, "describe") == 0)
    return pipeline_describe(argc - 1, argv + 1);
  if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)
    return usage_pipeline(stdout);
  fprintf(stderr, "beck pipeline: unknown command '%s' (validate, test or describe)\n", sub);
  return EXIT_USAGE;
}
