/* test_sqlite_connectors.c - connectors/sqlite driven through the host
 * services: the sink writes exact rows, commits offsets with them, seeks
 * there on restart and skips a replay; rejects rows that do not map or
 * violate constraints; upserts on a key; the source reads rows as JSON and
 * resumes after the last delivered row, in both modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connect/worker.h"
#include "harness.h"
#include "tmpdir.h"

/* Runs a query and returns its rows as "a|b|c\n" text (static buffer). */
static const char *query(const char *db, const char *sql) {
  static char out[8192];
  out[0] = '\0';
  sqlite3 *h;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) != SQLITE_OK)
    fail_msg("%s: %s", sql, sqlite3_errmsg(h));
  while (sqlite3_step(q) == SQLITE_ROW) {
    for (int c = 0; c < sqlite3_column_count(q); c++) {
      const char *v = (const char *)sqlite3_column_text(q, c);
      size_t l = strlen(out);
      snprintf(out + l, sizeof out - l, "%s%s", c ? "|" : "", v ? v : "NULL");
    }
    size_t l = strlen(out);
    snprintf(out + l, sizeof out - l, "\n");
  }
  sqlite3_finalize(q);
  sqlite3_close(h);
  return out;
}

static void exec_sql(const char *db, const char *sql) {
  sqlite3 *h;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  char *err = NULL;
  if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
    fail_msg("%s: %s", sql, err);
  sqlite3_close(h);
}

static void sqlite_sink_writes_rows_and_offsets_in_one_transaction(void **state) {
  char *dir = beck_test_tmpdir("sqlite-sink");
  char db[512];
  snprintf(db, sizeof db, "%s/out.db", dir);
  const char *kv[] = {
      "db.path", db,       "table",
      "orders",  "fields", "id:integer not null,customer:text=who.name,amount:real,paid:integer,pos:integer=@offset",
      NULL};
  harness_t *h = harness_open("sqlite-sink", kv, NULL);
  assert_int_equal(h->nseeks, 0);
  const char *v1[] = {"{\"id\":1,\"who\":{\"name\":\"ann\"},\"amount\":9.5,\"paid\":true}", "not json",
                      "{\"id\":2,\"who\":{\"name\":\"bob\"},\"amount\":1}",
                      "{\"who\":{\"name\":\"nobody\"}}", /* id NOT NULL */
                      NULL};
  assert_int_equal(harness_put_values(h, "t", 10, v1), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrejected, 2);
  assert_non_null(strstr(h->rejected[0], "11: value is not JSON"));
  assert_non_null(strstr(h->rejected[1], "13: NOT NULL constraint failed: orders.id"));
  /* nothing visible before flush (one open transaction) */
  assert_string_equal(query(db, "SELECT count(*) FROM orders"), "0\n");
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(query(db, "SELECT id, customer, amount, paid, pos FROM orders ORDER BY id"),
                      "1|ann|9.5|1|10\n2|bob|1.0|NULL|12\n");
  assert_string_equal(query(db, "SELECT connector, topic, partition, next_offset FROM beck_connect_offsets"),
                      "test|t|0|14\n");
  assert_string_equal(query(db, "PRAGMA journal_mode"), "wal\n");
  harness_close(h);

  /* restart: seeks to 14; a replay of 12..15 writes only 14 and 15 */
  h = harness_open("sqlite-sink", kv, NULL);
  assert_int_equal(h->nseeks, 1);
  assert_string_equal(h->seek_topic[0], "t");
  assert_int_equal(h->seek_offset[0], 14);
  const char *v2[] = {"{\"id\":2}", "{\"id\":3}", "{\"id\":4}", "{\"id\":5}", NULL};
  assert_int_equal(harness_put_values(h, "t", 12, v2), BECK_CONNECTOR_OK);
  harness_close(h); /* stop without flush: rolled back */
  assert_string_equal(query(db, "SELECT count(*) FROM orders"), "2\n");
  h = harness_open("sqlite-sink", kv, NULL);
  assert_int_equal(harness_put_values(h, "t", 12, v2), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(query(db, "SELECT id, pos FROM orders ORDER BY pos"), "1|10\n2|12\n4|14\n5|15\n");
  assert_string_equal(query(db, "SELECT next_offset FROM beck_connect_offsets"), "16\n");
  harness_close(h);
  beck_test_rmdir(dir);
}

/* Rows go in 64 per statement: a statement with a bad row is done again
 * row by row, rejecting only that row; upserts within and across
 * statements keep the last record of a key. */
static void sqlite_sink_inserts_many_rows_per_statement_and_finds_bad_ones(void **state) {
  char *dir = beck_test_tmpdir("sqlite-chunks");
  char db[512];
  snprintf(db, sizeof db, "%s/out.db", dir);
  const char *kv[] = {"db.path", db, "table", "big", "fields", "id:integer primary key,v:text not null", NULL};
  harness_t *h = harness_open("sqlite-sink", kv, NULL);
  static char vals[200][64];
  const char *v[201];
  for (int k = 0; k < 200; k++) {
    if (k == 70 || k == 199)
      snprintf(vals[k], sizeof vals[k], "{\"id\":%d}", k); /* v NOT NULL */
    else if (k == 130)
      snprintf(vals[k], sizeof vals[k], "{\"id\":5,\"v\":\"dup\"}"); /* primary key taken */
    else
      snprintf(vals[k], sizeof vals[k], "{\"id\":%d,\"v\":\"r%d\"}", k, k);
    v[k] = vals[k];
  }
  v[200] = NULL;
  assert_int_equal(harness_put_values(h, "t", 0, v), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrejected, 3);
  assert_non_null(strstr(h->rejected[0], "70: NOT NULL constraint failed: big.v"));
  assert_non_null(strstr(h->rejected[1], "130: UNIQUE constraint failed: big.id"));
  assert_non_null(strstr(h->rejected[2], "199: NOT NULL constraint failed: big.v"));
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(query(db, "SELECT count(*), sum(id), min(v), max(id) FROM big"), "197|19501|r0|198\n");
  assert_string_equal(query(db, "SELECT v FROM big WHERE id = 5"), "r5\n");
  harness_close(h);

  const char *ku[] = {"db.path", db,       "table",     "ups", "fields", "id:integer,v:text",
                      "mode",    "upsert", "pk.fields", "id",  NULL};
  h = harness_open("sqlite-sink", ku, NULL);
  for (int k = 0; k < 200; k++) /* 10 keys, each 20 times; the last value of key i is 19*10+i */
    snprintf(vals[k], sizeof vals[k], "{\"id\":%d,\"v\":\"%d\"}", k % 10, k);
  assert_int_equal(harness_put_values(h, "u", 0, v), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(query(db, "SELECT group_concat(v) FROM (SELECT v FROM ups ORDER BY id)"),
                      "190,191,192,193,194,195,196,197,198,199\n");
  harness_close(h);
  beck_test_rmdir(dir);
}

static void sqlite_sink_upserts_on_key(void **state) {
  char *dir = beck_test_tmpdir("sqlite-upsert");
  char db[512];
  snprintf(db, sizeof db, "%s/out.db", dir);
  const char *kv[] = {"db.path", db,       "table",     "users", "fields", "id:integer,name,visits:integer",
                      "mode",    "upsert", "pk.fields", "id",    NULL};
  harness_t *h = harness_open("sqlite-sink", kv, NULL);
  const char *v[] = {"{\"id\":1,\"name\":\"a\",\"visits\":1}", "{\"id\":2,\"name\":\"b\",\"visits\":1}",
                     "{\"id\":1,\"name\":\"a2\",\"visits\":2}", NULL};
  assert_int_equal(harness_put_values(h, "u", 0, v), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(query(db, "SELECT id, name, visits FROM users ORDER BY id"), "1|a2|2\n2|b|1\n");
  harness_close(h);

  char msg[512];
  const char *bad[] = {"db.path", db, "table", "users", "mode", "upsert", NULL};
  assert_null(harness_open_err("sqlite-sink", bad, NULL, msg, sizeof msg));
  assert_non_null(strstr(msg, "mode=upsert needs pk.fields"));
  const char *bad2[] = {"db.path", db, "table", "users", "fields", "id,name=@nope", NULL};
  assert_null(harness_open_err("sqlite-sink", bad2, NULL, msg, sizeof msg));
  assert_non_null(strstr(msg, "unknown source '@nope'"));
  beck_test_rmdir(dir);
}

static void sqlite_source_reads_new_rows_and_resumes(void **state) {
  char *dir = beck_test_tmpdir("sqlite-src");
  char db[512];
  snprintf(db, sizeof db, "%s/in.db", dir);
  exec_sql(db, "PRAGMA journal_mode=WAL; CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, n REAL);"
               "INSERT INTO events (kind, n) VALUES ('a', 1.5), ('b', NULL), ('c', 3);");
  harness_offsets_t offs = {0};
  const char *kv[] = {"db.path",    db,           "table", "events",        "incrementing.column",
                      "id",         "key.column", "kind",  "poll.interval", "10ms",
                      "batch.rows", "2",          NULL};
  harness_t *h = harness_open("sqlite-source", kv, &offs);
  harness_poll_until(h, 2, 2000);
  assert_int_equal(h->nrecs, 2); /* a page of two */
  assert_string_equal(h->recs[0].value, "{\"id\":1,\"kind\":\"a\",\"n\":1.5}");
  assert_string_equal(h->recs[0].key, "a");
  assert_string_equal(h->recs[1].value, "{\"id\":2,\"kind\":\"b\",\"n\":null}");
  assert_string_equal(offs.spart[0], "sqlite:events");
  assert_string_equal(offs.soff[0], "2");
  harness_close(h);

  exec_sql(db, "INSERT INTO events (kind, n) VALUES ('d', 4);");
  h = harness_open("sqlite-source", kv, &offs);
  harness_poll_until(h, 2, 2000);
  assert_int_equal(harness_poll(h, 100), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrecs, 2);
  assert_string_equal(h->recs[0].value, "{\"id\":3,\"kind\":\"c\",\"n\":3.0}");
  assert_string_equal(h->recs[1].value, "{\"id\":4,\"kind\":\"d\",\"n\":4.0}");
  assert_string_equal(offs.soff[0], "4");
  harness_close(h);
  beck_test_rmdir(dir);
}

static void sqlite_source_timestamp_mode_orders_by_time_then_id(void **state) {
  char *dir = beck_test_tmpdir("sqlite-ts");
  char db[512];
  snprintf(db, sizeof db, "%s/in.db", dir);
  exec_sql(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, v TEXT);"
               "INSERT INTO t VALUES (1, 200, 'x'), (2, 100, 'y'), (3, 200, 'z');");
  harness_offsets_t offs = {0};
  const char *kv[] = {"db.path",       db,     "table", "t", "incrementing.column", "id", "timestamp.column", "ts",
                      "poll.interval", "10ms", NULL};
  harness_t *h = harness_open("sqlite-source", kv, &offs);
  harness_poll_until(h, 3, 2000);
  assert_int_equal(h->nrecs, 3);
  assert_string_equal(h->recs[0].value, "{\"id\":2,\"ts\":100,\"v\":\"y\"}");
  assert_string_equal(h->recs[1].value, "{\"id\":1,\"ts\":200,\"v\":\"x\"}");
  assert_string_equal(h->recs[2].value, "{\"id\":3,\"ts\":200,\"v\":\"z\"}");
  assert_string_equal(offs.soff[0], "200|3");
  harness_close(h);
  /* same timestamp, higher id; and a later timestamp */
  exec_sql(db, "INSERT INTO t VALUES (4, 200, 'w'), (5, 300, 'q');");
  h = harness_open("sqlite-source", kv, &offs);
  harness_poll_until(h, 2, 2000);
  assert_int_equal(h->nrecs, 2);
  assert_string_equal(h->recs[0].value, "{\"id\":4,\"ts\":200,\"v\":\"w\"}");
  assert_string_equal(h->recs[1].value, "{\"id\":5,\"ts\":300,\"v\":\"q\"}");
  harness_close(h);

  /* a table that does not exist yet: the source waits */
  const char *kw[] = {"db.path", db, "table", "later", "incrementing.column", "id", "poll.interval", "10ms", NULL};
  h = harness_open("sqlite-source", kw, NULL);
  assert_int_equal(harness_poll(h, 10), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrecs, 0);
  exec_sql(db, "CREATE TABLE later (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO later (v) VALUES ('now');");
  harness_poll_until(h, 1, 2000);
  assert_string_equal(h->recs[0].value, "{\"id\":1,\"v\":\"now\"}");
  harness_close(h);
  beck_test_rmdir(dir);
}

/* Waits until the query returns want. */
static void wait_rows(const char *db, const char *sql, const char *want, int timeout_ms) {
  const char *got = "";
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    sqlite3 *h;
    sqlite3_stmt *q;
    int ok = 0;
    if (sqlite3_open(db, &h) == SQLITE_OK && sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK) {
      sqlite3_finalize(q);
      ok = 1;
    }
    sqlite3_close(h);
    if (ok) {
      got = query(db, sql);
      if (strcmp(got, want) == 0)
        return;
    }
    usleep(20000);
  }
  fail_msg("%s: got '%s', want '%s'", sql, got, want);
}

static void sqlite_source_to_topic_to_sqlite_sink_round_trip(void **state) {
  char *dir = beck_test_tmpdir("sqlite-rt");
  char data[512], src[512], dst[512];
  snprintf(data, sizeof data, "%s/data", dir);
  snprintf(src, sizeof src, "%s/src.db", dir);
  snprintf(dst, sizeof dst, "%s/dst.db", dir);
  exec_sql(src, "PRAGMA journal_mode=WAL; CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, age INTEGER);");
  char sql[256];
  for (int k = 1; k <= 300; k++) {
    snprintf(sql, sizeof sql, "INSERT INTO people VALUES (%d, 'p%d', %d);", k, k, 20 + k % 50);
    exec_sql(src, sql);
  }
  beck_client_t *c = NULL;
  beck_connect_worker_t *w = NULL;
  beck_error_t e;
  assert_int_equal(beck_client_open_embedded(data, &c, &e), BECK_ERR_OK);
  beck_connect_worker_config_t cfg = {.client = c};
  assert_int_equal(beck_connect_worker_new(&cfg, &w, &e), BECK_ERR_OK);
  const char *k1[] = {"name",       "connector",     "topic",     "db.path", "table", "incrementing.column",
                      "key.column", "poll.interval", "batch.rows"};
  const char *v1[] = {"people-in", "sqlite-source", "people", src, "people", "id", "id", "20ms", "64"};
  assert_int_equal(beck_connect_worker_add(w, k1, v1, 9, &e), BECK_ERR_OK);
  const char *k2[] = {
      "name", "connector", "topics", "db.path", "table", "fields", "mode", "pk.fields", "offset.flush.interval"};
  const char *v2[] = {"people-out", "sqlite-sink", "people", dst, "people_copy", "id:integer,name:text,age:integer",
                      "upsert",     "id",          "50ms"};
  assert_int_equal(beck_connect_worker_add(w, k2, v2, 9, &e), BECK_ERR_OK);
  assert_int_equal(beck_connect_worker_start(w, "people-in", &e), BECK_ERR_OK);
  assert_int_equal(beck_connect_worker_start(w, "people-out", &e), BECK_ERR_OK);
  wait_rows(dst, "SELECT count(*), sum(id), sum(age) FROM people_copy", "300|45150|13350\n", 20000);
  exec_sql(src, "INSERT INTO people VALUES (301, 'late', 99); UPDATE people SET name = 'p1-renamed' WHERE id = 1;");
  wait_rows(dst, "SELECT count(*) FROM people_copy", "301\n", 20000);
  assert_string_equal(query(dst, "SELECT id, name, age FROM people_copy WHERE id IN (1, 150, 301) ORDER BY id"),
                      "1|p1|21\n150|p150|20\n301|late|99\n"); /* an update does not move the id: not re-read */
  assert_int_equal(beck_connect_worker_stop(w, "people-out", &e), BECK_ERR_OK);
  assert_string_equal(query(dst, "SELECT next_offset FROM beck_connect_offsets WHERE connector = 'people-out'"),
                      "301\n");
  beck_connect_worker_free(w);
  beck_client_close(c);
  beck_test_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sqlite_sink_writes_rows_and_offsets_in_one_transaction),
      cmocka_unit_test(sqlite_sink_inserts_many_rows_per_statement_and_finds_bad_ones),
      cmocka_unit_test(sqlite_sink_upserts_on_key),
      cmocka_unit_test(sqlite_source_reads_new_rows_and_resumes),
      cmocka_unit_test(sqlite_source_timestamp_mode_orders_by_time_then_id),
      cmocka_unit_test(sqlite_source_to_topic_to_sqlite_sink_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
