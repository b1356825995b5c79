/* logging.c - timestamped, leveled, rate-limitable log lines on stderr. */
#include "base/logging.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int threshold = -1;
static pthread_mutex_t limit_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *level_names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

static int current_threshold(void) {
  if (threshold < 0) {
    const char *s = getenv("BECK_LOG_LEVEL");
    int t = BECK_LOG_INFO;
    if (s) {
      if (strcasecmp(s, "error") == 0)
        t = BECK_LOG_ERROR;
      else if (strcasecmp(s, "warn") == 0)
        t = BECK_LOG_WARN;
      else if (strcasecmp(s, "debug") == 0)
        t = BECK_LOG_DEBUG;
    }
    threshold = t;
  }
  return threshold;
}

void beck_log_set_level(beck_log_level_t level) { threshold = (int)level; }

int beck_log_enabled(beck_log_level_t level) { return (int)level <= current_threshold(); }

static void vlog(const char *ctx, beck_log_level_t level, const char *fmt, va_list ap) {
  char line[2048];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] ", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                   level_names[level], ctx ? ctx : "beck");
  if (n < 0 || (size_t)n >= sizeof line)
    n = 0;
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof line - 2)
    len = sizeof line - 2;
  line[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, len);
  (void)w;
}

void beck_log(const char *ctx, beck_log_level_t level, const char *fmt, ...) {
  if (!beck_log_enabled(level))
    return;
  va_list ap;
  va_start(ap, fmt);
  vlog(ctx, level, fmt, ap);
  va_end(ap);
}

void beck_log_limited(beck_log_limit_t *lim, uint32_t burst, int64_t interval_ms, const char *ctx,
                      beck_log_level_t level, const char *fmt, ...) {
  if (!beck_log_enabled(level))
    return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  uint32_t suppressed = 0;
  pthread_mutex_lock(&limit_mu);
  if (now - lim->window_start_ms >= interval_ms) {
    suppressed = lim->suppressed;
    lim->window_start_ms = now;
    lim->in_window = 0;
    lim->suppressed = 0;
  }
  int emit = lim->in_window < burst;
  if (emit)
    lim->in_window++;
  else
    lim->suppressed++;
  pthread_mutex_unlock(&limit_mu);
  if (!emit)
    return;
  if (suppressed)
    beck_log(ctx, level, "(%u similar messages suppressed)", suppressed);
  va_list ap;
  va_start(ap, fmt);
  vlog(ctx, level, fmt, ap);
  va_end(ap);
}
