/*
 * arena.h - a chunked bump allocator for per-request memory.
 *
 * A request is decoded into an arena and the whole arena is reset after the
 * response is written (nginx pools, h2o's h2o_mem_pool_t): no per-field
 * malloc/free, no leaks on error paths. Memory comes in chunks from
 * beck_malloc (so the OOM test hook applies); an allocation bigger than a
 * quarter of the chunk size gets a chunk of its own.
 *
 * Invariants: every pointer returned is aligned to BECK_ARENA_ALIGN and stays
 * valid until the next beck_arena_reset() or beck_arena_destroy(). `used`
 * counts bytes handed out (rounded up to the alignment) since the last reset;
 * when `limit` is non-zero an allocation that would take `used` past it fails
 * (a second line of defence behind the codec's per-frame caps).
 *
 * Not thread-safe: one arena belongs to one request on one loop.
 */
#ifndef BECK_BASE_ARENA_H
#define BECK_BASE_ARENA_H

#include <stddef.h>

#define BECK_ARENA_ALIGN 16
#define BECK_ARENA_DEFAULT_CHUNK 8192

typedef struct beck_arena_chunk beck_arena_chunk_t;

/* A value type: embed it (in a connection or request object) and call
 * beck_arena_init(); no allocation happens until the first alloc. */
typedef struct beck_arena {
  beck_arena_chunk_t *head; /* most recent chunk first */
  size_t chunk_size;        /* payload bytes of a standard chunk */
  size_t limit;             /* 0 = unlimited */
  size_t used;              /* bytes handed out since the last reset */
} beck_arena_t;

/* Prepares an empty arena. chunk_size 0 means BECK_ARENA_DEFAULT_CHUNK. */
void beck_arena_init(beck_arena_t *a, size_t chunk_size);
/* Caps the bytes handed out between resets; 0 removes the cap. */
void beck_arena_set_limit(beck_arena_t *a, size_t limit);
/* Returns n bytes (uninitialised, aligned), or NULL when out of memory or
 * over the limit. n == 0 is treated as 1. The arena owns the memory. */
void *beck_arena_alloc(beck_arena_t *a, size_t n);
/* Like beck_arena_alloc, zero-filled. */
void *beck_arena_zalloc(beck_arena_t *a, size_t n);
/* Zero-filled count*size bytes; NULL also when the product overflows. */
void *beck_arena_calloc(beck_arena_t *a, size_t count, size_t size);
/* Copies n bytes into the arena; NULL on OOM. */
void *beck_arena_memdup(beck_arena_t *a, const void *p, size_t n);
/* Invalidates every allocation. Keeps one standard chunk for reuse so a
 * steady stream of small requests does not touch malloc; frees the rest. */
void beck_arena_reset(beck_arena_t *a);
/* Frees every chunk. The arena may be reused after beck_arena_init(). */
void beck_arena_destroy(beck_arena_t *a);
/* Bytes handed out since the last reset. */
static inline size_t beck_arena_used(const beck_arena_t *a) { return a->used; }

#endif
