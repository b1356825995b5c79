/*
 * changelog_buf.c - a store's changelog write buffer: the latest write per
 * key since the last commit (a value, or a delete), in first-write order.
 *
 * Like Kafka Streams' record cache in front of a changelog, a key updated
 * many times between commits is produced once. Entries live in one array
 * and their bytes in one buffer, both kept across flushes, so once warm a
 * buffer allocates nothing per key or per write: a new value overwrites the
 * old in place when it fits, else it is appended (the old bytes wait for the
 * next reset). Lookup: open addressing with linear probing, at most half
 * full. Not thread-safe (one per store, one store per task).
 */
#include "streams_int.h"

#include <string.h>

#include "base/alloc.h"

typedef struct lb_entry {
  uint64_t hash;
  size_t koff, voff;
  uint32_t klen, vcap;
  int32_t vlen; /* -1 = delete */
  int64_t ts;
} lb_entry_t;

struct beck__logbuf {
  lb_entry_t *ents;
  size_t n, cap;
  uint32_t *slots; /* entry index + 1; 0 = empty */
  size_t nslots;
  beck_buf_t bytes;
};

static uint64_t lb_hash(const uint8_t *k, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull ^ n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, k, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 32;
    k += 8;
    n -= 8;
  }
  uint64_t w = 0;
  if (n)
    memcpy(&w, k, n);
  h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 31);
}

beck__logbuf_t *beck__logbuf_new(void) { return beck_calloc(1, sizeof(beck__logbuf_t)); }

void beck__logbuf_free(beck__logbuf_t *lb) {
  if (lb == NULL)
    return;
  beck_free(lb->ents);
  beck_free(lb->slots);
  beck_buf_free(&lb->bytes);
  beck_free(lb);
}

size_t beck__logbuf_count(const beck__logbuf_t *lb) { return lb->n; }

void beck__logbuf_reset(beck__logbuf_t *lb) {
  lb->n = 0;
  if (lb->slots)
    memset(lb->slots, 0, lb->nslots * sizeof *lb->slots);
  lb->bytes.len = 0;
}

static beck_err_t rehash(beck__logbuf_t *lb, size_t nslots) {
  uint32_t *s = beck_calloc(nslots, sizeof *s);
  if (s == NULL)
    return BECK_ERR_NOMEM;
  for (size_t i = 0; i < lb->n; i++) {
    size_t j = lb->ents[i].hash & (nslots - 1);
    while (s[j] != 0)
      j = (j + 1) & (nslots - 1);
    s[j] = (uint32_t)(i + 1);
  }
  beck_free(lb->slots);
  lb->slots = s;
  lb->nslots = nslots;
  return BECK_ERR_OK;
}

beck_err_t beck__logbuf_put(beck__logbuf_t *lb, const uint8_t *k, size_t kl, const uint8_t *v, int64_t vl, int64_t ts) {
  if (kl > UINT32_MAX || vl > INT32_MAX || lb->n >= UINT32_MAX - 1)
    return BECK_ERR_TOOBIG;
  uint64_t h = lb_hash(k, kl);
  lb_entry_t *en = NULL;
  size_t j = 0;
  if (lb->nslots) {
    for (j = h & (lb->nslots - 1); lb->slots[j] != 0; j = (j + 1) & (lb->nslots - 1)) {
      lb_entry_t *x = &lb->ents[lb->slots[j] - 1];
      if (x->hash == h && x->klen == kl && (kl == 0 || memcmp(lb->bytes.data + x->koff, k, kl) == 0)) {
        en = x;
        break;
      }
    }
  }
  if (en == NULL) {
    if ((lb->n + 1) * 2 > lb->nslots) {
      if (rehash(lb, lb->nslots ? lb->nslots * 2 : 256) != BECK_ERR_OK)
        return BECK_ERR_NOMEM;
      for (j = h & (lb->nslots - 1); lb->slots[j] != 0; j = (j + 1) & (lb->nslots - 1))
        ;
    }
    if (lb->n == lb->cap) {
      size_t nc = lb->cap ? lb->cap * 2 : 256;
      lb_entry_t *a = beck_realloc(lb->ents, nc * sizeof *a);
      if (a == NULL)
        return BECK_ERR_NOMEM;
      lb->ents = a;
      lb->cap = nc;
    }
    size_t koff = lb->bytes.len;
    if (beck_buf_append(&lb->bytes, k, kl) != BECK_ERR_OK)
      return BECK_ERR_NOMEM;
    en = &lb->ents[lb->n];
    *en = (lb_entry_t){.hash = h, .koff = koff, .klen = (uint32_t)kl};
    lb->slots[j] = (uint32_t)(++lb->n);
  }
  if (vl > (int64_t)en->vcap) {
    en->voff = lb->bytes.len;
    if (beck_buf_append(&lb->bytes, v, (size_t)vl) != BECK_ERR_OK)
      return BECK_ERR_NOMEM;
    en->vcap = (uint32_t)vl;
  } else if (vl > 0) {
    memcpy(lb->bytes.data + en->voff, v, (size_t)vl);
  }
  en->vlen = (int32_t)vl;
  en->ts = ts;
  return BECK_ERR_OK;
}

void beck__logbuf_get(const beck__logbuf_t *lb, size_t i, beck_srec_t *out) {
  const lb_entry_t *x = &lb->ents[i];
  memset(out, 0, sizeof *out);
  out->key = beck_nstr(lb->bytes.data + x->koff, (int32_t)x->klen);
  out->value = x->vlen < 0 ? beck_nstr_null() : beck_nstr(lb->bytes.data + x->voff, x->vlen);
  out->timestamp = x->ts;
}
