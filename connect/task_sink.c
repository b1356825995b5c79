/*
 * task_sink.c - a running sink connector: the topic thread fetches batches
 * from every partition of its topics, the plugin thread puts them, flushes,
 * and only then commits the consumed offsets for the group.
 *
 *   topic thread                           plugin thread
 *                                          resolve topics, start (seeks),
 *                                          positions, start topic thread
 *   loop: free -> fetch (round robin,      loop: queue -> put (retry same
 *         long-poll when idle) -> queue          batch) -> dead letters ->
 *                                                put_pos; flush when due ->
 *                                                commit put_pos as group offsets
 *
 * Positions per partition:
 *   committed  what the group has committed: everything below it is durable
 *              in the sink (flush returned OK before the commit)
 *   put_pos    next offset after the records handed to put
 *   fetch_pos  next offset the topic thread fetches
 * Invariant: committed <= put_pos <= fetch_pos (per partition, within an
 * epoch).
 *
 * Rewind (a flush failed, or put returned REWIND): the plugin thread bumps
 * `epoch` and sets every rewind_to = put_pos = committed under mu; the topic
 * thread, seeing the new epoch, restarts fetching there; batches of an older
 * epoch are dropped unread. So the sink sees every record since its last
 * good flush again, in order.
 *
 * Start position of a partition: the plugin's sink_seek() from start()
 * (sinks that keep offsets with their data: exactly-once), else the group's
 * committed offset, else auto.offset.reset (earliest/latest). An offset out
 * of range while fetching resets the same way, with a warning.
 */
#include "worker_int.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"

typedef struct sink_part {
  char *topic;
  int32_t partition;
  int64_t seek;      /* from start(); -1: none */
  int64_t committed; /* plugin thread */
  int64_t put_pos;   /* plugin thread */
  int64_t fetch_pos; /* topic thread */
  int64_t rewind_to; /* under mu, with epoch */
} sink_part_t;

typedef struct sink_rec {
  int32_t part;
  int64_t offset, timestamp;
  size_t key, value; /* into data; SIZE_MAX = null */
  int32_t key_len, value_len;
  size_t hdr_first;
  int32_t nhdr;
} sink_rec_t;

typedef struct sink_hdr {
  size_t key, value;
  int32_t key_len, value_len;
} sink_hdr_t;

typedef struct sink_batch {
  uint64_t epoch;
  beck_buf_t data;
  sink_rec_t *recs;
  size_t n, cap;
  sink_hdr_t *hdrs;
  size_t nh, caph;
  int64_t *end_pos; /* per partition; -1: untouched */
  beck_sink_record_t *views;
  const beck_sink_record_t **ptrs;
  beck_connector_header_t *hviews;
  size_t capviews, caphviews;
  bool full;
} sink_batch_t;

typedef struct reject {
  size_t idx;
  char *msg;
} reject_t;

typedef struct beck__sink {
  beck__task_t *t;
  sink_part_t *parts;
  size_t nparts;
  char *group;
  bool reset_latest;
  sink_batch_t *batches;
  size_t nbatches;
  pthread_t fetch_thread;
  bool fetch_started;

  pthread_mutex_t mu;
  atomic_uint_fast64_t epoch;

  /* plugin thread */
  sink_batch_t *cur;
  reject_t *rejects;
  size_t nrejects, caprejects;
  bool reject_fatal;
  char reject_msg[BECK_ERROR_MSG_MAX];
  bool dirty;
  uint64_t since_flush;
  int64_t last_flush_ms;
  int64_t flush_max;
  beck__retry_t rewind_retry;
  bool starting; /* seeks are accepted */
} beck__sink_t;

/* ---- hooks ------------------------------------------------------------------ */

static int hook_reject(void *arg, const beck_sink_record_t *rec, const char *message) {
  beck__task_t *t = arg;
  beck__sink_t *s = t->impl;
  if (s == NULL || s->cur == NULL || rec < s->cur->views || rec >= s->cur->views + s->cur->n) {
    snprintf(s ? s->reject_msg : t->error, BECK_ERROR_MSG_MAX, "reject_record outside put or with a foreign record");
    if (s)
      s->reject_fatal = true;
    return BECK_CONNECTOR_FATAL;
  }
  static beck_log_limit_t lim;
  if (!t->tolerate_all) {
    s->reject_fatal = true;
    snprintf(s->reject_msg, sizeof s->reject_msg, "record %.100s-%d@%lld rejected: %.300s (errors.tolerance=none)",
             rec->topic, rec->partition, (long long)rec->offset, message);
    return BECK_CONNECTOR_FATAL;
  }
  if (s->nrejects == s->caprejects) {
    size_t cap = s->caprejects ? s->caprejects * 2 : 16;
    reject_t *r = beck_realloc(s->rejects, cap * sizeof *r);
    if (r == NULL) {
      s->reject_fatal = true;
      snprintf(s->reject_msg, sizeof s->reject_msg, "out of memory recording a rejected record");
      return BECK_CONNECTOR_FATAL;
    }
    s->rejects = r;
    s->caprejects = cap;
  }
  char *m = beck_strdup(message);
  if (m == NULL) {
    s->reject_fatal = true;
    snprintf(s->reject_msg, sizeof s->reject_msg, "out of memory recording a rejected record");
    return BECK_CONNECTOR_FATAL;
  }
  s->rejects[s->nrejects++] = (reject_t){.idx = (size_t)(rec - s->cur->views), .msg = m};
  if (t->log_errors)
    beck_log_limited(&lim, 10, 10000, t->ctx->log_ctx, BECK_LOG_WARN, "record %s-%d@%lld rejected: %s", rec->topic,
                     rec->partition, (long long)rec->offset, message);
  return BECK_CONNECTOR_OK;
}

static int hook_seek(void *arg, const char *topic, int32_t partition, int64_t next_offset) {
  beck__task_t *t = arg;
  beck__sink_t *s = t->impl;
  if (s == NULL || !s->starting) {
    snprintf(t->ctx->err, sizeof t->ctx->err, "sink_seek is only allowed from start()");
    return BECK_CONNECTOR_FATAL;
  }
  for (size_t k = 0; k < s->nparts; k++)
    if (s->parts[k].partition == partition && strcmp(s->parts[k].topic, topic) == 0) {
      s->parts[k].seek = next_offset;
      return BECK_CONNECTOR_OK;
    }
  return BECK_CONNECTOR_OK; /* not ours: ignore */
}

const beck__ctx_hooks_t beck__sink_hooks = {.reject = hook_reject, .sink_seek = hook_seek};

/* ---- batches ------------------------------------------------------------------ */

static void batch_reset(beck__sink_t *s, sink_batch_t *b, uint64_t epoch) {
  b->epoch = epoch;
  b->data.len = 0;
  b->n = 0;
  b->nh = 0;
  b->full = false;
  for (size_t k = 0; k < s->nparts; k++)
    b->end_pos[k] = -1;
}

static size_t put_bytes(sink_batch_t *b, const void *p, int32_t len, bool *oom) {
  if (len < 0)
    return SIZE_MAX;
  size_t off = b->data.len;
  if (beck_buf_append(&b->data, p, (size_t)len) != BECK_ERR_OK)
    *oom = true;
  return off;
}

typedef struct fetch_arg {
  beck__sink_t *s;
  sink_batch_t *b;
  int32_t part;
  bool oom;
} fetch_arg_t;

static int fetch_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  fetch_arg_t *fa = arg;
  sink_batch_t *b = fa->b;
  beck__task_t *t = fa->s->t;
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    sink_rec_t *nr = beck_realloc(b->recs, cap * sizeof *nr);
    if (nr == NULL) {
      fa->oom = true;
      return 1;
    }
    b->recs = nr;
    b->cap = cap;
  }
  sink_rec_t *sr = &b->recs[b->n];
  sr->part = fa->part;
  sr->offset = r->offset;
  sr->timestamp = r->timestamp;
  sr->key_len = r->key.len;
  sr->value_len = r->value.len;
  sr->key = put_bytes(b, r->key.ptr, r->key.len, &fa->oom);
  sr->value = put_bytes(b, r->value.ptr, r->value.len, &fa->oom);
  sr->hdr_first = b->nh;
  sr->nhdr = 0;
  beck_slice_t cur = r->headers;
  beck_record_header_t h;
  while (r->headers_count > 0 && beck_record_header_next(&cur, &h) == 1) {
    if (b->nh == b->caph) {
      size_t cap = b->caph ? b->caph * 2 : 64;
      sink_hdr_t *nh = beck_realloc(b->hdrs, cap * sizeof *nh);
      if (nh == NULL) {
        fa->oom = true;
        return 1;
      }
      b->hdrs = nh;
      b->caph = cap;
    }
    sink_hdr_t *sh = &b->hdrs[b->nh++];
    sh->key_len = (int32_t)h.key.len;
    sh->key = put_bytes(b, h.key.ptr, (int32_t)h.key.len, &fa->oom);
    sh->value_len = h.value.len;
    sh->value = put_bytes(b, h.value.ptr, h.value.len, &fa->oom);
    sr->nhdr++;
  }
  b->n++;
  if (b->n >= t->batch_max_records || b->data.len >= t->batch_max_bytes || fa->oom) {
    b->full = true;
    return 1;
  }
  return 0;
}

/* Builds the views put() receives. */
static beck_err_t batch_seal(beck__sink_t *s, sink_batch_t *b) {
  if (b->n > b->capviews) {
    beck_sink_record_t *v = beck_realloc(b->views, b->n * sizeof *v);
    if (v == NULL)
      return BECK_ERR_NOMEM;
    b->views = v;
    const beck_sink_record_t **p = beck_realloc(b->ptrs, b->n * sizeof *p);
    if (p == NULL)
      return BECK_ERR_NOMEM;
    b->ptrs = p;
    b->capviews = b->n;
  }
  if (b->nh > b->caphviews) {
    beck_connector_header_t *h = beck_realloc(b->hviews, b->nh * sizeof *h);
    if (h == NULL)
      return BECK_ERR_NOMEM;
    b->hviews = h;
    b->caphviews = b->nh;
  }
  const uint8_t *d = b->data.data;
  for (size_t k = 0; k < b->nh; k++) {
    const sink_hdr_t *sh = &b->hdrs[k];
    b->hviews[k] = (beck_connector_header_t){.key = (const char *)d + sh->key,
                                             .key_len = sh->key_len,
                                             .value = sh->value == SIZE_MAX ? NULL : d + sh->value,
                                             .value_len = sh->value_len};
  }
  for (size_t k = 0; k < b->n; k++) {
    const sink_rec_t *sr = &b->recs[k];
    const sink_part_t *p = &s->parts[sr->part];
    b->views[k] = (beck_sink_record_t){.topic = p->topic,
                                       .partition = p->partition,
                                       .offset = sr->offset,
                                       .timestamp = sr->timestamp,
                                       .key = sr->key == SIZE_MAX ? NULL : d + sr->key,
                                       .key_len = sr->key_len,
                                       .value = sr->value == SIZE_MAX ? NULL : d + sr->value,
                                       .value_len = sr->value_len,
                                       .headers = sr->nhdr ? &b->hviews[sr->hdr_first] : NULL,
                                       .header_count = sr->nhdr};
    b->ptrs[k] = &b->views[k];
  }
  return BECK_ERR_OK;
}

/* ---- the topic thread --------------------------------------------------------- */

static int64_t reset_position(beck__sink_t *s, sink_part_t *p, beck_error_t *e) {
  int64_t lo, hi;
  if (beck_client_watermarks(s->t->client, p->topic, p->partition, &lo, &hi, e) != BECK_ERR_OK)
    return -1;
  return s->reset_latest ? hi : lo;
}

/* Fetches partition idx into b. Returns 1 if the position moved, 0 if not,
 * -1 on an error (e set). */
static int fill(beck__sink_t *s, sink_batch_t *b, size_t idx, int timeout_ms, beck_error_t *e) {
  sink_part_t *p = &s->parts[idx];
  fetch_arg_t fa = {.s = s, .b = b, .part = (int32_t)idx};
  size_t room = s->t->batch_max_bytes > b->data.len ? s->t->batch_max_bytes - b->data.len : 1;
  int64_t next = p->fetch_pos;
  beck_err_t rc =
      beck_client_fetch(s->t->client, p->topic, p->partition, p->fetch_pos, room, timeout_ms, fetch_cb, &fa, &next, e);
  if (fa.oom)
    return beck_error_set(e, BECK_ERR_NOMEM, "fetch %s-%d: out of memory", p->topic, p->partition), -1;
  if (rc == BECK_ERR_RANGE) {
    beck_error_t e2;
    int64_t to = reset_position(s, p, &e2);
    if (to < 0) {
      *e = e2;
      return -1;
    }
    beck_log(s->t->ctx->log_ctx, BECK_LOG_WARN, "%s; resetting %s-%d to %s offset %lld", e->msg, p->topic, p->partition,
             s->reset_latest ? "latest" : "earliest", (long long)to);
    p->fetch_pos = to;
    b->end_pos[idx] = to;
    return 1;
  }
  if (rc != BECK_ERR_OK)
    return -1;
  if (next > p->fetch_pos) {
    p->fetch_pos = next;
    b->end_pos[idx] = next;
    return 1;
  }
  return 0;
}

static void update_lag(beck__sink_t *s) {
  int64_t lag = 0;
  for (size_t k = 0; k < s->nparts; k++) {
    int64_t lo, hi;
    beck_error_t e;
    if (beck_client_watermarks(s->t->client, s->parts[k].topic, s->parts[k].partition, &lo, &hi, &e) != BECK_ERR_OK)
      return;
    if (hi > s->parts[k].fetch_pos)
      lag += hi - s->parts[k].fetch_pos;
  }
  atomic_store(&s->t->counters.lag, lag);
}

static void *fetch_thread(void *arg) {
  beck__task_t *t = arg;
  beck__sink_t *s = t->impl;
  uint64_t my_epoch = atomic_load(&s->epoch);
  size_t rr = 0;
  int64_t last_lag = 0;
  beck__retry_t retry = {0};
  beck_error_t e;
  while (beck__task_wait_unpaused(t, false)) {
    uint64_t ep = atomic_load(&s->epoch);
    if (ep != my_epoch) {
      pthread_mutex_lock(&s->mu);
      for (size_t k = 0; k < s->nparts; k++)
        s->parts[k].fetch_pos = s->parts[k].rewind_to;
      my_epoch = atomic_load(&s->epoch);
      pthread_mutex_unlock(&s->mu);
      beck_log(t->ctx->log_ctx, BECK_LOG_DEBUG, "fetching again from the last commit (epoch %llu)",
               (unsigned long long)my_epoch);
    }
    sink_batch_t *b = beck__queue_pop(&t->free, 200);
    if (b == NULL)
      continue; /* every batch is queued: backpressure */
    batch_reset(s, b, my_epoch);
    bool moved = false, failed = false;
    for (size_t k = 0; k < s->nparts && !b->full; k++) {
      int r = fill(s, b, (rr + k) % s->nparts, 0, &e);
      if (r < 0) {
        failed = true;
        break;
      }
      moved |= r == 1;
    }
    rr++;
    if (!moved && !failed) {
      int r = fill(s, b, rr % s->nparts, 100, &e);
      failed = r < 0;
      moved = r == 1;
    }
    if (failed) {
      /* what was fetched before the error is good: hand it on */
      if (!(moved && atomic_load(&s->epoch) == my_epoch && beck__queue_push(&t->queue, b)))
        beck__queue_push(&t->free, b);
      if (!beck__task_backoff(t, &retry, &e))
        break;
      continue;
    }
    beck__retry_reset(&retry);
    if (moved && atomic_load(&s->epoch) == my_epoch) {
      if (!beck__queue_push(&t->queue, b))
        break;
    } else {
      beck__queue_push(&t->free, b);
    }
    if (beck__mono_ms() - last_lag >= 1000) {
      update_lag(s);
      last_lag = beck__mono_ms();
    }
  }
  return NULL;
}

/* ---- the plugin thread ----------------------------------------------------------- */

static void clear_rejects(beck__sink_t *s) {
  for (size_t k = 0; k < s->nrejects; k++)
    beck_free(s->rejects[k].msg);
  s->nrejects = 0;
  s->reject_fatal = false;
}

/* Re-delivers everything since the last good flush (after a backoff). */
static void rewind_to_committed(beck__sink_t *s, const beck_error_t *why) {
  beck__task_t *t = s->t;
  atomic_fetch_add(&t->counters.rewinds, 1);
  pthread_mutex_lock(&s->mu);
  for (size_t k = 0; k < s->nparts; k++) {
    s->parts[k].rewind_to = s->parts[k].committed;
    s->parts[k].put_pos = s->parts[k].committed;
  }
  atomic_fetch_add(&s->epoch, 1);
  pthread_mutex_unlock(&s->mu);
  s->dirty = false;
  s->since_flush = 0;
  beck_log(t->ctx->log_ctx, BECK_LOG_DEBUG, "rewinding to the last commit: %s", why->msg);
  /* queued batches of the old epoch are dropped as they come out; the
   * queue is not drained here, it may already hold the new epoch's first */
  beck__task_backoff(t, &s->rewind_retry, why);
}

static void flush_commit(beck__sink_t *s) {
  beck__task_t *t = s->t;
  if (!s->dirty)
    return;
  beck_error_t e;
  int st = beck__ctx_flush(t->ctx, &e);
  if (st == BECK_CONNECTOR_FATAL) {
    beck__task_fail(t, &e);
    return;
  }
  if (st != BECK_CONNECTOR_OK) {
    rewind_to_committed(s, &e);
    return;
  }
  beck__retry_reset(&s->rewind_retry);
  for (size_t k = 0; k < s->nparts; k++) {
    sink_part_t *p = &s->parts[k];
    if (p->put_pos == p->committed)
      continue;
    beck__retry_t retry = {0};
    for (;;) {
      if (beck_client_commit(t->client, s->group, p->topic, p->partition, p->put_pos, &e) == BECK_ERR_OK) {
        p->committed = p->put_pos;
        break;
      }
      /* the data is flushed; a lost commit only means a replay later */
      if (!beck__task_backoff(t, &retry, &e))
        return;
    }
  }
  s->dirty = false;
  s->since_flush = 0;
  s->last_flush_ms = beck__mono_ms();
  atomic_fetch_add(&t->counters.flushes, 1);
  beck_log(t->ctx->log_ctx, BECK_LOG_DEBUG, "flushed and committed");
}

static bool send_rejects(beck__sink_t *s, sink_batch_t *b) {
  beck__task_t *t = s->t;
  if (s->nrejects == 0)
    return true;
  atomic_fetch_add(&t->counters.record_errors, s->nrejects);
  if (t->dlq.topic == NULL)
    return true;
  beck__dlq_entry_t *en = beck_calloc(s->nrejects, sizeof *en);
  size_t nh = 0;
  for (size_t k = 0; k < s->nrejects; k++)
    nh += (size_t)b->views[s->rejects[k].idx].header_count;
  beck_record_header_t *hs = nh ? beck_calloc(nh, sizeof *hs) : NULL;
  beck_error_t e;
  if (en == NULL || (nh && hs == NULL)) {
    beck_free(en);
    beck_free(hs);
    beck_error_set(&e, BECK_ERR_NOMEM, "[%s] dead letters: out of memory", t->ctx->log_ctx);
    beck__task_fail(t, &e);
    return false;
  }
  size_t hi = 0;
  for (size_t k = 0; k < s->nrejects; k++) {
    const beck_sink_record_t *r = &b->views[s->rejects[k].idx];
    en[k] = (beck__dlq_entry_t){.key = beck_nstr(r->key, r->key_len),
                                .value = beck_nstr(r->value, r->value_len),
                                .headers = hs ? &hs[hi] : NULL,
                                .nheaders = r->header_count,
                                .timestamp = r->timestamp,
                                .orig_topic = r->topic,
                                .orig_partition = r->partition,
                                .orig_offset = r->offset,
                                .stage = "TASK_PUT",
                                .error = s->rejects[k].msg};
    for (int32_t j = 0; j < r->header_count; j++)
      hs[hi++] = (beck_record_header_t){.key = beck_slice(r->headers[j].key, (size_t)r->headers[j].key_len),
                                        .value = beck_nstr(r->headers[j].value, r->headers[j].value_len)};
  }
  bool ok = true;
  beck__retry_t retry = {0};
  for (;;) {
    if (beck__dlq_send(&t->dlq, en, (int)s->nrejects, &e) == BECK_ERR_OK) {
      atomic_fetch_add(&t->counters.dead_lettered, s->nrejects);
      break;
    }
    if (!beck__task_backoff(t, &retry, &e)) {
      ok = false;
      break;
    }
  }
  beck_free(en);
  beck_free(hs);
  return ok;
}

/* Puts one batch (retrying RETRY with the same batch). */
static void process(beck__sink_t *s, sink_batch_t *b) {
  beck__task_t *t = s->t;
  beck_error_t e;
  beck_log(t->ctx->log_ctx, BECK_LOG_DEBUG, "put %zu records (epoch %llu)", b->n, (unsigned long long)b->epoch);
  if (b->n > 0) {
    if (batch_seal(s, b) != BECK_ERR_OK) {
      beck_error_set(&e, BECK_ERR_NOMEM, "[%s] out of memory", t->ctx->log_ctx);
      beck__task_fail(t, &e);
      return;
    }
    beck_sink_batch_t view = {.records = b->ptrs, .count = (uint32_t)b->n};
    beck__retry_t retry = {0};
    for (;;) {
      clear_rejects(s);
      s->cur = b;
      int st = beck__ctx_put(t->ctx, &view, &e);
      s->cur = NULL;
      if (s->reject_fatal) {
        beck_error_set(&e, BECK_ERR_INVAL, "[%s] %s", t->ctx->log_ctx, s->reject_msg);
        beck__task_fail(t, &e);
        clear_rejects(s);
        return;
      }
      if (st == BECK_CONNECTOR_OK)
        break;
      if (st == BECK_CONNECTOR_FATAL) {
        beck__task_fail(t, &e);
        clear_rejects(s);
        return;
      }
      if (st == BECK_CONNECTOR_REWIND) {
        clear_rejects(s);
        rewind_to_committed(s, &e);
        return;
      }
      if (!beck__task_backoff(t, &retry, &e)) {
        clear_rejects(s);
        return;
      }
    }
    bool ok = send_rejects(s, b);
    atomic_fetch_add(&t->counters.records, b->n - s->nrejects);
    clear_rejects(s);
    if (!ok)
      return;
    atomic_fetch_add(&t->counters.batches, 1);
  }
  for (size_t k = 0; k < s->nparts; k++)
    if (b->end_pos[k] >= 0)
      s->parts[k].put_pos = b->end_pos[k];
  s->since_flush += b->n;
  s->dirty = true;
}

static bool task_failed(beck__task_t *t) {
  pthread_mutex_lock(&t->mu);
  bool f = t->state == BECK_CONNECT_FAILED;
  pthread_mutex_unlock(&t->mu);
  return f;
}

/* Topics and partitions; waits (with a log line) for topics to exist. */
static bool resolve_partitions(beck__sink_t *s) {
  beck__task_t *t = s->t;
  const char *list = beck__config_string(&t->wcfg, "topics");
  char *copy = beck_strdup(list);
  if (copy == NULL)
    return false;
  bool ok = true, logged = false;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); ok && tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ')
      tok++;
    size_t l = strlen(tok);
    while (l > 0 && tok[l - 1] == ' ')
      tok[--l] = '\0';
    if (l == 0)
      continue;
    int32_t n = 0;
    beck_error_t e;
    for (;;) {
      beck_err_t rc = beck_client_partitions(t->client, tok, &n, &e);
      if (rc == BECK_ERR_OK)
        break;
      if (rc != BECK_ERR_NOTFOUND) {
        beck__task_note_error(t, e.msg);
      } else if (!logged) {
        beck_log(t->ctx->log_ctx, BECK_LOG_INFO, "waiting for topic %s to exist", tok);
        logged = true;
      }
      if (!beck__task_sleep(t, 500)) {
        ok = false;
        break;
      }
    }
    for (int32_t p = 0; ok && p < n; p++) {
      sink_part_t *np = beck_realloc(s->parts, (s->nparts + 1) * sizeof *np);
      char *name = beck_strdup(tok);
      if (np == NULL || name == NULL) {
        beck_free(name);
        if (np)
          s->parts = np;
        ok = false;
        break;
      }
      s->parts = np;
      s->parts[s->nparts++] =
          (sink_part_t){.topic = name, .partition = p, .seek = -1, .committed = -1, .put_pos = -1, .fetch_pos = -1};
    }
  }
  beck_free(copy);
  return ok && s->nparts > 0;
}

/* A sink that keeps its offsets with its data (sink_seek) starts where its
 * data ends, and the group's committed offset may be behind that: a crash
 * between the sink's flush and the group commit. Nothing would commit it
 * until new records came, so the group's lag (`beck group describe`) and a
 * pipeline waiting for its sinks to drain would wait for records that are
 * already written. Bring the group to the sink's position now. */
static bool commit_seek(beck__sink_t *s, sink_part_t *p) {
  beck__task_t *t = s->t;
  beck__retry_t retry = {0};
  beck_error_t e;
  for (;;) {
    int64_t group = -1;
    beck_err_t rc = beck_client_committed(t->client, s->group, p->topic, p->partition, &group, &e);
    if (rc == BECK_ERR_OK && group == p->seek)
      return true;
    if (rc == BECK_ERR_OK &&
        (rc = beck_client_commit(t->client, s->group, p->topic, p->partition, p->seek, &e)) == BECK_ERR_OK) {
      beck_log(t->ctx->log_ctx, BECK_LOG_INFO, "%s-%d: the group's offset %lld brought to the sink's own %lld",
               p->topic, p->partition, (long long)group, (long long)p->seek);
      return true;
    }
    if (!beck__task_backoff(t, &retry, &e))
      return false;
  }
}

static bool init_positions(beck__sink_t *s) {
  beck__task_t *t = s->t;
  for (size_t k = 0; k < s->nparts; k++) {
    sink_part_t *p = &s->parts[k];
    beck__retry_t retry = {0};
    beck_error_t e;
    for (;;) {
      int64_t pos = p->seek;
      beck_err_t rc = BECK_ERR_OK;
      if (pos < 0)
        rc = beck_client_committed(t->client, s->group, p->topic, p->partition, &pos, &e);
      if (rc == BECK_ERR_OK && pos < 0)
        pos = reset_position(s, p, &e);
      if (rc == BECK_ERR_OK && pos >= 0) {
        p->committed = p->put_pos = p->fetch_pos = p->rewind_to = pos;
        break;
      }
      if (!beck__task_backoff(t, &retry, &e))
        return false;
    }
    if (p->seek >= 0 && !commit_seek(s, p))
      return false;
  }
  return true;
}

static void *plugin_thread(void *arg) {
  beck__task_t *t = arg;
  beck__sink_t *s = t->impl;
  beck_error_t e;
  if (!resolve_partitions(s))
    return NULL;
  s->starting = true;
  beck__retry_t retry = {0};
  for (;;) {
    int st = beck__ctx_start(t->ctx, &e);
    if (st == BECK_CONNECTOR_OK)
      break;
    if (st == BECK_CONNECTOR_FATAL) {
      beck__task_fail(t, &e);
      s->starting = false;
      return NULL;
    }
    if (!beck__task_backoff(t, &retry, &e)) {
      s->starting = false;
      return NULL;
    }
  }
  s->starting = false;
  if (!init_positions(s)) {
    beck__ctx_stop(t->ctx, &e);
    return NULL;
  }
  s->batches = beck_calloc(s->nbatches, sizeof *s->batches);
  for (size_t k = 0; s->batches != NULL && k < s->nbatches; k++) {
    s->batches[k].end_pos = beck_calloc(s->nparts, sizeof(int64_t));
    if (s->batches[k].end_pos == NULL)
      break;
    beck__queue_push(&t->free, &s->batches[k]);
  }
  if (s->batches == NULL || beck__queue_len(&t->free) != s->nbatches ||
      pthread_create(&s->fetch_thread, NULL, fetch_thread, t) != 0) {
    beck_error_set(&e, BECK_ERR_NOMEM, "[%s] cannot start the fetch thread", t->ctx->log_ctx);
    beck__task_fail(t, &e);
    beck__ctx_stop(t->ctx, &e);
    return NULL;
  }
  s->fetch_started = true;
  s->last_flush_ms = beck__mono_ms();
  for (;;) {
    if (task_failed(t) || beck__task_stopping(t))
      break;
    pthread_mutex_lock(&t->mu);
    bool paused = t->paused;
    pthread_mutex_unlock(&t->mu);
    if (paused) {
      flush_commit(s);
      if (!beck__task_wait_unpaused(t, true))
        break;
    }
    int64_t timeout = 200;
    if (s->dirty) {
      timeout = s->last_flush_ms + t->flush_interval_ms - beck__mono_ms();
      if (timeout < 0)
        timeout = 0;
      if (timeout > 200)
        timeout = 200;
    }
    sink_batch_t *b = beck__queue_pop(&t->queue, (int)timeout);
    if (b != NULL) {
      if (b->epoch == atomic_load(&s->epoch))
        process(s, b);
      beck__queue_push(&t->free, b);
    }
    if (s->dirty &&
        ((int64_t)s->since_flush >= s->flush_max || beck__mono_ms() - s->last_flush_ms >= t->flush_interval_ms))
      flush_commit(s);
  }
  /* stopping: let the fetcher finish (closing both queues wakes it even
   * when it waits for room), put what it queued, flush, commit */
  beck__queue_close(&t->free);
  beck__queue_close(&t->queue);
  pthread_join(s->fetch_thread, NULL);
  s->fetch_started = false;
  sink_batch_t *b;
  while ((b = beck__queue_pop(&t->queue, 0)) != NULL)
    if (!task_failed(t) && b->epoch == atomic_load(&s->epoch))
      process(s, b);
  if (!task_failed(t))
    flush_commit(s);
  beck__ctx_stop(t->ctx, &e);
  return NULL;
}

/* ---- start / join ------------------------------------------------------------ */

beck_err_t beck__sink_start(beck__task_t *t, beck_error_t *e) {
  beck__sink_free(t);
  beck__sink_t *s = beck_calloc(1, sizeof *s);
  if (s == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "connector %s: out of memory", t->name);
  pthread_mutex_init(&s->mu, NULL);
  s->t = t;
  t->impl = s;
  const char *group = beck__config_string(&t->wcfg, "group.id");
  char def[256];
  snprintf(def, sizeof def, "connect-%s", t->name);
  s->group = beck_strdup(group ? group : def);
  if (s->group == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "connector %s: out of memory", t->name);
  s->reset_latest = strcmp(beck__config_string(&t->wcfg, "auto.offset.reset"), "latest") == 0;
  s->flush_max = beck__config_int(&t->wcfg, "flush.max.records");
  s->nbatches = t->queue_max + 1;
  atomic_init(&s->epoch, 1);
  if (pthread_create(&t->plugin_thread, NULL, plugin_thread, t) != 0)
    return beck_error_set(e, BECK_ERR_NOMEM, "connector %s: cannot start a thread", t->name);
  t->threads_started = true;
  return BECK_ERR_OK;
}

void beck__sink_join(beck__task_t *t) {
  if (t->threads_started) {
    pthread_join(t->plugin_thread, NULL);
    t->threads_started = false;
  }
  while (beck__queue_pop(&t->free, 0) != NULL)
    ;
  while (beck__queue_pop(&t->queue, 0) != NULL)
    ;
}

void beck__sink_free(beck__task_t *t) {
  beck__sink_t *s = t->impl;
  if (s == NULL)
    return;
  for (size_t k = 0; k < s->nparts; k++)
    beck_free(s->parts[k].topic);
  beck_free(s->parts);
  for (size_t k = 0; s->batches != NULL && k < s->nbatches; k++) {
    sink_batch_t *b = &s->batches[k];
    beck_buf_free(&b->data);
    beck_free(b->recs);
    beck_free(b->hdrs);
    beck_free(b->end_pos);
    beck_free(b->views);
    beck_free(b->ptrs);
    beck_free(b->hviews);
  }
  beck_free(s->batches);
  clear_rejects(s);
  beck_free(s->rejects);
  beck_free(s->group);
  pthread_mutex_destroy(&s->mu);
  beck_free(s);
  t->impl = NULL;
}
