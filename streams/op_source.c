/*
 * op_source.c - where records enter a task: stream sources (external and
 * repartition topics) and table sources (materialized, latest value per key).
 *
 * A source applies the event-time extractor, advances the task's stream
 * time (max timestamp read) and forwards the batch unchanged otherwise.
 * A table source also writes each record into its store before forwarding:
 * a null value deletes the key; records with a null key are skipped (they
 * cannot address a row), as in Kafka.
 */
#include "streams_int.h"

static beck_err_t source_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  const beck_stream_t *d = n->def;
  beck__task_t *task = n->task;
  beck_sbatch_t b = *in;
  if (d->time_fn != NULL) {
    beck_srec_t *recs = beck_arena_alloc(&task->arena, in->n * sizeof *recs);
    if (recs == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", d->name);
    for (size_t i = 0; i < in->n; i++) {
      recs[i] = in->recs[i];
      recs[i].timestamp = d->time_fn(d->ud, &in->recs[i]);
    }
    b.recs = recs;
  }
  for (size_t i = 0; i < b.n; i++)
    if (b.recs[i].timestamp > task->stream_time)
      task->stream_time = b.recs[i].timestamp;
  n->m_processed += (int64_t)b.n;
  return beck__forward(n, &b, e);
}

const beck__op_vt_t beck__op_source_vt = {.process = source_process};

static beck_err_t table_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  beck__task_t *task = n->task;
  beck__obatch_t ob;
  beck__ob_init(&ob, &task->arena);
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *r = &in->recs[i];
    if (r->timestamp > task->stream_time)
      task->stream_time = r->timestamp;
    if (r->key.len < 0) {
      n->m_skipped++;
      continue;
    }
    beck_err_t rc;
    if (r->value.len < 0)
      rc = beck__store_del(n->store, r->key.ptr, (size_t)r->key.len, r->timestamp, e);
    else
      rc = beck__store_put(n->store, r->key.ptr, (size_t)r->key.len, r->value.ptr, (size_t)r->value.len, r->timestamp,
                           e);
    if (rc == BECK_ERR_OK)
      rc = beck__ob_push(&ob, r);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "table '%s'", n->def->name);
    n->m_processed++;
  }
  beck_sbatch_t b = beck__ob_view(&ob);
  return beck__forward(n, &b, e);
}

const beck__op_vt_t beck__op_table_source_vt = {.process = table_process};
