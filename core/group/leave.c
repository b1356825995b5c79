/*
 * leave.c - LeaveGroup (Kafka's handleLeaveGroup): v0-2 name one member,
 * v3+ a batch, each with its own error. A member id "" with an instance id
 * removes that static member (the admin form).
 */
#include "base/logging.h"
#include "group/group_int.h"

static int16_t leave_one(beck_gc_t *gc, gc_group_t *g, const beck_gc_member_id_t *who, int64_t now_ms) {
  const char *member_id = who->member_id ? who->member_id : "";
  gc_member_t *m;
  if (*member_id == '\0') {
    if ((m = beck__gc_static_member(g, who->group_instance_id)) == NULL)
      return BECK_KERR_UNKNOWN_MEMBER_ID;
  } else if (beck__gc_is_pending(g, member_id)) {
    beck__gc_remove_pending(gc, g, member_id);
    beck__gc_try_complete_join(gc, g, now_ms);
    return BECK_KERR_NONE;
  } else {
    int16_t err = beck__gc_validate_member(g, member_id, who->group_instance_id);
    if (err)
      return err;
    m = beck__gc_member(g, member_id);
  }
  beck__gc_log(g, BECK_LOG_INFO, "member %s left the group", m->id);
  beck__gc_remove_member_and_update(gc, g, m, now_ms);
  return BECK_KERR_NONE;
}

int16_t beck_gc_leave(beck_gc_t *gc, const char *group_id, const beck_gc_member_id_t *members, int n,
                      int16_t *member_errors, int64_t now_ms) {
  if (group_id == NULL || *group_id == '\0') {
    for (int i = 0; i < n; i++)
      member_errors[i] = BECK_KERR_INVALID_GROUP_ID;
    return BECK_KERR_INVALID_GROUP_ID;
  }
  beck__gc_enter(gc);
  for (int i = 0; i < n; i++) {
    /* Looked up each time: a leave can complete a rebalance, never free a group. */
    gc_group_t *g = beck__gc_find(gc, group_id);
    member_errors[i] = g ? leave_one(gc, g, &members[i], now_ms) : BECK_KERR_UNKNOWN_MEMBER_ID;
    if (g)
      beck__gc_check(g);
  }
  beck__gc_leave(gc);
  return BECK_KERR_NONE;
}
