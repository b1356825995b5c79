/*
 * op_aggregate.c - aggregation of a grouped stream into a table: count,
 * sum, min, max, avg, reduce and aggregate (see aggregator.c).
 *
 * Per record: skip it when its key or value is null (counted, like Kafka);
 * read the key's state; fold the record in; write the state back with
 * timestamp max(old, record) and emit (key, result) with that timestamp.
 * Every update is emitted (Kafka Streams with caching disabled), so output
 * is exact and independent of batching. A null result (a reducer or
 * aggregator returning null) deletes the key and emits a tombstone.
 */
#include "streams_int.h"

static beck_err_t agg_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  const beck_stream_t *d = n->def;
  beck__obatch_t ob;
  beck__ob_init(&ob, beck__arena(n));
  beck_sctx_t ctx;
  beck__sctx_init(&ctx, n, NULL, e);
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *r = &in->recs[i];
    if (r->key.len < 0 || r->value.len < 0) {
      n->m_skipped++;
      continue;
    }
    beck_slice_t cur;
    int64_t ts = r->timestamp;
    int found = beck__store_get(n->store, r->key.ptr, (size_t)r->key.len, &cur, &ts, e);
    if (found < 0)
      return beck_error_wrap(e, "node '%s'", d->name);
    beck_nstr_t state = beck_nstr(cur.ptr, (int32_t)cur.len), next;
    if (found && ts < r->timestamp)
      ts = r->timestamp;
    bool skip;
    int rc = beck__agg_add(&d->agg, &ctx, r, found ? &state : NULL, &next, &skip);
    if (rc < 0 || ctx.nomem) {
      beck_err_t erc = beck__callback_error(n, &ctx, rc < 0 ? rc : 0, e);
      if (erc != BECK_ERR_OK)
        return erc;
      continue;
    }
    if (skip) {
      n->m_skipped++;
      continue;
    }
    beck_srec_t o = {.key = r->key, .timestamp = ts, .value = beck_nstr_null()};
    if (next.len >= 0) {
      rc = beck__agg_result(&d->agg, &ctx, next, &o.value);
      if (rc < 0 || ctx.nomem) {
        beck_err_t erc = beck__callback_error(n, &ctx, rc < 0 ? rc : 0, e);
        if (erc != BECK_ERR_OK)
          return erc;
        continue;
      }
    }
    beck_err_t src = next.len < 0
                         ? beck__store_del(n->store, r->key.ptr, (size_t)r->key.len, ts, e)
                         : beck__store_put(n->store, r->key.ptr, (size_t)r->key.len, next.ptr, (size_t)next.len, ts, e);
    if (src != BECK_ERR_OK)
      return beck_error_wrap(e, "node '%s'", d->name);
    n->m_processed++;
    if (beck__ob_push(&ob, &o) != BECK_ERR_OK)
      return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", d->name);
  }
  beck_sbatch_t b = beck__ob_view(&ob);
  return beck__forward(n, &b, e);
}

const beck__op_vt_t beck__op_aggregate_vt = {.process = agg_process};
