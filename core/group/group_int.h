/*
 * group_int.h - private to core/group: the coordinator, group, member and
 * parked-call objects shared by the handler files.
 *
 * Group states (Kafka classic protocol, GroupCoordinator.scala 3.6):
 *
 *                 first member joins
 *     +-------+  (initial delay 3 s,       +--------------------+
 *     | Empty | ------------------------>  | PreparingRebalance | <----------+
 *     +-------+   extended while members   +--------------------+            |
 *        ^  ^     arrive, capped by the        |  all known members joined,  |
 *        |  |     rebalance timeout)           |  or rebalance timeout       |
 *        |  |                                  |  (absent members removed)   |
 *        |  +---- join phase ends with --------+                             |
 *        |        no member (generation+1)     v  generation+1, leader gets  |
 *        |                             +---------------------+  the members  |
 *  DeleteGroups (only                  | CompletingRebalance | --------------+
 *  when Empty) -> Dead                 +---------------------+  member joins |
 *  and forgotten                           |  leader's SyncGroup              |  /leaves/expires,
 *                                          v  (assignments handed out)        |  leader rejoins,
 *                                      +--------+                             |  metadata changes,
 *                                      | Stable | ----------------------------+  sync timeout
 *                                      +--------+
 *
 * Invariants (asserted in beck__gc_check()):
 *  - g->njoined == number of members with m->joined; joined members exist
 *    only in PreparingRebalance.
 *  - g->leader is NULL iff the group has no members.
 *  - A parked call sits in exactly one member slot (join_call / sync_call)
 *    and on gc->parked; an answered call sits on gc->ready until it runs.
 *  - Every parked call is answered exactly once or cancelled: removing a
 *    member answers its parked calls with UNKNOWN_MEMBER_ID.
 *
 * Timers are deadlines checked by beck_gc_tick(): a member's session
 * (hb_deadline), a pending KIP-394 member's expiry, the join phase
 * (join_deadline, with Kafka's InitialDelayedJoin arithmetic for groups that
 * were Empty) and the sync phase (sync_deadline: members that got a
 * JoinGroup answer must SyncGroup within the rebalance timeout).
 *
 * Deviations from Kafka (see also group.h):
 *  - Members are not persisted (groups restart Empty at their generation).
 *  - Static members (GroupInstanceId) that do not rejoin within a rebalance
 *    are removed like dynamic ones; a static member restarting with the same
 *    instance id replaces its old member id (the old id gets 82) without a
 *    rebalance when the group is Stable and its metadata is unchanged.
 *  - A parked JoinGroup/SyncGroup superseded by a newer one from the same
 *    member is answered with 27 instead of being dropped, so the client's
 *    connection never stalls behind a response that will never come.
 *  - Offsets of an Empty group expire together: retention after the group
 *    emptied (consumer groups; after a restart, counted from the restart),
 *    or after the newest commit (groups without a protocol type). Kafka can
 *    expire single partitions; the metadata store only deletes per group.
 */
#ifndef BECK_GROUP_GROUP_INT_H
#define BECK_GROUP_GROUP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "group/group.h"

#define GC_NEVER INT64_MAX
/* Kafka's NewMemberJoinTimeoutMs: a new member waiting in a join phase is
 * dropped after this long (its client likely went away). */
#define GC_NEW_MEMBER_JOIN_TIMEOUT_MS 300000

typedef enum {
  GC_EMPTY,
  GC_PREPARING_REBALANCE,
  GC_COMPLETING_REBALANCE,
  GC_STABLE,
  GC_DEAD,
} gc_state_t;

typedef enum { GC_CALL_JOIN, GC_CALL_SYNC } gc_call_kind_t;

/* One JoinGroup or SyncGroup callback, from the request until it runs. */
typedef struct gc_call gc_call_t;
struct gc_call {
  gc_call_t *prev, *next; /* on gc->parked or gc->ready */
  bool parked;
  gc_call_t **slot; /* the member field pointing here while parked */
  gc_call_kind_t kind;
  beck_gc_join_cb join_cb;
  beck_gc_sync_cb sync_cb;
  void *arg;
  beck_gc_join_result_t join; /* filled when answered; points into data */
  beck_gc_sync_result_t sync;
  void *data; /* owned copy of the result's strings and bytes */
};

typedef struct gc_protocol {
  const char *name; /* points into the member's protocol block */
  const uint8_t *metadata;
  size_t len;
} gc_protocol_t;

typedef struct gc_member gc_member_t;
struct gc_member {
  gc_member_t *next; /* join order */
  char *id;
  char *instance_id; /* NULL for dynamic members */
  char *client_id;
  char *client_host;
  int32_t session_timeout_ms;
  int32_t rebalance_timeout_ms;
  gc_protocol_t *protocols; /* one allocation with names and metadata */
  int nprotocols;
  uint8_t *assignment;
  size_t assignment_len;
  bool is_new;        /* added in the current join phase */
  bool joined;        /* has sent JoinGroup in the current PreparingRebalance */
  bool awaiting_sync; /* has sent SyncGroup in CompletingRebalance */
  bool pending_sync;  /* got a JoinGroup answer, has not synced yet */
  int64_t hb_deadline;
  gc_call_t *join_call;
  gc_call_t *sync_call;
};

typedef struct gc_pending gc_pending_t;
struct gc_pending {
  gc_pending_t *next;
  int64_t deadline;
  char id[];
};

typedef struct gc_offset {
  int32_t partition;
  int32_t leader_epoch;
  int64_t offset;
  int64_t commit_ms;
  char *metadata; /* never NULL */
} gc_offset_t;

typedef struct gc_topic {
  char *name;
  gc_offset_t *parts; /* sorted by partition */
  int n, cap;
  int reserve; /* scratch for beck_gc_commit */
} gc_topic_t;

typedef struct gc_group {
  char *id;
  gc_state_t state;
  int32_t generation;
  char *protocol_type; /* NULL until a member joins or a record says so */
  char *protocol_name; /* NULL unless CompletingRebalance or Stable */
  gc_member_t *members;
  int nmembers;
  int njoined;
  gc_member_t *leader;
  gc_pending_t *pending;
  int npending;
  /* join phase (PreparingRebalance) */
  int64_t join_deadline;
  bool initial_delay; /* Kafka's InitialDelayedJoin: no early completion */
  bool new_member_added;
  int32_t delay_ms, remaining_ms;
  /* sync phase */
  int64_t sync_deadline;
  /* offsets, sorted by topic name */
  gc_topic_t *topics;
  int ntopics, captopics;
  int64_t empty_since_wall; /* wall clock when the group last became Empty */
} gc_group_t;

struct beck_gc {
  beck_meta_t *meta;
  beck_gc_config_t cfg;
  beck_env_t *env;
  gc_group_t **groups; /* sorted by id */
  int ngroups, capgroups;
  gc_call_t *parked;
  gc_call_t *ready, *ready_tail;
  bool draining;
  int depth;
  int64_t last_retention_check;
};

/* ---- coordinator.c ---- */

/* Every public entry point brackets its work with enter/leave; leave runs
 * the answered callbacks once the outermost call is done. */
void beck__gc_enter(beck_gc_t *gc);
void beck__gc_leave(beck_gc_t *gc);

gc_group_t *beck__gc_find(beck_gc_t *gc, const char *group_id);
/* Creates an Empty group (generation 0); NULL on OOM. */
gc_group_t *beck__gc_create(beck_gc_t *gc, const char *group_id);
/* Forgets a group (memory only); it must have no members. */
void beck__gc_remove_group(beck_gc_t *gc, gc_group_t *g);
/* Removes a group created for a request that then failed, if it holds nothing. */
void beck__gc_drop_if_unused(beck_gc_t *gc, gc_group_t *g);
int64_t beck__gc_wall_ms(beck_gc_t *gc);
/* "<prefix>-<uuid4>", malloc'd; NULL on OOM. */
char *beck__gc_member_id(beck_gc_t *gc, const char *prefix);
/* Writes the group record; logs a failure (it only restores the generation). */
void beck__gc_save(beck_gc_t *gc, gc_group_t *g);
const char *beck__gc_state_name(gc_state_t s);
void beck__gc_log(const gc_group_t *g, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

gc_call_t *beck__gc_call_new(gc_call_kind_t kind, beck_gc_join_cb jcb, beck_gc_sync_cb scb, void *arg);
/* Parks call in *slot (which must be empty). */
void beck__gc_park(beck_gc_t *gc, gc_call_t *call, gc_call_t **slot);
/* Answers a call (parked or not): copies the result and queues it to run. */
void beck__gc_answer_join(beck_gc_t *gc, gc_call_t *call, const beck_gc_join_result_t *res);
void beck__gc_answer_sync(beck_gc_t *gc, gc_call_t *call, const beck_gc_sync_result_t *res);
void beck__gc_join_error(beck_gc_t *gc, gc_call_t *call, int16_t error, const char *member_id);
void beck__gc_sync_error(beck_gc_t *gc, gc_call_t *call, int16_t error);

/* ---- rebalance.c: the group state machine ---- */

gc_member_t *beck__gc_member(const gc_group_t *g, const char *member_id);
gc_member_t *beck__gc_static_member(const gc_group_t *g, const char *instance_id);
bool beck__gc_is_pending(const gc_group_t *g, const char *member_id);
/* Records a KIP-394 pending member id until deadline. */
beck_err_t beck__gc_add_pending(gc_group_t *g, const char *member_id, int64_t deadline);
void beck__gc_remove_pending(beck_gc_t *gc, gc_group_t *g, const char *member_id);
/* Kafka's validateCurrentMember: 0, 25 or 82. */
int16_t beck__gc_validate_member(const gc_group_t *g, const char *member_id, const char *instance_id);
/* Whether a member with this protocol type and these protocols may join. */
bool beck__gc_supports(const gc_group_t *g, const char *protocol_type, const beck_gc_protocol_t *p, int n);
bool beck__gc_matches(const gc_member_t *m, const beck_gc_protocol_t *p, int n);
/* Copies protocols into m (replacing the old ones); BECK_ERR_NOMEM leaves m unchanged. */
beck_err_t beck__gc_set_protocols(gc_member_t *m, const beck_gc_protocol_t *p, int n);
gc_member_t *beck__gc_member_new(const char *id, const beck_gc_join_req_t *req, int32_t rebalance_timeout_ms);
void beck__gc_member_free(gc_member_t *m);
/* Adds a member that has just joined (Kafka's addMemberAndRebalance) and
 * takes ownership of it; BECK_ERR_NOMEM leaves the group unchanged. */
beck_err_t beck__gc_add_member(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, const char *protocol_type, gc_call_t *call,
                               int64_t now_ms);
/* Parks a new JoinGroup of an existing member and rebalances (updateMemberAndRebalance). */
void beck__gc_rejoin(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, gc_call_t *call, int64_t now_ms);
/* Removes a member, answering its parked calls with 25, and reacts (removeMemberAndUpdateGroup). */
void beck__gc_remove_member_and_update(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, int64_t now_ms);
void beck__gc_maybe_prepare_rebalance(beck_gc_t *gc, gc_group_t *g, int64_t now_ms, const char *reason);
/* Completes the join phase if every known member has joined. */
void beck__gc_try_complete_join(beck_gc_t *gc, gc_group_t *g, int64_t now_ms);
/* The JoinGroup answer for m with the group's current generation. */
void beck__gc_answer_join_current(beck_gc_t *gc, gc_group_t *g, gc_member_t *m, gc_call_t *call);
/* The leader's SyncGroup: stores the assignments and answers every waiting member. */
void beck__gc_set_assignment(beck_gc_t *gc, gc_group_t *g, const beck_gc_sync_req_t *req, int64_t now_ms);
void beck__gc_sync_done(gc_group_t *g, gc_member_t *m);
static inline void beck__gc_touch(gc_member_t *m, int64_t now_ms) { m->hb_deadline = now_ms + m->session_timeout_ms; }
/* Timers of one group (tick). */
void beck__gc_expire(beck_gc_t *gc, gc_group_t *g, int64_t now_ms);
/* Asserts the invariants above (debug builds). */
void beck__gc_check(const gc_group_t *g);

/* ---- offsets.c ---- */

void beck__gc_offsets_free(gc_group_t *g);
/* Expires offsets of Empty groups and forgets Empty groups without offsets. */
void beck__gc_retention(beck_gc_t *gc);
/* Adds a loaded offset (beck_gc_new). */
beck_err_t beck__gc_offset_load(gc_group_t *g, const beck_meta_offset_t *o);

#endif
