/* arena.c - chunked bump allocator (see arena.h). */
#include "base/arena.h"

#include <stdint.h>
#include <string.h>

#include "base/alloc.h"

struct beck_arena_chunk {
  beck_arena_chunk_t *next;
  size_t cap; /* payload bytes after the header */
  size_t off; /* next free payload byte */
  _Alignas(BECK_ARENA_ALIGN) unsigned char data[];
};

static size_t round_up(size_t n) { return (n + (BECK_ARENA_ALIGN - 1)) & ~(size_t)(BECK_ARENA_ALIGN - 1); }

void beck_arena_init(beck_arena_t *a, size_t chunk_size) {
  a->head = NULL;
  a->chunk_size = chunk_size ? round_up(chunk_size) : BECK_ARENA_DEFAULT_CHUNK;
  a->limit = 0;
  a->used = 0;
}

void beck_arena_set_limit(beck_arena_t *a, size_t limit) { a->limit = limit; }

static beck_arena_chunk_t *chunk_new(size_t cap) {
  if (cap > SIZE_MAX - sizeof(beck_arena_chunk_t))
    return NULL;
  beck_arena_chunk_t *c = beck_malloc(sizeof(beck_arena_chunk_t) + cap);
  if (c == NULL)
    return NULL;
  c->next = NULL;
  c->cap = cap;
  c->off = 0;
  return c;
}

void *beck_arena_alloc(beck_arena_t *a, size_t n) {
  if (n == 0)
    n = 1;
  if (n > SIZE_MAX - BECK_ARENA_ALIGN)
    return NULL;
  n = round_up(n);
  if (a->limit && (n > a->limit || a->used > a->limit - n))
    return NULL;
  beck_arena_chunk_t *c = a->head;
  if (c == NULL || c->cap - c->off < n) {
    if (n > a->chunk_size / 4) {
      /* Big: a chunk of its own, linked behind the current one so the
       * current chunk keeps serving small allocations. */
      beck_arena_chunk_t *big = chunk_new(n);
      if (big == NULL)
        return NULL;
      big->off = n;
      if (c == NULL) {
        a->head = big;
      } else {
        big->next = c->next;
        c->next = big;
      }
      a->used += n;
      return big->data;
    }
    c = chunk_new(a->chunk_size);
    if (c == NULL)
      return NULL;
    c->next = a->head;
    a->head = c;
  }
  void *p = c->data + c->off;
  c->off += n;
  a->used += n;
  return p;
}

void *beck_arena_zalloc(beck_arena_t *a, size_t n) {
  void *p = beck_arena_alloc(a, n);
  if (p != NULL)
    memset(p, 0, n ? n : 1);
  return p;
}

void *beck_arena_calloc(beck_arena_t *a, size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size)
    return NULL;
  return beck_arena_zalloc(a, count * size);
}

void *beck_arena_memdup(beck_arena_t *a, const void *p, size_t n) {
  void *d = beck_arena_alloc(a, n);
  if (d != NULL && n)
    memcpy(d, p, n);
  return d;
}

void beck_arena_reset(beck_arena_t *a) {
  beck_arena_chunk_t *keep = NULL;
  beck_arena_chunk_t *c = a->head;
  while (c != NULL) {
    beck_arena_chunk_t *next = c->next;
    if (keep == NULL && c->cap == a->chunk_size) {
      keep = c;
      keep->next = NULL;
      keep->off = 0;
    } else {
      beck_free(c);
    }
    c = next;
  }
  a->head = keep;
  a->used = 0;
}

void beck_arena_destroy(beck_arena_t *a) {
  beck_arena_chunk_t *c = a->head;
  while (c != NULL) {
    beck_arena_chunk_t *next = c->next;
    beck_free(c);
    c = next;
  }
  a->head = NULL;
  a->used = 0;
}
