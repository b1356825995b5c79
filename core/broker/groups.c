/*
 * groups.c - the broker's side of the group coordinator (core/group): its
 * life, its timer, and cancelling parked joins and syncs when a client
 * connection closes.
 */
#include "broker/handlers.h"

#include "base/alloc.h"
#include "group/group.h"

struct beck_group_coord {
  beck_gc_t *gc;
};

beck_gc_t *beck__gc(beck_broker_t *b) { return ((struct beck_group_coord *)b->groups)->gc; }

beck_err_t beck__groups_new(beck_broker_t *b, beck_error_t *e) {
  struct beck_group_coord *c = beck_calloc(1, sizeof *c);
  if (c == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "group coordinator: out of memory");
  beck_gc_config_t cfg;
  beck_gc_config_init(&cfg);
  cfg.min_session_timeout_ms = b->cfg.group_min_session_ms;
  cfg.max_session_timeout_ms = b->cfg.group_max_session_ms;
  cfg.initial_rebalance_delay_ms = b->cfg.group_initial_rebalance_delay_ms;
  beck_err_t err = beck_gc_new(beck_topics_meta(b->topics), &cfg, (int64_t)uv_now(&b->loop), &c->gc, e);
  if (err) {
    beck_free(c);
    return err;
  }
  b->groups = (beck_group_coord_t *)c;
  return BECK_ERR_OK;
}

void beck__groups_destroy(beck_broker_t *b) {
  struct beck_group_coord *c = (struct beck_group_coord *)b->groups;
  if (c == NULL)
    return;
  beck_gc_destroy(c->gc);
  beck_free(c);
  b->groups = NULL;
}

void beck__groups_tick(beck_broker_t *b, int64_t now_ms) { beck_gc_tick(beck__gc(b), now_ms); }

void beck__groups_cancel(beck_broker_t *b, beck_req_t *req) { beck_gc_cancel(beck__gc(b), req); }

void beck__groups_topic_deleted(beck_broker_t *b, const char *topic) {
  beck_gc_delete_topic_offsets(beck__gc(b), topic);
}
