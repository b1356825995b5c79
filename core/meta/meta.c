/*
 * meta.c - the sqlite3 metadata store (see meta.h for the schema).
 *
 * Statements are prepared per call: metadata writes are rare compared with
 * record appends (topic admin, offset commits every few seconds per member),
 * so clarity wins over statement caching here.
 */
#include "meta/meta.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

struct beck_meta {
  sqlite3 *db;
  char path[1024];
};

static const char *schema =
    "CREATE TABLE IF NOT EXISTS topics(name TEXT PRIMARY KEY, topic_id BLOB NOT NULL, partitions INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS topic_configs(topic TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY(topic, key));"
    "CREATE TABLE IF NOT EXISTS group_offsets(group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,"
    "  offset INTEGER NOT NULL, leader_epoch INTEGER NOT NULL, metadata TEXT, commit_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(group_id, topic, partition));"
    "CREATE TABLE IF NOT EXISTS groups(group_id TEXT PRIMARY KEY, protocol_type TEXT, generation INTEGER NOT NULL,"
    "  protocol TEXT, state TEXT);"
    "CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "PRAGMA user_version = 1;";

static beck_err_t db_error(beck_meta_t *m, beck_error_t *e, const char *what) {
  return beck_error_set(e, BECK_ERR_IO, "metadata store %s: %s: %s", m->path, what, sqlite3_errmsg(m->db));
}

static beck_err_t exec(beck_meta_t *m, const char *sql, beck_error_t *e) {
  char *msg = NULL;
  if (sqlite3_exec(m->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    beck_err_t err = beck_error_set(e, BECK_ERR_IO, "metadata store %s: %s", m->path, msg ? msg : "error");
    sqlite3_free(msg);
    return err;
  }
  return BECK_ERR_OK;
}

beck_err_t beck_meta_open(const char *path, beck_meta_t **out, beck_error_t *e) {
  beck_meta_t *m = beck_calloc(1, sizeof *m);
  if (m == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "metadata store: out of memory");
  snprintf(m->path, sizeof m->path, "%s", path);
  if (sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK) {
    beck_err_t err = db_error(m, e, "open");
    beck_meta_close(m);
    return err;
  }
  sqlite3_busy_timeout(m->db, 5000);
  beck_err_t err = exec(m, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;", e);
  if (!err)
    err = exec(m, schema, e);
  if (err) {
    beck_meta_close(m);
    return err;
  }
  *out = m;
  return BECK_ERR_OK;
}

void beck_meta_close(beck_meta_t *m) {
  if (m == NULL)
    return;
  sqlite3_close(m->db);
  beck_free(m);
}

static beck_err_t prepare(beck_meta_t *m, const char *sql, sqlite3_stmt **st, beck_error_t *e) {
  if (sqlite3_prepare_v2(m->db, sql, -1, st, NULL) != SQLITE_OK)
    return db_error(m, e, "prepare");
  return BECK_ERR_OK;
}

/* Runs a prepared statement to completion and finalizes it. */
static beck_err_t step_done(beck_meta_t *m, sqlite3_stmt *st, beck_error_t *e, const char *what) {
  int rc = sqlite3_step(st);
  beck_err_t err = BECK_ERR_OK;
  if (rc == SQLITE_CONSTRAINT)
    err = beck_error_set(e, BECK_ERR_EXISTS, "metadata store %s: %s: already exists", m->path, what);
  else if (rc != SQLITE_DONE)
    err = db_error(m, e, what);
  sqlite3_finalize(st);
  return err;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s)
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, i);
}

static beck_err_t begin(beck_meta_t *m, beck_error_t *e) { return exec(m, "BEGIN IMMEDIATE", e); }

static beck_err_t finish(beck_meta_t *m, beck_err_t err, beck_error_t *e) {
  if (err) {
    exec(m, "ROLLBACK", NULL);
    return err;
  }
  return exec(m, "COMMIT", e);
}

static beck_err_t insert_configs(beck_meta_t *m, const char *topic, const char *const *keys,
                                 const char *const *values, int n, beck_error_t *e) {
  for (int i = 0; i < n; i++) {
    sqlite3_stmt *st;
    beck_err_t err = prepare(m, "INSERT OR REPLACE INTO topic_configs(topic, key, value) VALUES(?,?,?)", &st, e);
    if (err)
      return err;
    bind_text(st, 1, topic);
    bind_text(st, 2, keys[i]);
    bind_text(st, 3, values[i]);
    if ((err = step_done(m, st, e, "set topic config")))
      return err;
  }
  return BECK_ERR_OK;
}

beck_err_t beck_meta_topic_create(beck_meta_t *m, const beck_meta_topic_t *t, const char *const *keys,
                                  const char *const *values, int n, beck_error_t *e) {
  beck_err_t err = begin(m, e);
  if (err)
    return err;
  sqlite3_stmt *st;
  err = prepare(m, "INSERT INTO topics(name, topic_id, partitions, created_ms) VALUES(?,?,?,?)", &st, e);
  if (!err) {
    bind_text(st, 1, t->name);
    sqlite3_bind_blob(st, 2, t->topic_id, 16, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, t->partitions);
    sqlite3_bind_int64(st, 4, t->created_ms);
    err = step_done(m, st, e, "create topic");
  }
  if (!err) {
    /* stale configs of an earlier topic with the same name */
    err = prepare(m, "DELETE FROM topic_configs WHERE topic = ?", &st, e);
    if (!err) {
      bind_text(st, 1, t->name);
      err = step_done(m, st, e, "clear topic configs");
    }
  }
  if (!err)
    err = insert_configs(m, t->name, keys, values, n, e);
  return finish(m, err, e);
}

beck_err_t beck_meta_topic_delete(beck_meta_t *m, const char *name, beck_error_t *e) {
  static const char *const stmts[] = {
      "DELETE FROM topics WHERE name = ?",
      "DELETE FROM topic_configs WHERE topic = ?",
      "DELETE FROM group_offsets WHERE topic = ?",
  };
  beck_err_t err = begin(m, e);
  for (size_t i = 0; !err && i < sizeof stmts / sizeof stmts[0]; i++) {
    sqlite3_stmt *st;
    if ((err = prepare(m, stmts[i], &st, e)))
      break;
    bind_text(st, 1, name);
    err = step_done(m, st, e, "delete topic");
  }
  return finish(m, err, e);
}

beck_err_t beck_meta_topic_set_partitions(beck_meta_t *m, const char *name, int32_t partitions, beck_error_t *e) {
  sqlite3_stmt *st;
  beck_err_t err = prepare(m, "UPDATE topics SET partitions = ? WHERE name = ?", &st, e);
  if (err)
    return err;
  sqlite3_bind_int(st, 1, partitions);
  bind_text(st, 2, name);
  return step_done(m, st, e, "set partitions");
}

beck_err_t beck_meta_topic_foreach(beck_meta_t *m, int (*cb)(void *arg, const beck_meta_topic_t *t), void *arg,
                                   beck_error_t *e) {
  sqlite3_stmt *st;
  beck_err_t err = prepare(m, "SELECT name, topic_id, partitions, created_ms FROM topics ORDER BY name", &st, e);
  if (err)
    return err;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    beck_meta_topic_t t;
    memset(&t, 0, sizeof t);
    t.name = (const char *)sqlite3_column_text(st, 0);
    const void *id = sqlite3_column_blob(st, 1);
    if (id && sqlite3_column_bytes(st, 1) == 16)
      memcpy(t.topic_id, id, 16);
    t.partitions = sqlite3_column_int(st, 2);
    t.created_ms = sqlite3_column_int64(st, 3);
    if (cb(arg, &t))
      break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    err = db_error(m, e, "list topics");
  sqlite3_finalize(st);
  return err;
}

beck_err_t beck_meta_config_set(beck_meta_t *m, const char *topic, const char *key, const char *value,
                                beck_error_t *e) {
  sqlite3_stmt *st;
  beck_err_t err;
  if (value == NULL) {
    if ((err = prepare(m, "DELETE FROM topic_configs WHERE topic = ? AND key = ?", &st, e)))
      return err;
    bind_text(st, 1, topic);
    bind_text(st, 2, key);
    return step_done(m, st, e, "delete topic config");
  }
  return insert_configs(m, topic, &key, &value, 1, e);
}

beck_err_t beck_meta_config_replace(beck_meta_t *m, const char *topic, const char *const *keys,
                                    const char *const *values, int n, beck_error_t *e) {
  beck_err_t err = begin(m, e);
  sqlite3_stmt *st;
  if (!err && !(err = prepare(m, "DELETE FROM topic_configs WHERE topic = ?", &st, e))) {
    bind_text(st, 1, topic);
    err = step_done(m, st, e, "clear topic configs");
  }
  if (!err)
    err = insert_configs(m, topic, keys, values, n, e);
  return finish(m, err, e);
}

beck_err_t beck_meta_config_foreach(beck_meta_t *m, const char *topic,
                                    int (*cb)(void *arg, const char *key, const char *value), void *arg,
                                    beck_error_t *e) {
  sqlite3_stmt *st;
  beck_err_t err = prepare(m, "SELECT key, value FROM topic_configs WHERE topic = ? ORDER BY key", &st, e);
  if (err)
    return err;
  bind_text(st, 1, topic);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if (cb(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1)))
      break;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    err = db_error(m, e, "list topic configs");
  sqlite3_finalize(st);
  return err;
}

beck_err_t beck_meta_offsets_commit(beck_meta_t *m, const beck_meta_offset_t *offs, int n, beck_error_t *e) {
  beck_err_t err = begin(m, e);
  for (int i = 0; !err && i < n; i++) {
    sqlite3_stmt *st;
    if ((err = prepare(m,
                       "INSERT OR REPLACE INTO group_offsets(group_id, topic, partition, offset, leader_epoch, "
                       "metadata, commit_ms) VALUES(?,?,?,?,?,?,?)",
                       &st, e)))
      break;
    bind_text(st, 1, offs[i].group_id);
    bind_text(st, 2, offs[i].topic);
    sqlite3_bind_int(st, 3, offs[i].partition);
    sqlite3_bind_int64(st, 4, offs[i].offset);
    sqlite3_bind_int(st, 5, offs[i].leader_epoch);
    bind_text(st, 6, offs[i].metadata);
    sqlite3_bind_int64(st, 7, offs[i].commit_ms);
    err = step_done(m, st, e, "commit offset");
  }
  return finish(m, err, e);
}

beck_err_t beck_meta_offsets_foreach(beck_meta_t *m, const char *group_id,
                                     int (*cb)(void *arg, const beck_meta_offset_t *o), void *arg, beck_error_t *e) {
  sqlite3_stmt *st;
  beck_err_t err = prepare(m,
                           group_id ? "SELECT group_id, topic, partition, offset, leader_epoch, metadata, commit_ms "
                                      "FROM group_offsets WHERE group_id = ? ORDER BY topic, partition"
                                    : "SELECT group_id, topic, partition, offset, leader_epoch, metadata, commit_ms "
                                      "FROM group_offsets ORDER BY group_id, topic, partition",
                           &st, e);
  if (err)
    return err;
  if (group_id)
    bind_text(st, 1, group_id);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    beck_meta_offset_t o = {
        .group_id = (const char *)sqlite3_column_text(st, 0),
        .topic = (const char *)sqlite3_column_text(st, 1),
        .partition = sqlite3_column_int(st, 2),
        .offset = sqlite3_column_int64(st, 3),
        .leader_epoch = sqlite3_column_int(st, 4),
        .metadata = (const char *)sqlite3_column_text(st, 5),
        .commit_ms = sqlite3_column_int64(st, 6),
    };
    if (cb(arg, &o))
      break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    err = db_error(m, e, "list offsets");
  sqlite3_finalize(st);
  return err;
}

beck_err_t beck_meta_offsets_delete_group(beck_meta_t *m, const char *group_id, beck_error_t *e) {
  sqlite3_stmt *st;
  beck_err_t err = prepare(m, "DELETE FROM group_offsets WHERE group_id = ?", &st, e);
  if (err)
    return err;
  bind_text(st, 1, group_id);
  return step_done(m, st, e, "delete group offsets");
}

beck_err_t beck_meta_group_save(beck_meta_t *m, const beck_meta_group_t *g, beck_error_t *e) {
  sqlite3_stmt *st;
  beck_err_t err = prepare(
      m, "INSERT OR REPLACE INTO groups(group_id, protocol_type, generation, protocol, state) VALUES(?,?,?,?,?)", &st,
      e);
  if (err)
    return err;
  bind_text(st, 1, g->group_id);
  bind_text(st, 2, g->protocol_type);
  sqlite3_bind_int(st, 3, g->generation);
  bind_text(st, 4, g->protocol);
  bind_text(st, 5, g->state);
  return step_done(m, st, e, "save group");
}

beck_err_t beck_meta_group_delete(beck_meta_t *m, const char *group_id, beck_error_t *e) {
  beck_err_t err = begin(m, e);
  static const char *const stmts[] = {"DELETE FROM groups WHERE group_id = ?",
                                      "DELETE FROM group_offsets WHERE group_id = ?"};
  for (size_t i = 0; !err && i < 2; i++) {
    sqlite3_stmt *st;
    if ((err = prepare(m, stmts[i], &st, e)))
      break;
    bind_text(st, 1, group_id);
    err = step_done(m, st, e, "delete group");
  }
  return finish(m, err, e);
}

beck_err_t beck_meta_group_foreach(beck_meta_t *m, int (*cb)(void *arg, const beck_meta_group_t *g), void *arg,
                                   beck_error_t *e) {
  sqlite3_stmt *st;
  beck_err_t err =
      prepare(m, "SELECT group_id, protocol_type, generation, protocol, state FROM groups ORDER BY group_id", &st, e);
  if (err)
    return err;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    beck_meta_group_t g = {
        .group_id = (const char *)sqlite3_column_text(st, 0),
        .protocol_type = (const char *)sqlite3_column_text(st, 1),
        .generation = sqlite3_column_int(st, 2),
        .protocol = (const char *)sqlite3_column_text(st, 3),
        .state = (const char *)sqlite3_column_text(st, 4),
    };
    if (cb(arg, &g))
      break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    err = db_error(m, e, "list groups");
  sqlite3_finalize(st);
  return err;
}

beck_err_t beck_meta_counter_next(beck_meta_t *m, const char *name, int64_t *out, beck_error_t *e) {
  beck_err_t err = begin(m, e);
  sqlite3_stmt *st;
  if (!err && !(err = prepare(m,
                              "INSERT INTO counters(name, value) VALUES(?, 0) "
                              "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
                              &st, e))) {
    bind_text(st, 1, name);
    if (sqlite3_step(st) == SQLITE_ROW)
      *out = sqlite3_column_int64(st, 0);
    else
      err = db_error(m, e, "advance counter");
    sqlite3_finalize(st);
  }
  return finish(m, err, e);
}
