/*
 * q4.c - Nexmark query 4, average price for a category: the average of the
 * winning (highest) bid over the auctions of each category, counting the
 * bids placed while the auction was open.
 *
 *   SELECT Q.category, AVG(Q.final)
 *   FROM (SELECT MAX(B.price) AS final, A.category
 *         FROM auction A, bid B
 *         WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
 *         GROUP BY A.id, A.category) Q
 *   GROUP BY Q.category
 *
 * AVG of a BIGINT is a BIGINT (truncated), as in Flink. The result is a
 * table that updates as winning bids change; the latest row per category
 * is the answer.
 *
 * Topology:
 *
 *   bids (key auction; price, t) ---------+
 *                                          join (stream-stream: an auction at
 *   auctions (key id; t, expires, cat) ---+  most max_auction_ms before the bid)
 *     -> keep bids inside [dateTime, expires]
 *     -> aggregate per auction: running max, and the change it makes to its
 *        category's sum and count (a new auction adds (max, 1), a higher
 *        bid adds (new - old, 0))
 *     -> drop the updates that change nothing
 *     -> group by category -> aggregate (sum, count) -> (category, sum/count)
 *
 * The join window replaces Flink's unbounded join: a bid is only ever
 * counted for an auction whose [dateTime, expires] contains it, and no
 * auction lasts longer than the generator's max_auction_ms, so the window
 * loses nothing and lets the join forget old auctions.
 */
#include "nexmark.h"

static const beck_nexmark_col_t cols[] = {
    {"category", BECK_NEXMARK_I64},
    {"avg", BECK_NEXMARK_I64},
};

/* Fixed-size values, i64 little-endian fields. */
#define BID_V 16     /* price, dateTime */
#define AUCTION_V 24 /* dateTime, expires, category */
#define JOINED_V 16  /* category, price */
#define MAX_V 32     /* category, max, dsum, dcnt */
#define AVG_V 16     /* sum, count */

static uint8_t *vals(beck_sctx_t *ctx, size_t n) { return beck_sctx_alloc(ctx, n); }

static void put(uint8_t *p, int i, int64_t v) { memcpy(p + 8 * i, &v, 8); }

static int64_t get(const uint8_t *p, int i) { return beck_nexmark_le64(p + 8 * i); }

static beck_err_t bid_by_auction(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_srec_t *out) {
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, in, &ev) != 0)
    return BECK_ERR_CORRUPT;
  uint8_t *v = vals(ctx, BID_V);
  if (v == NULL)
    return BECK_ERR_NOMEM;
  put(v, 0, ev.u.bid.price);
  put(v, 1, ev.u.bid.date_time);
  out->key = beck_nexmark_key_i64(ctx, ev.u.bid.auction);
  out->value = beck_nstr(v, BID_V);
  return BECK_ERR_OK;
}

static beck_err_t auction_by_id(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_srec_t *out) {
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, in, &ev) != 0)
    return BECK_ERR_CORRUPT;
  uint8_t *v = vals(ctx, AUCTION_V);
  if (v == NULL)
    return BECK_ERR_NOMEM;
  put(v, 0, ev.u.auction.date_time);
  put(v, 1, ev.u.auction.expires);
  put(v, 2, ev.u.auction.category);
  out->key = beck_nexmark_key_i64(ctx, ev.u.auction.id);
  out->value = beck_nstr(v, AUCTION_V);
  return BECK_ERR_OK;
}

/* A bid inside its auction's [dateTime, expires] -> (category, price);
 * otherwise null (aggregations skip null values). */
static beck_err_t joiner(void *ud, beck_sctx_t *ctx, const beck_srec_t *bid, const beck_srec_t *auction,
                         beck_nstr_t *out) {
  if (bid->value.len != BID_V || auction->value.len != AUCTION_V)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q4: unexpected join input");
  int64_t t = get(bid->value.ptr, 1);
  if (t < get(auction->value.ptr, 0) || t > get(auction->value.ptr, 1)) {
    *out = beck_nstr_null();
    return BECK_ERR_OK;
  }
  uint8_t *v = vals(ctx, JOINED_V);
  if (v == NULL)
    return BECK_ERR_NOMEM;
  put(v, 0, get(auction->value.ptr, 2));
  put(v, 1, get(bid->value.ptr, 0));
  *out = beck_nstr(v, JOINED_V);
  return BECK_ERR_OK;
}

static beck_err_t agg_empty(void *ud, beck_sctx_t *ctx, beck_nstr_t key, beck_nstr_t *out) {
  *out = beck_nstr("", 0);
  return BECK_ERR_OK;
}

/* Per auction: (category, max, dsum, dcnt), where (dsum, dcnt) is what this
 * update adds to the category's (sum, count). */
static beck_err_t max_add(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_nstr_t agg, beck_nstr_t *out) {
  if (r->value.len != JOINED_V || (agg.len != 0 && agg.len != MAX_V))
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q4: unexpected aggregate input");
  int64_t cat = get(r->value.ptr, 0), price = get(r->value.ptr, 1);
  uint8_t *v = vals(ctx, MAX_V);
  if (v == NULL)
    return BECK_ERR_NOMEM;
  if (agg.len == 0) {
    put(v, 0, cat);
    put(v, 1, price);
    put(v, 2, price);
    put(v, 3, 1);
  } else {
    int64_t max = get(agg.ptr, 1);
    put(v, 0, cat);
    put(v, 1, price > max ? price : max);
    put(v, 2, price > max ? price - max : 0);
    put(v, 3, 0);
  }
  *out = beck_nstr(v, MAX_V);
  return BECK_ERR_OK;
}

static int changes_avg(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  if (r->value.len != MAX_V)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q4: unexpected update");
  return get(r->value.ptr, 2) != 0 || get(r->value.ptr, 3) != 0;
}

static beck_err_t category_key(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  *out = beck_nexmark_key_i64(ctx, get(in->value.ptr, 0));
  return BECK_ERR_OK;
}

static beck_err_t avg_add(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_nstr_t agg, beck_nstr_t *out) {
  if (r->value.len != MAX_V || (agg.len != 0 && agg.len != AVG_V))
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q4: unexpected aggregate input");
  uint8_t *v = vals(ctx, AVG_V);
  if (v == NULL)
    return BECK_ERR_NOMEM;
  int64_t sum = agg.len ? get(agg.ptr, 0) : 0, cnt = agg.len ? get(agg.ptr, 1) : 0;
  put(v, 0, sum + get(r->value.ptr, 2));
  put(v, 1, cnt + get(r->value.ptr, 3));
  *out = beck_nstr(v, AVG_V);
  return BECK_ERR_OK;
}

static beck_err_t avg_row(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  if (in->value.len != AVG_V || in->key.len != 8)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q4: unexpected average");
  int64_t sum = get(in->value.ptr, 0), cnt = get(in->value.ptr, 1);
  beck_nexmark_row_t row;
  if (!beck_nexmark_row_begin(&row, ctx, 16))
    return BECK_ERR_NOMEM;
  beck_nexmark_row_i64(&row, beck_nexmark_key_get(in->key));
  beck_nexmark_row_i64(&row, cnt > 0 ? sum / cnt : 0);
  *out = beck_nexmark_row_end(&row);
  return BECK_ERR_OK;
}

static beck_err_t build(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic) {
  beck_stream_t *ev = beck_topology_stream(t, "events", BECK_NEXMARK_INPUT_TOPIC, NULL);
  beck_stream_t *b = beck_stream_filter(ev, "bids", beck_nexmark_is_bid, NULL);
  b = beck_stream_map(b, "bid-by-auction", bid_by_auction, NULL);
  beck_stream_t *a = beck_stream_filter(ev, "auctions", beck_nexmark_is_auction, NULL);
  a = beck_stream_map(a, "auction-by-id", auction_by_id, NULL);
  beck_join_opts_t jo = {
      .kind = BECK_JOIN_INNER,
      .before_ms = beck_nexmark_max_auction_ms(&p->gen),
      .after_ms = 0,
      .grace_ms = p->grace_ms,
  };
  beck_stream_t *j = beck_stream_join(b, a, "bid-auction-join", joiner, NULL, &jo);
  beck_stream_t *g = beck_stream_group_by_key(j, "by-auction");
  beck_aggregator_t maxa = {.init = agg_empty, .add = max_add};
  beck_stream_t *m = beck_stream_aggregate(g, "winning-bid", &maxa, NULL);
  beck_stream_t *u = beck_stream_to_stream(m, "winning-bid-updates");
  u = beck_stream_filter(u, "changes", changes_avg, NULL);
  g = beck_stream_group_by(u, "by-category", category_key, NULL);
  beck_aggregator_t avga = {.init = agg_empty, .add = avg_add};
  beck_stream_t *avg = beck_stream_aggregate(g, "category-avg", &avga, NULL);
  beck_stream_t *rows = beck_stream_to_stream(avg, "category-avg-updates");
  rows = beck_stream_map_values(rows, "row", avg_row, NULL);
  beck_stream_to(rows, "out", out_topic, NULL);
  return beck_topology_error(t)->code;
}

const beck_nexmark_query_t beck_nexmark_q4 = {
    .name = "q4",
    .title = "average price for a category",
    .summary = "average winning bid per category (join + two aggregations)",
    .flink_per_core = 28000,
    .stateful = true,
    .table = true,
    .cols = cols,
    .ncols = 2,
    .build = build,
};
