/*
 * topic_config.h - the per-topic configuration table (Kafka topic configs).
 *
 * One declarative table {name, type, default, min, max, allowed values,
 * description} drives parsing, validation, DescribeConfigs and the docs.
 * Values are kept as Kafka keeps them: strings on the wire and in the
 * metadata store; beck_topic_config_t is the parsed form the log uses.
 */
#ifndef BECK_TOPIC_TOPIC_CONFIG_H
#define BECK_TOPIC_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "log/plog.h"

typedef enum {
  BECK_TCFG_LONG,
  BECK_TCFG_INT,
  BECK_TCFG_ENUM,
} beck_tcfg_type_t;

typedef struct beck_tcfg_def {
  const char *name;
  beck_tcfg_type_t type;
  const char *default_value;
  int64_t min, max;         /* numeric types */
  const char *const *allowed; /* ENUM: NULL-terminated list */
  const char *description;
} beck_tcfg_def_t;

/* The table, terminated by an entry with name == NULL. */
extern const beck_tcfg_def_t beck_topic_config_defs[];

const beck_tcfg_def_t *beck_topic_config_find(const char *name);

/* Parsed topic configuration. */
typedef struct beck_topic_config {
  beck_plog_config_t log; /* what the partition logs use */
  bool compact;           /* cleanup.policy contains compact */
  bool delete_;           /* cleanup.policy contains delete */
} beck_topic_config_t;

/* Checks one key/value: known key, right type, in range, allowed value.
 * The error says which and how to fix it ("retention.ms: 'abc' is not a
 * number; expected an integer from -1 to 9223372036854775807"). */
beck_err_t beck_topic_config_validate(const char *key, const char *value, beck_error_t *e);

/* Builds the parsed config from defaults overridden by n key/value pairs
 * (already validated; unknown keys are ignored). defaults_keys/values are
 * broker-level overrides of the table defaults (may be NULL/0). */
void beck_topic_config_build(beck_topic_config_t *out, const char *const *keys, const char *const *values, int n);

/* Suggests the closest known key for a misspelling, or NULL. */
const char *beck_topic_config_suggest(const char *key);

#endif
