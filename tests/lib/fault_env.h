/*
 * fault_env.h - a fault-injecting beck_env_t for storage tests.
 *
 * Wraps beck_env_default() (real files) and adds: failing the Nth call of
 * an operation from now with a chosen errno, short writes (half the bytes
 * land, then the call fails), a fake wall clock, a delay in fdatasync (so
 * concurrent syncs overlap), and counters of calls and bytes.
 *
 * Faults and counters can be limited to files whose path ends with a
 * suffix (e.g. ".log" to count only segment fsyncs, not checkpoint files);
 * sync_dir is always counted and never filtered. Thread-safe.
 */
#ifndef BECK_TESTS_FAULT_ENV_H
#define BECK_TESTS_FAULT_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "base/env.h"

typedef enum {
  BECK_FAULT_OPEN = 0,
  BECK_FAULT_PREAD,
  BECK_FAULT_PWRITE,
  BECK_FAULT_FDATASYNC,
  BECK_FAULT_FTRUNCATE,
  BECK_FAULT_RENAME,
  BECK_FAULT_UNLINK,
  BECK_FAULT_SYNC_DIR,
  BECK_FAULT_OP_COUNT
} beck_fault_op_t;

typedef struct beck_fault_env beck_fault_env_t;

beck_fault_env_t *beck_fault_env_new(void);
void beck_fault_env_free(beck_fault_env_t *f);
/* The env to hand to the code under test (valid until free). */
beck_env_t *beck_fault_env(beck_fault_env_t *f);

/* Only files whose path ends with suffix are counted and faulted; NULL = all. */
void beck_fault_env_set_suffix(beck_fault_env_t *f, const char *suffix);

/* The nth matching call of op from now (1 = the next) fails with -err.
 * With `sticky`, that call and every later one fail (a dead disk). */
void beck_fault_env_fail(beck_fault_env_t *f, beck_fault_op_t op, long nth, int err, bool sticky);
/* The nth matching pwrite from now writes only the first half of its bytes,
 * then fails with -err. */
void beck_fault_env_short_write(beck_fault_env_t *f, long nth, int err);
/* Removes every armed fault. */
void beck_fault_env_clear(beck_fault_env_t *f);

long beck_fault_env_count(beck_fault_env_t *f, beck_fault_op_t op); /* matching calls, failed ones included */
int64_t beck_fault_env_bytes(beck_fault_env_t *f, beck_fault_op_t op); /* bytes asked of pread / pwrite */
void beck_fault_env_reset_counts(beck_fault_env_t *f);

/* Fake wall clock: now_ms returns this from now on (monotonic_ns is real). */
void beck_fault_env_set_time(beck_fault_env_t *f, int64_t now_ms);
void beck_fault_env_advance(beck_fault_env_t *f, int64_t ms);

/* Every matching fdatasync sleeps this long first (0 = off). */
void beck_fault_env_set_sync_delay_us(beck_fault_env_t *f, long us);

#endif
