/*
 * crc32c.h - CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78),
 * the checksum of Kafka RecordBatch v2 (KIP-98) and of Beck's own files.
 *
 * Uses the SSE4.2 crc32 instruction on x86-64 or the ARMv8 CRC extension when
 * the CPU has it (checked once at run time), else a portable slicing-by-8
 * table. All variants give identical results; tests check them against the
 * RFC 3720 appendix B.4 vectors.
 */
#ifndef BECK_BASE_CRC32C_H
#define BECK_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: pass 0 for a fresh one. crc32c(crc32c(0,a),b) == crc32c(0,ab). */
uint32_t beck_crc32c(uint32_t crc, const void *data, size_t len);
/* The portable implementation, for tests and benchmarks. */
uint32_t beck_crc32c_sw(uint32_t crc, const void *data, size_t len);
/* The name of the implementation beck_crc32c() uses: "sse4.2", "armv8" or "sw". */
const char *beck_crc32c_impl(void);

#endif
