/*
 * plog_int.h - the partition log object, shared by the files of core/log
 * (plog.c, read.c, truncate.c, retention.c, recover.c, compact.c). Not for
 * other modules: they use plog.h.
 *
 * Locking: `mu` guards every field below and the segments' non-atomic
 * fields. Work that may block for long runs with `mu` released, flagged so
 * that conflicting operations wait on `cv`:
 *   syncing       a syncer is in fdatasync (group commit leader)
 *   ckpt_writing  someone is writing the recovery-point file
 *   compacting    beck_plog_compact() is rewriting segments
 * Segments handed outside the lock (slices, syncer, compactor, readers) are
 * pinned by a reference.
 *
 * Invariants (with mu held and no syncer / checkpoint writer mid-update):
 *   - nsegs >= 1; segs sorted by base; segs[nsegs - 1] is the active segment,
 *     the only one not sealed; a segment's offsets are below the next one's base.
 *   - start_offset <= end_offset == active->next_offset.
 *   - durable_offset <= end_offset; [start, durable) is on stable storage
 *     and ends at (durable_seg, durable_pos).
 *   - ckpt (when ckpt_valid) is the content of the recovery-point file and
 *     ckpt.offset <= durable_offset.
 *   - unsynced holds every sealed segment that may have bytes below
 *     end_offset but above durable_offset (one reference each).
 *   - once fenced, nothing is written to the directory again by this object.
 */
#ifndef BECK_LOG_PLOG_INT_H
#define BECK_LOG_PLOG_INT_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/env.h"
#include "base/err.h"
#include "log/checkpoint.h"
#include "log/plog.h"
#include "log/segment.h"

/* The recovery point is rewritten after a successful sync at most this
 * often, and always after a roll, truncate, recovery and on close. */
#define BECK_PLOG_CKPT_INTERVAL_NS (1000LL * 1000 * 1000)

/* Decompressed records of one batch are capped at this size (compaction,
 * offset-for-time); a larger batch fails that operation with TOOBIG. */
#define BECK_PLOG_MAX_DECOMPRESSED ((size_t)256 << 20)

struct beck_plog {
  char *dir;
  char ctx[96]; /* beck_log context, "log:<dir>" */
  beck_env_t *env;
  beck_plog_config_t cfg;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* broadcast when syncing, ckpt_writing or compacting clears */

  beck_segment_t **segs;
  size_t nsegs, cap_segs;
  int64_t start_offset;
  int64_t end_offset;

  int64_t durable_offset;
  int64_t durable_seg, durable_pos;
  bool syncing;
  beck_segment_t **unsynced, **sync_batch; /* sync_batch: the leader's captured list */
  size_t n_unsynced, cap_unsynced, n_sync_batch, cap_sync_batch;
  int64_t dirty_since_ms; /* when the oldest not-yet-durable append was made, -1 none */

  beck_ckpt_t ckpt;
  bool ckpt_valid;
  bool ckpt_writing;
  bool ckpt_force;
  int64_t ckpt_written_ns;

  bool clean_marker; /* the clean-shutdown marker is on disk: opened clean, nothing changed since */
  bool fenced;
  beck_error_t fence_why;
  bool compacting;

  beck_buf_t win; /* scan window for lookups made under mu */
};

static inline beck_segment_t *beck__plog_active(beck_plog_t *log) {
  assert(log->nsegs > 0);
  return log->segs[log->nsegs - 1];
}

static inline size_t beck__plog_max_entries(const beck_plog_config_t *cfg) {
  return (size_t)cfg->segment_index_bytes / BECK_INDEX_ENTRY_SIZE;
}

/* Index of the last segment with base <= offset (0 when none). */
size_t beck__plog_find_segment(beck_plog_t *log, int64_t offset);

/* Fences the log (first reason wins) and logs it at ERROR. */
void beck__plog_fence(beck_plog_t *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies the fence reason into e; returns BECK_ERR_FENCED. */
beck_err_t beck__plog_fenced_error(beck_plog_t *log, beck_error_t *e);

/* Waits until no syncer, checkpoint writer (and, with compaction, no
 * compactor) is running. Releases mu while waiting. */
void beck__plog_wait_idle(beck_plog_t *log, bool compaction_too);

/* Rolls a new active segment at end_offset (no-op when the active one is
 * empty): writes the old one's index, creates the file, syncs the dir. */
beck_err_t beck__plog_roll_locked(beck_plog_t *log, beck_error_t *e);

/* Group commit: returns once durable_offset >= target (see plog.c). */
beck_err_t beck__plog_sync_locked(beck_plog_t *log, int64_t target, beck_error_t *e);

/* Writes the recovery point for the current durable offset, when it
 * differs from the one on disk. Waits for another writer first. */
beck_err_t beck__plog_write_ckpt_locked(beck_plog_t *log, beck_error_t *e);

/* Takes segs[i] out of the list (and the unsynced list), marks it removed,
 * optionally unlinks its files, and drops the list's reference. The caller
 * syncs the directory. */
void beck__plog_drop_segment_locked(beck_plog_t *log, size_t i, bool unlink_files);

/* Inserts a segment into the list at its sorted place (takes the caller's
 * reference). */
beck_err_t beck__plog_insert_segment_locked(beck_plog_t *log, beck_segment_t *seg, beck_error_t *e);

/* Before the first change after a clean open: removes the clean-shutdown
 * marker and syncs the directory (a failure fences). No-op otherwise. */
beck_err_t beck__plog_unmark_clean_locked(beck_plog_t *log, beck_error_t *e);

/* Syncs the partition directory; a failure fences. */
beck_err_t beck__plog_sync_dir_locked(beck_plog_t *log, beck_error_t *e);

/* Opens the directory: lists segments, reads the metadata files, recovers
 * (recover.c). Called once from beck_plog_open() before the log is shared. */
beck_err_t beck__plog_recover(beck_plog_t *log, beck_error_t *e);

#endif
