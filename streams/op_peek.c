/*
 * op_peek.c - peek: calls the callback for each record and forwards the
 * batch unchanged (the same array).
 */
#include "streams_int.h"

static beck_err_t peek_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  const beck_stream_t *d = n->def;
  beck_sctx_t ctx;
  beck__sctx_init(&ctx, n, NULL, e);
  for (size_t i = 0; i < in->n; i++)
    d->peek(d->ud, &ctx, &in->recs[i]);
  n->m_processed += (int64_t)in->n;
  return beck__forward(n, in, e);
}

const beck__op_vt_t beck__op_peek_vt = {.process = peek_process};
