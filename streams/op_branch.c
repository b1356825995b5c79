/*
 * op_branch.c - branch: routes each record to the first arm whose predicate
 * returns 1 (a NULL last predicate matches everything); unmatched records
 * are dropped. Arms are this node's first narms children, in order, and
 * each receives one sub-batch per input batch (order kept within an arm).
 */
#include "streams_int.h"

static beck_err_t branch_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  const beck_stream_t *d = n->def;
  int narms = d->narms;
  beck__obatch_t obs[narms];
  for (int a = 0; a < narms; a++)
    beck__ob_init(&obs[a], beck__arena(n));
  beck_sctx_t ctx;
  beck__sctx_init(&ctx, n, NULL, e);
  for (size_t i = 0; i < in->n; i++) {
    int arm = -1;
    for (int a = 0; a < narms && arm < 0; a++) {
      if (d->preds[a] == NULL) {
        arm = a;
        break;
      }
      int m = d->preds[a](d->pred_uds[a], &ctx, &in->recs[i]);
      if (m < 0 || ctx.nomem) {
        beck_err_t rc = beck__callback_error(n, &ctx, m < 0 ? m : 0, e);
        if (rc != BECK_ERR_OK)
          return rc;
        arm = narms; /* skipped */
      } else if (m > 0) {
        arm = a;
      }
    }
    if (arm >= narms)
      continue;
    n->m_processed++;
    if (arm >= 0 && beck__ob_push(&obs[arm], &in->recs[i]) != BECK_ERR_OK)
      return beck_error_set(e, BECK_ERR_NOMEM, "node '%s': out of memory", d->name);
  }
  for (int a = 0; a < narms; a++) {
    beck_sbatch_t b = beck__ob_view(&obs[a]);
    if (b.n == 0)
      continue;
    beck__nrt_t *c = n->children[a];
    beck_err_t rc = c->vt->process(c, 0, &b, e);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return BECK_ERR_OK;
}

const beck__op_vt_t beck__op_branch_vt = {.process = branch_process};
