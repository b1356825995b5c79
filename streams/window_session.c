/*
 * window_session.c - session windows: per key, records no more than gap
 * apart form one session [first, last] (both inclusive, like Kafka's
 * SessionWindows). A record at t joins every session with
 * end >= t - gap and start <= t + gap; if it bridges several they merge
 * (their aggregates combined with the merge function, in start order, then
 * the record added).
 *
 * The merged session is [min start, max end]. The record is late when that
 * merged end + grace < observed (nothing open could take it). With
 * EMIT_ON_UPDATE every session the record replaced is retracted with a
 * tombstone (its own window bounds, null value) before the new session's
 * result is emitted, like Kafka; a record inside an existing session that
 * does not move its bounds just updates it.
 */
#include "window_int.h"

#include <string.h>

typedef struct sess {
  int64_t start, end, ts;
  beck_nstr_t state;
} sess_t;

typedef struct sess_scan {
  beck__wop_t *w;
  int64_t lo_end;
  sess_t *v;
  int n, cap;
  bool oom;
} sess_scan_t;

static int collect(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts) {
  sess_scan_t *sc = arg;
  beck__wkey_t wk;
  if (!beck__wkey_parse(k, kl, &wk) || wk.b < sc->lo_end)
    return 0;
  beck_arena_t *a = beck__arena(sc->w->n);
  if (sc->n == sc->cap) {
    int nc = sc->cap ? sc->cap * 2 : 8;
    sess_t *nv = beck_arena_alloc(a, (size_t)nc * sizeof *nv);
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
  sc->v[sc->n++] = (sess_t){wk.a, wk.b, ts, beck_nstr(sv, (int32_t)vl)};
  return 0;
oom:
  sc->oom = true;
  return -1;
}

beck_err_t beck__window_session_record(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e) {
  const beck_window_spec_t *spec = w->spec;
  beck__nrt_t *n = w->n;
  int64_t t = r->timestamp, gap = spec->gap_ms;
  size_t lol, hil;
  uint8_t *lo = beck__wkey_make(w, BECK__WTAG_WINDOW, r->key, INT64_MIN, INT64_MIN, false, &lol);
  int64_t hi_start = t > INT64_MAX - gap ? INT64_MAX : t + gap;
  uint8_t *hi = beck__wkey_make(w, BECK__WTAG_WINDOW, r->key, hi_start, INT64_MAX, true, &hil);
  if (lo == NULL || hi == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  sess_scan_t sc = {.w = w, .lo_end = t < INT64_MIN + gap ? INT64_MIN : t - gap};
  beck_err_t rc = beck__store_scan(n->store, lo, lol, hi, hil, collect, &sc, e);
  if (sc.oom)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  if (rc != BECK_ERR_OK)
    return e->code;

  int64_t ms = t, me = t, mts = t;
  for (int i = 0; i < sc.n; i++) {
    if (sc.v[i].start < ms)
      ms = sc.v[i].start;
    if (sc.v[i].end > me)
      me = sc.v[i].end;
    if (sc.v[i].ts > mts)
      mts = sc.v[i].ts;
  }
  if (me < INT64_MAX - spec->grace_ms && me + spec->grace_ms < w->observed)
    return beck__wlate(w, r, e);

  const beck__aggfn_t *agg = &n->def->agg;
  beck_nstr_t state = beck_nstr_null(), next;
  for (int i = 0; i < sc.n; i++) {
    if (state.len < 0) {
      state = sc.v[i].state;
      continue;
    }
    beck_nstr_t merged;
    int cb = beck__agg_merge(agg, &w->ctx, r->key, state, sc.v[i].state, &merged);
    if (cb < 0 || w->ctx.nomem)
      return beck__wcb(w, cb < 0 ? cb : 0, e);
    state = merged;
  }
  bool skip;
  int cb = beck__agg_add(agg, &w->ctx, r, state.len >= 0 ? &state : NULL, &next, &skip);
  if (cb < 0 || w->ctx.nomem)
    return beck__wcb(w, cb < 0 ? cb : 0, e);
  if (skip) {
    n->m_skipped++;
    return BECK_ERR_OK;
  }

  bool in_place = false;
  for (int i = 0; i < sc.n; i++) {
    if (sc.v[i].start == ms && sc.v[i].end == me && next.len >= 0) {
      in_place = true;
      continue;
    }
    rc = beck__wdel(w, r->key, sc.v[i].start, sc.v[i].end, sc.v[i].ts, e);
    if (rc != BECK_ERR_OK)
      return e->code;
    if (spec->emit == BECK_EMIT_ON_UPDATE) {
      cb = beck__wemit(w, r->key, sc.v[i].start, sc.v[i].end, beck_nstr_null(), sc.v[i].ts);
      if (cb < 0 || w->ctx.nomem)
        return beck__wcb(w, cb < 0 ? cb : 0, e);
    }
  }
  if (next.len >= 0) {
    rc = beck__wput(w, r->key, ms, me, next, mts, !in_place, e);
    if (rc != BECK_ERR_OK)
      return e->code;
    if (spec->emit == BECK_EMIT_ON_UPDATE) {
      cb = beck__wemit(w, r->key, ms, me, next, mts);
      if (cb < 0 || w->ctx.nomem)
        return beck__wcb(w, cb < 0 ? cb : 0, e);
    }
  }
  n->m_processed++;
  return BECK_ERR_OK;
}
