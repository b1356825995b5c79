/*
 * topology.c - the topology builder: nodes, their shapes, names and edges;
 * repartition insertion; sub-topologies.
 *
 * Invariants:
 *   - a node's parents were created before it (ids increase along edges), so
 *     id order is a topological order of the whole graph;
 *   - names are unique and topic-safe ([A-Za-z0-9._-]);
 *   - after the first error every builder call returns NULL and changes
 *     nothing; after beck__topology_compile() the topology is frozen;
 *   - a stateful node (aggregation, join) never reads a stream whose keys
 *     were changed since it was partitioned: such input is routed through
 *     an internal repartition sink -> topic -> source pair, which is where
 *     sub-topologies are cut (Kafka Streams does the same).
 *
 * Shapes and what each builder accepts:
 *
 *   STREAM   --filter/map/.../to-->       STREAM (SINK for to)
 *   STREAM   --group_by[_key]-->          GROUPED
 *   GROUPED  --window-->                  WINDOWED
 *   GROUPED  --count/sum/.../aggregate--> TABLE
 *   WINDOWED --count/sum/.../aggregate--> WTABLE
 *   TABLE/WTABLE --to_stream-->           STREAM
 *   STREAM x STREAM --join--> STREAM;  STREAM x TABLE --join--> STREAM;
 *   TABLE x TABLE --join--> TABLE (not materialized)
 */
#include "streams_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

/* ---- errors and small helpers -------------------------------------------- */

static bool topo_ok(beck_topology_t *t) { return t != NULL && t->err.code == BECK_ERR_OK; }

__attribute__((format(printf, 3, 4))) static void topo_fail(beck_topology_t *t, beck_err_t code, const char *fmt, ...) {
  if (t == NULL || t->err.code != BECK_ERR_OK)
    return;
  va_list ap;
  va_start(ap, fmt);
  t->err.code = code;
  vsnprintf(t->err.msg, sizeof t->err.msg, fmt, ap);
  va_end(ap);
}

static const char *shape_name(beck__shape_t s) {
  switch (s) {
  case BECK__SHAPE_STREAM:
    return "stream";
  case BECK__SHAPE_GROUPED:
    return "grouped stream";
  case BECK__SHAPE_WINDOWED:
    return "windowed grouped stream";
  case BECK__SHAPE_TABLE:
    return "table";
  case BECK__SHAPE_WTABLE:
    return "windowed table";
  case BECK__SHAPE_SINK:
    return "sink";
  }
  return "?";
}

static bool name_ok(const char *n) {
  if (*n == '\0' || strlen(n) > 200)
    return false;
  for (const char *p = n; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return false;
  }
  return true;
}

beck_stream_t *beck_topology_node(const beck_topology_t *t, const char *name) {
  if (t == NULL || name == NULL)
    return NULL;
  for (int i = 0; i < t->nnodes; i++)
    if (strcmp(t->nodes[i]->name, name) == 0)
      return t->nodes[i];
  return NULL;
}

const char *beck_stream_name(const beck_stream_t *s) { return s ? s->name : NULL; }

static beck_err_t push_ptr(void ***arr, int *n, int *cap, void *p) {
  if (*n == *cap) {
    int nc = *cap ? *cap * 2 : 4;
    void **a = beck_realloc(*arr, (size_t)nc * sizeof(void *));
    if (a == NULL)
      return BECK_ERR_NOMEM;
    *arr = a;
    *cap = nc;
  }
  (*arr)[(*n)++] = p;
  return BECK_ERR_OK;
}

/* Creates a node; NULL (with the topology's error set) on a bad name or OOM. */
static beck_stream_t *node_new(beck_topology_t *t, const char *name, const char *opname, beck__op_t op,
                               beck__shape_t shape) {
  if (!topo_ok(t))
    return NULL;
  if (t->compiled) {
    topo_fail(t, BECK_ERR_STATE, "topology is already in use; it cannot change");
    return NULL;
  }
  char gen[64];
  if (name == NULL) {
    snprintf(gen, sizeof gen, "%s-%d", opname, t->nnodes);
    name = gen;
  }
  if (!name_ok(name)) {
    topo_fail(t, BECK_ERR_INVAL, "node name '%s': use 1-200 characters from [A-Za-z0-9._-]", name);
    return NULL;
  }
  if (beck_topology_node(t, name) != NULL) {
    topo_fail(t, BECK_ERR_EXISTS, "node name '%s' is already used", name);
    return NULL;
  }
  beck_stream_t *s = beck_calloc(1, sizeof *s);
  char *nm = beck_strdup(name);
  int cap = t->nodes_cap;
  if (s == NULL || nm == NULL || push_ptr((void ***)&t->nodes, &t->nnodes, &cap, s) != 0) {
    beck_free(s);
    beck_free(nm);
    topo_fail(t, BECK_ERR_NOMEM, "out of memory");
    return NULL;
  }
  t->nodes_cap = cap;
  s->topo = t;
  s->id = t->nnodes - 1;
  s->name = nm;
  s->opname = opname;
  s->op = op;
  s->shape = shape;
  s->subtopo = -1;
  return s;
}

/* Adds the edge parent -> child (parents[] in call order = input ports). */
static bool link(beck_stream_t *parent, beck_stream_t *child) {
  beck_topology_t *t = child->topo;
  int pcap = child->nparents;
  if (push_ptr((void ***)&child->parents, &child->nparents, &pcap, parent) != 0 ||
      push_ptr((void ***)&parent->children, &parent->nchildren, &parent->children_cap, child) != 0) {
    topo_fail(t, BECK_ERR_NOMEM, "out of memory");
    return false;
  }
  return true;
}

/* Checks that `in` is a usable node of one of the allowed shapes. */
static bool check_in(beck_stream_t *in, unsigned shapes, const char *what) {
  if (in == NULL)
    return false; /* an earlier call failed: its error is recorded */
  if (!topo_ok(in->topo))
    return false;
  if (!(shapes & (1u << in->shape))) {
    topo_fail(in->topo, BECK_ERR_INVAL, "%s: input '%s' is a %s", what, in->name, shape_name(in->shape));
    return false;
  }
  return true;
}

#define SHAPE(x) (1u << BECK__SHAPE_##x)

static beck_stream_t *unary(beck_stream_t *in, const char *name, const char *opname, beck__op_t op, beck__shape_t shape,
                            unsigned accept, void *ud) {
  if (!check_in(in, accept, opname))
    return NULL;
  beck_stream_t *s = node_new(in->topo, name, opname, op, shape);
  if (s == NULL || !link(in, s))
    return NULL;
  s->ud = ud;
  s->key_changed = in->key_changed;
  s->wkind = in->wkind;
  return s;
}

static bool need_fn(beck_topology_t *t, const void *fn, const char *what) {
  if (fn == NULL) {
    topo_fail(t, BECK_ERR_INVAL, "%s: the callback is NULL", what);
    return false;
  }
  return true;
}

/* ---- topology ------------------------------------------------------------- */

beck_topology_t *beck_topology_new(const char *app_id) {
  beck_topology_t *t = beck_calloc(1, sizeof *t);
  if (t == NULL)
    return NULL;
  beck_error_clear(&t->err);
  t->app_id = beck_strdup(app_id ? app_id : "");
  if (t->app_id == NULL) {
    beck_free(t);
    return NULL;
  }
  if (app_id == NULL || !name_ok(app_id))
    topo_fail(t, BECK_ERR_INVAL, "application id '%s': use 1-200 characters from [A-Za-z0-9._-]",
              app_id ? app_id : "(null)");
  return t;
}

void beck_topology_destroy(beck_topology_t *t) {
  if (t == NULL)
    return;
  for (int i = 0; i < t->nnodes; i++) {
    beck_stream_t *s = t->nodes[i];
    beck_free(s->name);
    beck_free(s->parents);
    beck_free(s->children);
    beck_free(s->topic);
    beck_free(s->preds);
    beck_free(s->pred_uds);
    beck_free(s->late_topic);
    beck_free(s);
  }
  for (int i = 0; i < t->nsubs; i++)
    beck_free(t->subs[i].nodes);
  beck_free(t->subs);
  beck_free(t->nodes);
  beck_free(t->app_id);
  beck_free(t);
}

const beck_error_t *beck_topology_error(const beck_topology_t *t) { return &t->err; }

void beck_topology_set_on_error(beck_topology_t *t, beck_on_error_t policy) { t->on_error = policy; }

void beck__topic_name(const beck_topology_t *t, const beck_stream_t *s, const char *suffix, char *buf, size_t n) {
  snprintf(buf, n, "%s-%s-%s", t->app_id, s->name, suffix);
}

bool beck__node_has_store(const beck_stream_t *s) { return s->has_store; }

/* ---- sources ---------------------------------------------------------------- */

static beck_stream_t *source_node(beck_topology_t *t, const char *name, const char *opname, beck__op_t op,
                                  beck__shape_t shape, const char *topic) {
  if (!topo_ok(t))
    return NULL;
  if (topic == NULL || *topic == '\0') {
    topo_fail(t, BECK_ERR_INVAL, "%s: no topic", opname);
    return NULL;
  }
  /* A task resumes each input from the committed offset of (app id, topic,
   * partition): two source nodes of one topic would share that offset, and
   * after a restart the one behind would skip what the other had read (Kafka
   * Streams refuses the same). */
  for (int i = 0; i < t->nnodes; i++) {
    const beck_stream_t *o = t->nodes[i];
    if ((o->op == BECK__OP_SOURCE || o->op == BECK__OP_TABLE_SOURCE) && !o->repartition && o->topic != NULL &&
        strcmp(o->topic, topic) == 0) {
      topo_fail(t, BECK_ERR_INVAL,
                "%s '%s': topic %s is already read by node '%s'; read a topic once and use that stream twice "
                "(two readers would share one committed offset)",
                opname, name ? name : "(unnamed)", topic, o->name);
      return NULL;
    }
  }
  beck_stream_t *s = node_new(t, name, opname, op, shape);
  if (s == NULL)
    return NULL;
  s->topic = beck_strdup(topic);
  if (s->topic == NULL) {
    topo_fail(t, BECK_ERR_NOMEM, "out of memory");
    return NULL;
  }
  return s;
}

beck_stream_t *beck_topology_stream(beck_topology_t *t, const char *name, const char *topic,
                                    const beck_source_opts_t *opts) {
  beck_stream_t *s = source_node(t, name, "source", BECK__OP_SOURCE, BECK__SHAPE_STREAM, topic);
  if (s != NULL && opts != NULL) {
    s->time_fn = opts->time_fn;
    s->ud = opts->time_ud;
  }
  return s;
}

beck_stream_t *beck_topology_table(beck_topology_t *t, const char *name, const char *topic,
                                   const beck_store_opts_t *opts) {
  beck_stream_t *s = source_node(t, name, "table", BECK__OP_TABLE_SOURCE, BECK__SHAPE_TABLE, topic);
  if (s != NULL) {
    s->has_store = true;
    if (opts != NULL)
      s->store = *opts;
  }
  return s;
}

/* ---- stateless ------------------------------------------------------------ */

beck_stream_t *beck_stream_filter(beck_stream_t *in, const char *name, beck_pred_fn fn, void *ud) {
  if (in != NULL && !need_fn(in->topo, (const void *)fn, "filter"))
    return NULL;
  beck_stream_t *s = unary(in, name, "filter", BECK__OP_FILTER, BECK__SHAPE_STREAM, SHAPE(STREAM), ud);
  if (s != NULL)
    s->pred = fn;
  return s;
}

beck_stream_t *beck_stream_map(beck_stream_t *in, const char *name, beck_map_fn fn, void *ud) {
  if (in != NULL && !need_fn(in->topo, (const void *)fn, "map"))
    return NULL;
  beck_stream_t *s = unary(in, name, "map", BECK__OP_MAP, BECK__SHAPE_STREAM, SHAPE(STREAM), ud);
  if (s != NULL) {
    s->map = fn;
    s->key_changed = true;
  }
  return s;
}

beck_stream_t *beck_stream_map_values(beck_stream_t *in, const char *name, beck_bytes_fn fn, void *ud) {
  if (in != NULL && !need_fn(in->topo, (const void *)fn, "map_values"))
    return NULL;
  beck_stream_t *s = unary(in, name, "map_values", BECK__OP_MAP_VALUES, BECK__SHAPE_STREAM, SHAPE(STREAM), ud);
  if (s != NULL)
    s->bytes = fn;
  return s;
}

beck_stream_t *beck_stream_select_key(beck_stream_t *in, const char *name, beck_bytes_fn fn, void *ud) {
  if (in != NULL && !need_fn(in->topo, (const void *)fn, "select_key"))
    return NULL;
  beck_stream_t *s = unary(in, name, "select_key", BECK__OP_SELECT_KEY, BECK__SHAPE_STREAM, SHAPE(STREAM), ud);
  if (s != NULL) {
    s->bytes = fn;
    s->key_changed = true;
  }
  return s;
}

beck_stream_t *beck_stream_flat_map(beck_stream_t *in, const char *name, beck_flat_map_fn fn, void *ud) {
  if (in != NULL && !need_fn(in->topo, (const void *)fn, "flat_map"))
    return NULL;
  beck_stream_t *s = unary(in, name, "flat_map", BECK__OP_FLAT_MAP, BECK__SHAPE_STREAM, SHAPE(STREAM), ud);
  if (s != NULL) {
    s->flat_map = fn;
    s->key_changed = true;
  }
  return s;
}

beck_stream_t *beck_stream_peek(beck_stream_t *in, const char *name, beck_peek_fn fn, void *ud) {
  if (in != NULL && !need_fn(in->topo, (const void *)fn, "peek"))
    return NULL;
  beck_stream_t *s = unary(in, name, "peek", BECK__OP_PEEK, BECK__SHAPE_STREAM, SHAPE(STREAM), ud);
  if (s != NULL)
    s->peek = fn;
  return s;
}

beck_stream_t *beck_stream_process(beck_stream_t *in, const char *name, beck_process_fn fn, void *ud, bool keeps_key) {
  if (in != NULL && !need_fn(in->topo, (const void *)fn, "process"))
    return NULL;
  beck_stream_t *s = unary(in, name, "process", BECK__OP_PROCESS, BECK__SHAPE_STREAM, SHAPE(STREAM), ud);
  if (s != NULL) {
    s->process = fn;
    if (!keeps_key)
      s->key_changed = true;
  }
  return s;
}

beck_err_t beck_stream_branch(beck_stream_t *in, const char *name, int n, const beck_pred_fn *preds, void *const *uds,
                              beck_stream_t **outs) {
  if (in == NULL)
    return BECK_ERR_INVAL;
  beck_topology_t *t = in->topo;
  if (n < 1 || preds == NULL || outs == NULL) {
    topo_fail(t, BECK_ERR_INVAL, "branch: needs at least one predicate");
    return t->err.code ? t->err.code : BECK_ERR_INVAL;
  }
  for (int i = 0; i < n - 1; i++)
    if (preds[i] == NULL) {
      topo_fail(t, BECK_ERR_INVAL, "branch: predicate %d is NULL (only the last may be)", i);
      return t->err.code;
    }
  beck_stream_t *b = unary(in, name, "branch", BECK__OP_BRANCH, BECK__SHAPE_STREAM, SHAPE(STREAM), NULL);
  if (b == NULL)
    return t->err.code ? t->err.code : BECK_ERR_INVAL;
  b->preds = beck_calloc((size_t)n, sizeof *b->preds);
  b->pred_uds = beck_calloc((size_t)n, sizeof *b->pred_uds);
  if (b->preds == NULL || b->pred_uds == NULL) {
    topo_fail(t, BECK_ERR_NOMEM, "out of memory");
    return t->err.code;
  }
  b->narms = n;
  for (int i = 0; i < n; i++) {
    b->preds[i] = preds[i];
    b->pred_uds[i] = uds ? uds[i] : NULL;
  }
  for (int i = 0; i < n; i++) {
    char arm[256];
    snprintf(arm, sizeof arm, "%s-%d", b->name, i);
    outs[i] = unary(b, arm, "branch_arm", BECK__OP_PASS, BECK__SHAPE_STREAM, SHAPE(STREAM), NULL);
    if (outs[i] == NULL)
      return t->err.code;
  }
  return BECK_ERR_OK;
}

beck_stream_t *beck_topology_merge(beck_topology_t *t, const char *name, int n, beck_stream_t *const *ins) {
  if (!topo_ok(t))
    return NULL;
  if (n < 1 || ins == NULL) {
    topo_fail(t, BECK_ERR_INVAL, "merge: needs at least one input");
    return NULL;
  }
  for (int i = 0; i < n; i++)
    if (!check_in(ins[i], SHAPE(STREAM), "merge"))
      return NULL;
  beck_stream_t *s = node_new(t, name, "merge", BECK__OP_PASS, BECK__SHAPE_STREAM);
  if (s == NULL)
    return NULL;
  s->wkind = ins[0]->wkind;
  for (int i = 0; i < n; i++) {
    if (!link(ins[i], s))
      return NULL;
    s->key_changed |= ins[i]->key_changed;
    if (ins[i]->wkind != s->wkind)
      s->wkind = -1;
  }
  return s;
}

beck_stream_t *beck_stream_to(beck_stream_t *in, const char *name, const char *topic, const beck_sink_opts_t *opts) {
  if (in != NULL && (topic == NULL || *topic == '\0')) {
    topo_fail(in->topo, BECK_ERR_INVAL, "to: no topic");
    return NULL;
  }
  if (in != NULL && in->wkind == -1) {
    topo_fail(in->topo, BECK_ERR_INVAL,
              "to '%s': input '%s' mixes session and time windows; their keys cannot share one format", topic,
              in->name);
    return NULL;
  }
  beck_stream_t *s =
      unary(in, name, "sink", BECK__OP_SINK, BECK__SHAPE_SINK, SHAPE(STREAM) | SHAPE(TABLE) | SHAPE(WTABLE), NULL);
  if (s == NULL)
    return NULL;
  s->topic = beck_strdup(topic);
  if (s->topic == NULL) {
    topo_fail(s->topo, BECK_ERR_NOMEM, "out of memory");
    return NULL;
  }
  if (opts != NULL)
    s->sink_partitions = opts->partitions;
  return s;
}

/* ---- repartitioning ------------------------------------------------------- */

/* Returns the node a stateful operator named `for_name` should read: `in`
 * itself, or (when in's keys changed) the source of a new repartition topic
 * fed by a new sink under `in`. */
static beck_stream_t *repartitioned(beck_stream_t *in, const char *for_name) {
  if (!in->key_changed)
    return in;
  beck_topology_t *t = in->topo;
  char nm[256];
  snprintf(nm, sizeof nm, "%s-repartition-sink", for_name);
  beck_stream_t *sink = node_new(t, nm, "repartition_sink", BECK__OP_SINK, BECK__SHAPE_SINK);
  if (sink == NULL || !link(in, sink))
    return NULL;
  snprintf(nm, sizeof nm, "%s-repartition", for_name);
  char topic[512];
  snprintf(topic, sizeof topic, "%s-%s", t->app_id, nm);
  sink->topic = beck_strdup(topic);
  snprintf(nm, sizeof nm, "%s-repartition-source", for_name);
  beck_stream_t *src = node_new(t, nm, "repartition_source", BECK__OP_SOURCE, in->shape);
  if (src == NULL)
    return NULL;
  src->topic = beck_strdup(topic);
  if (sink->topic == NULL || src->topic == NULL) {
    topo_fail(t, BECK_ERR_NOMEM, "out of memory");
    return NULL;
  }
  sink->internal = src->internal = true;
  sink->repartition = src->repartition = true;
  src->wkind = in->wkind;
  return src;
}

/* ---- grouping, windows, aggregations -------------------------------------- */

beck_stream_t *beck_stream_group_by_key(beck_stream_t *in, const char *name) {
  return unary(in, name, "group_by_key", BECK__OP_PASS, BECK__SHAPE_GROUPED, SHAPE(STREAM), NULL);
}

beck_stream_t *beck_stream_group_by(beck_stream_t *in, const char *name, beck_bytes_fn key_fn, void *ud) {
  if (in != NULL && !need_fn(in->topo, (const void *)key_fn, "group_by"))
    return NULL;
  beck_stream_t *s = unary(in, name, "group_by", BECK__OP_SELECT_KEY, BECK__SHAPE_GROUPED, SHAPE(STREAM), ud);
  if (s != NULL) {
    s->bytes = key_fn;
    s->key_changed = true;
  }
  return s;
}

beck_stream_t *beck_stream_window(beck_stream_t *grouped, const char *name, const beck_window_spec_t *spec) {
  if (!check_in(grouped, SHAPE(GROUPED), "window"))
    return NULL;
  beck_topology_t *t = grouped->topo;
  if (spec == NULL) {
    topo_fail(t, BECK_ERR_INVAL, "window: no window spec");
    return NULL;
  }
  beck_window_spec_t w = *spec;
  const char *bad = NULL;
  switch (w.kind) {
  case BECK_WINDOW_TUMBLING:
    w.advance_ms = w.size_ms;
    if (w.size_ms <= 0)
      bad = "tumbling windows need size_ms > 0";
    break;
  case BECK_WINDOW_HOPPING:
    if (w.advance_ms == 0)
      w.advance_ms = w.size_ms;
    if (w.size_ms <= 0 || w.advance_ms <= 0 || w.advance_ms > w.size_ms)
      bad = "hopping windows need size_ms > 0 and 0 < advance_ms <= size_ms";
    break;
  case BECK_WINDOW_SLIDING:
    if (w.size_ms <= 0)
      bad = "sliding windows need size_ms (the time difference) > 0";
    break;
  case BECK_WINDOW_SESSION:
    if (w.gap_ms <= 0)
      bad = "session windows need gap_ms > 0";
    break;
  default:
    bad = "unknown window kind";
  }
  if (bad == NULL && w.grace_ms < 0)
    bad = "grace_ms must be >= 0";
  if (bad == NULL && w.emit != BECK_EMIT_ON_UPDATE && w.emit != BECK_EMIT_FINAL)
    bad = "unknown emit mode";
  if (bad != NULL) {
    topo_fail(t, BECK_ERR_INVAL, "window%s%s: %s", name ? " " : "", name ? name : "", bad);
    return NULL;
  }
  beck_stream_t *s = unary(grouped, name, "window", BECK__OP_PASS, BECK__SHAPE_WINDOWED, SHAPE(GROUPED), NULL);
  if (s == NULL)
    return NULL;
  if (w.late_topic != NULL) {
    s->late_topic = beck_strdup(w.late_topic);
    if (s->late_topic == NULL) {
      topo_fail(t, BECK_ERR_NOMEM, "out of memory");
      return NULL;
    }
  }
  w.late_topic = s->late_topic;
  s->win = w;
  return s;
}

static beck_stream_t *agg_node(beck_stream_t *grouped, const char *name, const char *opname, const beck__aggfn_t *fn,
                               const beck_agg_opts_t *opts) {
  if (!check_in(grouped, SHAPE(GROUPED) | SHAPE(WINDOWED), opname))
    return NULL;
  beck_topology_t *t = grouped->topo;
  bool windowed = grouped->shape == BECK__SHAPE_WINDOWED;
  if (windowed && grouped->win.kind == BECK_WINDOW_SESSION && fn->kind == BECK__AGG_CUSTOM && fn->user.merge == NULL) {
    topo_fail(t, BECK_ERR_INVAL, "%s: session windows need a merge function in the aggregator", opname);
    return NULL;
  }
  /* The name is needed before the node exists, for the repartition topic. */
  char gen[64];
  if (name == NULL) {
    snprintf(gen, sizeof gen, "%s-%d", opname, t->nnodes);
    name = gen;
  }
  if (beck_topology_node(t, name) != NULL) {
    topo_fail(t, BECK_ERR_EXISTS, "node name '%s' is already used", name);
    return NULL;
  }
  beck_stream_t *in = repartitioned(grouped, name);
  if (in == NULL)
    return NULL;
  beck_stream_t *s = node_new(t, name, opname, windowed ? BECK__OP_WINDOW_AGGREGATE : BECK__OP_AGGREGATE,
                              windowed ? BECK__SHAPE_WTABLE : BECK__SHAPE_TABLE);
  if (s == NULL || !link(in, s))
    return NULL;
  s->agg = *fn;
  if (opts != NULL) {
    s->agg.format = opts->format;
    s->agg.num_fn = opts->num_fn;
    s->agg.num_ud = opts->num_ud;
    s->store = opts->store;
  }
  s->has_store = true;
  if (windowed) {
    s->win = grouped->win;
    s->wkind = (int)grouped->win.kind;
    if (grouped->win.late_topic != NULL) {
      char nm[256];
      snprintf(nm, sizeof nm, "%s-late-sink", s->name);
      beck_stream_t *late = node_new(t, nm, "late_sink", BECK__OP_SINK, BECK__SHAPE_SINK);
      if (late == NULL)
        return NULL;
      late->internal = true;
      late->topic = beck_strdup(grouped->win.late_topic);
      late->parents = beck_calloc(1, sizeof *late->parents);
      if (late->topic == NULL || late->parents == NULL) {
        topo_fail(t, BECK_ERR_NOMEM, "out of memory");
        return NULL;
      }
      late->parents[0] = s; /* membership only: late records are not results */
      late->nparents = 1;
      s->late_sink = late;
    }
  }
  return s;
}

static beck_stream_t *agg_simple(beck_stream_t *g, const char *name, const char *opname, beck__agg_kind_t kind,
                                 const beck_agg_opts_t *opts) {
  beck__aggfn_t fn = {.kind = kind};
  return agg_node(g, name, opname, &fn, opts);
}

beck_stream_t *beck_stream_count(beck_stream_t *g, const char *name, const beck_agg_opts_t *opts) {
  return agg_simple(g, name, "count", BECK__AGG_COUNT, opts);
}
beck_stream_t *beck_stream_sum(beck_stream_t *g, const char *name, const beck_agg_opts_t *opts) {
  return agg_simple(g, name, "sum", BECK__AGG_SUM, opts);
}
beck_stream_t *beck_stream_min(beck_stream_t *g, const char *name, const beck_agg_opts_t *opts) {
  return agg_simple(g, name, "min", BECK__AGG_MIN, opts);
}
beck_stream_t *beck_stream_max(beck_stream_t *g, const char *name, const beck_agg_opts_t *opts) {
  return agg_simple(g, name, "max", BECK__AGG_MAX, opts);
}
beck_stream_t *beck_stream_avg(beck_stream_t *g, const char *name, const beck_agg_opts_t *opts) {
  return agg_simple(g, name, "avg", BECK__AGG_AVG, opts);
}

beck_stream_t *beck_stream_reduce(beck_stream_t *g, const char *name, beck_reduce_fn fn, void *ud,
                                  const beck_agg_opts_t *opts) {
  if (g != NULL && !need_fn(g->topo, (const void *)fn, "reduce"))
    return NULL;
  beck__aggfn_t a = {.kind = BECK__AGG_REDUCE, .reduce = fn, .reduce_ud = ud};
  return agg_node(g, name, "reduce", &a, opts);
}

beck_stream_t *beck_stream_aggregate(beck_stream_t *g, const char *name, const beck_aggregator_t *agg,
                                     const beck_agg_opts_t *opts) {
  if (g == NULL)
    return NULL;
  if (agg == NULL || agg->init == NULL || agg->add == NULL) {
    topo_fail(g->topo, BECK_ERR_INVAL, "aggregate: the aggregator needs init and add functions");
    return NULL;
  }
  beck__aggfn_t a = {.kind = BECK__AGG_CUSTOM, .user = *agg};
  return agg_node(g, name, "aggregate", &a, opts);
}

beck_stream_t *beck_stream_to_stream(beck_stream_t *table, const char *name) {
  beck_stream_t *s =
      unary(table, name, "to_stream", BECK__OP_PASS, BECK__SHAPE_STREAM, SHAPE(TABLE) | SHAPE(WTABLE), NULL);
  if (s != NULL)
    s->key_changed = false;
  return s;
}

/* ---- joins ---------------------------------------------------------------- */

static bool materialized(const beck_stream_t *s) {
  return s->op == BECK__OP_TABLE_SOURCE || s->op == BECK__OP_AGGREGATE;
}

beck_stream_t *beck_stream_join(beck_stream_t *left, beck_stream_t *right, const char *name, beck_joiner_fn joiner,
                                void *ud, const beck_join_opts_t *opts) {
  if (left == NULL || right == NULL)
    return NULL;
  beck_topology_t *t = left->topo;
  if (!topo_ok(t))
    return NULL;
  if (right->topo != t) {
    topo_fail(t, BECK_ERR_INVAL, "join: inputs belong to different topologies");
    return NULL;
  }
  if (!need_fn(t, (const void *)joiner, "join"))
    return NULL;
  beck_join_opts_t o = {0};
  if (opts != NULL)
    o = *opts;
  if (o.kind != BECK_JOIN_INNER && o.kind != BECK_JOIN_LEFT && o.kind != BECK_JOIN_OUTER) {
    topo_fail(t, BECK_ERR_INVAL, "join: unknown join kind %d", (int)o.kind);
    return NULL;
  }
  beck__op_t op;
  beck__shape_t shape;
  const char *opname;
  if (left->shape == BECK__SHAPE_STREAM && right->shape == BECK__SHAPE_STREAM) {
    op = BECK__OP_JOIN_SS, shape = BECK__SHAPE_STREAM, opname = "join_stream_stream";
    if (o.before_ms < 0 || o.after_ms < 0 || o.grace_ms < 0) {
      topo_fail(t, BECK_ERR_INVAL, "join: before_ms, after_ms and grace_ms must be >= 0");
      return NULL;
    }
  } else if (left->shape == BECK__SHAPE_STREAM && right->shape == BECK__SHAPE_TABLE) {
    op = BECK__OP_JOIN_ST, shape = BECK__SHAPE_STREAM, opname = "join_stream_table";
    if (o.kind == BECK_JOIN_OUTER) {
      topo_fail(t, BECK_ERR_INVAL, "join: a stream-table join is inner or left, not outer");
      return NULL;
    }
  } else if (left->shape == BECK__SHAPE_TABLE && right->shape == BECK__SHAPE_TABLE) {
    op = BECK__OP_JOIN_TT, shape = BECK__SHAPE_TABLE, opname = "join_table_table";
  } else {
    topo_fail(t, BECK_ERR_INVAL, "join: cannot join a %s ('%s') with a %s ('%s')%s", shape_name(left->shape),
              left->name, shape_name(right->shape), right->name,
              left->shape == BECK__SHAPE_TABLE && right->shape == BECK__SHAPE_STREAM ? "; put the stream on the left"
                                                                                     : "");
    return NULL;
  }
  if (right->shape == BECK__SHAPE_TABLE && !materialized(right)) {
    topo_fail(t, BECK_ERR_UNSUPPORTED, "join: table '%s' is not materialized (join a table source or aggregation)",
              right->name);
    return NULL;
  }
  if (left->shape == BECK__SHAPE_TABLE && !materialized(left)) {
    topo_fail(t, BECK_ERR_UNSUPPORTED, "join: table '%s' is not materialized (join a table source or aggregation)",
              left->name);
    return NULL;
  }
  char gen[64];
  if (name == NULL) {
    snprintf(gen, sizeof gen, "%s-%d", opname, t->nnodes);
    name = gen;
  }
  if (beck_topology_node(t, name) != NULL) {
    topo_fail(t, BECK_ERR_EXISTS, "node name '%s' is already used", name);
    return NULL;
  }
  char side[256];
  beck_stream_t *l = left, *r = right;
  if (left->key_changed) {
    snprintf(side, sizeof side, "%s-left", name);
    l = repartitioned(left, side);
  }
  if (l != NULL && right->key_changed) {
    snprintf(side, sizeof side, "%s-right", name);
    r = repartitioned(right, side);
  }
  if (l == NULL || r == NULL)
    return NULL;
  beck_stream_t *s = node_new(t, name, opname, op, shape);
  if (s == NULL || !link(l, s) || !link(r, s))
    return NULL;
  s->joiner = joiner;
  s->ud = ud;
  s->join = o;
  s->store = o.store;
  s->has_store = op == BECK__OP_JOIN_SS;
  return s;
}

/* ---- compile: sub-topologies ---------------------------------------------- */

static int uf_find(int *p, int x) {
  while (p[x] != x) {
    p[x] = p[p[x]];
    x = p[x];
  }
  return x;
}

beck_err_t beck__topology_compile(beck_topology_t *t, beck_error_t *e) {
  if (t->err.code != BECK_ERR_OK) {
    *e = t->err;
    return beck_error_wrap(e, "topology %s", t->app_id);
  }
  if (t->compiled)
    return BECK_ERR_OK;
  int n = t->nnodes;
  if (n == 0)
    return beck_error_set(e, BECK_ERR_INVAL, "topology %s: no nodes", t->app_id);
  int *uf = beck_calloc((size_t)n, sizeof *uf);
  int *comp = beck_calloc((size_t)n, sizeof *comp);   /* root -> component index */
  int *order = beck_calloc((size_t)n, sizeof *order); /* component index -> topo rank */
  int *indeg = beck_calloc((size_t)n, sizeof *indeg);
  bool *edge = NULL;
  beck_err_t rc = BECK_ERR_NOMEM;
  if (uf == NULL || comp == NULL || order == NULL || indeg == NULL)
    goto out;
  for (int i = 0; i < n; i++)
    uf[i] = i;
  for (int i = 0; i < n; i++) {
    beck_stream_t *s = t->nodes[i];
    for (int j = 0; j < s->nparents; j++) {
      int a = uf_find(uf, s->id), b = uf_find(uf, s->parents[j]->id);
      if (a != b)
        uf[a < b ? b : a] = a < b ? a : b;
    }
  }
  /* Number components in order of their smallest node id. */
  int ncomp = 0;
  for (int i = 0; i < n; i++)
    comp[i] = -1;
  for (int i = 0; i < n; i++) {
    int r = uf_find(uf, i);
    if (comp[r] < 0)
      comp[r] = ncomp++;
    t->nodes[i]->subtopo = comp[r];
  }
  /* Edges between components: repartition sink -> sources of its topic. */
  edge = beck_calloc((size_t)ncomp * (size_t)ncomp, sizeof *edge);
  if (edge == NULL)
    goto out;
  for (int i = 0; i < n; i++) {
    beck_stream_t *k = t->nodes[i];
    if (k->op != BECK__OP_SINK || !k->repartition)
      continue;
    for (int j = 0; j < n; j++) {
      beck_stream_t *src = t->nodes[j];
      if (src->op == BECK__OP_SOURCE && src->repartition && strcmp(src->topic, k->topic) == 0) {
        int a = k->subtopo, b = src->subtopo;
        if (a == b) {
          rc = beck_error_set(e, BECK_ERR_INVAL, "topology %s: repartition topic %s loops back into its own input",
                              t->app_id, k->topic);
          goto out;
        }
        if (!edge[a * ncomp + b]) {
          edge[a * ncomp + b] = true;
          indeg[b]++;
        }
      }
    }
  }
  /* Kahn's algorithm, smallest component first among the ready ones. */
  for (int rank = 0; rank < ncomp; rank++) {
    int pick = -1;
    for (int c = 0; c < ncomp; c++)
      if (indeg[c] == 0) {
        pick = c;
        break;
      }
    if (pick < 0) {
      rc = beck_error_set(e, BECK_ERR_INVAL, "topology %s: repartition topics form a cycle", t->app_id);
      goto out;
    }
    indeg[pick] = -1;
    order[pick] = rank;
    for (int c = 0; c < ncomp; c++)
      if (edge[pick * ncomp + c])
        indeg[c]--;
  }
  t->subs = beck_calloc((size_t)ncomp, sizeof *t->subs);
  if (t->subs == NULL)
    goto out;
  t->nsubs = ncomp;
  for (int c = 0; c < ncomp; c++)
    t->subs[c].id = c;
  for (int i = 0; i < n; i++)
    t->nodes[i]->subtopo = order[t->nodes[i]->subtopo];
  for (int i = 0; i < n; i++) {
    beck__subtopo_t *sub = &t->subs[t->nodes[i]->subtopo];
    if (sub->nodes == NULL) {
      sub->nodes = beck_calloc((size_t)n, sizeof *sub->nodes);
      if (sub->nodes == NULL)
        goto out;
    }
    sub->nodes[sub->nnodes++] = t->nodes[i];
  }
  t->compiled = true;
  rc = BECK_ERR_OK;
out:
  if (rc == BECK_ERR_NOMEM)
    beck_error_set(e, rc, "topology %s: out of memory", t->app_id);
  beck_free(uf);
  beck_free(comp);
  beck_free(order);
  beck_free(indeg);
  beck_free(edge);
  return rc;
}

/* ---- describe ------------------------------------------------------------- */

beck_err_t beck_topology_describe(beck_topology_t *t, beck_buf_t *out) {
  beck_error_t e;
  beck_err_t rc = beck__topology_compile(t, &e);
  if (rc != BECK_ERR_OK)
    return beck_buf_printf(out, "error: %s\n", e.msg) ? BECK_ERR_NOMEM : rc;
  beck_buf_printf(out, "Topology %s\n", t->app_id);
  for (int c = 0; c < t->nsubs; c++) {
    beck__subtopo_t *sub = &t->subs[c];
    beck_buf_printf(out, "  Sub-topology %d\n", c);
    for (int i = 0; i < sub->nnodes; i++) {
      beck_stream_t *s = sub->nodes[i];
      beck_buf_printf(out, "    %s %s", s->opname, s->name);
      if (s->topic != NULL)
        beck_buf_printf(out, " [topic %s]", s->topic);
      if (s->has_store) {
        char cl[512];
        beck__topic_name(t, s, "changelog", cl, sizeof cl);
        beck_buf_printf(out, " [store %s %s, changelog %s]", s->name,
                        s->store.kind == BECK_STORE_SQLITE ? "sqlite" : "memory",
                        s->store.no_changelog ? "(none)" : cl);
      }
      if (s->nparents > 0) {
        beck_buf_printf(out, " <- ");
        for (int j = 0; j < s->nparents; j++)
          beck_buf_printf(out, "%s%s", j ? ", " : "", s->parents[j]->name);
      }
      beck_buf_printf(out, "\n");
    }
  }
  return BECK_ERR_OK;
}
