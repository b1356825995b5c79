/*
 * rowmap.h - maps sink records to table rows, for the SQL sinks (sqlite,
 * postgres). Header-only so that each connector stays one .c built against
 * <beck/connector.h> and its own client libraries (jansson here).
 *
 * A column spec is a comma-separated list of
 *
 *   column[:type][=source]
 *
 * where source is a JSON field of the record value (dots walk nested
 * objects: "user.id"), or one of @key @value @topic @partition @offset
 * @timestamp; without "=source" the JSON field named like the column is
 * used. type is the SQL type used when the connector creates the table
 * (default text). Examples:
 *   "id:bigint,name,amount:double precision"
 *   "line:text=@value,pos:bigint=@offset"
 * (A type may not contain a comma: write numeric, not numeric(10,2).)
 *
 * Values come out as text (what COPY and sqlite3_bind_text want), with a
 * kind so the caller can bind numbers natively: JSON null or a missing
 * field is SQL NULL; strings are their contents; numbers and booleans their
 * JSON spelling (as written in the record: 12.50 stays 12.50; a real with
 * more than 15 significant digits, as %.17g prints them, becomes the
 * shortest text of the same double: 99.9, not 99.900000000000006); objects and
 * arrays their compact JSON text (the record's text without whitespace).
 *
 * The JSON is read by the small scanner below, not parsed into a tree: one
 * pass validates the value (RFC 8259: grammar, escapes, UTF-8, nesting up to
 * ROWMAP_MAX_DEPTH; integers must fit 64 bits, reals a double: what jansson
 * accepts, which tests/unit/connect/test_rowmap.c checks) and each column then finds
 * its field by scanning the object's members, so a row costs no allocation
 * unless a string holds escapes. The values borrow the record's bytes. With
 * duplicate keys the last one counts.
 */
#ifndef BECK_CONNECTORS_ROWMAP_H
#define BECK_CONNECTORS_ROWMAP_H

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <beck/connector.h>

typedef enum {
  ROWMAP_FIELD,
  ROWMAP_KEY,
  ROWMAP_VALUE,
  ROWMAP_TOPIC,
  ROWMAP_PARTITION,
  ROWMAP_OFFSET,
  ROWMAP_TIMESTAMP,
} rowmap_src_t;

typedef enum {
  ROWMAP_NULL,
  ROWMAP_TEXT,
  ROWMAP_INT,
  ROWMAP_REAL,
  ROWMAP_BOOL,
  ROWMAP_JSON,  /* object or array text */
  ROWMAP_BYTES, /* raw record key/value bytes (may hold NULs) */
} rowmap_kind_t;

typedef struct {
  char *column;
  char *type;
  char *field; /* ROWMAP_FIELD: the JSON path */
  rowmap_src_t src;
  size_t seg; /* ROWMAP_FIELD: length of the path's first name (up to a dot) */
} rowmap_col_t;

typedef struct {
  rowmap_col_t *cols;
  int n;
  int needs_json; /* some column reads a JSON field */
  int text_only;  /* set by the caller: only ptr/len are used (no v->d: no strtod per real) */
} rowmap_t;

typedef struct {
  rowmap_kind_t kind;
  const char *ptr;
  size_t len;
  long long i; /* ROWMAP_INT / BOOL */
  double d;    /* ROWMAP_REAL */
  char num[40];
  char *owned; /* freed by rowmap_row_clear */
} rowmap_val_t;

typedef struct {
  rowmap_val_t *vals; /* n */
} rowmap_row_t;

static char *rowmap__strndup(const char *s, size_t n) {
  while (n > 0 && isspace((unsigned char)*s))
    s++, n--;
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    n--;
  char *p = malloc(n + 1);
  if (p != NULL) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static void rowmap_free(rowmap_t *m) {
  for (int k = 0; k < m->n; k++) {
    free(m->cols[k].column);
    free(m->cols[k].type);
    free(m->cols[k].field);
  }
  free(m->cols);
  memset(m, 0, sizeof *m);
}

static int rowmap__ident_ok(const char *s) {
  if (*s == '\0')
    return 0;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_'))
      return 0;
  return 1;
}

/* Parses spec into m. Column names must be identifiers [A-Za-z0-9_]. Returns
 * 0, or -1 with err filled. */
static int rowmap_parse(rowmap_t *m, const char *spec, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  const char *p = spec;
  while (p != NULL && *p != '\0') {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char *item = rowmap__strndup(p, len);
    p = comma ? comma + 1 : NULL;
    if (item == NULL)
      goto oom;
    if (item[0] == '\0') {
      free(item);
      continue;
    }
    rowmap_col_t *nc = realloc(m->cols, (size_t)(m->n + 1) * sizeof *nc);
    if (nc == NULL) {
      free(item);
      goto oom;
    }
    m->cols = nc;
    rowmap_col_t *c = &m->cols[m->n];
    memset(c, 0, sizeof *c);
    char *eq = strchr(item, '=');
    char *source = NULL;
    if (eq != NULL) {
      *eq = '\0';
      source = eq + 1;
    }
    char *colon = strchr(item, ':');
    if (colon != NULL)
      *colon = '\0';
    c->column = rowmap__strndup(item, strlen(item));
    c->type = rowmap__strndup(colon ? colon + 1 : "text", strlen(colon ? colon + 1 : "text"));
    const char *src = source ? source : item;
    size_t sl = strlen(src);
    c->field = rowmap__strndup(src, sl);
    m->n++;
    free(item);
    if (c->column == NULL || c->type == NULL || c->field == NULL)
      goto oom;
    if (!rowmap__ident_ok(c->column)) {
      snprintf(err, errlen, "column '%s' is not a plain identifier ([A-Za-z0-9_])", c->column);
      rowmap_free(m);
      return -1;
    }
    if (c->type[0] == '\0' || strchr(c->type, ';') != NULL) {
      snprintf(err, errlen, "column %s: bad type '%s'", c->column, c->type);
      rowmap_free(m);
      return -1;
    }
    c->src = ROWMAP_FIELD;
    if (c->field[0] == '@') {
      static const struct {
        const char *name;
        rowmap_src_t src;
      } specials[] = {{"@key", ROWMAP_KEY},       {"@value", ROWMAP_VALUE},
                      {"@topic", ROWMAP_TOPIC},   {"@partition", ROWMAP_PARTITION},
                      {"@offset", ROWMAP_OFFSET}, {"@timestamp", ROWMAP_TIMESTAMP}};
      size_t k;
      for (k = 0; k < sizeof specials / sizeof specials[0]; k++)
        if (strcmp(c->field, specials[k].name) == 0)
          break;
      if (k == sizeof specials / sizeof specials[0]) {
        snprintf(err, errlen,
                 "column %s: unknown source '%s' (use @key, @value, @topic, @partition, @offset, "
                 "@timestamp or a JSON field)",
                 c->column, c->field);
        rowmap_free(m);
        return -1;
      }
      c->src = specials[k].src;
    } else {
      m->needs_json = 1;
      c->seg = strcspn(c->field, ".");
    }
  }
  if (m->n == 0) {
    snprintf(err, errlen, "no columns in '%s'", spec);
    return -1;
  }
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  rowmap_free(m);
  return -1;
}

static int rowmap_find(const rowmap_t *m, const char *column) {
  for (int k = 0; k < m->n; k++)
    if (strcmp(m->cols[k].column, column) == 0)
      return k;
  return -1;
}

static void rowmap_row_clear(const rowmap_t *m, rowmap_row_t *row) {
  if (row->vals != NULL)
    for (int k = 0; k < m->n; k++) {
      free(row->vals[k].owned);
      row->vals[k].owned = NULL;
    }
}

/* ---- the JSON scanner ------------------------------------------------------------ */

#define ROWMAP_MAX_DEPTH 2048

/* A JSON value inside a record: t is 's' string (p, n: the text between the
 * quotes; esc: bit 1 it holds backslash escapes, bit 2 one is \u0000), 'i' integer, 'r' other number,
 * 't' true, 'f' false, 'z' null, 'o' object, 'a' array (p, n: the whole
 * text, brackets included; for numbers and literals their spelling). */
typedef struct {
  const char *p;
  size_t n;
  char t;
  int esc;
} rowmap__span_t;

#define ROWMAP_MAX_MEMBERS 64

/* One member of the top-level object: its key and its value. */
typedef struct {
  rowmap__span_t key, val;
} rowmap__member_t;

typedef struct {
  const char *start, *end;
  const char *why; /* the first problem */
  const char *at;
  /* the members of the top-level object, while they fit; nmembers is -1
   * when there were more (then columns scan the object) */
  rowmap__member_t *members;
  int nmembers;
} rowmap__scan_t;

static const char *rowmap__fail(rowmap__scan_t *sc, const char *at, const char *why) {
  if (sc->why == NULL) {
    sc->why = why;
    sc->at = at;
  }
  return NULL;
}

static const char *rowmap__ws(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

static int rowmap__hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    char c = p[k];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

/* p at the opening quote. Checks escapes (surrogates paired) and UTF-8. */
static const char *rowmap__str(rowmap__scan_t *sc, const char *p, rowmap__span_t *s) {
  const char *e = sc->end;
  s->t = 's';
  s->esc = 0;
  s->p = ++p;
  while (p < e) {
    unsigned char c = (unsigned char)*p;
    if (c == '"') {
      s->n = (size_t)(p - s->p);
      return p + 1;
    }
    if (c < 0x20)
      return rowmap__fail(sc, p, "control character in a string");
    if (c == '\\') {
      s->esc |= 1;
      if (p + 1 >= e)
        break;
      char x = p[1];
      if (x == 'u') {
        unsigned u;
        if (p + 6 > e || rowmap__hex4(p + 2, &u) != 0)
          return rowmap__fail(sc, p, "bad \\u escape");
        p += 6;
        if (u == 0)
          s->esc |= 2; /* \u0000: fine in a value, refused in a key (as jansson does) */
        if (u >= 0xD800 && u <= 0xDBFF) {
          unsigned lo;
          if (p + 6 > e || p[0] != '\\' || p[1] != 'u' || rowmap__hex4(p + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
            return rowmap__fail(sc, p, "unpaired UTF-16 surrogate");
          p += 6;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
          return rowmap__fail(sc, p, "unpaired UTF-16 surrogate");
        }
        continue;
      }
      if (strchr("\"\\/bfnrt", x) == NULL || x == '\0')
        return rowmap__fail(sc, p, "bad escape");
      p += 2;
      continue;
    }
    if (c < 0x80) {
      p++;
      continue;
    }
    /* UTF-8: the lead byte says how many continuation bytes follow;
     * overlong forms, surrogates and code points past U+10FFFF are invalid */
    int more;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF)
      more = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
      more = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
      more = 3, cp = c & 0x07;
    else
      return rowmap__fail(sc, p, "invalid UTF-8");
    if (p + more >= e)
      return rowmap__fail(sc, p, "invalid UTF-8");
    for (int k = 1; k <= more; k++) {
      if (((unsigned char)p[k] & 0xC0) != 0x80)
        return rowmap__fail(sc, p, "invalid UTF-8");
      cp = cp << 6 | ((unsigned char)p[k] & 0x3F);
    }
    if ((more == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return rowmap__fail(sc, p, "invalid UTF-8");
    p += more + 1;
  }
  return rowmap__fail(sc, p, "unterminated string");
}

static const char *rowmap__num(rowmap__scan_t *sc, const char *p, rowmap__span_t *s) {
  const char *e = sc->end, *b = p;
  int real = 0;
  if (p < e && *p == '-')
    p++;
  if (p < e && *p == '0')
    p++;
  else if (p < e && *p >= '1' && *p <= '9')
    while (p < e && *p >= '0' && *p <= '9')
      p++;
  else
    return rowmap__fail(sc, b, "bad number");
  if (p < e && *p == '.') {
    real = 1;
    if (++p >= e || *p < '0' || *p > '9')
      return rowmap__fail(sc, b, "bad number");
    while (p < e && *p >= '0' && *p <= '9')
      p++;
  }
  int exp = 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    real = exp = 1;
    p++;
    if (p < e && (*p == '+' || *p == '-'))
      p++;
    if (p >= e || *p < '0' || *p > '9')
      return rowmap__fail(sc, b, "bad number");
    while (p < e && *p >= '0' && *p <= '9')
      p++;
  }
  s->p = b;
  s->n = (size_t)(p - b);
  s->t = real ? 'r' : 'i';
  s->esc = 0;
  /* Only an exponent or more than 308 digits can overflow a double; check
   * those with strtod (not every number: that would cost as much as the
   * rest of the scan). */
  if (real && (s->n > 300 || exp)) {
    char small[64], *t = s->n < sizeof small ? small : malloc(s->n + 1);
    if (t == NULL)
      return rowmap__fail(sc, b, "out of memory");
    memcpy(t, b, s->n);
    t[s->n] = '\0';
    double d = strtod(t, NULL);
    if (t != small)
      free(t);
    if (d == HUGE_VAL || d == -HUGE_VAL)
      return rowmap__fail(sc, b, "real number overflow");
  }
  if (!real) { /* must fit 64 bits, like jansson's json_int_t */
    size_t digits = s->n - (*b == '-');
    int neg = *b == '-';
    if (digits > 19 || (digits == 19 && memcmp(b + neg, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0))
      return rowmap__fail(sc, b, "integer too big");
  }
  return p;
}

/* Scans the value at p (no leading whitespace). Returns the byte after it. */
static const char *rowmap__val(rowmap__scan_t *sc, const char *p, rowmap__span_t *s, int depth) {
  const char *e = sc->end;
  if (p >= e)
    return rowmap__fail(sc, p, "unexpected end");
  switch (*p) {
  case '"':
    return rowmap__str(sc, p, s);
  case '{':
  case '[': {
    char close = *p == '{' ? '}' : ']';
    const char *b = p;
    if (depth >= ROWMAP_MAX_DEPTH)
      return rowmap__fail(sc, p, "nested too deeply");
    p = rowmap__ws(p + 1, e);
    if (p < e && *p == close) {
      p++;
    } else {
      for (;;) {
        rowmap__span_t k, x;
        if (close == '}') {
          if (p >= e || *p != '"')
            return rowmap__fail(sc, p, "expected a string as key");
          const char *key = p;
          if ((p = rowmap__str(sc, p, &k)) == NULL)
            return NULL;
          if (k.esc & 2)
            return rowmap__fail(sc, key, "NUL byte in object key");
          p = rowmap__ws(p, e);
          if (p >= e || *p != ':')
            return rowmap__fail(sc, p, "expected ':'");
          p = rowmap__ws(p + 1, e);
        }
        if ((p = rowmap__val(sc, p, &x, depth + 1)) == NULL)
          return NULL;
        if (depth == 0 && close == '}' && sc->members != NULL && sc->nmembers >= 0) {
          if (sc->nmembers < ROWMAP_MAX_MEMBERS)
            sc->members[sc->nmembers++] = (rowmap__member_t){k, x};
          else
            sc->nmembers = -1;
        }
        p = rowmap__ws(p, e);
        if (p < e && *p == ',') {
          p = rowmap__ws(p + 1, e);
          continue;
        }
        if (p < e && *p == close) {
          p++;
          break;
        }
        return rowmap__fail(sc, p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
    s->p = b;
    s->n = (size_t)(p - b);
    s->t = close == '}' ? 'o' : 'a';
    s->esc = 0;
    return p;
  }
  case 't':
  case 'f':
  case 'n': {
    const char *word = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
    size_t n = strlen(word);
    if ((size_t)(e - p) < n || memcmp(p, word, n) != 0)
      return rowmap__fail(sc, p, "invalid literal");
    s->p = p;
    s->n = n;
    s->t = *p == 'n' ? 'z' : *p;
    s->esc = 0;
    return p + n;
  }
  default:
    return rowmap__num(sc, p, s);
  }
}

/* Decodes the escapes of string span s into a new NUL-terminated string
 * (*len: its length, which may include NULs from \u0000). NULL when out of
 * memory. The span was validated by rowmap__str. */
static char *rowmap__unescape(const rowmap__span_t *s, size_t *len) {
  char *out = malloc(s->n + 1), *o = out;
  if (out == NULL)
    return NULL;
  const char *p = s->p, *e = s->p + s->n;
  while (p < e) {
    if (*p != '\\') {
      *o++ = *p++;
      continue;
    }
    char x = p[1];
    p += 2;
    switch (x) {
    case 'b':
      *o++ = '\b';
      break;
    case 'f':
      *o++ = '\f';
      break;
    case 'n':
      *o++ = '\n';
      break;
    case 'r':
      *o++ = '\r';
      break;
    case 't':
      *o++ = '\t';
      break;
    case 'u': {
      unsigned u, lo;
      rowmap__hex4(p, &u);
      p += 4;
      if (u >= 0xD800 && u <= 0xDBFF) {
        rowmap__hex4(p + 2, &lo);
        p += 6;
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      }
      if (u < 0x80) {
        *o++ = (char)u;
      } else if (u < 0x800) {
        *o++ = (char)(0xC0 | u >> 6);
        *o++ = (char)(0x80 | (u & 0x3F));
      } else if (u < 0x10000) {
        *o++ = (char)(0xE0 | u >> 12);
        *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
        *o++ = (char)(0x80 | (u & 0x3F));
      } else {
        *o++ = (char)(0xF0 | u >> 18);
        *o++ = (char)(0x80 | ((u >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
        *o++ = (char)(0x80 | (u & 0x3F));
      }
      break;
    }
    default: /* \" \\ \/ */
      *o++ = x;
      break;
    }
  }
  *o = '\0';
  *len = (size_t)(o - out);
  return out;
}

/* Whether key span k equals name[0..n). */
static int rowmap__key_is(const rowmap__span_t *k, const char *name, size_t n) {
  if (!k->esc)
    return k->n == n && memcmp(k->p, name, n) == 0;
  size_t len;
  char *u = rowmap__unescape(k, &len);
  int same = u != NULL && len == n && memcmp(u, name, n) == 0;
  free(u);
  return same;
}

/* The value of member name[0..n) of the (validated) object obj, the last one
 * when the key repeats. Returns 0 when found. */
static int rowmap__member(const rowmap__span_t *obj, const char *name, size_t n, rowmap__span_t *out) {
  rowmap__scan_t sc = {obj->p, obj->p + obj->n, NULL, NULL, NULL, 0};
  const char *p = rowmap__ws(obj->p + 1, sc.end);
  int found = 0;
  while (p < sc.end && *p == '"') {
    rowmap__span_t k, v;
    p = rowmap__str(&sc, p, &k);
    p = rowmap__ws(p, sc.end);
    p = rowmap__ws(p + 1, sc.end); /* ':' */
    p = rowmap__val(&sc, p, &v, 0);
    if (p == NULL)
      return 0; /* cannot happen: validated */
    if (rowmap__key_is(&k, name, n)) {
      *out = v;
      found = 1;
    }
    p = rowmap__ws(p, sc.end);
    if (p < sc.end && *p == ',')
      p = rowmap__ws(p + 1, sc.end);
  }
  return found;
}

/* Follows a dotted path ("user.id") from the root object. With members
 * (the root's, nmembers >= 0) the first name is looked up there. */
static int rowmap__walk(const rowmap__span_t *root, const rowmap__member_t *members, int nmembers, const char *path,
                        size_t seg, rowmap__span_t *out) {
  rowmap__span_t cur = *root;
  if (members != NULL && nmembers >= 0) {
    int i = nmembers - 1; /* the last of a repeated key */
    while (i >= 0 && !rowmap__key_is(&members[i].key, path, seg))
      i--;
    if (i < 0)
      return 0;
    cur = members[i].val;
    if (path[seg] == '\0') {
      *out = cur;
      return 1;
    }
    path += seg + 1;
  }
  for (;;) {
    if (cur.t != 'o')
      return 0;
    const char *dot = strchr(path, '.');
    size_t len = dot ? (size_t)(dot - path) : strlen(path);
    if (!rowmap__member(&cur, path, len, &cur))
      return 0;
    if (dot == NULL) {
      *out = cur;
      return 1;
    }
    path = dot + 1;
  }
}

/* Compact JSON text of an object or array span: its bytes without the
 * whitespace outside strings. A new string, or NULL when out of memory. */
static char *rowmap__compact(const rowmap__span_t *s, size_t *len) {
  char *out = malloc(s->n + 1), *o = out;
  if (out == NULL)
    return NULL;
  int in_str = 0;
  for (const char *p = s->p, *e = s->p + s->n; p < e; p++) {
    char c = *p;
    if (in_str) {
      *o++ = c;
      if (c == '\\' && p + 1 < e)
        *o++ = *++p;
      else if (c == '"')
        in_str = 0;
    } else if (c == '"') {
      in_str = 1;
      *o++ = c;
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      *o++ = c;
    }
  }
  *o = '\0';
  *len = (size_t)(o - out);
  return out;
}

/* Significant digits of a validated JSON number: those of its mantissa
 * from the first non-zero one ("0.0012" has 2, "12.50" has 4). */
static int rowmap__significant_digits(const char *p, size_t n) {
  int digits = 0, started = 0;
  for (size_t k = 0; k < n && p[k] != 'e' && p[k] != 'E'; k++) {
    char c = p[k];
    if (c < '0' || c > '9')
      continue;
    if (c != '0')
      started = 1;
    digits += started;
  }
  return digits;
}

/* A validated JSON integer that fits 64 bits. */
static long long rowmap__parse_int(const char *p, size_t n) {
  int neg = *p == '-';
  unsigned long long u = 0;
  for (size_t k = (size_t)neg; k < n; k++)
    u = u * 10 + (unsigned long long)(p[k] - '0');
  return neg ? (long long)(0 - u) : (long long)u;
}

static void rowmap__int(rowmap_val_t *v, long long i) {
  v->kind = ROWMAP_INT;
  v->i = i;
  v->len = (size_t)snprintf(v->num, sizeof v->num, "%lld", i);
  v->ptr = v->num;
}

/* Fills row->vals (caller allocated, m->n) from record r. Borrowed pointers
 * (into the record) stay valid until rowmap_row_clear and while the record
 * is. Returns 0, or -1 with err filled (the record cannot be mapped: reject
 * it); nothing to clear then. */
static int rowmap_extract(const rowmap_t *m, const beck_sink_record_t *r, rowmap_row_t *row, char *err, size_t errlen) {
  rowmap__span_t root = {NULL, 0, 'z', 0};
  rowmap__member_t members[ROWMAP_MAX_MEMBERS];
  int nmembers = -1;
  if (m->needs_json) {
    if (r->value == NULL || r->value_len < 0) {
      snprintf(err, errlen, "value is null, expected a JSON object");
      return -1;
    }
    rowmap__scan_t sc = {r->value, (const char *)r->value + r->value_len, NULL, NULL, members, 0};
    const char *p = rowmap__val(&sc, rowmap__ws(sc.start, sc.end), &root, 0);
    if (p != NULL && rowmap__ws(p, sc.end) != sc.end)
      p = rowmap__fail(&sc, rowmap__ws(p, sc.end), "end of text expected");
    if (p == NULL) {
      snprintf(err, errlen, "value is not JSON: %s at byte %ld", sc.why, (long)(sc.at - sc.start));
      return -1;
    }
    if (root.t != 'o') {
      snprintf(err, errlen, "value is JSON but not an object");
      return -1;
    }
    nmembers = sc.nmembers;
  }
  for (int k = 0; k < m->n; k++) {
    rowmap_val_t *v = &row->vals[k];
    const rowmap_col_t *c = &m->cols[k];
    v->owned = NULL;
    v->kind = ROWMAP_NULL;
    v->ptr = NULL;
    v->len = 0;
    switch (c->src) {
    case ROWMAP_KEY:
    case ROWMAP_VALUE: {
      const void *p = c->src == ROWMAP_KEY ? r->key : r->value;
      int32_t l = c->src == ROWMAP_KEY ? r->key_len : r->value_len;
      if (l >= 0) {
        v->kind = ROWMAP_BYTES;
        v->ptr = p ? (const char *)p : "";
        v->len = (size_t)l;
      }
      break;
    }
    case ROWMAP_TOPIC:
      v->kind = ROWMAP_TEXT;
      v->ptr = r->topic;
      v->len = strlen(r->topic);
      break;
    case ROWMAP_PARTITION:
      rowmap__int(v, r->partition);
      break;
    case ROWMAP_OFFSET:
      rowmap__int(v, (long long)r->offset);
      break;
    case ROWMAP_TIMESTAMP:
      rowmap__int(v, (long long)r->timestamp);
      break;
    case ROWMAP_FIELD: {
      rowmap__span_t j;
      if (!rowmap__walk(&root, members, nmembers, c->field, c->seg, &j) || j.t == 'z')
        break;
      v->ptr = j.p;
      v->len = j.n;
      switch (j.t) {
      case 's':
        v->kind = ROWMAP_TEXT;
        if (j.esc) {
          v->owned = rowmap__unescape(&j, &v->len);
          v->ptr = v->owned;
        }
        break;
      case 'i':
        v->kind = ROWMAP_INT;
        v->i = rowmap__parse_int(j.p, j.n);
        break;
      case 'r': {
        v->kind = ROWMAP_REAL;
        int digits = rowmap__significant_digits(j.p, j.n);
        if (m->text_only && digits <= 15)
          break; /* its own spelling is what goes into the row */
        char num[64];
        if (j.n < sizeof num) {
          memcpy(num, j.p, j.n);
          num[j.n] = '\0';
          v->d = strtod(num, NULL);
        } else {
          char *big = malloc(j.n + 1);
          if (big != NULL) {
            memcpy(big, j.p, j.n);
            big[j.n] = '\0';
            v->d = strtod(big, NULL);
            free(big);
          }
        }
        if (digits > 15) {
          /* more digits than a double holds, as printed by %.17g: the
           * shortest text that reads back as the same double (99.9, not
           * 99.900000000000006, which a numeric column would keep) */
          for (int prec = 15; prec <= 17; prec++) {
            v->len = (size_t)snprintf(v->num, sizeof v->num, "%.*g", prec, v->d);
            if (strtod(v->num, NULL) == v->d)
              break;
          }
          v->ptr = v->num;
        }
        break;
      }
      case 't':
      case 'f':
        v->kind = ROWMAP_BOOL;
        v->i = j.t == 't';
        break;
      default: /* object or array */
        v->kind = ROWMAP_JSON;
        v->owned = rowmap__compact(&j, &v->len);
        v->ptr = v->owned;
        break;
      }
      if ((j.t == 's' && j.esc) || j.t == 'o' || j.t == 'a') {
        if (v->owned == NULL) {
          snprintf(err, errlen, "out of memory");
          rowmap_row_clear(m, row);
          return -1;
        }
      }
      break;
    }
    }
  }
  return 0;
}

#endif
