/*
 * value.c - beck_val_t: conversions to and from jansson, text and JSON
 * output, equality and ordering, type names.
 *
 * Equality is structural and numeric across int and double (1 == 1.0).
 * Ordering exists between two numbers and between two strings (bytewise,
 * which is code point order for UTF-8); other pairs are unordered.
 */
#include "streams/expr/expr_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *beck_type_name(beck_type_t t, char *buf, size_t cap) {
  static const char *const names[] = {"null", "bool", "number", "string", "array", "object"};
  if (cap == 0)
    return buf;
  buf[0] = '\0';
  t &= BECK_TYPE_ANY;
  if (t == BECK_TYPE_ANY || t == (BECK_TYPE_ANY & ~BECK_TYPE_NULL)) {
    snprintf(buf, cap, "any");
    return buf;
  }
  if (t == 0) {
    snprintf(buf, cap, "nothing");
    return buf;
  }
  /* non-null kinds first, "or null" last: "number or null" */
  size_t len = 0;
  int count = 0, total = __builtin_popcount(t);
  for (int pass = 0; pass < 2; pass++) {
    for (int k = 0; k < 6; k++) {
      bool is_null = k == 0;
      if ((pass == 0) == is_null || !(t & (1u << k)))
        continue;
      count++;
      const char *sep = count == 1 ? "" : count == total ? " or " : ", ";
      int w = snprintf(buf + len, cap - len, "%s%s", sep, names[k]);
      if (w < 0 || (size_t)w >= cap - len)
        return buf;
      len += (size_t)w;
    }
  }
  return buf;
}

const char *beck__type_a(beck_type_t t, char *buf, size_t cap) {
  if (__builtin_popcount(t & BECK_TYPE_ANY) != 1 || t == BECK_TYPE_NULL)
    return beck_type_name(t, buf, cap);
  bool an = (t & (BECK_TYPE_ARRAY | BECK_TYPE_OBJECT)) != 0;
  size_t n = (size_t)snprintf(buf, cap, "%s ", an ? "an" : "a");
  if (n < cap)
    beck_type_name(t, buf + n, cap - n);
  return buf;
}

beck_val_t beck_val_from_json(json_t *j) {
  if (j == NULL)
    return beck_val_null();
  switch (json_typeof(j)) {
  case JSON_OBJECT:
  case JSON_ARRAY: {
    beck_val_t v = {.kind = BECK_VAL_JSON};
    v.u.j = j;
    return v;
  }
  case JSON_STRING: return beck_val_str(json_string_value(j), json_string_length(j));
  case JSON_INTEGER: return beck_val_int((int64_t)json_integer_value(j));
  case JSON_REAL: return beck_val_double(json_real_value(j));
  case JSON_TRUE: return beck_val_bool(true);
  case JSON_FALSE: return beck_val_bool(false);
  case JSON_NULL:
  default: return beck_val_null();
  }
}

json_t *beck_val_to_json(const beck_val_t *v) {
  switch (v->kind) {
  case BECK_VAL_NULL: return json_null();
  case BECK_VAL_BOOL: return json_boolean(v->u.b);
  case BECK_VAL_INT: return json_integer((json_int_t)v->u.i);
  case BECK_VAL_DOUBLE: return isfinite(v->u.d) ? json_real(v->u.d) : json_null();
  case BECK_VAL_STR: return json_stringn(v->u.s.p ? v->u.s.p : "", v->u.s.len);
  case BECK_VAL_JSON: return json_incref(v->u.j);
  }
  return NULL;
}

beck_type_t beck_val_type(const beck_val_t *v) {
  switch (v->kind) {
  case BECK_VAL_NULL: return BECK_TYPE_NULL;
  case BECK_VAL_BOOL: return BECK_TYPE_BOOL;
  case BECK_VAL_INT:
  case BECK_VAL_DOUBLE: return BECK_TYPE_NUMBER;
  case BECK_VAL_STR: return BECK_TYPE_STRING;
  case BECK_VAL_JSON: return json_is_array(v->u.j) ? BECK_TYPE_ARRAY : BECK_TYPE_OBJECT;
  }
  return BECK_TYPE_NULL;
}

const char *beck__val_kind_name(const beck_val_t *v) {
  switch (beck_val_type(v)) {
  case BECK_TYPE_NULL: return "null";
  case BECK_TYPE_BOOL: return "bool";
  case BECK_TYPE_NUMBER: return "number";
  case BECK_TYPE_STRING: return "string";
  case BECK_TYPE_ARRAY: return "array";
  default: return "object";
  }
}

bool beck__val_is_number(const beck_val_t *v) { return v->kind == BECK_VAL_INT || v->kind == BECK_VAL_DOUBLE; }

double beck__val_as_double(const beck_val_t *v) {
  return v->kind == BECK_VAL_INT ? (double)v->u.i : v->kind == BECK_VAL_DOUBLE ? v->u.d : 0.0;
}

static int cmp_num(const beck_val_t *a, const beck_val_t *b) {
  if (a->kind == BECK_VAL_INT && b->kind == BECK_VAL_INT)
    return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
  double x = beck__val_as_double(a), y = beck__val_as_double(b);
  if (x < y)
    return -1;
  if (x > y)
    return 1;
  if (x == y)
    return 0;
  /* NaN: order it after everything, equal to itself */
  return isnan(x) ? (isnan(y) ? 0 : 1) : -1;
}

static int cmp_str(const beck_val_t *a, const beck_val_t *b) {
  size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
  int c = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
  if (c != 0)
    return c < 0 ? -1 : 1;
  return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len;
}

bool beck__val_order(const beck_val_t *a, const beck_val_t *b, int *cmp) {
  if (beck__val_is_number(a) && beck__val_is_number(b)) {
    *cmp = cmp_num(a, b);
    return true;
  }
  if (a->kind == BECK_VAL_STR && b->kind == BECK_VAL_STR) {
    *cmp = cmp_str(a, b);
    return true;
  }
  return false;
}

static bool json_equal_num(json_t *a, json_t *b);

bool beck_val_equal(const beck_val_t *a, const beck_val_t *b) {
  if (beck__val_is_number(a) && beck__val_is_number(b))
    return cmp_num(a, b) == 0;
  if (a->kind != b->kind)
    return false;
  switch (a->kind) {
  case BECK_VAL_NULL: return true;
  case BECK_VAL_BOOL: return a->u.b == b->u.b;
  case BECK_VAL_STR: return cmp_str(a, b) == 0;
  case BECK_VAL_JSON: return json_equal_num(a->u.j, b->u.j);
  default: return false;
  }
}

/* json_equal, but 1 and 1.0 are equal (as in beck_val_equal). Depth is
 * bounded by the nesting jansson accepts when decoding (2048). */
static bool json_equal_num(json_t *a, json_t *b) {
  if (a == b)
    return true;
  beck_val_t va = beck_val_from_json(a), vb = beck_val_from_json(b);
  if (va.kind != BECK_VAL_JSON || vb.kind != BECK_VAL_JSON)
    return beck_val_equal(&va, &vb);
  if (json_typeof(a) != json_typeof(b))
    return false;
  if (json_is_array(a)) {
    size_t n = json_array_size(a);
    if (n != json_array_size(b))
      return false;
    for (size_t i = 0; i < n; i++)
      if (!json_equal_num(json_array_get(a, i), json_array_get(b, i)))
        return false;
    return true;
  }
  if (json_object_size(a) != json_object_size(b))
    return false;
  const char *k;
  size_t klen;
  json_t *av;
  json_object_keylen_foreach(a, k, klen, av) {
    json_t *bv = json_object_getn(b, k, klen);
    if (bv == NULL || !json_equal_num(av, bv))
      return false;
  }
  return true;
}

size_t beck__format_double(double d, char *buf, size_t cap) {
  if (!isfinite(d))
    return (size_t)snprintf(buf, cap, "null");
  if (d == floor(d) && fabs(d) < 1e16) { /* integral: digits and ".0" */
    int w = snprintf(buf, cap, "%.1f", d);
    return w < 0 || (size_t)w >= cap ? 0 : (size_t)w;
  }
  int n = 0;
  for (int prec = 1; prec <= 17; prec++) {
    n = snprintf(buf, cap, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      break;
  }
  if (n < 0 || (size_t)n >= cap)
    return 0;
  if (strpbrk(buf, ".eEn") == NULL && (size_t)n + 2 < cap) {
    buf[n++] = '.';
    buf[n++] = '0';
    buf[n] = '\0';
  }
  return (size_t)n;
}

static beck_err_t write_json_string(const char *p, size_t len, beck_buf_t *out) {
  beck_err_t rc = beck_buf_append(out, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < len && rc == 0; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    rc = beck_buf_append(out, p + run, i - run);
    char esc[8];
    switch (c) {
    case '"': memcpy(esc, "\\\"", 3); break;
    case '\\': memcpy(esc, "\\\\", 3); break;
    case '\n': memcpy(esc, "\\n", 3); break;
    case '\t': memcpy(esc, "\\t", 3); break;
    case '\r': memcpy(esc, "\\r", 3); break;
    case '\b': memcpy(esc, "\\b", 3); break;
    case '\f': memcpy(esc, "\\f", 3); break;
    default: snprintf(esc, sizeof esc, "\\u%04x", c); break;
    }
    if (rc == 0)
      rc = beck_buf_append(out, esc, strlen(esc));
    run = i + 1;
  }
  if (rc == 0)
    rc = beck_buf_append(out, p + run, len - run);
  if (rc == 0)
    rc = beck_buf_append(out, "\"", 1);
  return rc;
}

static beck_err_t write_json_value(json_t *j, beck_buf_t *out);

static beck_err_t write_json_container(json_t *j, beck_buf_t *out) {
  beck_err_t rc;
  if (json_is_array(j)) {
    rc = beck_buf_append(out, "[", 1);
    for (size_t i = 0; i < json_array_size(j) && rc == 0; i++) {
      if (i > 0)
        rc = beck_buf_append(out, ",", 1);
      if (rc == 0)
        rc = write_json_value(json_array_get(j, i), out);
    }
    return rc == 0 ? beck_buf_append(out, "]", 1) : rc;
  }
  rc = beck_buf_append(out, "{", 1);
  const char *k;
  size_t klen;
  json_t *v;
  bool first = true;
  json_object_keylen_foreach(j, k, klen, v) {
    if (rc != 0)
      break;
    if (!first)
      rc = beck_buf_append(out, ",", 1);
    first = false;
    if (rc == 0)
      rc = write_json_string(k, klen, out);
    if (rc == 0)
      rc = beck_buf_append(out, ":", 1);
    if (rc == 0)
      rc = write_json_value(v, out);
  }
  return rc == 0 ? beck_buf_append(out, "}", 1) : rc;
}

/* Depth is bounded by what built j: jansson's decoder (2048 levels) or an
 * expression (EXPR_MAX_DEPTH). */
static beck_err_t write_json_value(json_t *j, beck_buf_t *out) {
  beck_val_t v = beck_val_from_json(j);
  if (v.kind == BECK_VAL_JSON)
    return write_json_container(j, out);
  return beck_val_write_json(&v, out);
}

beck_err_t beck_val_write_json(const beck_val_t *v, beck_buf_t *out) {
  char num[40];
  switch (v->kind) {
  case BECK_VAL_NULL: return beck_buf_append(out, "null", 4);
  case BECK_VAL_BOOL: return v->u.b ? beck_buf_append(out, "true", 4) : beck_buf_append(out, "false", 5);
  case BECK_VAL_INT: return beck_buf_printf(out, "%" PRId64, v->u.i);
  case BECK_VAL_DOUBLE: {
    size_t n = beck__format_double(v->u.d, num, sizeof num);
    return beck_buf_append(out, num, n);
  }
  case BECK_VAL_STR: return write_json_string(v->u.s.p, v->u.s.len, out);
  case BECK_VAL_JSON: return write_json_container(v->u.j, out);
  }
  return BECK_ERR_INVAL;
}

beck_err_t beck_val_write_text(const beck_val_t *v, beck_buf_t *out) {
  if (v->kind == BECK_VAL_STR)
    return beck_buf_append(out, v->u.s.p, v->u.s.len);
  return beck_val_write_json(v, out);
}

size_t beck__utf8_count(const char *p, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)p[i] & 0xC0) != 0x80)
      n++;
  return n;
}

size_t beck__utf8_offset(const char *p, size_t len, size_t idx) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (((unsigned char)p[i] & 0xC0) != 0x80) {
      if (n == idx)
        return i;
      n++;
    }
  }
  return len;
}
