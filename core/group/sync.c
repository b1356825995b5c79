/*
 * sync.c - SyncGroup (Kafka's handleSyncGroup / doSyncGroup).
 *
 * In CompletingRebalance every member's SyncGroup parks until the leader's
 * arrives with the assignments; then each gets its own bytes (empty when the
 * leader gave none) and the group is Stable. In Stable a SyncGroup (a
 * follower that rejoined with unchanged metadata) gets the current
 * assignment at once.
 */
#include <string.h>

#include "group/group_int.h"

static int16_t validate(const gc_group_t *g, const beck_gc_sync_req_t *req) {
  int16_t err = beck__gc_validate_member(g, req->member_id, req->group_instance_id);
  if (err)
    return err;
  if (req->generation_id != g->generation)
    return BECK_KERR_ILLEGAL_GENERATION;
  if (req->protocol_type && (g->protocol_type == NULL || strcmp(req->protocol_type, g->protocol_type) != 0))
    return BECK_KERR_INCONSISTENT_GROUP_PROTOCOL;
  if (req->protocol_name && (g->protocol_name == NULL || strcmp(req->protocol_name, g->protocol_name) != 0))
    return BECK_KERR_INCONSISTENT_GROUP_PROTOCOL;
  return BECK_KERR_NONE;
}

static void sync_group(beck_gc_t *gc, gc_group_t *g, const beck_gc_sync_req_t *req, gc_call_t *call, int64_t now_ms) {
  int16_t err = validate(g, req);
  if (err) {
    beck__gc_sync_error(gc, call, err);
    return;
  }
  gc_member_t *m = beck__gc_member(g, req->member_id);
  switch (g->state) {
  case GC_EMPTY:
  case GC_DEAD:
    beck__gc_sync_error(gc, call, BECK_KERR_UNKNOWN_MEMBER_ID);
    break;
  case GC_PREPARING_REBALANCE:
    beck__gc_sync_error(gc, call, BECK_KERR_REBALANCE_IN_PROGRESS);
    break;
  case GC_COMPLETING_REBALANCE:
    if (m->sync_call) /* superseded: answer instead of leaving the old request hanging */
      beck__gc_sync_error(gc, m->sync_call, BECK_KERR_REBALANCE_IN_PROGRESS);
    beck__gc_park(gc, call, &m->sync_call);
    m->awaiting_sync = true;
    beck__gc_sync_done(g, m);
    if (g->leader == m)
      beck__gc_set_assignment(gc, g, req, now_ms);
    break;
  case GC_STABLE: {
    beck__gc_sync_done(g, m);
    beck_gc_sync_result_t r = {
        .error = BECK_KERR_NONE,
        .protocol_type = g->protocol_type,
        .protocol_name = g->protocol_name,
        .assignment = beck_slice(m->assignment, m->assignment_len),
    };
    beck__gc_answer_sync(gc, call, &r);
    beck__gc_touch(m, now_ms);
    break;
  }
  }
}

void beck_gc_sync(beck_gc_t *gc, const beck_gc_sync_req_t *req, int64_t now_ms, beck_gc_sync_cb cb, void *cb_arg) {
  gc_call_t *call = beck__gc_call_new(GC_CALL_SYNC, NULL, cb, cb_arg);
  if (call == NULL) { /* nothing changed yet, so answering in place is safe */
    beck_gc_sync_result_t r = {.error = BECK_KERR_COORDINATOR_NOT_AVAILABLE};
    cb(cb_arg, &r);
    return;
  }
  beck__gc_enter(gc);
  gc_group_t *g = req->group_id ? beck__gc_find(gc, req->group_id) : NULL;
  if (req->group_id == NULL || *req->group_id == '\0') {
    beck__gc_sync_error(gc, call, BECK_KERR_INVALID_GROUP_ID);
  } else if (g == NULL) {
    beck__gc_sync_error(gc, call, BECK_KERR_UNKNOWN_MEMBER_ID);
  } else {
    sync_group(gc, g, req, call, now_ms);
    beck__gc_check(g);
  }
  beck__gc_leave(gc);
}
