/*
 * op_process.c - process: a user operator over whole batches; whatever it
 * emits with beck_sctx_emit() is forwarded as one batch. An error from the
 * callback concerns the whole batch: under BECK_ON_ERROR_SKIP the batch's
 * output is dropped and every input record counts as skipped.
 */
#include "streams_int.h"

static beck_err_t process_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  const beck_stream_t *d = n->def;
  beck__obatch_t ob;
  beck__ob_init(&ob, beck__arena(n));
  beck_sctx_t ctx;
  beck__sctx_init(&ctx, n, &ob, e);
  beck_err_t rc = d->process(d->ud, &ctx, in);
  if (rc < 0 || ctx.nomem) {
    int64_t before = n->m_skipped;
    rc = beck__callback_error(n, &ctx, rc < 0 ? rc : 0, e);
    if (rc != BECK_ERR_OK)
      return rc;
    n->m_skipped = before + (int64_t)in->n;
    return BECK_ERR_OK;
  }
  n->m_processed += (int64_t)in->n;
  beck_sbatch_t b = beck__ob_view(&ob);
  return beck__forward(n, &b, e);
}

const beck__op_vt_t beck__op_process_vt = {.process = process_process};
