/*
 * handle_delete_topics.c - DeleteTopics (20): removes topics, their
 * committed offsets and their data. A partition whose fsync is in flight on
 * the thread pool is waited for (the request parks on a short timer) so the
 * log is never closed under the pool thread.
 */
#include "broker/handlers.h"

#include <string.h>

#include "base/alloc.h"

typedef struct delete_ctx {
  beck_broker_t *b;
  beck_req_t *req;
  beck_proto_DeleteTopicsRequest_t *msg;
  uv_timer_t *timer;
} delete_ctx_t;

static bool any_busy(beck_broker_t *b, beck_proto_DeleteTopicsRequest_t *msg) {
  for (int32_t i = 0; i < msg->TopicNames.count; i++) {
    beck_nstr_t n = msg->TopicNames.items[i];
    beck_topic_t *t = beck_topics_find(b->topics, (const char *)n.ptr, n.len > 0 ? (size_t)n.len : 0);
    for (int32_t j = 0; t && j < t->npartitions; j++)
      if (beck__bpart_busy(t->partitions[j]))
        return true;
  }
  return false;
}

static void timer_closed(uv_handle_t *h) { beck_free(h); }

static void run(delete_ctx_t *ctx);

static void on_retry(uv_timer_t *t) { run(t->data); }

static void run(delete_ctx_t *ctx) {
  beck_broker_t *b = ctx->b;
  beck_req_t *req = ctx->req;
  if (!req->cancelled && any_busy(b, ctx->msg)) {
    if (ctx->timer == NULL) {
      ctx->timer = beck_malloc(sizeof *ctx->timer);
      if (ctx->timer == NULL)
        goto oom;
      uv_timer_init(&b->loop, ctx->timer);
      ctx->timer->data = ctx;
    }
    uv_timer_start(ctx->timer, on_retry, 1, 0);
    return;
  }
  if (ctx->timer) {
    uv_close((uv_handle_t *)ctx->timer, timer_closed);
    ctx->timer = NULL;
  }
  beck_proto_DeleteTopicsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t n = ctx->msg->TopicNames.count > 0 ? ctx->msg->TopicNames.count : 0;
  resp.Responses.items = BECK_ARENA_ARRAY(req, beck_proto_DeleteTopicsResponse_DeletableTopicResult_t, n);
  if (resp.Responses.items == NULL)
    goto oom;
  resp.Responses.count = n;
  for (int32_t i = 0; i < n; i++) {
    beck_nstr_t name = ctx->msg->TopicNames.items[i];
    beck_proto_DeleteTopicsResponse_DeletableTopicResult_t *r = &resp.Responses.items[i];
    r->Name = name;
    char *cname = beck__arena_cstr(&req->arena, name);
    if (cname == NULL)
      goto oom;
    beck_topic_t *t = beck_topics_find(b->topics, cname, strlen(cname));
    if (t == NULL) {
      r->ErrorCode = BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
      continue;
    }
    for (int32_t j = 0; j < t->npartitions; j++)
      beck__bpart_release(b, t->partitions[j]);
    beck_error_t e;
    beck_err_t err = beck_topics_delete(b->topics, cname, &e);
    r->ErrorCode = beck__kerr_from_err(err);
    if (!err)
      beck__groups_topic_deleted(b, cname);
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}

void beck__handle_delete_topics(beck_broker_t *b, beck_req_t *req, beck_proto_DeleteTopicsRequest_t *msg) {
  delete_ctx_t *ctx = beck_arena_zalloc(&req->arena, sizeof *ctx);
  if (ctx == NULL) {
    beck__conn_close(req->conn, "out of memory");
    beck__req_complete(req);
    return;
  }
  ctx->b = b;
  ctx->req = req;
  ctx->msg = msg;
  run(ctx);
}
