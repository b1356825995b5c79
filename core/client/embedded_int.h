/*
 * embedded_int.h - private to the embedded client: embedded.c (topics,
 * produce, fetch, offsets, housekeeping) and txn.c (transactions and their
 * recovery). Nothing outside core/client includes it.
 *
 * Per-partition state hangs on beck_partition_t.user (emb_part_t), made
 * under reg_mu the first time a partition is used. Its `stable` field is
 * the partition's last stable offset once a transaction has written it
 * ("enlisted"); fetch and watermarks never show records at or above it.
 *
 * Lock order (a thread holding one may only take those below it):
 *   txn_mu     one transaction commit at a time (txn.c), and retention
 *              and compaction (housekeeping), which also keeps
 *              partitions from being enlisted while they run
 *   part.wmu   plain appends to a partition vs. its enlisting
 *   reg_mu     the registry and the metadata store
 *   part.mu    fetchers waiting for the high watermark
 */
#ifndef BECK_CLIENT_EMBEDDED_INT_H
#define BECK_CLIENT_EMBEDDED_INT_H

#include <pthread.h>

#include "client/client_int.h"
#include "topic/topics.h"

/* emb_part_t.stable of a partition no transaction has written. */
#define BECK__EMB_NOT_TXN INT64_MAX

/* The metadata-store group whose rows hold the stable offset of every
 * enlisted partition (one row per topic-partition, offset = stable). */
#define BECK__EMB_TXN_GROUP "__beck_txn"

typedef struct emb_part {
  pthread_mutex_t mu; /* fetchers waiting on cond */
  pthread_cond_t cond;
  pthread_mutex_t wmu; /* plain appends vs. enlisting */
  int64_t stable;      /* atomic; BECK__EMB_NOT_TXN until enlisted */
} emb_part_t;

typedef struct emb_client {
  beck_client_t base;
  beck_topics_t *ts;
  beck_env_t *env;
  pthread_mutex_t reg_mu;

  pthread_t hk;
  bool hk_started;
  pthread_mutex_t hk_mu;
  pthread_cond_t hk_cond;
  bool stopping;

  pthread_mutex_t txn_mu;
  bool txn_broken;        /* under txn_mu: a failed commit could not be cut back */
  beck_error_t txn_error; /* why */
} emb_client_t;

/* A run of records of one produce call that go to one partition:
 * recs[idx[first .. first+count)] in call order. */
typedef struct beck__emb_group {
  int32_t partition;
  int first, count;
  beck_partition_t *p;
  int64_t base_offset; /* after the append: first offset, or -1 */
  int64_t end_offset;  /* after the append: last offset + 1, or -1 */
} beck__emb_group_t;

/* Scratch of batch building (normalised headers), reused across calls. */
typedef struct beck__emb_scratch {
  beck_record_header_t *hdrs;
  int cap;
} beck__emb_scratch_t;

/* Sorts record indexes by partition (stable) and cuts them into groups.
 * *idx and *groups are allocated (free both with beck_free). */
beck_err_t beck__emb_group_records(const int32_t *parts, int n, int **idx, beck__emb_group_t **groups, int *ngroups,
                                   beck_error_t *e);
/* Appends the batches of group g (split at max_batch bytes), with batch
 * attributes `attributes`, to out. Records with timestamp -1 get now. */
beck_err_t beck__emb_build_group(const beck_client_record_t *recs, const int *idx, const beck__emb_group_t *g,
                                 int32_t max_batch, int64_t now, int16_t attributes, beck__emb_scratch_t *s,
                                 beck_buf_t *out, beck_error_t *e);

/* Under reg_mu: the partition, with its emb_part_t attached. */
beck_err_t beck__emb_find_partition_locked(emb_client_t *ec, const char *topic, int32_t partition,
                                           beck_partition_t **out, beck_error_t *e);
/* Under reg_mu: attaches p's emb_part_t. */
beck_err_t beck__emb_part_attach(beck_partition_t *p, beck_error_t *e);
/* Wakes fetchers of p after its high watermark may have moved. */
void beck__emb_part_notify(beck_partition_t *p);

static inline int64_t beck__emb_stable(const emb_part_t *ep) {
  return ep ? __atomic_load_n(&ep->stable, __ATOMIC_ACQUIRE) : BECK__EMB_NOT_TXN;
}

/* ---- txn.c ----------------------------------------------------------------- */

/* At open, before anything reads: loads the stable offset of every
 * enlisted partition and cuts what crashed commits appended after it. */
beck_err_t beck__emb_txn_recover(emb_client_t *ec, beck_error_t *e);
/* Plain produce to enlisted partitions: groups[0..ng) are committed as one
 * transaction (their base/end offsets filled). */
beck_err_t beck__emb_txn_produce_groups(emb_client_t *ec, const char *topic, const beck_client_record_t *recs,
                                        const int *idx, beck__emb_group_t *groups, int ng, beck_error_t *e);

beck_err_t beck__emb_txn_new(beck_client_t *c, beck_client_txn_t **out, beck_error_t *e);
void beck__emb_txn_destroy(beck_client_txn_t *tx);
beck_err_t beck__emb_txn_produce(beck_client_txn_t *tx, const char *topic, const beck_client_record_t *recs, int n,
                                 const int32_t *parts, beck_error_t *e);
beck_err_t beck__emb_txn_commit_offset(beck_client_txn_t *tx, const char *group, const char *topic, int32_t partition,
                                       int64_t offset, beck_error_t *e);
beck_err_t beck__emb_txn_commit(beck_client_txn_t *tx, beck_error_t *e);
void beck__emb_txn_abort(beck_client_txn_t *tx);
int64_t beck__emb_txn_next_offset(const beck_client_txn_t *tx, const char *topic, int32_t partition);

/* Test hook: when set, called at each stage of a commit that appended
 * something (1 appended, 2 durable, 3 committed in the metadata store, not
 * yet visible), so a test can crash the process there. */
extern void (*beck__emb_txn_test_hook)(int stage);

#endif
