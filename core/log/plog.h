/*
 * plog.h - the partition log: one directory of segments holding Kafka
 * RecordBatch v2 batches byte-for-byte as they travel on the wire.
 *
 * Files in a partition directory (names as Kafka's, 20-digit base offsets):
 *   00000000000000000000.log        batches, concatenated
 *   00000000000000000000.index      sparse offset index: {u32 relative offset, u32 position} BE
 *   00000000000000000000.timeindex  sparse time index:   {i64 timestamp, u32 relative offset} BE
 *   recovery-point                  text "OFFSET SEGMENT_BASE POSITION\n": everything below is synced
 *   log-start-offset                text "OFFSET\n": records below it are deleted
 *   clean-shutdown                  present only after beck_plog_close(); removed on open
 *   *.tmp, *.log.cleaned            half-written index/metadata files and compaction output;
 *                                   leftovers are removed on open
 *
 * Threading: one beck_plog_t may be used from several threads at once; an
 * internal mutex serialises appends, reads and metadata changes, and fsync
 * runs outside it so appends go on while a sync is in flight (group commit).
 *
 * Durability: offsets below beck_plog_durable_offset() are on stable storage.
 * With the ALWAYS policy callers that need durability (acks=all) call
 * beck_plog_sync() or beck_plog_wait_durable(); one fsync covers every append
 * made before it started. A failed fsync fences the log: it goes read-only,
 * every later append and sync fails with BECK_ERR_FENCED and the reason.
 */
#ifndef BECK_LOG_PLOG_H
#define BECK_LOG_PLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/env.h"
#include "base/err.h"

typedef struct beck_plog beck_plog_t;

typedef enum {
  BECK_FSYNC_ALWAYS = 0,   /* acknowledged appends are durable (group commit) */
  BECK_FSYNC_INTERVAL = 1, /* synced at least every fsync_interval_ms */
  BECK_FSYNC_NEVER = 2,    /* the OS decides; synced on roll and close */
} beck_fsync_policy_t;

/* Per-log configuration. Fill with beck_plog_config_default() first. Names in
 * comments are the Kafka topic configs they implement. */
typedef struct beck_plog_config {
  int64_t segment_bytes;        /* segment.bytes, default 1 GiB */
  int64_t segment_ms;           /* segment.ms, default 7 days */
  int64_t retention_bytes;      /* retention.bytes, -1 = unlimited (default) */
  int64_t retention_ms;         /* retention.ms, -1 = unlimited, default 7 days */
  int32_t index_interval_bytes; /* index.interval.bytes, default 4096 */
  int32_t max_batch_bytes;      /* max.message.bytes, default 1048588 */
  beck_fsync_policy_t fsync_policy; /* default ALWAYS */
  int64_t fsync_interval_ms;    /* for INTERVAL, default 1000 */
  bool compact;                 /* cleanup.policy=compact */
  bool delete_retention;        /* cleanup.policy includes delete (default true) */
  int64_t delete_retention_ms;  /* delete.retention.ms: tombstones kept this long, default 1 day */
  bool log_append_time;         /* message.timestamp.type=LogAppendTime */
  int32_t segment_index_bytes;  /* segment.index.bytes, default 10 MiB: offset index capacity
                                   (bytes / 8 entries); a full index rolls the segment */
} beck_plog_config_t;

void beck_plog_config_default(beck_plog_config_t *cfg);

/* Opens (creating if needed) the log in dir and recovers it (see recover.c).
 * cfg is copied. env may be NULL for beck_env_default(). On corruption below
 * the recovery point the log still opens but fenced (beck_plog_fenced()).
 * Fails on I/O errors, and with BECK_ERR_CORRUPT when every segment file is
 * gone although the recovery point says data was synced. */
beck_err_t beck_plog_open(const char *dir, const beck_plog_config_t *cfg, beck_env_t *env, beck_plog_t **out,
                          beck_error_t *e);

/* Clean shutdown: syncs, writes indexes and checkpoints, marks the log clean
 * so the next open skips the recovery scan, frees everything. NULL is ok. */
void beck_plog_close(beck_plog_t *log);

/* Replaces the configuration (copied). Takes effect for later appends/rolls.
 * An invalid configuration is refused with a WARN line and the old one kept. */
void beck_plog_set_config(beck_plog_t *log, const beck_plog_config_t *cfg);

typedef struct beck_plog_append_info {
  int64_t base_offset;     /* first offset assigned */
  int64_t last_offset;     /* last offset assigned */
  int64_t log_append_time; /* broker time stamped, or -1 for CreateTime */
  int32_t batches;         /* batches appended */
} beck_plog_append_info_t;

/* Appends one or more concatenated batches (a produce request's records).
 * Validates every batch first (length, magic 2, CRC, count == delta + 1,
 * size <= max_batch_bytes); if any fails nothing is written. Assigns base
 * offsets in place (so `batches` is modified: BaseOffset, and for LogAppendTime
 * the attributes, MaxTimestamp and CRC), then writes. Borrows `batches` for
 * the call. Does not wait for durability. A full disk fails the append
 * with BECK_ERR_NOSPACE, storing nothing, and the log stays writable; any
 * other write failure fences it (BECK_ERR_FENCED). */
beck_err_t beck_plog_append(beck_plog_t *log, uint8_t *batches, size_t len, beck_plog_append_info_t *info,
                            beck_error_t *e);

/* Group commit: makes every append that returned before this call durable.
 * Concurrent callers share fsyncs. A failure fences the log. */
beck_err_t beck_plog_sync(beck_plog_t *log, beck_error_t *e);
/* The same group commit without the recovery-point write that may follow
 * it (once a second): for callers that answer waiters first and then call
 * beck_plog_checkpoint_if_due() from elsewhere, off the latency path. */
beck_err_t beck_plog_sync_data(beck_plog_t *log, beck_error_t *e);
/* True when a recovery-point write is due (interval passed or forced, and
 * the durable position moved since the last one). */
bool beck_plog_checkpoint_due(beck_plog_t *log);
/* Writes the recovery point when due (see above); failures are logged and
 * retried next time: they only make the next recovery longer. */
void beck_plog_checkpoint_if_due(beck_plog_t *log);
/* Returns once offsets < end_offset are durable (syncing if needed). For the
 * INTERVAL and NEVER policies it returns at once without syncing. */
beck_err_t beck_plog_wait_durable(beck_plog_t *log, int64_t end_offset, beck_error_t *e);
/* INTERVAL policy: true when unsynced appends are older than the interval. */
bool beck_plog_sync_due(beck_plog_t *log, int64_t now_ms);
/* Writes the recovery-point checkpoint for the current durable offset now
 * (it is otherwise written after a sync at most once a second, and after a
 * roll, a truncate, recovery and on close). Fails with BECK_ERR_FENCED on a
 * fenced log. */
beck_err_t beck_plog_checkpoint(beck_plog_t *log, beck_error_t *e);

int64_t beck_plog_start_offset(beck_plog_t *log);
int64_t beck_plog_end_offset(beck_plog_t *log);     /* next offset to assign */
int64_t beck_plog_durable_offset(beck_plog_t *log); /* offsets below are synced */
int64_t beck_plog_size_bytes(beck_plog_t *log);     /* bytes of all .log segment files (not indexes) */
int32_t beck_plog_segment_count(beck_plog_t *log);
/* True when fenced; copies the reason into why when non-NULL. */
bool beck_plog_fenced(beck_plog_t *log, beck_error_t *why);

/* A read: a range of whole batches in one segment file. Holds a reference to
 * the segment (the fd stays valid) until beck_plog_slice_release(). */
typedef struct beck_plog_slice {
  int fd;
  int64_t file_pos;
  size_t len;               /* 0 when nothing to read */
  int64_t first_offset;     /* base offset of the first batch */
  int64_t next_offset;      /* offset after the last batch in the slice */
  void *segment;            /* internal reference */
} beck_plog_slice_t;

/* Finds whole batches starting with the batch containing `offset`, up to
 * max_bytes in total, but always at least that first batch whole; batches
 * whose base offset >= max_offset are not returned (pass the high watermark,
 * or INT64_MAX). Returns BECK_ERR_RANGE when offset < start or > end.
 * offset == end gives an empty slice. */
beck_err_t beck_plog_read(beck_plog_t *log, int64_t offset, size_t max_bytes, int64_t max_offset,
                          beck_plog_slice_t *out, beck_error_t *e);
void beck_plog_slice_release(beck_plog_t *log, beck_plog_slice_t *s);
/* Same as beck_plog_read but copies the bytes into out (appended). */
beck_err_t beck_plog_read_copy(beck_plog_t *log, int64_t offset, size_t max_bytes, int64_t max_offset,
                               beck_buf_t *out, beck_error_t *e);

/* First offset whose record timestamp >= ts, with that record's timestamp.
 * BECK_ERR_NOTFOUND when no record qualifies. */
beck_err_t beck_plog_offset_for_time(beck_plog_t *log, int64_t ts, int64_t *offset, int64_t *found_ts,
                                     beck_error_t *e);

/* Removes every batch whose last offset >= offset (cuts at a batch boundary,
 * so the new end offset is <= offset). BECK_ERR_RANGE below the log start. */
beck_err_t beck_plog_truncate(beck_plog_t *log, int64_t offset, beck_error_t *e);

/* DeleteRecords: raises the log start offset to `offset` (<= end), persists
 * it, and deletes segments that lie wholly below it. */
beck_err_t beck_plog_advance_start(beck_plog_t *log, int64_t offset, beck_error_t *e);

/* Rolls a new active segment now (no-op when the active one is empty). */
beck_err_t beck_plog_roll(beck_plog_t *log, beck_error_t *e);

/* Deletes whole sealed segments beyond retention.bytes / retention.ms
 * (age = the segment's largest timestamp). Returns segments deleted in *n. */
beck_err_t beck_plog_enforce_retention(beck_plog_t *log, int64_t now_ms, int32_t *n, beck_error_t *e);

typedef struct beck_plog_compact_stats {
  int64_t records_read;
  int64_t records_kept;
  int64_t bytes_before;
  int64_t bytes_after;
  int64_t tombstones_removed;
} beck_plog_compact_stats_t;

/* Log compaction (cleanup.policy=compact): in sealed segments keep only the
 * latest record per key (latest across the whole log), drop tombstones older
 * than delete_retention_ms, keep offsets (gaps are fine). Records with a null
 * key are kept. */
beck_err_t beck_plog_compact(beck_plog_t *log, int64_t now_ms, beck_plog_compact_stats_t *stats, beck_error_t *e);

/* Full verification: re-reads every batch of every segment and checks its
 * CRC. Corruption fences the log and is reported with segment and offset. */
beck_err_t beck_plog_verify(beck_plog_t *log, beck_error_t *e);

#endif
