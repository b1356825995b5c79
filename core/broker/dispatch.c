/*
 * dispatch.c - from a complete request frame to its handler, and from a
 * response struct to bytes on the connection.
 *
 * The dispatch table (BECK_HANDLERS in handlers.h) names a handler per API;
 * the version range of each comes from the codec's API table
 * (min_version..advertise_max), so ApiVersions is derived from the same
 * place the dispatcher checks. Unknown APIs and versions outside the range
 * close the connection, as Kafka does, except ApiVersions, which answers
 * UNSUPPORTED_VERSION with the version list (reference §1.4, KIP-511).
 */
#include "broker/handlers.h"

#include <stdio.h>
#include <string.h>

#include "base/logging.h"

typedef void (*handler_fn)(beck_broker_t *b, beck_req_t *req, void *msg);

typedef struct handler_entry {
  int16_t api_key;
  handler_fn fn;
} handler_entry_t;

#define BECK_HANDLER_ENTRY(Name, fn) {BECK_API_##Name, (handler_fn)fn},
static const handler_entry_t handlers[] = {BECK_HANDLERS(BECK_HANDLER_ENTRY)};
#undef BECK_HANDLER_ENTRY

static const handler_entry_t *find_handler(int16_t key) {
  for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
    if (handlers[i].api_key == key)
      return &handlers[i];
  return NULL;
}

bool beck__api_served(int16_t key) { return find_handler(key) != NULL; }

static beck_log_limit_t malformed_limit;

void beck__respond(beck_req_t *req, const void *resp) {
  beck_buf_t *out = &req->resp;
  beck_buf_reset(out);
  size_t mark = beck_proto_frame_begin(out);
  beck_error_t e;
  beck_err_t err = beck_proto_response_header_encode(req->api_key, req->api_version, req->correlation_id, out);
  if (!err)
    err = beck_proto_encode(req->api_key, req->api_version, false, resp, out, &e);
  if (!err)
    err = beck_proto_frame_end(out, mark, 0);
  if (err) {
    beck_log("broker", BECK_LOG_ERROR, "cannot encode %s v%d response: %s", beck_proto_api_name(req->api_key),
             req->api_version, err == BECK_ERR_NOMEM ? "out of memory" : e.msg);
    beck__conn_close(req->conn, "response encoding failed");
  }
  beck__req_complete(req);
}

/* ApiVersions for a version we do not speak: error 35 and the list, in the v0 body. */
static void answer_unsupported_api_versions(beck_req_t *req) {
  beck_proto_ApiVersionsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  resp.ErrorCode = BECK_KERR_UNSUPPORTED_VERSION;
  resp.ApiKeys.items = BECK_ARENA_ARRAY(req, beck_proto_ApiVersionsResponse_ApiVersion_t, 1);
  const beck_proto_api_info_t *a = beck_proto_api_lookup(BECK_API_ApiVersions);
  resp.ApiKeys.items[0].ApiKey = BECK_API_ApiVersions;
  resp.ApiKeys.items[0].MinVersion = a->min_version;
  resp.ApiKeys.items[0].MaxVersion = a->advertise_max;
  resp.ApiKeys.count = 1;
  req->api_version = 0;
  beck__respond(req, &resp);
}

void beck__dispatch(beck_broker_t *b, beck_req_t *req) {
  beck_proto_request_header_t hdr;
  beck_error_t e;
  beck_error_clear(&e);
  beck_err_t err = beck_proto_request_header_decode(req->frame, req->frame_len, &hdr, &e);
  const handler_entry_t *h = find_handler(req->api_key);
  const beck_proto_api_info_t *api = beck_proto_api_lookup(req->api_key);
  if (err == BECK_ERR_UNSUPPORTED || h == NULL || api == NULL) {
    char why[96];
    snprintf(why, sizeof why, "unknown API key %d", req->api_key);
    beck__conn_close(req->conn, why);
    beck__req_complete(req);
    return;
  }
  if (err) {
    beck_log_limited(&malformed_limit, 10, 10000, "broker", BECK_LOG_WARN, "connection %s: malformed request header: %s",
                     req->conn->peer, e.msg);
    beck__conn_close(req->conn, "malformed request header");
    beck__req_complete(req);
    return;
  }
  if (req->api_version < api->min_version || req->api_version > api->advertise_max) {
    if (req->api_key == BECK_API_ApiVersions) {
      answer_unsupported_api_versions(req);
      return;
    }
    char why[128];
    snprintf(why, sizeof why, "%s v%d is not supported (supported: v%d to v%d)", api->name, req->api_version,
             api->min_version, api->advertise_max);
    beck__conn_close(req->conn, why);
    beck__req_complete(req);
    return;
  }
  req->client_id = beck__arena_cstr(&req->arena, hdr.ClientId);
  /* the decoded request may be large (many partitions): cap the arena by the frame */
  beck_arena_set_limit(&req->arena, 0);
  void *msg = beck_arena_zalloc(&req->arena, sizeof(beck_proto_request_t));
  if (msg == NULL || req->client_id == NULL) {
    beck__conn_close(req->conn, "out of memory decoding a request");
    beck__req_complete(req);
    return;
  }
  err = beck_proto_decode(req->api_key, req->api_version, true, req->frame + hdr.size, req->frame_len - hdr.size,
                          &req->arena, msg, &e);
  if (err) {
    beck_log_limited(&malformed_limit, 10, 10000, "broker", BECK_LOG_WARN, "connection %s: malformed %s v%d request: %s",
                     req->conn->peer, api->name, req->api_version, err == BECK_ERR_NOMEM ? "out of memory" : e.msg);
    beck__conn_close(req->conn, "malformed request");
    beck__req_complete(req);
    return;
  }
  h->fn(b, req, msg);
}

char *beck__arena_cstr(beck_arena_t *a, beck_nstr_t s) {
  size_t n = s.len > 0 ? (size_t)s.len : 0;
  char *p = beck_arena_alloc(a, n + 1);
  if (p == NULL)
    return NULL;
  if (n)
    memcpy(p, s.ptr, n);
  p[n] = '\0';
  return p;
}

int16_t beck__kerr_from_err(beck_err_t err) {
  switch (err) {
  case BECK_ERR_OK: return BECK_KERR_NONE;
  case BECK_ERR_CORRUPT: return BECK_KERR_CORRUPT_MESSAGE;
  case BECK_ERR_TOOBIG: return BECK_KERR_MESSAGE_TOO_LARGE;
  case BECK_ERR_RANGE: return BECK_KERR_OFFSET_OUT_OF_RANGE;
  case BECK_ERR_NOTFOUND: return BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
  case BECK_ERR_EXISTS: return BECK_KERR_TOPIC_ALREADY_EXISTS;
  case BECK_ERR_INVAL: return BECK_KERR_INVALID_REQUEST;
  case BECK_ERR_IO:
  case BECK_ERR_NOSPACE:
  case BECK_ERR_FENCED: return BECK_KERR_KAFKA_STORAGE_ERROR;
  default: return BECK_KERR_UNKNOWN_SERVER_ERROR;
  }
}

beck_topic_t *beck__topic_get_or_create(beck_broker_t *b, beck_nstr_t name, bool allow_create, int16_t *kerr) {
  if (name.len <= 0) {
    *kerr = BECK_KERR_INVALID_TOPIC_EXCEPTION;
    return NULL;
  }
  beck_topic_t *t = beck_topics_find(b->topics, (const char *)name.ptr, (size_t)name.len);
  if (t)
    return t;
  if (!allow_create || !b->cfg.auto_create_topics) {
    *kerr = BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return NULL;
  }
  char tname[256];
  beck_error_t e;
  if (beck_topic_name_validate((const char *)name.ptr, (size_t)name.len, &e) != BECK_ERR_OK) {
    *kerr = BECK_KERR_INVALID_TOPIC_EXCEPTION;
    return NULL;
  }
  memcpy(tname, name.ptr, (size_t)name.len);
  tname[name.len] = '\0';
  if (beck_topics_create(b->topics, tname, 0, NULL, NULL, 0, false, &t, &e) != BECK_ERR_OK) {
    beck_log("broker", BECK_LOG_WARN, "auto-creating topic %s failed: %s", tname, e.msg);
    *kerr = beck__kerr_from_err(e.code);
    return NULL;
  }
  return t;
}

void beck__handlers_tick(beck_broker_t *b, int64_t now_ms) {
  beck__durability_tick(b, now_ms);
  beck__groups_tick(b, now_ms);
}
