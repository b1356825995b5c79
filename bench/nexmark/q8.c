/*
 * q8.c - Nexmark query 8, monitor new users: the people who registered and
 * opened an auction within the same 10-second window.
 *
 *   SELECT P.id, P.name, P.starttime
 *   FROM (SELECT id, name, window_start AS starttime, window_end AS endtime
 *         FROM TUMBLE(person, dateTime, 10 s) GROUP BY id, name, window_start, window_end) P
 *   JOIN (SELECT seller, window_start AS starttime, window_end AS endtime
 *         FROM TUMBLE(auction, dateTime, 10 s) GROUP BY seller, window_start, window_end) A
 *   ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime
 *
 * Topology:
 *
 *   persons (key id; name) -------+
 *                                  join (stream-stream, +-10 s; the joiner keeps the
 *   auctions (key seller) --------+  pairs in one tumbling window) -> tumbling window
 *        10 s, final -> first name per (person, window) -> (id, name, starttime)
 *
 * The window after the join turns "one result per matching auction" into
 * the one row per person and window the GROUP BYs give.
 */
#include "nexmark.h"

#define WINDOW_MS 10000

static const beck_nexmark_col_t cols[] = {
    {"id", BECK_NEXMARK_I64},
    {"name", BECK_NEXMARK_STR},
    {"starttime", BECK_NEXMARK_I64},
};

static int64_t window_of(int64_t t) {
  int64_t w = t / WINDOW_MS * WINDOW_MS;
  return w > t ? w - WINDOW_MS : w;
}

/* key = id, value = name */
static beck_err_t person_by_id(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_srec_t *out) {
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, in, &ev) != 0)
    return BECK_ERR_CORRUPT;
  out->key = beck_nexmark_key_i64(ctx, ev.u.person.id);
  out->value = beck_nstr(ev.u.person.name.ptr, (int32_t)ev.u.person.name.len);
  return BECK_ERR_OK;
}

/* key = seller, value = empty */
static beck_err_t auction_by_seller(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_srec_t *out) {
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, in, &ev) != 0)
    return BECK_ERR_CORRUPT;
  out->key = beck_nexmark_key_i64(ctx, ev.u.auction.seller);
  out->value = beck_nstr("", 0);
  return BECK_ERR_OK;
}

/* The name when both fall in one window, else null (dropped by the
 * aggregation after it). */
static beck_err_t joiner(void *ud, beck_sctx_t *ctx, const beck_srec_t *person, const beck_srec_t *auction,
                         beck_nstr_t *out) {
  *out = window_of(person->timestamp) == window_of(auction->timestamp) ? person->value : beck_nstr_null();
  return BECK_ERR_OK;
}

static beck_err_t keep_first(void *ud, beck_sctx_t *ctx, beck_nstr_t agg, const beck_srec_t *r, beck_nstr_t *out) {
  *out = agg;
  return BECK_ERR_OK;
}

static beck_err_t row(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_nstr_t *out) {
  if (!in->windowed || in->key.len != 8 || in->value.len < 0)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q8: unexpected result");
  beck_nexmark_row_t r;
  if (!beck_nexmark_row_begin(&r, ctx, 18 + (size_t)in->value.len))
    return BECK_ERR_NOMEM;
  beck_nexmark_row_i64(&r, beck_nexmark_key_get(in->key));
  beck_nexmark_row_str(&r, in->value.ptr, (size_t)in->value.len);
  beck_nexmark_row_i64(&r, in->window_start);
  *out = beck_nexmark_row_end(&r);
  return BECK_ERR_OK;
}

static beck_err_t build(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic) {
  beck_stream_t *ev = beck_topology_stream(t, "events", BECK_NEXMARK_INPUT_TOPIC, NULL);
  beck_stream_t *per = beck_stream_filter(ev, "persons", beck_nexmark_is_person, NULL);
  per = beck_stream_map(per, "person-by-id", person_by_id, NULL);
  beck_stream_t *a = beck_stream_filter(ev, "auctions", beck_nexmark_is_auction, NULL);
  a = beck_stream_map(a, "auction-by-seller", auction_by_seller, NULL);
  beck_join_opts_t jo = {
      .kind = BECK_JOIN_INNER, .before_ms = WINDOW_MS - 1, .after_ms = WINDOW_MS - 1, .grace_ms = p->grace_ms};
  beck_stream_t *j = beck_stream_join(per, a, "seller-join", joiner, NULL, &jo);
  j = beck_stream_group_by_key(j, "by-person");
  beck_window_spec_t tw = {
      .kind = BECK_WINDOW_TUMBLING, .size_ms = WINDOW_MS, .grace_ms = p->grace_ms, .emit = BECK_EMIT_FINAL};
  j = beck_stream_window(j, "tumble", &tw);
  j = beck_stream_reduce(j, "new-user", keep_first, NULL, NULL);
  j = beck_stream_to_stream(j, "new-users");
  j = beck_stream_map_values(j, "row", row, NULL);
  beck_stream_to(j, "out", out_topic, NULL);
  return beck_topology_error(t)->code;
}

const beck_nexmark_query_t beck_nexmark_q8 = {
    .name = "q8",
    .title = "monitor new users",
    .summary = "people who opened an auction in the window they registered in (windowed join)",
    .flink_per_core = 162000,
    .stateful = true,
    .cols = cols,
    .ncols = 3,
    .build = build,
};
