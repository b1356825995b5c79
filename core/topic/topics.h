/*
 * topics.h - the topic and partition registry over one data directory.
 *
 * Data directory layout:
 *   DATA/meta.db                 the metadata store (core/meta)
 *   DATA/<topic>-<partition>/    one partition log each (core/log)
 *
 * The registry loads topics from the metadata store on open, opens every
 * partition log (running its recovery), and applies topic configs to the
 * logs. Creating, deleting, adding partitions and altering configs write the
 * metadata store first, then change the logs, so a crash in between leaves a
 * state the next open repairs (missing partition dirs are created, dirs of
 * unknown topics are left alone and logged).
 *
 * Threading: the registry is owned by one thread (the broker loop, or the
 * embedded runtime's owner). Partition logs themselves are thread-safe, so a
 * beck_partition_t's log may be synced or read from other threads.
 */
#ifndef BECK_TOPIC_TOPICS_H
#define BECK_TOPIC_TOPICS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/env.h"
#include "base/err.h"
#include "log/plog.h"
#include "meta/meta.h"
#include "topic/pstate.h"
#include "topic/topic_config.h"

typedef struct beck_topics beck_topics_t;
typedef struct beck_topic beck_topic_t;

typedef struct beck_partition {
  beck_topic_t *topic;
  int32_t id;
  beck_plog_t *log;
  beck_pstate_t *pstate;
  void *user; /* owner's per-partition data (the broker's waiters) */
} beck_partition_t;

typedef struct beck_tcfg_entry {
  char *key;
  char *value;
} beck_tcfg_entry_t;

struct beck_topic {
  char *name;
  uint8_t id[16];
  int32_t npartitions;
  beck_partition_t **partitions;
  beck_topic_config_t cfg;
  beck_tcfg_entry_t *overrides; /* configs set on the topic (the rest are defaults) */
  int noverrides;
};

typedef struct beck_topics_options {
  int32_t default_partitions;  /* num.partitions, default 1 */
  bool auto_create;            /* auto.create.topics.enable, default true */
  beck_env_t *env;             /* NULL = beck_env_default() */
  int64_t pstate_window_ms;    /* producer state rebuilt from the last N ms of each log, default 15 min */
} beck_topics_options_t;

void beck_topics_options_default(beck_topics_options_t *o);

/* Opens the registry over data_dir (created if missing). */
beck_err_t beck_topics_open(const char *data_dir, const beck_topics_options_t *opts, beck_topics_t **out,
                            beck_error_t *e);
/* Closes every log cleanly and frees the registry. NULL is ok. */
void beck_topics_close(beck_topics_t *ts);

const beck_topics_options_t *beck_topics_options(const beck_topics_t *ts);
beck_meta_t *beck_topics_meta(beck_topics_t *ts);
const char *beck_topics_data_dir(const beck_topics_t *ts);

beck_topic_t *beck_topics_find(beck_topics_t *ts, const char *name, size_t name_len);
beck_partition_t *beck_topics_partition(beck_topics_t *ts, const char *name, size_t name_len, int32_t partition);

/* Topic count and access by index (name order is not guaranteed). */
int beck_topics_count(const beck_topics_t *ts);
beck_topic_t *beck_topics_at(beck_topics_t *ts, int i);

/* Checks a topic name with Kafka's rules: 1-249 chars of [a-zA-Z0-9._-],
 * not "." or "..". */
beck_err_t beck_topic_name_validate(const char *name, size_t len, beck_error_t *e);

/* Creates a topic with n config overrides (validated first). partitions <= 0
 * means the default. With validate_only nothing is changed. */
beck_err_t beck_topics_create(beck_topics_t *ts, const char *name, int32_t partitions, const char *const *keys,
                              const char *const *values, int n, bool validate_only, beck_topic_t **out,
                              beck_error_t *e);
/* Deletes a topic: metadata, committed offsets, and every partition directory. */
beck_err_t beck_topics_delete(beck_topics_t *ts, const char *name, beck_error_t *e);
/* Raises the partition count to total (must be larger). */
beck_err_t beck_topics_add_partitions(beck_topics_t *ts, const char *name, int32_t total, bool validate_only,
                                      beck_error_t *e);

typedef enum {
  BECK_TCFG_OP_SET = 0,
  BECK_TCFG_OP_DELETE = 1,
} beck_tcfg_op_t;

/* Alters configs. With replace (AlterConfigs) the given set replaces every
 * override; otherwise (IncrementalAlterConfigs) each op sets or deletes one
 * key. Everything is validated before anything changes. */
beck_err_t beck_topics_alter_configs(beck_topics_t *ts, const char *name, bool replace, const beck_tcfg_op_t *ops,
                                     const char *const *keys, const char *const *values, int n, bool validate_only,
                                     beck_error_t *e);

/* The effective value of a config on a topic and whether it is the default. */
const char *beck_topic_config_value(const beck_topic_t *t, const char *key, bool *is_default);

#endif
