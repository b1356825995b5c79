/*
 * window_hop.c - hopping windows that emit only final results, computed
 * from panes: slices [p, p+g) of width g = gcd(size, advance), so that
 * every window is a union of size / g of them.
 *
 * A record updates one pane, not every window holding it, so its cost no
 * longer grows with size / advance; each window is merged from its panes
 * once, when it closes. Used for EMIT_FINAL hopping windows whose
 * aggregation can merge two states (count, sum, min, max, avg, and
 * aggregate with a merge function); other hopping windows go through
 * window_time.c. Results are the same as window_time.c's: a window exists
 * when it got a record and is emitted once, after close_at = end + grace,
 * with the largest timestamp of its records. (Sums of doubles add per pane,
 * then pane by pane, so their last bits may differ.)
 *
 * Store: one entry per (key, pane), tag 'P', bounds [p, p+g):
 *
 *   'P' be32(klen) key be64s(p) be64s(p+g)  -> pane state  (ts = max record ts)
 *
 * changelogged like every entry, plus the operator's observed time ('M').
 * The panes also live in memory, per key in start order, with the key's
 * cursor: the start of the next window to emit. Cursors wait in buckets by
 * close time (close_at = start + size + grace lies on a grid of step
 * advance), so closing pops the due buckets in order, in O(1) per window.
 *
 *   record t, pane p = floor(t / g) * g, held by the windows starting in
 *   (p - size, p]:
 *     late when the last window holding it is closed
 *     else fold into pane p; the key's cursor moves back to the first open
 *     window holding p if it was later
 *   bucket T due (T <= observed), for each key whose cursor c has
 *   c + size + grace == T (other entries are stale):
 *     emit window c from its panes (none: nothing to emit), drop panes
 *     before c + advance (no later window holds them), move c to the next
 *     window that holds a pane, or forget the key when it has none
 *
 * Within one close time keys are emitted in the order they joined the
 * bucket, not in key order. On open the panes are read back from the store
 * and every cursor starts at the first open window holding its key's first
 * pane (windows closed before the crash are never emitted again).
 */
#include "window_int.h"

#include <string.h>

#include "base/alloc.h"

#define TAG_PANE 'P'
#define PANE_INLINE 24

typedef struct pane {
  int64_t start, ts;
  uint32_t len, cap;
  uint8_t *heap; /* the state when it does not fit inl */
  uint8_t inl[PANE_INLINE];
} pane_t;

/* A key with panes. Bucket entries point at it: refs counts them, and a
 * key that lost its panes leaves the map at once but is freed only when no
 * entry points at it any more. */
typedef struct hkey {
  uint64_t hash;
  int64_t cursor; /* next window start to emit */
  int64_t queued; /* close time of the bucket holding the live entry; INT64_MIN: none */
  pane_t *panes;  /* by start */
  int npanes, cap;
  int32_t refs;
  bool in_map;
  int32_t klen;
  uint8_t key[]; /* klen bytes */
} hkey_t;

typedef struct bucket {
  int64_t at;
  hkey_t **v;
  size_t n, cap;
} bucket_t;

struct beck__whop {
  int64_t g;      /* pane width: gcd(size, advance) */
  hkey_t **slots; /* open addressing, at most half full */
  size_t nslots, nkeys;
  bucket_t *b; /* by close time, b[first..nb) in use */
  size_t first, nb, bcap;
};

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t close_at(const beck__wop_t *w, int64_t start) {
  return sat_add(sat_add(start, w->spec->size_ms), w->spec->grace_ms);
}

/* The first window start whose window is still open (close_at > observed). */
static int64_t first_open(const beck__wop_t *w) {
  if (w->observed == INT64_MIN)
    return INT64_MIN;
  int64_t adv = w->spec->advance_ms;
  int64_t lim = sat_add(w->observed, -sat_add(w->spec->size_ms, w->spec->grace_ms)); /* open iff start > lim */
  if (lim < 0)
    return lim < -adv ? INT64_MIN : 0;
  return lim / adv * adv + adv;
}

/* The first window (a multiple of advance, >= 0) holding pane p. */
static int64_t first_window(const beck__wop_t *w, int64_t p) {
  int64_t adv = w->spec->advance_ms, lim = p - w->spec->size_ms; /* holds p iff start > lim */
  if (lim < 0)
    return 0;
  return lim / adv * adv + adv;
}

/* The last window holding pane p. */
static int64_t last_window(const beck__wop_t *w, int64_t p) { return p / w->spec->advance_ms * w->spec->advance_ms; }

bool beck__whop_applies(const beck_stream_t *d) {
  const beck_window_spec_t *s = &d->win;
  if (s->kind != BECK_WINDOW_HOPPING || s->emit != BECK_EMIT_FINAL || s->advance_ms >= s->size_ms)
    return false;
  switch (d->agg.kind) {
  case BECK__AGG_COUNT:
  case BECK__AGG_SUM:
  case BECK__AGG_MIN:
  case BECK__AGG_MAX:
  case BECK__AGG_AVG:
    return true;
  case BECK__AGG_CUSTOM:
    return d->agg.user.merge != NULL;
  default:
    return false;
  }
}

/* ---- keys ------------------------------------------------------------------ */

static uint64_t key_hash(const uint8_t *k, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t x;
    memcpy(&x, k, 8);
    h = (h ^ x) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    k += 8;
    n -= 8;
  }
  uint64_t x = 0;
  if (n)
    memcpy(&x, k, n);
  h = (h ^ x) * 0x94d049bb133111ebull;
  return h ^ (h >> 29);
}

static hkey_t **slot_of(beck__whop_t *h, const uint8_t *k, int32_t kl, uint64_t hash) {
  size_t mask = h->nslots - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    hkey_t *x = h->slots[i];
    if (x == NULL || (x->hash == hash && x->klen == kl && (kl == 0 || memcmp(x->key, k, (size_t)kl) == 0)))
      return &h->slots[i];
  }
}

static beck_err_t grow_slots(beck__whop_t *h) {
  size_t n = h->nslots ? h->nslots * 2 : 1024;
  hkey_t **s = beck_calloc(n, sizeof *s);
  if (s == NULL)
    return BECK_ERR_NOMEM;
  for (size_t i = 0; i < h->nslots; i++) {
    hkey_t *x = h->slots[i];
    if (x == NULL)
      continue;
    size_t j = x->hash & (n - 1);
    while (s[j] != NULL)
      j = (j + 1) & (n - 1);
    s[j] = x;
  }
  beck_free(h->slots);
  h->slots = s;
  h->nslots = n;
  return BECK_ERR_OK;
}

static hkey_t *key_get(beck__whop_t *h, const uint8_t *k, int32_t kl, bool create) {
  uint64_t hash = key_hash(k, (size_t)kl);
  if (h->nslots > 0) {
    hkey_t *x = *slot_of(h, k, kl, hash);
    if (x != NULL || !create)
      return x;
  } else if (!create) {
    return NULL;
  }
  if ((h->nkeys + 1) * 2 > h->nslots && grow_slots(h) != BECK_ERR_OK)
    return NULL;
  hkey_t *x = beck_calloc(1, sizeof *x + (size_t)kl);
  if (x == NULL)
    return NULL;
  x->hash = hash;
  x->klen = kl;
  x->cursor = INT64_MIN;
  x->queued = INT64_MIN;
  x->in_map = true;
  if (kl)
    memcpy(x->key, k, (size_t)kl);
  *slot_of(h, k, kl, hash) = x;
  h->nkeys++;
  return x;
}

static uint8_t *pdata(pane_t *p) { return p->heap != NULL ? p->heap : p->inl; }

static void pane_free(pane_t *p) { beck_free(p->heap); }

/* Removes pane i of x (its state freed). */
static void pane_remove(hkey_t *x, int i) {
  pane_free(&x->panes[i]);
  memmove(x->panes + i, x->panes + i + 1, (size_t)(x->npanes - i - 1) * sizeof *x->panes);
  x->npanes--;
}

static void key_free(hkey_t *x) {
  for (int i = 0; i < x->npanes; i++)
    pane_free(&x->panes[i]);
  beck_free(x->panes);
  beck_free(x);
}

/* Takes x out of the map (backward-shift deletion); frees it unless a
 * bucket entry still points at it. */
static void key_remove(beck__whop_t *h, hkey_t *x) {
  size_t mask = h->nslots - 1, i = (size_t)(slot_of(h, x->key, x->klen, x->hash) - h->slots);
  h->slots[i] = NULL;
  for (size_t j = (i + 1) & mask; h->slots[j] != NULL; j = (j + 1) & mask) {
    size_t home = h->slots[j]->hash & mask;
    /* move j into the hole i when its home is not in (i, j] */
    if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
      h->slots[i] = h->slots[j];
      h->slots[j] = NULL;
      i = j;
    }
  }
  h->nkeys--;
  x->in_map = false;
  x->queued = INT64_MIN;
  if (x->refs == 0)
    key_free(x);
}

/* ---- buckets ----------------------------------------------------------------- */

static bucket_t *bucket_at(beck__whop_t *h, int64_t at) {
  size_t lo = h->first, hi = h->nb;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (h->b[mid].at < at)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < h->nb && h->b[lo].at == at)
    return &h->b[lo];
  if (h->first > 0) { /* reclaim the consumed front */
    memmove(h->b, h->b + h->first, (h->nb - h->first) * sizeof *h->b);
    lo -= h->first;
    h->nb -= h->first;
    h->first = 0;
  }
  if (h->nb == h->bcap) {
    size_t nc = h->bcap ? h->bcap * 2 : 16;
    bucket_t *b = beck_realloc(h->b, nc * sizeof *b);
    if (b == NULL)
      return NULL;
    h->b = b;
    h->bcap = nc;
  }
  memmove(h->b + lo + 1, h->b + lo, (h->nb - lo) * sizeof *h->b);
  h->b[lo] = (bucket_t){.at = at};
  h->nb++;
  return &h->b[lo];
}

/* Queues x to emit window `cursor` at its close time. */
static beck_err_t enqueue(beck__wop_t *w, hkey_t *x, int64_t cursor) {
  x->cursor = cursor;
  x->queued = close_at(w, cursor);
  bucket_t *b = bucket_at(w->hop, x->queued);
  if (b == NULL)
    return BECK_ERR_NOMEM;
  if (b->n == b->cap) {
    size_t nc = b->cap ? b->cap * 2 : 64;
    hkey_t **v = beck_realloc(b->v, nc * sizeof *v);
    if (v == NULL)
      return BECK_ERR_NOMEM;
    b->v = v;
    b->cap = nc;
  }
  b->v[b->n++] = x;
  x->refs++;
  return BECK_ERR_OK;
}

/* ---- panes --------------------------------------------------------------------- */

/* The pane of x starting at p (created empty when missing and create). */
static pane_t *pane_get(hkey_t *x, int64_t p, bool create) {
  int i = x->npanes;
  while (i > 0 && x->panes[i - 1].start > p)
    i--;
  if (i > 0 && x->panes[i - 1].start == p)
    return &x->panes[i - 1];
  if (!create)
    return NULL;
  if (x->npanes == x->cap) {
    int nc = x->cap ? x->cap * 2 : 2;
    pane_t *v = beck_realloc(x->panes, (size_t)nc * sizeof *v);
    if (v == NULL)
      return NULL;
    x->panes = v;
    x->cap = nc;
  }
  memmove(x->panes + i + 1, x->panes + i, (size_t)(x->npanes - i) * sizeof *x->panes);
  x->npanes++;
  pane_t *pn = &x->panes[i];
  memset(pn, 0, sizeof *pn);
  pn->start = p;
  pn->ts = INT64_MIN;
  pn->cap = PANE_INLINE;
  return pn;
}

static beck_err_t pane_set(pane_t *pn, const uint8_t *v, size_t n, int64_t ts) {
  if (n > pn->cap) {
    uint8_t *s = beck_malloc(n);
    if (s == NULL)
      return BECK_ERR_NOMEM;
    beck_free(pn->heap);
    pn->heap = s;
    pn->cap = (uint32_t)n;
  }
  if (n)
    memmove(pdata(pn), v, n);
  pn->len = (uint32_t)n;
  if (ts > pn->ts)
    pn->ts = ts;
  return BECK_ERR_OK;
}

static beck_err_t store_pane(beck__wop_t *w, const hkey_t *x, pane_t *pn, bool del, beck_error_t *e) {
  size_t kl;
  uint8_t *k =
      beck__wkey_make(w, TAG_PANE, beck_nstr(x->key, x->klen), pn->start, sat_add(pn->start, w->hop->g), false, &kl);
  if (k == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  if (del)
    return beck__store_del(w->n->store, k, kl, pn->ts, e);
  return beck__store_put(w->n->store, k, kl, pdata(pn), pn->len, pn->ts, e);
}

/* ---- records -------------------------------------------------------------------- */

beck_err_t beck__whop_record(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e) {
  beck__nrt_t *n = w->n;
  int64_t t = r->timestamp, g = w->hop->g;
  if (t < 0) {
    n->m_skipped++;
    return BECK_ERR_OK;
  }
  int64_t p = t / g * g;
  if (close_at(w, last_window(w, p)) <= w->observed)
    return beck__wlate(w, r, e);
  hkey_t *x = key_get(w->hop, r->key.ptr, r->key.len, true);
  pane_t *pn = x != NULL ? pane_get(x, p, true) : NULL;
  if (pn == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  bool fresh = pn->ts == INT64_MIN;
  int pi = (int)(pn - x->panes);
  beck_nstr_t cur = beck_nstr(pdata(pn), (int32_t)pn->len), next;
  bool skip = false;
  int rc = beck__agg_add(&n->def->agg, &w->ctx, r, fresh ? NULL : &cur, &next, &skip);
  beck_err_t src = BECK_ERR_OK;
  if (rc < 0 || w->ctx.nomem || skip) {
    if (fresh) /* nothing went in: drop the empty pane again */
      pane_remove(x, pi);
  } else if (next.len < 0) { /* the aggregate removed itself */
    if (!fresh)
      src = store_pane(w, x, pn, true, e);
    pane_remove(x, pi);
  } else if (pane_set(pn, next.ptr, (size_t)next.len, t) != BECK_ERR_OK) {
    src = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  } else {
    src = store_pane(w, x, pn, false, e);
  }
  if (x->npanes == 0) { /* a queued key is forgotten when its window comes */
    if (x->queued == INT64_MIN)
      key_remove(w->hop, x);
    x = NULL;
  }
  if (rc < 0 || w->ctx.nomem)
    return beck__wcb(w, rc < 0 ? rc : 0, e);
  if (skip) {
    n->m_skipped++;
    return BECK_ERR_OK;
  }
  if (src != BECK_ERR_OK || x == NULL)
    return src;
  /* the first open window holding p */
  int64_t s0 = first_window(w, p), fo = first_open(w);
  if (s0 < fo)
    s0 = fo;
  if (s0 < 0)
    s0 = 0;
  if ((x->queued == INT64_MIN || s0 < x->cursor) && enqueue(w, x, s0) != BECK_ERR_OK)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  n->m_processed++;
  return BECK_ERR_OK;
}

/* ---- closing -------------------------------------------------------------------------- */

/* Emits window c of x from its panes, drops the panes no later window
 * holds, and queues x for its next window (or forgets it). */
static beck_err_t close_one(beck__wop_t *w, hkey_t *x, beck_error_t *e) {
  const beck_window_spec_t *spec = w->spec;
  int64_t c = x->cursor, end = sat_add(c, spec->size_ms);
  x->queued = INT64_MIN;
  beck_nstr_t key = beck_sctx_copy(&w->ctx, x->key, x->klen);
  beck_nstr_t acc = beck_nstr_null();
  int64_t ts = INT64_MIN;
  for (int i = 0; i < x->npanes && x->panes[i].start < end; i++) {
    pane_t *pn = &x->panes[i];
    if (pn->start < c)
      continue;
    beck_nstr_t st = beck_nstr(pdata(pn), (int32_t)pn->len);
    int rc;
    if (acc.len < 0) {
      acc = beck_sctx_copy(&w->ctx, pdata(pn), (int32_t)pn->len);
      rc = 0;
    } else {
      beck_nstr_t merged;
      rc = beck__agg_merge(&w->n->def->agg, &w->ctx, key, acc, st, &merged);
      acc = merged;
    }
    if (rc < 0 || w->ctx.nomem)
      return beck__wcb(w, rc < 0 ? rc : 0, e);
    if (pn->ts > ts)
      ts = pn->ts;
  }
  if (acc.len >= 0) {
    int rc = beck__wemit(w, key, c, end, acc, ts);
    if (rc < 0 || w->ctx.nomem)
      return beck__wcb(w, rc < 0 ? rc : 0, e);
  }
  /* panes before c + advance are in no later window */
  int64_t keep = sat_add(c, spec->advance_ms);
  while (x->npanes > 0 && x->panes[0].start < keep) {
    beck_err_t rc = store_pane(w, x, &x->panes[0], true, e);
    pane_remove(x, 0);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  if (x->npanes == 0) {
    key_remove(w->hop, x);
    return BECK_ERR_OK;
  }
  int64_t next = keep, first = first_window(w, x->panes[0].start);
  if (first > next)
    next = first;
  if (enqueue(w, x, next) != BECK_ERR_OK)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  return BECK_ERR_OK;
}

beck_err_t beck__whop_close_due(beck__wop_t *w, beck_error_t *e) {
  beck__whop_t *h = w->hop;
  beck_err_t rc = BECK_ERR_OK;
  while (rc == BECK_ERR_OK && h->first < h->nb && h->b[h->first].at <= w->observed) {
    bucket_t b = h->b[h->first++]; /* enqueue() may move the array; b is ours now */
    for (size_t i = 0; i < b.n; i++) {
      hkey_t *x = b.v[i];
      x->refs--;
      if (rc == BECK_ERR_OK && x->queued == b.at && (rc = close_one(w, x, e)) == BECK_ERR_OK)
        rc = beck__wout_flush(w, e);
      else if (!x->in_map && x->refs == 0)
        key_free(x);
    }
    beck_free(b.v);
  }
  if (h->first == h->nb)
    h->first = h->nb = 0;
  return rc;
}

/* ---- open / close ------------------------------------------------------------------------- */

typedef struct rebuild {
  beck__wop_t *w;
  beck_err_t rc;
} rebuild_t;

static int rebuild_pane(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts) {
  rebuild_t *rb = arg;
  beck__wkey_t wk;
  if (!beck__wkey_parse(k, kl, &wk) || wk.tag != TAG_PANE)
    return 0;
  hkey_t *x = key_get(rb->w->hop, wk.key.ptr, wk.key.len, true);
  pane_t *pn = x != NULL ? pane_get(x, wk.a, true) : NULL;
  if (pn == NULL || pane_set(pn, v, vl, ts) != BECK_ERR_OK) {
    rb->rc = BECK_ERR_NOMEM;
    return -1;
  }
  return 0;
}

beck_err_t beck__whop_open(beck__wop_t *w, beck_error_t *e) {
  w->hop = beck_calloc(1, sizeof *w->hop);
  if (w->hop == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  int64_t a = w->spec->size_ms, b = w->spec->advance_ms;
  while (b != 0) {
    int64_t r = a % b;
    a = b;
    b = r;
  }
  w->hop->g = a;
  rebuild_t rb = {w, BECK_ERR_OK};
  const uint8_t lo[] = {TAG_PANE}, hi[] = {TAG_PANE + 1};
  beck_err_t rc = beck__store_scan(w->n->store, lo, 1, hi, 1, rebuild_pane, &rb, e);
  if (rb.rc != BECK_ERR_OK)
    return beck_error_set(e, rb.rc, "out of memory");
  if (rc != BECK_ERR_OK)
    return rc;
  /* every key waits for the first open window holding its first pane */
  beck__whop_t *h = w->hop;
  int64_t fo = first_open(w);
  for (size_t i = 0; i < h->nslots; i++) {
    hkey_t *x = h->slots[i];
    if (x == NULL || x->npanes == 0)
      continue;
    int64_t s0 = first_window(w, x->panes[0].start);
    if (s0 < fo)
      s0 = fo;
    if (s0 < 0)
      s0 = 0;
    if (enqueue(w, x, s0) != BECK_ERR_OK)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  }
  return BECK_ERR_OK;
}

void beck__whop_free(beck__whop_t *h) {
  if (h == NULL)
    return;
  for (size_t i = h->first; i < h->nb; i++) {
    for (size_t j = 0; j < h->b[i].n; j++) {
      hkey_t *x = h->b[i].v[j];
      if (--x->refs == 0 && !x->in_map)
        key_free(x);
    }
    beck_free(h->b[i].v);
  }
  for (size_t i = 0; i < h->nslots; i++)
    if (h->slots[i] != NULL)
      key_free(h->slots[i]);
  beck_free(h->slots);
  beck_free(h->b);
  beck_free(h);
}
