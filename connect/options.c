/*
 * options.c - the options the worker reads for every connector, as schema
 * tables in the same format plugins use, so `beck connector describe` and the
 * docs print them from one place. Names follow Kafka Connect where one
 * exists (errors.tolerance, errors.deadletterqueue.topic.name, ...), with
 * durations instead of *.ms integers.
 */
#include "connect_int.h"

#define OPT(n, t, def, req, desc)                                                                                      \
  { .name = n, .type = t, .default_value = def, .required = req, .description = desc }
#define OPT_RANGE(n, t, def, lo, hi, desc)                                                                             \
  { .name = n, .type = t, .default_value = def, .description = desc, .min = lo, .max = hi }

#define COMMON_OPTIONS                                                                                                 \
  OPT("name", BECK_CONNECTOR_OPT_STRING, NULL, 1, "Unique name of this connector instance."),                          \
      OPT("connector", BECK_CONNECTOR_OPT_STRING, NULL, 1, "Plugin connector to run, e.g. file-source."),              \
      {.name = "errors.tolerance",                                                                                     \
       .type = BECK_CONNECTOR_OPT_ENUM,                                                                                \
       .default_value = "none",                                                                                        \
       .choices = "none|all",                                                                                          \
       .description = "none: a record error fails the task; all: skip it (to the dead-letter topic if set)."},         \
      OPT("errors.deadletterqueue.topic.name", BECK_CONNECTOR_OPT_STRING, NULL, 0,                                     \
          "Topic that receives records that failed, with error headers. Empty: none."),                                \
      OPT("errors.deadletterqueue.context.headers.enable", BECK_CONNECTOR_OPT_BOOL, "true", 0,                         \
          "Add __connect.errors.* headers (connector, error, original topic/partition/offset)."),                      \
      OPT("errors.log.enable", BECK_CONNECTOR_OPT_BOOL, "true", 0, "Log each record error (rate-limited)."),           \
      OPT_RANGE("errors.retry.timeout", BECK_CONNECTOR_OPT_DURATION, "5m", 0, 0,                                       \
                "How long to keep retrying a retriable failure before the task fails; 0: no retries."),                \
      OPT_RANGE("errors.retry.delay.initial", BECK_CONNECTOR_OPT_DURATION, "100ms", 1, 3600000,                        \
                "First backoff after a retriable failure; doubles each time."),                                        \
      OPT_RANGE("errors.retry.delay.max", BECK_CONNECTOR_OPT_DURATION, "30s", 1, 3600000,                              \
                "Longest backoff between retries."),                                                                   \
      OPT_RANGE("batch.max.records", BECK_CONNECTOR_OPT_INT, "10000", 1, 1000000,                                      \
                "Most records per batch between the connector and topics (one durable append per source batch)."),     \
      OPT_RANGE("batch.max.bytes", BECK_CONNECTOR_OPT_INT, "1048576", 1024, 268435456,                                 \
                "Most bytes per batch (at least one record)."),                                                        \
      OPT_RANGE("queue.max.batches", BECK_CONNECTOR_OPT_INT, "4", 1, 1024,                                             \
                "Batches buffered between the connector thread and the topic thread (backpressure)."),                 \
      OPT_RANGE("offset.flush.interval", BECK_CONNECTOR_OPT_DURATION, "1s", 1, 86400000,                               \
                "How often offsets are committed (sinks: after a flush)."),                                            \
      OPT("plugin.path", BECK_CONNECTOR_OPT_LIST, NULL, 0, "Extra directories or .so files to search for the plugin.")

static const beck_connector_option_t source_options[] = {
    COMMON_OPTIONS,
    OPT("topic", BECK_CONNECTOR_OPT_STRING, NULL, 1, "Topic the records go to (unless the connector names one)."),
    OPT_RANGE("topic.partitions", BECK_CONNECTOR_OPT_INT, "1", 1, 100000,
              "Partitions when the worker creates the topic."),
};

static const beck_connector_option_t sink_options[] = {
    COMMON_OPTIONS,
    OPT("topics", BECK_CONNECTOR_OPT_LIST, NULL, 1, "Comma-separated topics to read."),
    OPT("group.id", BECK_CONNECTOR_OPT_STRING, NULL, 0, "Consumer group for committed offsets; default connect-NAME."),
    {.name = "auto.offset.reset",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "earliest",
     .choices = "earliest|latest",
     .description = "Where to start a partition with no committed offset."},
    OPT_RANGE("flush.max.records", BECK_CONNECTOR_OPT_INT, "100000", 1, 100000000,
              "Flush the sink (and commit) after this many records even before offset.flush.interval."),
};

const beck_connector_option_t *beck_connect_worker_options(beck_connector_kind_t kind, uint32_t *count) {
  if (kind == BECK_CONNECTOR_SOURCE) {
    *count = (uint32_t)BECK__ARRAY_SIZE(source_options);
    return source_options;
  }
  *count = (uint32_t)BECK__ARRAY_SIZE(sink_options);
  return sink_options;
}
