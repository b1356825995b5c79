/*
 * handle_describe_configs.c - DescribeConfigs (32): every topic config from
 * the config table with its value and source (DYNAMIC_TOPIC_CONFIG = 1 when
 * set on the topic, DEFAULT_CONFIG = 5 otherwise), or just the keys asked
 * for; broker resources list the broker's read-only settings.
 */
#include "broker/handlers.h"

#include <stdio.h>
#include <string.h>

#define RESOURCE_TOPIC 2
#define RESOURCE_BROKER 4
#define SOURCE_TOPIC 1
#define SOURCE_STATIC_BROKER 4
#define SOURCE_DEFAULT 5

typedef beck_proto_DescribeConfigsResponse_DescribeConfigsResourceResult_t entry_t;

static bool wanted(const beck_proto_strs_t *keys, const char *name) {
  if (keys->count < 0)
    return true;
  for (int32_t i = 0; i < keys->count; i++)
    if ((size_t)keys->items[i].len == strlen(name) && memcmp(keys->items[i].ptr, name, strlen(name)) == 0)
      return true;
  return false;
}

static void set_entry(beck_req_t *req, entry_t *c, const char *name, const char *value, int8_t source, bool readonly,
                      bool synonyms) {
  c->Name = beck__nstr(name);
  c->Value = beck__nstr(value);
  c->ReadOnly = readonly;
  c->IsDefault = source == SOURCE_DEFAULT;
  c->ConfigSource = source;
  c->IsSensitive = false;
  c->Synonyms.count = 0;
  if (synonyms) {
    c->Synonyms.items = BECK_ARENA_ARRAY(req, beck_proto_DescribeConfigsResponse_DescribeConfigsSynonym_t, 1);
    if (c->Synonyms.items) {
      c->Synonyms.items[0].Name = c->Name;
      c->Synonyms.items[0].Value = c->Value;
      c->Synonyms.items[0].Source = source;
      c->Synonyms.count = 1;
    }
  }
}

void beck__handle_describe_configs(beck_broker_t *b, beck_req_t *req, beck_proto_DescribeConfigsRequest_t *msg) {
  beck_proto_DescribeConfigsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t n = msg->Resources.count > 0 ? msg->Resources.count : 0;
  resp.Results.items = BECK_ARENA_ARRAY(req, beck_proto_DescribeConfigsResponse_DescribeConfigsResult_t, n);
  if (resp.Results.items == NULL)
    goto oom;
  resp.Results.count = n;
  for (int32_t i = 0; i < n; i++) {
    beck_proto_DescribeConfigsRequest_DescribeConfigsResource_t *rr = &msg->Resources.items[i];
    beck_proto_DescribeConfigsResponse_DescribeConfigsResult_t *res = &resp.Results.items[i];
    res->ResourceType = rr->ResourceType;
    res->ResourceName = rr->ResourceName;
    res->ErrorMessage.len = -1;
    if (rr->ResourceType == RESOURCE_TOPIC) {
      beck_topic_t *t = beck_topics_find(b->topics, (const char *)rr->ResourceName.ptr,
                                         rr->ResourceName.len > 0 ? (size_t)rr->ResourceName.len : 0);
      if (t == NULL) {
        res->ErrorCode = BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      int ndefs = 0;
      while (beck_topic_config_defs[ndefs].name)
        ndefs++;
      res->Configs.items = BECK_ARENA_ARRAY(req, entry_t, ndefs);
      if (res->Configs.items == NULL)
        goto oom;
      int32_t k = 0;
      for (int d = 0; d < ndefs; d++) {
        const char *name = beck_topic_config_defs[d].name;
        if (!wanted(&rr->ConfigurationKeys, name))
          continue;
        bool is_default;
        const char *value = beck_topic_config_value(t, name, &is_default);
        set_entry(req, &res->Configs.items[k++], name, value, is_default ? SOURCE_DEFAULT : SOURCE_TOPIC, false,
                  msg->IncludeSynonyms);
      }
      res->Configs.count = k;
    } else if (rr->ResourceType == RESOURCE_BROKER) {
      char *port = beck_arena_alloc(&req->arena, 16), *parts = beck_arena_alloc(&req->arena, 16),
           *maxreq = beck_arena_alloc(&req->arena, 16), *nodeid = beck_arena_alloc(&req->arena, 16);
      res->Configs.items = BECK_ARENA_ARRAY(req, entry_t, 6);
      if (!port || !parts || !maxreq || !nodeid || !res->Configs.items)
        goto oom;
      snprintf(port, 16, "%d", b->port);
      snprintf(parts, 16, "%d", b->cfg.default_partitions);
      snprintf(maxreq, 16, "%d", b->cfg.max_request_bytes);
      snprintf(nodeid, 16, "%d", b->cfg.node_id);
      const char *names[] = {"broker.id", "num.partitions", "auto.create.topics.enable", "socket.request.max.bytes",
                             "log.dirs", "port"};
      const char *vals[] = {nodeid, parts, b->cfg.auto_create_topics ? "true" : "false", maxreq, b->data_dir, port};
      int32_t k = 0;
      for (int d = 0; d < 6; d++)
        if (wanted(&rr->ConfigurationKeys, names[d]))
          set_entry(req, &res->Configs.items[k++], names[d], vals[d], SOURCE_STATIC_BROKER, true,
                    msg->IncludeSynonyms);
      res->Configs.count = k;
    } else {
      res->ErrorCode = BECK_KERR_INVALID_REQUEST;
      res->ErrorMessage = beck__nstr("only topic (2) and broker (4) resources have configs here");
    }
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
