/*
 * agg.c - reference accumulators for the aggregate functions (see expr.h).
 *
 * State layout per kind (a JSON value, so a state store can keep it as
 * bytes and a changelog can restore it):
 *
 *   count, count_distinct   n                 | object {json(x): true}
 *   sum                     number (int64 until a double or an overflow)
 *   min, max, first, last   the value, or null before the first non-null
 *   avg                     [sum, n]
 *   collect                 [x, ...]
 *
 * count_distinct keys are the compact JSON of each value, with integral
 * doubles written as integers so 1 and 1.0 count once (as == says).
 */
#include "streams/expr/expr_int.h"

#include <math.h>
#include <string.h>

json_t *beck_agg_state_new(beck_agg_kind_t k) {
  switch (k) {
  case BECK_AGG_COUNT:
  case BECK_AGG_SUM: return json_integer(0);
  case BECK_AGG_COUNT_DISTINCT: return json_object();
  case BECK_AGG_AVG: return json_pack("[ii]", 0, 0);
  case BECK_AGG_COLLECT: return json_array();
  default: return json_null();
  }
}

/* *acc += v (numbers); replaces *acc when it changes representation. */
static beck_err_t add_number(json_t **acc, const beck_val_t *v) {
  beck_val_t a = beck_val_from_json(*acc);
  json_t *r;
  int64_t s;
  if (a.kind == BECK_VAL_INT && v->kind == BECK_VAL_INT && !__builtin_add_overflow(a.u.i, v->u.i, &s)) {
    if (json_integer_set(*acc, s) == 0)
      return BECK_ERR_OK;
    r = json_integer(s);
  } else {
    double d = beck__val_as_double(&a) + beck__val_as_double(v);
    r = json_real(isfinite(d) ? d : 0.0);
  }
  if (r == NULL)
    return BECK_ERR_NOMEM;
  json_decref(*acc);
  *acc = r;
  return BECK_ERR_OK;
}

static beck_err_t replace(json_t **state, const beck_val_t *v) {
  json_t *j = beck_val_to_json(v);
  if (j == NULL)
    return BECK_ERR_NOMEM;
  json_decref(*state);
  *state = j;
  return BECK_ERR_OK;
}

static beck_err_t distinct_key(const beck_val_t *v, beck_buf_t *b) {
  int64_t i;
  if (v->kind == BECK_VAL_DOUBLE && v->u.d == floor(v->u.d) && fabs(v->u.d) < 9e15) {
    i = (int64_t)v->u.d;
    beck_val_t iv = beck_val_int(i);
    return beck_val_write_json(&iv, b);
  }
  return beck_val_write_json(v, b);
}

static beck_err_t add_minmax(beck_agg_kind_t k, json_t **state, const beck_val_t *v, beck_error_t *e) {
  if (!beck__val_is_number(v) && v->kind != BECK_VAL_STR)
    return beck_error_set(e, BECK_ERR_INVAL, "%s() needs numbers or strings, got %s", beck_agg_name(k),
                          beck__val_kind_name(v));
  beck_val_t cur = beck_val_from_json(*state);
  if (cur.kind == BECK_VAL_NULL)
    return replace(state, v);
  int c;
  if (!beck__val_order(v, &cur, &c))
    return beck_error_set(e, BECK_ERR_INVAL, "%s() cannot compare %s and %s", beck_agg_name(k),
                          beck__val_kind_name(v), beck__val_kind_name(&cur));
  if ((k == BECK_AGG_MIN && c < 0) || (k == BECK_AGG_MAX && c > 0))
    return replace(state, v);
  return BECK_ERR_OK;
}

beck_err_t beck_agg_add(beck_agg_kind_t k, json_t **state, const beck_val_t *v, bool arg_absent, beck_error_t *e) {
  bool null = v == NULL || v->kind == BECK_VAL_NULL;
  if (k == BECK_AGG_COUNT) {
    if (arg_absent || !null) {
      beck_val_t one = beck_val_int(1);
      return add_number(state, &one);
    }
    return BECK_ERR_OK;
  }
  if (null)
    return BECK_ERR_OK;
  switch (k) {
  case BECK_AGG_COUNT_DISTINCT: {
    beck_buf_t b = {0};
    beck_err_t rc = distinct_key(v, &b);
    if (rc == 0 && json_object_setn_new_nocheck(*state, (const char *)b.data, b.len, json_true()) != 0)
      rc = BECK_ERR_NOMEM;
    beck_buf_free(&b);
    return rc;
  }
  case BECK_AGG_SUM:
    if (!beck__val_is_number(v))
      return beck_error_set(e, BECK_ERR_INVAL, "sum() needs numbers, got %s", beck__val_kind_name(v));
    return add_number(state, v);
  case BECK_AGG_AVG: {
    if (!beck__val_is_number(v))
      return beck_error_set(e, BECK_ERR_INVAL, "avg() needs numbers, got %s", beck__val_kind_name(v));
    json_t *sum = json_incref(json_array_get(*state, 0));
    beck_err_t rc = sum ? add_number(&sum, v) : BECK_ERR_CORRUPT;
    if (rc == 0 && json_array_set(*state, 0, sum) != 0)
      rc = BECK_ERR_NOMEM;
    json_decref(sum);
    json_t *n = json_array_get(*state, 1);
    if (rc == 0 && (n == NULL || json_integer_set(n, json_integer_value(n) + 1) != 0))
      rc = BECK_ERR_CORRUPT;
    return rc;
  }
  case BECK_AGG_MIN:
  case BECK_AGG_MAX: return add_minmax(k, state, v, e);
  case BECK_AGG_FIRST: return json_is_null(*state) ? replace(state, v) : BECK_ERR_OK;
  case BECK_AGG_LAST: return replace(state, v);
  case BECK_AGG_COLLECT: {
    json_t *j = beck_val_to_json(v);
    return j != NULL && json_array_append_new(*state, j) == 0 ? BECK_ERR_OK : BECK_ERR_NOMEM;
  }
  default: return BECK_ERR_INVAL;
  }
}

beck_err_t beck_agg_merge(beck_agg_kind_t k, json_t **a, json_t *b, beck_error_t *e) {
  beck_val_t bv = beck_val_from_json(b);
  switch (k) {
  case BECK_AGG_COUNT:
  case BECK_AGG_SUM: return add_number(a, &bv);
  case BECK_AGG_COUNT_DISTINCT: return json_object_update(*a, b) == 0 ? BECK_ERR_OK : BECK_ERR_NOMEM;
  case BECK_AGG_AVG: {
    beck_val_t s = beck_val_from_json(json_array_get(b, 0)), n = beck_val_from_json(json_array_get(b, 1));
    json_t *sum = json_incref(json_array_get(*a, 0));
    beck_err_t rc = sum ? add_number(&sum, &s) : BECK_ERR_CORRUPT;
    if (rc == 0 && json_array_set(*a, 0, sum) != 0)
      rc = BECK_ERR_NOMEM;
    json_decref(sum);
    json_t *an = json_array_get(*a, 1);
    if (rc == 0 && (an == NULL || n.kind != BECK_VAL_INT || json_integer_set(an, json_integer_value(an) + n.u.i) != 0))
      rc = BECK_ERR_CORRUPT;
    return rc;
  }
  case BECK_AGG_MIN:
  case BECK_AGG_MAX: return bv.kind == BECK_VAL_NULL ? BECK_ERR_OK : add_minmax(k, a, &bv, e);
  case BECK_AGG_FIRST: return json_is_null(*a) && !json_is_null(b) ? replace(a, &bv) : BECK_ERR_OK;
  case BECK_AGG_LAST: return json_is_null(b) ? BECK_ERR_OK : replace(a, &bv);
  case BECK_AGG_COLLECT: return json_array_extend(*a, b) == 0 ? BECK_ERR_OK : BECK_ERR_NOMEM;
  default: return BECK_ERR_INVAL;
  }
}

beck_val_t beck_agg_result(beck_agg_kind_t k, json_t *state) {
  switch (k) {
  case BECK_AGG_COUNT_DISTINCT: return beck_val_int((int64_t)json_object_size(state));
  case BECK_AGG_AVG: {
    beck_val_t s = beck_val_from_json(json_array_get(state, 0));
    json_int_t n = json_integer_value(json_array_get(state, 1));
    if (n == 0)
      return beck_val_null();
    return beck_val_double(beck__val_as_double(&s) / (double)n);
  }
  default: return beck_val_from_json(state);
  }
}
