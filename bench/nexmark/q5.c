/*
 * q5.c - Nexmark query 5, hot items: in every 10-second window (hopping by
 * the slide, 2 s by default), the auctions with the most bids.
 *
 *   SELECT AuctionBids.auction, AuctionBids.num
 *   FROM (SELECT auction, count(*) AS num, window_start, window_end
 *         FROM HOP(bid, dateTime, slide, 10 s) GROUP BY auction, window_start, window_end) AuctionBids
 *   JOIN (SELECT max(num) AS maxn, window_start, window_end
 *         FROM (... the same counts ...) GROUP BY window_start, window_end) MaxBids
 *   ON AuctionBids.window_start = MaxBids.window_start AND ... AND AuctionBids.num >= MaxBids.maxn
 *
 * Rows carry the window too: (starttime, endtime, auction, num).
 *
 * Topology (three stages, the counting one parallel by auction):
 *
 *   bids -> key auction -> [repartition] -> hopping window (10 s, slide)
 *        -> count, final per window
 *        -> local top: per window, the largest count this task saw and the
 *           auctions with it (all of a window's counts close together, so
 *           one output batch holds them; nothing is kept between batches)
 *        -> key window start, timestamp window start -> [repartition]
 *        -> tumbling window (slide) -> merge the local tops -> one row per
 *           winning auction -> to(out)
 */
#include "nexmark.h"

#define WINDOW_MS 10000

static const beck_nexmark_col_t cols[] = {
    {"starttime", BECK_NEXMARK_I64},
    {"endtime", BECK_NEXMARK_I64},
    {"auction", BECK_NEXMARK_I64},
    {"num", BECK_NEXMARK_I64},
};

/* A top: i64 max, i64 n, then n auction ids (all i64 little-endian). */
typedef struct top {
  int64_t ws, max;
  int64_t *ids;
  int64_t n, cap;
} top_t;

static beck_err_t bid_by_auction(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  if (in->value.len < 1 + 8)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "short bid");
  *out = beck_nexmark_key_i64(ctx, beck_nexmark_le64(in->value.ptr + 1));
  return BECK_ERR_OK;
}

static int top_push(beck_sctx_t *ctx, top_t *t, int64_t id) {
  if (t->n == t->cap) {
    int64_t nc = t->cap ? t->cap * 2 : 4;
    int64_t *a = beck_sctx_alloc(ctx, (size_t)nc * sizeof *a);
    if (a == NULL)
      return BECK_ERR_NOMEM;
    if (t->n)
      memcpy(a, t->ids, (size_t)t->n * sizeof *a);
    t->ids = a;
    t->cap = nc;
  }
  t->ids[t->n++] = id;
  return 0;
}

static void top_offer(beck_sctx_t *ctx, top_t *t, int64_t count, int64_t id, int *rc) {
  if (count > t->max) {
    t->max = count;
    t->n = 0;
  }
  if (count == t->max && *rc == 0)
    *rc = top_push(ctx, t, id);
}

static beck_nstr_t top_bytes(beck_sctx_t *ctx, const top_t *t) {
  size_t n = 16 + 8 * (size_t)t->n;
  uint8_t *p = beck_sctx_alloc(ctx, n);
  if (p == NULL)
    return beck_nstr_null();
  memcpy(p, &t->max, 8);
  memcpy(p + 8, &t->n, 8);
  if (t->n)
    memcpy(p + 16, t->ids, 8 * (size_t)t->n);
  return beck_nstr(p, (int32_t)n);
}

static bool top_valid(beck_nstr_t v) {
  return v.len >= 16 && (size_t)v.len == 16 + 8 * (size_t)beck_nexmark_le64(v.ptr + 8);
}

/* Per window of the batch: the largest count and its auctions. */
static beck_err_t local_top(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in) {
  top_t *tops = NULL;
  size_t ntops = 0, cap = 0;
  int rc = 0;
  for (size_t i = 0; i < in->n && rc == 0; i++) {
    const beck_srec_t *r = &in->recs[i];
    if (!r->windowed || r->value.len != 8 || r->key.len != 8)
      return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q5: unexpected count record");
    int64_t count = (int64_t)beck_load_be64(r->value.ptr);
    size_t k = ntops;
    while (k > 0 && tops[k - 1].ws != r->window_start)
      k--;
    if (k == 0) {
      if (ntops == cap) {
        size_t nc = cap ? cap * 2 : 4;
        top_t *a = beck_sctx_alloc(ctx, nc * sizeof *a);
        if (a == NULL)
          return BECK_ERR_NOMEM;
        if (ntops)
          memcpy(a, tops, ntops * sizeof *a);
        tops = a;
        cap = nc;
      }
      tops[ntops] = (top_t){.ws = r->window_start, .max = INT64_MIN};
      k = ++ntops;
    }
    top_offer(ctx, &tops[k - 1], count, beck_nexmark_key_get(r->key), &rc);
  }
  for (size_t k = 0; k < ntops && rc == 0; k++) {
    beck_srec_t o = {.timestamp = tops[k].ws};
    o.key = beck_nexmark_key_i64(ctx, tops[k].ws);
    o.value = top_bytes(ctx, &tops[k]);
    if (o.key.len < 0 || o.value.len < 0)
      return BECK_ERR_NOMEM;
    rc = beck_sctx_emit(ctx, &o);
  }
  return rc;
}

static beck_err_t top_init(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *out) {
  *out = beck_nstr("", 0);
  return BECK_ERR_OK;
}

/* Merges a local top into the window's top. */
static beck_err_t top_add(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_nstr_t agg, beck_nstr_t *out) {
  if (!top_valid(r->value) || (agg.len != 0 && !top_valid(agg)))
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q5: unexpected top");
  top_t t = {.max = INT64_MIN};
  int rc = 0;
  const beck_nstr_t *parts[2] = {&agg, &r->value};
  for (int k = 0; k < 2; k++) {
    const beck_nstr_t *v = parts[k];
    if (v->len == 0)
      continue;
    int64_t max = beck_nexmark_le64(v->ptr), n = beck_nexmark_le64(v->ptr + 8);
    for (int64_t i = 0; i < n; i++)
      top_offer(ctx, &t, max, beck_nexmark_le64(v->ptr + 16 + 8 * i), &rc);
  }
  if (rc != 0)
    return rc;
  *out = top_bytes(ctx, &t);
  return out->len < 0 ? BECK_ERR_NOMEM : BECK_ERR_OK;
}

static beck_err_t rows(void *ud, beck_sctx_t *ctx, const beck_srec_t *in) {
  if (!in->windowed || !top_valid(in->value))
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q5: unexpected result");
  int64_t max = beck_nexmark_le64(in->value.ptr), n = beck_nexmark_le64(in->value.ptr + 8);
  for (int64_t i = 0; i < n; i++) {
    beck_nexmark_row_t row;
    if (!beck_nexmark_row_begin(&row, ctx, 32))
      return BECK_ERR_NOMEM;
    beck_nexmark_row_i64(&row, in->window_start);
    beck_nexmark_row_i64(&row, in->window_start + WINDOW_MS);
    beck_nexmark_row_i64(&row, beck_nexmark_le64(in->value.ptr + 16 + 8 * i));
    beck_nexmark_row_i64(&row, max);
    beck_srec_t o = {.key = in->key, .value = beck_nexmark_row_end(&row), .timestamp = in->timestamp};
    beck_err_t rc = beck_sctx_emit(ctx, &o);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return BECK_ERR_OK;
}

static beck_err_t build(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic) {
  int64_t slide = p->q5_slide_ms;
  beck_stream_t *s = beck_topology_stream(t, "events", BECK_NEXMARK_INPUT_TOPIC, NULL);
  s = beck_stream_filter(s, "bids", beck_nexmark_is_bid, NULL);
  s = beck_stream_select_key(s, "bid-by-auction", bid_by_auction, NULL);
  s = beck_stream_group_by_key(s, "by-auction");
  beck_window_spec_t hop = {.kind = BECK_WINDOW_HOPPING,
                            .size_ms = WINDOW_MS,
                            .advance_ms = slide,
                            .grace_ms = p->grace_ms,
                            .emit = BECK_EMIT_FINAL};
  s = beck_stream_window(s, "hop", &hop);
  beck_agg_opts_t ao = {.format = BECK_NUM_BE64};
  s = beck_stream_count(s, "bid-count", &ao);
  s = beck_stream_to_stream(s, "bid-counts");
  s = beck_stream_process(s, "local-top", local_top, NULL, false);
  s = beck_stream_group_by_key(s, "by-window");
  /* A counting task closes every window up to the last one at once when
   * the input ends, and the two tasks' bursts reach the merging task one
   * after the other: the grace here spans a whole window so that the
   * second burst is not late. */
  beck_window_spec_t per = {
      .kind = BECK_WINDOW_TUMBLING, .size_ms = slide, .grace_ms = WINDOW_MS + 2 * p->grace_ms, .emit = BECK_EMIT_FINAL};
  s = beck_stream_window(s, "window", &per);
  beck_aggregator_t top = {.init = top_init, .add = top_add};
  s = beck_stream_aggregate(s, "top", &top, NULL);
  s = beck_stream_to_stream(s, "tops");
  s = beck_stream_flat_map(s, "rows", rows, NULL);
  beck_stream_to(s, "out", out_topic, NULL);
  return beck_topology_error(t)->code;
}

const beck_nexmark_query_t beck_nexmark_q5 = {
    .name = "q5",
    .title = "hot items",
    .summary = "auctions with the most bids per 10 s window, sliding by 2 s",
    .flink_per_core = 75000,
    .stateful = true,
    .cols = cols,
    .ncols = 4,
    .build = build,
};
