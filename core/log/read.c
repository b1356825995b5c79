/*
 * read.c - the read side of the partition log: slices of whole batches for
 * Fetch (beck_plog_read / beck_plog_read_copy) and ListOffsets by timestamp
 * (beck_plog_offset_for_time).
 *
 * A slice is a byte range [file_pos, file_pos + len) of one segment file
 * holding whole batches, pinned by a segment reference: retention,
 * compaction or a truncate may remove the segment from the log meanwhile,
 * and the fd (hence the inode and its bytes) stays valid until release.
 * A slice never spans two segments; the caller asks again from next_offset.
 *
 * Rules (Kafka's, reference §3.6): the first batch is the one containing the
 * requested offset (or, in a compaction gap, the next one) and is returned
 * whole even when larger than max_bytes; further batches are added while the
 * total stays <= max_bytes; batches with BaseOffset >= max_offset (the high
 * watermark) are never returned.
 *
 * Locating a batch (index lookup + a short header scan) runs under the log
 * mutex; copying the bytes (read_copy) and decoding records (offset for
 * time) run outside it with the segment pinned.
 */
#include "log/plog.h"

#include <string.h>

#include "base/alloc.h"
#include "log/plog_int.h"
#include "log/scan.h"
#include "record/batch.h"
#include "record/codec.h"

static void empty_slice(beck_plog_slice_t *out, int64_t offset) {
  memset(out, 0, sizeof *out);
  out->fd = -1;
  out->first_offset = out->next_offset = offset;
}

/* Big reads of many batches: rather than reading every header up to
 * max_bytes, use the offset index. Entries sit at batch starts, so the
 * bytes before an entry that lies within the limit (and whose offset is
 * <= max_offset) are whole batches. The scan is moved to the entry before
 * that one (so the last included batch's header, hence next_offset, is
 * still read) after checking it names the batch found there; on any doubt
 * the scan stays where it was. */
static void jump_ahead(beck_plog_t *log, beck_segment_t *seg, int64_t pos, int64_t *len, size_t max_bytes,
                       int64_t max_offset, beck_scan_t *s) {
  const beck_index_t *ix = &seg->ix;
  int64_t limit = (uint64_t)(seg->size - pos) < max_bytes ? seg->size : pos + (int64_t)max_bytes;
  size_t lo = 0, hi = ix->n_off; /* first entry past the limit or max_offset */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if ((int64_t)ix->off[mid].pos <= limit && seg->base + (int64_t)ix->off[mid].rel <= max_offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < 2 || (int64_t)ix->off[lo - 2].pos <= pos + *len)
    return; /* not worth it: at most one entry ahead */
  const beck_index_entry_t *en = &ix->off[lo - 2];
  uint8_t hb[BECK_BATCH_HEADER_SIZE];
  beck_batch_header_t h;
  if (log->env->pread(log->env, seg->fd, hb, sizeof hb, en->pos) != (ssize_t)sizeof hb ||
      beck_batch_header_decode(hb, sizeof hb, &h) || h.magic != 2 || h.base_offset != seg->base + (int64_t)en->rel)
    return;
  beck__scan_init(s, log->env, seg->fd, en->pos, seg->size, BECK_SCAN_HEADERS, s->win);
  *len = (int64_t)en->pos - pos;
}

beck_err_t beck_plog_read(beck_plog_t *log, int64_t offset, size_t max_bytes, int64_t max_offset,
                          beck_plog_slice_t *out, beck_error_t *e) {
  empty_slice(out, offset);
  pthread_mutex_lock(&log->mu);
  if (offset < log->start_offset || offset > log->end_offset) {
    beck_err_t err = beck_error_set(e, BECK_ERR_RANGE, "partition dir %s: offset %lld is out of range [%lld, %lld]",
                                    log->dir, (long long)offset, (long long)log->start_offset,
                                    (long long)log->end_offset);
    pthread_mutex_unlock(&log->mu);
    return err;
  }
  beck_err_t err = BECK_ERR_OK;
  for (size_t i = beck__plog_find_segment(log, offset); i < log->nsegs && offset < log->end_offset; i++) {
    beck_segment_t *seg = log->segs[i];
    int64_t pos;
    beck_batch_header_t h;
    beck_scan_t s; /* left after the found batch: the slice grows from there */
    err = beck__segment_locate(log->env, seg, offset, log->cfg.index_interval_bytes, &log->win, &s, &pos, &h, e);
    if (err || pos >= seg->size || h.base_offset >= max_offset) {
      beck__scan_free(&s);
      if (err)
        beck_error_wrap(e, "partition dir %s: read at offset %lld", log->dir, (long long)offset);
      if (err || pos < seg->size)
        break;
      continue; /* compaction gap at the end of this segment */
    }
    int64_t len = beck_batch_total_size(&h);
    int64_t next = beck_batch_last_offset(&h) + 1;
    jump_ahead(log, seg, pos, &len, max_bytes, max_offset, &s);
    beck_error_t ignore; /* a bad header later on ends the slice; reading from there reports it */
    while ((uint64_t)len < max_bytes && beck__scan_next(&s, &ignore) == 1) {
      if (s.hdr.base_offset >= max_offset || (uint64_t)(len + s.batch_size) > max_bytes)
        break;
      len += s.batch_size;
      next = beck_batch_last_offset(&s.hdr) + 1;
    }
    beck__scan_free(&s);
    beck__segment_ref(seg);
    out->fd = seg->fd;
    out->file_pos = pos;
    out->len = (size_t)len;
    out->first_offset = h.base_offset;
    out->next_offset = next;
    out->segment = seg;
    break;
  }
  pthread_mutex_unlock(&log->mu);
  return err;
}

void beck_plog_slice_release(beck_plog_t *log, beck_plog_slice_t *s) {
  if (s->segment)
    beck__segment_unref(log->env, s->segment);
  s->segment = NULL;
  s->fd = -1;
  s->len = 0;
}

beck_err_t beck_plog_read_copy(beck_plog_t *log, int64_t offset, size_t max_bytes, int64_t max_offset,
                               beck_buf_t *out, beck_error_t *e) {
  beck_plog_slice_t s;
  beck_err_t err = beck_plog_read(log, offset, max_bytes, max_offset, &s, e);
  if (err || s.len == 0)
    return err;
  if ((err = beck_buf_reserve(out, s.len))) {
    beck_plog_slice_release(log, &s);
    return beck_error_set(e, err, "partition dir %s: out of memory for a %zu-byte read", log->dir, s.len);
  }
  ssize_t r = log->env->pread(log->env, s.fd, out->data + out->len, s.len, s.file_pos);
  if (r < 0)
    err = beck_error_set(e, BECK_ERR_IO, "partition dir %s: read of %zu bytes at position %lld failed: %s", log->dir,
                         s.len, (long long)s.file_pos, strerror((int)-r));
  else if ((size_t)r != s.len)
    err = beck_error_set(e, BECK_ERR_RANGE, "partition dir %s: the log was truncated during a read at offset %lld",
                         log->dir, (long long)offset);
  else
    out->len += s.len;
  beck_plog_slice_release(log, &s);
  return err;
}

/* Looks through the batches of seg from pos on (outside the mutex) for the
 * first record with timestamp >= ts and offset >= min_offset. 1 = found. */
static int search_segment(beck_plog_t *log, beck_segment_t *seg, int64_t pos, int64_t size, int64_t ts,
                          int64_t min_offset, int64_t *offset, int64_t *found_ts, beck_error_t *e) {
  beck_scan_t s;
  beck__scan_init(&s, log->env, seg->fd, pos, size, BECK_SCAN_HEADERS, NULL);
  beck_buf_t scratch = {0}, dec = {0}; /* reused for every batch */
  int found = 0, rc = 0;
  while (!found && (rc = beck__scan_next(&s, e)) == 1) {
    beck_batch_header_t h = s.hdr;
    if (h.max_timestamp < ts || beck_batch_last_offset(&h) < min_offset || (h.attributes & BECK_BATCH_ATTR_CONTROL))
      continue;
    /* read this batch whole (and check its CRC: never serve a record that failed it) */
    beck_scan_t b;
    beck__scan_init(&b, log->env, seg->fd, s.batch_pos, s.batch_pos + s.batch_size, BECK_SCAN_BODY, &scratch);
    b.max_body = BECK_PLOG_MAX_DECOMPRESSED;
    rc = beck__scan_next(&b, e);
    beck_slice_t recs;
    if (rc == 1 && (rc = beck_batch_records(b.batch, (size_t)b.batch_size, &h, BECK_PLOG_MAX_DECOMPRESSED, &dec, &recs,
                                            e)) == BECK_ERR_OK) {
      beck_record_iter_t it;
      beck_record_iter_init(&it, &h, recs.ptr, recs.len);
      beck_record_t r;
      while ((rc = beck_record_iter_next(&it, &r)) == 1) {
        if (r.timestamp >= ts && r.offset >= min_offset) {
          *offset = r.offset;
          *found_ts = r.timestamp;
          found = 1;
          break;
        }
      }
      if (rc < 0)
        beck_error_set(e, BECK_ERR_CORRUPT, "malformed records in the batch at position %lld", (long long)s.batch_pos);
    }
    beck__scan_free(&b);
    if (rc < 0)
      break;
  }
  beck_buf_free(&dec);
  beck_buf_free(&scratch);
  beck__scan_free(&s);
  if (found)
    return 1;
  if (rc < 0)
    return beck_error_wrap(e, "segment %s.log", beck__segment_name(seg));
  return 0;
}

beck_err_t beck_plog_offset_for_time(beck_plog_t *log, int64_t ts, int64_t *offset, int64_t *found_ts,
                                     beck_error_t *e) {
  pthread_mutex_lock(&log->mu);
  int64_t after = INT64_MIN; /* next segment to look at has base > after */
  for (;;) {
    size_t i = 0;
    while (i < log->nsegs && log->segs[i]->base <= after)
      i++;
    /* skip segments below the start offset or without a late enough timestamp */
    while (i < log->nsegs &&
           (log->segs[i]->ix.max_ts < ts || log->segs[i]->next_offset <= log->start_offset))
      i++;
    if (i == log->nsegs)
      break;
    beck_segment_t *seg = log->segs[i];
    int64_t from = seg->base + beck__index_time_lookup(&seg->ix, ts);
    int64_t min_offset = log->start_offset;
    int64_t pos;
    beck_batch_header_t h;
    beck_err_t err = beck__segment_locate(log->env, seg, from > min_offset ? from : min_offset,
                                          log->cfg.index_interval_bytes, &log->win, NULL, &pos, &h, e);
    if (err) {
      pthread_mutex_unlock(&log->mu);
      return beck_error_wrap(e, "partition dir %s: offset for time %lld", log->dir, (long long)ts);
    }
    int64_t size = seg->size;
    after = seg->base;
    beck__segment_ref(seg);
    pthread_mutex_unlock(&log->mu);
    int rc = search_segment(log, seg, pos, size, ts, min_offset, offset, found_ts, e);
    beck__segment_unref(log->env, seg);
    if (rc < 0)
      return beck_error_wrap(e, "partition dir %s: offset for time %lld", log->dir, (long long)ts);
    if (rc == 1)
      return BECK_ERR_OK;
    pthread_mutex_lock(&log->mu);
  }
  pthread_mutex_unlock(&log->mu);
  return beck_error_set(e, BECK_ERR_NOTFOUND, "partition dir %s: no record with timestamp >= %lld", log->dir,
                        (long long)ts);
}
