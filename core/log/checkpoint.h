/*
 * checkpoint.h - the small metadata files of a partition directory (private
 * to core/log). All are text, written atomically and durably (tmp, fdatasync,
 * rename, sync the directory) through beck_env_write_file_atomic().
 *
 *   file               content                            meaning
 *   recovery-point     "OFFSET SEGMENT_BASE POSITION\n"   every offset < OFFSET is on stable
 *                                                          storage; it ends at byte POSITION of
 *                                                          segment SEGMENT_BASE (a batch boundary)
 *   log-start-offset   "OFFSET\n"                         records below OFFSET are deleted
 *                                                          (DeleteRecords); a lower bound, the
 *                                                          first segment's base also bounds it
 *   clean-shutdown     empty                              present only between a clean close
 *                                                          and the next open
 *
 * All numbers are decimal, non-negative, single-space separated. A file that
 * does not parse is reported as BECK_ERR_CORRUPT (the caller decides).
 */
#ifndef BECK_LOG_CHECKPOINT_H
#define BECK_LOG_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/env.h"
#include "base/err.h"

#define BECK_CKPT_FILE "recovery-point"
#define BECK_START_FILE "log-start-offset"
#define BECK_CLEAN_FILE "clean-shutdown"

typedef struct beck_ckpt {
  int64_t offset;   /* offsets below are durable */
  int64_t segment;  /* base offset of the segment holding that point */
  int64_t position; /* byte position of that point in the segment */
} beck_ckpt_t;

/* *present = false (and OK) when the file does not exist. */
beck_err_t beck__ckpt_read(beck_env_t *env, const char *dir, beck_ckpt_t *out, bool *present, beck_error_t *e);
beck_err_t beck__ckpt_write(beck_env_t *env, const char *dir, const beck_ckpt_t *c, beck_error_t *e);

beck_err_t beck__start_offset_read(beck_env_t *env, const char *dir, int64_t *out, bool *present, beck_error_t *e);
beck_err_t beck__start_offset_write(beck_env_t *env, const char *dir, int64_t offset, beck_error_t *e);

bool beck__clean_marker_exists(beck_env_t *env, const char *dir);
beck_err_t beck__clean_marker_write(beck_env_t *env, const char *dir, beck_error_t *e);
/* Unlinks the marker and syncs the directory so it cannot reappear. */
beck_err_t beck__clean_marker_remove(beck_env_t *env, const char *dir, beck_error_t *e);

#endif
