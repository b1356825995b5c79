/*
 * handle_fetch.c - Fetch (1): whole batches from the fetch offset, long
 * polling until MinBytes are available or MaxWaitMs passes.
 *
 * Rules (reference §3.6, §6, §7 items 7, 8, 15, 18):
 *   - the batch containing FetchOffset is returned whole, also when it is
 *     larger than PartitionMaxBytes / MaxBytes, if it is the first data of
 *     the response (KIP-74); later partitions that do not fit get nothing;
 *   - records up to the high watermark (durable offset under fsync.policy
 *     always), never beyond; FetchOffset between the watermark and the log
 *     end gives empty records, beyond the end or below the start
 *     OFFSET_OUT_OF_RANGE;
 *   - empty records are zero-length, never null;
 *   - fetch sessions are not kept: SessionId 0 means full fetches.
 *
 * A parked fetch is linked on each partition it reads (bpart.fetchers) and
 * has its own timer; a watermark move on any of them re-evaluates it.
 */
#include "broker/bpart.h"

#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"

struct beck_fetch_link {
  beck_fetch_link_t *prev, *next;
  struct fetch_ctx *ctx;
  beck_partition_t *p;
};

/* One partition's records in the response: where they are on disk. The
 * encoder leaves them out (beck_proto_encode_sg) and they are read from the
 * segment straight into their place in the response. */
typedef struct fetch_piece {
  struct fetch_piece *next;
  beck_plog_t *log;
  beck_plog_slice_t s; /* holds the segment until the bytes are read */
} fetch_piece_t;

typedef struct fetch_ctx {
  beck_broker_t *b;
  beck_req_t *req;
  beck_proto_FetchRequest_t *msg;
  fetch_piece_t *pieces, *last_piece;
  uv_timer_t *timer;
  beck_fetch_link_t *links;
  int nlinks;
  bool finished;
} fetch_ctx_t;

static void timer_closed(uv_handle_t *h) { beck_free(h); }

static void unlink_all(fetch_ctx_t *ctx) {
  for (int i = 0; i < ctx->nlinks; i++) {
    beck_fetch_link_t *l = &ctx->links[i];
    if (l->p == NULL)
      continue;
    beck_bpart_t *bp = l->p->user;
    if (bp) {
      if (l->prev)
        l->prev->next = l->next;
      else
        bp->fetchers = l->next;
      if (l->next)
        l->next->prev = l->prev;
    }
    l->p = NULL;
  }
  if (ctx->timer) {
    uv_timer_stop(ctx->timer);
    uv_close((uv_handle_t *)ctx->timer, timer_closed);
    ctx->timer = NULL;
  }
}

/* Reads one partition into pr, within *budget bytes (the first data of the
 * response may exceed it). Returns the bytes added. With dry_run only counts. */
static size_t read_partition(fetch_ctx_t *ctx, beck_partition_t *p, const beck_proto_FetchRequest_FetchPartition_t *fp,
                             beck_proto_FetchResponse_PartitionData_t *pr, size_t *budget, bool *have_data,
                             bool dry_run, bool *error) {
  beck_plog_t *log = p->log;
  int64_t start = beck_plog_start_offset(log), end = beck_plog_end_offset(log);
  int64_t hw = beck__high_watermark(p);
  pr->HighWatermark = hw;
  pr->LastStableOffset = hw;
  pr->LogStartOffset = start;
  if (fp->FetchOffset < start || fp->FetchOffset > end) {
    pr->ErrorCode = BECK_KERR_OFFSET_OUT_OF_RANGE;
    pr->HighWatermark = hw;
    *error = true;
    return 0;
  }
  if (fp->FetchOffset >= hw)
    return 0;
  size_t limit = fp->PartitionMaxBytes > 0 ? (size_t)fp->PartitionMaxBytes : 0;
  if (limit > *budget)
    limit = *budget;
  if (limit == 0 && *have_data)
    return 0;
  beck_plog_slice_t s;
  beck_error_t e;
  beck_err_t err = beck_plog_read(log, fp->FetchOffset, limit ? limit : 1, hw, &s, &e);
  if (err) {
    pr->ErrorCode = beck__kerr_from_err(err);
    *error = true;
    return 0;
  }
  size_t n = s.len;
  if (n > limit && *have_data) { /* only the response's first batch may exceed the limits */
    beck_plog_slice_release(log, &s);
    return 0;
  }
  if (!dry_run && n > 0) {
    fetch_piece_t *piece = beck_arena_zalloc(&ctx->req->arena, sizeof *piece);
    if (piece == NULL || n > INT32_MAX) {
      beck_plog_slice_release(log, &s);
      pr->ErrorCode = BECK_KERR_UNKNOWN_SERVER_ERROR;
      *error = true;
      return 0;
    }
    piece->log = log;
    piece->s = s; /* released once read into the response */
    if (ctx->last_piece)
      ctx->last_piece->next = piece;
    else
      ctx->pieces = piece;
    ctx->last_piece = piece;
    pr->Records.ptr = (const uint8_t *)piece; /* a tag for the splice, never dereferenced */
    pr->Records.len = (int32_t)n;
  } else {
    beck_plog_slice_release(log, &s);
  }
  *budget = n >= *budget ? 0 : *budget - n;
  if (n)
    *have_data = true;
  return n;
}

/* Walks the request; builds the response unless dry_run. Returns bytes available. */
static size_t evaluate(fetch_ctx_t *ctx, beck_proto_FetchResponse_t *resp, bool dry_run, bool *error) {
  beck_broker_t *b = ctx->b;
  beck_proto_FetchRequest_t *msg = ctx->msg;
  size_t budget = msg->MaxBytes > 0 ? (size_t)msg->MaxBytes : 0;
  size_t total = 0;
  bool have_data = false;
  int32_t nt = msg->Topics.count > 0 ? msg->Topics.count : 0;
  for (int32_t i = 0; i < nt; i++) {
    beck_proto_FetchRequest_FetchTopic_t *ft = &msg->Topics.items[i];
    beck_topic_t *t = beck_topics_find(b->topics, (const char *)ft->Topic.ptr, ft->Topic.len > 0 ? (size_t)ft->Topic.len : 0);
    int32_t np = ft->Partitions.count > 0 ? ft->Partitions.count : 0;
    for (int32_t j = 0; j < np; j++) {
      beck_proto_FetchRequest_FetchPartition_t *fp = &ft->Partitions.items[j];
      beck_proto_FetchResponse_PartitionData_t scratch, *pr = &scratch;
      if (!dry_run)
        pr = &resp->Responses.items[i].Partitions.items[j];
      memset(pr, 0, sizeof *pr);
      pr->PartitionIndex = fp->Partition;
      pr->HighWatermark = -1;
      pr->LastStableOffset = -1;
      pr->LogStartOffset = -1;
      pr->PreferredReadReplica = -1;
      pr->AbortedTransactions.count = -1;
      pr->Records.ptr = (const uint8_t *)"";
      pr->Records.len = 0;
      pr->DivergingEpoch.Epoch = -1;
      pr->DivergingEpoch.EndOffset = -1;
      pr->CurrentLeader.LeaderId = -1;
      pr->CurrentLeader.LeaderEpoch = -1;
      pr->SnapshotId.EndOffset = -1;
      pr->SnapshotId.Epoch = -1;
      if (t == NULL || fp->Partition < 0 || fp->Partition >= t->npartitions) {
        pr->ErrorCode = BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        *error = true;
        continue;
      }
      if (fp->CurrentLeaderEpoch > 0) { /* we have only ever had epoch 0 */
        pr->ErrorCode = BECK_KERR_UNKNOWN_LEADER_EPOCH;
        *error = true;
        continue;
      }
      total += read_partition(ctx, t->partitions[fp->Partition], fp, pr, &budget, &have_data, dry_run, error);
    }
  }
  return total;
}

static void release_pieces(fetch_ctx_t *ctx) {
  for (fetch_piece_t *p = ctx->pieces; p; p = p->next)
    if (p->log)
      beck_plog_slice_release(p->log, &p->s);
  ctx->pieces = ctx->last_piece = NULL;
}

/* Encodes the response with its records left out, then assembles the frame
 * in one buffer: the encoded parts copied, each partition's records read
 * from its segment directly into place (one copy from the page cache, where
 * encoding a read buffer took two). */
static beck_err_t respond_fetch(fetch_ctx_t *ctx, const beck_proto_FetchResponse_t *resp, beck_error_t *e) {
  beck_req_t *req = ctx->req;
  beck_buf_t head = {0}, out = {0};
  beck_proto_splice_t *sp = NULL;
  size_t nsp = 0, extra = 0;
  size_t mark = beck_proto_frame_begin(&head);
  beck_err_t err = beck_proto_response_header_encode(req->api_key, req->api_version, req->correlation_id, &head);
  if (!err)
    err = beck_proto_encode_sg(req->api_key, req->api_version, false, resp, &head, &req->arena, &sp, &nsp, e);
  for (size_t i = 0; !err && i < nsp; i++)
    extra += sp[i].data.len;
  if (!err)
    err = beck_proto_frame_end(&head, mark, extra);
  if (!err)
    err = beck_buf_reserve(&out, head.len + extra);
  size_t at = 0;
  beck_env_t *env = beck_env_default();
  for (size_t i = 0; !err && i <= nsp; i++) {
    size_t upto = i < nsp ? sp[i].at : head.len;
    memcpy(out.data + out.len, head.data + at, upto - at);
    out.len += upto - at;
    at = upto;
    if (i == nsp)
      break;
    const fetch_piece_t *piece = (const fetch_piece_t *)sp[i].data.ptr;
    ssize_t r = env->pread(env, piece->s.fd, out.data + out.len, piece->s.len, piece->s.file_pos);
    if (r != (ssize_t)piece->s.len)
      err = beck_error_set(e, BECK_ERR_IO, "reading %zu bytes of a segment for a fetch failed%s", piece->s.len,
                           r < 0 ? "" : " (short read)");
    out.len += piece->s.len;
  }
  beck_buf_free(&head);
  if (err) {
    beck_buf_free(&out);
    return err;
  }
  beck_buf_free(&req->resp);
  req->resp = out;
  return BECK_ERR_OK;
}

static void finish(fetch_ctx_t *ctx) {
  if (ctx->finished)
    return;
  ctx->finished = true;
  unlink_all(ctx);
  beck_req_t *req = ctx->req;
  if (req->cancelled) {
    beck__req_complete(req);
    return;
  }
  beck_proto_FetchResponse_t resp;
  memset(&resp, 0, sizeof resp);
  beck_proto_FetchRequest_t *msg = ctx->msg;
  int32_t nt = msg->Topics.count > 0 ? msg->Topics.count : 0;
  resp.Responses.items = BECK_ARENA_ARRAY(req, beck_proto_FetchResponse_FetchableTopicResponse_t, nt);
  if (resp.Responses.items == NULL)
    goto oom;
  resp.Responses.count = nt;
  for (int32_t i = 0; i < nt; i++) {
    beck_proto_FetchRequest_FetchTopic_t *ft = &msg->Topics.items[i];
    beck_proto_FetchResponse_FetchableTopicResponse_t *rt = &resp.Responses.items[i];
    rt->Topic = ft->Topic;
    rt->TopicId = ft->TopicId;
    int32_t np = ft->Partitions.count > 0 ? ft->Partitions.count : 0;
    rt->Partitions.items = BECK_ARENA_ARRAY(req, beck_proto_FetchResponse_PartitionData_t, np);
    if (rt->Partitions.items == NULL)
      goto oom;
    rt->Partitions.count = np;
  }
  bool error = false;
  evaluate(ctx, &resp, false, &error);
  beck_error_t e;
  beck_error_clear(&e);
  beck_err_t err = respond_fetch(ctx, &resp, &e);
  release_pieces(ctx);
  if (err) {
    beck_log("broker", BECK_LOG_ERROR, "cannot answer a fetch v%d from %s: %s", req->api_version, req->conn->peer,
             err == BECK_ERR_NOMEM ? "out of memory" : e.msg);
    beck__conn_close(req->conn, "fetch response failed");
  }
  beck__req_complete(req);
  return;
oom:
  release_pieces(ctx);
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}

static void on_timeout(uv_timer_t *t) { finish(t->data); }

static void on_cancel(beck_req_t *req) { finish(req->handler_state); }

void beck__fetch_wake(beck_broker_t *b, beck_partition_t *p) {
  beck_bpart_t *bp = p->user;
  if (bp == NULL)
    return;
  beck_fetch_link_t *l = bp->fetchers;
  while (l) {
    beck_fetch_link_t *next = l->next;
    fetch_ctx_t *ctx = l->ctx;
    bool error = false;
    size_t avail = evaluate(ctx, NULL, true, &error);
    if (error || avail >= (size_t)(ctx->msg->MinBytes > 0 ? ctx->msg->MinBytes : 1)) {
      /* finish unlinks ctx from every list, possibly `next` too: restart */
      finish(ctx);
      l = bp->fetchers;
      continue;
    }
    l = next;
  }
}

void beck__fetch_finish_partition(beck_broker_t *b, beck_partition_t *p) {
  beck_bpart_t *bp = p->user;
  while (bp && bp->fetchers)
    finish(bp->fetchers->ctx);
}

void beck__fetch_finish_all(beck_broker_t *b) {
  int n = beck_topics_count(b->topics);
  for (int i = 0; i < n; i++) {
    beck_topic_t *t = beck_topics_at(b->topics, i);
    for (int32_t j = 0; j < t->npartitions; j++) {
      beck_bpart_t *bp = t->partitions[j]->user;
      while (bp && bp->fetchers)
        finish(bp->fetchers->ctx);
    }
  }
}

void beck__handle_fetch(beck_broker_t *b, beck_req_t *req, beck_proto_FetchRequest_t *msg) {
  fetch_ctx_t *ctx = beck_arena_zalloc(&req->arena, sizeof *ctx);
  if (ctx == NULL) {
    beck__conn_close(req->conn, "out of memory");
    beck__req_complete(req);
    return;
  }
  ctx->b = b;
  ctx->req = req;
  ctx->msg = msg;
  bool error = false;
  size_t avail = evaluate(ctx, NULL, true, &error);
  int32_t min_bytes = msg->MinBytes > 0 ? msg->MinBytes : 0;
  if (error || avail >= (size_t)min_bytes || msg->MaxWaitMs <= 0 || b->stopping) {
    finish(ctx);
    return;
  }
  /* park: link on every partition read, arm the timer */
  int32_t total = 0;
  for (int32_t i = 0; i < msg->Topics.count; i++)
    total += msg->Topics.items[i].Partitions.count > 0 ? msg->Topics.items[i].Partitions.count : 0;
  ctx->links = BECK_ARENA_ARRAY(req, beck_fetch_link_t, total);
  ctx->timer = beck_malloc(sizeof *ctx->timer);
  if (ctx->links == NULL || ctx->timer == NULL) {
    beck_free(ctx->timer);
    ctx->timer = NULL;
    finish(ctx);
    return;
  }
  for (int32_t i = 0; i < msg->Topics.count; i++) {
    beck_proto_FetchRequest_FetchTopic_t *ft = &msg->Topics.items[i];
    beck_topic_t *t = beck_topics_find(b->topics, (const char *)ft->Topic.ptr, (size_t)ft->Topic.len);
    for (int32_t j = 0; t && j < ft->Partitions.count; j++) {
      int32_t pi = ft->Partitions.items[j].Partition;
      beck_bpart_t *bp = beck__bpart(b, t->partitions[pi]);
      if (bp == NULL)
        continue;
      beck_fetch_link_t *l = &ctx->links[ctx->nlinks++];
      l->ctx = ctx;
      l->p = t->partitions[pi];
      l->prev = NULL;
      l->next = bp->fetchers;
      if (bp->fetchers)
        bp->fetchers->prev = l;
      bp->fetchers = l;
    }
  }
  uv_timer_init(&b->loop, ctx->timer);
  ctx->timer->data = ctx;
  uv_timer_start(ctx->timer, on_timeout, (uint64_t)msg->MaxWaitMs, 0);
  req->handler_state = ctx;
  req->cancel = on_cancel;
}
