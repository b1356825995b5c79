/*
 * group.h - the consumer-group coordinator (Kafka's classic group protocol).
 *
 * Pure logic: no sockets, no event loop, no protocol structs. The broker
 * decodes JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
 * OffsetFetch, ListGroups, DescribeGroups and DeleteGroups into calls on this
 * API and encodes the results. Time is passed in (`now_ms`, any monotonic
 * millisecond clock, the same one for every call) and the broker calls
 * beck_gc_tick() every ~100 ms, so tests drive time deterministically.
 *
 * Semantics follow Kafka's GroupCoordinator.scala (3.6) as summarised in
 * docs reference kafka-protocol.md section 5.2; group_int.h has the state
 * diagram and the deviations.
 *
 * Durability: committed offsets and one record per group (protocol type,
 * generation, protocol, state) live in the metadata store (core/meta). The
 * coordinator loads them in beck_gc_new() and writes through before it
 * answers an OffsetCommit or DeleteGroups. Members are not persisted: after a
 * restart every group is Empty at its last generation, and old member ids
 * get UNKNOWN_MEMBER_ID (clients then rejoin as new members).
 *
 * Errors: results carry Kafka wire error codes (beck_kerr_t values from
 * proto/kerr.h in int16_t, 0 = none); only beck_gc_new() returns a local
 * beck_err_t.
 *
 * Ownership: every string and byte array passed in is borrowed for the call
 * and copied if kept. Strings are NUL-terminated and non-NULL unless a field
 * says otherwise (nullable Kafka strings are NULL when absent). Results
 * passed to callbacks are borrowed for the callback only. Pointers returned
 * by beck_gc_offset_get() stay valid until the next call that changes the
 * coordinator.
 *
 * Callbacks: beck_gc_join() and beck_gc_sync() call their callback exactly
 * once, either before they return (errors, immediate answers) or later from
 * another call on the coordinator (a join, leave, tick, ...), unless
 * beck_gc_cancel() removes it first. Any call may run callbacks of other
 * parked requests before it returns; callbacks run after the coordinator's
 * state is consistent, so a callback may call into the coordinator again
 * (except beck_gc_destroy()).
 *
 * Threading: not thread-safe. One thread (the broker loop) owns a beck_gc_t.
 */
#ifndef BECK_GROUP_GROUP_H
#define BECK_GROUP_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/env.h"
#include "base/err.h"
#include "meta/meta.h"
#include "proto/kerr.h"

typedef struct beck_gc beck_gc_t;

typedef struct beck_gc_config {
  int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms, 6000 */
  int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms, 1800000 */
  int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms, 3000; 0 = none */
  int64_t offsets_retention_ms;       /* offsets.retention.minutes, 7 days */
  int64_t offsets_retention_check_ms; /* offsets.retention.check.interval.ms, 600000 */
  int32_t offset_metadata_max_bytes;  /* offset.metadata.max.bytes, 4096 */
  /* Wall clock for commit timestamps and retention (they are persisted, so
   * they cannot use the monotonic now_ms) and randomness for member ids.
   * NULL = beck_env_default(). Borrowed; must outlive the coordinator. */
  beck_env_t *env;
} beck_gc_config_t;

/* Fills cfg with the defaults above. */
void beck_gc_config_init(beck_gc_config_t *cfg);

/* Creates a coordinator over an open metadata store (borrowed; must outlive
 * the coordinator) and loads every group record and committed offset from it.
 * cfg may be NULL for the defaults; it is copied. now_ms starts the clocks. */
beck_err_t beck_gc_new(beck_meta_t *meta, const beck_gc_config_t *cfg, int64_t now_ms, beck_gc_t **out,
                       beck_error_t *e);
/* Frees the coordinator. Parked callbacks are dropped without being called:
 * the owner finishes or cancels the requests they belong to. Never call from
 * inside a coordinator callback. NULL is a no-op. */
void beck_gc_destroy(beck_gc_t *gc);

/* Periodic work, every ~100 ms: expires member sessions and KIP-394 pending
 * members, ends join phases at their (initial) rebalance delay or timeout,
 * removes members that never synced, and expires offsets of groups empty
 * longer than the retention. May run parked callbacks. */
void beck_gc_tick(beck_gc_t *gc, int64_t now_ms);

/* Removes every parked JoinGroup/SyncGroup callback registered with cb_arg
 * (the broker calls this when a client connection closes). The members stay:
 * they complete the phase they joined and then time out like any member that
 * stops heartbeating. Returns how many callbacks were removed. */
int beck_gc_cancel(beck_gc_t *gc, void *cb_arg);

/* ---- JoinGroup ---------------------------------------------------------- */

typedef struct beck_gc_protocol {
  const char *name;
  beck_slice_t metadata;
} beck_gc_protocol_t;

typedef struct beck_gc_join_req {
  const char *group_id;
  const char *member_id;         /* "" (or NULL) for a new member */
  const char *group_instance_id; /* NULL: dynamic member (KIP-345 static otherwise) */
  const char *client_id;         /* NULL is taken as "" */
  const char *client_host;       /* NULL is taken as "" */
  int32_t session_timeout_ms;
  int32_t rebalance_timeout_ms; /* < 0 (JoinGroup v0): the session timeout is used */
  const char *protocol_type;
  const beck_gc_protocol_t *protocols;
  int nprotocols;
  int16_t api_version; /* >= 4 enables KIP-394 (MEMBER_ID_REQUIRED) */
} beck_gc_join_req_t;

typedef struct beck_gc_member_meta {
  const char *member_id;
  const char *group_instance_id; /* NULL for dynamic members; never encode it below v5 */
  beck_slice_t metadata;         /* of the chosen protocol */
} beck_gc_member_meta_t;

typedef struct beck_gc_join_result {
  int16_t error;
  int32_t generation_id;                /* -1 on error */
  const char *protocol_type;            /* NULL on error */
  const char *protocol_name;            /* NULL on error */
  const char *leader_id;                /* "" on error */
  const char *member_id;                /* the member's id: the generated one for a new member (also with 79) */
  const beck_gc_member_meta_t *members; /* only for the leader, else NULL */
  int nmembers;
} beck_gc_join_result_t;

typedef void (*beck_gc_join_cb)(void *arg, const beck_gc_join_result_t *res);

/* JoinGroup. cb runs when the join phase completes, or at once on error and
 * for immediate answers (MEMBER_ID_REQUIRED, a follower rejoining a Stable
 * group with unchanged metadata). A second JoinGroup from a member whose
 * first one is still parked answers the first with REBALANCE_IN_PROGRESS. */
void beck_gc_join(beck_gc_t *gc, const beck_gc_join_req_t *req, int64_t now_ms, beck_gc_join_cb cb, void *cb_arg);

/* ---- SyncGroup ---------------------------------------------------------- */

typedef struct beck_gc_assignment {
  const char *member_id;
  beck_slice_t assignment;
} beck_gc_assignment_t;

typedef struct beck_gc_sync_req {
  const char *group_id;
  int32_t generation_id;
  const char *member_id;
  const char *group_instance_id;           /* NULL when absent */
  const char *protocol_type;               /* v5+: checked when not NULL */
  const char *protocol_name;               /* v5+: checked when not NULL */
  const beck_gc_assignment_t *assignments; /* the leader's; followers send none */
  int nassignments;
} beck_gc_sync_req_t;

typedef struct beck_gc_sync_result {
  int16_t error;
  const char *protocol_type; /* NULL on error */
  const char *protocol_name; /* NULL on error */
  beck_slice_t assignment;   /* the member's bytes; empty on error or when the leader gave none */
} beck_gc_sync_result_t;

typedef void (*beck_gc_sync_cb)(void *arg, const beck_gc_sync_result_t *res);

/* SyncGroup. In CompletingRebalance the answer waits for the leader's
 * assignment; in Stable and on error cb runs before the call returns. */
void beck_gc_sync(beck_gc_t *gc, const beck_gc_sync_req_t *req, int64_t now_ms, beck_gc_sync_cb cb, void *cb_arg);

/* ---- Heartbeat, LeaveGroup ---------------------------------------------- */

/* Heartbeat: 0, 22, 24, 25, 27 (rebalance: rejoin), 82. Resets the session timer. */
int16_t beck_gc_heartbeat(beck_gc_t *gc, const char *group_id, int32_t generation_id, const char *member_id,
                          const char *group_instance_id, int64_t now_ms);

typedef struct beck_gc_member_id {
  const char *member_id;         /* "" with an instance id: remove that static member */
  const char *group_instance_id; /* NULL when absent */
} beck_gc_member_id_t;

/* LeaveGroup for n members (v0-2: n = 1). Writes each member's error to
 * member_errors[i] and returns the top-level error (0 or 24). For v0-2 the
 * broker answers member_errors[0] when the top-level error is 0. */
int16_t beck_gc_leave(beck_gc_t *gc, const char *group_id, const beck_gc_member_id_t *members, int n,
                      int16_t *member_errors, int64_t now_ms);

/* ---- Offsets ------------------------------------------------------------ */

typedef struct beck_gc_offset_commit {
  const char *topic;
  int32_t partition;
  int64_t offset;
  int32_t leader_epoch; /* -1 when unknown (OffsetCommit < v6) */
  const char *metadata; /* NULL is stored as "" */
} beck_gc_offset_commit_t;

/* OffsetCommit. generation_id -1 with member_id "" is a "simple" commit,
 * allowed when the group is Empty or unknown (then an Empty group is
 * created). Returns the group-level error (also written to every entry of
 * errors); when it is 0, errors[i] is 0, 12 (metadata too large) or 15 (the
 * store failed). Offsets answered 0 are on disk. The broker checks that the
 * topics and partitions exist before calling. */
int16_t beck_gc_commit(beck_gc_t *gc, const char *group_id, int32_t generation_id, const char *member_id,
                       const char *group_instance_id, const beck_gc_offset_commit_t *offsets, int n, int16_t *errors,
                       int64_t now_ms);

typedef struct beck_gc_offset {
  const char *topic;
  int32_t partition;
  int64_t offset;
  int32_t leader_epoch;
  const char *metadata; /* never NULL */
  int64_t commit_ms;    /* wall clock */
} beck_gc_offset_t;

/* OffsetFetch for one partition. Returns whether an offset is committed; if
 * not, *offset = -1, *leader_epoch = -1, *metadata = "". An unknown group is
 * not an error. Out pointers may be NULL; *metadata is borrowed (see top). */
bool beck_gc_offset_get(beck_gc_t *gc, const char *group_id, const char *topic, int32_t partition, int64_t *offset,
                        int32_t *leader_epoch, const char **metadata);

/* OffsetFetch with null topics: calls cb for every committed offset of the
 * group, ordered by topic then partition, until cb returns non-zero. The
 * struct is borrowed for the call; cb must not change the coordinator. */
void beck_gc_offsets_foreach(beck_gc_t *gc, const char *group_id, int (*cb)(void *arg, const beck_gc_offset_t *o),
                             void *arg);

/* Forgets the committed offsets of a deleted topic in every group (memory
 * only: beck_meta_topic_delete() removes the stored rows). */
void beck_gc_delete_topic_offsets(beck_gc_t *gc, const char *topic);

/* ---- Admin: ListGroups, DescribeGroups, DeleteGroups --------------------- */

typedef struct beck_gc_group_info {
  const char *group_id;
  const char *protocol_type; /* "" when none */
  const char *state;         /* "Empty", "PreparingRebalance", "CompletingRebalance", "Stable" */
} beck_gc_group_info_t;

/* Calls cb for every group in group id order until cb returns non-zero. The
 * struct is borrowed for the call; cb must not change the coordinator. */
void beck_gc_list(beck_gc_t *gc, int (*cb)(void *arg, const beck_gc_group_info_t *g), void *arg);

typedef struct beck_gc_member_desc {
  const char *member_id;
  const char *group_instance_id; /* NULL for dynamic members */
  const char *client_id;
  const char *client_host;
  beck_slice_t metadata;   /* chosen protocol's; empty unless Stable (as Kafka) */
  beck_slice_t assignment; /* empty unless Stable */
} beck_gc_member_desc_t;

typedef struct beck_gc_group_desc {
  int16_t error; /* 0; 24 for an empty group id */
  const char *group_id;
  const char *state;         /* "Dead" for an unknown group */
  const char *protocol_type; /* "" when none */
  const char *protocol;      /* chosen protocol when Stable, else "" */
  const beck_gc_member_desc_t *members;
  int nmembers;
} beck_gc_group_desc_t;

/* DescribeGroups for one group: calls cb once with the description (borrowed
 * for the call; cb must not change the coordinator). Returns its error. */
int16_t beck_gc_describe(beck_gc_t *gc, const char *group_id, void (*cb)(void *arg, const beck_gc_group_desc_t *d),
                         void *arg);

/* DeleteGroups for one group: 0 (group and offsets removed from memory and
 * disk), 68 NON_EMPTY_GROUP unless Empty, 69 GROUP_ID_NOT_FOUND, 15 if the
 * store failed. */
int16_t beck_gc_delete_group(beck_gc_t *gc, const char *group_id, int64_t now_ms);

/* "Empty", "PreparingRebalance", ... for a group, "Dead" when unknown. */
const char *beck_gc_group_state(beck_gc_t *gc, const char *group_id);

#endif
