/*
 * io_client.c - the task io interface over the log client (core/client):
 * embedded (in-process log over a data directory) or remote (librdkafka to
 * any Kafka-protocol cluster); tasks cannot tell which.
 *
 * produce   one beck_client_produce per call (the client batches per
 *           partition and returns once acks=all): what a sink or changelog
 *           flush writes is durable when this returns.
 * fetch     copies each fetched record (key, value, headers) into the
 *           task's arena: the client's records only live during its
 *           callback. Waits at most wait_ms (the client's long poll).
 * commit    the client's simple commit for group = application id.
 *
 * Exactly-once (beck__io_client_txn_new, one io per task): produce and
 * commit add to the io's client transaction (beck_client_txn_*, embedded
 * only) instead, and txn->commit commits it; produce then gives no offsets.
 *
 * Thread-safe as the client is: tasks on different threads share one io.
 * Per-call scratch arrays are allocated per call (per batch, never per
 * record).
 */
#include "streams_int.h"

#include <string.h>

#include "base/alloc.h"
#include "client/client.h"

#define FETCH_MAX_BYTES (1u << 20)

typedef struct io_client {
  beck__io_t base;
  beck_client_t *c;
  beck_client_txn_t *tx; /* exactly-once only */
} io_client_t;

static beck_client_t *cl(beck__io_t *io) { return ((io_client_t *)io)->c; }
static beck_client_txn_t *txn(beck__io_t *io) { return ((io_client_t *)io)->tx; }

static beck_err_t ic_create_topic(beck__io_t *io, const char *topic, int32_t partitions, bool compact,
                                  beck_error_t *e) {
  const char *k[] = {"cleanup.policy"}, *v[] = {"compact"};
  return beck_client_create_topic(cl(io), topic, partitions, compact ? k : NULL, compact ? v : NULL, compact ? 1 : 0,
                                  true, e);
}

static beck_err_t ic_partitions(beck__io_t *io, const char *topic, int32_t *out, beck_error_t *e) {
  return beck_client_partitions(cl(io), topic, out, e);
}

static beck_err_t ic_produce(beck__io_t *io, const char *topic, int32_t partition, const beck_srec_t *recs, size_t n,
                             int64_t *next, beck_error_t *e) {
  if (n == 0)
    return BECK_ERR_OK;
  if (n > INT32_MAX)
    return beck_error_set(e, BECK_ERR_TOOBIG, "produce %s-%d: %zu records in one call", topic, (int)partition, n);
  beck_client_record_t *cr = beck_malloc(n * sizeof *cr);
  int64_t *offs = beck_malloc(n * sizeof *offs);
  if (cr == NULL || offs == NULL) {
    beck_free(cr);
    beck_free(offs);
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    cr[i].partition = partition;
    cr[i].timestamp = recs[i].timestamp < 0 ? 0 : recs[i].timestamp;
    cr[i].key = recs[i].key;
    cr[i].value = recs[i].value;
    cr[i].headers = recs[i].headers;
    cr[i].nheaders = recs[i].nheaders;
  }
  beck_err_t rc;
  if (txn(io) != NULL) {
    rc = beck_client_txn_produce(txn(io), topic, cr, (int)n, NULL, e);
    if (rc == BECK_ERR_OK && next != NULL)
      *next = -1; /* known once committed */
  } else {
    rc = beck_client_produce(cl(io), topic, cr, (int)n, offs, NULL, e);
    if (rc == BECK_ERR_OK && next != NULL)
      *next = offs[n - 1] + 1;
  }
  beck_free(cr);
  beck_free(offs);
  return rc;
}

typedef struct fetch_acc {
  beck_arena_t *arena;
  beck_srec_t *recs;
  int64_t *offs;
  size_t n, cap, max;
  beck_err_t err;
} fetch_acc_t;

static beck_nstr_t copy_nstr(beck_arena_t *a, beck_nstr_t s, bool *oom) {
  if (s.len <= 0)
    return s.len < 0 ? beck_nstr_null() : beck_nstr("", 0);
  void *p = beck_arena_memdup(a, s.ptr, (size_t)s.len);
  if (p == NULL)
    *oom = true;
  return beck_nstr(p, s.len);
}

static int on_record(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  fetch_acc_t *acc = arg;
  if (acc->n == acc->cap) {
    size_t nc = acc->cap ? acc->cap * 2 : 256;
    beck_srec_t *a = beck_arena_alloc(acc->arena, nc * sizeof *a);
    int64_t *o = beck_arena_alloc(acc->arena, nc * sizeof *o);
    if (a == NULL || o == NULL)
      goto oom;
    if (acc->n) {
      memcpy(a, acc->recs, acc->n * sizeof *a);
      memcpy(o, acc->offs, acc->n * sizeof *o);
    }
    acc->recs = a;
    acc->offs = o;
    acc->cap = nc;
  }
  bool oom = false;
  beck_srec_t *s = &acc->recs[acc->n];
  memset(s, 0, sizeof *s);
  s->timestamp = r->timestamp;
  acc->offs[acc->n] = r->offset;
  s->key = copy_nstr(acc->arena, r->key, &oom);
  s->value = copy_nstr(acc->arena, r->value, &oom);
  if (r->headers_count > 0) {
    beck_record_header_t *h = beck_arena_alloc(acc->arena, (size_t)r->headers_count * sizeof *h);
    if (h == NULL)
      goto oom;
    beck_slice_t cur = r->headers;
    int32_t k = 0;
    beck_record_header_t one;
    while (k < r->headers_count && beck_record_header_next(&cur, &one) == 1) {
      beck_nstr_t key = copy_nstr(acc->arena, beck_nstr(one.key.ptr, (int32_t)one.key.len), &oom);
      h[k].key = beck_slice(key.ptr, one.key.len);
      h[k].value = copy_nstr(acc->arena, one.value, &oom);
      k++;
    }
    s->headers = h;
    s->nheaders = k;
  }
  if (oom)
    goto oom;
  acc->n++;
  return acc->n >= acc->max; /* stop: this record counts as consumed */
oom:
  acc->err = BECK_ERR_NOMEM;
  return 1;
}

static beck_err_t ic_fetch(beck__io_t *io, const char *topic, int32_t partition, int64_t offset, size_t max,
                           int wait_ms, beck_arena_t *arena, beck_srec_t **recs, int64_t **offsets, size_t *n,
                           int64_t *next, beck_error_t *e) {
  fetch_acc_t acc = {.arena = arena, .max = max ? max : 1};
  int64_t nx = offset;
  beck_err_t rc =
      beck_client_fetch(cl(io), topic, partition, offset, FETCH_MAX_BYTES, wait_ms, on_record, &acc, &nx, e);
  if (rc == BECK_ERR_OK && acc.err != BECK_ERR_OK)
    rc = beck_error_set(e, acc.err, "fetch %s-%d: out of memory", topic, (int)partition);
  if (rc != BECK_ERR_OK)
    return rc;
  *recs = acc.recs;
  if (offsets != NULL)
    *offsets = acc.offs;
  *n = acc.n;
  *next = nx;
  return BECK_ERR_OK;
}

static beck_err_t ic_watermarks(beck__io_t *io, const char *topic, int32_t partition, int64_t *start, int64_t *high,
                                beck_error_t *e) {
  return beck_client_watermarks(cl(io), topic, partition, start, high, e);
}

static beck_err_t ic_commit(beck__io_t *io, const char *group, const char *topic, int32_t partition, int64_t offset,
                            beck_error_t *e) {
  if (txn(io) != NULL)
    return beck_client_txn_commit_offset(txn(io), group, topic, partition, offset, e);
  return beck_client_commit(cl(io), group, topic, partition, offset, e);
}

static beck_err_t ic_committed(beck__io_t *io, const char *group, const char *topic, int32_t partition, int64_t *offset,
                               beck_error_t *e) {
  return beck_client_committed(cl(io), group, topic, partition, offset, e);
}

static void ic_destroy(beck__io_t *io) {
  beck_client_txn_destroy(txn(io));
  beck_free(io);
}

static const beck__io_vt_t client_vt = {ic_create_topic, ic_partitions, ic_produce,   ic_fetch,
                                        ic_watermarks,   ic_commit,     ic_committed, ic_destroy};

static beck_err_t ic_txn_commit(beck__io_t *io, beck_error_t *e) { return beck_client_txn_commit(txn(io), e); }

static int64_t ic_txn_next(beck__io_t *io, const char *topic, int32_t partition) {
  return beck_client_txn_next_offset(txn(io), topic, partition);
}

static const beck__io_txn_vt_t client_txn_vt = {.commit = ic_txn_commit, .next_offset = ic_txn_next};

beck_err_t beck__io_client_new(beck_client_t *c, beck__io_t **out, beck_error_t *e) {
  io_client_t *io = beck_calloc(1, sizeof *io);
  if (io == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  io->base.vt = &client_vt;
  io->c = c;
  *out = &io->base;
  return BECK_ERR_OK;
}

beck_err_t beck__io_client_txn_new(beck_client_t *c, beck__io_t **out, beck_error_t *e) {
  beck_client_txn_t *tx = NULL;
  beck_err_t rc = beck_client_txn_new(c, &tx, e);
  if (rc != BECK_ERR_OK)
    return rc;
  if ((rc = beck__io_client_new(c, out, e)) != BECK_ERR_OK) {
    beck_client_txn_destroy(tx);
    return rc;
  }
  ((io_client_t *)*out)->tx = tx;
  (*out)->txn = &client_txn_vt;
  return BECK_ERR_OK;
}
