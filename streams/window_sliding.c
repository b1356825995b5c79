/*
 * window_sliding.c - sliding windows (Kafka's SlidingWindows, KIP-450):
 * windows of fixed size diff, inclusive at both ends, that exist only where
 * records make them distinct: for each record at t
 *
 *   its left window   [t - diff, t]          always (it holds the record)
 *   its right window  [t + 1, t + 1 + diff]  when some record falls in it
 *
 * A window's aggregate is the fold of exactly the records inside it. The
 * operator keeps the records themselves ('R' entries) for as long as a new
 * window could still need them (until ts + 2*diff + grace), so a window
 * created late (by an out-of-order record) is folded from its true content
 * rather than derived from neighbours: exact for any aggregation, no
 * subtraction needed.
 *
 * A record at t, when not late (late: t + diff + grace < observed, every
 * window that could hold it is closed):
 *   1. is stored as an 'R' entry;
 *   2. is added to every existing window that contains it;
 *   3. creates its left window if missing and still open;
 *   4. creates its right window if missing and some record is in it;
 *   5. creates the right window of the latest earlier record p when t now
 *      falls in it and it did not exist (it was empty).
 * With EMIT_ON_UPDATE every window touched or created is emitted, in order
 * of window start.
 */
#include "window_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct item {
  int64_t a, b, ts; /* window start/end, or record ts/seq */
  beck_nstr_t v;
} item_t;

typedef struct scan {
  beck__wop_t *w;
  item_t *v;
  int n, cap;
  bool oom;
} scan_t;

static int collect(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts) {
  scan_t *sc = arg;
  beck__wkey_t wk;
  if (!beck__wkey_parse(k, kl, &wk))
    return 0;
  beck_arena_t *a = beck__arena(sc->w->n);
  if (sc->n == sc->cap) {
    int nc = sc->cap ? sc->cap * 2 : 16;
    item_t *nv = beck_arena_alloc(a, (size_t)nc * sizeof *nv);
    if (nv == NULL)
      goto oom;
    if (sc->n)
      memcpy(nv, sc->v, (size_t)sc->n * sizeof *nv);
    sc->v = nv;
    sc->cap = nc;
  }
  uint8_t *sv = beck_arena_memdup(a, v, vl ? vl : 1);
  if (sv == NULL)
    goto oom;
  sc->v[sc->n++] = (item_t){wk.a, wk.b, ts, beck_nstr(sv, (int32_t)vl)};
  return 0;
oom:
  sc->oom = true;
  return -1;
}

/* Entries of `tag` for key with a in [a_lo, a_hi], in key order. */
static beck_err_t scan_range(beck__wop_t *w, uint8_t tag, beck_nstr_t key, int64_t a_lo, int64_t a_hi, scan_t *sc,
                             beck_error_t *e) {
  memset(sc, 0, sizeof *sc);
  sc->w = w;
  size_t lol, hil;
  uint8_t *lo = beck__wkey_make(w, tag, key, a_lo, INT64_MIN, false, &lol);
  uint8_t *hi = beck__wkey_make(w, tag, key, a_hi, INT64_MAX, true, &hil);
  if (lo == NULL || hi == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  beck_err_t rc = beck__store_scan(w->n->store, lo, lol, hi, hil, collect, sc, e);
  if (sc->oom)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  return rc;
}

/* Folds the records of key with ts in [lo, hi] into *state (null when there
 * are none); *ts = their largest timestamp. Returns a callback code. */
static int fold(beck__wop_t *w, const beck_srec_t *r, int64_t lo, int64_t hi, beck_nstr_t *state, int64_t *ts,
                beck_error_t *e, beck_err_t *err) {
  scan_t sc;
  *err = scan_range(w, BECK__WTAG_RECORD, r->key, lo, hi, &sc, e);
  *state = beck_nstr_null();
  if (*err != BECK_ERR_OK)
    return 0;
  for (int i = 0; i < sc.n; i++) {
    beck_srec_t x = {.key = r->key, .value = sc.v[i].v, .timestamp = sc.v[i].a};
    beck_nstr_t next;
    bool skip;
    int cb = beck__agg_add(&w->n->def->agg, &w->ctx, &x, state->len >= 0 ? state : NULL, &next, &skip);
    if (cb < 0)
      return cb;
    if (skip)
      continue;
    *state = next;
    if (state->len < 0) /* a reducer deleted it: start over */
      continue;
    if (x.timestamp > *ts || i == 0)
      *ts = x.timestamp;
  }
  return 0;
}

typedef struct changed {
  int64_t start, end, ts;
  beck_nstr_t state;
} changed_t;

static int cmp_changed(const void *x, const void *y) {
  const changed_t *a = x, *b = y;
  return a->start < b->start ? -1 : a->start > b->start;
}

/* Creates window [s, s+diff] from the records in it unless it exists or is
 * closed; appends it to ch. */
static beck_err_t create_window(beck__wop_t *w, const beck_srec_t *r, int64_t s, changed_t *ch, int *nch,
                                beck_error_t *e, bool *stop) {
  int64_t diff = w->spec->size_ms, end = s + diff;
  if (beck__wclose_at(w->spec, s, end) <= w->observed)
    return BECK_ERR_OK;
  size_t kl;
  uint8_t *k = beck__wkey_make(w, BECK__WTAG_WINDOW, r->key, s, end, false, &kl);
  if (k == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  beck_slice_t v;
  int found = beck__store_get(w->n->store, k, kl, &v, NULL, e);
  if (found != 0)
    return found < 0 ? e->code : BECK_ERR_OK;
  beck_nstr_t state;
  int64_t ts = 0;
  beck_err_t err;
  int cb = fold(w, r, s, end, &state, &ts, e, &err);
  if (err != BECK_ERR_OK)
    return err;
  if (cb < 0 || w->ctx.nomem) {
    *stop = true;
    return beck__wcb(w, cb < 0 ? cb : 0, e);
  }
  if (state.len < 0)
    return BECK_ERR_OK;
  beck_err_t rc = beck__wput(w, r->key, s, end, state, ts, true, e);
  if (rc == BECK_ERR_OK)
    ch[(*nch)++] = (changed_t){s, end, ts, state};
  return rc;
}

beck_err_t beck__window_sliding_record(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e) {
  const beck_window_spec_t *spec = w->spec;
  beck__nrt_t *n = w->n;
  int64_t t = r->timestamp, diff = spec->size_ms;
  if (t < INT64_MAX - diff - spec->grace_ms && t + diff + spec->grace_ms < w->observed)
    return beck__wlate(w, r, e);
  const beck__aggfn_t *agg = &n->def->agg;

  /* Does the record count at all (numeric aggregations skip non-numbers)? */
  bool skip = false;
  int cb;
  if (agg->kind == BECK__AGG_SUM || agg->kind == BECK__AGG_MIN || agg->kind == BECK__AGG_MAX ||
      agg->kind == BECK__AGG_AVG) {
    beck_nstr_t probe;
    cb = beck__agg_add(agg, &w->ctx, r, NULL, &probe, &skip);
    if (cb < 0 || w->ctx.nomem)
      return beck__wcb(w, cb < 0 ? cb : 0, e);
    if (skip) {
      n->m_skipped++;
      return BECK_ERR_OK;
    }
  }

  /* 1. keep the record */
  size_t kl;
  uint8_t *k = beck__wkey_make(w, BECK__WTAG_RECORD, r->key, t, w->seq, false, &kl);
  if (k == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  w->seq++;
  w->meta_dirty = true;
  beck_err_t rc = beck__store_put(n->store, k, kl, r->value.ptr, (size_t)r->value.len, t, e);
  if (rc != BECK_ERR_OK)
    return rc;
  if (beck__widx_add(w, beck__wrecord_expiry(spec, t), k, kl) != BECK_ERR_OK)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");

  /* 2. existing windows that contain t: start in [t - diff, t] */
  scan_t sc;
  if ((rc = scan_range(w, BECK__WTAG_WINDOW, r->key, t - diff, t, &sc, e)) != BECK_ERR_OK)
    return rc;
  changed_t *ch = beck_arena_alloc(beck__arena(n), (size_t)(sc.n + 3) * sizeof *ch);
  if (ch == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  int nch = 0;
  for (int i = 0; i < sc.n; i++) {
    beck_nstr_t next;
    cb = beck__agg_add(agg, &w->ctx, r, &sc.v[i].v, &next, &skip);
    if (cb < 0 || w->ctx.nomem)
      return beck__wcb(w, cb < 0 ? cb : 0, e);
    int64_t ts = sc.v[i].ts > t ? sc.v[i].ts : t;
    if (next.len < 0) {
      rc = beck__wdel(w, r->key, sc.v[i].a, sc.v[i].b, ts, e);
    } else {
      rc = beck__wput(w, r->key, sc.v[i].a, sc.v[i].b, next, ts, false, e);
    }
    if (rc != BECK_ERR_OK)
      return rc;
    ch[nch++] = (changed_t){sc.v[i].a, sc.v[i].b, ts, next};
  }

  /* 3. the left window, 4. the right window */
  bool stop = false;
  if ((rc = create_window(w, r, t - diff, ch, &nch, e, &stop)) != BECK_ERR_OK || stop)
    return rc;
  if ((rc = create_window(w, r, t + 1, ch, &nch, e, &stop)) != BECK_ERR_OK || stop)
    return rc;

  /* 5. the right window of the latest earlier record p, when t is in it */
  scan_t prev;
  if ((rc = scan_range(w, BECK__WTAG_RECORD, r->key, t - diff - 1, t - 1, &prev, e)) != BECK_ERR_OK)
    return rc;
  if (prev.n > 0) {
    int64_t p = prev.v[prev.n - 1].a;
    if ((rc = create_window(w, r, p + 1, ch, &nch, e, &stop)) != BECK_ERR_OK || stop)
      return rc;
  }

  if (spec->emit == BECK_EMIT_ON_UPDATE) {
    qsort(ch, (size_t)nch, sizeof *ch, cmp_changed);
    for (int i = 0; i < nch; i++) {
      cb = beck__wemit(w, r->key, ch[i].start, ch[i].end, ch[i].state, ch[i].ts);
      if (cb < 0 || w->ctx.nomem)
        return beck__wcb(w, cb < 0 ? cb : 0, e);
    }
  }
  n->m_processed++;
  return BECK_ERR_OK;
}
