/*
 * batch.c - output batches, the callback context (beck_sctx_*), forwarding
 * and the per-record error policy.
 *
 * Invariants: every byte an output batch points to lives in the task arena,
 * in the input it was derived from, or in static/user memory; none of it is
 * freed before the task's current input batch is done. A batch's record
 * array grows by doubling inside the arena (the old array is abandoned to
 * the arena; arenas are reset per input batch, so this costs no malloc).
 */
#include "streams_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void beck__ob_init(beck__obatch_t *ob, beck_arena_t *arena) {
  ob->recs = NULL;
  ob->n = ob->cap = 0;
  ob->arena = arena;
}

beck_err_t beck__ob_push(beck__obatch_t *ob, const beck_srec_t *r) {
  if (ob->n == ob->cap) {
    size_t nc = ob->cap ? ob->cap * 2 : 64;
    beck_srec_t *a = beck_arena_alloc(ob->arena, nc * sizeof *a);
    if (a == NULL)
      return BECK_ERR_NOMEM;
    if (ob->n)
      memcpy(a, ob->recs, ob->n * sizeof *a);
    ob->recs = a;
    ob->cap = nc;
  }
  ob->recs[ob->n++] = *r;
  return BECK_ERR_OK;
}

static beck_nstr_t nstr_copy(beck_arena_t *a, beck_nstr_t s, bool *oom) {
  if (s.len <= 0 || s.ptr == NULL)
    return s.len < 0 ? beck_nstr_null() : beck_nstr("", 0);
  void *p = beck_arena_memdup(a, s.ptr, (size_t)s.len);
  if (p == NULL) {
    *oom = true;
    return beck_nstr_null();
  }
  return beck_nstr(p, s.len);
}

beck_err_t beck__rec_copy(beck_arena_t *a, const beck_srec_t *in, beck_srec_t *out) {
  bool oom = false;
  *out = *in;
  out->key = nstr_copy(a, in->key, &oom);
  out->value = nstr_copy(a, in->value, &oom);
  out->headers = NULL;
  out->nheaders = 0;
  if (in->nheaders > 0 && in->headers != NULL) {
    beck_record_header_t *h = beck_arena_alloc(a, (size_t)in->nheaders * sizeof *h);
    if (h == NULL)
      return BECK_ERR_NOMEM;
    for (int32_t i = 0; i < in->nheaders; i++) {
      beck_nstr_t k = nstr_copy(a, beck_nstr(in->headers[i].key.ptr, (int32_t)in->headers[i].key.len), &oom);
      h[i].key = beck_slice(k.ptr, k.len > 0 ? (size_t)k.len : 0);
      h[i].value = nstr_copy(a, in->headers[i].value, &oom);
    }
    out->headers = h;
    out->nheaders = in->nheaders;
  }
  return oom ? BECK_ERR_NOMEM : BECK_ERR_OK;
}

/* ---- beck_sctx_* -------------------------------------------------------- */

void beck__sctx_init(beck_sctx_t *ctx, beck__nrt_t *n, beck__obatch_t *out, beck_error_t *e) {
  ctx->task = n->task;
  ctx->node = n;
  ctx->out = out;
  ctx->e = e;
  ctx->failed = false;
  ctx->nomem = BECK_ERR_OK;
}

void *beck_sctx_alloc(beck_sctx_t *ctx, size_t n) {
  void *p = beck_arena_alloc(&ctx->task->arena, n);
  if (p == NULL)
    ctx->nomem = BECK_ERR_NOMEM;
  return p;
}

beck_nstr_t beck_sctx_copy(beck_sctx_t *ctx, const void *p, int32_t len) {
  if (len < 0 || (p == NULL && len > 0))
    return beck_nstr_null();
  if (len == 0)
    return beck_nstr("", 0);
  void *d = beck_arena_memdup(&ctx->task->arena, p, (size_t)len);
  if (d == NULL) {
    ctx->nomem = BECK_ERR_NOMEM;
    return beck_nstr_null();
  }
  return beck_nstr(d, len);
}

beck_err_t beck_sctx_emit(beck_sctx_t *ctx, const beck_srec_t *r) {
  if (ctx->out == NULL)
    return beck_sctx_fail(ctx, BECK_ERR_STATE, "beck_sctx_emit: this operator cannot emit");
  beck_err_t rc = beck__ob_push(ctx->out, r);
  if (rc != BECK_ERR_OK)
    ctx->nomem = rc;
  return rc;
}

int64_t beck_sctx_stream_time(const beck_sctx_t *ctx) { return ctx->task->stream_time; }

int32_t beck_sctx_partition(const beck_sctx_t *ctx) { return ctx->task->partition; }

const char *beck_sctx_node(const beck_sctx_t *ctx) { return ctx->node->def->name; }

beck_err_t beck_sctx_fail(beck_sctx_t *ctx, beck_err_t code, const char *fmt, ...) {
  if (code >= 0)
    code = BECK_ERR_INVAL;
  if (ctx->e != NULL) {
    va_list ap;
    va_start(ap, fmt);
    ctx->e->code = code;
    vsnprintf(ctx->e->msg, sizeof ctx->e->msg, fmt, ap);
    va_end(ap);
  }
  ctx->failed = true;
  return code;
}

/* ---- errors and forwarding ------------------------------------------------ */

beck_err_t beck__callback_error(beck__nrt_t *n, beck_sctx_t *ctx, int rc, beck_error_t *e) {
  if (ctx->nomem != BECK_ERR_OK)
    return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", n->def->name);
  if (rc >= 0)
    return BECK_ERR_OK;
  if (!ctx->failed)
    beck_error_set(e, (beck_err_t)rc, "callback failed: %s", beck_strerror(rc));
  if (n->task->topo->on_error == BECK_ON_ERROR_SKIP) {
    n->m_skipped++;
    beck_log_limited(&n->skip_log, 10, 10000, "streams", BECK_LOG_WARN, "task %s node '%s': record skipped: %s",
                     n->task->id, n->def->name, e->msg);
    beck_error_clear(e);
    ctx->failed = false;
    return BECK_ERR_OK;
  }
  return beck_error_wrap(e, "node '%s'", n->def->name);
}

beck_err_t beck__forward(beck__nrt_t *n, const beck_sbatch_t *b, beck_error_t *e) {
  if (b->n == 0)
    return BECK_ERR_OK;
  for (int i = 0; i < n->nchildren; i++) {
    beck__nrt_t *c = n->children[i];
    beck_err_t rc = c->vt->process(c, n->child_port[i], b, e);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return BECK_ERR_OK;
}

beck_arena_t *beck__arena(beck__nrt_t *n) { return &n->task->arena; }
