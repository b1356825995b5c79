/*
 * alloc.h - the one allocation wrapper.
 *
 * OOM policy: parsers, stores and connectors return BECK_ERR_NOMEM when an
 * allocation fails, so they can be fuzzed and fault-injected. Every
 * allocation in Beck goes through these functions; tests install a hook with
 * beck_alloc_fail_after() to make the Nth allocation from now fail.
 */
#ifndef BECK_BASE_ALLOC_H
#define BECK_BASE_ALLOC_H

#include <stddef.h>

void *beck_malloc(size_t n);
void *beck_calloc(size_t count, size_t size);
void *beck_realloc(void *p, size_t n);
void beck_free(void *p);
/* Copies s (NUL-terminated); NULL on OOM. */
char *beck_strdup(const char *s);
/* Copies n bytes of s and terminates; NULL on OOM. */
char *beck_strndup(const char *s, size_t n);

/* Test hook: the allocation after `n` more successful ones fails; -1 turns
 * the hook off. Process-wide and not meant for concurrent use. */
void beck_alloc_fail_after(long n);

#endif
