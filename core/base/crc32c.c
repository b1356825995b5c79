/*
 * crc32c.c - CRC-32C with hardware acceleration and a portable fallback.
 *
 * The dispatch is resolved once (first call) into a function pointer. The
 * software path is slicing-by-8 over tables built at first use.
 */
#include "base/crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
    table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t beck_crc32c_sw(uint32_t crc, const void *data, size_t len) {
  pthread_once(&table_once, table_init);
  const uint8_t *p = data;
  uint32_t c = ~crc;
  while (len && ((uintptr_t)p & 7)) {
    c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    len--;
  }
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    w ^= c;
    c = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
        table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
        table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
    p += 8;
    len -= 8;
  }
  while (len--)
    c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  uint64_t c = ~crc;
  while (len && ((uintptr_t)p & 7)) {
    c = _mm_crc32_u8((uint32_t)c, *p++);
    len--;
  }
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    len -= 8;
  }
  while (len--)
    c = _mm_crc32_u8((uint32_t)c, *p++);
  return ~(uint32_t)c;
}

static int hw_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#define HW_NAME "sse4.2"

#elif defined(__aarch64__)
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif

__attribute__((target("+crc"))) static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  uint32_t c = ~crc;
  while (len && ((uintptr_t)p & 7)) {
    c = __crc32cb(c, *p++);
    len--;
  }
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = __crc32cd(c, w);
    p += 8;
    len -= 8;
  }
  while (len--)
    c = __crc32cb(c, *p++);
  return ~c;
}

static int hw_available(void) { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#define HW_NAME "armv8"

#else
static int hw_available(void) { return 0; }
static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len) { return beck_crc32c_sw(crc, data, len); }
#define HW_NAME "sw"
#endif

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
static crc_fn impl;
static const char *impl_name;
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;

static void impl_init(void) {
  if (hw_available()) {
    impl = crc32c_hw;
    impl_name = HW_NAME;
  } else {
    impl = beck_crc32c_sw;
    impl_name = "sw";
  }
}

uint32_t beck_crc32c(uint32_t crc, const void *data, size_t len) {
  pthread_once(&impl_once, impl_init);
  return impl(crc, data, len);
}

const char *beck_crc32c_impl(void) {
  pthread_once(&impl_once, impl_init);
  return impl_name;
}
