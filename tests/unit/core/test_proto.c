/* test_proto.c - core/proto: primitives, the per-request arena, headers and
 * framing, hand-computed golden bytes, hostile input, tagged fields, typed
 * use of the generated structs, zero-copy records, error tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "proto/proto.h"
#include "proto/proto_int.h"

#define NSTR(s) ((beck_nstr_t){(const uint8_t *)(s), (int32_t)(sizeof(s) - 1)})
#define NSTR_NULL ((beck_nstr_t){NULL, -1})

static bool nstr_is(beck_nstr_t s, const char *c) {
  return s.len >= 0 && (size_t)s.len == strlen(c) && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

static void assert_bytes(const beck_buf_t *b, const uint8_t *want, size_t n) {
  if (b->len != n || memcmp(b->data, want, n) != 0) {
    print_error("got %zu bytes:", b->len);
    for (size_t i = 0; i < b->len; i++)
      print_error(" %02x", b->data[i]);
    print_error("\nwant %zu bytes:", n);
    for (size_t i = 0; i < n; i++)
      print_error(" %02x", want[i]);
    print_error("\n");
    fail();
  }
}

/* ---- primitives ------------------------------------------------------------ */

static void varints_match_the_kafka_encoding(void **state) {
  static const struct {
    uint32_t v;
    uint8_t b[5];
    size_t n;
  } uv[] = {{0, {0x00}, 1},
            {1, {0x01}, 1},
            {127, {0x7f}, 1},
            {128, {0x80, 0x01}, 2},
            {300, {0xac, 0x02}, 2},
            {16383, {0xff, 0x7f}, 2},
            {16384, {0x80, 0x80, 0x01}, 3},
            {UINT32_MAX, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5}};
  for (size_t i = 0; i < sizeof uv / sizeof uv[0]; i++) {
    beck_buf_t b = {0};
    beck__proto_writer_t w = {.buf = &b};
    beck__wr_uvarint(&w, uv[i].v);
    assert_bytes(&b, uv[i].b, uv[i].n);
    assert_int_equal(beck__uvarint_size(uv[i].v), uv[i].n);
    beck__proto_reader_t r;
    beck__rd_init(&r, b.data, b.len);
    assert_int_equal(beck__rd_uvarint(&r), uv[i].v);
    assert_int_equal(r.err, BECK_ERR_OK);
    assert_int_equal(beck__rd_left(&r), 0);
    beck_buf_free(&b);
  }
  /* zigzag: 0->0, -1->1, 1->2, -2->3, INT32_MIN -> 0xffffffff */
  static const int32_t zz[] = {0, -1, 1, -2, 63, -64, 64, INT32_MAX, INT32_MIN};
  static const uint8_t zz_first[] = {0x00, 0x01, 0x02, 0x03, 0x7e, 0x7f, 0x80, 0xfe, 0xff};
  for (size_t i = 0; i < sizeof zz / sizeof zz[0]; i++) {
    beck_buf_t b = {0};
    beck__proto_writer_t w = {.buf = &b};
    beck__wr_varint(&w, zz[i]);
    assert_int_equal(b.data[0], zz_first[i]);
    beck__proto_reader_t r;
    beck__rd_init(&r, b.data, b.len);
    assert_int_equal(beck__rd_varint(&r), zz[i]);
    assert_int_equal(beck__rd_left(&r), 0);
    beck_buf_free(&b);
  }
  static const int64_t zl[] = {0, -1, 1, INT64_MAX, INT64_MIN, 1234567890123ll};
  for (size_t i = 0; i < sizeof zl / sizeof zl[0]; i++) {
    beck_buf_t b = {0};
    beck__proto_writer_t w = {.buf = &b};
    beck__wr_varlong(&w, zl[i]);
    assert_true(b.len <= 10);
    beck__proto_reader_t r;
    beck__rd_init(&r, b.data, b.len);
    assert_true(beck__rd_varlong(&r) == zl[i]);
    assert_int_equal(beck__rd_left(&r), 0);
    beck_buf_free(&b);
  }
  /* too long / too big */
  static const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  beck__proto_reader_t r;
  beck__rd_init(&r, six, sizeof six);
  assert_int_equal(beck__rd_uvarint(&r), 0);
  assert_int_equal(r.err, BECK_ERR_PARSE);
  static const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
  beck__rd_init(&r, big, sizeof big);
  (void)beck__rd_uvarint(&r);
  assert_int_equal(r.err, BECK_ERR_PARSE);
}

static void fixed_width_types_are_big_endian(void **state) {
  beck_buf_t b = {0};
  beck__proto_writer_t w = {.buf = &b};
  beck__wr_i8(&w, -2);
  beck__wr_i16(&w, 0x1234);
  beck__wr_i32(&w, -1);
  beck__wr_i64(&w, 0x0102030405060708ll);
  beck__wr_u16(&w, 0xfffe);
  beck__wr_u32(&w, 0xdeadbeef);
  beck__wr_f64(&w, 1.0);
  beck_uuid_t u;
  for (int i = 0; i < 16; i++)
    u.bytes[i] = (uint8_t)i;
  beck__wr_uuid(&w, &u);
  static const uint8_t want[] = {0xfe, 0x12, 0x34, 0xff, 0xff, 0xff, 0xff, 1,    2, 3,  4,  5,  6,  7,  8,
                                 0xff, 0xfe, 0xde, 0xad, 0xbe, 0xef, 0x3f, 0xf0, 0, 0,  0,  0,  0,  0,  0,
                                 1,    2,    3,    4,    5,    6,    7,    8,    9, 10, 11, 12, 13, 14, 15};
  assert_bytes(&b, want, sizeof want);
  beck__proto_reader_t r;
  beck__rd_init(&r, b.data, b.len);
  assert_int_equal(beck__rd_i8(&r), -2);
  assert_int_equal(beck__rd_i16(&r), 0x1234);
  assert_int_equal(beck__rd_i32(&r), -1);
  assert_true(beck__rd_i64(&r) == 0x0102030405060708ll);
  assert_int_equal(beck__rd_u16(&r), 0xfffe);
  assert_int_equal(beck__rd_u32(&r), 0xdeadbeef);
  assert_true(beck__rd_f64(&r) == 1.0);
  beck_uuid_t u2;
  beck__rd_uuid(&r, &u2);
  assert_memory_equal(&u, &u2, 16);
  assert_int_equal(beck__rd_left(&r), 0);
  beck_buf_free(&b);
}

static void reader_is_sticky_after_the_first_error(void **state) {
  static const uint8_t bytes[] = {0x00, 0x01, 0x02};
  beck__proto_reader_t r;
  beck__rd_init(&r, bytes, sizeof bytes);
  assert_int_equal(beck__rd_i32(&r), 0); /* needs 4, has 3 */
  assert_int_equal(r.err, BECK_ERR_PARSE);
  assert_int_equal(beck__rd_offset(&r), 0);
  /* later reads that would fit are no-ops too */
  assert_int_equal(beck__rd_i8(&r), 0);
  assert_int_equal(beck__rd_i16(&r), 0);
  assert_null(beck__rd_take(&r, 1));
  assert_int_equal(beck__rd_offset(&r), 0);
  assert_string_equal(r.why, "truncated");
}

static void strings_bytes_and_arrays_in_all_forms(void **state) {
  beck_buf_t b = {0};
  beck__proto_writer_t w = {.buf = &b};
  beck__wr_nstr(&w, NSTR("ab"), false, false); /* STRING */
  beck__wr_nstr(&w, NSTR_NULL, false, false);  /* NULLABLE_STRING null */
  beck__wr_nstr(&w, NSTR("ab"), true, false);  /* COMPACT_STRING */
  beck__wr_nstr(&w, NSTR_NULL, true, false);   /* COMPACT_NULLABLE_STRING null */
  beck__wr_nstr(&w, NSTR("xyz"), false, true); /* BYTES */
  beck__wr_nstr(&w, NSTR_NULL, false, true);   /* NULLABLE_BYTES null */
  beck__wr_nstr(&w, NSTR(""), true, true);     /* COMPACT_BYTES empty */
  beck__wr_array_len(&w, 3, false);
  beck__wr_array_len(&w, -1, false);
  beck__wr_array_len(&w, 3, true);
  beck__wr_array_len(&w, -1, true);
  beck__wr_bytes_raw(&w, "pad", 3);
  static const uint8_t want[] = {0x00, 0x02, 'a',  'b',  0xff, 0xff, 0x03, 'a',  'b',  0x00, 0x00, 0x00,
                                 0x00, 0x03, 'x',  'y',  'z',  0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00,
                                 0x00, 0x03, 0xff, 0xff, 0xff, 0xff, 0x04, 0x00, 'p',  'a',  'd'};
  assert_bytes(&b, want, sizeof want);

  beck__proto_reader_t r;
  beck__rd_init(&r, b.data, b.len);
  assert_true(nstr_is(beck__rd_string(&r, false, false), "ab"));
  assert_int_equal(beck__rd_string(&r, false, true).len, -1);
  beck_nstr_t s = beck__rd_string(&r, true, false);
  assert_true(nstr_is(s, "ab"));
  assert_ptr_equal(s.ptr, b.data + 7); /* borrowed, not copied */
  assert_int_equal(beck__rd_string(&r, true, true).len, -1);
  assert_true(nstr_is(beck__rd_bytes(&r, false, false), "xyz"));
  assert_int_equal(beck__rd_bytes(&r, false, true).len, -1);
  assert_int_equal(beck__rd_bytes(&r, true, false).len, 0);
  /* counts: 3 elements of >= 1 byte fit in the bytes left */
  assert_int_equal(beck__rd_array_len(&r, false, false, 1), 3);
  assert_int_equal(beck__rd_array_len(&r, false, true, 1), -1);
  assert_int_equal(beck__rd_array_len(&r, true, false, 0), 3);
  assert_int_equal(beck__rd_array_len(&r, true, true, 1), -1);
  assert_int_equal(r.err, BECK_ERR_OK);
  assert_int_equal(beck__rd_left(&r), 3);
  /* 3 elements of at least 2 bytes do not fit in 3 bytes */
  beck__proto_reader_t r2;
  beck__rd_init(&r2, want + 30, 4);
  assert_int_equal(beck__rd_array_len(&r2, true, false, 2), 0);
  assert_int_equal(r2.err, BECK_ERR_PARSE);

  /* null where not allowed */
  beck__rd_init(&r, want + 4, 2);
  (void)beck__rd_string(&r, false, false);
  assert_int_equal(r.err, BECK_ERR_PARSE);
  /* length beyond the bytes left */
  static const uint8_t longer[] = {0x00, 0x05, 'a', 'b'};
  beck__rd_init(&r, longer, sizeof longer);
  (void)beck__rd_string(&r, false, false);
  assert_int_equal(r.err, BECK_ERR_PARSE);
  /* -2 is not a length */
  static const uint8_t neg[] = {0xff, 0xfe};
  beck__rd_init(&r, neg, sizeof neg);
  (void)beck__rd_string(&r, false, true);
  assert_int_equal(r.err, BECK_ERR_PARSE);
  beck_buf_free(&b);
}

/* ---- arena ----------------------------------------------------------------- */

static void arena_allocates_aligned_resets_and_caps(void **state) {
  beck_arena_t a;
  beck_arena_init(&a, 256);
  void *ptrs[100];
  for (int i = 0; i < 100; i++) {
    ptrs[i] = beck_arena_alloc(&a, (size_t)(i % 37) + 1);
    assert_non_null(ptrs[i]);
    assert_int_equal((uintptr_t)ptrs[i] % BECK_ARENA_ALIGN, 0);
    memset(ptrs[i], i, (size_t)(i % 37) + 1);
  }
  for (int i = 0; i < 100; i++)
    assert_int_equal(((uint8_t *)ptrs[i])[0], (uint8_t)i); /* no overlap */
  uint8_t *big = beck_arena_zalloc(&a, 10000);             /* own chunk */
  assert_non_null(big);
  assert_int_equal(big[9999], 0);
  assert_true(beck_arena_used(&a) >= 10000);
  assert_null(beck_arena_calloc(&a, SIZE_MAX / 2, 4)); /* overflow */
  beck_arena_reset(&a);
  assert_int_equal(beck_arena_used(&a), 0);
  /* the kept chunk serves small allocations without malloc */
  beck_alloc_fail_after(0);
  assert_non_null(beck_arena_alloc(&a, 64));
  beck_alloc_fail_after(-1);
  beck_arena_set_limit(&a, 1024);
  assert_non_null(beck_arena_alloc(&a, 512));
  assert_null(beck_arena_alloc(&a, 1024));
  beck_arena_destroy(&a);
  assert_null(a.head);
  /* OOM from the allocator surfaces as NULL */
  beck_arena_init(&a, 0);
  beck_alloc_fail_after(0);
  assert_null(beck_arena_alloc(&a, 8));
  beck_alloc_fail_after(-1);
  beck_arena_destroy(&a);
}

/* ---- headers, framing, golden bytes ------------------------------------------ */

static void header_versions_follow_flexibility(void **state) {
  assert_int_equal(beck_proto_request_header_version(BECK_API_Produce, 7), 1);
  assert_int_equal(beck_proto_request_header_version(BECK_API_Produce, 9), 2);
  assert_int_equal(beck_proto_request_header_version(BECK_API_Metadata, 8), 1);
  assert_int_equal(beck_proto_request_header_version(BECK_API_Metadata, 9), 2);
  assert_int_equal(beck_proto_request_header_version(BECK_API_ApiVersions, 2), 1);
  assert_int_equal(beck_proto_request_header_version(BECK_API_ApiVersions, 3), 2);
  /* beyond what the codec supports: still known, so still answerable */
  assert_int_equal(beck_proto_request_header_version(BECK_API_ApiVersions, 9), 2);
  assert_int_equal(beck_proto_request_header_version(BECK_API_DescribeConfigs, 4), 2);
  assert_int_equal(beck_proto_request_header_version(17, 0), -1); /* SaslHandshake: not in the codec */
  assert_int_equal(beck_proto_request_header_version(9999, 0), -1);
  assert_int_equal(beck_proto_response_header_version(BECK_API_ApiVersions, 3), 0); /* KIP-511 */
  assert_int_equal(beck_proto_response_header_version(BECK_API_Metadata, 9), 1);
  assert_int_equal(beck_proto_response_header_version(BECK_API_Metadata, 6), 0);
  assert_int_equal(beck_proto_response_header_version(BECK_API_IncrementalAlterConfigs, 1), 1);
  assert_true(beck_proto_is_flexible(BECK_API_ListGroups, 3));
  assert_false(beck_proto_is_flexible(BECK_API_ListGroups, 2));
}

/* Builds a request frame: Size, header, body. */
static void frame_request(beck_buf_t *out, int16_t key, int16_t ver, int32_t corr, beck_nstr_t client,
                          const void *body) {
  size_t mark = beck_proto_frame_begin(out);
  beck_proto_request_header_t h = {
      .RequestApiKey = key, .RequestApiVersion = ver, .CorrelationId = corr, .ClientId = client};
  assert_int_equal(beck_proto_request_header_encode(&h, out), BECK_ERR_OK);
  beck_error_t e;
  if (beck_proto_encode(key, ver, true, body, out, &e) != BECK_ERR_OK) {
    print_error("%s\n", e.msg);
    fail();
  }
  assert_int_equal(beck_proto_frame_end(out, mark, 0), BECK_ERR_OK);
}

static void frame_response(beck_buf_t *out, int16_t key, int16_t ver, int32_t corr, const void *body) {
  size_t mark = beck_proto_frame_begin(out);
  assert_int_equal(beck_proto_response_header_encode(key, ver, corr, out), BECK_ERR_OK);
  assert_int_equal(beck_proto_encode(key, ver, false, body, out, NULL), BECK_ERR_OK);
  assert_int_equal(beck_proto_frame_end(out, mark, 0), BECK_ERR_OK);
}

/* Decodes a whole request frame (header + body) as a broker would. */
static void parse_request(const beck_buf_t *frame, beck_arena_t *arena, beck_proto_request_header_t *h,
                          beck_proto_request_t *req) {
  assert_true(frame->len >= 4);
  assert_int_equal(beck_load_be32(frame->data), frame->len - 4);
  beck_error_t e;
  const uint8_t *p = frame->data + 4;
  size_t n = frame->len - 4;
  assert_int_equal(beck_proto_request_header_decode(p, n, h, &e), BECK_ERR_OK);
  beck_err_t rc =
      beck_proto_decode(h->RequestApiKey, h->RequestApiVersion, true, p + h->size, n - h->size, arena, req, &e);
  if (rc)
    print_error("%s\n", e.msg);
  assert_int_equal(rc, BECK_ERR_OK);
}

static void golden_api_versions_v0_request_and_response(void **state) {
  beck_proto_ApiVersionsRequest_t req = {0};
  beck_buf_t b = {0};
  frame_request(&b, BECK_API_ApiVersions, 0, 1, NSTR("rdkafka"), &req);
  static const uint8_t want_req[] = {0x00, 0x00, 0x00, 0x11,                         /* Size 17 */
                                     0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* key 18 v0 corr 1 */
                                     0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a'};
  assert_bytes(&b, want_req, sizeof want_req);
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  beck_proto_request_header_t h;
  beck_proto_request_t any;
  parse_request(&b, &arena, &h, &any);
  assert_int_equal(h.header_version, 1);
  assert_int_equal(h.CorrelationId, 1);
  assert_true(nstr_is(h.ClientId, "rdkafka"));
  assert_int_equal(h.size, 17);

  beck_proto_ApiVersionsResponse_ApiVersion_t keys[] = {{0, 3, 7}, {18, 0, 3}};
  beck_proto_ApiVersionsResponse_t resp = {.ErrorCode = 0, .ApiKeys = {keys, 2}, .ThrottleTimeMs = 99};
  beck_buf_reset(&b);
  frame_response(&b, BECK_API_ApiVersions, 0, 1, &resp);
  static const uint8_t want_resp[] = {0x00, 0x00, 0x00, 0x16,              /* Size 22 */
                                      0x00, 0x00, 0x00, 0x01,              /* CorrelationId */
                                      0x00, 0x00,                          /* ErrorCode */
                                      0x00, 0x00, 0x00, 0x02,              /* ApiKeys count */
                                      0x00, 0x00, 0x00, 0x03, 0x00, 0x07,  /* Produce 3-7 */
                                      0x00, 0x12, 0x00, 0x00, 0x00, 0x03}; /* ApiVersions 0-3; no throttle in v0 */
  assert_bytes(&b, want_resp, sizeof want_resp);

  /* The answer to an unsupported ApiVersions version: a v0 body with 35. */
  beck_proto_ApiVersionsResponse_ApiVersion_t only = {18, 0, 3};
  beck_proto_ApiVersionsResponse_t err35 = {.ErrorCode = BECK_KERR_UNSUPPORTED_VERSION, .ApiKeys = {&only, 1}};
  beck_buf_reset(&b);
  assert_int_equal(beck_proto_encode(BECK_API_ApiVersions, 0, false, &err35, &b, NULL), BECK_ERR_OK);
  static const uint8_t want_35[] = {0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03};
  assert_bytes(&b, want_35, sizeof want_35);
  beck_buf_free(&b);
  beck_arena_destroy(&arena);
}

static void golden_api_versions_v3_request_and_response(void **state) {
  beck_proto_ApiVersionsRequest_t req = {.ClientSoftwareName = NSTR("librdkafka"),
                                         .ClientSoftwareVersion = NSTR("2.0.2")};
  beck_buf_t b = {0};
  frame_request(&b, BECK_API_ApiVersions, 3, 2, NSTR("rdkafka"), &req);
  static const uint8_t want_req[] = {
      0x00, 0x00, 0x00, 0x24,                                        /* Size 36 */
      0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02,                /* key 18 v3 corr 2 */
      0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',           /* ClientId: INT16 length even in v2 */
      0x00,                                                          /* header tag buffer */
      0x0b, 'l',  'i',  'b',  'r',  'd',  'k',  'a',  'f', 'k', 'a', /* COMPACT_STRING len+1 */
      0x06, '2',  '.',  '0',  '.',  '2',                             /* */
      0x00};                                                         /* body tag buffer */
  assert_bytes(&b, want_req, sizeof want_req);
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  beck_proto_request_header_t h;
  beck_proto_request_t any;
  parse_request(&b, &arena, &h, &any);
  assert_int_equal(h.header_version, 2);
  assert_int_equal(h.size, 18);
  assert_true(nstr_is(any.ApiVersions.ClientSoftwareName, "librdkafka"));
  assert_true(nstr_is(any.ApiVersions.ClientSoftwareVersion, "2.0.2"));

  beck_proto_ApiVersionsResponse_ApiVersion_t keys[] = {{0, 3, 7}, {18, 0, 3}};
  beck_proto_ApiVersionsResponse_t resp = {.ApiKeys = {keys, 2}, .FinalizedFeaturesEpoch = -1};
  beck_buf_reset(&b);
  frame_response(&b, BECK_API_ApiVersions, 3, 2, &resp);
  static const uint8_t want_resp[] = {0x00, 0x00, 0x00, 0x1a,                   /* Size 26 */
                                      0x00, 0x00, 0x00, 0x02,                   /* header v0: no tag byte */
                                      0x00, 0x00,                               /* ErrorCode */
                                      0x03,                                     /* N+1 */
                                      0x00, 0x00, 0x00, 0x03, 0x00, 0x07, 0x00, /* + element tags */
                                      0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00, /* */
                                      0x00, 0x00, 0x00, 0x00,                   /* ThrottleTimeMs */
                                      0x00};                                    /* no tagged fields */
  assert_bytes(&b, want_resp, sizeof want_resp);

  /* Tagged fields appear only when set, in tag order. */
  resp.ZkMigrationReady = true;
  resp.FinalizedFeaturesEpoch = 5;
  beck_buf_reset(&b);
  assert_int_equal(beck_proto_encode(BECK_API_ApiVersions, 3, false, &resp, &b, NULL), BECK_ERR_OK);
  static const uint8_t want_tags[] = {0x02,                                    /* two tags */
                                      0x01, 0x08, 0,   0, 0, 0, 0, 0, 0, 0x05, /* tag 1 epoch */
                                      0x03, 0x01, 0x01};                       /* tag 3 bool */
  assert_int_equal(b.len, 22 - 1 + sizeof want_tags);
  assert_memory_equal(b.data + 21, want_tags, sizeof want_tags);
  beck_proto_ApiVersionsResponse_t back;
  assert_int_equal(beck_proto_decode(BECK_API_ApiVersions, 3, false, b.data, b.len, &arena, &back, NULL), 0);
  assert_true(back.ZkMigrationReady);
  assert_int_equal(back.FinalizedFeaturesEpoch, 5);
  assert_int_equal(back.SupportedFeatures.count, 0);
  beck_buf_free(&b);
  beck_arena_destroy(&arena);
}

static void golden_metadata_v1_request(void **state) {
  beck_proto_MetadataRequest_MetadataRequestTopic_t topics[] = {{.Name = NSTR("foo")}, {.Name = NSTR("bar")}};
  beck_proto_MetadataRequest_t req = {.Topics = {topics, 2}};
  beck_buf_t b = {0};
  frame_request(&b, BECK_API_Metadata, 1, 7, NSTR("c"), &req);
  static const uint8_t want[] = {0x00, 0x00, 0x00, 0x19,                         /* Size 25 */
                                 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, /* key 3 v1 corr 7 */
                                 0x00, 0x01, 'c',                                /* ClientId */
                                 0x00, 0x00, 0x00, 0x02,                         /* Topics count */
                                 0x00, 0x03, 'f',  'o',  'o',  0x00, 0x03, 'b',  'a', 'r'};
  assert_bytes(&b, want, sizeof want);
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  beck_proto_request_header_t h;
  beck_proto_request_t any;
  parse_request(&b, &arena, &h, &any);
  assert_int_equal(any.Metadata.Topics.count, 2);
  assert_true(nstr_is(any.Metadata.Topics.items[1].Name, "bar"));
  assert_true(any.Metadata.AllowAutoTopicCreation); /* absent before v4: spec default true */

  /* v1+: null = all topics; v0 cannot say null */
  req.Topics.count = -1;
  req.Topics.items = NULL;
  beck_buf_reset(&b);
  assert_int_equal(beck_proto_encode(BECK_API_Metadata, 1, true, &req, &b, NULL), BECK_ERR_OK);
  static const uint8_t want_null[] = {0xff, 0xff, 0xff, 0xff};
  assert_bytes(&b, want_null, 4);
  beck_proto_MetadataRequest_t back;
  assert_int_equal(beck_proto_decode(BECK_API_Metadata, 1, true, b.data, b.len, &arena, &back, NULL), 0);
  assert_int_equal(back.Topics.count, -1);
  beck_error_t e;
  beck_buf_reset(&b);
  assert_int_equal(beck_proto_encode(BECK_API_Metadata, 0, true, &req, &b, &e), BECK_ERR_INVAL);
  assert_non_null(strstr(e.msg, "MetadataRequest v0: Topics: null array"));
  assert_int_equal(b.len, 0);
  assert_int_equal(beck_proto_decode(BECK_API_Metadata, 0, true, want_null, 4, &arena, &back, &e), BECK_ERR_PARSE);
  beck_buf_free(&b);
  beck_arena_destroy(&arena);
}

static const uint8_t produce_v3_frame[] = {0x00, 0x00, 0x00, 0x31,                         /* Size 49 */
                                           0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x2a, /* Produce v3, corr 42 */
                                           0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a', /* ClientId */
                                           0xff, 0xff,             /* TransactionalId null */
                                           0xff, 0xff,             /* Acks -1 */
                                           0x00, 0x00, 0x75, 0x30, /* TimeoutMs 30000 */
                                           0x00, 0x00, 0x00, 0x01, /* TopicData: 1 */
                                           0x00, 0x01, 't',        /* Name */
                                           0x00, 0x00, 0x00, 0x01, /* PartitionData: 1 */
                                           0x00, 0x00, 0x00, 0x00, /* Index 0 */
                                           0x00, 0x00, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04, 0x05}; /* Records */

static void golden_produce_v3_request_header_and_body(void **state) {
  static const uint8_t records[] = {1, 2, 3, 4, 5};
  beck_proto_ProduceRequest_PartitionProduceData_t part = {.Index = 0, .Records = {records, (int32_t)sizeof records}};
  beck_proto_ProduceRequest_TopicProduceData_t topic = {.Name = NSTR("t"), .PartitionData = {&part, 1}};
  beck_proto_ProduceRequest_t req = {
      .TransactionalId = NSTR_NULL, .Acks = -1, .TimeoutMs = 30000, .TopicData = {&topic, 1}};
  beck_buf_t b = {0};
  frame_request(&b, BECK_API_Produce, 3, 42, NSTR("rdkafka"), &req);
  assert_bytes(&b, produce_v3_frame, sizeof produce_v3_frame);

  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  beck_proto_request_header_t h;
  beck_proto_request_t any;
  parse_request(&b, &arena, &h, &any);
  beck_proto_ProduceRequest_t *p = &any.Produce;
  assert_int_equal(h.RequestApiKey, BECK_API_Produce);
  assert_int_equal(h.CorrelationId, 42);
  assert_int_equal(p->TransactionalId.len, -1);
  assert_int_equal(p->Acks, -1);
  assert_int_equal(p->TimeoutMs, 30000);
  assert_int_equal(p->TopicData.count, 1);
  assert_true(nstr_is(p->TopicData.items[0].Name, "t"));
  beck_proto_ProduceRequest_PartitionProduceData_t *pd = &p->TopicData.items[0].PartitionData.items[0];
  assert_int_equal(pd->Index, 0);
  assert_int_equal(pd->Records.len, 5);
  /* RECORDS is a borrowed slice of the request buffer, never a copy */
  assert_ptr_equal(pd->Records.ptr, b.data + b.len - 5);
  beck_buf_free(&b);
  beck_arena_destroy(&arena);
}

static void golden_flexible_header_v2_with_tagged_fields(void **state) {
  /* Metadata v9 request: header v2 with a null ClientId and two unknown
   * header tags (one with a payload), then the compact body. */
  static const uint8_t frame[] = {0x00, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x05, /* Metadata v9, corr 5 */
                                  0xff, 0xff,                                     /* ClientId null (still INT16) */
                                  0x02,                                           /* two header tags */
                                  0x00, 0x02, 'a',  'b',                          /* tag 0, 2 bytes */
                                  0x05, 0x00,                                     /* tag 5, empty */
                                  0x00,                                           /* Topics: compact null */
                                  0x01,                                           /* AllowAutoTopicCreation */
                                  0x00,  /* IncludeClusterAuthorizedOperations (8-10) */
                                  0x00,  /* IncludeTopicAuthorizedOperations */
                                  0x00}; /* body tags */
  beck_proto_request_header_t h;
  beck_error_t e;
  assert_int_equal(beck_proto_request_header_decode(frame, sizeof frame, &h, &e), BECK_ERR_OK);
  assert_int_equal(h.header_version, 2);
  assert_int_equal(h.ClientId.len, -1);
  assert_int_equal(h.size, 17);
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  beck_proto_MetadataRequest_t req;
  assert_int_equal(beck_proto_decode(3, 9, true, frame + h.size, sizeof frame - h.size, &arena, &req, &e), 0);
  assert_int_equal(req.Topics.count, -1);
  assert_true(req.AllowAutoTopicCreation);
  /* The Redpanda #6585 trap: a header without its tag buffer must not parse
   * as if the body started early. Truncating inside the tags fails. */
  for (size_t cut = 10; cut < 17; cut++)
    assert_int_equal(beck_proto_request_header_decode(frame, cut, &h, &e), BECK_ERR_PARSE);
  /* Our own encoding of header v2: empty tag buffer. */
  beck_buf_t b = {0};
  beck_proto_request_header_t out = {
      .RequestApiKey = 3, .RequestApiVersion = 9, .CorrelationId = 5, .ClientId = NSTR_NULL};
  assert_int_equal(beck_proto_request_header_encode(&out, &b), BECK_ERR_OK);
  static const uint8_t want[] = {0x00, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x05, 0xff, 0xff, 0x00};
  assert_bytes(&b, want, sizeof want);
  /* Response header v1 for flexible Metadata; v0 for ApiVersions v3. */
  beck_buf_reset(&b);
  assert_int_equal(beck_proto_response_header_encode(3, 9, 5, &b), BECK_ERR_OK);
  static const uint8_t want_rh[] = {0x00, 0x00, 0x00, 0x05, 0x00};
  assert_bytes(&b, want_rh, sizeof want_rh);
  int32_t corr;
  size_t size;
  assert_int_equal(beck_proto_response_header_decode(3, 9, b.data, b.len, &corr, &size, &e), 0);
  assert_int_equal(corr, 5);
  assert_int_equal(size, 5);
  beck_buf_free(&b);
  beck_arena_destroy(&arena);
}

static void unknown_api_key_still_yields_the_fixed_header_fields(void **state) {
  static const uint8_t frame[] = {0x00, 0x11, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
  beck_proto_request_header_t h;
  beck_error_t e;
  assert_int_equal(beck_proto_request_header_decode(frame, sizeof frame, &h, &e), BECK_ERR_UNSUPPORTED);
  assert_int_equal(h.RequestApiKey, 17);
  assert_int_equal(h.RequestApiVersion, 1);
  assert_int_equal(h.CorrelationId, 256);
  assert_int_equal(h.header_version, -1);
  assert_int_equal(beck_proto_request_header_decode(frame, 7, &h, &e), BECK_ERR_PARSE);
  /* A known API at a version the codec lacks: the header parses (so the
   * broker can answer ApiVersions with 35), the body is refused. */
  static const uint8_t av9[] = {0x00, 0x12, 0x00, 0x09, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00};
  assert_int_equal(beck_proto_request_header_decode(av9, sizeof av9, &h, &e), BECK_ERR_OK);
  assert_false(beck_proto_version_supported(h.RequestApiKey, h.RequestApiVersion));
  beck_proto_request_t req;
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  assert_int_equal(beck_proto_decode(18, 9, true, av9, 0, &arena, &req, &e), BECK_ERR_UNSUPPORTED);
  assert_int_equal(beck_proto_decode(17, 0, true, av9, 0, &arena, &req, &e), BECK_ERR_UNSUPPORTED);
  beck_buf_t b = {0};
  assert_int_equal(beck_proto_encode(0, 2, true, &req, &b, &e), BECK_ERR_UNSUPPORTED);
  beck_arena_destroy(&arena);
}

/* ---- hostile input ----------------------------------------------------------- */

static void truncated_frames_fail_at_every_offset(void **state) {
  /* whole frames: header then body, cut at every byte */
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  const uint8_t *full = produce_v3_frame + 4;
  size_t n = sizeof produce_v3_frame - 4;
  for (size_t cut = 0; cut < n; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1);
    memcpy(copy, full, cut);
    beck_proto_request_header_t h;
    beck_error_t e;
    beck_err_t rc = beck_proto_request_header_decode(copy, cut, &h, &e);
    if (rc == BECK_ERR_OK) {
      beck_proto_request_t req;
      rc = beck_proto_decode(h.RequestApiKey, h.RequestApiVersion, true, copy + h.size, cut - h.size, &arena, &req, &e);
    }
    assert_int_equal(rc, BECK_ERR_PARSE);
    free(copy);
    beck_arena_reset(&arena);
  }
  beck_arena_destroy(&arena);
}

static void huge_counts_fail_fast_without_allocating(void **state) {
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  uint8_t *frame = calloc(1, 1024);
  beck_proto_request_t req;
  beck_error_t e;

  /* Metadata v1: Topics count 2^31-1 in a 1 KiB frame */
  beck_store_be32(frame, 0x7fffffff);
  beck_alloc_fail_after(0); /* any allocation would turn this into NOMEM */
  assert_int_equal(beck_proto_decode(3, 1, true, frame, 1024, &arena, &req, &e), BECK_ERR_PARSE);
  beck_alloc_fail_after(-1);
  assert_non_null(strstr(e.msg, "Topics: array count exceeds the bytes left"));
  assert_int_equal(beck_arena_used(&arena), 0);

  /* Same in compact form: Metadata v9, count uvarint 0xffffffff */
  static const uint8_t c9[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
  memcpy(frame, c9, sizeof c9);
  assert_int_equal(beck_proto_decode(3, 9, true, frame, 1024, &arena, &req, &e), BECK_ERR_PARSE);
  assert_int_equal(beck_arena_used(&arena), 0);

  /* Nested: Produce v3, one topic whose PartitionData claims 2^31-1. */
  memset(frame, 0, 1024);
  static const uint8_t nested[] = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
                                   0x00, 0x01, 0x00, 0x01, 't',  0x7f, 0xff, 0xff, 0xff};
  memcpy(frame, nested, sizeof nested);
  assert_int_equal(beck_proto_decode(0, 3, true, frame, 1024, &arena, &req, &e), BECK_ERR_PARSE);
  assert_non_null(strstr(e.msg, "TopicData[0].PartitionData"));
  assert_true(beck_arena_used(&arena) < 1024);

  /* A count that fits the bytes but not the element size: 300 partitions of
   * at least 8 bytes cannot fit in ~1000 bytes. */
  beck_store_be32(frame + 15, 300);
  assert_int_equal(beck_proto_decode(0, 3, true, frame, 1024, &arena, &req, &e), BECK_ERR_PARSE);

  /* Strings and records longer than the frame. */
  static const uint8_t longstr[] = {0x7f, 0xff};
  memcpy(frame, longstr, 2);
  assert_int_equal(beck_proto_decode(0, 3, true, frame, 1024, &arena, &req, &e), BECK_ERR_PARSE);
  /* Tag count beyond the bytes: ApiVersions v3 request with 2^32-1 tags */
  static const uint8_t tags[] = {0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f};
  assert_int_equal(beck_proto_decode(18, 3, true, tags, sizeof tags, &arena, &req, &e), BECK_ERR_PARSE);
  free(frame);
  beck_arena_destroy(&arena);
}

static void unknown_tagged_fields_are_skipped(void **state) {
  /* ApiVersions v3 request body with unknown tags 7 (3 bytes) and 300. */
  static const uint8_t body[] = {0x02, 'c',  0x02, '1',                           /* names */
                                 0x02,                                            /* two tags */
                                 0x07, 0x03, 0xaa, 0xbb, 0xcc, 0xac, 0x02, 0x00}; /* tag 300 (uvarint), empty */
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  beck_proto_ApiVersionsRequest_t req;
  beck_error_t e;
  assert_int_equal(beck_proto_decode(18, 3, true, body, sizeof body, &arena, &req, &e), BECK_ERR_OK);
  assert_true(nstr_is(req.ClientSoftwareName, "c"));
  assert_true(nstr_is(req.ClientSoftwareVersion, "1"));

  /* Unknown tags inside array elements too: ApiVersions v3 response. */
  static const uint8_t resp[] = {0x00, 0x00, 0x02,                                      /* one key */
                                 0x00, 0x01, 0x00, 0x04, 0x00, 0x0b,                    /* Fetch 4-11 */
                                 0x01, 0x63, 0x01, 0x00,                                /* tag 99 */
                                 0x00, 0x00, 0x00, 0x00,                                /* throttle */
                                 0x01, 0x01, 0x08, 0,    0,    0,    0, 0, 0, 0, 0x07}; /* tag 1 = 7 */
  beck_proto_ApiVersionsResponse_t r;
  assert_int_equal(beck_proto_decode(18, 3, false, resp, sizeof resp, &arena, &r, &e), BECK_ERR_OK);
  assert_int_equal(r.ApiKeys.count, 1);
  assert_int_equal(r.ApiKeys.items[0].MaxVersion, 11);
  assert_int_equal(r.FinalizedFeaturesEpoch, 7);
  assert_false(r.ZkMigrationReady); /* absent tag: default */

  /* A known tag whose payload is longer than the field fails. */
  uint8_t bad[sizeof resp + 1];
  memcpy(bad, resp, sizeof resp - 11);
  static const uint8_t tail[] = {0x01, 0x01, 0x09, 0, 0, 0, 0, 0, 0, 0, 0x07, 0x00};
  memcpy(bad + sizeof resp - 11, tail, sizeof tail);
  assert_int_equal(beck_proto_decode(18, 3, false, bad, sizeof bad, &arena, &r, &e), BECK_ERR_PARSE);
  assert_non_null(strstr(e.msg, "FinalizedFeaturesEpoch"));
  beck_arena_destroy(&arena);
}

static void trailing_bytes_are_rejected(void **state) {
  static const uint8_t body[] = {0x00, 0x00, 0x00, 0x00, 0x99};
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  beck_proto_MetadataRequest_t req;
  beck_error_t e;
  assert_int_equal(beck_proto_decode(3, 1, true, body, 4, &arena, &req, &e), BECK_ERR_OK);
  assert_int_equal(beck_proto_decode(3, 1, true, body, 5, &arena, &req, &e), BECK_ERR_PARSE);
  assert_non_null(strstr(e.msg, "1 trailing bytes"));
  beck_arena_destroy(&arena);
}

/* ---- typed use ------------------------------------------------------------------ */

static void fetch_v11_response_round_trips_through_typed_structs(void **state) {
  static const uint8_t batch[] = "0123456789abcdef";
  beck_proto_FetchResponse_PartitionData_t parts[2] = {{.PartitionIndex = 0,
                                                        .HighWatermark = 100,
                                                        .LastStableOffset = 100,
                                                        .LogStartOffset = 0,
                                                        .AbortedTransactions = {NULL, -1},
                                                        .PreferredReadReplica = -1,
                                                        .Records = {batch, 16}},
                                                       {.PartitionIndex = 1,
                                                        .ErrorCode = BECK_KERR_OFFSET_OUT_OF_RANGE,
                                                        .HighWatermark = 5,
                                                        .LastStableOffset = 5,
                                                        .PreferredReadReplica = -1,
                                                        .Records = {NULL, 0}}};
  beck_proto_FetchResponse_FetchableTopicResponse_t topic = {.Topic = NSTR("clicks"), .Partitions = {parts, 2}};
  beck_proto_FetchResponse_t resp = {.ThrottleTimeMs = 0, .SessionId = 0, .Responses = {&topic, 1}};
  beck_buf_t b = {0};
  beck_error_t e;
  assert_int_equal(beck_proto_encode(BECK_API_Fetch, 11, false, &resp, &b, &e), BECK_ERR_OK);
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  beck_proto_FetchResponse_t back;
  assert_int_equal(beck_proto_decode(BECK_API_Fetch, 11, false, b.data, b.len, &arena, &back, &e), BECK_ERR_OK);
  assert_int_equal(back.Responses.count, 1);
  assert_true(nstr_is(back.Responses.items[0].Topic, "clicks"));
  beck_proto_FetchResponse_PartitionData_t *p = back.Responses.items[0].Partitions.items;
  assert_int_equal(p[0].AbortedTransactions.count, -1);
  assert_int_equal(p[0].PreferredReadReplica, -1);
  assert_memory_equal(p[0].Records.ptr, batch, 16);
  assert_int_equal(p[1].ErrorCode, 1);
  assert_int_equal(p[1].Records.len, 0); /* empty, not null (reference §7 item 18) */
  /* v4 has no PreferredReadReplica: decode supplies -1 anyway */
  beck_buf_reset(&b);
  assert_int_equal(beck_proto_encode(BECK_API_Fetch, 4, false, &resp, &b, &e), BECK_ERR_OK);
  assert_int_equal(beck_proto_decode(BECK_API_Fetch, 4, false, b.data, b.len, &arena, &back, &e), BECK_ERR_OK);
  assert_int_equal(back.Responses.items[0].Partitions.items[0].PreferredReadReplica, -1);
  assert_int_equal(back.Responses.items[0].Partitions.items[0].LogStartOffset, -1); /* v5+ */
  beck_buf_free(&b);
  beck_arena_destroy(&arena);
}

static void join_group_response_never_leaks_group_instance_id_below_v5(void **state) {
  beck_proto_JoinGroupResponse_JoinGroupResponseMember_t m = {
      .MemberId = NSTR("m-1"), .GroupInstanceId = NSTR("static-1"), .Metadata = NSTR("\x00\x01")};
  beck_proto_JoinGroupResponse_t resp = {.GenerationId = 1,
                                         .ProtocolName = NSTR("range"),
                                         .Leader = NSTR("m-1"),
                                         .MemberId = NSTR("m-1"),
                                         .Members = {&m, 1}};
  beck_buf_t v4 = {0}, v5 = {0};
  assert_int_equal(beck_proto_encode(BECK_API_JoinGroup, 4, false, &resp, &v4, NULL), BECK_ERR_OK);
  assert_int_equal(beck_proto_encode(BECK_API_JoinGroup, 5, false, &resp, &v5, NULL), BECK_ERR_OK);
  assert_int_equal(v5.len, v4.len + 2 + 8); /* the INT16-length "static-1" */
  assert_null(memmem(v4.data, v4.len, "static-1", 8));
  beck_buf_free(&v4);
  beck_buf_free(&v5);
}

static void encode_errors_name_the_field_and_leave_output_untouched(void **state) {
  beck_proto_ProduceRequest_TopicProduceData_t topic = {.Name = NSTR_NULL};
  beck_proto_ProduceRequest_t req = {.TransactionalId = NSTR_NULL, .TopicData = {&topic, 1}};
  beck_buf_t b = {0};
  beck_buf_append(&b, "xyz", 3);
  beck_error_t e;
  assert_int_equal(beck_proto_encode(BECK_API_Produce, 7, true, &req, &b, &e), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "ProduceRequest v7: TopicData[0].Name: null in a non-nullable field");
  assert_int_equal(b.len, 3);
  topic.Name = NSTR("t");
  req.TopicData.items = NULL;
  assert_int_equal(beck_proto_encode(BECK_API_Produce, 7, true, &req, &b, &e), BECK_ERR_INVAL);
  req.TopicData.count = -2;
  assert_int_equal(beck_proto_encode(BECK_API_Produce, 7, true, &req, &b, &e), BECK_ERR_INVAL);
  static char long_name[40000];
  memset(long_name, 'x', sizeof long_name);
  req.TopicData = (typeof(req.TopicData)){&topic, 1};
  topic.Name = (beck_nstr_t){(const uint8_t *)long_name, (int32_t)sizeof long_name};
  assert_int_equal(beck_proto_encode(BECK_API_Produce, 7, true, &req, &b, &e), BECK_ERR_INVAL);
  assert_int_equal(b.len, 3);
  /* compact strings have no INT16 limit */
  assert_int_equal(beck_proto_encode(BECK_API_Produce, 9, true, &req, &b, &e), BECK_ERR_OK);
  beck_buf_free(&b);
}

static void encode_sg_leaves_records_out_for_zero_copy(void **state) {
  static const uint8_t r0[] = "batch-zero", r1[] = "batch-one!";
  beck_proto_FetchResponse_PartitionData_t parts[3] = {{.PartitionIndex = 0, .Records = {r0, 10}},
                                                       {.PartitionIndex = 1, .Records = {NULL, 0}},
                                                       {.PartitionIndex = 2, .Records = {r1, 10}}};
  beck_proto_FetchResponse_FetchableTopicResponse_t topic = {.Topic = NSTR("t"), .Partitions = {parts, 3}};
  beck_proto_FetchResponse_t resp = {.Responses = {&topic, 1}};
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  for (int16_t v = 11; v <= 12; v++) {
    beck_buf_t whole = {0}, sg = {0};
    assert_int_equal(beck_proto_encode(BECK_API_Fetch, v, false, &resp, &whole, NULL), BECK_ERR_OK);
    size_t mark = beck_proto_frame_begin(&sg);
    assert_int_equal(beck_proto_response_header_encode(BECK_API_Fetch, v, 9, &sg), BECK_ERR_OK);
    size_t body_at = sg.len;
    beck_proto_splice_t *sp;
    size_t nsp;
    assert_int_equal(beck_proto_encode_sg(BECK_API_Fetch, v, false, &resp, &sg, &arena, &sp, &nsp, NULL), 0);
    assert_int_equal(nsp, 2);
    assert_int_equal(beck_proto_frame_end(&sg, mark, sp[0].data.len + sp[1].data.len), BECK_ERR_OK);
    assert_ptr_equal(sp[0].data.ptr, r0); /* borrowed, not copied */
    /* stitch: out[0..at0) data0 out[at0..at1) data1 out[at1..] */
    beck_buf_t stitched = {0};
    size_t pos = body_at;
    for (size_t i = 0; i < nsp; i++) {
      beck_buf_append(&stitched, sg.data + pos, sp[i].at - pos);
      beck_buf_append(&stitched, sp[i].data.ptr, sp[i].data.len);
      pos = sp[i].at;
    }
    beck_buf_append(&stitched, sg.data + pos, sg.len - pos);
    assert_int_equal(stitched.len, whole.len);
    assert_memory_equal(stitched.data, whole.data, whole.len);
    assert_int_equal(beck_load_be32(sg.data), (sg.len - 4) + 20);
    beck_buf_free(&whole);
    beck_buf_free(&sg);
    beck_buf_free(&stitched);
  }
  beck_arena_destroy(&arena);
}

/* ---- frames real clients sent ------------------------------------------------ */

/* Captured from kcat 1.7.1 / librdkafka 2.0.2, python3-confluent-kafka 1.7.0
 * (librdkafka 2.0.2: admin calls, idempotent producer, group consumer) and
 * kafka-python 2.0.2 talking to a stub broker that advertised the codec's
 * full ranges (request frames without the Size prefix). They must decode and
 * re-encode to the same bytes; InitProducerId v4 and OffsetFetch v7 are
 * flexible versions as librdkafka writes them. */
static const struct {
  const char *what;
  const char *hex;
} real_frames[] = {
    {"librdkafka ApiVersions_v3", "0012000300000001000772646b61666b61000b6c696272646b61666b6106322e302e3200"},
    {"librdkafka Metadata_v4", "0003000400000002000772646b61666b61000000010002743101"},
    {"librdkafka Produce_v7",
     "0000000700000003000772646b61666b61ffffffff000075300000000100027431000000010000000000000055000000"
     "0000000000000000490000000002cf1d8914000000000001000001a1fc82fa82000001a1fc82fa82ffffffffffffffff"
     "ffffffffffff0000000216000000010a68656c6c6f0016000002010a776f726c6400"},
    {"librdkafka Metadata_v4", "0003000400000002000772646b61666b61000000010002743100"},
    {"librdkafka ListOffsets_v2",
     "0002000200000004000772646b61666b61ffffffff0100000001000274310000000100000000fffffffffffffffe"},
    {"librdkafka Fetch_v11",
     "0001000b00000005000772646b61666b61ffffffff000001f400000001032000000100000000ffffffff000000010002"
     "74310000000100000000ffffffff0000000000000000ffffffffffffffff00100000000000000000"},
    {"librdkafka Fetch_v11",
     "0001000b00000006000772646b61666b61ffffffff000001f400000001032000000100000000ffffffff000000010002"
     "74310000000100000000ffffffff0000000000000002ffffffffffffffff00100000000000000000"},
    {"kafkapython ApiVersions_v0", "001200000000000100176b61666b612d707974686f6e2d70726f64756365722d31"},
    {"kafkapython Metadata_v0", "000300000000000200176b61666b612d707974686f6e2d70726f64756365722d3100000000"},
    {"kafkapython Metadata_v1", "000300010000000300176b61666b612d707974686f6e2d70726f64756365722d31ffffffff"},
    {"kafkapython Produce_v7",
     "000000070000000100176b61666b612d707974686f6e2d70726f64756365722d31ffff00010000753000000001000274"
     "31000000010000000000000050000000000000000000000044000000000289a189aa000000000000000001a1fc82fb52"
     "000001a1fc82fb52ffffffffffffffffffffffffffff0000000124000000026b1666726f6d2d707974686f6e00"},
    {"kafkapython ApiVersions_v0", "001200000000000100126b61666b612d707974686f6e2d322e302e32"},
    {"kafkapython Metadata_v0", "000300000000000200126b61666b612d707974686f6e2d322e302e3200000000"},
    {"kafkapython Metadata_v1", "000300010000000300126b61666b612d707974686f6e2d322e302e320000000100027431"},
    {"kafkapython ListOffsets_v1",
     "000200010000000100126b61666b612d707974686f6e2d322e302e32ffffffff00000001000274310000000100000000"
     "fffffffffffffffe"},
    {"kafkapython Fetch_v4",
     "000100040000000200126b61666b612d707974686f6e2d322e302e32ffffffff000001f4000000010320000000000000"
     "01000274310000000100000000000000000000000000100000"},
    {"librdkafka CreateTopics_v4",
     "0013000400000003000772646b61666b610000000200026e740000000300010000000000000001000c726574656e7469"
     "6f6e2e6d7300043130303000036e7432ffffffffffff0000000000000000000003e800"},
    {"librdkafka DeleteTopics_v1",
     "0014000100000003000772646b61666b610000000200026e7400036e7432000003e8"},
    {"librdkafka CreatePartitions_v0",
     "0025000000000003000772646b61666b61000000010002743100000004ffffffff000007d001"},
    {"librdkafka DescribeConfigs_v1",
     "0020000100000003000772646b61666b61000000020200027431ffffffff04000131ffffffff01"},
    {"librdkafka AlterConfigs_v0",
     "0021000000000003000772646b61666b6100000001020002743100000001000c726574656e74696f6e2e6d7300043530"
     "303000"},
    {"librdkafka ListGroups_v0",
     "0010000000000003000772646b61666b61"},
    {"librdkafka InitProducerId_v4",
     "0016000400000003000772646b61666b610000ffffffffffffffffffffffffffff00"},
    {"librdkafka FindCoordinator_v2",
     "000a000200000003000772646b61666b610002673100"},
    {"librdkafka OffsetFetch_v7",
     "0009000700000003000772646b61666b6100036731020374310200000000000100"},
    {"librdkafka JoinGroup_v5",
     "000b000500000004000772646b61666b610002673100001770000493e00000ffff0008636f6e73756d65720000000200"
     "0572616e676500000012000100000001000274310000000000000000000a726f756e64726f62696e0000001200010000"
     "0001000274310000000000000000"},
};

static uint8_t *unhex(const char *hex, size_t *len) {
  size_t n = strlen(hex) / 2;
  uint8_t *p = malloc(n);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    p[i] = (uint8_t)v;
  }
  *len = n;
  return p;
}

static void real_client_frames_decode_and_reencode_identically(void **state) {
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  for (size_t i = 0; i < sizeof real_frames / sizeof real_frames[0]; i++) {
    size_t n;
    uint8_t *f = unhex(real_frames[i].hex, &n);
    beck_proto_request_header_t h;
    beck_proto_request_t req;
    beck_error_t e;
    assert_int_equal(beck_proto_request_header_decode(f, n, &h, &e), BECK_ERR_OK);
    beck_err_t rc =
        beck_proto_decode(h.RequestApiKey, h.RequestApiVersion, true, f + h.size, n - h.size, &arena, &req, &e);
    if (rc)
      fail_msg("%s: %s", real_frames[i].what, e.msg);
    beck_buf_t b = {0};
    assert_int_equal(beck_proto_request_header_encode(&h, &b), BECK_ERR_OK);
    assert_int_equal(beck_proto_encode(h.RequestApiKey, h.RequestApiVersion, true, &req, &b, &e), BECK_ERR_OK);
    if (b.len != n || memcmp(b.data, f, n) != 0)
      fail_msg("%s: re-encoding differs", real_frames[i].what);

    if (strcmp(real_frames[i].what, "librdkafka ApiVersions_v3") == 0) {
      assert_int_equal(h.header_version, 2);
      assert_true(nstr_is(h.ClientId, "rdkafka"));
      assert_true(nstr_is(req.ApiVersions.ClientSoftwareName, "librdkafka"));
      assert_true(nstr_is(req.ApiVersions.ClientSoftwareVersion, "2.0.2"));
    } else if (strcmp(real_frames[i].what, "librdkafka Fetch_v11") == 0 && h.CorrelationId == 5) {
      beck_proto_FetchRequest_t *fr = &req.Fetch;
      assert_int_equal(fr->ReplicaId, -1);
      assert_int_equal(fr->MaxWaitMs, 500);
      assert_int_equal(fr->MinBytes, 1);
      assert_int_equal(fr->MaxBytes, 52428800);
      assert_int_equal(fr->IsolationLevel, 1); /* read_committed by default */
      assert_int_equal(fr->SessionId, 0);
      assert_int_equal(fr->SessionEpoch, -1);
      assert_int_equal(fr->Topics.count, 1);
      assert_true(nstr_is(fr->Topics.items[0].Topic, "t1"));
      beck_proto_FetchRequest_FetchPartition_t *p = &fr->Topics.items[0].Partitions.items[0];
      assert_int_equal(p->CurrentLeaderEpoch, -1);
      assert_int_equal(p->FetchOffset, 0);
      assert_int_equal(p->LogStartOffset, -1);
      assert_int_equal(p->PartitionMaxBytes, 1048576);
      assert_int_equal(fr->ForgottenTopicsData.count, 0);
      assert_true(nstr_is(fr->RackId, ""));
    } else if (strcmp(real_frames[i].what, "librdkafka Produce_v7") == 0) {
      beck_proto_ProduceRequest_t *pr = &req.Produce;
      assert_int_equal(pr->TransactionalId.len, -1);
      assert_int_equal(pr->Acks, -1);
      assert_int_equal(pr->TimeoutMs, 30000);
      beck_nstr_t rec = pr->TopicData.items[0].PartitionData.items[0].Records;
      assert_int_equal(rec.len, 85);
      assert_int_equal(rec.ptr[16], 2); /* magic 2 */
      assert_ptr_equal(rec.ptr, f + n - 85);
    } else if (strcmp(real_frames[i].what, "kafkapython Metadata_v1") == 0 && n - h.size == 4) {
      assert_int_equal(req.Metadata.Topics.count, -1);  /* null = all topics */
      assert_true(req.Metadata.AllowAutoTopicCreation); /* v1: always allowed */
    } else if (strcmp(real_frames[i].what, "librdkafka InitProducerId_v4") == 0) {
      assert_int_equal(h.header_version, 2);
      assert_int_equal(req.InitProducerId.TransactionalId.len, -1);
      assert_int_equal(req.InitProducerId.ProducerId, -1);
      assert_int_equal(req.InitProducerId.ProducerEpoch, -1);
    } else if (strcmp(real_frames[i].what, "librdkafka OffsetFetch_v7") == 0) {
      assert_int_equal(h.header_version, 2);
      assert_true(nstr_is(req.OffsetFetch.GroupId, "g1"));
      assert_int_equal(req.OffsetFetch.Topics.count, 1);
      assert_int_equal(req.OffsetFetch.Topics.items[0].PartitionIndexes.count, 1);
    } else if (strcmp(real_frames[i].what, "librdkafka JoinGroup_v5") == 0) {
      beck_proto_JoinGroupRequest_t *j = &req.JoinGroup;
      assert_true(nstr_is(j->GroupId, "g1"));
      assert_int_equal(j->SessionTimeoutMs, 6000);
      assert_true(nstr_is(j->MemberId, ""));
      assert_int_equal(j->GroupInstanceId.len, -1);
      assert_true(nstr_is(j->ProtocolType, "consumer"));
      assert_int_equal(j->Protocols.count, 2);
      assert_true(nstr_is(j->Protocols.items[0].Name, "range"));
    } else if (strcmp(real_frames[i].what, "librdkafka CreateTopics_v4") == 0) {
      beck_proto_CreateTopicsRequest_t *ct = &req.CreateTopics;
      assert_int_equal(ct->Topics.count, 2);
      assert_int_equal(ct->Topics.items[0].NumPartitions, 3);
      assert_int_equal(ct->Topics.items[1].NumPartitions, -1);
      assert_true(nstr_is(ct->Topics.items[0].Configs.items[0].Name, "retention.ms"));
    } else if (strcmp(real_frames[i].what, "kafkapython Fetch_v4") == 0) {
      assert_int_equal(req.Fetch.IsolationLevel, 0);
      assert_int_equal(req.Fetch.Topics.items[0].Partitions.items[0].CurrentLeaderEpoch, -1); /* default */
    }
    beck_buf_free(&b);
    free(f);
    beck_arena_reset(&arena);
  }
  beck_arena_destroy(&arena);
}

/* ---- tables ------------------------------------------------------------------------ */

static void api_table_covers_the_required_ranges(void **state) {
  static const struct {
    int16_t key, min, max;
  } required[] = {{0, 3, 7},  {1, 4, 11}, {2, 1, 3},  {3, 0, 6},  {8, 2, 7},  {9, 1, 5},  {10, 0, 2}, {11, 0, 5},
                  {12, 0, 3}, {13, 0, 3}, {14, 0, 3}, {15, 0, 4}, {16, 0, 2}, {18, 0, 3}, {19, 0, 4}, {20, 0, 3},
                  {21, 0, 1}, {22, 0, 1}, {32, 0, 2}, {33, 0, 1}, {35, 1, 4}, {37, 0, 1}, {42, 0, 1}, {44, 0, 1}};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    const beck_proto_api_info_t *a = beck_proto_api_lookup(required[i].key);
    assert_non_null(a);
    assert_int_equal(a->min_version, required[i].min);
    assert_true(a->max_version >= required[i].max);
    assert_int_equal(a->advertise_max, required[i].max);
    for (int16_t v = required[i].min; v <= required[i].max; v++)
      assert_true(beck_proto_version_supported(required[i].key, v));
    assert_false(beck_proto_version_supported(required[i].key, (int16_t)(required[i].min - 1)));
  }
  assert_int_equal(beck_proto_api_count, sizeof required / sizeof required[0]);
  assert_string_equal(beck_proto_api_name(BECK_API_FindCoordinator), "FindCoordinator");
  assert_string_equal(beck_proto_api_name(99), "Unknown");
  assert_null(beck_proto_api_lookup(23)); /* OffsetForLeaderEpoch: deliberately absent */
}

static void kafka_error_names(void **state) {
  assert_string_equal(beck_kerr_name(BECK_KERR_NONE), "NONE");
  assert_string_equal(beck_kerr_name(-1), "UNKNOWN_SERVER_ERROR");
  assert_string_equal(beck_kerr_name(35), "UNSUPPORTED_VERSION");
  assert_string_equal(beck_kerr_name(79), "MEMBER_ID_REQUIRED");
  assert_string_equal(beck_kerr_name(90), "PRODUCER_FENCED");
  assert_string_equal(beck_kerr_name(4242), "UNKNOWN");
  assert_int_equal(BECK_KERR_NOT_COORDINATOR, 16);
  assert_int_equal(BECK_KERR_INVALID_RECORD, 87);
  assert_true(beck_kerr_known(56));
  assert_false(beck_kerr_known(-2));
  assert_string_equal(beck_kerr_message(4242), "unknown Kafka error code");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(varints_match_the_kafka_encoding),
      cmocka_unit_test(fixed_width_types_are_big_endian),
      cmocka_unit_test(reader_is_sticky_after_the_first_error),
      cmocka_unit_test(strings_bytes_and_arrays_in_all_forms),
      cmocka_unit_test(arena_allocates_aligned_resets_and_caps),
      cmocka_unit_test(header_versions_follow_flexibility),
      cmocka_unit_test(golden_api_versions_v0_request_and_response),
      cmocka_unit_test(golden_api_versions_v3_request_and_response),
      cmocka_unit_test(golden_metadata_v1_request),
      cmocka_unit_test(golden_produce_v3_request_header_and_body),
      cmocka_unit_test(golden_flexible_header_v2_with_tagged_fields),
      cmocka_unit_test(unknown_api_key_still_yields_the_fixed_header_fields),
      cmocka_unit_test(truncated_frames_fail_at_every_offset),
      cmocka_unit_test(huge_counts_fail_fast_without_allocating),
      cmocka_unit_test(unknown_tagged_fields_are_skipped),
      cmocka_unit_test(trailing_bytes_are_rejected),
      cmocka_unit_test(fetch_v11_response_round_trips_through_typed_structs),
      cmocka_unit_test(join_group_response_never_leaks_group_instance_id_below_v5),
      cmocka_unit_test(encode_errors_name_the_field_and_leave_output_untouched),
      cmocka_unit_test(encode_sg_leaves_records_out_for_zero_copy),
      cmocka_unit_test(real_client_frames_decode_and_reencode_identically),
      cmocka_unit_test(api_table_covers_the_required_ranges),
      cmocka_unit_test(kafka_error_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
