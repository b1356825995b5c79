/* test_nexmark.c - bench/nexmark: the generator (deterministic per seed and
 * event number, the 1:3:46 mix, ids, wire and JSON forms) and every query:
 * its results over the embedded runtime equal, row for row, the same query
 * written in SQL and run by sqlite3 over the same generated events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "nexmark.h"

/* ---- string lists ------------------------------------------------------------- */

typedef struct strs {
  char **v;
  size_t n, cap;
} strs_t;

static void strs_push(strs_t *s, const char *p, size_t len) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 256;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    assert_non_null(s->v);
  }
  char *c = malloc(len + 1);
  assert_non_null(c);
  memcpy(c, p, len);
  c[len] = '\0';
  s->v[s->n++] = c;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void strs_free(strs_t *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* Sorts both and fails with the first differences when they differ. */
static void assert_same_rows(const char *what, strs_t *got, strs_t *want) {
  qsort(got->v, got->n, sizeof *got->v, cmp_str);
  qsort(want->v, want->n, sizeof *want->v, cmp_str);
  size_t i = 0, j = 0;
  int shown = 0;
  while ((i < got->n || j < want->n) && shown < 10) {
    int c = i == got->n ? 1 : j == want->n ? -1 : strcmp(got->v[i], want->v[j]);
    if (c == 0) {
      i++, j++;
      continue;
    }
    if (c < 0)
      print_error("%s: unexpected row  %s\n", what, got->v[i++]);
    else
      print_error("%s: missing row     %s\n", what, want->v[j++]);
    shown++;
  }
  if (shown > 0)
    fail_msg("%s: %zu rows from the query, %zu from SQL", what, got->n, want->n);
}

/* ---- the generator --------------------------------------------------------------- */

static void generator_is_deterministic_per_seed_and_event(void **state) {
  beck_nexmark_config_t c;
  beck_nexmark_config_init(&c);
  c.seed = 42;
  char s1[BECK_NEXMARK_EVENT_MAX], s2[BECK_NEXMARK_EVENT_MAX];
  uint8_t w1[BECK_NEXMARK_EVENT_MAX], w2[BECK_NEXMARK_EVENT_MAX];
  size_t differs = 0;
  /* event n alone, or after others, in any order: the same bytes */
  for (uint64_t n = 0; n < 5000; n++) {
    beck_nexmark_event_t a, b;
    uint64_t m = 4999 - n;
    assert_int_equal(beck_nexmark_generate(&c, m, &a, s1, sizeof s1), 0);
    assert_int_equal(beck_nexmark_generate(&c, n, &b, s2, sizeof s2), 0);
    assert_int_equal(beck_nexmark_generate(&c, m, &b, s2, sizeof s2), 0);
    size_t la = beck_nexmark_encode(&a, w1, sizeof w1), lb = beck_nexmark_encode(&b, w2, sizeof w2);
    assert_true(la > 0);
    assert_int_equal(la, lb);
    assert_memory_equal(w1, w2, la);
    /* another seed: other events */
    beck_nexmark_config_t c2 = c;
    c2.seed = 43;
    assert_int_equal(beck_nexmark_generate(&c2, m, &b, s2, sizeof s2), 0);
    lb = beck_nexmark_encode(&b, w2, sizeof w2);
    differs += la != lb || memcmp(w1, w2, la) != 0;
  }
  assert_true(differs > 4900);
}

static void generator_mix_is_1_3_46_with_sequential_ids(void **state) {
  beck_nexmark_config_t c;
  beck_nexmark_config_init(&c);
  char s[BECK_NEXMARK_EVENT_MAX];
  int64_t count[3] = {0}, next_person = BECK_NEXMARK_FIRST_PERSON_ID + 1, next_auction = BECK_NEXMARK_FIRST_AUCTION_ID;
  int64_t hot_auction = 0, last_time = 0;
  for (uint64_t n = 0; n < 50000; n++) {
    beck_nexmark_event_t ev;
    assert_int_equal(beck_nexmark_generate(&c, n, &ev, s, sizeof s), 0);
    assert_int_equal(ev.type, beck_nexmark_event_type(&c, n));
    count[ev.type]++;
    int64_t t = ev.type == BECK_NEXMARK_PERSON    ? ev.u.person.date_time
                : ev.type == BECK_NEXMARK_AUCTION ? ev.u.auction.date_time
                                                  : ev.u.bid.date_time;
    assert_int_equal(t, beck_nexmark_event_time(&c, n));
    assert_true(t >= last_time);
    last_time = t;
    if (ev.type == BECK_NEXMARK_PERSON) {
      assert_int_equal(ev.u.person.id, next_person++);
      assert_int_equal(ev.u.person.state.len, 2);
    } else if (ev.type == BECK_NEXMARK_AUCTION) {
      const beck_nexmark_auction_t *a = &ev.u.auction;
      assert_int_equal(a->id, next_auction++);
      assert_true(a->category >= 10 && a->category < 15);
      assert_true(a->expires > a->date_time && a->expires - a->date_time <= beck_nexmark_max_auction_ms(&c));
      assert_true(a->reserve > a->initial_bid);
      assert_true(a->seller >= BECK_NEXMARK_FIRST_PERSON_ID && a->seller < next_person + 10);
    } else {
      const beck_nexmark_bid_t *b = &ev.u.bid;
      assert_true(b->price >= 100 && b->price <= 100000000);
      assert_true(b->auction >= BECK_NEXMARK_FIRST_AUCTION_ID && b->auction < next_auction + 10);
      hot_auction +=
          b->auction == (next_auction - 1 - BECK_NEXMARK_FIRST_AUCTION_ID) / 100 * 100 + BECK_NEXMARK_FIRST_AUCTION_ID;
    }
  }
  assert_int_equal(count[BECK_NEXMARK_PERSON], 1000);
  assert_int_equal(count[BECK_NEXMARK_AUCTION], 3000);
  assert_int_equal(count[BECK_NEXMARK_BID], 46000);
  /* half the bids go to the hot auction (plus the few that pick it at random) */
  assert_true(hot_auction > 46000 * 45 / 100 && hot_auction < 46000 * 55 / 100);
}

static void event_wire_and_json_forms(void **state) {
  beck_nexmark_config_t c;
  beck_nexmark_config_init(&c);
  char s[BECK_NEXMARK_EVENT_MAX], json[8192];
  uint8_t w[BECK_NEXMARK_EVENT_MAX];
  for (uint64_t n = 0; n < 200; n++) {
    beck_nexmark_event_t ev, back;
    assert_int_equal(beck_nexmark_generate(&c, n, &ev, s, sizeof s), 0);
    size_t len = beck_nexmark_encode(&ev, w, sizeof w);
    assert_true(len > 0);
    assert_int_equal(beck_nexmark_decode(w, len, &back), 0);
    assert_int_equal(back.type, ev.type);
    assert_int_equal(beck_nexmark_decode(w, len - 1, &back), -1);
    size_t jl = beck_nexmark_json(&ev, json, sizeof json);
    assert_true(jl < sizeof json);
    assert_int_equal(strlen(json), jl);
    /* every field of the model, by its Nexmark name */
    static const char *const fields[3][9] = {
        {"\"id\":", "\"name\":", "\"emailAddress\":", "\"creditCard\":", "\"city\":", "\"state\":", "\"dateTime\":",
         "\"extra\":", NULL},
        {"\"id\":", "\"itemName\":", "\"description\":", "\"initialBid\":", "\"reserve\":", "\"dateTime\":",
         "\"expires\":", "\"seller\":", "\"category\":"},
        {"\"auction\":", "\"bidder\":", "\"price\":", "\"channel\":", "\"url\":", "\"dateTime\":", "\"extra\":", NULL,
         NULL},
    };
    for (int f = 0; f < 9 && fields[ev.type][f] != NULL; f++)
      assert_non_null(strstr(json, fields[ev.type][f]));
  }
  /* a too-small buffer reports the size it needs */
  beck_nexmark_event_t ev;
  assert_int_equal(beck_nexmark_generate(&c, 0, &ev, s, sizeof s), 0);
  size_t need = beck_nexmark_json(&ev, json, 10);
  assert_true(need > 10);
  assert_int_equal(strlen(json), 9);
  assert_int_equal(beck_nexmark_generate(&c, 0, &ev, s, 16), -1);
}

/* ---- the reference: the same events in sqlite3 ---------------------------------- */

static void exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    fail_msg("sqlite: %s: %s", sql, err);
}

static void bind_str(sqlite3_stmt *st, int i, beck_nexmark_str_t s) {
  sqlite3_bind_text(st, i, s.ptr, (int)s.len, SQLITE_TRANSIENT);
}

static sqlite3 *load_sqlite(const beck_nexmark_config_t *c, uint64_t events) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  exec(db, "CREATE TABLE person (id INTEGER, name TEXT, emailAddress TEXT, creditCard TEXT, city TEXT, state TEXT,"
           " dateTime INTEGER, extra TEXT);"
           "CREATE TABLE auction (id INTEGER, itemName TEXT, description TEXT, initialBid INTEGER, reserve INTEGER,"
           " dateTime INTEGER, expires INTEGER, seller INTEGER, category INTEGER, extra TEXT);"
           "CREATE TABLE bid (auction INTEGER, bidder INTEGER, price INTEGER, channel TEXT, url TEXT,"
           " dateTime INTEGER, extra TEXT);"
           "BEGIN");
  sqlite3_stmt *ins[3];
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO person VALUES (?,?,?,?,?,?,?,?)", -1, &ins[0], NULL), 0);
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO auction VALUES (?,?,?,?,?,?,?,?,?,?)", -1, &ins[1], NULL), 0);
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO bid VALUES (?,?,?,?,?,?,?)", -1, &ins[2], NULL), 0);
  char s[BECK_NEXMARK_EVENT_MAX];
  for (uint64_t n = 0; n < events; n++) {
    beck_nexmark_event_t ev;
    assert_int_equal(beck_nexmark_generate(c, n, &ev, s, sizeof s), 0);
    sqlite3_stmt *st = ins[ev.type];
    if (ev.type == BECK_NEXMARK_PERSON) {
      const beck_nexmark_person_t *p = &ev.u.person;
      sqlite3_bind_int64(st, 1, p->id);
      bind_str(st, 2, p->name);
      bind_str(st, 3, p->email_address);
      bind_str(st, 4, p->credit_card);
      bind_str(st, 5, p->city);
      bind_str(st, 6, p->state);
      sqlite3_bind_int64(st, 7, p->date_time);
      bind_str(st, 8, p->extra);
    } else if (ev.type == BECK_NEXMARK_AUCTION) {
      const beck_nexmark_auction_t *a = &ev.u.auction;
      sqlite3_bind_int64(st, 1, a->id);
      bind_str(st, 2, a->item_name);
      bind_str(st, 3, a->description);
      sqlite3_bind_int64(st, 4, a->initial_bid);
      sqlite3_bind_int64(st, 5, a->reserve);
      sqlite3_bind_int64(st, 6, a->date_time);
      sqlite3_bind_int64(st, 7, a->expires);
      sqlite3_bind_int64(st, 8, a->seller);
      sqlite3_bind_int64(st, 9, a->category);
      bind_str(st, 10, a->extra);
    } else {
      const beck_nexmark_bid_t *b = &ev.u.bid;
      sqlite3_bind_int64(st, 1, b->auction);
      sqlite3_bind_int64(st, 2, b->bidder);
      sqlite3_bind_int64(st, 3, b->price);
      bind_str(st, 4, b->channel);
      bind_str(st, 5, b->url);
      sqlite3_bind_int64(st, 6, b->date_time);
      bind_str(st, 7, b->extra);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
  }
  for (int i = 0; i < 3; i++)
    sqlite3_finalize(ins[i]);
  exec(db, "COMMIT");
  return db;
}

/* Each query in SQL, producing the canonical row text "v1|v2|..." (the
 * format beck_nexmark_row_format writes). {S} stands for q5's slide. */
static const struct {
  const char *query;
  const char *sql;
} reference[] = {
    {"q0", "SELECT auction||'|'||bidder||'|'||price||'|'||dateTime||'|'||extra FROM bid"},
    {"q1", "SELECT auction||'|'||bidder||'|'||printf('%d.%03d', price*908/1000, price*908%1000)||'|'||dateTime"
           "||'|'||extra FROM bid"},
    {"q2", "SELECT auction||'|'||price FROM bid WHERE auction % 123 = 0"},
    {"q3", "SELECT P.name||'|'||P.city||'|'||P.state||'|'||A.id FROM auction A JOIN person P ON A.seller = P.id"
           " WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')"},
    {"q4", "SELECT category||'|'||(sum(final)/count(*)) FROM"
           " (SELECT A.id, A.category, max(B.price) AS final FROM auction A JOIN bid B ON A.id = B.auction"
           "  AND B.dateTime BETWEEN A.dateTime AND A.expires GROUP BY A.id, A.category)"
           " GROUP BY category"},
    {"q5", "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM k WHERE i+1 < 10000/{S}),"
           " hb AS (SELECT auction, (dateTime/{S})*{S} - i*{S} AS ws FROM bid, k),"
           " c AS (SELECT auction, ws, count(*) AS num FROM hb GROUP BY auction, ws),"
           " m AS (SELECT ws, max(num) AS maxn FROM c GROUP BY ws)"
           " SELECT c.ws||'|'||(c.ws+10000)||'|'||c.auction||'|'||c.num FROM c JOIN m ON c.ws = m.ws"
           " AND c.num >= m.maxn"},
    {"q7", "SELECT B.auction||'|'||B.price||'|'||B.bidder||'|'||B.dateTime||'|'||B.extra FROM bid B JOIN"
           " (SELECT max(price) AS maxprice, (dateTime/10000)*10000 + 10000 AS wend FROM bid"
           "  GROUP BY dateTime/10000) B1"
           " ON B.price = B1.maxprice WHERE B.dateTime BETWEEN B1.wend - 10000 AND B1.wend"},
    {"q8", "SELECT P.id||'|'||P.name||'|'||P.ws FROM"
           " (SELECT id, name, (dateTime/10000)*10000 AS ws FROM person GROUP BY id, name, ws) P JOIN"
           " (SELECT seller, (dateTime/10000)*10000 AS ws FROM auction GROUP BY seller, ws) A"
           " ON P.id = A.seller AND P.ws = A.ws"},
    {"q11", "WITH b AS (SELECT bidder, dateTime, CASE WHEN dateTime - lag(dateTime) OVER"
            "  (PARTITION BY bidder ORDER BY dateTime) < 10000 THEN 0 ELSE 1 END AS ns FROM bid),"
            " s AS (SELECT bidder, dateTime, sum(ns) OVER (PARTITION BY bidder ORDER BY dateTime"
            "  ROWS UNBOUNDED PRECEDING) AS sid FROM b)"
            " SELECT bidder||'|'||count(*)||'|'||min(dateTime)||'|'||(max(dateTime)+10000) FROM s"
            " GROUP BY bidder, sid"},
};

static void sql_rows(sqlite3 *db, const char *query, int64_t slide, strs_t *out) {
  const char *tmpl = NULL;
  for (size_t i = 0; i < sizeof reference / sizeof reference[0]; i++)
    if (strcmp(reference[i].query, query) == 0)
      tmpl = reference[i].sql;
  assert_non_null(tmpl);
  char num[24], sql[4096];
  snprintf(num, sizeof num, "%lld", (long long)slide);
  size_t o = 0;
  for (const char *p = tmpl; *p && o + sizeof num < sizeof sql; p++) {
    if (strncmp(p, "{S}", 3) == 0) {
      o += (size_t)snprintf(sql + o, sizeof sql - o, "%s", num);
      p += 2;
    } else {
      sql[o++] = *p;
    }
  }
  sql[o] = '\0';
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("sqlite: %s: %s", sql, sqlite3_errmsg(db));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    strs_push(out, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
  assert_int_equal(rc, SQLITE_DONE);
  sqlite3_finalize(st);
}

/* ---- running a query ------------------------------------------------------------------ */

typedef struct collect {
  const beck_nexmark_query_t *q;
  strs_t *rows;
  beck_buf_t line;
} collect_t;

static beck_err_t on_row(void *ud, const uint8_t *row, size_t len, beck_error_t *e) {
  collect_t *c = ud;
  c->line.len = 0;
  beck_err_t rc = beck_nexmark_row_format(c->q, row, len, false, &c->line);
  if (rc != BECK_ERR_OK)
    return beck_error_set(e, rc, "%s: a result row does not match the columns", c->q->name);
  strs_push(c->rows, (const char *)c->line.data, c->line.len);
  return BECK_ERR_OK;
}

typedef struct scenario {
  int64_t rate;
  uint64_t events;
  uint64_t seed;
  int threads;
  int64_t slide;
} scenario_t;

/* Runs q on the scenario's events and compares with the SQL on the same
 * events; returns the number of rows (for "the check is not vacuous"). */
static size_t check_query(const char *name, const scenario_t *sc, sqlite3 *db) {
  const beck_nexmark_query_t *q = beck_nexmark_query_find(name);
  assert_non_null(q);
  beck_nexmark_run_opts_t o;
  beck_nexmark_run_opts_init(&o);
  o.params.gen.events_per_second = sc->rate;
  o.params.gen.seed = sc->seed;
  o.params.q5_slide_ms = sc->slide ? sc->slide : 2000;
  /* On the calling thread the tasks run in a fixed order, batch by batch
   * (1024 records: a few seconds at 1000 events/s), and never drift further
   * apart: Nexmark's own 4 s of lateness is enough, and windows close while
   * the input flows. On threads, the runner's defaults (lateness up to the
   * input's span). */
  if (sc->threads == 0) {
    o.params.grace_ms = 4000;
    o.max_batch = 1024;
  }
  o.events = sc->events;
  o.threads = sc->threads;
  o.partitions = 2;
  strs_t got = {0}, want = {0};
  collect_t c = {.q = q, .rows = &got};
  o.on_row = on_row;
  o.ud = &c;
  beck_nexmark_stats_t st;
  beck_error_t e;
  if (beck_nexmark_run(q, &o, &st, &e) != BECK_ERR_OK)
    fail_msg("%s: %s", name, e.msg);
  beck_buf_free(&c.line);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.events, sc->events);
  sql_rows(db, name, o.params.q5_slide_ms, &want);
  char what[128];
  snprintf(what, sizeof what, "%s (rate %lld, %llu events, slide %lld, %d threads)", name, (long long)sc->rate,
           (unsigned long long)sc->events, (long long)o.params.q5_slide_ms, sc->threads);
  assert_same_rows(what, &got, &want);
  size_t n = got.n;
  strs_free(&got);
  strs_free(&want);
  return n;
}

static const char *const all_queries[] = {"q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q11"};

/* 40,000 events at 1,000 events/s: 40 s of event time, so windows open and
 * close while the input flows (q5: 20 hops, q7/q8: 4 windows, q11:
 * sessions that end and restart), on the calling thread. */
static void queries_match_sql_while_windows_close(void **state) {
  scenario_t sc = {.rate = 1000, .events = 40000, .seed = 7, .threads = 0};
  beck_nexmark_config_t c;
  beck_nexmark_config_init(&c);
  c.events_per_second = sc.rate;
  c.seed = sc.seed;
  sqlite3 *db = load_sqlite(&c, sc.events);
  for (size_t i = 0; i < sizeof all_queries / sizeof all_queries[0]; i++) {
    size_t rows = check_query(all_queries[i], &sc, db);
    assert_true(rows > 0);
  }
  /* q5 with shorter hops */
  sc.slide = 500;
  assert_true(check_query("q5", &sc, db) > 20);
  sc.slide = 100;
  assert_true(check_query("q5", &sc, db) > 100);
  sqlite3_close(db);
}

/* The benchmark's own setting: 10M events/s of event time, so the whole
 * input falls in one or two windows that close only at the end; run on two
 * task threads like `beck bench nexmark`. */
static void queries_match_sql_at_the_benchmark_rate_on_threads(void **state) {
  scenario_t sc = {.rate = 10000000, .events = 30000, .seed = 11, .threads = 2};
  beck_nexmark_config_t c;
  beck_nexmark_config_init(&c);
  c.events_per_second = sc.rate;
  c.seed = sc.seed;
  sqlite3 *db = load_sqlite(&c, sc.events);
  for (size_t i = 0; i < sizeof all_queries / sizeof all_queries[0]; i++) {
    size_t rows = check_query(all_queries[i], &sc, db);
    assert_true(rows > 0);
  }
  sc.slide = 100;
  assert_true(check_query("q5", &sc, db) > 0);
  sqlite3_close(db);
}

/* The Nexmark generator's own default rate (10,000 events/s). */
static void queries_match_sql_at_the_generator_default_rate(void **state) {
  scenario_t sc = {.rate = 10000, .events = 60000, .seed = 3, .threads = 0};
  beck_nexmark_config_t c;
  beck_nexmark_config_init(&c);
  c.events_per_second = sc.rate;
  c.seed = sc.seed;
  sqlite3 *db = load_sqlite(&c, sc.events);
  for (size_t i = 0; i < sizeof all_queries / sizeof all_queries[0]; i++)
    assert_true(check_query(all_queries[i], &sc, db) > 0);
  sqlite3_close(db);
}

static void unknown_query_and_bad_slide_are_refused(void **state) {
  assert_null(beck_nexmark_query_find("q6"));
  beck_nexmark_run_opts_t o;
  beck_nexmark_run_opts_init(&o);
  o.params.q5_slide_ms = 3000; /* does not divide 10 s */
  beck_nexmark_stats_t st;
  beck_error_t e;
  assert_int_equal(beck_nexmark_run(&beck_nexmark_q5, &o, &st, &e), BECK_ERR_INVAL);
  assert_non_null(strstr(e.msg, "slide"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(generator_is_deterministic_per_seed_and_event),
      cmocka_unit_test(generator_mix_is_1_3_46_with_sequential_ids),
      cmocka_unit_test(event_wire_and_json_forms),
      cmocka_unit_test(unknown_query_and_bad_slide_are_refused),
      cmocka_unit_test(queries_match_sql_while_windows_close),
      cmocka_unit_test(queries_match_sql_at_the_generator_default_rate),
      cmocka_unit_test(queries_match_sql_at_the_benchmark_rate_on_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
