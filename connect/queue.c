/*
 * queue.c - a bounded blocking FIFO of pointers between a task's two
 * threads. Backpressure is the point: push blocks while the queue holds cap
 * items. Invariants: 0 <= n <= cap; items[head .. head+n) (mod cap) are the
 * queued items in order; once closed, push fails and pop drains the rest.
 */
#include "worker_int.h"

#include <errno.h>
#include <time.h>

#include "base/alloc.h"

beck_err_t beck__queue_init(beck__queue_t *q, size_t cap) {
  q->items = beck_calloc(cap ? cap : 1, sizeof *q->items);
  if (q->items == NULL)
    return BECK_ERR_NOMEM;
  q->cap = cap ? cap : 1;
  q->head = q->n = 0;
  q->closed = false;
  pthread_mutex_init(&q->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q->not_empty, &ca);
  pthread_cond_init(&q->not_full, &ca);
  pthread_condattr_destroy(&ca);
  return BECK_ERR_OK;
}

void beck__queue_destroy(beck__queue_t *q) {
  if (q->items == NULL)
    return;
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
  pthread_mutex_destroy(&q->mu);
  beck_free(q->items);
  q->items = NULL;
}

bool beck__queue_push(beck__queue_t *q, void *item) {
  pthread_mutex_lock(&q->mu);
  while (q->n == q->cap && !q->closed)
    pthread_cond_wait(&q->not_full, &q->mu);
  if (q->closed) {
    pthread_mutex_unlock(&q->mu);
    return false;
  }
  q->items[(q->head + q->n) % q->cap] = item;
  q->n++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
  return true;
}

static void deadline_in(struct timespec *ts, int ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000;
  if (ts->tv_nsec >= 1000000000) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000;
  }
}

void *beck__queue_pop(beck__queue_t *q, int timeout_ms) {
  struct timespec ts;
  if (timeout_ms >= 0)
    deadline_in(&ts, timeout_ms);
  pthread_mutex_lock(&q->mu);
  while (q->n == 0 && !q->closed) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&q->not_empty, &q->mu);
    } else if (pthread_cond_timedwait(&q->not_empty, &q->mu, &ts) == ETIMEDOUT) {
      break;
    }
  }
  void *item = NULL;
  if (q->n > 0) {
    item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    pthread_cond_signal(&q->not_full);
  }
  pthread_mutex_unlock(&q->mu);
  return item;
}

void beck__queue_close(beck__queue_t *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = true;
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mu);
}

void beck__queue_reopen(beck__queue_t *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = false;
  pthread_mutex_unlock(&q->mu);
}

size_t beck__queue_len(beck__queue_t *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->n;
  pthread_mutex_unlock(&q->mu);
  return n;
}
