/*
 * run.c - runs one Nexmark query over the embedded log and times it.
 *
 *   1. load (not timed): a fresh data directory, topic "nexmark" with
 *      `partitions` partitions, events [0, n) generated and appended in
 *      batches of LOAD_BATCH records per partition (event i to partition
 *      i % partitions); the query's through topics (one partition each)
 *   2. run (timed, wall clock and process CPU): the topology over the
 *      embedded client on `threads` task threads until every task has
 *      committed everything its inputs hold (checked through the committed
 *      offsets of the application's group, sub-topology by sub-topology),
 *      then stop, then push the watermark to the end of time so every
 *      window and join closes and its results are written
 *   3. results (not timed): the result topic read back, handed to on_row
 *
 * With threads == 0 step 2 runs on the calling thread instead
 * (beck_streams_run_until_idle, then the watermark): the same topology and
 * log, processed in a fixed order; the tests use that.
 *
 * The per-core figure is events / (user + system CPU seconds of the whole
 * process during step 2), Flink's "throughput per core".
 */
#include "nexmark.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "client/client.h"

#define LOAD_BATCH 1024
#define POLL_NS 20000000L
#define STALL_S 60

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

void beck_nexmark_run_opts_init(beck_nexmark_run_opts_t *o) {
  memset(o, 0, sizeof *o);
  beck_nexmark_params_init(&o->params);
  o->events = 1000000;
  o->partitions = 2;
  o->threads = 2;
  o->max_batch = 8192;
}

/* ---- the data directory ------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) { return remove(path); }

static void rm_tree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* ---- loading ------------------------------------------------------------------- */

typedef struct part_load {
  uint8_t *bytes; /* LOAD_BATCH * BECK_NEXMARK_EVENT_MAX */
  size_t used;
  beck_client_record_t recs[LOAD_BATCH];
  int n;
} part_load_t;

static beck_err_t flush_part(beck_client_t *c, part_load_t *pl, beck_error_t *e) {
  if (pl->n == 0)
    return BECK_ERR_OK;
  beck_err_t rc = beck_client_produce(c, BECK_NEXMARK_INPUT_TOPIC, pl->recs, pl->n, NULL, NULL, e);
  pl->n = 0;
  pl->used = 0;
  return rc;
}

static beck_err_t load(beck_client_t *c, const beck_nexmark_run_opts_t *o, int32_t parts, beck_error_t *e) {
  part_load_t *pl = beck_calloc((size_t)parts, sizeof *pl);
  char *strings = beck_malloc(BECK_NEXMARK_EVENT_MAX);
  beck_err_t rc = pl != NULL && strings != NULL ? BECK_ERR_OK : beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  for (int32_t p = 0; p < parts && rc == BECK_ERR_OK; p++)
    if ((pl[p].bytes = beck_malloc((size_t)LOAD_BATCH * BECK_NEXMARK_EVENT_MAX)) == NULL)
      rc = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  for (uint64_t n = 0; n < o->events && rc == BECK_ERR_OK; n++) {
    part_load_t *x = &pl[n % (uint64_t)parts];
    beck_nexmark_event_t ev;
    if (beck_nexmark_generate(&o->params.gen, n, &ev, strings, BECK_NEXMARK_EVENT_MAX) != 0) {
      rc = beck_error_set(e, BECK_ERR_TOOBIG, "event %llu does not fit %d bytes", (unsigned long long)n,
                          BECK_NEXMARK_EVENT_MAX);
      break;
    }
    size_t len = beck_nexmark_encode(&ev, x->bytes + x->used, BECK_NEXMARK_EVENT_MAX);
    if (len == 0) {
      rc = beck_error_set(e, BECK_ERR_TOOBIG, "event %llu: encoding does not fit", (unsigned long long)n);
      break;
    }
    x->recs[x->n] = (beck_client_record_t){
        .partition = (int32_t)(n % (uint64_t)parts),
        .timestamp = beck_nexmark_event_time(&o->params.gen, n),
        .key = beck_nstr_null(),
        .value = beck_nstr(x->bytes + x->used, (int32_t)len),
    };
    x->used += len;
    if (++x->n == LOAD_BATCH)
      rc = flush_part(c, x, e);
  }
  for (int32_t p = 0; p < parts && pl != NULL && rc == BECK_ERR_OK; p++)
    rc = flush_part(c, &pl[p], e);
  for (int32_t p = 0; p < parts && pl != NULL; p++)
    beck_free(pl[p].bytes);
  beck_free(pl);
  beck_free(strings);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "loading the input");
  return BECK_ERR_OK;
}

/* ---- what the topology reads, and when it is done ----------------------------- */

typedef struct names {
  char **v;
  int n;
} names_t;

static void names_free(names_t *ns) {
  for (int i = 0; i < ns->n; i++)
    beck_free(ns->v[i]);
  beck_free(ns->v);
  ns->v = NULL;
  ns->n = 0;
}

static beck_err_t names_add(names_t *ns, const char *s, size_t len) {
  for (int i = 0; i < ns->n; i++)
    if (strlen(ns->v[i]) == len && memcmp(ns->v[i], s, len) == 0)
      return BECK_ERR_OK;
  char **v = beck_realloc(ns->v, (size_t)(ns->n + 1) * sizeof *v);
  if (v == NULL)
    return BECK_ERR_NOMEM;
  ns->v = v;
  if ((ns->v[ns->n] = beck_strndup(s, len)) == NULL)
    return BECK_ERR_NOMEM;
  ns->n++;
  return BECK_ERR_OK;
}

/* From the topology's description ("    <op> <name> [topic <t>] ..."): the
 * topics its sources read, in sub-topology order, and every node name. */
static beck_err_t describe_parse(beck_topology_t *t, names_t *topics, names_t *nodes, beck_error_t *e) {
  beck_buf_t d = {0};
  beck_err_t rc = beck_topology_describe(t, &d);
  if (rc == BECK_ERR_OK && beck_buf_append(&d, "", 1) != BECK_ERR_OK)
    rc = BECK_ERR_NOMEM;
  if (rc != BECK_ERR_OK) {
    beck_buf_free(&d);
    return beck_error_set(e, rc, "describing the topology: %s", beck_strerror(rc));
  }
  for (char *line = (char *)d.data; line != NULL && *line && rc == BECK_ERR_OK;) {
    char *end = strchr(line, '\n');
    if (end != NULL)
      *end = '\0';
    char op[64], name[256];
    if (strncmp(line, "    ", 4) == 0 && sscanf(line + 4, "%63s %255s", op, name) == 2) {
      rc = names_add(nodes, name, strlen(name));
      const char *tp = strstr(line, "[topic ");
      bool reads = strcmp(op, "source") == 0 || strcmp(op, "repartition_source") == 0 || strcmp(op, "table") == 0;
      if (rc == BECK_ERR_OK && reads && tp != NULL) {
        tp += 7;
        const char *te = strchr(tp, ']');
        if (te != NULL)
          rc = names_add(topics, tp, (size_t)(te - tp));
      }
    }
    line = end != NULL ? end + 1 : NULL;
  }
  beck_buf_free(&d);
  if (rc != BECK_ERR_OK)
    return beck_error_set(e, rc, "describing the topology: %s", beck_strerror(rc));
  return BECK_ERR_OK;
}

/* True when the group has committed every record of every topic it reads;
 * *progress sums the committed offsets (it moves while tasks work). */
static beck_err_t caught_up(beck_client_t *c, const char *group, const names_t *topics, bool *done, int64_t *progress,
                            beck_error_t *e) {
  *done = true;
  *progress = 0;
  for (int i = 0; i < topics->n; i++) {
    int32_t parts;
    beck_err_t rc = beck_client_partitions(c, topics->v[i], &parts, e);
    if (rc != BECK_ERR_OK)
      return rc;
    for (int32_t p = 0; p < parts; p++) {
      int64_t start, high, committed;
      if ((rc = beck_client_watermarks(c, topics->v[i], p, &start, &high, e)) != BECK_ERR_OK ||
          (rc = beck_client_committed(c, group, topics->v[i], p, &committed, e)) != BECK_ERR_OK)
        return rc;
      if (high > start && committed < high)
        *done = false;
      *progress += committed > 0 ? committed : 0;
    }
  }
  return BECK_ERR_OK;
}

/* ---- results ---------------------------------------------------------------------- */

typedef struct row_rec {
  uint8_t *key, *val;
  int32_t klen;
  size_t vlen;
} row_rec_t;

typedef struct results {
  const beck_nexmark_query_t *q;
  row_rec_t *v; /* tables: the latest row per key */
  size_t n, cap;
  int64_t records;
  beck_err_t err;
} results_t;

static int on_result(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  results_t *rs = arg;
  rs->records++;
  if (r->value.len < 0)
    return 0;
  size_t i = rs->n;
  if (rs->q->table)
    for (i = 0; i < rs->n; i++)
      if (rs->v[i].klen == r->key.len && (r->key.len <= 0 || memcmp(rs->v[i].key, r->key.ptr, (size_t)r->key.len) == 0))
        break;
  if (i == rs->n) {
    if (rs->n == rs->cap) {
      size_t nc = rs->cap ? rs->cap * 2 : 1024;
      row_rec_t *v = beck_realloc(rs->v, nc * sizeof *v);
      if (v == NULL)
        goto oom;
      rs->v = v;
      rs->cap = nc;
    }
    rs->v[i] = (row_rec_t){0};
    rs->v[i].klen = r->key.len;
    if (r->key.len > 0 && (rs->v[i].key = beck_malloc((size_t)r->key.len)) == NULL)
      goto oom;
    if (r->key.len > 0)
      memcpy(rs->v[i].key, r->key.ptr, (size_t)r->key.len);
    rs->n++;
  }
  uint8_t *val = beck_malloc(r->value.len > 0 ? (size_t)r->value.len : 1);
  if (val == NULL)
    goto oom;
  if (r->value.len > 0)
    memcpy(val, r->value.ptr, (size_t)r->value.len);
  beck_free(rs->v[i].val);
  rs->v[i].val = val;
  rs->v[i].vlen = (size_t)r->value.len;
  return 0;
oom:
  rs->err = BECK_ERR_NOMEM;
  return 1;
}

static void results_free(results_t *rs) {
  for (size_t i = 0; i < rs->n; i++) {
    beck_free(rs->v[i].key);
    beck_free(rs->v[i].val);
  }
  beck_free(rs->v);
}

static beck_err_t read_results(beck_client_t *c, const char *topic, results_t *rs, beck_error_t *e) {
  int32_t parts;
  beck_err_t rc = beck_client_partitions(c, topic, &parts, e);
  for (int32_t p = 0; p < parts && rc == BECK_ERR_OK; p++) {
    int64_t start, high, off;
    rc = beck_client_watermarks(c, topic, p, &start, &high, e);
    for (off = start; rc == BECK_ERR_OK && off < high;) {
      int64_t next = off;
      rc = beck_client_fetch(c, topic, p, off, 1 << 20, 0, on_result, rs, &next, e);
      if (rc == BECK_ERR_OK && rs->err != BECK_ERR_OK)
        rc = beck_error_set(e, rs->err, "out of memory");
      if (rc == BECK_ERR_OK && next <= off)
        rc = beck_error_set(e, BECK_ERR_STATE, "no progress reading %s-%d at %lld", topic, (int)p, (long long)off);
      off = next;
    }
  }
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "reading the results");
  return BECK_ERR_OK;
}

/* ---- the run ---------------------------------------------------------------------------- */

static beck_err_t run_query(beck_client_t *c, const beck_nexmark_query_t *q, const beck_nexmark_run_opts_t *o,
                            beck_nexmark_stats_t *st, const char *out_topic, beck_error_t *e) {
  char app[64];
  snprintf(app, sizeof app, "nexmark-%s", q->name);
  beck_topology_t *t = beck_topology_new(app);
  if (t == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  beck_streams_t *s = NULL;
  names_t topics = {0}, nodes = {0};
  beck_nexmark_params_t params = o->params; /* the topology borrows it until destroyed below */
  if (params.grace_ms < 0)
    params.grace_ms = beck_nexmark_default_grace(&params.gen, o->events);
  beck_err_t rc = q->build(t, &params, out_topic);
  if (rc != BECK_ERR_OK) {
    *e = *beck_topology_error(t);
    beck_error_wrap(e, "query %s", q->name);
    goto out;
  }
  if ((rc = describe_parse(t, &topics, &nodes, e)) != BECK_ERR_OK)
    goto out;
  beck_streams_config_t cfg = {
      .threads = o->threads > 0 ? o->threads : 1,
      .commit_interval_ms = o->commit_interval_ms,
      .max_batch = o->max_batch,
  };
  if ((rc = beck_streams_new(t, c, &cfg, &s, e)) != BECK_ERR_OK)
    goto out;

  double t0 = now_s(), c0 = cpu_s();
  if (o->threads > 0) {
    if ((rc = beck_streams_start(s, e)) != BECK_ERR_OK)
      goto out;
    /* A failed task stops the runtime by itself and offsets stop moving:
     * after STALL_S without progress, stop() reports the failure. */
    bool done = false;
    int64_t progress = -1, last = -1;
    double moved = now_s();
    while (rc == BECK_ERR_OK && !done) {
      struct timespec ts = {0, POLL_NS};
      nanosleep(&ts, NULL);
      rc = caught_up(c, app, &topics, &done, &progress, e);
      if (progress != last) {
        last = progress;
        moved = now_s();
      } else if (now_s() - moved > STALL_S) {
        break;
      }
    }
    double t_caught = now_s();
    beck_error_t se;
    beck_err_t src = beck_streams_stop(s, &se);
    if (getenv("BECK_NEXMARK_TRACE") != NULL)
      fprintf(stderr, "nexmark: caught up after %.3f s, stopped after %.3f s\n", t_caught - t0, now_s() - t0);
    if (rc == BECK_ERR_OK && src != BECK_ERR_OK) {
      *e = se;
      rc = src;
    } else if (rc == BECK_ERR_OK && !done) {
      rc = beck_error_set(e, BECK_ERR_TIMEOUT, "no progress for %d s", STALL_S);
    }
  } else {
    rc = beck_streams_run_until_idle(s, e);
  }
  if (rc == BECK_ERR_OK)
    rc = beck_streams_advance(s, INT64_MAX, e);
  double t1 = now_s(), c1 = cpu_s();
  if (getenv("BECK_NEXMARK_TRACE") != NULL)
    fprintf(stderr, "nexmark: done after %.3f s\n", t1 - t0);
  if (rc != BECK_ERR_OK)
    goto out;
  st->run_seconds = t1 - t0;
  st->cpu_seconds = c1 - c0;
  st->late = 0;
  for (int i = 0; i < nodes.n; i++) {
    int64_t late = beck_streams_metric(s, nodes.v[i], "late");
    if (late > 0)
      st->late += late;
  }
out:
  beck_streams_destroy(s);
  beck_topology_destroy(t);
  names_free(&topics);
  names_free(&nodes);
  return rc;
}

beck_err_t beck_nexmark_run(const beck_nexmark_query_t *q, const beck_nexmark_run_opts_t *o, beck_nexmark_stats_t *st,
                            beck_error_t *e) {
  memset(st, 0, sizeof *st);
  const char *why;
  if (beck_nexmark_config_check(&o->params.gen, &why) != 0)
    return beck_error_set(e, BECK_ERR_INVAL, "generator: %s", why);
  if (o->params.q5_slide_ms <= 0 || 10000 % o->params.q5_slide_ms != 0)
    return beck_error_set(e, BECK_ERR_INVAL, "the q5 slide must divide 10000 ms, got %lld",
                          (long long)o->params.q5_slide_ms);
  int32_t parts = o->partitions > 0 ? o->partitions : 2;
  char dir[4096];
  bool own_dir = o->data_dir == NULL;
  if (own_dir) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/beck-nexmark-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
      return beck_error_set(e, beck_err_from_errno(errno), "mkdtemp %s: %s", dir, strerror(errno));
  } else {
    snprintf(dir, sizeof dir, "%s", o->data_dir);
  }
  beck_client_t *c = NULL;
  results_t rs = {.q = q};
  char out_topic[64];
  snprintf(out_topic, sizeof out_topic, "nexmark-%s-out", q->name);
  beck_err_t rc = beck_client_open_embedded(dir, &c, e);
  if (rc != BECK_ERR_OK)
    goto out;
  const char *fk[] = {"fsync.policy"}, *fv[] = {o->input_fsync != NULL ? o->input_fsync : "never"};
  rc = beck_client_create_topic(c, BECK_NEXMARK_INPUT_TOPIC, parts, fk, fv, 1, false, e);
  for (int i = 0; rc == BECK_ERR_OK && q->through_topics != NULL && q->through_topics[i] != NULL; i++)
    rc = beck_client_create_topic(c, q->through_topics[i], 1, NULL, NULL, 0, false, e);
  if (rc != BECK_ERR_OK)
    goto out;
  double l0 = now_s();
  if ((rc = load(c, o, parts, e)) != BECK_ERR_OK)
    goto out;
  st->load_seconds = now_s() - l0;
  st->events = o->events;
  st->threads = o->threads;
  st->partitions = parts;
  if ((rc = run_query(c, q, o, st, out_topic, e)) != BECK_ERR_OK)
    goto out;
  st->events_per_sec = st->run_seconds > 0 ? (double)st->events / st->run_seconds : 0;
  st->per_core = st->cpu_seconds > 0 ? (double)st->events / st->cpu_seconds : 0;
  if ((rc = read_results(c, out_topic, &rs, e)) != BECK_ERR_OK)
    goto out;
  st->output_records = rs.records;
  st->results = (int64_t)rs.n;
  for (size_t i = 0; i < rs.n && rc == BECK_ERR_OK && o->on_row != NULL; i++)
    rc = o->on_row(o->ud, rs.v[i].val, rs.v[i].vlen, e);
out:
  results_free(&rs);
  beck_client_close(c);
  if (own_dir)
    rm_tree(dir);
  return rc;
}

beck_err_t beck_nexmark_write_events(const beck_nexmark_config_t *gen, uint64_t n, const char *path, beck_error_t *e) {
  const char *why;
  if (beck_nexmark_config_check(gen, &why) != 0)
    return beck_error_set(e, BECK_ERR_INVAL, "generator: %s", why);
  bool std = strcmp(path, "-") == 0;
  FILE *f = std ? stdout : fopen(path, "w");
  if (f == NULL)
    return beck_error_set(e, beck_err_from_errno(errno), "%s: %s", path, strerror(errno));
  char strings[BECK_NEXMARK_EVENT_MAX], json[4 * BECK_NEXMARK_EVENT_MAX];
  beck_err_t rc = BECK_ERR_OK;
  for (uint64_t i = 0; i < n && rc == BECK_ERR_OK; i++) {
    beck_nexmark_event_t ev;
    size_t len;
    if (beck_nexmark_generate(gen, i, &ev, strings, sizeof strings) != 0 ||
        (len = beck_nexmark_json(&ev, json, sizeof json)) >= sizeof json)
      rc = beck_error_set(e, BECK_ERR_TOOBIG, "event %llu does not fit", (unsigned long long)i);
    else if (fwrite(json, 1, len, f) != len || fputc('\n', f) == EOF)
      rc = beck_error_set(e, BECK_ERR_IO, "%s: %s", path, strerror(errno));
  }
  if ((std ? fflush(f) : fclose(f)) != 0 && rc == BECK_ERR_OK)
    rc = beck_error_set(e, BECK_ERR_IO, "%s: %s", path, strerror(errno));
  return rc;
}
