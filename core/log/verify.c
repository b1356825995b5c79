/*
 * verify.c - full verification of a partition log (beck_plog_verify):
 * every batch of every segment is re-read and its CRC-32C checked, and
 * offsets must increase from batch to batch and segment to segment.
 *
 * Runs outside the log mutex on pinned segments (appends go on; bytes
 * appended after the call started are not checked). The first damage found
 * fences the log and is logged at ERROR with the partition dir, the segment,
 * the byte position and the offset, since a batch that fails its CRC must
 * never be served. Nothing is cut or deleted.
 */
#include "log/plog.h"

#include "base/alloc.h"
#include "log/plog_int.h"
#include "log/scan.h"

beck_err_t beck_plog_verify(beck_plog_t *log, beck_error_t *e) {
  pthread_mutex_lock(&log->mu);
  size_t n = log->nsegs;
  beck_segment_t **segs = beck_calloc(n, sizeof *segs);
  int64_t *sizes = beck_calloc(n, sizeof *sizes);
  if (segs == NULL || sizes == NULL) {
    pthread_mutex_unlock(&log->mu);
    beck_free(segs);
    beck_free(sizes);
    return beck_error_set(e, BECK_ERR_NOMEM, "partition dir %s: out of memory", log->dir);
  }
  for (size_t i = 0; i < n; i++) {
    segs[i] = log->segs[i];
    sizes[i] = segs[i]->size;
    beck__segment_ref(segs[i]);
  }
  pthread_mutex_unlock(&log->mu);

  beck_err_t err = BECK_ERR_OK;
  beck_buf_t win = {0};
  int64_t next = -1; /* offset after the previous batch */
  for (size_t i = 0; i < n && !err; i++) {
    beck_segment_t *seg = segs[i];
    beck_scan_t s;
    beck__scan_init(&s, log->env, seg->fd, 0, sizes[i], BECK_SCAN_VERIFY, &win);
    beck_error_t why;
    int rc;
    while ((rc = beck__scan_next(&s, &why)) == 1) {
      if (!beck__segment_holds(seg->base, &s.hdr)) {
        rc = beck__segment_range_error(seg, s.batch_pos, &s.hdr, &why);
        break;
      }
      if (s.hdr.base_offset < next) {
        beck_error_set(&why, BECK_ERR_CORRUPT, "batch at position %lld has base offset %lld, expected >= %lld",
                       (long long)s.batch_pos, (long long)s.hdr.base_offset,
                       (long long)(next > seg->base ? next : seg->base));
        rc = BECK_ERR_CORRUPT;
        break;
      }
      next = beck_batch_last_offset(&s.hdr) + 1;
    }
    beck__scan_free(&s);
    if (rc == 0)
      continue;
    int64_t at = next > seg->base ? next : seg->base;
    if (rc == BECK_ERR_CORRUPT) {
      pthread_mutex_lock(&log->mu);
      beck__plog_fence(log, "partition dir %s: segment %s.log position %lld (offset %lld): %s; the log is now read-only",
                       log->dir, beck__segment_name(seg), (long long)s.batch_pos, (long long)at, why.msg);
      pthread_mutex_unlock(&log->mu);
      err = beck_error_set(e, BECK_ERR_CORRUPT, "partition dir %s: segment %s.log position %lld (offset %lld): %s",
                           log->dir, beck__segment_name(seg), (long long)s.batch_pos, (long long)at, why.msg);
    } else {
      *e = why;
      err = beck_error_wrap(e, "partition dir %s: segment %s.log", log->dir, beck__segment_name(seg));
    }
  }
  beck_buf_free(&win);
  for (size_t i = 0; i < n; i++)
    beck__segment_unref(log->env, segs[i]);
  beck_free(segs);
  beck_free(sizes);
  return err;
}
