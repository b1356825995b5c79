/*
 * proto_int.h - private to core/proto (and its tests): message descriptors,
 * the sticky-error reader and the writer.
 *
 * Descriptors are generated in desc.c from the X-macro field lists of
 * msg_*.h; codec.c interprets them. The reader never reads past its end and,
 * once an error is set, every later read is a no-op returning zero (franz-go's
 * kbin.Reader), so a decoder may run a whole field list and check once.
 */
#ifndef BECK_PROTO_PROTO_INT_H
#define BECK_PROTO_PROTO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "proto/messages.h"
#include "proto/proto.h"

/* ---- descriptors -------------------------------------------------------- */

typedef enum beck__proto_kind {
  BECK_PK_NONE = 0,
  BECK_PK_BOOL,
  BECK_PK_I8,
  BECK_PK_I16,
  BECK_PK_I32,
  BECK_PK_I64,
  BECK_PK_U16,
  BECK_PK_U32,
  BECK_PK_F64,
  BECK_PK_UUID,
  BECK_PK_UVARINT,
  BECK_PK_VARINT,
  BECK_PK_VARLONG,
  BECK_PK_STR,
  BECK_PK_BYTES,
  BECK_PK_RECORDS,
  BECK_PK_ARRAY,  /* elem = element kind; sub set when elem == BECK_PK_STRUCT */
  BECK_PK_STRUCT, /* sub = nested struct */
} beck__proto_kind_t;

typedef struct beck__proto_struct beck__proto_struct_t;

typedef struct beck__proto_field {
  const char *name;
  const beck__proto_struct_t *sub;
  int64_t dflt;
  uint32_t offset;
  uint8_t kind; /* beck__proto_kind_t */
  uint8_t elem; /* array element kind */
  int16_t vmin, vmax;
  int16_t nmin, nmax; /* nmin < 0: never nullable */
  int32_t tag;        /* < 0: not tagged */
} beck__proto_field_t;

struct beck__proto_struct {
  const char *name;
  size_t size;
  const beck__proto_field_t *fields;
  size_t nfields;
};

/* One API as the codec sees it. */
typedef struct beck__proto_api {
  int16_t api_key;
  int16_t min_version, max_version, flexible_from, advertise_max;
  const char *name;
  const beck__proto_struct_t *request;
  const beck__proto_struct_t *response;
} beck__proto_api_t;

/* desc.c: every API, in api-key order. */
extern const beck__proto_api_t beck__proto_apis[];
extern const size_t beck__proto_apis_count;
/* The API with this key, or NULL. */
const beck__proto_api_t *beck__proto_api(int16_t api_key);

static inline bool beck__proto_in(int16_t v, int16_t lo, int16_t hi) { return lo >= 0 && v >= lo && v <= hi; }

/* Descriptor-level entry points (codec.c), used by the public calls and by
 * tests that bring their own descriptor. `flexible` selects compact forms and
 * tag buffers. Same contracts as beck_proto_decode/encode. */
beck_err_t beck__proto_decode_struct(const beck__proto_struct_t *d, int16_t version, bool flexible, const uint8_t *p,
                                     size_t len, beck_arena_t *arena, void *out, size_t *consumed, beck_error_t *err);
beck_err_t beck__proto_encode_struct(const beck__proto_struct_t *d, int16_t version, bool flexible, const void *msg,
                                     beck_buf_t *out, beck_error_t *err);

/* ---- reader ------------------------------------------------------------- */

typedef struct beck__proto_reader {
  const uint8_t *p;   /* next byte */
  const uint8_t *end; /* one past the last readable byte */
  const uint8_t *base;
  beck_err_t err;  /* sticky: first error wins */
  const char *why; /* static text for the first error */
} beck__proto_reader_t;

static inline void beck__rd_init(beck__proto_reader_t *r, const uint8_t *p, size_t len) {
  static const uint8_t empty[1];
  if (p == NULL) /* NULL + 0 is undefined; an empty input needs a real address */
    p = empty, len = 0;
  r->p = r->base = p;
  r->end = p + len;
  r->err = BECK_ERR_OK;
  r->why = NULL;
}
static inline size_t beck__rd_left(const beck__proto_reader_t *r) { return (size_t)(r->end - r->p); }
static inline size_t beck__rd_offset(const beck__proto_reader_t *r) { return (size_t)(r->p - r->base); }
/* Sets the error if none is set yet. */
void beck__rd_fail(beck__proto_reader_t *r, beck_err_t err, const char *why);

bool beck__rd_bool(beck__proto_reader_t *r);
int8_t beck__rd_i8(beck__proto_reader_t *r);
int16_t beck__rd_i16(beck__proto_reader_t *r);
int32_t beck__rd_i32(beck__proto_reader_t *r);
int64_t beck__rd_i64(beck__proto_reader_t *r);
uint16_t beck__rd_u16(beck__proto_reader_t *r);
uint32_t beck__rd_u32(beck__proto_reader_t *r);
double beck__rd_f64(beck__proto_reader_t *r);
void beck__rd_uuid(beck__proto_reader_t *r, beck_uuid_t *out);
/* UNSIGNED_VARINT, at most 5 bytes, must fit 32 bits. */
uint32_t beck__rd_uvarint(beck__proto_reader_t *r);
/* VARINT (zigzag, 32 bit) and VARLONG (zigzag, 64 bit). */
int32_t beck__rd_varint(beck__proto_reader_t *r);
int64_t beck__rd_varlong(beck__proto_reader_t *r);
/* Borrows n bytes; NULL (and error) when fewer are left. */
const uint8_t *beck__rd_take(beck__proto_reader_t *r, size_t n);
void beck__rd_skip(beck__proto_reader_t *r, size_t n);
/* STRING / NULLABLE_STRING and their compact forms. Borrows. A null where
 * `nullable` is false is an error. */
beck_nstr_t beck__rd_string(beck__proto_reader_t *r, bool compact, bool nullable);
/* BYTES / NULLABLE_BYTES / RECORDS and compact forms. Borrows. */
beck_nstr_t beck__rd_bytes(beck__proto_reader_t *r, bool compact, bool nullable);
/* ARRAY / COMPACT_ARRAY count: -1 = null (error when !nullable). The count is
 * checked against the bytes left: each element takes at least
 * `min_elem_size` bytes (treated as 1 when 0). */
int32_t beck__rd_array_len(beck__proto_reader_t *r, bool compact, bool nullable, size_t min_elem_size);

/* ---- writer ------------------------------------------------------------- */

typedef struct beck__proto_writer {
  beck_buf_t *buf;
  beck_err_t err; /* sticky */
  /* Zero-copy records (beck_proto_encode_sg): when splice_arena is set,
   * RECORDS bytes are recorded here instead of being appended. */
  beck_arena_t *splice_arena;
  beck_proto_splice_t *splices;
  size_t nsplices, splice_cap;
} beck__proto_writer_t;

void beck__wr_bytes_raw(beck__proto_writer_t *w, const void *p, size_t n);
void beck__wr_i8(beck__proto_writer_t *w, int8_t v);
void beck__wr_i16(beck__proto_writer_t *w, int16_t v);
void beck__wr_i32(beck__proto_writer_t *w, int32_t v);
void beck__wr_i64(beck__proto_writer_t *w, int64_t v);
void beck__wr_u16(beck__proto_writer_t *w, uint16_t v);
void beck__wr_u32(beck__proto_writer_t *w, uint32_t v);
void beck__wr_f64(beck__proto_writer_t *w, double v);
void beck__wr_uuid(beck__proto_writer_t *w, const beck_uuid_t *v);
void beck__wr_uvarint(beck__proto_writer_t *w, uint32_t v);
void beck__wr_varint(beck__proto_writer_t *w, int32_t v);
void beck__wr_varlong(beck__proto_writer_t *w, int64_t v);
/* Bytes of the UNSIGNED_VARINT encoding of v. */
size_t beck__uvarint_size(uint32_t v);
/* Writes a (possibly null) string/bytes length prefix and the bytes.
 * `wide` selects the INT32 length of BYTES over the INT16 of STRING. The
 * caller has checked nullability and range. */
void beck__wr_nstr(beck__proto_writer_t *w, beck_nstr_t s, bool compact, bool wide);
/* Array count prefix; count -1 = null. */
void beck__wr_array_len(beck__proto_writer_t *w, int32_t count, bool compact);

#endif
