/*
 * worker.h - the Connect worker: runs connector instances (tasks) that move
 * batches between plugins and topics, for `beck run`, pipelines and the CLI.
 *
 * Each connector runs one task with two threads joined by a bounded queue
 * of batches (queue.max.batches: a full queue blocks the producer side, so
 * a slow topic slows the source and a slow sink slows fetching):
 *
 *   source:  [plugin thread] poll -> queue -> [topic thread] produce (acks=all)
 *   sink:    [topic thread] fetch -> queue -> [plugin thread] put ... flush -> commit
 *
 * Delivery guarantees (details in offsets.c and task_sink.c):
 *   - sources: the source offsets of a batch travel inside the batch, in a
 *     `beck.connect.source` header on the last record the batch writes to
 *     each partition; a checkpoint in the compacted offsets topic bounds how
 *     far back a restart looks. A restart resumes after the last batch that
 *     is completely in its topics: no loss, and no duplicates unless the
 *     worker died in the middle of a batch spanning several partitions;
 *   - sinks: records are put, the sink flushes, and only then are the
 *     consumed offsets committed for the group (group.id, default
 *     connect-NAME): at-least-once, exactly-once for sinks that store their
 *     offsets with their data and seek on start (postgres, sqlite);
 *   - errors: retriable failures back off exponentially (errors.retry.*);
 *     record errors fail the task (errors.tolerance=none) or are skipped
 *     (all), to the dead-letter topic when one is set, with
 *     __connect.errors.* headers as in Kafka Connect.
 *
 * Threading: the API may be called from any thread; calls on one worker are
 * serialised internally. beck_connect_worker_free() stops everything
 * gracefully (sinks flush and commit, sources commit).
 */
#ifndef BECK_CONNECT_WORKER_H
#define BECK_CONNECT_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "client/client.h"
#include "plugin.h"

#define BECK_CONNECT_OFFSETS_TOPIC "__beck_connect_offsets"
#define BECK_CONNECT_SOURCE_HEADER "beck.connect.source"

typedef struct beck_connect_worker beck_connect_worker_t;

typedef struct beck_connect_worker_config {
  beck_client_t *client;      /* borrowed; must outlive the worker */
  beck_plugin_set_t *plugins; /* borrowed; NULL: discover (plugin_path, BECK_PLUGIN_PATH, built-in) */
  const char *plugin_path;    /* extra plugin directories when plugins is NULL; may be NULL */
  const char *offsets_topic;  /* NULL: BECK_CONNECT_OFFSETS_TOPIC */
} beck_connect_worker_config_t;

typedef enum beck_connect_state {
  BECK_CONNECT_CREATED = 0, /* added, not started */
  BECK_CONNECT_RUNNING,
  BECK_CONNECT_PAUSED,
  BECK_CONNECT_FAILED,
  BECK_CONNECT_STOPPED,
} beck_connect_state_t;

/* A snapshot of one connector's status (value type). */
typedef struct beck_connect_status {
  char name[128];
  char connector[128]; /* plugin connector name */
  beck_connector_kind_t kind;
  beck_connect_state_t state;
  char error[BECK_ERROR_MSG_MAX]; /* why FAILED (or the last retried error) */
  uint64_t records;               /* moved into topics (source) or put (sink) */
  uint64_t batches;
  uint64_t record_errors; /* rejected / failed conversion */
  uint64_t dead_lettered;
  uint64_t retries;
  uint64_t flushes; /* sinks: successful flush + commit */
  uint64_t rewinds; /* sinks: re-deliveries since the last flush */
  int64_t lag;      /* sinks: records behind the high watermarks at last fetch; -1 unknown */
} beck_connect_status_t;

const char *beck_connect_state_name(beck_connect_state_t s); /* "RUNNING", ... as Kafka Connect */

/* Creates a worker. Creates the offsets topic (compacted) if missing. */
beck_err_t beck_connect_worker_new(const beck_connect_worker_config_t *cfg, beck_connect_worker_t **out,
                                   beck_error_t *e);
/* Stops every connector gracefully and frees the worker; NULL is ok. */
void beck_connect_worker_free(beck_connect_worker_t *w);

/* Adds a connector from n key/value pairs (copied): the worker's options
 * (name, connector, topic/topics, errors.*, ...) and the plugin's. Checks the
 * configuration against both schemas and calls the plugin's create (so a bad
 * config fails here with its message); does not start it. */
beck_err_t beck_connect_worker_add(beck_connect_worker_t *w, const char *const *keys, const char *const *values, int n,
                                   beck_error_t *e);
/* Starts a connector's task (threads). */
beck_err_t beck_connect_worker_start(beck_connect_worker_t *w, const char *name, beck_error_t *e);
/* Pauses / resumes: a paused source stops polling, a paused sink flushes,
 * commits and stops fetching. */
beck_err_t beck_connect_worker_pause(beck_connect_worker_t *w, const char *name, beck_error_t *e);
beck_err_t beck_connect_worker_resume(beck_connect_worker_t *w, const char *name, beck_error_t *e);
/* Stops a connector gracefully (drains its queue, flushes and commits) and
 * joins its threads; it stays listed as STOPPED (or FAILED). */
beck_err_t beck_connect_worker_stop(beck_connect_worker_t *w, const char *name, beck_error_t *e);
/* Stops and removes a connector. */
beck_err_t beck_connect_worker_remove(beck_connect_worker_t *w, const char *name, beck_error_t *e);

/* Status of one connector; BECK_ERR_NOTFOUND when there is none. */
beck_err_t beck_connect_worker_status(beck_connect_worker_t *w, const char *name, beck_connect_status_t *out,
                                      beck_error_t *e);
/* Number of connectors and the status of the i-th (in the order added). */
int beck_connect_worker_count(beck_connect_worker_t *w);
beck_err_t beck_connect_worker_status_at(beck_connect_worker_t *w, int i, beck_connect_status_t *out);

/* Waits until the named connector's state is `state` (or FAILED/STOPPED,
 * which end waiting too), or timeout_ms passes; returns the state reached. */
beck_connect_state_t beck_connect_worker_wait(beck_connect_worker_t *w, const char *name, beck_connect_state_t state,
                                              int timeout_ms);

#endif
