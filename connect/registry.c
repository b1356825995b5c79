/*
 * registry.c - discovers connector plugins on the plugin path.
 *
 * Invariants of a beck_plugin_set_t:
 *   - connector names are unique: the first definition on the search path
 *     wins, a later one becomes a problem line ("... duplicate connector");
 *   - a file that fails to load is a problem line, never a failure of
 *     discovery, so one bad .so does not hide the good ones;
 *   - the same file reached twice (e.g. listed in two path entries) is
 *     loaded once (compared by device and inode);
 *   - directories are scanned in name order, so results are reproducible.
 */
#include "connect_int.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

#ifndef BECK_CONNECT_INSTALL_DIR
#define BECK_CONNECT_INSTALL_DIR "/usr/local/lib/beck/connectors"
#endif

struct beck_plugin_set {
  beck_plugin_t **plugins;
  size_t nplugins;
  struct {
    dev_t dev;
    ino_t ino;
  } * seen;
  size_t nseen;
  const beck_connector_info_t **conns;
  size_t nconns;
  char **problems;
  size_t nproblems;
};

static beck_err_t grow(void **arr, size_t n, size_t elem) {
  /* grows to hold n+1 elements, doubling at powers of two */
  if (n != 0 && (n & (n - 1)) != 0)
    return BECK_ERR_OK;
  size_t cap = n == 0 ? 4 : n * 2;
  if (cap < 4)
    cap = 4;
  void *p = beck_realloc(*arr, cap * elem);
  if (p == NULL)
    return BECK_ERR_NOMEM;
  *arr = p;
  return BECK_ERR_OK;
}

static beck_err_t add_problem(beck_plugin_set_t *s, const char *msg) {
  if (grow((void **)&s->problems, s->nproblems, sizeof *s->problems) != BECK_ERR_OK)
    return BECK_ERR_NOMEM;
  char *copy = beck_strdup(msg);
  if (copy == NULL)
    return BECK_ERR_NOMEM;
  s->problems[s->nproblems++] = copy;
  return BECK_ERR_OK;
}

static beck_err_t add_file(beck_plugin_set_t *s, const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) {
    for (size_t k = 0; k < s->nseen; k++)
      if (s->seen[k].dev == st.st_dev && s->seen[k].ino == st.st_ino)
        return BECK_ERR_OK;
    if (grow((void **)&s->seen, s->nseen, sizeof *s->seen) != BECK_ERR_OK)
      return BECK_ERR_NOMEM;
    s->seen[s->nseen].dev = st.st_dev;
    s->seen[s->nseen].ino = st.st_ino;
    s->nseen++;
  }
  beck_plugin_t *p = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  beck_err_t rc = beck_plugin_open(path, &p, &e);
  if (rc == BECK_ERR_NOMEM)
    return rc;
  if (rc != BECK_ERR_OK)
    return add_problem(s, e.msg);
  if (grow((void **)&s->plugins, s->nplugins, sizeof *s->plugins) != BECK_ERR_OK) {
    beck_plugin_close(p);
    return BECK_ERR_NOMEM;
  }
  s->plugins[s->nplugins++] = p;
  for (uint32_t k = 0; k < beck_plugin_connector_count(p); k++) {
    const beck_connector_info_t *c = beck_plugin_connector(p, k);
    const beck_connector_info_t *prev = beck_plugin_set_find(s, c->name);
    if (prev != NULL) {
      char msg[BECK_ERROR_MSG_MAX];
      snprintf(msg, sizeof msg, "plugin %s: duplicate connector %s (already loaded from %s); ignored", path, c->name,
               prev->path);
      if (add_problem(s, msg) != BECK_ERR_OK)
        return BECK_ERR_NOMEM;
      continue;
    }
    if (grow((void **)&s->conns, s->nconns, sizeof *s->conns) != BECK_ERR_OK)
      return BECK_ERR_NOMEM;
    s->conns[s->nconns++] = c;
  }
  return BECK_ERR_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool ends_with_so(const char *name) {
  size_t l = strlen(name);
  return l > 3 && strcmp(name + l - 3, ".so") == 0;
}

static beck_err_t add_dir(beck_plugin_set_t *s, const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return BECK_ERR_OK; /* a missing directory on the path is fine */
  char **names = NULL;
  size_t n = 0;
  beck_err_t rc = BECK_ERR_OK;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (!ends_with_so(ent->d_name))
      continue;
    if (grow((void **)&names, n, sizeof *names) != BECK_ERR_OK || (names[n] = beck_strdup(ent->d_name)) == NULL) {
      rc = BECK_ERR_NOMEM;
      break;
    }
    n++;
  }
  closedir(d);
  if (rc == BECK_ERR_OK && n > 0)
    qsort(names, n, sizeof *names, cmp_str);
  for (size_t k = 0; k < n; k++) {
    if (rc == BECK_ERR_OK) {
      size_t len = strlen(dir) + strlen(names[k]) + 2;
      char *path = beck_malloc(len);
      if (path == NULL) {
        rc = BECK_ERR_NOMEM;
      } else {
        snprintf(path, len, "%s/%s", dir, names[k]);
        rc = add_file(s, path);
        beck_free(path);
      }
    }
    beck_free(names[k]);
  }
  beck_free(names);
  return rc;
}

static beck_err_t add_entry(beck_plugin_set_t *s, const char *entry) {
  struct stat st;
  if (stat(entry, &st) != 0) {
    if (ends_with_so(entry)) {
      char msg[BECK_ERROR_MSG_MAX];
      snprintf(msg, sizeof msg, "plugin %s: no such file", entry);
      return add_problem(s, msg);
    }
    return BECK_ERR_OK;
  }
  if (S_ISDIR(st.st_mode))
    return add_dir(s, entry);
  return add_file(s, entry);
}

static beck_err_t add_path_list(beck_plugin_set_t *s, const char *list) {
  if (list == NULL)
    return BECK_ERR_OK;
  char *copy = beck_strdup(list);
  if (copy == NULL)
    return BECK_ERR_NOMEM;
  beck_err_t rc = BECK_ERR_OK;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ":", &save); tok != NULL && rc == BECK_ERR_OK; tok = strtok_r(NULL, ":", &save))
    if (*tok != '\0')
      rc = add_entry(s, tok);
  beck_free(copy);
  return rc;
}

static char builtin_dir[PATH_MAX];
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

/* <dir of /proc/self/exe>/../lib/beck/connectors when it exists (the build
 * tree and an installed prefix both look like that), else the install dir. */
static void init_builtin_dir(void) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL) {
      *slash = '\0';
      char cand[PATH_MAX + 32];
      snprintf(cand, sizeof cand, "%s/../lib/beck/connectors", exe);
      struct stat st;
      if (realpath(cand, builtin_dir) != NULL && stat(builtin_dir, &st) == 0 && S_ISDIR(st.st_mode))
        return;
    }
  }
  snprintf(builtin_dir, sizeof builtin_dir, "%s", BECK_CONNECT_INSTALL_DIR);
}

const char *beck_plugin_builtin_dir(void) {
  pthread_once(&builtin_once, init_builtin_dir);
  return builtin_dir;
}

beck_err_t beck_plugin_set_discover(const char *extra_path, int no_builtin, beck_plugin_set_t **out, beck_error_t *e) {
  *out = NULL;
  beck_plugin_set_t *s = beck_calloc(1, sizeof *s);
  if (s == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "plugin discovery: out of memory");
  beck_err_t rc = add_path_list(s, extra_path);
  if (rc == BECK_ERR_OK)
    rc = add_path_list(s, getenv("BECK_PLUGIN_PATH"));
  if (rc == BECK_ERR_OK && !no_builtin)
    rc = add_path_list(s, beck_plugin_builtin_dir());
  if (rc != BECK_ERR_OK) {
    beck_plugin_set_free(s);
    return beck_error_set(e, rc, "plugin discovery: out of memory");
  }
  *out = s;
  return BECK_ERR_OK;
}

void beck_plugin_set_free(beck_plugin_set_t *s) {
  if (s == NULL)
    return;
  for (size_t k = 0; k < s->nplugins; k++)
    beck_plugin_close(s->plugins[k]);
  for (size_t k = 0; k < s->nproblems; k++)
    beck_free(s->problems[k]);
  beck_free(s->plugins);
  beck_free(s->problems);
  beck_free(s->conns);
  beck_free(s->seen);
  beck_free(s);
}

size_t beck_plugin_set_count(const beck_plugin_set_t *s) { return s->nconns; }

const beck_connector_info_t *beck_plugin_set_get(const beck_plugin_set_t *s, size_t i) {
  return i < s->nconns ? s->conns[i] : NULL;
}

const beck_connector_info_t *beck_plugin_set_find(const beck_plugin_set_t *s, const char *name) {
  for (size_t k = 0; k < s->nconns; k++)
    if (strcmp(s->conns[k]->name, name) == 0)
      return s->conns[k];
  return NULL;
}

size_t beck_plugin_set_problem_count(const beck_plugin_set_t *s) { return s->nproblems; }

const char *beck_plugin_set_problem(const beck_plugin_set_t *s, size_t i) {
  return i < s->nproblems ? s->problems[i] : NULL;
}
