/* buf.c - owned growable byte buffers (see buf.h). */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/alloc.h"

beck_err_t beck_buf_reserve(beck_buf_t *b, size_t extra) {
  if (extra <= b->cap - b->len)
    return BECK_ERR_OK;
  if (extra > SIZE_MAX / 2 - b->len)
    return BECK_ERR_NOMEM;
  size_t need = b->len + extra;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  uint8_t *d = beck_realloc(b->data, cap);
  if (d == NULL)
    return BECK_ERR_NOMEM;
  b->data = d;
  b->cap = cap;
  return BECK_ERR_OK;
}

beck_err_t beck_buf_append(beck_buf_t *b, const void *p, size_t n) {
  beck_err_t err = beck_buf_reserve(b, n);
  if (err)
    return err;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  return BECK_ERR_OK;
}

beck_err_t beck_buf_printf(beck_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return BECK_ERR_INVAL;
  beck_err_t err = beck_buf_reserve(b, (size_t)n + 1);
  if (err)
    return err;
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return BECK_ERR_OK;
}

void beck_buf_reset(beck_buf_t *b) { b->len = 0; }

void beck_buf_free(beck_buf_t *b) {
  beck_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
