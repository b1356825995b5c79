/*
 * index.c - the sparse offset index and time index of one segment: building
 * them batch by batch, lookups, and their file encodings. Formats and
 * invariants are in index.h. Pure memory: no I/O here.
 */
#include "log/index.h"

#include <assert.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"

void beck__index_init(beck_index_t *ix, size_t max_entries) {
  memset(ix, 0, sizeof *ix);
  ix->max_entries = max_entries ? max_entries : 1;
  ix->max_ts = -1;
}

void beck__index_free(beck_index_t *ix) {
  beck_free(ix->off);
  beck_free(ix->tim);
  ix->off = NULL;
  ix->tim = NULL;
  ix->n_off = ix->cap_off = ix->n_tim = ix->cap_tim = 0;
}

void beck__index_reset(beck_index_t *ix) {
  ix->n_off = 0;
  ix->n_tim = 0;
  ix->bytes_since = 0;
  ix->max_ts = -1;
  ix->dirty = true;
}

static bool grow(void **arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap)
    return true;
  size_t nc = *cap ? *cap * 2 : 64;
  void *p = beck_realloc(*arr, nc * elem);
  if (p == NULL)
    return false;
  *arr = p;
  *cap = nc;
  return true;
}

static void add_time(beck_index_t *ix, int64_t ts, uint32_t rel) {
  if (ts < 0)
    return;
  if (ix->n_tim > 0) {
    beck_time_entry_t *last = &ix->tim[ix->n_tim - 1];
    if (rel <= last->rel)
      return;
    if (ts <= last->ts) { /* same maximum: a later O is a tighter bound */
      last->rel = rel;
      ix->dirty = true;
      return;
    }
  }
  if (!grow((void **)&ix->tim, &ix->cap_tim, ix->n_tim, sizeof *ix->tim))
    return;
  ix->tim[ix->n_tim].ts = ts;
  ix->tim[ix->n_tim].rel = rel;
  ix->n_tim++;
  ix->dirty = true;
}

void beck__index_feed(beck_index_t *ix, uint32_t rel, uint32_t pos, uint32_t size, int64_t max_ts, int32_t interval) {
  if (ix->n_off > 0) {
    uint32_t last_pos = ix->off[ix->n_off - 1].pos;
    if (pos <= last_pos) { /* already indexed: restore the counters only */
      if (pos == last_pos)
        ix->bytes_since = size;
      if (max_ts > ix->max_ts)
        ix->max_ts = max_ts;
      return;
    }
  }
  assert(ix->n_off == 0 || rel > ix->off[ix->n_off - 1].rel);
  if (ix->bytes_since >= (int64_t)(interval > 0 ? interval : 0) && !beck__index_full(ix) &&
      grow((void **)&ix->off, &ix->cap_off, ix->n_off, sizeof *ix->off)) {
    ix->off[ix->n_off].rel = rel;
    ix->off[ix->n_off].pos = pos;
    ix->n_off++;
    ix->bytes_since = 0;
    ix->dirty = true;
    add_time(ix, ix->max_ts, rel);
  }
  ix->bytes_since += size;
  if (max_ts > ix->max_ts)
    ix->max_ts = max_ts;
}

uint32_t beck__index_lookup(const beck_index_t *ix, uint32_t rel, uint32_t *entry_rel) {
  size_t lo = 0, hi = ix->n_off; /* find the first entry with entry.rel > rel */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ix->off[mid].rel <= rel)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) {
    if (entry_rel)
      *entry_rel = UINT32_MAX;
    return 0;
  }
  if (entry_rel)
    *entry_rel = ix->off[lo - 1].rel;
  return ix->off[lo - 1].pos;
}

uint32_t beck__index_time_lookup(const beck_index_t *ix, int64_t ts) {
  size_t lo = 0, hi = ix->n_tim; /* first entry with T >= ts */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ix->tim[mid].ts < ts)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == 0 ? 0 : ix->tim[lo - 1].rel;
}

uint32_t beck__index_resume_pos(beck_index_t *ix) {
  ix->bytes_since = 0;
  if (ix->n_tim > 0) {
    ix->max_ts = ix->tim[ix->n_tim - 1].ts;
    return beck__index_lookup(ix, ix->tim[ix->n_tim - 1].rel, NULL);
  }
  ix->max_ts = -1;
  return ix->n_off > 0 ? ix->off[ix->n_off - 1].pos : 0;
}

void beck__index_truncate(beck_index_t *ix, uint32_t pos) {
  while (ix->n_off > 0 && ix->off[ix->n_off - 1].pos >= pos)
    ix->n_off--;
  uint32_t keep = ix->n_off > 0 ? ix->off[ix->n_off - 1].rel : 0;
  while (ix->n_tim > 0 && ix->tim[ix->n_tim - 1].rel > keep)
    ix->n_tim--;
  ix->dirty = true;
}

void beck__index_close_time(beck_index_t *ix, uint32_t next_rel) { add_time(ix, ix->max_ts, next_rel); }

beck_err_t beck__index_encode(const beck_index_t *ix, uint8_t **off_out, size_t *off_len, uint8_t **tim_out,
                              size_t *tim_len) {
  size_t no = ix->n_off * BECK_INDEX_ENTRY_SIZE, nt = ix->n_tim * BECK_TIMEINDEX_ENTRY_SIZE;
  uint8_t *o = beck_malloc(no), *t = beck_malloc(nt);
  if (o == NULL || t == NULL) {
    beck_free(o);
    beck_free(t);
    return BECK_ERR_NOMEM;
  }
  for (size_t i = 0; i < ix->n_off; i++) {
    beck_store_be32(o + i * 8, ix->off[i].rel);
    beck_store_be32(o + i * 8 + 4, ix->off[i].pos);
  }
  for (size_t i = 0; i < ix->n_tim; i++) {
    beck_store_be64(t + i * 12, (uint64_t)ix->tim[i].ts);
    beck_store_be32(t + i * 12 + 8, ix->tim[i].rel);
  }
  *off_out = o;
  *off_len = no;
  *tim_out = t;
  *tim_len = nt;
  return BECK_ERR_OK;
}

beck_err_t beck__index_decode(beck_index_t *ix, const uint8_t *off, size_t off_len, const uint8_t *tim,
                              size_t tim_len, int64_t file_size, beck_error_t *e) {
  beck__index_reset(ix);
  if (off_len % BECK_INDEX_ENTRY_SIZE)
    return beck_error_set(e, BECK_ERR_CORRUPT, "offset index size %zu is not a multiple of %d", off_len,
                          BECK_INDEX_ENTRY_SIZE);
  if (tim_len % BECK_TIMEINDEX_ENTRY_SIZE)
    return beck_error_set(e, BECK_ERR_CORRUPT, "time index size %zu is not a multiple of %d", tim_len,
                          BECK_TIMEINDEX_ENTRY_SIZE);
  size_t no = off_len / BECK_INDEX_ENTRY_SIZE, nt = tim_len / BECK_TIMEINDEX_ENTRY_SIZE;
  for (size_t i = 0; i < no; i++) {
    uint32_t rel = beck_load_be32(off + i * 8), pos = beck_load_be32(off + i * 8 + 4);
    if ((int64_t)pos >= file_size) {
      ix->n_off = 0;
      return beck_error_set(e, BECK_ERR_CORRUPT, "offset index entry %zu: position %u is outside the %lld-byte log", i,
                            pos, (long long)file_size);
    }
    if (i > 0 && (rel <= ix->off[i - 1].rel || pos <= ix->off[i - 1].pos)) {
      ix->n_off = 0;
      return beck_error_set(e, BECK_ERR_CORRUPT, "offset index entry %zu (%u, %u) is not after the previous one", i,
                            rel, pos);
    }
    if (!grow((void **)&ix->off, &ix->cap_off, ix->n_off, sizeof *ix->off)) {
      ix->n_off = 0;
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory loading the offset index");
    }
    ix->off[ix->n_off].rel = rel;
    ix->off[ix->n_off].pos = pos;
    ix->n_off++;
  }
  for (size_t i = 0; i < nt; i++) {
    int64_t ts = (int64_t)beck_load_be64(tim + i * 12);
    uint32_t rel = beck_load_be32(tim + i * 12 + 8);
    if (ts < 0 || (i > 0 && (ts <= ix->tim[i - 1].ts || rel <= ix->tim[i - 1].rel))) {
      ix->n_off = ix->n_tim = 0;
      return beck_error_set(e, BECK_ERR_CORRUPT, "time index entry %zu (%lld, %u) is not after the previous one", i,
                            (long long)ts, rel);
    }
    if (!grow((void **)&ix->tim, &ix->cap_tim, ix->n_tim, sizeof *ix->tim)) {
      ix->n_off = ix->n_tim = 0;
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory loading the time index");
    }
    ix->tim[ix->n_tim].ts = ts;
    ix->tim[ix->n_tim].rel = rel;
    ix->n_tim++;
  }
  ix->dirty = false;
  return BECK_ERR_OK;
}
