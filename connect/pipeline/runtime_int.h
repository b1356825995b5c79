/*
 * runtime_int.h - private to the pipeline runtime (compile.c, values.c,
 * aggregate.c, run.c, ptest.c, plugins.c): the compiled pipeline's
 * per-stream and per-step state, and the helpers that turn record bytes into
 * expression values and back.
 *
 * Who owns what: a beck_pipeline_compiled_t owns its topology and every
 * callback context (the `ud` of each builder call) and frees them together;
 * the pipeline it was compiled from is borrowed. Callback contexts are
 * shared by the tasks of a node (several threads), so they hold only
 * immutable data plus relaxed atomic counters; evaluation state
 * (beck_expr_ctx_t) lives on the stack of each call, its memory in the
 * batch arena (beck_sctx_alloc).
 */
#ifndef BECK_CONNECT_PIPELINE_RUNTIME_INT_H
#define BECK_CONNECT_PIPELINE_RUNTIME_INT_H

#include <stdatomic.h>

#include "connect/pipeline/runtime.h"

/* ---- values (values.c) ------------------------------------------------------ */

/* Record bytes as an expression value: a value is JSON when it parses as
 * JSON, else a string of its bytes; null bytes are null. A key is a string
 * unless it holds a JSON object, array or quoted string. The result may
 * borrow from b and from *owned (a parsed document the caller releases with
 * json_decref once done with the value; NULL when nothing was parsed). */
beck_val_t beck__pl_decode_value(beck_nstr_t b, json_t **owned);
beck_val_t beck__pl_decode_key(beck_nstr_t b, json_t **owned);
/* Appends v as record bytes: a string as its bytes, anything else as
 * compact JSON (null as "null"; callers that want a null record write none). */
beck_err_t beck__pl_write_val(const beck_val_t *v, beck_buf_t *out);
/* The window of a record: its own bounds when the runtime set them, else
 * the window headers a windowed result was written with. */
bool beck__pl_record_window(const beck_srec_t *r, int64_t *start, int64_t *end);

/* What an expression sees of one record. Decodes only the roots asked for.
 * release() drops what fill() parsed. */
typedef struct pl_input {
  beck_expr_input_t in;
  json_t *vown, *kown;
} pl_input_t;
void beck__pl_input_fill(pl_input_t *pi, const beck_srec_t *r, uint32_t roots, int32_t partition);
void beck__pl_input_release(pl_input_t *pi);

/* An evaluation context whose memory comes from the batch arena of ctx
 * (NULL: its own arena) and whose clock is the compiled pipeline's. */
struct beck_pipeline_compiled;
void beck__pl_ctx_init(beck_expr_ctx_t *ec, beck_sctx_t *ctx, const struct beck_pipeline_compiled *c);

/* Copies buf into the batch arena as a record field. */
beck_err_t beck__pl_to_nstr(beck_sctx_t *ctx, const beck_buf_t *buf, beck_nstr_t *out);

/* ---- the compiled pipeline ----------------------------------------------------- */

typedef struct pl_step_rt pl_step_rt_t;
typedef struct pl_stream_rt pl_stream_rt_t;

/* Per step: its counter and what its callbacks need. */
struct pl_step_rt {
  struct beck_pipeline_compiled *c;
  pl_stream_rt_t *stream;
  const beck_pipeline_step_t *step;
  _Atomic uint64_t count;
  char where[300]; /* "FILE:LINE:COL: step 'filter' of stream 'x'" for error messages */
  /* aggregate */
  pl_step_rt_t *window; /* the window step before it, counted alike; NULL if none */
  size_t naggs;
  uint32_t arg_roots; /* union of the roots the aggregate arguments read */
  /* join */
  beck_expr_t *select_default; /* {left: left, right: right} when no select */
  /* branch: one predicate context per item */
  struct pl_pred *preds;
  size_t npreds;
};

typedef struct pl_pred {
  pl_step_rt_t *step;
  const beck_expr_t *when;
} pl_pred_t;

struct pl_stream_rt {
  struct beck_pipeline_compiled *c;
  const beck_pipeline_stream_t *def;
  _Atomic uint64_t in, out;
  pl_step_rt_t *steps; /* def->nsteps */
};

struct beck_pipeline_compiled {
  const beck_pipeline_t *p;
  beck_topology_t *topo;
  pl_stream_rt_t *streams; /* p->nstreams */
  char **topics;           /* internal topics */
  size_t ntopics;
  struct pl_table_node {
    const char *name;
    beck_stream_t *node;
  } * tables;
  size_t ntables;
  struct pl_source_node { /* one source node per topic, shared by its readers */
    const char *topic;
    beck_stream_t *node;
  } * sources;
  size_t nsources;
  void **owned; /* chains and other callback contexts, freed with c */
  size_t nowned, capowned;
  _Atomic int64_t max_time;
  /* Called (on a task thread, before the batch's effects can be committed)
   * each time max_time rises; NULL: nobody keeps it (the test runner). */
  void (*time_moved)(void *ud, int64_t t);
  void *time_ud;
  int64_t horizon;
  /* now() in expressions; NULL: the wall clock (the test runner sets its
   * virtual time) */
  int64_t (*clock)(void *ud);
  void *clock_ud;
};

/* Raises max_time to t (a value kept by an earlier run) without calling
 * time_moved. Before the streams start. */
void beck__pl_restore_time(struct beck_pipeline_compiled *c, int64_t t);

/* aggregate.c: the expression aggregator (window + aggregate steps) and
 * dedupe, as streams aggregators plus the process callbacks that turn
 * their stored state into output records. */
extern const beck_aggregator_t beck__pl_expr_aggregator_proto;
beck_err_t beck__pl_agg_result(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in);
beck_err_t beck__pl_dedupe_init(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *out);
beck_err_t beck__pl_dedupe_add(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_nstr_t agg, beck_nstr_t *out);
beck_err_t beck__pl_dedupe_emit(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in);
beck_err_t beck__pl_dedupe_stash(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in);
beck_err_t beck__pl_dedupe_by(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out);

/* Reports an expression's runtime error for the record being processed. */
beck_err_t beck__pl_eval_fail(beck_sctx_t *ctx, const pl_step_rt_t *st, const beck_expr_ctx_t *ec, beck_err_t rc);

#endif
