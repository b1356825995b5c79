/*
 * truncate.c - cutting the end of the log (beck_plog_truncate), as a
 * replica does when its log diverged from the leader's.
 *
 * Removes every batch whose last offset >= the target: whole segments whose
 * base >= target are deleted (the first segment is emptied instead, so a
 * log always has one), and the segment holding the cut point is cut at that
 * batch boundary and becomes the active segment again. The new end offset
 * is the last remaining batch's last offset + 1, so it is <= the target and
 * equals what a reopen computes from the files.
 *
 * Order of effects, so that a crash at any point leaves either the old log
 * or a prefix of it with every file consistent (never an index or a
 * recovery point describing bytes that are gone):
 *   1. if the recovery point lies past the cut, rewrite it to name the cut
 *      point (everything below it was already durable) - on failure nothing
 *      has changed and the call fails
 *   2. unlink the files of deleted segments and the index files of the cut
 *      segment; sync the directory
 *   3. ftruncate the cut segment; fdatasync it, so the cut batches cannot
 *      reappear after a power loss
 *   4. lower durable_offset to the new end if it was above
 * A failure in 2 or 3 fences the log. Waits for a running sync, checkpoint
 * write or compaction first (compaction decides what to drop from the
 * latest value per key, which a truncate could remove).
 */
#include "log/plog.h"

#include <string.h>

#include "log/plog_int.h"

beck_err_t beck_plog_truncate(beck_plog_t *log, int64_t offset, beck_error_t *e) {
  beck_env_t *env = log->env;
  pthread_mutex_lock(&log->mu);
  beck__plog_wait_idle(log, true);
  int32_t interval = log->cfg.index_interval_bytes;
  beck_err_t err = BECK_ERR_OK;
  if (log->fenced) {
    err = beck__plog_fenced_error(log, e);
    goto out;
  }
  if (offset >= log->end_offset)
    goto out;
  if (offset < log->start_offset) {
    err = beck_error_set(e, BECK_ERR_RANGE, "partition dir %s: cannot truncate to %lld, below the log start offset %lld",
                         log->dir, (long long)offset, (long long)log->start_offset);
    goto out;
  }
  if ((err = beck__plog_unmark_clean_locked(log, e)))
    goto out;
  size_t keep = log->nsegs; /* segments [0, keep) stay; segs[keep - 1] is cut and becomes active */
  while (keep > 1 && log->segs[keep - 1]->base >= offset)
    keep--;
  beck_segment_t *act = log->segs[keep - 1];
  int64_t pos, new_end;
  beck_batch_header_t h;
  if ((err = beck__segment_locate(env, act, offset, interval, &log->win, NULL, &pos, &h, e)) ||
      (err = beck__segment_end_before(env, act, pos, &log->win, &new_end, e))) {
    beck_error_wrap(e, "partition dir %s: truncate to %lld", log->dir, (long long)offset);
    goto out;
  }
  if (log->ckpt_valid &&
      (log->ckpt.segment > act->base || (log->ckpt.segment == act->base && log->ckpt.position > pos))) {
    beck_ckpt_t c = {log->ckpt.offset < new_end ? log->ckpt.offset : new_end, act->base, pos};
    if ((err = beck__ckpt_write(env, log->dir, &c, e))) {
      beck_error_wrap(e, "partition dir %s: truncate to %lld", log->dir, (long long)offset);
      goto out;
    }
    log->ckpt = c;
  }
  bool cut = pos < act->size;
  while (log->nsegs > keep)
    beck__plog_drop_segment_locked(log, log->nsegs - 1, true);
  if (cut)
    beck__segment_unlink_index(env, act);
  if ((err = beck__plog_sync_dir_locked(log, e)))
    goto out;
  if (cut) {
    int rc = 0;
    if ((err = beck__segment_cut(env, act, pos, interval, e)) || (rc = env->fdatasync(env, act->fd)) < 0) {
      beck__plog_fence(log, "partition dir %s: truncate of segment %s.log to position %lld failed: %s; the log is now "
                       "read-only", log->dir, beck__segment_name(act), (long long)pos,
                       rc < 0 ? strerror(-rc) : e->msg);
      err = beck__plog_fenced_error(log, e);
      goto out;
    }
  }
  act->sealed = false;
  act->ix.max_entries = beck__plog_max_entries(&log->cfg);
  if (act->size == 0)
    act->roll_base_ms = -1;
  log->end_offset = act->next_offset;
  if (log->durable_offset >= log->end_offset) {
    log->durable_offset = log->end_offset;
    log->durable_seg = act->base;
    log->durable_pos = act->size;
    log->dirty_since_ms = -1;
  }
out:
  pthread_mutex_unlock(&log->mu);
  return err;
}
