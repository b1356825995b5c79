/*
 * compact.c - log compaction (cleanup.policy=compact): keep only the latest
 * record per key.
 *
 * 1. Snapshot, under the mutex: every segment (pinned) with its size, and
 *    the candidates - sealed segments that are wholly durable and lie below
 *    the segment named by the recovery point (so recovery never needs a
 *    byte position inside a rewritten file).
 * 2. Key map, outside the mutex: scan every snapshot segment including the
 *    active one (its first `size` bytes) in offset order; key -> latest
 *    offset (keymap.h). Control batches and null keys are not mapped.
 * 3. For each candidate, outside the mutex, write `<base>.log.cleaned`:
 *      record kept   <=> key is null
 *                        or (offset == latest for its key
 *                            and not (value is null and timestamp < now - delete.retention.ms))
 *      batch         all kept: copied byte for byte
 *                    none kept: dropped
 *                    some kept: rebuilt with the kept records at their
 *                    original offset deltas, same codec (via codec.h), same
 *                    BaseOffset, LastOffsetDelta, PartitionLeaderEpoch,
 *                    ProducerId/Epoch, BaseSequence, timestamp type and
 *                    transactional bit; CRC recomputed
 *      control batches are copied as they are
 *    then fdatasync it and build its index in memory.
 * 4. Swap, under the mutex, only if the segment is still in the log, sealed
 *    and unchanged: unlink its index files, sync the dir, rename the
 *    .cleaned file over the .log, sync the dir, put a new segment object in
 *    the list, write its index files. Readers holding slices of the old
 *    segment keep reading the old inode through their reference.
 * A crash at any step leaves the old or the new .log, both valid, with any
 * index mismatch impossible (the index files were unlinked first) and the
 * .cleaned leftover removed on open.
 *
 * Offsets are kept (gaps are fine); a segment left with no batch stays as an
 * empty file so the log start offset does not move. Truncation waits for a
 * compaction to finish (it could remove the latest value a compaction relied
 * on); a CRC failure found while compacting fences the log.
 */
#include "log/plog.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "log/keymap.h"
#include "log/plog_int.h"
#include "log/scan.h"
#include "record/batch.h"
#include "record/codec.h"

#define FLUSH_BYTES (1u << 20)

typedef struct snap_seg {
  beck_segment_t *seg;
  int64_t size;
  bool candidate;
} snap_seg_t;

/* Scratch reused across every batch of a compaction run. */
typedef struct compactor {
  beck_plog_t *log;
  beck_env_t *env;
  beck_keymap_t map;
  beck_buf_t win;     /* scan window */
  beck_buf_t dec;     /* decompressed records */
  beck_buf_t out;     /* output waiting to be written */
  beck_record_header_t *hdrs;
  size_t cap_hdrs;
  int64_t tombstone_horizon; /* tombstones with timestamp < this are dropped */
  int32_t interval;
  beck_plog_compact_stats_t *stats;
} compactor_t;

/* Records of one batch from a BODY scan (decompressed when needed). */
static beck_err_t batch_records(compactor_t *c, const beck_scan_t *s, beck_slice_t *recs, beck_error_t *e) {
  return beck_batch_records(s->batch, (size_t)s->batch_size, &s->hdr, BECK_PLOG_MAX_DECOMPRESSED, &c->dec, recs, e);
}

static beck_err_t build_map(compactor_t *c, const snap_seg_t *ss, beck_error_t *e) {
  beck_scan_t s;
  beck__scan_init(&s, c->env, ss->seg->fd, 0, ss->size, BECK_SCAN_BODY, &c->win);
  s.max_body = BECK_PLOG_MAX_DECOMPRESSED;
  int rc = 0;
  beck_err_t err = BECK_ERR_OK;
  while (!err && (rc = beck__scan_next(&s, e)) == 1) {
    if (s.hdr.attributes & BECK_BATCH_ATTR_CONTROL)
      continue;
    beck_slice_t recs;
    if ((err = batch_records(c, &s, &recs, e)))
      break;
    beck_record_iter_t it;
    beck_record_iter_init(&it, &s.hdr, recs.ptr, recs.len);
    beck_record_t r;
    int irc;
    while ((irc = beck_record_iter_next(&it, &r)) == 1)
      if (r.key.ptr != NULL && (err = beck__keymap_put(&c->map, r.key.ptr, (size_t)r.key.len, r.offset)))
        break;
    if (irc < 0)
      err = beck_error_set(e, BECK_ERR_CORRUPT, "malformed records in the batch at position %lld",
                           (long long)s.batch_pos);
    else if (err)
      beck_error_set(e, err, "out of memory building the key map");
  }
  if (!err && rc < 0)
    err = (beck_err_t)rc;
  beck__scan_free(&s);
  return err ? beck_error_wrap(e, "segment %s.log", beck__segment_name(ss->seg)) : BECK_ERR_OK;
}

static bool keep_record(compactor_t *c, const beck_record_t *r) {
  if (r->key.ptr == NULL)
    return true;
  if (beck__keymap_get(&c->map, r->key.ptr, (size_t)r->key.len) != r->offset)
    return false;
  return !(r->value.ptr == NULL && r->timestamp < c->tombstone_horizon);
}

/* Rebuilds a batch with only the kept records into b. */
static beck_err_t rebuild(compactor_t *c, const beck_batch_header_t *h, beck_slice_t recs,
                          beck_batch_builder_t *b, beck_error_t *e) {
  beck_batch_builder_init(b);
  b->attributes = (int16_t)(h->attributes & (BECK_BATCH_ATTR_LOG_APPEND_TIME | BECK_BATCH_ATTR_TRANSACTIONAL));
  beck_batch_builder_set_producer(b, h->producer_id, h->producer_epoch, h->base_sequence);
  beck_record_iter_t it;
  beck_record_iter_init(&it, h, recs.ptr, recs.len);
  beck_record_t r;
  int rc;
  while ((rc = beck_record_iter_next(&it, &r)) == 1) {
    if (!keep_record(c, &r))
      continue;
    size_t nh = 0;
    beck_slice_t cur = r.headers;
    beck_record_header_t hh;
    while (beck_record_header_next(&cur, &hh) == 1) {
      if (nh == c->cap_hdrs) {
        size_t nc = c->cap_hdrs ? c->cap_hdrs * 2 : 16;
        beck_record_header_t *p = beck_realloc(c->hdrs, nc * sizeof *p);
        if (p == NULL)
          return beck_error_set(e, BECK_ERR_NOMEM, "out of memory rebuilding a batch");
        c->hdrs = p;
        c->cap_hdrs = nc;
      }
      c->hdrs[nh++] = hh;
    }
    beck_err_t err = beck_batch_builder_add_at(b, (int32_t)(r.offset - h->base_offset), r.timestamp, r.key, r.value,
                                               c->hdrs, (int)nh);
    if (err)
      return beck_error_set(e, err, "rebuilding the batch at offset %lld failed", (long long)h->base_offset);
  }
  beck_codec_t codec = beck_batch_codec(h);
  beck_err_t err = codec == BECK_CODEC_NONE ? beck_batch_builder_finish(b)
                                            : beck_batch_builder_finish_compressed(b, codec, e);
  if (err) {
    if (codec == BECK_CODEC_NONE)
      beck_error_set(e, err, "rebuilding the batch at offset %lld failed", (long long)h->base_offset);
    return err;
  }
  uint8_t *p = b->buf.data;
  beck_batch_set_base_offset(p, h->base_offset);
  beck_batch_set_leader_epoch(p, h->leader_epoch);
  beck_store_be32(p + BECK_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)h->last_offset_delta);
  if (h->attributes & BECK_BATCH_ATTR_LOG_APPEND_TIME)
    beck_store_be64(p + BECK_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)h->max_timestamp);
  beck_batch_update_crc(p, b->buf.len);
  return BECK_ERR_OK;
}

/* Appends one output batch, indexing it, flushing the buffer when large. */
static beck_err_t emit(compactor_t *c, int fd, int64_t *written, beck_segment_t *ns, const uint8_t *p, size_t len,
                       beck_error_t *e) {
  beck_batch_header_t h;
  beck_batch_header_decode(p, len, &h);
  int64_t pos = *written + (int64_t)c->out.len;
  beck__index_feed(&ns->ix, (uint32_t)(h.base_offset - ns->base), (uint32_t)pos, (uint32_t)len, h.max_timestamp,
                   c->interval);
  ns->next_offset = beck_batch_last_offset(&h) + 1;
  if (beck_buf_append(&c->out, p, len))
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory writing a compacted segment");
  if (c->out.len >= FLUSH_BYTES) {
    ssize_t w = c->env->pwrite(c->env, fd, c->out.data, c->out.len, *written);
    if (w < 0)
      return beck_error_set(e, BECK_ERR_IO, "write failed: %s", strerror((int)-w));
    *written += (int64_t)c->out.len;
    c->out.len = 0;
  }
  return BECK_ERR_OK;
}

/* Writes the compacted copy of ss into `<base>.log.cleaned` and returns it
 * as a segment object (not in the log) in *out, or NULL when nothing would
 * be removed. */
static beck_err_t rewrite(compactor_t *c, const snap_seg_t *ss, beck_segment_t **out, int *out_fd, beck_error_t *e) {
  beck_segment_t *old = ss->seg;
  *out = NULL;
  *out_fd = -1;
  char path[4200];
  beck__segment_path(old, ".log.cleaned", path, sizeof path);
  int fd = c->env->open(c->env, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return beck_error_set(e, beck_err_from_errno(-fd), "creating %s failed: %s", path, strerror(-fd));
  beck_segment_t *ns = beck_calloc(1, sizeof *ns);
  if (ns == NULL || (ns->stem = beck_strdup(old->stem)) == NULL) {
    beck_free(ns);
    c->env->close(c->env, fd);
    c->env->unlink(c->env, path);
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory compacting");
  }
  ns->base = old->base;
  ns->next_offset = old->base;
  ns->roll_base_ms = -1;
  ns->fd = -1;
  ns->sealed = true;
  atomic_init(&ns->refs, 1);
  beck__index_init(&ns->ix, old->ix.max_entries);

  int64_t written = 0, removed = 0;
  c->out.len = 0;
  beck_scan_t s;
  beck__scan_init(&s, c->env, old->fd, 0, ss->size, BECK_SCAN_BODY, &c->win);
  s.max_body = BECK_PLOG_MAX_DECOMPRESSED;
  int rc = 0;
  beck_err_t err = BECK_ERR_OK;
  while (!err && (rc = beck__scan_next(&s, e)) == 1) {
    beck_batch_header_t h = s.hdr;
    if (h.attributes & BECK_BATCH_ATTR_CONTROL) {
      err = emit(c, fd, &written, ns, s.batch, (size_t)s.batch_size, e);
      continue;
    }
    beck_slice_t recs;
    if ((err = batch_records(c, &s, &recs, e)))
      break;
    int64_t n = 0, kept = 0, tomb = 0;
    beck_record_iter_t it;
    beck_record_iter_init(&it, &h, recs.ptr, recs.len);
    beck_record_t r;
    int irc;
    while ((irc = beck_record_iter_next(&it, &r)) == 1) {
      n++;
      if (keep_record(c, &r))
        kept++;
      else if (r.value.ptr == NULL)
        tomb++;
    }
    if (irc < 0) {
      err = beck_error_set(e, BECK_ERR_CORRUPT, "malformed records in the batch at position %lld",
                           (long long)s.batch_pos);
      break;
    }
    c->stats->records_read += n;
    c->stats->records_kept += kept;
    c->stats->tombstones_removed += tomb;
    removed += n - kept;
    if (kept == n) {
      err = emit(c, fd, &written, ns, s.batch, (size_t)s.batch_size, e);
    } else if (kept > 0) {
      beck_batch_builder_t b;
      err = rebuild(c, &h, recs, &b, e);
      if (!err)
        err = emit(c, fd, &written, ns, b.buf.data, b.buf.len, e);
      beck_batch_builder_free(&b);
    }
  }
  if (!err && rc < 0)
    err = (beck_err_t)rc;
  beck__scan_free(&s);
  if (!err && c->out.len > 0) {
    ssize_t w = c->env->pwrite(c->env, fd, c->out.data, c->out.len, written);
    if (w < 0)
      err = beck_error_set(e, BECK_ERR_IO, "writing %s failed: %s", path, strerror((int)-w));
    written += (int64_t)c->out.len;
    c->out.len = 0;
  }
  if (!err && removed > 0) {
    int src = c->env->fdatasync(c->env, fd);
    if (src < 0)
      err = beck_error_set(e, BECK_ERR_IO, "fsync of %s failed: %s", path, strerror(-src));
  }
  if (err || removed == 0) {
    c->env->close(c->env, fd);
    c->env->unlink(c->env, path);
    beck__segment_unref(c->env, ns);
    c->stats->bytes_after += ss->size;
    return err;
  }
  ns->size = written;
  c->stats->bytes_after += written;
  *out = ns;
  *out_fd = fd;
  return BECK_ERR_OK;
}

/* Puts the compacted segment in place of the old one (mu held). */
static beck_err_t swap_in(beck_plog_t *log, const snap_seg_t *ss, beck_segment_t *ns, int fd, beck_error_t *e) {
  beck_env_t *env = log->env;
  beck_segment_t *old = ss->seg;
  char from[4200], to[4200];
  beck__segment_path(old, ".log.cleaned", from, sizeof from);
  beck__segment_path(old, ".log", to, sizeof to);
  size_t i = 0;
  while (i < log->nsegs && log->segs[i] != old)
    i++;
  if (i == log->nsegs || old->removed || !old->sealed || old->size != ss->size) {
    env->close(env, fd); /* changed meanwhile (retention, truncate): drop the work */
    env->unlink(env, from);
    beck__segment_unref(env, ns);
    return BECK_ERR_OK;
  }
  beck_err_t err = beck__plog_unmark_clean_locked(log, e);
  if (err) {
    env->close(env, fd);
    env->unlink(env, from);
    beck__segment_unref(env, ns);
    return err;
  }
  beck__segment_unlink_index(env, old);
  err = beck__plog_sync_dir_locked(log, e);
  int rc = err ? 0 : env->rename(env, from, to);
  if (err || rc < 0) {
    env->close(env, fd);
    env->unlink(env, from);
    beck__segment_unref(env, ns);
    return err ? err : beck_error_set(e, beck_err_from_errno(-rc), "renaming %s failed: %s", from, strerror(-rc));
  }
  ns->fd = fd;
  log->segs[i] = ns;
  old->removed = true;
  for (size_t k = 0; k < log->n_unsynced; k++) {
    if (log->unsynced[k] == old) {
      log->unsynced[k] = log->unsynced[--log->n_unsynced];
      beck__segment_unref(env, old);
      break;
    }
  }
  beck__segment_unref(env, old); /* the list's reference; slices keep theirs */
  if ((err = beck__plog_sync_dir_locked(log, e)))
    return err;
  beck_error_t we;
  if (beck__segment_write_index(env, ns, &we))
    beck_log(log->ctx, BECK_LOG_WARN, "partition dir %s: %s (it will be rebuilt on open)", log->dir, we.msg);
  return BECK_ERR_OK;
}

beck_err_t beck_plog_compact(beck_plog_t *log, int64_t now_ms, beck_plog_compact_stats_t *stats, beck_error_t *e) {
  beck_plog_compact_stats_t dummy;
  if (stats == NULL)
    stats = &dummy;
  memset(stats, 0, sizeof *stats);
  pthread_mutex_lock(&log->mu);
  while (log->compacting)
    pthread_cond_wait(&log->cv, &log->mu);
  beck_err_t err = BECK_ERR_OK;
  if (log->fenced) {
    err = beck__plog_fenced_error(log, e);
    pthread_mutex_unlock(&log->mu);
    return err;
  }
  if (!log->cfg.compact) {
    pthread_mutex_unlock(&log->mu);
    return beck_error_set(e, BECK_ERR_STATE, "partition dir %s: cleanup.policy does not include compact", log->dir);
  }
  size_t n = log->nsegs;
  snap_seg_t *snap = beck_calloc(n, sizeof *snap);
  if (snap == NULL) {
    pthread_mutex_unlock(&log->mu);
    return beck_error_set(e, BECK_ERR_NOMEM, "partition dir %s: out of memory", log->dir);
  }
  for (size_t i = 0; i < n; i++) {
    beck_segment_t *seg = log->segs[i];
    beck__segment_ref(seg);
    snap[i].seg = seg;
    snap[i].size = seg->size;
    snap[i].candidate = seg->sealed && i + 1 < n && log->segs[i + 1]->base <= log->durable_offset &&
                        log->ckpt_valid && seg->base < log->ckpt.segment && seg->size > 0;
  }
  compactor_t c = {.log = log, .env = log->env, .interval = log->cfg.index_interval_bytes, .stats = stats};
  c.tombstone_horizon = now_ms - log->cfg.delete_retention_ms;
  beck__keymap_init(&c.map);
  log->compacting = true;
  pthread_mutex_unlock(&log->mu);

  for (size_t i = 0; i < n && !err; i++)
    err = build_map(&c, &snap[i], e);
  for (size_t i = 0; i < n && !err; i++) {
    if (!snap[i].candidate)
      continue;
    stats->bytes_before += snap[i].size;
    beck_segment_t *ns;
    int fd;
    if ((err = rewrite(&c, &snap[i], &ns, &fd, e))) {
      beck_error_wrap(e, "segment %s.log", beck__segment_name(snap[i].seg));
      break;
    }
    if (ns == NULL)
      continue;
    pthread_mutex_lock(&log->mu);
    err = swap_in(log, &snap[i], ns, fd, e);
    pthread_mutex_unlock(&log->mu);
  }

  pthread_mutex_lock(&log->mu);
  if (err == BECK_ERR_CORRUPT)
    beck__plog_fence(log, "partition dir %s: compaction found corrupt data: %s; the log is now read-only", log->dir,
                     e->msg);
  else if (err && err != BECK_ERR_FENCED)
    beck_error_wrap(e, "partition dir %s: compaction", log->dir);
  log->compacting = false;
  pthread_cond_broadcast(&log->cv);
  pthread_mutex_unlock(&log->mu);
  for (size_t i = 0; i < n; i++)
    beck__segment_unref(log->env, snap[i].seg);
  beck_free(snap);
  beck__keymap_free(&c.map);
  beck_buf_free(&c.win);
  beck_buf_free(&c.dec);
  beck_buf_free(&c.out);
  beck_free(c.hdrs);
  if (err == BECK_ERR_CORRUPT) {
    pthread_mutex_lock(&log->mu);
    err = beck__plog_fenced_error(log, e);
    pthread_mutex_unlock(&log->mu);
  }
  return err;
}
