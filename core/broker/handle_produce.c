/*
 * handle_produce.c - Produce (0): validate, deduplicate, append, and answer
 * once the requested durability holds.
 *
 * Per partition:
 *   1. every batch is checked before anything is stored: RecordBatch v2
 *      framing, CRC-32C, count == LastOffsetDelta + 1, size limit, and the
 *      records inside (decompressed when compressed) -> CORRUPT_MESSAGE (2)
 *      or MESSAGE_TOO_LARGE (10), storing nothing of the partition's data;
 *   2. idempotent producers (reference §3.5): a retried batch is answered
 *      with its original offset and not stored again; a sequence gap gives
 *      OUT_OF_ORDER_SEQUENCE_NUMBER (45), an old epoch INVALID_PRODUCER_EPOCH (47);
 *   3. the batches are appended as sent (the log assigns offsets);
 *   4. acks=all waits for the group-commit fsync (fsync.policy=always);
 *      acks=1 answers after the write; acks=0 gets no response at all, and a
 *      failure closes the connection so the producer refreshes (reference §1.4).
 */
#include "broker/handlers.h"

#include <string.h>

#include "base/logging.h"
#include "record/batch.h"
#include "record/codec.h"

typedef struct produce_ctx {
  beck_broker_t *b;
  beck_req_t *req;
  beck_proto_ProduceResponse_t resp;
  int pending; /* partitions waiting for durability, +1 while the handler runs */
} produce_ctx_t;

typedef struct produce_wait {
  produce_ctx_t *ctx;
  beck_proto_ProduceResponse_PartitionProduceResponse_t *pr;
} produce_wait_t;

static void ctx_release(produce_ctx_t *ctx) {
  if (--ctx->pending > 0)
    return;
  beck__respond(ctx->req, &ctx->resp);
}

static void on_durable(void *arg, int16_t kerr) {
  produce_wait_t *w = arg;
  if (kerr) {
    w->pr->ErrorCode = kerr;
    w->pr->BaseOffset = -1;
  }
  ctx_release(w->ctx);
}

/* Checks the records of one batch (decompressing when needed). */
static beck_err_t check_records(const uint8_t *p, size_t len, const beck_batch_header_t *h, beck_buf_t *scratch,
                                int32_t max_bytes, beck_error_t *e) {
  beck_slice_t records;
  size_t cap = (size_t)(max_bytes > 0 ? max_bytes : 1048588) * 64 + (1u << 20);
  beck_err_t err = beck_batch_records(p, len, h, cap, scratch, &records, e);
  if (err)
    return err;
  beck_record_iter_t it;
  beck_record_iter_init(&it, h, records.ptr, records.len);
  beck_record_t r;
  int32_t n = 0;
  int rc;
  while ((rc = beck_record_iter_next(&it, &r)) == 1)
    n++;
  if (rc < 0)
    return beck_error_set(e, BECK_ERR_CORRUPT, "record %d of the batch is malformed", n);
  if (it.p != it.end)
    return beck_error_set(e, BECK_ERR_CORRUPT, "%zu bytes left after the batch's %d records", (size_t)(it.end - it.p),
                          n);
  return BECK_ERR_OK;
}

/* Returns the Kafka error for the partition, setting pr's fields on success. */
static int16_t produce_partition(beck_broker_t *b, beck_req_t *req, beck_partition_t *part, beck_nstr_t records,
                                 int16_t acks, beck_proto_ProduceResponse_PartitionProduceResponse_t *pr,
                                 produce_ctx_t *ctx, beck_buf_t *scratch) {
  static beck_log_limit_t corrupt_limit;
  beck_plog_t *log = part->log;
  if (records.len <= 0)
    return BECK_KERR_CORRUPT_MESSAGE;
  uint8_t *data = (uint8_t *)records.ptr; /* points into req->frame, which we own */
  size_t len = (size_t)records.len;
  int32_t max_bytes = part->topic->cfg.log.max_batch_bytes;
  beck_error_t e;
  beck_error_clear(&e);

  /* 1 + 2: validate every batch and consult producer state */
  size_t pos = 0;
  int nbatches = 0, dup = 0;
  int64_t dup_offset = -1;
  while (pos < len) {
    beck_batch_header_t h;
    if (len - pos < BECK_BATCH_HEADER_SIZE || beck_batch_header_decode(data + pos, len - pos, &h) != 0) {
      beck_error_set(&e, BECK_ERR_CORRUPT, "truncated batch header at byte %zu", pos);
      goto corrupt;
    }
    if (h.batch_length < 0 || (uint64_t)beck_batch_total_size(&h) > len - pos) {
      beck_error_set(&e, BECK_ERR_CORRUPT, "batch at byte %zu claims %lld bytes but %zu remain", pos,
                     (long long)beck_batch_total_size(&h), len - pos);
      goto corrupt;
    }
    size_t blen = (size_t)beck_batch_total_size(&h);
    if (max_bytes > 0 && blen > (size_t)max_bytes)
      return BECK_KERR_MESSAGE_TOO_LARGE;
    if (beck_batch_validate(data + pos, blen, true, &h, &e) != BECK_ERR_OK)
      goto corrupt;
    beck_batch_set_leader_epoch(data + pos, 0); /* outside the CRC; this node's only epoch */
    if (h.attributes & BECK_BATCH_ATTR_CONTROL)
      return BECK_KERR_INVALID_RECORD;
    if (h.attributes & BECK_BATCH_ATTR_TRANSACTIONAL)
      return BECK_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    if (check_records(data + pos, blen, &h, scratch, max_bytes, &e) != BECK_ERR_OK)
      goto corrupt;
    int64_t dup_base = -1;
    beck_pstate_verdict_t v = beck_pstate_check(part->pstate, &h, &dup_base);
    if (v == BECK_PSTATE_OUT_OF_ORDER)
      return BECK_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    if (v == BECK_PSTATE_INVALID_EPOCH)
      return BECK_KERR_INVALID_PRODUCER_EPOCH;
    if (v == BECK_PSTATE_DUPLICATE) {
      dup++;
      if (dup_offset < 0)
        dup_offset = dup_base;
    }
    nbatches++;
    pos += blen;
  }
  if (dup > 0) {
    if (dup != nbatches) /* a mix of old and new batches: the client is confused */
      return BECK_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    pr->BaseOffset = dup_offset;
    pr->LogStartOffset = beck_plog_start_offset(log);
    return BECK_KERR_NONE;
  }

  /* 3: append */
  beck_plog_append_info_t info;
  beck_err_t err = beck_plog_append(log, data, len, &info, &e);
  if (err) {
    beck_log_limited(&corrupt_limit, 5, 10000, "broker", BECK_LOG_WARN, "produce to %s-%d: %s", part->topic->name,
                     part->id, e.msg);
    return beck__kerr_from_err(err);
  }
  for (pos = 0; pos < len;) {
    beck_batch_header_t h;
    beck_batch_header_decode(data + pos, len - pos, &h);
    beck_pstate_observe(part->pstate, &h);
    pos += (size_t)beck_batch_total_size(&h);
  }
  pr->BaseOffset = info.base_offset;
  pr->LogAppendTimeMs = info.log_append_time;
  pr->LogStartOffset = beck_plog_start_offset(log);
  beck__partition_appended(b, part);

  /* 4: durability */
  if (acks == -1 && part->topic->cfg.log.fsync_policy == BECK_FSYNC_ALWAYS &&
      beck_plog_durable_offset(log) <= info.last_offset) {
    produce_wait_t *w = beck_arena_alloc(&req->arena, sizeof *w);
    if (w == NULL)
      return BECK_KERR_UNKNOWN_SERVER_ERROR;
    w->ctx = ctx;
    w->pr = pr;
    ctx->pending++;
    beck__wait_durable(b, part, info.last_offset + 1, on_durable, w);
  }
  return BECK_KERR_NONE;

corrupt:
  beck_log_limited(&corrupt_limit, 5, 10000, "broker", BECK_LOG_WARN,
                   "refused a corrupt batch for %s-%d from %s: %s", part->topic->name, part->id, req->conn->peer,
                   e.msg);
  return BECK_KERR_CORRUPT_MESSAGE;
}

void beck__handle_produce(beck_broker_t *b, beck_req_t *req, beck_proto_ProduceRequest_t *msg) {
  int16_t acks = msg->Acks;
  produce_ctx_t *ctx = beck_arena_zalloc(&req->arena, sizeof *ctx);
  if (ctx == NULL)
    goto oom;
  ctx->b = b;
  ctx->req = req;
  ctx->pending = 1;
  bool any_error = false;
  int32_t nt = msg->TopicData.count > 0 ? msg->TopicData.count : 0;
  ctx->resp.Responses.items = BECK_ARENA_ARRAY(req, beck_proto_ProduceResponse_TopicProduceResponse_t, nt);
  if (ctx->resp.Responses.items == NULL)
    goto oom;
  ctx->resp.Responses.count = nt;
  beck_buf_t scratch = {0};
  for (int32_t i = 0; i < nt; i++) {
    beck_proto_ProduceRequest_TopicProduceData_t *td = &msg->TopicData.items[i];
    beck_proto_ProduceResponse_TopicProduceResponse_t *tr = &ctx->resp.Responses.items[i];
    tr->Name = td->Name;
    int32_t np = td->PartitionData.count > 0 ? td->PartitionData.count : 0;
    tr->PartitionResponses.items = BECK_ARENA_ARRAY(req, beck_proto_ProduceResponse_PartitionProduceResponse_t, np);
    if (tr->PartitionResponses.items == NULL) {
      beck_buf_free(&scratch);
      goto oom;
    }
    tr->PartitionResponses.count = np;
    int16_t terr = 0;
    beck_topic_t *t = NULL;
    if (acks != 0 && acks != 1 && acks != -1)
      terr = BECK_KERR_INVALID_REQUIRED_ACKS;
    else if (msg->TransactionalId.len >= 0)
      terr = BECK_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    else
      t = beck__topic_get_or_create(b, td->Name, true, &terr);
    for (int32_t j = 0; j < np; j++) {
      beck_proto_ProduceRequest_PartitionProduceData_t *pd = &td->PartitionData.items[j];
      beck_proto_ProduceResponse_PartitionProduceResponse_t *pr = &tr->PartitionResponses.items[j];
      pr->Index = pd->Index;
      pr->BaseOffset = -1;
      pr->LogAppendTimeMs = -1;
      pr->LogStartOffset = -1;
      pr->ErrorMessage.len = -1;
      int16_t kerr = terr;
      if (!kerr) {
        if (pd->Index < 0 || pd->Index >= t->npartitions)
          kerr = BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        else
          kerr = produce_partition(b, req, t->partitions[pd->Index], pd->Records, acks, pr, ctx, &scratch);
      }
      if (kerr) {
        pr->ErrorCode = kerr;
        pr->BaseOffset = -1;
        any_error = true;
      }
    }
  }
  beck_buf_free(&scratch);
  if (acks == 0) {
    /* no response; on failure close so the producer refreshes metadata */
    if (any_error)
      beck__conn_close(req->conn, "acks=0 produce failed");
    beck__req_discard(req);
    return;
  }
  ctx_release(ctx);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
