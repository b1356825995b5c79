/*
 * op_flat_map.c - flat_map: each record becomes zero or more records that
 * the callback emits with beck_sctx_emit(), collected into one output batch
 * per input batch (in input order, then emit order).
 */
#include "streams_int.h"

static beck_err_t flat_map_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  const beck_stream_t *d = n->def;
  beck__obatch_t ob;
  beck__ob_init(&ob, beck__arena(n));
  beck_sctx_t ctx;
  beck__sctx_init(&ctx, n, &ob, e);
  for (size_t i = 0; i < in->n; i++) {
    size_t mark = ob.n;
    beck_err_t rc = d->flat_map(d->ud, &ctx, &in->recs[i]);
    if (rc < 0 || ctx.nomem) {
      ob.n = mark; /* drop what the failed call emitted */
      rc = beck__callback_error(n, &ctx, rc < 0 ? rc : 0, e);
      if (rc != BECK_ERR_OK)
        return rc;
      continue;
    }
    n->m_processed++;
  }
  beck_sbatch_t b = beck__ob_view(&ob);
  return beck__forward(n, &b, e);
}

const beck__op_vt_t beck__op_flat_map_vt = {.process = flat_map_process};
