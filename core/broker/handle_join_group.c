/*
 * handle_join_group.c - JoinGroup (11) and FindCoordinator (10).
 * FindCoordinator always names this broker. JoinGroup parks until the
 * coordinator completes the join phase (core/group), then answers; the
 * leader receives the member list.
 */
#include "broker/handlers.h"

#include <string.h>

#include "group/group.h"

const char *beck__client_host(beck_req_t *req) {
  char *h = beck__arena_cstr(&req->arena, beck__nstr(req->conn->peer));
  if (h == NULL)
    return "";
  char *colon = strrchr(h, ':');
  if (colon)
    *colon = '\0';
  return h;
}

void beck__handle_find_coordinator(beck_broker_t *b, beck_req_t *req, beck_proto_FindCoordinatorRequest_t *msg) {
  beck_proto_FindCoordinatorResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int16_t err = 0;
  if (msg->KeyType != 0) /* 1 = transaction coordinator: transactions are not implemented */
    err = BECK_KERR_COORDINATOR_NOT_AVAILABLE;
  resp.ErrorCode = err;
  resp.ErrorMessage = err ? beck__nstr("transactions are not supported by this broker") : beck__nstr(NULL);
  resp.NodeId = err ? -1 : b->cfg.node_id;
  resp.Host = beck__nstr(err ? "" : b->cfg.advertise_host);
  resp.Port = err ? -1 : b->cfg.advertise_port;
  beck__respond(req, &resp);
}

static void on_join(void *arg, const beck_gc_join_result_t *r) {
  beck_req_t *req = arg;
  req->cancel = NULL;
  beck_proto_JoinGroupResponse_t resp;
  memset(&resp, 0, sizeof resp);
  resp.ErrorCode = r->error;
  resp.GenerationId = r->generation_id;
  resp.ProtocolType = r->protocol_type ? beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(r->protocol_type)))
                                       : beck__nstr(NULL);
  resp.ProtocolName = r->protocol_name ? beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(r->protocol_name)))
                                       : (req->api_version >= 7 ? beck__nstr(NULL) : beck__nstr(""));
  resp.Leader = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(r->leader_id ? r->leader_id : "")));
  resp.MemberId = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(r->member_id ? r->member_id : "")));
  if (r->nmembers > 0) {
    resp.Members.items = BECK_ARENA_ARRAY(req, beck_proto_JoinGroupResponse_JoinGroupResponseMember_t, r->nmembers);
    if (resp.Members.items) {
      resp.Members.count = r->nmembers;
      for (int i = 0; i < r->nmembers; i++) {
        beck_proto_JoinGroupResponse_JoinGroupResponseMember_t *m = &resp.Members.items[i];
        m->MemberId = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(r->members[i].member_id)));
        m->GroupInstanceId = r->members[i].group_instance_id
                                 ? beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(r->members[i].group_instance_id)))
                                 : beck__nstr(NULL);
        uint8_t *md = beck_arena_memdup(&req->arena, r->members[i].metadata.ptr ? r->members[i].metadata.ptr
                                                                                 : (const uint8_t *)"",
                                        r->members[i].metadata.len);
        m->Metadata.ptr = md;
        m->Metadata.len = (int32_t)r->members[i].metadata.len;
      }
    }
  }
  beck__respond(req, &resp);
}

static void cancel_join(beck_req_t *req) {
  beck_broker_t *b = req->conn->broker;
  beck__groups_cancel(b, req);
  beck__req_complete(req);
}

void beck__handle_join_group(beck_broker_t *b, beck_req_t *req, beck_proto_JoinGroupRequest_t *msg) {
  int32_t np = msg->Protocols.count > 0 ? msg->Protocols.count : 0;
  beck_gc_protocol_t *protos = BECK_ARENA_ARRAY(req, beck_gc_protocol_t, np);
  if (protos == NULL) {
    beck__conn_close(req->conn, "out of memory");
    beck__req_complete(req);
    return;
  }
  for (int32_t i = 0; i < np; i++) {
    protos[i].name = beck__arena_cstr(&req->arena, msg->Protocols.items[i].Name);
    protos[i].metadata = beck_slice(msg->Protocols.items[i].Metadata.ptr,
                                    msg->Protocols.items[i].Metadata.len > 0 ? (size_t)msg->Protocols.items[i].Metadata.len : 0);
  }
  beck_gc_join_req_t jr = {
      .group_id = beck__arena_cstr(&req->arena, msg->GroupId),
      .member_id = beck__arena_cstr(&req->arena, msg->MemberId),
      .group_instance_id = msg->GroupInstanceId.len >= 0 ? beck__arena_cstr(&req->arena, msg->GroupInstanceId) : NULL,
      .client_id = req->client_id,
      .client_host = beck__client_host(req),
      .session_timeout_ms = msg->SessionTimeoutMs,
      .rebalance_timeout_ms = req->api_version >= 1 ? msg->RebalanceTimeoutMs : -1,
      .protocol_type = beck__arena_cstr(&req->arena, msg->ProtocolType),
      .protocols = protos,
      .nprotocols = np,
      .api_version = req->api_version,
  };
  req->cancel = cancel_join;
  beck_gc_join(beck__gc(b), &jr, beck__now_ms(b), on_join, req);
}
