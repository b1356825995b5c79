/*
 * check.c - name resolution, static types and constant folding, once per
 * expression at load time.
 *
 * Static types are sets of kinds (beck_type_t). An operator is a type error
 * when no combination of the kinds its operands may have is valid, e.g.
 * "a" + 1 or timestamp < "x"; when some combination is valid (an operand of
 * type any, from a field of the record) the check passes and the evaluator
 * checks the actual kinds. Null never makes an operator a type error: it
 * propagates.
 *
 * Aggregate calls (count, count_distinct, sum, min, max, avg, first, last,
 * collect) are allowed only when opts->aggregates is set; min and max with
 * one argument are aggregates there and scalar functions elsewhere. Each
 * aggregate call becomes a slot (N_AGGREF) and its argument a separate
 * program (beck_expr_agg_t.arg) that the runtime evaluates per record.
 *
 * Constant folding: a node whose children are all constants and that reads
 * nothing from the record (and is not now()) is evaluated here and replaced
 * by its value, so `value.n > 5m` compares with a constant 300000 and
 * errors such as 1 / 0 are reported at load time.
 */
#include "streams/expr/expr_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct checker {
  beck_expr_t *x;
  const beck_expr_opts_t *o;
  beck_expr_error_t *err;
  uint32_t roots_out; /* allowed outside aggregate calls */
  uint32_t roots_in;  /* allowed inside an aggregate argument */
  const node_t *agg;  /* the aggregate call being checked, or NULL */
  beck_expr_t *cur;   /* the program whose roots are being collected */
} checker_t;

static const struct root_def {
  const char *name;
  uint32_t bit;
  beck_type_t type;
} root_defs[] = {
    {"value", BECK_ROOT_VALUE, BECK_TYPE_ANY},
    {"key", BECK_ROOT_KEY, BECK_TYPE_ANY},
    {"timestamp", BECK_ROOT_TIMESTAMP, BECK_TYPE_NUMBER},
    {"headers", BECK_ROOT_HEADERS, BECK_TYPE_OBJECT},
    {"partition", BECK_ROOT_PARTITION, BECK_TYPE_NUMBER},
    {"offset", BECK_ROOT_OFFSET, BECK_TYPE_NUMBER},
    {"topic", BECK_ROOT_TOPIC, BECK_TYPE_STRING},
    {"window", BECK_ROOT_WINDOW, BECK_TYPE_OBJECT | BECK_TYPE_NULL},
    {"left", BECK_ROOT_LEFT, BECK_TYPE_ANY},
    {"right", BECK_ROOT_RIGHT, BECK_TYPE_ANY},
};
#define NROOTS (sizeof root_defs / sizeof root_defs[0])

static const char *const agg_names[] = {
#define AGG_NAME(name, str, doc) str,
    BECK_AGG_MAP(AGG_NAME)
#undef AGG_NAME
};

const char *beck_agg_name(beck_agg_kind_t k) {
  return (unsigned)k < BECK_AGG__COUNT ? agg_names[k] : "?";
}

static beck_err_t fail(checker_t *c, uint32_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static beck_err_t fail(checker_t *c, uint32_t pos, const char *fmt, ...) {
  char msg[sizeof c->err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return beck__expr_fail(c->err, c->x->src, c->x->src_len, pos, BECK_ERR_INVAL, "%s", msg);
}

static beck_err_t nomem(checker_t *c) {
  return beck__expr_fail(c->err, c->x->src, c->x->src_len, 0, BECK_ERR_NOMEM, "out of memory");
}

beck_err_t beck__expr_add_const(beck_expr_t *x, json_t *j) {
  if (x->nconsts == x->capconsts) {
    size_t nc = x->capconsts ? x->capconsts * 2 : 4;
    json_t **n = beck_realloc(x->consts, nc * sizeof *n);
    if (n == NULL) {
      json_decref(j);
      return BECK_ERR_NOMEM;
    }
    x->consts = n;
    x->capconsts = nc;
  }
  x->consts[x->nconsts++] = j;
  return BECK_ERR_OK;
}

#define TN(t, buf) beck_type_name((t), buf, sizeof buf)

#define TA(t, buf) beck__type_a((t), buf, sizeof buf)

/* Lists the allowed root names, "value, key or timestamp". */
static void list_roots(uint32_t allowed, char *buf, size_t cap) {
  size_t len = 0, total = 0, seen = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < NROOTS; i++)
    total += (allowed & root_defs[i].bit) != 0;
  for (size_t i = 0; i < NROOTS; i++) {
    if (!(allowed & root_defs[i].bit))
      continue;
    seen++;
    const char *sep = seen == 1 ? "" : seen == total ? " or " : ", ";
    int w = snprintf(buf + len, cap - len, "%s%s", sep, root_defs[i].name);
    if (w < 0 || (size_t)w >= cap - len)
      return;
    len += (size_t)w;
  }
}

static beck_err_t check_root(checker_t *c, node_t *n) {
  const struct root_def *def = NULL;
  for (size_t i = 0; i < NROOTS; i++)
    if (strcmp(root_defs[i].name, n->name) == 0)
      def = &root_defs[i];
  uint32_t allowed = c->agg ? c->roots_in : c->roots_out;
  if (def == NULL) {
    if (beck__expr_find_function(n->name, n->name_len) >= 0)
      return fail(c, n->pos, "'%s' is a function; call it as %s(...)", n->name, n->name);
    const char *cands[NROOTS];
    size_t nc = 0;
    for (size_t i = 0; i < NROOTS; i++)
      if (allowed & root_defs[i].bit)
        cands[nc++] = root_defs[i].name;
    const char *s = beck_did_you_mean(n->name, n->name_len, cands, nc);
    if (s != NULL)
      return fail(c, n->pos, "unknown name '%s' (did you mean '%s'?)", n->name, s);
    char list[160];
    list_roots(allowed, list, sizeof list);
    return fail(c, n->pos, "unknown name '%s'; expected %s (a string needs quotes: \"%s\")", n->name, list,
                n->name);
  }
  if (!(allowed & def->bit)) {
    if (c->agg == NULL && c->o->aggregates && (c->roots_in & def->bit))
      return fail(c, n->pos,
                  "'%s' can only be used inside an aggregate function here (an aggregate result is one value per "
                  "group); e.g. last(%s)",
                  n->name, n->name);
    char list[160];
    list_roots(allowed, list, sizeof list);
    return fail(c, n->pos, "'%s' is not available here; expected %s", n->name, list);
  }
  n->root = def->bit;
  n->type = def->type;
  c->cur->roots |= def->bit;
  return BECK_ERR_OK;
}

static const char *op_verb(op_t op) {
  switch (op) {
  case OP_ADD: return "add";
  case OP_SUB: return "subtract";
  case OP_MUL: return "multiply";
  case OP_DIV: return "divide";
  case OP_MOD: return "take the remainder of";
  default: return "compare";
  }
}

static bool is_const(const node_t *n) { return n->kind == N_CONST; }

/* Evaluates a node whose children are constants and replaces it by its
 * value. */
static beck_err_t fold(checker_t *c, node_t *n) {
  beck_expr_ctx_t ctx;
  beck_expr_ctx_init(&ctx);
  beck_expr_input_t in;
  memset(&in, 0, sizeof in);
  expr_eval_t ev = {.x = c->x, .in = &in, .c = &ctx};
  beck_val_t v;
  beck_err_t rc = beck__expr_eval_node(&ev, n, &v);
  if (rc == BECK_ERR_OK) {
    if (v.kind == BECK_VAL_STR) {
      char *copy = beck_arena_alloc(c->x->arena, v.u.s.len + 1);
      if (copy == NULL)
        rc = BECK_ERR_NOMEM;
      else {
        if (v.u.s.len)
          memcpy(copy, v.u.s.p, v.u.s.len);
        copy[v.u.s.len] = '\0';
        v = beck_val_str(copy, v.u.s.len);
      }
    } else if (v.kind == BECK_VAL_JSON) {
      rc = beck__expr_add_const(c->x, json_incref(v.u.j));
    }
  } else if (rc == BECK_ERR_INVAL) {
    /* ctx.err.msg is "column N: message"; report the message at the node */
    const char *m = strstr(ctx.err.msg, ": ");
    rc = fail(c, n->pos, "%s", m ? m + 2 : ctx.err.msg);
  }
  beck_expr_ctx_destroy(&ctx);
  if (rc == BECK_ERR_NOMEM)
    return nomem(c);
  if (rc != BECK_ERR_OK)
    return rc;
  beck_type_t t = beck_val_type(&v);
  n->kind = N_CONST;
  n->val = v;
  n->type = t;
  n->nkids = 0;
  return BECK_ERR_OK;
}

static beck_err_t check(checker_t *c, node_t *n);

static beck_err_t check_kids(checker_t *c, node_t *n) {
  for (uint32_t k = 0; k < n->nkids; k++) {
    beck_err_t rc = check(c, n->kids[k]);
    if (rc != 0)
      return rc;
  }
  return BECK_ERR_OK;
}

static bool all_const(const node_t *n) {
  for (uint32_t k = 0; k < n->nkids; k++)
    if (!is_const(n->kids[k]))
      return false;
  return true;
}

static beck_err_t need_cond(checker_t *c, const node_t *k, const char *what) {
  beck_type_t t = k->type;
  if ((t & ~BECK_TYPE_NULL) != 0 && (t & BECK_TYPE_BOOL) == 0) {
    char b[64];
    return fail(c, k->start, "type error: %s needs a bool, got %s", what, TN(t, b));
  }
  return BECK_ERR_OK;
}

static beck_err_t check_binary(checker_t *c, node_t *n) {
  beck_type_t lt = n->kids[0]->type, rt = n->kids[1]->type;
  beck_type_t l = lt & ~BECK_TYPE_NULL, r = rt & ~BECK_TYPE_NULL;
  beck_type_t nullable = (lt | rt) & BECK_TYPE_NULL;
  char b1[64], b2[64];
  switch (n->op) {
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
  case OP_DIV:
  case OP_MOD: {
    if (l == 0 || r == 0) { /* null op x is null */
      n->type = BECK_TYPE_NULL;
      return BECK_ERR_OK;
    }
    beck_type_t res = 0;
    if ((l & BECK_TYPE_NUMBER) && (r & BECK_TYPE_NUMBER))
      res |= BECK_TYPE_NUMBER;
    if (n->op == OP_ADD) {
      beck_type_t same = l & r & (BECK_TYPE_STRING | BECK_TYPE_ARRAY | BECK_TYPE_OBJECT);
      res |= same;
    }
    if (res == 0) {
      const beck_type_t known = BECK_TYPE_ANY & ~BECK_TYPE_NULL;
      if (l == known || r == known) {
        /* one side could be anything: name the side that cannot work */
        static const char sym[] = {[OP_ADD] = '+', [OP_SUB] = '-', [OP_MUL] = '*', [OP_DIV] = '/', [OP_MOD] = '%'};
        return fail(c, n->pos, "type error: '%c' cannot take %s; expected %s", sym[n->op],
                    TA(l == known ? r : l, b1),
                    n->op == OP_ADD ? "two numbers, two strings, two arrays or two objects" : "two numbers");
      }
      return fail(c, n->pos, "type error: cannot %s %s and %s", op_verb(n->op), TN(l, b1), TN(r, b2));
    }
    n->type = res | nullable;
    return BECK_ERR_OK;
  }
  case OP_EQ:
  case OP_NE: n->type = BECK_TYPE_BOOL; return BECK_ERR_OK;
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE:
    if ((l != 0 && !(l & (BECK_TYPE_NUMBER | BECK_TYPE_STRING))) ||
        (r != 0 && !(r & (BECK_TYPE_NUMBER | BECK_TYPE_STRING))))
      return fail(c, n->pos, "type error: cannot compare %s and %s; only numbers and strings are ordered",
                  TN(l ? l : lt, b1), TN(r ? r : rt, b2));
    if (l != 0 && r != 0 && !((l & r) & (BECK_TYPE_NUMBER | BECK_TYPE_STRING)))
      return fail(c, n->pos, "type error: cannot compare %s and %s", TN(l, b1), TN(r, b2));
    n->type = BECK_TYPE_BOOL;
    return BECK_ERR_OK;
  case OP_IN:
    if (r != 0 && !(r & (BECK_TYPE_ARRAY | BECK_TYPE_OBJECT | BECK_TYPE_STRING)))
      return fail(c, n->pos, "type error: 'in' needs an array, an object or a string on the right, got %s",
                  TN(r, b1));
    if (r == BECK_TYPE_STRING && l != 0 && !(l & BECK_TYPE_STRING))
      return fail(c, n->pos, "type error: 'in' a string needs a string on the left, got %s", TN(l, b1));
    n->type = BECK_TYPE_BOOL;
    return BECK_ERR_OK;
  default: return BECK_ERR_OK;
  }
}

static bool agg_kind(const char *name, int *kind) {
  for (int k = 0; k < BECK_AGG__COUNT; k++) {
    if (strcmp(agg_names[k], name) == 0) {
      *kind = k;
      return true;
    }
  }
  return false;
}

static beck_err_t check_agg(checker_t *c, node_t *n, int kind) {
  if (!c->o->aggregates)
    return fail(c, n->pos, "aggregate function %s() is only allowed in an aggregate step", n->name);
  if (c->agg != NULL)
    return fail(c, n->pos, "aggregate function %s() cannot be used inside %s(); aggregates do not nest", n->name,
                c->agg->name);
  uint32_t min = kind == BECK_AGG_COUNT ? 0 : 1;
  if (n->nkids < min || n->nkids > 1) {
    if (kind == BECK_AGG_COUNT)
      return fail(c, n->pos, "count() takes 0 or 1 arguments, got %u", n->nkids);
    return fail(c, n->pos, "%s() takes 1 argument, got %u", n->name, n->nkids);
  }
  beck_expr_t *sub = NULL;
  beck_type_t at = BECK_TYPE_NULL;
  if (n->nkids == 1) {
    sub = beck_calloc(1, sizeof *sub);
    if (sub == NULL)
      return nomem(c);
    beck_expr_t **subs = beck_realloc(c->x->subs, (c->x->nsubs + 1) * sizeof *subs);
    if (subs == NULL) {
      beck_free(sub);
      return nomem(c);
    }
    c->x->subs = subs;
    c->x->subs[c->x->nsubs++] = sub;
    sub->sub = true;
    sub->arena = c->x->arena;
    sub->src = c->x->src;
    sub->src_len = c->x->src_len;
    beck_expr_t *saved_cur = c->cur;
    c->agg = n;
    c->cur = sub;
    beck_err_t rc = check(c, n->kids[0]);
    c->agg = NULL;
    c->cur = saved_cur;
    if (rc != 0)
      return rc;
    sub->root = n->kids[0];
    sub->type = sub->root->type;
    sub->constant = sub->root->kind == N_CONST;
    c->x->roots |= sub->roots;
    at = sub->type;
    char b[64];
    beck_type_t nn = at & ~BECK_TYPE_NULL;
    if ((kind == BECK_AGG_SUM || kind == BECK_AGG_AVG) && nn != 0 && !(nn & BECK_TYPE_NUMBER))
      return fail(c, n->kids[0]->start, "type error: %s() needs numbers, got %s", n->name, TN(at, b));
    if ((kind == BECK_AGG_MIN || kind == BECK_AGG_MAX) && nn != 0 &&
        !(nn & (BECK_TYPE_NUMBER | BECK_TYPE_STRING)))
      return fail(c, n->kids[0]->start, "type error: %s() needs numbers or strings, got %s", n->name, TN(at, b));
  }
  beck_expr_agg_t *aggs = beck_realloc(c->x->aggs, (c->x->naggs + 1) * sizeof *aggs);
  if (aggs == NULL)
    return nomem(c);
  c->x->aggs = aggs;
  beck_expr_agg_t *a = &c->x->aggs[c->x->naggs];
  a->kind = (beck_agg_kind_t)kind;
  a->arg = sub;
  a->pos = n->pos;
  n->kind = N_AGGREF;
  n->slot = (uint32_t)c->x->naggs++;
  n->nkids = 0;
  switch (kind) {
  case BECK_AGG_COUNT:
  case BECK_AGG_COUNT_DISTINCT:
  case BECK_AGG_SUM: n->type = BECK_TYPE_NUMBER; break;
  case BECK_AGG_AVG: n->type = BECK_TYPE_NUMBER | BECK_TYPE_NULL; break;
  case BECK_AGG_COLLECT: n->type = BECK_TYPE_ARRAY; break;
  default: n->type = (at & (BECK_TYPE_ANY & ~BECK_TYPE_NULL)) | BECK_TYPE_NULL; break;
  }
  return BECK_ERR_OK;
}

static beck_err_t check_call(checker_t *c, node_t *n) {
  int kind;
  bool is_agg = agg_kind(n->name, &kind);
  if (is_agg && (kind == BECK_AGG_MIN || kind == BECK_AGG_MAX) && !(c->o->aggregates && n->nkids == 1))
    is_agg = false; /* the scalar min/max */
  if (is_agg)
    return check_agg(c, n, kind);
  int fi = beck__expr_find_function(n->name, n->name_len);
  if (fi < 0) {
    const char *cands[64 + BECK_AGG__COUNT];
    size_t nc = 0;
    for (size_t i = 0; i < beck__expr_function_count && nc < 64; i++)
      cands[nc++] = beck__expr_functions[i].name;
    for (int k = 0; k < BECK_AGG__COUNT; k++)
      cands[nc++] = agg_names[k];
    const char *s = beck_did_you_mean(n->name, n->name_len, cands, nc);
    if (s != NULL)
      return fail(c, n->pos, "unknown function '%s' (did you mean '%s'?)", n->name, s);
    return fail(c, n->pos, "unknown function '%s'; see the function list in docs/pipelines.md", n->name);
  }
  const expr_fn_t *f = &beck__expr_functions[fi];
  if (n->nkids < f->min_args || n->nkids > f->max_args) {
    if (f->max_args == EXPR_MAX_ARGS)
      return fail(c, n->pos, "%s() takes at least %u argument%s, got %u", f->name, f->min_args,
                  f->min_args == 1 ? "" : "s", n->nkids);
    if (f->min_args == f->max_args)
      return fail(c, n->pos, "%s() takes %u argument%s, got %u", f->name, f->min_args, f->min_args == 1 ? "" : "s",
                  n->nkids);
    return fail(c, n->pos, "%s() takes %u to %u arguments, got %u", f->name, f->min_args, f->max_args, n->nkids);
  }
  beck_err_t rc = check_kids(c, n);
  if (rc != 0)
    return rc;
  beck_type_t nullable = 0;
  for (uint32_t k = 0; k < n->nkids; k++) {
    beck_type_t want = beck__expr_fn_arg_type(f, k);
    beck_type_t got = n->kids[k]->type;
    nullable |= got & BECK_TYPE_NULL;
    if ((got & ~BECK_TYPE_NULL) != 0 && (got & want) == 0) {
      char b1[64], b2[64];
      return fail(c, n->kids[k]->start, "type error: %s() expects %s as argument %u, got %s", f->name,
                  TA(want, b1), k + 1, TN(got, b2));
    }
  }
  n->fn = fi;
  n->type = f->result | ((f->flags & FN_NULLPROP) ? nullable : 0);
  if ((f->flags & FN_CLOCK) == 0 && all_const(n))
    return fold(c, n);
  return BECK_ERR_OK;
}

static beck_err_t check(checker_t *c, node_t *n) {
  beck_err_t rc;
  char b1[64];
  switch (n->kind) {
  case N_CONST: n->type = beck_val_type(&n->val); return BECK_ERR_OK;
  case N_ROOT: return check_root(c, n);
  case N_HEADER:
  case N_WINDOW:
  case N_AGGREF: return BECK_ERR_OK; /* already checked (shared subtrees) */
  case N_FIELD: {
    node_t *base = n->kids[0];
    if ((rc = check(c, base)) != 0)
      return rc;
    if (base->kind == N_ROOT && base->root == BECK_ROOT_HEADERS) {
      n->kind = N_HEADER;
      n->nkids = 0;
      n->type = BECK_TYPE_STRING | BECK_TYPE_NULL;
      return BECK_ERR_OK;
    }
    if (base->kind == N_ROOT && base->root == BECK_ROOT_WINDOW) {
      if (strcmp(n->name, "start") != 0 && strcmp(n->name, "end") != 0)
        return fail(c, n->pos, "window has no field '%s'; expected window.start or window.end", n->name);
      n->kind = N_WINDOW;
      n->root = strcmp(n->name, "end") == 0;
      n->nkids = 0;
      n->type = BECK_TYPE_NUMBER | BECK_TYPE_NULL;
      return BECK_ERR_OK;
    }
    beck_type_t bt = base->type & ~BECK_TYPE_NULL;
    if (bt != 0 && !(bt & BECK_TYPE_OBJECT))
      return fail(c, n->pos, "type error: cannot read field '%s' of %s", n->name, TN(bt, b1));
    n->type = BECK_TYPE_ANY;
    if (is_const(base))
      return fold(c, n);
    return BECK_ERR_OK;
  }
  case N_INDEX: {
    if ((rc = check_kids(c, n)) != 0)
      return rc;
    node_t *base = n->kids[0], *idx = n->kids[1];
    if (base->kind == N_ROOT && base->root == BECK_ROOT_HEADERS && idx->kind == N_CONST &&
        idx->val.kind == BECK_VAL_STR) {
      n->kind = N_HEADER;
      n->name = idx->val.u.s.p;
      n->name_len = idx->val.u.s.len;
      n->nkids = 0;
      n->type = BECK_TYPE_STRING | BECK_TYPE_NULL;
      return BECK_ERR_OK;
    }
    beck_type_t bt = base->type & ~BECK_TYPE_NULL, it = idx->type & ~BECK_TYPE_NULL;
    if (bt != 0 && !(bt & (BECK_TYPE_ARRAY | BECK_TYPE_OBJECT)))
      return fail(c, n->pos, "type error: cannot index %s; expected an array or an object", TN(bt, b1));
    if (it != 0 && !(it & (BECK_TYPE_NUMBER | BECK_TYPE_STRING)))
      return fail(c, idx->start, "type error: an index must be a number or a string, got %s", TN(it, b1));
    n->type = BECK_TYPE_ANY;
    return all_const(n) ? fold(c, n) : BECK_ERR_OK;
  }
  case N_UNARY: {
    if ((rc = check_kids(c, n)) != 0)
      return rc;
    beck_type_t t = n->kids[0]->type;
    if (n->op == OP_NEG) {
      if ((t & ~BECK_TYPE_NULL) != 0 && !(t & BECK_TYPE_NUMBER))
        return fail(c, n->pos, "type error: cannot negate %s", TN(t & ~BECK_TYPE_NULL, b1));
      n->type = BECK_TYPE_NUMBER | (t & BECK_TYPE_NULL);
    } else {
      if ((rc = need_cond(c, n->kids[0], "'not'")) != 0)
        return rc;
      n->type = BECK_TYPE_BOOL;
    }
    return all_const(n) ? fold(c, n) : BECK_ERR_OK;
  }
  case N_BINARY:
    if ((rc = check_kids(c, n)) != 0 || (rc = check_binary(c, n)) != 0)
      return rc;
    return all_const(n) ? fold(c, n) : BECK_ERR_OK;
  case N_AND:
  case N_OR:
    if ((rc = check_kids(c, n)) != 0)
      return rc;
    if ((rc = need_cond(c, n->kids[0], n->kind == N_AND ? "'and'" : "'or'")) != 0 ||
        (rc = need_cond(c, n->kids[1], n->kind == N_AND ? "'and'" : "'or'")) != 0)
      return rc;
    n->type = BECK_TYPE_BOOL;
    return all_const(n) ? fold(c, n) : BECK_ERR_OK;
  case N_COALESCE:
    if ((rc = check_kids(c, n)) != 0)
      return rc;
    n->type = (n->kids[0]->type & ~BECK_TYPE_NULL) | n->kids[1]->type;
    return all_const(n) ? fold(c, n) : BECK_ERR_OK;
  case N_IF:
    if ((rc = check_kids(c, n)) != 0 || (rc = need_cond(c, n->kids[0], "an if condition")) != 0)
      return rc;
    n->type = n->kids[1]->type | n->kids[2]->type;
    return all_const(n) ? fold(c, n) : BECK_ERR_OK;
  case N_ARRAY:
    if ((rc = check_kids(c, n)) != 0)
      return rc;
    n->type = BECK_TYPE_ARRAY;
    return all_const(n) ? fold(c, n) : BECK_ERR_OK;
  case N_OBJECT:
    if ((rc = check_kids(c, n)) != 0)
      return rc;
    n->type = BECK_TYPE_OBJECT;
    return all_const(n) ? fold(c, n) : BECK_ERR_OK;
  case N_CALL: return check_call(c, n);
  case N_AGG: return BECK_ERR_OK;
  }
  return BECK_ERR_OK;
}

beck_err_t beck__expr_check(beck_expr_t *x, const beck_expr_opts_t *opts, beck_expr_error_t *err) {
  checker_t c = {.x = x, .o = opts, .err = err, .cur = x};
  c.roots_out = opts->roots ? opts->roots : BECK_ROOT_RECORD;
  c.roots_in = opts->agg_roots ? opts->agg_roots : BECK_ROOT_RECORD;
  beck_err_t rc = check(&c, x->root);
  if (rc != 0)
    return rc;
  x->type = x->root->type;
  x->constant = x->root->kind == N_CONST;
  /* null is always acceptable (a filter treats it as false); any other kind
   * the result may have must include one that is wanted */
  if (opts->want != 0 && (x->type & ~BECK_TYPE_NULL) != 0 && (x->type & opts->want) == 0) {
    char b1[64], b2[64];
    return fail(&c, x->root->start, "type error: %s must be %s, got %s", opts->what ? opts->what : "the result",
                TA(opts->want, b1), TN(x->type, b2));
  }
  return BECK_ERR_OK;
}
