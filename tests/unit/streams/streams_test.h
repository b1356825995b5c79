/*
 * streams_test.h - helpers shared by the streams unit tests: records from C
 * strings, one-call piping, and the exact text form of a topic's output
 * ("key:value@timestamp" lines) that tests compare against.
 */
#ifndef BECK_TESTS_STREAMS_TEST_H
#define BECK_TESTS_STREAMS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beck/streams.h"

/* A record of NUL-terminated strings; NULL key or value means null. */
static inline beck_srec_t R(const char *key, const char *value, int64_t ts) {
  beck_srec_t r = {0};
  r.key = key ? beck_nstr(key, (int32_t)strlen(key)) : beck_nstr_null();
  r.value = value ? beck_nstr(value, (int32_t)strlen(value)) : beck_nstr_null();
  r.timestamp = ts;
  return r;
}

/* Fails the test with e's message when call does not return BECK_ERR_OK. */
#define ST_OK(e, call)                                                                                                 \
  do {                                                                                                                 \
    beck_error_clear(&(e));                                                                                            \
    beck_err_t st_rc_ = (call);                                                                                        \
    if (st_rc_ != BECK_ERR_OK)                                                                                         \
      fail_msg("%s: %s (%s)", #call, (e).msg, beck_err_name(st_rc_));                                                  \
  } while (0)

static inline beck_err_t st_pipe(beck_test_driver_t *d, const char *topic, const char *key, const char *value,
                                 int64_t ts, beck_error_t *e) {
  beck_srec_t r = R(key, value, ts);
  return beck_test_driver_pipe(d, topic, &r, 1, e);
}

/* Appends bytes, printable as they are, others as \xNN; null as "null". */
static inline void st_fmt_bytes(char **p, char *end, const uint8_t *b, int32_t len) {
  if (len < 0 || (b == NULL && len > 0)) {
    *p += snprintf(*p, (size_t)(end - *p), "null");
    return;
  }
  for (int32_t i = 0; i < len && *p < end - 5; i++) {
    if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\')
      *(*p)++ = (char)b[i];
    else
      *p += snprintf(*p, (size_t)(end - *p), "\\x%02x", b[i]);
  }
  **p = '\0';
}

typedef enum { ST_KEY_PLAIN, ST_KEY_TIME_WINDOW, ST_KEY_SESSION_WINDOW } st_key_fmt_t;

/* Reads every unread record of topic into a static buffer, one line each:
 *   plain            key:value@ts
 *   time windows     key[start]:value@ts          (key ++ be64 start)
 *   session windows  key[start,end]:value@ts      (key ++ be64 end ++ be64 start)
 * Lines end with '\n'. */
static inline const char *st_drain_fmt(beck_test_driver_t *d, const char *topic, st_key_fmt_t kf) {
  static char buf[1 << 16];
  char *p = buf, *end = buf + sizeof buf;
  *p = '\0';
  beck_srec_t r;
  int rc;
  while ((rc = beck_test_driver_read(d, topic, &r, NULL)) == 1) {
    int32_t kl = r.key.len;
    int64_t ws = 0, we = 0;
    if (kf == ST_KEY_TIME_WINDOW && kl >= 8) {
      kl -= 8;
      ws = (int64_t)beck_load_be64(r.key.ptr + kl);
    } else if (kf == ST_KEY_SESSION_WINDOW && kl >= 16) {
      kl -= 16;
      we = (int64_t)beck_load_be64(r.key.ptr + kl);
      ws = (int64_t)beck_load_be64(r.key.ptr + kl + 8);
    }
    st_fmt_bytes(&p, end, r.key.ptr, kl);
    if (kf == ST_KEY_TIME_WINDOW)
      p += snprintf(p, (size_t)(end - p), "[%lld]", (long long)ws);
    else if (kf == ST_KEY_SESSION_WINDOW)
      p += snprintf(p, (size_t)(end - p), "[%lld,%lld]", (long long)ws, (long long)we);
    *p++ = ':';
    st_fmt_bytes(&p, end, r.value.ptr, r.value.len);
    p += snprintf(p, (size_t)(end - p), "@%lld\n", (long long)r.timestamp);
  }
  if (rc < 0)
    snprintf(buf, sizeof buf, "<no topic %s>", topic);
  return buf;
}

static inline const char *st_drain(beck_test_driver_t *d, const char *topic) {
  return st_drain_fmt(d, topic, ST_KEY_PLAIN);
}

#define ST_EXPECT(d, topic, expected) assert_string_equal(st_drain((d), (topic)), (expected))

/* A driver over t (1 partition unless parts > 0); fails the test on error. */
static inline beck_test_driver_t *st_driver(beck_topology_t *t, int32_t parts, const char *state_dir) {
  if (beck_topology_error(t)->code != BECK_ERR_OK)
    fail_msg("topology: %s", beck_topology_error(t)->msg);
  beck_test_driver_config_t cfg = {.partitions = parts, .state_dir = state_dir};
  beck_test_driver_t *d = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  if (beck_test_driver_new(t, &cfg, &d, &e) != BECK_ERR_OK)
    fail_msg("driver: %s", e.msg);
  return d;
}

#endif
