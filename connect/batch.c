/*
 * batch.c - the source batch: records a source emits during one poll,
 * copied into one growable buffer (no allocation per record once the buffer
 * has grown to its working size; reset keeps the memory).
 *
 * Layout of data: for each record, in emit order, its key, value, topic,
 * source partition, source offset, error message and headers, each
 * NUL-terminated (the NUL is not part of any length). Headers are stored as
 * consecutive {int32 key_len, int32 value_len} + key bytes + NUL + value
 * bytes + NUL (no value bytes for a null value).
 */
#include "connect_int.h"

#include <string.h>

#include "base/alloc.h"

void beck__source_batch_init(beck_source_batch_t *b, size_t max_records, size_t max_bytes) {
  memset(b, 0, sizeof *b);
  b->max_records = max_records ? max_records : 1;
  b->max_bytes = max_bytes ? max_bytes : 1;
}

void beck__source_batch_reset(beck_source_batch_t *b) {
  b->n = 0;
  b->nerrors = 0;
  b->data.len = 0;
}

void beck__source_batch_free(beck_source_batch_t *b) {
  beck_free(b->recs);
  beck_buf_free(&b->data);
  b->recs = NULL;
  b->n = b->cap = 0;
}

int beck__srec_header(const beck_source_batch_t *b, const beck__srec_t *r, int32_t i, beck_connector_header_t *h) {
  if (i < 0 || i >= r->nheaders)
    return 0;
  size_t off = r->headers;
  for (int32_t k = 0;; k++) {
    int32_t lens[2];
    memcpy(lens, b->data.data + off, sizeof lens);
    off += sizeof lens + 1;
    const uint8_t *key = b->data.data + off;
    off += (size_t)lens[0] + 1;
    const uint8_t *val = lens[1] >= 0 ? b->data.data + off : NULL;
    if (lens[1] >= 0)
      off += (size_t)lens[1] + 1;
    if (k == i) {
      h->key = (const char *)key;
      h->key_len = lens[0];
      h->value = val;
      h->value_len = lens[1];
      return 1;
    }
  }
}
