/*
 * op_map.c - the one-in, one-out transformations: map (whole record),
 * map_values (value only), select_key and group_by (key only).
 *
 * Each builds an output batch of the same length in the task arena; the
 * bytes either stay borrowed from the input or were allocated by the
 * callback through beck_sctx_alloc(). map_values restores the key and
 * select_key the value, whatever the callback did, so the shape promises of
 * the builder (no re-key after map_values) hold.
 */
#include "streams_int.h"

typedef enum { MAP_RECORD, MAP_VALUE, MAP_KEY } map_kind_t;

static beck_err_t map_any(beck__nrt_t *n, const beck_sbatch_t *in, map_kind_t kind, beck_error_t *e) {
  const beck_stream_t *d = n->def;
  beck__obatch_t ob;
  beck__ob_init(&ob, beck__arena(n));
  beck_sctx_t ctx;
  beck__sctx_init(&ctx, n, NULL, e);
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *r = &in->recs[i];
    beck_srec_t o = *r;
    int rc;
    switch (kind) {
    case MAP_RECORD:
      rc = d->map(d->ud, &ctx, r, &o);
      break;
    case MAP_VALUE:
      rc = d->bytes(d->ud, &ctx, r, &o.value);
      break;
    default:
      rc = d->bytes(d->ud, &ctx, r, &o.key);
      break;
    }
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

static beck_err_t map_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  return map_any(n, in, MAP_RECORD, e);
}
static beck_err_t map_values_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  return map_any(n, in, MAP_VALUE, e);
}
static beck_err_t select_key_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  return map_any(n, in, MAP_KEY, e);
}

const beck__op_vt_t beck__op_map_vt = {.process = map_process};
const beck__op_vt_t beck__op_map_values_vt = {.process = map_values_process};
const beck__op_vt_t beck__op_select_key_vt = {.process = select_key_process};
