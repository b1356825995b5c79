/*
 * handle_alter_configs.c - AlterConfigs (33) and IncrementalAlterConfigs
 * (44) on topics. AlterConfigs replaces the whole set of topic overrides;
 * the incremental form sets (0) or deletes (1) single keys. Everything is
 * validated before anything changes; validateOnly changes nothing. Broker
 * settings come from the broker's config file and are refused here.
 */
#include "broker/handlers.h"

#include <string.h>

#define RESOURCE_TOPIC 2

typedef struct alter_item {
  beck_nstr_t name;
  beck_nstr_t value;
  int8_t op; /* 0 set, 1 delete, 2 append, 3 subtract */
} alter_item_t;

/* Applies one resource; returns the Kafka error and sets *msg_out. */
static int16_t alter_one(beck_broker_t *b, beck_req_t *req, int8_t type, beck_nstr_t rname, bool replace,
                         const alter_item_t *items, int32_t n, bool validate_only, beck_nstr_t *msg_out) {
  if (type != RESOURCE_TOPIC) {
    *msg_out = beck__nstr("only topic configs can be altered; broker settings live in the broker's config file");
    return BECK_KERR_INVALID_REQUEST;
  }
  char *name = beck__arena_cstr(&req->arena, rname);
  const char **keys = BECK_ARENA_ARRAY(req, const char *, n);
  const char **vals = BECK_ARENA_ARRAY(req, const char *, n);
  beck_tcfg_op_t *ops = BECK_ARENA_ARRAY(req, beck_tcfg_op_t, n);
  if (!name || !keys || !vals || !ops)
    return BECK_KERR_UNKNOWN_SERVER_ERROR;
  for (int32_t i = 0; i < n; i++) {
    if (items[i].op == 2 || items[i].op == 3) {
      *msg_out = beck__nstr("APPEND and SUBTRACT are not supported for topic configs; use SET");
      return BECK_KERR_INVALID_CONFIG;
    }
    if (items[i].op != 0 && items[i].op != 1) {
      *msg_out = beck__nstr("unknown config operation");
      return BECK_KERR_INVALID_REQUEST;
    }
    keys[i] = beck__arena_cstr(&req->arena, items[i].name);
    vals[i] = items[i].value.len >= 0 ? beck__arena_cstr(&req->arena, items[i].value) : NULL;
    ops[i] = (items[i].op == 1 || vals[i] == NULL) ? BECK_TCFG_OP_DELETE : BECK_TCFG_OP_SET;
  }
  beck_error_t e;
  beck_error_clear(&e);
  beck_err_t err = beck_topics_alter_configs(b->topics, name, replace, ops, keys, vals, n, validate_only, &e);
  if (err) {
    char *m = beck__arena_cstr(&req->arena, beck__nstr(e.msg));
    if (m)
      *msg_out = beck__nstr(m);
    return err == BECK_ERR_NOTFOUND ? BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION
           : err == BECK_ERR_INVAL  ? BECK_KERR_INVALID_CONFIG
                                    : beck__kerr_from_err(err);
  }
  return BECK_KERR_NONE;
}

void beck__handle_alter_configs(beck_broker_t *b, beck_req_t *req, beck_proto_AlterConfigsRequest_t *msg) {
  beck_proto_AlterConfigsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t n = msg->Resources.count > 0 ? msg->Resources.count : 0;
  resp.Responses.items = BECK_ARENA_ARRAY(req, beck_proto_AlterConfigsResponse_AlterConfigsResourceResponse_t, n);
  if (resp.Responses.items == NULL)
    goto oom;
  resp.Responses.count = n;
  for (int32_t i = 0; i < n; i++) {
    beck_proto_AlterConfigsRequest_AlterConfigsResource_t *r = &msg->Resources.items[i];
    beck_proto_AlterConfigsResponse_AlterConfigsResourceResponse_t *o = &resp.Responses.items[i];
    o->ResourceType = r->ResourceType;
    o->ResourceName = r->ResourceName;
    o->ErrorMessage.len = -1;
    int32_t nc = r->Configs.count > 0 ? r->Configs.count : 0;
    alter_item_t *items = BECK_ARENA_ARRAY(req, alter_item_t, nc);
    if (items == NULL)
      goto oom;
    for (int32_t j = 0; j < nc; j++) {
      items[j].name = r->Configs.items[j].Name;
      items[j].value = r->Configs.items[j].Value;
      items[j].op = 0;
    }
    o->ErrorCode = alter_one(b, req, r->ResourceType, r->ResourceName, true, items, nc, msg->ValidateOnly,
                             &o->ErrorMessage);
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}

void beck__handle_incremental_alter_configs(beck_broker_t *b, beck_req_t *req,
                                            beck_proto_IncrementalAlterConfigsRequest_t *msg) {
  beck_proto_IncrementalAlterConfigsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t n = msg->Resources.count > 0 ? msg->Resources.count : 0;
  resp.Responses.items =
      BECK_ARENA_ARRAY(req, beck_proto_IncrementalAlterConfigsResponse_AlterConfigsResourceResponse_t, n);
  if (resp.Responses.items == NULL)
    goto oom;
  resp.Responses.count = n;
  for (int32_t i = 0; i < n; i++) {
    beck_proto_IncrementalAlterConfigsRequest_AlterConfigsResource_t *r = &msg->Resources.items[i];
    beck_proto_IncrementalAlterConfigsResponse_AlterConfigsResourceResponse_t *o = &resp.Responses.items[i];
    o->ResourceType = r->ResourceType;
    o->ResourceName = r->ResourceName;
    o->ErrorMessage.len = -1;
    int32_t nc = r->Configs.count > 0 ? r->Configs.count : 0;
    alter_item_t *items = BECK_ARENA_ARRAY(req, alter_item_t, nc);
    if (items == NULL)
      goto oom;
    for (int32_t j = 0; j < nc; j++) {
      items[j].name = r->Configs.items[j].Name;
      items[j].value = r->Configs.items[j].Value;
      items[j].op = r->Configs.items[j].ConfigOperation;
    }
    o->ErrorCode = alter_one(b, req, r->ResourceType, r->ResourceName, false, items, nc, msg->ValidateOnly,
                             &o->ErrorMessage);
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
