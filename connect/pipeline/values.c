/*
 * values.c - record bytes <-> expression values, the one place that decides
 * how a pipeline reads and writes keys and values (runtime.h states the
 * rules). Decoding is lazy: only the roots an expression reads are decoded,
 * so a filter on `key` never parses values and records no step reads are
 * never parsed at all.
 */
#include "connect/pipeline/runtime_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "record/batch.h"

_Static_assert(sizeof(beck_expr_header_t) == sizeof(beck_record_header_t) &&
                   offsetof(beck_expr_header_t, value) == offsetof(beck_record_header_t, value),
               "expression headers are record headers");

static size_t skip_space(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
    i++;
  return i;
}

static json_t *parse_json(beck_nstr_t b) {
  json_error_t err;
  return json_loadb((const char *)b.ptr, (size_t)b.len, JSON_DECODE_ANY, &err);
}

beck_val_t beck__pl_decode_value(beck_nstr_t b, json_t **owned) {
  *owned = NULL;
  if (b.len < 0)
    return beck_val_null();
  size_t i = skip_space(b.ptr, (size_t)b.len);
  if (i < (size_t)b.len && strchr("{[\"-0123456789tfn", b.ptr[i]) != NULL) {
    json_t *j = parse_json(b);
    if (j != NULL) {
      *owned = j;
      return beck_val_from_json(j);
    }
  }
  return beck_val_str((const char *)b.ptr, (size_t)b.len);
}

beck_val_t beck__pl_decode_key(beck_nstr_t b, json_t **owned) {
  *owned = NULL;
  if (b.len < 0)
    return beck_val_null();
  if (b.len > 0 && (b.ptr[0] == '{' || b.ptr[0] == '[' || b.ptr[0] == '"')) {
    json_t *j = parse_json(b);
    if (j != NULL) {
      *owned = j;
      return beck_val_from_json(j);
    }
  }
  return beck_val_str((const char *)b.ptr, (size_t)b.len);
}

beck_err_t beck__pl_write_val(const beck_val_t *v, beck_buf_t *out) { return beck_val_write_text(v, out); }

static bool header_ms(const beck_srec_t *r, const char *name, int64_t *out) {
  size_t nl = strlen(name);
  for (int32_t i = r->nheaders - 1; i >= 0; i--) {
    const beck_record_header_t *h = &r->headers[i];
    if (h->key.len != nl || memcmp(h->key.ptr, name, nl) != 0 || h->value.len <= 0 || h->value.len > 24)
      continue;
    char buf[32];
    memcpy(buf, h->value.ptr, (size_t)h->value.len);
    buf[h->value.len] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (*end != '\0')
      return false;
    *out = v;
    return true;
  }
  return false;
}

bool beck__pl_record_window(const beck_srec_t *r, int64_t *start, int64_t *end) {
  if (r->windowed) {
    *start = r->window_start;
    *end = r->window_end;
    return true;
  }
  return r->nheaders > 0 && header_ms(r, BECK_PIPELINE_WINDOW_START_HEADER, start) &&
         header_ms(r, BECK_PIPELINE_WINDOW_END_HEADER, end);
}

void beck__pl_input_fill(pl_input_t *pi, const beck_srec_t *r, uint32_t roots, int32_t partition) {
  memset(pi, 0, sizeof *pi);
  beck_expr_input_t *in = &pi->in;
  if (roots & BECK_ROOT_VALUE)
    in->value = beck__pl_decode_value(r->value, &pi->vown);
  if (roots & BECK_ROOT_KEY)
    in->key = beck__pl_decode_key(r->key, &pi->kown);
  in->timestamp = r->timestamp;
  in->partition = partition;
  in->offset = -1;
  in->headers = (const beck_expr_header_t *)(const void *)r->headers;
  in->nheaders = r->nheaders > 0 ? (size_t)r->nheaders : 0;
  if (roots & BECK_ROOT_WINDOW)
    in->windowed = beck__pl_record_window(r, &in->window_start, &in->window_end);
}

void beck__pl_input_release(pl_input_t *pi) {
  json_decref(pi->vown);
  json_decref(pi->kown);
  pi->vown = pi->kown = NULL;
}

static void *sctx_alloc(void *ud, size_t n) { return beck_sctx_alloc(ud, n); }

static int64_t compiled_clock(void *ud) {
  const beck_pipeline_compiled_t *c = ud;
  return c->clock(c->clock_ud);
}

void beck__pl_ctx_init(beck_expr_ctx_t *ec, beck_sctx_t *ctx, const beck_pipeline_compiled_t *c) {
  beck_expr_ctx_init(ec);
  if (ctx != NULL) {
    ec->alloc = sctx_alloc;
    ec->alloc_ud = ctx;
  }
  if (c != NULL && c->clock != NULL) {
    ec->clock = compiled_clock;
    ec->clock_ud = (void *)c;
  }
}

beck_err_t beck__pl_to_nstr(beck_sctx_t *ctx, const beck_buf_t *buf, beck_nstr_t *out) {
  if (buf->len > INT32_MAX)
    return beck_sctx_fail(ctx, BECK_ERR_TOOBIG, "a value of %zu bytes is too large for a record", buf->len);
  *out = beck_sctx_copy(ctx, buf->len ? buf->data : (const void *)"", (int32_t)buf->len);
  return out->ptr == NULL ? BECK_ERR_NOMEM : BECK_ERR_OK;
}

beck_err_t beck__pl_eval_fail(beck_sctx_t *ctx, const pl_step_rt_t *st, const beck_expr_ctx_t *ec, beck_err_t rc) {
  if (rc == BECK_ERR_NOMEM)
    return beck_sctx_fail(ctx, rc, "%s: out of memory", st->where);
  return beck_sctx_fail(ctx, rc, "%s: %s", st->where, ec->err.msg);
}
