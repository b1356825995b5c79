/*
 * scan.h - a forward cursor over the batches of a segment file (private to
 * core/log). Used by recovery, reads, offset-for-time, compaction, verify.
 *
 * Reads through a window buffer so that many small batches cost one pread.
 * Modes:
 *   HEADERS  decode and check each 61-byte header, skip the body
 *   VERIFY   also check the CRC-32C of each batch (streamed for big batches,
 *            so no allocation beyond the window)
 *   BODY     like VERIFY, and the whole batch is in memory (s->batch)
 * The mode may change between calls (recovery switches from HEADERS to
 * VERIFY at the recovery point).
 *
 * Every batch must lie within [start, end); one that does not, or whose
 * header fails beck_batch_header_check(), or whose CRC is wrong, stops the
 * scan with BECK_ERR_CORRUPT and a message saying why (s->batch_pos is its
 * position). Lengths from the file are hostile: nothing is allocated for a
 * batch before its end has been checked against `end`, and BODY mode refuses
 * batches above max_body with BECK_ERR_TOOBIG.
 */
#ifndef BECK_LOG_SCAN_H
#define BECK_LOG_SCAN_H

#include <stdint.h>

#include "base/buf.h"
#include "base/env.h"
#include "base/err.h"
#include "record/batch.h"

typedef enum {
  BECK_SCAN_HEADERS = 0,
  BECK_SCAN_VERIFY = 1,
  BECK_SCAN_BODY = 2,
} beck_scan_mode_t;

typedef struct beck_scan {
  beck_env_t *env;
  int fd;
  int64_t pos; /* position of the next batch */
  int64_t end; /* the scan stops here */
  beck_scan_mode_t mode;
  size_t max_body;  /* BODY mode limit */
  beck_buf_t *win;  /* window: file bytes [win_pos, win_pos + win->len) */
  beck_buf_t own;   /* used when no window buffer was lent */
  int64_t win_pos;
  /* The current batch after beck__scan_next() returned 1. */
  beck_batch_header_t hdr;
  int64_t batch_pos;
  int64_t batch_size;
  const uint8_t *batch; /* BODY mode: the whole batch (valid until the next call) */
} beck_scan_t;

/* Starts at pos, stops at end. win, when non-NULL, is a buffer lent for the
 * scan's window (kept allocated between scans by its owner); else the scan
 * allocates its own and beck__scan_free() releases it. */
void beck__scan_init(beck_scan_t *s, beck_env_t *env, int fd, int64_t pos, int64_t end, beck_scan_mode_t mode,
                     beck_buf_t *win);
/* Advances to the next batch: 1 = a batch (fields set), 0 = reached end,
 * negative = BECK_ERR_CORRUPT (bad or partial batch at s->pos), BECK_ERR_IO
 * (read failed), BECK_ERR_TOOBIG, BECK_ERR_NOMEM; e says which. */
int beck__scan_next(beck_scan_t *s, beck_error_t *e);
void beck__scan_free(beck_scan_t *s);

#endif
