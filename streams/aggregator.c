/*
 * aggregator.c - aggregation functions: count, sum, min, max, avg, reduce
 * and user aggregate, as state transitions the aggregation operators call.
 *
 * State encodings (what stores and changelogs keep; fixed sizes, so an
 * update rewrites a store value in place):
 *
 *   count           be64 count                                   8 bytes
 *   sum, min, max   u8 kind (0 int64, 1 double), be64 bits       9 bytes
 *   avg             sum as above, be64 count                    17 bytes
 *   reduce          the reduced value itself
 *   aggregate       the user's aggregate itself
 *
 * Numbers: integers stay exact int64 until a double is seen, or a sum would
 * overflow; from then on the aggregate is a double. Results are formatted
 * (text by default, or Kafka's 8-byte big-endian Long/Double serde format).
 * avg's result is always a double.
 */
#include "streams_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers -------------------------------------------------------------- */

static void num_store(uint8_t *p, beck_num_t n) {
  p[0] = n.is_double ? 1 : 0;
  uint64_t bits;
  if (n.is_double)
    memcpy(&bits, &n.d, 8);
  else
    bits = (uint64_t)n.i;
  beck_store_be64(p + 1, bits);
}

static beck_num_t num_load(const uint8_t *p) {
  beck_num_t n = {0};
  uint64_t bits = beck_load_be64(p + 1);
  n.is_double = p[0] == 1;
  if (n.is_double)
    memcpy(&n.d, &bits, 8);
  else
    n.i = (int64_t)bits;
  return n;
}

static double num_d(beck_num_t n) { return n.is_double ? n.d : (double)n.i; }

static beck_num_t num_add(beck_num_t a, beck_num_t b) {
  beck_num_t r = {0};
  if (!a.is_double && !b.is_double && !__builtin_add_overflow(a.i, b.i, &r.i))
    return r;
  r.is_double = true;
  r.d = num_d(a) + num_d(b);
  return r;
}

/* <0, 0, >0 as a < b, a == b, a > b (exact for two integers). */
static int num_cmp(beck_num_t a, beck_num_t b) {
  if (!a.is_double && !b.is_double)
    return a.i < b.i ? -1 : a.i > b.i;
  double x = num_d(a), y = num_d(b);
  return x < y ? -1 : x > y;
}

/* Parses decimal text: an integer ("-42") or a floating-point number
 * ("2.5", "1e3"). Returns 1, or 0 when the bytes are not such a number. */
static int parse_num(const uint8_t *p, int32_t len, beck_num_t *out) {
  while (len > 0 && (*p == ' ' || *p == '\t'))
    p++, len--;
  while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n' || p[len - 1] == '\r'))
    len--;
  if (len <= 0 || len > 63)
    return 0;
  char buf[64];
  memcpy(buf, p, (size_t)len);
  buf[len] = '\0';
  bool integer = true;
  for (int32_t i = 0; i < len; i++) {
    char c = buf[i];
    if ((c >= '0' && c <= '9') || ((c == '-' || c == '+') && i == 0))
      continue;
    if (c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+') {
      integer = false;
      continue;
    }
    return 0;
  }
  char *end;
  errno = 0;
  if (integer) {
    long long v = strtoll(buf, &end, 10);
    if (*end == '\0' && end != buf && errno == 0) {
      out->is_double = false;
      out->i = v;
      return 1;
    }
  }
  errno = 0;
  double d = strtod(buf, &end);
  if (*end != '\0' || end == buf || !isfinite(d))
    return 0;
  out->is_double = true;
  out->d = d;
  return 1;
}

static int get_num(const beck__aggfn_t *a, beck_sctx_t *ctx, const beck_srec_t *r, beck_num_t *out) {
  if (a->num_fn != NULL)
    return a->num_fn(a->num_ud, ctx, r, out);
  if (r->value.len < 0)
    return 0;
  if (parse_num(r->value.ptr, r->value.len, out))
    return 1;
  int32_t show = r->value.len > 40 ? 40 : r->value.len;
  return beck_sctx_fail(ctx, BECK_ERR_PARSE, "value '%.*s%s' is not a number", (int)show, (const char *)r->value.ptr,
                        r->value.len > show ? "..." : "");
}

int beck__fmt_double(char *buf, size_t n, double d) {
  int k = 0;
  for (int prec = 1; prec <= 17; prec++) {
    k = snprintf(buf, n, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      break;
  }
  return k;
}

static int emit_num(const beck__aggfn_t *a, beck_sctx_t *ctx, beck_num_t v, beck_nstr_t *out) {
  if (a->format == BECK_NUM_BE64) {
    uint8_t *p = beck_sctx_alloc(ctx, 8);
    if (p == NULL)
      return BECK_ERR_NOMEM;
    uint64_t bits;
    if (v.is_double)
      memcpy(&bits, &v.d, 8);
    else
      bits = (uint64_t)v.i;
    beck_store_be64(p, bits);
    *out = beck_nstr(p, 8);
    return 0;
  }
  char buf[40];
  int k = v.is_double ? beck__fmt_double(buf, sizeof buf, v.d) : snprintf(buf, sizeof buf, "%lld", (long long)v.i);
  *out = beck_sctx_copy(ctx, buf, k);
  return out->len < 0 ? BECK_ERR_NOMEM : 0;
}

static uint8_t *state_alloc(beck_sctx_t *ctx, size_t n, beck_nstr_t *out) {
  uint8_t *p = beck_sctx_alloc(ctx, n);
  if (p != NULL)
    *out = beck_nstr(p, (int32_t)n);
  return p;
}

static bool state_ok(const beck__aggfn_t *a, beck_nstr_t s) {
  switch (a->kind) {
  case BECK__AGG_COUNT:
    return s.len == 8;
  case BECK__AGG_SUM:
  case BECK__AGG_MIN:
  case BECK__AGG_MAX:
    return s.len == 9;
  case BECK__AGG_AVG:
    return s.len == 17;
  default:
    return true;
  }
}

/* ---- transitions ------------------------------------------------------------ */

int beck__agg_add(const beck__aggfn_t *a, beck_sctx_t *ctx, const beck_srec_t *r, const beck_nstr_t *state,
                  beck_nstr_t *out, bool *skip) {
  *skip = false;
  if (state != NULL && !state_ok(a, *state))
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "stored aggregate has %d bytes, not the expected size",
                          (int)state->len);
  switch (a->kind) {
  case BECK__AGG_COUNT: {
    uint8_t *p = state_alloc(ctx, 8, out);
    if (p == NULL)
      return BECK_ERR_NOMEM;
    int64_t c = state ? (int64_t)beck_load_be64(state->ptr) : 0;
    beck_store_be64(p, (uint64_t)(c + 1));
    return 0;
  }
  case BECK__AGG_SUM:
  case BECK__AGG_MIN:
  case BECK__AGG_MAX:
  case BECK__AGG_AVG: {
    beck_num_t v;
    int rc = get_num(a, ctx, r, &v);
    if (rc <= 0) {
      *skip = rc == 0;
      return rc;
    }
    uint8_t *p = state_alloc(ctx, a->kind == BECK__AGG_AVG ? 17 : 9, out);
    if (p == NULL)
      return BECK_ERR_NOMEM;
    beck_num_t res = v;
    if (state != NULL) {
      beck_num_t cur = num_load(state->ptr);
      if (a->kind == BECK__AGG_SUM || a->kind == BECK__AGG_AVG)
        res = num_add(cur, v);
      else if (a->kind == BECK__AGG_MIN)
        res = num_cmp(v, cur) < 0 ? v : cur;
      else
        res = num_cmp(v, cur) > 0 ? v : cur;
    }
    num_store(p, res);
    if (a->kind == BECK__AGG_AVG)
      beck_store_be64(p + 9, (uint64_t)((state ? (int64_t)beck_load_be64(state->ptr + 9) : 0) + 1));
    return 0;
  }
  case BECK__AGG_REDUCE:
    if (state == NULL) {
      *out = r->value;
      return 0;
    }
    *out = *state;
    return a->reduce(a->reduce_ud, ctx, *state, r, out);
  case BECK__AGG_CUSTOM: {
    beck_nstr_t agg;
    if (state == NULL) {
      agg = beck_nstr_null();
      int rc = a->user.init(a->user.ud, ctx, r->key, &agg);
      if (rc < 0)
        return rc;
    } else {
      agg = *state;
    }
    *out = agg;
    return a->user.add(a->user.ud, ctx, r, agg, out);
  }
  }
  return BECK_ERR_INVAL;
}

int beck__agg_merge(const beck__aggfn_t *a, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t x, beck_nstr_t y,
                    beck_nstr_t *out) {
  if (!state_ok(a, x) || !state_ok(a, y))
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "stored aggregate has an unexpected size");
  switch (a->kind) {
  case BECK__AGG_COUNT: {
    uint8_t *p = state_alloc(ctx, 8, out);
    if (p == NULL)
      return BECK_ERR_NOMEM;
    beck_store_be64(p, beck_load_be64(x.ptr) + beck_load_be64(y.ptr));
    return 0;
  }
  case BECK__AGG_SUM:
  case BECK__AGG_MIN:
  case BECK__AGG_MAX:
  case BECK__AGG_AVG: {
    uint8_t *p = state_alloc(ctx, (size_t)x.len, out);
    if (p == NULL)
      return BECK_ERR_NOMEM;
    beck_num_t u = num_load(x.ptr), v = num_load(y.ptr), res;
    if (a->kind == BECK__AGG_MIN)
      res = num_cmp(v, u) < 0 ? v : u;
    else if (a->kind == BECK__AGG_MAX)
      res = num_cmp(v, u) > 0 ? v : u;
    else
      res = num_add(u, v);
    num_store(p, res);
    if (a->kind == BECK__AGG_AVG)
      beck_store_be64(p + 9, beck_load_be64(x.ptr + 9) + beck_load_be64(y.ptr + 9));
    return 0;
  }
  case BECK__AGG_REDUCE: {
    beck_srec_t r = {.key = key, .value = y};
    *out = x;
    return a->reduce(a->reduce_ud, ctx, x, &r, out);
  }
  case BECK__AGG_CUSTOM:
    *out = x;
    return a->user.merge(a->user.ud, ctx, key, x, y, out);
  }
  return BECK_ERR_INVAL;
}

int beck__agg_result(const beck__aggfn_t *a, beck_sctx_t *ctx, beck_nstr_t state, beck_nstr_t *out) {
  if (!state_ok(a, state))
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "stored aggregate has an unexpected size");
  switch (a->kind) {
  case BECK__AGG_COUNT: {
    beck_num_t v = {.i = (int64_t)beck_load_be64(state.ptr)};
    return emit_num(a, ctx, v, out);
  }
  case BECK__AGG_SUM:
  case BECK__AGG_MIN:
  case BECK__AGG_MAX:
    return emit_num(a, ctx, num_load(state.ptr), out);
  case BECK__AGG_AVG: {
    int64_t c = (int64_t)beck_load_be64(state.ptr + 9);
    beck_num_t v = {.is_double = true, .d = c ? num_d(num_load(state.ptr)) / (double)c : 0.0};
    return emit_num(a, ctx, v, out);
  }
  default:
    *out = state;
    return 0;
  }
}
