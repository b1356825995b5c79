/* tmpdir.c - temporary directories for tests. */
#define _XOPEN_SOURCE 700
#include "tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *beck_test_tmpdir(const char *tag) {
  const char *base = getenv("TMPDIR");
  if (base == NULL || *base == '\0')
    base = "/tmp";
  char *path = malloc(strlen(base) + strlen(tag) + 32);
  if (path == NULL)
    abort();
  sprintf(path, "%s/beck-%s-XXXXXX", base, tag);
  if (mkdtemp(path) == NULL) {
    perror("mkdtemp");
    abort();
  }
  return path;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

void beck_test_rmdir(char *path) {
  if (path == NULL)
    return;
  nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(path);
}
