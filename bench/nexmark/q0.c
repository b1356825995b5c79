/*
 * q0.c - Nexmark query 0, pass through: every bid, projected to
 * (auction, bidder, price, dateTime, extra). Measures what reading,
 * decoding and writing records cost.
 *
 *   SELECT auction, bidder, price, dateTime, extra FROM bid
 *
 * Topology: nexmark -> filter(bid) -> map_values(row) -> to(out).
 */
#include "nexmark.h"

static const beck_nexmark_col_t cols[] = {
    {"auction", BECK_NEXMARK_I64},  {"bidder", BECK_NEXMARK_I64}, {"price", BECK_NEXMARK_I64},
    {"dateTime", BECK_NEXMARK_I64}, {"extra", BECK_NEXMARK_STR},
};

static beck_err_t project(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, in, &ev) != 0)
    return BECK_ERR_CORRUPT;
  const beck_nexmark_bid_t *b = &ev.u.bid;
  beck_nexmark_row_t row;
  if (!beck_nexmark_row_begin(&row, ctx, 4 * 8 + 2 + b->extra.len))
    return BECK_ERR_NOMEM;
  beck_nexmark_row_i64(&row, b->auction);
  beck_nexmark_row_i64(&row, b->bidder);
  beck_nexmark_row_i64(&row, b->price);
  beck_nexmark_row_i64(&row, b->date_time);
  beck_nexmark_row_str(&row, b->extra.ptr, b->extra.len);
  *out = beck_nexmark_row_end(&row);
  return BECK_ERR_OK;
}

static beck_err_t build(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic) {
  beck_stream_t *s = beck_topology_stream(t, "events", BECK_NEXMARK_INPUT_TOPIC, NULL);
  s = beck_stream_filter(s, "bids", beck_nexmark_is_bid, NULL);
  s = beck_stream_map_values(s, "project", project, NULL);
  beck_stream_to(s, "out", out_topic, NULL);
  return beck_topology_error(t)->code;
}

const beck_nexmark_query_t beck_nexmark_q0 = {
    .name = "q0",
    .title = "pass through",
    .summary = "every bid, projected",
    .flink_per_core = 380000,
    .cols = cols,
    .ncols = 5,
    .build = build,
};
