/*
 * heartbeat.c - Heartbeat (Kafka's handleHeartbeat): keeps a member's
 * session alive and tells it when to rejoin (REBALANCE_IN_PROGRESS).
 */
#include "group/group_int.h"

int16_t beck_gc_heartbeat(beck_gc_t *gc, const char *group_id, int32_t generation_id, const char *member_id,
                          const char *group_instance_id, int64_t now_ms) {
  if (group_id == NULL || *group_id == '\0')
    return BECK_KERR_INVALID_GROUP_ID;
  gc_group_t *g = beck__gc_find(gc, group_id);
  if (g == NULL)
    return BECK_KERR_UNKNOWN_MEMBER_ID;
  int16_t err = beck__gc_validate_member(g, member_id, group_instance_id);
  if (err)
    return err;
  if (generation_id != g->generation)
    return BECK_KERR_ILLEGAL_GENERATION;
  gc_member_t *m = beck__gc_member(g, member_id);
  switch (g->state) {
  case GC_COMPLETING_REBALANCE:
  case GC_STABLE:
    beck__gc_touch(m, now_ms);
    return BECK_KERR_NONE;
  case GC_PREPARING_REBALANCE:
    beck__gc_touch(m, now_ms);
    return BECK_KERR_REBALANCE_IN_PROGRESS;
  case GC_EMPTY:
  case GC_DEAD:
    break;
  }
  return BECK_KERR_UNKNOWN_MEMBER_ID;
}
