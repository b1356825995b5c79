/*
 * postgres.c - postgres-sink and postgres-source over libpq. Built against
 * <beck/connector.h> and libpq (rows from JSON: rowmap.h).
 *
 * postgres-sink: exactly once, by transactions that carry their offsets.
 *   One transaction spans the puts between two flushes, and so does one
 *   COPY ... FROM STDIN: each put only streams its rows into the open COPY
 *   (no round trip; the server parses while the next batch is fetched), as
 *   psql \copy does. mode=copy copies into the table. mode=upsert copies
 *   into the table too while the keys are new (a window that meets a key
 *   already there, or twice, fails with a unique violation at flush and is
 *   delivered again), else into a temporary staging table that flush()
 *   merges with INSERT .. SELECT DISTINCT ON (pk) .. ON CONFLICT (pk) DO
 *   UPDATE (the last record of a key since the last flush wins); after a
 *   few merged windows (1, 2, 4, .. 64 as tries fail) it tries copying
 *   straight in again. Either way the result is the upsert's: the direct
 *   COPY succeeds only when no key conflicts. flush() ends the COPY, upserts the
 *   next offset per (connector, topic, partition) into the offsets table in
 *   the same transaction and COMMITs. On (re)connect the sink reads that
 *   table: start() seeks the host there, and put() skips records below it,
 *   so whatever the host re-delivers after a crash, a lost connection or a
 *   commit whose outcome was unknown is written exactly once.
 *
 *   Per-row errors: a record that is not a JSON object is rejected in put.
 *   A row the server refuses (SQLSTATE classes 22, 23) makes the streamed
 *   COPY fail at flush: the transaction is rolled back, the sink switches to
 *   careful mode and returns REWIND, and the host delivers the same records
 *   again. In careful mode each put is its own COPY (and merge) under a
 *   savepoint, retried row by row when it fails; rows that fail alone are
 *   rejected (dead-lettered), the rest are kept; careful mode ends once
 *   everything the failed COPY held is committed. Records rejected in a put
 *   that returned OK are remembered until they are below the committed
 *   offset, so a replay does not dead-letter them twice.
 *   A lost connection (class 08, 57P, or libpq reporting a bad connection)
 *   drops the transaction and returns REWIND; the next call reconnects.
 *   Other errors (e.g. 42: no such table) are fatal.
 *
 *   Columns: `fields` (column[:type][=source], see rowmap.h) or, when unset,
 *   the table's own columns (each read from the JSON field of its name).
 *   auto.create creates the table from `fields` (with pk.fields as primary
 *   key).
 *
 * postgres-source: incremental query.
 *   SELECT row_to_json(t) FROM table t WHERE id > $last ORDER BY id LIMIT n
 *   (incrementing), or WHERE (ts, id) > ($ts, $id) ORDER BY ts, id
 *   (timestamp+incrementing); the first query has no WHERE (a snapshot in
 *   pages, then new rows). Source partition "postgres:TABLE", offset "ID" or
 *   "TS|ID" (the values as PostgreSQL prints them). Rows committed later with
 *   a smaller id than one already read are missed (use a sequence or commit
 *   timestamp order); logical-replication CDC is the fix and comes later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <beck/connector.h>
#include <libpq-fe.h>

#include "../common/rowmap.h"

/* ---- small helpers ---------------------------------------------------------- */

typedef struct {
  char *s;
  size_t len, cap;
  int oom;
} sbuf_t;

static void sb_addn(sbuf_t *b, const char *p, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 1024;
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
  memcpy(b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_add(sbuf_t *b, const char *text) { sb_addn(b, text, strlen(text)); }

/* Appends an identifier, quoted; "schema.table" becomes "schema"."table". */
static void sb_ident(sbuf_t *b, const char *ident) {
  const char *p = ident;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    sb_add(b, "\"");
    for (size_t k = 0; k < n; k++)
      sb_addn(b, p[k] == '"' ? "\"\"" : &p[k], p[k] == '"' ? 2 : 1);
    sb_add(b, "\"");
    if (dot == NULL)
      break;
    sb_add(b, ".");
    p = dot + 1;
  }
}

/* Makes room for n more bytes (plus the NUL); 0, or -1 (b->oom set). */
static int sb_reserve(sbuf_t *b, size_t n) {
  if (b->oom)
    return -1;
  if (b->len + n + 1 <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap * 2 : 1024;
  while (cap < b->len + n + 1)
    cap *= 2;
  char *ns = realloc(b->s, cap);
  if (ns == NULL) {
    b->oom = 1;
    return -1;
  }
  b->s = ns;
  b->cap = cap;
  return 0;
}

/* Appends a value in COPY text format, then sep (the column's tab or the
 * row's newline): backslash, newline, carriage return and tab escaped, NUL
 * dropped (PostgreSQL text cannot hold it). One pass into reserved room:
 * this runs for every column of every row. */
static void sb_copy_value(sbuf_t *b, const rowmap_val_t *v, char sep) {
  if (sb_reserve(b, v->len * 2 + 3) != 0)
    return;
  char *o = b->s + b->len;
  if (v->kind == ROWMAP_NULL) {
    *o++ = '\\';
    *o++ = 'N';
    *o++ = sep;
    b->len = (size_t)(o - b->s);
    b->s[b->len] = '\0';
    return;
  }
  const unsigned char *p = (const unsigned char *)v->ptr, *e = p + v->len;
  for (; p < e; p++) {
    unsigned char c = *p;
    if (c >= ' ' && c != '\\') { /* the common case: nothing to escape */
      *o++ = (char)c;
      continue;
    }
    switch (c) {
    case '\\':
      *o++ = '\\';
      *o++ = '\\';
      break;
    case '\n':
      *o++ = '\\';
      *o++ = 'n';
      break;
    case '\r':
      *o++ = '\\';
      *o++ = 'r';
      break;
    case '\t':
      *o++ = '\\';
      *o++ = 't';
      break;
    case '\0':
      break;
    default:
      *o++ = (char)c;
    }
  }
  *o++ = sep;
  b->len = (size_t)(o - b->s);
  b->s[b->len] = '\0';
}

/* Whether an error means the connection is gone (then REWIND/RETRY). */
static int conn_lost(PGconn *c, const PGresult *r) {
  if (c == NULL || PQstatus(c) != CONNECTION_OK)
    return 1;
  const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  if (st == NULL)
    return r == NULL || PQresultStatus(r) == PGRES_FATAL_ERROR;
  return strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0 || strcmp(st, "40001") == 0 ||
         strcmp(st, "40P01") == 0 || strncmp(st, "53", 2) == 0;
}

/* Whether an error is about the data of a row (then reject rows). */
static int data_error(const PGresult *r) {
  const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  return st != NULL && (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 || strcmp(st, "42804") == 0);
}

/* First line of an error message. */
static void one_line(char *out, size_t cap, const char *msg) {
  snprintf(out, cap, "%s", msg ? msg : "unknown error");
  out[strcspn(out, "\n")] = '\0';
}

/* ---- postgres-sink ---------------------------------------------------------------- */

typedef struct {
  char *topic;
  int partition;
  long long committed; /* as read from / written to the offsets table; -1 none */
  long long pending;   /* next offset after rows sent in the open transaction */
  /* offsets rejected since the last good flush, ascending: [0, nrej_sent)
   * by puts that returned OK (the host has dead-lettered them), then those
   * of the put under way */
  long long *rej;
  size_t nrej, nrej_sent, caprej;
  long long careful_until; /* careful mode lasts until this is committed */
} ppos_t;

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  const char *conninfo, *table, *offsets_table, *fields_opt;
  int upsert, auto_create;
  rowmap_t map;
  int map_ready;
  int *pk;
  int npk;
  rowmap_val_t *vals;
  PGconn *conn;
  int in_txn;
  int copying; /* a streamed COPY is open (inside the transaction) */
  int careful; /* a streamed COPY failed on data: one COPY per put until what it held is committed */
  ppos_t *pos;
  size_t npos, last_pos;
  char stage[64];       /* upsert staging table */
  char *copy_sql;       /* COPY into the table */
  char *stage_copy_sql; /* upsert: COPY into the staging table (with beck_ord) */
  char *merge_sql;      /* upsert: staging table -> table, then TRUNCATE it */
  /* upsert: streamed windows COPY straight into the table while their keys
   * are new (a unique violation sends the window through the staging
   * table instead, and direct COPY is tried again after staged_left
   * windows, a gap that doubles up to 64 with each failed try) */
  int staged, staged_left, staged_gap;
  sbuf_t rows;       /* COPY text of the current put */
  size_t *row_end;   /* end of each row in `rows` */
  uint32_t *row_rec; /* record index of each row */
  size_t nrows, caprows;
  long long ord;
} psink_t;

static const beck_connector_option_t psink_options[] = {
    {.name = "connection",
     .type = BECK_CONNECTOR_OPT_PASSWORD,
     .required = 1,
     .description = "libpq connection string or URI (host=... port=... dbname=... user=...)."},
    {.name = "table", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "Table (or schema.table)."},
    {.name = "fields",
     .type = BECK_CONNECTOR_OPT_STRING,
     .description = "Columns: column[:type][=source]; unset: the table's columns from JSON fields of the same name."},
    {.name = "mode",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "copy",
     .choices = "copy|upsert",
     .description = "copy: COPY rows in; upsert: merge on pk.fields (last record of a key wins)."},
    {.name = "pk.fields",
     .type = BECK_CONNECTOR_OPT_LIST,
     .description = "Key columns (upsert; primary key on create)."},
    {.name = "auto.create",
     .type = BECK_CONNECTOR_OPT_BOOL,
     .default_value = "false",
     .description = "Create the table from fields if it does not exist."},
    {.name = "offsets.table",
     .type = BECK_CONNECTOR_OPT_STRING,
     .default_value = "beck_connect_offsets",
     .description = "Table holding consumed offsets, written in the same transaction as the rows."},
};

static int psink_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  psink_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  *self = s;
  s->host = host;
  s->ctx = ctx;
  s->conninfo = host->config_string(ctx, "connection");
  s->table = host->config_string(ctx, "table");
  s->offsets_table = host->config_string(ctx, "offsets.table");
  s->fields_opt = host->config_string(ctx, "fields");
  s->upsert = strcmp(host->config_string(ctx, "mode"), "upsert") == 0;
  s->auto_create = host->config_bool(ctx, "auto.create");
  char err[256];
  if (s->fields_opt != NULL) {
    if (rowmap_parse(&s->map, s->fields_opt, err, sizeof err) != 0) {
      host->set_error(ctx, "fields: %s", err);
      return BECK_CONNECTOR_FATAL;
    }
    s->map.text_only = 1; /* COPY text */
    s->map_ready = 1;
  } else if (s->auto_create) {
    host->set_error(ctx, "auto.create needs fields (column:type,...)");
    return BECK_CONNECTOR_FATAL;
  }
  if (s->upsert && host->config_string(ctx, "pk.fields") == NULL) {
    host->set_error(ctx, "mode=upsert needs pk.fields");
    return BECK_CONNECTOR_FATAL;
  }
  snprintf(s->stage, sizeof s->stage, "beck_stage_%d", (int)(host->mono_ms(ctx) % 1000000));
  s->staged_gap = 1;
  return BECK_CONNECTOR_OK;
}

static void psink_disconnect(psink_t *s) {
  PQfinish(s->conn);
  s->conn = NULL;
  s->in_txn = 0;
  s->copying = 0;
}

static ppos_t *psink_pos(psink_t *s, const char *topic, int partition) {
  if (s->last_pos < s->npos && s->pos[s->last_pos].partition == partition &&
      strcmp(s->pos[s->last_pos].topic, topic) == 0)
    return &s->pos[s->last_pos]; /* consecutive records mostly share a partition */
  for (size_t k = 0; k < s->npos; k++)
    if (s->pos[k].partition == partition && strcmp(s->pos[k].topic, topic) == 0) {
      s->last_pos = k;
      return &s->pos[k];
    }
  ppos_t *np = realloc(s->pos, (s->npos + 1) * sizeof *np);
  if (np == NULL)
    return NULL;
  s->pos = np;
  char *t = strdup(topic);
  if (t == NULL)
    return NULL;
  s->pos[s->npos] =
      (ppos_t){.topic = t, .partition = partition, .committed = -1, .pending = -1, .rej = NULL, .careful_until = -1};
  return &s->pos[s->npos++];
}

/* Runs a command; returns 0, or the status to return with the error set. */
static int run(psink_t *s, const char *sql, const char *what) {
  PGresult *r = PQexec(s->conn, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    PQclear(r);
    return 0;
  }
  char msg[512];
  one_line(msg, sizeof msg, r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
  s->host->set_error(s->ctx, "%s: %s", what, msg);
  int lost = conn_lost(s->conn, r);
  PQclear(r);
  if (lost) {
    psink_disconnect(s);
    return BECK_CONNECTOR_REWIND;
  }
  return BECK_CONNECTOR_FATAL;
}

/* Reads the table's columns into the row map (fields unset). */
static int psink_columns_from_table(psink_t *s) {
  const char *dot = strchr(s->table, '.');
  char schema[256] = "", name[256];
  if (dot) {
    snprintf(schema, sizeof schema, "%.*s", (int)(dot - s->table), s->table);
    snprintf(name, sizeof name, "%s", dot + 1);
  } else {
    snprintf(name, sizeof name, "%s", s->table);
  }
  const char *params[2] = {name, schema};
  PGresult *r = PQexecParams(s->conn,
                             "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND "
                             "($2 = '' AND table_schema = current_schema() OR table_schema = $2) ORDER BY "
                             "ordinal_position",
                             2, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    char msg[512];
    one_line(msg, sizeof msg, PQresultErrorMessage(r));
    s->host->set_error(s->ctx, "columns of %s: %s", s->table, msg);
    int lost = conn_lost(s->conn, r);
    PQclear(r);
    return lost ? BECK_CONNECTOR_RETRY : BECK_CONNECTOR_FATAL;
  }
  if (PQntuples(r) == 0) {
    PQclear(r);
    s->host->set_error(s->ctx, "table %s does not exist (set fields and auto.create=true to create it)", s->table);
    return BECK_CONNECTOR_FATAL;
  }
  sbuf_t spec = {0};
  for (int k = 0; k < PQntuples(r); k++) {
    if (k)
      sb_add(&spec, ",");
    sb_add(&spec, PQgetvalue(r, k, 0));
  }
  PQclear(r);
  char err[256];
  int rc = spec.oom ? -1 : rowmap_parse(&s->map, spec.s, err, sizeof err);
  free(spec.s);
  s->map.text_only = 1; /* COPY text */
  if (rc != 0) {
    s->host->set_error(s->ctx, "columns of %s: %s", s->table, spec.oom ? "out of memory" : err);
    return BECK_CONNECTOR_FATAL;
  }
  s->map_ready = 1;
  return BECK_CONNECTOR_OK;
}

/* Builds the statements once the columns are known. */
static int psink_prepare_sql(psink_t *s) {
  if (s->copy_sql != NULL)
    return BECK_CONNECTOR_OK;
  free(s->vals);
  free(s->pk);
  s->vals = calloc((size_t)s->map.n, sizeof *s->vals);
  s->pk = calloc((size_t)s->map.n, sizeof *s->pk);
  s->npk = 0;
  if (s->vals == NULL || s->pk == NULL) {
    s->host->set_error(s->ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  const char *pks = s->host->config_string(s->ctx, "pk.fields");
  if (pks != NULL) {
    char *copy = strdup(pks), *save = NULL;
    for (char *tok = copy ? strtok_r(copy, ", ", &save) : NULL; tok; tok = strtok_r(NULL, ", ", &save)) {
      int idx = rowmap_find(&s->map, tok);
      if (idx < 0 || s->npk >= s->map.n) {
        s->host->set_error(s->ctx, "pk.fields: '%s' is not one of the columns", tok);
        free(copy);
        return BECK_CONNECTOR_FATAL;
      }
      s->pk[s->npk++] = idx;
    }
    free(copy);
  }
  sbuf_t cols = {0};
  for (int k = 0; k < s->map.n; k++) {
    if (k)
      sb_add(&cols, ", ");
    sb_ident(&cols, s->map.cols[k].column);
  }
  sbuf_t b = {0};
  sb_add(&b, "COPY ");
  sb_ident(&b, s->table);
  sb_add(&b, " (");
  sb_add(&b, cols.s ? cols.s : "");
  sb_add(&b, ") FROM STDIN");
  s->copy_sql = b.s;
  if (s->upsert) {
    sbuf_t c = {0};
    sb_add(&c, "COPY ");
    sb_ident(&c, s->stage);
    sb_add(&c, " (");
    sb_add(&c, cols.s ? cols.s : "");
    sb_add(&c, ", beck_ord) FROM STDIN");
    s->stage_copy_sql = c.s;
    if (c.oom) {
      s->host->set_error(s->ctx, "out of memory");
      free(cols.s);
      return BECK_CONNECTOR_FATAL;
    }
    sbuf_t m = {0}, keys = {0};
    for (int k = 0; k < s->npk; k++) {
      if (k)
        sb_add(&keys, ", ");
      sb_ident(&keys, s->map.cols[s->pk[k]].column);
    }
    sb_add(&m, "INSERT INTO ");
    sb_ident(&m, s->table);
    sb_add(&m, " (");
    sb_add(&m, cols.s);
    sb_add(&m, ") SELECT DISTINCT ON (");
    sb_add(&m, keys.s);
    sb_add(&m, ") ");
    sb_add(&m, cols.s);
    sb_add(&m, " FROM ");
    sb_ident(&m, s->stage);
    sb_add(&m, " ORDER BY ");
    sb_add(&m, keys.s);
    sb_add(&m, ", beck_ord DESC ON CONFLICT (");
    sb_add(&m, keys.s);
    sb_add(&m, ") DO ");
    int nset = 0;
    for (int k = 0; k < s->map.n; k++) {
      int is_pk = 0;
      for (int j = 0; j < s->npk; j++)
        is_pk |= s->pk[j] == k;
      if (is_pk)
        continue;
      sb_add(&m, nset++ ? ", " : "UPDATE SET ");
      sb_ident(&m, s->map.cols[k].column);
      sb_add(&m, " = EXCLUDED.");
      sb_ident(&m, s->map.cols[k].column);
    }
    if (nset == 0)
      sb_add(&m, "NOTHING");
    sb_add(&m, "; TRUNCATE ");
    sb_ident(&m, s->stage);
    free(keys.s);
    s->merge_sql = m.s;
    if (m.oom || keys.oom) {
      s->host->set_error(s->ctx, "out of memory");
      free(cols.s);
      return BECK_CONNECTOR_FATAL;
    }
  }
  int oom = cols.oom || b.oom;
  free(cols.s);
  if (oom) {
    s->host->set_error(s->ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  return BECK_CONNECTOR_OK;
}

/* Connects, prepares the tables, and reloads the stored offsets (they are
 * the truth after any failure). Returns OK or the status to return. */
static int psink_connect(psink_t *s) {
  if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK)
    return BECK_CONNECTOR_OK;
  psink_disconnect(s);
  s->conn = PQconnectdb(s->conninfo);
  if (PQstatus(s->conn) != CONNECTION_OK) {
    char msg[512];
    one_line(msg, sizeof msg, PQerrorMessage(s->conn));
    s->host->set_error(s->ctx, "cannot connect to PostgreSQL: %s", msg);
    psink_disconnect(s);
    return BECK_CONNECTOR_RETRY;
  }
  PQsetNoticeProcessor(s->conn, NULL, NULL);
  int st;
  sbuf_t b = {0};
  sb_add(&b, "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS ");
  sb_ident(&b, s->offsets_table);
  sb_add(&b, " (connector text NOT NULL, topic text NOT NULL, \"partition\" integer NOT NULL, next_offset bigint "
             "NOT NULL, PRIMARY KEY (connector, topic, \"partition\"))");
  if (s->auto_create && s->map_ready) {
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
    const char *pks = s->host->config_string(s->ctx, "pk.fields");
    char *copy = pks ? strdup(pks) : NULL, *save = NULL;
    int npk = 0;
    for (char *tok = copy ? strtok_r(copy, ", ", &save) : NULL; tok; tok = strtok_r(NULL, ", ", &save)) {
      sb_add(&b, npk++ ? ", " : ", PRIMARY KEY (");
      sb_ident(&b, tok);
    }
    if (npk > 0)
      sb_add(&b, ")");
    free(copy);
    sb_add(&b, ")");
  }
  st = b.oom ? BECK_CONNECTOR_FATAL : run(s, b.s, "creating tables");
  free(b.s);
  if (st != 0)
    return st == BECK_CONNECTOR_REWIND ? BECK_CONNECTOR_RETRY : st;
  if (!s->map_ready && (st = psink_columns_from_table(s)) != BECK_CONNECTOR_OK)
    return st;
  if ((st = psink_prepare_sql(s)) != BECK_CONNECTOR_OK)
    return st;
  if (s->upsert) {
    memset(&b, 0, sizeof b);
    sb_add(&b, "CREATE TEMP TABLE IF NOT EXISTS ");
    sb_ident(&b, s->stage);
    sb_add(&b, " (LIKE ");
    sb_ident(&b, s->table);
    sb_add(&b, "); ALTER TABLE ");
    sb_ident(&b, s->stage);
    sb_add(&b, " ADD COLUMN IF NOT EXISTS beck_ord bigint");
    st = b.oom ? BECK_CONNECTOR_FATAL : run(s, b.s, "staging table");
    free(b.s);
    if (st != 0)
      return st == BECK_CONNECTOR_REWIND ? BECK_CONNECTOR_RETRY : st;
    /* the merge of the (empty) staging table checks that pk.fields has a
     * unique index to conflict on, before any row is copied straight in */
    if ((st = run(s, s->merge_sql, "upsert on pk.fields (needs a primary key or unique index on them)")) != 0)
      return st == BECK_CONNECTOR_REWIND ? BECK_CONNECTOR_RETRY : st;
  }
  /* the stored offsets: what is committed, whatever happened before */
  memset(&b, 0, sizeof b);
  sb_add(&b, "SELECT topic, \"partition\", next_offset FROM ");
  sb_ident(&b, s->offsets_table);
  sb_add(&b, " WHERE connector = $1");
  const char *name = s->host->connector_name(s->ctx);
  PGresult *r = b.oom ? NULL : PQexecParams(s->conn, b.s, 1, NULL, &name, NULL, NULL, 0);
  free(b.s);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    char msg[512];
    one_line(msg, sizeof msg, r ? PQresultErrorMessage(r) : "out of memory");
    s->host->set_error(s->ctx, "reading offsets: %s", msg);
    PQclear(r);
    psink_disconnect(s);
    return BECK_CONNECTOR_RETRY;
  }
  for (size_t k = 0; k < s->npos; k++)
    s->pos[k].committed = s->pos[k].pending = -1;
  for (int k = 0; k < PQntuples(r); k++) {
    ppos_t *p = psink_pos(s, PQgetvalue(r, k, 0), atoi(PQgetvalue(r, k, 1)));
    if (p == NULL) {
      PQclear(r);
      s->host->set_error(s->ctx, "out of memory");
      return BECK_CONNECTOR_FATAL;
    }
    p->committed = p->pending = atoll(PQgetvalue(r, k, 2));
  }
  PQclear(r);
  return BECK_CONNECTOR_OK;
}

static int psink_start(void *self) {
  psink_t *s = self;
  psink_disconnect(s);
  int st = psink_connect(s);
  if (st != BECK_CONNECTOR_OK)
    return st;
  for (size_t k = 0; k < s->npos; k++)
    if (s->pos[k].committed >= 0 && (st = s->host->sink_seek(s->ctx, s->pos[k].topic, s->pos[k].partition,
                                                             s->pos[k].committed)) != BECK_CONNECTOR_OK)
      return st;
  return BECK_CONNECTOR_OK;
}

/* Sends rows [from, to) of s->rows with COPY (and merges for upsert).
 * Returns 0, or -1 with *res holding the failed result (caller clears). */
static int psink_copy(psink_t *s, size_t from, size_t to, PGresult **res) {
  *res = NULL;
  PGresult *r = PQexec(s->conn, s->upsert ? s->stage_copy_sql : s->copy_sql);
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    *res = r;
    return -1;
  }
  PQclear(r);
  size_t start = from == 0 ? 0 : s->row_end[from - 1];
  size_t end = to == 0 ? 0 : s->row_end[to - 1];
  int ok = end <= start || PQputCopyData(s->conn, s->rows.s + start, (int)(end - start)) == 1;
  if (PQputCopyEnd(s->conn, ok ? NULL : "send failed") != 1)
    ok = 0;
  r = PQgetResult(s->conn);
  PGresult *extra;
  while ((extra = PQgetResult(s->conn)) != NULL)
    PQclear(extra);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    *res = r;
    return -1;
  }
  PQclear(r);
  if (s->upsert) {
    r = PQexec(s->conn, s->merge_sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      *res = r;
      return -1;
    }
    PQclear(r);
  }
  return ok ? 0 : -1;
}

/* Ends the streamed COPY, if one is open. Returns its result (the caller
 * clears it), or NULL when there was none. */
static PGresult *psink_end_copy(psink_t *s, const char *abort_msg) {
  if (!s->copying)
    return NULL;
  s->copying = 0;
  PGresult *r = NULL;
  if (PQputCopyEnd(s->conn, abort_msg) == 1)
    r = PQgetResult(s->conn);
  PGresult *extra;
  while ((extra = PQgetResult(s->conn)) != NULL)
    PQclear(extra);
  return r;
}

static void psink_abort_copy(psink_t *s) { PQclear(psink_end_copy(s, "rolled back by the sink")); }

/* Drops the transaction after a failure; REWIND (transient) or FATAL. */
static int psink_fail(psink_t *s, PGresult *r, const char *what) {
  char msg[512];
  one_line(msg, sizeof msg, r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
  s->host->set_error(s->ctx, "%s: %s", what, msg);
  int lost = conn_lost(s->conn, r);
  PQclear(r);
  if (!lost && s->conn != NULL) {
    psink_abort_copy(s);
    PGresult *rb = PQexec(s->conn, "ROLLBACK");
    PQclear(rb);
  }
  s->in_txn = 0;
  s->copying = 0;
  if (lost)
    psink_disconnect(s);
  for (size_t k = 0; k < s->npos; k++)
    s->pos[k].pending = s->pos[k].committed;
  return lost ? BECK_CONNECTOR_REWIND : BECK_CONNECTOR_FATAL;
}

static int psink_add_row(psink_t *s, uint32_t rec) {
  if (s->nrows == s->caprows) {
    size_t cap = s->caprows ? s->caprows * 2 : 1024;
    size_t *e = realloc(s->row_end, cap * sizeof *e);
    if (e == NULL)
      return -1;
    s->row_end = e;
    uint32_t *rr = realloc(s->row_rec, cap * sizeof *rr);
    if (rr == NULL)
      return -1;
    s->row_rec = rr;
    s->caprows = cap;
  }
  s->row_end[s->nrows] = s->rows.len;
  s->row_rec[s->nrows] = rec;
  s->nrows++;
  return 0;
}

/* Whether offset was rejected by an earlier put since the last good flush. */
static int psink_was_rejected(const ppos_t *p, long long offset) {
  size_t lo = 0, hi = p->nrej_sent;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->rej[mid] < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < p->nrej_sent && p->rej[lo] == offset;
}

/* Rejects record r (of position p) with msg; remembers it. Returns OK or FATAL. */
static int psink_reject(psink_t *s, ppos_t *p, const beck_sink_record_t *r, const char *msg) {
  if (p->nrej == p->caprej) {
    size_t cap = p->caprej ? p->caprej * 2 : 16;
    long long *n = realloc(p->rej, cap * sizeof *n);
    if (n == NULL) {
      s->host->set_error(s->ctx, "out of memory");
      return BECK_CONNECTOR_FATAL;
    }
    p->rej = n;
    p->caprej = cap;
  }
  if (p->nrej == 0 || p->rej[p->nrej - 1] < r->offset)
    p->rej[p->nrej++] = r->offset;
  return s->host->reject_record(s->ctx, r, "%s", msg) == BECK_CONNECTOR_OK ? BECK_CONNECTOR_OK : BECK_CONNECTOR_FATAL;
}

/* The put's verdict on its rejections: kept when it returns OK (the host
 * dead-letters them), forgotten otherwise (the host drops them). */
static int psink_put_done(psink_t *s, int st) {
  for (size_t k = 0; k < s->npos; k++) {
    ppos_t *p = &s->pos[k];
    if (st == BECK_CONNECTOR_OK)
      p->nrej_sent = p->nrej;
    else
      p->nrej = p->nrej_sent;
  }
  return st;
}

/* Streams s->rows into the transaction's COPY, opening both when needed. */
static int psink_stream(psink_t *s) {
  if (!s->copying) {
    PGresult *r;
    const char *sql = s->upsert && s->staged ? s->stage_copy_sql : s->copy_sql;
    if (!s->in_txn) {
      sbuf_t b = {0};
      sb_add(&b, "BEGIN; ");
      sb_add(&b, sql);
      r = b.oom ? NULL : PQexec(s->conn, b.s);
      free(b.s);
    } else {
      r = PQexec(s->conn, sql);
    }
    if (PQresultStatus(r) != PGRES_COPY_IN)
      return psink_fail(s, r, "COPY");
    PQclear(r);
    s->in_txn = 1;
    s->copying = 1;
  }
  if (s->rows.len > 0 && PQputCopyData(s->conn, s->rows.s, (int)s->rows.len) != 1)
    return psink_fail(s, NULL, "COPY");
  return BECK_CONNECTOR_OK;
}

/* Careful mode: this put's rows as one COPY (and merge) under a savepoint;
 * when the server refuses it for a data error, row by row, rejecting the
 * rows that fail alone. */
static int psink_put_careful(psink_t *s, const beck_sink_batch_t *batch) {
  int st;
  if (!s->in_txn) {
    if ((st = run(s, "BEGIN", "BEGIN")) != 0)
      return st;
    s->in_txn = 1;
  }
  if ((st = run(s, "SAVEPOINT beck_put", "SAVEPOINT")) != 0)
    return st == BECK_CONNECTOR_FATAL ? psink_fail(s, NULL, "SAVEPOINT") : st;
  PGresult *res;
  if (psink_copy(s, 0, s->nrows, &res) == 0) {
    if ((st = run(s, "RELEASE SAVEPOINT beck_put", "RELEASE")) != 0)
      return st == BECK_CONNECTOR_FATAL ? psink_fail(s, NULL, "RELEASE") : st;
    return BECK_CONNECTOR_OK;
  }
  if (!data_error(res))
    return psink_fail(s, res, "COPY");
  PQclear(res);
  /* some row is bad: find it (them) one by one */
  if ((st = run(s, "ROLLBACK TO SAVEPOINT beck_put", "ROLLBACK TO SAVEPOINT")) != 0)
    return st == BECK_CONNECTOR_FATAL ? psink_fail(s, NULL, "ROLLBACK TO SAVEPOINT") : st;
  for (size_t i = 0; i < s->nrows; i++) {
    if ((st = run(s, "SAVEPOINT beck_row", "SAVEPOINT")) != 0)
      return st == BECK_CONNECTOR_FATAL ? psink_fail(s, NULL, "SAVEPOINT") : st;
    if (psink_copy(s, i, i + 1, &res) == 0) {
      if ((st = run(s, "RELEASE SAVEPOINT beck_row", "RELEASE")) != 0)
        return st == BECK_CONNECTOR_FATAL ? psink_fail(s, NULL, "RELEASE") : st;
      continue;
    }
    if (!data_error(res))
      return psink_fail(s, res, "COPY");
    char msg[512];
    one_line(msg, sizeof msg, PQresultErrorMessage(res));
    PQclear(res);
    if ((st = run(s, "ROLLBACK TO SAVEPOINT beck_row", "ROLLBACK TO SAVEPOINT")) != 0)
      return st == BECK_CONNECTOR_FATAL ? psink_fail(s, NULL, "ROLLBACK TO SAVEPOINT") : st;
    const beck_sink_record_t *r = batch->records[s->row_rec[i]];
    ppos_t *p = psink_pos(s, r->topic, r->partition);
    if (p == NULL || psink_reject(s, p, r, msg) != BECK_CONNECTOR_OK)
      return BECK_CONNECTOR_FATAL;
  }
  if ((st = run(s, "RELEASE SAVEPOINT beck_put", "RELEASE")) != 0)
    return st == BECK_CONNECTOR_FATAL ? psink_fail(s, NULL, "RELEASE") : st;
  return BECK_CONNECTOR_OK;
}

static int psink_put_rows(psink_t *s, const beck_sink_batch_t *batch) {
  int st;
  if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
    int was_in_txn = s->in_txn;
    psink_disconnect(s);
    if ((st = psink_connect(s)) != BECK_CONNECTOR_OK)
      return st == BECK_CONNECTOR_FATAL ? st : BECK_CONNECTOR_REWIND;
    if (was_in_txn)
      return BECK_CONNECTOR_REWIND;
  }
  /* the rows, in COPY text format */
  s->rows.len = 0;
  s->nrows = 0;
  rowmap_row_t row = {.vals = s->vals};
  char err[512];
  for (uint32_t k = 0; k < batch->count; k++) {
    const beck_sink_record_t *r = batch->records[k];
    ppos_t *p = psink_pos(s, r->topic, r->partition);
    if (p == NULL) {
      s->host->set_error(s->ctx, "out of memory");
      return BECK_CONNECTOR_FATAL;
    }
    if (p->pending >= 0 && r->offset < p->pending)
      continue; /* already in the database */
    p->pending = r->offset + 1;
    if (p->nrej_sent > 0 && psink_was_rejected(p, r->offset))
      continue; /* dead-lettered before a rewind */
    if (rowmap_extract(&s->map, r, &row, err, sizeof err) != 0) {
      if (psink_reject(s, p, r, err) != BECK_CONNECTOR_OK)
        return BECK_CONNECTOR_FATAL;
      continue;
    }
    int ord = s->upsert && (s->staged || s->careful);
    for (int c = 0; c < s->map.n; c++)
      sb_copy_value(&s->rows, &s->vals[c], c + 1 < s->map.n || ord ? '\t' : '\n');
    if (ord) {
      char text[32];
      snprintf(text, sizeof text, "%lld\n", ++s->ord);
      sb_add(&s->rows, text);
    }
    rowmap_row_clear(&s->map, &row);
    if (s->rows.oom || psink_add_row(s, k) != 0) {
      s->host->set_error(s->ctx, "out of memory");
      return BECK_CONNECTOR_FATAL;
    }
  }
  if (s->nrows == 0)
    return BECK_CONNECTOR_OK;
  return s->careful ? psink_put_careful(s, batch) : psink_stream(s);
}

static int psink_put(void *self, const beck_sink_batch_t *batch) {
  psink_t *s = self;
  return psink_put_done(s, psink_put_rows(s, batch));
}

/* A streamed COPY (or its merge) the server refused for a row's data:
 * roll back and have the host deliver the records again, to a careful put
 * that finds the rows. */
static int psink_go_careful(psink_t *s, PGresult *r, const char *what) {
  char msg[512];
  one_line(msg, sizeof msg, PQresultErrorMessage(r));
  PQclear(r);
  s->host->log(s->ctx, BECK_CONNECTOR_LOG_WARN,
               "%s: %s; writing the batches since the last commit again, one COPY "
               "per batch, to find the rows",
               what, msg);
  PGresult *rb = PQexec(s->conn, "ROLLBACK");
  if (PQresultStatus(rb) != PGRES_COMMAND_OK)
    return psink_fail(s, rb, "ROLLBACK");
  PQclear(rb);
  s->in_txn = 0;
  for (size_t k = 0; k < s->npos; k++) {
    ppos_t *p = &s->pos[k];
    if (p->pending > p->careful_until)
      p->careful_until = p->pending;
    p->pending = p->committed;
  }
  s->careful = 1;
  s->host->set_error(s->ctx, "%s: %s (re-delivering to find the rows)", what, msg);
  return BECK_CONNECTOR_REWIND;
}

/* An upsert window copied straight into the table met a key that is
 * there already (or twice in the window): roll back and have the host
 * deliver it again, through the staging table. */
static int psink_go_staged(psink_t *s, PGresult *r) {
  char msg[512];
  one_line(msg, sizeof msg, PQresultErrorMessage(r));
  PQclear(r);
  PGresult *rb = PQexec(s->conn, "ROLLBACK");
  if (PQresultStatus(rb) != PGRES_COMMAND_OK)
    return psink_fail(s, rb, "ROLLBACK");
  PQclear(rb);
  s->in_txn = 0;
  for (size_t k = 0; k < s->npos; k++)
    s->pos[k].pending = s->pos[k].committed;
  s->staged = 1;
  s->staged_left = s->staged_gap;
  s->staged_gap = s->staged_gap < 64 ? s->staged_gap * 2 : 64;
  s->host->log(s->ctx, BECK_CONNECTOR_LOG_DEBUG, "keys already present (%s): merging the next %d windows", msg,
               s->staged_left);
  s->host->set_error(s->ctx, "upsert: %s (re-delivering to merge)", msg);
  return BECK_CONNECTOR_REWIND;
}

static int psink_flush(void *self) {
  psink_t *s = self;
  if (!s->in_txn)
    return BECK_CONNECTOR_OK;
  if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK)
    return psink_fail(s, NULL, "flush");
  if (s->copying) {
    PGresult *r = psink_end_copy(s, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      if (s->upsert && !s->staged && st != NULL && strcmp(st, "23505") == 0)
        return psink_go_staged(s, r);
      return data_error(r) ? psink_go_careful(s, r, "COPY") : psink_fail(s, r, "COPY");
    }
    PQclear(r);
    if (s->upsert && s->staged) {
      r = PQexec(s->conn, s->merge_sql);
      if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return data_error(r) ? psink_go_careful(s, r, "merge") : psink_fail(s, r, "merge");
      PQclear(r);
    }
  }
  sbuf_t b = {0};
  int n = 0;
  const char *name = s->host->connector_name(s->ctx);
  for (size_t k = 0; k < s->npos; k++) {
    ppos_t *p = &s->pos[k];
    if (p->pending < 0 || p->pending == p->committed)
      continue;
    char *lit_c = PQescapeLiteral(s->conn, name, strlen(name));
    char *lit_t = PQescapeLiteral(s->conn, p->topic, strlen(p->topic));
    char tail[64];
    snprintf(tail, sizeof tail, ", %d, %lld)", p->partition, p->pending);
    sb_add(&b, n++ ? ", (" : "");
    if (n == 1) {
      sb_add(&b, "INSERT INTO ");
      sb_ident(&b, s->offsets_table);
      sb_add(&b, " (connector, topic, \"partition\", next_offset) VALUES (");
    }
    sb_add(&b, lit_c ? lit_c : "''");
    sb_add(&b, ", ");
    sb_add(&b, lit_t ? lit_t : "''");
    sb_add(&b, tail);
    PQfreemem(lit_c);
    PQfreemem(lit_t);
  }
  if (n > 0)
    sb_add(&b, " ON CONFLICT (connector, topic, \"partition\") DO UPDATE SET next_offset = EXCLUDED.next_offset; ");
  sb_add(&b, "COMMIT");
  if (b.oom) {
    free(b.s);
    s->host->set_error(s->ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  PGresult *r = PQexec(s->conn, b.s);
  free(b.s);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    /* lost connection: the COMMIT may or may not have happened; the
     * offsets read on reconnect decide what is written again */
    int st = psink_fail(s, r, "COMMIT");
    return st == BECK_CONNECTOR_FATAL ? BECK_CONNECTOR_REWIND : st;
  }
  PQclear(r);
  s->in_txn = 0;
  s->careful = 0;
  if (s->upsert && s->staged && --s->staged_left <= 0)
    s->staged = 0; /* try copying straight into the table again */
  else if (s->upsert && !s->staged)
    s->staged_gap = 1;
  for (size_t k = 0; k < s->npos; k++) {
    ppos_t *p = &s->pos[k];
    p->committed = p->pending;
    if (p->committed < p->careful_until)
      s->careful = 1;
    /* rejections below the commit can no longer come back */
    size_t keep = 0;
    for (size_t i = 0; i < p->nrej; i++)
      if (p->rej[i] >= p->committed)
        p->rej[keep++] = p->rej[i];
    p->nrej = p->nrej_sent = keep;
  }
  return BECK_CONNECTOR_OK;
}

static int psink_stop(void *self) {
  psink_t *s = self;
  if (s->conn != NULL)
    psink_abort_copy(s);
  if (s->in_txn && s->conn != NULL) {
    PGresult *r = PQexec(s->conn, "ROLLBACK");
    PQclear(r);
  }
  for (size_t k = 0; k < s->npos; k++)
    s->pos[k].pending = s->pos[k].committed;
  psink_disconnect(s);
  return BECK_CONNECTOR_OK;
}

static void psink_destroy(void *self) {
  psink_t *s = self;
  if (s == NULL)
    return;
  psink_disconnect(s);
  rowmap_free(&s->map);
  free(s->vals);
  free(s->pk);
  free(s->copy_sql);
  free(s->stage_copy_sql);
  free(s->merge_sql);
  free(s->rows.s);
  free(s->row_end);
  free(s->row_rec);
  for (size_t k = 0; k < s->npos; k++) {
    free(s->pos[k].topic);
    free(s->pos[k].rej);
  }
  free(s->pos);
  free(s);
}

static const beck_connector_descriptor_t postgres_sink = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "postgres-sink",
    .kind = BECK_CONNECTOR_SINK,
    .description = "Writes rows to PostgreSQL by COPY or upsert, exactly once: offsets commit with the rows.",
    .version = "1.0",
    .options = psink_options,
    .option_count = sizeof psink_options / sizeof psink_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = psink_create,
    .start = psink_start,
    .put = psink_put,
    .flush = psink_flush,
    .stop = psink_stop,
    .destroy = psink_destroy,
};

/* ---- postgres-source ------------------------------------------------------------ */

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  const char *conninfo, *table, *id_col, *ts_col, *key_col;
  int64_t poll_ms;
  long long rows;
  char spart[300];
  PGconn *conn;
  char *q_first, *q_next;
  char last_id[256], last_ts[256];
  int have_last;
  int waiting;
} psrc_t;

static const beck_connector_option_t psrc_options[] = {
    {.name = "connection",
     .type = BECK_CONNECTOR_OPT_PASSWORD,
     .required = 1,
     .description = "libpq connection string or URI."},
    {.name = "table", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "Table (or schema.table)."},
    {.name = "incrementing.column",
     .type = BECK_CONNECTOR_OPT_STRING,
     .required = 1,
     .description = "Strictly increasing column (e.g. a bigserial id)."},
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

static int psrc_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  psrc_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  *self = s;
  s->host = host;
  s->ctx = ctx;
  s->conninfo = host->config_string(ctx, "connection");
  s->table = host->config_string(ctx, "table");
  s->id_col = host->config_string(ctx, "incrementing.column");
  s->ts_col = host->config_string(ctx, "timestamp.column");
  s->key_col = host->config_string(ctx, "key.column");
  s->poll_ms = host->config_int(ctx, "poll.interval");
  s->rows = host->config_int(ctx, "batch.rows");
  snprintf(s->spart, sizeof s->spart, "postgres:%s", s->table);
  /* SELECT row_to_json(t)::text, id::text[, ts::text][, key::text] FROM tbl t [WHERE ...] ORDER BY ... LIMIT n */
  for (int which = 0; which < 2; which++) {
    sbuf_t b = {0};
    sb_add(&b, "SELECT row_to_json(t)::text, t.");
    sb_ident(&b, s->id_col);
    sb_add(&b, "::text");
    if (s->ts_col) {
      sb_add(&b, ", t.");
      sb_ident(&b, s->ts_col);
      sb_add(&b, "::text");
    }
    if (s->key_col) {
      sb_add(&b, ", t.");
      sb_ident(&b, s->key_col);
      sb_add(&b, "::text");
    }
    sb_add(&b, " FROM ");
    sb_ident(&b, s->table);
    sb_add(&b, " t");
    if (which == 1) {
      if (s->ts_col) {
        sb_add(&b, " WHERE (t.");
        sb_ident(&b, s->ts_col);
        sb_add(&b, ", t.");
        sb_ident(&b, s->id_col);
        sb_add(&b, ") > ($2, $3)");
      } else {
        sb_add(&b, " WHERE t.");
        sb_ident(&b, s->id_col);
        sb_add(&b, " > $2");
      }
    }
    sb_add(&b, " ORDER BY ");
    if (s->ts_col) {
      sb_add(&b, "t.");
      sb_ident(&b, s->ts_col);
      sb_add(&b, ", ");
    }
    sb_add(&b, "t.");
    sb_ident(&b, s->id_col);
    sb_add(&b, " LIMIT $1");
    if (b.oom) {
      free(b.s);
      host->set_error(ctx, "out of memory");
      return BECK_CONNECTOR_FATAL;
    }
    if (which == 0)
      s->q_first = b.s;
    else
      s->q_next = b.s;
  }
  return BECK_CONNECTOR_OK;
}

static int psrc_start(void *self) {
  psrc_t *s = self;
  const char *off = s->host->offset_get(s->ctx, s->spart);
  s->have_last = off != NULL;
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
  return BECK_CONNECTOR_OK;
}

static int psrc_poll(void *self, beck_source_batch_t *batch) {
  psrc_t *s = self;
  if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
    PQfinish(s->conn);
    s->conn = PQconnectdb(s->conninfo);
    if (PQstatus(s->conn) != CONNECTION_OK) {
      char msg[512];
      one_line(msg, sizeof msg, PQerrorMessage(s->conn));
      PQfinish(s->conn);
      s->conn = NULL;
      s->host->set_error(s->ctx, "cannot connect to PostgreSQL: %s", msg);
      return BECK_CONNECTOR_RETRY;
    }
  }
  char limit[32];
  snprintf(limit, sizeof limit, "%lld", s->rows);
  const char *params[3] = {limit, s->ts_col ? s->last_ts : s->last_id, s->last_id};
  PGresult *r = s->have_last ? PQexecParams(s->conn, s->q_next, s->ts_col ? 3 : 2, NULL, params, NULL, NULL, 0)
                             : PQexecParams(s->conn, s->q_first, 1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    char msg[512];
    one_line(msg, sizeof msg, PQresultErrorMessage(r));
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    int missing = st && strcmp(st, "42P01") == 0;
    int lost = conn_lost(s->conn, r);
    PQclear(r);
    if (missing) { /* the table does not exist yet: wait for it */
      if (!s->waiting)
        s->host->log(s->ctx, BECK_CONNECTOR_LOG_WARN, "waiting: %s", msg);
      s->waiting = 1;
      s->host->sleep_ms(s->ctx, s->poll_ms);
      return BECK_CONNECTOR_OK;
    }
    s->host->set_error(s->ctx, "query: %s", msg);
    if (lost) {
      PQfinish(s->conn);
      s->conn = NULL;
      return BECK_CONNECTOR_RETRY;
    }
    return BECK_CONNECTOR_FATAL;
  }
  s->waiting = 0;
  int n = PQntuples(r), st = BECK_CONNECTOR_OK;
  int ts_col = s->ts_col ? 2 : -1, key_col = s->key_col ? (s->ts_col ? 3 : 2) : -1;
  for (int k = 0; k < n; k++) {
    if (PQgetisnull(r, k, 1) || (ts_col >= 0 && PQgetisnull(r, k, ts_col))) {
      s->host->set_error(s->ctx, "row with NULL %s", PQgetisnull(r, k, 1) ? s->id_col : s->ts_col);
      st = BECK_CONNECTOR_FATAL;
      break;
    }
    char off[600];
    if (ts_col >= 0)
      snprintf(off, sizeof off, "%s|%s", PQgetvalue(r, k, ts_col), PQgetvalue(r, k, 1));
    else
      snprintf(off, sizeof off, "%s", PQgetvalue(r, k, 1));
    beck_source_record_t rec = BECK_SOURCE_RECORD_INIT;
    rec.value = PQgetvalue(r, k, 0);
    rec.value_len = PQgetlength(r, k, 0);
    if (key_col >= 0 && !PQgetisnull(r, k, key_col)) {
      rec.key = PQgetvalue(r, k, key_col);
      rec.key_len = PQgetlength(r, k, key_col);
    }
    rec.source_partition = s->spart;
    rec.source_offset = off;
    int e = beck_emit(s->host, batch, &rec);
    if (e < 0) {
      st = e;
      break;
    }
    snprintf(s->last_id, sizeof s->last_id, "%s", PQgetvalue(r, k, 1));
    if (ts_col >= 0)
      snprintf(s->last_ts, sizeof s->last_ts, "%s", PQgetvalue(r, k, ts_col));
    s->have_last = 1;
    if (e == 1)
      break;
  }
  PQclear(r);
  if (st == BECK_CONNECTOR_OK && n == 0)
    s->host->sleep_ms(s->ctx, s->poll_ms);
  return st;
}

static int psrc_stop(void *self) {
  psrc_t *s = self;
  PQfinish(s->conn);
  s->conn = NULL;
  return BECK_CONNECTOR_OK;
}

static void psrc_destroy(void *self) {
  psrc_t *s = self;
  if (s == NULL)
    return;
  PQfinish(s->conn);
  free(s->q_first);
  free(s->q_next);
  free(s);
}

static const beck_connector_descriptor_t postgres_source = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "postgres-source",
    .kind = BECK_CONNECTOR_SOURCE,
    .description = "Reads new rows of a PostgreSQL table by an incrementing (and timestamp) column, as JSON.",
    .version = "1.0",
    .options = psrc_options,
    .option_count = sizeof psrc_options / sizeof psrc_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = psrc_create,
    .start = psrc_start,
    .poll = psrc_poll,
    .stop = psrc_stop,
    .destroy = psrc_destroy,
};

BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi, uint32_t index) {
  (void)host_abi;
  static const beck_connector_descriptor_t *const all[] = {&postgres_sink, &postgres_source};
  return index < sizeof all / sizeof all[0] ? all[index] : NULL;
}
