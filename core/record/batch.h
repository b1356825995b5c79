/*
 * batch.h - Kafka RecordBatch v2 (magic 2): parse, validate, iterate, build.
 *
 * The same bytes travel on the wire and sit on disk (reference §3). Layout of
 * the 61-byte header, all big-endian:
 *
 *   off size field                  notes
 *   0   8    BaseOffset             set by the broker on append
 *   8   4    BatchLength            bytes after this field (total - 12)
 *   12  4    PartitionLeaderEpoch   outside the CRC
 *   16  1    Magic                  2
 *   17  4    CRC                    CRC-32C over [21, end)
 *   21  2    Attributes             bits 0-2 codec, 3 timestamp type,
 *                                   4 transactional, 5 control, 6 delete horizon
 *   23  4    LastOffsetDelta
 *   27  8    BaseTimestamp
 *   35  8    MaxTimestamp
 *   43  8    ProducerId             -1 = not idempotent
 *   51  2    ProducerEpoch
 *   53  4    BaseSequence
 *   57  4    RecordsCount
 *   61  ...  Records                plain, or one compressed blob
 *
 * Record (zigzag varints): Length, Attributes i8, TimestampDelta varlong,
 * OffsetDelta varint, KeyLength varint (-1 null), Key, ValueLength varint,
 * Value, HeadersCount varint, headers [KeyLen, Key, ValueLen, Value].
 */
#ifndef BECK_RECORD_BATCH_H
#define BECK_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define BECK_BATCH_HEADER_SIZE 61
#define BECK_BATCH_LOG_OVERHEAD 12 /* BaseOffset + BatchLength */
#define BECK_BATCH_CRC_START 21

#define BECK_BATCH_OFF_BASE_OFFSET 0
#define BECK_BATCH_OFF_LENGTH 8
#define BECK_BATCH_OFF_LEADER_EPOCH 12
#define BECK_BATCH_OFF_MAGIC 16
#define BECK_BATCH_OFF_CRC 17
#define BECK_BATCH_OFF_ATTRIBUTES 21
#define BECK_BATCH_OFF_LAST_OFFSET_DELTA 23
#define BECK_BATCH_OFF_BASE_TIMESTAMP 27
#define BECK_BATCH_OFF_MAX_TIMESTAMP 35
#define BECK_BATCH_OFF_PRODUCER_ID 43
#define BECK_BATCH_OFF_PRODUCER_EPOCH 51
#define BECK_BATCH_OFF_BASE_SEQUENCE 53
#define BECK_BATCH_OFF_RECORDS_COUNT 57

#define BECK_BATCH_ATTR_CODEC_MASK 0x07
#define BECK_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BECK_BATCH_ATTR_TRANSACTIONAL 0x10
#define BECK_BATCH_ATTR_CONTROL 0x20
#define BECK_BATCH_ATTR_DELETE_HORIZON 0x40

typedef enum {
  BECK_CODEC_NONE = 0,
  BECK_CODEC_GZIP = 1,
  BECK_CODEC_SNAPPY = 2,
  BECK_CODEC_LZ4 = 3,
  BECK_CODEC_ZSTD = 4,
} beck_codec_t;

/* A decoded batch header (value type). */
typedef struct beck_batch_header {
  int64_t base_offset;
  int32_t batch_length;
  int32_t leader_epoch;
  int8_t magic;
  uint32_t crc;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t records_count;
} beck_batch_header_t;

/* Total bytes of the batch on disk/wire: batch_length + 12. */
static inline int64_t beck_batch_total_size(const beck_batch_header_t *h) {
  return (int64_t)h->batch_length + BECK_BATCH_LOG_OVERHEAD;
}
static inline int64_t beck_batch_last_offset(const beck_batch_header_t *h) {
  return h->base_offset + h->last_offset_delta;
}
static inline beck_codec_t beck_batch_codec(const beck_batch_header_t *h) {
  return (beck_codec_t)(h->attributes & BECK_BATCH_ATTR_CODEC_MASK);
}

/* Decodes the fixed header from at least BECK_BATCH_HEADER_SIZE bytes.
 * Does not validate anything. Returns BECK_ERR_CORRUPT if len is too short. */
beck_err_t beck_batch_header_decode(const uint8_t *p, size_t len, beck_batch_header_t *h);

/* Checks the header fields that can be checked without the body: magic 2,
 * BatchLength >= 49 (header after the 12-byte prefix) and <= max_total - 12,
 * LastOffsetDelta >= 0, RecordsCount >= 0, known codec. max_total <= 0 means
 * no limit beyond INT32_MAX. Fills e with what is wrong. */
beck_err_t beck_batch_header_check(const beck_batch_header_t *h, int64_t max_total, beck_error_t *e);

/* Full validation of one complete batch in p[0..len): header checks, len ==
 * total size, CRC-32C. With `strict_count`, also RecordsCount ==
 * LastOffsetDelta + 1 (true for producer input; false for compacted logs).
 * Borrows p. */
beck_err_t beck_batch_validate(const uint8_t *p, size_t len, bool strict_count, beck_batch_header_t *out,
                               beck_error_t *e);

/* Computes the CRC over p[21..len) and stores it at p[17]. */
void beck_batch_update_crc(uint8_t *p, size_t len);
/* Writes BaseOffset into a batch (outside the CRC). */
void beck_batch_set_base_offset(uint8_t *p, int64_t base_offset);
/* Writes PartitionLeaderEpoch (outside the CRC). */
void beck_batch_set_leader_epoch(uint8_t *p, int32_t epoch);

/* One record, borrowing from the batch (or decompressed) buffer. */
typedef struct beck_record {
  int64_t offset;    /* absolute: base_offset + offset_delta */
  int64_t timestamp; /* absolute (MaxTimestamp for LogAppendTime batches) */
  beck_nstr_t key;
  beck_nstr_t value;
  int32_t headers_count;
  beck_slice_t headers; /* raw header bytes, walk with beck_record_header_next */
} beck_record_t;

typedef struct beck_record_header {
  beck_slice_t key;
  beck_nstr_t value;
} beck_record_header_t;

/* Iterates records of an uncompressed records section. */
typedef struct beck_record_iter {
  const uint8_t *p, *end;
  int32_t remaining;
  beck_batch_header_t hdr;
  beck_err_t err;
} beck_record_iter_t;

/* Starts iterating: `records` is the records section (for compressed batches,
 * the decompressed bytes). hdr supplies base offset/timestamp and the count. */
void beck_record_iter_init(beck_record_iter_t *it, const beck_batch_header_t *hdr, const uint8_t *records,
                           size_t len);
/* Returns 1 and fills r for the next record, 0 at the end, negative on
 * malformed input (it->err is set; later calls return the same error). */
int beck_record_iter_next(beck_record_iter_t *it, beck_record_t *r);
/* Walks the headers of a record: returns 1 with h filled, 0 at end, <0 malformed. */
int beck_record_header_next(beck_slice_t *cursor, beck_record_header_t *h);

/* Varints (Kafka zigzag). Decoders return bytes consumed or 0 on malformed. */
size_t beck_varint_decode(const uint8_t *p, const uint8_t *end, int32_t *out);
size_t beck_varlong_decode(const uint8_t *p, const uint8_t *end, int64_t *out);
size_t beck_uvarint_decode(const uint8_t *p, const uint8_t *end, uint32_t *out);
size_t beck_varint_encode(uint8_t *p, int32_t v);    /* needs 5 bytes */
size_t beck_varlong_encode(uint8_t *p, int64_t v);   /* needs 10 bytes */
size_t beck_uvarint_encode(uint8_t *p, uint32_t v);  /* needs 5 bytes */

/* Builds an uncompressed batch, record by record, into an owned buffer.
 * Usage: init, add..., finish -> b->buf holds one batch; then free. */
typedef struct beck_batch_builder {
  beck_buf_t buf;
  int32_t count;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int64_t last_offset_delta;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int16_t attributes;
  beck_err_t err;
} beck_batch_builder_t;

void beck_batch_builder_init(beck_batch_builder_t *b);
/* Sets idempotent-producer fields (default -1/-1/-1). */
void beck_batch_builder_set_producer(beck_batch_builder_t *b, int64_t producer_id, int16_t epoch, int32_t base_sequence);
/* Appends a record (key/value copied; NULL ptr with len -1 = null). headers
 * may be NULL when nheaders == 0. offset_delta < 0 means "next". */
beck_err_t beck_batch_builder_add(beck_batch_builder_t *b, int64_t timestamp, beck_nstr_t key, beck_nstr_t value,
                                  const beck_record_header_t *headers, int nheaders);
/* Same, with an explicit offset delta (compaction keeps original deltas). */
beck_err_t beck_batch_builder_add_at(beck_batch_builder_t *b, int32_t offset_delta, int64_t timestamp, beck_nstr_t key,
                                     beck_nstr_t value, const beck_record_header_t *headers, int nheaders);
/* Writes the header and CRC. The batch is b->buf.data[0..b->buf.len). */
beck_err_t beck_batch_builder_finish(beck_batch_builder_t *b);
void beck_batch_builder_free(beck_batch_builder_t *b);

static inline beck_nstr_t beck_nstr(const void *p, int32_t len) {
  beck_nstr_t s = {(const uint8_t *)p, len};
  return s;
}
static inline beck_nstr_t beck_nstr_null(void) {
  beck_nstr_t s = {NULL, -1};
  return s;
}

#endif
