/*
 * buf.h - byte slices, growable buffers and big-endian helpers.
 *
 * beck_slice_t borrows bytes it does not own; beck_buf_t owns a growable
 * allocation. Neither assumes NUL termination. Kafka's nullable strings and
 * bytes are slices with ptr == NULL and the `null` flag set (wire length -1).
 */
#ifndef BECK_BASE_BUF_H
#define BECK_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"

/* A borrowed view of bytes. */
typedef struct beck_slice {
  const uint8_t *ptr;
  size_t len;
} beck_slice_t;

/* Kafka nullable string/bytes: null distinguishes "absent" from "empty". */
typedef struct beck_nstr {
  const uint8_t *ptr;
  int32_t len; /* -1 = null */
} beck_nstr_t;

/* An owned growable buffer. Zero-initialise, then append; free with
 * beck_buf_free(). */
typedef struct beck_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} beck_buf_t;

static inline beck_slice_t beck_slice(const void *p, size_t n) {
  beck_slice_t s = {(const uint8_t *)p, n};
  return s;
}

static inline beck_slice_t beck_slice_cstr(const char *s) { return beck_slice(s, strlen(s)); }

static inline bool beck_slice_eq(beck_slice_t a, beck_slice_t b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Ensures room for `extra` more bytes. */
beck_err_t beck_buf_reserve(beck_buf_t *b, size_t extra);
/* Appends a copy of n bytes. */
beck_err_t beck_buf_append(beck_buf_t *b, const void *p, size_t n);
/* Appends formatted text (no NUL counted in len; a NUL is kept after it). */
beck_err_t beck_buf_printf(beck_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void beck_buf_reset(beck_buf_t *b);
void beck_buf_free(beck_buf_t *b);

/* Big-endian loads and stores; p need not be aligned. */
static inline uint16_t beck_load_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t beck_load_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t beck_load_be64(const uint8_t *p) {
  return ((uint64_t)beck_load_be32(p) << 32) | beck_load_be32(p + 4);
}
static inline void beck_store_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void beck_store_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static inline void beck_store_be64(uint8_t *p, uint64_t v) {
  beck_store_be32(p, (uint32_t)(v >> 32));
  beck_store_be32(p + 4, (uint32_t)v);
}

#endif
