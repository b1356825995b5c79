/*
 * aggregate.c - the stateful steps whose logic lives in the pipeline:
 *
 * aggregate   a streams aggregator whose stored aggregate is the JSON array
 *             of the reference accumulators of the step's aggregate calls
 *             (streams/expr: beck_agg_state_new/add/merge), one slot per
 *             call in field order: [count, [sum, n], {...distinct}, ...].
 *             The state store and its changelog keep exactly these bytes, so
 *             a restart restores the accumulators. A process node after
 *             to_stream turns each update into the result object: the
 *             step's expression evaluated with the accumulators' results,
 *             the key and the window.
 *
 * dedupe      a streams aggregator over the `by` value whose stored
 *             aggregate is the record it kept and whether the last record
 *             was kept:
 *               be64 kept_ts | u8 emit | be64 ts | be32 klen | key | be32 vlen | value
 *             (klen/vlen 0xffffffff: null). A record within `within` of
 *             kept_ts (either side) is a repeat (emit 0); any other record
 *             is kept and replaces the state (emit 1). The process node
 *             after to_stream emits the kept record as it was read (key,
 *             value, timestamp; headers are not kept). With `by`, a process
 *             node before the re-keying keeps the original key in a header
 *             (beck.dedupe.key) for the aggregator to store.
 *
 * Per record these parse and print the state (jansson): simple and exact,
 * not free. A binary accumulator format is where to go when it shows up in
 * profiles.
 */
#include "connect/pipeline/runtime_int.h"

#include <string.h>

#include "base/alloc.h"

/* ---- aggregate ----------------------------------------------------------------- */

static beck_err_t dump_state(beck_sctx_t *ctx, json_t *state, beck_nstr_t *out) {
  char *s = json_dumps(state, JSON_COMPACT | JSON_ENCODE_ANY);
  if (s == NULL)
    return beck_sctx_fail(ctx, BECK_ERR_NOMEM, "out of memory");
  size_t n = strlen(s);
  *out = beck_sctx_copy(ctx, s, (int32_t)n);
  free(s);
  return out->ptr == NULL ? BECK_ERR_NOMEM : BECK_ERR_OK;
}

static json_t *load_state(const pl_step_rt_t *st, beck_nstr_t agg) {
  if (agg.len <= 0)
    return NULL;
  json_error_t err;
  json_t *j = json_loadb((const char *)agg.ptr, (size_t)agg.len, 0, &err);
  if (j != NULL && (!json_is_array(j) || json_array_size(j) != st->naggs)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

static beck_err_t agg_init(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *out) {
  pl_step_rt_t *st = ud;
  json_t *a = json_array();
  beck_err_t rc = a != NULL ? BECK_ERR_OK : BECK_ERR_NOMEM;
  for (size_t k = 0; k < st->naggs && rc == BECK_ERR_OK; k++)
    if (json_array_append_new(a, beck_agg_state_new(beck_expr_agg(st->step->u.aggregate, k)->kind)) != 0)
      rc = BECK_ERR_NOMEM;
  if (rc == BECK_ERR_OK)
    rc = dump_state(ctx, a, out);
  else
    rc = beck_sctx_fail(ctx, rc, "out of memory");
  json_decref(a);
  return rc;
}

static beck_err_t agg_add(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_nstr_t agg, beck_nstr_t *out) {
  pl_step_rt_t *st = ud;
  json_t *a = load_state(st, agg);
  if (a == NULL)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "%s: the stored aggregate is not this step's (%d bytes)", st->where,
                          (int)agg.len);
  beck_expr_ctx_t ec;
  beck__pl_ctx_init(&ec, ctx, st->c);
  pl_input_t pi;
  beck__pl_input_fill(&pi, r, st->arg_roots, beck_sctx_partition(ctx));
  beck_err_t rc = BECK_ERR_OK;
  for (size_t k = 0; k < st->naggs && rc == BECK_ERR_OK; k++) {
    const beck_expr_agg_t *ag = beck_expr_agg(st->step->u.aggregate, k);
    beck_val_t v = beck_val_null();
    if (ag->arg != NULL) {
      rc = beck_expr_eval(ag->arg, &pi.in, &ec, &v);
      if (rc != BECK_ERR_OK) {
        rc = beck__pl_eval_fail(ctx, st, &ec, rc);
        break;
      }
    }
    json_t *slot = json_incref(json_array_get(a, k));
    beck_error_t e;
    beck_error_clear(&e);
    rc = beck_agg_add(ag->kind, &slot, &v, ag->arg == NULL, &e);
    if (json_array_set_new(a, k, slot) != 0 && rc == BECK_ERR_OK)
      rc = BECK_ERR_NOMEM;
    if (rc != BECK_ERR_OK)
      rc = beck_sctx_fail(ctx, rc, "%s: %s(): %s", st->where, beck_agg_name(ag->kind),
                          e.code != BECK_ERR_OK ? e.msg : beck_strerror(rc));
  }
  if (rc == BECK_ERR_OK)
    rc = dump_state(ctx, a, out);
  beck__pl_input_release(&pi);
  beck_expr_ctx_destroy(&ec);
  json_decref(a);
  atomic_fetch_add_explicit(&st->count, 1, memory_order_relaxed);
  if (st->window != NULL)
    atomic_fetch_add_explicit(&st->window->count, 1, memory_order_relaxed);
  return rc;
}

static beck_err_t agg_merge(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t x, beck_nstr_t y,
                            beck_nstr_t *out) {
  pl_step_rt_t *st = ud;
  json_t *a = load_state(st, x), *b = load_state(st, y);
  beck_err_t rc = a != NULL && b != NULL ? BECK_ERR_OK : BECK_ERR_CORRUPT;
  if (rc != BECK_ERR_OK)
    rc = beck_sctx_fail(ctx, rc, "%s: a stored session aggregate is not this step's", st->where);
  for (size_t k = 0; k < st->naggs && rc == BECK_ERR_OK; k++) {
    const beck_expr_agg_t *ag = beck_expr_agg(st->step->u.aggregate, k);
    json_t *slot = json_incref(json_array_get(a, k));
    beck_error_t e;
    beck_error_clear(&e);
    rc = beck_agg_merge(ag->kind, &slot, json_array_get(b, k), &e);
    if (json_array_set_new(a, k, slot) != 0 && rc == BECK_ERR_OK)
      rc = BECK_ERR_NOMEM;
    if (rc != BECK_ERR_OK)
      rc = beck_sctx_fail(ctx, rc, "%s: merging sessions: %s", st->where,
                          e.code != BECK_ERR_OK ? e.msg : beck_strerror(rc));
  }
  if (rc == BECK_ERR_OK)
    rc = dump_state(ctx, a, out);
  json_decref(a);
  json_decref(b);
  return rc;
}

const beck_aggregator_t beck__pl_expr_aggregator_proto = {.init = agg_init, .add = agg_add, .merge = agg_merge};

beck_err_t beck__pl_agg_result(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in) {
  pl_step_rt_t *st = ud;
  const beck_expr_t *x = st->step->u.aggregate;
  uint32_t roots = beck_expr_roots(x) & (BECK_ROOT_KEY | BECK_ROOT_WINDOW); /* outside the aggregate calls */
  beck_val_t aggs[64];
  beck_val_t *av = st->naggs <= 64 ? aggs : beck_sctx_alloc(ctx, st->naggs * sizeof *av);
  if (av == NULL)
    return BECK_ERR_NOMEM;
  beck_expr_ctx_t ec;
  beck__pl_ctx_init(&ec, ctx, st->c);
  beck_buf_t buf = {0};
  beck_err_t rc = BECK_ERR_OK;
  for (size_t i = 0; i < in->n && rc == BECK_ERR_OK; i++) {
    beck_srec_t r = in->recs[i];
    if (r.value.len < 0)
      continue; /* a superseded session: results are not retracted */
    json_t *state = load_state(st, r.value);
    if (state == NULL) {
      rc = beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "%s: the stored aggregate is not this step's", st->where);
      break;
    }
    for (size_t k = 0; k < st->naggs; k++)
      av[k] = beck_agg_result(beck_expr_agg(x, k)->kind, json_array_get(state, k));
    pl_input_t pi;
    beck__pl_input_fill(&pi, &r, roots, beck_sctx_partition(ctx));
    pi.in.aggs = av;
    pi.in.naggs = st->naggs;
    beck_val_t v;
    rc = beck_expr_eval(x, &pi.in, &ec, &v);
    if (rc != BECK_ERR_OK) {
      rc = beck__pl_eval_fail(ctx, st, &ec, rc);
    } else {
      beck_buf_reset(&buf);
      rc = beck__pl_write_val(&v, &buf);
      if (rc == BECK_ERR_OK)
        rc = beck__pl_to_nstr(ctx, &buf, &r.value);
      if (rc == BECK_ERR_OK)
        rc = beck_sctx_emit(ctx, &r);
    }
    beck__pl_input_release(&pi);
    json_decref(state);
    beck_expr_ctx_reset(&ec);
  }
  beck_buf_free(&buf);
  beck_expr_ctx_destroy(&ec);
  return rc;
}

/* ---- dedupe ------------------------------------------------------------------- */

#define DD_HEAD (8 + 1 + 8)
#define DD_KEY_HEADER "beck.dedupe.key"

beck_err_t beck__pl_dedupe_by(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  pl_step_rt_t *st = ud;
  const beck_expr_t *by = st->step->u.dedupe.by;
  beck_expr_ctx_t ec;
  beck__pl_ctx_init(&ec, ctx, st->c);
  pl_input_t pi;
  beck__pl_input_fill(&pi, in, beck_expr_roots(by), beck_sctx_partition(ctx));
  beck_val_t v;
  beck_err_t rc = beck_expr_eval(by, &pi.in, &ec, &v);
  if (rc != BECK_ERR_OK) {
    rc = beck__pl_eval_fail(ctx, st, &ec, rc);
  } else if (v.kind == BECK_VAL_NULL) {
    *out = beck_nstr_null();
  } else {
    beck_buf_t buf = {0};
    rc = beck__pl_write_val(&v, &buf);
    if (rc == BECK_ERR_OK)
      rc = beck__pl_to_nstr(ctx, &buf, out);
    beck_buf_free(&buf);
  }
  beck__pl_input_release(&pi);
  beck_expr_ctx_destroy(&ec);
  return rc;
}

beck_err_t beck__pl_dedupe_stash(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in) {
  for (size_t i = 0; i < in->n; i++) {
    beck_srec_t r = in->recs[i];
    size_t n = (size_t)(r.nheaders > 0 ? r.nheaders : 0);
    beck_record_header_t *h = beck_sctx_alloc(ctx, (n + 1) * sizeof *h);
    if (h == NULL)
      return BECK_ERR_NOMEM;
    if (n)
      memcpy(h, r.headers, n * sizeof *h);
    h[n].key = beck_slice_cstr(DD_KEY_HEADER);
    h[n].value = r.key;
    r.headers = h;
    r.nheaders = (int32_t)n + 1;
    beck_err_t rc = beck_sctx_emit(ctx, &r);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return BECK_ERR_OK;
}

/* The key the record had before dedupe re-keyed it by `by`. */
static beck_nstr_t original_key(const beck_srec_t *r) {
  size_t nl = strlen(DD_KEY_HEADER);
  for (int32_t k = r->nheaders - 1; k >= 0; k--)
    if (r->headers[k].key.len == nl && memcmp(r->headers[k].key.ptr, DD_KEY_HEADER, nl) == 0)
      return r->headers[k].value;
  return r->key;
}

beck_err_t beck__pl_dedupe_init(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *out) {
  *out = beck_nstr("", 0); /* nothing kept yet */
  return BECK_ERR_OK;
}

beck_err_t beck__pl_dedupe_add(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_nstr_t agg, beck_nstr_t *out) {
  pl_step_rt_t *st = ud;
  atomic_fetch_add_explicit(&st->count, 1, memory_order_relaxed);
  int64_t within = st->step->u.dedupe.within_ms;
  if (agg.len >= DD_HEAD) {
    int64_t kept = (int64_t)beck_load_be64(agg.ptr);
    int64_t d = r->timestamp > kept ? r->timestamp - kept : kept - r->timestamp;
    if (d < within) {
      /* a repeat: same state, emit off */
      uint8_t *p = beck_sctx_alloc(ctx, (size_t)agg.len);
      if (p == NULL)
        return BECK_ERR_NOMEM;
      memcpy(p, agg.ptr, (size_t)agg.len);
      p[8] = 0;
      *out = beck_nstr(p, agg.len);
      return BECK_ERR_OK;
    }
  }
  beck_nstr_t key = original_key(r);
  size_t kl = key.len > 0 ? (size_t)key.len : 0, vl = r->value.len > 0 ? (size_t)r->value.len : 0;
  size_t n = DD_HEAD + 4 + kl + 4 + vl;
  if (n > INT32_MAX)
    return beck_sctx_fail(ctx, BECK_ERR_TOOBIG, "%s: record too large to keep", st->where);
  uint8_t *p = beck_sctx_alloc(ctx, n);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  beck_store_be64(p, (uint64_t)r->timestamp);
  p[8] = 1;
  beck_store_be64(p + 9, (uint64_t)r->timestamp);
  beck_store_be32(p + DD_HEAD, key.len < 0 ? 0xffffffffu : (uint32_t)kl);
  if (kl)
    memcpy(p + DD_HEAD + 4, key.ptr, kl);
  beck_store_be32(p + DD_HEAD + 4 + kl, r->value.len < 0 ? 0xffffffffu : (uint32_t)vl);
  if (vl)
    memcpy(p + DD_HEAD + 8 + kl, r->value.ptr, vl);
  *out = beck_nstr(p, (int32_t)n);
  return BECK_ERR_OK;
}

beck_err_t beck__pl_dedupe_emit(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in) {
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *u = &in->recs[i];
    if (u->value.len < DD_HEAD + 8 || u->value.ptr[8] != 1)
      continue;
    const uint8_t *p = u->value.ptr;
    size_t n = (size_t)u->value.len;
    beck_srec_t r = *u;
    r.timestamp = (int64_t)beck_load_be64(p + 9);
    r.headers = NULL;
    r.nheaders = 0;
    r.windowed = false;
    size_t off = DD_HEAD;
    uint32_t kl = beck_load_be32(p + off);
    off += 4;
    if (kl == 0xffffffffu) {
      r.key = beck_nstr_null();
    } else {
      if (off + kl + 4 > n)
        continue;
      r.key = beck_nstr(p + off, (int32_t)kl);
      off += kl;
    }
    uint32_t vl = beck_load_be32(p + off);
    off += 4;
    if (vl == 0xffffffffu) {
      r.value = beck_nstr_null();
    } else {
      if (off + vl > n)
        continue;
      r.value = beck_nstr(p + off, (int32_t)vl);
    }
    beck_err_t rc = beck_sctx_emit(ctx, &r);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return BECK_ERR_OK;
}
