/*
 * streams_int.h - private to streams/: node definitions, the compiled
 * topology, per-task node instances, operator vtables, batches, stores and
 * the log interface tasks read and write through.
 *
 * Layers, bottom up:
 *
 *   io        beck__io_t: the few log operations a task needs (create topic,
 *             partitions, produce, fetch, watermarks, commit offsets). Two
 *             implementations: io_mem.c (an in-memory log, used by the test
 *             driver) and io_client.c (the embedded or remote log client,
 *             used by the runtime). Tasks never see which one.
 *   stores    beck__kv_t: an ordered byte map with timestamps (store_mem.c
 *             over a skip list, store_sqlite.c over a sqlite3 table). A
 *             beck__store_t (store.c) wraps one: it logs every write to the
 *             store's changelog partition, flushes the log at commit, then
 *             checkpoints the local store; and restores it on open.
 *   topology  beck_stream_t nodes as the builder made them (topology.c),
 *             grouped into sub-topologies cut at repartition topics.
 *   task      beck__task_t (task.c): one sub-topology on one partition: the
 *             node instances (beck__nrt_t), their stores, the input
 *             positions; processes one input batch at a time, commits.
 *   operators one file per operator family (op_*.c, window_*.c, join_*.c),
 *             each a beck__op_vt_t.
 *
 * Batches: a task owns one arena; everything a batch points to (record
 * arrays, bytes made by callbacks, decoded headers) lives in it and is freed
 * whole when the input batch has gone through the whole sub-topology.
 * Operators push batches to their children synchronously (depth first), so a
 * child may borrow anything its parent emitted. Nothing downstream keeps a
 * pointer after process() returns: stores and sinks copy.
 */
#ifndef BECK_STREAMS_INT_H
#define BECK_STREAMS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/logging.h"
#include "beck/streams.h"

#define BECK__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BECK__TASK_ARENA_CHUNK (64 * 1024)

typedef struct beck__task beck__task_t;
typedef struct beck__nrt beck__nrt_t;
typedef struct beck__store beck__store_t;
typedef struct beck__kv beck__kv_t;
typedef struct beck__io beck__io_t;

/* ---- node definitions (topology.c) --------------------------------------- */

typedef enum beck__op {
  BECK__OP_SOURCE,       /* external or repartition topic -> stream */
  BECK__OP_TABLE_SOURCE, /* topic -> materialized table */
  BECK__OP_FILTER,
  BECK__OP_MAP,
  BECK__OP_MAP_VALUES,
  BECK__OP_SELECT_KEY,
  BECK__OP_FLAT_MAP,
  BECK__OP_PEEK,
  BECK__OP_PROCESS,
  BECK__OP_BRANCH,    /* routes each record to one of its arm children */
  BECK__OP_PASS,      /* merge, branch arm, group_by_key, window spec, to_stream */
  BECK__OP_SINK,      /* to(topic), repartition sink */
  BECK__OP_AGGREGATE, /* grouped -> table */
  BECK__OP_WINDOW_AGGREGATE,
  BECK__OP_JOIN_SS, /* stream-stream, windowed */
  BECK__OP_JOIN_ST, /* stream-table */
  BECK__OP_JOIN_TT, /* table-table */
} beck__op_t;

typedef enum beck__shape {
  BECK__SHAPE_STREAM,
  BECK__SHAPE_GROUPED,
  BECK__SHAPE_WINDOWED, /* grouped + window spec */
  BECK__SHAPE_TABLE,
  BECK__SHAPE_WTABLE, /* windowed aggregation result */
  BECK__SHAPE_SINK,
} beck__shape_t;

typedef enum beck__agg_kind {
  BECK__AGG_COUNT,
  BECK__AGG_SUM,
  BECK__AGG_MIN,
  BECK__AGG_MAX,
  BECK__AGG_AVG,
  BECK__AGG_REDUCE,
  BECK__AGG_CUSTOM,
} beck__agg_kind_t;

/* An aggregation function (aggregator.c). State bytes are what the store
 * keeps; the result is what flows downstream (they differ for avg and the
 * numeric ones, whose state is binary and result is formatted). */
typedef struct beck__aggfn {
  beck__agg_kind_t kind;
  beck_num_format_t format;
  beck_num_fn num_fn;
  void *num_ud;
  beck_reduce_fn reduce;
  void *reduce_ud;
  beck_aggregator_t user;
} beck__aggfn_t;

struct beck_stream {
  beck_topology_t *topo;
  int id; /* creation order; parents always have smaller ids */
  char *name;
  const char *opname; /* "filter", "count", ... for describe and errors */
  beck__op_t op;
  beck__shape_t shape;
  bool key_changed; /* keys may differ from the partitioning key */
  bool internal;    /* made by the builder (repartition sink/source) */
  int subtopo;

  beck_stream_t **parents;
  int nparents;
  beck_stream_t **children;
  int nchildren, children_cap;

  /* operator parameters (only those of `op` are set) */
  void *ud;
  beck_pred_fn pred;
  beck_map_fn map;
  beck_bytes_fn bytes;
  beck_flat_map_fn flat_map;
  beck_peek_fn peek;
  beck_process_fn process;
  beck_time_fn time_fn;
  char *topic; /* source, table source, sink */
  int32_t sink_partitions;
  bool repartition;    /* source/sink of a repartition topic */
  bool windowed_key;   /* sink: encode window bounds into the key */
  beck_pred_fn *preds; /* branch */
  void **pred_uds;
  int narms;
  beck_window_spec_t win; /* window spec node and windowed aggregation */
  char *late_topic;
  beck_stream_t *late_sink; /* windowed aggregation: sink of late records (not a child) */
  int wkind;                /* window kind of the records this node emits: 0 none, -1 mixed */
  beck__aggfn_t agg;
  bool has_store;
  beck_store_opts_t store;
  beck_join_opts_t join;
  beck_joiner_fn joiner;
};

typedef struct beck__subtopo {
  int id;
  beck_stream_t **nodes; /* in id order (a topological order) */
  int nnodes;
  int32_t partitions; /* resolved when a runtime starts */
} beck__subtopo_t;

struct beck_topology {
  char *app_id;
  beck_error_t err;
  beck_on_error_t on_error;
  beck_stream_t **nodes;
  int nnodes, nodes_cap;
  bool compiled;
  beck__subtopo_t *subs;
  int nsubs;
};

/* Groups nodes into sub-topologies (connected components once repartition
 * topics are cut), numbered so that a sub-topology comes after every one that
 * feeds it. Idempotent; freezes the topology (builder calls fail after). */
beck_err_t beck__topology_compile(beck_topology_t *t, beck_error_t *e);
/* Creates the topics a topology writes (repartition, changelog, output)
 * and sets every sub-topology's partition count from its inputs, checking
 * co-partitioning (topics.c). create_inputs > 0 also creates missing input
 * topics with that many partitions (the test driver). */
beck_err_t beck__topics_setup(beck_topology_t *t, beck__io_t *io, int32_t create_inputs, beck_error_t *e);
/* "<app_id>-<node>-changelog" etc. into buf (NUL-terminated, truncated). */
void beck__topic_name(const beck_topology_t *t, const beck_stream_t *s, const char *suffix, char *buf, size_t n);
/* True when the node keeps a store (table sources, aggregations,
 * stream-stream joins). */
bool beck__node_has_store(const beck_stream_t *s);

/* ---- batches and the callback context (batch.c) -------------------------- */

/* An output batch being built in the task arena. */
typedef struct beck__obatch {
  beck_srec_t *recs;
  size_t n, cap;
  beck_arena_t *arena;
} beck__obatch_t;

void beck__ob_init(beck__obatch_t *ob, beck_arena_t *arena);
/* Appends a copy of the struct (not the bytes). */
beck_err_t beck__ob_push(beck__obatch_t *ob, const beck_srec_t *r);
static inline beck_sbatch_t beck__ob_view(const beck__obatch_t *ob) {
  beck_sbatch_t b = {ob->recs, ob->n};
  return b;
}

struct beck_sctx {
  beck__task_t *task;
  beck__nrt_t *node;
  beck__obatch_t *out; /* where beck_sctx_emit() appends; NULL when emitting is not allowed */
  beck_error_t *e;
  bool failed; /* beck_sctx_fail() was called (e holds the message) */
  beck_err_t nomem;
};

void beck__sctx_init(beck_sctx_t *ctx, beck__nrt_t *n, beck__obatch_t *out, beck_error_t *e);
/* Turns a callback's return code into the operator's decision: 0 to go on
 * with the next record (the record is skipped under BECK_ON_ERROR_SKIP and
 * counted), or the error (with the node's context in e) to fail the task. */
beck_err_t beck__callback_error(beck__nrt_t *n, beck_sctx_t *ctx, int rc, beck_error_t *e);

/* Copies a record's bytes (key, value, headers) into an arena. */
beck_err_t beck__rec_copy(beck_arena_t *a, const beck_srec_t *in, beck_srec_t *out);

/* ---- operator instances -------------------------------------------------- */

typedef struct beck__op_vt {
  /* After the task's stores are restored. May be NULL. */
  beck_err_t (*open)(beck__nrt_t *n, beck_error_t *e);
  /* One batch from the parent at input `port` (0, or 1 for a join's right
   * side; merge: any). Borrows in. */
  beck_err_t (*process)(beck__nrt_t *n, int port, const beck_sbatch_t *in, beck_error_t *e);
  /* The task's watermark moved to wm (operators close windows). May be NULL. */
  beck_err_t (*advance)(beck__nrt_t *n, int64_t wm, beck_error_t *e);
  /* Before a commit: write anything kept outside the stores. May be NULL. */
  beck_err_t (*flush)(beck__nrt_t *n, beck_error_t *e);
  /* Frees the instance state. May be NULL. */
  void (*close)(beck__nrt_t *n);
} beck__op_vt_t;

struct beck__nrt {
  const beck_stream_t *def;
  beck__task_t *task;
  const beck__op_vt_t *vt;
  beck__nrt_t **children;
  int *child_port; /* the port this node feeds in each child */
  int nchildren;
  beck__store_t *store; /* own store, or NULL */
  void *state;          /* operator-private */
  int64_t m_processed, m_late, m_skipped;
  beck_log_limit_t skip_log; /* rate limit of "record skipped" warnings */
};

/* Sends a batch to every child. */
beck_err_t beck__forward(beck__nrt_t *n, const beck_sbatch_t *b, beck_error_t *e);
/* The arena of the task's current batch. */
beck_arena_t *beck__arena(beck__nrt_t *n);

extern const beck__op_vt_t beck__op_source_vt;
extern const beck__op_vt_t beck__op_table_source_vt;
extern const beck__op_vt_t beck__op_filter_vt;
extern const beck__op_vt_t beck__op_branch_vt;
extern const beck__op_vt_t beck__op_map_vt;
extern const beck__op_vt_t beck__op_map_values_vt;
extern const beck__op_vt_t beck__op_select_key_vt;
extern const beck__op_vt_t beck__op_flat_map_vt;
extern const beck__op_vt_t beck__op_peek_vt;
extern const beck__op_vt_t beck__op_process_vt;
extern const beck__op_vt_t beck__op_pass_vt;
extern const beck__op_vt_t beck__op_sink_vt;
extern const beck__op_vt_t beck__op_aggregate_vt;
extern const beck__op_vt_t beck__op_window_aggregate_vt;
extern const beck__op_vt_t beck__op_join_ss_vt;
extern const beck__op_vt_t beck__op_join_st_vt;
extern const beck__op_vt_t beck__op_join_tt_vt;

/* ---- aggregation functions (aggregator.c) -------------------------------- */

/* Folds r into state (NULL: the key has no aggregate yet). *out is made in
 * the batch arena. *skip is set when the record does not count (no number,
 * for the numeric ones). Returns a callback's error code unchanged. */
int beck__agg_add(const beck__aggfn_t *a, beck_sctx_t *ctx, const beck_srec_t *r, const beck_nstr_t *state,
                  beck_nstr_t *out, bool *skip);
/* Merges two states (session windows). */
int beck__agg_merge(const beck__aggfn_t *a, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t x, beck_nstr_t y,
                    beck_nstr_t *out);
/* The value that flows downstream for a state. */
int beck__agg_result(const beck__aggfn_t *a, beck_sctx_t *ctx, beck_nstr_t state, beck_nstr_t *out);
/* Formats a double in the shortest form that reads back exactly. */
int beck__fmt_double(char *buf, size_t n, double d);

/* ---- table lookups (join_table.c) ---------------------------------------- */

/* The current value of key in a table node's store, as the table's
 * downstream sees it (aggregations: the result, not the state). Returns 1
 * found (*value in the batch arena or borrowed until the next store write),
 * 0 absent, negative on error. */
int beck__table_get(beck__nrt_t *table, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *value, int64_t *ts,
                    beck_error_t *e);

/* ---- ordered byte maps: skip list (skiplist.c) --------------------------- */

typedef struct beck__sl beck__sl_t;
typedef struct beck__sl_node beck__sl_node_t;

struct beck__sl_node {
  uint8_t *val;
  uint32_t vlen, vcap;
  uint32_t klen;
  uint8_t level;
  int64_t ts;
  uint64_t hash;
  beck__sl_node_t *next[]; /* level entries, then the key bytes */
};

static inline const uint8_t *beck__sl_key(const beck__sl_node_t *x) { return (const uint8_t *)(x->next + x->level); }

/* NULL on OOM. Deterministic (fixed-seed level generator). */
beck__sl_t *beck__sl_new(void);
void beck__sl_free(beck__sl_t *sl);
size_t beck__sl_count(const beck__sl_t *sl);
/* Exact match or NULL. */
beck__sl_node_t *beck__sl_find(const beck__sl_t *sl, const uint8_t *k, size_t kl);
/* Inserts or replaces (copies key and value). */
beck_err_t beck__sl_put(beck__sl_t *sl, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts);
/* Returns true when the key existed. */
bool beck__sl_del(beck__sl_t *sl, const uint8_t *k, size_t kl);
/* First node with key >= k (k NULL: the first node). */
beck__sl_node_t *beck__sl_seek(const beck__sl_t *sl, const uint8_t *k, size_t kl);
static inline beck__sl_node_t *beck__sl_next(const beck__sl_node_t *x) { return x->next[0]; }
void beck__sl_clear(beck__sl_t *sl);
/* memcmp order, shorter first on a common prefix. */
int beck__keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);

/* ---- key-value stores (store_mem.c, store_sqlite.c) ---------------------- */

/* Scan callback: return 0 to go on, 1 to stop, negative to fail. k and v
 * are borrowed for the call; the store must not be written during a scan. */
typedef int (*beck__kv_scan_fn)(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts);

typedef struct beck__kv_vt {
  /* 1 found (*v borrowed until the next call on the store), 0 absent. */
  int (*get)(beck__kv_t *s, const uint8_t *k, size_t kl, beck_slice_t *v, int64_t *ts, beck_error_t *e);
  beck_err_t (*put)(beck__kv_t *s, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts,
                    beck_error_t *e);
  beck_err_t (*del)(beck__kv_t *s, const uint8_t *k, size_t kl, beck_error_t *e);
  /* Keys in [lo, hi) in order; lo NULL = from the start, hi NULL = to the end. */
  beck_err_t (*scan)(beck__kv_t *s, const uint8_t *lo, size_t lol, const uint8_t *hi, size_t hil, beck__kv_scan_fn fn,
                     void *arg, beck_error_t *e);
  /* Makes every write so far durable locally, recording that the store now
   * reflects its changelog up to (excluding) changelog_next. */
  beck_err_t (*commit)(beck__kv_t *s, int64_t changelog_next, beck_error_t *e);
  /* The changelog offset the durable local state covers, or -1 (memory
   * stores, empty files). */
  int64_t (*checkpoint)(beck__kv_t *s);
  /* Removes every entry and the checkpoint. */
  beck_err_t (*clear)(beck__kv_t *s, beck_error_t *e);
  /* Closes; writes since the last commit are lost (a crash). */
  void (*close)(beck__kv_t *s);
} beck__kv_vt_t;

struct beck__kv {
  const beck__kv_vt_t *vt;
};

beck_err_t beck__kv_mem_open(beck__kv_t **out, beck_error_t *e);
/* Opens (creating) the sqlite store file at path. A file that is not a
 * usable store (not sqlite, damaged, failed quick_check) is deleted and
 * recreated empty, and *was_reset is set. */
beck_err_t beck__kv_sqlite_open(const char *path, beck__kv_t **out, bool *was_reset, beck_error_t *e);

/* ---- changelog write buffer (changelog_buf.c) ---------------------------- */

/* The latest write per key since the last reset, in first-write order. */
typedef struct beck__logbuf beck__logbuf_t;

beck__logbuf_t *beck__logbuf_new(void);
void beck__logbuf_free(beck__logbuf_t *lb);
/* Records a write (copies k and v); vl < 0 records a delete. */
beck_err_t beck__logbuf_put(beck__logbuf_t *lb, const uint8_t *k, size_t kl, const uint8_t *v, int64_t vl, int64_t ts);
size_t beck__logbuf_count(const beck__logbuf_t *lb);
/* Entry i as a record (borrowing the buffer until the next put or reset). */
void beck__logbuf_get(const beck__logbuf_t *lb, size_t i, beck_srec_t *out);
void beck__logbuf_reset(beck__logbuf_t *lb);

/* ---- stores with changelogs (store.c) ------------------------------------ */

struct beck__store {
  char *name;
  beck__kv_t *kv;
  char *changelog; /* NULL: not logged */
  int32_t partition;
  beck__io_t *io;
  /* changelog writes since the last flush, latest per key: a key updated
   * many times between commits is written once */
  beck__logbuf_t *pending;
  int64_t changelog_next; /* offset after our last durable changelog write; -1 unknown */
  int commits_since_checkpoint;
  int checkpoint_every;
  int64_t m_restored; /* records replayed at the last restore */
};

/* Opens the task's store for node s (memory, or sqlite under dir), without
 * restoring. */
beck_err_t beck__store_open(beck__task_t *task, const beck_stream_t *s, beck__store_t **out, beck_error_t *e);
/* Brings the store up to date: from its local checkpoint (sqlite) through
 * the changelog tail, or from the changelog alone. */
beck_err_t beck__store_restore(beck__store_t *st, beck_error_t *e);
int beck__store_get(beck__store_t *st, const uint8_t *k, size_t kl, beck_slice_t *v, int64_t *ts, beck_error_t *e);
beck_err_t beck__store_put(beck__store_t *st, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts,
                           beck_error_t *e);
beck_err_t beck__store_del(beck__store_t *st, const uint8_t *k, size_t kl, int64_t ts, beck_error_t *e);
beck_err_t beck__store_scan(beck__store_t *st, const uint8_t *lo, size_t lol, const uint8_t *hi, size_t hil,
                            beck__kv_scan_fn fn, void *arg, beck_error_t *e);
/* Writes pending changelog records (durably), then, every checkpoint_every
 * calls or when `checkpoint` is set, commits the local store with the
 * changelog position. Same as flush then checkpoint. */
beck_err_t beck__store_commit(beck__store_t *st, bool checkpoint, beck_error_t *e);
/* Produces the pending changelog records through the store's io (durable,
 * or into the io's transaction: then the task sets changelog_next from
 * the transaction's result once it has committed). */
beck_err_t beck__store_flush(beck__store_t *st, beck_error_t *e);
/* Commits the local store with checkpoint changelog_next, every
 * checkpoint_every calls or when `checkpoint` is set. */
beck_err_t beck__store_checkpoint(beck__store_t *st, bool checkpoint, beck_error_t *e);
/* Closes without committing (pending writes are dropped). */
void beck__store_close(beck__store_t *st);

/* ---- the log interface (io_mem.c, io_client.c) -------------------------- */

typedef struct beck__io_vt {
  /* Creates topic when missing (partitions; compact = cleanup.policy=compact).
   * An existing topic is left alone. */
  beck_err_t (*create_topic)(beck__io_t *io, const char *topic, int32_t partitions, bool compact, beck_error_t *e);
  /* BECK_ERR_NOTFOUND when the topic does not exist. */
  beck_err_t (*partitions)(beck__io_t *io, const char *topic, int32_t *out, beck_error_t *e);
  /* Appends n records to one partition, durably. *next (may be NULL) gets
   * the offset after the last record. Copies the records. */
  beck_err_t (*produce)(beck__io_t *io, const char *topic, int32_t partition, const beck_srec_t *recs, size_t n,
                        int64_t *next, beck_error_t *e);
  /* Reads up to max records from offset into *recs (bytes in arena or
   * borrowed from the log until the arena is reset) and, when offsets is
   * not NULL, their offsets into *offsets (in arena; offsets of compacted
   * topics have gaps); *next = where to go on. *n == 0 at the end, or
   * when a remote log has nothing in hand yet: it waits up to wait_ms for
   * records to arrive. */
  beck_err_t (*fetch)(beck__io_t *io, const char *topic, int32_t partition, int64_t offset, size_t max, int wait_ms,
                      beck_arena_t *arena, beck_srec_t **recs, int64_t **offsets, size_t *n, int64_t *next,
                      beck_error_t *e);
  beck_err_t (*watermarks)(beck__io_t *io, const char *topic, int32_t partition, int64_t *start, int64_t *high,
                           beck_error_t *e);
  beck_err_t (*commit)(beck__io_t *io, const char *group, const char *topic, int32_t partition, int64_t offset,
                       beck_error_t *e);
  /* -1 when nothing is committed. */
  beck_err_t (*committed)(beck__io_t *io, const char *group, const char *topic, int32_t partition, int64_t *offset,
                          beck_error_t *e);
  void (*destroy)(beck__io_t *io);
} beck__io_vt_t;

/* Exactly-once: an io whose produce and commit go into one transaction of
 * the log (nothing is visible, and produce returns no offsets, until
 * txn->commit). */
typedef struct beck__io_txn_vt {
  /* Makes everything produced and committed through the io since the
   * last call visible at once; on failure none of it ever is. */
  beck_err_t (*commit)(beck__io_t *io, beck_error_t *e);
  /* After a successful commit: the offset after the last record it wrote
   * to topic-partition; -1 when it wrote none there. */
  int64_t (*next_offset)(beck__io_t *io, const char *topic, int32_t partition);
} beck__io_txn_vt_t;

struct beck__io {
  const beck__io_vt_t *vt;
  const beck__io_txn_vt_t *txn; /* NULL: produce and commit take effect at once */
};

beck_err_t beck__io_mem_new(beck__io_t **out, beck_error_t *e);
/* Over a log client (borrowed: it must outlive the io). */
struct beck_client;
beck_err_t beck__io_client_new(struct beck_client *c, beck__io_t **out, beck_error_t *e);
/* Same, transactional (one transaction per io: one io per task).
 * BECK_ERR_UNSUPPORTED when the client has no transactions (remote). */
beck_err_t beck__io_client_txn_new(struct beck_client *c, beck__io_t **out, beck_error_t *e);
/* In-memory log only: the record at offset (borrowed), or NULL. */
const beck_srec_t *beck__io_mem_record(beck__io_t *io, const char *topic, int32_t partition, int64_t offset);

/* Kafka's default partitioner for keyed records: toPositive(murmur2(key)) % n. */
uint32_t beck__murmur2(const uint8_t *data, size_t len);
int32_t beck__partition_for_key(const uint8_t *key, size_t len, int32_t n);

/* ---- tasks (task.c) ------------------------------------------------------ */

typedef struct beck__task_config {
  const char *state_dir; /* root for sqlite stores; NULL when none */
  int checkpoint_every;  /* local store commits per task commit; <= 1 = every one */
  size_t max_batch;      /* records per input fetch */
} beck__task_config_t;

/* One input partition of a task, with the batch fetched but not yet
 * processed: buf[pos..nbuf) at offsets off[pos..nbuf), bytes in `arena`. */
typedef struct beck__task_source {
  beck__nrt_t *node;
  const char *topic;
  int64_t next;  /* offset of the next record to process (what a commit stores) */
  int64_t fetch; /* where the next fetch starts */
  int64_t committed;
  beck_arena_t arena;
  beck_srec_t *buf;
  int64_t *off;
  size_t nbuf, pos;
  bool drained; /* the last fetch in this poll returned nothing */
} beck__task_source_t;

struct beck__task {
  beck_topology_t *topo;
  const beck__subtopo_t *sub;
  int32_t partition;
  char id[32]; /* "<subtopo>_<partition>", like Kafka's task ids */
  beck__io_t *io;
  beck__task_config_t cfg;
  beck_arena_t arena;
  beck__nrt_t *nodes; /* sub->nnodes instances, same order */
  beck__task_source_t *sources;
  int nsources;
  beck__store_t **stores;
  int nstores;
  int64_t stream_time;
  int64_t watermark;
  bool dirty;  /* processed something since the last commit */
  bool failed; /* a poll, advance or commit failed: exactly-once refuses to commit */
};

/* Creates the task for (sub, partition), opens and restores its stores and
 * opens its operators. Resumes inputs from the committed offsets. */
beck_err_t beck__task_new(beck_topology_t *t, const beck__subtopo_t *sub, int32_t partition, beck__io_t *io,
                          const beck__task_config_t *cfg, beck__task_t **out, beck_error_t *e);
/* Processes up to about max_batch records per input, merging the inputs in
 * timestamp order (see task.c); *did = records processed. */
beck_err_t beck__task_poll(beck__task_t *task, size_t *did, beck_error_t *e);
/* Whether some input has records the task has not processed (fetched or
 * not yet fetched: below the partition's high watermark). A remote log
 * delivers fetches asynchronously, so an empty fetch does not mean "caught
 * up". */
beck_err_t beck__task_behind(beck__task_t *task, bool *behind, beck_error_t *e);
/* Pushes watermark t through every operator. */
beck_err_t beck__task_advance(beck__task_t *task, int64_t t, beck_error_t *e);
/* Commit. At-least-once (task->io has no txn): operators flush, sinks
 * produce, stores write their changelogs and checkpoint (always when
 * `checkpoint`, else every cfg.checkpoint_every commits), then input
 * offsets are committed. Exactly-once: outputs, changelogs and offsets go
 * into the io's transaction, which is committed; then stores checkpoint. */
beck_err_t beck__task_commit(beck__task_t *task, bool checkpoint, beck_error_t *e);
/* Closes without committing: anything not committed is dropped, as in a
 * crash. Commit first for a clean close. NULL is ok. */
void beck__task_close(beck__task_t *task);
/* Counter `metric` ("late", "skipped", "processed", "restored") of node
 * `node` summed over tasks; -1 for an unknown node or metric. */
int64_t beck__tasks_metric(beck_topology_t *t, beck__task_t **tasks, int ntasks, const char *node, const char *metric);
/* The instance of node s in this task, or NULL. */
beck__nrt_t *beck__task_node(beck__task_t *task, const beck_stream_t *s);

#endif
