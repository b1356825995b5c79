/*
 * handle_create_topics.c - CreateTopics (19): validated first (name,
 * partition count, replication factor 1 on this single node, configs), then
 * created durably; validateOnly checks without creating.
 */
#include "broker/handlers.h"

#include <string.h>

/* The Kafka error for a failed beck_topics_create. It reports a bad name, a
 * partition count over its limit and bad configs all as BECK_ERR_INVAL (in
 * that order), so tell them apart by checking name and configs again, never
 * by the message: it quotes the topic name, which may contain any word. */
static int16_t kerr_for_create(beck_err_t err, const char *name, const char **keys, const char **vals, int32_t n) {
  if (err == BECK_ERR_EXISTS)
    return BECK_KERR_TOPIC_ALREADY_EXISTS;
  if (err != BECK_ERR_INVAL)
    return beck__kerr_from_err(err);
  beck_error_t e;
  if (beck_topic_name_validate(name, strlen(name), &e) != BECK_ERR_OK)
    return BECK_KERR_INVALID_TOPIC_EXCEPTION;
  for (int32_t i = 0; i < n; i++)
    if (beck_topic_config_validate(keys[i], vals[i], &e) != BECK_ERR_OK)
      return BECK_KERR_INVALID_CONFIG;
  return n > 64 ? BECK_KERR_INVALID_CONFIG : BECK_KERR_INVALID_PARTITIONS;
}

void beck__handle_create_topics(beck_broker_t *b, beck_req_t *req, beck_proto_CreateTopicsRequest_t *msg) {
  beck_proto_CreateTopicsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t n = msg->Topics.count > 0 ? msg->Topics.count : 0;
  resp.Topics.items = BECK_ARENA_ARRAY(req, beck_proto_CreateTopicsResponse_CreatableTopicResult_t, n);
  if (resp.Topics.items == NULL)
    goto oom;
  resp.Topics.count = n;
  for (int32_t i = 0; i < n; i++) {
    beck_proto_CreateTopicsRequest_CreatableTopic_t *ct = &msg->Topics.items[i];
    beck_proto_CreateTopicsResponse_CreatableTopicResult_t *r = &resp.Topics.items[i];
    r->Name = ct->Name;
    r->ErrorMessage.len = -1;
    r->NumPartitions = -1;
    r->ReplicationFactor = -1;
    r->Configs.count = -1;
    char *name = beck__arena_cstr(&req->arena, ct->Name);
    int32_t nc = ct->Configs.count > 0 ? ct->Configs.count : 0;
    const char **keys = BECK_ARENA_ARRAY(req, const char *, nc);
    const char **vals = BECK_ARENA_ARRAY(req, const char *, nc);
    if (name == NULL || keys == NULL || vals == NULL)
      goto oom;
    int32_t k = 0;
    for (int32_t j = 0; j < nc; j++) {
      if (ct->Configs.items[j].Value.len < 0)
        continue; /* null value: use the default */
      keys[k] = beck__arena_cstr(&req->arena, ct->Configs.items[j].Name);
      vals[k] = beck__arena_cstr(&req->arena, ct->Configs.items[j].Value);
      if (!keys[k] || !vals[k])
        goto oom;
      k++;
    }
    beck_error_t e;
    beck_error_clear(&e);
    if (ct->ReplicationFactor != -1 && ct->ReplicationFactor != 1) {
      r->ErrorCode = BECK_KERR_INVALID_REPLICATION_FACTOR;
      beck_error_set(&e, BECK_ERR_INVAL, "replication factor %d is not possible on a single-node broker; use 1",
                     ct->ReplicationFactor);
    } else if (ct->NumPartitions == 0 || ct->NumPartitions < -1) {
      r->ErrorCode = BECK_KERR_INVALID_PARTITIONS;
      beck_error_set(&e, BECK_ERR_INVAL, "number of partitions must be at least 1 (or -1 for the default)");
    } else if (ct->Assignments.count > 0) {
      r->ErrorCode = BECK_KERR_INVALID_REPLICA_ASSIGNMENT;
      beck_error_set(&e, BECK_ERR_INVAL, "manual replica assignment is not supported on a single-node broker");
    } else {
      beck_topic_t *t = NULL;
      beck_err_t err = beck_topics_create(b->topics, name, ct->NumPartitions, keys, vals, k, msg->validateOnly, &t, &e);
      if (err) {
        r->ErrorCode = kerr_for_create(err, name, keys, vals, k);
      } else {
        r->NumPartitions = t ? t->npartitions : (ct->NumPartitions > 0 ? ct->NumPartitions : b->cfg.default_partitions);
        r->ReplicationFactor = 1;
        if (t)
          memcpy(r->TopicId.bytes, t->id, 16);
      }
    }
    if (r->ErrorCode) {
      char *m = beck__arena_cstr(&req->arena, beck__nstr(e.msg));
      if (m)
        r->ErrorMessage = beck__nstr(m);
    }
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
