/*
 * nexmark.h - the Nexmark benchmark over the streams runtime: the queries
 * (one topology builder per query, q*.c), their result rows, and the runner
 * that loads generated events into an embedded log, runs one query over it
 * and times it (run.c). Used by `beck bench nexmark` (cli/cmd_bench.c) and
 * by tests/unit/bench/test_nexmark.c.
 *
 * Input (like the Nexmark Kafka setups: one topic, every event type, no
 * keys): topic "nexmark", `partitions` partitions, event n in partition
 * n % partitions, record timestamp = the event's dateTime, value = the
 * event in the generator's wire layout (generator.h). Each query filters
 * the types it needs, as Nexmark's person/auction/bid views do.
 *
 * Results: every query writes its results to one topic as rows: fields in
 * the order of the query's columns, i64 little-endian for integers and
 * decimals (DEC3: thousandths), u16 length + bytes for strings. Queries whose
 * result is a table (q4: an updating average per category) say so; their
 * result is the latest row per key.
 *
 * Time: the generator makes events in order, so lateness only comes from
 * the runtime. Two tasks that write one repartition topic run apart: each
 * upstream task shares its thread with downstream tasks, and hot keys (the
 * hot auction takes half the bids) make one downstream task, and so one
 * thread, busier; the runtime has no event-time alignment between such
 * tasks (like Kafka Streams, unlike Flink's watermarks), so the skew can
 * grow to a good part of the run. Windows and joins therefore accept
 * records grace_ms late, by default max(4 s, the input's time span): no
 * input record is ever dropped. (4 s is the Nexmark DDL's watermark delay;
 * at the published runs' 10 M events/s a run of a few million events spans
 * well under a second, so every window closes at the end either way.) A
 * record later than grace is dropped and counted ("late" in the stats),
 * and the run is then not comparable with the reference computation.
 */
#ifndef BECK_NEXMARK_H
#define BECK_NEXMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "beck/streams.h"
#include "generator.h"

#define BECK_NEXMARK_INPUT_TOPIC "nexmark"

typedef enum beck_nexmark_type {
  BECK_NEXMARK_I64 = 0,
  BECK_NEXMARK_DEC3 = 1, /* fixed point, 3 decimals, stored as thousandths */
  BECK_NEXMARK_STR = 2,
} beck_nexmark_type_t;

typedef struct beck_nexmark_col {
  const char *name;
  beck_nexmark_type_t type;
} beck_nexmark_col_t;

/* What a query's topology may depend on. */
typedef struct beck_nexmark_params {
  beck_nexmark_config_t gen; /* the generator the input came from */
  int64_t grace_ms;          /* allowed lateness of windows and joins (the runner resolves < 0: above) */
  int64_t q5_slide_ms;       /* q5's hop (default 2000; the window is 10 s) */
} beck_nexmark_params_t;

typedef struct beck_nexmark_query {
  const char *name;      /* "q0" */
  const char *title;     /* "pass through" */
  const char *summary;   /* one line: what it computes */
  double flink_per_core; /* Flink's published events/s per core */
  bool stateful;         /* goal: >= 5x Flink per core, else >= 1.5M/s and 3.5x */
  bool table;            /* results are updates: the latest row per key counts */
  const beck_nexmark_col_t *cols;
  int ncols;
  /* Topics the topology reads besides the input (created before it runs,
   * one partition each); NULL-terminated, may be NULL. */
  const char *const *through_topics;
  /* Adds the query to t: reads BECK_NEXMARK_INPUT_TOPIC, writes result rows
   * to out_topic. p is borrowed; it stays valid while t runs. Returns 0 or
   * the topology's first error. */
  beck_err_t (*build)(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic);
} beck_nexmark_query_t;

extern const beck_nexmark_query_t beck_nexmark_q0, beck_nexmark_q1, beck_nexmark_q2, beck_nexmark_q3, beck_nexmark_q4,
    beck_nexmark_q5, beck_nexmark_q7, beck_nexmark_q8, beck_nexmark_q11;

/* The queries in order (NULL-terminated), and lookup by name ("q5"). */
extern const beck_nexmark_query_t *const beck_nexmark_queries[];
const beck_nexmark_query_t *beck_nexmark_query_find(const char *name);

void beck_nexmark_params_init(beck_nexmark_params_t *p);
/* The default grace for `events` events: max(4 s, their time span + 1 s). */
int64_t beck_nexmark_default_grace(const beck_nexmark_config_t *gen, uint64_t events);

/* ---- result rows (row.c) --------------------------------------------------- */

/* A row being written into the batch arena of a callback. */
typedef struct beck_nexmark_row {
  uint8_t *p;
  size_t len, cap;
} beck_nexmark_row_t;

/* Starts a row of at most cap bytes in ctx's batch arena; false on OOM. */
bool beck_nexmark_row_begin(beck_nexmark_row_t *r, beck_sctx_t *ctx, size_t cap);
void beck_nexmark_row_i64(beck_nexmark_row_t *r, int64_t v);
void beck_nexmark_row_str(beck_nexmark_row_t *r, const void *p, size_t len);
static inline beck_nstr_t beck_nexmark_row_end(const beck_nexmark_row_t *r) { return beck_nstr(r->p, (int32_t)r->len); }

/* Formats a row of q: as a JSON object (json) or as the canonical text the
 * tests compare ("v1|v2|..", decimals as 123.456). Appends to out (NUL kept
 * after). BECK_ERR_CORRUPT when the bytes do not match the columns. */
beck_err_t beck_nexmark_row_format(const beck_nexmark_query_t *q, const uint8_t *p, size_t len, bool json,
                                   beck_buf_t *out);

/* ---- keys and values shared by the queries (row.c) ------------------------ */

/* 8-byte big-endian keys: ids as keys of repartitioned streams. */
beck_nstr_t beck_nexmark_key_i64(beck_sctx_t *ctx, int64_t v);
int64_t beck_nexmark_key_get(beck_nstr_t k);
/* Decodes an input record's value; 0 ok, -1 malformed (fails the record). */
int beck_nexmark_event_of(beck_sctx_t *ctx, const beck_srec_t *r, beck_nexmark_event_t *ev);
/* The type byte of an input record (-1 when empty). */
static inline int beck_nexmark_type_of(const beck_srec_t *r) { return r->value.len > 0 ? r->value.ptr[0] : -1; }
/* Little-endian i64 at p (unaligned). */
static inline int64_t beck_nexmark_le64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return (int64_t)v;
}

/* Predicates for beck_stream_filter: the record is a person / auction / bid. */
int beck_nexmark_is_person(void *ud, beck_sctx_t *ctx, const beck_srec_t *r);
int beck_nexmark_is_auction(void *ud, beck_sctx_t *ctx, const beck_srec_t *r);
int beck_nexmark_is_bid(void *ud, beck_sctx_t *ctx, const beck_srec_t *r);

/* ---- the runner (run.c) ------------------------------------------------------- */

typedef struct beck_nexmark_run_opts {
  beck_nexmark_params_t params;
  uint64_t events;
  int32_t partitions;         /* of the input topic; 0 = 2 */
  int threads;                /* task threads; 0 = run on the calling thread (deterministic order) */
  const char *data_dir;       /* NULL: a fresh directory under $TMPDIR, removed after the run */
  const char *input_fsync;    /* fsync.policy of the input topic; NULL = "never" (loading is not timed) */
  int64_t commit_interval_ms; /* 0 = the runtime's default */
  /* Records per input fetch (the runtime's max_batch; 0 = its default of
   * 1024). 8192 by default: sinks produce up to 8192 records as one batch,
   * and a fetch that stops part-way through a batch reads (and checks) the
   * whole batch again next time. */
  size_t max_batch;
  /* Called for each result row after the run, in partition then offset
   * order (tables: the latest row per key only). May be NULL. */
  beck_err_t (*on_row)(void *ud, const uint8_t *row, size_t len, beck_error_t *e);
  void *ud;
} beck_nexmark_run_opts_t;

typedef struct beck_nexmark_stats {
  uint64_t events;        /* events generated and processed */
  double load_seconds;    /* generating and writing the input (not timed) */
  double run_seconds;     /* wall time from start to the last result (timed) */
  double cpu_seconds;     /* user + system CPU of the process over run_seconds */
  double events_per_sec;  /* events / run_seconds */
  double per_core;        /* events / cpu_seconds: Flink's "throughput per core" */
  int64_t results;        /* result rows (tables: distinct keys) */
  int64_t output_records; /* records written to the result topic */
  int64_t late;           /* records dropped as late by windows and joins */
  int threads;
  int32_t partitions;
} beck_nexmark_stats_t;

void beck_nexmark_run_opts_init(beck_nexmark_run_opts_t *o);

/* Generates o->events events into a fresh embedded log, runs q over them
 * to the end (every window closed) and fills *st. Returns 0 or an error
 * with its context in e. */
beck_err_t beck_nexmark_run(const beck_nexmark_query_t *q, const beck_nexmark_run_opts_t *o, beck_nexmark_stats_t *st,
                            beck_error_t *e);

/* Writes events [0, n) of gen as JSON lines to path ("-": stdout). */
beck_err_t beck_nexmark_write_events(const beck_nexmark_config_t *gen, uint64_t n, const char *path, beck_error_t *e);

#endif
