/*
 * dlq.c - the dead-letter topic: records a sink rejected or a source could
 * not convert, produced with their original key, value and headers plus
 * error context headers named as in Kafka Connect (KIP-298), so tools that
 * read Kafka Connect dead letters read ours:
 *
 *   __connect.errors.topic              original topic (sinks)
 *   __connect.errors.partition          original partition, decimal (sinks)
 *   __connect.errors.offset             original offset, decimal (sinks)
 *   __connect.errors.connector.name     the connector's configured name
 *   __connect.errors.task.id            task number, decimal
 *   __connect.errors.stage              TASK_PUT (sink rejected) or TASK_POLL (source conversion)
 *   __connect.errors.class.name         the plugin connector, e.g. postgres-sink
 *   __connect.errors.exception.message  the error message
 *
 * The topic is created (one partition) on first use if it does not exist.
 * Producing is acks=all, before the offsets covering the records are
 * committed, so a dead letter is never lost; after a crash it may repeat.
 */
#include "worker_int.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

#define CTX_HEADERS 8

static beck_record_header_t hdr(const char *k, const char *v) {
  beck_record_header_t h = {.key = beck_slice_cstr(k), .value = beck_nstr(v, (int32_t)strlen(v))};
  return h;
}

beck_err_t beck__dlq_send(beck__dlq_t *d, const beck__dlq_entry_t *entries, int n, beck_error_t *e) {
  if (d->topic == NULL || n == 0)
    return BECK_ERR_OK;
  if (!d->created) {
    beck_err_t rc = beck_client_create_topic(d->client, d->topic, 1, NULL, NULL, 0, true, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "dead-letter topic %s", d->topic);
    d->created = true;
  }
  size_t total_hdrs = 0;
  for (int k = 0; k < n; k++)
    total_hdrs += (size_t)entries[k].nheaders + CTX_HEADERS;
  beck_client_record_t *recs = beck_calloc((size_t)n, sizeof *recs);
  beck_record_header_t *hs = beck_calloc(total_hdrs ? total_hdrs : 1, sizeof *hs);
  char(*nums)[3][24] = beck_calloc((size_t)n, sizeof *nums);
  if (recs == NULL || hs == NULL || nums == NULL) {
    beck_free(recs);
    beck_free(hs);
    beck_free(nums);
    return beck_error_set(e, BECK_ERR_NOMEM, "dead-letter topic %s: out of memory", d->topic);
  }
  size_t h = 0;
  char task[16];
  snprintf(task, sizeof task, "%d", d->task_id);
  for (int k = 0; k < n; k++) {
    const beck__dlq_entry_t *en = &entries[k];
    beck_client_record_t *r = &recs[k];
    r->partition = 0;
    r->timestamp = en->timestamp;
    r->key = en->key;
    r->value = en->value;
    r->headers = &hs[h];
    for (int j = 0; j < en->nheaders; j++)
      hs[h++] = en->headers[j];
    if (d->context_headers) {
      if (en->orig_topic != NULL) {
        snprintf(nums[k][0], sizeof nums[k][0], "%d", en->orig_partition);
        snprintf(nums[k][1], sizeof nums[k][1], "%lld", (long long)en->orig_offset);
        hs[h++] = hdr("__connect.errors.topic", en->orig_topic);
        hs[h++] = hdr("__connect.errors.partition", nums[k][0]);
        hs[h++] = hdr("__connect.errors.offset", nums[k][1]);
      }
      hs[h++] = hdr("__connect.errors.connector.name", d->connector_name);
      hs[h++] = hdr("__connect.errors.task.id", task);
      hs[h++] = hdr("__connect.errors.stage", en->stage);
      hs[h++] = hdr("__connect.errors.class.name", d->class_name);
      hs[h++] = hdr("__connect.errors.exception.message", en->error ? en->error : "");
    }
    r->nheaders = (int)(&hs[h] - r->headers);
  }
  beck_err_t rc = beck_client_produce(d->client, d->topic, recs, n, NULL, NULL, e);
  if (rc != BECK_ERR_OK)
    beck_error_wrap(e, "dead-letter topic %s", d->topic);
  beck_free(recs);
  beck_free(hs);
  beck_free(nums);
  return rc;
}
