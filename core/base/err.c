/* err.c - names and messages for beck_err_t, and context-carrying errors. */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *beck_err_name(int err) {
  switch (err) {
#define BECK_ERR_NAME(name, value, msg) \
  case value:                           \
    return #name;
    BECK_ERR_MAP(BECK_ERR_NAME)
#undef BECK_ERR_NAME
  }
  return "UNKNOWN";
}

const char *beck_strerror(int err) {
  switch (err) {
#define BECK_ERR_STR(name, value, msg) \
  case value:                          \
    return msg;
    BECK_ERR_MAP(BECK_ERR_STR)
#undef BECK_ERR_STR
  }
  return "unknown error";
}

beck_err_t beck_err_from_errno(int errnum) {
  switch (errnum) {
  case 0: return BECK_ERR_OK;
  case ENOMEM: return BECK_ERR_NOMEM;
  case EINVAL: return BECK_ERR_INVAL;
  case ENOENT: return BECK_ERR_NOTFOUND;
  case EEXIST: return BECK_ERR_EXISTS;
  case ENOSPC:
  case EDQUOT: return BECK_ERR_NOSPACE;
  case EAGAIN: return BECK_ERR_AGAIN;
  case EFBIG: return BECK_ERR_TOOBIG;
  default: return BECK_ERR_IO;
  }
}

void beck_error_clear(beck_error_t *e) {
  e->code = BECK_ERR_OK;
  e->msg[0] = '\0';
}

beck_err_t beck_error_set(beck_error_t *e, beck_err_t code, const char *fmt, ...) {
  if (e == NULL)
    return code;
  va_list ap;
  va_start(ap, fmt);
  e->code = code;
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return code;
}

beck_err_t beck_error_wrap(beck_error_t *e, const char *fmt, ...) {
  if (e == NULL)
    return BECK_ERR_INVAL;
  char prefix[BECK_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n < 0)
    return e->code;
  char old[BECK_ERROR_MSG_MAX];
  memcpy(old, e->msg, sizeof old);
  /* Truncation is acceptable: the innermost detail is cut first. Copied by
   * hand because gcc's -Wformat-truncation cannot see that. */
  const char *inner = old[0] ? old : beck_strerror(e->code);
  size_t plen = strlen(prefix), ilen = strlen(inner), cap = sizeof e->msg - 1, pos = 0;
  for (size_t i = 0; i < plen && pos < cap; i++)
    e->msg[pos++] = prefix[i];
  for (size_t i = 0; i < 2 && pos < cap; i++)
    e->msg[pos++] = ": "[i];
  for (size_t i = 0; i < ilen && pos < cap; i++)
    e->msg[pos++] = inner[i];
  e->msg[pos] = '\0';
  return e->code;
}
