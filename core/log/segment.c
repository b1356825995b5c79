/*
 * segment.c - one segment: its .log file, appends to it, finding a batch by
 * offset, and loading / validating / rebuilding its indexes. File layout and
 * invariants are in segment.h (segment) and index.h (index files).
 *
 * Index trust on open: an index file is used only after (1) the structural
 * checks of beck__index_decode(), (2) no entry lies at or beyond the recovery
 * point of this segment (entries there may describe unsynced bytes), and
 * (3) a sample of up to SAMPLE entries (first, last, evenly spaced) each
 * point at a batch header with magic 2 and BaseOffset == base + rel. Every
 * later lookup re-checks the entry it used (beck__segment_locate), so an
 * entry damaged outside the sample is caught on use and the index rebuilt.
 */
#include "log/segment.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/env.h"
#include "base/logging.h"
#include "log/scan.h"

#define SAMPLE 8
#define MAX_INDEX_FILE ((size_t)1 << 30)

void beck__segment_file(char *buf, size_t n, const char *dir, int64_t base, const char *ext) {
  snprintf(buf, n, "%s/%020lld%s", dir, (long long)base, ext);
}

void beck__segment_path(const beck_segment_t *seg, const char *ext, char *buf, size_t n) {
  snprintf(buf, n, "%s%s", seg->stem, ext);
}

static beck_err_t segment_new(beck_env_t *env, const char *dir, int64_t base, size_t max_entries, int flags,
                              beck_segment_t **out, beck_error_t *e) {
  char path[4096];
  beck__segment_file(path, sizeof path, dir, base, ".log");
  beck_segment_t *seg = beck_calloc(1, sizeof *seg);
  char stem[4096];
  beck__segment_file(stem, sizeof stem, dir, base, "");
  if (seg == NULL || (seg->stem = beck_strdup(stem)) == NULL) {
    beck_free(seg);
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory opening segment %s", path);
  }
  int fd = env->open(env, path, flags, 0644);
  if (fd < 0) {
    beck_free(seg->stem);
    beck_free(seg);
    return beck_error_set(e, beck_err_from_errno(-fd), "open of segment %s failed: %s", path, strerror(-fd));
  }
  seg->fd = fd;
  seg->base = base;
  seg->next_offset = base;
  seg->roll_base_ms = -1;
  beck__index_init(&seg->ix, max_entries);
  atomic_init(&seg->refs, 1);
  *out = seg;
  return BECK_ERR_OK;
}

beck_err_t beck__segment_create(beck_env_t *env, const char *dir, int64_t base, size_t max_entries,
                                beck_segment_t **out, beck_error_t *e) {
  return segment_new(env, dir, base, max_entries, O_RDWR | O_CREAT | O_TRUNC, out, e);
}

beck_err_t beck__segment_open(beck_env_t *env, const char *dir, int64_t base, size_t max_entries,
                              beck_segment_t **out, int64_t *file_size, beck_error_t *e) {
  beck_err_t err = segment_new(env, dir, base, max_entries, O_RDWR, out, e);
  if (err)
    return err;
  int rc = env->file_size(env, (*out)->fd, file_size);
  if (rc < 0) {
    beck_error_set(e, BECK_ERR_IO, "size of segment %s.log failed: %s", (*out)->stem, strerror(-rc));
    beck__segment_unref(env, *out);
    *out = NULL;
    return BECK_ERR_IO;
  }
  return BECK_ERR_OK;
}

void beck__segment_unref(beck_env_t *env, beck_segment_t *seg) {
  if (seg == NULL || atomic_fetch_sub(&seg->refs, 1) != 1)
    return;
  if (seg->fd >= 0)
    env->close(env, seg->fd);
  beck__index_free(&seg->ix);
  beck_free(seg->stem);
  beck_free(seg);
}

beck_err_t beck__segment_append(beck_env_t *env, beck_segment_t *seg, const uint8_t *p, size_t len,
                                int32_t interval, beck_error_t *e) {
  ssize_t w = env->pwrite(env, seg->fd, p, len, seg->size);
  if (w < 0 || (size_t)w != len) {
    int err = w < 0 ? (int)-w : EIO;
    int trc = env->ftruncate(env, seg->fd, seg->size);
    /* a failed cut leaves bytes of unknown state past size: not a plain full disk */
    beck_err_t code = trc < 0 ? BECK_ERR_IO : beck_err_from_errno(err);
    return beck_error_set(e, code, "write of %zu bytes at position %lld of segment %s.log failed: "
                          "%s%s", len, (long long)seg->size, beck__segment_name(seg), strerror(err),
                          trc < 0 ? " (cutting the file back also failed)" : "");
  }
  size_t at = 0;
  while (at < len) {
    beck_batch_header_t h;
    beck_batch_header_decode(p + at, len - at, &h);
    int64_t total = beck_batch_total_size(&h);
    assert(h.base_offset >= seg->next_offset && beck_batch_last_offset(&h) - seg->base <= (int64_t)UINT32_MAX);
    beck__index_feed(&seg->ix, (uint32_t)(h.base_offset - seg->base), (uint32_t)(seg->size + (int64_t)at),
                     (uint32_t)total, h.max_timestamp, interval);
    seg->next_offset = beck_batch_last_offset(&h) + 1;
    at += (size_t)total;
  }
  seg->size += (int64_t)len;
  return BECK_ERR_OK;
}

/* Feeds every batch of [from, to) to the index; sets next_offset when any. */
static beck_err_t index_range(beck_env_t *env, beck_segment_t *seg, int64_t from, int64_t to, int32_t interval,
                              beck_buf_t *win, beck_error_t *e) {
  beck_scan_t s;
  beck__scan_init(&s, env, seg->fd, from, to, BECK_SCAN_HEADERS, win);
  int rc;
  while ((rc = beck__scan_next(&s, e)) == 1) {
    beck__index_feed(&seg->ix, (uint32_t)(s.hdr.base_offset - seg->base), (uint32_t)s.batch_pos,
                     (uint32_t)s.batch_size, s.hdr.max_timestamp, interval);
    seg->next_offset = beck_batch_last_offset(&s.hdr) + 1;
  }
  beck__scan_free(&s);
  if (rc < 0)
    return beck_error_wrap(e, "segment %s.log", beck__segment_name(seg));
  return BECK_ERR_OK;
}

beck_err_t beck__segment_end_before(beck_env_t *env, beck_segment_t *seg, int64_t pos, beck_buf_t *win,
                                    int64_t *next, beck_error_t *e) {
  const beck_index_t *ix = &seg->ix;
  size_t lo = 0, hi = ix->n_off; /* first entry at or after pos */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if ((int64_t)ix->off[mid].pos < pos)
      lo = mid + 1;
    else
      hi = mid;
  }
  int64_t from = lo == 0 ? 0 : ix->off[lo - 1].pos;
  *next = seg->base;
  beck_scan_t s;
  beck__scan_init(&s, env, seg->fd, from, pos, BECK_SCAN_HEADERS, win);
  int rc;
  while ((rc = beck__scan_next(&s, e)) == 1)
    *next = beck_batch_last_offset(&s.hdr) + 1;
  beck__scan_free(&s);
  return rc < 0 ? beck_error_wrap(e, "segment %s.log", beck__segment_name(seg)) : BECK_ERR_OK;
}

beck_err_t beck__segment_reindex(beck_env_t *env, beck_segment_t *seg, int32_t interval, beck_buf_t *win,
                                 beck_error_t *e) {
  beck__index_reset(&seg->ix);
  seg->next_offset = seg->base;
  return index_range(env, seg, 0, seg->size, interval, win, e);
}

beck_err_t beck__segment_locate(beck_env_t *env, beck_segment_t *seg, int64_t offset, int32_t interval,
                                beck_buf_t *win, beck_scan_t *cont, int64_t *pos, beck_batch_header_t *h,
                                beck_error_t *e) {
  int64_t r = offset - seg->base;
  uint32_t rel = r < 0 ? 0 : r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
  beck_scan_t local, *s = cont ? cont : &local;
  for (int attempt = 0;; attempt++) {
    uint32_t entry_rel;
    uint32_t from = beck__index_lookup(&seg->ix, rel, &entry_rel);
    beck__scan_init(s, env, seg->fd, from, seg->size, BECK_SCAN_HEADERS, win);
    bool first = true, mismatch = false;
    int rc;
    while ((rc = beck__scan_next(s, e)) == 1) {
      if (first && entry_rel != UINT32_MAX && s->hdr.base_offset != seg->base + (int64_t)entry_rel) {
        mismatch = true;
        break;
      }
      first = false;
      if (beck_batch_last_offset(&s->hdr) >= offset)
        break;
    }
    if (!cont)
      beck__scan_free(s);
    if (rc == BECK_ERR_CORRUPT && first && entry_rel != UINT32_MAX)
      mismatch = true; /* the entry points at no batch at all */
    else if (rc < 0)
      return beck_error_wrap(e, "segment %s.log", beck__segment_name(seg));
    if (!mismatch) {
      *pos = rc == 1 ? s->batch_pos : seg->size;
      if (rc == 1)
        *h = s->hdr;
      return BECK_ERR_OK;
    }
    if (attempt > 0)
      return beck_error_set(e, BECK_ERR_CORRUPT, "segment %s.log: rebuilt index still disagrees with the log",
                            beck__segment_name(seg));
    beck_log("log", BECK_LOG_WARN, "segment %s.log: offset index entry for relative offset %u does not point at "
             "that batch; rebuilding the index", seg->stem, entry_rel);
    beck_err_t err = beck__segment_reindex(env, seg, interval, win, e);
    if (err)
      return err;
  }
}

/* Index files are rewritten in place (not as a temporary file renamed over
 * the old one: with thousands of partitions the new inodes dominate a clean
 * shutdown). A torn index is harmless: recovery samples every index against
 * the segment and rebuilds what does not match, and the clean-shutdown
 * marker that lets an open trust more is written only after this returns. */
static int write_whole(beck_env_t *env, const char *path, const uint8_t *data, size_t len) {
  int fd = env->open(env, path, O_WRONLY | O_CREAT, 0644);
  if (fd < 0)
    return fd;
  ssize_t w = len ? env->pwrite(env, fd, data, len, 0) : 0;
  int rc = w < 0 ? (int)w : (size_t)w != len ? -EIO : env->ftruncate(env, fd, (int64_t)len);
  int crc = env->close(env, fd);
  return rc < 0 ? rc : crc;
}

beck_err_t beck__segment_write_index(beck_env_t *env, beck_segment_t *seg, beck_error_t *e) {
  beck__index_close_time(&seg->ix, (uint32_t)(seg->next_offset - seg->base));
  uint8_t *o, *t;
  size_t no, nt;
  if (beck__index_encode(&seg->ix, &o, &no, &t, &nt))
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory writing the index of %s.log", beck__segment_name(seg));
  char path[4200];
  beck__segment_path(seg, ".index", path, sizeof path);
  int rc = write_whole(env, path, o, no);
  if (rc == 0) {
    beck__segment_path(seg, ".timeindex", path, sizeof path);
    rc = write_whole(env, path, t, nt);
  }
  beck_free(o);
  beck_free(t);
  if (rc < 0)
    return beck_error_set(e, beck_err_from_errno(-rc), "writing %s failed: %s", path, strerror(-rc));
  seg->ix.dirty = false;
  return BECK_ERR_OK;
}

void beck__segment_unlink_index(beck_env_t *env, const beck_segment_t *seg) {
  char path[4200];
  beck__segment_path(seg, ".index", path, sizeof path);
  env->unlink(env, path);
  beck__segment_path(seg, ".timeindex", path, sizeof path);
  env->unlink(env, path);
}

void beck__segment_unlink_all(beck_env_t *env, const beck_segment_t *seg) {
  char path[4200];
  beck__segment_unlink_index(env, seg);
  beck__segment_path(seg, ".log", path, sizeof path);
  env->unlink(env, path);
}

beck_err_t beck__segment_cut(beck_env_t *env, beck_segment_t *seg, int64_t pos, int32_t interval, beck_error_t *e) {
  int rc = env->ftruncate(env, seg->fd, pos);
  if (rc < 0)
    return beck_error_set(e, beck_err_from_errno(-rc), "cutting %s.log at position %lld failed: %s", beck__segment_name(seg),
                          (long long)pos, strerror(-rc));
  beck__index_truncate(&seg->ix, (uint32_t)pos);
  seg->size = pos;
  seg->next_offset = seg->base;
  uint32_t from = beck__index_resume_pos(&seg->ix);
  return index_range(env, seg, from, pos, interval, NULL, e); /* from < pos: sees the last batch */
}

/* Reads the header at an index entry's position and checks it is the batch
 * the entry names. */
static bool entry_ok(beck_env_t *env, const beck_segment_t *seg, const beck_index_entry_t *en) {
  uint8_t b[BECK_BATCH_HEADER_SIZE];
  if (env->pread(env, seg->fd, b, sizeof b, en->pos) != (ssize_t)sizeof b)
    return false;
  beck_batch_header_t h;
  beck_batch_header_decode(b, sizeof b, &h);
  return h.magic == 2 && h.base_offset == seg->base + (int64_t)en->rel;
}

/* Loads the index files; false (with r->index_why) when they cannot be used. */
static bool load_index(beck_env_t *env, beck_segment_t *seg, beck_seg_recover_t *r) {
  char path[4200];
  char *off = NULL, *tim = NULL;
  size_t no = 0, nt = 0;
  beck__segment_path(seg, ".index", path, sizeof path);
  int rc1 = beck_env_read_file(env, path, MAX_INDEX_FILE, &off, &no);
  beck__segment_path(seg, ".timeindex", path, sizeof path);
  int rc2 = beck_env_read_file(env, path, MAX_INDEX_FILE, &tim, &nt);
  bool ok = false;
  if (rc1 < 0 || rc2 < 0) {
    beck_error_set(&r->index_why, BECK_ERR_NOTFOUND, "%s unreadable: %s", rc1 < 0 ? "offset index" : "time index",
                   strerror(-(rc1 < 0 ? rc1 : rc2)));
  } else if (beck__index_decode(&seg->ix, (uint8_t *)off, no, (uint8_t *)tim, nt, r->file_size, &r->index_why) ==
             BECK_ERR_OK) {
    const beck_index_t *ix = &seg->ix;
    ok = true;
    if (ix->n_off > 0 && (int64_t)ix->off[ix->n_off - 1].pos >= r->verify_from) {
      ok = false; /* may describe unsynced bytes: rebuild rather than trust */
      beck_error_set(&r->index_why, BECK_ERR_CORRUPT, "entries past the recovery point");
    }
    for (size_t k = 0; ok && k < SAMPLE && ix->n_off > 0; k++) {
      size_t i = ix->n_off == 1 ? 0 : k * (ix->n_off - 1) / (SAMPLE - 1);
      if (!entry_ok(env, seg, &ix->off[i])) {
        ok = false;
        beck_error_set(&r->index_why, BECK_ERR_CORRUPT, "entry %zu (relative offset %u, position %u) does not point "
                       "at that batch", i, ix->off[i].rel, ix->off[i].pos);
      }
    }
  }
  beck_free(off);
  beck_free(tim);
  if (!ok)
    beck__index_reset(&seg->ix);
  return ok;
}

beck_err_t beck__segment_range_error(const beck_segment_t *seg, int64_t pos, const beck_batch_header_t *h,
                                     beck_error_t *e) {
  return beck_error_set(e, BECK_ERR_CORRUPT, "batch at position %lld has base offset %lld (last offset delta %d), "
                        "outside the segment's offsets %lld..%lld", (long long)pos, (long long)h->base_offset,
                        (int)h->last_offset_delta, (long long)seg->base, (long long)seg->base + (long long)UINT32_MAX);
}

beck_err_t beck__segment_recover(beck_env_t *env, beck_segment_t *seg, beck_seg_recover_t *r, beck_error_t *e) {
  r->bad_pos = -1;
  r->bad_offset = -1;
  r->index_rebuilt = false;
  beck_error_clear(&r->why);
  beck_error_clear(&r->index_why);
  bool loaded = r->file_size > 0 && load_index(env, seg, r);
  if (r->file_size > 0 && !loaded)
    r->index_rebuilt = true;
  if (!loaded)
    beck__index_reset(&seg->ix);
  for (;;) {
    uint32_t from = beck__index_resume_pos(&seg->ix);
    bool known_prev = from == 0; /* the previous batch's end is known only from the start */
    int64_t prev_next = seg->base;
    seg->next_offset = seg->base;
    beck_scan_t s;
    beck__scan_init(&s, env, seg->fd, from, r->file_size, from >= r->verify_from ? BECK_SCAN_VERIFY : BECK_SCAN_HEADERS,
                    NULL);
    int rc;
    bool restart = false;
    beck_error_t why;
    beck_error_clear(&why);
    for (;;) {
      if (s.pos >= r->verify_from)
        s.mode = BECK_SCAN_VERIFY;
      rc = beck__scan_next(&s, &why);
      if (rc == 1) {
        const beck_batch_header_t *h = &s.hdr;
        if (s.batch_pos < r->verify_from && s.pos > r->verify_from) {
          beck_error_set(&why, BECK_ERR_CORRUPT, "the recovery point (position %lld) falls inside the batch at "
                         "position %lld", (long long)r->verify_from, (long long)s.batch_pos);
          rc = BECK_ERR_CORRUPT;
        } else if (!beck__segment_holds(seg->base, h)) {
          rc = beck__segment_range_error(seg, s.batch_pos, h, &why);
        } else if ((known_prev && h->base_offset < prev_next) ||
                   (r->strict && known_prev && s.batch_pos >= r->verify_from && h->base_offset != prev_next)) {
          /* above the recovery point every batch was appended right after the previous one (gaps only come from
           * compaction, which rewrites durable segments only); BaseOffset is outside the CRC, so this is its check */
          beck_error_set(&why, BECK_ERR_CORRUPT, "batch at position %lld has base offset %lld, expected %s%lld",
                         (long long)s.batch_pos, (long long)h->base_offset, s.batch_pos >= r->verify_from ? "" : ">= ",
                         (long long)prev_next);
          rc = BECK_ERR_CORRUPT;
        } else if (s.pos > (int64_t)UINT32_MAX) {
          beck_error_set(&why, BECK_ERR_CORRUPT, "batch at position %lld ends past 4 GiB", (long long)s.batch_pos);
          rc = BECK_ERR_CORRUPT;
        }
      }
      if (rc != 1)
        break;
      beck__index_feed(&seg->ix, (uint32_t)(s.hdr.base_offset - seg->base), (uint32_t)s.batch_pos,
                       (uint32_t)s.batch_size, s.hdr.max_timestamp, r->interval);
      prev_next = seg->next_offset = beck_batch_last_offset(&s.hdr) + 1;
      known_prev = true;
    }
    int64_t stop = s.batch_pos;
    beck__scan_free(&s);
    if (rc < 0 && rc != BECK_ERR_CORRUPT) {
      *e = why;
      return beck_error_wrap(e, "segment %s.log", beck__segment_name(seg));
    }
    if (rc < 0 && !known_prev) {
      restart = true; /* bad right at a resumed start: redo from 0 to learn the offsets before it */
    } else if (rc < 0) {
      r->bad_pos = stop;
      r->bad_offset = seg->next_offset;
      r->why = why;
      beck__index_truncate(&seg->ix, (uint32_t)stop);
      seg->size = stop;
    } else {
      seg->size = r->file_size;
      const beck_index_t *ix = &seg->ix;
      if (ix->n_tim > 0 && (int64_t)ix->tim[ix->n_tim - 1].rel > seg->next_offset - seg->base) {
        beck_error_set(&r->index_why, BECK_ERR_CORRUPT, "time index entry past the end of the segment");
        restart = true;
      }
    }
    if (!restart)
      break;
    if (!r->index_rebuilt && r->index_why.code == BECK_ERR_OK)
      beck_error_set(&r->index_why, BECK_ERR_CORRUPT, "entry at the resume point does not start a valid batch");
    r->index_rebuilt = true;
    beck__index_reset(&seg->ix);
  }
  if (r->index_rebuilt)
    seg->ix.dirty = true;
  return BECK_ERR_OK;
}
