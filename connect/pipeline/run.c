/*
 * run.c - `beck run`: one pipeline over one log.
 *
 * Life of a run:
 *
 *   new     open the log (embedded over the data directory; remote; or an
 *           in-process broker over the data directory plus a remote client
 *           to it, for --listen), create every topic the pipeline names,
 *           compile the streams (compile.c) and prepare the runtime (state
 *           restored from changelogs), add the sources and sinks to a
 *           Connect worker (configs checked by the plugins' create)
 *   start   streams, then sinks, then sources
 *   poll    counters, states and rates for the status display; whether the
 *           run should end (a failure, stop_after, stop_when_idle)
 *   end_input  (a finite input that has ended) sources stop, the streams
 *           drain, event time moves past every open window (max time seen +
 *           the pipeline's horizon, not to infinity, so later input in a
 *           later run still counts); the caller then waits for drained():
 *           the sinks' committed offsets at the end of their topics
 *   stop    sources (offsets stored), streams (tasks commit), sinks (flush,
 *           commit)
 *
 * Event time across runs: the largest event time the streams have read is
 * kept in DATA/.streams/<pipeline>.event-time (rewritten in place each time
 * it rises, before the records that raised it can be committed), and a run
 * starts from it. So end_input closes the windows an earlier run left open
 * (stopped by Ctrl-C, or killed, before its input ended) also when this run
 * reads nothing new. A process crash keeps every write; a power cut may lose
 * the last ones (windows then stay open until newer input arrives).
 *
 * Resuming: sources resume from their stored offsets, streams from their
 * committed offsets and changelogs, sinks from their group offsets (or
 * their own, for exactly-once sinks), so a second run over the same data
 * directory (or cluster) continues where the first stopped. Connector
 * instances are named "<pipeline>.<source or sink>" so that pipelines
 * sharing a log do not share offsets.
 */
#include "connect/pipeline/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/hostport.h"
#include "base/alloc.h"
#include "base/logging.h"
#include "broker/broker.h"
#include "client/client.h"
#include "connect/worker.h"

struct beck_pipeline_runner {
  const beck_pipeline_t *p;
  beck_pipeline_run_config_t cfg;
  char describe[1200];
  char state_dir[4096];
  beck_broker_t *broker;
  pthread_t broker_tid;
  bool broker_running;
  beck_client_t *client;
  beck_pipeline_compiled_t *compiled;
  beck_streams_t *streams;
  bool streams_started, streams_failed;
  beck_error_t streams_err; /* why, when streams_failed */
  beck_connect_worker_t *worker;
  char **src_names, **sink_names; /* connector instance names */
  char **topics;                  /* every topic of the pipeline */
  size_t ntopics;
  /* status */
  beck_pipeline_item_t *items;
  size_t nitems;
  uint64_t *prev;
  int64_t t_start, t_prev, t_change;
  uint64_t last_sig;
  bool have_sig;
  int64_t idle_ms, after_ms;
  bool started, stopped;
  /* event time across runs */
  int time_fd; /* -1: not kept */
  pthread_mutex_t time_mu;
  int64_t time_saved;
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mkdirs(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* ---- event time across runs (see the top of the file) ------------------------- */

#define TIME_LINE 22 /* "%21lld\n": fixed width, so a rewrite in place covers the last */

/* compiled->time_moved: on task threads. */
static void time_moved(void *ud, int64_t t) {
  beck_pipeline_runner_t *r = ud;
  pthread_mutex_lock(&r->time_mu);
  if (t > r->time_saved) {
    char line[TIME_LINE + 1];
    snprintf(line, sizeof line, "%21lld\n", (long long)t);
    if (pwrite(r->time_fd, line, TIME_LINE, 0) == TIME_LINE) {
      r->time_saved = t;
    } else {
      static beck_log_limit_t lim;
      beck_log_limited(&lim, 1, 60000, "run", BECK_LOG_WARN, "%s/%s.event-time: %s", r->state_dir, r->p->name,
                       strerror(errno));
    }
  }
  pthread_mutex_unlock(&r->time_mu);
}

/* Opens the event-time file and starts the compiled pipeline's max time
 * from it. Without the file the run works as before (a warning). */
static void time_open(beck_pipeline_runner_t *r) {
  char path[4352];
  snprintf(path, sizeof path, "%s/%s.event-time", r->state_dir, r->p->name);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    beck_log("run", BECK_LOG_WARN, "%s: %s (a run that reads nothing new will not close windows left open)", path,
             strerror(errno));
    return;
  }
  char line[TIME_LINE + 1];
  ssize_t n = pread(fd, line, TIME_LINE, 0);
  r->time_saved = INT64_MIN;
  if (n == TIME_LINE && line[TIME_LINE - 1] == '\n') {
    line[TIME_LINE] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(line, &end, 10);
    if (errno == 0 && *end == '\n' && end != line)
      r->time_saved = v;
  }
  if (r->time_saved != INT64_MIN)
    beck__pl_restore_time(r->compiled, r->time_saved);
  r->time_fd = fd;
  r->compiled->time_ud = r;
  r->compiled->time_moved = time_moved;
}

/* ---- topics ----------------------------------------------------------------- */

static beck_err_t add_topic(beck_pipeline_runner_t *r, const char *t) {
  if (t == NULL)
    return BECK_ERR_OK;
  for (size_t i = 0; i < r->ntopics; i++)
    if (strcmp(r->topics[i], t) == 0)
      return BECK_ERR_OK;
  char **a = beck_realloc(r->topics, (r->ntopics + 1) * sizeof *a);
  if (a == NULL)
    return BECK_ERR_NOMEM;
  r->topics = a;
  if ((r->topics[r->ntopics] = beck_strdup(t)) == NULL)
    return BECK_ERR_NOMEM;
  r->ntopics++;
  return BECK_ERR_OK;
}

static beck_err_t collect_topics(beck_pipeline_runner_t *r) {
  const beck_pipeline_t *p = r->p;
  beck_err_t rc = BECK_ERR_OK;
  for (size_t i = 0; i < p->ntopics && rc == BECK_ERR_OK; i++)
    rc = add_topic(r, p->topics[i].name);
  for (size_t i = 0; i < p->nsources && rc == BECK_ERR_OK; i++)
    rc = add_topic(r, p->sources[i].topic);
  for (size_t i = 0; i < p->ntables && rc == BECK_ERR_OK; i++)
    rc = add_topic(r, p->tables[i].topic);
  for (size_t i = 0; i < p->nstreams && rc == BECK_ERR_OK; i++) {
    const beck_pipeline_stream_t *s = &p->streams[i];
    for (size_t k = 0; k < s->nfrom && rc == BECK_ERR_OK; k++)
      rc = add_topic(r, s->from[k]);
    for (size_t j = 0; j < s->nsteps && rc == BECK_ERR_OK; j++) {
      const beck_pipeline_step_t *st = &s->steps[j];
      switch (st->kind) {
      case BECK_STEP_BRANCH:
        for (size_t k = 0; k < st->u.branch.n && rc == BECK_ERR_OK; k++)
          rc = add_topic(r, st->u.branch.items[k].to);
        break;
      case BECK_STEP_MERGE:
        for (size_t k = 0; k < st->u.merge.n && rc == BECK_ERR_OK; k++)
          rc = add_topic(r, st->u.merge.topics[k]);
        break;
      case BECK_STEP_WINDOW:
        rc = add_topic(r, st->u.window.late_topic);
        break;
      case BECK_STEP_JOIN:
        if (!st->u.join.with_table)
          rc = add_topic(r, st->u.join.with);
        break;
      default:
        break;
      }
    }
    if (rc == BECK_ERR_OK)
      rc = add_topic(r, s->to);
  }
  for (size_t i = 0; i < p->nsinks && rc == BECK_ERR_OK; i++)
    for (size_t k = 0; k < p->sinks[i].nfrom && rc == BECK_ERR_OK; k++)
      rc = add_topic(r, p->sinks[i].from[k]);
  for (size_t i = 0; r->compiled && i < beck_pipeline_compiled_topic_count(r->compiled) && rc == BECK_ERR_OK; i++)
    rc = add_topic(r, beck_pipeline_compiled_topic(r->compiled, i));
  return rc;
}

static const beck_pipeline_topic_t *declared(const beck_pipeline_t *p, const char *name) {
  for (size_t i = 0; i < p->ntopics; i++)
    if (strcmp(p->topics[i].name, name) == 0)
      return &p->topics[i];
  return NULL;
}

static beck_err_t create_topics(beck_pipeline_runner_t *r, beck_error_t *e) {
  for (size_t i = 0; i < r->ntopics; i++) {
    const beck_pipeline_topic_t *d = declared(r->p, r->topics[i]);
    const char *keys[66], *vals[66];
    char ret[32], retb[32];
    int n = 0;
    int32_t parts = 1;
    if (d != NULL) {
      if (d->partitions > 0)
        parts = d->partitions;
      if (d->retention_ms > 0) {
        snprintf(ret, sizeof ret, "%lld", (long long)d->retention_ms);
        keys[n] = "retention.ms";
        vals[n++] = ret;
      }
      if (d->retention_bytes > 0) {
        snprintf(retb, sizeof retb, "%lld", (long long)d->retention_bytes);
        keys[n] = "retention.bytes";
        vals[n++] = retb;
      }
      for (size_t k = 0; k < d->nconfig && n < 66; k++) {
        keys[n] = d->config[k].name;
        vals[n++] = d->config[k].value;
      }
    }
    beck_err_t rc = beck_client_create_topic(r->client, r->topics[i], parts, keys, vals, n, true, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "topic %s", r->topics[i]);
  }
  return BECK_ERR_OK;
}

/* ---- the log ------------------------------------------------------------------ */

static void *broker_main(void *arg) {
  beck_pipeline_runner_t *r = arg;
  beck_error_t e;
  beck_error_clear(&e);
  if (beck_broker_run(r->broker, false, &e) != BECK_ERR_OK)
    beck_log("run", BECK_LOG_ERROR, "broker: %s", e.msg);
  return NULL;
}

/* Fails fast when none of the bootstrap servers accepts a connection
 * (librdkafka would retry until a request times out, tens of seconds
 * later, with a less useful message). */
static beck_err_t reachable(const char *bootstrap, beck_error_t *e) {
  char list[1024];
  snprintf(list, sizeof list, "%s", bootstrap);
  char why[256] = "no address";
  char *save = NULL;
  for (char *hp = strtok_r(list, ",", &save); hp != NULL; hp = strtok_r(NULL, ",", &save)) {
    char host[256], port[16];
    int portn;
    if (beck_split_hostport(hp, host, sizeof host, &portn) != 0)
      return beck_error_set(e, BECK_ERR_INVAL, "--bootstrap %s: expected HOST:PORT[,HOST:PORT...]", bootstrap);
    snprintf(port, sizeof port, "%d", portn);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
      snprintf(why, sizeof why, "%.100s: %.100s", host, gai_strerror(gai));
      continue;
    }
    for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
      int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0)
        continue;
      int rc = connect(fd, a->ai_addr, a->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t len = sizeof err;
        rc = poll(&pf, 1, 5000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 ? 0 : -1;
        errno = err ? err : ETIMEDOUT;
      }
      int saved = errno;
      close(fd);
      if (rc == 0) {
        freeaddrinfo(ai);
        return BECK_ERR_OK;
      }
      snprintf(why, sizeof why, "%.100s: %.100s", hp, strerror(saved));
    }
    freeaddrinfo(ai);
  }
  return beck_error_set(e, BECK_ERR_IO, "cannot reach the cluster at %s (%s); is the broker running?", bootstrap, why);
}

static beck_err_t open_log(beck_pipeline_runner_t *r, beck_error_t *e) {
  const beck_pipeline_run_config_t *cfg = &r->cfg;
  if (cfg->bootstrap != NULL) {
    beck_err_t rc0 = reachable(cfg->bootstrap, e);
    if (rc0 != BECK_ERR_OK)
      return rc0;
    beck_err_t rc = beck_client_open_remote(cfg->bootstrap, NULL, NULL, 0, &r->client, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "cluster %s", cfg->bootstrap);
    snprintf(r->describe, sizeof r->describe, "the cluster at %.300s (local state in %.800s)", cfg->bootstrap,
             r->state_dir);
    return BECK_ERR_OK;
  }
  if (cfg->listen != NULL) {
    char host[256];
    int port;
    if (beck_split_hostport(cfg->listen, host, sizeof host, &port) != 0)
      return beck_error_set(e, BECK_ERR_INVAL, "--listen %s: expected HOST:PORT", cfg->listen);
    beck_broker_config_t bc;
    beck_broker_config_default(&bc);
    bc.data_dir = cfg->data_dir;
    bc.listen_host = host;
    bc.listen_port = port;
    beck_err_t rc = beck_broker_new(&bc, &r->broker, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "broker on %s", cfg->listen);
    if (pthread_create(&r->broker_tid, NULL, broker_main, r) != 0)
      return beck_error_set(e, BECK_ERR_NOMEM, "broker: cannot start its thread");
    r->broker_running = true;
    char boot[300];
    const char *h = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ? "127.0.0.1" : host;
    snprintf(boot, sizeof boot, strchr(h, ':') ? "[%s]:%d" : "%s:%d", h, beck_broker_port(r->broker));
    rc = beck_client_open_remote(boot, NULL, NULL, 0, &r->client, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "broker at %s", boot);
    snprintf(r->describe, sizeof r->describe, "a broker on %.200s:%d over %.800s (Kafka clients welcome)", host,
             beck_broker_port(r->broker), cfg->data_dir);
    return BECK_ERR_OK;
  }
  beck_err_t rc = beck_client_open_embedded(cfg->data_dir, &r->client, e);
  if (rc != BECK_ERR_OK) {
    if (strstr(e->msg, "in use") != NULL)
      beck_error_wrap(e, "embedded log (a broker already serves %s? then run with --bootstrap HOST:PORT)",
                      cfg->data_dir);
    return rc;
  }
  snprintf(r->describe, sizeof r->describe, "an embedded log in %.1000s", cfg->data_dir);
  return BECK_ERR_OK;
}

/* ---- connectors --------------------------------------------------------------- */

static beck_err_t add_connector(beck_pipeline_runner_t *r, const char *section, const char *name, const char *connector,
                                beck_connector_kind_t kind, const char *topics, const beck_pipeline_option_t *config,
                                size_t nconfig, beck_pipeline_pos_t pos, char **inst, beck_error_t *e) {
  beck_pipeline_connectors_t cs;
  beck_pipeline_connectors_from_plugins(r->cfg.plugins, &cs);
  beck_pipeline_connector_t c;
  char full[256];
  if (!beck_pipeline_connector_lookup(&cs, connector, kind, &c, full, sizeof full))
    return beck_error_set(e, BECK_ERR_NOTFOUND, "%s:%u:%u: %s '%s': no connector '%s' (see beck connector list)",
                          r->p->file, pos.line, pos.col, section, name, connector);
  size_t n = strlen(r->p->name) + strlen(name) + 2;
  if ((*inst = beck_malloc(n)) == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  snprintf(*inst, n, "%s.%s", r->p->name, name);
  const char **keys = beck_calloc(nconfig + 3, sizeof *keys);
  const char **vals = beck_calloc(nconfig + 3, sizeof *vals);
  if (keys == NULL || vals == NULL) {
    beck_free(keys);
    beck_free(vals);
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  }
  int k = 0;
  keys[k] = "name";
  vals[k++] = *inst;
  keys[k] = "connector";
  vals[k++] = full;
  keys[k] = kind == BECK_CONNECTOR_SOURCE ? "topic" : "topics";
  vals[k++] = topics;
  for (size_t i = 0; i < nconfig; i++) {
    keys[k] = config[i].name;
    vals[k++] = config[i].value;
  }
  beck_err_t rc = beck_connect_worker_add(r->worker, keys, vals, k, e);
  beck_free(keys);
  beck_free(vals);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "%s:%u:%u: %s '%s'", r->p->file, pos.line, pos.col, section, name);
  return BECK_ERR_OK;
}

static beck_err_t add_connectors(beck_pipeline_runner_t *r, beck_error_t *e) {
  const beck_pipeline_t *p = r->p;
  beck_connect_worker_config_t wc = {.client = r->client, .plugins = r->cfg.plugins};
  beck_err_t rc = beck_connect_worker_new(&wc, &r->worker, e);
  if (rc != BECK_ERR_OK)
    return rc;
  r->src_names = beck_calloc(p->nsources + 1, sizeof *r->src_names);
  r->sink_names = beck_calloc(p->nsinks + 1, sizeof *r->sink_names);
  if (r->src_names == NULL || r->sink_names == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < p->nsources && rc == BECK_ERR_OK; i++) {
    const beck_pipeline_source_t *s = &p->sources[i];
    rc = add_connector(r, "source", s->name, s->connector, BECK_CONNECTOR_SOURCE, s->topic, s->config, s->nconfig,
                       s->pos, &r->src_names[i], e);
  }
  for (size_t i = 0; i < p->nsinks && rc == BECK_ERR_OK; i++) {
    const beck_pipeline_sink_t *s = &p->sinks[i];
    beck_buf_t t = {0};
    for (size_t k = 0; k < s->nfrom; k++)
      beck_buf_printf(&t, "%s%s", k ? "," : "", s->from[k]);
    if (t.data == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    rc = add_connector(r, "sink", s->name, s->connector, BECK_CONNECTOR_SINK, (const char *)t.data, s->config,
                       s->nconfig, s->pos, &r->sink_names[i], e);
    beck_buf_free(&t);
  }
  return rc;
}

/* ---- status items ------------------------------------------------------------ */

static void clip(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n < cap) {
    memcpy(dst, src, n + 1);
    return;
  }
  snprintf(dst, cap, "%.*s...", (int)(cap - 4), src);
  for (char *q = dst; *q; q++)
    if (*q == '\n' || *q == '\t')
      *q = ' ';
}

static void one_line(char *s) {
  for (; *s; s++)
    if (*s == '\n' || *s == '\t' || *s == '\r')
      *s = ' ';
}

static void fmt_ms(char *buf, size_t cap, int64_t ms) {
  if (ms % 86400000 == 0 && ms > 0)
    snprintf(buf, cap, "%lldd", (long long)(ms / 86400000));
  else if (ms % 3600000 == 0 && ms > 0)
    snprintf(buf, cap, "%lldh", (long long)(ms / 3600000));
  else if (ms % 60000 == 0 && ms > 0)
    snprintf(buf, cap, "%lldm", (long long)(ms / 60000));
  else if (ms % 1000 == 0)
    snprintf(buf, cap, "%llds", (long long)(ms / 1000));
  else
    snprintf(buf, cap, "%lldms", (long long)ms);
}

static void step_what(const beck_pipeline_step_t *st, char *buf, size_t cap) {
  char a[32], b[32], c[32];
  switch (st->kind) {
  case BECK_STEP_FILTER:
    clip(buf, cap, beck_expr_source(st->u.filter));
    break;
  case BECK_STEP_MAP:
    clip(buf, cap, beck_expr_source(st->u.map));
    break;
  case BECK_STEP_SELECT_KEY:
    clip(buf, cap, beck_expr_source(st->u.select_key));
    break;
  case BECK_STEP_FLAT_MAP:
    clip(buf, cap, beck_expr_source(st->u.flat_map));
    break;
  case BECK_STEP_AGGREGATE:
    clip(buf, cap, beck_expr_source(st->u.aggregate));
    break;
  case BECK_STEP_BRANCH: {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < st->u.branch.n && n < cap; k++)
      n += (size_t)snprintf(buf + n, cap - n, "%s-> %s", k ? ", " : "", st->u.branch.items[k].to);
    break;
  }
  case BECK_STEP_MERGE: {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < st->u.merge.n && n < cap; k++)
      n += (size_t)snprintf(buf + n, cap - n, "%s%s", k ? ", " : "", st->u.merge.topics[k]);
    break;
  }
  case BECK_STEP_WINDOW: {
    const beck_pipeline_window_t *w = &st->u.window;
    static const char *const kinds[] = {"", "tumbling", "hopping", "sliding", "session"};
    fmt_ms(a, sizeof a, w->kind == BECK_PIPELINE_WINDOW_SESSION ? w->gap_ms : w->size_ms);
    fmt_ms(b, sizeof b, w->advance_ms);
    fmt_ms(c, sizeof c, w->grace_ms);
    snprintf(buf, cap, "%s %s%s%s, grace %s, emit %s%s%s", kinds[w->kind], a,
             w->kind == BECK_PIPELINE_WINDOW_HOPPING ? " every " : "", w->kind == BECK_PIPELINE_WINDOW_HOPPING ? b : "",
             c, w->emit == BECK_PIPELINE_EMIT_FINAL ? "final" : "update", w->late_topic ? ", late -> " : "",
             w->late_topic ? w->late_topic : "");
    break;
  }
  case BECK_STEP_JOIN: {
    static const char *const kinds[] = {"inner", "left", "outer"};
    snprintf(buf, cap, "%s join with %s %s", kinds[st->u.join.kind], st->u.join.with_table ? "table" : "topic",
             st->u.join.with);
    break;
  }
  case BECK_STEP_TABLE:
    snprintf(buf, cap, "as table %s", st->u.table);
    break;
  case BECK_STEP_DEDUPE:
    fmt_ms(a, sizeof a, st->u.dedupe.within_ms);
    snprintf(buf, cap, "by %s within %s", st->u.dedupe.by ? beck_expr_source(st->u.dedupe.by) : "key", a);
    break;
  }
  one_line(buf);
}

static beck_err_t build_items(beck_pipeline_runner_t *r) {
  const beck_pipeline_t *p = r->p;
  size_t n = p->nsources + p->nsinks + p->nstreams;
  for (size_t i = 0; i < p->nstreams; i++)
    n += p->streams[i].nsteps;
  r->items = beck_calloc(n ? n : 1, sizeof *r->items);
  r->prev = beck_calloc(n ? n : 1, sizeof *r->prev);
  if (r->items == NULL || r->prev == NULL)
    return BECK_ERR_NOMEM;
  size_t k = 0;
  for (size_t i = 0; i < p->nsources; i++) {
    beck_pipeline_item_t *it = &r->items[k++];
    it->kind = BECK_PIPELINE_ITEM_SOURCE;
    clip(it->name, sizeof it->name, p->sources[i].name);
    snprintf(it->what, sizeof it->what, "%s -> %s", p->sources[i].connector, p->sources[i].topic);
    it->lag = -1;
  }
  for (size_t i = 0; i < p->nstreams; i++) {
    const beck_pipeline_stream_t *s = &p->streams[i];
    beck_pipeline_item_t *it = &r->items[k++];
    it->kind = BECK_PIPELINE_ITEM_STREAM;
    clip(it->name, sizeof it->name, s->name);
    size_t m = 0;
    for (size_t f = 0; f < s->nfrom && m < sizeof it->what; f++)
      m += (size_t)snprintf(it->what + m, sizeof it->what - m, "%s%s", f ? ", " : "", s->from[f]);
    if (s->to != NULL && m < sizeof it->what)
      snprintf(it->what + m, sizeof it->what - m, " -> %s", s->to);
    it->lag = -1;
    for (size_t j = 0; j < s->nsteps; j++) {
      beck_pipeline_item_t *st = &r->items[k++];
      st->kind = BECK_PIPELINE_ITEM_STEP;
      snprintf(st->name, sizeof st->name, "%s", beck_pipeline_step_name(s->steps[j].kind));
      step_what(&s->steps[j], st->what, sizeof st->what);
      st->lag = -1;
    }
  }
  for (size_t i = 0; i < p->nsinks; i++) {
    beck_pipeline_item_t *it = &r->items[k++];
    it->kind = BECK_PIPELINE_ITEM_SINK;
    clip(it->name, sizeof it->name, p->sinks[i].name);
    size_t m = (size_t)snprintf(it->what, sizeof it->what, "%s <- ", p->sinks[i].connector);
    for (size_t f = 0; f < p->sinks[i].nfrom && m < sizeof it->what; f++)
      m += (size_t)snprintf(it->what + m, sizeof it->what - m, "%s%s", f ? ", " : "", p->sinks[i].from[f]);
    it->lag = -1;
  }
  r->nitems = k;
  return BECK_ERR_OK;
}

/* ---- new, start ------------------------------------------------------------------ */

beck_err_t beck_pipeline_runner_new(const beck_pipeline_t *p, const beck_pipeline_run_config_t *cfg,
                                    beck_pipeline_runner_t **out, beck_error_t *e) {
  *out = NULL;
  if (cfg->data_dir == NULL || cfg->plugins == NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "run: a data directory and plugins are required");
  if (cfg->exactly_once && (cfg->bootstrap != NULL || cfg->listen != NULL))
    return beck_error_set(e, BECK_ERR_UNSUPPORTED,
                          "exactly-once needs the embedded log; with --bootstrap or --listen streams run "
                          "at-least-once");
  beck_pipeline_runner_t *r = beck_calloc(1, sizeof *r);
  if (r == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  r->p = p;
  r->cfg = *cfg;
  r->time_fd = -1;
  pthread_mutex_init(&r->time_mu, NULL);
  r->idle_ms = cfg->stop_when_idle_ms > 0   ? cfg->stop_when_idle_ms
               : cfg->stop_when_idle_ms < 0 ? 0
                                            : p->run.stop_when_idle_ms;
  r->after_ms = cfg->stop_after_ms > 0 ? cfg->stop_after_ms : cfg->stop_after_ms < 0 ? 0 : p->run.stop_after_ms;
  snprintf(r->state_dir, sizeof r->state_dir, "%s/.streams", cfg->data_dir);
  beck_err_t rc = BECK_ERR_OK;
  if (mkdirs(cfg->data_dir) != 0 || mkdirs(r->state_dir) != 0)
    rc = beck_error_set(e, beck_err_from_errno(errno), "data directory %s: %s", cfg->data_dir, strerror(errno));
  if (rc == BECK_ERR_OK && p->nstreams > 0)
    rc = beck_pipeline_compile(p, &r->compiled, e);
  if (rc == BECK_ERR_OK && r->compiled != NULL)
    time_open(r);
  if (rc == BECK_ERR_OK)
    rc = collect_topics(r) == BECK_ERR_OK ? BECK_ERR_OK : beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  if (rc == BECK_ERR_OK)
    rc = build_items(r) == BECK_ERR_OK ? BECK_ERR_OK : beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  if (rc == BECK_ERR_OK)
    rc = open_log(r, e);
  if (rc == BECK_ERR_OK)
    rc = create_topics(r, e);
  if (rc == BECK_ERR_OK && r->compiled != NULL) {
    beck_streams_config_t sc = {.state_dir = r->state_dir,
                                .threads = cfg->threads,
                                .commit_interval_ms = cfg->commit_interval_ms > 0 ? cfg->commit_interval_ms : 250,
                                .guarantee = cfg->exactly_once ? BECK_EXACTLY_ONCE : BECK_AT_LEAST_ONCE};
    rc = beck_streams_new(beck_pipeline_compiled_topology(r->compiled), r->client, &sc, &r->streams, e);
    if (rc != BECK_ERR_OK)
      beck_error_wrap(e, "streams of pipeline %s", p->name);
  }
  if (rc == BECK_ERR_OK)
    rc = add_connectors(r, e);
  if (rc != BECK_ERR_OK) {
    beck_pipeline_runner_free(r);
    return rc;
  }
  *out = r;
  return BECK_ERR_OK;
}

beck_err_t beck_pipeline_runner_start(beck_pipeline_runner_t *r, beck_error_t *e) {
  const beck_pipeline_t *p = r->p;
  r->t_start = r->t_prev = r->t_change = mono_ms();
  r->started = true;
  if (r->streams != NULL) {
    beck_err_t rc = beck_streams_start(r->streams, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "streams of pipeline %s", p->name);
    r->streams_started = true;
  }
  for (size_t i = 0; i < p->nsinks; i++) {
    beck_err_t rc = beck_connect_worker_start(r->worker, r->sink_names[i], e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "sink '%s'", p->sinks[i].name);
  }
  for (size_t i = 0; i < p->nsources; i++) {
    beck_err_t rc = beck_connect_worker_start(r->worker, r->src_names[i], e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "source '%s'", p->sources[i].name);
  }
  return BECK_ERR_OK;
}

const char *beck_pipeline_runner_describe(const beck_pipeline_runner_t *r) { return r->describe; }

/* ---- poll ------------------------------------------------------------------------ */

/* Sum of the high watermarks of every topic: moves whenever anything is
 * written anywhere in the pipeline. */
static uint64_t topic_signature(beck_pipeline_runner_t *r) {
  uint64_t sig = 0;
  for (size_t i = 0; i < r->ntopics; i++) {
    int32_t np = 0;
    beck_error_t e;
    if (beck_client_partitions(r->client, r->topics[i], &np, &e) != BECK_ERR_OK)
      continue;
    for (int32_t k = 0; k < np; k++) {
      int64_t lo, hi;
      if (beck_client_watermarks(r->client, r->topics[i], k, &lo, &hi, &e) == BECK_ERR_OK && hi > 0)
        sig += (uint64_t)hi * 1000003u + (uint64_t)i;
    }
  }
  return sig;
}

beck_pipeline_run_state_t beck_pipeline_runner_poll(beck_pipeline_runner_t *r, beck_pipeline_status_t *st) {
  const beck_pipeline_t *p = r->p;
  int64_t now = mono_ms();
  double dt = (double)(now - r->t_prev) / 1000.0;
  r->t_prev = now;
  memset(st, 0, sizeof *st);
  beck_pipeline_run_state_t state = BECK_PIPELINE_RUNNING;
  uint64_t sig = 0;
  bool sources_up = true;
  size_t k = 0;
  for (size_t i = 0; i < p->nsources; i++, k++) {
    beck_pipeline_item_t *it = &r->items[k];
    beck_connect_status_t cs;
    beck_error_t e;
    if (beck_connect_worker_status(r->worker, r->src_names[i], &cs, &e) == BECK_ERR_OK) {
      it->records = cs.records;
      snprintf(it->state, sizeof it->state, "%s", beck_connect_state_name(cs.state));
      clip(it->error, sizeof it->error, cs.error);
      if (cs.state == BECK_CONNECT_FAILED && state == BECK_PIPELINE_RUNNING) {
        state = BECK_PIPELINE_FAILED;
        snprintf(st->error, sizeof st->error, "source '%.100s' failed: %.380s", p->sources[i].name, cs.error);
      }
      sources_up &= cs.state == BECK_CONNECT_RUNNING;
    }
  }
  beck_error_t serr = r->streams_err;
  bool sfailed = r->streams_failed || (r->streams != NULL && beck_streams_failed(r->streams, &serr));
  for (size_t i = 0; i < p->nstreams; i++) {
    beck_pipeline_item_t *it = &r->items[k++];
    it->records = beck_pipeline_compiled_stream_in(r->compiled, i);
    it->records_out = beck_pipeline_compiled_stream_out(r->compiled, i);
    snprintf(it->state, sizeof it->state, "%s", sfailed ? "FAILED" : r->streams_started ? "RUNNING" : "STOPPED");
    for (size_t j = 0; j < p->streams[i].nsteps; j++) {
      beck_pipeline_item_t *s2 = &r->items[k++];
      s2->records = beck_pipeline_compiled_step_count(r->compiled, i, j);
    }
  }
  if (sfailed) {
    clip(r->items[p->nsources].error, sizeof r->items[p->nsources].error, serr.msg);
    if (state == BECK_PIPELINE_RUNNING) {
      state = BECK_PIPELINE_FAILED;
      snprintf(st->error, sizeof st->error, "streams: %.490s", serr.msg);
    }
  }
  for (size_t i = 0; i < p->nsinks; i++, k++) {
    beck_pipeline_item_t *it = &r->items[k];
    beck_connect_status_t cs;
    beck_error_t e;
    if (beck_connect_worker_status(r->worker, r->sink_names[i], &cs, &e) == BECK_ERR_OK) {
      it->records = cs.records;
      it->lag = cs.lag;
      snprintf(it->state, sizeof it->state, "%s", beck_connect_state_name(cs.state));
      clip(it->error, sizeof it->error, cs.error);
      if (cs.state == BECK_CONNECT_FAILED && state == BECK_PIPELINE_RUNNING) {
        state = BECK_PIPELINE_FAILED;
        snprintf(st->error, sizeof st->error, "sink '%.100s' failed: %.380s", p->sinks[i].name, cs.error);
      }
    }
  }
  for (size_t i = 0; i < r->nitems; i++) {
    beck_pipeline_item_t *it = &r->items[i];
    it->rate = dt > 0 && it->records >= r->prev[i] ? (double)(it->records - r->prev[i]) / dt : 0;
    r->prev[i] = it->records;
    sig = sig * 31 + it->records + it->records_out;
  }
  if (r->idle_ms > 0)
    sig = sig * 31 + topic_signature(r);
  if (!r->have_sig || sig != r->last_sig || !sources_up) {
    r->last_sig = sig;
    r->have_sig = true;
    r->t_change = now;
  }
  st->items = r->items;
  st->n = r->nitems;
  st->elapsed_ms = now - r->t_start;
  st->idle_ms = now - r->t_change;
  if (state == BECK_PIPELINE_RUNNING && r->after_ms > 0 && st->elapsed_ms >= r->after_ms)
    state = BECK_PIPELINE_TIME_UP;
  if (state == BECK_PIPELINE_RUNNING && r->idle_ms > 0 && st->idle_ms >= r->idle_ms)
    state = BECK_PIPELINE_INPUT_ENDED;
  return state;
}

/* ---- stop ---------------------------------------------------------------------------- */

bool beck_pipeline_runner_drained(beck_pipeline_runner_t *r) {
  const beck_pipeline_t *p = r->p;
  for (size_t i = 0; i < p->nsinks; i++) {
    beck_connect_status_t cs;
    beck_error_t e;
    if (beck_connect_worker_status(r->worker, r->sink_names[i], &cs, &e) != BECK_ERR_OK ||
        cs.state != BECK_CONNECT_RUNNING)
      continue; /* stopped, or failed: it will not take more */
    char group[400];
    snprintf(group, sizeof group, "connect-%s", r->sink_names[i]);
    for (size_t k = 0; k < p->sinks[i].nfrom; k++) {
      const char *t = p->sinks[i].from[k];
      int32_t np = 0;
      if (beck_client_partitions(r->client, t, &np, &e) != BECK_ERR_OK)
        continue;
      for (int32_t part = 0; part < np; part++) {
        int64_t lo, hi, off = -1;
        if (beck_client_watermarks(r->client, t, part, &lo, &hi, &e) != BECK_ERR_OK)
          return false;
        if (hi <= lo)
          continue;
        if (beck_client_committed(r->client, group, t, part, &off, &e) != BECK_ERR_OK || off < hi)
          return false;
      }
    }
  }
  return true;
}

static void stop_sources(beck_pipeline_runner_t *r) {
  beck_error_t e;
  for (size_t i = 0; i < r->p->nsources; i++)
    beck_connect_worker_stop(r->worker, r->src_names[i], &e);
}

/* Stops the stream threads (each task commits). */
static beck_err_t stop_streams(beck_pipeline_runner_t *r, beck_error_t *e) {
  if (r->streams == NULL || !r->streams_started)
    return BECK_ERR_OK;
  r->streams_started = false;
  beck_err_t rc = beck_streams_stop(r->streams, e);
  if (rc != BECK_ERR_OK) {
    r->streams_failed = true;
    r->streams_err = *e;
  }
  return rc;
}

beck_err_t beck_pipeline_runner_end_input(beck_pipeline_runner_t *r, beck_error_t *e) {
  if (!r->started || r->stopped)
    return BECK_ERR_OK;
  stop_sources(r);
  beck_err_t rc = stop_streams(r, e);
  if (rc != BECK_ERR_OK || r->streams == NULL || r->streams_failed)
    return rc;
  /* process what is left, then close every window the records seen so far
   * opened (twice: one stream's window results may open windows in a
   * stream that reads them) */
  rc = beck_streams_run_until_idle(r->streams, e);
  int64_t mx = beck_pipeline_compiled_max_time(r->compiled);
  int64_t h = beck_pipeline_compiled_horizon(r->compiled);
  for (int round = 0; round < 2 && rc == BECK_ERR_OK && mx != INT64_MIN; round++)
    rc = beck_streams_advance(r->streams, mx > INT64_MAX - h ? INT64_MAX : mx + h, e);
  if (rc != BECK_ERR_OK) {
    beck_error_wrap(e, "closing the windows at the end of the input");
    r->streams_failed = true;
    r->streams_err = *e;
  }
  return rc;
}

beck_err_t beck_pipeline_runner_stop(beck_pipeline_runner_t *r, beck_error_t *e) {
  if (r->stopped || !r->started) {
    r->stopped = true;
    return BECK_ERR_OK;
  }
  r->stopped = true;
  stop_sources(r);
  beck_err_t rc = stop_streams(r, e);
  beck_error_t e2;
  for (size_t i = 0; i < r->p->nsinks; i++)
    beck_connect_worker_stop(r->worker, r->sink_names[i], &e2);
  /* a sink that failed while stopping shows in the final status */
  return rc;
}

void beck_pipeline_runner_free(beck_pipeline_runner_t *r) {
  if (r == NULL)
    return;
  if (r->started && !r->stopped) {
    beck_error_t e;
    beck_pipeline_runner_stop(r, &e);
  }
  beck_connect_worker_free(r->worker);
  beck_streams_destroy(r->streams);
  beck_pipeline_compiled_free(r->compiled);
  if (r->time_fd >= 0)
    close(r->time_fd);
  pthread_mutex_destroy(&r->time_mu);
  beck_client_close(r->client);
  if (r->broker != NULL) {
    if (r->broker_running) {
      beck_broker_stop(r->broker);
      pthread_join(r->broker_tid, NULL);
    }
    beck_broker_destroy(r->broker);
  }
  for (size_t i = 0; r->src_names != NULL && i < r->p->nsources; i++)
    beck_free(r->src_names[i]);
  for (size_t i = 0; r->sink_names != NULL && i < r->p->nsinks; i++)
    beck_free(r->sink_names[i]);
  beck_free(r->src_names);
  beck_free(r->sink_names);
  for (size_t i = 0; i < r->ntopics; i++)
    beck_free(r->topics[i]);
  beck_free(r->topics);
  beck_free(r->items);
  beck_free(r->prev);
  beck_free(r);
}
