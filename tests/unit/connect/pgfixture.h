/*
 * pgfixture.h - a real PostgreSQL server for tests: initdb + pg_ctl on a
 * temporary directory and a free port, as the `postgres` user when the
 * tests run as root (initdb refuses root). Stopped and removed at the end.
 */
#ifndef BECK_TESTS_CONNECT_PGFIXTURE_H
#define BECK_TESTS_CONNECT_PGFIXTURE_H

typedef struct pgfix {
  char *dir;
  char bindir[256];
  char datadir[512];
  int port;
  char conninfo[256];
  int running;
} pgfix_t;

/* Finds the server binaries, initdb's and starts a server. Returns 0, or -1
 * when PostgreSQL is not installed (the caller skips) - other failures abort. */
int pgfix_start(pgfix_t *f);
/* pg_ctl stop with mode "fast" or "immediate". */
void pgfix_stop(pgfix_t *f, const char *mode);
/* Starts the stopped server again on the same port. */
void pgfix_restart(pgfix_t *f);
/* Stops (if running) and removes everything. */
void pgfix_destroy(pgfix_t *f);
/* Runs SQL through psql; returns the unaligned output (static buffer) with
 * rows separated by newlines and columns by '|'. Fails the test on error. */
const char *pgfix_query(pgfix_t *f, const char *sql);
/* Same, but returns NULL on error instead of failing. */
const char *pgfix_query_try(pgfix_t *f, const char *sql);

#endif
