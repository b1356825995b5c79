/* alloc.c - allocation wrapper with a fault-injection hook (see alloc.h). */
#include "base/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;

static int should_fail(void) {
  long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
  if (n < 0)
    return 0;
  if (n == 0)
    return 1;
  atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
  return 0;
}

void beck_alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }

void *beck_malloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }

void *beck_calloc(size_t count, size_t size) {
  return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *beck_realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n ? n : 1); }

void beck_free(void *p) { free(p); }

char *beck_strndup(const char *s, size_t n) {
  char *d = beck_malloc(n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *beck_strdup(const char *s) { return beck_strndup(s, strlen(s)); }
