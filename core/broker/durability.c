/*
 * durability.c - group commit for acks=all and the watermark consumers see.
 *
 * Under fsync.policy=always every append is followed by an fsync; at most
 * one runs per partition, on libuv's pool, and it covers every append made
 * before it started (the log's own group commit), so under load one fsync
 * acknowledges many produce requests. Consumers read up to the durable
 * offset, so nobody ever sees a record a crash could take back.
 * Under interval/never the watermark is the log end and the housekeeping
 * tick syncs logs whose interval has passed.
 */
#include "broker/bpart.h"

#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"

beck_bpart_t *beck__bpart(beck_broker_t *b, beck_partition_t *p) {
  if (p->user == NULL) {
    beck_bpart_t *bp = beck_calloc(1, sizeof *bp);
    if (bp == NULL)
      return NULL;
    bp->broker = b;
    bp->p = p;
    bp->work.data = bp;
    bp->ckpt_work.data = bp;
    bp->last_hw = beck__high_watermark(p);
    p->user = bp;
  }
  return p->user;
}

bool beck__bpart_busy(beck_partition_t *p) {
  beck_bpart_t *bp = p->user;
  return bp && (bp->sync_inflight || bp->ckpt_inflight);
}

int64_t beck__high_watermark(beck_partition_t *p) {
  if (p->topic->cfg.log.fsync_policy == BECK_FSYNC_ALWAYS)
    return beck_plog_durable_offset(p->log);
  return beck_plog_end_offset(p->log);
}

static void start_sync(beck_bpart_t *bp);

/* Rounds one work item may sync back to back before it returns (and lets
 * other partitions' work onto its pool thread). */
#define SYNC_ROUNDS_MAX 64

/* Pool thread: tells the loop that bp's durable offset moved. */
static void post_progress(beck_bpart_t *bp) {
  beck_broker_t *b = bp->broker;
  pthread_mutex_lock(&b->durable_mu);
  if (!bp->ready_listed) {
    bp->ready_listed = true;
    bp->ready_next = b->durable_ready;
    b->durable_ready = bp;
  }
  pthread_mutex_unlock(&b->durable_mu);
  uv_async_send(&b->durable_async);
}

/* Under fsync.policy=always the work item keeps syncing while appends keep
 * arriving, and each round's acknowledgements go to the loop at once
 * (post_progress), so under load fsyncs run back to back without a round
 * trip through the loop between them. */
static void sync_work(uv_work_t *w) {
  beck_bpart_t *bp = w->data;
  beck_plog_t *log = bp->p->log;
  beck_error_clear(&bp->work_e);
  for (int round = 1;; round++) {
    bp->work_err = beck_plog_sync_data(log, &bp->work_e);
    if (bp->work_err || !bp->sync_rounds || round == SYNC_ROUNDS_MAX ||
        beck_plog_durable_offset(log) >= beck_plog_end_offset(log))
      return;
    post_progress(bp);
  }
}

/* The recovery-point write (once a second per partition: a temporary file,
 * an fdatasync, a rename and a directory sync) runs as its own work item
 * after the producers are answered, never between an fsync and its acks. */
static void ckpt_work(uv_work_t *w) {
  beck_bpart_t *bp = w->data;
  beck_plog_checkpoint_if_due(bp->p->log);
}

static void ckpt_done(uv_work_t *w, int status) {
  beck_bpart_t *bp = w->data;
  bp->ckpt_inflight = false;
}

static void maybe_checkpoint(beck_bpart_t *bp) {
  if (bp->ckpt_inflight || !beck_plog_checkpoint_due(bp->p->log))
    return;
  bp->ckpt_inflight = true;
  if (uv_queue_work(&bp->broker->loop, &bp->ckpt_work, ckpt_work, ckpt_done) != 0)
    bp->ckpt_inflight = false; /* the next sync tries again */
}

static void notify_watermark(beck_bpart_t *bp) {
  int64_t hw = beck__high_watermark(bp->p);
  if (hw != bp->last_hw) {
    bp->last_hw = hw;
    beck__fetch_wake(bp->broker, bp->p);
  }
}

/* Answers every waiter now covered (all of them when kerr is set); returns
 * them in a list for the caller to call back after its own bookkeeping. */
static durable_waiter_t *take_covered(beck_bpart_t *bp, int16_t kerr) {
  int64_t durable = beck_plog_durable_offset(bp->p->log);
  durable_waiter_t **pp = &bp->waiters, *done = NULL;
  while (*pp) {
    durable_waiter_t *wt = *pp;
    if (kerr || wt->end_offset <= durable) {
      *pp = wt->next;
      wt->next = done;
      done = wt;
    } else {
      pp = &wt->next;
    }
  }
  return done;
}

static void call_back(durable_waiter_t *done, int16_t kerr) {
  while (done) {
    durable_waiter_t *next = done->next;
    done->cb(done->arg, kerr);
    beck_free(done);
    done = next;
  }
}

/* Loop: partitions whose durable offset moved while their work item runs. */
static void on_durable_async(uv_async_t *a) {
  beck_broker_t *b = a->data;
  pthread_mutex_lock(&b->durable_mu);
  beck_bpart_t *list = b->durable_ready;
  b->durable_ready = NULL;
  for (beck_bpart_t *bp = list; bp; bp = bp->ready_next)
    bp->ready_listed = false;
  pthread_mutex_unlock(&b->durable_mu);
  while (list) {
    beck_bpart_t *bp = list;
    list = bp->ready_next;
    call_back(take_covered(bp, BECK_KERR_NONE), BECK_KERR_NONE);
    notify_watermark(bp);
  }
}

void beck__durability_init(beck_broker_t *b) {
  pthread_mutex_init(&b->durable_mu, NULL);
  uv_async_init(&b->loop, &b->durable_async, on_durable_async);
  b->durable_async.data = b;
  uv_unref((uv_handle_t *)&b->durable_async); /* pool work keeps the loop alive, not this */
}

/* Takes bp off the loop's list (its work item has ended; the list must not
 * outlive it). */
static void unlist(beck_bpart_t *bp) {
  beck_broker_t *b = bp->broker;
  pthread_mutex_lock(&b->durable_mu);
  if (bp->ready_listed) {
    for (beck_bpart_t **pp = &b->durable_ready; *pp; pp = &(*pp)->ready_next) {
      if (*pp == bp) {
        *pp = bp->ready_next;
        break;
      }
    }
    bp->ready_listed = false;
  }
  pthread_mutex_unlock(&b->durable_mu);
}

static void sync_done(uv_work_t *w, int status) {
  beck_bpart_t *bp = w->data;
  bp->sync_inflight = false;
  unlist(bp);
  int16_t kerr = BECK_KERR_NONE;
  if (bp->work_err) {
    kerr = BECK_KERR_KAFKA_STORAGE_ERROR;
    beck_log("broker", BECK_LOG_ERROR, "partition %s-%d: %s", bp->p->topic->name, bp->p->id, bp->work_e.msg);
  }
  durable_waiter_t *done = take_covered(bp, kerr);
  bool again = !kerr && (bp->sync_again || bp->waiters != NULL);
  bp->sync_again = false;
  if (again)
    start_sync(bp);
  call_back(done, kerr);
  notify_watermark(bp);
  if (!kerr)
    maybe_checkpoint(bp);
}

static void start_sync(beck_bpart_t *bp) {
  if (bp->sync_inflight) {
    bp->sync_again = true;
    return;
  }
  if (beck_plog_durable_offset(bp->p->log) >= beck_plog_end_offset(bp->p->log) && bp->waiters == NULL)
    return;
  bp->sync_inflight = true;
  bp->sync_rounds = bp->p->topic->cfg.log.fsync_policy == BECK_FSYNC_ALWAYS;
  if (uv_queue_work(&bp->broker->loop, &bp->work, sync_work, sync_done) != 0) {
    /* cannot happen with a live loop; run inline rather than lose acks */
    sync_work(&bp->work);
    sync_done(&bp->work, 0);
  }
}

void beck__partition_appended(beck_broker_t *b, beck_partition_t *p) {
  beck_bpart_t *bp = beck__bpart(b, p);
  if (bp == NULL)
    return;
  if (p->topic->cfg.log.fsync_policy == BECK_FSYNC_ALWAYS)
    start_sync(bp);
  else
    notify_watermark(bp);
}

void beck__wait_durable(beck_broker_t *b, beck_partition_t *p, int64_t end_offset, beck_durable_cb cb, void *arg) {
  beck_bpart_t *bp = beck__bpart(b, p);
  if (p->topic->cfg.log.fsync_policy != BECK_FSYNC_ALWAYS || beck_plog_durable_offset(p->log) >= end_offset) {
    cb(arg, BECK_KERR_NONE);
    return;
  }
  durable_waiter_t *wt = bp ? beck_malloc(sizeof *wt) : NULL;
  if (wt == NULL) {
    cb(arg, BECK_KERR_UNKNOWN_SERVER_ERROR);
    return;
  }
  wt->end_offset = end_offset;
  wt->cb = cb;
  wt->arg = arg;
  wt->next = bp->waiters;
  bp->waiters = wt;
  start_sync(bp);
}

void beck__bpart_release(beck_broker_t *b, beck_partition_t *p) {
  beck_bpart_t *bp = p->user;
  if (bp == NULL)
    return;
  while (bp->waiters) {
    durable_waiter_t *wt = bp->waiters;
    bp->waiters = wt->next;
    wt->cb(wt->arg, BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    beck_free(wt);
  }
  beck__fetch_finish_partition(b, p); /* parked fetches answer with what they have */
  beck_free(bp);
  p->user = NULL;
}

void beck__durability_tick(beck_broker_t *b, int64_t now_ms) {
  beck_env_t *env = beck_env_default();
  int64_t wall = env->now_ms(env);
  bool retention_due = now_ms - b->last_retention_ms >= b->cfg.retention_check_ms;
  if (retention_due)
    b->last_retention_ms = now_ms;
  int n = beck_topics_count(b->topics);
  for (int i = 0; i < n; i++) {
    beck_topic_t *t = beck_topics_at(b->topics, i);
    for (int32_t j = 0; j < t->npartitions; j++) {
      beck_partition_t *p = t->partitions[j];
      if (t->cfg.log.fsync_policy == BECK_FSYNC_INTERVAL && beck_plog_sync_due(p->log, wall)) {
        beck_bpart_t *bp = beck__bpart(b, p);
        if (bp)
          start_sync(bp);
      }
      if (retention_due) {
        beck_error_t e;
        int32_t deleted = 0;
        if (t->cfg.delete_ && beck_plog_enforce_retention(p->log, wall, &deleted, &e) != BECK_ERR_OK)
          beck_log("broker", BECK_LOG_WARN, "partition %s-%d: retention: %s", t->name, j, e.msg);
        if (t->cfg.compact) {
          beck_plog_compact_stats_t st;
          if (beck_plog_compact(p->log, wall, &st, &e) != BECK_ERR_OK)
            beck_log("broker", BECK_LOG_WARN, "partition %s-%d: compaction: %s", t->name, j, e.msg);
        }
      }
    }
  }
}
