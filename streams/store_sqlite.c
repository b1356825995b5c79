/*
 * store_sqlite.c - the persistent key-value store: one sqlite3 file per
 * store and task, "<state_dir>/<app_id>/<task_id>/<node>.db".
 *
 *   kv(k BLOB PRIMARY KEY, v BLOB NOT NULL, ts INTEGER NOT NULL) WITHOUT ROWID
 *   meta(name TEXT PRIMARY KEY, val INTEGER NOT NULL)   -- 'checkpoint'
 *
 * Keys compare as sqlite compares BLOBs (memcmp, then length), the same
 * order as the memory store, so scans agree. WAL mode, synchronous=NORMAL:
 * a commit is atomic; after a power loss the last commits may be missing,
 * which only means a longer changelog tail at restore (store.c).
 *
 * Invariant: the connection always holds one open write transaction; commit
 * stores the checkpoint in the same transaction as the data, commits, and
 * opens the next. Closing without commit rolls back, as a crash would.
 */
#include "streams_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"

typedef struct sql_kv {
  beck__kv_t base;
  sqlite3 *db;
  sqlite3_stmt *get, *put, *del, *scan_lo, *scan_lohi, *set_cp;
  int64_t checkpoint;
  beck_buf_t val; /* the last get's value */
  char *path;
} sql_kv_t;

static beck_err_t sql_fail(sql_kv_t *s, beck_error_t *e, const char *what) {
  return beck_error_set(e, BECK_ERR_IO, "sqlite store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static int sql_get(beck__kv_t *b, const uint8_t *k, size_t kl, beck_slice_t *v, int64_t *ts, beck_error_t *e) {
  sql_kv_t *s = (sql_kv_t *)b;
  sqlite3_reset(s->get);
  sqlite3_bind_blob(s->get, 1, kl ? (const void *)k : "", (int)kl, SQLITE_STATIC);
  int rc = sqlite3_step(s->get);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return sql_fail(s, e, "get");
  const void *p = sqlite3_column_blob(s->get, 0);
  int n = sqlite3_column_bytes(s->get, 0);
  beck_buf_reset(&s->val);
  if (n > 0 && beck_buf_append(&s->val, p, (size_t)n) != BECK_ERR_OK) {
    sqlite3_reset(s->get);
    return beck_error_set(e, BECK_ERR_NOMEM, "sqlite store: out of memory");
  }
  *v = beck_slice(s->val.data, (size_t)n);
  if (ts != NULL)
    *ts = sqlite3_column_int64(s->get, 1);
  sqlite3_reset(s->get);
  return 1;
}

static beck_err_t sql_put(beck__kv_t *b, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts,
                          beck_error_t *e) {
  sql_kv_t *s = (sql_kv_t *)b;
  sqlite3_reset(s->put);
  sqlite3_bind_blob(s->put, 1, kl ? (const void *)k : "", (int)kl, SQLITE_STATIC);
  sqlite3_bind_blob(s->put, 2, vl ? (const void *)v : "", (int)vl, SQLITE_STATIC);
  sqlite3_bind_int64(s->put, 3, ts);
  int rc = sqlite3_step(s->put);
  sqlite3_reset(s->put);
  return rc == SQLITE_DONE ? BECK_ERR_OK : sql_fail(s, e, "put");
}

static beck_err_t sql_del(beck__kv_t *b, const uint8_t *k, size_t kl, beck_error_t *e) {
  sql_kv_t *s = (sql_kv_t *)b;
  sqlite3_reset(s->del);
  sqlite3_bind_blob(s->del, 1, kl ? (const void *)k : "", (int)kl, SQLITE_STATIC);
  int rc = sqlite3_step(s->del);
  sqlite3_reset(s->del);
  return rc == SQLITE_DONE ? BECK_ERR_OK : sql_fail(s, e, "delete");
}

static beck_err_t sql_scan(beck__kv_t *b, const uint8_t *lo, size_t lol, const uint8_t *hi, size_t hil,
                           beck__kv_scan_fn fn, void *arg, beck_error_t *e) {
  sql_kv_t *s = (sql_kv_t *)b;
  sqlite3_stmt *st = hi != NULL ? s->scan_lohi : s->scan_lo;
  sqlite3_reset(st);
  sqlite3_bind_blob(st, 1, lo && lol ? (const void *)lo : "", lo ? (int)lol : 0, SQLITE_STATIC);
  if (hi != NULL)
    sqlite3_bind_blob(st, 2, hil ? (const void *)hi : "", (int)hil, SQLITE_STATIC);
  beck_err_t out = BECK_ERR_OK;
  for (;;) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
      break;
    if (rc != SQLITE_ROW) {
      out = sql_fail(s, e, "scan");
      break;
    }
    const uint8_t *k = sqlite3_column_blob(st, 0);
    size_t kl = (size_t)sqlite3_column_bytes(st, 0);
    const uint8_t *v = sqlite3_column_blob(st, 1);
    size_t vl = (size_t)sqlite3_column_bytes(st, 1);
    int r = fn(arg, k, kl, v, vl, sqlite3_column_int64(st, 2));
    if (r < 0) {
      out = (beck_err_t)r;
      break;
    }
    if (r > 0)
      break;
  }
  sqlite3_reset(st);
  return out;
}

static beck_err_t exec(sql_kv_t *s, const char *sql, beck_error_t *e) {
  char *msg = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    beck_error_set(e, BECK_ERR_IO, "sqlite store %s: %s: %s", s->path, sql, msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return BECK_ERR_IO;
  }
  return BECK_ERR_OK;
}

static beck_err_t sql_commit(beck__kv_t *b, int64_t next, beck_error_t *e) {
  sql_kv_t *s = (sql_kv_t *)b;
  sqlite3_reset(s->set_cp);
  sqlite3_bind_int64(s->set_cp, 1, next);
  int rc = sqlite3_step(s->set_cp);
  sqlite3_reset(s->set_cp);
  if (rc != SQLITE_DONE)
    return sql_fail(s, e, "checkpoint");
  if (exec(s, "COMMIT", e) != BECK_ERR_OK || exec(s, "BEGIN", e) != BECK_ERR_OK)
    return BECK_ERR_IO;
  s->checkpoint = next;
  return BECK_ERR_OK;
}

static int64_t sql_checkpoint(beck__kv_t *b) { return ((sql_kv_t *)b)->checkpoint; }

static beck_err_t sql_clear(beck__kv_t *b, beck_error_t *e) {
  sql_kv_t *s = (sql_kv_t *)b;
  if (exec(s, "DELETE FROM kv; DELETE FROM meta", e) != BECK_ERR_OK)
    return BECK_ERR_IO;
  s->checkpoint = -1;
  return BECK_ERR_OK;
}

static void finalize_all(sql_kv_t *s) {
  sqlite3_finalize(s->get);
  sqlite3_finalize(s->put);
  sqlite3_finalize(s->del);
  sqlite3_finalize(s->scan_lo);
  sqlite3_finalize(s->scan_lohi);
  sqlite3_finalize(s->set_cp);
  s->get = s->put = s->del = s->scan_lo = s->scan_lohi = s->set_cp = NULL;
}

static void sql_close(beck__kv_t *b) {
  sql_kv_t *s = (sql_kv_t *)b;
  finalize_all(s);
  if (s->db != NULL)
    sqlite3_close(s->db); /* an open transaction rolls back */
  beck_buf_free(&s->val);
  beck_free(s->path);
  beck_free(s);
}

static const beck__kv_vt_t sql_vt = {sql_get,    sql_put,        sql_del,   sql_scan,
                                     sql_commit, sql_checkpoint, sql_clear, sql_close};

static int quick_check_ok(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  int ok = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    ok = t != NULL && strcmp((const char *)t, "ok") == 0;
  }
  sqlite3_finalize(st);
  return ok;
}

/* Opens and prepares; BECK_ERR_CORRUPT when the file is not a usable store. */
static beck_err_t try_open(sql_kv_t *s, beck_error_t *e) {
  if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    return beck_error_set(e, BECK_ERR_CORRUPT, "open: %s", s->db ? sqlite3_errmsg(s->db) : "out of memory");
  sqlite3_busy_timeout(s->db, 5000);
  if (!quick_check_ok(s->db))
    return beck_error_set(e, BECK_ERR_CORRUPT, "quick_check failed");
  if (exec(s,
           "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
           "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB NOT NULL, ts INTEGER NOT NULL) WITHOUT ROWID;"
           "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, val INTEGER NOT NULL)",
           e) != BECK_ERR_OK)
    return BECK_ERR_CORRUPT;
  struct {
    sqlite3_stmt **st;
    const char *sql;
  } stmts[] = {
      {&s->get, "SELECT v, ts FROM kv WHERE k = ?1"},
      {&s->put, "INSERT OR REPLACE INTO kv(k, v, ts) VALUES (?1, ?2, ?3)"},
      {&s->del, "DELETE FROM kv WHERE k = ?1"},
      {&s->scan_lo, "SELECT k, v, ts FROM kv WHERE k >= ?1 ORDER BY k"},
      {&s->scan_lohi, "SELECT k, v, ts FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k"},
      {&s->set_cp, "INSERT OR REPLACE INTO meta(name, val) VALUES ('checkpoint', ?1)"},
  };
  for (size_t i = 0; i < BECK__ARRAY_SIZE(stmts); i++)
    if (sqlite3_prepare_v3(s->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, stmts[i].st, NULL) != SQLITE_OK)
      return beck_error_set(e, BECK_ERR_CORRUPT, "prepare: %s", sqlite3_errmsg(s->db));
  s->checkpoint = -1;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT val FROM meta WHERE name = 'checkpoint'", -1, &st, NULL) != SQLITE_OK)
    return beck_error_set(e, BECK_ERR_CORRUPT, "prepare: %s", sqlite3_errmsg(s->db));
  if (sqlite3_step(st) == SQLITE_ROW)
    s->checkpoint = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (exec(s, "BEGIN", e) != BECK_ERR_OK)
    return BECK_ERR_CORRUPT;
  return BECK_ERR_OK;
}

static void remove_files(const char *path) {
  char p[1300];
  unlink(path);
  snprintf(p, sizeof p, "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", path);
  unlink(p);
}

beck_err_t beck__kv_sqlite_open(const char *path, beck__kv_t **out, bool *was_reset, beck_error_t *e) {
  sql_kv_t *s = beck_calloc(1, sizeof *s);
  if (s == NULL || (s->path = beck_strdup(path)) == NULL) {
    beck_free(s);
    return beck_error_set(e, BECK_ERR_NOMEM, "sqlite store %s: out of memory", path);
  }
  s->base.vt = &sql_vt;
  *was_reset = false;
  beck_err_t rc = try_open(s, e);
  if (rc == BECK_ERR_CORRUPT) {
    /* Not a usable store: it will be rebuilt from the changelog. */
    finalize_all(s);
    sqlite3_close(s->db);
    s->db = NULL;
    remove_files(path);
    *was_reset = true;
    rc = try_open(s, e);
  }
  if (rc != BECK_ERR_OK) {
    beck_error_wrap(e, "sqlite store %s", path);
    sql_close(&s->base);
    return rc == BECK_ERR_CORRUPT ? BECK_ERR_IO : rc;
  }
  *out = &s->base;
  return BECK_ERR_OK;
}
