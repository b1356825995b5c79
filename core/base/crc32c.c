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

/*
 * Three-way interleaving: the crc32 instruction has a latency of 3 cycles
 * and a throughput of 1, so one dependency chain uses a third of the unit.
 * Large inputs are cut into runs of 3 x BLOCK bytes; three chains run side
 * by side and are joined by shifting the earlier ones over BLOCK zero bytes.
 * The raw CRC state update is linear, so the shift is a 32-bit linear map,
 * applied with four byte-indexed tables built once at start.
 */
#define BLOCK 1024

static uint32_t shift_table[4][256];

__attribute__((target("sse4.2"))) static uint32_t raw_zeros(uint32_t state, size_t n) {
  uint64_t c = state;
  for (size_t i = 0; i < n; i += 8)
    c = _mm_crc32_u64(c, 0);
  return (uint32_t)c;
}

__attribute__((target("sse4.2"))) static void shift_init(void) {
  for (int k = 0; k < 4; k++)
    for (uint32_t b = 0; b < 256; b++)
      shift_table[k][b] = raw_zeros(b << (8 * k), BLOCK);
}

static inline uint32_t shift_block(uint32_t s) {
  return shift_table[0][s & 0xff] ^ shift_table[1][(s >> 8) & 0xff] ^ shift_table[2][(s >> 16) & 0xff] ^
         shift_table[3][s >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  uint64_t c = ~crc;
  while (len && ((uintptr_t)p & 7)) {
    c = _mm_crc32_u8((uint32_t)c, *p++);
    len--;
  }
  while (len >= 3 * BLOCK) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < BLOCK; i += 8) {
      uint64_t w0, w1, w2;
      memcpy(&w0, p + i, 8);
      memcpy(&w1, p + BLOCK + i, 8);
      memcpy(&w2, p + 2 * BLOCK + i, 8);
      c = _mm_crc32_u64(c, w0);
      c1 = _mm_crc32_u64(c1, w1);
      c2 = _mm_crc32_u64(c2, w2);
    }
    c = shift_block(shift_block((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
    p += 3 * BLOCK;
    len -= 3 * BLOCK;
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
  if (!__builtin_cpu_supports("sse4.2"))
    return 0;
  shift_init();
  return 1;
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
