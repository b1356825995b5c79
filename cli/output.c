/*
 * output.c - aligned tables and JSON for the client commands.
 *
 * A table is a grid of copied strings; it is printed once, when every width
 * is known. Widths count UTF-8 characters (not bytes), so topic names in any
 * script line up. Cells never contain control characters: a newline in a
 * group id must not break the grid, so they print as '?'.
 */
#include "output.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"

/* ---- memory --------------------------------------------------------------- */

static void *oom(void) {
  fputs("beck: out of memory\n", stderr);
  exit(1);
}

void *cli_xmalloc(size_t n) {
  void *p = beck_malloc(n ? n : 1);
  return p ? p : oom();
}

void *cli_xcalloc(size_t count, size_t size) {
  void *p = beck_calloc(count ? count : 1, size ? size : 1);
  return p ? p : oom();
}

void *cli_xrealloc(void *p, size_t n) {
  void *q = beck_realloc(p, n ? n : 1);
  return q ? q : oom();
}

char *cli_xstrdup(const char *s) {
  char *p = beck_strdup(s);
  return p ? p : oom();
}

/* ---- tables --------------------------------------------------------------- */

struct cli_table {
  int ncols;
  bool header;
  char **cells; /* row-major; the header (when present) is row 0 */
  size_t ncells, cap;
};

static void push_cell(cli_table_t *t, char *s) {
  if (t->ncells == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 64;
    t->cells = cli_xrealloc(t->cells, t->cap * sizeof *t->cells);
  }
  for (char *c = s; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
  t->cells[t->ncells++] = s;
}

cli_table_t *cli_table_new(int ncols, const char *const *headers) {
  cli_table_t *t = cli_xcalloc(1, sizeof *t);
  t->ncols = ncols;
  if (headers) {
    t->header = true;
    for (int i = 0; i < ncols; i++)
      cli_table_cell(t, "%s", headers[i]);
  }
  return t;
}

void cli_table_cell(cli_table_t *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0)
    oom();
  push_cell(t, s);
}

void cli_table_str(cli_table_t *t, const char *s) { cli_table_cell(t, "%s", s ? s : "-"); }

void cli_table_offset(cli_table_t *t, int64_t n) {
  if (n < 0)
    cli_table_str(t, NULL);
  else
    cli_table_cell(t, "%lld", (long long)n);
}

int cli_table_rows(const cli_table_t *t) { return (int)(t->ncells / (size_t)t->ncols) - (t->header ? 1 : 0); }

/* Characters in a UTF-8 string: bytes that do not continue a sequence. */
static size_t width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80)
      w++;
  return w;
}

void cli_table_print(const cli_table_t *t, FILE *out, int indent) {
  size_t rows = t->ncells / (size_t)t->ncols;
  size_t *w = cli_xcalloc((size_t)t->ncols, sizeof *w);
  for (size_t r = 0; r < rows; r++)
    for (int c = 0; c < t->ncols; c++) {
      size_t x = width(t->cells[r * (size_t)t->ncols + (size_t)c]);
      if (x > w[c])
        w[c] = x;
    }
  for (size_t r = 0; r < rows; r++) {
    fprintf(out, "%*s", indent, "");
    for (int c = 0; c < t->ncols; c++) {
      const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
      fputs(s, out);
      if (c + 1 < t->ncols)
        fprintf(out, "%*s", (int)(w[c] - width(s) + 2), "");
    }
    fputc('\n', out);
  }
  beck_free(w);
}

void cli_table_destroy(cli_table_t *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->ncells; i++)
    free(t->cells[i]); /* strdup/vasprintf memory from libc */
  beck_free(t->cells);
  beck_free(t);
}

/* ---- JSON ------------------------------------------------------------------ */

int cli_json_print(const json_t *j, bool compact) {
  size_t flags = compact ? JSON_COMPACT : JSON_INDENT(2);
  if (json_dumpf(j, stdout, flags | JSON_PRESERVE_ORDER) < 0)
    return -1;
  if (fputc('\n', stdout) == EOF)
    return -1;
  return 0;
}

json_t *cli_json_utf8(const void *ptr, size_t len) {
  return json_stringn(ptr ? (const char *)ptr : "", ptr ? len : 0); /* NULL when not UTF-8 */
}

json_t *cli_json_str_or_null(const char *s) {
  json_t *j = s ? json_string(s) : json_null();
  return j ? j : json_null();
}

json_t *cli_json_offset(int64_t n) { return n < 0 ? json_null() : json_integer(n); }

json_t *cli_json_base64(const void *ptr, size_t len) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *p = ptr;
  char *out = cli_xmalloc((len + 2) / 3 * 4 + 1), *o = out;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *o++ = tbl[v >> 18];
    *o++ = tbl[(v >> 12) & 63];
    *o++ = tbl[(v >> 6) & 63];
    *o++ = tbl[v & 63];
  }
  if (i < len) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
    *o++ = tbl[v >> 18];
    *o++ = tbl[(v >> 12) & 63];
    *o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  *o = '\0';
  json_t *j = json_string(out);
  beck_free(out);
  return j;
}

/* ---- formatting -------------------------------------------------------------- */

const char *cli_fmt_count(char *buf, size_t n, uint64_t v) {
  char digits[32];
  int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
  size_t o = 0;
  for (int i = 0; i < len && o + 1 < n; i++) {
    if (i > 0 && (len - i) % 3 == 0 && o + 2 < n)
      buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
  return buf;
}

const char *cli_fmt_bytes(char *buf, size_t n, uint64_t v) {
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (v < 1024) {
    snprintf(buf, n, "%llu B", (unsigned long long)v);
    return buf;
  }
  double x = (double)v / 1024;
  size_t u = 0;
  while (x >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
    x /= 1024;
    u++;
  }
  snprintf(buf, n, "%.1f %s", x, units[u]);
  return buf;
}

const char *cli_fmt_time(char *buf, size_t n, int64_t ms) {
  time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm tm;
  if (gmtime_r(&secs, &tm) == NULL) {
    snprintf(buf, n, "%lld", (long long)ms);
    return buf;
  }
  char date[40];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, n, "%s.%03dZ", date, (int)(((ms % 1000) + 1000) % 1000));
  return buf;
}
