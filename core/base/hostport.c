/*
 * hostport.c - see hostport.h.
 */
#include "base/hostport.h"

#include <stdlib.h>
#include <string.h>

int beck_split_hostport(const char *s, char *host, size_t hn, int *port) {
  const char *colon = strrchr(s, ':');
  if (colon == NULL || colon[1] == '\0')
    return -1;
  char *end;
  long v = strtol(colon + 1, &end, 10);
  if (*end != '\0' || v < 0 || v > 65535)
    return -1;
  size_t len = (size_t)(colon - s);
  if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
    s++;
    len -= 2;
  }
  if (len == 0 || len >= hn)
    return -1;
  memcpy(host, s, len);
  host[len] = '\0';
  *port = (int)v;
  return 0;
}
