/*
 * handle_sync_group.c - SyncGroup (14): the leader hands in assignments;
 * every member's request parks until they are known, then gets its own.
 */
#include "broker/handlers.h"

#include <string.h>

#include "group/group.h"

static void on_sync(void *arg, const beck_gc_sync_result_t *r) {
  beck_req_t *req = arg;
  req->cancel = NULL;
  beck_proto_SyncGroupResponse_t resp;
  memset(&resp, 0, sizeof resp);
  resp.ErrorCode = r->error;
  resp.ProtocolType = r->protocol_type ? beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(r->protocol_type)))
                                       : beck__nstr(NULL);
  resp.ProtocolName = r->protocol_name ? beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(r->protocol_name)))
                                       : beck__nstr(NULL);
  uint8_t *a = beck_arena_memdup(&req->arena, r->assignment.ptr ? r->assignment.ptr : (const uint8_t *)"",
                                 r->assignment.len);
  resp.Assignment.ptr = a;
  resp.Assignment.len = (int32_t)r->assignment.len;
  beck__respond(req, &resp);
}

static void cancel_sync(beck_req_t *req) {
  beck__groups_cancel(req->conn->broker, req);
  beck__req_complete(req);
}

void beck__handle_sync_group(beck_broker_t *b, beck_req_t *req, beck_proto_SyncGroupRequest_t *msg) {
  int32_t n = msg->Assignments.count > 0 ? msg->Assignments.count : 0;
  beck_gc_assignment_t *as = BECK_ARENA_ARRAY(req, beck_gc_assignment_t, n);
  if (as == NULL) {
    beck__conn_close(req->conn, "out of memory");
    beck__req_complete(req);
    return;
  }
  for (int32_t i = 0; i < n; i++) {
    as[i].member_id = beck__arena_cstr(&req->arena, msg->Assignments.items[i].MemberId);
    as[i].assignment = beck_slice(msg->Assignments.items[i].Assignment.ptr,
                                  msg->Assignments.items[i].Assignment.len > 0 ? (size_t)msg->Assignments.items[i].Assignment.len : 0);
  }
  beck_gc_sync_req_t sr = {
      .group_id = beck__arena_cstr(&req->arena, msg->GroupId),
      .generation_id = msg->GenerationId,
      .member_id = beck__arena_cstr(&req->arena, msg->MemberId),
      .group_instance_id = msg->GroupInstanceId.len >= 0 ? beck__arena_cstr(&req->arena, msg->GroupInstanceId) : NULL,
      .protocol_type = msg->ProtocolType.len >= 0 ? beck__arena_cstr(&req->arena, msg->ProtocolType) : NULL,
      .protocol_name = msg->ProtocolName.len >= 0 ? beck__arena_cstr(&req->arena, msg->ProtocolName) : NULL,
      .assignments = as,
      .nassignments = n,
  };
  req->cancel = cancel_sync;
  beck_gc_sync(beck__gc(b), &sr, beck__now_ms(b), on_sync, req);
}
