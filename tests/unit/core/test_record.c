/* test_record.c - core/record: varints, batch build/validate/iterate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "record/batch.h"

static void varints_round_trip_at_the_edges(void **state) {
  int32_t vals[] = {0, 1, -1, 63, -64, 64, 300, -300, INT32_MAX, INT32_MIN};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    uint8_t b[5];
    size_t n = beck_varint_encode(b, vals[i]);
    int32_t out;
    assert_int_equal(beck_varint_decode(b, b + n, &out), n);
    assert_int_equal(out, vals[i]);
    assert_int_equal(beck_varint_decode(b, b + n - 1, &out), 0); /* truncated */
  }
  int64_t lv[] = {0, -1, 1, INT64_MAX, INT64_MIN, 1700000000000LL};
  for (size_t i = 0; i < sizeof lv / sizeof lv[0]; i++) {
    uint8_t b[10];
    size_t n = beck_varlong_encode(b, lv[i]);
    int64_t out;
    assert_int_equal(beck_varlong_decode(b, b + n, &out), n);
    assert_true(out == lv[i]);
  }
  /* -1 zigzags to 1: a single byte 0x01; 1 -> 0x02; -64 -> 0x7f; 64 -> 0x80 0x01 */
  uint8_t b[5];
  assert_int_equal(beck_varint_encode(b, -1), 1);
  assert_int_equal(b[0], 0x01);
  assert_int_equal(beck_varint_encode(b, 64), 2);
  assert_int_equal(b[0], 0x80);
  assert_int_equal(b[1], 0x01);
  /* an over-long varint (6 continuation bytes) is refused */
  uint8_t bad[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  int32_t out;
  assert_int_equal(beck_varint_decode(bad, bad + sizeof bad, &out), 0);
}

static void builder_batch_validates_and_iterates_exact_records(void **state) {
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  beck_record_header_t hdr = {beck_slice("trace", 5), beck_nstr("abc", 3)};
  assert_int_equal(beck_batch_builder_add(&b, 1000, beck_nstr("k1", 2), beck_nstr("hello", 5), &hdr, 1), 0);
  assert_int_equal(beck_batch_builder_add(&b, 1005, beck_nstr_null(), beck_nstr("", 0), NULL, 0), 0);
  assert_int_equal(beck_batch_builder_add(&b, 999, beck_nstr("k3", 2), beck_nstr_null(), NULL, 0), 0);
  assert_int_equal(beck_batch_builder_finish(&b), 0);

  beck_batch_header_t h;
  beck_error_t e;
  assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, true, &h, &e), 0);
  assert_int_equal(h.records_count, 3);
  assert_int_equal(h.last_offset_delta, 2);
  assert_int_equal(h.base_timestamp, 1000);
  assert_int_equal(h.max_timestamp, 1005);
  assert_int_equal(h.producer_id, -1);
  assert_int_equal(beck_batch_total_size(&h), (int64_t)b.buf.len);

  beck_batch_set_base_offset(b.buf.data, 100); /* outside the CRC */
  assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, true, &h, &e), 0);
  beck_record_iter_t it;
  beck_record_iter_init(&it, &h, b.buf.data + BECK_BATCH_HEADER_SIZE, b.buf.len - BECK_BATCH_HEADER_SIZE);
  beck_record_t r;
  assert_int_equal(beck_record_iter_next(&it, &r), 1);
  assert_int_equal(r.offset, 100);
  assert_int_equal(r.timestamp, 1000);
  assert_int_equal(r.key.len, 2);
  assert_memory_equal(r.key.ptr, "k1", 2);
  assert_memory_equal(r.value.ptr, "hello", 5);
  assert_int_equal(r.headers_count, 1);
  beck_slice_t cur = r.headers;
  beck_record_header_t rh;
  assert_int_equal(beck_record_header_next(&cur, &rh), 1);
  assert_int_equal(rh.key.len, 5);
  assert_memory_equal(rh.key.ptr, "trace", 5);
  assert_memory_equal(rh.value.ptr, "abc", 3);
  assert_int_equal(beck_record_iter_next(&it, &r), 1);
  assert_int_equal(r.offset, 101);
  assert_int_equal(r.timestamp, 1005);
  assert_int_equal(r.key.len, -1);
  assert_null(r.key.ptr);
  assert_int_equal(r.value.len, 0);
  assert_int_equal(beck_record_iter_next(&it, &r), 1);
  assert_int_equal(r.offset, 102);
  assert_int_equal(r.timestamp, 999);
  assert_int_equal(r.value.len, -1);
  assert_int_equal(beck_record_iter_next(&it, &r), 0);
  beck_batch_builder_free(&b);
}

static void validate_refuses_flipped_bit_bad_magic_and_short_length(void **state) {
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  for (int i = 0; i < 10; i++)
    beck_batch_builder_add(&b, 5000 + i, beck_nstr("key", 3), beck_nstr("value-value", 11), NULL, 0);
  beck_batch_builder_finish(&b);
  beck_error_t e;
  beck_batch_header_t h;
  for (size_t i = BECK_BATCH_CRC_START; i < b.buf.len; i += 3) {
    b.buf.data[i] ^= 0x10;
    assert_int_not_equal(beck_batch_validate(b.buf.data, b.buf.len, true, &h, &e), 0);
    b.buf.data[i] ^= 0x10;
  }
  assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, true, &h, &e), 0);
  b.buf.data[BECK_BATCH_OFF_MAGIC] = 1;
  assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, true, &h, &e), BECK_ERR_CORRUPT);
  assert_non_null(strstr(e.msg, "magic 1"));
  b.buf.data[BECK_BATCH_OFF_MAGIC] = 2;
  assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len - 1, true, &h, &e), BECK_ERR_CORRUPT);
  assert_non_null(strstr(e.msg, "batch length"));
  assert_int_equal(beck_batch_validate(b.buf.data, 30, true, &h, &e), BECK_ERR_CORRUPT);
  /* count mismatch is refused only in strict mode */
  beck_store_be32(b.buf.data + BECK_BATCH_OFF_RECORDS_COUNT, 9);
  beck_batch_update_crc(b.buf.data, b.buf.len);
  assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, true, &h, &e), BECK_ERR_CORRUPT);
  assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, false, &h, &e), 0);
  beck_batch_builder_free(&b);
}

static void iterator_stops_on_truncated_records(void **state) {
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  beck_batch_builder_add(&b, 1, beck_nstr("k", 1), beck_nstr("0123456789", 10), NULL, 0);
  beck_batch_builder_add(&b, 2, beck_nstr("k", 1), beck_nstr("0123456789", 10), NULL, 0);
  beck_batch_builder_finish(&b);
  beck_batch_header_t h;
  beck_batch_header_decode(b.buf.data, b.buf.len, &h);
  beck_record_iter_t it;
  beck_record_iter_init(&it, &h, b.buf.data + BECK_BATCH_HEADER_SIZE, b.buf.len - BECK_BATCH_HEADER_SIZE - 3);
  beck_record_t r;
  assert_int_equal(beck_record_iter_next(&it, &r), 1);
  assert_int_equal(beck_record_iter_next(&it, &r), BECK_ERR_CORRUPT);
  assert_int_equal(beck_record_iter_next(&it, &r), BECK_ERR_CORRUPT); /* sticky */
  beck_batch_builder_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(varints_round_trip_at_the_edges),
      cmocka_unit_test(builder_batch_validates_and_iterates_exact_records),
      cmocka_unit_test(validate_refuses_flipped_bit_bad_magic_and_short_length),
      cmocka_unit_test(iterator_stops_on_truncated_records),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
