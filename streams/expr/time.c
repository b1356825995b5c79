/*
 * time.c - durations ("500ms", "1h30m") and RFC 3339 times, shared by the
 * expression language (duration literals, parse_time, format_time) and the
 * pipeline loader (grace: 10s, timestamps in tests).
 *
 * Times are int64 milliseconds since 1970-01-01T00:00:00Z (the Kafka record
 * timestamp). Calendar arithmetic is proleptic Gregorian, done with
 * integer day counts (Howard Hinnant's days_from_civil), so it needs no time
 * zone database and never depends on the process's TZ.
 */
#include "streams/expr/expr_int.h"

#include <inttypes.h>
#include <stdio.h>

static bool digit(char c) { return c >= '0' && c <= '9'; }

int beck_parse_duration(const char *s, size_t len, int64_t *ms) {
  size_t i = 0;
  int64_t total = 0;
  if (len == 0)
    return -1;
  while (i < len) {
    if (!digit(s[i]))
      return -1;
    int64_t n = 0;
    while (i < len && digit(s[i])) {
      if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, s[i] - '0', &n))
        return -1;
      i++;
    }
    int64_t unit;
    if (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') {
      unit = 1;
      i += 2;
    } else if (i < len && s[i] == 's') {
      unit = 1000;
      i++;
    } else if (i < len && s[i] == 'm') {
      unit = 60 * 1000;
      i++;
    } else if (i < len && s[i] == 'h') {
      unit = 3600 * 1000;
      i++;
    } else if (i < len && s[i] == 'd') {
      unit = 86400 * 1000;
      i++;
    } else {
      return -1;
    }
    if (__builtin_mul_overflow(n, unit, &n) || __builtin_add_overflow(total, n, &total))
      return -1;
  }
  *ms = total;
  return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool num(const char *s, size_t len, size_t *i, int width, int *out) {
  int v = 0;
  for (int k = 0; k < width; k++) {
    if (*i >= len || !digit(s[*i]))
      return false;
    v = v * 10 + (s[*i] - '0');
    (*i)++;
  }
  *out = v;
  return true;
}

static unsigned days_in_month(int y, int m) {
  static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dm[m - 1];
}

int beck_parse_time(const char *s, size_t len, int64_t *ms) {
  size_t i = 0;
  int y, mo, d, h, mi, sec, frac = 0;
  if (!num(s, len, &i, 4, &y) || i >= len || s[i++] != '-' || !num(s, len, &i, 2, &mo) || i >= len ||
      s[i++] != '-' || !num(s, len, &i, 2, &d))
    return -1;
  if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
    return -1;
  i++;
  if (!num(s, len, &i, 2, &h) || i >= len || s[i++] != ':' || !num(s, len, &i, 2, &mi) || i >= len ||
      s[i++] != ':' || !num(s, len, &i, 2, &sec))
    return -1;
  if (i < len && s[i] == '.') {
    i++;
    int nd = 0;
    while (i < len && digit(s[i])) {
      if (nd < 3)
        frac = frac * 10 + (s[i] - '0');
      nd++;
      i++;
    }
    if (nd == 0)
      return -1;
    for (; nd < 3; nd++)
      frac *= 10;
  }
  int off = 0;
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < len && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i++] == '-' ? -1 : 1, oh, om;
    if (!num(s, len, &i, 2, &oh) || i >= len || s[i++] != ':' || !num(s, len, &i, 2, &om) || oh > 23 || om > 59)
      return -1;
    off = sign * (oh * 60 + om);
  } else {
    return -1;
  }
  if (i != len || mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
    return -1;
  int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60;
  *ms = secs * 1000 + frac;
  return 0;
}

size_t beck_format_time(int64_t ms, char *buf, size_t cap) {
  /* floor division so times before 1970 format correctly */
  int64_t secs = ms / 1000, milli = ms % 1000;
  if (milli < 0) {
    milli += 1000;
    secs--;
  }
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  int n;
  if (milli != 0)
    n = snprintf(buf, cap, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / 3600),
                 (int)(rem / 60 % 60), (int)(rem % 60), (int)milli);
  else
    n = snprintf(buf, cap, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int)(rem / 3600),
                 (int)(rem / 60 % 60), (int)(rem % 60));
  if (n < 0)
    return 0;
  return (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;
}
