/*
 * connect_int.h - private to connect/: configuration binding, the host side of
 * one connector instance (the services table a plugin calls), and the source
 * batch a source fills. Not for other modules; they use plugin.h and
 * worker.h.
 *
 * Layering inside connect/:
 *   loader.c, registry.c   .so files -> checked beck_connector_info_t
 *   config.c               user key/values -> typed values, against a schema
 *   host.c, batch.c        one instance: ctx + services table + source batch
 *   worker.c, task_*.c...  threads that move batches between ctx and topics
 */
#ifndef BECK_CONNECT_CONNECT_INT_H
#define BECK_CONNECT_CONNECT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "beck/connector.h"
#include "plugin.h"

#define BECK__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- config.c ------------------------------------------------------------ */

typedef struct beck__config_value {
  const beck_connector_option_t *opt; /* borrowed from the schema */
  char *text;                         /* owned; NULL when unset without default */
  bool is_set;                        /* given by the user */
  int64_t i;                          /* INT, DURATION (ms), BOOL (0/1) */
  double d;                           /* DOUBLE */
} beck__config_value_t;

typedef struct beck__config {
  beck__config_value_t *vals;
  size_t n;
} beck__config_t;

/* Parses `text` as an option of this type into *i / *d. Fills e with
 * "option NAME: ..." on failure. */
beck_err_t beck__config_parse_value(const beck_connector_option_t *opt, const char *text, int64_t *i, double *d,
                                    beck_error_t *e);

/* Binds user key/values to the schema opts[0..nopts). Keys that name an
 * option in `others` (another schema consulted for the same connector, e.g.
 * the worker's) are skipped here; keys in neither are an error with a
 * suggestion. Missing required options and bad values are errors. The
 * values are copied. */
beck_err_t beck__config_bind(beck__config_t *cfg, const beck_connector_option_t *opts, size_t nopts,
                             const beck_connector_option_t *others, size_t nothers, const char *const *keys,
                             const char *const *values, int n, beck_error_t *e);
void beck__config_free(beck__config_t *cfg);
const beck__config_value_t *beck__config_find(const beck__config_t *cfg, const char *name);
const char *beck__config_string(const beck__config_t *cfg, const char *name);
int64_t beck__config_int(const beck__config_t *cfg, const char *name);
double beck__config_double(const beck__config_t *cfg, const char *name);

/* ---- batch.c: what a source fills --------------------------------------- */

/* One record copied out of the plugin; byte fields are offsets into the
 * batch's data buffer (it may move while records are added). SIZE_MAX =
 * absent (NULL). */
typedef struct beck__srec {
  size_t key, value, topic, spart, soff, headers, error;
  int32_t key_len, value_len, nheaders;
  int32_t partition;
  int64_t timestamp;
} beck__srec_t;

struct beck_source_batch {
  beck__srec_t *recs;
  size_t n, cap;
  beck_buf_t data;
  size_t max_records, max_bytes;
  size_t nerrors; /* records added by emit_error */
  struct beck_connector_ctx *ctx;
};

void beck__source_batch_init(beck_source_batch_t *b, size_t max_records, size_t max_bytes);
void beck__source_batch_reset(beck_source_batch_t *b);
void beck__source_batch_free(beck_source_batch_t *b);
static inline bool beck__source_batch_full(const beck_source_batch_t *b) {
  return b->n >= b->max_records || b->data.len >= b->max_bytes;
}
/* Accessors for record i: pointers into the batch, valid until the batch is
 * changed. Null bytes come back as NULL with len -1. */
static inline const void *beck__srec_ptr(const beck_source_batch_t *b, size_t off) {
  return off == SIZE_MAX ? NULL : b->data.data + off;
}
static inline const char *beck__srec_str(const beck_source_batch_t *b, size_t off) {
  return off == SIZE_MAX ? NULL : (const char *)b->data.data + off;
}
/* Walks the headers of record r: returns 1 with h filled, 0 at end. */
int beck__srec_header(const beck_source_batch_t *b, const beck__srec_t *r, int32_t i, beck_connector_header_t *h);

/* ---- host.c: one plugin instance ------------------------------------------- */

/* What an instance calls back into its owner (a worker task or a test). */
typedef struct beck__ctx_hooks {
  /* reject_record from a sink; returns BECK_CONNECTOR_OK or _FATAL. */
  int (*reject)(void *arg, const beck_sink_record_t *rec, const char *message);
  /* Stored source offset for a source partition, or NULL. Borrowed until
   * the next call or destroy. */
  const char *(*offset_get)(void *arg, const char *source_partition);
  /* sink_seek from start(). */
  int (*sink_seek)(void *arg, const char *topic, int32_t partition, int64_t next_offset);
} beck__ctx_hooks_t;

struct beck_connector_ctx {
  const beck_connector_info_t *info;
  beck__config_t cfg;
  char *name;
  int32_t task_id;
  char log_ctx[192];
  void *self;
  bool created;
  char err[BECK_ERROR_MSG_MAX]; /* from set_error for the current call */
  const beck__ctx_hooks_t *hooks;
  void *hooks_arg;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_int interrupted; /* sleep_ms returns early while set */
};

/* The services table handed to every plugin. */
extern const beck_connector_host_t beck__host;

/* Makes an instance context: binds cfg (keys in the worker schema for this
 * kind are skipped; others must be in the plugin's schema). Does not call
 * the plugin. hooks may be NULL (then reject is fatal, offset_get returns
 * NULL, sink_seek is ignored). name is copied. */
beck_err_t beck__ctx_new(const beck_connector_info_t *info, const char *name, int32_t task_id, const char *const *keys,
                         const char *const *values, int n, const beck__ctx_hooks_t *hooks, void *hooks_arg,
                         beck_connector_ctx_t **out, beck_error_t *e);
/* Calls destroy (if create succeeded) and frees. NULL is ok. */
void beck__ctx_free(beck_connector_ctx_t *ctx);

/* Lifecycle wrappers: each returns BECK_CONNECTOR_OK, _RETRY, _REWIND or _FATAL (an
 * unknown code from the plugin counts as FATAL) and on failure fills e with
 * "[log ctx] call: plugin message". Missing optional callbacks are OK. */
int beck__ctx_create(beck_connector_ctx_t *ctx, beck_error_t *e);
int beck__ctx_start(beck_connector_ctx_t *ctx, beck_error_t *e);
int beck__ctx_poll(beck_connector_ctx_t *ctx, beck_source_batch_t *b, beck_error_t *e);
int beck__ctx_put(beck_connector_ctx_t *ctx, const beck_sink_batch_t *b, beck_error_t *e);
int beck__ctx_flush(beck_connector_ctx_t *ctx, beck_error_t *e);
int beck__ctx_commit(beck_connector_ctx_t *ctx, beck_error_t *e);
int beck__ctx_stop(beck_connector_ctx_t *ctx, beck_error_t *e);

/* Makes sleep_ms return early (and return non-zero) until cleared; any
 * thread. */
void beck__ctx_interrupt(beck_connector_ctx_t *ctx, bool on);

/* ---- clock ------------------------------------------------------------------- */
int64_t beck__wall_ms(void);
int64_t beck__mono_ms(void);

#endif
