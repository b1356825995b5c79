/*
 * q7.c - Nexmark query 7, highest bid: the bids that carry the highest
 * price of their 10-second window.
 *
 *   SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
 *   FROM bid B JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime
 *                    FROM TUMBLE(bid, dateTime, 10 s) GROUP BY window_start, window_end) B1
 *   ON B.price = B1.maxprice
 *   WHERE B.dateTime BETWEEN B1.dateTime - 10 s AND B1.dateTime
 *
 * BETWEEN includes both ends: a bid at exactly a window's end (the first
 * millisecond of the next window) matches that window's maximum too.
 *
 * A global aggregate. Each input task first drops the bids that cannot be
 * a window's maximum (those below the highest price it has seen in their
 * window so far), keeping every bid on a window boundary; what is left is a
 * handful of candidates per window. The candidates meet in one task
 * (through topic nexmark-q7-candidates, one partition):
 *
 *   bids -> candidates (per task, per window running max) -> to(candidates)
 *   candidates -> tumbling window 10 s -> max(price), final
 *              -> timestamp = window end ------------------------------+
 *   candidates ---------------------------------------------------------+- join (bid in
 *        [end - 10 s, end]) -> price == max -> to(out)
 *
 * The per-task running max lives in memory, not in a store: losing it only
 * lets more candidates through, never fewer.
 */
#include "nexmark.h"

#define WINDOW_MS 10000
#define CANDIDATES "nexmark-q7-candidates"

static const beck_nexmark_col_t cols[] = {
    {"auction", BECK_NEXMARK_I64},  {"price", BECK_NEXMARK_I64}, {"bidder", BECK_NEXMARK_I64},
    {"dateTime", BECK_NEXMARK_I64}, {"extra", BECK_NEXMARK_STR},
};

static const char *const through[] = {CANDIDATES, NULL};

static const uint8_t all_key[] = {'a', 'l', 'l'};

/* Per task: the window being read and its highest price so far. Tasks of
 * one topology run on different threads: one slot per partition. */
typedef struct run_max {
  int64_t ws, max;
} run_max_t;

#define MAX_PARTITIONS 256

typedef struct q7_state {
  run_max_t per_partition[MAX_PARTITIONS];
} q7_state_t;

static int64_t window_of(int64_t t) {
  int64_t w = t / WINDOW_MS * WINDOW_MS;
  return w > t ? w - WINDOW_MS : w;
}

/* Row for a candidate bid: the result row itself (auction, price, bidder,
 * dateTime, extra); the price is at offset 8. */
static beck_err_t candidates(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in) {
  q7_state_t *st = ud;
  int32_t part = beck_sctx_partition(ctx);
  if (part < 0 || part >= MAX_PARTITIONS)
    return beck_sctx_fail(ctx, BECK_ERR_UNSUPPORTED, "q7: more than %d partitions", MAX_PARTITIONS);
  run_max_t *rm = &st->per_partition[part];
  for (size_t i = 0; i < in->n; i++) {
    const beck_srec_t *r = &in->recs[i];
    beck_nexmark_event_t ev;
    if (beck_nexmark_event_of(ctx, r, &ev) != 0)
      return BECK_ERR_CORRUPT;
    const beck_nexmark_bid_t *b = &ev.u.bid;
    int64_t ws = window_of(b->date_time);
    bool keep = b->date_time == ws; /* on a boundary: may match the previous window */
    if (ws > rm->ws) {
      rm->ws = ws;
      rm->max = b->price;
      keep = true;
    } else if (ws == rm->ws && b->price >= rm->max) {
      rm->max = b->price;
      keep = true;
    } else if (ws < rm->ws) {
      keep = true; /* out of order: nothing known, keep it */
    }
    if (!keep)
      continue;
    beck_nexmark_row_t row;
    if (!beck_nexmark_row_begin(&row, ctx, 4 * 8 + 2 + b->extra.len))
      return BECK_ERR_NOMEM;
    beck_nexmark_row_i64(&row, b->auction);
    beck_nexmark_row_i64(&row, b->price);
    beck_nexmark_row_i64(&row, b->bidder);
    beck_nexmark_row_i64(&row, b->date_time);
    beck_nexmark_row_str(&row, b->extra.ptr, b->extra.len);
    beck_srec_t o = {
        .key = beck_nstr(all_key, sizeof all_key), .value = beck_nexmark_row_end(&row), .timestamp = r->timestamp};
    beck_err_t rc = beck_sctx_emit(ctx, &o);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return BECK_ERR_OK;
}

static int candidate_price(void *ud, beck_sctx_t *ctx, const beck_srec_t *r, beck_num_t *out) {
  if (r->value.len < 16)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q7: short candidate");
  out->is_double = false;
  out->i = beck_nexmark_le64(r->value.ptr + 8);
  return 1;
}

/* The window's max, stamped at the window's end, value = be64 max. */
static beck_err_t at_window_end(void *ud, beck_sctx_t *ctx, const beck_sbatch_t *in) {
  for (size_t i = 0; i < in->n; i++) {
    beck_srec_t o = in->recs[i];
    if (!o.windowed || o.value.len != 8)
      return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q7: unexpected max");
    o.timestamp = o.window_end;
    o.windowed = false;
    beck_err_t rc = beck_sctx_emit(ctx, &o);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return BECK_ERR_OK;
}

static beck_err_t joiner(void *ud, beck_sctx_t *ctx, const beck_srec_t *max, const beck_srec_t *bid, beck_nstr_t *out) {
  if (max->value.len != 8 || bid->value.len < 16)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q7: unexpected join input");
  int64_t m = (int64_t)beck_load_be64(max->value.ptr);
  *out = beck_nexmark_le64(bid->value.ptr + 8) == m ? bid->value : beck_nstr_null();
  return BECK_ERR_OK;
}

static int not_null(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) { return r->value.len >= 0; }

/* The running maxima. Static: one q7 topology runs per process at a time
 * (build() resets it). */
static q7_state_t q7_state;

static beck_err_t build(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic) {
  memset(&q7_state, 0, sizeof q7_state);
  for (int i = 0; i < MAX_PARTITIONS; i++)
    q7_state.per_partition[i].ws = INT64_MIN;
  beck_stream_t *s = beck_topology_stream(t, "events", BECK_NEXMARK_INPUT_TOPIC, NULL);
  s = beck_stream_filter(s, "bids", beck_nexmark_is_bid, NULL);
  s = beck_stream_process(s, "candidates", candidates, &q7_state, false);
  beck_stream_to(s, "to-candidates", CANDIDATES, NULL);

  beck_stream_t *c = beck_topology_stream(t, "candidates-in", CANDIDATES, NULL);
  beck_stream_t *g = beck_stream_group_by_key(c, "all");
  beck_window_spec_t tw = {
      .kind = BECK_WINDOW_TUMBLING, .size_ms = WINDOW_MS, .grace_ms = p->grace_ms, .emit = BECK_EMIT_FINAL};
  g = beck_stream_window(g, "tumble", &tw);
  beck_agg_opts_t ao = {.format = BECK_NUM_BE64, .num_fn = candidate_price};
  beck_stream_t *m = beck_stream_max(g, "max-price", &ao);
  m = beck_stream_to_stream(m, "maxima");
  m = beck_stream_process(m, "at-window-end", at_window_end, NULL, true);
  /* The maxima come out only when a window closes (grace after its end):
   * the candidates must still be buffered then, hence the longer grace. */
  beck_join_opts_t jo = {
      .kind = BECK_JOIN_INNER, .before_ms = WINDOW_MS, .after_ms = 0, .grace_ms = 2 * p->grace_ms + 2 * WINDOW_MS};
  beck_stream_t *j = beck_stream_join(m, c, "max-join", joiner, NULL, &jo);
  j = beck_stream_filter(j, "highest", not_null, NULL);
  beck_stream_to(j, "out", out_topic, NULL);
  return beck_topology_error(t)->code;
}

const beck_nexmark_query_t beck_nexmark_q7 = {
    .name = "q7",
    .title = "highest bid",
    .summary = "the bids with the highest price of each 10 s window",
    .flink_per_core = 23000,
    .stateful = true,
    .cols = cols,
    .ncols = 5,
    .through_topics = through,
    .build = build,
};
