/*
 * scan.c - forward batch cursor over a segment file (see scan.h). Owns the
 * read-ahead window logic and the per-batch structural and CRC checks used
 * everywhere a segment is read back from disk.
 */
#include "log/scan.h"

#include <string.h>

#include "base/crc32c.h"

#define HEADER_CHUNK (16 * 1024)
#define BODY_CHUNK (1024 * 1024)

void beck__scan_init(beck_scan_t *s, beck_env_t *env, int fd, int64_t pos, int64_t end, beck_scan_mode_t mode,
                     beck_buf_t *win) {
  memset(s, 0, sizeof *s);
  s->env = env;
  s->fd = fd;
  s->pos = pos;
  s->end = end;
  s->mode = mode;
  s->max_body = 64u << 20;
  s->win = win ? win : &s->own;
  s->win->len = 0;
  s->win_pos = pos;
}

void beck__scan_free(beck_scan_t *s) { beck_buf_free(&s->own); }

/* Makes file bytes [at, at + need) available in the window; reads ahead up
 * to `chunk` bytes but never past s->end. */
static int fill(beck_scan_t *s, int64_t at, size_t need, size_t chunk, beck_error_t *e) {
  if (at >= s->win_pos && at + (int64_t)need <= s->win_pos + (int64_t)s->win->len)
    return 0;
  size_t want = need > chunk ? need : chunk;
  if ((int64_t)want > s->end - at)
    want = (size_t)(s->end - at);
  s->win->len = 0;
  s->win_pos = at;
  if (beck_buf_reserve(s->win, want))
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory for a %zu-byte read", want);
  ssize_t r = s->env->pread(s->env, s->fd, s->win->data, want, at);
  if (r < 0)
    return beck_error_set(e, BECK_ERR_IO, "read of %zu bytes at position %lld failed: %s", want, (long long)at,
                          strerror((int)-r));
  s->win->len = (size_t)r;
  if ((size_t)r < need)
    return beck_error_set(e, BECK_ERR_CORRUPT, "file ends at position %lld, inside a batch", (long long)(at + r));
  return 0;
}

static inline const uint8_t *at_ptr(beck_scan_t *s, int64_t at) { return s->win->data + (at - s->win_pos); }

/* Streams the CRC over [from, to) through the window without holding the
 * batch: what the window already holds first, then window-sized reads. */
static int stream_crc(beck_scan_t *s, int64_t from, int64_t to, uint32_t *crc, beck_error_t *e) {
  uint32_t c = 0;
  while (from < to) {
    int64_t win_end = s->win_pos + (int64_t)s->win->len;
    if (from < s->win_pos || from >= win_end) {
      size_t n = (size_t)(to - from) < BODY_CHUNK ? (size_t)(to - from) : BODY_CHUNK;
      int rc = fill(s, from, n, BODY_CHUNK, e);
      if (rc)
        return rc;
      win_end = s->win_pos + (int64_t)s->win->len;
    }
    size_t n = (size_t)((to < win_end ? to : win_end) - from);
    c = beck_crc32c(c, at_ptr(s, from), n);
    from += (int64_t)n;
  }
  *crc = c;
  return 0;
}

int beck__scan_next(beck_scan_t *s, beck_error_t *e) {
  s->batch = NULL;
  s->batch_pos = s->pos;
  if (s->pos >= s->end)
    return 0;
  int64_t left = s->end - s->pos;
  if (left < BECK_BATCH_HEADER_SIZE)
    return beck_error_set(e, BECK_ERR_CORRUPT, "partial batch: only %lld bytes left at position %lld",
                          (long long)left, (long long)s->pos);
  /* Headers only: read ahead a window when batches are small (several
   * headers per read), just the header when they are big (the body would be
   * read for nothing). */
  size_t chunk = s->mode != BECK_SCAN_HEADERS ? BODY_CHUNK
                 : s->batch_size > HEADER_CHUNK / 4 ? BECK_BATCH_HEADER_SIZE
                                                    : HEADER_CHUNK;
  int rc = fill(s, s->pos, BECK_BATCH_HEADER_SIZE, chunk, e);
  if (rc)
    return rc;
  beck_batch_header_t h;
  beck_batch_header_decode(at_ptr(s, s->pos), BECK_BATCH_HEADER_SIZE, &h);
  beck_error_t why;
  if (beck_batch_header_check(&h, 0, &why))
    return beck_error_set(e, BECK_ERR_CORRUPT, "bad batch header at position %lld: %s", (long long)s->pos, why.msg);
  int64_t total = beck_batch_total_size(&h);
  if (total > left)
    return beck_error_set(e, BECK_ERR_CORRUPT,
                          "partial batch at position %lld: %lld bytes long but only %lld bytes remain",
                          (long long)s->pos, (long long)total, (long long)left);
  if (s->mode == BECK_SCAN_BODY) {
    if ((uint64_t)total > s->max_body)
      return beck_error_set(e, BECK_ERR_TOOBIG, "batch at position %lld is %lld bytes, above the %zu-byte limit",
                            (long long)s->pos, (long long)total, s->max_body);
    if ((rc = fill(s, s->pos, (size_t)total, chunk, e)))
      return rc;
    s->batch = at_ptr(s, s->pos);
    if (beck_batch_validate(s->batch, (size_t)total, false, NULL, &why))
      return beck_error_set(e, BECK_ERR_CORRUPT, "batch at position %lld: %s", (long long)s->pos, why.msg);
  } else if (s->mode == BECK_SCAN_VERIFY) {
    uint32_t crc;
    if ((rc = stream_crc(s, s->pos + BECK_BATCH_CRC_START, s->pos + total, &crc, e)))
      return rc;
    if (crc != h.crc)
      return beck_error_set(e, BECK_ERR_CORRUPT, "batch at position %lld: CRC mismatch (stored 0x%08x, computed 0x%08x)",
                            (long long)s->pos, h.crc, crc);
  }
  s->hdr = h;
  s->batch_size = total;
  s->pos += total;
  return 1;
}
