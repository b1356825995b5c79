/*
 * beck/connector.h - the Beck connector plugin ABI. The only header a plugin
 * author needs; it includes nothing from Beck and may be copied out of tree.
 *
 * A connector plugin is a shared object (.so) that exports one function,
 *
 *   const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi, uint32_t index);
 *
 * returning its index-th connector descriptor (0, 1, ...) and NULL past the
 * last, so one .so may hold e.g. a source and a sink. A descriptor is static
 * data with designated initialisers:
 *
 *   static const beck_connector_descriptor_t my_sink = {
 *       .abi_version = BECK_CONNECTOR_ABI_VERSION,
 *       .struct_size = sizeof(beck_connector_descriptor_t),
 *       .name = "my-sink",
 *       .kind = BECK_CONNECTOR_SINK,
 *       .options = my_options, .option_count = 3, .option_size = sizeof(beck_connector_option_t),
 *       .create = my_create, .put = my_put, .flush = my_flush, .destroy = my_destroy,
 *   };
 *
 * Versioning (the invariants the host checks before it calls anything):
 *   - abi_version is (major << 16) | minor. The host refuses a plugin whose
 *     major differs from its own. Minor versions only ever append fields at
 *     the end of a struct, so any minor of the same major loads.
 *   - struct_size is sizeof the descriptor as the plugin was compiled. The host
 *     refuses one smaller than BECK_CONNECTOR_DESCRIPTOR_MIN_SIZE (the 1.0
 *     layout) and reads only the fields that fit inside struct_size.
 *   - Arrays the plugin hands over carry their element size (option_size) so
 *     the host strides them correctly when an element struct grows.
 *   - Structs the plugin passes to host functions are passed with their size
 *     (use the inline helpers beck_emit() and beck_emit_error()).
 *   - Structs the host passes to the plugin only grow; arrays of them are
 *     arrays of pointers (beck_sink_batch_t.records), never of structs.
 *   - The host services table starts with abi_version and struct_size too; a
 *     plugin built against a newer minor checks BECK_CONNECTOR_HOST_HAS()
 *     before calling a service the host may not have.
 *
 * Lifecycle of one task (one instance of a connector), all calls from one
 * thread at a time (the task's thread; not always the same OS thread, so no
 * thread-locals):
 *
 *        create ──> start ──> { poll | put }* ──> ... ──> stop ──> destroy
 *                               │    │                      ^
 *                   (sources) commit flush (sinks), periodically and before stop
 *
 *   create   reads and checks the configuration (the host has already
 *            validated types, ranges and required options against the
 *            schema); allocates the instance. No I/O to external systems, so
 *            configurations can be validated without side effects.
 *   start    connects, opens files, looks up stored offsets.
 *   poll     (sources) adds records to the batch with beck_emit(); returns
 *            within about a second when there is nothing to read (use
 *            host->sleep_ms, which wakes early when the task is stopping).
 *   commit   (sources, optional) every record emitted before this call is now
 *            durable in its topic and its source offset stored.
 *   put      (sinks) takes a batch; the sink may write it or buffer it.
 *   flush    (sinks) makes everything taken by put durable. Only after flush
 *            returns OK does the host commit the consumed offsets. When flush
 *            fails, the host re-delivers every record since the last good
 *            flush, so a sink drops whatever it had buffered.
 *   stop     releases external resources; the host flushes (sinks) or
 *            commits (sources) before calling it when stopping gracefully.
 *   destroy  frees the instance. Called after a failed create or start too
 *            (with the instance create returned, if any).
 * After stop the host may call start again (a restarted or resumed task)
 * before destroy; a plugin must allow start -> stop -> start.
 *
 * Return values: every callback that returns int returns BECK_CONNECTOR_OK,
 * BECK_CONNECTOR_RETRY (a transient failure: the host calls again with the
 * same input after an exponential backoff, up to the configured limit),
 * BECK_CONNECTOR_REWIND (sinks: a transient failure that lost everything
 * since the last good flush, e.g. an aborted database transaction: the host
 * backs off and re-delivers from there; a failed flush always means this) or
 * BECK_CONNECTOR_FATAL (the task fails). Before returning anything but OK the
 * plugin says why with host->set_error(); the message reaches the task status
 * and the log.
 *
 * Per-record errors: a sink rejects one record from put with
 * host->reject_record() and returns OK for the rest; a source reports a record
 * it cannot convert with beck_emit_error(). Depending on errors.tolerance the
 * host fails the task or sends the record to the dead-letter topic with
 * headers naming the connector, the error and the record's origin.
 *
 * Ownership: strings and bytes the host passes are borrowed for the duration
 * of the call (config strings: until destroy; an offset_get result: until the
 * next offset_get or destroy). Records passed to beck_emit() are copied by
 * the host before it returns.
 *
 * Exactly-once sinks: a sink that stores its consumed offsets transactionally
 * with its data calls host->sink_seek() from start() for every partition it has
 * progress for; the host then resumes there instead of at the group offset.
 * Records in put carry topic, partition and offset for exactly that purpose.
 */
#ifndef BECK_CONNECTOR_H
#define BECK_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BECK_CONNECTOR_ABI_MAJOR 1
#define BECK_CONNECTOR_ABI_MINOR 0
#define BECK_CONNECTOR_ABI_VERSION (((uint32_t)BECK_CONNECTOR_ABI_MAJOR << 16) | (uint32_t)BECK_CONNECTOR_ABI_MINOR)
#define BECK_CONNECTOR_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define BECK_CONNECTOR_ABI_MINOR_OF(v) ((uint32_t)(v)&0xffffu)

/* The name of the one symbol a plugin exports. */
#define BECK_CONNECTOR_ENTRY_SYMBOL "beck_connector_entry"

#if defined(__GNUC__) || defined(__clang__)
#define BECK_CONNECTOR_EXPORT __attribute__((visibility("default")))
#define BECK_CONNECTOR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define BECK_CONNECTOR_EXPORT
#define BECK_CONNECTOR_PRINTF(fmt, args)
#endif

/* ---- return codes, kinds, log levels -------------------------------------- */

enum {
  BECK_CONNECTOR_OK = 0,
  BECK_CONNECTOR_RETRY = -1,  /* transient: call again after a backoff */
  BECK_CONNECTOR_FATAL = -2,  /* the task fails */
  BECK_CONNECTOR_REWIND = -3, /* sinks: transient, re-deliver since the last good flush */
};

typedef enum beck_connector_kind {
  BECK_CONNECTOR_SOURCE = 1, /* reads an external system, writes topics */
  BECK_CONNECTOR_SINK = 2,   /* reads topics, writes an external system */
} beck_connector_kind_t;

enum {
  BECK_CONNECTOR_LOG_ERROR = 0,
  BECK_CONNECTOR_LOG_WARN = 1,
  BECK_CONNECTOR_LOG_INFO = 2,
  BECK_CONNECTOR_LOG_DEBUG = 3,
};

/* ---- configuration schema ---------------------------------------------------- */

typedef enum beck_connector_opt_type {
  BECK_CONNECTOR_OPT_STRING = 1,
  BECK_CONNECTOR_OPT_INT = 2,      /* 64-bit signed; min/max apply */
  BECK_CONNECTOR_OPT_DOUBLE = 3,   /* min/max apply */
  BECK_CONNECTOR_OPT_BOOL = 4,     /* true/false, yes/no, on/off, 1/0 */
  BECK_CONNECTOR_OPT_DURATION = 5, /* "250ms", "30s", "5m", "1h", or plain ms; read as ms; min/max in ms */
  BECK_CONNECTOR_OPT_PASSWORD = 6, /* a string never logged or shown */
  BECK_CONNECTOR_OPT_ENUM = 7,     /* one of `choices` ("lines|json") */
  BECK_CONNECTOR_OPT_LIST = 8,     /* comma-separated strings, read as a string */
} beck_connector_opt_type_t;

/* One configuration option. Connector options are named with dots
 * ("file.path", "batch.size"); the host reserves names without a plugin
 * prefix that it handles itself (name, connector, topic(s), errors.*, ...). */
typedef struct beck_connector_option {
  const char *name;
  uint32_t type;             /* beck_connector_opt_type_t */
  const char *default_value; /* as a user would write it; NULL: no default */
  int32_t required;          /* non-zero: the user must set it */
  const char *description;   /* one sentence, shown by `beck connector describe` */
  const char *choices;       /* ENUM: "a|b|c"; otherwise NULL */
  double min, max;           /* INT/DOUBLE/DURATION: inclusive range when min < max */
} beck_connector_option_t;

/* ---- records ------------------------------------------------------------------ */

typedef struct beck_connector_header {
  const char *key; /* not NUL-terminated: key_len bytes */
  int32_t key_len;
  const void *value; /* NULL with value_len -1: a null value */
  int32_t value_len;
} beck_connector_header_t;

/* A record a source emits. key/value with len -1 are null. Zero-initialise,
 * then set what you need: partition and timestamp use their "default" values
 * only when set to -1, so use BECK_SOURCE_RECORD_INIT. */
typedef struct beck_source_record {
  const void *key;
  int32_t key_len;
  const void *value;
  int32_t value_len;
  int64_t timestamp; /* ms since the epoch; -1: now */
  const beck_connector_header_t *headers;
  int32_t header_count;
  const char *topic; /* NULL: the connector's configured topic */
  int32_t partition; /* -1: by key (murmur2), round-robin for null keys */
  /* Where this record came from and where to resume after it, as the
   * source chooses to spell them: a file path and a byte offset, a table
   * and a last id. The host stores the newest offset per source partition
   * durably together with the records (see the worker docs) and hands it
   * back through host->offset_get(). NULL source_partition is "". NULL
   * source_offset leaves the stored offset alone. */
  const char *source_partition;
  const char *source_offset;
} beck_source_record_t;

#define BECK_SOURCE_RECORD_INIT                                                                                        \
  { .key = NULL, .key_len = -1, .value = NULL, .value_len = -1, .timestamp = -1, .partition = -1 }

/* A record handed to a sink. Borrowed for the duration of put(). */
typedef struct beck_sink_record {
  const char *topic;
  int32_t partition;
  int64_t offset;
  int64_t timestamp; /* ms since the epoch */
  const void *key;   /* NULL with key_len -1: null */
  int32_t key_len;
  const void *value; /* NULL with value_len -1: null (a tombstone) */
  int32_t value_len;
  const beck_connector_header_t *headers;
  int32_t header_count;
} beck_sink_record_t;

/* What put() receives: records in offset order within each partition. */
typedef struct beck_sink_batch {
  const beck_sink_record_t *const *records;
  uint32_t count;
} beck_sink_batch_t;

/* Opaque to plugins. */
typedef struct beck_source_batch beck_source_batch_t;
typedef struct beck_connector_ctx beck_connector_ctx_t;

/* ---- host services --------------------------------------------------------- */

/* The services table the host passes to create(). Valid until destroy(). Every
 * function takes the ctx that create() received. Unless noted, call them only
 * from within a callback of the same instance. log and the clock functions are
 * safe from any thread. */
typedef struct beck_connector_host {
  uint32_t abi_version; /* the host's BECK_CONNECTOR_ABI_VERSION */
  uint32_t struct_size; /* sizeof(beck_connector_host_t) in the host */

  /* Logs one line prefixed with the task ("[source:file:orders/0]"). */
  void (*log)(beck_connector_ctx_t *ctx, int level, const char *fmt, ...) BECK_CONNECTOR_PRINTF(3, 4);

  /* Configuration, already validated against the schema. config_string
   * returns the value as written, or the default, or NULL when the option is
   * unset without a default (also for names not in the schema). The typed
   * getters return the parsed value (DURATION in ms, BOOL 0/1) or 0 when unset. */
  const char *(*config_string)(beck_connector_ctx_t *ctx, const char *name);
  int64_t (*config_int)(beck_connector_ctx_t *ctx, const char *name);
  double (*config_double)(beck_connector_ctx_t *ctx, const char *name);
  int (*config_bool)(beck_connector_ctx_t *ctx, const char *name);

  /* Explains the RETRY or FATAL about to be returned. */
  void (*set_error)(beck_connector_ctx_t *ctx, const char *fmt, ...) BECK_CONNECTOR_PRINTF(2, 3);

  /* Sinks: rejects one record of the current put (it is not written). The
   * host dead-letters it or fails the task (errors.tolerance). Returns
   * BECK_CONNECTOR_OK when the sink should go on with the other records,
   * BECK_CONNECTOR_FATAL when the task is failing anyway. */
  int (*reject_record)(beck_connector_ctx_t *ctx, const beck_sink_record_t *rec, const char *fmt, ...)
      BECK_CONNECTOR_PRINTF(3, 4);

  /* Sources: adds a copy of rec (rec_size = sizeof *rec) to the batch.
   * Returns 1 when it was added and the batch is now full (return from
   * poll), 0 when there is room for more, BECK_CONNECTOR_FATAL on a bad
   * record or when out of memory (the message is set). Use beck_emit(). */
  int (*emit)(beck_source_batch_t *batch, const beck_source_record_t *rec, size_t rec_size);
  /* Sources: reports a record that could not be converted; rec->value is
   * the raw input. Its source offset still counts as consumed. Returns like
   * emit. Use beck_emit_error(). */
  int (*emit_error)(beck_source_batch_t *batch, const beck_source_record_t *rec, size_t rec_size, const char *fmt, ...)
      BECK_CONNECTOR_PRINTF(4, 5);

  /* Sources: the stored offset for a source partition (as of the last batch
   * that is durable in its topics), or NULL. Meant for start(). */
  const char *(*offset_get)(beck_connector_ctx_t *ctx, const char *source_partition);
  /* Sinks, from start(): resume (topic, partition) at next_offset. */
  int (*sink_seek)(beck_connector_ctx_t *ctx, const char *topic, int32_t partition, int64_t next_offset);

  /* Clock: wall time and a monotonic time, both in ms. */
  int64_t (*wall_ms)(beck_connector_ctx_t *ctx);
  int64_t (*mono_ms)(beck_connector_ctx_t *ctx);
  /* Sleeps up to ms; returns non-zero early when the task is stopping or
   * being paused, so poll() can return. */
  int (*sleep_ms)(beck_connector_ctx_t *ctx, int64_t ms);

  /* Identity: the connector's configured name ("orders-to-pg") and the task
   * number (0-based). */
  const char *(*connector_name)(beck_connector_ctx_t *ctx);
  int32_t (*task_id)(beck_connector_ctx_t *ctx);
} beck_connector_host_t;

/* True when the host's services table has `member` (for plugins built
 * against a newer minor than the host they run in). */
#define BECK_CONNECTOR_HOST_HAS(host, member)                                                                          \
  ((host)->struct_size >= offsetof(beck_connector_host_t, member) + sizeof((host)->member))

static inline int beck_emit(const beck_connector_host_t *host, beck_source_batch_t *batch,
                            const beck_source_record_t *rec) {
  return host->emit(batch, rec, sizeof *rec);
}

/* The message is formatted by the caller (host functions are variadic and a
 * va_list cannot be forwarded through them). */
static inline int beck_emit_error(const beck_connector_host_t *host, beck_source_batch_t *batch,
                                  const beck_source_record_t *rec, const char *message) {
  return host->emit_error(batch, rec, sizeof *rec, "%s", message);
}

/* ---- the descriptor --------------------------------------------------------- */

typedef struct beck_connector_descriptor {
  uint32_t abi_version; /* BECK_CONNECTOR_ABI_VERSION */
  uint32_t struct_size; /* sizeof(beck_connector_descriptor_t) */
  const char *name;     /* unique among plugins: "file-source", "postgres-sink" */
  uint32_t kind;        /* beck_connector_kind_t */
  const char *description;
  const char *version; /* the plugin's own version, free-form */

  const beck_connector_option_t *options;
  uint32_t option_count;
  uint32_t option_size; /* sizeof(beck_connector_option_t) */

  /* Required: create, destroy, and poll (sources) or put and flush (sinks).
   * The others may be NULL. */
  int (*create)(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self);
  int (*start)(void *self);
  int (*poll)(void *self, beck_source_batch_t *batch);
  int (*put)(void *self, const beck_sink_batch_t *batch);
  int (*flush)(void *self);
  int (*commit)(void *self);
  int (*stop)(void *self);
  void (*destroy)(void *self);
  /* Fields added in later minor versions go here, and only here. */
} beck_connector_descriptor_t;

/* The size of the 1.0 descriptor: the smallest the host accepts. */
#define BECK_CONNECTOR_DESCRIPTOR_MIN_SIZE (offsetof(beck_connector_descriptor_t, destroy) + sizeof(void (*)(void *)))
/* The size of the 1.0 option struct. */
#define BECK_CONNECTOR_OPTION_MIN_SIZE (offsetof(beck_connector_option_t, max) + sizeof(double))

typedef const beck_connector_descriptor_t *(*beck_connector_entry_fn)(uint32_t host_abi_version, uint32_t index);

/* Each plugin defines this once. host_abi_version lets a plugin refuse a host
 * it cannot work with (return NULL); most ignore it. */
BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi_version,
                                                                              uint32_t index);

#ifdef __cplusplus
}
#endif

#endif
