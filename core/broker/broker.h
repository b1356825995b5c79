/*
 * broker.h - the Kafka-protocol broker: a libuv server over the topic
 * registry (core/topic), the group coordinator and the protocol codec.
 *
 * One event-loop thread owns all broker state. Blocking work (fsync) runs on
 * libuv's thread pool. Requests on one connection are answered in order,
 * including when a Fetch is parked in a long poll or a Produce waits for its
 * fsync; acks=0 produces get no response and take no slot.
 */
#ifndef BECK_BROKER_BROKER_H
#define BECK_BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

typedef struct beck_broker beck_broker_t;

typedef struct beck_broker_config {
  const char *data_dir;          /* required */
  const char *listen_host;       /* default "127.0.0.1" */
  int listen_port;               /* default 9092; 0 = pick a free port */
  const char *advertise_host;    /* default: listen host (or 127.0.0.1 for 0.0.0.0) */
  int advertise_port;            /* default: the bound port */
  int32_t node_id;               /* default 0 */
  int32_t default_partitions;    /* num.partitions, default 1 */
  bool auto_create_topics;       /* default true */
  int32_t max_request_bytes;     /* socket.request.max.bytes, default 100 MiB */
  int32_t max_connections;       /* default 20000 */
  int32_t header_timeout_ms;     /* a connection that sends a partial frame for longer is closed; default 30000 */
  int32_t group_min_session_ms;  /* group.min.session.timeout.ms, default 6000 */
  int32_t group_max_session_ms;  /* group.max.session.timeout.ms, default 1800000 */
  int32_t group_initial_rebalance_delay_ms; /* default 3000 */
  int64_t retention_check_ms;    /* log.retention.check.interval.ms, default 300000 */
} beck_broker_config_t;

void beck_broker_config_default(beck_broker_config_t *c);

/* Opens the data directory (recovering every log) and binds the listener.
 * Copies what it needs from cfg. */
beck_err_t beck_broker_new(const beck_broker_config_t *cfg, beck_broker_t **out, beck_error_t *e);

/* The bound port (useful with listen_port 0). */
int beck_broker_port(const beck_broker_t *b);

/* Runs the event loop until beck_broker_stop() or a signal (SIGINT/SIGTERM
 * when handle_signals). Then stops accepting, finishes in-flight requests,
 * syncs and closes every log. */
beck_err_t beck_broker_run(beck_broker_t *b, bool handle_signals, beck_error_t *e);

/* Asks a running broker to stop; safe from any thread. */
void beck_broker_stop(beck_broker_t *b);

void beck_broker_destroy(beck_broker_t *b);

#endif
