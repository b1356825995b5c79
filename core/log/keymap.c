/*
 * keymap.c - key -> latest offset map for compaction (see keymap.h).
 */
#include "log/keymap.h"

#include <string.h>

#include "base/alloc.h"

/* 64-bit FNV-1a with a final avalanche (splitmix64's mixer). */
static uint64_t hash_key(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

void beck__keymap_init(beck_keymap_t *m) { memset(m, 0, sizeof *m); }

void beck__keymap_free(beck_keymap_t *m) {
  beck_free(m->slots);
  beck_buf_free(&m->keys);
  memset(m, 0, sizeof *m);
}

static beck_keymap_slot_t *find(const beck_keymap_t *m, uint64_t h, const uint8_t *key, size_t len) {
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    beck_keymap_slot_t *s = &m->slots[i];
    if (s->offset < 0)
      return s;
    if (s->hash == h && s->key_len == len && (len == 0 || memcmp(m->keys.data + s->key_off, key, len) == 0))
      return s;
  }
}

static beck_err_t grow(beck_keymap_t *m) {
  size_t nc = m->cap ? m->cap * 2 : 1024;
  beck_keymap_slot_t *ns = beck_malloc(nc * sizeof *ns);
  if (ns == NULL)
    return BECK_ERR_NOMEM;
  for (size_t i = 0; i < nc; i++)
    ns[i].offset = -1;
  for (size_t i = 0; i < m->cap; i++) {
    beck_keymap_slot_t *s = &m->slots[i];
    if (s->offset < 0)
      continue;
    size_t mask = nc - 1, j = s->hash & mask;
    while (ns[j].offset >= 0)
      j = (j + 1) & mask;
    ns[j] = *s;
  }
  beck_free(m->slots);
  m->slots = ns;
  m->cap = nc;
  return BECK_ERR_OK;
}

beck_err_t beck__keymap_put(beck_keymap_t *m, const uint8_t *key, size_t len, int64_t offset) {
  if (len > UINT32_MAX)
    return BECK_ERR_TOOBIG;
  if ((m->n + 1) * 2 > m->cap && grow(m))
    return BECK_ERR_NOMEM;
  uint64_t h = hash_key(key, len);
  beck_keymap_slot_t *s = find(m, h, key, len);
  if (s->offset < 0) {
    uint64_t at = m->keys.len;
    if (beck_buf_append(&m->keys, key, len))
      return BECK_ERR_NOMEM;
    s->hash = h;
    s->key_off = at;
    s->key_len = (uint32_t)len;
    m->n++;
  }
  s->offset = offset;
  return BECK_ERR_OK;
}

int64_t beck__keymap_get(const beck_keymap_t *m, const uint8_t *key, size_t len) {
  if (m->cap == 0)
    return -1;
  return find(m, hash_key(key, len), key, len)->offset;
}
