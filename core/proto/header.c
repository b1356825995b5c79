/*
 * header.c - request and response headers and the Size frame
 * (reference kafka-protocol.md §1.1-1.3; RequestHeader.json,
 * ResponseHeader.json; KIP-482, KIP-511).
 *
 *   frame          := Size:int32 (bytes after itself) header body
 *   request hdr v1 := RequestApiKey:int16 RequestApiVersion:int16
 *                     CorrelationId:int32 ClientId:NULLABLE_STRING
 *   request hdr v2 := v1 TAG_BUFFER   (ClientId stays INT16-length)
 *   response hdr v0:= CorrelationId:int32
 *   response hdr v1:= v0 TAG_BUFFER
 *
 * A request uses header v2 iff its version is flexible; a response uses v1
 * iff flexible, except ApiVersions, whose response header is always v0 so a
 * client can read the error code of a version it does not know. The first 8
 * request bytes sit at the same place in every header version. Header v0
 * (no ClientId) is only ControlledShutdown v0, which the codec does not know.
 */
#include "proto/proto.h"

#include "proto/proto_int.h"

int beck_proto_request_header_version(int16_t api_key, int16_t api_version) {
  const beck_proto_api_info_t *a = beck_proto_api_lookup(api_key);
  if (a == NULL || api_version < 0)
    return -1;
  return api_version >= a->flexible_from ? 2 : 1;
}

int beck_proto_response_header_version(int16_t api_key, int16_t api_version) {
  const beck_proto_api_info_t *a = beck_proto_api_lookup(api_key);
  if (a == NULL || api_version < 0)
    return -1;
  if (api_key == BECK_API_ApiVersions)
    return 0;
  return api_version >= a->flexible_from ? 1 : 0;
}

/* Skips a header tag buffer: no header tags are defined, so all are unknown. */
static void skip_tags(beck__proto_reader_t *r) {
  uint32_t n = beck__rd_uvarint(r);
  if (!r->err && n > beck__rd_left(r) / 2)
    beck__rd_fail(r, BECK_ERR_PARSE, "tag count exceeds the bytes left");
  for (uint32_t i = 0; i < n && !r->err; i++) {
    (void)beck__rd_uvarint(r);
    beck__rd_skip(r, beck__rd_uvarint(r));
  }
}

beck_err_t beck_proto_request_header_decode(const uint8_t *frame, size_t len, beck_proto_request_header_t *out,
                                            beck_error_t *err) {
  beck__proto_reader_t r;
  beck__rd_init(&r, frame, len);
  memset(out, 0, sizeof *out);
  out->ClientId.len = -1;
  out->header_version = -1;
  out->RequestApiKey = beck__rd_i16(&r);
  out->RequestApiVersion = beck__rd_i16(&r);
  out->CorrelationId = beck__rd_i32(&r);
  if (r.err)
    return beck_error_set(err, r.err, "request header: %zu bytes, need at least 8", len);
  out->size = beck__rd_offset(&r);
  int hv = beck_proto_request_header_version(out->RequestApiKey, out->RequestApiVersion);
  if (hv < 0)
    return beck_error_set(err, BECK_ERR_UNSUPPORTED, "request header: unknown api key %d or bad version %d",
                          out->RequestApiKey, out->RequestApiVersion);
  out->header_version = (int8_t)hv;
  out->ClientId = beck__rd_string(&r, false, true);
  if (hv >= 2)
    skip_tags(&r);
  if (r.err)
    return beck_error_set(err, r.err, "request header v%d (%s v%d): %s (offset %zu)", hv,
                          beck_proto_api_name(out->RequestApiKey), out->RequestApiVersion, r.why, beck__rd_offset(&r));
  out->size = beck__rd_offset(&r);
  return BECK_ERR_OK;
}

beck_err_t beck_proto_request_header_encode(const beck_proto_request_header_t *h, beck_buf_t *out) {
  int hv = beck_proto_request_header_version(h->RequestApiKey, h->RequestApiVersion);
  if (hv < 0)
    return BECK_ERR_UNSUPPORTED;
  if (h->ClientId.len > INT16_MAX || (h->ClientId.len > 0 && h->ClientId.ptr == NULL))
    return BECK_ERR_INVAL;
  beck__proto_writer_t w = {.buf = out};
  size_t start = out->len;
  beck__wr_i16(&w, h->RequestApiKey);
  beck__wr_i16(&w, h->RequestApiVersion);
  beck__wr_i32(&w, h->CorrelationId);
  beck__wr_nstr(&w, h->ClientId, false, false);
  if (hv >= 2)
    beck__wr_uvarint(&w, 0);
  if (w.err)
    out->len = start;
  return w.err;
}

beck_err_t beck_proto_response_header_encode(int16_t api_key, int16_t api_version, int32_t correlation_id,
                                             beck_buf_t *out) {
  int hv = beck_proto_response_header_version(api_key, api_version);
  if (hv < 0)
    return BECK_ERR_UNSUPPORTED;
  beck__proto_writer_t w = {.buf = out};
  size_t start = out->len;
  beck__wr_i32(&w, correlation_id);
  if (hv >= 1)
    beck__wr_uvarint(&w, 0);
  if (w.err)
    out->len = start;
  return w.err;
}

beck_err_t beck_proto_response_header_decode(int16_t api_key, int16_t api_version, const uint8_t *frame, size_t len,
                                             int32_t *correlation_id, size_t *size, beck_error_t *err) {
  int hv = beck_proto_response_header_version(api_key, api_version);
  if (hv < 0)
    return beck_error_set(err, BECK_ERR_UNSUPPORTED, "response header: unknown api key %d", api_key);
  beck__proto_reader_t r;
  beck__rd_init(&r, frame, len);
  *correlation_id = beck__rd_i32(&r);
  if (hv >= 1)
    skip_tags(&r);
  if (r.err)
    return beck_error_set(err, r.err, "response header v%d: %s (offset %zu)", hv, r.why, beck__rd_offset(&r));
  *size = beck__rd_offset(&r);
  return BECK_ERR_OK;
}

size_t beck_proto_frame_begin(beck_buf_t *out) {
  size_t mark = out->len;
  static const uint8_t zero[4];
  if (beck_buf_append(out, zero, 4) != BECK_ERR_OK)
    return SIZE_MAX;
  return mark;
}

beck_err_t beck_proto_frame_end(beck_buf_t *out, size_t mark, size_t extra) {
  if (mark == SIZE_MAX || mark + 4 > out->len)
    return BECK_ERR_NOMEM;
  size_t n = out->len - mark - 4;
  if (extra > (size_t)INT32_MAX || n > (size_t)INT32_MAX - extra)
    return BECK_ERR_TOOBIG;
  beck_store_be32(out->data + mark, (uint32_t)(n + extra));
  return BECK_ERR_OK;
}
