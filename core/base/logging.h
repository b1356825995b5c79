/*
 * logging.h - one logging function with context.
 *
 * beck_log(ctx, level, fmt, ...) writes one line to stderr:
 *   2026-11-21T05:00:00.123Z WARN  [broker] listener 127.0.0.1:9092: ...
 * ctx names the component and instance ("log:clicks-3", "sink:postgres:orders").
 * The threshold comes from BECK_LOG_LEVEL (error|warn|info|debug), default info,
 * or beck_log_set_level(). Thread-safe: one write(2) per line.
 */
#ifndef BECK_BASE_LOGGING_H
#define BECK_BASE_LOGGING_H

#include <stdint.h>

typedef enum {
  BECK_LOG_ERROR = 0,
  BECK_LOG_WARN = 1,
  BECK_LOG_INFO = 2,
  BECK_LOG_DEBUG = 3,
} beck_log_level_t;

void beck_log(const char *ctx, beck_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void beck_log_set_level(beck_log_level_t level);
int beck_log_enabled(beck_log_level_t level);

/* Rate limiting for repetitive warnings: at most `burst` lines per
 * `interval_ms`; the next line after a quiet period says how many were
 * suppressed. Zero-initialise one per call site (static is fine). */
typedef struct beck_log_limit {
  int64_t window_start_ms;
  uint32_t in_window;
  uint32_t suppressed;
} beck_log_limit_t;

void beck_log_limited(beck_log_limit_t *lim, uint32_t burst, int64_t interval_ms, const char *ctx,
                      beck_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
