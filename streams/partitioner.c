/*
 * partitioner.c - Kafka's default partitioner for keyed records:
 * toPositive(murmur2(key)) % partitions, with the seed and mixing constants
 * of Kafka's Utils.murmur2 (MurmurHash2, 32-bit, little-endian blocks), so a
 * key lands in the same partition as with the Java and librdkafka
 * (murmur2_random) producers.
 */
#include "streams_int.h"

uint32_t beck__murmur2(const uint8_t *data, size_t len) {
  const uint32_t m = 0x5bd1e995u;
  const int r = 24;
  uint32_t h = 0x9747b28cu ^ (uint32_t)len;
  size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    uint32_t k = (uint32_t)data[i] | ((uint32_t)data[i + 1] << 8) | ((uint32_t)data[i + 2] << 16) |
                 ((uint32_t)data[i + 3] << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (len - i) {
  case 3:
    h ^= (uint32_t)data[i + 2] << 16; /* fall through */
  case 2:
    h ^= (uint32_t)data[i + 1] << 8; /* fall through */
  case 1:
    h ^= (uint32_t)data[i];
    h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

int32_t beck__partition_for_key(const uint8_t *key, size_t len, int32_t n) {
  if (n <= 1)
    return 0;
  return (int32_t)((beck__murmur2(key, len) & 0x7fffffffu) % (uint32_t)n);
}
