/* test_postgres_connectors.c - connectors/postgres against a real
 * PostgreSQL server started by the test (initdb + pg_ctl as the postgres
 * user on a temporary directory and a free port):
 *   - the sink writes exact rows with COPY, rejects bad rows one by one,
 *     commits offsets with the rows, seeks on restart, skips replays;
 *   - upsert merges on the key; existing table columns are used;
 *   - the source reads a snapshot then new rows, resumes, timestamp mode;
 *   - file -> topic -> postgres round trip through the worker, exact rows;
 *   - stopping and starting PostgreSQL mid-stream loses nothing and
 *     duplicates nothing;
 *   - kill -9 of the worker process, again and again, during a file ->
 *     topic -> postgres run: every line exactly once in the table and in
 *     the topic.
 * Skipped when PostgreSQL is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connect/worker.h"
#include "harness.h"
#include "pgfixture.h"
#include "tmpdir.h"

static pgfix_t pg;
static int have_pg;

static int group_setup(void **state) {
  have_pg = pgfix_start(&pg) == 0;
  if (!have_pg)
    fprintf(stderr, "PostgreSQL is not installed: skipping\n");
  return 0;
}

static int group_teardown(void **state) {
  if (have_pg)
    pgfix_destroy(&pg);
  return 0;
}

#define NEED_PG()                                                                                                      \
  do {                                                                                                                 \
    if (!have_pg)                                                                                                      \
      skip();                                                                                                          \
  } while (0)

static void postgres_sink_copies_rows_rejects_bad_ones_and_commits_offsets(void **state) {
  NEED_PG();
  const char *kv[] = {
      "connection",  pg.conninfo,
      "table",       "orders",
      "auto.create", "true",
      "fields",      "id:bigint not null,name:text,amount:double precision,tags:jsonb,pos:bigint=@offset",
      NULL};
  harness_t *h = harness_open("postgres-sink", kv, NULL);
  assert_int_equal(h->nseeks, 0);
  const char *v1[] = {"{\"id\":1,\"name\":\"ann\\ttab\",\"amount\":9.5,\"tags\":[\"a\",\"b\"]}",
                      "not json",
                      "{\"id\":2,\"name\":\"bob\\\\back\\nline\",\"amount\":1}",
                      "{\"name\":\"no id\"}",
                      "{\"id\":\"x\",\"name\":\"bad id\"}",
                      "{\"id\":3}",
                      NULL};
  /* the rows stream into one COPY; a record that is not JSON is rejected at once */
  assert_int_equal(harness_put_values(h, "t", 100, v1), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrejected, 1);
  assert_non_null(strstr(h->rejected[0], "101: value is not JSON"));
  /* the server refuses rows 103 and 104 when the COPY ends: nothing is kept,
   * and the host is asked to deliver again */
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_REWIND);
  assert_non_null(strstr(h->err.msg, "re-delivering to find the rows"));
  assert_string_equal(pgfix_query(&pg, "SELECT count(*) FROM orders"), "0\n");
  /* the replay goes row by row where it must; 101 is not dead-lettered twice */
  assert_int_equal(harness_put_values(h, "t", 100, v1), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrejected, 3);
  assert_non_null(strstr(h->rejected[1], "103: ERROR:  null value in column \"id\""));
  assert_non_null(strstr(h->rejected[2], "104: ERROR:  invalid input syntax for type bigint: \"x\""));
  assert_string_equal(pgfix_query(&pg, "SELECT count(*) FROM orders"), "0\n"); /* not committed yet */
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(pgfix_query(&pg, "SELECT id, name, amount, tags, pos FROM orders ORDER BY id"),
                      "1|ann\ttab|9.5|[\"a\", \"b\"]|100\n2|bob\\back\nline|1||102\n3||||105\n");
  assert_string_equal(pgfix_query(&pg, "SELECT topic, partition, next_offset FROM beck_connect_offsets WHERE "
                                       "connector = 'test'"),
                      "t|0|106\n");
  harness_close(h);
}

static void postgres_sink_resumes_from_its_offsets_table_and_skips_replays(void **state) {
  NEED_PG();
  const char *kv[] = {"connection",  pg.conninfo, "table",  "replay",
                      "auto.create", "true",      "fields", "id:bigint,pos:bigint=@offset",
                      NULL};
  harness_t *h = harness_open("postgres-sink", kv, NULL);
  const char *v1[] = {"{\"id\":1}", "{\"id\":2}", NULL};
  assert_int_equal(harness_put_values(h, "rt", 0, v1), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  const char *v2[] = {"{\"id\":3}", NULL};
  assert_int_equal(harness_put_values(h, "rt", 2, v2), BECK_CONNECTOR_OK);
  harness_close(h); /* stopped without flush: id 3 rolled back */
  assert_string_equal(pgfix_query(&pg, "SELECT connector, topic, partition, next_offset FROM beck_connect_offsets "
                                       "WHERE connector = 'test' AND topic = 'rt'"),
                      "test|rt|0|2\n");
  h = harness_open("postgres-sink", kv, NULL);
  int found = 0;
  for (int k = 0; k < h->nseeks; k++)
    if (strcmp(h->seek_topic[k], "rt") == 0) {
      assert_int_equal(h->seek_offset[k], 2);
      found = 1;
    }
  assert_true(found);
  /* a replay from 0 writes only what is new */
  const char *v3[] = {"{\"id\":1}", "{\"id\":2}", "{\"id\":3}", "{\"id\":4}", NULL};
  assert_int_equal(harness_put_values(h, "rt", 0, v3), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(pgfix_query(&pg, "SELECT id, pos FROM replay ORDER BY pos"), "1|0\n2|1\n3|2\n4|3\n");
  harness_close(h);
}

static void postgres_sink_upserts_last_record_per_key(void **state) {
  NEED_PG();
  const char *kv[] = {"connection",  pg.conninfo, "table",     "users",
                      "auto.create", "true",      "fields",    "id:bigint,name:text,visits:integer",
                      "mode",        "upsert",    "pk.fields", "id",
                      NULL};
  harness_t *h = harness_open("postgres-sink", kv, NULL);
  const char *v1[] = {"{\"id\":1,\"name\":\"a\",\"visits\":1}", "{\"id\":2,\"name\":\"b\",\"visits\":1}",
                      "{\"id\":1,\"name\":\"a2\",\"visits\":2}", NULL};
  assert_int_equal(harness_put_values(h, "u", 0, v1), BECK_CONNECTOR_OK);
  const char *v2[] = {"{\"id\":2,\"name\":\"b2\",\"visits\":5}", "{\"id\":\"bad\"}", NULL};
  assert_int_equal(harness_put_values(h, "u", 3, v2), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrejected, 0);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_REWIND); /* "bad" is no bigint */
  assert_int_equal(harness_put_values(h, "u", 0, v1), BECK_CONNECTOR_OK);
  assert_int_equal(harness_put_values(h, "u", 3, v2), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrejected, 1);
  assert_non_null(strstr(h->rejected[0], "4: ERROR:  invalid input syntax for type bigint: \"bad\""));
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(pgfix_query(&pg, "SELECT id, name, visits FROM users ORDER BY id"), "1|a2|2\n2|b2|5\n");
  /* after a good flush the rows are copied straight into the table again;
   * key 1 is there already, so the window is delivered again and merged,
   * the last record of a key since the flush winning across puts */
  const char *v3[] = {"{\"id\":1,\"name\":\"a3\",\"visits\":3}", NULL};
  const char *v4[] = {"{\"id\":1,\"name\":\"a4\",\"visits\":4}", "{\"id\":3,\"name\":\"c\",\"visits\":1}", NULL};
  assert_int_equal(harness_put_values(h, "u", 5, v3), BECK_CONNECTOR_OK);
  assert_int_equal(harness_put_values(h, "u", 6, v4), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_REWIND);
  assert_non_null(strstr(h->err.msg, "duplicate key value violates unique constraint"));
  assert_non_null(strstr(h->err.msg, "re-delivering to merge"));
  assert_string_equal(pgfix_query(&pg, "SELECT id, name, visits FROM users ORDER BY id"), "1|a2|2\n2|b2|5\n");
  assert_int_equal(harness_put_values(h, "u", 5, v3), BECK_CONNECTOR_OK);
  assert_int_equal(harness_put_values(h, "u", 6, v4), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(pgfix_query(&pg, "SELECT id, name, visits FROM users ORDER BY id"), "1|a4|4\n2|b2|5\n3|c|1\n");
  /* new keys go straight in again; a repeated key in one window is merged */
  const char *v5[] = {"{\"id\":4,\"name\":\"d\",\"visits\":1}", "{\"id\":5,\"name\":\"e\",\"visits\":1}", NULL};
  assert_int_equal(harness_put_values(h, "u", 8, v5), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  const char *v6[] = {"{\"id\":6,\"name\":\"f\",\"visits\":1}", "{\"id\":6,\"name\":\"f2\",\"visits\":2}", NULL};
  assert_int_equal(harness_put_values(h, "u", 10, v6), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_REWIND);
  assert_int_equal(harness_put_values(h, "u", 10, v6), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(pgfix_query(&pg, "SELECT id, name, visits FROM users WHERE id >= 4 ORDER BY id"),
                      "4|d|1\n5|e|1\n6|f2|2\n");
  assert_string_equal(pgfix_query(&pg, "SELECT next_offset FROM beck_connect_offsets WHERE topic = 'u'"), "12\n");
  harness_close(h);

  /* without a unique index on pk.fields the sink refuses to start (it
   * would otherwise copy duplicate keys straight in) */
  pgfix_query(&pg, "CREATE TABLE nokey (id bigint, name text)");
  const char *nk[] = {"connection", pg.conninfo, "table", "nokey", "mode", "upsert", "pk.fields", "id", NULL};
  char msg[512];
  assert_null(harness_open_err("postgres-sink", nk, NULL, msg, sizeof msg));
  assert_non_null(strstr(msg, "needs a primary key or unique index"));
  assert_non_null(strstr(msg, "no unique or exclusion constraint matching the ON CONFLICT"));
}

static void postgres_sink_uses_the_existing_tables_columns(void **state) {
  NEED_PG();
  pgfix_query(&pg, "CREATE TABLE existing (id bigint PRIMARY KEY, note text, extra text DEFAULT 'd')");
  const char *kv[] = {"connection", pg.conninfo, "table", "existing", NULL};
  harness_t *h = harness_open("postgres-sink", kv, NULL);
  const char *v[] = {"{\"id\":7,\"note\":\"n\",\"ignored\":1}", NULL};
  assert_int_equal(harness_put_values(h, "e", 0, v), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(pgfix_query(&pg, "SELECT id, note, extra FROM existing"), "7|n|\n");
  harness_close(h);

  char msg[512];
  const char *missing[] = {"connection", pg.conninfo, "table", "nope", NULL};
  assert_null(harness_open_err("postgres-sink", missing, NULL, msg, sizeof msg));
  assert_non_null(strstr(msg, "table nope does not exist"));
}

static void postgres_source_snapshot_then_new_rows(void **state) {
  NEED_PG();
  pgfix_query(&pg, "CREATE TABLE events (id bigserial PRIMARY KEY, kind text, n numeric);"
                   "INSERT INTO events (kind, n) VALUES ('a', 1.5), ('b', NULL), ('c', 3);");
  harness_offsets_t offs = {0};
  const char *kv[] = {"connection", pg.conninfo,  "table", "events",        "incrementing.column",
                      "id",         "key.column", "kind",  "poll.interval", "10ms",
                      "batch.rows", "2",          NULL};
  harness_t *h = harness_open("postgres-source", kv, &offs);
  harness_poll_until(h, 2, 5000);
  assert_int_equal(h->nrecs, 2);
  assert_string_equal(h->recs[0].value, "{\"id\":1,\"kind\":\"a\",\"n\":1.5}");
  assert_string_equal(h->recs[0].key, "a");
  assert_string_equal(h->recs[1].value, "{\"id\":2,\"kind\":\"b\",\"n\":null}");
  assert_string_equal(offs.spart[0], "postgres:events");
  assert_string_equal(offs.soff[0], "2");
  harness_close(h);
  pgfix_query(&pg, "INSERT INTO events (kind, n) VALUES ('d', 4)");
  h = harness_open("postgres-source", kv, &offs);
  harness_poll_until(h, 2, 5000);
  assert_int_equal(harness_poll(h, 100), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrecs, 2);
  assert_string_equal(h->recs[0].value, "{\"id\":3,\"kind\":\"c\",\"n\":3}");
  assert_string_equal(h->recs[1].value, "{\"id\":4,\"kind\":\"d\",\"n\":4}");
  harness_close(h);

  pgfix_query(&pg,
              "CREATE TABLE tsrows (id int PRIMARY KEY, ts timestamptz NOT NULL, v text);"
              "INSERT INTO tsrows VALUES (1, '2024-01-02Z', 'x'), (2, '2024-01-01Z', 'y'), (3, '2024-01-02Z', 'z')");
  harness_offsets_t toffs = {0};
  const char *kt[] = {"connection", pg.conninfo,     "table", "tsrows", "incrementing.column", "id", "timestamp.column",
                      "ts",         "poll.interval", "10ms",  NULL};
  h = harness_open("postgres-source", kt, &toffs);
  harness_poll_until(h, 3, 5000);
  assert_int_equal(h->nrecs, 3);
  assert_non_null(strstr(h->recs[0].value, "\"id\":2"));
  assert_non_null(strstr(h->recs[1].value, "\"id\":1"));
  assert_non_null(strstr(h->recs[2].value, "\"id\":3"));
  assert_string_equal(toffs.soff[0], "2024-01-02 00:00:00+00|3");
  harness_close(h);
  pgfix_query(&pg, "INSERT INTO tsrows VALUES (4, '2024-01-02Z', 'w'), (0, '2024-01-03Z', 'q')");
  h = harness_open("postgres-source", kt, &toffs);
  harness_poll_until(h, 2, 5000);
  assert_int_equal(h->nrecs, 2);
  assert_non_null(strstr(h->recs[0].value, "\"id\":4"));
  assert_non_null(strstr(h->recs[1].value, "\"id\":0"));
  harness_close(h);
}

/* ---- through the worker ------------------------------------------------------------ */

typedef struct wenv {
  char *dir;
  char data[512];
  beck_client_t *client;
  beck_connect_worker_t *w;
} wenv_t;

static void wenv_open(wenv_t *v) {
  memset(v, 0, sizeof *v);
  v->dir = beck_test_tmpdir("connect-pg");
  snprintf(v->data, sizeof v->data, "%s/data", v->dir);
  beck_error_t e;
  assert_int_equal(beck_client_open_embedded(v->data, &v->client, &e), BECK_ERR_OK);
  beck_connect_worker_config_t cfg = {.client = v->client};
  if (beck_connect_worker_new(&cfg, &v->w, &e) != BECK_ERR_OK)
    fail_msg("%s", e.msg);
}

static void wenv_close(wenv_t *v) {
  beck_connect_worker_free(v->w);
  beck_client_close(v->client);
  beck_test_rmdir(v->dir);
}

static void add_start(wenv_t *v, const char *const *kv) {
  const char *keys[64], *vals[64];
  int n = 0;
  for (; kv[2 * n] != NULL; n++) {
    keys[n] = kv[2 * n];
    vals[n] = kv[2 * n + 1];
  }
  beck_error_t e;
  if (beck_connect_worker_add(v->w, keys, vals, n, &e) != BECK_ERR_OK)
    fail_msg("add: %s", e.msg);
  if (beck_connect_worker_start(v->w, kv[1], &e) != BECK_ERR_OK)
    fail_msg("start: %s", e.msg);
}

/* Waits until `sql` returns `want` (first line), or fails after timeout. */
static void wait_query(wenv_t *v, const char *name, const char *sql, const char *want, int timeout_ms) {
  const char *got = "";
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    got = pgfix_query_try(&pg, sql); /* the table may not exist yet */
    if (got != NULL && strcmp(got, want) == 0)
      return;
    if (got == NULL)
      got = "(error)";
    if (v != NULL && name != NULL) {
      beck_connect_status_t st;
      beck_error_t e;
      if (beck_connect_worker_status(v->w, name, &st, &e) == BECK_ERR_OK && st.state == BECK_CONNECT_FAILED)
        fail_msg("%s failed: %s", name, st.error);
    }
    usleep(100000);
  }
  fail_msg("%s: got '%s', want '%s'", sql, got, want);
}

static void file_to_topic_to_postgres_round_trip_exact_rows(void **state) {
  NEED_PG();
  wenv_t v;
  wenv_open(&v);
  char path[600];
  snprintf(path, sizeof path, "%s/orders.jsonl", v.dir);
  FILE *f = fopen(path, "w");
  for (int k = 1; k <= 500; k++)
    fprintf(f, "{\"id\":%d,\"customer\":\"c%d\",\"total\":%d.25}\n", k, k % 7, k);
  fclose(f);
  const char *src[] = {"name",   "orders-in", "connector", "file-source", "topic",         "orders", "file.path", path,
                       "format", "json",      "key.field", "id",          "poll.interval", "20ms",   NULL};
  const char *snk[] = {"name",
                       "orders-pg",
                       "connector",
                       "postgres-sink",
                       "topics",
                       "orders",
                       "connection",
                       pg.conninfo,
                       "table",
                       "rt_orders",
                       "auto.create",
                       "true",
                       "fields",
                       "id:bigint,customer:text,total:numeric,src_offset:bigint=@offset,src_key:text=@key",
                       "offset.flush.interval",
                       "100ms",
                       NULL};
  add_start(&v, src);
  add_start(&v, snk);
  wait_query(&v, "orders-pg", "SELECT count(*) FROM rt_orders", "500\n", 30000);
  const char *rows = pgfix_query(&pg, "SELECT id, customer, total, src_offset, src_key FROM rt_orders ORDER BY id "
                                      "LIMIT 3");
  assert_string_equal(rows, "1|c1|1.25|0|1\n2|c2|2.25|1|2\n3|c3|3.25|2|3\n");
  assert_string_equal(pgfix_query(&pg, "SELECT count(DISTINCT id), sum(id), sum(total) FROM rt_orders"),
                      "500|125250|125375.00\n");
  wait_query(&v, "orders-pg",
             "SELECT next_offset FROM beck_connect_offsets WHERE connector = 'orders-pg' AND topic = 'orders'", "500\n",
             10000);
  /* the group offset follows the flush */
  int64_t committed = -1;
  beck_error_t e;
  for (int i = 0; i < 100 && committed != 500; i++) {
    usleep(20000);
    assert_int_equal(beck_client_committed(v.client, "connect-orders-pg", "orders", 0, &committed, &e), BECK_ERR_OK);
  }
  assert_int_equal(committed, 500);
  wenv_close(&v);
}

typedef struct dlq_read {
  int n;
  char offsets[64][24];
  char messages[64][200];
} dlq_read_t;

static int dlq_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  dlq_read_t *d = arg;
  if (d->n >= 64)
    return 1;
  beck_slice_t cur = r->headers;
  beck_record_header_t h;
  while (r->headers_count > 0 && beck_record_header_next(&cur, &h) == 1) {
    int vl = h.value.len < 0 ? 0 : (int)h.value.len;
    if (h.key.len == strlen("__connect.errors.offset") && memcmp(h.key.ptr, "__connect.errors.offset", h.key.len) == 0)
      snprintf(d->offsets[d->n], sizeof d->offsets[0], "%.*s", vl, (const char *)h.value.ptr);
    if (h.key.len == strlen("__connect.errors.exception.message") &&
        memcmp(h.key.ptr, "__connect.errors.exception.message", h.key.len) == 0)
      snprintf(d->messages[d->n], sizeof d->messages[0], "%.*s", vl, (const char *)h.value.ptr);
  }
  d->n++;
  return 0;
}

/* Bad rows among good ones, through the worker with errors.tolerance=all:
 * the streamed COPY fails at a flush, the batches are delivered again and
 * written one COPY per batch, and every bad record reaches the dead-letter
 * topic exactly once (a record that is not JSON was rejected before the
 * replay, and is not dead-lettered again). */
static void postgres_sink_dead_letters_bad_rows_once_through_the_worker(void **state) {
  NEED_PG();
  wenv_t v;
  wenv_open(&v);
  beck_error_t e;
  assert_int_equal(beck_client_create_topic(v.client, "dl_in", 1, NULL, NULL, 0, true, &e), BECK_ERR_OK);
  static char vals[500][96];
  beck_client_record_t recs[500];
  for (int k = 0; k < 500; k++) {
    if (k == 10 || k == 250)
      snprintf(vals[k], sizeof vals[k], "not json %d", k);
    else if (k == 100)
      snprintf(vals[k], sizeof vals[k], "{\"name\":\"no id\"}");
    else if (k == 400)
      snprintf(vals[k], sizeof vals[k], "{\"id\":\"four hundred\",\"name\":\"bad id\"}");
    else
      snprintf(vals[k], sizeof vals[k], "{\"id\":%d,\"name\":\"n%d\"}", k, k);
    recs[k] = (beck_client_record_t){.partition = 0, .timestamp = -1, .key = {.len = -1}};
    recs[k].value.ptr = (const uint8_t *)vals[k];
    recs[k].value.len = (int32_t)strlen(vals[k]);
  }
  assert_int_equal(beck_client_produce(v.client, "dl_in", recs, 500, NULL, NULL, &e), BECK_ERR_OK);
  pgfix_query(&pg, "CREATE TABLE dl_rows (id bigint NOT NULL, name text)");
  const char *snk[] = {"name",
                       "dl-pg",
                       "connector",
                       "postgres-sink",
                       "topics",
                       "dl_in",
                       "connection",
                       pg.conninfo,
                       "table",
                       "dl_rows",
                       "batch.max.records",
                       "40",
                       "errors.tolerance",
                       "all",
                       "errors.deadletterqueue.topic.name",
                       "dl_dlq",
                       "errors.retry.delay.initial",
                       "10ms",
                       NULL};
  add_start(&v, snk);
  wait_query(&v, "dl-pg", "SELECT count(*), count(DISTINCT id), sum(id) FROM dl_rows", "496|496|123990\n", 30000);
  wait_query(&v, "dl-pg", "SELECT next_offset FROM beck_connect_offsets WHERE connector = 'dl-pg'", "500\n", 10000);
  dlq_read_t d = {0};
  int64_t lo, hi, next;
  assert_int_equal(beck_client_watermarks(v.client, "dl_dlq", 0, &lo, &hi, &e), BECK_ERR_OK);
  assert_int_equal(hi - lo, 4);
  for (int64_t pos = lo; pos < hi; pos = next)
    assert_int_equal(beck_client_fetch(v.client, "dl_dlq", 0, pos, 1 << 20, 1000, dlq_cb, &d, &next, &e), BECK_ERR_OK);
  assert_int_equal(d.n, 4);
  assert_string_equal(d.offsets[0], "10");
  assert_non_null(strstr(d.messages[0], "value is not JSON"));
  assert_string_equal(d.offsets[1], "250");
  assert_non_null(strstr(d.messages[1], "value is not JSON"));
  assert_string_equal(d.offsets[2], "100");
  assert_non_null(strstr(d.messages[2], "null value in column \"id\""));
  assert_string_equal(d.offsets[3], "400");
  assert_non_null(strstr(d.messages[3], "invalid input syntax for type bigint"));
  beck_connect_status_t st;
  assert_int_equal(beck_connect_worker_status(v.w, "dl-pg", &st, &e), BECK_ERR_OK);
  assert_int_equal(st.dead_lettered, 4);
  assert_true(st.rewinds >= 1);
  wenv_close(&v);
}

static void postgres_restart_mid_stream_loses_and_duplicates_nothing(void **state) {
  NEED_PG();
  wenv_t v;
  wenv_open(&v);
  const char *src[] = {"name",   "gen",   "connector", "datagen-source", "topic", "gen", "generator",
                       "random", "count", "3000",      "rate",           "1500",  NULL};
  const char *snk[] = {"name",
                       "gen-pg",
                       "connector",
                       "postgres-sink",
                       "topics",
                       "gen",
                       "connection",
                       pg.conninfo,
                       "table",
                       "gen_rows",
                       "auto.create",
                       "true",
                       "fields",
                       "id:bigint,user_name:text=user,amount:numeric",
                       "offset.flush.interval",
                       "100ms",
                       "errors.retry.delay.max",
                       "300ms",
                       NULL};
  add_start(&v, src);
  add_start(&v, snk);
  wait_query(&v, "gen-pg", "SELECT count(*) > 300 FROM gen_rows", "t\n", 20000);
  pgfix_stop(&pg, "immediate");
  usleep(1500000);
  pgfix_restart(&pg);
  wait_query(&v, "gen-pg", "SELECT count(*) FROM gen_rows", "3000\n", 60000);
  usleep(300000);
  assert_string_equal(pgfix_query(&pg, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM gen_rows"),
                      "3000|3000|0|2999\n");
  beck_connect_status_t st;
  beck_error_t e;
  assert_int_equal(beck_connect_worker_status(v.w, "gen-pg", &st, &e), BECK_ERR_OK);
  assert_int_equal(st.state, BECK_CONNECT_RUNNING);
  assert_true(st.retries + st.rewinds >= 1);
  wenv_close(&v);
}

/* ---- kill -9 ------------------------------------------------------------------------ */

static pid_t spawn_runner(const char *data, const char *c1, const char *c2, const char *log) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(BECK_CONNECT_RUNNER, BECK_CONNECT_RUNNER, data, c1, c2, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static int topic_count_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  int *seen = arg;
  char buf[64];
  int l = r->value.len < 0 ? 0 : r->value.len > 63 ? 63 : r->value.len;
  memcpy(buf, r->value.ptr, (size_t)l);
  buf[l] = '\0';
  int id = 0;
  if (sscanf(buf, "{\"id\":%d", &id) == 1 && id >= 1 && id <= 100000)
    seen[id]++;
  seen[0]++;
  return 0;
}

static void kill9_worker_repeatedly_postgres_rows_exactly_once(void **state) {
  NEED_PG();
  /* the test writes the file while the worker tails it and is killed:
   * each cycle appends its share of lines in small chunks, then kills */
  const int N = 30000, CYCLES = 15, CHUNKS = 10;
  char *dir = beck_test_tmpdir("connect-kill");
  char data[600], lines[600], c1[600], c2[600], log[600];
  snprintf(data, sizeof data, "%s/data", dir);
  snprintf(lines, sizeof lines, "%s/lines.jsonl", dir);
  snprintf(c1, sizeof c1, "%s/source.conf", dir);
  snprintf(c2, sizeof c2, "%s/sink.conf", dir);
  snprintf(log, sizeof log, "%s/runner.log", dir);
  FILE *f = fopen(c1, "w");
  fprintf(f,
          "name=lines-in\nconnector=file-source\ntopic=lines\nfile.path=%s\nformat=json\nkey.field=id\n"
          "batch.max.records=200\npoll.interval=10ms\noffset.flush.interval=50ms\n",
          lines);
  fclose(f);
  f = fopen(c2, "w");
  fprintf(f,
          "name=lines-pg\nconnector=postgres-sink\ntopics=lines\nconnection=%s\ntable=kill_rows\n"
          "auto.create=true\nfields=id:bigint,v:text\nbatch.max.records=300\noffset.flush.interval=30ms\n"
          "errors.retry.delay.max=200ms\n",
          pg.conninfo);
  fclose(f);
  srand(42);
  int kills = 0, next_line = 1;
  for (int cycle = 0; cycle < CYCLES; cycle++) {
    pid_t pid = spawn_runner(data, c1, c2, log);
    for (int chunk = 0; chunk < CHUNKS; chunk++) {
      f = fopen(lines, "a");
      for (int k = 0; k < N / CYCLES / CHUNKS; k++, next_line++)
        fprintf(f, "{\"id\":%d,\"v\":\"line %d\"}\n", next_line, next_line);
      fclose(f);
      usleep((useconds_t)(10000 + rand() % 40000));
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
      kills++;
    const char *rows = pgfix_query_try(&pg, "SELECT count(*) FROM kill_rows");
    fprintf(stderr, "kill -9 #%d after %d lines written: %s rows so far\n", cycle + 1, next_line - 1,
            rows ? strtok((char *)rows, "\n") : "no");
  }
  assert_int_equal(next_line - 1, N);
  assert_true(kills >= CYCLES - 1);
  /* progress was made across kills, and not all at once */
  char ready[600];
  snprintf(ready, sizeof ready, "%s/ready", dir);
  setenv("BECK_RUNNER_READY", ready, 1);
  pid_t pid = spawn_runner(data, c1, c2, log);
  unsetenv("BECK_RUNNER_READY");
  for (int i = 0; i < 600 && access(ready, F_OK) != 0; i++)
    usleep(50000); /* signal it only once it handles signals */
  char want[32];
  snprintf(want, sizeof want, "%d\n", N);
  wait_query(NULL, NULL, "SELECT count(*) FROM kill_rows", want, 120000);
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("the runner ended with %s %d; see %s", WIFEXITED(status) ? "exit status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log);
  char all[64];
  snprintf(all, sizeof all, "%d|%d|1|%d\n", N, N, N);
  assert_string_equal(pgfix_query(&pg, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM kill_rows"), all);

  /* the topic holds every line exactly once too (single partition: the
   * source's batch markers make its restarts exact) */
  beck_client_t *c = NULL;
  beck_error_t e;
  assert_int_equal(beck_client_open_embedded(data, &c, &e), BECK_ERR_OK);
  int *seen = calloc((size_t)N + 1, sizeof *seen);
  int64_t lo, hi, pos;
  assert_int_equal(beck_client_watermarks(c, "lines", 0, &lo, &hi, &e), BECK_ERR_OK);
  for (pos = lo; pos < hi;) {
    int64_t next = pos;
    assert_int_equal(beck_client_fetch(c, "lines", 0, pos, 1 << 20, 0, topic_count_cb, seen, &next, &e), BECK_ERR_OK);
    if (next <= pos)
      break;
    pos = next;
  }
  int missing = 0, dup = 0;
  for (int k = 1; k <= N; k++) {
    missing += seen[k] == 0;
    dup += seen[k] > 1;
  }
  fprintf(stderr, "kill -9 x%d: topic has %d records, %d missing, %d duplicated\n", kills, seen[0], missing, dup);
  assert_int_equal(missing, 0);
  assert_int_equal(dup, 0);
  assert_int_equal(seen[0], N);
  free(seen);
  beck_client_close(c);
  beck_test_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(postgres_sink_copies_rows_rejects_bad_ones_and_commits_offsets),
      cmocka_unit_test(postgres_sink_resumes_from_its_offsets_table_and_skips_replays),
      cmocka_unit_test(postgres_sink_upserts_last_record_per_key),
      cmocka_unit_test(postgres_sink_uses_the_existing_tables_columns),
      cmocka_unit_test(postgres_source_snapshot_then_new_rows),
      cmocka_unit_test(file_to_topic_to_postgres_round_trip_exact_rows),
      cmocka_unit_test(postgres_sink_dead_letters_bad_rows_once_through_the_worker),
      cmocka_unit_test(postgres_restart_mid_stream_loses_and_duplicates_nothing),
      cmocka_unit_test(kill9_worker_repeatedly_postgres_rows_exactly_once),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
