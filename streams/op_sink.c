/*
 * op_sink.c - to(topic), repartition sinks and late-record sinks: copy each
 * record into a per-partition buffer; at commit (flush) produce every
 * buffer durably through the task's io.
 *
 * Partitioning: Kafka's default partitioner on the key bytes as written
 * (murmur2), null keys round-robin. Repartition sinks drop null-key records
 * (counted as skipped): an aggregation or join could not use them.
 *
 * Windowed records are written with Kafka's windowed key formats, so Kafka
 * clients with WindowedSerdes read them:
 *   time windows (tumbling, hopping, sliding)   key ++ be64(start)
 *   session windows                             key ++ be64(end) ++ be64(start)
 *
 * Buffers are produced at the task's commit, and earlier once they hold
 * SINK_FLUSH_RECORDS records (bounding memory between commits; producing
 * early is harmless under at-least-once: offsets still wait for commit).
 *
 * Invariant: between flushes every buffered byte is owned by the sink's
 * arena (the task arena is reset after each input batch).
 */
#include "streams_int.h"

#include <string.h>

#include "base/alloc.h"

#define SINK_FLUSH_RECORDS 8192

typedef struct part_buf {
  beck_srec_t *recs;
  size_t n, cap;
} part_buf_t;

typedef struct sink_state {
  int32_t nparts;
  part_buf_t *parts;
  beck_arena_t arena;
  uint32_t rr;
  int wkind;
  size_t buffered;
} sink_state_t;

static beck_err_t sink_open(beck__nrt_t *n, beck_error_t *e) {
  sink_state_t *s = beck_calloc(1, sizeof *s);
  if (s == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "sink '%s': out of memory", n->def->name);
  n->state = s;
  beck_arena_init(&s->arena, BECK__TASK_ARENA_CHUNK);
  beck_err_t rc = n->task->io->vt->partitions(n->task->io, n->def->topic, &s->nparts, e);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "sink '%s': topic %s", n->def->name, n->def->topic);
  if (s->nparts < 1)
    return beck_error_set(e, BECK_ERR_INVAL, "sink '%s': topic %s has no partitions", n->def->name, n->def->topic);
  s->parts = beck_calloc((size_t)s->nparts, sizeof *s->parts);
  if (s->parts == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "sink '%s': out of memory", n->def->name);
  s->wkind = n->def->nparents > 0 ? n->def->parents[0]->wkind : 0;
  if (n->def->op == BECK__OP_SINK && n->def->parents[0]->late_sink == n->def)
    s->wkind = 0; /* late records are raw input records */
  return BECK_ERR_OK;
}

static beck_err_t part_push(part_buf_t *p, const beck_srec_t *r) {
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 256;
    beck_srec_t *a = beck_realloc(p->recs, nc * sizeof *a);
    if (a == NULL)
      return BECK_ERR_NOMEM;
    p->recs = a;
    p->cap = nc;
  }
  p->recs[p->n++] = *r;
  return BECK_ERR_OK;
}

static beck_err_t sink_flush(beck__nrt_t *n, beck_error_t *e);

static beck_err_t sink_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  sink_state_t *s = n->state;
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *r = &in->recs[i];
    if (n->def->repartition && r->key.len < 0) {
      n->m_skipped++;
      continue;
    }
    beck_srec_t c;
    if (beck__rec_copy(&s->arena, r, &c) != BECK_ERR_OK)
      goto oom;
    if (r->windowed && s->wkind != 0 && r->key.len >= 0) {
      size_t extra = s->wkind == BECK_WINDOW_SESSION ? 16 : 8;
      uint8_t *k = beck_arena_alloc(&s->arena, (size_t)r->key.len + extra);
      if (k == NULL)
        goto oom;
      if (r->key.len)
        memcpy(k, r->key.ptr, (size_t)r->key.len);
      if (s->wkind == BECK_WINDOW_SESSION) {
        beck_store_be64(k + r->key.len, (uint64_t)r->window_end);
        beck_store_be64(k + r->key.len + 8, (uint64_t)r->window_start);
      } else {
        beck_store_be64(k + r->key.len, (uint64_t)r->window_start);
      }
      c.key = beck_nstr(k, r->key.len + (int32_t)extra);
    }
    int32_t p = c.key.len >= 0 ? beck__partition_for_key(c.key.ptr, (size_t)c.key.len, s->nparts)
                               : (int32_t)(s->rr++ % (uint32_t)s->nparts);
    if (part_push(&s->parts[p], &c) != BECK_ERR_OK)
      goto oom;
    n->m_processed++;
    if (++s->buffered >= SINK_FLUSH_RECORDS) {
      beck_err_t rc = sink_flush(n, e);
      if (rc != BECK_ERR_OK)
        return rc;
    }
  }
  return BECK_ERR_OK;
oom:
  return beck_error_set(e, BECK_ERR_NOMEM, "sink '%s': out of memory", n->def->name);
}

static beck_err_t sink_flush(beck__nrt_t *n, beck_error_t *e) {
  sink_state_t *s = n->state;
  for (int32_t p = 0; p < s->nparts; p++) {
    part_buf_t *b = &s->parts[p];
    if (b->n == 0)
      continue;
    beck_err_t rc = n->task->io->vt->produce(n->task->io, n->def->topic, p, b->recs, b->n, NULL, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "sink '%s': produce to %s-%d", n->def->name, n->def->topic, (int)p);
    b->n = 0;
  }
  beck_arena_reset(&s->arena);
  s->buffered = 0;
  return BECK_ERR_OK;
}

static void sink_close(beck__nrt_t *n) {
  sink_state_t *s = n->state;
  if (s == NULL)
    return;
  for (int32_t p = 0; p < s->nparts && s->parts; p++)
    beck_free(s->parts[p].recs);
  beck_free(s->parts);
  beck_arena_destroy(&s->arena);
  beck_free(s);
  n->state = NULL;
}

const beck__op_vt_t beck__op_sink_vt = {
    .open = sink_open, .process = sink_process, .flush = sink_flush, .close = sink_close};
