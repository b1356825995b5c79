/*
 * client.h - the one way streams and connectors reach topics: the log
 * client. Two implementations behind one interface (design.md):
 *
 *   embedded  in-process calls into the topic registry over a data
 *             directory (no sockets, no copies beyond what the caller keeps);
 *             the default of `beck run`.
 *   remote    librdkafka to a Beck broker or any Kafka-protocol cluster
 *             (bootstrap servers); the same code scales past one machine.
 *
 * Semantics are Kafka's so both behave the same:
 *   - produce appends records to a partition (explicit, or by key with
 *     Kafka's murmur2 partitioner, or round-robin for null keys) and returns
 *     only when the records are acknowledged with acks=all (durable);
 *   - fetch returns the records of one partition from an offset, up to the
 *     high watermark (what a consumer may see; for a partition written by
 *     embedded transactions, its last stable offset: see below);
 *   - committed offsets are per (group, topic, partition), stored durably.
 *
 * Threading: a beck_client_t may be used from several threads at once (the
 * streams task pool, connector task threads); calls on different partitions
 * proceed in parallel.
 *
 * Ownership: record fields passed in are borrowed for the call (copied into
 * the log or librdkafka); records handed to a fetch callback borrow the
 * fetched batch and are valid only during the callback.
 */
#ifndef BECK_CLIENT_CLIENT_H
#define BECK_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "record/batch.h"

typedef struct beck_client beck_client_t;

/* Opens an embedded client over data_dir (created if missing). It owns the
 * topic registry of that directory (which is locked against other processes). */
beck_err_t beck_client_open_embedded(const char *data_dir, beck_client_t **out, beck_error_t *e);

/* Opens a remote client: bootstrap "host:port[,host:port]"; conf is n extra
 * librdkafka properties as key/value pairs (may be NULL). */
beck_err_t beck_client_open_remote(const char *bootstrap, const char *const *conf_keys,
                                   const char *const *conf_values, int n, beck_client_t **out, beck_error_t *e);

/* Flushes and closes; NULL is ok. */
void beck_client_close(beck_client_t *c);

/* "embedded" or "remote". */
const char *beck_client_kind(const beck_client_t *c);

/* ---- topics ------------------------------------------------------------ */

/* Creates a topic with n config overrides (Kafka topic config names, e.g.
 * cleanup.policy=compact). With exist_ok an existing topic is fine (its
 * partition count is left alone). */
beck_err_t beck_client_create_topic(beck_client_t *c, const char *topic, int32_t partitions,
                                    const char *const *config_keys, const char *const *config_values, int n,
                                    bool exist_ok, beck_error_t *e);

/* Number of partitions of a topic; BECK_ERR_NOTFOUND when it does not exist. */
beck_err_t beck_client_partitions(beck_client_t *c, const char *topic, int32_t *out, beck_error_t *e);

/* Log start offset and high watermark of a partition. */
beck_err_t beck_client_watermarks(beck_client_t *c, const char *topic, int32_t partition, int64_t *start,
                                  int64_t *high, beck_error_t *e);

/* ---- produce ------------------------------------------------------------ */

#define BECK_CLIENT_PARTITION_ANY (-1) /* by key (murmur2), or sticky for null keys */

typedef struct beck_client_record {
  int32_t partition;  /* BECK_CLIENT_PARTITION_ANY or an explicit partition */
  int64_t timestamp;  /* ms since the epoch; -1 = now */
  beck_nstr_t key;    /* len -1 = null */
  beck_nstr_t value;  /* len -1 = null (a tombstone) */
  const beck_record_header_t *headers;
  int nheaders;
} beck_client_record_t;

/* Appends n records to topic, batching per partition, and returns when all
 * are acknowledged durably (acks=all). On success, when offsets is not NULL,
 * offsets[i] is the offset record i got and partitions[i] (if not NULL) its
 * partition. All-or-error per call: on failure some records may have been
 * written (at-least-once semantics for the caller to retry). */
beck_err_t beck_client_produce(beck_client_t *c, const char *topic, const beck_client_record_t *recs, int n,
                               int64_t *offsets, int32_t *partitions, beck_error_t *e);

/* The partition the murmur2 partitioner picks for a key (Kafka's Java
 * default: toPositive(murmur2(key)) % n). */
int32_t beck_client_partition_for_key(const void *key, size_t len, int32_t npartitions);

/* ---- fetch --------------------------------------------------------------- */

/* Called for each record; return non-zero to stop early (the record is
 * then considered consumed). r borrows the fetched data. */
typedef int (*beck_client_record_cb)(void *arg, const char *topic, int32_t partition, const beck_record_t *r);

/* Reads records of one partition from `offset` up to the high watermark,
 * about max_bytes at most (at least one batch when any is available),
 * waiting up to timeout_ms for data when none is available. Records below
 * `offset` in the first batch are skipped; compressed batches are
 * decompressed. *next_offset is where the next fetch should start.
 * BECK_ERR_RANGE when offset is out of range. */
beck_err_t beck_client_fetch(beck_client_t *c, const char *topic, int32_t partition, int64_t offset, size_t max_bytes,
                             int timeout_ms, beck_client_record_cb cb, void *arg, int64_t *next_offset,
                             beck_error_t *e);

/* ---- committed offsets (consumer groups, simple commit) ---------------- */

/* Durably commits the next offset to read for (group, topic, partition)
 * (Kafka "simple" commit: generation -1, no member). */
beck_err_t beck_client_commit(beck_client_t *c, const char *group, const char *topic, int32_t partition,
                              int64_t offset, beck_error_t *e);
/* The committed offset, or -1 when none. */
beck_err_t beck_client_committed(beck_client_t *c, const char *group, const char *topic, int32_t partition,
                                 int64_t *offset, beck_error_t *e);

/* ---- transactions (embedded only) --------------------------------------- */

/*
 * A transaction makes produces to any partitions and offset commits take
 * effect together or not at all (what the streams runtime's exactly-once
 * mode commits). Embedded only: the remote client answers
 * BECK_ERR_UNSUPPORTED (Beck's broker does not implement Kafka
 * transactions).
 *
 * Visibility (read_committed for every reader of this client): records a
 * transaction appends are invisible to fetch and watermarks until its
 * commit has returned; then all of them, in every partition, and its
 * offsets are visible at once. A partition a transaction has ever written
 * is "transactional" from then on: its high watermark is its last stable
 * offset (the end of the last commit), plain produces to it are committed
 * like one-call transactions, and each reopen of the data directory cuts
 * whatever a crashed commit left after it (docs/streams.md has the
 * protocol and its limits).
 *
 * A transaction object is reused: it begins with the first produce or
 * offset after new(), commit() or abort(). One thread at a time per object;
 * commits of different objects are serialised by the client.
 */
typedef struct beck_client_txn beck_client_txn_t;

/* A new, empty transaction on c (which must outlive it).
 * BECK_ERR_UNSUPPORTED for a remote client. */
beck_err_t beck_client_txn_new(beck_client_t *c, beck_client_txn_t **out, beck_error_t *e);
/* Aborts what is pending and frees. NULL is ok. */
void beck_client_txn_destroy(beck_client_txn_t *tx);

/* Adds n records for topic to the transaction (copied; partitioned as
 * beck_client_produce does; partitions[i], when not NULL, gets record i's
 * partition). Nothing is written before commit. */
beck_err_t beck_client_txn_produce(beck_client_txn_t *tx, const char *topic, const beck_client_record_t *recs, int n,
                                   int32_t *partitions, beck_error_t *e);
/* Adds the commit of offset for (group, topic, partition) (copies the
 * names; a later call for the same triple replaces the offset). */
beck_err_t beck_client_txn_commit_offset(beck_client_txn_t *tx, const char *group, const char *topic,
                                         int32_t partition, int64_t offset, beck_error_t *e);
/* Appends every pending record durably (acks=all), then stores the
 * offsets and the new stable offsets of the written partitions in one
 * metadata transaction: the commit point. Then the records become
 * visible. On failure nothing of it is visible (the appended records are
 * cut again, or at the next open) and the transaction is empty again. */
beck_err_t beck_client_txn_commit(beck_client_txn_t *tx, beck_error_t *e);
/* Drops what is pending. */
void beck_client_txn_abort(beck_client_txn_t *tx);
/* After a successful commit: the offset after the last record it wrote to
 * topic-partition, or -1 when it wrote nothing there. */
int64_t beck_client_txn_next_offset(const beck_client_txn_t *tx, const char *topic, int32_t partition);

#endif
