/*
 * runtime.h - running a loaded pipeline (beck_pipeline_t, pipeline.h): the
 * compiler onto the streams API, the runner behind `beck run` (topics, the
 * Connect worker's sources and sinks, the streams runtime, status, stop) and
 * the test runner behind `beck pipeline test` (the deterministic test driver
 * with virtual event time). The module header of library beck_pipeline_run;
 * runtime_int.h is private to it. docs/pipelines.md describes the behaviour.
 *
 *   beck_pipeline_t --compile.c--> beck_topology_t (one builder call per step)
 *                   --run.c------> client + topics + worker + streams runtime
 *                   --ptest.c----> one test driver per test, compared outputs
 *
 * Records in a pipeline: values are JSON; bytes that are not JSON are a
 * string; a string result is written as its bytes (so text lines stay text),
 * anything else as compact JSON. Keys are strings unless they hold a JSON
 * object, array or quoted string. Records no step reads pass through
 * untouched (no decoding). Windowed results are written with their plain key
 * and the window in two headers, BECK_PIPELINE_WINDOW_START_HEADER and
 * BECK_PIPELINE_WINDOW_END_HEADER (ms since the epoch, decimal), so sinks and
 * Kafka clients see readable keys; `window.start` / `window.end` read them
 * back in later streams.
 */
#ifndef BECK_CONNECT_PIPELINE_RUNTIME_H
#define BECK_CONNECT_PIPELINE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "beck/streams.h"
#include "connect/pipeline/pipeline.h"
#include "connect/plugin.h"

#define BECK_PIPELINE_WINDOW_START_HEADER "beck.window.start"
#define BECK_PIPELINE_WINDOW_END_HEADER "beck.window.end"

/* ---- connectors for the loader -------------------------------------------- */

/* Fills *out so the loader checks connector names and options against the
 * plugins of set (borrowed; it must outlive every load using *out), with the
 * worker's own options as `extra`. */
void beck_pipeline_connectors_from_plugins(beck_plugin_set_t *set, beck_pipeline_connectors_t *out);

/* ---- compiling -------------------------------------------------------------- */

typedef struct beck_pipeline_compiled beck_pipeline_compiled_t;

/* Builds the topology of p's streams (app id = the pipeline's name). p is
 * borrowed and must outlive the result. Node names are
 * "<stream>-<step>[N]"; stateful nodes keep their names when other steps
 * are added or removed around them. Errors name the stream and step. */
beck_err_t beck_pipeline_compile(const beck_pipeline_t *p, beck_pipeline_compiled_t **out, beck_error_t *e);
void beck_pipeline_compiled_free(beck_pipeline_compiled_t *c);
/* The topology (owned by c). */
beck_topology_t *beck_pipeline_compiled_topology(const beck_pipeline_compiled_t *c);
/* Internal topics the compiled pipeline writes besides those of the file
 * (the topics behind table steps and re-keyed tables). */
size_t beck_pipeline_compiled_topic_count(const beck_pipeline_compiled_t *c);
const char *beck_pipeline_compiled_topic(const beck_pipeline_compiled_t *c, size_t i);
/* Records that entered stream i (after its event time) and that it wrote to
 * its `to` (and branches); records step j of stream i saw. Safe to read
 * while running (relaxed counters). */
uint64_t beck_pipeline_compiled_stream_in(const beck_pipeline_compiled_t *c, size_t i);
uint64_t beck_pipeline_compiled_stream_out(const beck_pipeline_compiled_t *c, size_t i);
uint64_t beck_pipeline_compiled_step_count(const beck_pipeline_compiled_t *c, size_t stream, size_t step);
/* The largest event time any stream has read (INT64_MIN before any; a
 * runner starts it from what earlier runs over its data directory read), and
 * how far past it every window, join and dedupe of the pipeline is surely
 * closed: advancing time to max + horizon ends a finite input. */
int64_t beck_pipeline_compiled_max_time(const beck_pipeline_compiled_t *c);
int64_t beck_pipeline_compiled_horizon(const beck_pipeline_compiled_t *c);

/* ---- running (`beck run`) --------------------------------------------------- */

typedef struct beck_pipeline_run_config {
  /* Where to find the log: embedded over data_dir (the default), a remote
   * cluster (bootstrap), or an in-process broker over data_dir that also
   * serves Kafka clients on listen (the pipeline then reaches it as a
   * remote client: the registry of a data directory has one owner). */
  const char *data_dir;       /* topics (embedded, listen) and local state stores; required */
  const char *bootstrap;      /* "host:port[,...]"; NULL: embedded */
  const char *listen;         /* "host:port"; NULL: no broker */
  beck_plugin_set_t *plugins; /* borrowed; the worker's connectors */
  int threads;                /* stream task threads; 0: 2 */
  int64_t commit_interval_ms; /* 0: 250 */
  bool exactly_once;          /* embedded only */
  int64_t stop_when_idle_ms;  /* overrides p->run when > 0; < 0 disables */
  int64_t stop_after_ms;      /* overrides p->run when > 0; < 0 disables */
} beck_pipeline_run_config_t;

typedef struct beck_pipeline_runner beck_pipeline_runner_t;

/* Opens the log, creates the pipeline's topics, compiles its streams and
 * adds its connectors to a worker (checking their configurations); nothing
 * runs yet. p and cfg->plugins are borrowed and must outlive the runner. */
beck_err_t beck_pipeline_runner_new(const beck_pipeline_t *p, const beck_pipeline_run_config_t *cfg,
                                    beck_pipeline_runner_t **out, beck_error_t *e);
/* Starts the streams, the sinks, then the sources. */
beck_err_t beck_pipeline_runner_start(beck_pipeline_runner_t *r, beck_error_t *e);

typedef enum beck_pipeline_run_state {
  BECK_PIPELINE_RUNNING = 0,
  BECK_PIPELINE_INPUT_ENDED, /* stop_when_idle: nothing has moved for that long */
  BECK_PIPELINE_TIME_UP,     /* stop_after has passed */
  BECK_PIPELINE_FAILED,      /* a connector or a stream task failed (see the status) */
} beck_pipeline_run_state_t;

typedef enum beck_pipeline_item_kind {
  BECK_PIPELINE_ITEM_SOURCE = 0,
  BECK_PIPELINE_ITEM_STREAM,
  BECK_PIPELINE_ITEM_STEP,
  BECK_PIPELINE_ITEM_SINK,
} beck_pipeline_item_kind_t;

/* One line of the status (value type). */
typedef struct beck_pipeline_item {
  beck_pipeline_item_kind_t kind;
  char name[128];       /* source, stream or sink name; a step's kind */
  char what[192];       /* connector and topic(s); a stream's "from -> to"; a step's detail */
  char state[16];       /* RUNNING, PAUSED, FAILED, STOPPED, ... ("" for steps) */
  uint64_t records;     /* moved since the start of this run (streams: records in) */
  uint64_t records_out; /* streams: written to their topics */
  double rate;          /* records per second over the last interval */
  int64_t lag;          /* sinks: records behind; -1 unknown */
  char error[256];
} beck_pipeline_item_t;

typedef struct beck_pipeline_status {
  beck_pipeline_item_t *items; /* owned by the runner; valid until the next poll or free */
  size_t n;
  int64_t elapsed_ms;
  int64_t idle_ms;                /* how long nothing has moved */
  char error[BECK_ERROR_MSG_MAX]; /* FAILED: what failed */
} beck_pipeline_status_t;

/* Samples counters and states into *st (rates over the time since the last
 * poll) and says whether the run should end. Call every few hundred ms. */
beck_pipeline_run_state_t beck_pipeline_runner_poll(beck_pipeline_runner_t *r, beck_pipeline_status_t *st);

/* The input has ended (a finite input, BECK_PIPELINE_INPUT_ENDED): stops
 * the sources (their offsets stored), lets the streams process what is
 * left, moves event time past every open window (max time seen + the
 * pipeline's horizon, not to infinity, so newer input in a later run still
 * counts), which closes and emits them, and commits. The sinks keep
 * running: wait for beck_pipeline_runner_drained(), then stop. */
beck_err_t beck_pipeline_runner_end_input(beck_pipeline_runner_t *r, beck_error_t *e);
/* True when every running sink has committed up to the end of each of its
 * topics (a failed sink never will). */
bool beck_pipeline_runner_drained(beck_pipeline_runner_t *r);
/* Stops cleanly whatever still runs: sources first (offsets stored), then
 * the streams (each task commits), then the sinks (flush, commit). A second
 * run over the same data directory (or cluster) resumes where this one
 * stopped. Returns a stream task's failure, if one failed. */
beck_err_t beck_pipeline_runner_stop(beck_pipeline_runner_t *r, beck_error_t *e);
/* Frees (stops first, without ending the input, if still running); NULL ok. */
void beck_pipeline_runner_free(beck_pipeline_runner_t *r);
/* What the runner runs over, for messages: "embedded log in DIR", ... */
const char *beck_pipeline_runner_describe(const beck_pipeline_runner_t *r);

/* ---- testing (`beck pipeline test`) ------------------------------------------ */

typedef struct beck_pipeline_test_result {
  bool passed;
  /* Why not, readable: per topic that differs, the expected and actual
   * records as a diff ("  " same, "- " expected but missing, "+ " not
   * expected); or the error that stopped the test. NUL-terminated. */
  beck_buf_t report;
} beck_pipeline_test_result_t;

/* Runs test i of p on a fresh topology over the deterministic test driver:
 * inputs in order with virtual event time, then compares every expected
 * topic exactly. Returns BECK_ERR_OK when the test ran (passed or not, see
 * *res); an error when it could not (res->report says why too). Free
 * res->report with beck_buf_free. */
beck_err_t beck_pipeline_test_run(const beck_pipeline_t *p, size_t i, beck_pipeline_test_result_t *res,
                                  beck_error_t *e);

#endif
