/*
 * expr.c - compiling (parse + check) and owning programs; combining field
 * programs into one object program (beck_expr_make_object).
 *
 * Ownership: a program owns its arena (the nodes, decoded strings), a copy
 * of its source, its JSON constants, its aggregate argument programs (which
 * share its arena and source), and for a combined object its field
 * programs. A compiled program is never modified, so threads may evaluate
 * it concurrently, each with its own beck_expr_ctx_t (jansson's reference
 * counts are atomic in the Debian build: JANSSON_THREAD_SAFE_REFCOUNT).
 */
#include "streams/expr/expr_int.h"

#include <stdio.h>
#include <string.h>

static beck_expr_t *expr_new(const char *src, size_t len) {
  beck_expr_t *x = beck_calloc(1, sizeof *x);
  if (x == NULL)
    return NULL;
  beck_arena_init(&x->arena_own, 4096);
  x->arena = &x->arena_own;
  x->src = beck_malloc(len + 1);
  if (x->src == NULL) {
    beck_free(x);
    return NULL;
  }
  if (len)
    memcpy(x->src, src, len);
  x->src[len] = '\0';
  x->src_len = len;
  return x;
}

void beck_expr_free(beck_expr_t *x) {
  if (x == NULL)
    return;
  for (size_t i = 0; i < x->nsubs; i++)
    beck_free(x->subs[i]);
  beck_free(x->subs);
  for (size_t i = 0; i < x->nparts; i++)
    beck_expr_free(x->parts[i]);
  beck_free(x->parts);
  for (size_t i = 0; i < x->nconsts; i++)
    json_decref(x->consts[i]);
  beck_free(x->consts);
  beck_free(x->aggs);
  if (!x->sub) {
    beck_arena_destroy(&x->arena_own);
    beck_free(x->src);
  }
  beck_free(x);
}

beck_err_t beck_expr_compile(const char *src, size_t len, const beck_expr_opts_t *opts, beck_expr_t **out,
                             beck_expr_error_t *err) {
  static const beck_expr_opts_t defaults = {0};
  beck_expr_error_t scratch;
  if (err == NULL)
    err = &scratch;
  memset(err, 0, sizeof *err);
  *out = NULL;
  if (opts == NULL)
    opts = &defaults;
  beck_expr_t *x = expr_new(src, len);
  if (x == NULL) {
    err->code = BECK_ERR_NOMEM;
    snprintf(err->msg, sizeof err->msg, "out of memory");
    return BECK_ERR_NOMEM;
  }
  beck_err_t rc = beck__expr_parse(x, err);
  if (rc == 0)
    rc = beck__expr_check(x, opts, err);
  if (rc != 0) {
    beck_expr_free(x);
    return rc;
  }
  *out = x;
  return BECK_ERR_OK;
}

/* Adds off to every aggregate slot in the tree (fields after the first). */
static void relocate(node_t *n, uint32_t off) {
  if (n->kind == N_AGGREF)
    n->slot += off;
  for (uint32_t k = 0; k < n->nkids; k++)
    relocate(n->kids[k], off);
}

beck_err_t beck_expr_make_object(const char *const *names, beck_expr_t **fields, size_t n, beck_expr_t **out) {
  *out = NULL;
  beck_buf_t src = {0};
  beck_err_t rc = beck_buf_append(&src, "{", 1);
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = beck_buf_printf(&src, "%s%s: %s", i ? ", " : "", names[i], fields[i]->src);
  if (rc == 0)
    rc = beck_buf_append(&src, "}", 1);
  beck_expr_t *x = rc == 0 ? expr_new((const char *)src.data, src.len) : NULL;
  beck_buf_free(&src);
  if (x == NULL) {
    for (size_t i = 0; i < n; i++)
      beck_expr_free(fields[i]);
    return BECK_ERR_NOMEM;
  }
  x->parts = beck_calloc(n ? n : 1, sizeof *x->parts);
  if (x->parts == NULL) {
    for (size_t i = 0; i < n; i++)
      beck_expr_free(fields[i]);
    beck_expr_free(x);
    return BECK_ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++)
    x->parts[i] = fields[i];
  x->nparts = n;
  node_t *root = beck__expr_node(x, N_OBJECT, 0, 0);
  size_t naggs = 0;
  for (size_t i = 0; i < n; i++)
    naggs += fields[i]->naggs;
  if (root == NULL)
    goto oom;
  root->kids = beck_arena_alloc(x->arena, (n ? n : 1) * sizeof *root->kids);
  root->names = beck_arena_alloc(x->arena, (n ? n : 1) * sizeof *root->names);
  root->name_lens = beck_arena_alloc(x->arena, (n ? n : 1) * sizeof *root->name_lens);
  x->aggs = beck_calloc(naggs ? naggs : 1, sizeof *x->aggs);
  if (root->kids == NULL || root->names == NULL || root->name_lens == NULL || x->aggs == NULL)
    goto oom;
  root->nkids = (uint32_t)n;
  root->type = BECK_TYPE_OBJECT;
  uint32_t depth = 0;
  for (size_t i = 0; i < n; i++) {
    size_t nl = strlen(names[i]);
    char *nm = beck_arena_alloc(x->arena, nl + 1);
    if (nm == NULL)
      goto oom;
    memcpy(nm, names[i], nl + 1);
    root->names[i] = nm;
    root->name_lens[i] = nl;
    root->kids[i] = fields[i]->root;
    if (fields[i]->root->depth > depth)
      depth = fields[i]->root->depth;
    if (x->naggs > 0)
      relocate(fields[i]->root, (uint32_t)x->naggs);
    for (size_t k = 0; k < fields[i]->naggs; k++)
      x->aggs[x->naggs++] = fields[i]->aggs[k];
    x->roots |= fields[i]->roots;
  }
  root->depth = depth + 1;
  x->root = root;
  x->type = BECK_TYPE_OBJECT;
  x->constant = false;
  *out = x;
  return BECK_ERR_OK;
oom:
  beck_expr_free(x); /* frees the fields through parts */
  return BECK_ERR_NOMEM;
}

const char *beck_expr_source(const beck_expr_t *x) { return x->src; }
beck_type_t beck_expr_type(const beck_expr_t *x) { return x->type; }
uint32_t beck_expr_roots(const beck_expr_t *x) { return x->roots; }
bool beck_expr_is_constant(const beck_expr_t *x) { return x->constant; }
size_t beck_expr_agg_count(const beck_expr_t *x) { return x->naggs; }
const beck_expr_agg_t *beck_expr_agg(const beck_expr_t *x, size_t i) { return i < x->naggs ? &x->aggs[i] : NULL; }
