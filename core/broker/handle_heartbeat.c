/*
 * handle_heartbeat.c - Heartbeat (12) and LeaveGroup (13).
 */
#include "broker/handlers.h"

#include <string.h>

#include "group/group.h"

void beck__handle_heartbeat(beck_broker_t *b, beck_req_t *req, beck_proto_HeartbeatRequest_t *msg) {
  beck_proto_HeartbeatResponse_t resp;
  memset(&resp, 0, sizeof resp);
  resp.ErrorCode = beck_gc_heartbeat(
      beck__gc(b), beck__arena_cstr(&req->arena, msg->GroupId), msg->GenerationId,
      beck__arena_cstr(&req->arena, msg->MemberId),
      msg->GroupInstanceId.len >= 0 ? beck__arena_cstr(&req->arena, msg->GroupInstanceId) : NULL, beck__now_ms(b));
  beck__respond(req, &resp);
}

void beck__handle_leave_group(beck_broker_t *b, beck_req_t *req, beck_proto_LeaveGroupRequest_t *msg) {
  beck_proto_LeaveGroupResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t n = req->api_version >= 3 ? (msg->Members.count > 0 ? msg->Members.count : 0) : 1;
  beck_gc_member_id_t *ms = BECK_ARENA_ARRAY(req, beck_gc_member_id_t, n);
  int16_t *errs = BECK_ARENA_ARRAY(req, int16_t, n);
  resp.Members.items = BECK_ARENA_ARRAY(req, beck_proto_LeaveGroupResponse_MemberResponse_t, n);
  if (!ms || !errs || !resp.Members.items) {
    beck__conn_close(req->conn, "out of memory");
    beck__req_complete(req);
    return;
  }
  if (req->api_version >= 3) {
    for (int32_t i = 0; i < n; i++) {
      ms[i].member_id = beck__arena_cstr(&req->arena, msg->Members.items[i].MemberId);
      ms[i].group_instance_id = msg->Members.items[i].GroupInstanceId.len >= 0
                                    ? beck__arena_cstr(&req->arena, msg->Members.items[i].GroupInstanceId)
                                    : NULL;
    }
  } else {
    ms[0].member_id = beck__arena_cstr(&req->arena, msg->MemberId);
    ms[0].group_instance_id = NULL;
  }
  resp.ErrorCode =
      beck_gc_leave(beck__gc(b), beck__arena_cstr(&req->arena, msg->GroupId), ms, n, errs, beck__now_ms(b));
  if (req->api_version >= 3) {
    resp.Members.count = n;
    for (int32_t i = 0; i < n; i++) {
      resp.Members.items[i].MemberId = msg->Members.items[i].MemberId;
      resp.Members.items[i].GroupInstanceId = msg->Members.items[i].GroupInstanceId;
      resp.Members.items[i].ErrorCode = errs[i];
    }
  } else if (resp.ErrorCode == 0) {
    resp.ErrorCode = errs[0];
  }
  beck__respond(req, &resp);
}
