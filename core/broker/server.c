/*
 * server.c - the broker's libuv server: listener, connections, framing,
 * in-order responses, the housekeeping timer, start and clean stop.
 *
 * Framing: Size:i32 then Size bytes. A negative size, a size below the 8
 * bytes every request header has, or one above max_request_bytes closes the
 * connection with one log line. The read buffer grows only as bytes arrive
 * (never to the declared size up front), so a hostile length prefix costs no
 * memory. A partial frame older than header_timeout_ms closes the connection.
 * Reading pauses while a connection has too many requests in flight.
 */
#include "broker/broker_int.h"
#include "broker/handlers.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"

#define READ_CHUNK (64 * 1024)
#define MAX_PENDING_PER_CONN 4096
#define HOUSEKEEPING_MS 100

void beck_broker_config_default(beck_broker_config_t *c) {
  memset(c, 0, sizeof *c);
  c->listen_host = "127.0.0.1";
  c->listen_port = 9092;
  c->node_id = 0;
  c->default_partitions = 1;
  c->auto_create_topics = true;
  c->max_request_bytes = 100 * 1024 * 1024;
  c->max_connections = 20000;
  c->header_timeout_ms = 30000;
  c->group_min_session_ms = 6000;
  c->group_max_session_ms = 1800000;
  c->group_initial_rebalance_delay_ms = 3000;
  c->retention_check_ms = 300000;
}

int beck_broker_port(const beck_broker_t *b) { return b->port; }

/* ---- requests and responses ------------------------------------------- */

static void conn_unref(beck_conn_t *c);
static void conn_flush(beck_conn_t *c);
static void conn_maybe_resume(beck_conn_t *c);

void beck__req_drop(beck_req_t *req) {
  beck_free(req->frame);
  beck_buf_free(&req->resp);
  beck_arena_destroy(&req->arena);
  beck_free(req);
}

void beck__req_complete(beck_req_t *req) {
  beck_conn_t *c = req->conn;
  if (req->cancelled) {
    beck__req_drop(req);
    conn_unref(c);
    return;
  }
  req->finished = true;
  conn_flush(c);
}

void beck__req_discard(beck_req_t *req) {
  beck_conn_t *c = req->conn;
  if (req->cancelled) {
    beck__req_drop(req);
    conn_unref(c);
    return;
  }
  beck_req_t **pp = &c->head, *prev = NULL;
  while (*pp && *pp != req) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  if (*pp) {
    *pp = req->next;
    if (c->tail == req)
      c->tail = prev;
    c->npending--;
  }
  beck__req_drop(req);
  conn_flush(c); /* requests behind it may be finished already */
}

typedef struct write_req {
  uv_write_t w;
  beck_conn_t *conn;
  beck_req_t **reqs;
  int n;
  uv_buf_t bufs[];
} write_req_t;

static void on_write(uv_write_t *w, int status) {
  write_req_t *wr = (write_req_t *)w;
  beck_conn_t *c = wr->conn;
  for (int i = 0; i < wr->n; i++)
    beck__req_drop(wr->reqs[i]);
  c->nwriting -= wr->n;
  beck_free(wr->reqs);
  beck_free(wr);
  if (status < 0 && !c->closing)
    beck__conn_close(c, uv_strerror(status));
  conn_maybe_resume(c);
  conn_unref(c);
}

/* Writes every finished request at the head of the FIFO, in order. */
static void conn_flush(beck_conn_t *c) {
  if (c->closing)
    return;
  int n = 0;
  for (beck_req_t *r = c->head; r && r->finished; r = r->next)
    n++;
  if (n == 0)
    return;
  write_req_t *wr = beck_malloc(sizeof *wr + (size_t)n * sizeof(uv_buf_t));
  beck_req_t **reqs = beck_malloc((size_t)n * sizeof *reqs);
  if (wr == NULL || reqs == NULL) {
    beck_free(wr);
    beck_free(reqs);
    beck__conn_close(c, "out of memory writing responses");
    return;
  }
  wr->conn = c;
  wr->reqs = reqs;
  wr->n = n;
  for (int i = 0; i < n; i++) {
    beck_req_t *r = c->head;
    c->head = r->next;
    if (c->head == NULL)
      c->tail = NULL;
    c->npending--;
    reqs[i] = r;
    wr->bufs[i] = uv_buf_init((char *)r->resp.data, (unsigned)r->resp.len);
  }
  c->nwriting += n;
  c->refs++;
  int rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, wr->bufs, (unsigned)n, on_write);
  if (rc < 0) {
    for (int i = 0; i < n; i++)
      beck__req_drop(reqs[i]);
    c->nwriting -= n;
    beck_free(reqs);
    beck_free(wr);
    c->refs--;
    beck__conn_close(c, uv_strerror(rc));
  }
}

/* ---- connections -------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_free(beck_conn_t *c) {
  beck_broker_t *b = c->broker;
  if (c->prev)
    c->prev->next = c->next;
  else
    b->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  b->nconns--;
  beck_free(c->rbuf);
  beck_free(c->dframe);
  beck_free(c);
}

static void conn_unref(beck_conn_t *c) {
  if (--c->refs == 0)
    conn_free(c);
}

static void on_conn_closed(uv_handle_t *h) { conn_unref((beck_conn_t *)h->data); }

void beck__conn_close(beck_conn_t *c, const char *why) {
  if (c->closing)
    return;
  c->closing = true;
  if (why)
    beck_log("broker", BECK_LOG_INFO, "closing connection %llu from %s: %s", (unsigned long long)c->id, c->peer, why);
  /* cancel parked requests; finished-but-unwritten ones are dropped */
  beck_req_t *r = c->head;
  c->head = c->tail = NULL;
  c->npending = 0;
  while (r) {
    beck_req_t *next = r->next;
    r->next = NULL;
    if (!r->finished && r->cancel) {
      r->cancelled = true;
      c->refs++; /* released when the parked work finishes via beck__req_complete */
      r->cancel(r);
    } else if (!r->finished) {
      r->cancelled = true;
      c->refs++;
    } else {
      beck__req_drop(r);
    }
    r = next;
  }
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void conn_maybe_resume(beck_conn_t *c) {
  if (c->closing || c->reading || c->broker->stopping)
    return;
  if (c->npending + c->nwriting < MAX_PENDING_PER_CONN / 2) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
      c->reading = true;
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  beck_conn_t *c = h->data;
  if (c->dframe) { /* the rest of a large frame goes straight into its buffer, and no further */
    buf->base = (char *)c->dframe + c->dgot;
    buf->len = c->dsize - c->dgot;
    return;
  }
  /* grow by what can arrive in one read, never to a declared frame size */
  if (c->rcap - c->rlen < READ_CHUNK) {
    size_t cap = c->rcap ? c->rcap : READ_CHUNK;
    while (cap - c->rlen < READ_CHUNK)
      cap *= 2;
    uint8_t *n = beck_realloc(c->rbuf, cap);
    if (n == NULL) {
      buf->base = NULL;
      buf->len = 0;
      return;
    }
    c->rbuf = n;
    c->rcap = cap;
  }
  buf->base = (char *)c->rbuf + c->rlen;
  buf->len = c->rcap - c->rlen;
}

/* Queues one complete frame (taking `frame`) and dispatches it. */
static void conn_frame(beck_conn_t *c, uint8_t *frame, size_t size) {
  beck_req_t *req = beck_calloc(1, sizeof *req);
  if (req == NULL) {
    beck_free(frame);
    beck__conn_close(c, "out of memory reading a request");
    return;
  }
  req->conn = c;
  beck_arena_init(&req->arena, 0);
  req->frame = frame;
  req->frame_len = size;
  req->api_key = (int16_t)beck_load_be16(frame);
  req->api_version = (int16_t)beck_load_be16(frame + 2);
  req->correlation_id = (int32_t)beck_load_be32(frame + 4);
  /* enter the FIFO before dispatch so answers keep request order */
  if (c->tail)
    c->tail->next = req;
  else
    c->head = req;
  c->tail = req;
  c->npending++;
  beck__dispatch(c->broker, req);
}

static void conn_throttle(beck_conn_t *c) {
  if (c->npending + c->nwriting >= MAX_PENDING_PER_CONN && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
}

/* Takes complete frames out of the read buffer and dispatches them. A frame
 * larger than a read chunk that is not all here yet gets its own buffer,
 * into which the rest is read directly (no copy through the read buffer;
 * the buffer's pages become resident only as bytes arrive). */
static void conn_process(beck_conn_t *c) {
  beck_broker_t *b = c->broker;
  size_t pos = 0;
  while (!c->closing && c->rlen - pos >= 4) {
    int32_t size = (int32_t)beck_load_be32(c->rbuf + pos);
    if (size < 8 || size > b->cfg.max_request_bytes) {
      char why[128];
      snprintf(why, sizeof why, "invalid request size %d (allowed 8 to %d bytes)", size, b->cfg.max_request_bytes);
      beck__conn_close(c, why);
      return;
    }
    size_t have = c->rlen - pos - 4;
    if (have < (size_t)size && (size_t)size <= READ_CHUNK)
      break;
    uint8_t *frame = beck_malloc((size_t)size);
    if (frame == NULL) {
      beck__conn_close(c, "out of memory reading a request");
      return;
    }
    if (have < (size_t)size) { /* large and incomplete: read the rest into it */
      memcpy(frame, c->rbuf + pos + 4, have);
      c->dframe = frame;
      c->dsize = (size_t)size;
      c->dgot = have;
      pos = c->rlen;
      break;
    }
    memcpy(frame, c->rbuf + pos + 4, (size_t)size);
    pos += 4 + (size_t)size;
    conn_frame(c, frame, (size_t)size);
  }
  if (c->closing)
    return;
  if (pos > 0) {
    memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
    c->rlen -= pos;
  }
  bool partial = c->rlen > 0 || c->dframe != NULL;
  c->partial_since_ms = partial ? (c->partial_since_ms ? c->partial_since_ms : beck__now_ms(b)) : 0;
  if (pos > 0 && partial)
    c->partial_since_ms = beck__now_ms(b);
  /* shrink a big idle buffer */
  if (c->rlen == 0 && c->rcap > 4 * READ_CHUNK) {
    beck_free(c->rbuf);
    c->rbuf = NULL;
    c->rcap = 0;
  }
  conn_throttle(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  beck_conn_t *c = s->data;
  if (nread == UV_ENOBUFS) {
    beck__conn_close(c, "out of memory");
    return;
  }
  if (nread < 0) {
    beck__conn_close(c, nread == UV_EOF ? NULL : uv_strerror((int)nread));
    return;
  }
  if (nread == 0)
    return;
  if (c->dframe) {
    c->dgot += (size_t)nread;
    if (c->dgot < c->dsize)
      return;
    uint8_t *frame = c->dframe;
    size_t size = c->dsize;
    c->dframe = NULL;
    c->dsize = c->dgot = 0;
    c->partial_since_ms = 0;
    c->refs++; /* dispatch may close the connection */
    conn_frame(c, frame, size);
    if (!c->closing)
      conn_throttle(c);
    conn_unref(c);
    return;
  }
  c->rlen += (size_t)nread;
  c->refs++; /* dispatch may close the connection */
  conn_process(c);
  conn_unref(c);
}

static void on_connection(uv_stream_t *server, int status) {
  beck_broker_t *b = server->data;
  if (status < 0)
    return;
  beck_conn_t *c = beck_calloc(1, sizeof *c);
  if (c == NULL)
    return;
  c->broker = b;
  c->refs = 1;
  uv_tcp_init(&b->loop, &c->tcp);
  c->tcp.data = c;
  c->next = b->conns;
  if (b->conns)
    b->conns->prev = c;
  b->conns = c;
  b->nconns++;
  c->id = ++b->next_conn_id;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
    beck__conn_close(c, NULL);
    return;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
    char ip[48] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET) {
      uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
  }
  if (b->stopping || b->nconns > b->cfg.max_connections) {
    beck__conn_close(c, b->stopping ? "broker is stopping" : "too many connections (max_connections)");
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->reading = true;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- housekeeping, start and stop -------------------------------------- */

static void on_housekeeping(uv_timer_t *t) {
  beck_broker_t *b = t->data;
  int64_t now = beck__now_ms(b);
  for (beck_conn_t *c = b->conns, *next; c; c = next) {
    next = c->next;
    if (!c->closing && c->partial_since_ms && now - c->partial_since_ms > b->cfg.header_timeout_ms)
      beck__conn_close(c, "incomplete request for longer than the header timeout");
  }
  beck__handlers_tick(b, now);
}

static void on_handle_closed(uv_handle_t *h) { (void)h; }

static void finish_stop(beck_broker_t *b) {
  for (beck_conn_t *c = b->conns; c; c = c->next)
    beck__conn_close(c, NULL);
  uv_close((uv_handle_t *)&b->housekeeping, on_handle_closed);
  uv_close((uv_handle_t *)&b->stop_async, on_handle_closed);
  if (b->handle_signals) {
    uv_close((uv_handle_t *)&b->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&b->sigterm, on_handle_closed);
  }
}

static void on_drain(uv_timer_t *t) {
  beck_broker_t *b = t->data;
  bool busy = false;
  for (beck_conn_t *c = b->conns; c; c = c->next)
    if (!c->closing && (c->npending > 0 || c->nwriting > 0))
      busy = true;
  if (busy && beck__now_ms(b) < b->drain_deadline)
    return;
  uv_close((uv_handle_t *)t, on_handle_closed);
  finish_stop(b);
}

static void begin_stop(beck_broker_t *b) {
  if (b->stopping)
    return;
  b->stopping = true;
  beck_log("broker", BECK_LOG_INFO, "stopping: finishing in-flight requests");
  uv_close((uv_handle_t *)&b->listener, on_handle_closed);
  for (beck_conn_t *c = b->conns; c; c = c->next)
    if (!c->closing && c->reading) {
      uv_read_stop((uv_stream_t *)&c->tcp);
      c->reading = false;
    }
  beck__fetch_finish_all(b);
  uv_timer_init(&b->loop, &b->drain_timer);
  b->drain_timer.data = b;
  b->drain_deadline = beck__now_ms(b) + 5000;
  uv_timer_start(&b->drain_timer, on_drain, 0, 10);
}

static void on_signal(uv_signal_t *s, int signum) { begin_stop(s->data); }
static void on_stop_async(uv_async_t *a) { begin_stop(a->data); }

void beck_broker_stop(beck_broker_t *b) { uv_async_send(&b->stop_async); }


/* Process-wide settings a broker needs, made once before its first
 * partition opens:
 *  - the open-file limit raised to its hard limit (a partition keeps a file
 *    descriptor per segment; a 1,024 soft limit stops at ~1,000 partitions),
 *    as Redis and nginx do;
 *  - libuv's thread pool (fsyncs, recovery-point writes) at 16 threads
 *    rather than 4, unless UV_THREADPOOL_SIZE is set: fsyncs of different
 *    partitions run in parallel and the file system merges their journal
 *    commits. It must be set before libuv's pool first starts. */
static void process_limits_once(void) {
  static atomic_flag done = ATOMIC_FLAG_INIT;
  if (atomic_flag_test_and_set(&done))
    return;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
      beck_log("broker", BECK_LOG_DEBUG, "open-file limit raised from %llu to %llu", (unsigned long long)was,
               (unsigned long long)rl.rlim_max);
  }
  if (getenv("UV_THREADPOOL_SIZE") == NULL)
    setenv("UV_THREADPOOL_SIZE", "16", 0);
}

beck_err_t beck_broker_new(const beck_broker_config_t *cfg, beck_broker_t **out, beck_error_t *e) {
  process_limits_once();
  if (cfg->data_dir == NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "broker: a data directory is required (--data-dir DIR)");
  beck_broker_t *b = beck_calloc(1, sizeof *b);
  if (b == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "broker: out of memory");
  b->cfg = *cfg;
  b->data_dir = beck_strdup(cfg->data_dir);
  b->listen_host = beck_strdup(cfg->listen_host ? cfg->listen_host : "127.0.0.1");
  const char *adv = cfg->advertise_host;
  if (adv == NULL)
    adv = strcmp(b->listen_host, "0.0.0.0") == 0 || strcmp(b->listen_host, "::") == 0 ? "127.0.0.1" : b->listen_host;
  b->advertise_host = beck_strdup(adv);
  b->cfg.data_dir = b->data_dir;
  b->cfg.listen_host = b->listen_host;
  b->cfg.advertise_host = b->advertise_host;
  if (uv_loop_init(&b->loop) != 0) {
    beck_free(b);
    return beck_error_set(e, BECK_ERR_IO, "broker: cannot create the event loop");
  }
  beck_topics_options_t topts;
  beck_topics_options_default(&topts);
  topts.default_partitions = cfg->default_partitions > 0 ? cfg->default_partitions : 1;
  topts.auto_create = cfg->auto_create_topics;
  beck_err_t err = beck_topics_open(b->data_dir, &topts, &b->topics, e);
  if (!err)
    err = beck__groups_new(b, e);
  if (err) {
    beck_broker_destroy(b);
    return err;
  }
  struct sockaddr_storage addr;
  int rc = strchr(b->listen_host, ':') ? uv_ip6_addr(b->listen_host, cfg->listen_port, (struct sockaddr_in6 *)&addr)
                                       : uv_ip4_addr(b->listen_host, cfg->listen_port, (struct sockaddr_in *)&addr);
  if (rc != 0) {
    beck_broker_destroy(b);
    return beck_error_set(e, BECK_ERR_INVAL, "broker: cannot parse listen address '%s'", cfg->listen_host);
  }
  uv_tcp_init(&b->loop, &b->listener);
  b->listener.data = b;
  rc = uv_tcp_bind(&b->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&b->listener, 1024, on_connection);
  if (rc != 0) {
    beck_error_set(e, BECK_ERR_IO, "broker: cannot listen on %s:%d: %s%s", b->listen_host, cfg->listen_port,
                   uv_strerror(rc),
                   rc == UV_EADDRINUSE ? " (is another broker running? pick another port with --listen HOST:PORT)" : "");
    beck_broker_destroy(b);
    return e ? e->code : BECK_ERR_IO;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&b->listener, (struct sockaddr *)&bound, &blen);
  b->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                              : ((struct sockaddr_in *)&bound)->sin_port);
  if (b->cfg.advertise_port <= 0)
    b->cfg.advertise_port = b->port;
  uv_timer_init(&b->loop, &b->housekeeping);
  b->housekeeping.data = b;
  uv_async_init(&b->loop, &b->stop_async, on_stop_async);
  b->stop_async.data = b;
  beck__durability_init(b);
  *out = b;
  return BECK_ERR_OK;
}

beck_err_t beck_broker_run(beck_broker_t *b, bool handle_signals, beck_error_t *e) {
  b->handle_signals = handle_signals;
  if (handle_signals) {
    uv_signal_init(&b->loop, &b->sigint);
    uv_signal_init(&b->loop, &b->sigterm);
    b->sigint.data = b->sigterm.data = b;
    uv_signal_start(&b->sigint, on_signal, SIGINT);
    uv_signal_start(&b->sigterm, on_signal, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
  }
  uv_timer_start(&b->housekeeping, on_housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
  uv_run(&b->loop, UV_RUN_DEFAULT);
  return BECK_ERR_OK;
}

void beck_broker_destroy(beck_broker_t *b) {
  if (b == NULL)
    return;
  if (!uv_is_closing((uv_handle_t *)&b->listener) && b->listener.type == UV_TCP)
    uv_close((uv_handle_t *)&b->listener, on_handle_closed);
  if (b->housekeeping.type == UV_TIMER && !uv_is_closing((uv_handle_t *)&b->housekeeping))
    uv_close((uv_handle_t *)&b->housekeeping, on_handle_closed);
  if (b->stop_async.type == UV_ASYNC && !uv_is_closing((uv_handle_t *)&b->stop_async))
    uv_close((uv_handle_t *)&b->stop_async, on_handle_closed);
  uv_run(&b->loop, UV_RUN_DEFAULT); /* let close callbacks and pool work finish */
  if (b->durable_async.type == UV_ASYNC && !uv_is_closing((uv_handle_t *)&b->durable_async)) {
    uv_close((uv_handle_t *)&b->durable_async, on_handle_closed); /* after the pool work that may signal it */
    uv_run(&b->loop, UV_RUN_DEFAULT);
    pthread_mutex_destroy(&b->durable_mu);
  }
  uv_loop_close(&b->loop);
  beck__groups_destroy(b);
  /* the broker's state hung on each partition (no pool work runs any more) */
  for (int i = 0; b->topics && i < beck_topics_count(b->topics); i++) {
    beck_topic_t *t = beck_topics_at(b->topics, i);
    for (int32_t j = 0; j < t->npartitions; j++)
      beck__bpart_release(b, t->partitions[j]);
  }
  beck_topics_close(b->topics); /* syncs and marks every log clean */
  beck_free(b->data_dir);
  beck_free(b->listen_host);
  beck_free(b->advertise_host);
  beck_free(b);
}
