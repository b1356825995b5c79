/*
 * pipeline.h - loading a YAML pipeline file into a checked, typed
 * description (beck_pipeline_t) that `beck pipeline validate` reports on and
 * that is later compiled onto the streams API (streams/include/beck/streams.h)
 * and the Connect worker. The module header of connect/pipeline (library
 * beck_pipeline); the file format is documented in docs/pipelines.md.
 *
 * Loading is all-or-nothing: either every check passed and *out is a valid
 * pipeline, or *out is NULL and the diagnostics list every problem found
 * (not only the first), each as "FILE:LINE:COL: what was wrong; what was
 * expected", sorted by position. Nothing in a pipeline runs before it loaded.
 *
 * What is checked: YAML syntax (libyaml's message and position), unknown
 * keys and steps (with did-you-mean), value types (strings, integers,
 * durations such as 30s, sizes such as 64MiB, enums), ${VAR} and
 * ${VAR:-default} substitution from the environment, expressions (syntax,
 * names, types, functions; compiled here, once), references to topics and
 * tables, cycles between streams, the order of steps (a window is followed by
 * an aggregate), test inputs and expectations, and, when a connector lookup
 * is given, connector names, kinds and their options against each
 * connector's config schema.
 *
 * Ownership: the pipeline owns everything reachable from it (strings,
 * compiled expressions, JSON of the tests) until beck_pipeline_free().
 * Positions (line, col) are 1-based; columns count characters.
 */
#ifndef BECK_CONNECT_PIPELINE_H
#define BECK_CONNECT_PIPELINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "beck/connector.h"
#include "streams/expr/expr.h"

typedef struct beck_pipeline_pos {
  uint32_t line;
  uint32_t col;
} beck_pipeline_pos_t;

/* One key: value under `config:` of a source, sink or topic. The value is the
 * text as written (after ${VAR} substitution); a YAML list is joined with
 * commas (the LIST option type). */
typedef struct beck_pipeline_option {
  const char *name;
  const char *value;
  beck_pipeline_pos_t pos;     /* of the value */
  beck_pipeline_pos_t key_pos; /* of the key */
} beck_pipeline_option_t;

/* ---- sections ----------------------------------------------------------- */

/* `topics:` - topics the pipeline uses that nothing in it produces (they
 * exist in the cluster), and settings for topics the runtime creates. */
typedef struct beck_pipeline_topic {
  const char *name;
  int32_t partitions;      /* 0: the runtime's default */
  int64_t retention_ms;    /* retention.ms; -1: not set */
  int64_t retention_bytes; /* retention.bytes; -1: not set */
  beck_pipeline_option_t *config;
  size_t nconfig;
  beck_pipeline_pos_t pos;
} beck_pipeline_topic_t;

/* `sources:` - a source connector writing one topic. */
typedef struct beck_pipeline_source {
  const char *name;
  const char *connector;
  const char *topic; /* default: the source's name */
  beck_pipeline_option_t *config;
  size_t nconfig;
  beck_pipeline_pos_t pos;
} beck_pipeline_source_t;

/* `sinks:` - a sink connector reading topics. */
typedef struct beck_pipeline_sink {
  const char *name;
  const char *connector;
  const char **from; /* topics */
  size_t nfrom;
  beck_pipeline_option_t *config;
  size_t nconfig;
  beck_pipeline_pos_t pos;
} beck_pipeline_sink_t;

/* Values line up with beck_store_kind_t in beck/streams.h. */
typedef enum beck_pipeline_store {
  BECK_PIPELINE_STORE_MEMORY = 0,
  BECK_PIPELINE_STORE_SQLITE = 1,
} beck_pipeline_store_t;

/* `tables:` - a topic read as a table (latest value per key). */
typedef struct beck_pipeline_table {
  const char *name;
  const char *topic;
  beck_expr_t *key; /* re-key expression; NULL: the record key */
  beck_pipeline_store_t store;
  beck_pipeline_pos_t pos;
} beck_pipeline_table_t;

/* ---- steps -------------------------------------------------------------- */

typedef enum beck_step_kind {
  BECK_STEP_FILTER = 0,
  BECK_STEP_MAP,
  BECK_STEP_SELECT_KEY,
  BECK_STEP_FLAT_MAP,
  BECK_STEP_BRANCH,
  BECK_STEP_MERGE,
  BECK_STEP_WINDOW,
  BECK_STEP_AGGREGATE,
  BECK_STEP_JOIN,
  BECK_STEP_TABLE,
  BECK_STEP_DEDUPE,
} beck_step_kind_t;

/* The values line up with beck_window_kind_t, beck_emit_t and
 * beck_join_kind_t in beck/streams.h. */
typedef enum beck_pipeline_window_kind {
  BECK_PIPELINE_WINDOW_TUMBLING = 1,
  BECK_PIPELINE_WINDOW_HOPPING = 2,
  BECK_PIPELINE_WINDOW_SLIDING = 3,
  BECK_PIPELINE_WINDOW_SESSION = 4,
} beck_pipeline_window_kind_t;

typedef enum beck_pipeline_emit {
  BECK_PIPELINE_EMIT_UPDATE = 0,
  BECK_PIPELINE_EMIT_FINAL = 1,
} beck_pipeline_emit_t;

typedef enum beck_pipeline_join_kind {
  BECK_PIPELINE_JOIN_INNER = 0,
  BECK_PIPELINE_JOIN_LEFT = 1,
  BECK_PIPELINE_JOIN_OUTER = 2,
} beck_pipeline_join_kind_t;

typedef struct beck_pipeline_window {
  beck_pipeline_window_kind_t kind;
  int64_t size_ms;    /* tumbling, hopping; sliding: the time difference */
  int64_t advance_ms; /* hopping */
  int64_t gap_ms;     /* session */
  int64_t grace_ms;
  beck_pipeline_emit_t emit;
  const char *late_topic; /* NULL: late records are dropped (and counted) */
} beck_pipeline_window_t;

typedef struct beck_pipeline_branch {
  beck_expr_t *when; /* NULL: every record not taken by an earlier branch */
  const char *to;
  beck_pipeline_pos_t pos;
} beck_pipeline_branch_t;

typedef struct beck_pipeline_join {
  const char *with;       /* a table name (stream-table) or a topic (stream-stream) */
  bool with_table;        /* resolved by the loader */
  beck_pipeline_join_kind_t kind;
  int64_t before_ms;      /* stream-stream: the window around each left record */
  int64_t after_ms;
  int64_t grace_ms;
  beck_expr_t *select;    /* the joined value from left and right; NULL: {left, right} */
} beck_pipeline_join_t;

typedef struct beck_pipeline_dedupe {
  beck_expr_t *by; /* NULL: the record key */
  int64_t within_ms;
} beck_pipeline_dedupe_t;

typedef struct beck_pipeline_step {
  beck_step_kind_t kind;
  beck_pipeline_pos_t pos; /* of the step's key */
  union {
    beck_expr_t *filter;     /* a bool: records where it is false or null are dropped */
    beck_expr_t *map;        /* the new value (an object expression when written as a mapping) */
    beck_expr_t *select_key; /* the new key */
    beck_expr_t *flat_map;   /* an array: one record per element */
    struct {
      beck_pipeline_branch_t *items;
      size_t n;
    } branch;
    struct {
      const char **topics;
      size_t n;
    } merge;
    beck_pipeline_window_t window;
    beck_expr_t *aggregate; /* one object expression; its aggregate calls via beck_expr_agg() */
    beck_pipeline_join_t join;
    const char *table; /* the name the stream is registered under, for joins */
    beck_pipeline_dedupe_t dedupe;
  } u;
} beck_pipeline_step_t;

/* `streams:` - one chain of steps from input topics to an output topic. */
typedef struct beck_pipeline_stream {
  const char *name; /* given, or "stream-N" (1-based) */
  const char **from;
  size_t nfrom;
  beck_pipeline_step_t *steps;
  size_t nsteps;
  const char *to; /* NULL when a branch routes every record or a table step ends it */
  beck_pipeline_pos_t pos;
  /* Event time of each record read (ms since the epoch, or RFC 3339 text);
   * NULL, or a null result: the record's own timestamp. */
  beck_expr_t *timestamp;
} beck_pipeline_stream_t;

/* ---- tests -------------------------------------------------------------- */

/* A record to send, or a record expected. In an expectation, fields not
 * written are not compared (has_*). */
typedef struct beck_pipeline_test_record {
  bool has_key, has_value, has_timestamp, has_window;
  json_t *key;   /* JSON (a YAML string is a JSON string) */
  json_t *value;
  int64_t timestamp;
  int64_t window_start, window_end;
  beck_pipeline_option_t *headers;
  size_t nheaders;
  beck_pipeline_pos_t pos;
} beck_pipeline_test_record_t;

typedef enum beck_pipeline_test_step_kind {
  BECK_PIPELINE_TEST_SEND = 0,    /* record to topic */
  BECK_PIPELINE_TEST_ADVANCE = 1, /* stream time += ms */
  BECK_PIPELINE_TEST_ADVANCE_TO = 2, /* stream time = ms */
} beck_pipeline_test_step_kind_t;

typedef struct beck_pipeline_test_input {
  beck_pipeline_test_step_kind_t kind;
  const char *source; /* SEND: the source (or topic) name as written */
  const char *topic;  /* SEND: the topic it resolves to */
  beck_pipeline_test_record_t record;
  int64_t ms;
  beck_pipeline_pos_t pos;
} beck_pipeline_test_input_t;

typedef struct beck_pipeline_test_output {
  const char *topic;
  beck_pipeline_test_record_t *records; /* exactly these, in this order */
  size_t n;
  beck_pipeline_pos_t pos;
} beck_pipeline_test_output_t;

typedef struct beck_pipeline_test {
  const char *name;
  beck_pipeline_test_input_t *inputs;
  size_t ninputs;
  beck_pipeline_test_output_t *outputs;
  size_t noutputs;
  beck_pipeline_pos_t pos;
} beck_pipeline_test_t;

/* ---- the pipeline --------------------------------------------------------- */

typedef struct beck_pipeline_priv beck_pipeline_priv_t;

/* `run:` - when `beck run` stops by itself (its flags override these). */
typedef struct beck_pipeline_run_opts {
  /* The input is finite: when no topic of the pipeline has grown for this
   * long, open windows are closed, sinks drain and the run ends. 0: never. */
  int64_t stop_when_idle_ms;
  /* A clean stop (like Ctrl-C) after this long. 0: never. */
  int64_t stop_after_ms;
  /* A record a step cannot process (an expression error): 0 fails the
   * pipeline, 1 skips the record (counted, logged). Lines up with
   * beck_on_error_t in beck/streams.h. */
  int on_error;
} beck_pipeline_run_opts_t;

typedef struct beck_pipeline {
  const char *name;
  const char *description; /* NULL when none */
  const char *file;        /* as given to the loader */
  beck_pipeline_topic_t *topics;
  size_t ntopics;
  beck_pipeline_source_t *sources;
  size_t nsources;
  beck_pipeline_table_t *tables;
  size_t ntables;
  beck_pipeline_stream_t *streams;
  size_t nstreams;
  beck_pipeline_sink_t *sinks;
  size_t nsinks;
  beck_pipeline_test_t *tests;
  size_t ntests;
  beck_pipeline_priv_t *priv;
  beck_pipeline_run_opts_t run;
} beck_pipeline_t;

/* ---- connectors (plugged in by the Connect worker) ------------------------ */

/* What the loader needs to know about one connector: its kind and the
 * options a user may write under `config:`. options is the plugin's schema
 * (strided by option_size, as in beck_connector_descriptor_t); extra is a
 * second schema every connector of the kind also accepts (the worker's own
 * options: errors.*, batch.*). Required options are checked in `options`
 * only: the pipeline supplies the worker's name, connector and topic(s). */
typedef struct beck_pipeline_connector {
  beck_connector_kind_t kind;
  const beck_connector_option_t *options;
  size_t option_count;
  size_t option_size; /* 0 means sizeof(beck_connector_option_t) */
  const beck_connector_option_t *extra;
  size_t extra_count;
} beck_pipeline_connector_t;

typedef struct beck_pipeline_connectors {
  void *ud;
  /* Fills *out for the connector called name and returns true, or returns
   * false when there is none. *out's arrays must stay valid until the load
   * returns. */
  bool (*lookup)(void *ud, const char *name, beck_pipeline_connector_t *out);
  /* The i-th known connector name, for did-you-mean; NULL past the end. May
   * be NULL. */
  const char *(*name_at)(void *ud, size_t i);
} beck_pipeline_connectors_t;

/* Finds the connector that a pipeline's `connector: NAME` means under
 * sources (kind SOURCE) or sinks (SINK): NAME itself when it is a connector
 * of that kind, else NAME-source or NAME-sink (so `file` under sources is
 * the plugin connector file-source). On success fills *out, writes the
 * plugin connector's name into full (cap bytes) and returns true. When
 * neither exists returns false (*out may then describe NAME as a connector
 * of the other kind, for the message). */
bool beck_pipeline_connector_lookup(const beck_pipeline_connectors_t *cs, const char *name,
                                    beck_connector_kind_t kind, beck_pipeline_connector_t *out, char *full,
                                    size_t cap);

/* ---- loading ------------------------------------------------------------ */

typedef struct beck_pipeline_load_opts {
  /* NULL: connector names and options are not checked. */
  const beck_pipeline_connectors_t *connectors;
  /* ${VAR} lookup; NULL: getenv(3). Returns NULL when VAR is unset. */
  const char *(*getenv)(void *ud, const char *name);
  void *getenv_ud;
  /* Stop collecting after this many problems; 0 means 100. */
  size_t max_errors;
} beck_pipeline_load_opts_t;

typedef struct beck_pipeline_diag {
  const char *file;
  uint32_t line, col;
  const char *message; /* "unknown step 'windw' (did you mean 'window'?)" */
  const char *text;    /* "FILE:LINE:COL: " + message */
} beck_pipeline_diag_t;

typedef struct beck_pipeline_diags beck_pipeline_diags_t;

size_t beck_pipeline_diags_count(const beck_pipeline_diags_t *d);
const beck_pipeline_diag_t *beck_pipeline_diags_get(const beck_pipeline_diags_t *d, size_t i);
void beck_pipeline_diags_free(beck_pipeline_diags_t *d);

/* Loads and checks the pipeline file at path. Returns BECK_ERR_OK with *out
 * set when the file is valid; BECK_ERR_INVAL (or BECK_ERR_PARSE for YAML
 * syntax, BECK_ERR_IO when the file cannot be read) with *out NULL
 * otherwise. When diags is not NULL, *diags receives every problem (empty
 * on success; free it with beck_pipeline_diags_free). opts may be NULL. */
beck_err_t beck_pipeline_load_file(const char *path, const beck_pipeline_load_opts_t *opts, beck_pipeline_t **out,
                                   beck_pipeline_diags_t **diags);
/* Same, from len bytes of text (copied); file names the source in messages. */
beck_err_t beck_pipeline_load_string(const char *file, const char *text, size_t len,
                                     const beck_pipeline_load_opts_t *opts, beck_pipeline_t **out,
                                     beck_pipeline_diags_t **diags);
void beck_pipeline_free(beck_pipeline_t *p);

const char *beck_pipeline_step_name(beck_step_kind_t k); /* "filter", ... */

/* Finds a source, sink, table or topic declaration by name; NULL if none. */
const beck_pipeline_source_t *beck_pipeline_find_source(const beck_pipeline_t *p, const char *name);
const beck_pipeline_table_t *beck_pipeline_find_table(const beck_pipeline_t *p, const char *name);

/* Appends the option reference (Markdown tables) generated from the binding
 * tables, for docs/pipelines.md. */
beck_err_t beck_pipeline_write_reference(beck_buf_t *out);

/* Parses "64MiB", "1GB", "512" (bytes). Returns 0 with *bytes, or -1. */
int beck_parse_size(const char *s, size_t len, int64_t *bytes);

#endif
