/*
 * meta.h - the broker's durable metadata store (sqlite3, WAL mode).
 *
 * Holds what is not record data: topics (id, partition count), topic configs,
 * committed consumer-group offsets, group records, and the producer-id
 * counter. Every write is one transaction with synchronous=FULL, so a change
 * the broker has answered survives kill -9 and power loss.
 *
 * Schema (version 1):
 *   topics(name PK, topic_id BLOB(16), partitions, created_ms)
 *   topic_configs(topic, key, value, PK(topic, key))
 *   group_offsets(group_id, topic, partition, offset, leader_epoch, metadata, commit_ms, PK(group_id, topic, partition))
 *   groups(group_id PK, protocol_type, generation, protocol, state)
 *   counters(name PK, value)           -- "producer_id"
 *
 * Not thread-safe: one thread (the broker loop) owns a beck_meta_t.
 */
#ifndef BECK_META_META_H
#define BECK_META_META_H

#include <stdint.h>

#include "base/err.h"

typedef struct beck_meta beck_meta_t;

/* Opens or creates the store at path. */
beck_err_t beck_meta_open(const char *path, beck_meta_t **out, beck_error_t *e);
void beck_meta_close(beck_meta_t *m);

typedef struct beck_meta_topic {
  const char *name;
  uint8_t topic_id[16];
  int32_t partitions;
  int64_t created_ms;
} beck_meta_topic_t;

/* Creates a topic; BECK_ERR_EXISTS if present. configs is n key/value pairs
 * (keys[i], values[i]), stored in the same transaction. */
beck_err_t beck_meta_topic_create(beck_meta_t *m, const beck_meta_topic_t *t, const char *const *keys,
                                  const char *const *values, int n, beck_error_t *e);
/* Deletes a topic, its configs and committed offsets for it. */
beck_err_t beck_meta_topic_delete(beck_meta_t *m, const char *name, beck_error_t *e);
beck_err_t beck_meta_topic_set_partitions(beck_meta_t *m, const char *name, int32_t partitions, beck_error_t *e);
/* Calls cb for each topic in name order; the struct is borrowed for the call. */
beck_err_t beck_meta_topic_foreach(beck_meta_t *m, int (*cb)(void *arg, const beck_meta_topic_t *t), void *arg,
                                   beck_error_t *e);

/* Sets (value != NULL) or removes (value == NULL) one topic config. */
beck_err_t beck_meta_config_set(beck_meta_t *m, const char *topic, const char *key, const char *value, beck_error_t *e);
/* Replaces all configs of a topic in one transaction. */
beck_err_t beck_meta_config_replace(beck_meta_t *m, const char *topic, const char *const *keys,
                                    const char *const *values, int n, beck_error_t *e);
beck_err_t beck_meta_config_foreach(beck_meta_t *m, const char *topic,
                                    int (*cb)(void *arg, const char *key, const char *value), void *arg,
                                    beck_error_t *e);

typedef struct beck_meta_offset {
  const char *group_id;
  const char *topic;
  int32_t partition;
  int64_t offset;
  int32_t leader_epoch;
  const char *metadata; /* may be NULL */
  int64_t commit_ms;
} beck_meta_offset_t;

/* Stores n offsets in one transaction. */
beck_err_t beck_meta_offsets_commit(beck_meta_t *m, const beck_meta_offset_t *offs, int n, beck_error_t *e);
/* Calls cb for every committed offset of a group (all groups when group_id is NULL). */
beck_err_t beck_meta_offsets_foreach(beck_meta_t *m, const char *group_id,
                                     int (*cb)(void *arg, const beck_meta_offset_t *o), void *arg, beck_error_t *e);
beck_err_t beck_meta_offsets_delete_group(beck_meta_t *m, const char *group_id, beck_error_t *e);

typedef struct beck_meta_group {
  const char *group_id;
  const char *protocol_type;
  int32_t generation;
  const char *protocol;
  const char *state;
} beck_meta_group_t;

beck_err_t beck_meta_group_save(beck_meta_t *m, const beck_meta_group_t *g, beck_error_t *e);
beck_err_t beck_meta_group_delete(beck_meta_t *m, const char *group_id, beck_error_t *e);
beck_err_t beck_meta_group_foreach(beck_meta_t *m, int (*cb)(void *arg, const beck_meta_group_t *g), void *arg,
                                   beck_error_t *e);

/* Allocates the next value of a durable counter (starting at 0), e.g. producer ids.
 * The new value is on disk before it is returned. */
beck_err_t beck_meta_counter_next(beck_meta_t *m, const char *name, int64_t *out, beck_error_t *e);

#endif
