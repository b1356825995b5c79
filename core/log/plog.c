/*
 * plog.c - the partition log object: open/close, configuration, append,
 * roll, group commit and fencing. Reads are in read.c, truncation in
 * truncate.c, retention and DeleteRecords in retention.c, recovery on open
 * in recover.c, compaction in compact.c. Object invariants: plog_int.h.
 *
 * Append: batches are validated (length, magic 2, CRC-32C, count ==
 * LastOffsetDelta + 1, max.message.bytes) and, for LogAppendTime, stamped
 * and re-CRCed outside the mutex; then, under it, the segment rolls if
 * needed, base offsets are assigned and all batches go to the file in one
 * pwrite. A failed or short write cuts the file back to where it was;
 * since `size` only advances after a whole successful write, readers never
 * see a partial batch. A full disk (ENOSPC, EDQUOT) with the file cut back
 * fails just that append (BECK_ERR_NOSPACE): the segment is byte for byte
 * as before, so the log stays writable and appends succeed again once
 * space is free (Kafka would take the whole log dir offline until a
 * restart). Any other write failure, or a failed cut, fences the log. A
 * failed fsync always fences: the kernel may have dropped the dirty pages.
 *
 * Roll: when the active segment is not empty and the append would pass
 * segment.bytes, or segment.ms has passed since its first append (env
 * clock), or a relative offset would not fit 32 bits, or its offset index is
 * full. The old segment's index files are written and the directory synced
 * (so a checkpoint may name the new file); the old segment joins `unsynced`.
 *
 * Group commit (leader/follower). A sync wants durable_offset >= target:
 *
 *     caller            state under mu               action
 *     ------            --------------               ------
 *     any               durable >= target            return
 *     any               fenced                       fail with the reason
 *     follower          syncing                      wait on cv, re-check
 *     leader            !syncing                     syncing = 1; capture end_offset,
 *                                                    the active segment and `unsynced`
 *                                                    (references keep their fds open);
 *                                                    unlock; fdatasync each; relock;
 *                                                    syncing = 0; durable = captured end
 *                                                    (or fence); broadcast
 *
 * Appends go on while the leader is in fdatasync; what they add is covered
 * by the next leader, so one fdatasync serves every append that arrived
 * while the previous one ran. A failed fdatasync is never retried (the page
 * cache may have dropped the dirty pages): the log is fenced, durable_offset
 * stays at the last successful sync, and every waiter gets the reason.
 *
 * Recovery point: after a successful sync the leader rewrites
 * `recovery-point` (outside mu, flagged by ckpt_writing) when the previous
 * one is more than BECK_PLOG_CKPT_INTERVAL_NS old or a roll/truncate forced
 * it; close and beck_plog_checkpoint() write it too. Recovery scans at most
 * the bytes appended since, so a crash costs about one second of re-reading.
 */
#include "log/plog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "log/plog_int.h"
#include "record/batch.h"

void beck_plog_config_default(beck_plog_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->segment_bytes = 1024LL * 1024 * 1024;
  cfg->segment_ms = 7LL * 24 * 3600 * 1000;
  cfg->retention_bytes = -1;
  cfg->retention_ms = 7LL * 24 * 3600 * 1000;
  cfg->index_interval_bytes = 4096;
  cfg->max_batch_bytes = 1048588;
  cfg->fsync_policy = BECK_FSYNC_ALWAYS;
  cfg->fsync_interval_ms = 1000;
  cfg->compact = false;
  cfg->delete_retention = true;
  cfg->delete_retention_ms = 24LL * 3600 * 1000;
  cfg->log_append_time = false;
  cfg->segment_index_bytes = 10 * 1024 * 1024;
}

static beck_err_t check_config(const beck_plog_config_t *cfg, beck_error_t *e) {
  if (cfg->segment_bytes <= 0)
    return beck_error_set(e, BECK_ERR_INVAL, "segment.bytes must be positive, got %lld", (long long)cfg->segment_bytes);
  if (cfg->segment_ms <= 0)
    return beck_error_set(e, BECK_ERR_INVAL, "segment.ms must be positive, got %lld", (long long)cfg->segment_ms);
  if (cfg->index_interval_bytes < 0)
    return beck_error_set(e, BECK_ERR_INVAL, "index.interval.bytes must not be negative, got %d",
                          cfg->index_interval_bytes);
  if (cfg->max_batch_bytes < BECK_BATCH_HEADER_SIZE)
    return beck_error_set(e, BECK_ERR_INVAL, "max.message.bytes must be at least %d, got %d", BECK_BATCH_HEADER_SIZE,
                          cfg->max_batch_bytes);
  if (cfg->segment_index_bytes < BECK_INDEX_ENTRY_SIZE)
    return beck_error_set(e, BECK_ERR_INVAL, "segment.index.bytes must be at least %d, got %d", BECK_INDEX_ENTRY_SIZE,
                          cfg->segment_index_bytes);
  if ((unsigned)cfg->fsync_policy > BECK_FSYNC_NEVER)
    return beck_error_set(e, BECK_ERR_INVAL, "unknown fsync policy %d", (int)cfg->fsync_policy);
  if (cfg->fsync_policy == BECK_FSYNC_INTERVAL && cfg->fsync_interval_ms <= 0)
    return beck_error_set(e, BECK_ERR_INVAL, "flush.ms must be positive, got %lld", (long long)cfg->fsync_interval_ms);
  if (cfg->delete_retention_ms < 0)
    return beck_error_set(e, BECK_ERR_INVAL, "delete.retention.ms must not be negative");
  return BECK_ERR_OK;
}

/* ---- helpers shared by the files of core/log ---------------------------- */

size_t beck__plog_find_segment(beck_plog_t *log, int64_t offset) {
  size_t lo = 0, hi = log->nsegs; /* first segment with base > offset */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (log->segs[mid]->base <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == 0 ? 0 : lo - 1;
}

void beck__plog_fence(beck_plog_t *log, const char *fmt, ...) {
  if (log->fenced)
    return;
  va_list ap;
  va_start(ap, fmt);
  log->fence_why.code = BECK_ERR_FENCED;
  vsnprintf(log->fence_why.msg, sizeof log->fence_why.msg, fmt, ap);
  va_end(ap);
  log->fenced = true;
  beck_log(log->ctx, BECK_LOG_ERROR, "%s", log->fence_why.msg);
  pthread_cond_broadcast(&log->cv);
}

beck_err_t beck__plog_fenced_error(beck_plog_t *log, beck_error_t *e) {
  if (e)
    *e = log->fence_why;
  return BECK_ERR_FENCED;
}

void beck__plog_wait_idle(beck_plog_t *log, bool compaction_too) {
  while (log->syncing || log->ckpt_writing || (compaction_too && log->compacting))
    pthread_cond_wait(&log->cv, &log->mu);
}

beck_err_t beck__plog_sync_dir_locked(beck_plog_t *log, beck_error_t *e) {
  int rc = log->env->sync_dir(log->env, log->dir);
  if (rc < 0) {
    beck__plog_fence(log, "partition dir %s: fsync of the directory failed: %s; the log is now read-only", log->dir,
                     strerror(-rc));
    return beck__plog_fenced_error(log, e);
  }
  return BECK_ERR_OK;
}

beck_err_t beck__plog_unmark_clean_locked(beck_plog_t *log, beck_error_t *e) {
  if (!log->clean_marker)
    return BECK_ERR_OK;
  if (log->fenced)
    return beck__plog_fenced_error(log, e);
  beck_error_t me;
  if (beck__clean_marker_remove(log->env, log->dir, &me)) {
    beck__plog_fence(log, "partition dir %s: %s; the log is now read-only", log->dir, me.msg);
    return beck__plog_fenced_error(log, e);
  }
  log->clean_marker = false;
  return BECK_ERR_OK;
}

static beck_err_t push_seg(beck_segment_t ***arr, size_t *n, size_t *cap, beck_segment_t *seg) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    beck_segment_t **p = beck_realloc(*arr, nc * sizeof *p);
    if (p == NULL)
      return BECK_ERR_NOMEM;
    *arr = p;
    *cap = nc;
  }
  (*arr)[(*n)++] = seg;
  return BECK_ERR_OK;
}

beck_err_t beck__plog_insert_segment_locked(beck_plog_t *log, beck_segment_t *seg, beck_error_t *e) {
  if (push_seg(&log->segs, &log->nsegs, &log->cap_segs, seg))
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory adding a segment");
  size_t i = log->nsegs - 1;
  while (i > 0 && log->segs[i - 1]->base > seg->base) {
    log->segs[i] = log->segs[i - 1];
    i--;
  }
  log->segs[i] = seg;
  return BECK_ERR_OK;
}

void beck__plog_drop_segment_locked(beck_plog_t *log, size_t i, bool unlink_files) {
  beck_segment_t *seg = log->segs[i];
  memmove(&log->segs[i], &log->segs[i + 1], (log->nsegs - i - 1) * sizeof *log->segs);
  log->nsegs--;
  seg->removed = true;
  if (unlink_files)
    beck__segment_unlink_all(log->env, seg);
  for (size_t k = 0; k < log->n_unsynced; k++) {
    if (log->unsynced[k] == seg) {
      log->unsynced[k] = log->unsynced[--log->n_unsynced];
      beck__segment_unref(log->env, seg);
      break;
    }
  }
  beck__segment_unref(log->env, seg);
}

beck_err_t beck__plog_roll_locked(beck_plog_t *log, beck_error_t *e) {
  beck_segment_t *old = beck__plog_active(log);
  if (old->size == 0)
    return BECK_ERR_OK;
  if (log->fenced)
    return beck__plog_fenced_error(log, e);
  beck_err_t err = beck__plog_unmark_clean_locked(log, e);
  if (err)
    return err;
  beck_segment_t *seg;
  err = beck__segment_create(log->env, log->dir, log->end_offset, beck__plog_max_entries(&log->cfg), &seg, e);
  if (err)
    return beck_error_wrap(e, "partition dir %s: rolling a new segment", log->dir);
  if (push_seg(&log->segs, &log->nsegs, &log->cap_segs, seg) ||
      (log->durable_offset < log->end_offset &&
       push_seg(&log->unsynced, &log->n_unsynced, &log->cap_unsynced, old) != BECK_ERR_OK)) {
    if (log->segs[log->nsegs - 1] == seg)
      log->nsegs--;
    beck__segment_unlink_all(log->env, seg);
    beck__segment_unref(log->env, seg);
    return beck_error_set(e, BECK_ERR_NOMEM, "partition dir %s: out of memory rolling a segment", log->dir);
  }
  if (log->durable_offset < log->end_offset)
    beck__segment_ref(old); /* the unsynced list's reference */
  old->sealed = true;
  beck_error_t ie;
  if (beck__segment_write_index(log->env, old, &ie))
    beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: %s (it will be rebuilt on open)", log->dir, ie.msg);
  log->ckpt_force = true;
  return beck__plog_sync_dir_locked(log, e);
}

/* ---- group commit ------------------------------------------------------- */

beck_err_t beck__plog_write_ckpt_locked(beck_plog_t *log, beck_error_t *e) {
  while (log->ckpt_writing)
    pthread_cond_wait(&log->cv, &log->mu);
  if (log->fenced)
    return beck__plog_fenced_error(log, e);
  beck_ckpt_t c = {log->durable_offset, log->durable_seg, log->durable_pos};
  if (log->durable_offset == log->end_offset) { /* name the active segment: sealed ones may be deleted or compacted */
    c.segment = beck__plog_active(log)->base;
    c.position = beck__plog_active(log)->size;
  }
  if (log->ckpt_valid && !log->ckpt_force && memcmp(&c, &log->ckpt, sizeof c) == 0)
    return BECK_ERR_OK;
  beck_err_t err = beck__ckpt_write(log->env, log->dir, &c, e);
  if (err)
    return beck_error_wrap(e, "partition dir %s", log->dir);
  log->ckpt = c;
  log->ckpt_valid = true;
  log->ckpt_force = false;
  log->ckpt_written_ns = log->env->monotonic_ns(log->env);
  return BECK_ERR_OK;
}

/* True when a recovery-point write is due: the interval passed (or it is
 * forced or missing), nobody is writing one, and the durable position it
 * would record (*c) differs from the one on disk. */
static bool ckpt_due_locked(beck_plog_t *log, int64_t now_ns, beck_ckpt_t *c) {
  *c = (beck_ckpt_t){log->durable_offset, log->durable_seg, log->durable_pos};
  if (log->ckpt_writing || log->fenced)
    return false;
  if (log->ckpt_force || !log->ckpt_valid)
    return true;
  return now_ns - log->ckpt_written_ns >= BECK_PLOG_CKPT_INTERVAL_NS && memcmp(c, &log->ckpt, sizeof *c) != 0;
}

/* Writes the recovery point for the durable offset when it is due (mu held;
 * released while writing). A failure only makes the next recovery longer. */
static void ckpt_if_due_locked(beck_plog_t *log) {
  static beck_log_limit_t ckpt_warn_limit;
  beck_env_t *env = log->env;
  int64_t now_ns = env->monotonic_ns(env);
  beck_ckpt_t c;
  if (!ckpt_due_locked(log, now_ns, &c))
    return;
  log->ckpt_writing = true;
  log->ckpt_force = false;
  pthread_mutex_unlock(&log->mu);
  beck_error_t ce;
  beck_err_t cerr = beck__ckpt_write(env, log->dir, &c, &ce);
  pthread_mutex_lock(&log->mu);
  log->ckpt_writing = false;
  if (cerr == BECK_ERR_OK) {
    log->ckpt = c;
    log->ckpt_valid = true;
    log->ckpt_written_ns = now_ns;
  } else {
    log->ckpt_force = true; /* data is synced; only recovery gets longer. Retry next time. */
    beck_log_limited(&ckpt_warn_limit, 1, 60000, log->ctx, BECK_LOG_WARN, "partition dir %s: %s", log->dir, ce.msg);
  }
  pthread_cond_broadcast(&log->cv);
}

static beck_err_t sync_locked(beck_plog_t *log, int64_t target, bool ckpt, beck_error_t *e) {
  beck_env_t *env = log->env;
  for (;;) {
    if (log->durable_offset >= target)
      return BECK_ERR_OK; /* already on stable storage, fenced or not */
    if (log->fenced)
      return beck__plog_fenced_error(log, e);
    if (log->syncing) {
      pthread_cond_wait(&log->cv, &log->mu);
      continue;
    }
    /* Leader: capture what this fsync round covers. */
    log->syncing = true;
    int64_t sync_end = log->end_offset;
    beck_segment_t *act = beck__plog_active(log);
    int64_t act_pos = act->size;
    beck__segment_ref(act);
    beck_segment_t **batch = log->unsynced;
    size_t nbatch = log->n_unsynced, capb = log->cap_unsynced;
    log->unsynced = log->sync_batch;
    log->n_unsynced = 0;
    log->cap_unsynced = log->cap_sync_batch;
    log->sync_batch = NULL;
    log->cap_sync_batch = 0;
    int64_t started_ms = env->now_ms(env);
    pthread_mutex_unlock(&log->mu);

    int rc = 0;
    beck_segment_t *failed = NULL;
    for (size_t i = 0; i < nbatch && rc == 0; i++)
      if ((rc = env->fdatasync(env, batch[i]->fd)) < 0)
        failed = batch[i];
    if (rc == 0 && (rc = env->fdatasync(env, act->fd)) < 0)
      failed = act;

    pthread_mutex_lock(&log->mu);
    assert(log->syncing && sync_end <= log->end_offset); /* truncation waits for the syncer */
    log->syncing = false;
    if (rc < 0) {
      beck__plog_fence(log, "partition dir %s: fsync of segment %s.log failed: %s; the log is now read-only",
                       log->dir, beck__segment_name(failed), strerror(-rc));
    } else if (sync_end > log->durable_offset) {
      log->durable_offset = sync_end;
      log->durable_seg = act->base;
      log->durable_pos = act_pos;
      log->dirty_since_ms = log->durable_offset >= log->end_offset ? -1 : started_ms;
    }
    for (size_t i = 0; i < nbatch; i++)
      beck__segment_unref(env, batch[i]);
    beck__segment_unref(env, act);
    log->sync_batch = batch; /* give the (now empty) array back for the next round */
    log->cap_sync_batch = capb;
    pthread_cond_broadcast(&log->cv);
    if (rc < 0)
      return beck__plog_fenced_error(log, e);

    if (ckpt)
      ckpt_if_due_locked(log);
  }
}

beck_err_t beck__plog_sync_locked(beck_plog_t *log, int64_t target, beck_error_t *e) {
  return sync_locked(log, target, true, e);
}

/* ---- public API ----------------------------------------------------------- */

static void free_log(beck_plog_t *log) {
  for (size_t i = 0; i < log->nsegs; i++) {
    log->segs[i]->removed = true;
    beck__segment_unref(log->env, log->segs[i]);
  }
  for (size_t i = 0; i < log->n_unsynced; i++)
    beck__segment_unref(log->env, log->unsynced[i]);
  beck_free(log->segs);
  beck_free(log->unsynced);
  beck_free(log->sync_batch);
  beck_buf_free(&log->win);
  pthread_mutex_destroy(&log->mu);
  pthread_cond_destroy(&log->cv);
  beck_free(log->dir);
  beck_free(log);
}

beck_err_t beck_plog_open(const char *dir, const beck_plog_config_t *cfg, beck_env_t *env, beck_plog_t **out,
                          beck_error_t *e) {
  *out = NULL;
  beck_err_t err = check_config(cfg, e);
  if (err)
    return beck_error_wrap(e, "partition dir %s", dir);
  beck_plog_t *log = beck_calloc(1, sizeof *log);
  if (log == NULL || (log->dir = beck_strdup(dir)) == NULL) {
    beck_free(log);
    return beck_error_set(e, BECK_ERR_NOMEM, "partition dir %s: out of memory", dir);
  }
  size_t n = strlen(log->dir);
  while (n > 1 && log->dir[n - 1] == '/')
    log->dir[--n] = '\0';
  const char *slash = strrchr(log->dir, '/');
  snprintf(log->ctx, sizeof log->ctx, "log:%s", slash && slash[1] ? slash + 1 : log->dir);
  log->env = env ? env : beck_env_default();
  log->cfg = *cfg;
  log->dirty_since_ms = -1;
  pthread_mutex_init(&log->mu, NULL);
  pthread_cond_init(&log->cv, NULL);
  err = beck__plog_recover(log, e);
  if (err) {
    free_log(log);
    return err;
  }
  *out = log;
  return BECK_ERR_OK;
}

void beck_plog_close(beck_plog_t *log) {
  if (log == NULL)
    return;
  pthread_mutex_lock(&log->mu);
  beck__plog_wait_idle(log, true);
  beck_error_t e;
  if (log->clean_marker) {
    /* Opened clean and never changed: the files on disk already say so,
     * except index files that the open found damaged and rebuilt. */
    for (size_t i = 0; i < log->nsegs; i++)
      if (log->segs[i]->ix.dirty && beck__segment_write_index(log->env, log->segs[i], &e))
        beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: %s", log->dir, e.msg);
  } else if (!log->fenced && beck__plog_sync_locked(log, log->end_offset, &e) == BECK_ERR_OK) {
    /* Synced: the index files and the recovery point now describe everything. */
    bool ok = true;
    for (size_t i = 0; i < log->nsegs; i++) {
      beck_segment_t *seg = log->segs[i];
      if ((seg->ix.dirty || i == log->nsegs - 1) && beck__segment_write_index(log->env, seg, &e)) {
        beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: %s", log->dir, e.msg);
        ok = false;
      }
    }
    if (beck__plog_write_ckpt_locked(log, &e) || beck__clean_marker_write(log->env, log->dir, &e)) {
      beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: %s; the next open will run recovery", log->dir, e.msg);
      ok = false;
    }
    if (!ok)
      beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: closed with warnings", log->dir);
  } else if (log->fenced) {
    beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: closing a fenced log; the next open will run recovery",
             log->dir);
  }
  pthread_mutex_unlock(&log->mu);
  free_log(log);
}

void beck_plog_set_config(beck_plog_t *log, const beck_plog_config_t *cfg) {
  beck_error_t e;
  if (check_config(cfg, &e)) {
    beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: configuration refused: %s", log->dir, e.msg);
    return;
  }
  pthread_mutex_lock(&log->mu);
  log->cfg = *cfg;
  beck__plog_active(log)->ix.max_entries = beck__plog_max_entries(cfg);
  pthread_mutex_unlock(&log->mu);
}

/* Validates every batch of a produce request; returns the batch count and
 * the number of offsets they take. Touches nothing. */
static beck_err_t validate_batches(const uint8_t *p, size_t len, int32_t max_batch, int32_t *nbatches,
                                   int64_t *noffsets, beck_error_t *e) {
  size_t at = 0;
  int32_t n = 0;
  int64_t offs = 0;
  if (len == 0)
    return beck_error_set(e, BECK_ERR_INVAL, "no batches to append");
  while (at < len) {
    beck_batch_header_t h;
    if (len - at < BECK_BATCH_HEADER_SIZE)
      return beck_error_set(e, BECK_ERR_CORRUPT, "batch %d at byte %zu: only %zu bytes left, less than a header", n,
                            at, len - at);
    beck_batch_header_decode(p + at, len - at, &h);
    beck_err_t err = beck_batch_header_check(&h, max_batch, e);
    if (err)
      return beck_error_wrap(e, "batch %d at byte %zu", n, at);
    int64_t total = beck_batch_total_size(&h);
    if ((uint64_t)total > len - at)
      return beck_error_set(e, BECK_ERR_CORRUPT, "batch %d at byte %zu: %lld bytes long but only %zu bytes given", n,
                            at, (long long)total, len - at);
    if ((err = beck_batch_validate(p + at, (size_t)total, true, &h, e)))
      return beck_error_wrap(e, "batch %d at byte %zu", n, at);
    offs += (int64_t)h.last_offset_delta + 1;
    at += (size_t)total;
    n++;
  }
  *nbatches = n;
  *noffsets = offs;
  return BECK_ERR_OK;
}

static void stamp_log_append_time(uint8_t *p, size_t len, int64_t now) {
  size_t at = 0;
  while (at < len) {
    size_t total = (size_t)beck_load_be32(p + at + BECK_BATCH_OFF_LENGTH) + BECK_BATCH_LOG_OVERHEAD;
    uint16_t attr = beck_load_be16(p + at + BECK_BATCH_OFF_ATTRIBUTES);
    beck_store_be16(p + at + BECK_BATCH_OFF_ATTRIBUTES, (uint16_t)(attr | BECK_BATCH_ATTR_LOG_APPEND_TIME));
    beck_store_be64(p + at + BECK_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)now);
    beck_batch_update_crc(p + at, total);
    at += total;
  }
}

beck_err_t beck_plog_append(beck_plog_t *log, uint8_t *batches, size_t len, beck_plog_append_info_t *info,
                            beck_error_t *e) {
  beck_env_t *env = log->env;
  pthread_mutex_lock(&log->mu);
  int32_t max_batch = log->cfg.max_batch_bytes;
  bool lat = log->cfg.log_append_time;
  bool fenced = log->fenced;
  pthread_mutex_unlock(&log->mu);
  if (fenced) {
    pthread_mutex_lock(&log->mu);
    beck_err_t ferr = beck__plog_fenced_error(log, e);
    pthread_mutex_unlock(&log->mu);
    return ferr;
  }
  int32_t nb = 0;
  int64_t noffs = 0;
  beck_err_t err = validate_batches(batches, len, max_batch, &nb, &noffs, e);
  if (err)
    return beck_error_wrap(e, "partition dir %s: append refused", log->dir);
  if (len > UINT32_MAX)
    return beck_error_set(e, BECK_ERR_TOOBIG, "partition dir %s: append of %zu bytes is too large", log->dir, len);
  int64_t now = env->now_ms(env);
  if (lat)
    stamp_log_append_time(batches, len, now);

  pthread_mutex_lock(&log->mu);
  if (log->fenced) {
    err = beck__plog_fenced_error(log, e);
    pthread_mutex_unlock(&log->mu);
    return err;
  }
  if ((err = beck__plog_unmark_clean_locked(log, e))) {
    pthread_mutex_unlock(&log->mu);
    return err;
  }
  const beck_plog_config_t *cfg = &log->cfg;
  beck_segment_t *act = beck__plog_active(log);
  int64_t seg_bytes = cfg->segment_bytes < (int64_t)UINT32_MAX ? cfg->segment_bytes : (int64_t)UINT32_MAX;
  bool rolled = false;
  if (act->size > 0 &&
      (act->size + (int64_t)len > seg_bytes ||
       (act->roll_base_ms >= 0 && now - act->roll_base_ms >= cfg->segment_ms) ||
       log->end_offset + noffs - 1 - act->base > (int64_t)UINT32_MAX || beck__index_full(&act->ix))) {
    if ((err = beck__plog_roll_locked(log, e))) {
      pthread_mutex_unlock(&log->mu);
      return err;
    }
    act = beck__plog_active(log);
    rolled = true;
  }
  int64_t base = log->end_offset, cursor = base;
  for (size_t at = 0; at < len;) {
    beck_batch_set_base_offset(batches + at, cursor);
    cursor += (int64_t)beck_load_be32(batches + at + BECK_BATCH_OFF_LAST_OFFSET_DELTA) + 1;
    at += (size_t)beck_load_be32(batches + at + BECK_BATCH_OFF_LENGTH) + BECK_BATCH_LOG_OVERHEAD;
  }
  if ((err = beck__segment_append(env, act, batches, len, cfg->index_interval_bytes, e))) {
    if (err == BECK_ERR_NOSPACE) { /* cut back: nothing stored, the log stays writable */
      err = beck_error_wrap(e, "partition dir %s: append refused, nothing stored", log->dir);
      pthread_mutex_unlock(&log->mu);
      return err;
    }
    beck__plog_fence(log, "partition dir %s: %s; the log is now read-only", log->dir, e->msg);
    err = beck__plog_fenced_error(log, e);
    pthread_mutex_unlock(&log->mu);
    return err;
  }
  if (log->durable_offset >= log->end_offset && log->dirty_since_ms < 0)
    log->dirty_since_ms = now;
  log->end_offset = cursor;
  assert(act->next_offset == log->end_offset);
  if (act->roll_base_ms < 0)
    act->roll_base_ms = now;
  beck_fsync_policy_t policy = cfg->fsync_policy;
  if (info) {
    info->base_offset = base;
    info->last_offset = cursor - 1;
    info->log_append_time = lat ? now : -1;
    info->batches = nb;
  }
  if (rolled && policy != BECK_FSYNC_ALWAYS) {
    beck_error_t se; /* "synced on roll": a failure fences, the append itself stands */
    beck__plog_sync_locked(log, log->end_offset, &se);
  }
  pthread_mutex_unlock(&log->mu);
  return BECK_ERR_OK;
}

beck_err_t beck_plog_sync(beck_plog_t *log, beck_error_t *e) {
  pthread_mutex_lock(&log->mu);
  beck_err_t err = log->fenced ? beck__plog_fenced_error(log, e) : beck__plog_sync_locked(log, log->end_offset, e);
  pthread_mutex_unlock(&log->mu);
  return err;
}

beck_err_t beck_plog_sync_data(beck_plog_t *log, beck_error_t *e) {
  pthread_mutex_lock(&log->mu);
  beck_err_t err = log->fenced ? beck__plog_fenced_error(log, e) : sync_locked(log, log->end_offset, false, e);
  pthread_mutex_unlock(&log->mu);
  return err;
}

bool beck_plog_checkpoint_due(beck_plog_t *log) {
  pthread_mutex_lock(&log->mu);
  beck_ckpt_t c;
  bool due = ckpt_due_locked(log, log->env->monotonic_ns(log->env), &c);
  pthread_mutex_unlock(&log->mu);
  return due;
}

void beck_plog_checkpoint_if_due(beck_plog_t *log) {
  pthread_mutex_lock(&log->mu);
  ckpt_if_due_locked(log);
  pthread_mutex_unlock(&log->mu);
}

beck_err_t beck_plog_wait_durable(beck_plog_t *log, int64_t end_offset, beck_error_t *e) {
  pthread_mutex_lock(&log->mu);
  beck_err_t err = BECK_ERR_OK;
  if (log->cfg.fsync_policy == BECK_FSYNC_ALWAYS)
    err = beck__plog_sync_locked(log, end_offset < log->end_offset ? end_offset : log->end_offset, e);
  pthread_mutex_unlock(&log->mu);
  return err;
}

bool beck_plog_sync_due(beck_plog_t *log, int64_t now_ms) {
  pthread_mutex_lock(&log->mu);
  bool due = log->cfg.fsync_policy == BECK_FSYNC_INTERVAL && !log->fenced &&
             log->durable_offset < log->end_offset && log->dirty_since_ms >= 0 &&
             now_ms - log->dirty_since_ms >= log->cfg.fsync_interval_ms;
  pthread_mutex_unlock(&log->mu);
  return due;
}

beck_err_t beck_plog_checkpoint(beck_plog_t *log, beck_error_t *e) {
  pthread_mutex_lock(&log->mu);
  beck_err_t err = log->fenced ? beck__plog_fenced_error(log, e) : beck__plog_write_ckpt_locked(log, e);
  pthread_mutex_unlock(&log->mu);
  return err;
}

beck_err_t beck_plog_roll(beck_plog_t *log, beck_error_t *e) {
  pthread_mutex_lock(&log->mu);
  beck_err_t err = log->fenced ? beck__plog_fenced_error(log, e) : beck__plog_roll_locked(log, e);
  if (err == BECK_ERR_OK && log->cfg.fsync_policy != BECK_FSYNC_ALWAYS)
    err = beck__plog_sync_locked(log, log->end_offset, e);
  pthread_mutex_unlock(&log->mu);
  return err;
}

int64_t beck_plog_start_offset(beck_plog_t *log) {
  pthread_mutex_lock(&log->mu);
  int64_t v = log->start_offset;
  pthread_mutex_unlock(&log->mu);
  return v;
}

int64_t beck_plog_end_offset(beck_plog_t *log) {
  pthread_mutex_lock(&log->mu);
  int64_t v = log->end_offset;
  pthread_mutex_unlock(&log->mu);
  return v;
}

int64_t beck_plog_durable_offset(beck_plog_t *log) {
  pthread_mutex_lock(&log->mu);
  int64_t v = log->durable_offset;
  pthread_mutex_unlock(&log->mu);
  return v;
}

int64_t beck_plog_size_bytes(beck_plog_t *log) {
  pthread_mutex_lock(&log->mu);
  int64_t v = 0;
  for (size_t i = 0; i < log->nsegs; i++)
    v += log->segs[i]->size;
  pthread_mutex_unlock(&log->mu);
  return v;
}

int32_t beck_plog_segment_count(beck_plog_t *log) {
  pthread_mutex_lock(&log->mu);
  int32_t v = (int32_t)log->nsegs;
  pthread_mutex_unlock(&log->mu);
  return v;
}

bool beck_plog_fenced(beck_plog_t *log, beck_error_t *why) {
  pthread_mutex_lock(&log->mu);
  bool v = log->fenced;
  if (v && why)
    *why = log->fence_why;
  pthread_mutex_unlock(&log->mu);
  return v;
}
