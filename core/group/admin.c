/*
 * admin.c - ListGroups, DescribeGroups and DeleteGroups.
 *
 * As in Kafka, a description carries the protocol, member metadata and
 * assignments only when the group is Stable; an unknown group is described
 * as "Dead" without an error.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "group/group_int.h"

void beck_gc_list(beck_gc_t *gc, int (*cb)(void *arg, const beck_gc_group_info_t *g), void *arg) {
  for (int i = 0; i < gc->ngroups; i++) {
    const gc_group_t *g = gc->groups[i];
    beck_gc_group_info_t info = {g->id, g->protocol_type ? g->protocol_type : "", beck__gc_state_name(g->state)};
    if (cb(arg, &info))
      return;
  }
}

static const gc_protocol_t *chosen(const gc_member_t *m, const char *name) {
  for (int i = 0; name && i < m->nprotocols; i++)
    if (strcmp(m->protocols[i].name, name) == 0)
      return &m->protocols[i];
  return NULL;
}

int16_t beck_gc_describe(beck_gc_t *gc, const char *group_id, void (*cb)(void *arg, const beck_gc_group_desc_t *d),
                         void *arg) {
  beck_gc_group_desc_t d = {.group_id = group_id ? group_id : "", .state = "Dead", .protocol_type = "", .protocol = ""};
  if (group_id == NULL || *group_id == '\0') {
    d.error = BECK_KERR_INVALID_GROUP_ID;
    cb(arg, &d);
    return d.error;
  }
  gc_group_t *g = beck__gc_find(gc, group_id);
  beck_gc_member_desc_t *members = NULL;
  if (g) {
    bool stable = g->state == GC_STABLE;
    d.state = beck__gc_state_name(g->state);
    d.protocol_type = g->protocol_type ? g->protocol_type : "";
    d.protocol = stable && g->protocol_name ? g->protocol_name : "";
    if (g->nmembers && (members = beck_calloc((size_t)g->nmembers, sizeof *members)) == NULL) {
      d.error = BECK_KERR_COORDINATOR_NOT_AVAILABLE;
      cb(arg, &d);
      return d.error;
    }
    for (const gc_member_t *m = g->members; m; m = m->next, d.nmembers++) {
      beck_gc_member_desc_t *md = &members[d.nmembers];
      md->member_id = m->id;
      md->group_instance_id = m->instance_id;
      md->client_id = m->client_id;
      md->client_host = m->client_host;
      const gc_protocol_t *p = stable ? chosen(m, g->protocol_name) : NULL;
      if (p)
        md->metadata = beck_slice(p->metadata, p->len);
      if (stable)
        md->assignment = beck_slice(m->assignment, m->assignment_len);
    }
    d.members = members;
  }
  cb(arg, &d);
  beck_free(members);
  return d.error;
}

int16_t beck_gc_delete_group(beck_gc_t *gc, const char *group_id, int64_t now_ms) {
  (void)now_ms;
  gc_group_t *g = group_id ? beck__gc_find(gc, group_id) : NULL;
  if (g == NULL)
    return BECK_KERR_GROUP_ID_NOT_FOUND;
  if (g->state != GC_EMPTY)
    return BECK_KERR_NON_EMPTY_GROUP;
  beck_error_t e;
  if (beck_meta_group_delete(gc->meta, g->id, &e)) {
    beck__gc_log(g, BECK_LOG_ERROR, "deleting group: %s", e.msg);
    return BECK_KERR_COORDINATOR_NOT_AVAILABLE;
  }
  beck__gc_log(g, BECK_LOG_INFO, "group deleted");
  beck__gc_remove_group(gc, g);
  return BECK_KERR_NONE;
}
