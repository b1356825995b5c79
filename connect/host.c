/*
 * host.c - the host side of one connector instance: its context, the
 * services table every plugin receives, and wrappers that call the plugin's
 * lifecycle callbacks and turn their results into beck_error_t messages.
 *
 * Invariants:
 *   - the plugin's config is bound and validated before create() is called;
 *   - ctx->err is cleared before each callback and holds what the plugin
 *     passed to set_error() during it;
 *   - a status other than OK/RETRY/REWIND/FATAL from a plugin is FATAL;
 *   - destroy() is called exactly once, iff create() returned an instance.
 * Threading: lifecycle wrappers run on the owning task's thread; log, the
 * clock and beck__ctx_interrupt() are safe from any thread.
 */
#include "connect_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/logging.h"

int64_t beck__wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t beck__mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- services ------------------------------------------------------------ */

static void host_log(beck_connector_ctx_t *ctx, int level, const char *fmt, ...) {
  if (level < BECK_CONNECTOR_LOG_ERROR)
    level = BECK_CONNECTOR_LOG_ERROR;
  if (level > BECK_CONNECTOR_LOG_DEBUG)
    level = BECK_CONNECTOR_LOG_DEBUG;
  if (!beck_log_enabled((beck_log_level_t)level))
    return;
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  beck_log(ctx ? ctx->log_ctx : "connector", (beck_log_level_t)level, "%s", line);
}

static const char *host_config_string(beck_connector_ctx_t *ctx, const char *name) {
  return beck__config_string(&ctx->cfg, name);
}

static int64_t host_config_int(beck_connector_ctx_t *ctx, const char *name) {
  return beck__config_int(&ctx->cfg, name);
}

static double host_config_double(beck_connector_ctx_t *ctx, const char *name) {
  return beck__config_double(&ctx->cfg, name);
}

static int host_config_bool(beck_connector_ctx_t *ctx, const char *name) {
  return beck__config_int(&ctx->cfg, name) != 0;
}

static void host_set_error(beck_connector_ctx_t *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
  va_end(ap);
}

static int host_reject_record(beck_connector_ctx_t *ctx, const beck_sink_record_t *rec, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (rec == NULL) {
    snprintf(ctx->err, sizeof ctx->err, "reject_record without a record: %s", msg);
    return BECK_CONNECTOR_FATAL;
  }
  if (ctx->hooks == NULL || ctx->hooks->reject == NULL) {
    snprintf(ctx->err, sizeof ctx->err, "record %.80s-%d@%lld rejected: %s", rec->topic ? rec->topic : "?",
             rec->partition, (long long)rec->offset, msg);
    return BECK_CONNECTOR_FATAL;
  }
  return ctx->hooks->reject(ctx->hooks_arg, rec, msg);
}

static int host_emit_common(beck_source_batch_t *b, const beck_source_record_t *rec, size_t rec_size,
                            const char *error);

static int host_emit(beck_source_batch_t *b, const beck_source_record_t *rec, size_t rec_size) {
  return host_emit_common(b, rec, rec_size, NULL);
}

static int host_emit_error(beck_source_batch_t *b, const beck_source_record_t *rec, size_t rec_size, const char *fmt,
                           ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return host_emit_common(b, rec, rec_size, msg);
}

static const char *host_offset_get(beck_connector_ctx_t *ctx, const char *spart) {
  if (ctx->hooks == NULL || ctx->hooks->offset_get == NULL)
    return NULL;
  return ctx->hooks->offset_get(ctx->hooks_arg, spart ? spart : "");
}

static int host_sink_seek(beck_connector_ctx_t *ctx, const char *topic, int32_t partition, int64_t next_offset) {
  if (topic == NULL || partition < 0 || next_offset < 0) {
    snprintf(ctx->err, sizeof ctx->err, "sink_seek: bad arguments");
    return BECK_CONNECTOR_FATAL;
  }
  if (ctx->hooks == NULL || ctx->hooks->sink_seek == NULL)
    return BECK_CONNECTOR_OK;
  return ctx->hooks->sink_seek(ctx->hooks_arg, topic, partition, next_offset);
}

static int64_t host_wall_ms(beck_connector_ctx_t *ctx) { return beck__wall_ms(); }
static int64_t host_mono_ms(beck_connector_ctx_t *ctx) { return beck__mono_ms(); }

static int host_sleep_ms(beck_connector_ctx_t *ctx, int64_t ms) {
  if (atomic_load(&ctx->interrupted))
    return 1;
  if (ms <= 0)
    return 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&ctx->mu);
  int rc = 0;
  while (!atomic_load(&ctx->interrupted) && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&ctx->cv, &ctx->mu, &ts);
  pthread_mutex_unlock(&ctx->mu);
  return atomic_load(&ctx->interrupted) ? 1 : 0;
}

static const char *host_connector_name(beck_connector_ctx_t *ctx) { return ctx->name; }
static int32_t host_task_id(beck_connector_ctx_t *ctx) { return ctx->task_id; }

const beck_connector_host_t beck__host = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_host_t),
    .log = host_log,
    .config_string = host_config_string,
    .config_int = host_config_int,
    .config_double = host_config_double,
    .config_bool = host_config_bool,
    .set_error = host_set_error,
    .reject_record = host_reject_record,
    .emit = host_emit,
    .emit_error = host_emit_error,
    .offset_get = host_offset_get,
    .sink_seek = host_sink_seek,
    .wall_ms = host_wall_ms,
    .mono_ms = host_mono_ms,
    .sleep_ms = host_sleep_ms,
    .connector_name = host_connector_name,
    .task_id = host_task_id,
};

/* ---- emit: copy a plugin record into the batch ---------------------------- */

/* The 1.0 source record ends with source_offset. */
#define SOURCE_RECORD_MIN_SIZE (offsetof(beck_source_record_t, source_offset) + sizeof(const char *))

static int batch_fail(beck_source_batch_t *b, const char *msg) {
  if (b->ctx != NULL)
    snprintf(b->ctx->err, sizeof b->ctx->err, "%s", msg);
  return BECK_CONNECTOR_FATAL;
}

/* Appends n bytes (+ NUL) to the batch data; returns the offset or SIZE_MAX. */
static size_t put_bytes(beck_source_batch_t *b, const void *p, size_t n, bool *oom) {
  size_t off = b->data.len;
  if (beck_buf_reserve(&b->data, n + 1) != BECK_ERR_OK) {
    *oom = true;
    return SIZE_MAX;
  }
  if (n > 0)
    memcpy(b->data.data + b->data.len, p, n);
  b->data.data[b->data.len + n] = '\0';
  b->data.len += n + 1;
  return off;
}

static int host_emit_common(beck_source_batch_t *b, const beck_source_record_t *in, size_t rec_size,
                            const char *error) {
  if (b == NULL || in == NULL)
    return BECK_CONNECTOR_FATAL;
  if (rec_size < SOURCE_RECORD_MIN_SIZE)
    return batch_fail(b, "emit: record struct is smaller than the ABI 1.0 beck_source_record_t");
  beck_source_record_t r;
  memset(&r, 0, sizeof r);
  memcpy(&r, in, rec_size < sizeof r ? rec_size : sizeof r);
  if (r.key_len < -1 || r.value_len < -1 || (r.key == NULL && r.key_len > 0) || (r.value == NULL && r.value_len > 0))
    return batch_fail(b, "emit: key/value length is negative or the pointer is NULL");
  if (r.header_count < 0 || (r.header_count > 0 && r.headers == NULL))
    return batch_fail(b, "emit: header_count without headers");
  if (r.partition < -1)
    return batch_fail(b, "emit: partition must be -1 (any) or >= 0");
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    beck__srec_t *nr = beck_realloc(b->recs, cap * sizeof *nr);
    if (nr == NULL)
      return batch_fail(b, "emit: out of memory");
    b->recs = nr;
    b->cap = cap;
  }
  bool oom = false;
  beck__srec_t s;
  s.key_len = r.key_len;
  s.value_len = r.value_len;
  s.key = r.key_len >= 0 ? put_bytes(b, r.key, (size_t)r.key_len, &oom) : SIZE_MAX;
  s.value = r.value_len >= 0 ? put_bytes(b, r.value, (size_t)r.value_len, &oom) : SIZE_MAX;
  s.topic = r.topic ? put_bytes(b, r.topic, strlen(r.topic), &oom) : SIZE_MAX;
  const char *sp = r.source_partition ? r.source_partition : "";
  s.spart = put_bytes(b, sp, strlen(sp), &oom);
  s.soff = r.source_offset ? put_bytes(b, r.source_offset, strlen(r.source_offset), &oom) : SIZE_MAX;
  s.error = error ? put_bytes(b, error, strlen(error), &oom) : SIZE_MAX;
  s.partition = r.partition;
  s.timestamp = r.timestamp;
  s.nheaders = r.header_count;
  s.headers = SIZE_MAX;
  for (int32_t k = 0; k < r.header_count && !oom; k++) {
    const beck_connector_header_t *h = &r.headers[k];
    if (h->key_len < 0 || (h->key == NULL && h->key_len > 0) || h->value_len < -1 ||
        (h->value == NULL && h->value_len > 0))
      return batch_fail(b, "emit: bad header (negative length or NULL pointer)");
    int32_t lens[2] = {h->key_len, h->value_len};
    size_t o = put_bytes(b, lens, sizeof lens, &oom);
    if (k == 0)
      s.headers = o;
    put_bytes(b, h->key, (size_t)h->key_len, &oom);
    if (h->value_len >= 0)
      put_bytes(b, h->value, (size_t)h->value_len, &oom);
  }
  if (oom)
    return batch_fail(b, "emit: out of memory");
  b->recs[b->n++] = s;
  if (error != NULL)
    b->nerrors++;
  return beck__source_batch_full(b) ? 1 : 0;
}

/* ---- contexts --------------------------------------------------------------- */

beck_err_t beck__ctx_new(const beck_connector_info_t *info, const char *name, int32_t task_id, const char *const *keys,
                         const char *const *values, int n, const beck__ctx_hooks_t *hooks, void *hooks_arg,
                         beck_connector_ctx_t **out, beck_error_t *e) {
  *out = NULL;
  beck_connector_ctx_t *ctx = beck_calloc(1, sizeof *ctx);
  if (ctx == NULL || (ctx->name = beck_strdup(name ? name : info->name)) == NULL) {
    beck_free(ctx);
    return beck_error_set(e, BECK_ERR_NOMEM, "connector %s: out of memory", name ? name : info->name);
  }
  ctx->info = info;
  ctx->task_id = task_id;
  ctx->hooks = hooks;
  ctx->hooks_arg = hooks_arg;
  snprintf(ctx->log_ctx, sizeof ctx->log_ctx, "%s:%s:%s/%d", beck_connector_kind_name(info->kind), info->name,
           ctx->name, task_id);
  pthread_mutex_init(&ctx->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&ctx->cv, &ca);
  pthread_condattr_destroy(&ca);
  atomic_init(&ctx->interrupted, 0);
  uint32_t nw = 0;
  const beck_connector_option_t *wopts = beck_connect_worker_options(info->kind, &nw);
  beck_err_t rc = beck__config_bind(&ctx->cfg, info->options, info->option_count, wopts, nw, keys, values, n, e);
  if (rc != BECK_ERR_OK) {
    beck_error_wrap(e, "connector %s (%s)", ctx->name, info->name);
    beck__ctx_free(ctx);
    return rc;
  }
  *out = ctx;
  return BECK_ERR_OK;
}

void beck__ctx_free(beck_connector_ctx_t *ctx) {
  if (ctx == NULL)
    return;
  if (ctx->created && ctx->info->desc.destroy != NULL)
    ctx->info->desc.destroy(ctx->self);
  beck__config_free(&ctx->cfg);
  pthread_cond_destroy(&ctx->cv);
  pthread_mutex_destroy(&ctx->mu);
  beck_free(ctx->name);
  beck_free(ctx);
}

void beck__ctx_interrupt(beck_connector_ctx_t *ctx, bool on) {
  pthread_mutex_lock(&ctx->mu);
  atomic_store(&ctx->interrupted, on ? 1 : 0);
  pthread_cond_broadcast(&ctx->cv);
  pthread_mutex_unlock(&ctx->mu);
}

/* Normalises a plugin status and fills e on failure. */
static int result(beck_connector_ctx_t *ctx, const char *call, int st, beck_error_t *e) {
  if (st == BECK_CONNECTOR_OK)
    return st;
  if (st != BECK_CONNECTOR_RETRY && st != BECK_CONNECTOR_FATAL && st != BECK_CONNECTOR_REWIND) {
    beck_error_set(e, BECK_ERR_STATE, "[%s] %s returned unknown status %d%s%s", ctx->log_ctx, call, st,
                   ctx->err[0] ? ": " : "", ctx->err);
    return BECK_CONNECTOR_FATAL;
  }
  bool transient = st != BECK_CONNECTOR_FATAL;
  beck_error_set(e, transient ? BECK_ERR_AGAIN : BECK_ERR_IO, "[%s] %s: %s", ctx->log_ctx, call,
                 ctx->err[0] ? ctx->err : (transient ? "retriable error" : "fatal error"));
  return st;
}

int beck__ctx_create(beck_connector_ctx_t *ctx, beck_error_t *e) {
  ctx->err[0] = '\0';
  void *self = NULL;
  int st = ctx->info->desc.create(&beck__host, ctx, &self);
  if (self != NULL) {
    ctx->self = self;
    ctx->created = true;
  }
  if (st == BECK_CONNECTOR_OK && !ctx->created) {
    ctx->created = true; /* a plugin may use a NULL instance */
  }
  return result(ctx, "create", st, e);
}

int beck__ctx_start(beck_connector_ctx_t *ctx, beck_error_t *e) {
  ctx->err[0] = '\0';
  if (ctx->info->desc.start == NULL)
    return BECK_CONNECTOR_OK;
  return result(ctx, "start", ctx->info->desc.start(ctx->self), e);
}

int beck__ctx_poll(beck_connector_ctx_t *ctx, beck_source_batch_t *b, beck_error_t *e) {
  ctx->err[0] = '\0';
  b->ctx = ctx;
  return result(ctx, "poll", ctx->info->desc.poll(ctx->self, b), e);
}

int beck__ctx_put(beck_connector_ctx_t *ctx, const beck_sink_batch_t *b, beck_error_t *e) {
  ctx->err[0] = '\0';
  return result(ctx, "put", ctx->info->desc.put(ctx->self, b), e);
}

int beck__ctx_flush(beck_connector_ctx_t *ctx, beck_error_t *e) {
  ctx->err[0] = '\0';
  if (ctx->info->desc.flush == NULL)
    return BECK_CONNECTOR_OK;
  return result(ctx, "flush", ctx->info->desc.flush(ctx->self), e);
}

int beck__ctx_commit(beck_connector_ctx_t *ctx, beck_error_t *e) {
  ctx->err[0] = '\0';
  if (ctx->info->desc.commit == NULL)
    return BECK_CONNECTOR_OK;
  return result(ctx, "commit", ctx->info->desc.commit(ctx->self), e);
}

int beck__ctx_stop(beck_connector_ctx_t *ctx, beck_error_t *e) {
  ctx->err[0] = '\0';
  if (ctx->info->desc.stop == NULL)
    return BECK_CONNECTOR_OK;
  return result(ctx, "stop", ctx->info->desc.stop(ctx->self), e);
}
