/*
 * eval.c - evaluating a checked program against one record.
 *
 * A tree walk over the nodes the checker left: constants are values already,
 * paths read the borrowed JSON of the record (json_object_getn, no copies),
 * headers.x scans the record's headers, and strings are slices of the record
 * unless an operation builds a new one (concatenation, lower(), ...), which
 * goes to the context's per-batch memory. JSON is allocated only for array
 * and object results that are not constants; the context releases them at
 * beck_expr_ctx_reset(). Recursion depth is bounded by EXPR_MAX_DEPTH.
 *
 * Semantics that are not obvious from the grammar:
 *   - integer + - * stay integers until they overflow, then become doubles;
 *     a / b is an integer when b divides a exactly, else a double; % of
 *     integers has the sign of the dividend; division by zero is an error;
 *   - a double result that is not finite is null;
 *   - "a" + "b" concatenates; [..] + [..] concatenates; {..} + {..} merges
 *     with the right side winning;
 *   - ordering compares numbers with numbers and strings with strings;
 *     anything compared with null is false (== and != are structural);
 *   - a condition (and, or, not, if, a filter) takes a bool; null counts as
 *     false; any other kind is an error;
 *   - x in array: an element equals x; x in object: x is a key; x in string:
 *     x is a substring;
 *   - index: arrays by integer (negative from the end), objects by string;
 *     anything else is null.
 */
#include "streams/expr/expr_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void beck_expr_ctx_init(beck_expr_ctx_t *c) {
  memset(c, 0, sizeof *c);
  beck_arena_init(&c->arena, 0);
  beck_error_clear(&c->err);
}

void beck_expr_ctx_reset(beck_expr_ctx_t *c) {
  for (size_t i = 0; i < c->nowned; i++)
    json_decref(c->owned[i]);
  c->nowned = 0;
  if (c->alloc == NULL)
    beck_arena_reset(&c->arena);
}

void beck_expr_ctx_destroy(beck_expr_ctx_t *c) {
  beck_expr_ctx_reset(c);
  beck_free(c->owned);
  c->owned = NULL;
  c->capowned = 0;
  beck_arena_destroy(&c->arena);
  beck_buf_free(&c->scratch);
}

void *beck__expr_alloc(expr_eval_t *ev, size_t n) {
  beck_expr_ctx_t *c = ev->c;
  return c->alloc ? c->alloc(c->alloc_ud, n) : beck_arena_alloc(&c->arena, n);
}

json_t *beck__expr_own(expr_eval_t *ev, json_t *j) {
  beck_expr_ctx_t *c = ev->c;
  if (j == NULL)
    return NULL;
  if (c->nowned == c->capowned) {
    size_t nc = c->capowned ? c->capowned * 2 : 16;
    json_t **n = beck_realloc(c->owned, nc * sizeof *n);
    if (n == NULL) {
      json_decref(j);
      return NULL;
    }
    c->owned = n;
    c->capowned = nc;
  }
  c->owned[c->nowned++] = j;
  return j;
}

int64_t beck__expr_now(expr_eval_t *ev) {
  if (ev->c->clock)
    return ev->c->clock(ev->c->clock_ud);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

beck_err_t beck__expr_rt_error(expr_eval_t *ev, uint32_t pos, const char *fmt, ...) {
  char msg[BECK_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  uint32_t line, col;
  beck__expr_line_col(ev->x->src, ev->x->src_len, pos, &line, &col);
  if (memchr(ev->x->src, '\n', ev->x->src_len) != NULL)
    beck_error_set(&ev->c->err, BECK_ERR_INVAL, "line %u, column %u: %.400s", line, col, msg);
  else
    beck_error_set(&ev->c->err, BECK_ERR_INVAL, "column %u: %.400s", col, msg);
  return BECK_ERR_INVAL;
}

static beck_err_t nomem(expr_eval_t *ev) {
  beck_error_set(&ev->c->err, BECK_ERR_NOMEM, "out of memory");
  return BECK_ERR_NOMEM;
}

/* ---- roots ---- */

static beck_err_t headers_object(expr_eval_t *ev, beck_val_t *out) {
  json_t *o = beck__expr_own(ev, json_object());
  if (o == NULL)
    return nomem(ev);
  for (size_t i = 0; i < ev->in->nheaders; i++) {
    const beck_expr_header_t *h = &ev->in->headers[i];
    json_t *v = h->value.len < 0 ? json_null() : json_stringn((const char *)h->value.ptr, (size_t)h->value.len);
    if (v == NULL)
      v = json_null(); /* not UTF-8: read it with headers.name */
    if (json_object_setn_new_nocheck(o, (const char *)h->name.ptr, h->name.len, v) != 0)
      return nomem(ev);
  }
  *out = beck_val_from_json(o);
  return BECK_ERR_OK;
}

static beck_err_t root_value(expr_eval_t *ev, uint32_t root, beck_val_t *out) {
  const beck_expr_input_t *in = ev->in;
  switch (root) {
  case BECK_ROOT_VALUE: *out = in->value; break;
  case BECK_ROOT_KEY: *out = in->key; break;
  case BECK_ROOT_TIMESTAMP: *out = beck_val_int(in->timestamp); break;
  case BECK_ROOT_PARTITION: *out = beck_val_int(in->partition); break;
  case BECK_ROOT_OFFSET: *out = beck_val_int(in->offset); break;
  case BECK_ROOT_TOPIC: *out = beck_val_str(in->topic.ptr ? (const char *)in->topic.ptr : "", in->topic.len); break;
  case BECK_ROOT_HEADERS: return headers_object(ev, out);
  case BECK_ROOT_WINDOW: {
    if (!in->windowed) {
      *out = beck_val_null();
      break;
    }
    json_t *o = beck__expr_own(ev, json_pack("{sIsI}", "start", (json_int_t)in->window_start, "end",
                                             (json_int_t)in->window_end));
    if (o == NULL)
      return nomem(ev);
    *out = beck_val_from_json(o);
    break;
  }
  case BECK_ROOT_LEFT: *out = in->left; break;
  case BECK_ROOT_RIGHT: *out = in->right; break;
  default: *out = beck_val_null(); break;
  }
  return BECK_ERR_OK;
}

static void header_value(expr_eval_t *ev, const node_t *n, beck_val_t *out) {
  *out = beck_val_null();
  for (size_t i = 0; i < ev->in->nheaders; i++) { /* the last one wins, like Kafka's lastHeader */
    const beck_expr_header_t *h = &ev->in->headers[i];
    if (h->name.len == n->name_len && (n->name_len == 0 || memcmp(h->name.ptr, n->name, n->name_len) == 0))
      *out = h->value.len < 0 ? beck_val_null()
                              : beck_val_str(h->value.ptr ? (const char *)h->value.ptr : "", (size_t)h->value.len);
  }
}

/* ---- operators ---- */

static beck_err_t cond(expr_eval_t *ev, const node_t *at, const beck_val_t *v, bool *out, const char *what) {
  if (v->kind == BECK_VAL_BOOL) {
    *out = v->u.b;
    return BECK_ERR_OK;
  }
  if (v->kind == BECK_VAL_NULL) {
    *out = false;
    return BECK_ERR_OK;
  }
  return beck__expr_rt_error(ev, at->start, "type error: %s needs a bool, got %s", what, beck__val_kind_name(v));
}

static const char *verb(op_t op) {
  switch (op) {
  case OP_ADD: return "add";
  case OP_SUB: return "subtract";
  case OP_MUL: return "multiply";
  case OP_DIV: return "divide";
  default: return "take the remainder of";
  }
}

static beck_val_t num_double(double d) { return isfinite(d) ? beck_val_double(d) : beck_val_null(); }

static beck_err_t arith_int(expr_eval_t *ev, const node_t *n, int64_t a, int64_t b, beck_val_t *out) {
  int64_t r;
  switch (n->op) {
  case OP_ADD:
    *out = __builtin_add_overflow(a, b, &r) ? beck_val_double((double)a + (double)b) : beck_val_int(r);
    return BECK_ERR_OK;
  case OP_SUB:
    *out = __builtin_sub_overflow(a, b, &r) ? beck_val_double((double)a - (double)b) : beck_val_int(r);
    return BECK_ERR_OK;
  case OP_MUL:
    *out = __builtin_mul_overflow(a, b, &r) ? beck_val_double((double)a * (double)b) : beck_val_int(r);
    return BECK_ERR_OK;
  case OP_DIV:
    if (b == 0)
      return beck__expr_rt_error(ev, n->pos, "division by zero");
    if (a == INT64_MIN && b == -1)
      *out = beck_val_double(-(double)INT64_MIN);
    else if (a % b == 0)
      *out = beck_val_int(a / b);
    else
      *out = beck_val_double((double)a / (double)b);
    return BECK_ERR_OK;
  default:
    if (b == 0)
      return beck__expr_rt_error(ev, n->pos, "division by zero");
    *out = beck_val_int(b == -1 ? 0 : a % b);
    return BECK_ERR_OK;
  }
}

static beck_err_t concat(expr_eval_t *ev, const beck_val_t *a, const beck_val_t *b, beck_val_t *out) {
  size_t n = a->u.s.len + b->u.s.len;
  if (a->u.s.len == 0) {
    *out = *b;
    return BECK_ERR_OK;
  }
  if (b->u.s.len == 0) {
    *out = *a;
    return BECK_ERR_OK;
  }
  char *p = beck__expr_alloc(ev, n + 1);
  if (p == NULL)
    return nomem(ev);
  memcpy(p, a->u.s.p, a->u.s.len);
  memcpy(p + a->u.s.len, b->u.s.p, b->u.s.len);
  p[n] = '\0';
  *out = beck_val_str(p, n);
  return BECK_ERR_OK;
}

static beck_err_t join_json(expr_eval_t *ev, json_t *a, json_t *b, beck_val_t *out) {
  json_t *r;
  if (json_is_array(a)) {
    r = beck__expr_own(ev, json_array());
    if (r == NULL || json_array_extend(r, a) != 0 || json_array_extend(r, b) != 0)
      return nomem(ev);
  } else {
    r = beck__expr_own(ev, json_object());
    if (r == NULL || json_object_update(r, a) != 0 || json_object_update(r, b) != 0)
      return nomem(ev);
  }
  *out = beck_val_from_json(r);
  return BECK_ERR_OK;
}

static beck_err_t arith(expr_eval_t *ev, const node_t *n, const beck_val_t *a, const beck_val_t *b,
                        beck_val_t *out) {
  if (a->kind == BECK_VAL_NULL || b->kind == BECK_VAL_NULL) {
    *out = beck_val_null();
    return BECK_ERR_OK;
  }
  if (a->kind == BECK_VAL_INT && b->kind == BECK_VAL_INT)
    return arith_int(ev, n, a->u.i, b->u.i, out);
  if (beck__val_is_number(a) && beck__val_is_number(b)) {
    double x = beck__val_as_double(a), y = beck__val_as_double(b);
    switch (n->op) {
    case OP_ADD: *out = num_double(x + y); break;
    case OP_SUB: *out = num_double(x - y); break;
    case OP_MUL: *out = num_double(x * y); break;
    case OP_DIV:
      if (y == 0)
        return beck__expr_rt_error(ev, n->pos, "division by zero");
      *out = num_double(x / y);
      break;
    default:
      if (y == 0)
        return beck__expr_rt_error(ev, n->pos, "division by zero");
      *out = num_double(fmod(x, y));
      break;
    }
    return BECK_ERR_OK;
  }
  if (n->op == OP_ADD) {
    if (a->kind == BECK_VAL_STR && b->kind == BECK_VAL_STR)
      return concat(ev, a, b, out);
    if (a->kind == BECK_VAL_JSON && b->kind == BECK_VAL_JSON && json_typeof(a->u.j) == json_typeof(b->u.j))
      return join_json(ev, a->u.j, b->u.j, out);
  }
  return beck__expr_rt_error(ev, n->pos, "type error: cannot %s %s and %s", verb(n->op), beck__val_kind_name(a),
                             beck__val_kind_name(b));
}

static beck_err_t in_op(expr_eval_t *ev, const node_t *n, const beck_val_t *a, const beck_val_t *b,
                        beck_val_t *out) {
  bool r = false;
  if (b->kind == BECK_VAL_NULL) {
    r = false;
  } else if (b->kind == BECK_VAL_JSON && json_is_array(b->u.j)) {
    for (size_t i = 0; i < json_array_size(b->u.j) && !r; i++) {
      beck_val_t e = beck_val_from_json(json_array_get(b->u.j, i));
      r = beck_val_equal(a, &e);
    }
  } else if (b->kind == BECK_VAL_JSON) {
    r = a->kind == BECK_VAL_STR && json_object_getn(b->u.j, a->u.s.p ? a->u.s.p : "", a->u.s.len) != NULL;
  } else if (b->kind == BECK_VAL_STR) {
    if (a->kind == BECK_VAL_NULL)
      r = false;
    else if (a->kind != BECK_VAL_STR)
      return beck__expr_rt_error(ev, n->pos, "type error: 'in' a string needs a string on the left, got %s",
                                 beck__val_kind_name(a));
    else
      r = a->u.s.len == 0 || (a->u.s.len <= b->u.s.len && memmem(b->u.s.p, b->u.s.len, a->u.s.p, a->u.s.len));
  } else {
    return beck__expr_rt_error(ev, n->pos, "type error: 'in' needs an array, an object or a string on the right, got %s",
                               beck__val_kind_name(b));
  }
  *out = beck_val_bool(r);
  return BECK_ERR_OK;
}

static beck_err_t binary(expr_eval_t *ev, const node_t *n, beck_val_t *out) {
  beck_val_t a, b;
  beck_err_t rc = beck__expr_eval_node(ev, n->kids[0], &a);
  if (rc == 0)
    rc = beck__expr_eval_node(ev, n->kids[1], &b);
  if (rc != 0)
    return rc;
  int c;
  switch (n->op) {
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
  case OP_DIV:
  case OP_MOD: return arith(ev, n, &a, &b, out);
  case OP_EQ: *out = beck_val_bool(beck_val_equal(&a, &b)); return BECK_ERR_OK;
  case OP_NE: *out = beck_val_bool(!beck_val_equal(&a, &b)); return BECK_ERR_OK;
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE:
    if (a.kind == BECK_VAL_NULL || b.kind == BECK_VAL_NULL) {
      *out = beck_val_bool(false);
      return BECK_ERR_OK;
    }
    if (!beck__val_order(&a, &b, &c))
      return beck__expr_rt_error(ev, n->pos, "type error: cannot compare %s and %s", beck__val_kind_name(&a),
                                 beck__val_kind_name(&b));
    *out = beck_val_bool(n->op == OP_LT ? c < 0 : n->op == OP_LE ? c <= 0 : n->op == OP_GT ? c > 0 : c >= 0);
    return BECK_ERR_OK;
  case OP_IN: return in_op(ev, n, &a, &b, out);
  default: return BECK_ERR_INVAL;
  }
}

static beck_err_t index_op(expr_eval_t *ev, const node_t *n, beck_val_t *out) {
  beck_val_t a, i;
  beck_err_t rc = beck__expr_eval_node(ev, n->kids[0], &a);
  if (rc == 0)
    rc = beck__expr_eval_node(ev, n->kids[1], &i);
  if (rc != 0)
    return rc;
  *out = beck_val_null();
  if (a.kind != BECK_VAL_JSON)
    return BECK_ERR_OK;
  if (json_is_array(a.u.j)) {
    int64_t idx;
    if (i.kind == BECK_VAL_INT)
      idx = i.u.i;
    else if (i.kind == BECK_VAL_DOUBLE && i.u.d == floor(i.u.d) && fabs(i.u.d) < 9e18)
      idx = (int64_t)i.u.d;
    else
      return BECK_ERR_OK;
    int64_t size = (int64_t)json_array_size(a.u.j);
    if (idx < 0)
      idx += size;
    if (idx >= 0 && idx < size)
      *out = beck_val_from_json(json_array_get(a.u.j, (size_t)idx));
  } else if (i.kind == BECK_VAL_STR) {
    *out = beck_val_from_json(json_object_getn(a.u.j, i.u.s.p ? i.u.s.p : "", i.u.s.len));
  }
  return BECK_ERR_OK;
}

static beck_err_t build_array(expr_eval_t *ev, const node_t *n, beck_val_t *out) {
  json_t *arr = beck__expr_own(ev, json_array());
  if (arr == NULL)
    return nomem(ev);
  for (uint32_t k = 0; k < n->nkids; k++) {
    beck_val_t v;
    beck_err_t rc = beck__expr_eval_node(ev, n->kids[k], &v);
    if (rc != 0)
      return rc;
    json_t *j = beck_val_to_json(&v);
    if (j == NULL)
      return beck__expr_rt_error(ev, n->kids[k]->start, "a string is not valid UTF-8");
    if (json_array_append_new(arr, j) != 0)
      return nomem(ev);
  }
  *out = beck_val_from_json(arr);
  return BECK_ERR_OK;
}

static beck_err_t build_object(expr_eval_t *ev, const node_t *n, beck_val_t *out) {
  json_t *obj = beck__expr_own(ev, json_object());
  if (obj == NULL)
    return nomem(ev);
  const beck_expr_t *saved = ev->x;
  bool parts = n == saved->root && saved->nparts == n->nkids && saved->nparts > 0;
  for (uint32_t k = 0; k < n->nkids; k++) {
    beck_val_t v;
    if (parts)
      ev->x = saved->parts[k]; /* errors point into the field's own source */
    beck_err_t rc = beck__expr_eval_node(ev, n->kids[k], &v);
    json_t *j = rc == 0 ? beck_val_to_json(&v) : NULL;
    if (rc == 0 && j == NULL)
      rc = beck__expr_rt_error(ev, n->kids[k]->start, "a string is not valid UTF-8");
    ev->x = saved;
    if (rc != 0) {
      if (parts)
        beck_error_wrap(&ev->c->err, "field '%s'", n->names[k]);
      return rc;
    }
    if (json_object_setn_new_nocheck(obj, n->names[k], n->name_lens[k], j) != 0)
      return nomem(ev);
  }
  *out = beck_val_from_json(obj);
  return BECK_ERR_OK;
}

static beck_err_t call(expr_eval_t *ev, const node_t *n, beck_val_t *out) {
  const expr_fn_t *f = &beck__expr_functions[n->fn];
  beck_val_t args[EXPR_MAX_ARGS];
  bool null_arg = false;
  for (uint32_t k = 0; k < n->nkids; k++) {
    beck_err_t rc = beck__expr_eval_node(ev, n->kids[k], &args[k]);
    if (rc != 0)
      return rc;
    beck_type_t t = beck_val_type(&args[k]), want = beck__expr_fn_arg_type(f, k);
    if (t == BECK_TYPE_NULL) {
      null_arg = true;
    } else if ((t & want) == 0) {
      /* a field of the record held the wrong kind: the checker could not know */
      char b[64];
      return beck__expr_rt_error(ev, n->kids[k]->start, "type error: %s() expects %s as argument %u, got %s",
                                 f->name, beck__type_a(want, b, sizeof b), k + 1, beck__val_kind_name(&args[k]));
    }
  }
  if ((f->flags & FN_NULLPROP) && null_arg) {
    *out = beck_val_null();
    return BECK_ERR_OK;
  }
  node_t named = *n;
  named.name = f->name;
  beck_err_t rc = f->impl(ev, &named, args, n->nkids, out);
  if (rc == BECK_ERR_NOMEM && ev->c->err.code != BECK_ERR_NOMEM)
    return nomem(ev);
  return rc;
}

beck_err_t beck__expr_eval_node(expr_eval_t *ev, const node_t *n, beck_val_t *out) {
  beck_err_t rc;
  beck_val_t v;
  bool b = false;
  switch (n->kind) {
  case N_CONST: *out = n->val; return BECK_ERR_OK;
  case N_ROOT: return root_value(ev, n->root, out);
  case N_HEADER: header_value(ev, n, out); return BECK_ERR_OK;
  case N_WINDOW:
    *out = !ev->in->windowed ? beck_val_null()
                             : beck_val_int(n->root ? ev->in->window_end : ev->in->window_start);
    return BECK_ERR_OK;
  case N_FIELD:
    if ((rc = beck__expr_eval_node(ev, n->kids[0], &v)) != 0)
      return rc;
    *out = v.kind == BECK_VAL_JSON && json_is_object(v.u.j)
               ? beck_val_from_json(json_object_getn(v.u.j, n->name, n->name_len))
               : beck_val_null();
    return BECK_ERR_OK;
  case N_INDEX: return index_op(ev, n, out);
  case N_UNARY:
    if ((rc = beck__expr_eval_node(ev, n->kids[0], &v)) != 0)
      return rc;
    if (n->op == OP_NOT) {
      if ((rc = cond(ev, n->kids[0], &v, &b, "'not'")) != 0)
        return rc;
      *out = beck_val_bool(!b);
    } else if (v.kind == BECK_VAL_NULL) {
      *out = v;
    } else if (v.kind == BECK_VAL_INT) {
      *out = v.u.i == INT64_MIN ? beck_val_double(-(double)INT64_MIN) : beck_val_int(-v.u.i);
    } else if (v.kind == BECK_VAL_DOUBLE) {
      *out = beck_val_double(-v.u.d);
    } else {
      return beck__expr_rt_error(ev, n->pos, "type error: cannot negate %s", beck__val_kind_name(&v));
    }
    return BECK_ERR_OK;
  case N_BINARY: return binary(ev, n, out);
  case N_AND:
  case N_OR: {
    const char *what = n->kind == N_AND ? "'and'" : "'or'";
    if ((rc = beck__expr_eval_node(ev, n->kids[0], &v)) != 0 || (rc = cond(ev, n->kids[0], &v, &b, what)) != 0)
      return rc;
    if (b == (n->kind == N_OR)) {
      *out = beck_val_bool(b);
      return BECK_ERR_OK;
    }
    if ((rc = beck__expr_eval_node(ev, n->kids[1], &v)) != 0 || (rc = cond(ev, n->kids[1], &v, &b, what)) != 0)
      return rc;
    *out = beck_val_bool(b);
    return BECK_ERR_OK;
  }
  case N_COALESCE:
    if ((rc = beck__expr_eval_node(ev, n->kids[0], out)) != 0)
      return rc;
    if (out->kind != BECK_VAL_NULL)
      return BECK_ERR_OK;
    return beck__expr_eval_node(ev, n->kids[1], out);
  case N_IF:
    if ((rc = beck__expr_eval_node(ev, n->kids[0], &v)) != 0 ||
        (rc = cond(ev, n->kids[0], &v, &b, "an if condition")) != 0)
      return rc;
    return beck__expr_eval_node(ev, n->kids[b ? 1 : 2], out);
  case N_ARRAY: return build_array(ev, n, out);
  case N_OBJECT: return build_object(ev, n, out);
  case N_CALL: return call(ev, n, out);
  case N_AGGREF:
    *out = n->slot < ev->in->naggs && ev->in->aggs ? ev->in->aggs[n->slot] : beck_val_null();
    return BECK_ERR_OK;
  case N_AGG: *out = beck_val_null(); return BECK_ERR_OK;
  }
  return BECK_ERR_INVAL;
}

beck_err_t beck_expr_eval(const beck_expr_t *x, const beck_expr_input_t *in, beck_expr_ctx_t *c, beck_val_t *out) {
  expr_eval_t ev = {.x = x, .in = in, .c = c};
  beck_error_clear(&c->err);
  beck_err_t rc = beck__expr_eval_node(&ev, x->root, out);
  if (rc != 0) {
    *out = beck_val_null();
    if (c->err.code == BECK_ERR_OK)
      beck_error_set(&c->err, rc, "%s", beck_strerror(rc));
  }
  return rc;
}

int beck_expr_eval_bool(const beck_expr_t *x, const beck_expr_input_t *in, beck_expr_ctx_t *c) {
  beck_val_t v;
  beck_err_t rc = beck_expr_eval(x, in, c, &v);
  if (rc != 0)
    return rc;
  if (v.kind == BECK_VAL_BOOL)
    return v.u.b ? 1 : 0;
  if (v.kind == BECK_VAL_NULL)
    return 0;
  expr_eval_t ev = {.x = x, .in = in, .c = c};
  return beck__expr_rt_error(&ev, x->root->start, "type error: a condition needs a bool, got %s",
                             beck__val_kind_name(&v));
}
