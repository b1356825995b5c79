/*
 * q11.c - Nexmark query 11, user sessions: how many bids each bidder made in
 * each session of activity (bids less than 10 s apart).
 *
 *   SELECT B.bidder, count(*) AS bid_count,
 *          SESSION_START(B.dateTime, INTERVAL '10' SECOND) AS starttime,
 *          SESSION_END(B.dateTime, INTERVAL '10' SECOND) AS endtime
 *   FROM bid B GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND)
 *
 * Flink's sessions join bids less than the gap apart and end one gap after
 * the last bid; the runtime's session windows join records at most gap apart
 * and end at the last record, so the gap here is 9,999 ms and endtime is
 * the last bid + 10 s.
 *
 * Topology: bids -> key bidder -> [repartition] -> session window, final
 * -> count -> (bidder, count, start, last + 10 s) -> to(out).
 */
#include "nexmark.h"

#define GAP_MS 10000

static const beck_nexmark_col_t cols[] = {
    {"bidder", BECK_NEXMARK_I64},
    {"bid_count", BECK_NEXMARK_I64},
    {"starttime", BECK_NEXMARK_I64},
    {"endtime", BECK_NEXMARK_I64},
};

/* The bidder id is the second field of a bid (generator.h). */
static beck_err_t bid_by_bidder(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  if (in->value.len < 1 + 16)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "short bid");
  *out = beck_nexmark_key_i64(ctx, beck_nexmark_le64(in->value.ptr + 9));
  return BECK_ERR_OK;
}

static beck_err_t row(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  if (!in->windowed || in->key.len != 8 || in->value.len != 8)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q11: unexpected result");
  beck_nexmark_row_t r;
  if (!beck_nexmark_row_begin(&r, ctx, 32))
    return BECK_ERR_NOMEM;
  beck_nexmark_row_i64(&r, beck_nexmark_key_get(in->key));
  beck_nexmark_row_i64(&r, (int64_t)beck_load_be64(in->value.ptr));
  beck_nexmark_row_i64(&r, in->window_start);
  beck_nexmark_row_i64(&r, in->window_end + GAP_MS);
  *out = beck_nexmark_row_end(&r);
  return BECK_ERR_OK;
}

static beck_err_t build(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic) {
  beck_stream_t *s = beck_topology_stream(t, "events", BECK_NEXMARK_INPUT_TOPIC, NULL);
  s = beck_stream_filter(s, "bids", beck_nexmark_is_bid, NULL);
  s = beck_stream_select_key(s, "bid-by-bidder", bid_by_bidder, NULL);
  s = beck_stream_group_by_key(s, "by-bidder");
  beck_window_spec_t sw = {
      .kind = BECK_WINDOW_SESSION, .gap_ms = GAP_MS - 1, .grace_ms = p->grace_ms, .emit = BECK_EMIT_FINAL};
  s = beck_stream_window(s, "session", &sw);
  beck_agg_opts_t ao = {.format = BECK_NUM_BE64};
  s = beck_stream_count(s, "bid-count", &ao);
  s = beck_stream_to_stream(s, "sessions");
  s = beck_stream_map_values(s, "row", row, NULL);
  beck_stream_to(s, "out", out_topic, NULL);
  return beck_topology_error(t)->code;
}

const beck_nexmark_query_t beck_nexmark_q11 = {
    .name = "q11",
    .title = "user sessions",
    .summary = "bids per bidder per session (10 s inactivity gap)",
    .flink_per_core = 46000,
    .stateful = true,
    .cols = cols,
    .ncols = 4,
    .build = build,
};
