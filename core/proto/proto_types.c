/*
 * proto_types.c - the Kafka primitive types (reference kafka-protocol.md
 * §1.5, Kafka's Type.java / ByteUtils.java): the bounds-checked, sticky-error
 * reader and the writer.
 *
 * Reader invariants: p <= end always; after the first error every read
 * returns 0 / null / empty and moves nothing. Every length or count read
 * from the wire is compared with the bytes actually left before anything
 * trusts it, so a hostile frame can neither over-read nor make a caller
 * allocate more than a constant factor of the frame.
 */
#include "proto/proto_int.h"

#include <string.h>

void beck__rd_fail(beck__proto_reader_t *r, beck_err_t err, const char *why) {
  if (r->err == BECK_ERR_OK) {
    r->err = err;
    r->why = why;
  }
}

static inline bool need(beck__proto_reader_t *r, size_t n) {
  if (r->err)
    return false;
  if (beck__rd_left(r) < n) {
    beck__rd_fail(r, BECK_ERR_PARSE, "truncated");
    return false;
  }
  return true;
}

bool beck__rd_bool(beck__proto_reader_t *r) { return beck__rd_i8(r) != 0; }

int8_t beck__rd_i8(beck__proto_reader_t *r) {
  if (!need(r, 1))
    return 0;
  return (int8_t)*r->p++;
}

int16_t beck__rd_i16(beck__proto_reader_t *r) { return (int16_t)beck__rd_u16(r); }

uint16_t beck__rd_u16(beck__proto_reader_t *r) {
  if (!need(r, 2))
    return 0;
  uint16_t v = beck_load_be16(r->p);
  r->p += 2;
  return v;
}

int32_t beck__rd_i32(beck__proto_reader_t *r) { return (int32_t)beck__rd_u32(r); }

uint32_t beck__rd_u32(beck__proto_reader_t *r) {
  if (!need(r, 4))
    return 0;
  uint32_t v = beck_load_be32(r->p);
  r->p += 4;
  return v;
}

int64_t beck__rd_i64(beck__proto_reader_t *r) {
  if (!need(r, 8))
    return 0;
  uint64_t v = beck_load_be64(r->p);
  r->p += 8;
  return (int64_t)v;
}

double beck__rd_f64(beck__proto_reader_t *r) {
  uint64_t bits = (uint64_t)beck__rd_i64(r);
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

void beck__rd_uuid(beck__proto_reader_t *r, beck_uuid_t *out) {
  if (!need(r, 16)) {
    memset(out, 0, sizeof *out);
    return;
  }
  memcpy(out->bytes, r->p, 16);
  r->p += 16;
}

static uint64_t rd_uvarlong(beck__proto_reader_t *r, int max_bytes) {
  uint64_t v = 0;
  for (int i = 0; i < max_bytes; i++) {
    if (!need(r, 1))
      return 0;
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0)
      return v;
  }
  beck__rd_fail(r, BECK_ERR_PARSE, "varint too long");
  return 0;
}

uint32_t beck__rd_uvarint(beck__proto_reader_t *r) {
  uint64_t v = rd_uvarlong(r, 5);
  if (v > UINT32_MAX) {
    beck__rd_fail(r, BECK_ERR_PARSE, "varint exceeds 32 bits");
    return 0;
  }
  return (uint32_t)v;
}

int32_t beck__rd_varint(beck__proto_reader_t *r) {
  uint32_t u = beck__rd_uvarint(r);
  return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t beck__rd_varlong(beck__proto_reader_t *r) {
  uint64_t u = rd_uvarlong(r, 10);
  return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

const uint8_t *beck__rd_take(beck__proto_reader_t *r, size_t n) {
  if (!need(r, n))
    return NULL;
  const uint8_t *p = r->p;
  r->p += n;
  return p;
}

void beck__rd_skip(beck__proto_reader_t *r, size_t n) { (void)beck__rd_take(r, n); }

static beck_nstr_t rd_sized(beck__proto_reader_t *r, int64_t len, bool nullable) {
  beck_nstr_t s = {NULL, 0};
  if (r->err)
    return s;
  if (len == -1) {
    if (!nullable)
      beck__rd_fail(r, BECK_ERR_PARSE, "null in a non-nullable field");
    else
      s.len = -1;
    return s;
  }
  if (len < -1) {
    beck__rd_fail(r, BECK_ERR_PARSE, "negative length");
    return s;
  }
  if (len > INT32_MAX || (uint64_t)len > beck__rd_left(r)) {
    beck__rd_fail(r, BECK_ERR_PARSE, "length exceeds the bytes left");
    return s;
  }
  s.ptr = r->p;
  s.len = (int32_t)len;
  r->p += len;
  return s;
}

beck_nstr_t beck__rd_string(beck__proto_reader_t *r, bool compact, bool nullable) {
  int64_t len = compact ? (int64_t)beck__rd_uvarint(r) - 1 : (int64_t)beck__rd_i16(r);
  return rd_sized(r, len, nullable);
}

beck_nstr_t beck__rd_bytes(beck__proto_reader_t *r, bool compact, bool nullable) {
  int64_t len = compact ? (int64_t)beck__rd_uvarint(r) - 1 : (int64_t)beck__rd_i32(r);
  return rd_sized(r, len, nullable);
}

int32_t beck__rd_array_len(beck__proto_reader_t *r, bool compact, bool nullable, size_t min_elem_size) {
  int64_t n = compact ? (int64_t)beck__rd_uvarint(r) - 1 : (int64_t)beck__rd_i32(r);
  if (r->err)
    return 0;
  if (n == -1) {
    if (!nullable) {
      beck__rd_fail(r, BECK_ERR_PARSE, "null array in a non-nullable field");
      return 0;
    }
    return -1;
  }
  if (n < -1) {
    beck__rd_fail(r, BECK_ERR_PARSE, "negative array count");
    return 0;
  }
  if (min_elem_size == 0)
    min_elem_size = 1;
  if ((uint64_t)n > beck__rd_left(r) / min_elem_size) {
    beck__rd_fail(r, BECK_ERR_PARSE, "array count exceeds the bytes left");
    return 0;
  }
  return (int32_t)n;
}

/* ---- writer ------------------------------------------------------------- */

void beck__wr_bytes_raw(beck__proto_writer_t *w, const void *p, size_t n) {
  if (w->err || n == 0)
    return;
  w->err = beck_buf_append(w->buf, p, n);
}

void beck__wr_i8(beck__proto_writer_t *w, int8_t v) {
  uint8_t b = (uint8_t)v;
  beck__wr_bytes_raw(w, &b, 1);
}

void beck__wr_u16(beck__proto_writer_t *w, uint16_t v) {
  uint8_t b[2];
  beck_store_be16(b, v);
  beck__wr_bytes_raw(w, b, 2);
}

void beck__wr_i16(beck__proto_writer_t *w, int16_t v) { beck__wr_u16(w, (uint16_t)v); }

void beck__wr_u32(beck__proto_writer_t *w, uint32_t v) {
  uint8_t b[4];
  beck_store_be32(b, v);
  beck__wr_bytes_raw(w, b, 4);
}

void beck__wr_i32(beck__proto_writer_t *w, int32_t v) { beck__wr_u32(w, (uint32_t)v); }

void beck__wr_i64(beck__proto_writer_t *w, int64_t v) {
  uint8_t b[8];
  beck_store_be64(b, (uint64_t)v);
  beck__wr_bytes_raw(w, b, 8);
}

void beck__wr_f64(beck__proto_writer_t *w, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  beck__wr_i64(w, (int64_t)bits);
}

void beck__wr_uuid(beck__proto_writer_t *w, const beck_uuid_t *v) { beck__wr_bytes_raw(w, v->bytes, 16); }

static void wr_uvarlong(beck__proto_writer_t *w, uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  b[n++] = (uint8_t)v;
  beck__wr_bytes_raw(w, b, n);
}

void beck__wr_uvarint(beck__proto_writer_t *w, uint32_t v) { wr_uvarlong(w, v); }

void beck__wr_varint(beck__proto_writer_t *w, int32_t v) { wr_uvarlong(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31)); }

void beck__wr_varlong(beck__proto_writer_t *w, int64_t v) { wr_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }

size_t beck__uvarint_size(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

void beck__wr_nstr(beck__proto_writer_t *w, beck_nstr_t s, bool compact, bool wide) {
  int32_t len = s.len < 0 ? -1 : s.len;
  if (compact)
    beck__wr_uvarint(w, (uint32_t)(len + 1));
  else if (wide)
    beck__wr_i32(w, len);
  else
    beck__wr_i16(w, (int16_t)len);
  if (len > 0)
    beck__wr_bytes_raw(w, s.ptr, (size_t)len);
}

void beck__wr_array_len(beck__proto_writer_t *w, int32_t count, bool compact) {
  if (compact)
    beck__wr_uvarint(w, (uint32_t)(count < 0 ? 0 : count + 1));
  else
    beck__wr_i32(w, count < 0 ? -1 : count);
}
