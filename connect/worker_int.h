/*
 * worker_int.h - private to the worker files of connect/: the task (one
 * running connector instance), the bounded queue between its two threads,
 * retry backoff, status, dead-letter producing and source offset storage.
 *
 * A task owns:
 *   ctx          the plugin instance; called only from the plugin thread
 *   queue        full batches, plugin thread -> topic thread (source) or
 *                topic thread -> plugin thread (sink)
 *   free         empty batches going back; together with queue this bounds
 *                memory to queue.max.batches + 1 batches
 *   mu/cv        pause, stop and status; every wait in the task (backoff,
 *                pause) is on cv so stop and pause wake it at once
 * Life: worker_add creates ctx (create()), worker_start starts the threads,
 * worker_stop sets stopping, interrupts the plugin's sleeps and joins.
 */
#ifndef BECK_CONNECT_WORKER_INT_H
#define BECK_CONNECT_WORKER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/client.h"
#include "connect_int.h"
#include "worker.h"

/* ---- queue.c ------------------------------------------------------------- */

typedef struct beck__queue {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  void **items;
  size_t cap, head, n;
  bool closed;
} beck__queue_t;

beck_err_t beck__queue_init(beck__queue_t *q, size_t cap);
void beck__queue_destroy(beck__queue_t *q);
/* Blocks while full; false when the queue is closed (item not taken). */
bool beck__queue_push(beck__queue_t *q, void *item);
/* Waits up to timeout_ms (-1: forever) for an item; NULL on timeout, or when
 * closed and empty. */
void *beck__queue_pop(beck__queue_t *q, int timeout_ms);
/* Wakes every waiter; later pushes fail, pops drain what is left. */
void beck__queue_close(beck__queue_t *q);
/* Reopens a closed queue (for restarting a task). */
void beck__queue_reopen(beck__queue_t *q);
size_t beck__queue_len(beck__queue_t *q);

/* ---- retry.c ----------------------------------------------------------------- */

typedef struct beck__retry_policy {
  int64_t timeout_ms; /* give up this long after the first failure; 0: never retry */
  int64_t initial_ms;
  int64_t max_ms;
} beck__retry_policy_t;

typedef struct beck__retry {
  int64_t first_ms; /* 0: no failure pending */
  uint32_t attempts;
  uint64_t rng;
} beck__retry_t;

void beck__retry_reset(beck__retry_t *r);
/* Notes a failure at now_ms; returns the backoff before the next attempt
 * (initial * 2^attempts, capped at max, +0..20% jitter, and never past the
 * deadline), or -1 when the policy's timeout is used up. */
int64_t beck__retry_next(beck__retry_t *r, const beck__retry_policy_t *p, int64_t now_ms);

/* ---- status.c -------------------------------------------------------------- */

typedef struct beck__counters {
  atomic_uint_fast64_t records, batches, record_errors, dead_lettered, retries, flushes, rewinds;
  atomic_int_fast64_t lag;
} beck__counters_t;

/* ---- dlq.c ------------------------------------------------------------------- */

typedef struct beck__dlq {
  beck_client_t *client;
  char *topic; /* NULL: no dead-letter topic */
  bool context_headers;
  const char *connector_name; /* borrowed from the task */
  const char *class_name;     /* the plugin connector */
  int32_t task_id;
  bool created;
} beck__dlq_t;

/* One record to dead-letter. orig_topic NULL for source records (they have
 * no topic position yet). */
typedef struct beck__dlq_entry {
  beck_nstr_t key, value;
  const beck_record_header_t *headers;
  int nheaders;
  int64_t timestamp;
  const char *orig_topic;
  int32_t orig_partition;
  int64_t orig_offset;
  const char *stage; /* "TASK_PUT", "TASK_POLL" */
  const char *error;
} beck__dlq_entry_t;

/* Produces n entries to the dead-letter topic (created with one partition
 * if missing), each with its original key, value and headers plus, when
 * context headers are on, __connect.errors.{topic,partition,offset,
 * connector.name,task.id,stage,class.name,exception.message}. */
beck_err_t beck__dlq_send(beck__dlq_t *d, const beck__dlq_entry_t *entries, int n, beck_error_t *e);

/* ---- offsets.c ------------------------------------------------------------ */

/* The source offsets of one task: the newest offset per source partition,
 * the sequence number of the last batch whose records are all durable, and
 * the next offset per (topic, partition) after it (where recovery scans). */
typedef struct beck__soffsets {
  char **sparts, **soffs;
  size_t n, cap;
  struct beck__spos {
    char *topic;
    int32_t partition;
    int64_t next;
  } * pos;
  size_t npos, cappos;
  uint64_t seq;
} beck__soffsets_t;

void beck__soffsets_free(beck__soffsets_t *o);
const char *beck__soffsets_get(const beck__soffsets_t *o, const char *spart);
beck_err_t beck__soffsets_set(beck__soffsets_t *o, const char *spart, const char *soff);
/* -1 when the partition has no position. */
int64_t beck__soffsets_pos(const beck__soffsets_t *o, const char *topic, int32_t partition);
beck_err_t beck__soffsets_set_pos(beck__soffsets_t *o, const char *topic, int32_t partition, int64_t next);

/* The marker header value of a batch: JSON
 * {"c":ID,"s":SEQ,"n":GROUPS,"o":{SPART:SOFF,...}} with the batch's newest
 * offset per source partition. Returns a malloc'd string or NULL (OOM). */
char *beck__marker_encode(const char *id, uint64_t seq, int ngroups, const beck__soffsets_t *batch_offsets);

/* Writes a checkpoint of o for task id to the offsets topic (acks=all). */
beck_err_t beck__checkpoint_write(beck_client_t *c, const char *offsets_topic, const char *id,
                                  const beck__soffsets_t *o, beck_error_t *e);

/* Rebuilds o for task id: the newest checkpoint in the offsets topic, then
 * every complete batch after it found by scanning the data partitions from
 * the checkpoint positions (see offsets.c). o must be empty. */
beck_err_t beck__soffsets_recover(beck_client_t *c, const char *offsets_topic, const char *id, beck__soffsets_t *o,
                                  beck_error_t *e);

/* ---- the task (worker.c, task_source.c, task_sink.c) -------------------- */

typedef struct beck__task {
  /* set at add, read-only afterwards */
  char *name;
  char id[192]; /* "NAME/0": the task's identity in offsets and markers */
  const beck_connector_info_t *info;
  beck_plugin_set_t *own_plugins; /* from the connector's plugin.path, if set */
  beck_connector_kind_t kind;
  beck_client_t *client;
  const char *offsets_topic;
  beck__config_t wcfg; /* the worker's options for this connector */
  beck_connector_ctx_t *ctx;
  beck__retry_policy_t retry;
  bool tolerate_all, log_errors;
  size_t batch_max_records, batch_max_bytes, queue_max;
  int64_t flush_interval_ms;
  beck__dlq_t dlq;

  /* threads */
  pthread_t plugin_thread, topic_thread;
  bool threads_started;
  beck__queue_t queue, free;

  /* state, under mu */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  beck_connect_state_t state;
  bool paused, stopping, started_once;
  char error[BECK_ERROR_MSG_MAX];
  beck__counters_t counters;

  void *impl; /* beck__source_t / beck__sink_t */
} beck__task_t;

/* status.c */
void beck__task_set_state(beck__task_t *t, beck_connect_state_t s);
/* Fails the task with e's message (first failure wins) and asks both threads
 * to stop. */
void beck__task_fail(beck__task_t *t, const beck_error_t *e);
void beck__task_note_error(beck__task_t *t, const char *msg);
bool beck__task_stopping(beck__task_t *t);
/* Waits while paused (and not stopping); returns !stopping. The plugin
 * thread passes set_state to report PAUSED / RUNNING as it goes (so PAUSED
 * means the plugin is idle and, for sinks, flushed and committed). */
bool beck__task_wait_unpaused(beck__task_t *t, bool set_state);
/* Sleeps up to ms on the task's cv; returns false when the task is stopping. */
bool beck__task_sleep(beck__task_t *t, int64_t ms);
/* Runs the retry loop step for a failed call: notes the error, backs off;
 * returns true to try again, false when retries are used up or the task is
 * stopping (then the task is failed with e if retries ran out). */
bool beck__task_backoff(beck__task_t *t, beck__retry_t *r, const beck_error_t *e);
void beck__task_snapshot(beck__task_t *t, beck_connect_status_t *out);

/* task_source.c / task_sink.c: start the threads (the plugin's create has
 * run); stop: the caller has set stopping and closed the queues; join and
 * free the kind's state. */
beck_err_t beck__source_start(beck__task_t *t, beck_error_t *e);
void beck__source_join(beck__task_t *t);
void beck__source_free(beck__task_t *t);
beck_err_t beck__sink_start(beck__task_t *t, beck_error_t *e);
void beck__sink_join(beck__task_t *t);
void beck__sink_free(beck__task_t *t);
/* The hooks a task's plugin instance calls (arg: the task). */
extern const beck__ctx_hooks_t beck__source_hooks;
extern const beck__ctx_hooks_t beck__sink_hooks;

#endif
