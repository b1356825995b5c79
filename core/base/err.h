/*
 * err.h - Beck's local error codes and error messages with context.
 *
 * Two error spaces exist in Beck and are never mixed: this one (beck_err_t,
 * 0 = ok, negative = failure) for everything local, and Kafka's wire error
 * codes (core/proto) for what travels to clients.
 *
 * A beck_error_t carries a code plus a human message. Each layer on the way up
 * prefixes its own context with beck_error_wrap(), so the message a user sees
 * reads like "partition clicks-3: segment 00000000000000081920.log offset
 * 81920: CRC mismatch".
 */
#ifndef BECK_BASE_ERR_H
#define BECK_BASE_ERR_H

#include <stddef.h>

/* X(name, value, message) */
#define BECK_ERR_MAP(X)                                                              \
  X(OK, 0, "success")                                                                \
  X(NOMEM, -1, "out of memory")                                                      \
  X(INVAL, -2, "invalid argument")                                                   \
  X(IO, -3, "input/output error")                                                    \
  X(CORRUPT, -4, "corrupt data")                                                     \
  X(NOTFOUND, -5, "not found")                                                       \
  X(EXISTS, -6, "already exists")                                                    \
  X(RANGE, -7, "offset out of range")                                                \
  X(FENCED, -8, "log is fenced (read-only after an unrecoverable error)")            \
  X(TOOBIG, -9, "too large")                                                         \
  X(NOSPACE, -10, "no space left on device")                                         \
  X(CLOSED, -11, "closed")                                                           \
  X(AGAIN, -12, "try again")                                                         \
  X(UNSUPPORTED, -13, "unsupported")                                                 \
  X(TIMEOUT, -14, "timed out")                                                       \
  X(PARSE, -15, "parse error")                                                       \
  X(STATE, -16, "invalid state")

typedef enum {
#define BECK_ERR_ENUM(name, value, msg) BECK_ERR_##name = value,
  BECK_ERR_MAP(BECK_ERR_ENUM)
#undef BECK_ERR_ENUM
} beck_err_t;

/* Returns the constant's name ("CORRUPT"), or "UNKNOWN". Never NULL. */
const char *beck_err_name(int err);
/* Returns a short English message for the code. Never NULL. */
const char *beck_strerror(int err);
/* Maps an errno value to the closest beck_err_t. */
beck_err_t beck_err_from_errno(int errnum);

#define BECK_ERROR_MSG_MAX 512

/* An error with its context. Value type: embed it, no destroy needed. */
typedef struct beck_error {
  beck_err_t code;
  char msg[BECK_ERROR_MSG_MAX];
} beck_error_t;

/* Resets e to "no error". */
void beck_error_clear(beck_error_t *e);
/* Sets code and message (printf format); returns code so callers can
 * `return beck_error_set(e, ...)`. e may be NULL: then only code is returned. */
beck_err_t beck_error_set(beck_error_t *e, beck_err_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "<context>: "; returns e->code. */
beck_err_t beck_error_wrap(beck_error_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
