/*
 * op_filter.c - filter: keeps the records whose predicate returns 1, in
 * order. The output batch points at the input's records (no copies).
 */
#include "streams_int.h"

static beck_err_t filter_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  const beck_stream_t *d = n->def;
  beck__obatch_t ob;
  beck__ob_init(&ob, beck__arena(n));
  beck_sctx_t ctx;
  beck__sctx_init(&ctx, n, NULL, e);
  for (size_t i = 0; i < in->n; i++) {
    int keep = d->pred(d->ud, &ctx, &in->recs[i]);
    if (keep < 0 || ctx.nomem) {
      beck_err_t rc = beck__callback_error(n, &ctx, keep < 0 ? keep : 0, e);
      if (rc != BECK_ERR_OK)
        return rc;
      continue;
    }
    n->m_processed++;
    if (keep > 0 && beck__ob_push(&ob, &in->recs[i]) != BECK_ERR_OK)
      return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", d->name);
  }
  beck_sbatch_t b = beck__ob_view(&ob);
  return beck__forward(n, &b, e);
}

const beck__op_vt_t beck__op_filter_vt = {.process = filter_process};
