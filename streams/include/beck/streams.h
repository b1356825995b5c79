/*
 * beck/streams.h - the Beck streams runtime: build a topology of operators
 * over keyed records, then run it (tasks over the log client) or drive it
 * deterministically in a test (beck_test_driver_*).
 *
 * The one public header of streams/. YAML pipelines compile onto it: every
 * builder call is "one step" (a parent handle, a name, a small options
 * struct, callbacks with a user pointer), so a table of steps maps 1:1 onto
 * calls. Options structs are zero-initialisable (zero = the default) and
 * only ever grow at the end.
 *
 * Model (Kafka Streams' semantics unless a comment says otherwise):
 *
 *   records   key, value (nullable bytes), timestamp (ms), headers, plus
 *             window bounds when produced by a windowed aggregation.
 *   batches   operators receive and emit batches (arrays of records whose
 *             bytes live in a per-batch arena), never single records. User
 *             callbacks see one record at a time for convenience but allocate
 *             from the batch arena (beck_sctx_alloc): no malloc per record.
 *   nodes     a beck_stream_t is one node: a stream, a grouped stream, a
 *             windowed grouped stream or a table. Builder functions take a
 *             parent node and return the new node (NULL on error; the
 *             topology keeps the first error, see beck_topology_error()).
 *   time      event time = the record timestamp (or an extractor's result).
 *             Each task tracks stream time (max timestamp read); each
 *             time-aware operator tracks its own observed time (max of the
 *             timestamps it saw and of the watermarks the task pushed) and
 *             closes windows against it, like Kafka's per-processor stream
 *             time. Results are therefore independent of how input is cut
 *             into batches.
 *   state     aggregations, windows and joins keep state in stores (memory or
 *             sqlite3), each backed by a compacted changelog topic
 *             "<app_id>-<node name>-changelog" so a restarted task restores
 *             it exactly. Name stateful nodes: the name is part of the
 *             changelog topic.
 *
 * Ownership, everywhere: a record handed to a callback, and everything it
 * points to, is borrowed for the call. Bytes a callback returns in an output
 * record must stay valid until the batch is done: borrow them from the input
 * record, from static memory, or allocate them with beck_sctx_alloc().
 * Stores copy what they keep; sinks copy what they write.
 *
 * Threading: a topology is built on one thread and is immutable once a
 * runtime or test driver uses it. Callbacks of one task run on one thread at
 * a time; different tasks may run in parallel, so user pointers shared
 * between tasks must be thread-safe (or read-only).
 */
#ifndef BECK_STREAMS_H
#define BECK_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "record/batch.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define BECK_STREAMS_API __attribute__((visibility("default")))
#define BECK_STREAMS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define BECK_STREAMS_API
#define BECK_STREAMS_PRINTF(fmt, args)
#endif

/* ---- records, batches, callback context --------------------------------- */

/* One stream record (value type). key/value: len -1 = null; a null value on
 * a table is a tombstone. headers: nheaders entries (may be NULL when 0).
 *
 * Window bounds are set (windowed = true) on results of windowed
 * aggregations and carried through later operators: tumbling and hopping
 * windows are [start, end) (end exclusive, like Kafka's TimeWindow); sliding
 * and session windows are [start, end] (end inclusive, like Kafka). */
typedef struct beck_srec {
  beck_nstr_t key;
  beck_nstr_t value;
  int64_t timestamp;
  const beck_record_header_t *headers;
  int32_t nheaders;
  bool windowed;
  int64_t window_start;
  int64_t window_end;
} beck_srec_t;

/* A batch as operators see it: n records. Read-only for user code. */
typedef struct beck_sbatch {
  const beck_srec_t *recs;
  size_t n;
} beck_sbatch_t;

/* The context a callback runs in: the batch arena, the emitter of
 * flat_map/process, the task's time and identity, error reporting. Valid
 * only during the callback. */
typedef struct beck_sctx beck_sctx_t;

/* Allocates n bytes that live until the current batch has been processed
 * (the batch arena; no malloc per call). NULL on OOM. */
BECK_STREAMS_API void *beck_sctx_alloc(beck_sctx_t *ctx, size_t n);
/* Copies n bytes into the batch arena and returns them as a beck_nstr_t
 * (len -1 with NULL p gives null). On OOM returns {NULL, -1} and records
 * BECK_ERR_NOMEM in ctx (the callback should return it). */
BECK_STREAMS_API beck_nstr_t beck_sctx_copy(beck_sctx_t *ctx, const void *p, int32_t len);
/* Emits a record downstream (flat_map and process only). Copies the struct,
 * not the bytes (see Ownership above). */
BECK_STREAMS_API beck_err_t beck_sctx_emit(beck_sctx_t *ctx, const beck_srec_t *r);
/* The task's stream time (max timestamp read so far; INT64_MIN before any). */
BECK_STREAMS_API int64_t beck_sctx_stream_time(const beck_sctx_t *ctx);
/* The input partition of the running task. */
BECK_STREAMS_API int32_t beck_sctx_partition(const beck_sctx_t *ctx);
/* The name of the node whose callback runs. */
BECK_STREAMS_API const char *beck_sctx_node(const beck_sctx_t *ctx);
/* Records an error message for the record being processed; returns code so a
 * callback can `return beck_sctx_fail(ctx, BECK_ERR_PARSE, "...")`. The task
 * adds node, topic, partition and offset to it. */
BECK_STREAMS_API beck_err_t beck_sctx_fail(beck_sctx_t *ctx, beck_err_t code, const char *fmt, ...)
    BECK_STREAMS_PRINTF(3, 4);

/* ---- callbacks ----------------------------------------------------------- */

/* Returns 1 (keep / matches), 0 (drop / no match), or a negative beck_err_t. */
typedef int (*beck_pred_fn)(void *ud, beck_sctx_t *ctx, const beck_srec_t *r);
/* map: *out starts as a copy of *in; change any field. */
typedef beck_err_t (*beck_map_fn)(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_srec_t *out);
/* Derives bytes from a record: the new value (map_values), the new key
 * (select_key, group_by). *out starts as the current value / key. */
typedef beck_err_t (*beck_bytes_fn)(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out);
/* flat_map: emit 0..n records with beck_sctx_emit(). */
typedef beck_err_t (*beck_flat_map_fn)(void *ud, beck_sctx_t *ctx, const beck_srec_t *in);
/* peek: sees each record; cannot change or drop it. */
typedef void (*beck_peek_fn)(void *ud, beck_sctx_t *ctx, const beck_srec_t *r);
/* process: a custom operator over a whole batch; emit with beck_sctx_emit(). */
typedef beck_err_t (*beck_process_fn)(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in);
/* Event-time extractor: returns the timestamp to use for r (ms). */
typedef int64_t (*beck_time_fn)(void *ud, const beck_srec_t *r);

/* A number taken from a record for sum / min / max / avg. Integers stay
 * exact (int64) until a double is seen; then the aggregate becomes a double. */
typedef struct beck_num {
  bool is_double;
  int64_t i;
  double d;
} beck_num_t;
/* Returns 1 with *out set, 0 to skip the record (no number), or a negative
 * beck_err_t. */
typedef int (*beck_num_fn)(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_num_t *out);

/* reduce: combine the current aggregate with a new record's value. */
typedef beck_err_t (*beck_reduce_fn)(void *ud, beck_sctx_t *ctx, beck_nstr_t agg, const beck_srec_t *r,
                                     beck_nstr_t *out);
/* aggregate: initial value for a key. */
typedef beck_err_t (*beck_agg_init_fn)(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *out);
/* aggregate: fold a record into the aggregate. */
typedef beck_err_t (*beck_agg_add_fn)(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_nstr_t agg,
                                      beck_nstr_t *out);
/* aggregate: merge two aggregates (session windows only: sessions that a
 * record bridges become one). */
typedef beck_err_t (*beck_agg_merge_fn)(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t a, beck_nstr_t b,
                                        beck_nstr_t *out);
/* join: combine a left and a right value; either may be null (len -1) in
 * the left/outer null cases. */
typedef beck_err_t (*beck_joiner_fn)(void *ud, beck_sctx_t *ctx, const beck_srec_t *left, const beck_srec_t *right,
                                     beck_nstr_t *out);

/* ---- topology ------------------------------------------------------------ */

typedef struct beck_topology beck_topology_t;
/* A node: a stream, grouped stream, windowed grouped stream or table. Owned
 * by its topology. */
typedef struct beck_stream beck_stream_t;

typedef enum beck_on_error {
  BECK_ON_ERROR_FAIL = 0, /* a callback error fails the task (default) */
  BECK_ON_ERROR_SKIP = 1, /* the record is dropped, counted and logged (rate-limited) */
} beck_on_error_t;

/* A new, empty topology for application app_id (used for the consumer group,
 * changelog and repartition topic names and the state directory). Copies
 * app_id. NULL on OOM. */
BECK_STREAMS_API beck_topology_t *beck_topology_new(const char *app_id);
/* Frees the topology and its nodes; NULL is ok. Runtimes and drivers built on
 * it must be destroyed first. */
BECK_STREAMS_API void beck_topology_destroy(beck_topology_t *t);
/* The first error a builder call hit (code BECK_ERR_OK when none). Builder
 * calls after an error return NULL and change nothing. */
BECK_STREAMS_API const beck_error_t *beck_topology_error(const beck_topology_t *t);
/* What a callback error does (default FAIL). */
BECK_STREAMS_API void beck_topology_set_on_error(beck_topology_t *t, beck_on_error_t policy);
/* The node called name, or NULL. */
BECK_STREAMS_API beck_stream_t *beck_topology_node(const beck_topology_t *t, const char *name);
/* Writes a human-readable description (sub-topologies, nodes, topics, stores)
 * into out (appends). Like starting a runtime, this completes the topology:
 * builder calls after it fail. */
BECK_STREAMS_API beck_err_t beck_topology_describe(beck_topology_t *t, beck_buf_t *out);
/* The node's name (given, or generated as "<op>-<n>"). */
BECK_STREAMS_API const char *beck_stream_name(const beck_stream_t *s);

/* Node names: every builder call takes `name`; NULL generates one. Names are
 * unique within a topology and may contain [A-Za-z0-9._-] only (they become
 * parts of topic names). */

/* ---- sources ------------------------------------------------------------- */

typedef struct beck_source_opts {
  beck_time_fn time_fn; /* NULL: the record timestamp */
  void *time_ud;
} beck_source_opts_t;

/* A stream read from topic (all its partitions; one task per partition).
 * opts may be NULL. Copies topic. A topic is read by one source node per
 * topology (stream or table): a second one fails (BECK_ERR_INVAL), since
 * both would resume from one committed offset; use the stream twice. */
BECK_STREAMS_API beck_stream_t *beck_topology_stream(beck_topology_t *t, const char *name, const char *topic,
                                                     const beck_source_opts_t *opts);

typedef enum beck_store_kind {
  BECK_STORE_MEMORY = 0, /* in memory; restored from the changelog */
  BECK_STORE_SQLITE = 1, /* a sqlite3 file per store and task; restored from the
                            file plus the changelog tail */
} beck_store_kind_t;

typedef struct beck_store_opts {
  beck_store_kind_t kind;
  bool no_changelog; /* state is lost on restart (Kafka's withLoggingDisabled) */
} beck_store_opts_t;

/* A table read from topic: latest value per key, a null value deletes the
 * key. Emits each update downstream (a tombstone for deletes). opts may be
 * NULL (memory store). */
BECK_STREAMS_API beck_stream_t *beck_topology_table(beck_topology_t *t, const char *name, const char *topic,
                                                    const beck_store_opts_t *opts);

/* ---- stateless operators (streams) --------------------------------------- */

BECK_STREAMS_API beck_stream_t *beck_stream_filter(beck_stream_t *in, const char *name, beck_pred_fn fn, void *ud);
/* map: may change key, value, timestamp and headers (a changed key makes a
 * later stateful operator read through a repartition topic). */
BECK_STREAMS_API beck_stream_t *beck_stream_map(beck_stream_t *in, const char *name, beck_map_fn fn, void *ud);
BECK_STREAMS_API beck_stream_t *beck_stream_map_values(beck_stream_t *in, const char *name, beck_bytes_fn fn, void *ud);
BECK_STREAMS_API beck_stream_t *beck_stream_select_key(beck_stream_t *in, const char *name, beck_bytes_fn fn, void *ud);
/* flat_map: may change keys (like map). */
BECK_STREAMS_API beck_stream_t *beck_stream_flat_map(beck_stream_t *in, const char *name, beck_flat_map_fn fn,
                                                     void *ud);
BECK_STREAMS_API beck_stream_t *beck_stream_peek(beck_stream_t *in, const char *name, beck_peek_fn fn, void *ud);
/* A custom operator over whole batches. keeps_key: true when it never
 * changes keys (so no repartition is needed downstream). */
BECK_STREAMS_API beck_stream_t *beck_stream_process(beck_stream_t *in, const char *name, beck_process_fn fn, void *ud,
                                                    bool keeps_key);
/* Splits a stream by n predicates: each record goes to the first branch
 * whose predicate returns 1; preds[n-1] may be NULL for "everything else".
 * Records matching no predicate are dropped. Branch i is named
 * "<name>-<i>". Fills outs[0..n). Returns 0 or the topology's error. */
BECK_STREAMS_API beck_err_t beck_stream_branch(beck_stream_t *in, const char *name, int n, const beck_pred_fn *preds,
                                               void *const *uds, beck_stream_t **outs);
/* One stream from n streams, in arrival order. */
BECK_STREAMS_API beck_stream_t *beck_topology_merge(beck_topology_t *t, const char *name, int n,
                                                    beck_stream_t *const *ins);

typedef struct beck_sink_opts {
  int32_t partitions; /* when the runtime creates the topic; 0 = like the input */
} beck_sink_opts_t;

/* Writes the stream (or a table's updates) to topic, partitioned by key
 * (Kafka's murmur2 partitioner; null keys round-robin). Windowed records
 * get Kafka's windowed key format: key ++ be64(start) for time windows
 * (tumbling, hopping, sliding), key ++ be64(end) ++ be64(start) for session
 * windows. Returns the sink node (it has no children). opts may be NULL. */
BECK_STREAMS_API beck_stream_t *beck_stream_to(beck_stream_t *in, const char *name, const char *topic,
                                               const beck_sink_opts_t *opts);

/* ---- grouping, windows, aggregations ------------------------------------- */

/* Groups by the current key (a repartition only if an earlier operator
 * changed keys). */
BECK_STREAMS_API beck_stream_t *beck_stream_group_by_key(beck_stream_t *in, const char *name);
/* Groups by a derived key (always re-keys: the aggregation reads through a
 * repartition topic "<app_id>-<name>-repartition" when several partitions
 * exist). Records whose derived key is null are dropped. */
BECK_STREAMS_API beck_stream_t *beck_stream_group_by(beck_stream_t *in, const char *name, beck_bytes_fn key_fn,
                                                     void *ud);

typedef enum beck_window_kind {
  BECK_WINDOW_TUMBLING = 1, /* [k*size, k*size+size) */
  BECK_WINDOW_HOPPING = 2,  /* [k*advance, k*advance+size) */
  BECK_WINDOW_SLIDING = 3,  /* [t-size, t] per record, plus [t+1, t+1+size] when not empty (KIP-450) */
  BECK_WINDOW_SESSION = 4,  /* records closer than gap form one session [first, last] */
} beck_window_kind_t;

typedef enum beck_emit {
  BECK_EMIT_ON_UPDATE = 0, /* every change of a window's result (default) */
  BECK_EMIT_FINAL = 1,     /* once per window, when it closes (after grace) */
} beck_emit_t;

typedef struct beck_window_spec {
  beck_window_kind_t kind;
  int64_t size_ms;    /* tumbling, hopping; sliding: the time difference */
  int64_t advance_ms; /* hopping; 0 = size (tumbling) */
  int64_t gap_ms;     /* session: inactivity gap */
  int64_t grace_ms;   /* how long after its end a window still accepts records */
  beck_emit_t emit;
  const char *late_topic; /* late records go here; NULL: dropped (and counted) */
} beck_window_spec_t;

/* Windows a grouped stream. Copies the spec. */
BECK_STREAMS_API beck_stream_t *beck_stream_window(beck_stream_t *grouped, const char *name,
                                                   const beck_window_spec_t *spec);

typedef enum beck_num_format {
  BECK_NUM_TEXT = 0, /* decimal text: "42", "2.5" (default) */
  BECK_NUM_BE64 = 1, /* 8 bytes big-endian: int64 (Kafka's LongSerde) or IEEE double (DoubleSerde) */
} beck_num_format_t;

typedef struct beck_agg_opts {
  beck_store_opts_t store;
  beck_num_format_t format; /* count/sum/min/max/avg results */
  beck_num_fn num_fn;       /* sum/min/max/avg: NULL parses the value as decimal text */
  void *num_ud;
} beck_agg_opts_t;

/* Aggregations of a grouped (or windowed grouped) stream. The result is a
 * table (or windowed table) whose updates flow downstream; records with a
 * null key or null value are skipped (like Kafka). The result record's
 * timestamp is the largest timestamp that went into it. opts may be NULL. */
BECK_STREAMS_API beck_stream_t *beck_stream_count(beck_stream_t *grouped, const char *name,
                                                  const beck_agg_opts_t *opts);
BECK_STREAMS_API beck_stream_t *beck_stream_sum(beck_stream_t *grouped, const char *name, const beck_agg_opts_t *opts);
BECK_STREAMS_API beck_stream_t *beck_stream_min(beck_stream_t *grouped, const char *name, const beck_agg_opts_t *opts);
BECK_STREAMS_API beck_stream_t *beck_stream_max(beck_stream_t *grouped, const char *name, const beck_agg_opts_t *opts);
/* avg: always a double. */
BECK_STREAMS_API beck_stream_t *beck_stream_avg(beck_stream_t *grouped, const char *name, const beck_agg_opts_t *opts);
/* reduce: the first value of a key is its aggregate; later values are
 * folded in with fn. */
BECK_STREAMS_API beck_stream_t *beck_stream_reduce(beck_stream_t *grouped, const char *name, beck_reduce_fn fn,
                                                   void *ud, const beck_agg_opts_t *opts);

typedef struct beck_aggregator {
  beck_agg_init_fn init;   /* required */
  beck_agg_add_fn add;     /* required */
  beck_agg_merge_fn merge; /* required for session windows */
  void *ud;
} beck_aggregator_t;

/* aggregate: init per new key (or window), then add per record. Copies *agg. */
BECK_STREAMS_API beck_stream_t *beck_stream_aggregate(beck_stream_t *grouped, const char *name,
                                                      const beck_aggregator_t *agg, const beck_agg_opts_t *opts);

/* A table's (or windowed table's) updates as a stream. */
BECK_STREAMS_API beck_stream_t *beck_stream_to_stream(beck_stream_t *table, const char *name);

/* ---- joins --------------------------------------------------------------- */

typedef enum beck_join_kind {
  BECK_JOIN_INNER = 0,
  BECK_JOIN_LEFT = 1,
  BECK_JOIN_OUTER = 2, /* stream-stream and table-table only */
} beck_join_kind_t;

typedef struct beck_join_opts {
  beck_join_kind_t kind;
  /* stream-stream only: a left record at t joins right records with
   * timestamps in [t - before_ms, t + after_ms] (Kafka JoinWindows). */
  int64_t before_ms;
  int64_t after_ms;
  int64_t grace_ms;
  beck_store_opts_t store; /* stream-stream buffers */
} beck_join_opts_t;

/* Joins left and right on equal keys. Which join depends on the inputs:
 *   stream-stream  windowed; inner, left or outer. Left/outer emit the
 *                  unmatched record with a null partner once its window has
 *                  closed (after grace), never a premature null result.
 *   stream-table   each stream record looks up the table; inner drops it
 *                  when the key is absent, left joins it with null.
 *   table-table    each update of either side joins the other side's
 *                  current value; the result is a table (tombstones when a
 *                  result disappears).
 * Inputs must be co-partitioned (same partition count, same key); a
 * stream whose keys were changed reads through a repartition topic. */
BECK_STREAMS_API beck_stream_t *beck_stream_join(beck_stream_t *left, beck_stream_t *right, const char *name,
                                                 beck_joiner_fn joiner, void *ud, const beck_join_opts_t *opts);

/* ---- running a topology ---------------------------------------------------- */

/* The runtime runs a topology's tasks over the log client (core/client:
 * embedded over a data directory, or remote through librdkafka): one task
 * per sub-topology and input partition (co-partitioned inputs share a
 * task), spread over a small thread pool.
 *
 * A task commits every commit_interval_ms, and when it runs out of input.
 * What a commit guarantees (docs/streams.md has the full statement):
 *
 * BECK_AT_LEAST_ONCE (default; embedded or remote): in this order, the
 * task's outputs are produced and acknowledged (acks=all), its state
 * stores' changelog records are produced and acknowledged and the local
 * stores checkpointed, and only then are its input offsets committed
 * (consumer group = app id). After a crash the input since the last
 * commit is processed again: outputs and changelog updates of that stretch
 * may appear twice (so aggregates may count those records twice); nothing
 * acknowledged is lost.
 *
 * BECK_EXACTLY_ONCE (embedded client only): the task's outputs, changelog
 * records and input offsets are one transaction of the embedded log
 * (beck_client_txn_*): readers through that client (downstream tasks,
 * sinks, `beck consume`) see all of a commit or none of it, and a crash
 * rolls back to the last commit, so every input record affects the
 * outputs and state exactly once. Local stores are checkpointed after the
 * commit. Remote clients refuse it (BECK_ERR_UNSUPPORTED). */
struct beck_client;
typedef struct beck_streams beck_streams_t;

typedef enum beck_guarantee {
  BECK_AT_LEAST_ONCE = 0,
  BECK_EXACTLY_ONCE = 1, /* embedded log only */
} beck_guarantee_t;

typedef struct beck_streams_config {
  const char *state_dir;      /* root of sqlite stores; NULL when the topology has none */
  int threads;                /* task threads for beck_streams_start(); 0 = 2 */
  int64_t commit_interval_ms; /* 0 = 1000 */
  int store_checkpoint_every; /* local store commits per task commit; 0 = 1 */
  size_t max_batch;           /* records per input fetch; 0 = 1024 */
  beck_guarantee_t guarantee; /* processing.guarantee; 0 = at-least-once */
} beck_streams_config_t;

/* Prepares a topology to run over client (borrowed; it must outlive the
 * runtime): checks it, creates the repartition, changelog and missing
 * output topics, creates every task and restores its state stores. Input
 * topics must exist. Nothing runs until run_until_idle() or start(). */
BECK_STREAMS_API beck_err_t beck_streams_new(beck_topology_t *t, struct beck_client *client,
                                             const beck_streams_config_t *cfg, beck_streams_t **out, beck_error_t *e);
/* Processes, on the calling thread, everything its inputs hold (including
 * what its repartition topics receive meanwhile), committing as it goes;
 * returns when no task can read anything more. Not while started. */
BECK_STREAMS_API beck_err_t beck_streams_run_until_idle(beck_streams_t *s, beck_error_t *e);
/* Pushes watermark t to every operator (closing windows), then commits.
 * For the end of a bounded input: advance to INT64_MAX. Not while started. */
BECK_STREAMS_API beck_err_t beck_streams_advance(beck_streams_t *s, int64_t t, beck_error_t *e);
/* Starts the task threads; they run until stop() or a task fails. */
BECK_STREAMS_API beck_err_t beck_streams_start(beck_streams_t *s, beck_error_t *e);
/* Stops the threads; each commits its tasks first. Returns the first task
 * failure, if any (the runtime then stopped by itself). */
BECK_STREAMS_API beck_err_t beck_streams_stop(beck_streams_t *s, beck_error_t *e);
/* True when a task has failed (the started runtime then stops by itself);
 * *e, when not NULL, gets the first failure. Safe from any thread. */
BECK_STREAMS_API bool beck_streams_failed(beck_streams_t *s, beck_error_t *e);
/* Closes the tasks without committing (stop first for a clean shutdown).
 * NULL is ok. */
BECK_STREAMS_API void beck_streams_destroy(beck_streams_t *s);
/* A node's counter summed over tasks, as beck_test_driver_metric(). Exact
 * only while not started. */
BECK_STREAMS_API int64_t beck_streams_metric(beck_streams_t *s, const char *node, const char *metric);

/* ---- test driver --------------------------------------------------------- */

/* The deterministic test driver runs a topology in-process over an
 * in-memory log: feed records to input topics, advance time, read what
 * each output topic received. No sockets, threads or clocks. Each pipe or
 * advance call is processed completely (including repartition round-trips)
 * and committed before it returns. */
typedef struct beck_test_driver beck_test_driver_t;

typedef struct beck_test_driver_config {
  int32_t partitions;         /* of every input topic; 0 = 1 */
  const char *state_dir;      /* for sqlite stores; NULL when none is used */
  int store_checkpoint_every; /* commit local stores every N commits; 0 = 1 */
} beck_test_driver_config_t;

BECK_STREAMS_API beck_err_t beck_test_driver_new(beck_topology_t *t, const beck_test_driver_config_t *cfg,
                                                 beck_test_driver_t **out, beck_error_t *e);
BECK_STREAMS_API void beck_test_driver_destroy(beck_test_driver_t *d);

/* Appends n records (copied) to topic as one batch, partitioned by key
 * (null keys: partition 0), then processes them. */
BECK_STREAMS_API beck_err_t beck_test_driver_pipe(beck_test_driver_t *d, const char *topic, const beck_srec_t *recs,
                                                  size_t n, beck_error_t *e);
/* Same, into one partition. */
BECK_STREAMS_API beck_err_t beck_test_driver_pipe_partition(beck_test_driver_t *d, const char *topic, int32_t partition,
                                                            const beck_srec_t *recs, size_t n, beck_error_t *e);
/* Advances every task's stream time to at least t and pushes it as a
 * watermark to every operator (closing windows that end before it). */
BECK_STREAMS_API beck_err_t beck_test_driver_advance(beck_test_driver_t *d, int64_t t, beck_error_t *e);

/* Reads the next unread record of topic (all partitions, in partition then
 * offset order). Returns 1 with *out filled (borrowed until the driver is
 * destroyed) and *partition (when not NULL) set, 0 when none is left,
 * negative when the topic is unknown. */
BECK_STREAMS_API int beck_test_driver_read(beck_test_driver_t *d, const char *topic, beck_srec_t *out,
                                           int32_t *partition);
/* Number of records topic holds (read or not); -1 when unknown. */
BECK_STREAMS_API int64_t beck_test_driver_topic_size(beck_test_driver_t *d, const char *topic);

/* A counter of one node, summed over tasks: "late" (records dropped or
 * routed as late), "skipped" (null key/value or callback errors under
 * BECK_ON_ERROR_SKIP), "processed". -1 for an unknown node or name. */
BECK_STREAMS_API int64_t beck_test_driver_metric(beck_test_driver_t *d, const char *node, const char *metric);

typedef enum beck_restart_mode {
  BECK_RESTART_CLEAN = 0, /* commit, close, reopen: restore from local stores + changelog tail */
  BECK_RESTART_CRASH = 1, /* close without committing anything pending */
  BECK_RESTART_WIPE = 2,  /* crash and delete the local state: restore from changelogs alone */
} beck_restart_mode_t;

/* Closes every task and starts them again over the same in-memory log, as a
 * process restart would: stores are restored from their local files and
 * changelogs, inputs resume from the committed offsets. Same as stop then
 * start. */
BECK_STREAMS_API beck_err_t beck_test_driver_restart(beck_test_driver_t *d, beck_restart_mode_t mode, beck_error_t *e);
/* The two halves of a restart, so a test can damage local state between
 * them. Sqlite stores live in "<state_dir>/<app_id>/<task id>/<node>.db"
 * (task ids are "<sub-topology>_<partition>"). While stopped, only start()
 * and destroy() may be called. */
BECK_STREAMS_API beck_err_t beck_test_driver_stop(beck_test_driver_t *d, beck_restart_mode_t mode, beck_error_t *e);
BECK_STREAMS_API beck_err_t beck_test_driver_start(beck_test_driver_t *d, beck_error_t *e);

#ifdef __cplusplus
}
#endif

#endif
