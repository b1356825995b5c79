/*
 * codec.c - the one table-driven encoder/decoder for every message.
 *
 * It walks the descriptors desc.c generates from msg_*.h. Per struct, in
 * wire order: every untagged field whose version range holds the message
 * version; then, in flexible versions (KIP-482), the tag buffer:
 *
 *   TAG_BUFFER := count:uvarint { tag:uvarint size:uvarint payload[size] }*
 *
 * Flexible versions also switch every string, bytes, records and array to
 * its compact form (uvarint length + 1, 0 = null). Unknown tags are skipped;
 * a known tag's payload must be consumed exactly. Tagged fields are written
 * in ascending tag order and only when they differ from their default.
 *
 * Decode invariants: one sticky reader per frame (a tag payload gets a
 * bounded sub-reader); every array count is checked against the bytes left
 * divided by the smallest wire size of one element before the arena is
 * asked for memory; loops stop at the first error; recursion depth is fixed
 * by the descriptors, never by the input.
 */
#include "proto/proto.h"

#include <stdio.h>
#include <string.h>

#include "proto/proto_int.h"

#define MAX_DEPTH 16

typedef struct path_elem {
  const char *name;
  int32_t index; /* -1: not inside an array element */
} path_elem_t;

typedef struct ctx {
  int16_t version;
  bool flexible;
  const char *what; /* struct name for messages */
  beck_error_t *err;
  bool reported;
  int depth;
  path_elem_t path[MAX_DEPTH];
  /* decode */
  beck__proto_reader_t *r;
  beck_arena_t *arena;
  /* encode */
  beck__proto_writer_t *w;
  beck_err_t enc_err;
} ctx_t;

/* ---- helpers ------------------------------------------------------------ */

static bool in_version(const beck__proto_field_t *f, int16_t v) { return beck__proto_in(v, f->vmin, f->vmax); }
static bool nullable_in(const beck__proto_field_t *f, int16_t v) { return beck__proto_in(v, f->nmin, f->nmax); }

static size_t path_format(const ctx_t *c, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < c->depth && i < MAX_DEPTH && n < cap; i++) {
    int k;
    if (c->path[i].index >= 0)
      k = snprintf(buf + n, cap - n, "%s%s[%d]", i ? "." : "", c->path[i].name, (int)c->path[i].index);
    else
      k = snprintf(buf + n, cap - n, "%s%s", i ? "." : "", c->path[i].name);
    if (k < 0)
      break;
    n += (size_t)k;
  }
  return n;
}

static void push(ctx_t *c, const char *name) {
  if (c->depth < MAX_DEPTH) {
    c->path[c->depth].name = name;
    c->path[c->depth].index = -1;
  }
  c->depth++;
}
static void pop(ctx_t *c) { c->depth--; }
static void set_index(ctx_t *c, int32_t i) {
  if (c->depth > 0 && c->depth <= MAX_DEPTH)
    c->path[c->depth - 1].index = i;
}

/* Formats the first decode error with the path of the field being read. */
static void report_decode(ctx_t *c) {
  if (c->reported || c->r->err == BECK_ERR_OK)
    return;
  c->reported = true;
  if (c->err == NULL)
    return;
  char path[256];
  path_format(c, path, sizeof path);
  beck_error_set(c->err, c->r->err, "%s v%d: %s%s%s (offset %zu)", c->what, c->version, path, path[0] ? ": " : "",
                 c->r->why ? c->r->why : "malformed", beck__rd_offset(c->r));
}

static void fail_encode(ctx_t *c, beck_err_t code, const char *why) {
  if (c->enc_err)
    return;
  c->enc_err = code;
  if (c->err == NULL)
    return;
  char path[256];
  path_format(c, path, sizeof path);
  beck_error_set(c->err, code, "%s v%d: %s: %s", c->what, c->version, path, why);
}

static size_t elem_c_size(uint8_t elem, const beck__proto_struct_t *sub) {
  switch (elem) {
  case BECK_PK_I32:
    return sizeof(int32_t);
  case BECK_PK_I64:
    return sizeof(int64_t);
  case BECK_PK_STR:
    return sizeof(beck_nstr_t);
  case BECK_PK_UUID:
    return sizeof(beck_uuid_t);
  case BECK_PK_STRUCT:
    return sub->size;
  default:
    return 0;
  }
}

static size_t min_wire_struct(const beck__proto_struct_t *d, int16_t v, bool flexible);

/* Smallest number of bytes one value of this kind can take on the wire. */
static size_t min_wire_kind(uint8_t kind, const beck__proto_struct_t *sub, int16_t v, bool flexible) {
  switch (kind) {
  case BECK_PK_BOOL:
  case BECK_PK_I8:
  case BECK_PK_UVARINT:
  case BECK_PK_VARINT:
  case BECK_PK_VARLONG:
    return 1;
  case BECK_PK_I16:
  case BECK_PK_U16:
    return 2;
  case BECK_PK_I32:
  case BECK_PK_U32:
    return 4;
  case BECK_PK_I64:
  case BECK_PK_F64:
    return 8;
  case BECK_PK_UUID:
    return 16;
  case BECK_PK_STR:
    return flexible ? 1 : 2;
  case BECK_PK_BYTES:
  case BECK_PK_RECORDS:
  case BECK_PK_ARRAY:
    return flexible ? 1 : 4;
  case BECK_PK_STRUCT:
    return min_wire_struct(sub, v, flexible);
  default:
    return 1;
  }
}

static size_t min_wire_struct(const beck__proto_struct_t *d, int16_t v, bool flexible) {
  size_t n = flexible ? 1 : 0; /* the tag buffer count */
  for (size_t i = 0; i < d->nfields; i++) {
    const beck__proto_field_t *f = &d->fields[i];
    if (in_version(f, v) && f->tag < 0)
      n += min_wire_kind(f->kind, f->sub, v, flexible);
  }
  return n;
}

/* Arrays in the C structs are {T *items; int32_t count;}; items is moved with
 * memcpy so no pointer is accessed through a differently typed lvalue. */
static void array_get(const void *field, void **items, int32_t *count) {
  memcpy(items, field, sizeof *items);
  memcpy(count, (const char *)field + sizeof(void *), sizeof *count);
}
static void array_set(void *field, void *items, int32_t count) {
  memcpy(field, &items, sizeof items);
  memcpy((char *)field + sizeof(void *), &count, sizeof count);
}

/* ---- defaults ------------------------------------------------------------- */

static void set_defaults(const beck__proto_struct_t *d, void *dst);

static void store_number(uint8_t kind, void *p, int64_t v) {
  switch (kind) {
  case BECK_PK_BOOL:
    *(bool *)p = v != 0;
    break;
  case BECK_PK_I8:
    *(int8_t *)p = (int8_t)v;
    break;
  case BECK_PK_I16:
    *(int16_t *)p = (int16_t)v;
    break;
  case BECK_PK_I32:
  case BECK_PK_VARINT:
    *(int32_t *)p = (int32_t)v;
    break;
  case BECK_PK_I64:
  case BECK_PK_VARLONG:
    *(int64_t *)p = v;
    break;
  case BECK_PK_U16:
    *(uint16_t *)p = (uint16_t)v;
    break;
  case BECK_PK_U32:
  case BECK_PK_UVARINT:
    *(uint32_t *)p = (uint32_t)v;
    break;
  case BECK_PK_F64:
    *(double *)p = (double)v;
    break;
  default:
    break;
  }
}

static void set_default(const beck__proto_field_t *f, void *p) {
  switch (f->kind) {
  case BECK_PK_UUID:
    memset(p, 0, sizeof(beck_uuid_t));
    break;
  case BECK_PK_STR:
  case BECK_PK_BYTES:
  case BECK_PK_RECORDS: {
    beck_nstr_t s = {NULL, f->dflt < 0 ? -1 : 0};
    *(beck_nstr_t *)p = s;
    break;
  }
  case BECK_PK_ARRAY:
    array_set(p, NULL, f->dflt < 0 ? -1 : 0);
    break;
  case BECK_PK_STRUCT:
    set_defaults(f->sub, p);
    break;
  default:
    store_number(f->kind, p, f->dflt);
    break;
  }
}

static void set_defaults(const beck__proto_struct_t *d, void *dst) {
  for (size_t i = 0; i < d->nfields; i++)
    set_default(&d->fields[i], (char *)dst + d->fields[i].offset);
}

/* ---- decode ---------------------------------------------------------------- */

static void decode_struct(ctx_t *c, const beck__proto_struct_t *d, void *dst);

static void decode_value(ctx_t *c, uint8_t kind, uint8_t elem, const beck__proto_struct_t *sub, bool nullable,
                         void *p) {
  beck__proto_reader_t *r = c->r;
  bool compact = c->flexible;
  switch (kind) {
  case BECK_PK_BOOL:
    *(bool *)p = beck__rd_bool(r);
    break;
  case BECK_PK_I8:
    *(int8_t *)p = beck__rd_i8(r);
    break;
  case BECK_PK_I16:
    *(int16_t *)p = beck__rd_i16(r);
    break;
  case BECK_PK_I32:
    *(int32_t *)p = beck__rd_i32(r);
    break;
  case BECK_PK_I64:
    *(int64_t *)p = beck__rd_i64(r);
    break;
  case BECK_PK_U16:
    *(uint16_t *)p = beck__rd_u16(r);
    break;
  case BECK_PK_U32:
    *(uint32_t *)p = beck__rd_u32(r);
    break;
  case BECK_PK_F64:
    *(double *)p = beck__rd_f64(r);
    break;
  case BECK_PK_UUID:
    beck__rd_uuid(r, (beck_uuid_t *)p);
    break;
  case BECK_PK_UVARINT:
    *(uint32_t *)p = beck__rd_uvarint(r);
    break;
  case BECK_PK_VARINT:
    *(int32_t *)p = beck__rd_varint(r);
    break;
  case BECK_PK_VARLONG:
    *(int64_t *)p = beck__rd_varlong(r);
    break;
  case BECK_PK_STR:
    *(beck_nstr_t *)p = beck__rd_string(r, compact, nullable);
    break;
  case BECK_PK_BYTES:
  case BECK_PK_RECORDS:
    *(beck_nstr_t *)p = beck__rd_bytes(r, compact, nullable);
    break;
  case BECK_PK_STRUCT:
    decode_struct(c, sub, p);
    break;
  case BECK_PK_ARRAY: {
    size_t min_elem = min_wire_kind(elem, sub, c->version, c->flexible);
    int32_t n = beck__rd_array_len(r, compact, nullable, min_elem);
    if (r->err)
      break;
    if (n <= 0) {
      array_set(p, NULL, n);
      break;
    }
    size_t esz = elem_c_size(elem, sub);
    char *items = beck_arena_calloc(c->arena, (size_t)n, esz);
    if (items == NULL) {
      beck__rd_fail(r, BECK_ERR_NOMEM, "out of memory");
      break;
    }
    array_set(p, items, n);
    for (int32_t i = 0; i < n && !r->err; i++) {
      set_index(c, i);
      decode_value(c, elem, BECK_PK_NONE, sub, false, items + (size_t)i * esz);
    }
    break;
  }
  default:
    beck__rd_fail(r, BECK_ERR_PARSE, "bad descriptor");
    break;
  }
}

static void decode_field(ctx_t *c, const beck__proto_field_t *f, void *base) {
  push(c, f->name);
  decode_value(c, f->kind, f->elem, f->sub, nullable_in(f, c->version), (char *)base + f->offset);
  report_decode(c);
  pop(c);
}

static const beck__proto_field_t *find_tag(const beck__proto_struct_t *d, uint32_t tag, int16_t v) {
  for (size_t i = 0; i < d->nfields; i++) {
    const beck__proto_field_t *f = &d->fields[i];
    if (f->tag >= 0 && (uint32_t)f->tag == tag && in_version(f, v))
      return f;
  }
  return NULL;
}

static void decode_tags(ctx_t *c, const beck__proto_struct_t *d, void *dst) {
  beck__proto_reader_t *r = c->r;
  push(c, "_tagged_fields");
  uint32_t count = beck__rd_uvarint(r);
  if (!r->err && count > beck__rd_left(r) / 2)
    beck__rd_fail(r, BECK_ERR_PARSE, "tag count exceeds the bytes left");
  for (uint32_t i = 0; i < count && !r->err; i++) {
    uint32_t tag = beck__rd_uvarint(r);
    uint32_t size = beck__rd_uvarint(r);
    const uint8_t *payload = beck__rd_take(r, size);
    if (r->err)
      break;
    const beck__proto_field_t *f = find_tag(d, tag, c->version);
    if (f == NULL)
      continue; /* unknown tag: skipped */
    beck__proto_reader_t sub;
    sub.base = r->base;
    sub.p = payload;
    sub.end = payload + size;
    sub.err = BECK_ERR_OK;
    sub.why = NULL;
    c->r = &sub;
    pop(c);
    push(c, f->name);
    decode_value(c, f->kind, f->elem, f->sub, nullable_in(f, c->version), (char *)dst + f->offset);
    if (!sub.err && beck__rd_left(&sub) != 0)
      beck__rd_fail(&sub, BECK_ERR_PARSE, "tagged field shorter than its size");
    report_decode(c);
    pop(c);
    push(c, "_tagged_fields");
    c->r = r;
    if (sub.err) {
      r->p = sub.p;
      beck__rd_fail(r, sub.err, sub.why);
    }
  }
  report_decode(c);
  pop(c);
}

static void decode_struct(ctx_t *c, const beck__proto_struct_t *d, void *dst) {
  set_defaults(d, dst);
  for (size_t i = 0; i < d->nfields && !c->r->err; i++) {
    const beck__proto_field_t *f = &d->fields[i];
    if (in_version(f, c->version) && f->tag < 0)
      decode_field(c, f, dst);
  }
  if (c->flexible && !c->r->err)
    decode_tags(c, d, dst);
}

beck_err_t beck__proto_decode_struct(const beck__proto_struct_t *d, int16_t version, bool flexible, const uint8_t *p,
                                     size_t len, beck_arena_t *arena, void *out, size_t *consumed, beck_error_t *err) {
  beck__proto_reader_t r;
  beck__rd_init(&r, p, len);
  ctx_t c;
  memset(&c, 0, sizeof c);
  c.version = version;
  c.flexible = flexible;
  c.what = d->name;
  c.err = err;
  c.r = &r;
  c.arena = arena;
  memset(out, 0, d->size);
  decode_struct(&c, d, out);
  if (r.err) {
    report_decode(&c);
    return r.err;
  }
  if (consumed != NULL)
    *consumed = beck__rd_offset(&r);
  return BECK_ERR_OK;
}

beck_err_t beck_proto_decode(int16_t api_key, int16_t version, bool is_request, const uint8_t *bytes, size_t len,
                             beck_arena_t *arena, void *out, beck_error_t *err) {
  const beck__proto_api_t *api = beck__proto_api(api_key);
  if (api == NULL)
    return beck_error_set(err, BECK_ERR_UNSUPPORTED, "unknown api key %d", api_key);
  if (version < api->min_version || version > api->max_version)
    return beck_error_set(err, BECK_ERR_UNSUPPORTED, "%s %s v%d: unsupported version (codec has %d-%d)", api->name,
                          is_request ? "request" : "response", version, api->min_version, api->max_version);
  const beck__proto_struct_t *d = is_request ? api->request : api->response;
  size_t consumed = 0;
  beck_err_t rc =
      beck__proto_decode_struct(d, version, version >= api->flexible_from, bytes, len, arena, out, &consumed, err);
  if (rc)
    return rc;
  if (consumed != len)
    return beck_error_set(err, BECK_ERR_PARSE, "%s v%d: %zu trailing bytes after the body (offset %zu)", d->name,
                          version, len - consumed, consumed);
  return BECK_ERR_OK;
}

/* ---- encode ---------------------------------------------------------------- */

static void encode_struct(ctx_t *c, const beck__proto_struct_t *d, const void *src);

static void add_splice(ctx_t *c, beck_nstr_t s) {
  beck__proto_writer_t *w = c->w;
  if (w->nsplices == w->splice_cap) {
    size_t cap = w->splice_cap ? w->splice_cap * 2 : 8;
    beck_proto_splice_t *n = beck_arena_calloc(w->splice_arena, cap, sizeof *n);
    if (n == NULL) {
      w->err = BECK_ERR_NOMEM;
      return;
    }
    if (w->nsplices)
      memcpy(n, w->splices, w->nsplices * sizeof *n);
    w->splices = n;
    w->splice_cap = cap;
  }
  w->splices[w->nsplices].at = w->buf->len;
  w->splices[w->nsplices].data = beck_slice(s.ptr, (size_t)s.len);
  w->nsplices++;
}

static void encode_value(ctx_t *c, uint8_t kind, uint8_t elem, const beck__proto_struct_t *sub, bool nullable,
                         const void *p) {
  beck__proto_writer_t *w = c->w;
  bool compact = c->flexible;
  switch (kind) {
  case BECK_PK_BOOL:
    beck__wr_i8(w, *(const bool *)p ? 1 : 0);
    break;
  case BECK_PK_I8:
    beck__wr_i8(w, *(const int8_t *)p);
    break;
  case BECK_PK_I16:
    beck__wr_i16(w, *(const int16_t *)p);
    break;
  case BECK_PK_I32:
    beck__wr_i32(w, *(const int32_t *)p);
    break;
  case BECK_PK_I64:
    beck__wr_i64(w, *(const int64_t *)p);
    break;
  case BECK_PK_U16:
    beck__wr_u16(w, *(const uint16_t *)p);
    break;
  case BECK_PK_U32:
    beck__wr_u32(w, *(const uint32_t *)p);
    break;
  case BECK_PK_F64:
    beck__wr_f64(w, *(const double *)p);
    break;
  case BECK_PK_UUID:
    beck__wr_uuid(w, (const beck_uuid_t *)p);
    break;
  case BECK_PK_UVARINT:
    beck__wr_uvarint(w, *(const uint32_t *)p);
    break;
  case BECK_PK_VARINT:
    beck__wr_varint(w, *(const int32_t *)p);
    break;
  case BECK_PK_VARLONG:
    beck__wr_varlong(w, *(const int64_t *)p);
    break;
  case BECK_PK_STR:
  case BECK_PK_BYTES:
  case BECK_PK_RECORDS: {
    beck_nstr_t s = *(const beck_nstr_t *)p;
    if (s.len < 0 && !nullable) {
      fail_encode(c, BECK_ERR_INVAL, "null in a non-nullable field");
      break;
    }
    if (kind == BECK_PK_STR && !compact && s.len > INT16_MAX) {
      fail_encode(c, BECK_ERR_INVAL, "string longer than 32767 bytes");
      break;
    }
    if (s.len > 0 && s.ptr == NULL) {
      fail_encode(c, BECK_ERR_INVAL, "length > 0 with a NULL pointer");
      break;
    }
    if (kind == BECK_PK_RECORDS && w->splice_arena != NULL && s.len > 0) {
      /* write the length prefix, then record where the bytes belong */
      if (compact)
        beck__wr_uvarint(w, (uint32_t)s.len + 1);
      else
        beck__wr_i32(w, s.len);
      if (!w->err)
        add_splice(c, s);
      break;
    }
    beck__wr_nstr(w, s, compact, kind != BECK_PK_STR);
    break;
  }
  case BECK_PK_STRUCT:
    encode_struct(c, sub, p);
    break;
  case BECK_PK_ARRAY: {
    void *items;
    int32_t n;
    array_get(p, &items, &n);
    if (n < -1) {
      fail_encode(c, BECK_ERR_INVAL, "negative array count");
      break;
    }
    if (n == -1 && !nullable) {
      fail_encode(c, BECK_ERR_INVAL, "null array in a non-nullable field");
      break;
    }
    if (n > 0 && items == NULL) {
      fail_encode(c, BECK_ERR_INVAL, "count > 0 with NULL items");
      break;
    }
    beck__wr_array_len(w, n, compact);
    size_t esz = elem_c_size(elem, sub);
    for (int32_t i = 0; i < n && !w->err && !c->enc_err; i++) {
      set_index(c, i);
      encode_value(c, elem, BECK_PK_NONE, sub, false, (const char *)items + (size_t)i * esz);
    }
    break;
  }
  default:
    fail_encode(c, BECK_ERR_INVAL, "bad descriptor");
    break;
  }
}

static void encode_field(ctx_t *c, const beck__proto_field_t *f, const void *base) {
  push(c, f->name);
  encode_value(c, f->kind, f->elem, f->sub, nullable_in(f, c->version), (const char *)base + f->offset);
  pop(c);
}

static bool struct_is_default(const beck__proto_struct_t *d, const void *src, int16_t v);

/* True when a tagged field holds its default and is therefore not written. */
static bool field_is_default(const beck__proto_field_t *f, const void *p, int16_t v) {
  switch (f->kind) {
  case BECK_PK_BOOL:
    return (*(const bool *)p ? 1 : 0) == (f->dflt != 0);
  case BECK_PK_I8:
    return *(const int8_t *)p == (int8_t)f->dflt;
  case BECK_PK_I16:
    return *(const int16_t *)p == (int16_t)f->dflt;
  case BECK_PK_I32:
  case BECK_PK_VARINT:
    return *(const int32_t *)p == (int32_t)f->dflt;
  case BECK_PK_I64:
  case BECK_PK_VARLONG:
    return *(const int64_t *)p == f->dflt;
  case BECK_PK_U16:
    return *(const uint16_t *)p == (uint16_t)f->dflt;
  case BECK_PK_U32:
  case BECK_PK_UVARINT:
    return *(const uint32_t *)p == (uint32_t)f->dflt;
  case BECK_PK_F64: {
    double d = *(const double *)p;
    return memcmp(&d, &(double){(double)f->dflt}, sizeof d) == 0;
  }
  case BECK_PK_UUID: {
    static const beck_uuid_t zero;
    return memcmp(p, &zero, sizeof zero) == 0;
  }
  case BECK_PK_STR:
  case BECK_PK_BYTES:
  case BECK_PK_RECORDS: {
    const beck_nstr_t *s = p;
    return f->dflt < 0 ? s->len < 0 : s->len == 0;
  }
  case BECK_PK_ARRAY: {
    void *items;
    int32_t n;
    array_get(p, &items, &n);
    return f->dflt < 0 ? n < 0 : n == 0;
  }
  case BECK_PK_STRUCT:
    return struct_is_default(f->sub, p, v);
  default:
    return true;
  }
}

static bool struct_is_default(const beck__proto_struct_t *d, const void *src, int16_t v) {
  for (size_t i = 0; i < d->nfields; i++) {
    const beck__proto_field_t *f = &d->fields[i];
    if (in_version(f, v) && !field_is_default(f, (const char *)src + f->offset, v))
      return false;
  }
  return true;
}

/* The tagged fields of d to write, in ascending tag order. Returns the count
 * (at most cap; descriptors have few tags). */
static size_t tags_to_write(const beck__proto_struct_t *d, const void *src, int16_t v, const beck__proto_field_t **out,
                            size_t cap) {
  size_t n = 0;
  int64_t last = -1;
  for (;;) {
    const beck__proto_field_t *next = NULL;
    for (size_t i = 0; i < d->nfields; i++) {
      const beck__proto_field_t *f = &d->fields[i];
      if (f->tag > last && in_version(f, v) && (next == NULL || f->tag < next->tag))
        next = f;
    }
    if (next == NULL || n == cap)
      return n;
    last = next->tag;
    if (!field_is_default(next, (const char *)src + next->offset, v))
      out[n++] = next;
  }
}

static void encode_tags(ctx_t *c, const beck__proto_struct_t *d, const void *src) {
  const beck__proto_field_t *tagged[32];
  size_t n = tags_to_write(d, src, c->version, tagged, 32);
  beck__wr_uvarint(c->w, (uint32_t)n);
  for (size_t i = 0; i < n && !c->w->err && !c->enc_err; i++) {
    beck_buf_t tmp = {0};
    beck__proto_writer_t tw = {.buf = &tmp};
    beck__proto_writer_t *outer = c->w;
    c->w = &tw;
    encode_field(c, tagged[i], src);
    c->w = outer;
    if (tw.err && !outer->err)
      outer->err = tw.err;
    if (!outer->err && !c->enc_err) {
      beck__wr_uvarint(outer, (uint32_t)tagged[i]->tag);
      beck__wr_uvarint(outer, (uint32_t)tmp.len);
      beck__wr_bytes_raw(outer, tmp.data, tmp.len);
    }
    beck_buf_free(&tmp);
  }
}

static void encode_struct(ctx_t *c, const beck__proto_struct_t *d, const void *src) {
  for (size_t i = 0; i < d->nfields && !c->w->err && !c->enc_err; i++) {
    const beck__proto_field_t *f = &d->fields[i];
    if (in_version(f, c->version) && f->tag < 0)
      encode_field(c, f, src);
  }
  if (c->flexible && !c->w->err && !c->enc_err)
    encode_tags(c, d, src);
}

static beck_err_t encode_with(const beck__proto_struct_t *d, int16_t version, bool flexible, const void *msg,
                              beck__proto_writer_t *w, beck_error_t *err) {
  ctx_t c;
  memset(&c, 0, sizeof c);
  c.version = version;
  c.flexible = flexible;
  c.what = d->name;
  c.err = err;
  c.w = w;
  size_t start = w->buf->len;
  encode_struct(&c, d, msg);
  beck_err_t rc = c.enc_err ? c.enc_err : w->err;
  if (rc) {
    w->buf->len = start;
    if (rc == BECK_ERR_NOMEM && c.enc_err == BECK_ERR_OK)
      beck_error_set(err, rc, "%s v%d: out of memory", d->name, version);
  }
  return rc;
}

beck_err_t beck__proto_encode_struct(const beck__proto_struct_t *d, int16_t version, bool flexible, const void *msg,
                                     beck_buf_t *out, beck_error_t *err) {
  beck__proto_writer_t w = {.buf = out};
  return encode_with(d, version, flexible, msg, &w, err);
}

static const beck__proto_api_t *api_for_encode(int16_t api_key, int16_t version, bool is_request, beck_error_t *err) {
  const beck__proto_api_t *api = beck__proto_api(api_key);
  if (api == NULL) {
    beck_error_set(err, BECK_ERR_UNSUPPORTED, "unknown api key %d", api_key);
    return NULL;
  }
  if (version < api->min_version || version > api->max_version) {
    beck_error_set(err, BECK_ERR_UNSUPPORTED, "%s %s v%d: unsupported version (codec has %d-%d)", api->name,
                   is_request ? "request" : "response", version, api->min_version, api->max_version);
    return NULL;
  }
  return api;
}

beck_err_t beck_proto_encode(int16_t api_key, int16_t version, bool is_request, const void *msg, beck_buf_t *out,
                             beck_error_t *err) {
  const beck__proto_api_t *api = api_for_encode(api_key, version, is_request, err);
  if (api == NULL)
    return BECK_ERR_UNSUPPORTED;
  return beck__proto_encode_struct(is_request ? api->request : api->response, version, version >= api->flexible_from,
                                   msg, out, err);
}

beck_err_t beck_proto_encode_sg(int16_t api_key, int16_t version, bool is_request, const void *msg, beck_buf_t *out,
                                beck_arena_t *arena, beck_proto_splice_t **splices, size_t *nsplices,
                                beck_error_t *err) {
  *splices = NULL;
  *nsplices = 0;
  const beck__proto_api_t *api = api_for_encode(api_key, version, is_request, err);
  if (api == NULL)
    return BECK_ERR_UNSUPPORTED;
  beck__proto_writer_t w = {.buf = out, .splice_arena = arena};
  beck_err_t rc =
      encode_with(is_request ? api->request : api->response, version, version >= api->flexible_from, msg, &w, err);
  if (rc == BECK_ERR_OK) {
    *splices = w.splices;
    *nsplices = w.nsplices;
  }
  return rc;
}
