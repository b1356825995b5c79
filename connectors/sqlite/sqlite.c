/*
 * sqlite.c - sqlite-sink and sqlite-source on a sqlite3 file in WAL mode.
 * Built against <beck/connector.h> and sqlite3 (rows from JSON: rowmap.h).
 *
 * sqlite-sink: exactly once.
 *   put() runs the rows inside one open transaction (BEGIN IMMEDIATE at the
 *   first put after a flush); flush() writes, in the same transaction, the
 *   next offset per (connector, topic, partition) into the offsets table and
 *   COMMITs. start() reads that table and seeks the host there, and put()
 *   skips records below it, so a replay after a crash writes nothing twice.
 *   Rows come from JSON values (or @key/@value/...) through a column spec
 *   (see rowmap.h); mode=upsert turns inserts into
 *   INSERT .. ON CONFLICT(pk) DO UPDATE. Rows go in up to 64 per statement
 *   (INSERT .. VALUES (..), (..), ..: a third of the cost per row of one
 *   statement each). A row that fails on its own (constraint, type) is
 *   rejected (dead-lettered): sqlite rolls back only the failed statement,
 *   whose rows are then inserted one by one. A failure of the database (busy, I/O, full) rolls the
 *   transaction back and returns REWIND: the host re-delivers since the last
 *   commit.
 *
 * sqlite-source: incremental query.
 *   Polls SELECT json_object(every column) FROM table WHERE id > last
 *   ORDER BY id (mode incrementing), or WHERE (ts, id) > (last ts, last id)
 *   ORDER BY ts, id (timestamp+incrementing), in pages of batch.rows. Each
 *   row is one record (value: the JSON object, key: key.column) with source
 *   partition "sqlite:TABLE" and source offset "ID" or "TS|ID". As with any
 *   incremental poll, a row committed later with a smaller id than one
 *   already read is missed: use an id or timestamp that grows with commit
 *   order. BLOB columns are not supported (json_object refuses them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <beck/connector.h>
#include <sqlite3.h>

#include "../common/rowmap.h"

/* Appends "ident" quoted for SQL (double quotes doubled). */
static int sql_ident(char *out, size_t cap, const char *ident) {
  size_t o = 0;
  if (o + 1 >= cap)
    return -1;
  out[o++] = '"';
  for (const char *p = ident; *p; p++) {
    if (o + 3 >= cap)
      return -1;
    if (*p == '"')
      out[o++] = '"';
    out[o++] = *p;
  }
  out[o++] = '"';
  out[o] = '\0';
  return 0;
}

/* A growable string for building SQL. */
typedef struct {
  char *s;
  size_t len, cap;
  int oom;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *text) {
  size_t n = strlen(text);
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *ns = realloc(b->s, cap);
    if (ns == NULL) {
      b->oom = 1;
      return;
    }
    b->s = ns;
    b->cap = cap;
  }
  memcpy(b->s + b->len, text, n + 1);
  b->len += n;
}

static void sb_ident(sbuf_t *b, const char *ident) {
  char q[512];
  if (sql_ident(q, sizeof q, ident) != 0) {
    b->oom = 1;
    return;
  }
  sb_add(b, q);
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen) {
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
  }
  return rc;
}

/* Opens the database in WAL mode with a busy timeout. */
static int open_db(const char *path, int readonly, const char *sync, sqlite3 **out, char *err, size_t errlen) {
  sqlite3 *db = NULL;
  int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return rc;
  }
  sqlite3_busy_timeout(db, 5000);
  if (!readonly) {
    char sql[64];
    if ((rc = exec(db, "PRAGMA journal_mode=WAL", err, errlen)) != SQLITE_OK)
      goto fail;
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", sync ? sync : "FULL");
    if ((rc = exec(db, sql, err, errlen)) != SQLITE_OK)
      goto fail;
  }
  *out = db;
  return SQLITE_OK;
fail:
  sqlite3_close(db);
  return rc;
}

/* ---- sqlite-sink -------------------------------------------------------------- */

#define SSINK_CHUNK 64 /* rows per multi-row INSERT */

typedef struct {
  char *topic;
  int partition;
  long long committed; /* next offset stored in the offsets table; -1 none */
  long long pending;   /* next offset after rows in the open transaction */
} spos_t;

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  const char *path, *table, *offsets_table, *sync;
  int upsert, auto_create;
  rowmap_t map;
  int *pk; /* column indexes of pk.fields */
  int npk;
  rowmap_val_t *vals;  /* chunk rows of map.n values */
  uint32_t *chunk_rec; /* record index of each row of the chunk */
  int chunk;           /* rows per multi-row insert */
  sqlite3 *db;
  sqlite3_stmt *ins, *ins_chunk, *off_upsert; /* one row, `chunk` rows */
  int in_txn;
  spos_t *pos;
  size_t npos;
} ssink_t;

static const beck_connector_option_t ssink_options[] = {
    {.name = "db.path", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "sqlite3 database file."},
    {.name = "table", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "Table to write."},
    {.name = "fields",
     .type = BECK_CONNECTOR_OPT_STRING,
     .default_value = "key:text=@key,value:text=@value",
     .description = "Columns: column[:type][=source], source a JSON field or @key/@value/@topic/@partition/"
                    "@offset/@timestamp."},
    {.name = "mode",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "insert",
     .choices = "insert|upsert",
     .description = "insert rows, or upsert on pk.fields."},
    {.name = "pk.fields",
     .type = BECK_CONNECTOR_OPT_LIST,
     .description = "Key columns (upsert; primary key on create)."},
    {.name = "auto.create",
     .type = BECK_CONNECTOR_OPT_BOOL,
     .default_value = "true",
     .description = "Create the table from fields if it does not exist."},
    {.name = "synchronous",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "FULL",
     .choices = "OFF|NORMAL|FULL",
     .description = "PRAGMA synchronous (FULL: a commit survives power loss)."},
    {.name = "offsets.table",
     .type = BECK_CONNECTOR_OPT_STRING,
     .default_value = "beck_connect_offsets",
     .description = "Table holding consumed offsets, written in the same transaction as the rows."},
};

static int ssink_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  ssink_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  *self = s;
  s->host = host;
  s->ctx = ctx;
  s->path = host->config_string(ctx, "db.path");
  s->table = host->config_string(ctx, "table");
  s->offsets_table = host->config_string(ctx, "offsets.table");
  s->sync = host->config_string(ctx, "synchronous");
  s->upsert = strcmp(host->config_string(ctx, "mode"), "upsert") == 0;
  s->auto_create = host->config_bool(ctx, "auto.create");
  char err[256];
  if (rowmap_parse(&s->map, host->config_string(ctx, "fields"), err, sizeof err) != 0) {
    host->set_error(ctx, "fields: %s", err);
    return BECK_CONNECTOR_FATAL;
  }
  /* sqlite allows 32766 parameters per statement */
  s->chunk = 32000 / s->map.n < SSINK_CHUNK ? 32000 / s->map.n : SSINK_CHUNK;
  if (s->chunk < 1)
    s->chunk = 1;
  s->vals = calloc((size_t)s->map.n * (size_t)s->chunk, sizeof *s->vals);
  s->chunk_rec = calloc((size_t)s->chunk, sizeof *s->chunk_rec);
  s->pk = calloc((size_t)s->map.n, sizeof *s->pk);
  if (s->vals == NULL || s->chunk_rec == NULL || s->pk == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  const char *pks = host->config_string(ctx, "pk.fields");
  if (pks != NULL) {
    char *copy = strdup(pks), *save = NULL;
    for (char *tok = copy ? strtok_r(copy, ", ", &save) : NULL; tok; tok = strtok_r(NULL, ", ", &save)) {
      int idx = rowmap_find(&s->map, tok);
      if (idx < 0 || s->npk >= s->map.n) {
        host->set_error(ctx, "pk.fields: '%s' is not one of the fields' columns", tok);
        free(copy);
        return BECK_CONNECTOR_FATAL;
      }
      s->pk[s->npk++] = idx;
    }
    free(copy);
  }
  if (s->upsert && s->npk == 0) {
    host->set_error(ctx, "mode=upsert needs pk.fields");
    return BECK_CONNECTOR_FATAL;
  }
  return BECK_CONNECTOR_OK;
}

static void ssink_close(ssink_t *s) {
  sqlite3_finalize(s->ins);
  sqlite3_finalize(s->ins_chunk);
  sqlite3_finalize(s->off_upsert);
  s->ins = s->ins_chunk = s->off_upsert = NULL;
  if (s->db != NULL && s->in_txn)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  s->in_txn = 0;
  sqlite3_close(s->db);
  s->db = NULL;
}

static spos_t *ssink_pos(ssink_t *s, const char *topic, int partition) {
  for (size_t k = 0; k < s->npos; k++)
    if (s->pos[k].partition == partition && strcmp(s->pos[k].topic, topic) == 0)
      return &s->pos[k];
  spos_t *np = realloc(s->pos, (s->npos + 1) * sizeof *np);
  if (np == NULL)
    return NULL;
  s->pos = np;
  char *t = strdup(topic);
  if (t == NULL)
    return NULL;
  s->pos[s->npos] = (spos_t){.topic = t, .partition = partition, .committed = -1, .pending = -1};
  return &s->pos[s->npos++];
}

/* INSERT INTO table (columns) VALUES (?, ..), .. with nrows tuples, plus
 * the upsert clause. */
static void ssink_insert_sql(ssink_t *s, sbuf_t *b, int nrows) {
  sb_add(b, "INSERT INTO ");
  sb_ident(b, s->table);
  sb_add(b, " (");
  for (int k = 0; k < s->map.n; k++) {
    if (k)
      sb_add(b, ", ");
    sb_ident(b, s->map.cols[k].column);
  }
  sb_add(b, ") VALUES ");
  for (int r = 0; r < nrows; r++) {
    sb_add(b, r ? ", (" : "(");
    for (int k = 0; k < s->map.n; k++)
      sb_add(b, k ? ", ?" : "?");
    sb_add(b, ")");
  }
  if (s->upsert) {
    sb_add(b, " ON CONFLICT (");
    for (int k = 0; k < s->npk; k++) {
      if (k)
        sb_add(b, ", ");
      sb_ident(b, s->map.cols[s->pk[k]].column);
    }
    sb_add(b, ") DO ");
    int nset = 0;
    for (int k = 0; k < s->map.n; k++) {
      int is_pk = 0;
      for (int j = 0; j < s->npk; j++)
        is_pk |= s->pk[j] == k;
      if (is_pk)
        continue;
      sb_add(b, nset++ ? ", " : "UPDATE SET ");
      sb_ident(b, s->map.cols[k].column);
      sb_add(b, " = excluded.");
      sb_ident(b, s->map.cols[k].column);
    }
    if (nset == 0)
      sb_add(b, "NOTHING");
  }
}

static int ssink_start(void *self) {
  ssink_t *s = self;
  char err[512];
  ssink_close(s);
  if (open_db(s->path, 0, s->sync, &s->db, err, sizeof err) != SQLITE_OK) {
    s->host->set_error(s->ctx, "%s", err);
    return BECK_CONNECTOR_RETRY;
  }
  sbuf_t b = {0};
  sb_add(&b, "CREATE TABLE IF NOT EXISTS ");
  sb_ident(&b, s->offsets_table);
  sb_add(&b, " (connector TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER "
             "NOT NULL, PRIMARY KEY (connector, topic, partition))");
  if (s->auto_create) {
    sb_add(&b, "; CREATE TABLE IF NOT EXISTS ");
    sb_ident(&b, s->table);
    sb_add(&b, " (");
    for (int k = 0; k < s->map.n; k++) {
      if (k)
        sb_add(&b, ", ");
      sb_ident(&b, s->map.cols[k].column);
      sb_add(&b, " ");
      sb_add(&b, s->map.cols[k].type);
    }
    if (s->npk > 0) {
      sb_add(&b, ", PRIMARY KEY (");
      for (int k = 0; k < s->npk; k++) {
        if (k)
          sb_add(&b, ", ");
        sb_ident(&b, s->map.cols[s->pk[k]].column);
      }
      sb_add(&b, ")");
    }
    sb_add(&b, ")");
  }
  int rc = b.oom ? SQLITE_NOMEM : exec(s->db, b.s, err, sizeof err);
  free(b.s);
  if (rc != SQLITE_OK) {
    s->host->set_error(s->ctx, "%s", b.oom ? "out of memory" : err);
    ssink_close(s);
    return b.oom ? BECK_CONNECTOR_FATAL : BECK_CONNECTOR_RETRY;
  }
  /* the insert statements: one row, and `chunk` rows */
  for (int which = 0; which < 2; which++) {
    sqlite3_stmt **st = which == 0 ? &s->ins : &s->ins_chunk;
    memset(&b, 0, sizeof b);
    ssink_insert_sql(s, &b, which == 0 ? 1 : s->chunk);
    rc = b.oom ? SQLITE_NOMEM : sqlite3_prepare_v2(s->db, b.s, -1, st, NULL);
    if (rc != SQLITE_OK) {
      s->host->set_error(s->ctx, "%s: %s", b.s ? b.s : "", b.oom ? "out of memory" : sqlite3_errmsg(s->db));
      free(b.s);
      ssink_close(s);
      return BECK_CONNECTOR_FATAL;
    }
    free(b.s);
  }
  memset(&b, 0, sizeof b);
  sb_add(&b, "INSERT INTO ");
  sb_ident(&b, s->offsets_table);
  sb_add(&b, " (connector, topic, partition, next_offset) VALUES (?, ?, ?, ?) ON CONFLICT (connector, topic, "
             "partition) DO UPDATE SET next_offset = excluded.next_offset");
  rc = b.oom ? SQLITE_NOMEM : sqlite3_prepare_v2(s->db, b.s, -1, &s->off_upsert, NULL);
  free(b.s);
  if (rc != SQLITE_OK) {
    s->host->set_error(s->ctx, "offsets table: %s", sqlite3_errmsg(s->db));
    ssink_close(s);
    return BECK_CONNECTOR_FATAL;
  }
  /* resume where the committed rows end */
  memset(&b, 0, sizeof b);
  sb_add(&b, "SELECT topic, partition, next_offset FROM ");
  sb_ident(&b, s->offsets_table);
  sb_add(&b, " WHERE connector = ?");
  sqlite3_stmt *q = NULL;
  rc = b.oom ? SQLITE_NOMEM : sqlite3_prepare_v2(s->db, b.s, -1, &q, NULL);
  free(b.s);
  if (rc != SQLITE_OK) {
    s->host->set_error(s->ctx, "offsets table: %s", sqlite3_errmsg(s->db));
    ssink_close(s);
    return BECK_CONNECTOR_RETRY;
  }
  sqlite3_bind_text(q, 1, s->host->connector_name(s->ctx), -1, SQLITE_TRANSIENT);
  int st = BECK_CONNECTOR_OK;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *topic = (const char *)sqlite3_column_text(q, 0);
    int part = sqlite3_column_int(q, 1);
    long long next = sqlite3_column_int64(q, 2);
    spos_t *p = ssink_pos(s, topic ? topic : "", part);
    if (p == NULL) {
      s->host->set_error(s->ctx, "out of memory");
      st = BECK_CONNECTOR_FATAL;
      break;
    }
    p->committed = p->pending = next;
    if ((st = s->host->sink_seek(s->ctx, p->topic, part, next)) != BECK_CONNECTOR_OK)
      break;
  }
  if (st == BECK_CONNECTOR_OK && rc != SQLITE_DONE) {
    s->host->set_error(s->ctx, "reading offsets: %s", sqlite3_errmsg(s->db));
    st = BECK_CONNECTOR_RETRY;
  }
  sqlite3_finalize(q);
  if (st != BECK_CONNECTOR_OK)
    ssink_close(s);
  return st;
}

/* Drops the open transaction; the host re-delivers since the last commit. */
static int ssink_rewind(ssink_t *s, const char *what) {
  s->host->set_error(s->ctx, "%s: %s", what, sqlite3_errmsg(s->db));
  if (s->in_txn)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  s->in_txn = 0;
  for (size_t k = 0; k < s->npos; k++)
    s->pos[k].pending = s->pos[k].committed;
  return BECK_CONNECTOR_REWIND;
}

static int is_row_error(int rc) {
  int prim = rc & 0xff;
  return prim == SQLITE_CONSTRAINT || prim == SQLITE_MISMATCH || prim == SQLITE_TOOBIG || prim == SQLITE_RANGE;
}

/* Binds one row's values to parameters from first (1-based). */
static void ssink_bind(sqlite3_stmt *q, int first, const rowmap_val_t *vals, int n) {
  for (int c = 0; c < n; c++) {
    const rowmap_val_t *v = &vals[c];
    int col = first + c;
    switch (v->kind) {
    case ROWMAP_NULL:
      sqlite3_bind_null(q, col);
      break;
    case ROWMAP_INT:
    case ROWMAP_BOOL:
      sqlite3_bind_int64(q, col, v->i);
      break;
    case ROWMAP_REAL:
      sqlite3_bind_double(q, col, v->d);
      break;
    default:
      sqlite3_bind_text(q, col, v->ptr, (int)v->len, SQLITE_STATIC);
      break;
    }
  }
}

/* Inserts the n collected rows (values in s->vals, records in
 * s->chunk_rec): as one statement when there are `chunk` of them, else (or
 * when that statement fails on a row) one by one, rejecting the rows that
 * fail alone. Frees what the rows own. Returns OK, REWIND or FATAL. */
static int ssink_insert_rows(ssink_t *s, const beck_sink_batch_t *batch, int n) {
  int ncols = s->map.n, st = BECK_CONNECTOR_OK, one_by_one = 1;
  if (n == s->chunk && n > 1) {
    for (int r = 0; r < n; r++)
      ssink_bind(s->ins_chunk, r * ncols + 1, &s->vals[(size_t)r * (size_t)ncols], ncols);
    int rc = sqlite3_step(s->ins_chunk);
    sqlite3_reset(s->ins_chunk);
    if (rc == SQLITE_DONE)
      one_by_one = 0;
    else if (!is_row_error(rc))
      st = ssink_rewind(s, "insert");
  }
  for (int r = 0; r < n && one_by_one && st == BECK_CONNECTOR_OK; r++) {
    ssink_bind(s->ins, 1, &s->vals[(size_t)r * (size_t)ncols], ncols);
    int rc = sqlite3_step(s->ins);
    sqlite3_reset(s->ins);
    if (rc == SQLITE_DONE)
      continue;
    if (is_row_error(rc)) {
      if (s->host->reject_record(s->ctx, batch->records[s->chunk_rec[r]], "%s", sqlite3_errmsg(s->db)) !=
          BECK_CONNECTOR_OK)
        st = BECK_CONNECTOR_FATAL;
      continue;
    }
    st = ssink_rewind(s, "insert");
  }
  for (int r = 0; r < n; r++) {
    rowmap_row_t row = {.vals = &s->vals[(size_t)r * (size_t)ncols]};
    rowmap_row_clear(&s->map, &row);
  }
  return st;
}

static int ssink_put(void *self, const beck_sink_batch_t *batch) {
  ssink_t *s = self;
  if (s->db == NULL) {
    int st = ssink_start(s);
    if (st != BECK_CONNECTOR_OK)
      return st == BECK_CONNECTOR_FATAL ? st : BECK_CONNECTOR_REWIND;
  }
  if (!s->in_txn) {
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
      return ssink_rewind(s, "BEGIN");
    s->in_txn = 1;
  }
  char err[512];
  int n = 0;
  for (uint32_t k = 0; k < batch->count; k++) {
    const beck_sink_record_t *r = batch->records[k];
    spos_t *p = ssink_pos(s, r->topic, r->partition);
    if (p == NULL) {
      s->host->set_error(s->ctx, "out of memory");
      return BECK_CONNECTOR_FATAL;
    }
    if (p->pending >= 0 && r->offset < p->pending)
      continue; /* already written (a replay) */
    p->pending = r->offset + 1;
    rowmap_row_t row = {.vals = &s->vals[(size_t)n * (size_t)s->map.n]};
    if (rowmap_extract(&s->map, r, &row, err, sizeof err) != 0) {
      if (s->host->reject_record(s->ctx, r, "%s", err) != BECK_CONNECTOR_OK) {
        for (int i = 0; i < n; i++) {
          rowmap_row_t done = {.vals = &s->vals[(size_t)i * (size_t)s->map.n]};
          rowmap_row_clear(&s->map, &done);
        }
        return BECK_CONNECTOR_FATAL;
      }
      continue;
    }
    s->chunk_rec[n++] = k;
    if (n == s->chunk) {
      int st = ssink_insert_rows(s, batch, n);
      n = 0;
      if (st != BECK_CONNECTOR_OK)
        return st;
    }
  }
  return n > 0 ? ssink_insert_rows(s, batch, n) : BECK_CONNECTOR_OK;
}

static int ssink_flush(void *self) {
  ssink_t *s = self;
  if (!s->in_txn)
    return BECK_CONNECTOR_OK;
  const char *name = s->host->connector_name(s->ctx);
  for (size_t k = 0; k < s->npos; k++) {
    spos_t *p = &s->pos[k];
    if (p->pending < 0 || p->pending == p->committed)
      continue;
    sqlite3_bind_text(s->off_upsert, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->off_upsert, 2, p->topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->off_upsert, 3, p->partition);
    sqlite3_bind_int64(s->off_upsert, 4, p->pending);
    int rc = sqlite3_step(s->off_upsert);
    sqlite3_reset(s->off_upsert);
    if (rc != SQLITE_DONE)
      return ssink_rewind(s, "storing offsets");
  }
  if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    return ssink_rewind(s, "COMMIT");
  s->in_txn = 0;
  for (size_t k = 0; k < s->npos; k++)
    s->pos[k].committed = s->pos[k].pending;
  return BECK_CONNECTOR_OK;
}

static int ssink_stop(void *self) {
  ssink_t *s = self;
  for (size_t k = 0; k < s->npos; k++)
    s->pos[k].pending = s->pos[k].committed;
  ssink_close(s);
  return BECK_CONNECTOR_OK;
}

static void ssink_destroy(void *self) {
  ssink_t *s = self;
  if (s == NULL)
    return;
  ssink_close(s);
  rowmap_free(&s->map);
  free(s->vals);
  free(s->chunk_rec);
  free(s->pk);
  for (size_t k = 0; k < s->npos; k++)
    free(s->pos[k].topic);
  free(s->pos);
  free(s);
}

static const beck_connector_descriptor_t sqlite_sink = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "sqlite-sink",
    .kind = BECK_CONNECTOR_SINK,
    .description = "Writes rows to a sqlite3 table (WAL), exactly once: offsets commit with the rows.",
    .version = "1.0",
    .options = ssink_options,
    .option_count = sizeof ssink_options / sizeof ssink_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = ssink_create,
    .start = ssink_start,
    .put = ssink_put,
    .flush = ssink_flush,
    .stop = ssink_stop,
    .destroy = ssink_destroy,
};

/* ---- sqlite-source -------------------------------------------------------------- */

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  const char *path, *table, *id_col, *ts_col, *key_col;
  int64_t poll_ms;
  long long rows;
  char spart[300];
  sqlite3 *db;
  sqlite3_stmt *q;
  int key_idx;       /* result column of the key, -1 none */
  char last_id[128]; /* "" = from the start */
  char last_ts[128];
  char why[512]; /* why the query could not be prepared */
  int waiting;   /* logged that we wait for the table */
} ssrc_t;

static const beck_connector_option_t ssrc_options[] = {
    {.name = "db.path", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "sqlite3 database file."},
    {.name = "table", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "Table to read."},
    {.name = "incrementing.column",
     .type = BECK_CONNECTOR_OPT_STRING,
     .required = 1,
     .description = "Strictly increasing column (e.g. an INTEGER PRIMARY KEY)."},
    {.name = "timestamp.column",
     .type = BECK_CONNECTOR_OPT_STRING,
     .description = "If set: timestamp+incrementing mode, rows ordered by (timestamp, id)."},
    {.name = "key.column", .type = BECK_CONNECTOR_OPT_STRING, .description = "Column whose value is the record key."},
    {.name = "poll.interval",
     .type = BECK_CONNECTOR_OPT_DURATION,
     .default_value = "1s",
     .min = 1,
     .max = 3600000,
     .description = "Wait between queries when there are no new rows."},
    {.name = "batch.rows",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "1000",
     .min = 1,
     .max = 1000000,
     .description = "Rows per query."},
};

static int ssrc_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  ssrc_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  *self = s;
  s->host = host;
  s->ctx = ctx;
  s->path = host->config_string(ctx, "db.path");
  s->table = host->config_string(ctx, "table");
  s->id_col = host->config_string(ctx, "incrementing.column");
  s->ts_col = host->config_string(ctx, "timestamp.column");
  s->key_col = host->config_string(ctx, "key.column");
  s->poll_ms = host->config_int(ctx, "poll.interval");
  s->rows = host->config_int(ctx, "batch.rows");
  snprintf(s->spart, sizeof s->spart, "sqlite:%s", s->table);
  return BECK_CONNECTOR_OK;
}

static void ssrc_close(ssrc_t *s) {
  sqlite3_finalize(s->q);
  s->q = NULL;
  sqlite3_close(s->db);
  s->db = NULL;
}

static int ssrc_prepare(ssrc_t *s) {
  char err[512];
  s->why[0] = '\0';
  if (open_db(s->path, 1, NULL, &s->db, err, sizeof err) != SQLITE_OK) {
    snprintf(s->why, sizeof s->why, "%s", err);
    s->host->set_error(s->ctx, "%s", err);
    return BECK_CONNECTOR_RETRY;
  }
  /* every column into json_object('col', "col", ...) */
  sbuf_t b = {0};
  sb_add(&b, "PRAGMA table_info(");
  sb_ident(&b, s->table);
  sb_add(&b, ")");
  sqlite3_stmt *ti = NULL;
  int rc = b.oom ? SQLITE_NOMEM : sqlite3_prepare_v2(s->db, b.s, -1, &ti, NULL);
  free(b.s);
  if (rc != SQLITE_OK) {
    snprintf(s->why, sizeof s->why, "table %s: %s", s->table, sqlite3_errmsg(s->db));
    s->host->set_error(s->ctx, "%s", s->why);
    ssrc_close(s);
    return BECK_CONNECTOR_RETRY;
  }
  memset(&b, 0, sizeof b);
  sb_add(&b, "SELECT json_object(");
  int ncols = 0, has_id = 0, has_ts = s->ts_col == NULL, has_key = s->key_col == NULL;
  while (sqlite3_step(ti) == SQLITE_ROW) {
    const char *col = (const char *)sqlite3_column_text(ti, 1);
    if (col == NULL)
      continue;
    char lit[300];
    size_t o = 0;
    lit[o++] = '\'';
    for (const char *p = col; *p && o < sizeof lit - 4; p++) {
      if (*p == '\'')
        lit[o++] = '\'';
      lit[o++] = *p;
    }
    lit[o++] = '\'';
    lit[o] = '\0';
    if (ncols++)
      sb_add(&b, ", ");
    sb_add(&b, lit);
    sb_add(&b, ", ");
    sb_ident(&b, col);
    has_id |= strcmp(col, s->id_col) == 0;
    has_ts |= s->ts_col && strcmp(col, s->ts_col) == 0;
    has_key |= s->key_col && strcmp(col, s->key_col) == 0;
  }
  sqlite3_finalize(ti);
  if (ncols == 0 || !has_id || !has_ts || !has_key) {
    snprintf(s->why, sizeof s->why, ncols == 0 ? "table %s does not exist (yet)" : "table %s has no column %s",
             s->table,
             !has_id   ? s->id_col
             : !has_ts ? s->ts_col
                       : s->key_col);
    s->host->set_error(s->ctx, "%s", s->why);
    free(b.s);
    ssrc_close(s);
    return ncols == 0 ? BECK_CONNECTOR_RETRY : BECK_CONNECTOR_FATAL;
  }
  sb_add(&b, "), ");
  sb_ident(&b, s->id_col);
  if (s->ts_col) {
    sb_add(&b, ", ");
    sb_ident(&b, s->ts_col);
  }
  s->key_idx = -1;
  if (s->key_col) {
    sb_add(&b, ", ");
    sb_ident(&b, s->key_col);
    s->key_idx = s->ts_col ? 3 : 2;
  }
  sb_add(&b, " FROM ");
  sb_ident(&b, s->table);
  if (s->ts_col) {
    sb_add(&b, " WHERE (?1 IS NULL OR ");
    sb_ident(&b, s->ts_col);
    sb_add(&b, " > ?1 OR (");
    sb_ident(&b, s->ts_col);
    sb_add(&b, " = ?1 AND ");
    sb_ident(&b, s->id_col);
    sb_add(&b, " > ?2)) ORDER BY ");
    sb_ident(&b, s->ts_col);
    sb_add(&b, ", ");
    sb_ident(&b, s->id_col);
  } else {
    sb_add(&b, " WHERE (?2 IS NULL OR ");
    sb_ident(&b, s->id_col);
    sb_add(&b, " > ?2) ORDER BY ");
    sb_ident(&b, s->id_col);
  }
  sb_add(&b, " LIMIT ?3");
  rc = b.oom ? SQLITE_NOMEM : sqlite3_prepare_v2(s->db, b.s, -1, &s->q, NULL);
  if (rc != SQLITE_OK) {
    s->host->set_error(s->ctx, "%s: %s", b.s ? b.s : "", sqlite3_errmsg(s->db));
    free(b.s);
    ssrc_close(s);
    return BECK_CONNECTOR_FATAL;
  }
  free(b.s);
  return BECK_CONNECTOR_OK;
}

static int ssrc_start(void *self) {
  ssrc_t *s = self;
  ssrc_close(s);
  const char *off = s->host->offset_get(s->ctx, s->spart);
  s->last_id[0] = s->last_ts[0] = '\0';
  if (off != NULL) {
    const char *bar = s->ts_col ? strrchr(off, '|') : NULL;
    if (bar != NULL) {
      snprintf(s->last_ts, sizeof s->last_ts, "%.*s", (int)(bar - off), off);
      snprintf(s->last_id, sizeof s->last_id, "%s", bar + 1);
    } else {
      snprintf(s->last_id, sizeof s->last_id, "%s", off);
    }
  }
  s->waiting = 0;
  int st = ssrc_prepare(s);
  return st == BECK_CONNECTOR_RETRY ? BECK_CONNECTOR_OK : st; /* poll tries again */
}

/* Binds text as an integer when it is one (so INTEGER columns compare as
 * numbers), else as text; "" binds NULL. */
static void bind_value(sqlite3_stmt *q, int idx, const char *v) {
  if (*v == '\0') {
    sqlite3_bind_null(q, idx);
    return;
  }
  char *end;
  long long i = strtoll(v, &end, 10);
  if (*end == '\0')
    sqlite3_bind_int64(q, idx, i);
  else
    sqlite3_bind_text(q, idx, v, -1, SQLITE_TRANSIENT);
}

static int ssrc_poll(void *self, beck_source_batch_t *batch) {
  ssrc_t *s = self;
  if (s->q == NULL) {
    int st = ssrc_prepare(s);
    if (st != BECK_CONNECTOR_OK) {
      if (st == BECK_CONNECTOR_RETRY) {
        if (!s->waiting)
          s->host->log(s->ctx, BECK_CONNECTOR_LOG_WARN, "waiting: %s", s->why);
        s->waiting = 1;
        s->host->sleep_ms(s->ctx, s->poll_ms);
      }
      return st == BECK_CONNECTOR_FATAL ? st : BECK_CONNECTOR_OK;
    }
    s->waiting = 0;
  }
  if (s->ts_col)
    bind_value(s->q, 1, s->last_ts);
  bind_value(s->q, 2, s->last_id);
  sqlite3_bind_int64(s->q, 3, s->rows);
  int n = 0, rc, full = 0, st = BECK_CONNECTOR_OK;
  while (!full && (rc = sqlite3_step(s->q)) == SQLITE_ROW) {
    const char *json = (const char *)sqlite3_column_text(s->q, 0);
    const char *id = (const char *)sqlite3_column_text(s->q, 1);
    const char *ts = s->ts_col ? (const char *)sqlite3_column_text(s->q, 2) : NULL;
    if (id == NULL || (s->ts_col && ts == NULL)) {
      s->host->set_error(s->ctx, "row with NULL %s", id == NULL ? s->id_col : s->ts_col);
      st = BECK_CONNECTOR_FATAL;
      break;
    }
    snprintf(s->last_id, sizeof s->last_id, "%s", id);
    if (ts)
      snprintf(s->last_ts, sizeof s->last_ts, "%s", ts);
    char off[300];
    if (ts)
      snprintf(off, sizeof off, "%s|%s", s->last_ts, s->last_id);
    else
      snprintf(off, sizeof off, "%s", s->last_id);
    beck_source_record_t r = BECK_SOURCE_RECORD_INIT;
    r.value = json;
    r.value_len = json ? sqlite3_column_bytes(s->q, 0) : -1;
    if (s->key_idx >= 0 && sqlite3_column_type(s->q, s->key_idx) != SQLITE_NULL) {
      r.key = sqlite3_column_text(s->q, s->key_idx);
      r.key_len = sqlite3_column_bytes(s->q, s->key_idx);
    }
    r.source_partition = s->spart;
    r.source_offset = off;
    int e = beck_emit(s->host, batch, &r);
    if (e < 0) {
      st = e;
      break;
    }
    full = e == 1;
    n++;
  }
  if (st == BECK_CONNECTOR_OK && !full && rc != SQLITE_DONE) {
    s->host->set_error(s->ctx, "query: %s", sqlite3_errmsg(s->db));
    st = BECK_CONNECTOR_RETRY;
  }
  sqlite3_reset(s->q);
  if (st == BECK_CONNECTOR_RETRY)
    ssrc_close(s);
  if (st == BECK_CONNECTOR_OK && n == 0)
    s->host->sleep_ms(s->ctx, s->poll_ms);
  return st;
}

static int ssrc_stop(void *self) {
  ssrc_close(self);
  return BECK_CONNECTOR_OK;
}

static void ssrc_destroy(void *self) {
  if (self == NULL)
    return;
  ssrc_close(self);
  free(self);
}

static const beck_connector_descriptor_t sqlite_source = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "sqlite-source",
    .kind = BECK_CONNECTOR_SOURCE,
    .description = "Reads new rows of a sqlite3 table by an incrementing (and timestamp) column, as JSON.",
    .version = "1.0",
    .options = ssrc_options,
    .option_count = sizeof ssrc_options / sizeof ssrc_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = ssrc_create,
    .start = ssrc_start,
    .poll = ssrc_poll,
    .stop = ssrc_stop,
    .destroy = ssrc_destroy,
};

BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi, uint32_t index) {
  (void)host_abi;
  static const beck_connector_descriptor_t *const all[] = {&sqlite_sink, &sqlite_source};
  return index < sizeof all / sizeof all[0] ? all[index] : NULL;
}
