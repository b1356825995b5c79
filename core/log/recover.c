/*
 * recover.c - opening a partition directory: find the segments, read the
 * metadata files (checkpoint.h), validate and recover, before the log is
 * shared with other threads.
 *
 * Which bytes are checked how (verify_from, per segment):
 *
 *   state on open                                  below the recovery point    above it
 *   --------------------------------------------   -------------------------   ------------------
 *   clean-shutdown present, recovery point names   headers only (tail after    (nothing above)
 *   the last segment and its exact size            the last index entry)
 *   otherwise, recovery point present              headers only                CRC of every batch
 *   recovery-point file does not parse             headers only (all sealed    CRC of every batch
 *                                                  segments)                   of the last segment
 *   no recovery point (never synced)               -                           CRC of every batch
 *
 * "Headers only" still walks every batch after the last trusted index entry
 * (segment.c), so a torn or garbled structure is noticed; CRCs below the
 * recovery point are checked by beck_plog_verify().
 *
 * Above a recovery point everything was written by appends, so offsets must
 * be dense there: each batch starts where the previous one ended (this
 * checks BaseOffset, which the CRC does not cover) and each segment starts
 * where the previous one ended (a gap means the previous segment lost its
 * tail). Below it, compaction may have left gaps, so offsets need only grow.
 *
 * What is done with a bad batch (partial, bad header, bad CRC, offsets out
 * of order):
 *   - above the recovery point: it is the torn or unsynced tail of a crash.
 *     Cut there: unlink that segment's index files, sync the directory,
 *     ftruncate; delete every later segment (and this one too when it is
 *     bad from its first byte and not the first segment). Logged at WARN.
 *   - below it (or a segment file shorter than the recovery point, or the
 *     segment it names missing): synced data is damaged. Nothing is cut or
 *     deleted; the log opens fenced (read-only) with the valid prefix
 *     visible and later segments left on disk untouched, and the damage is
 *     logged at ERROR with the partition dir, segment and offset.
 * A directory with no segment files but a recovery point above 0 fails to
 * open (BECK_ERR_CORRUPT): every segment is gone.
 *
 * After an unclean open the segments from the recovery point on are
 * fdatasynced and a new recovery point written, so durable_offset starts at
 * the end of the log. Leftover "*.tmp" / "*.cleaned" files and index files
 * without a .log are removed. After an unclean open the clean-shutdown
 * marker (if one was there) is removed last, and the removal synced, unless
 * the log ends up fenced. After a clean open it stays: the log removes it
 * (and syncs the directory) before its first change, so opening thousands
 * of untouched partitions costs no directory sync each, and closing one that
 * never changed writes nothing.
 */
#include "log/plog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "log/plog_int.h"

typedef struct dir_listing {
  int64_t *bases; /* .log files */
  size_t n, cap;
  int64_t *idx_bases; /* .index / .timeindex files */
  size_t n_idx, cap_idx;
  char **junk; /* leftover temporary files */
  size_t n_junk, cap_junk;
  bool nomem;
} dir_listing_t;

static bool push_i64(int64_t **arr, size_t *n, size_t *cap, int64_t v) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    int64_t *p = beck_realloc(*arr, nc * sizeof *p);
    if (p == NULL)
      return false;
    *arr = p;
    *cap = nc;
  }
  (*arr)[(*n)++] = v;
  return true;
}

/* "<20 digits><ext>" -> base; false when the name has another shape. */
static bool parse_segment_name(const char *name, const char *ext, int64_t *base) {
  size_t n = strlen(name), el = strlen(ext);
  if (n != BECK_SEGMENT_NAME_DIGITS + el || strcmp(name + BECK_SEGMENT_NAME_DIGITS, ext) != 0)
    return false;
  int64_t v = 0;
  for (int i = 0; i < BECK_SEGMENT_NAME_DIGITS; i++) {
    if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - (name[i] - '0')) / 10)
      return false;
    v = v * 10 + (name[i] - '0');
  }
  *base = v;
  return true;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int list_cb(void *arg, const char *name) {
  dir_listing_t *l = arg;
  int64_t base;
  bool ok = true;
  if (parse_segment_name(name, ".log", &base))
    ok = push_i64(&l->bases, &l->n, &l->cap, base);
  else if (parse_segment_name(name, ".index", &base) || parse_segment_name(name, ".timeindex", &base))
    ok = push_i64(&l->idx_bases, &l->n_idx, &l->cap_idx, base);
  else if (ends_with(name, ".tmp") || ends_with(name, ".cleaned")) {
    if (l->n_junk == l->cap_junk) {
      size_t nc = l->cap_junk ? l->cap_junk * 2 : 8;
      char **p = beck_realloc(l->junk, nc * sizeof *p);
      if (p == NULL) {
        l->nomem = true;
        return 1;
      }
      l->junk = p;
      l->cap_junk = nc;
    }
    ok = (l->junk[l->n_junk] = beck_strdup(name)) != NULL;
    if (ok)
      l->n_junk++;
  }
  if (!ok)
    l->nomem = true;
  return ok ? 0 : 1;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void free_listing(dir_listing_t *l) {
  for (size_t i = 0; i < l->n_junk; i++)
    beck_free(l->junk[i]);
  beck_free(l->junk);
  beck_free(l->bases);
  beck_free(l->idx_bases);
}

/* Removes leftovers: temporary files and index files without a .log. */
static void remove_junk(beck_plog_t *log, dir_listing_t *l) {
  char path[4200];
  for (size_t i = 0; i < l->n_junk; i++) {
    snprintf(path, sizeof path, "%s/%s", log->dir, l->junk[i]);
    log->env->unlink(log->env, path);
  }
  for (size_t i = 0; i < l->n_idx; i++) {
    if (l->n > 0 && bsearch(&l->idx_bases[i], l->bases, l->n, sizeof *l->bases, cmp_i64))
      continue;
    beck__segment_file(path, sizeof path, log->dir, l->idx_bases[i], ".index");
    log->env->unlink(log->env, path);
    beck__segment_file(path, sizeof path, log->dir, l->idx_bases[i], ".timeindex");
    log->env->unlink(log->env, path);
  }
}

/* Sets the segment.ms clock of a reopened active segment from its first
 * batch's MaxTimestamp (Kafka's rule), or now when there is none / it lies
 * in the future. */
static void init_roll_clock(beck_plog_t *log, beck_segment_t *act) {
  act->roll_base_ms = -1;
  if (act->size == 0)
    return;
  int64_t now = log->env->now_ms(log->env);
  uint8_t b[BECK_BATCH_HEADER_SIZE];
  act->roll_base_ms = now;
  if (log->env->pread(log->env, act->fd, b, sizeof b, 0) == (ssize_t)sizeof b) {
    beck_batch_header_t h;
    beck_batch_header_decode(b, sizeof b, &h);
    if (h.max_timestamp >= 0 && h.max_timestamp <= now)
      act->roll_base_ms = h.max_timestamp;
  }
}

beck_err_t beck__plog_recover(beck_plog_t *log, beck_error_t *e) {
  beck_env_t *env = log->env;
  const char *dir = log->dir;
  size_t max_entries = beck__plog_max_entries(&log->cfg);
  int32_t interval = log->cfg.index_interval_bytes;
  int rc = beck_env_mkdirs(env, dir);
  if (rc < 0)
    return beck_error_set(e, beck_err_from_errno(-rc), "partition dir %s: cannot create it: %s", dir, strerror(-rc));

  dir_listing_t l = {0};
  rc = env->list_dir(env, dir, list_cb, &l);
  if (rc < 0 || l.nomem) {
    free_listing(&l);
    return beck_error_set(e, rc < 0 ? beck_err_from_errno(-rc) : BECK_ERR_NOMEM, "partition dir %s: listing failed: %s",
                          dir, rc < 0 ? strerror(-rc) : "out of memory");
  }
  if (l.n > 1)
    qsort(l.bases, l.n, sizeof *l.bases, cmp_i64);
  remove_junk(log, &l);

  beck_error_t me;
  bool have_start = false, have_ckpt = false;
  int64_t start = 0;
  beck_ckpt_t ckpt = {0, 0, 0};
  if (beck__start_offset_read(env, dir, &start, &have_start, &me))
    beck_log(log->ctx, BECK_LOG_WARN, "%s; using the first segment's base as the log start", me.msg);
  bool ckpt_damaged = false;
  if (beck__ckpt_read(env, dir, &ckpt, &have_ckpt, &me)) {
    beck_log(log->ctx, BECK_LOG_WARN, "%s; checking every segment, and treating damage in sealed segments as "
             "corruption of synced data", me.msg);
    ckpt_damaged = true;
  }
  bool clean = beck__clean_marker_exists(env, dir);
  if (!have_start)
    start = 0;

  beck_err_t err = BECK_ERR_OK;
  int64_t *sizes = NULL;
  bool fresh = false; /* a new, empty log: nothing to recover */
  if (l.n == 0) {
    if (have_ckpt && ckpt.offset > start) {
      free_listing(&l);
      return beck_error_set(e, BECK_ERR_CORRUPT, "partition dir %s: the recovery point says offsets below %lld are "
                            "durable, but there is no segment file", dir, (long long)ckpt.offset);
    }
    beck_segment_t *seg = NULL;
    if ((err = beck__segment_create(env, dir, start, max_entries, &seg, e)) ||
        (err = beck__plog_insert_segment_locked(log, seg, e))) {
      beck__segment_unref(env, seg);
      free_listing(&l);
      return beck_error_wrap(e, "partition dir %s", dir);
    }
    if ((rc = env->sync_dir(env, dir)) < 0) {
      free_listing(&l);
      return beck_error_set(e, beck_err_from_errno(-rc), "partition dir %s: fsync of the directory failed: %s", dir,
                            strerror(-rc));
    }
    sizes = beck_calloc(1, sizeof *sizes);
    fresh = true;
  } else {
    sizes = beck_calloc(l.n, sizeof *sizes);
    for (size_t i = 0; i < l.n && sizes; i++) {
      beck_segment_t *seg;
      if ((err = beck__segment_open(env, dir, l.bases[i], max_entries, &seg, &sizes[i], e)))
        break;
      if ((err = beck__plog_insert_segment_locked(log, seg, e))) {
        beck__segment_unref(env, seg);
        break;
      }
    }
  }
  free_listing(&l);
  if (sizes == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "partition dir %s: out of memory", dir);
  if (err) {
    beck_free(sizes);
    return beck_error_wrap(e, "partition dir %s", dir);
  }

  /* Decide how much to check: verify_from per segment, and what is already
   * known to be damaged below the recovery point. */
  size_t n = log->nsegs;
  size_t ckpt_idx = 0; /* segments before it are below the recovery point */
  int64_t ckpt_pos = 0;
  bool full = !have_ckpt, trust_all = fresh;
  char damage[2 * BECK_ERROR_MSG_MAX] = "";
  if (ckpt_damaged && !fresh) {
    /* Unknown recovery point: sealed segments were synced by an earlier roll or sync, so damage there is not a
     * torn tail; only the active segment may be cut. */
    ckpt_idx = n - 1;
    ckpt_pos = 0;
    full = false;
  } else if (have_ckpt && !fresh) {
    size_t k = 0;
    while (k < n && log->segs[k]->base != ckpt.segment)
      k++;
    if (k < n) {
      ckpt_idx = k;
      ckpt_pos = ckpt.position;
      if (sizes[k] < ckpt.position)
        snprintf(damage, sizeof damage, "segment %s.log is %lld bytes, shorter than the recovery point (position "
                 "%lld, offset %lld): synced data is missing", beck__segment_name(log->segs[k]), (long long)sizes[k],
                 (long long)ckpt.position, (long long)ckpt.offset);
      else if (clean && k == n - 1 && sizes[k] == ckpt.position)
        trust_all = true;
      else if (clean)
        beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: clean-shutdown marker present but the recovery point "
                 "does not match the files; running recovery", dir);
    } else if (ckpt.segment < log->segs[0]->base) {
      full = true; /* every remaining segment is above the recovery point */
    } else {
      while (k > 0 && log->segs[k - 1]->base > ckpt.segment)
        k--;
      ckpt_idx = k; /* the missing segment would sit before segs[k] */
      ckpt_pos = INT64_MAX;
      snprintf(damage, sizeof damage, "segment %020lld.log named by the recovery point (offset %lld) is missing",
               (long long)ckpt.segment, (long long)ckpt.offset);
    }
  }

  bool fenced = false, strict = have_ckpt;
  size_t keep = n;
  for (size_t i = 0; i < n; i++) {
    beck_segment_t *seg = log->segs[i];
    beck_seg_recover_t r = {.file_size = sizes[i], .interval = interval, .strict = strict};
    if (trust_all || damage[0] || (!full && i < ckpt_idx))
      r.verify_from = INT64_MAX;
    else if (!full && i == ckpt_idx)
      r.verify_from = ckpt_pos;
    else
      r.verify_from = 0;
    if (damage[0] && i >= ckpt_idx && ckpt_pos == INT64_MAX) {
      keep = i; /* segments after a missing one are not loaded */
      fenced = true;
      break;
    }
    if ((err = beck__segment_recover(env, seg, &r, e))) {
      beck_free(sizes);
      return beck_error_wrap(e, "partition dir %s", dir);
    }
    if (r.index_rebuilt)
      beck_log(log->ctx, BECK_LOG_INFO, "partition dir %s: segment %s: index rebuilt (%s)", dir,
               beck__segment_name(seg), r.index_why.msg);
    if (r.bad_pos != 0 && i > 0 && /* a torn tail does not excuse a bad start */
        (seg->base < log->segs[i - 1]->next_offset ||
         (strict && (full || i > ckpt_idx) && seg->base != log->segs[i - 1]->next_offset))) {
      /* Segments overlap (an empty one too: appends to it would reuse offsets the previous one holds); or, above
       * the recovery point, where segments were only ever rolled at the end of the previous one, there is a gap:
       * the previous segment lost its tail, so this one cannot follow it. */
      r.bad_pos = 0;
      r.bad_offset = log->segs[i - 1]->next_offset;
      beck_error_set(&r.why, BECK_ERR_CORRUPT, "segment base %lld does not follow the previous segment, which ends at "
                     "%lld", (long long)seg->base, (long long)log->segs[i - 1]->next_offset);
      seg->size = 0;
      seg->next_offset = seg->base;
      beck__index_reset(&seg->ix);
    }
    if (damage[0] && i == ckpt_idx) {
      keep = i + 1;
      fenced = true;
      break;
    }
    if (r.bad_pos < 0)
      continue;
    keep = i + 1;
    if (r.bad_pos < r.verify_from) {
      snprintf(damage, sizeof damage, "segment %s.log position %lld (offset %lld), below the recovery point: %s",
               beck__segment_name(seg), (long long)r.bad_pos, (long long)r.bad_offset, r.why.msg);
      fenced = true;
      break;
    }
    /* The unsynced tail of a crash: cut it and everything after it. A segment
     * bad from its first byte goes whole (unless it is the only one). */
    if (r.bad_pos == 0 && i > 0)
      keep = i;
    beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: segment %s.log: cutting the tail at position %lld (offset "
             "%lld): %s; %zu later segment(s) removed", dir, beck__segment_name(seg), (long long)r.bad_pos,
             (long long)r.bad_offset, r.why.msg, n - keep);
    while (log->nsegs > keep)
      beck__plog_drop_segment_locked(log, log->nsegs - 1, true);
    seg = log->segs[keep - 1];
    if (keep == i) {
      if ((rc = env->sync_dir(env, dir)) < 0) {
        snprintf(damage, sizeof damage, "fsync of the directory failed: %s", strerror(-rc));
        fenced = true;
      }
      break;
    }
    beck__segment_unlink_index(env, seg);
    if ((rc = env->sync_dir(env, dir)) < 0 || (rc = env->ftruncate(env, seg->fd, r.bad_pos)) < 0) {
      snprintf(damage, sizeof damage, "cutting segment %s.log at position %lld failed: %s", beck__segment_name(seg),
               (long long)r.bad_pos, strerror(-rc));
      fenced = true;
    }
    break;
  }
  beck_free(sizes);
  while (log->nsegs > keep) { /* fenced: leave the files, just do not load them */
    log->segs[log->nsegs - 1]->removed = true;
    beck__segment_unref(env, log->segs[--log->nsegs]);
  }
  if (log->nsegs == 0) { /* the first segment itself is missing: nothing to serve */
    return beck_error_set(e, BECK_ERR_CORRUPT, "partition dir %s: %s", dir, damage);
  }

  for (size_t i = 0; i + 1 < log->nsegs; i++)
    log->segs[i]->sealed = true;
  beck_segment_t *act = beck__plog_active(log);
  log->end_offset = act->next_offset;
  log->start_offset = start > log->segs[0]->base ? start : log->segs[0]->base;
  if (log->start_offset > log->end_offset && !fenced) {
    /* Everything left is below the log start (a cut tail held the rest):
     * start afresh at the start offset. */
    beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: log start offset %lld is past the recovered end %lld; "
             "starting an empty log there", dir, (long long)log->start_offset, (long long)log->end_offset);
    while (log->nsegs > 0)
      beck__plog_drop_segment_locked(log, log->nsegs - 1, true);
    beck_segment_t *seg;
    if ((err = beck__segment_create(env, dir, log->start_offset, max_entries, &seg, e)) ||
        (err = beck__plog_insert_segment_locked(log, seg, e)))
      return beck_error_wrap(e, "partition dir %s", dir);
    act = seg;
    log->end_offset = act->next_offset;
    if ((rc = env->sync_dir(env, dir)) < 0)
      return beck_error_set(e, beck_err_from_errno(-rc), "partition dir %s: fsync of the directory failed: %s", dir,
                            strerror(-rc));
  }
  if (log->start_offset > log->end_offset)
    log->start_offset = log->end_offset;
  init_roll_clock(log, act);
  log->ckpt = ckpt;
  log->ckpt_valid = have_ckpt;

  if (fenced) {
    beck__plog_fence(log, "partition dir %s: %s; the log is now read-only", dir, damage);
    log->durable_offset = have_ckpt && ckpt.offset < log->end_offset ? ckpt.offset : log->end_offset;
    if (log->durable_offset < log->start_offset)
      log->durable_offset = log->start_offset;
    return BECK_ERR_OK;
  }

  /* Make what recovery kept durable (page cache contents after a process
   * crash are not yet on disk), then record it. */
  if (!trust_all) {
    for (size_t i = full ? 0 : ckpt_idx; i < log->nsegs; i++) {
      if ((rc = env->fdatasync(env, log->segs[i]->fd)) < 0) {
        beck__plog_fence(log, "partition dir %s: fsync of segment %s.log failed: %s; the log is now read-only", dir,
                         beck__segment_name(log->segs[i]), strerror(-rc));
        log->durable_offset = have_ckpt && ckpt.offset < log->end_offset ? ckpt.offset : log->start_offset;
        return BECK_ERR_OK;
      }
    }
  }
  log->durable_offset = log->end_offset;
  log->durable_seg = act->base;
  log->durable_pos = act->size;
  beck_error_t we;
  for (size_t i = 0; i + 1 < log->nsegs; i++)
    if (log->segs[i]->ix.dirty && beck__segment_write_index(env, log->segs[i], &we))
      beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: %s", dir, we.msg);
  if (beck__plog_write_ckpt_locked(log, &we))
    beck_log(log->ctx, BECK_LOG_WARN, "%s", we.msg);
  if (trust_all && clean) {
    log->clean_marker = true; /* removed before the first change (beck__plog_unmark_clean_locked) */
    return BECK_ERR_OK;
  }
  if (clean && beck__clean_marker_remove(env, dir, e)) {
    beck_log(log->ctx, BECK_LOG_ERROR, "partition dir %s: %s", dir, e->msg);
    return beck_error_wrap(e, "partition dir %s", dir);
  }
  return BECK_ERR_OK;
}
