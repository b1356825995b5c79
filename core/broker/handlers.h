/*
 * handlers.h - private to core/broker: one function per Kafka API, each in
 * its own handle_<api>.c. A handler receives the decoded request (allocated
 * in req->arena, borrowing from req->frame) and must end the request exactly
 * once: beck__respond() now or later (parked), or beck__req_discard() for a
 * request without response.
 */
#ifndef BECK_BROKER_HANDLERS_H
#define BECK_BROKER_HANDLERS_H

#include "broker/broker_int.h"
#include "proto/proto.h"

#define BECK_HANDLERS(H)                                   \
  H(Produce, beck__handle_produce)                         \
  H(Fetch, beck__handle_fetch)                             \
  H(ListOffsets, beck__handle_list_offsets)                \
  H(Metadata, beck__handle_metadata)                       \
  H(OffsetCommit, beck__handle_offset_commit)              \
  H(OffsetFetch, beck__handle_offset_fetch)                \
  H(FindCoordinator, beck__handle_find_coordinator)        \
  H(JoinGroup, beck__handle_join_group)                    \
  H(Heartbeat, beck__handle_heartbeat)                     \
  H(LeaveGroup, beck__handle_leave_group)                  \
  H(SyncGroup, beck__handle_sync_group)                    \
  H(DescribeGroups, beck__handle_describe_groups)          \
  H(ListGroups, beck__handle_list_groups)                  \
  H(ApiVersions, beck__handle_api_versions)                \
  H(CreateTopics, beck__handle_create_topics)              \
  H(DeleteTopics, beck__handle_delete_topics)              \
  H(DeleteRecords, beck__handle_delete_records)            \
  H(InitProducerId, beck__handle_init_producer_id)         \
  H(DescribeConfigs, beck__handle_describe_configs)        \
  H(AlterConfigs, beck__handle_alter_configs)              \
  H(DescribeLogDirs, beck__handle_describe_log_dirs)       \
  H(CreatePartitions, beck__handle_create_partitions)      \
  H(DeleteGroups, beck__handle_delete_groups)              \
  H(IncrementalAlterConfigs, beck__handle_incremental_alter_configs)

#define BECK_HANDLER_DECL(Name, fn) void fn(beck_broker_t *b, beck_req_t *req, beck_proto_##Name##Request_t *msg);
BECK_HANDLERS(BECK_HANDLER_DECL)
#undef BECK_HANDLER_DECL

/* Copies a wire string into a NUL-terminated arena string ("" for null);
 * NULL on OOM. */
char *beck__arena_cstr(beck_arena_t *a, beck_nstr_t s);
/* An arena-backed beck_nstr_t of a C string (borrowed: s must outlive the response). */
static inline beck_nstr_t beck__nstr(const char *s) {
  beck_nstr_t n = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
  return n;
}
/* Allocates a zeroed array of n items in the request arena. */
#define BECK_ARENA_ARRAY(req, type, n) ((type *)beck_arena_calloc(&(req)->arena, (size_t)((n) > 0 ? (n) : 1), sizeof(type)))

/* Finds a topic, creating it when auto-creation is on (Metadata, Produce).
 * Returns NULL and sets *kerr when it does not exist or cannot be created. */
beck_topic_t *beck__topic_get_or_create(beck_broker_t *b, beck_nstr_t name, bool allow_create, int16_t *kerr);

/* Maps a local error to the Kafka error a client understands. */
int16_t beck__kerr_from_err(beck_err_t err);

/* Partition-level broker state (partition->user): group commit and fetch
 * waiters (durability.c, handle_fetch.c). */
typedef struct beck_bpart beck_bpart_t;
beck_bpart_t *beck__bpart(beck_broker_t *b, beck_partition_t *p);
/* The high watermark consumers may read to: the durable offset under the
 * ALWAYS fsync policy, else the log end. */
int64_t beck__high_watermark(beck_partition_t *p);
/* Called after an append to p: schedules a group-commit fsync when the
 * policy wants one and wakes parked fetches when the watermark moved. */
void beck__partition_appended(beck_broker_t *b, beck_partition_t *p);
/* Waits until offsets < end_offset of p are durable, then calls cb(arg, err)
 * on the loop thread. Calls cb at once when nothing needs syncing. */
typedef void (*beck_durable_cb)(void *arg, int16_t kerr);
void beck__wait_durable(beck_broker_t *b, beck_partition_t *p, int64_t end_offset, beck_durable_cb cb, void *arg);
/* Wakes fetches parked on p (the watermark moved). */
void beck__fetch_wake(beck_broker_t *b, beck_partition_t *p);
/* Answers every fetch parked on p now (the partition is going away). */
void beck__fetch_finish_partition(beck_broker_t *b, beck_partition_t *p);
/* Frees broker state of a partition about to be closed (topic deletion,
 * shutdown). The caller made sure no sync is in flight (beck__bpart_busy). */
void beck__bpart_release(beck_broker_t *b, beck_partition_t *p);
/* True while pool work (an fsync) holds the partition's log. */
bool beck__bpart_busy(beck_partition_t *p);

/* Periodic work (called from the housekeeping timer). */
void beck__durability_tick(beck_broker_t *b, int64_t now_ms);
/* Sets up the loop side of group commit (an async handle); closed with the loop. */
void beck__durability_init(beck_broker_t *b);
void beck__groups_tick(beck_broker_t *b, int64_t now_ms);
/* The group coordinator's life (handle_group.c). */
beck_err_t beck__groups_new(beck_broker_t *b, beck_error_t *e);
void beck__groups_destroy(beck_broker_t *b);
/* The coordinator (groups.c). */
struct beck_gc;
struct beck_gc *beck__gc(beck_broker_t *b);
/* Drops committed offsets of a deleted topic from the coordinator's cache. */
void beck__groups_topic_deleted(beck_broker_t *b, const char *topic);
/* The peer's address without the port, for ClientHost. */
const char *beck__client_host(beck_req_t *req);
/* Cancels coordinator callbacks parked for req (connection closed). */
void beck__groups_cancel(beck_broker_t *b, beck_req_t *req);

#endif
