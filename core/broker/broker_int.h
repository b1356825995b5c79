/*
 * broker_int.h - private to core/broker: the broker, connection and request
 * objects shared by the server loop, the dispatcher and the API handlers.
 *
 * Request lifecycle (per connection, FIFO):
 *
 *   bytes -> frame complete -> beck_req_t appended to conn FIFO -> dispatch
 *     -> handler answers now (beck__req_finish)            -> flush
 *     -> or parks (fetch long poll, produce awaiting fsync) -> finish later
 *   flush: write every finished request from the FIFO head, in order.
 *   acks=0 produce: handled, then dropped without entering the FIFO.
 *
 * A connection that closes with parked requests stays allocated until each
 * of them has been finished or cancelled (conn->refs).
 */
#ifndef BECK_BROKER_BROKER_INT_H
#define BECK_BROKER_BROKER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "broker/broker.h"
#include "topic/topics.h"

typedef struct beck_conn beck_conn_t;
typedef struct beck_req beck_req_t;
typedef struct beck_group_coord beck_group_coord_t;

struct beck_req {
  beck_conn_t *conn;
  beck_req_t *next; /* FIFO order on the connection */
  int16_t api_key;
  int16_t api_version;
  int32_t correlation_id;
  const char *client_id; /* NUL-terminated copy in the request arena, "" if null */
  uint8_t *frame;        /* owned request bytes after the size prefix */
  size_t frame_len;
  size_t body_off;       /* where the body starts in frame */
  beck_buf_t resp;       /* size prefix + response header + body, once finished */
  bool finished;
  bool no_response;      /* acks=0 produce */
  bool cancelled;        /* the connection went away while parked */
  beck_arena_t arena;    /* per-request memory: decoded request, response structs */
  void *handler_state;   /* owned by the handler while parked */
  void (*cancel)(beck_req_t *req); /* called once if the connection closes while parked */
};

struct beck_conn {
  uv_tcp_t tcp;
  beck_broker_t *broker;
  beck_conn_t *prev, *next; /* broker's connection list */
  uint64_t id;
  char peer[64];
  uint8_t *rbuf; /* partial frame bytes */
  size_t rlen, rcap;
  int64_t partial_since_ms; /* when the current partial frame started, 0 = none */
  uint8_t *dframe;          /* a large frame read straight into its own buffer (server.c) */
  size_t dsize, dgot;       /* its declared size and the bytes it holds so far */
  beck_req_t *head, *tail;
  int npending;
  int nwriting; /* requests handed to uv_write, not yet completed */
  int refs;     /* outstanding parked work and writes that keep the struct alive */
  bool closing;
  bool reading;
};

struct beck_broker {
  beck_broker_config_t cfg;
  char *data_dir;
  char *listen_host;
  char *advertise_host;
  int port; /* bound */
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_signal_t sigint, sigterm;
  uv_async_t stop_async;
  uv_async_t durable_async;      /* a pool thread's fsync moved a durable offset (durability.c) */
  pthread_mutex_t durable_mu;    /* guards durable_ready */
  struct beck_bpart *durable_ready; /* partitions with such news, for the loop */
  uv_timer_t housekeeping; /* header timeouts, fsync intervals, retention, group timers */
  uv_timer_t drain_timer;  /* stop: waits for in-flight requests until drain_deadline */
  int64_t drain_deadline;
  beck_topics_t *topics;
  beck_group_coord_t *groups;
  beck_conn_t *conns;
  int nconns;
  uint64_t next_conn_id;
  bool stopping;
  bool handle_signals;
  int64_t last_retention_ms;
};

/* Milliseconds from the loop's cached clock (monotonic). */
static inline int64_t beck__now_ms(beck_broker_t *b) { return (int64_t)uv_now(&b->loop); }

/* Marks a request answered once req->resp holds the whole response frame
 * (size prefix, header, body) and flushes the connection in order. For a
 * cancelled request (its connection closed) it frees the request instead. */
void beck__req_complete(beck_req_t *req);
/* Frees a request's memory (internal to server.c's bookkeeping). */
void beck__req_drop(beck_req_t *req);
/* Ends a request that gets no response (acks=0 produce): removes it from
 * the connection's FIFO and frees it. */
void beck__req_discard(beck_req_t *req);
/* Closes a connection (idempotent); parked requests are cancelled. */
void beck__conn_close(beck_conn_t *c, const char *why);

/* Dispatcher (dispatch.c): handles one complete request frame. */
void beck__dispatch(beck_broker_t *b, beck_req_t *req);
/* Whether the dispatch table has a handler for API key (ApiVersions lists only those). */
bool beck__api_served(int16_t key);
/* Encodes resp (the response struct of req's API) into req->resp and
 * completes the request (dispatch.c). */
void beck__respond(beck_req_t *req, const void *resp);
/* Finishes every parked fetch now with what it has (stop, dispatch.c). */
void beck__fetch_finish_all(beck_broker_t *b);
/* Periodic work of the handlers: fsync intervals, retention (dispatch.c). */
void beck__handlers_tick(beck_broker_t *b, int64_t now_ms);

#endif
