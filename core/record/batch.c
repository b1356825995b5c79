/* batch.c - RecordBatch v2 header codec, validation, record iteration and
 * an uncompressed batch builder. See batch.h for the layout. */
#include "record/batch.h"

#include "base/crc32c.h"

beck_err_t beck_batch_header_decode(const uint8_t *p, size_t len, beck_batch_header_t *h) {
  if (len < BECK_BATCH_HEADER_SIZE)
    return BECK_ERR_CORRUPT;
  h->base_offset = (int64_t)beck_load_be64(p + BECK_BATCH_OFF_BASE_OFFSET);
  h->batch_length = (int32_t)beck_load_be32(p + BECK_BATCH_OFF_LENGTH);
  h->leader_epoch = (int32_t)beck_load_be32(p + BECK_BATCH_OFF_LEADER_EPOCH);
  h->magic = (int8_t)p[BECK_BATCH_OFF_MAGIC];
  h->crc = beck_load_be32(p + BECK_BATCH_OFF_CRC);
  h->attributes = (int16_t)beck_load_be16(p + BECK_BATCH_OFF_ATTRIBUTES);
  h->last_offset_delta = (int32_t)beck_load_be32(p + BECK_BATCH_OFF_LAST_OFFSET_DELTA);
  h->base_timestamp = (int64_t)beck_load_be64(p + BECK_BATCH_OFF_BASE_TIMESTAMP);
  h->max_timestamp = (int64_t)beck_load_be64(p + BECK_BATCH_OFF_MAX_TIMESTAMP);
  h->producer_id = (int64_t)beck_load_be64(p + BECK_BATCH_OFF_PRODUCER_ID);
  h->producer_epoch = (int16_t)beck_load_be16(p + BECK_BATCH_OFF_PRODUCER_EPOCH);
  h->base_sequence = (int32_t)beck_load_be32(p + BECK_BATCH_OFF_BASE_SEQUENCE);
  h->records_count = (int32_t)beck_load_be32(p + BECK_BATCH_OFF_RECORDS_COUNT);
  return BECK_ERR_OK;
}

beck_err_t beck_batch_header_check(const beck_batch_header_t *h, int64_t max_total, beck_error_t *e) {
  if (h->magic != 2)
    return beck_error_set(e, BECK_ERR_CORRUPT, "unsupported magic %d (only RecordBatch v2 is accepted)", h->magic);
  if (h->batch_length < BECK_BATCH_HEADER_SIZE - BECK_BATCH_LOG_OVERHEAD)
    return beck_error_set(e, BECK_ERR_CORRUPT, "batch length %d is shorter than the %d-byte header", h->batch_length,
                          BECK_BATCH_HEADER_SIZE - BECK_BATCH_LOG_OVERHEAD);
  if (max_total > 0 && (int64_t)h->batch_length + BECK_BATCH_LOG_OVERHEAD > max_total)
    return beck_error_set(e, BECK_ERR_TOOBIG, "batch of %lld bytes exceeds the limit of %lld bytes",
                          (long long)h->batch_length + BECK_BATCH_LOG_OVERHEAD, (long long)max_total);
  if (h->last_offset_delta < 0)
    return beck_error_set(e, BECK_ERR_CORRUPT, "negative last offset delta %d", h->last_offset_delta);
  if (h->records_count < 0)
    return beck_error_set(e, BECK_ERR_CORRUPT, "negative record count %d", h->records_count);
  if ((h->attributes & BECK_BATCH_ATTR_CODEC_MASK) > BECK_CODEC_ZSTD)
    return beck_error_set(e, BECK_ERR_CORRUPT, "unknown compression codec %d", h->attributes & BECK_BATCH_ATTR_CODEC_MASK);
  return BECK_ERR_OK;
}

beck_err_t beck_batch_validate(const uint8_t *p, size_t len, bool strict_count, beck_batch_header_t *out,
                               beck_error_t *e) {
  beck_batch_header_t h;
  if (beck_batch_header_decode(p, len, &h) != BECK_ERR_OK)
    return beck_error_set(e, BECK_ERR_CORRUPT, "%zu bytes is shorter than a batch header (%d bytes)", len,
                          BECK_BATCH_HEADER_SIZE);
  beck_err_t err = beck_batch_header_check(&h, 0, e);
  if (err)
    return err;
  if ((uint64_t)h.batch_length + BECK_BATCH_LOG_OVERHEAD != len)
    return beck_error_set(e, BECK_ERR_CORRUPT, "batch length field says %lld bytes but %zu were given",
                          (long long)h.batch_length + BECK_BATCH_LOG_OVERHEAD, len);
  if (strict_count && (int64_t)h.records_count != (int64_t)h.last_offset_delta + 1)
    return beck_error_set(e, BECK_ERR_CORRUPT, "record count %d does not match last offset delta %d",
                          h.records_count, h.last_offset_delta);
  uint32_t crc = beck_crc32c(0, p + BECK_BATCH_CRC_START, len - BECK_BATCH_CRC_START);
  if (crc != h.crc)
    return beck_error_set(e, BECK_ERR_CORRUPT, "CRC mismatch (stored 0x%08x, computed 0x%08x)", h.crc, crc);
  if (out)
    *out = h;
  return BECK_ERR_OK;
}

void beck_batch_update_crc(uint8_t *p, size_t len) {
  beck_store_be32(p + BECK_BATCH_OFF_CRC, beck_crc32c(0, p + BECK_BATCH_CRC_START, len - BECK_BATCH_CRC_START));
}

void beck_batch_set_base_offset(uint8_t *p, int64_t base_offset) {
  beck_store_be64(p + BECK_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void beck_batch_set_leader_epoch(uint8_t *p, int32_t epoch) {
  beck_store_be32(p + BECK_BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

/* ---- varints ---------------------------------------------------------- */

size_t beck_uvarint_decode(const uint8_t *p, const uint8_t *end, uint32_t *out) {
  uint32_t v = 0;
  for (size_t i = 0; i < 5; i++) {
    if (p + i >= end)
      return 0;
    uint8_t b = p[i];
    if (i == 4 && (b & 0xf0))
      return 0;
    v |= (uint32_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *out = v;
      return i + 1;
    }
  }
  return 0;
}

static size_t uvarlong_decode(const uint8_t *p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (size_t i = 0; i < 10; i++) {
    if (p + i >= end)
      return 0;
    uint8_t b = p[i];
    if (i == 9 && (b & 0xfe))
      return 0;
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *out = v;
      return i + 1;
    }
  }
  return 0;
}

size_t beck_varint_decode(const uint8_t *p, const uint8_t *end, int32_t *out) {
  uint32_t u;
  size_t n = beck_uvarint_decode(p, end, &u);
  if (n)
    *out = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
  return n;
}

size_t beck_varlong_decode(const uint8_t *p, const uint8_t *end, int64_t *out) {
  uint64_t u;
  size_t n = uvarlong_decode(p, end, &u);
  if (n)
    *out = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
  return n;
}

size_t beck_uvarint_encode(uint8_t *p, uint32_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

size_t beck_varint_encode(uint8_t *p, int32_t v) {
  return beck_uvarint_encode(p, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

size_t beck_varlong_encode(uint8_t *p, int64_t v) {
  uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 0;
  while (u >= 0x80) {
    p[n++] = (uint8_t)(u | 0x80);
    u >>= 7;
  }
  p[n++] = (uint8_t)u;
  return n;
}

/* ---- record iteration -------------------------------------------------- */

void beck_record_iter_init(beck_record_iter_t *it, const beck_batch_header_t *hdr, const uint8_t *records,
                           size_t len) {
  static const uint8_t empty[1];
  if (records == NULL) /* an empty records section may come as NULL; NULL + 0 is undefined */
    records = empty;
  it->p = records;
  it->end = records + len;
  it->remaining = hdr->records_count;
  it->hdr = *hdr;
  it->err = BECK_ERR_OK;
}

static int iter_fail(beck_record_iter_t *it) {
  it->err = BECK_ERR_CORRUPT;
  return BECK_ERR_CORRUPT;
}

/* Reads a varint length then that many bytes (-1 = null when nullable). */
static int read_lenbytes(const uint8_t **pp, const uint8_t *end, bool nullable, beck_nstr_t *out) {
  int32_t n;
  size_t c = beck_varint_decode(*pp, end, &n);
  if (!c)
    return -1;
  *pp += c;
  if (n < 0) {
    if (!nullable || n != -1)
      return -1;
    out->ptr = NULL;
    out->len = -1;
    return 0;
  }
  if ((size_t)(end - *pp) < (size_t)n)
    return -1;
  out->ptr = *pp;
  out->len = n;
  *pp += n;
  return 0;
}

int beck_record_iter_next(beck_record_iter_t *it, beck_record_t *r) {
  if (it->err)
    return it->err;
  if (it->remaining <= 0)
    return 0;
  int32_t len;
  size_t c = beck_varint_decode(it->p, it->end, &len);
  if (!c || len < 0)
    return iter_fail(it);
  const uint8_t *p = it->p + c;
  if ((size_t)(it->end - p) < (size_t)len)
    return iter_fail(it);
  const uint8_t *end = p + len;
  if (p >= end)
    return iter_fail(it);
  p++; /* record attributes, unused */
  int64_t ts_delta;
  int32_t off_delta;
  if (!(c = beck_varlong_decode(p, end, &ts_delta)))
    return iter_fail(it);
  p += c;
  if (!(c = beck_varint_decode(p, end, &off_delta)))
    return iter_fail(it);
  p += c;
  if (read_lenbytes(&p, end, true, &r->key) < 0 || read_lenbytes(&p, end, true, &r->value) < 0)
    return iter_fail(it);
  int32_t nh;
  if (!(c = beck_varint_decode(p, end, &nh)) || nh < 0)
    return iter_fail(it);
  p += c;
  r->headers_count = nh;
  r->headers = beck_slice(p, (size_t)(end - p));
  /* validate headers now so consumers can walk them without error handling */
  beck_slice_t cur = r->headers;
  beck_record_header_t h;
  for (int32_t i = 0; i < nh; i++)
    if (beck_record_header_next(&cur, &h) != 1)
      return iter_fail(it);
  if (cur.len != 0)
    return iter_fail(it);
  /* both sums come from the wire: one that overflows int64 is malformed */
  if (__builtin_add_overflow(it->hdr.base_offset, (int64_t)off_delta, &r->offset))
    return iter_fail(it);
  if (it->hdr.attributes & BECK_BATCH_ATTR_LOG_APPEND_TIME)
    r->timestamp = it->hdr.max_timestamp;
  else if (__builtin_add_overflow(it->hdr.base_timestamp, ts_delta, &r->timestamp))
    return iter_fail(it);
  it->p = end;
  it->remaining--;
  return 1;
}

int beck_record_header_next(beck_slice_t *cursor, beck_record_header_t *h) {
  if (cursor->len == 0)
    return 0;
  const uint8_t *p = cursor->ptr, *end = cursor->ptr + cursor->len;
  beck_nstr_t k;
  if (read_lenbytes(&p, end, false, &k) < 0 || read_lenbytes(&p, end, true, &h->value) < 0)
    return BECK_ERR_CORRUPT;
  h->key = beck_slice(k.ptr, (size_t)k.len);
  cursor->len -= (size_t)(p - cursor->ptr);
  cursor->ptr = p;
  return 1;
}

/* ---- builder ----------------------------------------------------------- */

void beck_batch_builder_init(beck_batch_builder_t *b) {
  memset(b, 0, sizeof *b);
  b->producer_id = -1;
  b->producer_epoch = -1;
  b->base_sequence = -1;
  b->last_offset_delta = -1;
  b->err = beck_buf_reserve(&b->buf, 4096);
  if (!b->err) {
    memset(b->buf.data, 0, BECK_BATCH_HEADER_SIZE);
    b->buf.len = BECK_BATCH_HEADER_SIZE;
  }
}

void beck_batch_builder_set_producer(beck_batch_builder_t *b, int64_t producer_id, int16_t epoch,
                                     int32_t base_sequence) {
  b->producer_id = producer_id;
  b->producer_epoch = epoch;
  b->base_sequence = base_sequence;
}

static size_t put_bytes(uint8_t *p, beck_nstr_t s) {
  size_t n = beck_varint_encode(p, s.ptr == NULL ? -1 : s.len);
  if (s.ptr != NULL && s.len > 0) {
    memcpy(p + n, s.ptr, (size_t)s.len);
    n += (size_t)s.len;
  }
  return n;
}

beck_err_t beck_batch_builder_add_at(beck_batch_builder_t *b, int32_t offset_delta, int64_t timestamp, beck_nstr_t key,
                                     beck_nstr_t value, const beck_record_header_t *headers, int nheaders) {
  if (b->err)
    return b->err;
  if (key.ptr == NULL)
    key.len = -1;
  if (value.ptr == NULL)
    value.len = -1;
  if (b->count == 0) {
    b->base_timestamp = timestamp;
    b->max_timestamp = timestamp;
  }
  if (timestamp > b->max_timestamp)
    b->max_timestamp = timestamp;
  size_t body = 1 + 10 + 5 + 5 + (key.len > 0 ? (size_t)key.len : 0) + 5 + (value.len > 0 ? (size_t)value.len : 0) + 5;
  for (int i = 0; i < nheaders; i++)
    body += 10 + headers[i].key.len + (headers[i].value.len > 0 ? (size_t)headers[i].value.len : 0);
  if ((b->err = beck_buf_reserve(&b->buf, body + 5)))
    return b->err;
  uint8_t tmp_len[5];
  /* encode the body first just past a 5-byte gap, then move it next to its length */
  uint8_t *start = b->buf.data + b->buf.len + 5;
  uint8_t *p = start;
  *p++ = 0;
  p += beck_varlong_encode(p, timestamp - b->base_timestamp);
  p += beck_varint_encode(p, offset_delta);
  p += put_bytes(p, key);
  p += put_bytes(p, value);
  p += beck_varint_encode(p, nheaders);
  for (int i = 0; i < nheaders; i++) {
    p += put_bytes(p, beck_nstr(headers[i].key.ptr ? headers[i].key.ptr : (const uint8_t *)"", (int32_t)headers[i].key.len));
    beck_nstr_t hv = headers[i].value;
    if (hv.ptr == NULL)
      hv.len = -1;
    p += put_bytes(p, hv);
  }
  size_t blen = (size_t)(p - start);
  size_t ln = beck_varint_encode(tmp_len, (int32_t)blen);
  memmove(b->buf.data + b->buf.len + ln, start, blen);
  memcpy(b->buf.data + b->buf.len, tmp_len, ln);
  b->buf.len += ln + blen;
  b->count++;
  if (offset_delta > b->last_offset_delta)
    b->last_offset_delta = offset_delta;
  return BECK_ERR_OK;
}

beck_err_t beck_batch_builder_add(beck_batch_builder_t *b, int64_t timestamp, beck_nstr_t key, beck_nstr_t value,
                                  const beck_record_header_t *headers, int nheaders) {
  return beck_batch_builder_add_at(b, (int32_t)(b->last_offset_delta + 1), timestamp, key, value, headers, nheaders);
}

beck_err_t beck_batch_builder_finish(beck_batch_builder_t *b) {
  if (b->err)
    return b->err;
  uint8_t *h = b->buf.data;
  if (b->count == 0)
    b->base_timestamp = b->max_timestamp = -1;
  beck_store_be64(h + BECK_BATCH_OFF_BASE_OFFSET, 0);
  beck_store_be32(h + BECK_BATCH_OFF_LENGTH, (uint32_t)(b->buf.len - BECK_BATCH_LOG_OVERHEAD));
  beck_store_be32(h + BECK_BATCH_OFF_LEADER_EPOCH, 0);
  h[BECK_BATCH_OFF_MAGIC] = 2;
  beck_store_be16(h + BECK_BATCH_OFF_ATTRIBUTES, (uint16_t)b->attributes);
  beck_store_be32(h + BECK_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(b->last_offset_delta < 0 ? 0 : b->last_offset_delta));
  beck_store_be64(h + BECK_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
  beck_store_be64(h + BECK_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
  beck_store_be64(h + BECK_BATCH_OFF_PRODUCER_ID, (uint64_t)b->producer_id);
  beck_store_be16(h + BECK_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)b->producer_epoch);
  beck_store_be32(h + BECK_BATCH_OFF_BASE_SEQUENCE, (uint32_t)b->base_sequence);
  beck_store_be32(h + BECK_BATCH_OFF_RECORDS_COUNT, (uint32_t)b->count);
  beck_batch_update_crc(h, b->buf.len);
  return BECK_ERR_OK;
}

void beck_batch_builder_free(beck_batch_builder_t *b) { beck_buf_free(&b->buf); }
