/*
 * q3.c - Nexmark query 3, local item suggestion: who sells in Oregon, Idaho
 * or California in category 10, and which auctions.
 *
 *   SELECT P.name, P.city, P.state, A.id
 *   FROM auction A JOIN person P ON A.seller = P.id
 *   WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')
 *
 * A regular (unwindowed) join, as in Flink: an auction can arrive before
 * its seller (the generator picks sellers up to 10 people ahead), so both
 * sides are kept for the whole run. Topology:
 *
 *   nexmark -> filter(auction, category 10) -> map(key seller, value id) --+
 *                                                                            join (stream-stream,
 *   nexmark -> filter(person, OR/ID/CA) -> map(key id, value name/city/state) -+  unbounded) -> to(out)
 *
 * (both sides re-keyed: each reaches the join through a repartition topic).
 */
#include "nexmark.h"

#define UNBOUNDED (INT64_MAX / 4)

static const beck_nexmark_col_t cols[] = {
    {"name", BECK_NEXMARK_STR},
    {"city", BECK_NEXMARK_STR},
    {"state", BECK_NEXMARK_STR},
    {"id", BECK_NEXMARK_I64},
};

static int auction_in_10(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  if (beck_nexmark_type_of(r) != BECK_NEXMARK_AUCTION)
    return 0;
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, r, &ev) != 0)
    return BECK_ERR_CORRUPT;
  return ev.u.auction.category == 10;
}

static bool state_is(beck_nexmark_str_t s, const char *two) {
  return s.len == 2 && s.ptr[0] == two[0] && s.ptr[1] == two[1];
}

static int person_in_states(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  if (beck_nexmark_type_of(r) != BECK_NEXMARK_PERSON)
    return 0;
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, r, &ev) != 0)
    return BECK_ERR_CORRUPT;
  beck_nexmark_str_t st = ev.u.person.state;
  return state_is(st, "OR") || state_is(st, "ID") || state_is(st, "CA");
}

/* key = seller, value = auction id (8 bytes LE) */
static beck_err_t auction_by_seller(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_srec_t *out) {
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, in, &ev) != 0)
    return BECK_ERR_CORRUPT;
  beck_nexmark_row_t row;
  if (!beck_nexmark_row_begin(&row, ctx, 8))
    return BECK_ERR_NOMEM;
  beck_nexmark_row_i64(&row, ev.u.auction.id);
  out->key = beck_nexmark_key_i64(ctx, ev.u.auction.seller);
  out->value = beck_nexmark_row_end(&row);
  return BECK_ERR_OK;
}

/* key = person id, value = (name, city, state) as row strings */
static beck_err_t person_by_id(void *ud, beck_sctx_t *ctx, const beck_srec_t *in, beck_srec_t *out) {
  beck_nexmark_event_t ev;
  if (beck_nexmark_event_of(ctx, in, &ev) != 0)
    return BECK_ERR_CORRUPT;
  const beck_nexmark_person_t *p = &ev.u.person;
  beck_nexmark_row_t row;
  if (!beck_nexmark_row_begin(&row, ctx, 6 + p->name.len + p->city.len + p->state.len))
    return BECK_ERR_NOMEM;
  beck_nexmark_row_str(&row, p->name.ptr, p->name.len);
  beck_nexmark_row_str(&row, p->city.ptr, p->city.len);
  beck_nexmark_row_str(&row, p->state.ptr, p->state.len);
  out->key = beck_nexmark_key_i64(ctx, p->id);
  out->value = beck_nexmark_row_end(&row);
  return BECK_ERR_OK;
}

/* (name, city, state) ++ (id): the person's row with the auction id appended */
static beck_err_t joiner(void *ud, beck_sctx_t *ctx, const beck_srec_t *auction, const beck_srec_t *person,
                         beck_nstr_t *out) {
  if (auction->value.len != 8 || person->value.len < 6)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "q3: unexpected join input");
  size_t n = (size_t)person->value.len;
  uint8_t *p = beck_sctx_alloc(ctx, n + 8);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  memcpy(p, person->value.ptr, n);
  memcpy(p + n, auction->value.ptr, 8);
  *out = beck_nstr(p, (int32_t)(n + 8));
  return BECK_ERR_OK;
}

static beck_err_t build(beck_topology_t *t, const beck_nexmark_params_t *p, const char *out_topic) {
  beck_stream_t *ev = beck_topology_stream(t, "events", BECK_NEXMARK_INPUT_TOPIC, NULL);
  beck_stream_t *a = beck_stream_filter(ev, "auctions-cat10", auction_in_10, NULL);
  a = beck_stream_map(a, "auction-by-seller", auction_by_seller, NULL);
  beck_stream_t *per = beck_stream_filter(ev, "persons-or-id-ca", person_in_states, NULL);
  per = beck_stream_map(per, "person-by-id", person_by_id, NULL);
  beck_join_opts_t jo = {.kind = BECK_JOIN_INNER, .before_ms = UNBOUNDED, .after_ms = UNBOUNDED, .grace_ms = 0};
  beck_stream_t *j = beck_stream_join(a, per, "seller-join", joiner, NULL, &jo);
  beck_stream_to(j, "out", out_topic, NULL);
  return beck_topology_error(t)->code;
}

const beck_nexmark_query_t beck_nexmark_q3 = {
    .name = "q3",
    .title = "local item suggestion",
    .summary = "sellers in OR/ID/CA with their category-10 auctions (join)",
    .flink_per_core = 219000,
    .stateful = true,
    .cols = cols,
    .ncols = 4,
    .build = build,
};
