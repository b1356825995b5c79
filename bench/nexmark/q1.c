/*
 * q1.c - Nexmark query 1, currency conversion: every bid with its price in
 * euros (0.908 per dollar), exactly: DECIMAL with 3 decimals, kept as
 * thousandths (price * 908).
 *
 *   SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid
 *
 * Topology: nexmark -> filter(bid) -> map_values(row) -> to(out).
 */
#include "nexmark.h"

static const beck_nexmark_col_t cols[] = {
    {"auction", BECK_NEXMARK_I64},  {"bidder", BECK_NEXMARK_I64}, {"price", BECK_NEXMARK_DEC3},
    {"dateTime", BECK_NEXMARK_I64}, {"extra", BECK_NEXMARK_STR},
};

static beck_err_t convert(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, in, &ev) != 0)
    return BECK_ERR_CORRUPT;
  const beck_nexmark_bid_t *b = &ev.u.bid;
  beck_nexmark_row_t row;
  if (!beck_nexmark_row_begin(&row, ctx, 4 * 8 + 2 + b->extra.len))
    return BECK_ERR_NOMEM;
  beck_nexmark_row_i64(&row, b->auction);
  beck_nexmark_row_i64(&row, b->bidder);
  beck_nexmark_row_i64(&row, b->price * 908); /* 0.908 * price, in thousandths */
  beck_nexmark_row_i64(&row, b->date_time);
  beck_nexmark_row_str(&row, b->extra.ptr, b->extra.len);
  *out = beck_nexmark_row_end(&row);
  return BECK_ERR_OK;
}

static beck_err_t build(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic) {
  beck_stream_t *s = beck_topology_stream(t, "events", BECK_NEXMARK_INPUT_TOPIC, NULL);
  s = beck_stream_filter(s, "bids", beck_nexmark_is_bid, NULL);
  s = beck_stream_map_values(s, "convert", convert, NULL);
  beck_stream_to(s, "out", out_topic, NULL);
  return beck_topology_error(t)->code;
}

const beck_nexmark_query_t beck_nexmark_q1 = {
    .name = "q1",
    .title = "currency conversion",
    .summary = "every bid with its price in euros",
    .flink_per_core = 400000,
    .cols = cols,
    .ncols = 5,
    .build = build,
};
