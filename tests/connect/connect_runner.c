/*
 * connect_runner.c - runs a Connect worker over an embedded data directory
 * until SIGTERM/SIGINT (then stops gracefully: sinks flush and commit). For
 * tests that kill the worker process (kill -9) and restart it.
 *
 *   connect_runner DATA_DIR CONFIG...
 *
 * Each CONFIG file holds one connector as key=value lines ('#' comments).
 * Exits 0 after a graceful stop, 1 on a configuration error, 2 when a
 * connector failed (its status is printed). With $BECK_RUNNER_READY set,
 * creates that file once every connector has been started (tests wait for
 * it before they signal the runner).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/logging.h"
#include "client/client.h"
#include "connect/worker.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = sig; }

static int load(beck_connect_worker_t *w, const char *path, char *name, size_t namelen) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  char *keys[128], *vals[128], line[4096];
  int n = 0;
  while (n < 128 && fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0')
      continue;
    char *eq = strchr(line, '=');
    if (eq == NULL)
      continue;
    *eq = '\0';
    keys[n] = strdup(line);
    vals[n] = strdup(eq + 1);
    if (strcmp(keys[n], "name") == 0)
      snprintf(name, namelen, "%s", vals[n]);
    n++;
  }
  fclose(f);
  beck_error_t e;
  int rc = beck_connect_worker_add(w, (const char *const *)keys, (const char *const *)vals, n, &e);
  if (rc != BECK_ERR_OK)
    fprintf(stderr, "%s: %s\n", path, e.msg);
  for (int k = 0; k < n; k++) {
    free(keys[k]);
    free(vals[k]);
  }
  return rc == BECK_ERR_OK ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s DATA_DIR CONFIG...\n", argv[0]);
    return 1;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  beck_error_t e;
  beck_client_t *c = NULL;
  if (beck_client_open_embedded(argv[1], &c, &e) != BECK_ERR_OK) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  beck_connect_worker_config_t cfg = {.client = c};
  beck_connect_worker_t *w = NULL;
  if (beck_connect_worker_new(&cfg, &w, &e) != BECK_ERR_OK) {
    fprintf(stderr, "%s\n", e.msg);
    beck_client_close(c);
    return 1;
  }
  char names[16][128];
  int n = 0;
  for (int k = 2; k < argc && n < 16; k++, n++)
    if (load(w, argv[k], names[n], sizeof names[n]) != 0) {
      beck_connect_worker_free(w);
      beck_client_close(c);
      return 1;
    }
  for (int k = 0; k < n; k++)
    if (beck_connect_worker_start(w, names[k], &e) != BECK_ERR_OK)
      fprintf(stderr, "%s\n", e.msg);
  const char *ready = getenv("BECK_RUNNER_READY");
  if (ready != NULL) {
    FILE *r = fopen(ready, "w");
    if (r != NULL)
      fclose(r);
  }
  int failed = 0;
  while (!stop && !failed) {
    usleep(50000);
    for (int k = 0; k < n; k++) {
      beck_connect_status_t st;
      if (beck_connect_worker_status(w, names[k], &st, &e) == BECK_ERR_OK && st.state == BECK_CONNECT_FAILED) {
        fprintf(stderr, "connector %s FAILED: %s\n", names[k], st.error);
        failed = 1;
      }
    }
  }
  beck_connect_worker_free(w);
  beck_client_close(c);
  return failed ? 2 : 0;
}
