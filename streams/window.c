/*
 * window.c - the windowed aggregation operator: what all window kinds share
 * (store keys, the close-time index, closing and final emission, late
 * records, the persisted observed time). The lifecycle diagram and the
 * close-time table are in window_int.h; per-kind folding is in
 * window_time.c (tumbling, hopping), window_sliding.c and window_session.c.
 *
 * Invariants:
 *   - every 'W' and 'R' entry of the store has exactly one index entry, at
 *     its close_at / expiry;
 *   - after beck__wadvance(w, t) returns, no entry with close_at <= observed
 *     is left, so record handlers only ever see open windows;
 *   - observed only grows; it is written to the store ('M') at flush, so a
 *     restarted task closes and drops exactly as the first one would have.
 */
#include "window_int.h"

#include <string.h>

#include "base/alloc.h"

/* ---- keys ----------------------------------------------------------------- */

static inline void put_be64s(uint8_t *p, int64_t v) { beck_store_be64(p, (uint64_t)v ^ 0x8000000000000000ull); }
static inline int64_t get_be64s(const uint8_t *p) { return (int64_t)(beck_load_be64(p) ^ 0x8000000000000000ull); }

uint8_t *beck__wkey_make(beck__wop_t *w, uint8_t tag, beck_nstr_t key, int64_t a, int64_t b, bool past, size_t *len) {
  size_t kl = key.len > 0 ? (size_t)key.len : 0;
  size_t n = 1 + 4 + kl + 16 + (past ? 1 : 0);
  uint8_t *p = beck_arena_alloc(beck__arena(w->n), n);
  if (p == NULL)
    return NULL;
  p[0] = tag;
  beck_store_be32(p + 1, (uint32_t)kl);
  if (kl)
    memcpy(p + 5, key.ptr, kl);
  put_be64s(p + 5 + kl, a);
  put_be64s(p + 13 + kl, b);
  if (past)
    p[n - 1] = 0;
  *len = n;
  return p;
}

bool beck__wkey_parse(const uint8_t *p, size_t len, beck__wkey_t *out) {
  if (len < 21)
    return false;
  uint32_t kl = beck_load_be32(p + 1);
  if ((size_t)kl + 21 != len)
    return false;
  out->tag = p[0];
  out->key = beck_nstr(p + 5, (int32_t)kl);
  out->a = get_be64s(p + 5 + kl);
  out->b = get_be64s(p + 13 + kl);
  return true;
}

/* ---- close times and the index --------------------------------------------- */

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

int64_t beck__wclose_at(const beck_window_spec_t *spec, int64_t start, int64_t end) {
  switch (spec->kind) {
  case BECK_WINDOW_TUMBLING:
  case BECK_WINDOW_HOPPING:
    return sat_add(end, spec->grace_ms);
  case BECK_WINDOW_SLIDING:
    return sat_add(sat_add(end, spec->grace_ms), 1);
  case BECK_WINDOW_SESSION:
    return sat_add(sat_add(sat_add(end, spec->gap_ms), spec->grace_ms), 1);
  }
  return INT64_MAX;
}

int64_t beck__wrecord_expiry(const beck_window_spec_t *spec, int64_t ts) {
  return sat_add(sat_add(sat_add(ts, spec->size_ms), sat_add(spec->size_ms, spec->grace_ms)), 1);
}

static uint8_t *idx_key(beck__wop_t *w, int64_t close_at, const uint8_t *k, size_t kl, size_t *len) {
  uint8_t *p = beck_arena_alloc(beck__arena(w->n), kl + 8);
  if (p == NULL)
    return NULL;
  put_be64s(p, close_at);
  memcpy(p + 8, k, kl);
  *len = kl + 8;
  return p;
}

beck_err_t beck__widx_add(beck__wop_t *w, int64_t close_at, const uint8_t *k, size_t kl) {
  size_t n;
  uint8_t *p = idx_key(w, close_at, k, kl, &n);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  return beck__sl_put(w->idx, p, n, NULL, 0, 0);
}

void beck__widx_del(beck__wop_t *w, int64_t close_at, const uint8_t *k, size_t kl) {
  size_t n;
  uint8_t *p = idx_key(w, close_at, k, kl, &n);
  if (p != NULL)
    beck__sl_del(w->idx, p, n);
}

/* ---- store helpers ---------------------------------------------------------- */

beck_err_t beck__wput(beck__wop_t *w, beck_nstr_t key, int64_t start, int64_t end, beck_nstr_t state, int64_t ts,
                      bool is_new, beck_error_t *e) {
  size_t kl;
  uint8_t *k = beck__wkey_make(w, BECK__WTAG_WINDOW, key, start, end, false, &kl);
  if (k == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  beck_err_t rc = beck__store_put(w->n->store, k, kl, state.ptr, state.len > 0 ? (size_t)state.len : 0, ts, e);
  if (rc == BECK_ERR_OK && is_new && beck__widx_add(w, beck__wclose_at(w->spec, start, end), k, kl) != BECK_ERR_OK)
    rc = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  return rc;
}

beck_err_t beck__wdel(beck__wop_t *w, beck_nstr_t key, int64_t start, int64_t end, int64_t ts, beck_error_t *e) {
  size_t kl;
  uint8_t *k = beck__wkey_make(w, BECK__WTAG_WINDOW, key, start, end, false, &kl);
  if (k == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  beck__widx_del(w, beck__wclose_at(w->spec, start, end), k, kl);
  return beck__store_del(w->n->store, k, kl, ts, e);
}

int beck__wemit(beck__wop_t *w, beck_nstr_t key, int64_t start, int64_t end, beck_nstr_t state, int64_t ts) {
  beck_srec_t o = {.key = key, .timestamp = ts, .windowed = true, .window_start = start, .window_end = end};
  o.value = beck_nstr_null();
  if (state.len >= 0) {
    int rc = beck__agg_result(&w->n->def->agg, &w->ctx, state, &o.value);
    if (rc < 0)
      return rc;
  }
  if (beck__ob_push(w->out, &o) != BECK_ERR_OK) {
    w->ctx.nomem = BECK_ERR_NOMEM;
    return BECK_ERR_NOMEM;
  }
  return 0;
}

/* ---- closing ---------------------------------------------------------------- */

#define WOUT_CHUNK 4096

beck_err_t beck__wout_flush(beck__wop_t *w, beck_error_t *e) {
  if (w->out == NULL || w->out->n < WOUT_CHUNK)
    return BECK_ERR_OK;
  beck_sbatch_t b = beck__ob_view(w->out);
  beck_err_t rc = beck__forward(w->n, &b, e);
  if (rc != BECK_ERR_OK) {
    w->cb_error = true; /* a child's error, with its context */
    return rc;
  }
  if (w->reset_ok) { /* nothing else of this advance lives in the arena */
    beck_arena_reset(beck__arena(w->n));
    beck__ob_init(w->out, beck__arena(w->n));
  } else {
    w->out->n = 0;
  }
  return BECK_ERR_OK;
}

beck_err_t beck__wadvance(beck__wop_t *w, int64_t t, beck_error_t *e) {
  if (t > w->observed) {
    w->observed = t;
    w->meta_dirty = true;
  }
  if (w->hop != NULL)
    return beck__whop_close_due(w, e);
  beck_arena_t *a = beck__arena(w->n);
  for (;;) {
    beck__sl_node_t *x = beck__sl_seek(w->idx, NULL, 0);
    if (x == NULL || x->klen < 8 || get_be64s(beck__sl_key(x)) > w->observed)
      return BECK_ERR_OK;
    /* Copy the store key out of the index node before deleting the node. */
    size_t kl = x->klen - 8;
    uint8_t *k = beck_arena_memdup(a, beck__sl_key(x) + 8, kl);
    if (k == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    beck__sl_del(w->idx, beck__sl_key(x), x->klen);
    beck__wkey_t wk;
    if (!beck__wkey_parse(k, kl, &wk))
      return beck_error_set(e, BECK_ERR_CORRUPT, "malformed window index entry");
    beck_slice_t v;
    int64_t ts = 0;
    int found = beck__store_get(w->n->store, k, kl, &v, &ts, e);
    if (found < 0)
      return e->code;
    if (!found)
      continue;
    if (wk.tag == BECK__WTAG_WINDOW && w->spec->emit == BECK_EMIT_FINAL) {
      uint8_t *sv = beck_arena_memdup(a, v.ptr, v.len ? v.len : 1);
      if (sv == NULL)
        return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
      int rc = beck__wemit(w, wk.key, wk.a, wk.b, beck_nstr(sv, (int32_t)v.len), ts);
      if (rc < 0 || w->ctx.nomem) {
        beck_err_t erc = beck__wcb(w, rc < 0 ? rc : 0, e);
        if (erc != BECK_ERR_OK)
          return erc;
      }
    }
    beck_err_t rc = beck__store_del(w->n->store, k, kl, ts, e);
    if (rc != BECK_ERR_OK)
      return rc;
  }
}

beck_err_t beck__wlate(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e) {
  w->n->m_late++;
  if (w->late_sink != NULL && beck__ob_push(&w->late, r) != BECK_ERR_OK)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  return BECK_ERR_OK;
}

/* ---- the operator ------------------------------------------------------------- */

static const uint8_t meta_key[] = {BECK__WTAG_META, 'm', 'e', 't', 'a'};

typedef struct rebuild {
  beck__wop_t *w;
  beck_err_t rc;
} rebuild_t;

static int rebuild_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts) {
  rebuild_t *rb = arg;
  beck__wkey_t wk;
  if (!beck__wkey_parse(k, kl, &wk))
    return 0;
  int64_t at = wk.tag == BECK__WTAG_WINDOW   ? beck__wclose_at(rb->w->spec, wk.a, wk.b)
               : wk.tag == BECK__WTAG_RECORD ? beck__wrecord_expiry(rb->w->spec, wk.a)
                                             : INT64_MAX;
  if (at == INT64_MAX)
    return 0;
  rb->rc = beck__widx_add(rb->w, at, k, kl);
  return rb->rc == BECK_ERR_OK ? 0 : -1;
}

static beck_err_t wop_open(beck__nrt_t *n, beck_error_t *e) {
  beck__wop_t *w = beck_calloc(1, sizeof *w);
  if (w == NULL || (w->idx = beck__sl_new()) == NULL) {
    beck_free(w);
    return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", n->def->name);
  }
  n->state = w;
  w->n = n;
  w->spec = &n->def->win;
  w->observed = INT64_MIN;
  if (n->def->late_sink != NULL)
    w->late_sink = beck__task_node(n->task, n->def->late_sink);
  beck_slice_t v;
  int64_t ts;
  int found = beck__store_get(n->store, meta_key, sizeof meta_key, &v, &ts, e);
  if (found < 0)
    return beck_error_wrap(e, "node '%s'", n->def->name);
  if (found && v.len == 16) {
    w->observed = get_be64s(v.ptr);
    w->seq = (int64_t)beck_load_be64(v.ptr + 8);
  }
  /* Rebuild the index: every 'R' and 'W' entry. */
  rebuild_t rb = {w, BECK_ERR_OK};
  const uint8_t lo[] = {BECK__WTAG_RECORD}, hi[] = {BECK__WTAG_WINDOW + 1};
  beck_err_t rc = beck__store_scan(n->store, lo, 1, hi, 1, rebuild_one, &rb, e);
  if (rc == BECK_ERR_OK && rb.rc == BECK_ERR_OK && beck__whop_applies(n->def))
    rc = beck__whop_open(w, e);
  beck_arena_reset(beck__arena(n));
  if (rc != BECK_ERR_OK || rb.rc != BECK_ERR_OK)
    return rb.rc != BECK_ERR_OK ? beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", n->def->name)
                                : beck_error_wrap(e, "node '%s'", n->def->name);
  return BECK_ERR_OK;
}

static beck_err_t flush_late(beck__wop_t *w, beck_error_t *e) {
  if (w->late_sink == NULL || w->late.n == 0)
    return BECK_ERR_OK;
  beck_sbatch_t b = beck__ob_view(&w->late);
  return w->late_sink->vt->process(w->late_sink, 0, &b, e);
}

static beck_err_t wop_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  beck__wop_t *w = n->state;
  beck__obatch_t out;
  beck__ob_init(&out, beck__arena(n));
  beck__ob_init(&w->late, beck__arena(n));
  w->out = &out;
  w->cb_error = false;
  beck__sctx_init(&w->ctx, n, NULL, e);
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *r = &in->recs[i];
    beck_err_t rc = beck__wadvance(w, r->timestamp, e);
    if (rc != BECK_ERR_OK)
      return w->cb_error ? rc : beck_error_wrap(e, "node '%s'", n->def->name);
    if (r->key.len < 0 || r->value.len < 0) {
      n->m_skipped++;
      continue;
    }
    switch (w->spec->kind) {
    case BECK_WINDOW_SLIDING:
      rc = beck__window_sliding_record(w, r, e);
      break;
    case BECK_WINDOW_SESSION:
      rc = beck__window_session_record(w, r, e);
      break;
    case BECK_WINDOW_HOPPING:
      rc = w->hop != NULL ? beck__whop_record(w, r, e) : beck__window_time_record(w, r, e);
      break;
    default:
      rc = beck__window_time_record(w, r, e);
      break;
    }
    if (rc != BECK_ERR_OK)
      return w->cb_error ? rc : beck_error_wrap(e, "node '%s'", n->def->name);
  }
  w->out = NULL;
  beck_err_t rc = flush_late(w, e);
  if (rc != BECK_ERR_OK)
    return rc;
  beck_sbatch_t b = beck__ob_view(&out);
  return beck__forward(n, &b, e);
}

static beck_err_t wop_advance(beck__nrt_t *n, int64_t wm, beck_error_t *e) {
  beck__wop_t *w = n->state;
  beck__obatch_t out;
  beck__ob_init(&out, beck__arena(n));
  w->out = &out;
  beck__sctx_init(&w->ctx, n, NULL, e);
  w->cb_error = false;
  w->reset_ok = true;
  beck_err_t rc = beck__wadvance(w, wm, e);
  w->reset_ok = false;
  w->out = NULL;
  if (rc != BECK_ERR_OK)
    return w->cb_error ? rc : beck_error_wrap(e, "node '%s'", n->def->name);
  beck_sbatch_t b = beck__ob_view(&out);
  return beck__forward(n, &b, e);
}

static beck_err_t wop_flush(beck__nrt_t *n, beck_error_t *e) {
  beck__wop_t *w = n->state;
  if (!w->meta_dirty)
    return BECK_ERR_OK;
  uint8_t v[16];
  put_be64s(v, w->observed);
  beck_store_be64(v + 8, (uint64_t)w->seq);
  beck_err_t rc = beck__store_put(n->store, meta_key, sizeof meta_key, v, sizeof v, w->observed, e);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "node '%s'", n->def->name);
  w->meta_dirty = false;
  return BECK_ERR_OK;
}

static void wop_close(beck__nrt_t *n) {
  beck__wop_t *w = n->state;
  if (w == NULL)
    return;
  beck__whop_free(w->hop);
  beck__sl_free(w->idx);
  beck_free(w);
  n->state = NULL;
}

const beck__op_vt_t beck__op_window_aggregate_vt = {
    .open = wop_open, .process = wop_process, .advance = wop_advance, .flush = wop_flush, .close = wop_close};
