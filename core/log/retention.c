/*
 * retention.c - deleting old data: retention.ms / retention.bytes
 * (beck_plog_enforce_retention) and DeleteRecords (beck_plog_advance_start).
 *
 * Only whole sealed segments are deleted, oldest first, and never the
 * active one. Deletion stops at the first segment that does not qualify, so
 * the log stays a contiguous run of segments (Kafka's rule):
 *   - always: the segment lies wholly below the log start offset (what a
 *     crash between persisting a DeleteRecords and deleting files leaves)
 *   - time: the segment's largest timestamp is older than now - retention.ms
 *     (a segment without any timestamp, e.g. emptied by compaction, is kept)
 *   - size: while the log minus that segment is still >= retention.bytes
 * After deletion the log start offset is max(start, first segment's base);
 * that needs no file of its own since the first segment's name gives it.
 *
 * DeleteRecords persists `log-start-offset` first (atomically, synced) and
 * only then deletes the segments that lie wholly below it; when the new
 * start is the end of the log the active segment is rolled first so its
 * bytes can go too. Segment files are unlinked under the mutex; readers
 * holding slices keep their fd (see segment.h).
 */
#include "log/plog.h"

#include "log/plog_int.h"

/* Deletes the first n segments (all sealed) and raises the start offset. */
static beck_err_t drop_front(beck_plog_t *log, size_t n, beck_error_t *e) {
  beck_err_t err = n ? beck__plog_unmark_clean_locked(log, e) : BECK_ERR_OK;
  if (err)
    return err;
  for (size_t i = 0; i < n; i++)
    beck__plog_drop_segment_locked(log, 0, true);
  if (log->segs[0]->base > log->start_offset)
    log->start_offset = log->segs[0]->base;
  if (log->start_offset > log->end_offset)
    log->start_offset = log->end_offset;
  return n ? beck__plog_sync_dir_locked(log, e) : BECK_ERR_OK;
}

beck_err_t beck_plog_enforce_retention(beck_plog_t *log, int64_t now_ms, int32_t *n, beck_error_t *e) {
  if (n)
    *n = 0;
  pthread_mutex_lock(&log->mu);
  beck_err_t err = BECK_ERR_OK;
  if (log->fenced) {
    err = beck__plog_fenced_error(log, e);
    goto out;
  }
  const beck_plog_config_t *cfg = &log->cfg;
  size_t k = 0; /* segments to delete: a prefix of the sealed ones */
  while (k + 1 < log->nsegs && log->segs[k + 1]->base <= log->start_offset)
    k++; /* wholly below the log start (left by a crash during DeleteRecords): always deleted */
  if (!cfg->delete_retention) {
    err = drop_front(log, k, e);
    if (n)
      *n = (int32_t)k;
    goto out;
  }
  if (cfg->retention_ms >= 0) {
    while (k + 1 < log->nsegs) {
      int64_t max_ts = log->segs[k]->ix.max_ts;
      if (max_ts < 0 || now_ms - max_ts <= cfg->retention_ms)
        break;
      k++;
    }
  }
  if (cfg->retention_bytes >= 0) {
    int64_t total = 0;
    for (size_t i = 0; i < log->nsegs; i++)
      total += log->segs[i]->size;
    for (size_t i = 0; i < k; i++)
      total -= log->segs[i]->size;
    int64_t diff = total - cfg->retention_bytes;
    while (k + 1 < log->nsegs && diff - log->segs[k]->size >= 0) {
      diff -= log->segs[k]->size;
      k++;
    }
  }
  err = drop_front(log, k, e);
  if (n)
    *n = (int32_t)k;
out:
  pthread_mutex_unlock(&log->mu);
  return err;
}

beck_err_t beck_plog_advance_start(beck_plog_t *log, int64_t offset, beck_error_t *e) {
  pthread_mutex_lock(&log->mu);
  beck_err_t err = BECK_ERR_OK;
  if (log->fenced) {
    err = beck__plog_fenced_error(log, e);
    goto out;
  }
  if (offset > log->end_offset) {
    err = beck_error_set(e, BECK_ERR_RANGE, "partition dir %s: cannot move the log start to %lld, past the end %lld",
                         log->dir, (long long)offset, (long long)log->end_offset);
    goto out;
  }
  if (offset <= log->start_offset)
    goto out;
  if ((err = beck__plog_unmark_clean_locked(log, e)))
    goto out;
  if ((err = beck__start_offset_write(log->env, log->dir, offset, e))) {
    beck_error_wrap(e, "partition dir %s", log->dir);
    goto out;
  }
  log->start_offset = offset;
  if (offset == log->end_offset && (err = beck__plog_roll_locked(log, e)))
    goto out;
  size_t k = 0;
  while (k + 1 < log->nsegs && log->segs[k + 1]->base <= offset)
    k++;
  err = drop_front(log, k, e);
out:
  pthread_mutex_unlock(&log->mu);
  return err;
}
