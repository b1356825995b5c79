/*
 * join_table.c - joins that look up a table: stream-table and table-table,
 * and the lookup itself (beck__table_get).
 *
 * Tables are materialized by their own node (a table source or an
 * aggregation), in the same task because join inputs are co-partitioned.
 *
 * stream-table (Kafka's KStream-KTable join): only stream records trigger
 * output; a table update never does. The stream record meets the table's
 * value at the moment it is processed (processing order, not timestamps).
 *   inner  no table value -> no output
 *   left   no table value -> joiner(stream, null); null keys join null too
 *          (KIP-962)
 * The result has the stream record's key, timestamp and headers.
 *
 * table-table (Kafka's KTable-KTable join): every update of either side
 * (L = left value, R = right value after the update) gives
 *   inner  L and R present -> joiner(L, R); the updated side was deleted
 *          while the other is present -> tombstone; otherwise nothing
 *   left   left update: L present -> joiner(L, R or null), L deleted ->
 *          tombstone; right update: L present -> joiner(L, R or null)
 *   outer  L or R present -> joiner(L or null, R or null); both absent ->
 *          tombstone
 * with timestamp max(update, other side's value). The result is a table
 * whose changes flow downstream (it is not materialized itself).
 */
#include "streams_int.h"

#include <string.h>

#include "base/alloc.h"

int beck__table_get(beck__nrt_t *table, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *value, int64_t *ts,
                    beck_error_t *e) {
  if (key.len < 0)
    return 0;
  beck_slice_t v;
  int found = beck__store_get(table->store, key.ptr, (size_t)key.len, &v, ts, e);
  if (found <= 0)
    return found;
  /* Copy: the store's buffer is only valid until its next call, and the
   * joiner may return these bytes as its result. */
  beck_nstr_t copy = beck_sctx_copy(ctx, v.ptr, (int32_t)v.len);
  if (copy.len < 0)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  if (table->def->op == BECK__OP_AGGREGATE) {
    int rc = beck__agg_result(&table->def->agg, ctx, copy, value);
    if (rc < 0) {
      if (!ctx->failed)
        beck_error_set(e, (beck_err_t)rc, "%s", beck_strerror(rc));
      ctx->failed = false;
      return beck_error_wrap(e, "table '%s'", table->def->name);
    }
    return 1;
  }
  *value = copy;
  return 1;
}

/* ---- stream-table ---------------------------------------------------------- */

static beck_err_t st_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  if (port != 0)
    return BECK_ERR_OK; /* table updates do not trigger output */
  const beck_stream_t *d = n->def;
  beck__nrt_t *table = n->state;
  beck__obatch_t ob;
  beck__ob_init(&ob, beck__arena(n));
  beck_sctx_t ctx;
  beck__sctx_init(&ctx, n, NULL, e);
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *r = &in->recs[i];
    beck_srec_t right = {.key = r->key, .value = beck_nstr_null(), .timestamp = -1};
    int found = beck__table_get(table, &ctx, r->key, &right.value, &right.timestamp, e);
    if (found < 0)
      return beck_error_wrap(e, "node '%s'", d->name);
    if (!found && d->join.kind == BECK_JOIN_INNER) {
      if (r->key.len < 0)
        n->m_skipped++;
      continue;
    }
    beck_srec_t o = *r;
    int rc = d->joiner(d->ud, &ctx, r, &right, &o.value);
    if (rc < 0 || ctx.nomem) {
      beck_err_t erc = beck__callback_error(n, &ctx, rc < 0 ? rc : 0, e);
      if (erc != BECK_ERR_OK)
        return erc;
      continue;
    }
    n->m_processed++;
    if (beck__ob_push(&ob, &o) != BECK_ERR_OK)
      return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", d->name);
  }
  beck_sbatch_t b = beck__ob_view(&ob);
  return beck__forward(n, &b, e);
}

static beck_err_t st_open(beck__nrt_t *n, beck_error_t *e) {
  n->state = beck__task_node(n->task, n->def->parents[1]);
  if (n->state == NULL)
    return beck_error_set(e, BECK_ERR_STATE, "node '%s': table '%s' is not in this task", n->def->name,
                          n->def->parents[1]->name);
  return BECK_ERR_OK;
}

const beck__op_vt_t beck__op_join_st_vt = {.open = st_open, .process = st_process};

/* ---- table-table ------------------------------------------------------------- */

typedef struct tt_state {
  beck__nrt_t *side[2];
} tt_state_t;

static beck_err_t tt_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  const beck_stream_t *d = n->def;
  tt_state_t *st = n->state;
  beck__obatch_t ob;
  beck__ob_init(&ob, beck__arena(n));
  beck_sctx_t ctx;
  beck__sctx_init(&ctx, n, NULL, e);
  beck_join_kind_t kind = d->join.kind;
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *u = &in->recs[i];
    if (u->key.len < 0) {
      n->m_skipped++;
      continue;
    }
    beck_srec_t other = {.key = u->key, .value = beck_nstr_null(), .timestamp = -1};
    int found = beck__table_get(st->side[1 - port], &ctx, u->key, &other.value, &other.timestamp, e);
    if (found < 0)
      return beck_error_wrap(e, "node '%s'", d->name);
    const beck_srec_t *l = port == 0 ? u : &other, *r = port == 0 ? &other : u;
    bool lp = l->value.len >= 0, rp = r->value.len >= 0;
    enum { NOTHING, JOIN, TOMBSTONE } what = NOTHING;
    switch (kind) {
    case BECK_JOIN_INNER:
      what = lp && rp ? JOIN : (found ? TOMBSTONE : NOTHING);
      break;
    case BECK_JOIN_LEFT:
      if (port == 0)
        what = lp ? JOIN : TOMBSTONE;
      else
        what = lp ? JOIN : NOTHING;
      break;
    case BECK_JOIN_OUTER:
      what = lp || rp ? JOIN : TOMBSTONE;
      break;
    }
    if (what == NOTHING)
      continue;
    beck_srec_t o = {.key = u->key, .value = beck_nstr_null(), .timestamp = u->timestamp};
    if (found && other.timestamp > o.timestamp)
      o.timestamp = other.timestamp;
    if (what == JOIN) {
      int rc = d->joiner(d->ud, &ctx, l, r, &o.value);
      if (rc < 0 || ctx.nomem) {
        beck_err_t erc = beck__callback_error(n, &ctx, rc < 0 ? rc : 0, e);
        if (erc != BECK_ERR_OK)
          return erc;
        continue;
      }
    }
    n->m_processed++;
    if (beck__ob_push(&ob, &o) != BECK_ERR_OK)
      return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", d->name);
  }
  beck_sbatch_t b = beck__ob_view(&ob);
  return beck__forward(n, &b, e);
}

static beck_err_t tt_open(beck__nrt_t *n, beck_error_t *e) {
  tt_state_t *st = beck_calloc(1, sizeof *st);
  if (st == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", n->def->name);
  n->state = st;
  for (int i = 0; i < 2; i++) {
    st->side[i] = beck__task_node(n->task, n->def->parents[i]);
    if (st->side[i] == NULL)
      return beck_error_set(e, BECK_ERR_STATE, "node '%s': table '%s' is not in this task", n->def->name,
                            n->def->parents[i]->name);
  }
  return BECK_ERR_OK;
}

static void tt_close(beck__nrt_t *n) {
  beck_free(n->state);
  n->state = NULL;
}

const beck__op_vt_t beck__op_join_tt_vt = {.open = tt_open, .process = tt_process, .close = tt_close};
