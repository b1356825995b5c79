/*
 * fuzz_proto_request.c - libFuzzer target for core/proto.
 *
 * Input: one request frame without its 4-byte Size, exactly what a broker
 * hands the codec: request header, then the body for the header's api key
 * and version. An odd CorrelationId makes the body be decoded as the
 * response of that key and version instead, so response decoders (which a
 * client would run on broker output) are covered by the same corpus.
 *
 * Properties checked beyond "no crash, no sanitizer report":
 *   - whatever decodes re-encodes (encode never fails on decoded data);
 *   - the re-encoding is no longer than the input (only unknown tags,
 *     default-valued tags and non-minimal varints can be dropped);
 *   - decode(encode(x)) encodes to the same bytes again (a fixpoint).
 *
 * Build: CC=clang cmake -S . -B build-fuzz -DBECK_FUZZ=ON -DBECK_SANITIZE=ON
 * Run:   build-fuzz/bin/fuzz_proto_request -max_total_time=60 <scratch dir> \
 *          tests/fuzz/corpus/proto_request
 * Seeds: tests/fuzz/corpus/proto_request, one encoded request per supported
 * api and version (rewritten by test_proto_roundtrip with
 * BECK_WRITE_FUZZ_SEEDS=1).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/proto.h"

typedef union any_msg {
  beck_proto_request_t req;
  beck_proto_response_t resp;
} any_msg_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  beck_proto_request_header_t h;
  if (beck_proto_request_header_decode(data, size, &h, NULL) != BECK_ERR_OK)
    return 0;
  if (h.size > size)
    abort();
  int16_t key = h.RequestApiKey, ver = h.RequestApiVersion;
  bool is_request = (h.CorrelationId & 1) == 0;
  const uint8_t *body = data + h.size;
  size_t n = size - h.size;

  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  beck_arena_set_limit(&arena, 64u << 20);
  any_msg_t m1, m2;
  beck_error_t e;
  beck_err_t rc = beck_proto_decode(key, ver, is_request, body, n, &arena, &m1, &e);
  if (rc == BECK_ERR_OK) {
    beck_buf_t a = {0}, b = {0};
    if (beck_proto_encode(key, ver, is_request, &m1, &a, &e) != BECK_ERR_OK)
      abort();
    if (a.len > n)
      abort();
    if (beck_proto_decode(key, ver, is_request, a.data, a.len, &arena, &m2, &e) != BECK_ERR_OK)
      abort();
    if (beck_proto_encode(key, ver, is_request, &m2, &b, &e) != BECK_ERR_OK)
      abort();
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
      abort();
    beck_buf_free(&a);
    beck_buf_free(&b);
  } else if (rc != BECK_ERR_PARSE && rc != BECK_ERR_UNSUPPORTED && rc != BECK_ERR_NOMEM) {
    abort();
  }
  beck_arena_destroy(&arena);
  return 0;
}
