/*
 * txn.c - transactions of the embedded client: records for any partitions
 * and offset commits that become visible together or not at all (the
 * streams runtime's exactly-once commit), and their recovery when a data
 * directory is opened.
 *
 * The idea is Kafka's read_committed with one commit in flight at a time
 * and the cut tail instead of abort markers:
 *
 *   stable offset   every partition a transaction has written ("enlisted")
 *                   has one, S: records below S are committed, records at
 *                   or above S belong to the one commit in flight (or to a
 *                   crashed one). Readers of this client never see >= S
 *                   (the high watermark is min(hw, S)). S lives in memory
 *                   (emb_part_t.stable) and in the metadata store, as the
 *                   committed "offset" of group __beck_txn for that
 *                   topic-partition.
 *
 *   commit          under txn_mu (one commit at a time in the client):
 *     1. enlist     partitions written for the first time: S = their end
 *                   offset, stored in the metadata store before anything
 *                   is appended (under the partition's wmu, so no plain
 *                   append slips in between); from then on plain produces
 *                   to them are one-call transactions too
 *     2. append     each partition's pending batches (attribute
 *                   "transactional" set), contiguous at its end
 *     3. durable    wait for each partition's group commit (acks=all)
 *     4. the commit point: ONE metadata-store transaction (sqlite,
 *                   synchronous=FULL) stores the new S of every partition
 *                   written (its new end) and every offset of the
 *                   transaction
 *     5. publish    S in memory, wake fetchers
 *   A failure in 1-4 cuts the appended records off again (truncate to S);
 *   if even that fails, the client refuses further commits (txn_broken)
 *   and the next open cuts them.
 *
 *   recovery        at open, before anything reads: for each __beck_txn
 *                   row, the partition's records at or above S are those
 *                   of a commit that never reached step 4: truncate to S.
 *                   Only batches with the transactional attribute are cut;
 *                   if another writer (a `beck broker` over the directory
 *                   meanwhile) appended plain batches after S, nothing is
 *                   cut and S moves to the end, with an error in the log.
 *                   A log shorter than S (a power loss under fsync.policy
 *                   interval or never) moves S down to the end.
 *
 * Retention and compaction run under txn_mu (embedded.c), so they never
 * delete a segment holding records of a commit in flight, nor decide
 * "latest value per key" from records a commit may cut.
 *
 * A transaction object buffers built batches per partition (reused across
 * commits, so a warm transaction allocates nothing per commit) and the
 * offsets with copies of their names.
 */
#include "client/embedded_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "record/batch.h"

/* Bytes of batches per append call (an append goes into one segment). */
#define APPEND_CHUNK ((size_t)64 << 20)

void (*beck__emb_txn_test_hook)(int stage);

typedef struct txn_part {
  beck_partition_t *p;
  beck_buf_t buf;     /* pending batches */
  bool used;          /* has records in the pending transaction */
  bool enlist;        /* commit scratch: enlisted by this commit */
  bool appended;      /* commit scratch: some of buf is in the log */
  size_t mark;        /* produce scratch: buf.len before the call */
  bool mark_used;     /* produce scratch: used before the call */
  int64_t base, next; /* after a commit: first offset written, offset after the last; -1 when none */
} txn_part_t;

typedef struct txn_off {
  char *group, *topic;
  int32_t partition;
  int64_t offset;
  bool set; /* part of the pending transaction */
} txn_off_t;

typedef struct emb_txn {
  beck_client_txn_t base;
  txn_part_t *parts;
  int nparts, pcap;
  txn_off_t *offs;
  int noffs, ocap;
  beck_meta_offset_t *rows; /* commit scratch */
  int rcap;
  beck__emb_scratch_t scratch;
} emb_txn_t;

static emb_client_t *txn_client(const emb_txn_t *tx) { return (emb_client_t *)tx->base.c; }

/* Adds context to e (when there is an e) and returns err, which
 * beck_error_wrap alone would not when e is NULL. */
static beck_err_t wrapped(beck_err_t err, beck_error_t *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static beck_err_t wrapped(beck_err_t err, beck_error_t *e, const char *fmt, ...) {
  if (e != NULL) {
    char prefix[BECK_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    beck_error_wrap(e, "%s", prefix);
  }
  return err;
}

static void hook(int stage) {
  if (beck__emb_txn_test_hook)
    beck__emb_txn_test_hook(stage);
}

/* ---- the transaction object ----------------------------------------------- */

beck_err_t beck__emb_txn_new(beck_client_t *c, beck_client_txn_t **out, beck_error_t *e) {
  emb_txn_t *tx = beck_calloc(1, sizeof *tx);
  if (tx == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "transaction: out of memory");
  tx->base.c = c;
  *out = &tx->base;
  return BECK_ERR_OK;
}

static void txn_free(emb_txn_t *tx) {
  for (int i = 0; i < tx->nparts; i++)
    beck_buf_free(&tx->parts[i].buf);
  for (int i = 0; i < tx->noffs; i++) {
    beck_free(tx->offs[i].group);
    beck_free(tx->offs[i].topic);
  }
  beck_free(tx->parts);
  beck_free(tx->offs);
  beck_free(tx->rows);
  beck_free(tx->scratch.hdrs);
}

void beck__emb_txn_destroy(beck_client_txn_t *t) {
  emb_txn_t *tx = (emb_txn_t *)t;
  txn_free(tx);
  beck_free(tx);
}

void beck__emb_txn_abort(beck_client_txn_t *t) {
  emb_txn_t *tx = (emb_txn_t *)t;
  for (int i = 0; i < tx->nparts; i++) {
    tx->parts[i].used = false;
    beck_buf_reset(&tx->parts[i].buf);
  }
  for (int i = 0; i < tx->noffs; i++)
    tx->offs[i].set = false;
}

/* The index of p's entry (made when missing), or -1 on OOM. */
static int part_index(emb_txn_t *tx, beck_partition_t *p) {
  for (int i = 0; i < tx->nparts; i++)
    if (tx->parts[i].p == p)
      return i;
  if (tx->nparts == tx->pcap) {
    int nc = tx->pcap ? tx->pcap * 2 : 8;
    txn_part_t *a = beck_realloc(tx->parts, sizeof *a * (size_t)nc);
    if (a == NULL)
      return -1;
    tx->parts = a;
    tx->pcap = nc;
  }
  tx->parts[tx->nparts] = (txn_part_t){.p = p, .base = -1, .next = -1};
  return tx->nparts++;
}

static beck_err_t ensure_rows(emb_txn_t *tx, int n, beck_error_t *e) {
  if (n <= tx->rcap)
    return BECK_ERR_OK;
  beck_meta_offset_t *r = beck_realloc(tx->rows, sizeof *r * (size_t)n);
  if (r == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "transaction: out of memory");
  tx->rows = r;
  tx->rcap = n;
  return BECK_ERR_OK;
}

/* Builds groups[0..ng) (partitions resolved) into their parts' buffers.
 * All or nothing: on failure every buffer is back as it was. */
static beck_err_t add_groups(emb_txn_t *tx, const beck_client_record_t *recs, const int *idx,
                             const beck__emb_group_t *groups, int ng, beck_error_t *e) {
  emb_client_t *ec = txn_client(tx);
  int32_t max_batch = groups[0].p->topic->cfg.log.max_batch_bytes;
  int64_t now = ec->env->now_ms(ec->env);
  for (int i = 0; i < tx->nparts; i++) {
    tx->parts[i].mark = tx->parts[i].buf.len;
    tx->parts[i].mark_used = tx->parts[i].used;
  }
  beck_err_t err = BECK_ERR_OK;
  for (int g = 0; g < ng && !err; g++) {
    int k = part_index(tx, groups[g].p);
    if (k < 0) {
      err = beck_error_set(e, BECK_ERR_NOMEM, "transaction: out of memory");
      break;
    }
    txn_part_t *tp = &tx->parts[k];
    err = beck__emb_build_group(recs, idx, &groups[g], max_batch, now, BECK_BATCH_ATTR_TRANSACTIONAL, &tx->scratch,
                                &tp->buf, e);
    if (!err)
      tp->used = true;
  }
  if (err)
    for (int i = 0; i < tx->nparts; i++) { /* entries made in this call have mark 0 */
      txn_part_t *tp = &tx->parts[i];
      tp->buf.len = tp->mark;
      tp->used = tp->mark_used;
    }
  return err;
}

beck_err_t beck__emb_txn_produce(beck_client_txn_t *t, const char *topic, const beck_client_record_t *recs, int n,
                                 const int32_t *parts, beck_error_t *e) {
  emb_txn_t *tx = (emb_txn_t *)t;
  emb_client_t *ec = txn_client(tx);
  int *idx = NULL, ng = 0;
  beck__emb_group_t *groups = NULL;
  beck_err_t err = beck__emb_group_records(parts, n, &idx, &groups, &ng, e);
  if (!err) {
    pthread_mutex_lock(&ec->reg_mu);
    for (int g = 0; g < ng && !err; g++)
      err = beck__emb_find_partition_locked(ec, topic, groups[g].partition, &groups[g].p, e);
    pthread_mutex_unlock(&ec->reg_mu);
  }
  if (!err)
    err = add_groups(tx, recs, idx, groups, ng, e);
  beck_free(idx);
  beck_free(groups);
  if (err)
    return wrapped(err, e, "transaction: produce to '%s'", topic);
  return BECK_ERR_OK;
}

beck_err_t beck__emb_txn_commit_offset(beck_client_txn_t *t, const char *group, const char *topic, int32_t partition,
                                       int64_t offset, beck_error_t *e) {
  emb_txn_t *tx = (emb_txn_t *)t;
  for (int i = 0; i < tx->noffs; i++) {
    txn_off_t *o = &tx->offs[i];
    if (o->partition == partition && strcmp(o->topic, topic) == 0 && strcmp(o->group, group) == 0) {
      o->offset = offset;
      o->set = true;
      return BECK_ERR_OK;
    }
  }
  if (tx->noffs == tx->ocap) {
    int nc = tx->ocap ? tx->ocap * 2 : 8;
    txn_off_t *a = beck_realloc(tx->offs, sizeof *a * (size_t)nc);
    if (a == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "transaction: out of memory");
    tx->offs = a;
    tx->ocap = nc;
  }
  txn_off_t o = {
      .group = beck_strdup(group), .topic = beck_strdup(topic), .partition = partition, .offset = offset, .set = true};
  if (o.group == NULL || o.topic == NULL) {
    beck_free(o.group);
    beck_free(o.topic);
    return beck_error_set(e, BECK_ERR_NOMEM, "transaction: out of memory");
  }
  tx->offs[tx->noffs++] = o;
  return BECK_ERR_OK;
}

int64_t beck__emb_txn_next_offset(const beck_client_txn_t *t, const char *topic, int32_t partition) {
  const emb_txn_t *tx = (const emb_txn_t *)t;
  for (int i = 0; i < tx->nparts; i++) {
    const txn_part_t *tp = &tx->parts[i];
    if (tp->p->id == partition && strcmp(tp->p->topic->name, topic) == 0)
      return tp->next;
  }
  return -1;
}

/* ---- commit --------------------------------------------------------------- */

/* Step 1: stores S = end offset for the used partitions not yet enlisted.
 * Under txn_mu. */
static beck_err_t enlist(emb_txn_t *tx, beck_error_t *e) {
  emb_client_t *ec = txn_client(tx);
  int n = 0;
  for (int i = 0; i < tx->nparts; i++) {
    txn_part_t *tp = &tx->parts[i];
    tp->enlist = tp->used && beck__emb_stable(tp->p->user) == BECK__EMB_NOT_TXN;
    n += tp->enlist;
  }
  if (n == 0)
    return BECK_ERR_OK;
  beck_err_t err = ensure_rows(tx, n, e);
  if (err)
    return err;
  int64_t now = ec->env->now_ms(ec->env);
  int k = 0;
  for (int i = 0; i < tx->nparts; i++) {
    txn_part_t *tp = &tx->parts[i];
    if (!tp->enlist)
      continue;
    emb_part_t *ep = tp->p->user;
    pthread_mutex_lock(&ep->wmu); /* held until S is published: plain appends wait */
    tx->rows[k++] = (beck_meta_offset_t){.group_id = BECK__EMB_TXN_GROUP,
                                         .topic = tp->p->topic->name,
                                         .partition = tp->p->id,
                                         .offset = beck_plog_end_offset(tp->p->log),
                                         .leader_epoch = -1,
                                         .metadata = "",
                                         .commit_ms = now};
  }
  pthread_mutex_lock(&ec->reg_mu);
  err = beck_meta_offsets_commit(beck_topics_meta(ec->ts), tx->rows, n, e);
  pthread_mutex_unlock(&ec->reg_mu);
  k = 0;
  for (int i = 0; i < tx->nparts; i++) {
    txn_part_t *tp = &tx->parts[i];
    if (!tp->enlist)
      continue;
    emb_part_t *ep = tp->p->user;
    if (!err)
      __atomic_store_n(&ep->stable, tx->rows[k].offset, __ATOMIC_RELEASE);
    k++;
    pthread_mutex_unlock(&ep->wmu);
  }
  if (err)
    return wrapped(err, e, "storing the stable offsets of newly written partitions");
  return BECK_ERR_OK;
}

/* Bytes of whole batches from data[0..len) up to max (at least one). */
static size_t chunk_len(const uint8_t *data, size_t len, size_t max) {
  size_t at = 0;
  while (at + BECK_BATCH_LOG_OVERHEAD <= len) {
    size_t total = BECK_BATCH_LOG_OVERHEAD + (size_t)beck_load_be32(data + at + BECK_BATCH_OFF_LENGTH);
    if (at > 0 && at + total > max)
      break;
    at += total;
  }
  return at < len ? at : len;
}

/* Step 2. */
static beck_err_t append_all(emb_txn_t *tx, beck_error_t *e) {
  for (int i = 0; i < tx->nparts; i++) {
    txn_part_t *tp = &tx->parts[i];
    if (!tp->used)
      continue;
    for (size_t off = 0; off < tp->buf.len;) {
      size_t n = chunk_len(tp->buf.data + off, tp->buf.len - off, APPEND_CHUNK);
      beck_plog_append_info_t info;
      beck_err_t err = beck_plog_append(tp->p->log, tp->buf.data + off, n, &info, e);
      if (err)
        return wrapped(err, e, "append to %s-%d", tp->p->topic->name, tp->p->id);
      tp->appended = true;
      if (tp->base < 0)
        tp->base = info.base_offset;
      tp->next = info.last_offset + 1;
      off += n;
    }
  }
  return BECK_ERR_OK;
}

/* Step 3. */
static beck_err_t durable_all(emb_txn_t *tx, beck_error_t *e) {
  for (int i = 0; i < tx->nparts; i++) {
    txn_part_t *tp = &tx->parts[i];
    beck_err_t err = tp->used ? beck_plog_wait_durable(tp->p->log, tp->next, e) : BECK_ERR_OK;
    if (err)
      return wrapped(err, e, "%s-%d", tp->p->topic->name, tp->p->id);
  }
  return BECK_ERR_OK;
}

/* Step 4: the commit point. */
static beck_err_t store_commit(emb_txn_t *tx, beck_error_t *e) {
  emb_client_t *ec = txn_client(tx);
  int n = 0;
  for (int i = 0; i < tx->nparts; i++)
    n += tx->parts[i].used;
  for (int i = 0; i < tx->noffs; i++)
    n += tx->offs[i].set;
  beck_err_t err = ensure_rows(tx, n, e);
  if (err)
    return err;
  int64_t now = ec->env->now_ms(ec->env);
  int k = 0;
  for (int i = 0; i < tx->nparts; i++) {
    txn_part_t *tp = &tx->parts[i];
    if (tp->used)
      tx->rows[k++] = (beck_meta_offset_t){.group_id = BECK__EMB_TXN_GROUP,
                                           .topic = tp->p->topic->name,
                                           .partition = tp->p->id,
                                           .offset = tp->next,
                                           .leader_epoch = -1,
                                           .metadata = "",
                                           .commit_ms = now};
  }
  pthread_mutex_lock(&ec->reg_mu);
  for (int i = 0; i < tx->noffs && !err; i++) {
    txn_off_t *o = &tx->offs[i];
    if (!o->set)
      continue;
    beck_partition_t *p;
    if ((err = beck__emb_find_partition_locked(ec, o->topic, o->partition, &p, e))) {
      beck_error_wrap(e, "group '%s': commit %s-%d at %lld", o->group, o->topic, o->partition, (long long)o->offset);
      break;
    }
    tx->rows[k++] = (beck_meta_offset_t){.group_id = o->group,
                                         .topic = o->topic,
                                         .partition = o->partition,
                                         .offset = o->offset,
                                         .leader_epoch = -1,
                                         .metadata = "",
                                         .commit_ms = now};
  }
  if (!err)
    err = beck_meta_offsets_commit(beck_topics_meta(ec->ts), tx->rows, k, e);
  pthread_mutex_unlock(&ec->reg_mu);
  return err;
}

/* Cuts what a failed commit appended. Under txn_mu. */
static void rollback(emb_txn_t *tx) {
  emb_client_t *ec = txn_client(tx);
  for (int i = 0; i < tx->nparts; i++) {
    txn_part_t *tp = &tx->parts[i];
    if (!tp->appended)
      continue;
    int64_t stable = beck__emb_stable(tp->p->user); /* enlisted: appended only after step 1 */
    beck_error_t te;
    beck_error_clear(&te);
    if (beck_plog_truncate(tp->p->log, stable, &te) == BECK_ERR_OK && beck_plog_end_offset(tp->p->log) == stable)
      continue;
    if (te.code == BECK_ERR_OK)
      beck_error_set(&te, BECK_ERR_STATE, "the log ends at %lld", (long long)beck_plog_end_offset(tp->p->log));
    beck_error_wrap(&te, "cutting a failed commit off %s-%d at %lld", tp->p->topic->name, tp->p->id, (long long)stable);
    if (!ec->txn_broken) {
      ec->txn_broken = true;
      ec->txn_error = te;
    }
    beck_log("client", BECK_LOG_ERROR, "transactions stop until the data directory is reopened: %s", te.msg);
  }
}

static beck_err_t commit_locked(emb_txn_t *tx, beck_error_t *e) {
  emb_client_t *ec = txn_client(tx);
  if (ec->txn_broken) {
    if (e)
      *e = ec->txn_error;
    return wrapped(ec->txn_error.code, e, "an earlier commit could not be undone");
  }
  bool any = false;
  for (int i = 0; i < tx->nparts; i++)
    any |= tx->parts[i].used;
  beck_err_t err = enlist(tx, e);
  if (!err)
    err = append_all(tx, e);
  if (any)
    hook(1);
  if (!err)
    err = durable_all(tx, e);
  if (any)
    hook(2);
  if (!err)
    err = store_commit(tx, e);
  if (any)
    hook(3);
  if (err) {
    rollback(tx);
    return err;
  }
  for (int i = 0; i < tx->nparts; i++) {
    txn_part_t *tp = &tx->parts[i];
    if (!tp->used)
      continue;
    __atomic_store_n(&((emb_part_t *)tp->p->user)->stable, tp->next, __ATOMIC_RELEASE);
    beck__emb_part_notify(tp->p);
  }
  return BECK_ERR_OK;
}

beck_err_t beck__emb_txn_commit(beck_client_txn_t *t, beck_error_t *e) {
  emb_txn_t *tx = (emb_txn_t *)t;
  emb_client_t *ec = txn_client(tx);
  bool any = false;
  for (int i = 0; i < tx->nparts; i++) {
    txn_part_t *tp = &tx->parts[i];
    tp->base = tp->next = -1;
    tp->appended = false;
    any |= tp->used;
  }
  for (int i = 0; i < tx->noffs; i++)
    any |= tx->offs[i].set;
  if (!any)
    return BECK_ERR_OK;
  pthread_mutex_lock(&ec->txn_mu);
  beck_err_t err = commit_locked(tx, e);
  pthread_mutex_unlock(&ec->txn_mu);
  if (err)
    for (int i = 0; i < tx->nparts; i++)
      tx->parts[i].base = tx->parts[i].next = -1;
  beck__emb_txn_abort(t); /* empty again either way */
  if (err)
    return wrapped(err, e, "transaction commit");
  return BECK_ERR_OK;
}

beck_err_t beck__emb_txn_produce_groups(emb_client_t *ec, const char *topic, const beck_client_record_t *recs,
                                        const int *idx, beck__emb_group_t *groups, int ng, beck_error_t *e) {
  emb_txn_t tx = {.base = {.c = &ec->base}};
  beck_err_t err = add_groups(&tx, recs, idx, groups, ng, e);
  if (!err)
    err = beck__emb_txn_commit(&tx.base, e);
  for (int g = 0; g < ng && !err; g++) {
    int k = part_index(&tx, groups[g].p);
    groups[g].base_offset = tx.parts[k].base;
    groups[g].end_offset = tx.parts[k].next;
  }
  txn_free(&tx);
  if (err)
    return wrapped(err, e, "produce to '%s'", topic);
  return BECK_ERR_OK;
}

/* ---- recovery ------------------------------------------------------------- */

typedef struct stable_row {
  char *topic;
  int32_t partition;
  int64_t stable;
} stable_row_t;

typedef struct stable_rows {
  stable_row_t *v;
  int n, cap;
  bool oom;
} stable_rows_t;

static int collect_row(void *arg, const beck_meta_offset_t *o) {
  stable_rows_t *rs = arg;
  if (rs->n == rs->cap) {
    int nc = rs->cap ? rs->cap * 2 : 16;
    stable_row_t *a = beck_realloc(rs->v, sizeof *a * (size_t)nc);
    if (a == NULL) {
      rs->oom = true;
      return 1;
    }
    rs->v = a;
    rs->cap = nc;
  }
  char *t = beck_strdup(o->topic);
  if (t == NULL) {
    rs->oom = true;
    return 1;
  }
  rs->v[rs->n++] = (stable_row_t){t, o->partition, o->offset};
  return 0;
}

/* Whether every batch in [from, end) carries the transactional attribute. */
static beck_err_t tail_is_transactional(beck_plog_t *log, int64_t from, int64_t end, bool *yes, beck_error_t *e) {
  beck_buf_t buf = {0};
  beck_err_t err = BECK_ERR_OK;
  *yes = true;
  for (int64_t off = from; off < end && *yes;) {
    beck_buf_reset(&buf);
    if ((err = beck_plog_read_copy(log, off, (size_t)1 << 20, INT64_MAX, &buf, e)))
      break;
    if (buf.len == 0)
      break;
    for (size_t at = 0; at + BECK_BATCH_HEADER_SIZE <= buf.len;) {
      beck_batch_header_t h;
      if (beck_batch_header_decode(buf.data + at, buf.len - at, &h) != BECK_ERR_OK || h.batch_length < 0) {
        err = beck_error_set(e, BECK_ERR_CORRUPT, "offset %lld: bad batch header", (long long)off);
        break;
      }
      if (!(h.attributes & BECK_BATCH_ATTR_TRANSACTIONAL)) {
        *yes = false;
        break;
      }
      off = beck_batch_last_offset(&h) + 1;
      at += (size_t)beck_batch_total_size(&h);
    }
    if (err)
      break;
  }
  beck_buf_free(&buf);
  return err;
}

/* Cuts partition p back to its stable offset s; returns the stable
 * offset to use. */
static beck_err_t recover_partition(beck_partition_t *p, int64_t s, int64_t *out, beck_error_t *e) {
  int64_t start = beck_plog_start_offset(p->log), end = beck_plog_end_offset(p->log);
  *out = s;
  if (end < s) {
    beck_log("client", BECK_LOG_WARN,
             "partition %s-%d: the log ends at %lld, below its last commit (%lld): committed records were lost "
             "(fsync.policy is not always?)",
             p->topic->name, p->id, (long long)end, (long long)s);
    *out = end;
    return BECK_ERR_OK;
  }
  if (end == s)
    return BECK_ERR_OK;
  if (s < start) {
    beck_log("client", BECK_LOG_ERROR,
             "partition %s-%d: the log now starts at %lld, after its last commit (%lld); keeping records up to %lld",
             p->topic->name, p->id, (long long)start, (long long)s, (long long)end - 1);
    *out = end;
    return BECK_ERR_OK;
  }
  bool txn_only = false;
  beck_err_t err = tail_is_transactional(p->log, s, end, &txn_only, e);
  if (err)
    return wrapped(err, e, "partition %s-%d: reading records after the last commit", p->topic->name, p->id);
  if (!txn_only) {
    beck_log("client", BECK_LOG_ERROR,
             "partition %s-%d: records %lld..%lld after the last commit were not all written by a transaction "
             "(another writer used the directory); keeping them, exactly-once does not hold for them",
             p->topic->name, p->id, (long long)s, (long long)end - 1);
    *out = end;
    return BECK_ERR_OK;
  }
  if ((err = beck_plog_truncate(p->log, s, e)))
    return wrapped(err, e, "partition %s-%d: cutting an unfinished commit at %lld", p->topic->name, p->id,
                   (long long)s);
  beck_log("client", BECK_LOG_INFO, "partition %s-%d: cut %lld records of an unfinished commit", p->topic->name, p->id,
           (long long)(end - s));
  *out = beck_plog_end_offset(p->log);
  return BECK_ERR_OK;
}

beck_err_t beck__emb_txn_recover(emb_client_t *ec, beck_error_t *e) {
  stable_rows_t rs = {0};
  pthread_mutex_lock(&ec->reg_mu);
  beck_err_t err = beck_meta_offsets_foreach(beck_topics_meta(ec->ts), BECK__EMB_TXN_GROUP, collect_row, &rs, e);
  if (!err && rs.oom)
    err = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  for (int i = 0; i < rs.n && !err; i++) {
    beck_partition_t *p = beck_topics_partition(ec->ts, rs.v[i].topic, strlen(rs.v[i].topic), rs.v[i].partition);
    if (p == NULL)
      continue; /* deleted since */
    int64_t s;
    if (!(err = beck__emb_part_attach(p, e)) && !(err = recover_partition(p, rs.v[i].stable, &s, e)))
      ((emb_part_t *)p->user)->stable = s;
  }
  pthread_mutex_unlock(&ec->reg_mu);
  for (int i = 0; i < rs.n; i++)
    beck_free(rs.v[i].topic);
  beck_free(rs.v);
  if (err)
    return wrapped(err, e, "recovering transactions");
  return BECK_ERR_OK;
}
