/*
 * coordinator.c - the coordinator object: loading from the metadata store,
 * the sorted group table, parked and answered callbacks, cancellation and the
 * periodic tick.
 *
 * Callbacks never run in the middle of a state change. An answered call is
 * queued on gc->ready with its own copy of the result; the outermost public
 * call drains the queue when it is done (beck__gc_leave), so a callback sees
 * a consistent coordinator and may call into it again.
 */
#include "group/group.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "group/group_int.h"

void beck_gc_config_init(beck_gc_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->min_session_timeout_ms = 6000;
  cfg->max_session_timeout_ms = 1800000;
  cfg->initial_rebalance_delay_ms = 3000;
  cfg->offsets_retention_ms = 7LL * 24 * 3600 * 1000;
  cfg->offsets_retention_check_ms = 600000;
  cfg->offset_metadata_max_bytes = 4096;
  cfg->env = NULL;
}

/* ---- logging, names, clocks ---- */

const char *beck__gc_state_name(gc_state_t s) {
  switch (s) {
  case GC_EMPTY:
    return "Empty";
  case GC_PREPARING_REBALANCE:
    return "PreparingRebalance";
  case GC_COMPLETING_REBALANCE:
    return "CompletingRebalance";
  case GC_STABLE:
    return "Stable";
  case GC_DEAD:
    break;
  }
  return "Dead";
}

void beck__gc_log(const gc_group_t *g, int level, const char *fmt, ...) {
  if (!beck_log_enabled((beck_log_level_t)level))
    return;
  char ctx[160], msg[512];
  snprintf(ctx, sizeof ctx, "group:%s", g->id);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  beck_log(ctx, (beck_log_level_t)level, "%s", msg);
}

int64_t beck__gc_wall_ms(beck_gc_t *gc) { return gc->env->now_ms(gc->env); }

char *beck__gc_member_id(beck_gc_t *gc, const char *prefix) {
  uint8_t u[16];
  uint64_t a = gc->env->random(gc->env), b = gc->env->random(gc->env);
  memcpy(u, &a, 8);
  memcpy(u + 8, &b, 8);
  u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
  u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* variant 10 */
  size_t n = strlen(prefix) + 1 + 36 + 1;
  char *id = beck_malloc(n);
  if (id == NULL)
    return NULL;
  snprintf(id, n, "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", prefix, u[0], u[1], u[2],
           u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return id;
}

void beck__gc_save(beck_gc_t *gc, gc_group_t *g) {
  beck_meta_group_t rec = {
      .group_id = g->id,
      .protocol_type = g->protocol_type,
      .generation = g->generation,
      .protocol = g->protocol_name,
      .state = beck__gc_state_name(g->state),
  };
  beck_error_t e;
  if (beck_meta_group_save(gc->meta, &rec, &e))
    beck__gc_log(g, BECK_LOG_WARN, "saving generation %d: %s", g->generation, e.msg);
}

/* ---- the group table (sorted by id) ---- */

/* Index of group_id, or of where it would be inserted (*found false). */
static int group_index(const beck_gc_t *gc, const char *group_id, bool *found) {
  int lo = 0, hi = gc->ngroups;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    int c = strcmp(gc->groups[mid]->id, group_id);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

gc_group_t *beck__gc_find(beck_gc_t *gc, const char *group_id) {
  bool found;
  int i = group_index(gc, group_id, &found);
  return found ? gc->groups[i] : NULL;
}

gc_group_t *beck__gc_create(beck_gc_t *gc, const char *group_id) {
  bool found;
  int i = group_index(gc, group_id, &found);
  assert(!found);
  if (gc->ngroups == gc->capgroups) {
    int cap = gc->capgroups ? gc->capgroups * 2 : 16;
    gc_group_t **n = beck_realloc(gc->groups, (size_t)cap * sizeof *n);
    if (n == NULL)
      return NULL;
    gc->groups = n;
    gc->capgroups = cap;
  }
  gc_group_t *g = beck_calloc(1, sizeof *g);
  if (g == NULL || (g->id = beck_strdup(group_id)) == NULL) {
    beck_free(g);
    return NULL;
  }
  g->state = GC_EMPTY;
  g->join_deadline = GC_NEVER;
  g->sync_deadline = GC_NEVER;
  g->empty_since_wall = beck__gc_wall_ms(gc);
  memmove(gc->groups + i + 1, gc->groups + i, (size_t)(gc->ngroups - i) * sizeof *gc->groups);
  gc->groups[i] = g;
  gc->ngroups++;
  return g;
}

static void group_free(gc_group_t *g) {
  gc_member_t *m = g->members;
  while (m) {
    gc_member_t *next = m->next;
    beck__gc_member_free(m);
    m = next;
  }
  gc_pending_t *p = g->pending;
  while (p) {
    gc_pending_t *next = p->next;
    beck_free(p);
    p = next;
  }
  beck__gc_offsets_free(g);
  beck_free(g->protocol_type);
  beck_free(g->protocol_name);
  beck_free(g->id);
  beck_free(g);
}

void beck__gc_remove_group(beck_gc_t *gc, gc_group_t *g) {
  assert(g->nmembers == 0);
  bool found;
  int i = group_index(gc, g->id, &found);
  assert(found && gc->groups[i] == g);
  memmove(gc->groups + i, gc->groups + i + 1, (size_t)(gc->ngroups - i - 1) * sizeof *gc->groups);
  gc->ngroups--;
  g->state = GC_DEAD;
  group_free(g);
}

void beck__gc_drop_if_unused(beck_gc_t *gc, gc_group_t *g) {
  if (g->state == GC_EMPTY && g->generation == 0 && g->nmembers == 0 && g->npending == 0 && g->ntopics == 0 &&
      g->protocol_type == NULL)
    beck__gc_remove_group(gc, g);
}

/* ---- calls ---- */

static void list_unlink(gc_call_t **head, gc_call_t **tail, gc_call_t *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    *head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else if (tail)
    *tail = c->prev;
  c->prev = c->next = NULL;
}

gc_call_t *beck__gc_call_new(gc_call_kind_t kind, beck_gc_join_cb jcb, beck_gc_sync_cb scb, void *arg) {
  gc_call_t *c = beck_calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->kind = kind;
  c->join_cb = jcb;
  c->sync_cb = scb;
  c->arg = arg;
  return c;
}

static void call_free(gc_call_t *c) {
  beck_free(c->data);
  beck_free(c);
}

void beck__gc_park(beck_gc_t *gc, gc_call_t *call, gc_call_t **slot) {
  assert(!call->parked && *slot == NULL);
  call->parked = true;
  call->slot = slot;
  *slot = call;
  call->prev = NULL;
  call->next = gc->parked;
  if (gc->parked)
    gc->parked->prev = call;
  gc->parked = call;
}

/* Takes call off its member slot and the parked list, and queues it. */
static void queue_ready(beck_gc_t *gc, gc_call_t *call) {
  if (call->parked) {
    *call->slot = NULL;
    call->slot = NULL;
    call->parked = false;
    list_unlink(&gc->parked, NULL, call);
  }
  call->next = NULL;
  call->prev = gc->ready_tail;
  if (gc->ready_tail)
    gc->ready_tail->next = call;
  else
    gc->ready = call;
  gc->ready_tail = call;
}

static size_t str_size(const char *s) { return s ? strlen(s) + 1 : 0; }

/* Copies s to *p and advances it; NULL stays NULL. */
static const char *put_str(char **p, const char *s) {
  if (s == NULL)
    return NULL;
  size_t n = strlen(s) + 1;
  memcpy(*p, s, n);
  const char *r = *p;
  *p += n;
  return r;
}

static beck_slice_t put_bytes(char **p, beck_slice_t b) {
  if (b.len)
    memcpy(*p, b.ptr, b.len);
  beck_slice_t r = {(const uint8_t *)*p, b.len};
  *p += b.len;
  return r;
}

void beck__gc_answer_join(beck_gc_t *gc, gc_call_t *call, const beck_gc_join_result_t *res) {
  assert(call->kind == GC_CALL_JOIN && call->data == NULL);
  size_t size = (size_t)res->nmembers * sizeof(beck_gc_member_meta_t) + str_size(res->protocol_type) +
                str_size(res->protocol_name) + str_size(res->leader_id) + str_size(res->member_id);
  for (int i = 0; i < res->nmembers; i++)
    size += str_size(res->members[i].member_id) + str_size(res->members[i].group_instance_id) +
            res->members[i].metadata.len;
  call->data = beck_malloc(size ? size : 1);
  if (call->data == NULL) {
    /* Out of memory: a retriable error keeps the client going. */
    call->join = (beck_gc_join_result_t){
        .error = BECK_KERR_COORDINATOR_NOT_AVAILABLE, .generation_id = -1, .leader_id = "", .member_id = ""};
  } else {
    beck_gc_member_meta_t *members = call->data;
    char *p = (char *)(members + res->nmembers);
    call->join = *res;
    call->join.protocol_type = put_str(&p, res->protocol_type);
    call->join.protocol_name = put_str(&p, res->protocol_name);
    call->join.leader_id = put_str(&p, res->leader_id);
    call->join.member_id = put_str(&p, res->member_id);
    for (int i = 0; i < res->nmembers; i++) {
      members[i].member_id = put_str(&p, res->members[i].member_id);
      members[i].group_instance_id = put_str(&p, res->members[i].group_instance_id);
      members[i].metadata = put_bytes(&p, res->members[i].metadata);
    }
    call->join.members = res->nmembers ? members : NULL;
  }
  queue_ready(gc, call);
}

void beck__gc_answer_sync(beck_gc_t *gc, gc_call_t *call, const beck_gc_sync_result_t *res) {
  assert(call->kind == GC_CALL_SYNC && call->data == NULL);
  size_t size = str_size(res->protocol_type) + str_size(res->protocol_name) + res->assignment.len;
  call->data = beck_malloc(size ? size : 1);
  if (call->data == NULL) {
    call->sync = (beck_gc_sync_result_t){.error = BECK_KERR_COORDINATOR_NOT_AVAILABLE};
  } else {
    char *p = call->data;
    call->sync = *res;
    call->sync.protocol_type = put_str(&p, res->protocol_type);
    call->sync.protocol_name = put_str(&p, res->protocol_name);
    call->sync.assignment = put_bytes(&p, res->assignment);
  }
  queue_ready(gc, call);
}

void beck__gc_join_error(beck_gc_t *gc, gc_call_t *call, int16_t error, const char *member_id) {
  beck_gc_join_result_t r = {.error = error, .generation_id = -1, .leader_id = "", .member_id = member_id};
  if (r.member_id == NULL)
    r.member_id = "";
  beck__gc_answer_join(gc, call, &r);
}

void beck__gc_sync_error(beck_gc_t *gc, gc_call_t *call, int16_t error) {
  beck_gc_sync_result_t r = {.error = error};
  beck__gc_answer_sync(gc, call, &r);
}

static void drain(beck_gc_t *gc) {
  if (gc->draining)
    return;
  gc->draining = true;
  while (gc->ready) {
    gc_call_t *c = gc->ready;
    list_unlink(&gc->ready, &gc->ready_tail, c);
    if (c->kind == GC_CALL_JOIN)
      c->join_cb(c->arg, &c->join);
    else
      c->sync_cb(c->arg, &c->sync);
    call_free(c);
  }
  gc->draining = false;
}

void beck__gc_enter(beck_gc_t *gc) { gc->depth++; }

void beck__gc_leave(beck_gc_t *gc) {
  assert(gc->depth > 0);
  if (--gc->depth == 0)
    drain(gc);
}

int beck_gc_cancel(beck_gc_t *gc, void *cb_arg) {
  int n = 0;
  for (gc_call_t *c = gc->parked, *next; c; c = next) {
    next = c->next;
    if (c->arg != cb_arg)
      continue;
    *c->slot = NULL;
    list_unlink(&gc->parked, NULL, c);
    call_free(c);
    n++;
  }
  for (gc_call_t *c = gc->ready, *next; c; c = next) {
    next = c->next;
    if (c->arg != cb_arg)
      continue;
    list_unlink(&gc->ready, &gc->ready_tail, c);
    call_free(c);
    n++;
  }
  return n;
}

/* ---- lifecycle ---- */

typedef struct {
  beck_gc_t *gc;
  beck_err_t err;
} load_ctx_t;

static int load_group(void *arg, const beck_meta_group_t *rec) {
  load_ctx_t *lc = arg;
  gc_group_t *g = beck__gc_find(lc->gc, rec->group_id);
  if (g == NULL && (g = beck__gc_create(lc->gc, rec->group_id)) == NULL) {
    lc->err = BECK_ERR_NOMEM;
    return 1;
  }
  g->generation = rec->generation;
  if (rec->protocol_type && *rec->protocol_type && (g->protocol_type = beck_strdup(rec->protocol_type)) == NULL) {
    lc->err = BECK_ERR_NOMEM;
    return 1;
  }
  return 0;
}

static int load_offset(void *arg, const beck_meta_offset_t *o) {
  load_ctx_t *lc = arg;
  gc_group_t *g = beck__gc_find(lc->gc, o->group_id);
  if ((g == NULL && (g = beck__gc_create(lc->gc, o->group_id)) == NULL) || beck__gc_offset_load(g, o)) {
    lc->err = BECK_ERR_NOMEM;
    return 1;
  }
  return 0;
}

beck_err_t beck_gc_new(beck_meta_t *meta, const beck_gc_config_t *cfg, int64_t now_ms, beck_gc_t **out,
                       beck_error_t *e) {
  beck_gc_t *gc = beck_calloc(1, sizeof *gc);
  if (gc == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "group coordinator: out of memory");
  if (cfg)
    gc->cfg = *cfg;
  else
    beck_gc_config_init(&gc->cfg);
  gc->env = gc->cfg.env ? gc->cfg.env : beck_env_default();
  gc->meta = meta;
  gc->last_retention_check = now_ms;
  if (gc->cfg.min_session_timeout_ms > gc->cfg.max_session_timeout_ms || gc->cfg.initial_rebalance_delay_ms < 0 ||
      gc->cfg.offsets_retention_ms <= 0 || gc->cfg.offset_metadata_max_bytes < 0) {
    beck_free(gc);
    return beck_error_set(e, BECK_ERR_INVAL, "group coordinator: invalid configuration");
  }
  load_ctx_t lc = {gc, BECK_ERR_OK};
  beck_err_t err = beck_meta_group_foreach(meta, load_group, &lc, e);
  if (!err && !lc.err)
    err = beck_meta_offsets_foreach(meta, NULL, load_offset, &lc, e);
  if (!err && lc.err)
    err = beck_error_set(e, lc.err, "out of memory");
  if (err) {
    beck_error_wrap(e, "group coordinator: loading groups and offsets");
    beck_gc_destroy(gc);
    return err;
  }
  *out = gc;
  return BECK_ERR_OK;
}

void beck_gc_destroy(beck_gc_t *gc) {
  if (gc == NULL)
    return;
  assert(gc->depth == 0 && !gc->draining);
  while (gc->parked) {
    gc_call_t *c = gc->parked;
    *c->slot = NULL;
    list_unlink(&gc->parked, NULL, c);
    call_free(c);
  }
  while (gc->ready) {
    gc_call_t *c = gc->ready;
    list_unlink(&gc->ready, &gc->ready_tail, c);
    call_free(c);
  }
  for (int i = 0; i < gc->ngroups; i++)
    group_free(gc->groups[i]);
  beck_free(gc->groups);
  beck_free(gc);
}

void beck_gc_tick(beck_gc_t *gc, int64_t now_ms) {
  beck__gc_enter(gc);
  for (int i = 0; i < gc->ngroups; i++)
    beck__gc_expire(gc, gc->groups[i], now_ms);
  if (now_ms - gc->last_retention_check >= gc->cfg.offsets_retention_check_ms) {
    gc->last_retention_check = now_ms;
    beck__gc_retention(gc);
  }
  beck__gc_leave(gc);
}

const char *beck_gc_group_state(beck_gc_t *gc, const char *group_id) {
  gc_group_t *g = beck__gc_find(gc, group_id);
  return beck__gc_state_name(g ? g->state : GC_DEAD);
}
