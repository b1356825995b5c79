/*
 * compile.c - a loaded pipeline onto the streams builder: one topology
 * (app id = the pipeline's name), one chain of nodes per stream.
 *
 * What each part of a stream becomes (node names "<stream>-<part>[N]"):
 *
 *   from: a [, b]          source node per topic (+ merge); one source node
 *                          per topic, shared by every stream, merge, join
 *                          and re-keyed table that reads it (the streams
 *                          runtime keeps one committed offset per topic
 *                          partition, so two readers must be one node)
 *   (always)               "steps": a process node that applies the event
 *                          time (`timestamp:`), counts records in, and runs
 *                          the stateless steps that follow, fused
 *   filter, map,           fused into one process node per run of them: a
 *   select_key, flat_map   record is decoded once and serialised once at
 *                          the end of the run (not at all when no step
 *                          changed the value)
 *   branch                 branch node, one predicate per item plus "the
 *                          rest", which goes on; each item's records -> out
 *                          -> to(item.to)
 *   merge                  source nodes (event time applied) + merge
 *   window + aggregate     group_by_key -> window -> aggregate (the
 *                          expression aggregator, aggregate.c) -> to_stream
 *                          -> a process node computing the result object
 *   join                   join with a table node or a stream source node
 *   table                  out -> to("<pipeline>-<name>-table"); a table
 *                          node over that topic serves joins; the stream goes on
 *   dedupe                 group_by(by) -> aggregate (first record per value
 *                          within the span) -> to_stream -> process emitting
 *                          the kept records as they were
 *   to                     out (counts, window -> headers) -> to(topic)
 *
 * Tables under `tables:` are table nodes over their topic (re-keyed tables
 * go through stream -> key -> to("<pipeline>-<name>-table") first, and so
 * do tables over a topic that something else in the file reads too).
 */
#include "connect/pipeline/runtime_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "record/batch.h"

#define MAX_CHAIN 64

/* A run of stateless steps fused into one process node. */
typedef struct pl_chain {
  beck_pipeline_compiled_t *c;
  pl_stream_rt_t *stream;
  bool head; /* the stream's first node: event time, counts in */
  const beck_expr_t *timestamp;
  pl_step_rt_t *steps[MAX_CHAIN];
  size_t n;
  bool changes_key;
} pl_chain_t;

/* out: before every topic a stream writes. */
typedef struct pl_out {
  _Atomic uint64_t *count; /* NULL: not counted */
} pl_out_t;

/* ---- ownership ---------------------------------------------------------------- */

static void *own(beck_pipeline_compiled_t *c, void *p) {
  if (p == NULL)
    return NULL;
  if (c->nowned == c->capowned) {
    size_t nc = c->capowned ? c->capowned * 2 : 32;
    void **a = beck_realloc(c->owned, nc * sizeof *a);
    if (a == NULL) {
      beck_free(p);
      return NULL;
    }
    c->owned = a;
    c->capowned = nc;
  }
  c->owned[c->nowned++] = p;
  return p;
}

static void *own_calloc(beck_pipeline_compiled_t *c, size_t n, size_t size) {
  return own(c, beck_calloc(n ? n : 1, size));
}

/* ---- the fused chain of stateless steps -------------------------------------- */

typedef struct chain_rec {
  beck_srec_t r;    /* key bytes and timestamp current; value bytes valid when !value_dirty */
  beck_val_t value; /* valid when value_decoded */
  bool value_decoded, value_dirty;
  beck_val_t key; /* valid when key_decoded */
  bool key_decoded;
} chain_rec_t;

typedef struct chain_run {
  pl_chain_t *ch;
  beck_sctx_t *ctx;
  beck_expr_ctx_t ec;
  beck_buf_t buf;
  json_t **owned; /* documents parsed for this record (values borrow from them) */
  size_t nowned, capowned;
  bool oom;
  uint64_t counts[MAX_CHAIN];
  uint64_t emitted;
} chain_run_t;

/* Keeps j until the record is done; on OOM keeps it until the batch is done
 * (leaked into nothing: the batch then fails). */
static void keep_doc(chain_run_t *run, json_t *j) {
  if (j == NULL)
    return;
  if (run->nowned == run->capowned) {
    size_t nc = run->capowned ? run->capowned * 2 : 8;
    json_t **a = beck_realloc(run->owned, nc * sizeof *a);
    if (a == NULL) {
      run->oom = true;
      json_decref(j);
      return;
    }
    run->owned = a;
    run->capowned = nc;
  }
  run->owned[run->nowned++] = j;
}

static void input_of(chain_run_t *run, chain_rec_t *cr, uint32_t roots, beck_expr_input_t *in) {
  memset(in, 0, sizeof *in);
  if ((roots & BECK_ROOT_VALUE) && !cr->value_decoded) {
    json_t *j;
    cr->value = beck__pl_decode_value(cr->r.value, &j);
    keep_doc(run, j);
    cr->value_decoded = true;
    if (run->oom)
      cr->value = beck_val_null();
  }
  if ((roots & BECK_ROOT_KEY) && !cr->key_decoded) {
    json_t *j;
    cr->key = beck__pl_decode_key(cr->r.key, &j);
    keep_doc(run, j);
    cr->key_decoded = true;
    if (run->oom)
      cr->key = beck_val_null();
  }
  in->value = cr->value_decoded ? cr->value : beck_val_null();
  in->key = cr->key_decoded ? cr->key : beck_val_null();
  in->timestamp = cr->r.timestamp;
  in->partition = beck_sctx_partition(run->ctx);
  in->offset = -1;
  in->headers = (const beck_expr_header_t *)(const void *)cr->r.headers;
  in->nheaders = cr->r.nheaders > 0 ? (size_t)cr->r.nheaders : 0;
  if (roots & BECK_ROOT_WINDOW)
    in->windowed = beck__pl_record_window(&cr->r, &in->window_start, &in->window_end);
}

static beck_err_t chain_emit(chain_run_t *run, chain_rec_t *cr) {
  beck_srec_t out = cr->r;
  if (cr->value_dirty) {
    if (cr->value.kind == BECK_VAL_NULL) {
      out.value = beck_nstr_null();
    } else {
      beck_buf_reset(&run->buf);
      if (beck__pl_write_val(&cr->value, &run->buf) != BECK_ERR_OK)
        return beck_sctx_fail(run->ctx, BECK_ERR_NOMEM, "out of memory");
      beck_err_t rc = beck__pl_to_nstr(run->ctx, &run->buf, &out.value);
      if (rc != BECK_ERR_OK)
        return rc;
    }
  }
  run->emitted++;
  return beck_sctx_emit(run->ctx, &out);
}

static beck_err_t chain_from(chain_run_t *run, chain_rec_t *cr, size_t k) {
  pl_chain_t *ch = run->ch;
  for (; k < ch->n; k++) {
    pl_step_rt_t *st = ch->steps[k];
    const beck_pipeline_step_t *step = st->step;
    run->counts[k]++;
    beck_expr_input_t in;
    switch (step->kind) {
    case BECK_STEP_FILTER: {
      input_of(run, cr, beck_expr_roots(step->u.filter), &in);
      int ok = beck_expr_eval_bool(step->u.filter, &in, &run->ec);
      if (ok < 0)
        return beck__pl_eval_fail(run->ctx, st, &run->ec, (beck_err_t)ok);
      if (ok == 0)
        return BECK_ERR_OK;
      break;
    }
    case BECK_STEP_MAP: {
      input_of(run, cr, beck_expr_roots(step->u.map), &in);
      beck_val_t v;
      beck_err_t rc = beck_expr_eval(step->u.map, &in, &run->ec, &v);
      if (rc != BECK_ERR_OK)
        return beck__pl_eval_fail(run->ctx, st, &run->ec, rc);
      cr->value = v;
      cr->value_decoded = cr->value_dirty = true;
      break;
    }
    case BECK_STEP_SELECT_KEY: {
      input_of(run, cr, beck_expr_roots(step->u.select_key), &in);
      beck_val_t v;
      beck_err_t rc = beck_expr_eval(step->u.select_key, &in, &run->ec, &v);
      if (rc != BECK_ERR_OK)
        return beck__pl_eval_fail(run->ctx, st, &run->ec, rc);
      if (v.kind == BECK_VAL_NULL) {
        cr->r.key = beck_nstr_null();
      } else {
        beck_buf_reset(&run->buf);
        if (beck__pl_write_val(&v, &run->buf) != BECK_ERR_OK)
          return beck_sctx_fail(run->ctx, BECK_ERR_NOMEM, "out of memory");
        rc = beck__pl_to_nstr(run->ctx, &run->buf, &cr->r.key);
        if (rc != BECK_ERR_OK)
          return rc;
      }
      /* what later steps read as `key`: the key as written (a number
       * becomes its text, like a key read from a topic) */
      cr->key_decoded = false;
      break;
    }
    case BECK_STEP_FLAT_MAP: {
      input_of(run, cr, beck_expr_roots(step->u.flat_map), &in);
      beck_val_t v;
      beck_err_t rc = beck_expr_eval(step->u.flat_map, &in, &run->ec, &v);
      if (rc != BECK_ERR_OK)
        return beck__pl_eval_fail(run->ctx, st, &run->ec, rc);
      if (v.kind == BECK_VAL_NULL)
        return BECK_ERR_OK;
      if (v.kind != BECK_VAL_JSON || !json_is_array(v.u.j)) {
        char t[64];
        return beck_sctx_fail(run->ctx, BECK_ERR_INVAL, "%s: expected an array to flatten, got %s", st->where,
                              beck_type_name(beck_val_type(&v), t, sizeof t));
      }
      size_t i;
      json_t *el;
      json_array_foreach(v.u.j, i, el) {
        chain_rec_t sub = *cr;
        sub.value = beck_val_from_json(el);
        sub.value_decoded = sub.value_dirty = true;
        rc = chain_from(run, &sub, k + 1);
        if (rc != BECK_ERR_OK)
          return rc;
      }
      return BECK_ERR_OK;
    }
    default:
      return beck_sctx_fail(run->ctx, BECK_ERR_STATE, "%s: not a stateless step", st->where);
    }
  }
  return chain_emit(run, cr);
}

static beck_err_t event_time(chain_run_t *run, chain_rec_t *cr) {
  pl_chain_t *ch = run->ch;
  beck_expr_input_t in;
  input_of(run, cr, beck_expr_roots(ch->timestamp), &in);
  beck_val_t v;
  beck_err_t rc = beck_expr_eval(ch->timestamp, &in, &run->ec, &v);
  if (rc != BECK_ERR_OK)
    return beck_sctx_fail(run->ctx, rc, "%s:%u:%u: 'timestamp' of stream '%s': %s", ch->c->p->file,
                          ch->stream->def->pos.line, ch->stream->def->pos.col, ch->stream->def->name, run->ec.err.msg);
  int64_t ms;
  switch (v.kind) {
  case BECK_VAL_NULL:
    return BECK_ERR_OK;
  case BECK_VAL_INT:
    ms = v.u.i;
    break;
  case BECK_VAL_DOUBLE:
    if (!(v.u.d > -9.2e18 && v.u.d < 9.2e18))
      goto bad;
    ms = (int64_t)v.u.d;
    break;
  case BECK_VAL_STR:
    if (beck_parse_time(v.u.s.p, v.u.s.len, &ms) != 0)
      goto bad;
    break;
  default:
    goto bad;
  }
  cr->r.timestamp = ms;
  return BECK_ERR_OK;
bad:;
  beck_buf_t t = {0};
  beck_val_write_json(&v, &t);
  rc = beck_sctx_fail(run->ctx, BECK_ERR_INVAL,
                      "%s:%u:%u: 'timestamp' of stream '%s' gave %.*s; expected ms since the epoch or an RFC 3339 "
                      "time (2024-05-01T12:00:00Z)",
                      ch->c->p->file, ch->stream->def->pos.line, ch->stream->def->pos.col, ch->stream->def->name,
                      (int)(t.len > 80 ? 80 : t.len), t.data ? (const char *)t.data : "");
  beck_buf_free(&t);
  return rc;
}

static void max_time(beck_pipeline_compiled_t *c, int64_t t) {
  int64_t cur = atomic_load_explicit(&c->max_time, memory_order_relaxed);
  while (t > cur) {
    if (atomic_compare_exchange_weak_explicit(&c->max_time, &cur, t, memory_order_relaxed, memory_order_relaxed)) {
      if (c->time_moved != NULL)
        c->time_moved(c->time_ud, t);
      return;
    }
  }
}

static beck_err_t chain_process(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in) {
  chain_run_t run;
  memset(&run, 0, sizeof run);
  run.ch = ud;
  run.ctx = ctx;
  beck__pl_ctx_init(&run.ec, ctx, run.ch->c);
  beck_err_t rc = BECK_ERR_OK;
  int64_t tmax = INT64_MIN;
  for (size_t i = 0; i < in->n && rc == BECK_ERR_OK; i++) {
    chain_rec_t cr;
    memset(&cr, 0, sizeof cr);
    cr.r = in->recs[i];
    if (run.ch->head && run.ch->timestamp != NULL)
      rc = event_time(&run, &cr);
    if (rc == BECK_ERR_OK) {
      if (cr.r.timestamp > tmax)
        tmax = cr.r.timestamp;
      rc = chain_from(&run, &cr, 0);
    }
    if (run.oom && rc == BECK_ERR_OK)
      rc = beck_sctx_fail(ctx, BECK_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < run.nowned; k++)
      json_decref(run.owned[k]);
    run.nowned = 0;
    beck_expr_ctx_reset(&run.ec);
  }
  pl_chain_t *ch = run.ch;
  if (ch->head) {
    atomic_fetch_add_explicit(&ch->stream->in, in->n, memory_order_relaxed);
    if (in->n > 0)
      max_time(ch->c, tmax);
  }
  for (size_t k = 0; k < ch->n; k++)
    atomic_fetch_add_explicit(&ch->steps[k]->count, run.counts[k], memory_order_relaxed);
  beck_expr_ctx_destroy(&run.ec);
  beck_buf_free(&run.buf);
  beck_free(run.owned);
  return rc;
}

/* ---- out: counting, windows to headers ------------------------------------------ */

static beck_err_t out_process(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in) {
  pl_out_t *o = ud;
  for (size_t i = 0; i < in->n; i++) {
    beck_srec_t r = in->recs[i];
    if (r.windowed) {
      /* the window travels in two headers (replacing older ones) */
      int32_t n = 0;
      beck_record_header_t *h = beck_sctx_alloc(ctx, ((size_t)(r.nheaders > 0 ? r.nheaders : 0) + 2) * sizeof *h);
      char *txt = beck_sctx_alloc(ctx, 48);
      if (h == NULL || txt == NULL)
        return BECK_ERR_NOMEM;
      for (int32_t k = 0; k < r.nheaders; k++) {
        const beck_record_header_t *x = &r.headers[k];
        bool ours = (x->key.len == strlen(BECK_PIPELINE_WINDOW_START_HEADER) &&
                     memcmp(x->key.ptr, BECK_PIPELINE_WINDOW_START_HEADER, x->key.len) == 0) ||
                    (x->key.len == strlen(BECK_PIPELINE_WINDOW_END_HEADER) &&
                     memcmp(x->key.ptr, BECK_PIPELINE_WINDOW_END_HEADER, x->key.len) == 0);
        if (!ours)
          h[n++] = *x;
      }
      int l1 = snprintf(txt, 24, "%lld", (long long)r.window_start);
      int l2 = snprintf(txt + 24, 24, "%lld", (long long)r.window_end);
      h[n].key = beck_slice_cstr(BECK_PIPELINE_WINDOW_START_HEADER);
      h[n++].value = beck_nstr(txt, l1);
      h[n].key = beck_slice_cstr(BECK_PIPELINE_WINDOW_END_HEADER);
      h[n++].value = beck_nstr(txt + 24, l2);
      r.headers = h;
      r.nheaders = n;
      r.windowed = false;
    }
    beck_err_t rc = beck_sctx_emit(ctx, &r);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  if (o->count != NULL)
    atomic_fetch_add_explicit(o->count, in->n, memory_order_relaxed);
  return BECK_ERR_OK;
}

/* ---- branch, join, table re-key callbacks --------------------------------------- */

static int branch_pred(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  pl_pred_t *pr = ud;
  if (pr->when == NULL)
    return 1;
  beck_expr_ctx_t ec;
  beck__pl_ctx_init(&ec, ctx, pr->step->c);
  pl_input_t pi;
  beck__pl_input_fill(&pi, r, beck_expr_roots(pr->when), beck_sctx_partition(ctx));
  int ok = beck_expr_eval_bool(pr->when, &pi.in, &ec);
  if (ok < 0)
    ok = beck__pl_eval_fail(ctx, pr->step, &ec, (beck_err_t)ok);
  beck__pl_input_release(&pi);
  beck_expr_ctx_destroy(&ec);
  return ok;
}

static int count_pred(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  pl_step_rt_t *st = ud;
  atomic_fetch_add_explicit(&st->count, 1, memory_order_relaxed);
  return 1;
}

static beck_err_t joiner(void *ud, beck_sctx_t *ctx, const beck_srec_t *left, const beck_srec_t *right,
                         beck_nstr_t *out) {
  pl_step_rt_t *st = ud;
  const beck_expr_t *x = st->step->u.join.select ? st->step->u.join.select : st->select_default;
  uint32_t roots = beck_expr_roots(x);
  beck_expr_ctx_t ec;
  beck__pl_ctx_init(&ec, ctx, st->c);
  beck_expr_input_t in;
  memset(&in, 0, sizeof in);
  json_t *lown = NULL, *rown = NULL, *kown = NULL;
  if (left != NULL && (roots & BECK_ROOT_LEFT))
    in.left = beck__pl_decode_value(left->value, &lown);
  if (right != NULL && (roots & BECK_ROOT_RIGHT))
    in.right = beck__pl_decode_value(right->value, &rown);
  const beck_srec_t *k = left != NULL ? left : right;
  if (k != NULL) {
    if (roots & BECK_ROOT_KEY)
      in.key = beck__pl_decode_key(k->key, &kown);
    in.timestamp = k->timestamp;
  }
  if (left != NULL && right != NULL && right->timestamp > in.timestamp)
    in.timestamp = right->timestamp;
  in.partition = beck_sctx_partition(ctx);
  in.offset = -1;
  beck_val_t v;
  beck_err_t rc = beck_expr_eval(x, &in, &ec, &v);
  if (rc != BECK_ERR_OK) {
    rc = beck__pl_eval_fail(ctx, st, &ec, rc);
  } else if (v.kind == BECK_VAL_NULL) {
    *out = beck_nstr_null();
  } else {
    beck_buf_t buf = {0};
    rc = beck__pl_write_val(&v, &buf);
    if (rc == BECK_ERR_OK)
      rc = beck__pl_to_nstr(ctx, &buf, out);
    beck_buf_free(&buf);
  }
  json_decref(lown);
  json_decref(rown);
  json_decref(kown);
  beck_expr_ctx_destroy(&ec);
  atomic_fetch_add_explicit(&st->count, 1, memory_order_relaxed);
  return rc;
}

typedef struct pl_rekey {
  beck_pipeline_compiled_t *c;
  const beck_pipeline_table_t *table;
  char where[300];
} pl_rekey_t;

static beck_err_t rekey(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  pl_rekey_t *rk = ud;
  beck_expr_ctx_t ec;
  beck__pl_ctx_init(&ec, ctx, rk->c);
  pl_input_t pi;
  beck__pl_input_fill(&pi, in, beck_expr_roots(rk->table->key), beck_sctx_partition(ctx));
  beck_val_t v;
  beck_err_t rc = beck_expr_eval(rk->table->key, &pi.in, &ec, &v);
  if (rc != BECK_ERR_OK) {
    rc = beck_sctx_fail(ctx, rc, "%s: %s", rk->where, ec.err.msg);
  } else if (v.kind == BECK_VAL_NULL) {
    *out = beck_nstr_null();
  } else {
    beck_buf_t buf = {0};
    rc = beck__pl_write_val(&v, &buf);
    if (rc == BECK_ERR_OK)
      rc = beck__pl_to_nstr(ctx, &buf, out);
    beck_buf_free(&buf);
  }
  beck__pl_input_release(&pi);
  beck_expr_ctx_destroy(&ec);
  return rc;
}

/* ---- building ------------------------------------------------------------------ */

typedef struct builder {
  beck_pipeline_compiled_t *c;
  beck_topology_t *t;
  pl_stream_rt_t *s;
  int n_steps, n_branch, n_merge, n_agg, n_join, n_table, n_dedupe;
  beck_error_t *e;
} builder_t;

static const char *nm(builder_t *b, char *buf, size_t cap, const char *part, int n) {
  if (n > 1)
    snprintf(buf, cap, "%s-%s%d", b->s->def->name, part, n);
  else
    snprintf(buf, cap, "%s-%s", b->s->def->name, part);
  return buf;
}

static bool is_stateless(beck_step_kind_t k) {
  return k == BECK_STEP_FILTER || k == BECK_STEP_MAP || k == BECK_STEP_SELECT_KEY || k == BECK_STEP_FLAT_MAP;
}

static pl_chain_t *chain_new(builder_t *b, bool head) {
  pl_chain_t *ch = own_calloc(b->c, 1, sizeof *ch);
  if (ch == NULL)
    return NULL;
  ch->c = b->c;
  ch->stream = b->s;
  ch->head = head;
  ch->timestamp = head ? b->s->def->timestamp : NULL;
  return ch;
}

/* Adds the stateless steps from *j on to ch; returns the process node. */
static beck_stream_t *chain_build(builder_t *b, beck_stream_t *in, pl_chain_t *ch, size_t *j) {
  const beck_pipeline_stream_t *def = b->s->def;
  while (*j < def->nsteps && is_stateless(def->steps[*j].kind) && ch->n < MAX_CHAIN) {
    ch->steps[ch->n++] = &b->s->steps[*j];
    ch->changes_key |= def->steps[*j].kind == BECK_STEP_SELECT_KEY || def->steps[*j].kind == BECK_STEP_FLAT_MAP;
    (*j)++;
  }
  char name[256];
  return beck_stream_process(in, nm(b, name, sizeof name, "steps", ++b->n_steps), chain_process, ch, !ch->changes_key);
}

/* in -> out node (named out_part) -> sink node (to_part) writing topic. */
static beck_stream_t *to_topic(builder_t *b, beck_stream_t *in, const char *out_part, const char *to_part, int n,
                               const char *topic, _Atomic uint64_t *count) {
  pl_out_t *o = own_calloc(b->c, 1, sizeof *o);
  if (o == NULL)
    return NULL;
  o->count = count;
  char name[256];
  beck_stream_t *x = beck_stream_process(in, nm(b, name, sizeof name, out_part, n), out_process, o, true);
  return beck_stream_to(x, nm(b, name, sizeof name, to_part, n), topic, NULL);
}

static beck_stream_t *table_node(beck_pipeline_compiled_t *c, const char *name) {
  for (size_t i = 0; i < c->ntables; i++)
    if (strcmp(c->tables[i].name, name) == 0)
      return c->tables[i].node;
  return NULL;
}

static char *table_topic(beck_pipeline_compiled_t *c, const char *table) {
  size_t n = strlen(c->p->name) + strlen(table) + 16;
  char *s = beck_malloc(n);
  if (s == NULL)
    return NULL;
  snprintf(s, n, "%s-%s-table", c->p->name, table);
  char **a = beck_realloc(c->topics, (c->ntopics + 1) * sizeof *a);
  if (a == NULL) {
    beck_free(s);
    return NULL;
  }
  c->topics = a;
  c->topics[c->ntopics++] = s;
  return s;
}

static beck_err_t add_table(beck_pipeline_compiled_t *c, const char *name, beck_stream_t *node) {
  struct pl_table_node *a = beck_realloc(c->tables, (c->ntables + 1) * sizeof *a);
  if (a == NULL)
    return BECK_ERR_NOMEM;
  c->tables = a;
  c->tables[c->ntables].name = name;
  c->tables[c->ntables++].node = node;
  return BECK_ERR_OK;
}

/* The source node of topic: the one made for an earlier reader, or a new
 * one named `name`. Borrows topic, a string of the pipeline (which outlives
 * c). NULL on error (kept in the topology). */
static beck_stream_t *shared_source(beck_pipeline_compiled_t *c, const char *name, const char *topic) {
  for (size_t i = 0; i < c->nsources; i++)
    if (strcmp(c->sources[i].topic, topic) == 0)
      return c->sources[i].node;
  beck_stream_t *s = beck_topology_stream(c->topo, name, topic, NULL);
  if (s == NULL)
    return NULL;
  struct pl_source_node *a = beck_realloc(c->sources, (c->nsources + 1) * sizeof *a);
  if (a == NULL)
    return s; /* not shared: a second reader then fails the topology */
  c->sources = a;
  c->sources[c->nsources++] = (struct pl_source_node){.topic = topic, .node = s};
  return s;
}

/* Whether anything but table i reads topic: a stream (from, merge, a
 * stream-stream join) or another table. */
static bool read_elsewhere(const beck_pipeline_t *p, size_t table, const char *topic) {
  for (size_t i = 0; i < p->ntables; i++)
    if (i != table && strcmp(p->tables[i].topic, topic) == 0)
      return true;
  for (size_t i = 0; i < p->nstreams; i++) {
    const beck_pipeline_stream_t *d = &p->streams[i];
    for (size_t k = 0; k < d->nfrom; k++)
      if (strcmp(d->from[k], topic) == 0)
        return true;
    for (size_t j = 0; j < d->nsteps; j++) {
      const beck_pipeline_step_t *st = &d->steps[j];
      if (st->kind == BECK_STEP_JOIN && !st->u.join.with_table && strcmp(st->u.join.with, topic) == 0)
        return true;
      for (size_t k = 0; st->kind == BECK_STEP_MERGE && k < st->u.merge.n; k++)
        if (strcmp(st->u.merge.topics[k], topic) == 0)
          return true;
    }
  }
  return false;
}

static beck_err_t build_tables(beck_pipeline_compiled_t *c, beck_error_t *e) {
  const beck_pipeline_t *p = c->p;
  char name[256];
  for (size_t i = 0; i < p->ntables; i++) {
    const beck_pipeline_table_t *tb = &p->tables[i];
    beck_store_opts_t so = {.kind = (beck_store_kind_t)tb->store};
    const char *topic = tb->topic;
    if (tb->key != NULL || read_elsewhere(p, i, tb->topic)) {
      /* through a topic of its own: re-keyed, or fed by the topic's one
       * source node (a table node over the topic would be a second) */
      char *tt = table_topic(c, tb->name);
      if (tt == NULL)
        return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
      snprintf(name, sizeof name, "table-%s-from", tb->name);
      beck_stream_t *s = shared_source(c, name, tb->topic);
      if (tb->key != NULL) {
        pl_rekey_t *rk = own_calloc(c, 1, sizeof *rk);
        if (rk == NULL)
          return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
        rk->c = c;
        rk->table = tb;
        snprintf(rk->where, sizeof rk->where, "%s:%u:%u: 'key' of table '%s'", p->file, tb->pos.line, tb->pos.col,
                 tb->name);
        snprintf(name, sizeof name, "table-%s-key", tb->name);
        s = beck_stream_select_key(s, name, rekey, rk);
      }
      snprintf(name, sizeof name, "table-%s-to", tb->name);
      beck_stream_to(s, name, tt, NULL);
      topic = tt;
    }
    snprintf(name, sizeof name, "table-%s", tb->name);
    beck_stream_t *node = beck_topology_table(c->topo, name, topic, &so);
    if (node == NULL || add_table(c, tb->name, node) != BECK_ERR_OK)
      break;
  }
  for (size_t i = 0; i < p->nstreams; i++)
    for (size_t j = 0; j < p->streams[i].nsteps; j++) {
      const beck_pipeline_step_t *st = &p->streams[i].steps[j];
      if (st->kind != BECK_STEP_TABLE)
        continue;
      char *tt = table_topic(c, st->u.table);
      if (tt == NULL)
        return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
      snprintf(name, sizeof name, "table-%s", st->u.table);
      beck_stream_t *node = beck_topology_table(c->topo, name, tt, NULL);
      if (node == NULL || add_table(c, st->u.table, node) != BECK_ERR_OK)
        break;
    }
  return BECK_ERR_OK;
}

static int64_t add_sat(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

static beck_stream_t *source(builder_t *b, const char *topic, const char *part, int n) {
  char name[256];
  return shared_source(b->c, nm(b, name, sizeof name, part, n), topic);
}

static beck_err_t build_stream(builder_t *b) {
  beck_pipeline_compiled_t *c = b->c;
  const beck_pipeline_t *p = c->p;
  const beck_pipeline_stream_t *def = b->s->def;
  char name[256];
  beck_stream_t *cur;
  if (def->nfrom == 1) {
    cur = source(b, def->from[0], "from", 1);
  } else {
    beck_stream_t **ins = beck_calloc(def->nfrom ? def->nfrom : 1, sizeof *ins);
    if (ins == NULL)
      return beck_error_set(b->e, BECK_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < def->nfrom; k++) {
      char part[32];
      snprintf(part, sizeof part, "from%zu", k + 1);
      ins[k] = source(b, def->from[k], part, 1);
    }
    cur = beck_topology_merge(b->t, nm(b, name, sizeof name, "from", 1), (int)def->nfrom, ins);
    beck_free(ins);
  }
  size_t j = 0;
  pl_chain_t *head = chain_new(b, true);
  if (head == NULL)
    return beck_error_set(b->e, BECK_ERR_NOMEM, "out of memory");
  cur = chain_build(b, cur, head, &j);
  bool windowed = false;
  const beck_pipeline_window_t *win = NULL;
  while (j < def->nsteps && cur != NULL) {
    pl_step_rt_t *rt = &b->s->steps[j];
    const beck_pipeline_step_t *st = &def->steps[j];
    switch (st->kind) {
    case BECK_STEP_FILTER:
    case BECK_STEP_MAP:
    case BECK_STEP_SELECT_KEY:
    case BECK_STEP_FLAT_MAP: {
      pl_chain_t *ch = chain_new(b, false);
      if (ch == NULL)
        return beck_error_set(b->e, BECK_ERR_NOMEM, "out of memory");
      cur = chain_build(b, cur, ch, &j);
      continue;
    }
    case BECK_STEP_BRANCH: {
      size_t nb = st->u.branch.n;
      bool rest = st->u.branch.items[nb - 1].when != NULL;
      size_t np = nb + (rest ? 1 : 0);
      rt->preds = own_calloc(c, np, sizeof *rt->preds);
      beck_pred_fn *fns = beck_calloc(np, sizeof *fns);
      void **uds = beck_calloc(np, sizeof *uds);
      beck_stream_t **outs = beck_calloc(np, sizeof *outs);
      if (rt->preds == NULL || fns == NULL || uds == NULL || outs == NULL) {
        beck_free(fns);
        beck_free(uds);
        beck_free(outs);
        return beck_error_set(b->e, BECK_ERR_NOMEM, "out of memory");
      }
      rt->npreds = np;
      for (size_t k = 0; k < np; k++) {
        rt->preds[k].step = rt;
        rt->preds[k].when = k < nb ? st->u.branch.items[k].when : NULL;
        fns[k] = k < nb && rt->preds[k].when != NULL ? branch_pred : NULL;
        uds[k] = &rt->preds[k];
      }
      /* count what reaches the branch */
      cur = beck_stream_filter(cur, nm(b, name, sizeof name, "branch-in", b->n_branch + 1), count_pred, rt);
      beck_err_t rc =
          beck_stream_branch(cur, nm(b, name, sizeof name, "branch", ++b->n_branch), (int)np, fns, uds, outs);
      if (rc == BECK_ERR_OK) {
        for (size_t k = 0; k < nb; k++) {
          char part[64], part2[64];
          snprintf(part, sizeof part, "branch%d-%zu-out", b->n_branch, k + 1);
          snprintf(part2, sizeof part2, "branch%d-%zu-to", b->n_branch, k + 1);
          to_topic(b, outs[k], part, part2, 1, st->u.branch.items[k].to, &b->s->out);
        }
        cur = rest ? outs[nb] : NULL;
      } else {
        cur = NULL;
      }
      beck_free(fns);
      beck_free(uds);
      beck_free(outs);
      break;
    }
    case BECK_STEP_MERGE: {
      size_t n = st->u.merge.n + 1;
      beck_stream_t **ins = beck_calloc(n, sizeof *ins);
      if (ins == NULL)
        return beck_error_set(b->e, BECK_ERR_NOMEM, "out of memory");
      ins[0] = cur;
      ++b->n_merge;
      for (size_t k = 0; k < st->u.merge.n; k++) {
        char part[64];
        snprintf(part, sizeof part, "merge%d-from%zu", b->n_merge, k + 1);
        beck_stream_t *s = source(b, st->u.merge.topics[k], part, 1);
        pl_chain_t *ch = chain_new(b, true); /* event time and counting, no steps */
        if (ch == NULL) {
          beck_free(ins);
          return beck_error_set(b->e, BECK_ERR_NOMEM, "out of memory");
        }
        snprintf(part, sizeof part, "merge%d-time%zu", b->n_merge, k + 1);
        ins[k + 1] = beck_stream_process(s, nm(b, name, sizeof name, part, 1), chain_process, ch, true);
      }
      cur = beck_topology_merge(b->t, nm(b, name, sizeof name, "merge", b->n_merge), (int)n, ins);
      beck_free(ins);
      break;
    }
    case BECK_STEP_WINDOW:
      win = &st->u.window;
      break;
    case BECK_STEP_AGGREGATE: {
      int n = ++b->n_agg;
      rt->naggs = beck_expr_agg_count(st->u.aggregate);
      for (size_t k = 0; k < rt->naggs; k++) {
        const beck_expr_agg_t *a = beck_expr_agg(st->u.aggregate, k);
        if (a->arg != NULL)
          rt->arg_roots |= beck_expr_roots(a->arg);
      }
      beck_stream_t *g = beck_stream_group_by_key(cur, nm(b, name, sizeof name, "group", n));
      if (win != NULL && j > 0)
        rt->window = &b->s->steps[j - 1];
      if (win != NULL) {
        beck_window_spec_t spec = {.kind = (beck_window_kind_t)win->kind,
                                   .size_ms = win->size_ms,
                                   .advance_ms = win->advance_ms,
                                   .gap_ms = win->gap_ms,
                                   .grace_ms = win->grace_ms,
                                   .emit = (beck_emit_t)win->emit,
                                   .late_topic = win->late_topic};
        g = beck_stream_window(g, nm(b, name, sizeof name, "window", n), &spec);
        c->horizon = add_sat(c->horizon, add_sat(add_sat(win->size_ms, win->gap_ms), add_sat(win->grace_ms, 1)));
        if (win->kind == BECK_PIPELINE_WINDOW_SESSION)
          c->horizon = add_sat(c->horizon, win->gap_ms); /* final at end + gap + grace */
        if (win->kind == BECK_PIPELINE_WINDOW_SLIDING)
          c->horizon = add_sat(c->horizon, win->size_ms + 1); /* [t+1, t+1+size] */
      }
      beck_aggregator_t agg = beck__pl_expr_aggregator_proto;
      agg.ud = rt;
      beck_stream_t *tab = beck_stream_aggregate(g, nm(b, name, sizeof name, "aggregate", n), &agg, NULL);
      beck_stream_t *up = beck_stream_to_stream(tab, nm(b, name, sizeof name, "updates", n));
      cur = beck_stream_process(up, nm(b, name, sizeof name, "result", n), beck__pl_agg_result, rt, true);
      windowed = win != NULL;
      win = NULL;
      break;
    }
    case BECK_STEP_JOIN: {
      int n = ++b->n_join;
      const beck_pipeline_join_t *jn = &st->u.join;
      beck_stream_t *right;
      beck_join_opts_t jo = {.kind = (beck_join_kind_t)jn->kind};
      if (jn->with_table) {
        right = table_node(c, jn->with);
        if (right == NULL)
          return beck_error_set(b->e, BECK_ERR_NOTFOUND, "%s: no table '%s'", rt->where, jn->with);
      } else {
        right = source(b, jn->with, "join-with", n);
        jo.before_ms = jn->before_ms > 0 ? jn->before_ms : 0;
        jo.after_ms = jn->after_ms > 0 ? jn->after_ms : 0;
        jo.grace_ms = jn->grace_ms;
        c->horizon = add_sat(c->horizon, add_sat(add_sat(jo.before_ms, jo.after_ms), add_sat(jo.grace_ms, 1)));
      }
      if (jn->select == NULL) {
        static const char def_sel[] = "{left: left, right: right}";
        beck_expr_opts_t o = {.roots = BECK_ROOT_LEFT | BECK_ROOT_RIGHT};
        beck_expr_error_t xe;
        if (beck_expr_compile(def_sel, sizeof def_sel - 1, &o, &rt->select_default, &xe) != BECK_ERR_OK)
          return beck_error_set(b->e, BECK_ERR_NOMEM, "out of memory");
      }
      cur = beck_stream_join(cur, right, nm(b, name, sizeof name, "join", n), joiner, rt, &jo);
      windowed = false;
      break;
    }
    case BECK_STEP_TABLE: {
      int n = ++b->n_table;
      const char *tt = NULL;
      char want[512];
      snprintf(want, sizeof want, "%s-%s-table", p->name, st->u.table);
      for (size_t k = 0; k < c->ntopics; k++)
        if (strcmp(c->topics[k], want) == 0)
          tt = c->topics[k];
      if (tt == NULL)
        return beck_error_set(b->e, BECK_ERR_NOTFOUND, "%s: no topic for table '%s'", rt->where, st->u.table);
      cur = beck_stream_filter(cur, nm(b, name, sizeof name, "table-in", n), count_pred, rt);
      to_topic(b, cur, "table-out", "table-to", n, tt, NULL);
      break;
    }
    case BECK_STEP_DEDUPE: {
      int n = ++b->n_dedupe;
      const beck_pipeline_dedupe_t *dd = &st->u.dedupe;
      if (dd->by != NULL)
        cur = beck_stream_process(cur, nm(b, name, sizeof name, "dedupe-key", n), beck__pl_dedupe_stash, rt, true);
      beck_stream_t *g =
          dd->by != NULL ? beck_stream_group_by(cur, nm(b, name, sizeof name, "dedupe-by", n), beck__pl_dedupe_by, rt)
                         : beck_stream_group_by_key(cur, nm(b, name, sizeof name, "dedupe-group", n));
      beck_aggregator_t agg = {.init = beck__pl_dedupe_init, .add = beck__pl_dedupe_add, .ud = rt};
      beck_stream_t *tab = beck_stream_aggregate(g, nm(b, name, sizeof name, "dedupe", n), &agg, NULL);
      beck_stream_t *up = beck_stream_to_stream(tab, nm(b, name, sizeof name, "dedupe-updates", n));
      cur = beck_stream_process(up, nm(b, name, sizeof name, "dedupe-keep", n), beck__pl_dedupe_emit, rt, false);
      c->horizon = add_sat(c->horizon, add_sat(dd->within_ms, 1));
      windowed = false;
      break;
    }
    }
    j++;
  }
  (void)windowed;
  if (cur != NULL && def->to != NULL)
    to_topic(b, cur, "out", "to", 1, def->to, &b->s->out);
  return BECK_ERR_OK;
}

beck_err_t beck_pipeline_compile(const beck_pipeline_t *p, beck_pipeline_compiled_t **out, beck_error_t *e) {
  *out = NULL;
  beck_pipeline_compiled_t *c = beck_calloc(1, sizeof *c);
  if (c == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  c->p = p;
  atomic_init(&c->max_time, INT64_MIN);
  c->topo = beck_topology_new(p->name);
  c->streams = beck_calloc(p->nstreams ? p->nstreams : 1, sizeof *c->streams);
  if (c->topo == NULL || c->streams == NULL) {
    beck_pipeline_compiled_free(c);
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  }
  beck_topology_set_on_error(c->topo, p->run.on_error ? BECK_ON_ERROR_SKIP : BECK_ON_ERROR_FAIL);
  beck_err_t rc = BECK_ERR_OK;
  for (size_t i = 0; i < p->nstreams && rc == BECK_ERR_OK; i++) {
    pl_stream_rt_t *s = &c->streams[i];
    s->c = c;
    s->def = &p->streams[i];
    s->steps = beck_calloc(s->def->nsteps ? s->def->nsteps : 1, sizeof *s->steps);
    if (s->steps == NULL) {
      rc = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
      break;
    }
    for (size_t j = 0; j < s->def->nsteps; j++) {
      pl_step_rt_t *st = &s->steps[j];
      st->c = c;
      st->stream = s;
      st->step = &s->def->steps[j];
      snprintf(st->where, sizeof st->where, "%s:%u:%u: step '%s' of stream '%s'", p->file, st->step->pos.line,
               st->step->pos.col, beck_pipeline_step_name(st->step->kind), s->def->name);
    }
  }
  if (rc == BECK_ERR_OK)
    rc = build_tables(c, e);
  for (size_t i = 0; i < p->nstreams && rc == BECK_ERR_OK; i++) {
    builder_t b = {.c = c, .t = c->topo, .s = &c->streams[i], .e = e};
    rc = build_stream(&b);
  }
  if (rc == BECK_ERR_OK) {
    const beck_error_t *te = beck_topology_error(c->topo);
    if (te->code != BECK_ERR_OK)
      rc = beck_error_set(e, te->code, "pipeline %s: %s", p->name, te->msg);
  }
  if (rc != BECK_ERR_OK) {
    beck_pipeline_compiled_free(c);
    return rc;
  }
  *out = c;
  return BECK_ERR_OK;
}

void beck_pipeline_compiled_free(beck_pipeline_compiled_t *c) {
  if (c == NULL)
    return;
  beck_topology_destroy(c->topo);
  for (size_t i = 0; c->streams != NULL && i < c->p->nstreams; i++) {
    pl_stream_rt_t *s = &c->streams[i];
    for (size_t j = 0; s->steps != NULL && j < s->def->nsteps; j++)
      beck_expr_free(s->steps[j].select_default);
    beck_free(s->steps);
  }
  beck_free(c->streams);
  for (size_t i = 0; i < c->ntopics; i++)
    beck_free(c->topics[i]);
  beck_free(c->topics);
  beck_free(c->tables);
  beck_free(c->sources);
  for (size_t i = 0; i < c->nowned; i++)
    beck_free(c->owned[i]);
  beck_free(c->owned);
  beck_free(c);
}

beck_topology_t *beck_pipeline_compiled_topology(const beck_pipeline_compiled_t *c) { return c->topo; }
size_t beck_pipeline_compiled_topic_count(const beck_pipeline_compiled_t *c) { return c->ntopics; }
const char *beck_pipeline_compiled_topic(const beck_pipeline_compiled_t *c, size_t i) { return c->topics[i]; }

uint64_t beck_pipeline_compiled_stream_in(const beck_pipeline_compiled_t *c, size_t i) {
  return atomic_load_explicit(&c->streams[i].in, memory_order_relaxed);
}
uint64_t beck_pipeline_compiled_stream_out(const beck_pipeline_compiled_t *c, size_t i) {
  return atomic_load_explicit(&c->streams[i].out, memory_order_relaxed);
}
uint64_t beck_pipeline_compiled_step_count(const beck_pipeline_compiled_t *c, size_t stream, size_t step) {
  return atomic_load_explicit(&c->streams[stream].steps[step].count, memory_order_relaxed);
}
int64_t beck_pipeline_compiled_max_time(const beck_pipeline_compiled_t *c) {
  return atomic_load_explicit(&((beck_pipeline_compiled_t *)c)->max_time, memory_order_relaxed);
}
void beck__pl_restore_time(beck_pipeline_compiled_t *c, int64_t t) {
  if (t > atomic_load_explicit(&c->max_time, memory_order_relaxed))
    atomic_store_explicit(&c->max_time, t, memory_order_relaxed);
}
int64_t beck_pipeline_compiled_horizon(const beck_pipeline_compiled_t *c) { return c->horizon + 1; }
