/*
 * q2.c - Nexmark query 2, selection: the bids on every 123rd auction id.
 *
 *   SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0
 *
 * Topology: nexmark -> filter(bid on auction % 123 == 0) -> map_values(row)
 * -> to(out).
 */
#include "nexmark.h"

static const beck_nexmark_col_t cols[] = {
    {"auction", BECK_NEXMARK_I64},
    {"price", BECK_NEXMARK_I64},
};

/* The auction id sits right after the type byte of a bid (generator.h). */
static int selected(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  if (beck_nexmark_type_of(r) != BECK_NEXMARK_BID)
    return 0;
  if (r->value.len < 1 + 8)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "short bid (%d bytes)", (int)r->value.len);
  return beck_nexmark_le64(r->value.ptr + 1) % 123 == 0;
}

static beck_err_t project(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, in, &ev) != 0)
    return BECK_ERR_CORRUPT;
  beck_nexmark_row_t row;
  if (!beck_nexmark_row_begin(&row, ctx, 16))
    return BECK_ERR_NOMEM;
  beck_nexmark_row_i64(&row, ev.u.bid.auction);
  beck_nexmark_row_i64(&row, ev.u.bid.price);
  *out = beck_nexmark_row_end(&row);
  return BECK_ERR_OK;
}

static beck_err_t build(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic) {
  beck_stream_t *s = beck_topology_stream(t, "events", BECK_NEXMARK_INPUT_TOPIC, NULL);
  s = beck_stream_filter(s, "selected-bids", selected, NULL);
  s = beck_stream_map_values(s, "project", project, NULL);
  beck_stream_to(s, "out", out_topic, NULL);
  return beck_topology_error(t)->code;
}

const beck_nexmark_query_t beck_nexmark_q2 = {
    .name = "q2",
    .title = "selection",
    .summary = "bids on every 123rd auction",
    .flink_per_core = 414000,
    .cols = cols,
    .ncols = 2,
    .build = build,
};
