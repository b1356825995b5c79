/*
 * diag.c - the problems a load finds: "FILE:LINE:COL: message", kept in
 * the order of their position in the file (ties keep the order found), at
 * most opts->max_errors of them (then one "too many errors" line).
 */
#include "connect/pipeline/pipeline_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(loader_t *ld, uint32_t line, uint32_t col, const char *fmt, va_list ap) {
  beck_pipeline_diags_t *d = ld->diags;
  diag_list_t *l = &d->list;
  if (l->n >= l->max) {
    l->truncated = true;
    return;
  }
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 16;
    beck_pipeline_diag_t *items = beck_realloc(l->items, nc * sizeof *items);
    if (items == NULL) {
      ld->oom = true;
      return;
    }
    l->items = items;
    l->cap = nc;
  }
  char msg[BECK_ERROR_MSG_MAX];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t ml = strlen(msg);
  char *m = beck_arena_alloc(&d->arena, ml + 1);
  size_t tl = strlen(ld->file) + ml + 32;
  char *t = beck_arena_alloc(&d->arena, tl);
  char *f = beck_arena_alloc(&d->arena, strlen(ld->file) + 1);
  if (m == NULL || t == NULL || f == NULL) {
    ld->oom = true;
    return;
  }
  memcpy(m, msg, ml + 1);
  memcpy(f, ld->file, strlen(ld->file) + 1);
  if (line == 0) /* about the file as a whole */
    snprintf(t, tl, "%s: %s", ld->file, msg);
  else
    snprintf(t, tl, "%s:%u:%u: %s", ld->file, line, col, msg);
  l->items[l->n++] = (beck_pipeline_diag_t){f, line, col, m, t};
}

void beck__pl_error(loader_t *ld, uint32_t line, uint32_t col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(ld, line, col, fmt, ap);
  va_end(ap);
}

void beck__pl_error_at(loader_t *ld, const ynode_t *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(ld, n ? n->line : 1, n ? n->col : 1, fmt, ap);
  va_end(ap);
}

void beck__pl_error_pos(loader_t *ld, beck_pipeline_pos_t pos, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(ld, pos.line ? pos.line : 1, pos.col ? pos.col : 1, fmt, ap);
  va_end(ap);
}

size_t beck__pl_error_count(const loader_t *ld) { return ld->diags->list.n + (ld->diags->list.truncated ? 1 : 0); }

void beck__pl_sort_diags(beck_pipeline_diags_t *d) {
  /* insertion sort: stable, and the lists are short (max_errors) */
  diag_list_t *l = &d->list;
  for (size_t i = 1; i < l->n; i++) {
    beck_pipeline_diag_t x = l->items[i];
    size_t j = i;
    while (j > 0 && (l->items[j - 1].line > x.line ||
                     (l->items[j - 1].line == x.line && l->items[j - 1].col > x.col)))
      l->items[j] = l->items[j - 1], j--;
    l->items[j] = x;
  }
}

size_t beck_pipeline_diags_count(const beck_pipeline_diags_t *d) { return d ? d->list.n : 0; }

const beck_pipeline_diag_t *beck_pipeline_diags_get(const beck_pipeline_diags_t *d, size_t i) {
  return d && i < d->list.n ? &d->list.items[i] : NULL;
}

void beck_pipeline_diags_free(beck_pipeline_diags_t *d) {
  if (d == NULL)
    return;
  beck_free(d->list.items);
  beck_arena_destroy(&d->arena);
  beck_free(d);
}
