/*
 * embedded.c - the embedded log client: direct calls into the topic registry
 * (core/topic) and the partition logs (core/log) of one data directory, in
 * this process, with no sockets.
 *
 * Semantics match the broker's so a pipeline behaves the same embedded or
 * remote:
 *   - produce builds one RecordBatch v2 per partition (split at the topic's
 *     max.message.bytes), appends it, and under fsync.policy=always waits for
 *     the group commit to cover it (acks=all);
 *   - the high watermark is the durable offset under fsync.policy=always,
 *     else the log end (core/broker/durability.c beck__high_watermark);
 *   - fetch reads whole batches up to the high watermark, checks each CRC,
 *     decompresses, skips records below the requested offset and control
 *     batches, and long-polls on a per-partition condition variable that
 *     producers broadcast after their records become visible;
 *   - committed offsets live in the metadata store (sqlite, synchronous=FULL);
 *   - a partition a transaction has written (txn.c) shows records only up
 *     to its last stable offset: the high watermark is min(the above, the
 *     stable offset), and plain produces to it go through txn.c.
 *
 * Locking (order and the transaction locks: embedded_int.h):
 *   reg_mu          every call into the registry and the metadata store
 *                   (neither is thread-safe). Never held during log I/O, so
 *                   appends and reads on different partitions run in parallel
 *                   (each beck_plog_t has its own lock and group commit).
 *   emb_part.mu     per partition (hung on beck_partition_t.user): fetchers
 *                   waiting for the high watermark to pass their offset.
 *   emb_part.wmu    per partition: a plain append and the check that the
 *                   partition is not enlisted in transactions.
 *   hk_mu           the housekeeping thread's sleep and stop flag.
 * A beck_partition_t found under reg_mu stays valid until close: this client
 * never deletes topics or removes partitions.
 *
 * Housekeeping (one thread, like the broker's tick): syncs logs under
 * fsync.policy=interval when due, and every five minutes enforces retention
 * and compacts compacted topics (both under txn_mu, so they never see
 * records of a transaction commit in flight).
 */
#include "client/embedded_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "record/codec.h"
#include "topic/topics.h"

#define HOUSEKEEPING_TICK_MS 200
#define RETENTION_CHECK_MS 300000
#define DECOMPRESS_MAX ((size_t)1 << 30)

static int cond_init_monotonic(pthread_cond_t *c) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
  return rc;
}

static void cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline_ms) {
  struct timespec ts = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000};
  pthread_cond_timedwait(c, m, &ts);
}

/* What readers may see: durable (or written) records below the stable
 * offset of an enlisted partition. */
static int64_t high_watermark(beck_partition_t *p) {
  int64_t hw = p->topic->cfg.log.fsync_policy == BECK_FSYNC_ALWAYS ? beck_plog_durable_offset(p->log)
                                                                   : beck_plog_end_offset(p->log);
  int64_t stable = beck__emb_stable(p->user);
  return stable < hw ? stable : hw;
}

void beck__emb_part_notify(beck_partition_t *p) {
  emb_part_t *ep = p->user;
  pthread_mutex_lock(&ep->mu);
  pthread_cond_broadcast(&ep->cond);
  pthread_mutex_unlock(&ep->mu);
}

beck_err_t beck__emb_part_attach(beck_partition_t *p, beck_error_t *e) {
  if (p->user)
    return BECK_ERR_OK;
  emb_part_t *ep = beck_calloc(1, sizeof *ep);
  if (ep == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "partition %s-%d: out of memory", p->topic->name, p->id);
  pthread_mutex_init(&ep->mu, NULL);
  pthread_mutex_init(&ep->wmu, NULL);
  cond_init_monotonic(&ep->cond);
  ep->stable = BECK__EMB_NOT_TXN;
  p->user = ep;
  return BECK_ERR_OK;
}

static void part_detach(beck_partition_t *p) {
  emb_part_t *ep = p->user;
  if (ep == NULL)
    return;
  pthread_mutex_destroy(&ep->mu);
  pthread_mutex_destroy(&ep->wmu);
  pthread_cond_destroy(&ep->cond);
  beck_free(ep);
  p->user = NULL;
}

/* Under reg_mu. */
static beck_err_t find_topic(emb_client_t *ec, const char *topic, beck_topic_t **out, beck_error_t *e) {
  beck_topic_t *t = beck_topics_find(ec->ts, topic, strlen(topic));
  if (t == NULL)
    return beck_error_set(e, BECK_ERR_NOTFOUND, "topic '%s' does not exist", topic);
  *out = t;
  return BECK_ERR_OK;
}

beck_err_t beck__emb_find_partition_locked(emb_client_t *ec, const char *topic, int32_t partition,
                                           beck_partition_t **out, beck_error_t *e) {
  beck_topic_t *t = NULL;
  beck_err_t err = find_topic(ec, topic, &t, e);
  if (err)
    return err;
  if (partition < 0 || partition >= t->npartitions)
    return beck_error_set(e, BECK_ERR_NOTFOUND, "partition %s-%d does not exist (the topic has %d)", topic, partition,
                          t->npartitions);
  beck_partition_t *p = t->partitions[partition];
  if ((err = beck__emb_part_attach(p, e)))
    return err;
  *out = p;
  return BECK_ERR_OK;
}

static beck_err_t find_partition(emb_client_t *ec, const char *topic, int32_t partition, beck_partition_t **out,
                                 beck_error_t *e) {
  pthread_mutex_lock(&ec->reg_mu);
  beck_err_t err = beck__emb_find_partition_locked(ec, topic, partition, out, e);
  pthread_mutex_unlock(&ec->reg_mu);
  return err;
}

/* ---- topics -------------------------------------------------------------- */

static beck_err_t emb_create_topic(beck_client_t *c, const char *topic, int32_t partitions, const char *const *keys,
                                   const char *const *values, int n, bool exist_ok, beck_error_t *e) {
  emb_client_t *ec = (emb_client_t *)c;
  pthread_mutex_lock(&ec->reg_mu);
  beck_err_t err = BECK_ERR_OK;
  if (beck_topics_find(ec->ts, topic, strlen(topic))) {
    if (!exist_ok)
      err = beck_error_set(e, BECK_ERR_EXISTS, "topic '%s' already exists", topic);
  } else {
    err = beck_topics_create(ec->ts, topic, partitions, keys, values, n, false, NULL, e);
  }
  pthread_mutex_unlock(&ec->reg_mu);
  return err;
}

static beck_err_t emb_partitions(beck_client_t *c, const char *topic, bool fresh, int32_t *out, beck_error_t *e) {
  emb_client_t *ec = (emb_client_t *)c;
  pthread_mutex_lock(&ec->reg_mu);
  beck_topic_t *t = NULL;
  beck_err_t err = find_topic(ec, topic, &t, e);
  if (!err)
    *out = t->npartitions;
  pthread_mutex_unlock(&ec->reg_mu);
  return err;
}

static beck_err_t emb_watermarks(beck_client_t *c, const char *topic, int32_t partition, int64_t *start, int64_t *high,
                                 beck_error_t *e) {
  beck_partition_t *p;
  beck_err_t err = find_partition((emb_client_t *)c, topic, partition, &p, e);
  if (err)
    return err;
  /* the high watermark first: the start only grows, so start <= high holds */
  *high = high_watermark(p);
  *start = beck_plog_start_offset(p->log);
  return BECK_ERR_OK;
}

/* ---- produce ------------------------------------------------------------- */

static int cmp_by_partition(const void *a, const void *b, void *arg) {
  const int32_t *parts = arg;
  int ia = *(const int *)a, ib = *(const int *)b;
  if (parts[ia] != parts[ib])
    return parts[ia] < parts[ib] ? -1 : 1;
  return ia < ib ? -1 : ia > ib; /* stable: record order within a partition */
}

beck_err_t beck__emb_group_records(const int32_t *parts, int n, int **idx_out, beck__emb_group_t **groups_out,
                                   int *ngroups, beck_error_t *e) {
  int *idx = beck_malloc(sizeof *idx * (size_t)n);
  beck__emb_group_t *groups = beck_malloc(sizeof *groups * (size_t)n);
  if (idx == NULL || groups == NULL) {
    beck_free(idx);
    beck_free(groups);
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < n; i++)
    idx[i] = i;
  qsort_r(idx, (size_t)n, sizeof *idx, cmp_by_partition, (void *)parts);
  int ng = 0;
  for (int i = 0; i < n; i++) {
    if (ng == 0 || groups[ng - 1].partition != parts[idx[i]])
      groups[ng++] = (beck__emb_group_t){.partition = parts[idx[i]], .first = i, .base_offset = -1, .end_offset = -1};
    groups[ng - 1].count++;
  }
  *idx_out = idx;
  *groups_out = groups;
  *ngroups = ng;
  return BECK_ERR_OK;
}

/* Upper bound of the bytes a record adds to a batch. */
static size_t record_estimate(const beck_client_record_t *r) {
  size_t n = 40 + (r->key.len > 0 ? (size_t)r->key.len : 0) + (r->value.len > 0 ? (size_t)r->value.len : 0);
  for (int i = 0; i < r->nheaders; i++)
    n += 10 + r->headers[i].key.len + (r->headers[i].value.len > 0 ? (size_t)r->headers[i].value.len : 0);
  return n;
}

/* Normalised header values (an empty value given with a NULL pointer stays
 * empty, not null); returns NULL only on OOM with nheaders > 0. */
static const beck_record_header_t *norm_headers(beck__emb_scratch_t *s, const beck_client_record_t *r) {
  if (r->nheaders == 0)
    return NULL;
  if (s->cap < r->nheaders) {
    beck_record_header_t *h = beck_realloc(s->hdrs, sizeof *h * (size_t)r->nheaders);
    if (h == NULL)
      return NULL;
    s->hdrs = h;
    s->cap = r->nheaders;
  }
  for (int i = 0; i < r->nheaders; i++) {
    s->hdrs[i].key = r->headers[i].key;
    if (s->hdrs[i].key.ptr == NULL)
      s->hdrs[i].key = beck_slice("", 0);
    s->hdrs[i].value = beck__client_nstr(r->headers[i].value);
  }
  return s->hdrs;
}

beck_err_t beck__emb_build_group(const beck_client_record_t *recs, const int *idx, const beck__emb_group_t *g,
                                 int32_t max_batch, int64_t now, int16_t attributes, beck__emb_scratch_t *s,
                                 beck_buf_t *out, beck_error_t *e) {
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  b.attributes = attributes;
  beck_err_t err = BECK_ERR_OK;
  for (int k = 0; k < g->count && !err; k++) {
    const beck_client_record_t *r = &recs[idx[g->first + k]];
    if (b.count > 0 && b.buf.len + record_estimate(r) > (size_t)max_batch) {
      if (!(err = beck_batch_builder_finish(&b)))
        err = beck_buf_append(out, b.buf.data, b.buf.len);
      beck_batch_builder_free(&b);
      beck_batch_builder_init(&b);
      b.attributes = attributes;
      if (err)
        break;
    }
    const beck_record_header_t *h = norm_headers(s, r);
    if (r->nheaders > 0 && h == NULL) {
      err = BECK_ERR_NOMEM;
      break;
    }
    err = beck_batch_builder_add(&b, r->timestamp == -1 ? now : r->timestamp, beck__client_nstr(r->key),
                                 beck__client_nstr(r->value), h, r->nheaders);
  }
  if (!err && !(err = beck_batch_builder_finish(&b)))
    err = beck_buf_append(out, b.buf.data, b.buf.len);
  beck_batch_builder_free(&b);
  if (err)
    return beck_error_set(e, err, "building a batch: %s", beck_strerror(err));
  return BECK_ERR_OK;
}

/* Groups of partitions enlisted in transactions (checked under the
 * partition's wmu, which also covers the plain append, so a partition
 * cannot be enlisted between the check and the append) are left for
 * beck__emb_txn_produce_groups, which commits them as one transaction. */
static beck_err_t emb_produce(beck_client_t *c, const char *topic, const beck_client_record_t *recs, int n,
                              const int32_t *parts, int64_t *offsets, beck_error_t *e) {
  emb_client_t *ec = (emb_client_t *)c;
  int *idx = NULL, ng = 0;
  beck__emb_group_t *groups = NULL;
  beck_err_t err = beck__emb_group_records(parts, n, &idx, &groups, &ng, e);
  if (err)
    return beck_error_wrap(e, "produce to '%s'", topic);

  /* look up every partition and the topic's limits once */
  int32_t max_batch = 0;
  pthread_mutex_lock(&ec->reg_mu);
  for (int g = 0; g < ng && !err; g++)
    err = beck__emb_find_partition_locked(ec, topic, groups[g].partition, &groups[g].p, e);
  if (!err)
    max_batch = groups[0].p->topic->cfg.log.max_batch_bytes;
  pthread_mutex_unlock(&ec->reg_mu);

  int64_t now = ec->env->now_ms(ec->env);
  beck__emb_scratch_t scratch = {0};
  beck_buf_t buf = {0};
  int failed = -1; /* the group whose append failed */
  int ntxn = 0;    /* groups of enlisted partitions, moved to the front */
  for (int g = 0; g < ng && !err; g++) {
    beck__emb_group_t *gr = &groups[g];
    emb_part_t *ep = gr->p->user;
    bool txn = beck__emb_stable(ep) != BECK__EMB_NOT_TXN; /* enlisted for good: no lock needed */
    if (!txn) {
      beck_buf_reset(&buf);
      if ((err = beck__emb_build_group(recs, idx, gr, max_batch, now, 0, &scratch, &buf, e))) {
        failed = g;
        break;
      }
      pthread_mutex_lock(&ep->wmu);
      txn = beck__emb_stable(ep) != BECK__EMB_NOT_TXN; /* enlisted meanwhile? */
      beck_plog_append_info_t info;
      if (!txn && !(err = beck_plog_append(gr->p->log, buf.data, buf.len, &info, e))) {
        gr->base_offset = info.base_offset;
        gr->end_offset = info.last_offset + 1;
      }
      pthread_mutex_unlock(&ep->wmu);
      if (err)
        failed = g;
    }
    if (txn) {
      beck__emb_group_t t = groups[ntxn];
      groups[ntxn++] = *gr;
      *gr = t;
    }
  }
  if (failed >= 0)
    beck_error_wrap(e, "produce to %s-%d", topic, groups[failed].partition);
  /* acks=all: every partition appended to must be durable (group commit;
   * a no-op under fsync.policy interval/never), then fetchers may see it */
  for (int g = ntxn; g < ng; g++) {
    if (groups[g].end_offset < 0)
      continue;
    beck_error_t we;
    beck_err_t werr = beck_plog_wait_durable(groups[g].p->log, groups[g].end_offset, &we);
    if (werr && !err) {
      err = werr;
      if (e) {
        *e = we;
        beck_error_wrap(e, "produce to %s-%d", topic, groups[g].partition);
      }
    }
    beck__emb_part_notify(groups[g].p);
  }
  if (!err && ntxn > 0)
    err = beck__emb_txn_produce_groups(ec, topic, recs, idx, groups, ntxn, e);
  if (!err && offsets)
    for (int g = 0; g < ng; g++)
      for (int k = 0; k < groups[g].count; k++)
        offsets[idx[groups[g].first + k]] = groups[g].base_offset + k;
  beck_buf_free(&buf);
  beck_free(scratch.hdrs);
  beck_free(idx);
  beck_free(groups);
  return err;
}

/* ---- fetch --------------------------------------------------------------- */

typedef struct fetch_state {
  const char *topic;
  int32_t partition;
  beck_client_record_cb cb;
  void *arg;
  int64_t cur;   /* next offset to hand out */
  int delivered; /* records handed out */
  bool stopped;  /* the callback asked to stop */
  beck_buf_t scratch;
} fetch_state_t;

/* Hands out the records of whole batches in data[0..len) at or above fs->cur. */
static beck_err_t deliver(fetch_state_t *fs, const uint8_t *data, size_t len, beck_error_t *e) {
  while (len > 0 && !fs->stopped) {
    beck_batch_header_t h;
    if (len < BECK_BATCH_HEADER_SIZE || beck_batch_header_decode(data, len, &h) != BECK_ERR_OK || h.batch_length < 0 ||
        (uint64_t)beck_batch_total_size(&h) > len)
      return beck_error_set(e, BECK_ERR_CORRUPT, "partition %s-%d offset %lld: truncated batch", fs->topic,
                            fs->partition, (long long)fs->cur);
    size_t total = (size_t)beck_batch_total_size(&h);
    beck_err_t err = beck_batch_validate(data, total, false, &h, e);
    if (err)
      return beck_error_wrap(e, "partition %s-%d offset %lld", fs->topic, fs->partition, (long long)h.base_offset);
    int64_t last = beck_batch_last_offset(&h);
    if (last >= fs->cur && !(h.attributes & BECK_BATCH_ATTR_CONTROL)) {
      beck_slice_t rs;
      if ((err = beck_batch_records(data, total, &h, DECOMPRESS_MAX, &fs->scratch, &rs, e)))
        return beck_error_wrap(e, "partition %s-%d offset %lld", fs->topic, fs->partition, (long long)h.base_offset);
      beck_record_iter_t it;
      beck_record_iter_init(&it, &h, rs.ptr, rs.len);
      beck_record_t r;
      int rc;
      while ((rc = beck_record_iter_next(&it, &r)) == 1) {
        if (r.offset < fs->cur)
          continue;
        fs->delivered++;
        if (fs->cb(fs->arg, fs->topic, fs->partition, &r)) {
          fs->cur = r.offset + 1;
          fs->stopped = true;
          return BECK_ERR_OK;
        }
      }
      if (rc < 0)
        return beck_error_set(e, BECK_ERR_CORRUPT, "partition %s-%d offset %lld: malformed record", fs->topic,
                              fs->partition, (long long)h.base_offset);
    }
    if (last + 1 > fs->cur)
      fs->cur = last + 1;
    data += total;
    len -= total;
  }
  return BECK_ERR_OK;
}

static beck_err_t emb_fetch(beck_client_t *c, const char *topic, int32_t partition, int64_t offset, size_t max_bytes,
                            int timeout_ms, beck_client_record_cb cb, void *arg, int64_t *next_offset,
                            beck_error_t *e) {
  beck_partition_t *p;
  beck_err_t err = find_partition((emb_client_t *)c, topic, partition, &p, e);
  if (err)
    return err;
  emb_part_t *ep = p->user;
  int64_t deadline = beck__client_mono_ms() + timeout_ms;
  fetch_state_t fs = {.topic = topic, .partition = partition, .cb = cb, .arg = arg, .cur = offset};
  beck_buf_t data = {0};
  for (;;) {
    int64_t start = beck_plog_start_offset(p->log), end = beck_plog_end_offset(p->log);
    if (fs.cur < start || fs.cur > end) {
      err = beck_error_set(e, BECK_ERR_RANGE, "fetch %s-%d: offset %lld is out of range [%lld, %lld]", topic, partition,
                           (long long)fs.cur, (long long)start, (long long)end);
      break;
    }
    int64_t hw = high_watermark(p);
    if (fs.cur < hw) {
      int64_t before = fs.cur;
      beck_buf_reset(&data);
      if ((err = beck_plog_read_copy(p->log, fs.cur, max_bytes, hw, &data, e))) {
        beck_error_wrap(e, "fetch %s-%d", topic, partition);
        break;
      }
      if ((err = deliver(&fs, data.data, data.len, e)))
        break;
      if (fs.delivered > 0 || fs.stopped)
        break;
      if (fs.cur > before)
        continue; /* only control batches or compacted-away records: read on */
    }
    if (beck__client_mono_ms() >= deadline)
      break;
    pthread_mutex_lock(&ep->mu);
    while (high_watermark(p) <= fs.cur && beck__client_mono_ms() < deadline)
      cond_wait_until(&ep->cond, &ep->mu, deadline);
    pthread_mutex_unlock(&ep->mu);
  }
  *next_offset = fs.cur;
  beck_buf_free(&data);
  beck_buf_free(&fs.scratch);
  return err;
}

/* ---- committed offsets --------------------------------------------------- */

static beck_err_t emb_commit(beck_client_t *c, const char *group, const char *topic, int32_t partition, int64_t offset,
                             beck_error_t *e) {
  emb_client_t *ec = (emb_client_t *)c;
  pthread_mutex_lock(&ec->reg_mu);
  beck_partition_t *p;
  beck_err_t err = beck__emb_find_partition_locked(ec, topic, partition, &p, e);
  if (!err) {
    beck_meta_offset_t o = {.group_id = group,
                            .topic = topic,
                            .partition = partition,
                            .offset = offset,
                            .leader_epoch = -1,
                            .metadata = "",
                            .commit_ms = ec->env->now_ms(ec->env)};
    err = beck_meta_offsets_commit(beck_topics_meta(ec->ts), &o, 1, e);
  }
  pthread_mutex_unlock(&ec->reg_mu);
  if (err)
    beck_error_wrap(e, "group '%s': commit %s-%d at %lld", group, topic, partition, (long long)offset);
  return err;
}

typedef struct committed_ctx {
  const char *topic;
  int32_t partition;
  int64_t offset;
} committed_ctx_t;

static int committed_cb(void *arg, const beck_meta_offset_t *o) {
  committed_ctx_t *cc = arg;
  if (o->partition == cc->partition && strcmp(o->topic, cc->topic) == 0) {
    cc->offset = o->offset;
    return 1;
  }
  return 0;
}

static beck_err_t emb_committed(beck_client_t *c, const char *group, const char *topic, int32_t partition,
                                int64_t *offset, beck_error_t *e) {
  emb_client_t *ec = (emb_client_t *)c;
  committed_ctx_t cc = {.topic = topic, .partition = partition, .offset = -1};
  pthread_mutex_lock(&ec->reg_mu);
  beck_err_t err = beck_meta_offsets_foreach(beck_topics_meta(ec->ts), group, committed_cb, &cc, e);
  pthread_mutex_unlock(&ec->reg_mu);
  if (err)
    return beck_error_wrap(e, "group '%s': committed offset of %s-%d", group, topic, partition);
  *offset = cc.offset;
  return BECK_ERR_OK;
}

/* ---- housekeeping -------------------------------------------------------- */

typedef struct hk_item {
  beck_partition_t *p;
  beck_fsync_policy_t policy;
  bool compact, delete_;
} hk_item_t;

static void *housekeeping(void *arg) {
  emb_client_t *ec = arg;
  hk_item_t *items = NULL;
  size_t cap = 0;
  int64_t last_retention = beck__client_mono_ms();
  for (;;) {
    pthread_mutex_lock(&ec->hk_mu);
    if (!ec->stopping)
      cond_wait_until(&ec->hk_cond, &ec->hk_mu, beck__client_mono_ms() + HOUSEKEEPING_TICK_MS);
    bool stop = ec->stopping;
    pthread_mutex_unlock(&ec->hk_mu);
    if (stop)
      break;

    size_t n = 0;
    pthread_mutex_lock(&ec->reg_mu);
    int nt = beck_topics_count(ec->ts);
    for (int i = 0; i < nt; i++) {
      beck_topic_t *t = beck_topics_at(ec->ts, i);
      for (int32_t j = 0; j < t->npartitions; j++) {
        if (n == cap) {
          size_t ncap = cap ? cap * 2 : 64;
          hk_item_t *ni = beck_realloc(items, sizeof *ni * ncap);
          if (ni == NULL)
            break;
          items = ni;
          cap = ncap;
        }
        items[n++] = (hk_item_t){t->partitions[j], t->cfg.log.fsync_policy, t->cfg.compact, t->cfg.delete_};
      }
    }
    pthread_mutex_unlock(&ec->reg_mu);

    int64_t wall = ec->env->now_ms(ec->env);
    bool retention_due = beck__client_mono_ms() - last_retention >= RETENTION_CHECK_MS;
    if (retention_due)
      last_retention = beck__client_mono_ms();
    for (size_t i = 0; i < n; i++) {
      beck_partition_t *p = items[i].p;
      beck_error_t e;
      if (items[i].policy == BECK_FSYNC_INTERVAL && beck_plog_sync_due(p->log, wall) &&
          beck_plog_sync(p->log, &e) != BECK_ERR_OK)
        beck_log("client", BECK_LOG_ERROR, "partition %s-%d: %s", p->topic->name, p->id, e.msg);
      if (!retention_due)
        continue;
      /* never over the records of a commit in flight: retention could
       * delete a segment holding some, and compaction keeps the latest
       * value per key, which could be one a failed commit cuts. txn_mu
       * also keeps the partition from being enlisted meanwhile. */
      pthread_mutex_lock(&ec->txn_mu);
      int32_t deleted = 0;
      if (items[i].delete_ && beck_plog_enforce_retention(p->log, wall, &deleted, &e) != BECK_ERR_OK)
        beck_log("client", BECK_LOG_WARN, "partition %s-%d: retention: %s", p->topic->name, p->id, e.msg);
      bool enlisted = beck__emb_stable(p->user) != BECK__EMB_NOT_TXN;
      beck_plog_compact_stats_t st;
      if (!items[i].compact) {
        /* nothing to compact */
      } else if (enlisted && ec->txn_broken) {
        beck_log("client", BECK_LOG_WARN, "partition %s-%d: not compacted: %s", p->topic->name, p->id,
                 ec->txn_error.msg);
      } else if (beck_plog_compact(p->log, wall, &st, &e) != BECK_ERR_OK) {
        beck_log("client", BECK_LOG_WARN, "partition %s-%d: compaction: %s", p->topic->name, p->id, e.msg);
      }
      pthread_mutex_unlock(&ec->txn_mu);
    }
  }
  beck_free(items);
  return NULL;
}

/* ---- open / close -------------------------------------------------------- */

static void emb_close(beck_client_t *c) {
  emb_client_t *ec = (emb_client_t *)c;
  if (ec->hk_started) {
    pthread_mutex_lock(&ec->hk_mu);
    ec->stopping = true;
    pthread_cond_signal(&ec->hk_cond);
    pthread_mutex_unlock(&ec->hk_mu);
    pthread_join(ec->hk, NULL);
  }
  if (ec->ts) {
    int nt = beck_topics_count(ec->ts);
    for (int i = 0; i < nt; i++) {
      beck_topic_t *t = beck_topics_at(ec->ts, i);
      for (int32_t j = 0; j < t->npartitions; j++)
        part_detach(t->partitions[j]);
    }
    beck_topics_close(ec->ts);
  }
  pthread_mutex_destroy(&ec->reg_mu);
  pthread_mutex_destroy(&ec->txn_mu);
  pthread_mutex_destroy(&ec->hk_mu);
  pthread_cond_destroy(&ec->hk_cond);
  beck_free(ec);
}

static const beck_client_ops_t emb_ops = {
    .kind = "embedded",
    .close = emb_close,
    .create_topic = emb_create_topic,
    .partitions = emb_partitions,
    .watermarks = emb_watermarks,
    .produce = emb_produce,
    .fetch = emb_fetch,
    .commit = emb_commit,
    .committed = emb_committed,
    .txn_new = beck__emb_txn_new,
    .txn_destroy = beck__emb_txn_destroy,
    .txn_produce = beck__emb_txn_produce,
    .txn_commit_offset = beck__emb_txn_commit_offset,
    .txn_commit = beck__emb_txn_commit,
    .txn_abort = beck__emb_txn_abort,
    .txn_next_offset = beck__emb_txn_next_offset,
};

beck_err_t beck_client_open_embedded(const char *data_dir, beck_client_t **out, beck_error_t *e) {
  *out = NULL;
  if (data_dir == NULL || data_dir[0] == '\0')
    return beck_error_set(e, BECK_ERR_INVAL, "embedded client: no data directory");
  emb_client_t *ec = beck_calloc(1, sizeof *ec);
  if (ec == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "embedded client: out of memory");
  beck__client_init(&ec->base, &emb_ops);
  pthread_mutex_init(&ec->reg_mu, NULL);
  pthread_mutex_init(&ec->txn_mu, NULL);
  pthread_mutex_init(&ec->hk_mu, NULL);
  cond_init_monotonic(&ec->hk_cond);
  beck_topics_options_t opts;
  beck_topics_options_default(&opts);
  beck_err_t err = beck_topics_open(data_dir, &opts, &ec->ts, e);
  if (err) {
    emb_close(&ec->base);
    return beck_error_wrap(e, "embedded client");
  }
  ec->env = beck_topics_options(ec->ts)->env;
  if ((err = beck__emb_txn_recover(ec, e))) {
    emb_close(&ec->base);
    return beck_error_wrap(e, "embedded client");
  }
  if (pthread_create(&ec->hk, NULL, housekeeping, ec) != 0) {
    emb_close(&ec->base);
    return beck_error_set(e, BECK_ERR_NOMEM, "embedded client: cannot start the housekeeping thread");
  }
  ec->hk_started = true;
  *out = &ec->base;
  return BECK_ERR_OK;
}
