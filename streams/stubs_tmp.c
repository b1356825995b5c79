/* stubs_tmp.c - operators that later steps implement; a topology using them
 * fails when its tasks open. */
#include "streams_int.h"

static beck_err_t not_yet(beck__nrt_t *n, beck_error_t *e) {
  return beck_error_set(e, BECK_ERR_UNSUPPORTED, "node '%s': %s is not implemented yet", n->def->name,
                        n->def->opname);
}
static beck_err_t nop(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) { return BECK_ERR_OK; }

const beck__op_vt_t beck__op_join_ss_vt = {.open = not_yet, .process = nop};
const beck__op_vt_t beck__op_join_st_vt = {.open = not_yet, .process = nop};
const beck__op_vt_t beck__op_join_tt_vt = {.open = not_yet, .process = nop};

int beck__table_get(beck__nrt_t *table, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *value, int64_t *ts,
                    beck_error_t *e) {
  return BECK_ERR_UNSUPPORTED;
}
