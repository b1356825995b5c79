/*
 * task_source.c - a running source connector: the plugin thread polls
 * batches, the topic thread produces them (acks=all) with their offsets.
 *
 *   plugin thread                        topic thread
 *   start (recovered offsets)
 *   loop: free -> poll -> seq++ -> queue  loop: queue -> DLQ errors -> place
 *         commit() when durable_seq moved        records -> checkpoint if a new
 *                                                partition -> produce with
 *                                                markers -> offsets, durable_seq
 *                                                -> free; checkpoint every
 *                                                offset.flush.interval
 *
 * Invariants:
 *   - batches are produced strictly in seq order, one at a time, and a
 *     failed produce is retried with the same seq and the same partition
 *     choice, so markers of one seq always describe the same groups;
 *   - `offs` (offsets, positions, seq) changes only on the topic thread,
 *     after the batch it describes is durable; offset_get reads it under
 *     off_mu;
 *   - the plugin's callbacks run on the plugin thread, or on the stopping
 *     thread after the plugin thread has been joined.
 * The scheme and its guarantee are described in offsets.c.
 */
#include "worker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"

typedef struct src_batch {
  beck_source_batch_t b;
  uint64_t seq;
} src_batch_t;

typedef struct pcount {
  char *topic;
  int32_t n;
} pcount_t;

typedef struct beck__source {
  beck__task_t *t;
  src_batch_t *batches;
  size_t nbatches;
  const char *topic;
  int32_t topic_partitions;

  pthread_mutex_t off_mu;
  beck__soffsets_t offs; /* durable state; written by the topic thread */
  char *offset_copy;     /* last offset_get answer */
  uint64_t next_seq;     /* plugin thread */
  atomic_uint_fast64_t durable_seq;
  uint64_t committed_seq; /* plugin thread: last seq commit() was called for */
  int64_t last_checkpoint_ms;
  bool dirty;

  pcount_t *pcounts;
  size_t npcounts;
  uint32_t sticky;

  /* topic thread scratch, grown as needed */
  beck_client_record_t *crecs;
  int64_t *produced; /* offset each data record got, by position in order */
  int32_t *parts;
  int *order;
  beck_record_header_t *hdrs;
  size_t cap_recs, cap_hdrs;
} beck__source_t;

/* ---- hooks from the plugin ---------------------------------------------- */

static const char *hook_offset_get(void *arg, const char *spart) {
  beck__task_t *t = arg;
  beck__source_t *s = t->impl;
  if (s == NULL)
    return NULL; /* called from create(): offsets are known from start() on */
  pthread_mutex_lock(&s->off_mu);
  const char *v = beck__soffsets_get(&s->offs, spart);
  beck_free(s->offset_copy);
  s->offset_copy = v ? beck_strdup(v) : NULL;
  pthread_mutex_unlock(&s->off_mu);
  return s->offset_copy;
}

const beck__ctx_hooks_t beck__source_hooks = {.offset_get = hook_offset_get};

/* ---- placing records ------------------------------------------------------- */

static beck_err_t partition_count(beck__source_t *s, const char *topic, int32_t *out, beck_error_t *e) {
  for (size_t k = 0; k < s->npcounts; k++)
    if (strcmp(s->pcounts[k].topic, topic) == 0) {
      *out = s->pcounts[k].n;
      return BECK_ERR_OK;
    }
  int32_t n = 0;
  beck_err_t rc = beck_client_partitions(s->t->client, topic, &n, e);
  if (rc == BECK_ERR_NOTFOUND) {
    rc = beck_client_create_topic(s->t->client, topic, s->topic_partitions, NULL, NULL, 0, true, e);
    if (rc == BECK_ERR_OK)
      rc = beck_client_partitions(s->t->client, topic, &n, e);
  }
  if (rc != BECK_ERR_OK)
    return rc;
  pcount_t *np = beck_realloc(s->pcounts, (s->npcounts + 1) * sizeof *np);
  char *name = beck_strdup(topic);
  if (np == NULL || name == NULL) {
    beck_free(name);
    if (np != NULL)
      s->pcounts = np;
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  }
  s->pcounts = np;
  s->pcounts[s->npcounts++] = (pcount_t){.topic = name, .n = n};
  *out = n;
  return BECK_ERR_OK;
}

static beck_err_t grow_scratch(beck__source_t *s, size_t nrecs, size_t nhdrs) {
  if (nrecs > s->cap_recs) {
    beck_client_record_t *a = beck_realloc(s->crecs, nrecs * sizeof *a);
    if (a == NULL)
      return BECK_ERR_NOMEM;
    s->crecs = a;
    int64_t *o = beck_realloc(s->produced, nrecs * sizeof *o);
    if (o == NULL)
      return BECK_ERR_NOMEM;
    s->produced = o;
    int32_t *b = beck_realloc(s->parts, nrecs * sizeof *b);
    if (b == NULL)
      return BECK_ERR_NOMEM;
    s->parts = b;
    int *c = beck_realloc(s->order, nrecs * sizeof *c);
    if (c == NULL)
      return BECK_ERR_NOMEM;
    s->order = c;
    s->cap_recs = nrecs;
  }
  if (nhdrs > s->cap_hdrs) {
    beck_record_header_t *h = beck_realloc(s->hdrs, nhdrs * sizeof *h);
    if (h == NULL)
      return BECK_ERR_NOMEM;
    s->hdrs = h;
    s->cap_hdrs = nhdrs;
  }
  return BECK_ERR_OK;
}

static const char *rec_topic(const beck__source_t *s, const beck_source_batch_t *b, const beck__srec_t *r) {
  const char *t = beck__srec_str(b, r->topic);
  return t ? t : s->topic;
}

/* ---- producing one batch ------------------------------------------------ */

/* Dead-letters the batch's conversion errors (or fails under tolerance
 * none). Returns false when the task failed. */
static bool handle_errors(beck__source_t *s, src_batch_t *sb) {
  beck__task_t *t = s->t;
  beck_source_batch_t *b = &sb->b;
  if (b->nerrors == 0)
    return true;
  beck_error_t e;
  if (!t->tolerate_all) {
    for (size_t k = 0; k < b->n; k++) {
      const beck__srec_t *r = &b->recs[k];
      if (r->error == SIZE_MAX)
        continue;
      const char *soff = beck__srec_str(b, r->soff);
      beck_error_set(&e, BECK_ERR_INVAL, "[%s] record from %s%s%s could not be converted: %s (errors.tolerance=none)",
                     t->ctx->log_ctx, beck__srec_str(b, r->spart), soff ? " at " : "", soff ? soff : "",
                     beck__srec_str(b, r->error));
      beck__task_fail(t, &e);
      return false;
    }
  }
  atomic_fetch_add(&t->counters.record_errors, b->nerrors);
  static beck_log_limit_t lim;
  beck__dlq_entry_t *entries = beck_calloc(b->nerrors, sizeof *entries);
  beck_record_header_t *hs = NULL;
  size_t nh = 0, k2 = 0;
  for (size_t k = 0; k < b->n; k++)
    if (b->recs[k].error != SIZE_MAX)
      nh += (size_t)b->recs[k].nheaders;
  if (nh > 0)
    hs = beck_calloc(nh, sizeof *hs);
  if (entries == NULL || (nh > 0 && hs == NULL)) {
    beck_free(entries);
    beck_free(hs);
    beck_error_set(&e, BECK_ERR_NOMEM, "[%s] dead letters: out of memory", t->ctx->log_ctx);
    beck__task_fail(t, &e);
    return false;
  }
  size_t hi = 0;
  for (size_t k = 0; k < b->n; k++) {
    const beck__srec_t *r = &b->recs[k];
    if (r->error == SIZE_MAX)
      continue;
    beck__dlq_entry_t *en = &entries[k2++];
    en->key = beck_nstr(beck__srec_ptr(b, r->key), r->key_len);
    en->value = beck_nstr(beck__srec_ptr(b, r->value), r->value_len);
    en->timestamp = r->timestamp;
    en->stage = "TASK_POLL";
    en->error = beck__srec_str(b, r->error);
    en->headers = hs ? &hs[hi] : NULL;
    for (int32_t j = 0; j < r->nheaders; j++) {
      beck_connector_header_t ch;
      beck__srec_header(b, r, j, &ch);
      hs[hi++] = (beck_record_header_t){.key = beck_slice(ch.key, (size_t)ch.key_len),
                                        .value = beck_nstr(ch.value, ch.value_len)};
    }
    en->nheaders = r->nheaders;
    if (t->log_errors)
      beck_log_limited(&lim, 10, 10000, t->ctx->log_ctx, BECK_LOG_WARN, "record from %s skipped: %s",
                       beck__srec_str(b, r->spart), en->error);
  }
  bool ok = true;
  if (t->dlq.topic != NULL) {
    beck__retry_t retry = {0};
    for (;;) {
      if (beck__dlq_send(&t->dlq, entries, (int)k2, &e) == BECK_ERR_OK) {
        atomic_fetch_add(&t->counters.dead_lettered, k2);
        break;
      }
      if (!beck__task_backoff(t, &retry, &e)) {
        ok = false;
        break;
      }
    }
  }
  beck_free(entries);
  beck_free(hs);
  return ok;
}

/* Places data records (topic, partition) and orders them by group. Returns
 * the number of data records (in s->order) and the number of groups. */
static beck_err_t place(beck__source_t *s, src_batch_t *sb, size_t *ndata, int *ngroups, beck_error_t *e) {
  beck_source_batch_t *b = &sb->b;
  size_t n = 0;
  for (size_t k = 0; k < b->n; k++) {
    const beck__srec_t *r = &b->recs[k];
    if (r->error != SIZE_MAX)
      continue;
    const char *topic = rec_topic(s, b, r);
    int32_t np;
    beck_err_t rc = partition_count(s, topic, &np, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "topic %s", topic);
    int32_t p = r->partition;
    if (p >= np)
      return beck_error_set(e, BECK_ERR_RANGE, "record for %s partition %d, which has only %d partitions", topic, p,
                            np);
    if (p < 0)
      p = r->key_len >= 0 ? beck_client_partition_for_key(beck__srec_ptr(b, r->key), (size_t)r->key_len, np)
                          : (int32_t)((s->sticky + sb->seq) % (uint32_t)np);
    s->parts[k] = p;
    s->order[n++] = (int)k;
  }
  /* stable insertion sort by (topic, partition): batches are small and
   * mostly one group, so this is nearly linear */
  for (size_t i = 1; i < n; i++) {
    int cur = s->order[i];
    const char *ct = rec_topic(s, b, &b->recs[cur]);
    size_t j = i;
    while (j > 0) {
      int prev = s->order[j - 1];
      int c = strcmp(rec_topic(s, b, &b->recs[prev]), ct);
      if (c < 0 || (c == 0 && s->parts[prev] <= s->parts[cur]))
        break;
      s->order[j] = prev;
      j--;
    }
    s->order[j] = cur;
  }
  int g = 0;
  for (size_t i = 0; i < n; i++) {
    int k = s->order[i];
    if (i == 0 || s->parts[k] != s->parts[s->order[i - 1]] ||
        strcmp(rec_topic(s, b, &b->recs[k]), rec_topic(s, b, &b->recs[s->order[i - 1]])) != 0)
      g++;
  }
  *ndata = n;
  *ngroups = g;
  return BECK_ERR_OK;
}

static void checkpoint(beck__source_t *s, bool must) {
  beck__task_t *t = s->t;
  beck_error_t e;
  beck__retry_t retry = {0};
  for (;;) {
    pthread_mutex_lock(&s->off_mu);
    beck_err_t rc = beck__checkpoint_write(t->client, t->offsets_topic, t->id, &s->offs, &e);
    pthread_mutex_unlock(&s->off_mu);
    if (rc == BECK_ERR_OK) {
      s->dirty = false;
      s->last_checkpoint_ms = beck__mono_ms();
      return;
    }
    if (!must) {
      beck_log(t->ctx->log_ctx, BECK_LOG_WARN, "%s (will try again)", e.msg);
      return;
    }
    if (!beck__task_backoff(t, &retry, &e))
      return;
  }
}

/* Produces one batch until it is durable (with retries). Returns false when
 * the task failed or is stopping without having written it. */
static bool produce_batch(beck__source_t *s, src_batch_t *sb) {
  beck__task_t *t = s->t;
  beck_source_batch_t *b = &sb->b;
  beck_error_t e;
  if (!handle_errors(s, sb))
    return false;
  size_t nh = 0;
  for (size_t k = 0; k < b->n; k++)
    nh += (size_t)b->recs[k].nheaders + 1;
  if (grow_scratch(s, b->n, nh) != BECK_ERR_OK) {
    beck_error_set(&e, BECK_ERR_NOMEM, "[%s] out of memory", t->ctx->log_ctx);
    beck__task_fail(t, &e);
    return false;
  }

  /* the batch's newest offset per source partition, errors included */
  beck__soffsets_t boffs = {0};
  for (size_t k = 0; k < b->n; k++) {
    const char *soff = beck__srec_str(b, b->recs[k].soff);
    if (soff != NULL && beck__soffsets_set(&boffs, beck__srec_str(b, b->recs[k].spart), soff) != BECK_ERR_OK) {
      beck__soffsets_free(&boffs);
      beck_error_set(&e, BECK_ERR_NOMEM, "[%s] out of memory", t->ctx->log_ctx);
      beck__task_fail(t, &e);
      return false;
    }
  }

  size_t ndata = 0;
  int ngroups = 0;
  char *marker = NULL;
  beck__retry_t retry = {0};
  bool ok = false;
  bool placed = false;
  for (;;) {
    beck_err_t rc = BECK_ERR_OK;
    if (!placed) {
      rc = place(s, sb, &ndata, &ngroups, &e);
      if (rc == BECK_ERR_RANGE) {
        beck_error_wrap(&e, "[%s]", t->ctx->log_ctx);
        beck__task_fail(t, &e);
        break;
      }
      placed = rc == BECK_ERR_OK;
    }
    if (placed && marker == NULL && ndata > 0) {
      marker = beck__marker_encode(t->id, sb->seq, ngroups, &boffs);
      if (marker == NULL) {
        beck_error_set(&e, BECK_ERR_NOMEM, "[%s] out of memory", t->ctx->log_ctx);
        beck__task_fail(t, &e);
        break;
      }
    }
    /* every partition the batch touches needs a scan position first */
    bool need_cp = false;
    for (size_t i = 0; rc == BECK_ERR_OK && placed && i < ndata; i++) {
      int k = s->order[i];
      const char *topic = rec_topic(s, b, &b->recs[k]);
      if (beck__soffsets_pos(&s->offs, topic, s->parts[k]) >= 0)
        continue;
      int64_t lo, hi;
      rc = beck_client_watermarks(t->client, topic, s->parts[k], &lo, &hi, &e);
      if (rc == BECK_ERR_OK) {
        pthread_mutex_lock(&s->off_mu);
        rc = beck__soffsets_set_pos(&s->offs, topic, s->parts[k], hi);
        pthread_mutex_unlock(&s->off_mu);
        need_cp = true;
      }
    }
    if (rc == BECK_ERR_OK && need_cp) {
      checkpoint(s, true);
      if (beck__task_stopping(t) && s->dirty)
        break;
    }
    /* produce topic by topic; groups are contiguous in s->order */
    size_t i = 0;
    while (rc == BECK_ERR_OK && placed && i < ndata) {
      const char *topic = rec_topic(s, b, &b->recs[s->order[i]]);
      size_t j = i, h = 0;
      for (; j < ndata && strcmp(rec_topic(s, b, &b->recs[s->order[j]]), topic) == 0; j++) {
        int k = s->order[j];
        const beck__srec_t *r = &b->recs[k];
        beck_client_record_t *cr = &s->crecs[j - i];
        cr->partition = s->parts[k];
        cr->timestamp = r->timestamp;
        cr->key = beck_nstr(beck__srec_ptr(b, r->key), r->key_len);
        cr->value = beck_nstr(beck__srec_ptr(b, r->value), r->value_len);
        cr->headers = &s->hdrs[h];
        for (int32_t x = 0; x < r->nheaders; x++) {
          beck_connector_header_t ch;
          beck__srec_header(b, r, x, &ch);
          s->hdrs[h++] = (beck_record_header_t){.key = beck_slice(ch.key, (size_t)ch.key_len),
                                                .value = beck_nstr(ch.value, ch.value_len)};
        }
        bool last = j + 1 == ndata || s->parts[s->order[j + 1]] != s->parts[k] ||
                    strcmp(rec_topic(s, b, &b->recs[s->order[j + 1]]), topic) != 0;
        if (last)
          s->hdrs[h++] = (beck_record_header_t){.key = beck_slice_cstr(BECK_CONNECT_SOURCE_HEADER),
                                                .value = beck_nstr(marker, (int32_t)strlen(marker))};
        cr->nheaders = (int)(&s->hdrs[h] - cr->headers);
      }
      rc = beck_client_produce(t->client, topic, s->crecs, (int)(j - i), &s->produced[i], NULL, &e);
      if (rc != BECK_ERR_OK)
        beck_error_wrap(&e, "[%s] batch %llu", t->ctx->log_ctx, (unsigned long long)sb->seq);
      i = j;
    }
    if (rc == BECK_ERR_OK) {
      ok = true;
      break;
    }
    if (!beck__task_backoff(t, &retry, &e))
      break;
  }
  if (ok) {
    pthread_mutex_lock(&s->off_mu);
    for (size_t k = 0; k < boffs.n; k++)
      if (beck__soffsets_set(&s->offs, boffs.sparts[k], boffs.soffs[k]) != BECK_ERR_OK)
        ok = false;
    /* scan positions move past the batch: the next batch's markers follow */
    for (size_t i = 0; i < ndata; i++) {
      int k = s->order[i];
      bool last = i + 1 == ndata || s->parts[s->order[i + 1]] != s->parts[k] ||
                  strcmp(rec_topic(s, b, &b->recs[s->order[i + 1]]), rec_topic(s, b, &b->recs[k])) != 0;
      if (last && beck__soffsets_set_pos(&s->offs, rec_topic(s, b, &b->recs[k]), s->parts[k], s->produced[i] + 1) !=
                      BECK_ERR_OK)
        ok = false;
    }
    s->offs.seq = sb->seq;
    pthread_mutex_unlock(&s->off_mu);
    s->dirty = true;
    atomic_store(&s->durable_seq, sb->seq);
    atomic_fetch_add(&t->counters.records, ndata);
    atomic_fetch_add(&t->counters.batches, 1);
    /* no data record carries this batch's offsets: checkpoint them now */
    if (ndata == 0 && boffs.n > 0)
      checkpoint(s, true);
  }
  beck__soffsets_free(&boffs);
  free(marker);
  return ok;
}

/* ---- threads --------------------------------------------------------------- */

static void *topic_thread(void *arg) {
  beck__task_t *t = arg;
  beck__source_t *s = t->impl;
  for (;;) {
    int64_t wait = t->flush_interval_ms;
    if (s->dirty) {
      int64_t due = s->last_checkpoint_ms + t->flush_interval_ms - beck__mono_ms();
      wait = due < 0 ? 0 : due;
    }
    src_batch_t *sb = beck__queue_pop(&t->queue, (int)(wait > 1000000 ? 1000000 : wait));
    if (sb == NULL) {
      if (s->dirty)
        checkpoint(s, false);
      pthread_mutex_lock(&t->queue.mu);
      bool done = t->queue.closed && t->queue.n == 0;
      pthread_mutex_unlock(&t->queue.mu);
      if (done)
        break;
      continue;
    }
    bool ok = produce_batch(s, sb);
    beck__queue_push(&t->free, sb);
    if (!ok && !beck__task_stopping(t)) {
      beck_error_t e;
      beck_error_set(&e, BECK_ERR_IO, "[%s] batch %llu was not written", t->ctx->log_ctx, (unsigned long long)sb->seq);
      beck__task_fail(t, &e);
    }
    if (!ok)
      break;
    if (s->dirty && beck__mono_ms() - s->last_checkpoint_ms >= t->flush_interval_ms)
      checkpoint(s, false);
  }
  if (s->dirty)
    checkpoint(s, false);
  return NULL;
}

static void maybe_commit(beck__task_t *t, beck__source_t *s) {
  uint64_t d = atomic_load(&s->durable_seq);
  if (d == s->committed_seq)
    return;
  s->committed_seq = d;
  beck_error_t e;
  if (beck__ctx_commit(t->ctx, &e) == BECK_CONNECTOR_FATAL)
    beck__task_fail(t, &e);
}

static void *plugin_thread(void *arg) {
  beck__task_t *t = arg;
  beck__source_t *s = t->impl;
  beck_error_t e;
  beck__retry_t retry = {0};
  for (;;) {
    int st = beck__ctx_start(t->ctx, &e);
    if (st == BECK_CONNECTOR_OK)
      break;
    if (st == BECK_CONNECTOR_FATAL) {
      beck__task_fail(t, &e);
      beck__queue_close(&t->queue);
      return NULL;
    }
    if (!beck__task_backoff(t, &retry, &e)) {
      beck__queue_close(&t->queue);
      return NULL;
    }
  }
  beck__retry_reset(&retry);
  while (beck__task_wait_unpaused(t, true)) {
    src_batch_t *sb = beck__queue_pop(&t->free, 200);
    if (sb == NULL) {
      maybe_commit(t, s);
      continue; /* all batches queued: backpressure */
    }
    beck__source_batch_reset(&sb->b);
    int st = beck__ctx_poll(t->ctx, &sb->b, &e);
    if (st == BECK_CONNECTOR_FATAL) {
      beck__queue_push(&t->free, sb);
      beck__task_fail(t, &e);
      break;
    }
    if (st != BECK_CONNECTOR_OK) {
      beck__queue_push(&t->free, sb);
      if (!beck__task_backoff(t, &retry, &e))
        break;
      continue;
    }
    beck__retry_reset(&retry);
    if (sb->b.n == 0) {
      beck__queue_push(&t->free, sb);
    } else {
      sb->seq = ++s->next_seq;
      if (!beck__queue_push(&t->queue, sb))
        break;
    }
    maybe_commit(t, s);
  }
  beck__queue_close(&t->queue);
  return NULL;
}

/* ---- start / join ----------------------------------------------------------- */

static void source_free(beck__source_t *s) {
  if (s == NULL)
    return;
  for (size_t k = 0; k < s->nbatches; k++)
    beck__source_batch_free(&s->batches[k].b);
  beck_free(s->batches);
  beck__soffsets_free(&s->offs);
  beck_free(s->offset_copy);
  for (size_t k = 0; k < s->npcounts; k++)
    beck_free(s->pcounts[k].topic);
  beck_free(s->pcounts);
  beck_free(s->crecs);
  beck_free(s->produced);
  beck_free(s->parts);
  beck_free(s->order);
  beck_free(s->hdrs);
  pthread_mutex_destroy(&s->off_mu);
  beck_free(s);
}

beck_err_t beck__source_start(beck__task_t *t, beck_error_t *e) {
  beck__source_t *s = t->impl;
  if (s == NULL) {
    s = beck_calloc(1, sizeof *s);
    if (s == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "connector %s: out of memory", t->name);
    pthread_mutex_init(&s->off_mu, NULL);
    s->t = t;
    t->impl = s;
  }
  s->topic = beck__config_string(&t->wcfg, "topic");
  s->topic_partitions = (int32_t)beck__config_int(&t->wcfg, "topic.partitions");
  s->sticky = (uint32_t)beck__mono_ms();
  beck__soffsets_free(&s->offs);
  int32_t np;
  beck_err_t rc = partition_count(s, s->topic, &np, e);
  if (rc == BECK_ERR_OK)
    rc = beck__soffsets_recover(t->client, t->offsets_topic, t->id, &s->offs, e);
  /* from here on every partition of the topic has a scan position */
  for (int32_t p = 0; rc == BECK_ERR_OK && p < np; p++) {
    int64_t lo, hi;
    rc = beck_client_watermarks(t->client, s->topic, p, &lo, &hi, e);
    if (rc == BECK_ERR_OK)
      rc = beck__soffsets_set_pos(&s->offs, s->topic, p, hi);
  }
  for (size_t k = 0; rc == BECK_ERR_OK && k < s->offs.npos; k++) {
    int64_t lo, hi;
    if (strcmp(s->offs.pos[k].topic, s->topic) == 0)
      continue;
    if (beck_client_watermarks(t->client, s->offs.pos[k].topic, s->offs.pos[k].partition, &lo, &hi, e) == BECK_ERR_OK)
      s->offs.pos[k].next = hi;
  }
  if (rc == BECK_ERR_OK)
    rc = beck__checkpoint_write(t->client, t->offsets_topic, t->id, &s->offs, e);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "connector %s", t->name);
  s->next_seq = s->offs.seq;
  atomic_store(&s->durable_seq, s->offs.seq);
  s->committed_seq = s->offs.seq;
  s->last_checkpoint_ms = beck__mono_ms();
  s->dirty = false;
  if (s->offs.n > 0)
    beck_log(t->ctx->log_ctx, BECK_LOG_INFO, "resuming after batch %llu (%zu source partition%s)",
             (unsigned long long)s->offs.seq, s->offs.n, s->offs.n == 1 ? "" : "s");

  if (s->batches == NULL) {
    s->nbatches = t->queue_max + 1;
    s->batches = beck_calloc(s->nbatches, sizeof *s->batches);
    if (s->batches == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "connector %s: out of memory", t->name);
    for (size_t k = 0; k < s->nbatches; k++)
      beck__source_batch_init(&s->batches[k].b, t->batch_max_records, t->batch_max_bytes);
  }
  for (size_t k = 0; k < s->nbatches; k++)
    beck__queue_push(&t->free, &s->batches[k]);
  if (pthread_create(&t->topic_thread, NULL, topic_thread, t) != 0)
    return beck_error_set(e, BECK_ERR_NOMEM, "connector %s: cannot start a thread", t->name);
  if (pthread_create(&t->plugin_thread, NULL, plugin_thread, t) != 0) {
    beck__queue_close(&t->queue);
    pthread_join(t->topic_thread, NULL);
    return beck_error_set(e, BECK_ERR_NOMEM, "connector %s: cannot start a thread", t->name);
  }
  t->threads_started = true;
  return BECK_ERR_OK;
}

void beck__source_join(beck__task_t *t) {
  beck__source_t *s = t->impl;
  if (t->threads_started) {
    pthread_join(t->plugin_thread, NULL);
    beck__queue_close(&t->queue);
    pthread_join(t->topic_thread, NULL);
    t->threads_started = false;
    beck_error_t e;
    maybe_commit(t, s);
    beck__ctx_stop(t->ctx, &e);
  }
  /* empty the free list so a restart refills it */
  while (beck__queue_pop(&t->free, 0) != NULL)
    ;
}

void beck__source_free(beck__task_t *t) {
  source_free(t->impl);
  t->impl = NULL;
}
