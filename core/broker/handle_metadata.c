/*
 * handle_metadata.c - Metadata (3): the one broker (also the controller)
 * and the requested topics, auto-creating named topics when allowed
 * (reference §6: null = all topics for v1+, empty = none; v0 empty = all).
 */
#include "broker/handlers.h"

#include <string.h>

static void fill_topic(beck_broker_t *b, beck_req_t *req, beck_proto_MetadataResponse_MetadataResponseTopic_t *rt,
                       beck_topic_t *t) {
  rt->ErrorCode = 0;
  rt->Name = beck__nstr(t->name);
  memcpy(rt->TopicId.bytes, t->id, 16);
  rt->IsInternal = false;
  rt->TopicAuthorizedOperations = INT32_MIN;
  rt->Partitions.items = BECK_ARENA_ARRAY(req, beck_proto_MetadataResponse_MetadataResponsePartition_t, t->npartitions);
  if (rt->Partitions.items == NULL)
    return;
  rt->Partitions.count = t->npartitions;
  for (int32_t i = 0; i < t->npartitions; i++) {
    beck_proto_MetadataResponse_MetadataResponsePartition_t *p = &rt->Partitions.items[i];
    int32_t *node = BECK_ARENA_ARRAY(req, int32_t, 1);
    if (node == NULL)
      return;
    *node = b->cfg.node_id;
    p->ErrorCode = 0;
    p->PartitionIndex = i;
    p->LeaderId = b->cfg.node_id;
    p->LeaderEpoch = 0;
    p->ReplicaNodes.items = node;
    p->ReplicaNodes.count = 1;
    p->IsrNodes.items = node;
    p->IsrNodes.count = 1;
    p->OfflineReplicas.count = 0;
  }
}

void beck__handle_metadata(beck_broker_t *b, beck_req_t *req, beck_proto_MetadataRequest_t *msg) {
  beck_proto_MetadataResponse_t resp;
  memset(&resp, 0, sizeof resp);
  resp.Brokers.items = BECK_ARENA_ARRAY(req, beck_proto_MetadataResponse_MetadataResponseBroker_t, 1);
  if (resp.Brokers.items == NULL)
    goto oom;
  resp.Brokers.count = 1;
  resp.Brokers.items[0].NodeId = b->cfg.node_id;
  resp.Brokers.items[0].Host = beck__nstr(b->cfg.advertise_host);
  resp.Brokers.items[0].Port = b->cfg.advertise_port;
  resp.Brokers.items[0].Rack.len = -1;
  resp.ClusterId = beck__nstr("beck-cluster");
  resp.ControllerId = b->cfg.node_id;
  resp.ClusterAuthorizedOperations = INT32_MIN;

  bool all = msg->Topics.count < 0 || (req->api_version == 0 && msg->Topics.count == 0);
  if (all) {
    int n = beck_topics_count(b->topics);
    resp.Topics.items = BECK_ARENA_ARRAY(req, beck_proto_MetadataResponse_MetadataResponseTopic_t, n);
    if (resp.Topics.items == NULL)
      goto oom;
    for (int i = 0; i < n; i++)
      fill_topic(b, req, &resp.Topics.items[i], beck_topics_at(b->topics, i));
    resp.Topics.count = n;
  } else {
    int32_t n = msg->Topics.count;
    resp.Topics.items = BECK_ARENA_ARRAY(req, beck_proto_MetadataResponse_MetadataResponseTopic_t, n);
    if (resp.Topics.items == NULL)
      goto oom;
    bool allow = req->api_version < 4 || msg->AllowAutoTopicCreation;
    for (int32_t i = 0; i < n; i++) {
      beck_proto_MetadataResponse_MetadataResponseTopic_t *rt = &resp.Topics.items[i];
      beck_nstr_t name = msg->Topics.items[i].Name;
      int16_t kerr = 0;
      beck_topic_t *t = beck__topic_get_or_create(b, name, allow, &kerr);
      if (t) {
        fill_topic(b, req, rt, t);
      } else {
        rt->ErrorCode = kerr;
        rt->Name = name;
        rt->TopicAuthorizedOperations = INT32_MIN;
      }
    }
    resp.Topics.count = n;
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
