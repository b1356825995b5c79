/*
 * store_mem.c - the in-memory key-value store: an ordered skip list.
 * Nothing survives a restart; the store is rebuilt from its changelog, so
 * its checkpoint is always -1 and commit only records nothing.
 */
#include "streams_int.h"

#include "base/alloc.h"

typedef struct mem_kv {
  beck__kv_t base;
  beck__sl_t *sl;
} mem_kv_t;

static int mem_get(beck__kv_t *s, const uint8_t *k, size_t kl, beck_slice_t *v, int64_t *ts, beck_error_t *e) {
  beck__sl_node_t *x = beck__sl_find(((mem_kv_t *)s)->sl, k, kl);
  if (x == NULL)
    return 0;
  *v = beck_slice(x->val, x->vlen);
  if (ts != NULL)
    *ts = x->ts;
  return 1;
}

static beck_err_t mem_put(beck__kv_t *s, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts,
                          beck_error_t *e) {
  beck_err_t rc = beck__sl_put(((mem_kv_t *)s)->sl, k, kl, v, vl, ts);
  if (rc != BECK_ERR_OK)
    return beck_error_set(e, rc, "memory store: put: %s", beck_strerror(rc));
  return BECK_ERR_OK;
}

static beck_err_t mem_del(beck__kv_t *s, const uint8_t *k, size_t kl, beck_error_t *e) {
  beck__sl_del(((mem_kv_t *)s)->sl, k, kl);
  return BECK_ERR_OK;
}

static beck_err_t mem_scan(beck__kv_t *s, const uint8_t *lo, size_t lol, const uint8_t *hi, size_t hil,
                           beck__kv_scan_fn fn, void *arg, beck_error_t *e) {
  for (beck__sl_node_t *x = beck__sl_seek(((mem_kv_t *)s)->sl, lo, lol); x != NULL; x = beck__sl_next(x)) {
    if (hi != NULL && beck__keycmp(beck__sl_key(x), x->klen, hi, hil) >= 0)
      break;
    int rc = fn(arg, beck__sl_key(x), x->klen, x->val, x->vlen, x->ts);
    if (rc < 0)
      return (beck_err_t)rc;
    if (rc > 0)
      break;
  }
  return BECK_ERR_OK;
}

static beck_err_t mem_commit(beck__kv_t *s, int64_t next, beck_error_t *e) { return BECK_ERR_OK; }

static int64_t mem_checkpoint(beck__kv_t *s) { return -1; }

static beck_err_t mem_clear(beck__kv_t *s, beck_error_t *e) {
  beck__sl_clear(((mem_kv_t *)s)->sl);
  return BECK_ERR_OK;
}

static void mem_close(beck__kv_t *s) {
  mem_kv_t *m = (mem_kv_t *)s;
  beck__sl_free(m->sl);
  beck_free(m);
}

static const beck__kv_vt_t mem_vt = {mem_get,    mem_put,        mem_del,   mem_scan,
                                     mem_commit, mem_checkpoint, mem_clear, mem_close};

beck_err_t beck__kv_mem_open(beck__kv_t **out, beck_error_t *e) {
  mem_kv_t *m = beck_calloc(1, sizeof *m);
  if (m == NULL || (m->sl = beck__sl_new()) == NULL) {
    beck_free(m);
    return beck_error_set(e, BECK_ERR_NOMEM, "memory store: out of memory");
  }
  m->base.vt = &mem_vt;
  *out = &m->base;
  return BECK_ERR_OK;
}
