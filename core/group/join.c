/*
 * join.c - JoinGroup (Kafka's handleJoinGroup, doNewMemberJoinGroup,
 * doStaticMemberJoinGroup, doCurrentMemberJoinGroup).
 *
 * A new member (MemberId "") gets "<client_id>-<uuid4>" ("<instance_id>-..."
 * for a static member). From JoinGroup v4 a dynamic new member is only
 * recorded as pending and answered MEMBER_ID_REQUIRED (KIP-394); it becomes a
 * member when it joins again with that id. Older versions are added at once
 * and the answer carries the generated id (kafka-python's v2 relies on it).
 */
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "group/group_int.h"

/* Adds a new member (dynamic, pending-promoted or static) and rebalances. */
static void add_new_member(beck_gc_t *gc, gc_group_t *g, const char *id, const beck_gc_join_req_t *req,
                           int32_t rebalance_ms, gc_call_t *call, int64_t now_ms) {
  gc_member_t *m = beck__gc_member_new(id, req, rebalance_ms);
  if (m == NULL || beck__gc_add_member(gc, g, m, req->protocol_type, call, now_ms)) {
    beck__gc_member_free(m);
    beck__gc_join_error(gc, call, BECK_KERR_COORDINATOR_NOT_AVAILABLE, id);
  }
}

/* Updates an existing member from its JoinGroup; false when out of memory. */
static bool update_member(gc_member_t *m, const beck_gc_join_req_t *req, int32_t rebalance_ms) {
  if (beck__gc_set_protocols(m, req->protocols, req->nprotocols))
    return false;
  m->session_timeout_ms = req->session_timeout_ms;
  m->rebalance_timeout_ms = rebalance_ms;
  return true;
}

static void update_member_and_rebalance(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, const beck_gc_join_req_t *req,
                                        int32_t rebalance_ms, gc_call_t *call, int64_t now_ms) {
  if (!update_member(m, req, rebalance_ms)) {
    beck__gc_join_error(gc, call, BECK_KERR_COORDINATOR_NOT_AVAILABLE, m->id);
    return;
  }
  beck__gc_rejoin(gc, g, m, call, now_ms);
}

/* A known instance id with MemberId "": the restarted static member takes
 * over; the old member id is fenced (82). */
static void static_member_rejoin(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, char *new_id,
                                 const beck_gc_join_req_t *req, int32_t rebalance_ms, gc_call_t *call, int64_t now_ms) {
  if (m->join_call)
    beck__gc_join_error(gc, m->join_call, BECK_KERR_FENCED_INSTANCE_ID, m->id);
  if (m->sync_call)
    beck__gc_sync_error(gc, m->sync_call, BECK_KERR_FENCED_INSTANCE_ID);
  beck__gc_log(g, BECK_LOG_INFO, "static member %s (instance %s) replaced by %s", m->id, m->instance_id, new_id);
  beck_free(m->id);
  m->id = new_id;
  beck__gc_touch(m, now_ms);
  if (g->state == GC_STABLE && beck__gc_matches(m, req->protocols, req->nprotocols)) {
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = rebalance_ms;
    beck__gc_answer_join_current(gc, g, m, call);
    return;
  }
  update_member_and_rebalance(gc, g, m, req, rebalance_ms, call, now_ms);
}

static void new_member_join(beck_gc_t *gc, gc_group_t *g, const beck_gc_join_req_t *req, int32_t rebalance_ms,
                            gc_call_t *call, int64_t now_ms) {
  if (!beck__gc_supports(g, req->protocol_type, req->protocols, req->nprotocols)) {
    beck__gc_join_error(gc, call, BECK_KERR_INCONSISTENT_GROUP_PROTOCOL, "");
    return;
  }
  const char *instance = req->group_instance_id;
  char *id = beck__gc_member_id(gc, instance ? instance : req->client_id ? req->client_id : "");
  if (id == NULL) {
    beck__gc_join_error(gc, call, BECK_KERR_COORDINATOR_NOT_AVAILABLE, "");
    return;
  }
  gc_member_t *old = beck__gc_static_member(g, instance);
  if (old) {
    static_member_rejoin(gc, g, old, id, req, rebalance_ms, call, now_ms); /* takes id */
    return;
  }
  if (instance == NULL && req->api_version >= 4) {
    if (beck__gc_add_pending(g, id, now_ms + req->session_timeout_ms))
      beck__gc_join_error(gc, call, BECK_KERR_COORDINATOR_NOT_AVAILABLE, "");
    else
      beck__gc_join_error(gc, call, BECK_KERR_MEMBER_ID_REQUIRED, id);
  } else {
    add_new_member(gc, g, id, req, rebalance_ms, call, now_ms);
  }
  beck_free(id);
}

static void current_member_join(beck_gc_t *gc, gc_group_t *g, const beck_gc_join_req_t *req, int32_t rebalance_ms,
                                gc_call_t *call, int64_t now_ms) {
  const char *id = req->member_id;
  if (!beck__gc_supports(g, req->protocol_type, req->protocols, req->nprotocols)) {
    beck__gc_join_error(gc, call, BECK_KERR_INCONSISTENT_GROUP_PROTOCOL, id);
    return;
  }
  if (beck__gc_is_pending(g, id)) {
    if (req->group_instance_id && beck__gc_static_member(g, req->group_instance_id)) {
      beck__gc_join_error(gc, call, BECK_KERR_FENCED_INSTANCE_ID, id);
      return;
    }
    add_new_member(gc, g, id, req, rebalance_ms, call, now_ms);
    return;
  }
  int16_t err = beck__gc_validate_member(g, id, req->group_instance_id);
  if (err) {
    beck__gc_join_error(gc, call, err, id);
    return;
  }
  gc_member_t *m = beck__gc_member(g, id);
  switch (g->state) {
  case GC_PREPARING_REBALANCE:
    update_member_and_rebalance(gc, g, m, req, rebalance_ms, call, now_ms);
    break;
  case GC_COMPLETING_REBALANCE:
    /* Same metadata: the member likely missed the JoinGroup answer. */
    if (beck__gc_matches(m, req->protocols, req->nprotocols))
      beck__gc_answer_join_current(gc, g, m, call);
    else
      update_member_and_rebalance(gc, g, m, req, rebalance_ms, call, now_ms);
    break;
  case GC_STABLE:
    /* The leader rejoining forces a rebalance (its view of topics changed);
     * a follower with unchanged metadata just gets the current generation. */
    if (g->leader == m || !beck__gc_matches(m, req->protocols, req->nprotocols))
      update_member_and_rebalance(gc, g, m, req, rebalance_ms, call, now_ms);
    else
      beck__gc_answer_join_current(gc, g, m, call);
    break;
  case GC_EMPTY:
  case GC_DEAD:
    beck__gc_join_error(gc, call, BECK_KERR_UNKNOWN_MEMBER_ID, id);
    break;
  }
}

void beck_gc_join(beck_gc_t *gc, const beck_gc_join_req_t *req, int64_t now_ms, beck_gc_join_cb cb, void *cb_arg) {
  gc_call_t *call = beck__gc_call_new(GC_CALL_JOIN, cb, NULL, cb_arg);
  if (call == NULL) { /* nothing changed yet, so answering in place is safe */
    beck_gc_join_result_t r = {.error = BECK_KERR_COORDINATOR_NOT_AVAILABLE,
                               .generation_id = -1,
                               .leader_id = "",
                               .member_id = req->member_id ? req->member_id : ""};
    cb(cb_arg, &r);
    return;
  }
  beck__gc_enter(gc);
  const char *member_id = req->member_id ? req->member_id : "";
  bool new_member = *member_id == '\0';
  int32_t rebalance_ms = req->rebalance_timeout_ms < 0 ? req->session_timeout_ms : req->rebalance_timeout_ms;
  gc_group_t *g = req->group_id ? beck__gc_find(gc, req->group_id) : NULL;
  if (req->group_id == NULL || *req->group_id == '\0') {
    beck__gc_join_error(gc, call, BECK_KERR_INVALID_GROUP_ID, member_id);
  } else if (req->session_timeout_ms < gc->cfg.min_session_timeout_ms ||
             req->session_timeout_ms > gc->cfg.max_session_timeout_ms) {
    beck__gc_join_error(gc, call, BECK_KERR_INVALID_SESSION_TIMEOUT, member_id);
  } else if (g == NULL && !new_member) {
    beck__gc_join_error(gc, call, BECK_KERR_UNKNOWN_MEMBER_ID, member_id);
  } else if (g == NULL && (req->protocol_type == NULL || *req->protocol_type == '\0' || req->nprotocols <= 0)) {
    /* Checked before creating the group, so a bad request leaves no trace. */
    beck__gc_join_error(gc, call, BECK_KERR_INCONSISTENT_GROUP_PROTOCOL, member_id);
  } else if (g == NULL && (g = beck__gc_create(gc, req->group_id)) == NULL) {
    beck__gc_join_error(gc, call, BECK_KERR_COORDINATOR_NOT_AVAILABLE, member_id);
  } else {
    if (new_member)
      new_member_join(gc, g, req, rebalance_ms, call, now_ms);
    else
      current_member_join(gc, g, req, rebalance_ms, call, now_ms);
    beck__gc_try_complete_join(gc, g, now_ms);
    beck__gc_drop_if_unused(gc, g);
    if ((g = beck__gc_find(gc, req->group_id)) != NULL)
      beck__gc_check(g);
  }
  beck__gc_leave(gc);
}
