/*
 * op_pass.c - nodes that only shape the topology and forward batches as
 * they come: merge (several parents, arrival order), branch arms,
 * group_by_key, window specs and to_stream.
 */
#include "streams_int.h"

static beck_err_t pass_process(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e) {
  n->m_processed += (int64_t)in->n;
  return beck__forward(n, in, e);
}

const beck__op_vt_t beck__op_pass_vt = {.process = pass_process};
