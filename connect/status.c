/*
 * status.c - a task's state machine, its waits, and status snapshots.
 *
 *   CREATED --start--> RUNNING <--pause/resume--> PAUSED
 *                         |                          |
 *                         +----> FAILED <------------+   (first error wins)
 *                         +----> STOPPED                  (graceful stop)
 *
 * Every wait a task thread does (pause, backoff) is on t->cv under t->mu,
 * and stop / pause broadcast it, so neither waits out a backoff.
 */
#include "worker_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/logging.h"

const char *beck_connect_state_name(beck_connect_state_t s) {
  switch (s) {
  case BECK_CONNECT_CREATED:
    return "UNASSIGNED";
  case BECK_CONNECT_RUNNING:
    return "RUNNING";
  case BECK_CONNECT_PAUSED:
    return "PAUSED";
  case BECK_CONNECT_FAILED:
    return "FAILED";
  case BECK_CONNECT_STOPPED:
    return "STOPPED";
  }
  return "UNKNOWN";
}

void beck__task_set_state(beck__task_t *t, beck_connect_state_t s) {
  pthread_mutex_lock(&t->mu);
  if (t->state != BECK_CONNECT_FAILED)
    t->state = s;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

void beck__task_fail(beck__task_t *t, const beck_error_t *e) {
  pthread_mutex_lock(&t->mu);
  bool first = t->state != BECK_CONNECT_FAILED;
  if (first) {
    t->state = BECK_CONNECT_FAILED;
    snprintf(t->error, sizeof t->error, "%s", e && e->msg[0] ? e->msg : "failed");
  }
  t->stopping = true;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  if (first)
    beck_log(t->ctx ? t->ctx->log_ctx : t->name, BECK_LOG_ERROR, "task failed: %s", e ? e->msg : "failed");
  if (t->ctx != NULL)
    beck__ctx_interrupt(t->ctx, true);
  beck__queue_close(&t->queue);
  beck__queue_close(&t->free);
}

void beck__task_note_error(beck__task_t *t, const char *msg) {
  pthread_mutex_lock(&t->mu);
  snprintf(t->error, sizeof t->error, "%s", msg);
  pthread_mutex_unlock(&t->mu);
}

bool beck__task_stopping(beck__task_t *t) {
  pthread_mutex_lock(&t->mu);
  bool s = t->stopping;
  pthread_mutex_unlock(&t->mu);
  return s;
}

bool beck__task_wait_unpaused(beck__task_t *t, bool set_state) {
  pthread_mutex_lock(&t->mu);
  if (set_state && t->paused && !t->stopping && t->state == BECK_CONNECT_RUNNING) {
    t->state = BECK_CONNECT_PAUSED;
    pthread_cond_broadcast(&t->cv);
  }
  while (t->paused && !t->stopping)
    pthread_cond_wait(&t->cv, &t->mu);
  if (set_state && !t->stopping && t->state == BECK_CONNECT_PAUSED) {
    t->state = BECK_CONNECT_RUNNING;
    pthread_cond_broadcast(&t->cv);
  }
  bool ok = !t->stopping;
  pthread_mutex_unlock(&t->mu);
  return ok;
}

bool beck__task_sleep(beck__task_t *t, int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&t->mu);
  int rc = 0;
  while (!t->stopping && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&t->cv, &t->mu, &ts);
  bool ok = !t->stopping;
  pthread_mutex_unlock(&t->mu);
  return ok;
}

bool beck__task_backoff(beck__task_t *t, beck__retry_t *r, const beck_error_t *e) {
  static beck_log_limit_t lim;
  int64_t d = beck__retry_next(r, &t->retry, beck__mono_ms());
  if (d < 0) {
    beck_error_t fe = *e;
    if (t->retry.timeout_ms > 0)
      beck_error_wrap(&fe, "gave up after %u retries over %lld ms (errors.retry.timeout)", r->attempts,
                      (long long)t->retry.timeout_ms);
    beck__task_fail(t, &fe);
    return false;
  }
  atomic_fetch_add(&t->counters.retries, 1);
  beck__task_note_error(t, e->msg);
  beck_log_limited(&lim, 5, 10000, t->ctx ? t->ctx->log_ctx : t->name, BECK_LOG_WARN, "%s; retry %u in %lld ms", e->msg,
                   r->attempts, (long long)d);
  return beck__task_sleep(t, d);
}

void beck__task_snapshot(beck__task_t *t, beck_connect_status_t *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", t->name);
  snprintf(out->connector, sizeof out->connector, "%s", t->info->name);
  out->kind = t->kind;
  pthread_mutex_lock(&t->mu);
  out->state = t->state;
  snprintf(out->error, sizeof out->error, "%s", t->error);
  pthread_mutex_unlock(&t->mu);
  out->records = atomic_load(&t->counters.records);
  out->batches = atomic_load(&t->counters.batches);
  out->record_errors = atomic_load(&t->counters.record_errors);
  out->dead_lettered = atomic_load(&t->counters.dead_lettered);
  out->retries = atomic_load(&t->counters.retries);
  out->flushes = atomic_load(&t->counters.flushes);
  out->rewinds = atomic_load(&t->counters.rewinds);
  out->lag = atomic_load(&t->counters.lag);
}
