/* test_base.c - core/base: CRC-32C vectors, errors with context, buffers,
 * allocation fault hook, atomic small files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/env.h"
#include "base/err.h"
#include "base/hostport.h"
#include "tmpdir.h"

/* RFC 3720 appendix B.4 and the common "123456789" check value. */
static void crc32c_matches_published_vectors(void **state) {
  uint8_t buf[32];
  assert_int_equal(beck_crc32c(0, "123456789", 9), 0xE3069283u);
  assert_int_equal(beck_crc32c_sw(0, "123456789", 9), 0xE3069283u);
  memset(buf, 0, sizeof buf);
  assert_int_equal(beck_crc32c(0, buf, 32), 0x8A9136AAu);
  assert_int_equal(beck_crc32c_sw(0, buf, 32), 0x8A9136AAu);
  memset(buf, 0xff, sizeof buf);
  assert_int_equal(beck_crc32c(0, buf, 32), 0x62A8AB43u);
  assert_int_equal(beck_crc32c_sw(0, buf, 32), 0x62A8AB43u);
  for (int i = 0; i < 32; i++)
    buf[i] = (uint8_t)i;
  assert_int_equal(beck_crc32c(0, buf, 32), 0x46DD794Eu);
  assert_int_equal(beck_crc32c_sw(0, buf, 32), 0x46DD794Eu);
  for (int i = 0; i < 32; i++)
    buf[i] = (uint8_t)(31 - i);
  assert_int_equal(beck_crc32c(0, buf, 32), 0x113FDB5Cu);
  assert_int_equal(beck_crc32c_sw(0, buf, 32), 0x113FDB5Cu);
  assert_int_equal(beck_crc32c(0, "", 0), 0u);
}

static void crc32c_hardware_equals_software_at_every_length_and_alignment(void **state) {
  uint8_t data[600];
  uint32_t seed = 12345;
  for (size_t i = 0; i < sizeof data; i++) {
    seed = seed * 1103515245u + 12345u;
    data[i] = (uint8_t)(seed >> 16);
  }
  for (size_t off = 0; off < 9; off++)
    for (size_t len = 0; len + off <= sizeof data; len += 7)
      assert_int_equal(beck_crc32c(0, data + off, len), beck_crc32c_sw(0, data + off, len));
  /* long inputs take the three-way interleaved path: every length around
   * the 3 KiB run boundaries, at several alignments */
  static uint8_t big[20000];
  for (size_t i = 0; i < sizeof big; i++) {
    seed = seed * 1103515245u + 12345u;
    big[i] = (uint8_t)(seed >> 16);
  }
  size_t lens[] = {3071, 3072, 3073, 3080, 6143, 6144, 6151, 9216, 12345, 19990};
  for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
    for (size_t off = 0; off < 5; off++)
      assert_int_equal(beck_crc32c(0, big + off, lens[k]), beck_crc32c_sw(0, big + off, lens[k]));
  /* chaining: crc(a||b) == crc(crc(a), b) */
  uint32_t whole = beck_crc32c(0, data, 500);
  assert_int_equal(beck_crc32c(beck_crc32c(0, data, 123), data + 123, 377), whole);
  const char *impl = beck_crc32c_impl();
  assert_true(strcmp(impl, "sse4.2") == 0 || strcmp(impl, "armv8") == 0 || strcmp(impl, "sw") == 0);
}

static void error_wrap_prefixes_context_at_each_layer(void **state) {
  beck_error_t e;
  beck_error_clear(&e);
  assert_int_equal(beck_error_set(&e, BECK_ERR_CORRUPT, "CRC mismatch at offset %d", 81920), BECK_ERR_CORRUPT);
  beck_error_wrap(&e, "segment %s", "00000000000000081920.log");
  beck_error_wrap(&e, "partition %s-%d", "clicks", 3);
  assert_string_equal(e.msg, "partition clicks-3: segment 00000000000000081920.log: CRC mismatch at offset 81920");
  assert_string_equal(beck_err_name(BECK_ERR_FENCED), "FENCED");
  assert_string_equal(beck_err_name(12345), "UNKNOWN");
  assert_string_equal(beck_strerror(BECK_ERR_OK), "success");
}

static void buf_grows_and_keeps_bytes(void **state) {
  beck_buf_t b = {0};
  for (int i = 0; i < 1000; i++)
    assert_int_equal(beck_buf_append(&b, "abc", 3), BECK_ERR_OK);
  assert_int_equal(b.len, 3000);
  assert_memory_equal(b.data + 2997, "abc", 3);
  assert_int_equal(beck_buf_printf(&b, "-%d-", 42), BECK_ERR_OK);
  assert_int_equal(b.len, 3004);
  assert_memory_equal(b.data + 3000, "-42-", 4);
  beck_buf_free(&b);
  assert_null(b.data);
  uint8_t be[8];
  beck_store_be64(be, 0x0102030405060708ull);
  assert_int_equal(be[0], 1);
  assert_int_equal(be[7], 8);
  assert_int_equal(beck_load_be64(be), 0x0102030405060708ull);
  beck_store_be16(be, 0xBEEF);
  assert_int_equal(beck_load_be16(be), 0xBEEF);
}

static void alloc_hook_fails_the_nth_allocation(void **state) {
  beck_alloc_fail_after(2);
  void *a = beck_malloc(10), *b = beck_malloc(10), *c = beck_malloc(10);
  beck_alloc_fail_after(-1);
  assert_non_null(a);
  assert_non_null(b);
  assert_null(c);
  beck_free(a);
  beck_free(b);
  beck_buf_t buf = {0};
  beck_alloc_fail_after(0);
  assert_int_equal(beck_buf_append(&buf, "x", 1), BECK_ERR_NOMEM);
  beck_alloc_fail_after(-1);
  assert_int_equal(buf.len, 0);
}

static void write_file_atomic_then_read_back(void **state) {
  char *dir = beck_test_tmpdir("base");
  char path[512];
  snprintf(path, sizeof path, "%s/a/b/checkpoint", dir);
  beck_env_t *env = beck_env_default();
  char sub[512];
  snprintf(sub, sizeof sub, "%s/a/b", dir);
  assert_int_equal(beck_env_mkdirs(env, sub), 0);
  assert_int_equal(beck_env_write_file_atomic(env, path, "42 1234\n", 8), 0);
  assert_int_equal(beck_env_write_file_atomic(env, path, "43 99\n", 6), 0);
  char *data = NULL;
  size_t len = 0;
  assert_int_equal(beck_env_read_file(env, path, 1024, &data, &len), 0);
  assert_int_equal(len, 6);
  assert_string_equal(data, "43 99\n");
  beck_free(data);
  assert_int_equal(beck_env_read_file(env, path, 3, &data, &len), -27 /* EFBIG */);
  beck_test_rmdir(dir);
}

static void hostport_splits_names_ipv4_and_bracketed_ipv6(void **state) {
  (void)state;
  char host[16];
  int port = -1;
  assert_int_equal(beck_split_hostport("127.0.0.1:9092", host, sizeof host, &port), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 9092);
  assert_int_equal(beck_split_hostport("broker1:0", host, sizeof host, &port), 0);
  assert_string_equal(host, "broker1");
  assert_int_equal(port, 0);
  assert_int_equal(beck_split_hostport("[::1]:65535", host, sizeof host, &port), 0);
  assert_string_equal(host, "::1");
  assert_int_equal(port, 65535);
  const char *bad[] = {"localhost", "localhost:", ":9092", "h:65536", "h:-1", "h:90x", "[]:1",
                       "a-host-name-too-long:1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    port = -7;
    assert_int_equal(beck_split_hostport(bad[i], host, sizeof host, &port), -1);
    assert_int_equal(port, -7); /* untouched on failure */
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(crc32c_matches_published_vectors),
      cmocka_unit_test(crc32c_hardware_equals_software_at_every_length_and_alignment),
      cmocka_unit_test(error_wrap_prefixes_context_at_each_layer),
      cmocka_unit_test(hostport_splits_names_ipv4_and_bracketed_ipv6),
      cmocka_unit_test(buf_grows_and_keeps_bytes),
      cmocka_unit_test(alloc_hook_fails_the_nth_allocation),
      cmocka_unit_test(write_file_atomic_then_read_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
