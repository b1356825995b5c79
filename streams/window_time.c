/*
 * window_time.c - tumbling and hopping windows: fixed windows
 * [s, s+size) with s a multiple of advance (advance = size for tumbling),
 * aligned to the epoch like Kafka's TimeWindows. A record at t belongs to
 * every window with s <= t < s+size and s >= 0 (Kafka does not create
 * windows that start before 0; records with negative timestamps are
 * skipped). Windows are updated in ascending start order; a record is late
 * when all its windows are closed (see window_int.h), and is then dropped
 * whole. A record that reaches some but not all of its hopping windows
 * updates the open ones only.
 */
#include "window_int.h"

beck_err_t beck__window_time_record(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e) {
  const beck_window_spec_t *spec = w->spec;
  beck__nrt_t *n = w->n;
  int64_t t = r->timestamp, size = spec->size_ms, adv = spec->advance_ms;
  if (t < 0) {
    n->m_skipped++;
    return BECK_ERR_OK;
  }
  int64_t first = t - size + adv;
  first = first < 0 ? 0 : first / adv * adv;
  bool accepted = false;
  for (int64_t s = first; s <= t; s += adv) {
    int64_t end = s + size;
    if (beck__wclose_at(spec, s, end) <= w->observed)
      continue;
    accepted = true;
    size_t kl;
    uint8_t *k = beck__wkey_make(w, BECK__WTAG_WINDOW, r->key, s, end, false, &kl);
    if (k == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    beck_slice_t cur;
    int64_t ts = t;
    int found = beck__store_get(n->store, k, kl, &cur, &ts, e);
    if (found < 0)
      return e->code;
    if (found && ts < t)
      ts = t;
    beck_nstr_t state = beck_nstr(cur.ptr, (int32_t)cur.len), next;
    bool skip;
    int rc = beck__agg_add(&n->def->agg, &w->ctx, r, found ? &state : NULL, &next, &skip);
    if (rc < 0 || w->ctx.nomem)
      return beck__wcb(w, rc < 0 ? rc : 0, e); /* skip policy: the rest of this record is dropped */
    if (skip) {
      n->m_skipped++;
      return BECK_ERR_OK;
    }
    beck_err_t src = next.len < 0 ? (found ? beck__wdel(w, r->key, s, end, ts, e) : BECK_ERR_OK)
                                  : beck__wput(w, r->key, s, end, next, ts, !found, e);
    if (src != BECK_ERR_OK)
      return e->code;
    if (spec->emit == BECK_EMIT_ON_UPDATE && (next.len >= 0 || found)) {
      rc = beck__wemit(w, r->key, s, end, next, ts);
      if (rc < 0 || w->ctx.nomem)
        return beck__wcb(w, rc < 0 ? rc : 0, e);
    }
  }
  if (!accepted)
    return beck__wlate(w, r, e);
  n->m_processed++;
  return BECK_ERR_OK;
}
