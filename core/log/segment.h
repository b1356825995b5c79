/*
 * segment.h - one segment of a partition log: its .log file and the
 * in-memory offset and time indexes (private to core/log).
 *
 *   <dir>/<base>.log        RecordBatch v2 batches, concatenated, exactly as
 *                           on the wire; the first batch's BaseOffset >= base
 *   <dir>/<base>.index      see index.h
 *   <dir>/<base>.timeindex  see index.h
 *   (<base> is the base offset printed as 20 decimal digits)
 *
 * Invariants:
 *   - [0, size) holds whole batches only, with increasing offsets, all
 *     >= base and base + UINT32_MAX at most; the file may briefly be longer
 *     (a write in flight or failed), but nothing past size is ever read.
 *   - next_offset is the last batch's last offset + 1, or base when empty.
 *   - index files on disk, when present, describe a prefix of the .log as it
 *     is now: they are unlinked (and the unlink made durable by the caller)
 *     before the .log is cut or replaced.
 *   - refs counts the log's list (while not removed) plus every slice,
 *     syncer and compactor holding the segment; the fd is closed and the
 *     memory freed when it drops to zero, so readers may outlive deletion.
 *
 * Locking: fields other than refs are guarded by the owning log's mutex.
 */
#ifndef BECK_LOG_SEGMENT_H
#define BECK_LOG_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/env.h"
#include "base/err.h"
#include "log/index.h"
#include "log/scan.h"
#include "record/batch.h"

#define BECK_SEGMENT_NAME_DIGITS 20

typedef struct beck_segment {
  int64_t base;
  int fd;
  char *stem;           /* "<dir>/<20-digit base>" (owned); files are stem + ".log" etc. */
  int64_t size;         /* visible bytes: whole batches only */
  int64_t next_offset;  /* offset after the last batch; base when empty */
  int64_t roll_base_ms; /* start of the segment.ms clock; -1 until the first append */
  beck_index_t ix;
  atomic_int refs;
  bool sealed;  /* rolled: no more appends (until a truncate reopens it) */
  bool removed; /* no longer in the log's list */
} beck_segment_t;

/* The file name stem without the directory ("00000000000000000042"). */
static inline const char *beck__segment_name(const beck_segment_t *seg) {
  const char *p = strrchr(seg->stem, '/');
  return p ? p + 1 : seg->stem;
}

/* Writes "<dir>/<base><ext>" into buf. */
void beck__segment_file(char *buf, size_t n, const char *dir, int64_t base, const char *ext);
/* Same from a segment's stem: ext is ".log", ".index", ".timeindex", ... */
void beck__segment_path(const beck_segment_t *seg, const char *ext, char *buf, size_t n);

/* Creates an empty segment file (truncating a leftover one). refs = 1. */
beck_err_t beck__segment_create(beck_env_t *env, const char *dir, int64_t base, size_t max_entries,
                                beck_segment_t **out, beck_error_t *e);
/* Opens an existing segment file; *file_size is its length. size and the
 * index are empty until beck__segment_recover(). refs = 1. */
beck_err_t beck__segment_open(beck_env_t *env, const char *dir, int64_t base, size_t max_entries,
                              beck_segment_t **out, int64_t *file_size, beck_error_t *e);

static inline void beck__segment_ref(beck_segment_t *seg) { atomic_fetch_add(&seg->refs, 1); }

/* Whether a batch read from disk can live in the segment that starts at
 * base: its offsets lie in [base, base + 2^32), the range the index's
 * 32-bit relative offsets cover. BaseOffset is outside the batch CRC, so
 * recovery and verification check it with this (overflow-free: a header
 * may hold any BaseOffset; LastOffsetDelta is already known >= 0). */
static inline bool beck__segment_holds(int64_t base, const beck_batch_header_t *h) {
  return h->base_offset >= base && h->base_offset - base <= (int64_t)UINT32_MAX - h->last_offset_delta;
}
/* Sets e to why a batch failed beck__segment_holds() (position, offsets, the
 * segment's range); returns BECK_ERR_CORRUPT. */
beck_err_t beck__segment_range_error(const beck_segment_t *seg, int64_t pos, const beck_batch_header_t *h,
                                     beck_error_t *e);
/* Drops a reference; the last one closes the fd and frees. NULL is ok. */
void beck__segment_unref(beck_env_t *env, beck_segment_t *seg);

/* Writes `len` bytes of validated, offset-assigned batches at the end, then
 * indexes them. On a failed or short write it tries to cut the file back to
 * the previous size and fails with the write error (nothing becomes
 * visible): BECK_ERR_NOSPACE only for a full disk (ENOSPC, EDQUOT) with the
 * file cut back, so the segment is exactly as before; BECK_ERR_IO when the
 * cut back failed too. Borrows p. */
beck_err_t beck__segment_append(beck_env_t *env, beck_segment_t *seg, const uint8_t *p, size_t len,
                                int32_t interval, beck_error_t *e);

/* Finds the first batch whose last offset >= offset, starting from the
 * index. *pos = its position (seg->size when none); h = its header when
 * *pos < size. An index entry that does not point at a batch with its
 * offset makes the index be rebuilt (once). win is a lent window buffer.
 * With cont non-NULL the header scan is left there, positioned after the
 * found batch, for the caller to go on with (the caller frees it, also on
 * failure). */
beck_err_t beck__segment_locate(beck_env_t *env, beck_segment_t *seg, int64_t offset, int32_t interval,
                                beck_buf_t *win, beck_scan_t *cont, int64_t *pos, beck_batch_header_t *h,
                                beck_error_t *e);

/* The offset after the last batch that ends at or before position pos (a
 * batch boundary), or base when pos is 0. */
beck_err_t beck__segment_end_before(beck_env_t *env, beck_segment_t *seg, int64_t pos, beck_buf_t *win,
                                    int64_t *next, beck_error_t *e);

/* Rebuilds the index from [0, size) reading headers only. */
beck_err_t beck__segment_reindex(beck_env_t *env, beck_segment_t *seg, int32_t interval, beck_buf_t *win,
                                 beck_error_t *e);

/* Writes both index files whole (tmp + rename, not synced: a damaged or
 * missing index is rebuilt on open), with the closing time entry. */
beck_err_t beck__segment_write_index(beck_env_t *env, beck_segment_t *seg, beck_error_t *e);
/* Unlinks both index files (missing is fine). The caller syncs the dir. */
void beck__segment_unlink_index(beck_env_t *env, const beck_segment_t *seg);
/* Unlinks the .log and index files. The caller syncs the dir. */
void beck__segment_unlink_all(beck_env_t *env, const beck_segment_t *seg);

/* Cuts the file at pos (a batch boundary <= size) and brings next_offset and
 * the index in line. The caller unlinks the index files first and syncs. */
beck_err_t beck__segment_cut(beck_env_t *env, beck_segment_t *seg, int64_t pos, int32_t interval, beck_error_t *e);

/* Recovery of one segment on open. */
typedef struct beck_seg_recover {
  int64_t file_size;   /* in */
  int64_t verify_from; /* in: batches at positions >= this get their CRC checked */
  int32_t interval;    /* in: index.interval.bytes */
  bool strict;         /* in: batches at or after verify_from must follow each other without offset gaps
                          (true when verify_from comes from a recovery point: only appends wrote there) */
  int64_t bad_pos;     /* out: position of the first bad batch, -1 if the segment is whole */
  int64_t bad_offset;  /* out: the offset a batch at bad_pos would start at */
  beck_error_t why;    /* out: what is wrong at bad_pos */
  bool index_rebuilt;  /* out: index files were missing, damaged or untrusted */
  beck_error_t index_why;
} beck_seg_recover_t;

/* Loads and validates the index files (structure, then a sample of entries
 * against the .log), falls back to rebuilding, then scans from the last
 * trusted entry to the end of the file: headers only below verify_from, CRC
 * from there. Sets size and next_offset to the whole, valid prefix; reports
 * the first bad batch in r (the caller decides to cut or fence). Returns an
 * error only when the file cannot be read. */
beck_err_t beck__segment_recover(beck_env_t *env, beck_segment_t *seg, beck_seg_recover_t *r, beck_error_t *e);

#endif
