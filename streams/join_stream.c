/*
 * join_stream.c - the windowed stream-stream join (Kafka's KStream-KStream
 * join with JoinWindows): a left record at t joins every right record of
 * the same key with a timestamp in [t - before, t + after] (equivalently a
 * right record at t joins left records in [t - after, t + before]); the
 * result has timestamp max(left, right) and the left record's key.
 *
 * Each side's records are buffered in the join's store (layout as in
 * window_int.h, tags 'L' and 'R'; the value is a flags byte, bit 0 =
 * "matched", then the record value), indexed by expiry time in memory.
 *
 *   late      left t:  t + after + grace < observed   (dropped, counted)
 *             right t: t + before + grace < observed
 *   expiry    t + before + after + grace + 1 (both sides): from then on no
 *             record that could still be accepted can match it. At expiry
 *             an unmatched left record (left and outer joins) or unmatched
 *             right record (outer joins) is emitted joined with null, and
 *             the record is dropped from the buffer.
 *
 * So a null result is only emitted when a real match has become
 * impossible: never a null result followed by a match for the same record
 * (Kafka emits at t + after + grace, which can produce such pairs when
 * before > 0). observed is the join's own stream time over both inputs,
 * raised by records and task watermarks, persisted like a window's.
 * Records with a null key or value are skipped (counted), like Kafka.
 */
#include "window_int.h"

#include <string.h>

#include "base/alloc.h"

#define TAG_LEFT 'L'
#define TAG_RIGHT 'R'
#define FLAG_MATCHED 1

typedef struct ss_state {
  beck__wop_t w;
  int64_t before, after, grace;
} ss_state_t;

static const uint8_t meta_key[] = {BECK__WTAG_META, 'm', 'e', 't', 'a'};

static int64_t sat(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t expiry(const ss_state_t *s, int64_t t) {
  return sat(sat(sat(sat(t, s->before), s->after), s->grace), 1);
}

static bool need_flags(beck_join_kind_t kind, uint8_t tag) {
  return kind == BECK_JOIN_OUTER || (kind == BECK_JOIN_LEFT && tag == TAG_LEFT);
}

/* Calls the joiner for (l, r) and appends the result at ts. */
static beck_err_t join_emit(ss_state_t *s, const beck_srec_t *l, const beck_srec_t *r, int64_t ts, beck_error_t *e) {
  const beck_stream_t *d = s->w.n->def;
  beck_srec_t o = {.key = l->key.len >= 0 ? l->key : r->key, .timestamp = ts, .value = beck_nstr_null()};
  if (l->value.len >= 0) {
    o.headers = l->headers;
    o.nheaders = l->nheaders;
  }
  int rc = d->joiner(d->ud, &s->w.ctx, l, r, &o.value);
  if (rc < 0 || s->w.ctx.nomem)
    return beck__wcb(&s->w, rc < 0 ? rc : 0, e);
  if (beck__ob_push(s->w.out, &o) != BECK_ERR_OK)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  return BECK_ERR_OK;
}

/* Drops every buffered record whose expiry <= observed, emitting the
 * unmatched ones joined with null where the join kind asks for it. */
static beck_err_t expire(ss_state_t *s, beck_error_t *e) {
  beck__wop_t *w = &s->w;
  beck__nrt_t *n = w->n;
  beck_arena_t *a = beck__arena(n);
  for (;;) {
    beck__sl_node_t *x = beck__sl_seek(w->idx, NULL, 0);
    if (x == NULL || x->klen < 8 || (int64_t)(beck_load_be64(beck__sl_key(x)) ^ 0x8000000000000000ull) > w->observed)
      return BECK_ERR_OK;
    size_t kl = x->klen - 8;
    uint8_t *k = beck_arena_memdup(a, beck__sl_key(x) + 8, kl);
    if (k == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    beck__sl_del(w->idx, beck__sl_key(x), x->klen);
    beck__wkey_t wk;
    if (!beck__wkey_parse(k, kl, &wk))
      return beck_error_set(e, BECK_ERR_CORRUPT, "malformed join index entry");
    beck_slice_t v;
    int64_t ts;
    int found = beck__store_get(n->store, k, kl, &v, &ts, e);
    if (found < 0)
      return e->code;
    if (!found)
      continue;
    if (v.len >= 1 && !(v.ptr[0] & FLAG_MATCHED) && need_flags(n->def->join.kind, wk.tag)) {
      beck_srec_t rec = {.key = wk.key, .timestamp = wk.a};
      rec.value = beck_sctx_copy(&w->ctx, v.ptr + 1, (int32_t)v.len - 1);
      beck_srec_t none = {.key = wk.key, .value = beck_nstr_null(), .timestamp = -1};
      beck_err_t rc = wk.tag == TAG_LEFT ? join_emit(s, &rec, &none, wk.a, e) : join_emit(s, &none, &rec, wk.a, e);
      if (rc != BECK_ERR_OK)
        return rc;
    }
    beck_err_t rc = beck__store_del(n->store, k, kl, ts, e);
    if (rc != BECK_ERR_OK)
      return rc;
  }
}

static beck_err_t advance_to(ss_state_t *s, int64_t t, beck_error_t *e) {
  if (t > s->w.observed) {
    s->w.observed = t;
    s->w.meta_dirty = true;
  }
  return expire(s, e);
}

typedef struct match {
  int64_t ts, seq;
  uint8_t flags;
  beck_nstr_t value;
} match_t;

typedef struct mscan {
  beck__wop_t *w;
  match_t *v;
  int n, cap;
  bool oom;
} mscan_t;

static int collect(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts) {
  mscan_t *sc = arg;
  beck__wkey_t wk;
  if (!beck__wkey_parse(k, kl, &wk) || vl < 1)
    return 0;
  beck_arena_t *a = beck__arena(sc->w->n);
  if (sc->n == sc->cap) {
    int nc = sc->cap ? sc->cap * 2 : 16;
    match_t *nv = beck_arena_alloc(a, (size_t)nc * sizeof *nv);
    if (nv == NULL)
      goto oom;
    if (sc->n)
      memcpy(nv, sc->v, (size_t)sc->n * sizeof *nv);
    sc->v = nv;
    sc->cap = nc;
  }
  uint8_t *c = vl > 1 ? beck_arena_memdup(a, v + 1, vl - 1) : beck_arena_alloc(a, 1); /* empty value: no bytes */
  if (c == NULL)
    goto oom;
  sc->v[sc->n++] = (match_t){wk.a, wk.b, v[0], beck_nstr(c, (int32_t)vl - 1)};
  return 0;
oom:
  sc->oom = true;
  return -1;
}

static beck_err_t one_record(ss_state_t *s, int side, const beck_srec_t *r, beck_error_t *e) {
  beck__wop_t *w = &s->w;
  beck__nrt_t *n = w->n;
  beck_join_kind_t kind = n->def->join.kind;
  int64_t t = r->timestamp;
  uint8_t tag = side == 0 ? TAG_LEFT : TAG_RIGHT, otag = side == 0 ? TAG_RIGHT : TAG_LEFT;
  int64_t own_after = side == 0 ? s->after : s->before, own_before = side == 0 ? s->before : s->after;
  if (sat(sat(t, own_after), s->grace) < w->observed) {
    n->m_late++;
    return BECK_ERR_OK;
  }
  /* the other side's records this one joins */
  size_t lol, hil;
  uint8_t *lo = beck__wkey_make(w, otag, r->key, sat(t, -own_before), INT64_MIN, false, &lol);
  uint8_t *hi = beck__wkey_make(w, otag, r->key, sat(t, own_after), INT64_MAX, true, &hil);
  if (lo == NULL || hi == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  mscan_t sc = {.w = w};
  beck_err_t rc = beck__store_scan(n->store, lo, lol, hi, hil, collect, &sc, e);
  if (sc.oom)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  if (rc != BECK_ERR_OK)
    return rc;
  for (int i = 0; i < sc.n; i++) {
    match_t *m = &sc.v[i];
    beck_srec_t o = {.key = r->key, .value = m->value, .timestamp = m->ts};
    int64_t ts = m->ts > t ? m->ts : t;
    rc = side == 0 ? join_emit(s, r, &o, ts, e) : join_emit(s, &o, r, ts, e);
    if (rc != BECK_ERR_OK || w->cb_error)
      return rc;
    if (!(m->flags & FLAG_MATCHED) && need_flags(kind, otag)) {
      size_t kl;
      uint8_t *k = beck__wkey_make(w, otag, r->key, m->ts, m->seq, false, &kl);
      uint8_t *v = beck_arena_alloc(beck__arena(n), (size_t)m->value.len + 1);
      if (k == NULL || v == NULL)
        return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
      v[0] = m->flags | FLAG_MATCHED;
      memcpy(v + 1, m->value.ptr, (size_t)m->value.len);
      rc = beck__store_put(n->store, k, kl, v, (size_t)m->value.len + 1, m->ts, e);
      if (rc != BECK_ERR_OK)
        return rc;
    }
  }
  /* buffer this record */
  size_t kl;
  uint8_t *k = beck__wkey_make(w, tag, r->key, t, w->seq, false, &kl);
  uint8_t *v = beck_arena_alloc(beck__arena(n), (size_t)r->value.len + 1);
  if (k == NULL || v == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  w->seq++;
  w->meta_dirty = true;
  v[0] = sc.n > 0 ? FLAG_MATCHED : 0;
  if (r->value.len)
    memcpy(v + 1, r->value.ptr, (size_t)r->value.len);
  rc = beck__store_put(n->store, k, kl, v, (size_t)r->value.len + 1, t, e);
  if (rc == BECK_ERR_OK && beck__widx_add(w, expiry(s, t), k, kl) != BECK_ERR_OK)
    rc = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  if (rc == BECK_ERR_OK)
    n->m_processed++;
  return rc;
}

static beck_err_t ss_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  ss_state_t *s = n->state;
  beck__obatch_t out;
  beck__ob_init(&out, beck__arena(n));
  s->w.out = &out;
  s->w.cb_error = false;
  beck__sctx_init(&s->w.ctx, n, NULL, e);
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *r = &in->recs[i];
    beck_err_t rc = advance_to(s, r->timestamp, e);
    if (rc == BECK_ERR_OK && !s->w.cb_error) {
      if (r->key.len < 0 || r->value.len < 0)
        n->m_skipped++;
      else
        rc = one_record(s, port, r, e);
    }
    if (rc != BECK_ERR_OK)
      return s->w.cb_error ? rc : beck_error_wrap(e, "node '%s'", n->def->name);
    s->w.cb_error = false;
  }
  s->w.out = NULL;
  beck_sbatch_t b = beck__ob_view(&out);
  return beck__forward(n, &b, e);
}

static beck_err_t ss_advance(beck__nrt_t *n, int64_t wm, beck_error_t *e) {
  ss_state_t *s = n->state;
  beck__obatch_t out;
  beck__ob_init(&out, beck__arena(n));
  s->w.out = &out;
  s->w.cb_error = false;
  beck__sctx_init(&s->w.ctx, n, NULL, e);
  beck_err_t rc = advance_to(s, wm, e);
  s->w.out = NULL;
  if (rc != BECK_ERR_OK)
    return s->w.cb_error ? rc : beck_error_wrap(e, "node '%s'", n->def->name);
  beck_sbatch_t b = beck__ob_view(&out);
  return beck__forward(n, &b, e);
}

typedef struct rebuild {
  ss_state_t *s;
  beck_err_t rc;
} rebuild_t;

static int rebuild_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts) {
  rebuild_t *rb = arg;
  beck__wkey_t wk;
  if (!beck__wkey_parse(k, kl, &wk) || (wk.tag != TAG_LEFT && wk.tag != TAG_RIGHT))
    return 0;
  rb->rc = beck__widx_add(&rb->s->w, expiry(rb->s, wk.a), k, kl);
  return rb->rc == BECK_ERR_OK ? 0 : -1;
}

static beck_err_t ss_open(beck__nrt_t *n, beck_error_t *e) {
  ss_state_t *s = beck_calloc(1, sizeof *s);
  if (s == NULL || (s->w.idx = beck__sl_new()) == NULL) {
    beck_free(s);
    return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", n->def->name);
  }
  n->state = s;
  s->w.n = n;
  s->w.observed = INT64_MIN;
  s->before = n->def->join.before_ms;
  s->after = n->def->join.after_ms;
  s->grace = n->def->join.grace_ms;
  beck_slice_t v;
  int64_t ts;
  int found = beck__store_get(n->store, meta_key, sizeof meta_key, &v, &ts, e);
  if (found < 0)
    return beck_error_wrap(e, "node '%s'", n->def->name);
  if (found && v.len == 16) {
    s->w.observed = (int64_t)(beck_load_be64(v.ptr) ^ 0x8000000000000000ull);
    s->w.seq = (int64_t)beck_load_be64(v.ptr + 8);
  }
  rebuild_t rb = {s, BECK_ERR_OK};
  const uint8_t lo[] = {TAG_LEFT}, hi[] = {TAG_RIGHT + 1};
  beck_err_t rc = beck__store_scan(n->store, lo, 1, hi, 1, rebuild_one, &rb, e);
  beck_arena_reset(beck__arena(n));
  if (rb.rc != BECK_ERR_OK)
    return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", n->def->name);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "node '%s'", n->def->name);
  return BECK_ERR_OK;
}

static beck_err_t ss_flush(beck__nrt_t *n, beck_error_t *e) {
  ss_state_t *s = n->state;
  if (!s->w.meta_dirty)
    return BECK_ERR_OK;
  uint8_t v[16];
  beck_store_be64(v, (uint64_t)s->w.observed ^ 0x8000000000000000ull);
  beck_store_be64(v + 8, (uint64_t)s->w.seq);
  beck_err_t rc = beck__store_put(n->store, meta_key, sizeof meta_key, v, sizeof v, s->w.observed, e);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "node '%s'", n->def->name);
  s->w.meta_dirty = false;
  return BECK_ERR_OK;
}

static void ss_close(beck__nrt_t *n) {
  ss_state_t *s = n->state;
  if (s == NULL)
    return;
  beck__sl_free(s->w.idx);
  beck_free(s);
  n->state = NULL;
}

const beck__op_vt_t beck__op_join_ss_vt = {
    .open = ss_open, .process = ss_process, .advance = ss_advance, .flush = ss_flush, .close = ss_close};
