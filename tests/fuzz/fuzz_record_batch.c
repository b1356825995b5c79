/*
 * fuzz_record_batch.c - libFuzzer target for RecordBatch v2 as it arrives
 * from a producer or sits in a segment: a sequence of batches. For each one:
 * decode and check the header, validate it, decompress its records section
 * with a 4 MiB cap (core/record/codec.c) and walk every record and header.
 *
 * The CRC is validated as given, then recomputed on a private copy so the
 * fuzzer gets past it to the codecs and the record parser (otherwise nearly
 * every mutation dies at the CRC). Each batch is copied into an allocation
 * of exactly its size so ASan reports any read past the batch.
 *
 * Seeds: tests/fuzz/corpus/record_batch (one batch per codec, xerial snappy,
 * two batches back to back), written by tests/unit/core/test_codec.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "record/codec.h"

#define RECORDS_CAP ((size_t)4 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte a record lends out so ASan checks the ranges. */
static uint32_t touch(uint32_t acc, const uint8_t *p, int64_t len) {
  if (p == NULL || len <= 0)
    return acc;
  return beck_crc32c(acc, p, (size_t)len);
}

static void walk_records(const beck_batch_header_t *h, beck_slice_t recs) {
  beck_record_iter_t it;
  beck_record_t r;
  uint32_t acc = 0;
  beck_record_iter_init(&it, h, recs.ptr, recs.len);
  int rc;
  while ((rc = beck_record_iter_next(&it, &r)) == 1) {
    acc = touch(acc, r.key.ptr, r.key.len);
    acc = touch(acc, r.value.ptr, r.value.len);
    beck_slice_t cur = r.headers;
    beck_record_header_t hd;
    int32_t n = 0;
    int hr;
    while ((hr = beck_record_header_next(&cur, &hd)) == 1) {
      acc = touch(acc, hd.key.ptr, (int64_t)hd.key.len);
      acc = touch(acc, hd.value.ptr, hd.value.len);
      n++;
    }
    /* the iterator validated the headers: they must walk cleanly */
    if (hr != 0 || n != r.headers_count)
      abort();
  }
  if (rc < 0 && beck_record_iter_next(&it, &r) != rc) /* errors are sticky */
    abort();
  volatile uint32_t sink = acc;
  (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  beck_buf_t scratch = {0};
  size_t pos = 0;
  while (size - pos >= BECK_BATCH_HEADER_SIZE) {
    beck_batch_header_t h;
    beck_error_t e;
    if (beck_batch_header_decode(data + pos, size - pos, &h) != BECK_ERR_OK)
      abort(); /* enough bytes were there */
    if (beck_batch_header_check(&h, (int64_t)(size - pos), &e) != BECK_ERR_OK)
      break;
    size_t total = (size_t)beck_batch_total_size(&h);
    if (total < BECK_BATCH_HEADER_SIZE || total > size - pos)
      abort(); /* header_check promised otherwise */
    uint8_t *b = malloc(total);
    if (b == NULL)
      break;
    memcpy(b, data + pos, total);
    (void)beck_batch_validate(b, total, true, NULL, &e);
    beck_batch_update_crc(b, total);
    beck_batch_header_t v;
    if (beck_batch_validate(b, total, false, &v, &e) == BECK_ERR_OK) {
      beck_slice_t recs;
      if (beck_batch_records(b, total, &v, RECORDS_CAP, &scratch, &recs, &e) == BECK_ERR_OK) {
        if (beck_batch_codec(&v) != BECK_CODEC_NONE && recs.len > RECORDS_CAP)
          abort(); /* the cap was not enforced */
        walk_records(&v, recs);
      }
    }
    free(b);
    pos += total;
  }
  beck_buf_free(&scratch);
  return 0;
}
