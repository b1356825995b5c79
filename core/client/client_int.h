/*
 * client_int.h - private to core/client: the operations table behind
 * beck_client_t and the helpers both implementations share.
 *
 * client.c owns what is the same for both: argument checks, the partitioner
 * (murmur2 for keys, one sticky partition per produce call for null keys),
 * and dispatch. embedded.c and remote.c each fill one ops table; their client
 * structs start with a beck_client_t so a pointer converts both ways.
 * Transactions (txn.c) are embedded only: remote leaves the txn ops NULL.
 */
#ifndef BECK_CLIENT_CLIENT_INT_H
#define BECK_CLIENT_CLIENT_INT_H

#include <stdatomic.h>

#include "client/client.h"

typedef struct beck_client_ops {
  const char *kind;
  void (*close)(beck_client_t *c);
  beck_err_t (*create_topic)(beck_client_t *c, const char *topic, int32_t partitions, const char *const *keys,
                             const char *const *values, int n, bool exist_ok, beck_error_t *e);
  /* fresh: ask the source of truth (remote: a metadata request); otherwise a
   * cached count is fine (the produce path). */
  beck_err_t (*partitions)(beck_client_t *c, const char *topic, bool fresh, int32_t *out, beck_error_t *e);
  beck_err_t (*watermarks)(beck_client_t *c, const char *topic, int32_t partition, int64_t *start, int64_t *high,
                           beck_error_t *e);
  /* parts[i] is the resolved partition of recs[i] (always valid for the
   * topic's count as the caller saw it); fills offsets[i] when not NULL. */
  beck_err_t (*produce)(beck_client_t *c, const char *topic, const beck_client_record_t *recs, int n,
                        const int32_t *parts, int64_t *offsets, beck_error_t *e);
  beck_err_t (*fetch)(beck_client_t *c, const char *topic, int32_t partition, int64_t offset, size_t max_bytes,
                      int timeout_ms, beck_client_record_cb cb, void *arg, int64_t *next_offset, beck_error_t *e);
  beck_err_t (*commit)(beck_client_t *c, const char *group, const char *topic, int32_t partition, int64_t offset,
                       beck_error_t *e);
  beck_err_t (*committed)(beck_client_t *c, const char *group, const char *topic, int32_t partition, int64_t *offset,
                          beck_error_t *e);
  /* Transactions; all NULL when unsupported. txn_produce gets resolved
   * partitions like produce; arguments are checked by client.c. */
  beck_err_t (*txn_new)(beck_client_t *c, beck_client_txn_t **out, beck_error_t *e);
  void (*txn_destroy)(beck_client_txn_t *tx);
  beck_err_t (*txn_produce)(beck_client_txn_t *tx, const char *topic, const beck_client_record_t *recs, int n,
                            const int32_t *parts, beck_error_t *e);
  beck_err_t (*txn_commit_offset)(beck_client_txn_t *tx, const char *group, const char *topic, int32_t partition,
                                  int64_t offset, beck_error_t *e);
  beck_err_t (*txn_commit)(beck_client_txn_t *tx, beck_error_t *e);
  void (*txn_abort)(beck_client_txn_t *tx);
  int64_t (*txn_next_offset)(const beck_client_txn_t *tx, const char *topic, int32_t partition);
} beck_client_ops_t;

struct beck_client {
  const beck_client_ops_t *ops;
  atomic_uint sticky; /* next partition for a produce call's null-key records */
};

/* The common part of every transaction object. */
struct beck_client_txn {
  beck_client_t *c;
};

/* Fills the common part of a new client. */
void beck__client_init(beck_client_t *c, const beck_client_ops_t *ops);

/* Kafka nullable bytes as the record builders want them: len < 0 -> {NULL,
 * -1}; len >= 0 with a NULL ptr -> an empty, non-null value. */
beck_nstr_t beck__client_nstr(beck_nstr_t s);

/* Monotonic clock in ms (waits and deadlines). */
int64_t beck__client_mono_ms(void);

#endif
