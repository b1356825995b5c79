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
 * JSON spelling; objects and arrays their compact JSON text.
 */
#ifndef BECK_CONNECTORS_ROWMAP_H
#define BECK_CONNECTORS_ROWMAP_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <beck/connector.h>
#include <jansson.h>

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
} rowmap_col_t;

typedef struct {
  rowmap_col_t *cols;
  int n;
  int needs_json; /* some column reads a JSON field */
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
  json_t *root;
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
  if (row->root != NULL)
    json_decref(row->root);
  row->root = NULL;
}

static json_t *rowmap__walk(json_t *obj, const char *path) {
  char part[256];
  while (obj != NULL) {
    const char *dot = strchr(path, '.');
    size_t len = dot ? (size_t)(dot - path) : strlen(path);
    if (len >= sizeof part)
      return NULL;
    memcpy(part, path, len);
    part[len] = '\0';
    obj = json_is_object(obj) ? json_object_get(obj, part) : NULL;
    if (dot == NULL)
      return obj;
    path = dot + 1;
  }
  return NULL;
}

static void rowmap__int(rowmap_val_t *v, long long i) {
  v->kind = ROWMAP_INT;
  v->i = i;
  v->len = (size_t)snprintf(v->num, sizeof v->num, "%lld", i);
  v->ptr = v->num;
}

/* Fills row->vals (caller allocated, m->n) from record r. Borrowed pointers
 * stay valid until rowmap_row_clear. Returns 0, or -1 with err filled (the
 * record cannot be mapped: reject it). */
static int rowmap_extract(const rowmap_t *m, const beck_sink_record_t *r, rowmap_row_t *row, char *err, size_t errlen) {
  row->root = NULL;
  if (m->needs_json) {
    if (r->value == NULL || r->value_len < 0) {
      snprintf(err, errlen, "value is null, expected a JSON object");
      return -1;
    }
    json_error_t je;
    row->root = json_loadb(r->value, (size_t)r->value_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (row->root == NULL) {
      snprintf(err, errlen, "value is not JSON: %s at line %d column %d", je.text, je.line, je.column);
      return -1;
    }
    if (!json_is_object(row->root)) {
      snprintf(err, errlen, "value is JSON but not an object");
      json_decref(row->root);
      row->root = NULL;
      return -1;
    }
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
      json_t *j = rowmap__walk(row->root, c->field);
      if (j == NULL || json_is_null(j))
        break;
      if (json_is_string(j)) {
        v->kind = ROWMAP_TEXT;
        v->ptr = json_string_value(j);
        v->len = json_string_length(j);
      } else if (json_is_integer(j)) {
        rowmap__int(v, (long long)json_integer_value(j));
      } else if (json_is_real(j)) {
        v->kind = ROWMAP_REAL;
        v->d = json_real_value(j);
        /* the shortest text that reads back as the same double: 99.9, not
         * 99.900000000000006 (what a numeric column would keep) */
        for (int prec = 15; prec <= 17; prec++) {
          v->len = (size_t)snprintf(v->num, sizeof v->num, "%.*g", prec, v->d);
          if (strtod(v->num, NULL) == v->d)
            break;
        }
        v->ptr = v->num;
      } else if (json_is_boolean(j)) {
        v->kind = ROWMAP_BOOL;
        v->i = json_is_true(j);
        v->ptr = v->i ? "true" : "false";
        v->len = strlen(v->ptr);
      } else {
        v->owned = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (v->owned == NULL) {
          snprintf(err, errlen, "out of memory");
          rowmap_row_clear(m, row);
          return -1;
        }
        v->kind = ROWMAP_JSON;
        v->ptr = v->owned;
        v->len = strlen(v->owned);
      }
      break;
    }
    }
  }
  return 0;
}

#endif
