/*
 * handle_list_groups.c - ListGroups (16), DescribeGroups (15) and
 * DeleteGroups (42).
 */
#include "broker/handlers.h"

#include <string.h>

#include "group/group.h"

typedef struct list_ctx {
  beck_req_t *req;
  beck_proto_ListGroupsResponse_ListedGroup_t *items;
  int32_t n, cap;
  bool oom;
} list_ctx_t;

static int list_cb(void *arg, const beck_gc_group_info_t *g) {
  list_ctx_t *c = arg;
  if (c->n == c->cap) {
    int32_t cap = c->cap ? c->cap * 2 : 16;
    beck_proto_ListGroupsResponse_ListedGroup_t *n = BECK_ARENA_ARRAY(c->req, beck_proto_ListGroupsResponse_ListedGroup_t, cap);
    if (n == NULL) {
      c->oom = true;
      return 1;
    }
    if (c->n)
      memcpy(n, c->items, sizeof *n * (size_t)c->n);
    c->items = n;
    c->cap = cap;
  }
  beck_proto_ListGroupsResponse_ListedGroup_t *it = &c->items[c->n++];
  it->GroupId = beck__nstr(beck__arena_cstr(&c->req->arena, beck__nstr(g->group_id)));
  it->ProtocolType = beck__nstr(beck__arena_cstr(&c->req->arena, beck__nstr(g->protocol_type)));
  it->GroupState = beck__nstr(beck__arena_cstr(&c->req->arena, beck__nstr(g->state)));
  return 0;
}

void beck__handle_list_groups(beck_broker_t *b, beck_req_t *req, beck_proto_ListGroupsRequest_t *msg) {
  beck_proto_ListGroupsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  list_ctx_t c = {.req = req};
  beck_gc_list(beck__gc(b), list_cb, &c);
  if (c.oom) {
    beck__conn_close(req->conn, "out of memory");
    beck__req_complete(req);
    return;
  }
  resp.Groups.items = c.items;
  resp.Groups.count = c.n;
  beck__respond(req, &resp);
}

typedef struct describe_ctx {
  beck_req_t *req;
  beck_proto_DescribeGroupsResponse_DescribedGroup_t *out;
} describe_ctx_t;

static beck_nstr_t dup_bytes(beck_req_t *req, beck_slice_t s) {
  beck_nstr_t n = {beck_arena_memdup(&req->arena, s.ptr ? s.ptr : (const uint8_t *)"", s.len), (int32_t)s.len};
  return n;
}

static void describe_cb(void *arg, const beck_gc_group_desc_t *d) {
  describe_ctx_t *c = arg;
  beck_req_t *req = c->req;
  beck_proto_DescribeGroupsResponse_DescribedGroup_t *g = c->out;
  g->ErrorCode = d->error;
  g->GroupState = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(d->state)));
  g->ProtocolType = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(d->protocol_type)));
  g->ProtocolData = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(d->protocol)));
  g->AuthorizedOperations = INT32_MIN;
  g->Members.items = BECK_ARENA_ARRAY(req, beck_proto_DescribeGroupsResponse_DescribedGroupMember_t, d->nmembers);
  if (g->Members.items == NULL)
    return;
  g->Members.count = d->nmembers;
  for (int i = 0; i < d->nmembers; i++) {
    const beck_gc_member_desc_t *m = &d->members[i];
    beck_proto_DescribeGroupsResponse_DescribedGroupMember_t *o = &g->Members.items[i];
    o->MemberId = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(m->member_id)));
    o->GroupInstanceId = m->group_instance_id ? beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(m->group_instance_id)))
                                              : beck__nstr(NULL);
    o->ClientId = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(m->client_id)));
    o->ClientHost = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(m->client_host)));
    o->MemberMetadata = dup_bytes(req, m->metadata);
    o->MemberAssignment = dup_bytes(req, m->assignment);
  }
}

void beck__handle_describe_groups(beck_broker_t *b, beck_req_t *req, beck_proto_DescribeGroupsRequest_t *msg) {
  beck_proto_DescribeGroupsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t n = msg->Groups.count > 0 ? msg->Groups.count : 0;
  resp.Groups.items = BECK_ARENA_ARRAY(req, beck_proto_DescribeGroupsResponse_DescribedGroup_t, n);
  if (resp.Groups.items == NULL) {
    beck__conn_close(req->conn, "out of memory");
    beck__req_complete(req);
    return;
  }
  resp.Groups.count = n;
  for (int32_t i = 0; i < n; i++) {
    beck_proto_DescribeGroupsResponse_DescribedGroup_t *g = &resp.Groups.items[i];
    g->GroupId = msg->Groups.items[i];
    g->GroupState = beck__nstr("Dead");
    g->ProtocolType = beck__nstr("");
    g->ProtocolData = beck__nstr("");
    g->AuthorizedOperations = INT32_MIN;
    describe_ctx_t c = {req, g};
    int16_t err = beck_gc_describe(beck__gc(b), beck__arena_cstr(&req->arena, msg->Groups.items[i]), describe_cb, &c);
    if (err)
      g->ErrorCode = err;
  }
  beck__respond(req, &resp);
}

void beck__handle_delete_groups(beck_broker_t *b, beck_req_t *req, beck_proto_DeleteGroupsRequest_t *msg) {
  beck_proto_DeleteGroupsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t n = msg->GroupsNames.count > 0 ? msg->GroupsNames.count : 0;
  resp.Results.items = BECK_ARENA_ARRAY(req, beck_proto_DeleteGroupsResponse_DeletableGroupResult_t, n);
  if (resp.Results.items == NULL) {
    beck__conn_close(req->conn, "out of memory");
    beck__req_complete(req);
    return;
  }
  resp.Results.count = n;
  for (int32_t i = 0; i < n; i++) {
    resp.Results.items[i].GroupId = msg->GroupsNames.items[i];
    resp.Results.items[i].ErrorCode =
        beck_gc_delete_group(beck__gc(b), beck__arena_cstr(&req->arena, msg->GroupsNames.items[i]), beck__now_ms(b));
  }
  beck__respond(req, &resp);
}
