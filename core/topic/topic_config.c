/* topic_config.c - the topic config table and its parser (see topic_config.h). */
#include "topic/topic_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const cleanup_policies[] = {"delete", "compact", "compact,delete", "delete,compact", NULL};
static const char *const timestamp_types[] = {"CreateTime", "LogAppendTime", NULL};
static const char *const fsync_policies[] = {"always", "interval", "never", NULL};

const beck_tcfg_def_t beck_topic_config_defs[] = {
    {"cleanup.policy", BECK_TCFG_ENUM, "delete", 0, 0, cleanup_policies,
     "delete: drop old segments by retention; compact: keep the latest record per key"},
    {"retention.ms", BECK_TCFG_LONG, "604800000", -1, INT64_MAX, NULL,
     "drop whole segments whose newest record is older than this; -1 keeps forever"},
    {"retention.bytes", BECK_TCFG_LONG, "-1", -1, INT64_MAX, NULL,
     "drop the oldest segments while a partition is larger than this; -1 means no limit"},
    {"segment.bytes", BECK_TCFG_INT, "1073741824", 1024, INT32_MAX, NULL, "roll a new segment file at this size"},
    {"segment.ms", BECK_TCFG_LONG, "604800000", 1, INT64_MAX, NULL,
     "roll a new segment when the active one is this old"},
    {"max.message.bytes", BECK_TCFG_INT, "1048588", 0, INT32_MAX, NULL,
     "largest record batch the topic accepts (after compression)"},
    {"message.timestamp.type", BECK_TCFG_ENUM, "CreateTime", 0, 0, timestamp_types,
     "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's clock"},
    {"delete.retention.ms", BECK_TCFG_LONG, "86400000", 0, INT64_MAX, NULL,
     "how long compaction keeps tombstones (null values) before removing them"},
    {"index.interval.bytes", BECK_TCFG_INT, "4096", 0, INT32_MAX, NULL, "bytes between offset index entries"},
    {"fsync.policy", BECK_TCFG_ENUM, "always", 0, 0, fsync_policies,
     "Beck: always = acks=all waits for fsync (group commit); interval = fsync every fsync.interval.ms; never"},
    {"fsync.interval.ms", BECK_TCFG_LONG, "1000", 1, INT64_MAX, NULL, "Beck: fsync period for fsync.policy=interval"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

const beck_tcfg_def_t *beck_topic_config_find(const char *name) {
  for (const beck_tcfg_def_t *d = beck_topic_config_defs; d->name; d++)
    if (strcmp(d->name, name) == 0)
      return d;
  return NULL;
}

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63)
    return 99;
  size_t prev[64], cur[64];
  for (size_t j = 0; j <= lb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, sizeof(size_t) * (lb + 1));
  }
  return prev[lb];
}

const char *beck_topic_config_suggest(const char *key) {
  const char *best = NULL;
  size_t best_d = 4;
  for (const beck_tcfg_def_t *d = beck_topic_config_defs; d->name; d++) {
    size_t dist = edit_distance(key, d->name);
    if (dist < best_d) {
      best_d = dist;
      best = d->name;
    }
  }
  return best;
}

static bool parse_long(const char *s, int64_t *out) {
  if (s == NULL || *s == '\0')
    return false;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end != '\0')
    return false;
  *out = v;
  return true;
}

beck_err_t beck_topic_config_validate(const char *key, const char *value, beck_error_t *e) {
  const beck_tcfg_def_t *d = beck_topic_config_find(key);
  if (d == NULL) {
    const char *s = beck_topic_config_suggest(key);
    return beck_error_set(e, BECK_ERR_INVAL, "unknown topic config '%s'%s%s%s", key, s ? " (did you mean '" : "",
                          s ? s : "", s ? "'?)" : "");
  }
  if (value == NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "%s: a value is required", key);
  if (d->type == BECK_TCFG_ENUM) {
    for (const char *const *a = d->allowed; *a; a++)
      if (strcmp(*a, value) == 0)
        return BECK_ERR_OK;
    char list[256] = "";
    for (const char *const *a = d->allowed; *a; a++) {
      strncat(list, *a, sizeof list - strlen(list) - 1);
      if (a[1])
        strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return beck_error_set(e, BECK_ERR_INVAL, "%s: '%s' is not allowed; use one of: %s", key, value, list);
  }
  int64_t v;
  if (!parse_long(value, &v))
    return beck_error_set(e, BECK_ERR_INVAL, "%s: '%s' is not a number; expected an integer from %lld to %lld", key,
                          value, (long long)d->min, (long long)d->max);
  if (v < d->min || v > d->max)
    return beck_error_set(e, BECK_ERR_INVAL, "%s: %lld is out of range; expected %lld to %lld", key, (long long)v,
                          (long long)d->min, (long long)d->max);
  return BECK_ERR_OK;
}

static const char *lookup(const char *key, const char *const *keys, const char *const *values, int n) {
  for (int i = n - 1; i >= 0; i--)
    if (strcmp(keys[i], key) == 0)
      return values[i];
  return beck_topic_config_find(key)->default_value;
}

static int64_t get_long(const char *key, const char *const *keys, const char *const *values, int n) {
  int64_t v = 0;
  if (!parse_long(lookup(key, keys, values, n), &v))
    parse_long(beck_topic_config_find(key)->default_value, &v);
  return v;
}

void beck_topic_config_build(beck_topic_config_t *out, const char *const *keys, const char *const *values, int n) {
  memset(out, 0, sizeof *out);
  beck_plog_config_default(&out->log);
  const char *policy = lookup("cleanup.policy", keys, values, n);
  out->compact = strstr(policy, "compact") != NULL;
  out->delete_ = strstr(policy, "delete") != NULL;
  out->log.compact = out->compact;
  out->log.delete_retention = out->delete_;
  out->log.retention_ms = get_long("retention.ms", keys, values, n);
  out->log.retention_bytes = get_long("retention.bytes", keys, values, n);
  out->log.segment_bytes = get_long("segment.bytes", keys, values, n);
  out->log.segment_ms = get_long("segment.ms", keys, values, n);
  out->log.max_batch_bytes = (int32_t)get_long("max.message.bytes", keys, values, n);
  out->log.log_append_time = strcmp(lookup("message.timestamp.type", keys, values, n), "LogAppendTime") == 0;
  out->log.delete_retention_ms = get_long("delete.retention.ms", keys, values, n);
  out->log.index_interval_bytes = (int32_t)get_long("index.interval.bytes", keys, values, n);
  const char *fp = lookup("fsync.policy", keys, values, n);
  out->log.fsync_policy = strcmp(fp, "interval") == 0 ? BECK_FSYNC_INTERVAL
                          : strcmp(fp, "never") == 0  ? BECK_FSYNC_NEVER
                                                      : BECK_FSYNC_ALWAYS;
  out->log.fsync_interval_ms = get_long("fsync.interval.ms", keys, values, n);
}
