/*
 * handle_create_partitions.c - CreatePartitions (37): raises a topic's
 * partition count (never lowers it); validateOnly checks only.
 */
#include "broker/handlers.h"

#include <string.h>

void beck__handle_create_partitions(beck_broker_t *b, beck_req_t *req, beck_proto_CreatePartitionsRequest_t *msg) {
  beck_proto_CreatePartitionsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t n = msg->Topics.count > 0 ? msg->Topics.count : 0;
  resp.Results.items = BECK_ARENA_ARRAY(req, beck_proto_CreatePartitionsResponse_CreatePartitionsTopicResult_t, n);
  if (resp.Results.items == NULL)
    goto oom;
  resp.Results.count = n;
  for (int32_t i = 0; i < n; i++) {
    beck_proto_CreatePartitionsRequest_CreatePartitionsTopic_t *ct = &msg->Topics.items[i];
    beck_proto_CreatePartitionsResponse_CreatePartitionsTopicResult_t *r = &resp.Results.items[i];
    r->Name = ct->Name;
    r->ErrorMessage.len = -1;
    char *name = beck__arena_cstr(&req->arena, ct->Name);
    if (name == NULL)
      goto oom;
    beck_error_t e;
    beck_error_clear(&e);
    beck_err_t err = beck_topics_add_partitions(b->topics, name, ct->Count, msg->ValidateOnly, &e);
    if (err == BECK_ERR_NOTFOUND)
      r->ErrorCode = BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    else if (err == BECK_ERR_INVAL)
      r->ErrorCode = BECK_KERR_INVALID_PARTITIONS;
    else
      r->ErrorCode = beck__kerr_from_err(err);
    if (err) {
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
