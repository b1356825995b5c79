/*
 * bpart.h - private to core/broker: the broker's state of one partition,
 * hung on beck_partition_t.user.
 *
 *   group commit   at most one fsync in flight on the thread pool; appends
 *                  that arrive meanwhile wait for the next one, which covers
 *                  them all. Waiters (acks=all produces) are answered when
 *                  the durable offset passes their end offset.
 *   fetch waiters  long-polling fetches parked on this partition; woken when
 *                  the high watermark moves.
 */
#ifndef BECK_BROKER_BPART_H
#define BECK_BROKER_BPART_H

#include <uv.h>

#include "broker/handlers.h"

typedef struct durable_waiter {
  struct durable_waiter *next;
  int64_t end_offset;
  beck_durable_cb cb;
  void *arg;
} durable_waiter_t;

typedef struct beck_fetch_link beck_fetch_link_t; /* handle_fetch.c */

struct beck_bpart {
  beck_broker_t *broker;
  beck_partition_t *p;
  bool sync_inflight;
  bool sync_again; /* appends arrived during the fsync */
  uv_work_t work;
  bool sync_rounds;   /* the work item syncs again while appends keep coming (policy always) */
  bool ready_listed;  /* on broker->durable_ready, under durable_mu */
  struct beck_bpart *ready_next;
  bool ckpt_inflight; /* the recovery-point write, after the acks (durability.c) */
  uv_work_t ckpt_work;
  beck_err_t work_err;
  beck_error_t work_e;
  durable_waiter_t *waiters;
  beck_fetch_link_t *fetchers; /* parked fetches watching this partition */
  int64_t last_hw;
};

#endif
