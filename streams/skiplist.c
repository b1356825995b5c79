/*
 * skiplist.c - an ordered map from byte keys to (bytes, timestamp): the
 * in-memory store and the time indexes of windowed operators.
 *
 * A classic skip list (Pugh 1990) with p = 1/4 and at most 24 levels. Each
 * node is one allocation holding its forward pointers and its key; the value
 * is a second allocation that is reused in place while it fits, so updating
 * an existing key (the common case of an aggregation) allocates nothing.
 * Levels come from a fixed-seed xorshift generator, so the structure, and
 * every iteration, is the same on every run.
 *
 * Point operations (find, updating an existing key, delete of a missing
 * key) go through a hash index over the nodes (open addressing, linear
 * probing, backward-shift deletion, at most half full), so an aggregation
 * updating hot keys does O(1) work; only inserts and deletes walk the
 * levels.
 *
 * Order: memcmp over the common prefix, then the shorter key first.
 * Not thread-safe: one per task.
 */
#include "streams_int.h"

#include <string.h>

#include "base/alloc.h"

#define SL_MAX_LEVEL 24

struct beck__sl {
  beck__sl_node_t *head; /* sentinel with SL_MAX_LEVEL pointers, no key */
  int level;             /* levels in use, >= 1 */
  size_t count;
  uint64_t rng;
  struct slot *ht; /* hash index: ht_cap slots (a power of two) */
  size_t ht_cap;
};

/* A hash index slot: the hash is kept next to the pointer so probing does
 * not touch the nodes. node NULL = empty. */
struct slot {
  uint64_t hash;
  beck__sl_node_t *node;
};

static uint64_t hash_key(const uint8_t *k, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, k, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    k += 8;
    n -= 8;
  }
  uint64_t w = 0;
  if (n)
    memcpy(&w, k, n);
  h = (h ^ w) * 0x94d049bb133111ebull;
  h ^= h >> 29;
  return h;
}

static beck__sl_node_t *ht_find(const beck__sl_t *sl, const uint8_t *k, size_t kl, uint64_t h) {
  if (sl->ht_cap == 0)
    return NULL;
  size_t mask = sl->ht_cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const struct slot *sp = &sl->ht[i];
    if (sp->node == NULL)
      return NULL;
    if (sp->hash == h && sp->node->klen == kl && (kl == 0 || memcmp(beck__sl_key(sp->node), k, kl) == 0))
      return sp->node;
  }
}

static void ht_place(struct slot *ht, size_t cap, uint64_t h, beck__sl_node_t *x) {
  size_t mask = cap - 1, i = h & mask;
  while (ht[i].node != NULL)
    i = (i + 1) & mask;
  ht[i].hash = h;
  ht[i].node = x;
}

static beck_err_t ht_insert(beck__sl_t *sl, beck__sl_node_t *x) {
  if ((sl->count + 1) * 2 > sl->ht_cap) {
    size_t nc = sl->ht_cap ? sl->ht_cap * 2 : 64;
    struct slot *nt = beck_calloc(nc, sizeof *nt);
    if (nt == NULL)
      return BECK_ERR_NOMEM;
    for (size_t i = 0; i < sl->ht_cap; i++)
      if (sl->ht[i].node != NULL)
        ht_place(nt, nc, sl->ht[i].hash, sl->ht[i].node);
    beck_free(sl->ht);
    sl->ht = nt;
    sl->ht_cap = nc;
  }
  ht_place(sl->ht, sl->ht_cap, x->hash, x);
  return BECK_ERR_OK;
}

static void ht_remove(beck__sl_t *sl, beck__sl_node_t *x) {
  size_t mask = sl->ht_cap - 1, i = x->hash & mask;
  while (sl->ht[i].node != x)
    i = (i + 1) & mask;
  /* backward-shift deletion keeps every probe chain unbroken */
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (sl->ht[j].node == NULL)
      break;
    size_t home = sl->ht[j].hash & mask;
    /* the entry at j may move into the hole at i when its home is not in (i, j] */
    if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
      sl->ht[i] = sl->ht[j];
      i = j;
    }
  }
  sl->ht[i].node = NULL;
}

int beck__keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  size_t m = al < bl ? al : bl;
  int c = m ? memcmp(a, b, m) : 0;
  if (c != 0)
    return c;
  return al < bl ? -1 : al > bl ? 1 : 0;
}

beck__sl_t *beck__sl_new(void) {
  beck__sl_t *sl = beck_calloc(1, sizeof *sl);
  if (sl == NULL)
    return NULL;
  sl->head = beck_calloc(1, sizeof(beck__sl_node_t) + SL_MAX_LEVEL * sizeof(beck__sl_node_t *));
  if (sl->head == NULL) {
    beck_free(sl);
    return NULL;
  }
  sl->head->level = SL_MAX_LEVEL;
  sl->level = 1;
  sl->rng = 0x9e3779b97f4a7c15ull;
  return sl;
}

void beck__sl_clear(beck__sl_t *sl) {
  beck__sl_node_t *x = sl->head->next[0];
  while (x != NULL) {
    beck__sl_node_t *nx = x->next[0];
    beck_free(x->val);
    beck_free(x);
    x = nx;
  }
  memset(sl->head->next, 0, SL_MAX_LEVEL * sizeof(beck__sl_node_t *));
  sl->level = 1;
  sl->count = 0;
  beck_free(sl->ht);
  sl->ht = NULL;
  sl->ht_cap = 0;
}

void beck__sl_free(beck__sl_t *sl) {
  if (sl == NULL)
    return;
  beck__sl_clear(sl);
  beck_free(sl->head);
  beck_free(sl);
}

size_t beck__sl_count(const beck__sl_t *sl) { return sl->count; }

static int random_level(beck__sl_t *sl) {
  uint64_t x = sl->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  sl->rng = x;
  int lvl = 1;
  while (lvl < SL_MAX_LEVEL && (x & 3) == 0) {
    lvl++;
    x >>= 2;
  }
  return lvl;
}

/* Fills update[i] with the last node at level i whose key is < k; returns
 * the first node with key >= k (or NULL). */
static beck__sl_node_t *find_ge(const beck__sl_t *sl, const uint8_t *k, size_t kl, beck__sl_node_t **update) {
  beck__sl_node_t *x = sl->head;
  for (int i = sl->level - 1; i >= 0; i--) {
    while (x->next[i] != NULL && beck__keycmp(beck__sl_key(x->next[i]), x->next[i]->klen, k, kl) < 0)
      x = x->next[i];
    if (update != NULL)
      update[i] = x;
  }
  return x->next[0];
}

beck__sl_node_t *beck__sl_find(const beck__sl_t *sl, const uint8_t *k, size_t kl) {
  return ht_find(sl, k, kl, hash_key(k, kl));
}

beck__sl_node_t *beck__sl_seek(const beck__sl_t *sl, const uint8_t *k, size_t kl) {
  if (k == NULL)
    return sl->head->next[0];
  return find_ge(sl, k, kl, NULL);
}

/* v may point into x's own value (an aggregation returning its state as
 * it was): copy before freeing, and move rather than copy in place. */
static beck_err_t set_value(beck__sl_node_t *x, const uint8_t *v, size_t vl, int64_t ts) {
  if (vl > UINT32_MAX)
    return BECK_ERR_TOOBIG;
  if (vl > x->vcap || (x->vcap > 256 && vl < x->vcap / 4)) {
    uint8_t *nv = beck_malloc(vl ? vl : 1);
    if (nv == NULL)
      return BECK_ERR_NOMEM;
    if (vl)
      memcpy(nv, v, vl);
    beck_free(x->val);
    x->val = nv;
    x->vcap = (uint32_t)(vl ? vl : 1);
  } else if (vl) {
    memmove(x->val, v, vl);
  }
  x->vlen = (uint32_t)vl;
  x->ts = ts;
  return BECK_ERR_OK;
}

beck_err_t beck__sl_put(beck__sl_t *sl, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts) {
  uint64_t h = hash_key(k, kl);
  beck__sl_node_t *x = ht_find(sl, k, kl, h);
  if (x != NULL)
    return set_value(x, v, vl, ts);
  if (kl > UINT32_MAX)
    return BECK_ERR_TOOBIG;
  beck__sl_node_t *update[SL_MAX_LEVEL];
  find_ge(sl, k, kl, update);
  int lvl = random_level(sl);
  x = beck_malloc(sizeof *x + (size_t)lvl * sizeof(beck__sl_node_t *) + kl);
  if (x == NULL)
    return BECK_ERR_NOMEM;
  x->val = NULL;
  x->vlen = x->vcap = 0;
  x->klen = (uint32_t)kl;
  x->level = (uint8_t)lvl;
  x->hash = h;
  if (kl)
    memcpy((uint8_t *)(x->next + lvl), k, kl);
  beck_err_t rc = set_value(x, v, vl, ts);
  if (rc == BECK_ERR_OK)
    rc = ht_insert(sl, x);
  if (rc != BECK_ERR_OK) {
    beck_free(x->val);
    beck_free(x);
    return rc;
  }
  if (lvl > sl->level) {
    for (int i = sl->level; i < lvl; i++)
      update[i] = sl->head;
    sl->level = lvl;
  }
  for (int i = 0; i < lvl; i++) {
    x->next[i] = update[i]->next[i];
    update[i]->next[i] = x;
  }
  sl->count++;
  return BECK_ERR_OK;
}

bool beck__sl_del(beck__sl_t *sl, const uint8_t *k, size_t kl) {
  beck__sl_node_t *x = ht_find(sl, k, kl, hash_key(k, kl));
  if (x == NULL)
    return false;
  beck__sl_node_t *update[SL_MAX_LEVEL];
  find_ge(sl, k, kl, update);
  for (int i = 0; i < x->level; i++)
    if (update[i]->next[i] == x)
      update[i]->next[i] = x->next[i];
  while (sl->level > 1 && sl->head->next[sl->level - 1] == NULL)
    sl->level--;
  ht_remove(sl, x);
  beck_free(x->val);
  beck_free(x);
  sl->count--;
  return true;
}
