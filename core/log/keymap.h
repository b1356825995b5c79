/*
 * keymap.h - exact map from record key bytes to the latest offset seen for
 * that key, used by log compaction (private to core/log).
 *
 * Open addressing with linear probing over a power-of-two table; the table
 * is kept at most 1/2 full. Keys are copied once into one growing arena, so
 * building the map costs no allocation per record (amortised doubling
 * only). Unlike Kafka's cleaner (which keeps 16-byte MD5 digests and can
 * confuse two keys), lookups compare the full key bytes, so two distinct
 * keys are never merged. Not thread-safe.
 */
#ifndef BECK_LOG_KEYMAP_H
#define BECK_LOG_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

typedef struct beck_keymap_slot {
  uint64_t hash;
  uint64_t key_off; /* into keys */
  uint32_t key_len;
  int64_t offset; /* -1 = empty slot */
} beck_keymap_slot_t;

typedef struct beck_keymap {
  beck_keymap_slot_t *slots;
  size_t cap; /* power of two, or 0 */
  size_t n;
  beck_buf_t keys; /* arena of key bytes */
} beck_keymap_t;

void beck__keymap_init(beck_keymap_t *m);
void beck__keymap_free(beck_keymap_t *m);
/* Records that `key` was seen at `offset` (overwrites: callers feed offsets
 * in increasing order, so the last write is the latest). Copies the key. */
beck_err_t beck__keymap_put(beck_keymap_t *m, const uint8_t *key, size_t len, int64_t offset);
/* The latest offset of key, or -1 when never seen. */
int64_t beck__keymap_get(const beck_keymap_t *m, const uint8_t *key, size_t len);

#endif
