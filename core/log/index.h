/*
 * index.h - the in-memory sparse offset index and time index of one segment,
 * and their on-disk encodings (private to core/log).
 *
 * On disk (both big-endian, no header, Kafka's layout):
 *
 *   <base>.index       entry = 8 bytes
 *     off size field
 *     0   4    relative offset   batch BaseOffset - segment base
 *     4   4    position          byte position of that batch in the .log file
 *
 *   <base>.timeindex   entry = 12 bytes
 *     off size field
 *     0   8    timestamp T       largest MaxTimestamp of the batches before O
 *     8   4    relative offset O every batch with base offset < base + O has
 *                                MaxTimestamp <= T
 *
 * Invariants (checked when a file is loaded; a file that breaks one is
 * discarded and the index rebuilt from the .log):
 *   - offset entries: relative offsets and positions strictly increasing;
 *     each entry is the start of a batch whose BaseOffset is base + rel.
 *   - time entries: T >= 0 and strictly increasing, O strictly increasing and
 *     <= the segment's next relative offset. Lookup for a target t takes the
 *     last entry with T < t: no record before O can have a timestamp >= t.
 *   - an offset entry is added for the first batch at or after every
 *     index_interval_bytes of batches since the previous entry (Kafka's rule);
 *     a time entry is added (or the last one moved forward) at the same time.
 *     Rebuilding from the .log therefore gives the same entries.
 *   - the index never holds more than max_entries offset entries; a full
 *     index makes the segment roll.
 *
 * The index lives in memory while the segment is open and is written whole
 * (tmp + rename) when the segment rolls and on close; the last time entry
 * written is (segment max timestamp, next relative offset) so that the max
 * timestamp survives a restart. Not thread-safe: the owner (the log mutex)
 * serialises access.
 */
#ifndef BECK_LOG_INDEX_H
#define BECK_LOG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define BECK_INDEX_ENTRY_SIZE 8
#define BECK_TIMEINDEX_ENTRY_SIZE 12

typedef struct beck_index_entry {
  uint32_t rel;
  uint32_t pos;
} beck_index_entry_t;

typedef struct beck_time_entry {
  int64_t ts;
  uint32_t rel;
} beck_time_entry_t;

typedef struct beck_index {
  beck_index_entry_t *off;
  size_t n_off, cap_off;
  beck_time_entry_t *tim;
  size_t n_tim, cap_tim;
  size_t max_entries;  /* offset index capacity (segment.index.bytes / 8) */
  int64_t bytes_since; /* bytes of batches since the last offset entry */
  int64_t max_ts;      /* largest MaxTimestamp of the batches fed so far, -1 none */
  bool dirty;          /* differs from the files on disk */
} beck_index_t;

void beck__index_init(beck_index_t *ix, size_t max_entries);
void beck__index_free(beck_index_t *ix);
/* Forgets every entry (keeps the allocations). */
void beck__index_reset(beck_index_t *ix);

/* Feeds the next batch of the segment, in file order: rel = BaseOffset -
 * segment base, pos its position, size its total size, max_ts its
 * MaxTimestamp. Adds entries following the interval rule. Batches at or
 * before the last offset entry (a resumed scan) only update max_ts and the
 * byte counter. Never fails: when the arrays cannot grow, the entry is
 * skipped (the index is sparse, so correctness does not depend on it). */
void beck__index_feed(beck_index_t *ix, uint32_t rel, uint32_t pos, uint32_t size, int64_t max_ts, int32_t interval);

static inline bool beck__index_full(const beck_index_t *ix) { return ix->n_off >= ix->max_entries; }

/* Position to start scanning for relative offset rel: the last entry with
 * entry.rel <= rel (its rel in *entry_rel), or 0 with *entry_rel = UINT32_MAX
 * when there is none. */
uint32_t beck__index_lookup(const beck_index_t *ix, uint32_t rel, uint32_t *entry_rel);

/* Relative offset from which to scan for the first record with timestamp >=
 * ts: O of the last time entry with T < ts, or 0. */
uint32_t beck__index_time_lookup(const beck_index_t *ix, int64_t ts);

/* Where a resumed scan must start so that feeding the batches from there to
 * the end restores max_ts and bytes_since: the offset-entry position at or
 * before the last time entry, else the last offset entry, else 0. Also resets
 * max_ts to the last time entry's T. */
uint32_t beck__index_resume_pos(beck_index_t *ix);

/* The segment is being cut at position pos: drops the offset entries at or
 * after pos and the time entries past the last remaining offset entry (those
 * may describe cut batches; dropping more than needed only makes the index
 * sparser). max_ts and bytes_since are left as they are: the caller either
 * knows them for the prefix or resumes a scan from beck__index_resume_pos(). */
void beck__index_truncate(beck_index_t *ix, uint32_t pos);

/* Appends the closing time entry (max_ts, next_rel) when it adds anything. */
void beck__index_close_time(beck_index_t *ix, uint32_t next_rel);

/* Encodes the two files into out buffers (owned by the caller, beck_free). */
beck_err_t beck__index_encode(const beck_index_t *ix, uint8_t **off_out, size_t *off_len, uint8_t **tim_out,
                              size_t *tim_len);

/* Decodes and structurally validates file contents: entry sizes, monotonic
 * entries, positions < file_size. Replaces the index's entries. On failure
 * the index is left empty and e says what is wrong. The checks against the
 * .log itself (entries point at batches, time entries within the segment)
 * are the segment's job. */
beck_err_t beck__index_decode(beck_index_t *ix, const uint8_t *off, size_t off_len, const uint8_t *tim,
                              size_t tim_len, int64_t file_size, beck_error_t *e);

#endif
