/*
 * rebalance.c - the group state machine (see the diagram in group_int.h):
 * members, pending members, the join phase and its completion, assignment
 * propagation, and the group's timers.
 *
 * Names follow Kafka's GroupCoordinator.scala where a function is the same
 * step (prepareRebalance, onCompleteJoin, propagateAssignment, ...), so the
 * two can be read side by side.
 */
#include <assert.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "group/group_int.h"

/* ---- members ---- */

gc_member_t *beck__gc_member(const gc_group_t *g, const char *member_id) {
  if (member_id == NULL)
    return NULL;
  for (gc_member_t *m = g->members; m; m = m->next)
    if (strcmp(m->id, member_id) == 0)
      return m;
  return NULL;
}

gc_member_t *beck__gc_static_member(const gc_group_t *g, const char *instance_id) {
  if (instance_id == NULL)
    return NULL;
  for (gc_member_t *m = g->members; m; m = m->next)
    if (m->instance_id && strcmp(m->instance_id, instance_id) == 0)
      return m;
  return NULL;
}

int16_t beck__gc_validate_member(const gc_group_t *g, const char *member_id, const char *instance_id) {
  if (instance_id) {
    gc_member_t *m = beck__gc_static_member(g, instance_id);
    if (m == NULL)
      return BECK_KERR_UNKNOWN_MEMBER_ID;
    return member_id && strcmp(m->id, member_id) == 0 ? BECK_KERR_NONE : BECK_KERR_FENCED_INSTANCE_ID;
  }
  return beck__gc_member(g, member_id) ? BECK_KERR_NONE : BECK_KERR_UNKNOWN_MEMBER_ID;
}

static bool member_supports(const gc_member_t *m, const char *name) {
  for (int i = 0; i < m->nprotocols; i++)
    if (strcmp(m->protocols[i].name, name) == 0)
      return true;
  return false;
}

static bool all_support(const gc_group_t *g, const char *name) {
  for (gc_member_t *m = g->members; m; m = m->next)
    if (!member_supports(m, name))
      return false;
  return true;
}

bool beck__gc_supports(const gc_group_t *g, const char *protocol_type, const beck_gc_protocol_t *p, int n) {
  if (g->state == GC_EMPTY)
    return protocol_type && *protocol_type && n > 0;
  if (g->protocol_type == NULL || protocol_type == NULL || strcmp(g->protocol_type, protocol_type) != 0)
    return false;
  for (int i = 0; i < n; i++)
    if (p[i].name && all_support(g, p[i].name))
      return true;
  return false;
}

bool beck__gc_matches(const gc_member_t *m, const beck_gc_protocol_t *p, int n) {
  if (n != m->nprotocols)
    return false;
  for (int i = 0; i < n; i++) {
    const gc_protocol_t *q = &m->protocols[i];
    if (p[i].name == NULL || strcmp(p[i].name, q->name) != 0 || p[i].metadata.len != q->len ||
        (q->len && memcmp(p[i].metadata.ptr, q->metadata, q->len) != 0))
      return false;
  }
  return true;
}

beck_err_t beck__gc_set_protocols(gc_member_t *m, const beck_gc_protocol_t *p, int n) {
  size_t size = (size_t)n * sizeof(gc_protocol_t);
  for (int i = 0; i < n; i++)
    size += strlen(p[i].name ? p[i].name : "") + 1 + p[i].metadata.len;
  gc_protocol_t *block = beck_malloc(size ? size : 1);
  if (block == NULL)
    return BECK_ERR_NOMEM;
  char *s = (char *)(block + n);
  for (int i = 0; i < n; i++) {
    const char *name = p[i].name ? p[i].name : "";
    size_t l = strlen(name) + 1;
    memcpy(s, name, l);
    block[i].name = s;
    s += l;
    if (p[i].metadata.len)
      memcpy(s, p[i].metadata.ptr, p[i].metadata.len);
    block[i].metadata = (const uint8_t *)s;
    block[i].len = p[i].metadata.len;
    s += p[i].metadata.len;
  }
  beck_free(m->protocols);
  m->protocols = block;
  m->nprotocols = n;
  return BECK_ERR_OK;
}

gc_member_t *beck__gc_member_new(const char *id, const beck_gc_join_req_t *req, int32_t rebalance_timeout_ms) {
  gc_member_t *m = beck_calloc(1, sizeof *m);
  if (m == NULL)
    return NULL;
  m->id = beck_strdup(id);
  m->client_id = beck_strdup(req->client_id ? req->client_id : "");
  m->client_host = beck_strdup(req->client_host ? req->client_host : "");
  if (req->group_instance_id)
    m->instance_id = beck_strdup(req->group_instance_id);
  if (!m->id || !m->client_id || !m->client_host || (req->group_instance_id && !m->instance_id) ||
      beck__gc_set_protocols(m, req->protocols, req->nprotocols)) {
    beck__gc_member_free(m);
    return NULL;
  }
  m->session_timeout_ms = req->session_timeout_ms;
  m->rebalance_timeout_ms = rebalance_timeout_ms;
  m->hb_deadline = GC_NEVER;
  return m;
}

void beck__gc_member_free(gc_member_t *m) {
  if (m == NULL)
    return;
  assert(m->join_call == NULL && m->sync_call == NULL);
  beck_free(m->id);
  beck_free(m->instance_id);
  beck_free(m->client_id);
  beck_free(m->client_host);
  beck_free(m->protocols);
  beck_free(m->assignment);
  beck_free(m);
}

static const gc_protocol_t *member_protocol(const gc_member_t *m, const char *name) {
  for (int i = 0; name && i < m->nprotocols; i++)
    if (strcmp(m->protocols[i].name, name) == 0)
      return &m->protocols[i];
  return NULL;
}

/* ---- pending (KIP-394) members ---- */

bool beck__gc_is_pending(const gc_group_t *g, const char *member_id) {
  for (gc_pending_t *p = g->pending; p; p = p->next)
    if (strcmp(p->id, member_id) == 0)
      return true;
  return false;
}

beck_err_t beck__gc_add_pending(gc_group_t *g, const char *member_id, int64_t deadline) {
  size_t l = strlen(member_id) + 1;
  gc_pending_t *p = beck_malloc(sizeof *p + l);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  memcpy(p->id, member_id, l);
  p->deadline = deadline;
  p->next = g->pending;
  g->pending = p;
  g->npending++;
  return BECK_ERR_OK;
}

void beck__gc_remove_pending(beck_gc_t *gc, gc_group_t *g, const char *member_id) {
  (void)gc;
  for (gc_pending_t **pp = &g->pending; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->id, member_id) == 0) {
      gc_pending_t *p = *pp;
      *pp = p->next;
      beck_free(p);
      g->npending--;
      return;
    }
  }
}

/* ---- the join phase ---- */

static int32_t rebalance_timeout(const gc_group_t *g) {
  int32_t t = 0;
  for (gc_member_t *m = g->members; m; m = m->next)
    if (m->rebalance_timeout_ms > t)
      t = m->rebalance_timeout_ms;
  return t;
}

/* Answers the parked SyncGroup of every member waiting in CompletingRebalance
 * with its assignment (error 0) or the error (propagateAssignment). */
static void propagate_assignment(beck_gc_t *gc, gc_group_t *g, int16_t error, int64_t now_ms) {
  for (gc_member_t *m = g->members; m; m = m->next) {
    if (!m->awaiting_sync)
      continue;
    if (m->sync_call) {
      beck_gc_sync_result_t r = {.error = error};
      if (error == BECK_KERR_NONE) {
        r.protocol_type = g->protocol_type;
        r.protocol_name = g->protocol_name;
        r.assignment = beck_slice(m->assignment, m->assignment_len);
      }
      beck__gc_answer_sync(gc, m->sync_call, &r);
    }
    m->awaiting_sync = false;
    beck__gc_touch(m, now_ms);
  }
}

static void reset_and_propagate_assignment_error(beck_gc_t *gc, gc_group_t *g, int16_t error, int64_t now_ms) {
  for (gc_member_t *m = g->members; m; m = m->next) {
    beck_free(m->assignment);
    m->assignment = NULL;
    m->assignment_len = 0;
  }
  propagate_assignment(gc, g, error, now_ms);
}

static void prepare_rebalance(beck_gc_t *gc, gc_group_t *g, int64_t now_ms, const char *reason) {
  if (g->state == GC_COMPLETING_REBALANCE)
    reset_and_propagate_assignment_error(gc, g, BECK_KERR_REBALANCE_IN_PROGRESS, now_ms);
  g->sync_deadline = GC_NEVER;
  int32_t timeout = rebalance_timeout(g);
  bool was_empty = g->state == GC_EMPTY;
  beck__gc_log(g, BECK_LOG_INFO, "preparing to rebalance in state %s with old generation %d (%s)",
               beck__gc_state_name(g->state), g->generation, reason);
  g->state = GC_PREPARING_REBALANCE;
  g->new_member_added = false;
  if (was_empty && gc->cfg.initial_rebalance_delay_ms > 0) {
    /* Kafka's InitialDelayedJoin: wait for more members of a starting group. */
    g->initial_delay = true;
    g->delay_ms = gc->cfg.initial_rebalance_delay_ms;
    g->remaining_ms = timeout > g->delay_ms ? timeout - g->delay_ms : 0;
    g->join_deadline = now_ms + g->delay_ms;
  } else {
    g->initial_delay = false;
    g->join_deadline = now_ms + timeout;
    beck__gc_try_complete_join(gc, g, now_ms);
  }
}

void beck__gc_maybe_prepare_rebalance(beck_gc_t *gc, gc_group_t *g, int64_t now_ms, const char *reason) {
  if (g->state == GC_STABLE || g->state == GC_COMPLETING_REBALANCE || g->state == GC_EMPTY)
    prepare_rebalance(gc, g, now_ms, reason);
}

/* The protocol every member supports that most members list first among
 * those; ties go to the leader's preference. */
static const char *member_vote(const gc_group_t *g, const gc_member_t *m) {
  for (int i = 0; i < m->nprotocols; i++)
    if (all_support(g, m->protocols[i].name))
      return m->protocols[i].name;
  return NULL;
}

static const char *select_protocol(const gc_group_t *g) {
  const gc_member_t *leader = g->leader;
  const char *best = NULL;
  int best_votes = -1;
  for (int i = 0; i < leader->nprotocols; i++) {
    const char *name = leader->protocols[i].name;
    if (!all_support(g, name) || member_protocol(leader, name) != &leader->protocols[i])
      continue; /* not common, or a repeated name */
    int votes = 0;
    for (gc_member_t *m = g->members; m; m = m->next) {
      const char *v = member_vote(g, m);
      if (v && strcmp(v, name) == 0)
        votes++;
    }
    if (votes > best_votes) {
      best = name;
      best_votes = votes;
    }
  }
  /* Joins only admit members sharing a protocol with all others, so a common
   * protocol exists; fall back to the leader's first choice regardless. */
  return best ? best : leader->protocols[0].name;
}

void beck__gc_answer_join_current(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, gc_call_t *call) {
  beck_gc_member_meta_t *list = NULL;
  int n = 0;
  if (g->leader == m) {
    list = beck_malloc((size_t)g->nmembers * sizeof *list);
    if (list == NULL) {
      beck__gc_join_error(gc, call, BECK_KERR_COORDINATOR_NOT_AVAILABLE, m->id);
      return;
    }
    for (gc_member_t *x = g->members; x; x = x->next, n++) {
      const gc_protocol_t *p = member_protocol(x, g->protocol_name);
      list[n].member_id = x->id;
      list[n].group_instance_id = x->instance_id;
      list[n].metadata = p ? beck_slice(p->metadata, p->len) : beck_slice(NULL, 0);
    }
  }
  beck_gc_join_result_t r = {
      .error = BECK_KERR_NONE,
      .generation_id = g->generation,
      .protocol_type = g->protocol_type,
      .protocol_name = g->protocol_name,
      .leader_id = g->leader ? g->leader->id : "",
      .member_id = m->id,
      .members = list,
      .nmembers = n,
  };
  beck__gc_answer_join(gc, call, &r);
  beck_free(list);
}

/* Removes m from the group (GroupMetadata.remove), answering its parked
 * calls with UNKNOWN_MEMBER_ID. No rebalance decision here. */
static void remove_member(beck_gc_t *gc, gc_group_t *g, gc_member_t *m) {
  if (m->join_call)
    beck__gc_join_error(gc, m->join_call, BECK_KERR_UNKNOWN_MEMBER_ID, m->id);
  if (m->sync_call)
    beck__gc_sync_error(gc, m->sync_call, BECK_KERR_UNKNOWN_MEMBER_ID);
  for (gc_member_t **pp = &g->members; *pp; pp = &(*pp)->next) {
    if (*pp == m) {
      *pp = m->next;
      break;
    }
  }
  g->nmembers--;
  if (m->joined)
    g->njoined--;
  if (g->leader == m)
    g->leader = g->members;
  beck__gc_member_free(m);
}

/* onCompleteJoin: drop members that did not rejoin, start the next generation
 * and answer every parked JoinGroup. */
static void complete_join(beck_gc_t *gc, gc_group_t *g, int64_t now_ms) {
  assert(g->state == GC_PREPARING_REBALANCE);
  for (gc_member_t *m = g->members, *next; m; m = next) {
    next = m->next;
    if (!m->joined) {
      beck__gc_log(g, BECK_LOG_INFO, "member %s did not rejoin within the rebalance timeout, removing it", m->id);
      remove_member(gc, g, m);
    }
  }
  char *protocol = NULL;
  if (g->nmembers > 0) {
    if (!g->leader->joined) /* cannot happen once absent members are gone; kept from Kafka */
      for (gc_member_t *m = g->members; m; m = m->next)
        if (m->joined) {
          g->leader = m;
          break;
        }
    if ((protocol = beck_strdup(select_protocol(g))) == NULL) {
      /* Out of memory: try again shortly; members keep waiting. */
      g->initial_delay = false;
      g->join_deadline = now_ms + 100;
      return;
    }
  }
  g->generation++;
  g->initial_delay = false;
  g->join_deadline = GC_NEVER;
  beck_free(g->protocol_name);
  g->protocol_name = protocol;
  for (gc_member_t *m = g->members; m; m = m->next)
    m->pending_sync = false;
  if (g->nmembers == 0) {
    g->state = GC_EMPTY;
    g->empty_since_wall = beck__gc_wall_ms(gc);
    beck__gc_save(gc, g);
    beck__gc_log(g, BECK_LOG_INFO, "group is now empty with generation %d", g->generation);
    return;
  }
  g->state = GC_COMPLETING_REBALANCE;
  beck__gc_save(gc, g);
  beck__gc_log(g, BECK_LOG_INFO, "stabilized group with generation %d (protocol %s, %d members, leader %s)",
               g->generation, g->protocol_name, g->nmembers, g->leader->id);
  for (gc_member_t *m = g->members; m; m = m->next) {
    if (m->join_call)
      beck__gc_answer_join_current(gc, g, m, m->join_call);
    m->joined = false;
    m->is_new = false;
    m->pending_sync = true;
    beck__gc_touch(m, now_ms);
  }
  g->njoined = 0;
  g->sync_deadline = now_ms + rebalance_timeout(g);
}

void beck__gc_try_complete_join(beck_gc_t *gc, gc_group_t *g, int64_t now_ms) {
  if (g->state == GC_PREPARING_REBALANCE && !g->initial_delay && g->njoined == g->nmembers && g->npending == 0)
    complete_join(gc, g, now_ms);
}

beck_err_t beck__gc_add_member(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, const char *protocol_type, gc_call_t *call,
                               int64_t now_ms) {
  if (g->nmembers == 0) {
    char *t = beck_strdup(protocol_type);
    if (t == NULL)
      return BECK_ERR_NOMEM;
    beck_free(g->protocol_type);
    g->protocol_type = t;
  }
  m->is_new = true;
  if (g->state == GC_PREPARING_REBALANCE && g->generation == 0)
    g->new_member_added = true;
  gc_member_t **tail = &g->members;
  while (*tail)
    tail = &(*tail)->next;
  *tail = m;
  m->next = NULL;
  g->nmembers++;
  if (g->leader == NULL)
    g->leader = m;
  m->joined = true;
  g->njoined++;
  beck__gc_park(gc, call, &m->join_call);
  beck__gc_remove_pending(gc, g, m->id);
  m->hb_deadline = now_ms + GC_NEW_MEMBER_JOIN_TIMEOUT_MS;
  beck__gc_log(g, BECK_LOG_INFO, "adding new member %s", m->id);
  beck__gc_maybe_prepare_rebalance(gc, g, now_ms, "adding new member");
  return BECK_ERR_OK;
}

void beck__gc_rejoin(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, gc_call_t *call, int64_t now_ms) {
  if (m->join_call) /* superseded: answer instead of leaving the old request hanging */
    beck__gc_join_error(gc, m->join_call, BECK_KERR_REBALANCE_IN_PROGRESS, m->id);
  if (!m->joined) {
    m->joined = true;
    g->njoined++;
  }
  beck__gc_park(gc, call, &m->join_call);
  beck__gc_maybe_prepare_rebalance(gc, g, now_ms, "member rejoining");
}

void beck__gc_remove_member_and_update(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, int64_t now_ms) {
  remove_member(gc, g, m);
  switch (g->state) {
  case GC_STABLE:
  case GC_COMPLETING_REBALANCE:
    beck__gc_maybe_prepare_rebalance(gc, g, now_ms, "member left or expired");
    break;
  case GC_PREPARING_REBALANCE:
    beck__gc_try_complete_join(gc, g, now_ms);
    break;
  case GC_EMPTY:
  case GC_DEAD:
    break;
  }
}

/* ---- the sync phase ---- */

void beck__gc_sync_done(gc_group_t *g, gc_member_t *m) {
  m->pending_sync = false;
  for (gc_member_t *x = g->members; x; x = x->next)
    if (x->pending_sync)
      return;
  g->sync_deadline = GC_NEVER;
}

void beck__gc_set_assignment(beck_gc_t *gc, gc_group_t *g, const beck_gc_sync_req_t *req, int64_t now_ms) {
  assert(g->state == GC_COMPLETING_REBALANCE);
  /* Copy everything first so that running out of memory changes nothing. */
  uint8_t **copies = beck_calloc((size_t)g->nmembers, sizeof *copies);
  size_t *lens = beck_calloc((size_t)g->nmembers, sizeof *lens);
  bool ok = copies && lens;
  int i = 0, missing = 0;
  for (gc_member_t *m = g->members; ok && m; m = m->next, i++) {
    const beck_gc_assignment_t *a = NULL;
    for (int j = 0; j < req->nassignments; j++)
      if (req->assignments[j].member_id && strcmp(req->assignments[j].member_id, m->id) == 0)
        a = &req->assignments[j]; /* the last one wins, as in a map */
    if (a == NULL) {
      missing++;
      continue;
    }
    lens[i] = a->assignment.len;
    if (lens[i] && (copies[i] = beck_malloc(lens[i])) == NULL)
      ok = false;
    else if (lens[i])
      memcpy(copies[i], a->assignment.ptr, lens[i]);
  }
  if (!ok) {
    for (int k = 0; copies && k < g->nmembers; k++)
      beck_free(copies[k]);
    beck_free(copies);
    beck_free(lens);
    reset_and_propagate_assignment_error(gc, g, BECK_KERR_COORDINATOR_NOT_AVAILABLE, now_ms);
    beck__gc_maybe_prepare_rebalance(gc, g, now_ms, "out of memory storing the assignment");
    return;
  }
  if (missing)
    beck__gc_log(g, BECK_LOG_WARN, "leader %s sent no assignment for %d of %d members; they get an empty one",
                 req->member_id, missing, g->nmembers);
  i = 0;
  for (gc_member_t *m = g->members; m; m = m->next, i++) {
    beck_free(m->assignment);
    m->assignment = copies[i];
    m->assignment_len = lens[i];
  }
  beck_free(copies);
  beck_free(lens);
  propagate_assignment(gc, g, BECK_KERR_NONE, now_ms);
  g->state = GC_STABLE;
  beck__gc_log(g, BECK_LOG_INFO, "assignment received from leader %s for generation %d; group is stable",
               req->member_id, g->generation);
}

/* ---- timers ---- */

static gc_member_t *first_expired(gc_group_t *g, int64_t now_ms) {
  for (gc_member_t *m = g->members; m; m = m->next) {
    if (m->hb_deadline > now_ms)
      continue;
    /* Members waiting in a join or sync phase satisfy the heartbeat (not new
     * ones: they get GC_NEW_MEMBER_JOIN_TIMEOUT_MS). */
    if (!m->is_new && (m->joined || m->awaiting_sync)) {
      m->hb_deadline = GC_NEVER;
      continue;
    }
    return m;
  }
  return NULL;
}

void beck__gc_expire(beck_gc_t *gc, gc_group_t *g, int64_t now_ms) {
  for (gc_pending_t *p = g->pending, *next; p; p = next) {
    next = p->next;
    if (p->deadline <= now_ms) {
      beck__gc_log(g, BECK_LOG_INFO, "pending member %s expired before joining", p->id);
      beck__gc_remove_pending(gc, g, p->id);
      beck__gc_try_complete_join(gc, g, now_ms);
    }
  }
  gc_member_t *m;
  while ((m = first_expired(g, now_ms)) != NULL) {
    beck__gc_log(g, BECK_LOG_INFO, "member %s session expired, removing it", m->id);
    beck__gc_remove_member_and_update(gc, g, m, now_ms);
  }
  while (g->state == GC_PREPARING_REBALANCE && now_ms >= g->join_deadline) {
    if (g->initial_delay && g->new_member_added && g->remaining_ms != 0) {
      /* InitialDelayedJoin.onComplete: members keep arriving, wait again. */
      int32_t delay =
          gc->cfg.initial_rebalance_delay_ms < g->remaining_ms ? gc->cfg.initial_rebalance_delay_ms : g->remaining_ms;
      g->remaining_ms = g->remaining_ms > g->delay_ms ? g->remaining_ms - g->delay_ms : 0;
      g->delay_ms = delay;
      g->new_member_added = false;
      g->join_deadline += delay; /* from when the delay ended, however late this tick runs */
    } else {
      complete_join(gc, g, now_ms);
    }
  }
  if ((g->state == GC_COMPLETING_REBALANCE || g->state == GC_STABLE) && now_ms >= g->sync_deadline) {
    /* onExpirePendingSync: members that got a JoinGroup answer never synced. */
    g->sync_deadline = GC_NEVER;
    int removed = 0;
    for (gc_member_t *x = g->members, *next; x; x = next) {
      next = x->next;
      if (x->pending_sync) {
        beck__gc_log(g, BECK_LOG_INFO, "member %s did not sync within the rebalance timeout, removing it", x->id);
        remove_member(gc, g, x);
        removed++;
      }
    }
    if (removed)
      beck__gc_maybe_prepare_rebalance(gc, g, now_ms, "members did not sync in time");
  }
  beck__gc_check(g);
}

void beck__gc_check(const gc_group_t *g) {
#ifndef NDEBUG
  int n = 0, joined = 0;
  bool leader_found = false;
  for (const gc_member_t *m = g->members; m; m = m->next) {
    n++;
    joined += m->joined;
    leader_found |= m == g->leader;
    assert(!m->joined || g->state == GC_PREPARING_REBALANCE);
    assert(m->join_call == NULL || m->joined);
    assert(m->sync_call == NULL || m->awaiting_sync);
    assert(!m->awaiting_sync || g->state == GC_COMPLETING_REBALANCE);
  }
  int np = 0;
  for (const gc_pending_t *p = g->pending; p; p = p->next)
    np++;
  assert(n == g->nmembers && joined == g->njoined && np == g->npending);
  assert(leader_found == (n > 0) && (n > 0 || g->leader == NULL));
  assert(g->state != GC_EMPTY || n == 0);
#else
  (void)g;
#endif
}
