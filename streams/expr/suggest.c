/*
 * suggest.c - "did you mean" for misspelled names: functions, roots, and
 * (through the pipeline loader) keys, steps and connector options.
 *
 * Distance is optimal string alignment (Levenshtein plus adjacent
 * transposition, so "windw" -> "window" and "vlaue" -> "value" are 1). A
 * candidate is suggested when its distance is at most 2 and less than half
 * the longer name's length, so short unrelated words are not proposed; ties
 * go to the first candidate.
 */
#include "streams/expr/expr_int.h"

#include <ctype.h>
#include <string.h>

#define SUGGEST_MAX_LEN 64

static size_t osa_distance(const char *a, size_t la, const char *b, size_t lb) {
  size_t d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
      size_t best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best)
        best = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < best)
        best = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

const char *beck_did_you_mean(const char *name, size_t len, const char *const *candidates, size_t n) {
  if (len == 0 || len > SUGGEST_MAX_LEN)
    return NULL;
  const char *best = NULL;
  size_t best_d = (size_t)-1;
  for (size_t i = 0; i < n; i++) {
    const char *c = candidates[i];
    if (c == NULL)
      continue;
    size_t lc = strlen(c);
    if (lc == 0 || lc > SUGGEST_MAX_LEN)
      continue;
    size_t dist = osa_distance(name, len, c, lc);
    size_t longer = lc > len ? lc : len;
    if (dist <= 2 && dist * 2 < longer && dist < best_d) {
      best = c;
      best_d = dist;
    }
  }
  return best;
}
