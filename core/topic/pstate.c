/* pstate.c - idempotent producer state: a small open-addressing table keyed
 * by ProducerId, each entry holding a ring of the last five batches. */
#include "topic/pstate.h"

#include <string.h>

#include "base/alloc.h"
#include "base/err.h"

typedef struct batch_meta {
  int32_t first_seq, last_seq;
  int64_t first_offset;
} batch_meta_t;

typedef struct producer {
  int64_t pid; /* -1 = empty slot */
  int16_t epoch;
  int n;    /* retained batches, <= BECK_PSTATE_BATCHES */
  int head; /* index of the newest */
  batch_meta_t batches[BECK_PSTATE_BATCHES];
} producer_t;

struct beck_pstate {
  producer_t *slots;
  size_t cap, count;
};

beck_pstate_t *beck_pstate_new(void) { return beck_calloc(1, sizeof(beck_pstate_t)); }

void beck_pstate_destroy(beck_pstate_t *ps) {
  if (ps == NULL)
    return;
  beck_free(ps->slots);
  beck_free(ps);
}

int beck_pstate_count(const beck_pstate_t *ps) { return (int)ps->count; }

/* Sequences wrap from INT32_MAX to 0 (KIP-98). */
static int32_t seq_add(int32_t seq, int32_t delta) {
  int64_t v = (int64_t)seq + delta;
  return (int32_t)(v > INT32_MAX ? v - INT32_MAX - 1 : v);
}

static size_t hash_pid(int64_t pid) { return (size_t)((uint64_t)pid * 0x9E3779B97F4A7C15ull >> 17); }

static producer_t *find(const beck_pstate_t *ps, int64_t pid) {
  if (ps->cap == 0)
    return NULL;
  for (size_t i = hash_pid(pid) & (ps->cap - 1);; i = (i + 1) & (ps->cap - 1)) {
    if (ps->slots[i].pid == pid)
      return &ps->slots[i];
    if (ps->slots[i].pid == -1)
      return NULL;
  }
}

static int grow(beck_pstate_t *ps) {
  size_t cap = ps->cap ? ps->cap * 2 : 16;
  producer_t *slots = beck_malloc(cap * sizeof *slots);
  if (slots == NULL)
    return BECK_ERR_NOMEM;
  for (size_t i = 0; i < cap; i++)
    slots[i].pid = -1;
  for (size_t j = 0; j < ps->cap; j++) {
    if (ps->slots[j].pid < 0)
      continue;
    size_t i = hash_pid(ps->slots[j].pid) & (cap - 1);
    while (slots[i].pid != -1)
      i = (i + 1) & (cap - 1);
    slots[i] = ps->slots[j];
  }
  beck_free(ps->slots);
  ps->slots = slots;
  ps->cap = cap;
  return 0;
}

beck_pstate_verdict_t beck_pstate_check(const beck_pstate_t *ps, const beck_batch_header_t *h,
                                        int64_t *dup_base_offset) {
  if (h->producer_id < 0)
    return BECK_PSTATE_OK;
  const producer_t *p = find(ps, h->producer_id);
  if (p == NULL || p->n == 0)
    return BECK_PSTATE_OK;
  int32_t first = h->base_sequence;
  int32_t last = seq_add(first, h->last_offset_delta);
  if (h->producer_epoch == p->epoch) {
    for (int k = 0; k < p->n; k++) {
      const batch_meta_t *b = &p->batches[(p->head - k + BECK_PSTATE_BATCHES) % BECK_PSTATE_BATCHES];
      if (b->first_seq == first && b->last_seq == last) {
        if (dup_base_offset)
          *dup_base_offset = b->first_offset;
        return BECK_PSTATE_DUPLICATE;
      }
    }
  }
  if (h->producer_epoch < p->epoch)
    return BECK_PSTATE_INVALID_EPOCH;
  if (h->producer_epoch > p->epoch)
    return first == 0 ? BECK_PSTATE_OK : BECK_PSTATE_OUT_OF_ORDER;
  int32_t last_seq = p->batches[p->head].last_seq;
  int32_t expect = seq_add(last_seq, 1);
  return first == expect ? BECK_PSTATE_OK : BECK_PSTATE_OUT_OF_ORDER;
}

int beck_pstate_observe(beck_pstate_t *ps, const beck_batch_header_t *h) {
  if (h->producer_id < 0)
    return 0;
  producer_t *p = find(ps, h->producer_id);
  if (p == NULL) {
    if ((ps->count + 1) * 4 > ps->cap * 3 && grow(ps))
      return BECK_ERR_NOMEM;
    size_t i = hash_pid(h->producer_id) & (ps->cap - 1);
    while (ps->slots[i].pid != -1)
      i = (i + 1) & (ps->cap - 1);
    p = &ps->slots[i];
    memset(p, 0, sizeof *p);
    p->pid = h->producer_id;
    p->epoch = h->producer_epoch;
    ps->count++;
  }
  if (h->producer_epoch != p->epoch) {
    p->epoch = h->producer_epoch;
    p->n = 0;
  }
  p->head = (p->head + 1) % BECK_PSTATE_BATCHES;
  batch_meta_t *b = &p->batches[p->head];
  b->first_seq = h->base_sequence;
  b->last_seq = seq_add(h->base_sequence, h->last_offset_delta);
  b->first_offset = h->base_offset;
  if (p->n < BECK_PSTATE_BATCHES)
    p->n++;
  return 0;
}
