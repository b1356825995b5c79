/* pgfixture.c - see pgfixture.h. */
#include "pgfixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tmpdir.h"

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t l = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &l) != 0)
    abort();
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

/* Runs a shell command as the postgres user when we are root. */
static int run_as_pg(const char *cmd) {
  char full[4096];
  if (geteuid() == 0)
    snprintf(full, sizeof full, "runuser -u postgres -- sh -c '%s'", cmd);
  else
    snprintf(full, sizeof full, "sh -c '%s'", cmd);
  return system(full);
}

int pgfix_start(pgfix_t *f) {
  memset(f, 0, sizeof *f);
  const char *env = getenv("BECK_PG_BINDIR");
  if (env != NULL) {
    snprintf(f->bindir, sizeof f->bindir, "%s", env);
  } else {
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0)
      return -1;
    snprintf(f->bindir, sizeof f->bindir, "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) - strlen("/initdb")),
             g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
  }
  if (geteuid() == 0 && getpwnam("postgres") == NULL)
    return -1;
  f->dir = beck_test_tmpdir("pg");
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (chown(f->dir, pw->pw_uid, pw->pw_gid) != 0)
      abort();
  }
  snprintf(f->datadir, sizeof f->datadir, "%s/data", f->dir);
  f->port = free_port();
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s/initdb -D %s -A trust -U postgres -E UTF8 --no-sync > %s/initdb.log 2>&1", f->bindir,
           f->datadir, f->dir);
  if (run_as_pg(cmd) != 0) {
    fprintf(stderr, "initdb failed; see %s/initdb.log\n", f->dir);
    abort();
  }
  snprintf(f->conninfo, sizeof f->conninfo, "host=127.0.0.1 port=%d user=postgres dbname=postgres connect_timeout=5",
           f->port);
  pgfix_restart(f);
  return 0;
}

void pgfix_restart(pgfix_t *f) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "%s/pg_ctl -D %s -l %s/server.log -o \"-p %d -k %s -c listen_addresses=127.0.0.1\" -w -t 60 start "
           "> /dev/null 2>&1",
           f->bindir, f->datadir, f->dir, f->port, f->dir);
  if (run_as_pg(cmd) != 0) {
    fprintf(stderr, "pg_ctl start failed; see %s/server.log\n", f->dir);
    abort();
  }
  f->running = 1;
}

void pgfix_stop(pgfix_t *f, const char *mode) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/pg_ctl -D %s -m %s -w -t 60 stop > /dev/null 2>&1", f->bindir, f->datadir, mode);
  run_as_pg(cmd);
  f->running = 0;
}

void pgfix_destroy(pgfix_t *f) {
  if (f->dir == NULL)
    return;
  if (f->running)
    pgfix_stop(f, "fast");
  beck_test_rmdir(f->dir);
  f->dir = NULL;
}

static int query(pgfix_t *f, const char *sql, char *out, size_t cap) {
  char path[600], cmd[8192];
  snprintf(path, sizeof path, "%s/query.sql", f->dir);
  FILE *q = fopen(path, "w");
  assert_non_null(q);
  fputs(sql, q);
  fclose(q);
  snprintf(cmd, sizeof cmd,
           "%s/psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %d -U postgres -d postgres -f %s 2>&1", f->bindir,
           f->port, path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = '\0';
  return pclose(p);
}

const char *pgfix_query(pgfix_t *f, const char *sql) {
  static char out[1 << 16];
  if (query(f, sql, out, sizeof out) != 0)
    fail_msg("psql: %s: %s", sql, out);
  return out;
}

const char *pgfix_query_try(pgfix_t *f, const char *sql) {
  static char out[1 << 16];
  return query(f, sql, out, sizeof out) == 0 ? out : NULL;
}
