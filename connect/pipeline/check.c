/*
 * check.c - the checks that need the whole file: topic and table
 * references, cycles between streams, test inputs and outputs, and
 * connectors against their config schemas.
 *
 * Topics: a topic is known when something in the file writes it (a source's
 * topic, a stream's to, a branch's to, a window's late topic) or `topics:`
 * lists it. Every topic read (a stream's from, merge, a stream-stream join, a
 * table's from, a sink's from, a test's expected output) must be known.
 *
 * Cycles: streams form a graph from the topics each reads to the topics it
 * writes; a cycle (a stream reading, directly or through others, what it
 * writes) would feed records back forever. Found by an iterative depth-first
 * search; each back edge is reported once, at the write that closes it.
 */
#include "connect/pipeline/pipeline_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- known names ---- */

/* A set of names: pushed in any order, then sealed (sorted, duplicates
 * removed) for binary search, so checks stay O(n log n) on big files. */
typedef struct names {
  const char **v;
  size_t n, cap;
} names_t;

static void names_push(loader_t *ld, names_t *s, const char *name) {
  if (name == NULL)
    return;
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 32;
    const char **v = beck_realloc(s->v, nc * sizeof *v);
    if (v == NULL) {
      ld->oom = true;
      return;
    }
    s->v = v;
    s->cap = nc;
  }
  s->v[s->n++] = name;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void names_seal(names_t *s) {
  if (s->n == 0)
    return;
  qsort(s->v, s->n, sizeof *s->v, cmp_str);
  size_t w = 1;
  for (size_t i = 1; i < s->n; i++)
    if (strcmp(s->v[i], s->v[w - 1]) != 0)
      s->v[w++] = s->v[i];
  s->n = w;
}

static size_t names_index(const names_t *s, const char *name) {
  if (s->n == 0)
    return (size_t)-1;
  const char **hit = bsearch(&name, s->v, s->n, sizeof *s->v, cmp_str);
  return hit ? (size_t)(hit - s->v) : (size_t)-1;
}

static bool names_has(const names_t *s, const char *name) { return names_index(s, name) != (size_t)-1; }

static void unknown_topic(loader_t *ld, const ref_t *r, const names_t *topics, const char *what) {
  const char *s = beck_did_you_mean(r->name, strlen(r->name), topics->v, topics->n);
  if (s != NULL)
    beck__pl_error_pos(ld, r->pos, "unknown %s '%.100s' (did you mean '%s'?)", what, r->name, s);
  else
    beck__pl_error_pos(ld, r->pos,
                       "unknown %s '%.100s'; expected a topic that a source or a stream writes, or one listed under "
                       "'topics:'",
                       what, r->name);
}

/* ---- cycles ---- */

typedef struct edge {
  size_t from, to;
  const ref_t *at; /* the write that makes the edge */
} edge_t;

static int cmp_edge(const void *a, const void *b) {
  const edge_t *x = a, *y = b;
  if (x->from != y->from)
    return x->from < y->from ? -1 : 1;
  return x->at < y->at ? -1 : x->at > y->at;
}

static void report_cycle(loader_t *ld, const names_t *topics, const size_t *path, size_t depth, size_t start,
                         const ref_t *at) {
  char buf[400];
  size_t len = 0, n = depth - start;
  buf[0] = '\0';
  for (size_t i = start; i < depth && len < sizeof buf; i++) {
    size_t k = i - start;
    if (n > 8 && k == 3) { /* a long cycle: the first three, ..., the last two */
      len += (size_t)snprintf(buf + len, sizeof buf - len, "... (%zu more) -> ", n - 5);
      i = depth - 3;
      continue;
    }
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%.60s -> ", topics->v[path[i]]);
  }
  if (len < sizeof buf)
    snprintf(buf + len, sizeof buf - len, "%.60s", topics->v[path[start]]);
  beck__pl_error_pos(ld, at->pos,
                     "streams form a cycle: %s; expected topics to flow one way (a stream may not read, directly or "
                     "through other streams, a topic it writes)",
                     buf);
}

static void check_cycles(loader_t *ld, const names_t *topics) {
  /* edges: for each stream, every topic it reads -> every topic it writes;
   * refs are bucketed by stream first so this is linear in the edges */
  size_t nstreams = ld->p->nstreams;
  size_t *start = beck_calloc(nstreams + 2, sizeof *start), *order = beck_calloc(ld->nrefs + 1, sizeof *order);
  edge_t *edges = NULL;
  size_t ne = 0, cap = 0;
  if (start == NULL || order == NULL) {
    ld->oom = true;
    goto done;
  }
  for (size_t a = 0; a < ld->nrefs; a++)
    if (ld->refs[a].stream >= 0 && (size_t)ld->refs[a].stream < nstreams)
      start[ld->refs[a].stream + 1]++;
  for (size_t i = 1; i <= nstreams + 1; i++)
    start[i] += start[i - 1];
  {
    size_t *fill = beck_calloc(nstreams + 1, sizeof *fill);
    if (fill == NULL) {
      ld->oom = true;
      goto done;
    }
    for (size_t a = 0; a < ld->nrefs; a++) {
      int st = ld->refs[a].stream;
      if (st >= 0 && (size_t)st < nstreams)
        order[start[st] + fill[st]++] = a;
    }
    beck_free(fill);
  }
  for (size_t st = 0; st < nstreams; st++) {
    for (size_t x = start[st]; x < start[st + 1]; x++) {
      const ref_t *in = &ld->refs[order[x]];
      bool reads = in->role == REF_CONSUME ||
                   (in->role == REF_JOIN && in->target && !((beck_pipeline_step_t *)in->target)->u.join.with_table);
      if (!reads)
        continue;
      size_t f = names_index(topics, in->name);
      if (f == (size_t)-1)
        continue;
      for (size_t y = start[st]; y < start[st + 1]; y++) {
        const ref_t *out = &ld->refs[order[y]];
        if (out->role != REF_PRODUCE)
          continue;
        size_t t = names_index(topics, out->name);
        if (t == (size_t)-1)
          continue;
        if (ne == cap) {
          size_t nc = cap ? cap * 2 : 32;
          edge_t *e = beck_realloc(edges, nc * sizeof *e);
          if (e == NULL) {
            ld->oom = true;
            goto done;
          }
          edges = e;
          cap = nc;
        }
        edges[ne++] = (edge_t){f, t, out};
      }
    }
  }
  if (ne == 0)
    goto done;
  qsort(edges, ne, sizeof *edges, cmp_edge);
  size_t nt = topics->n;
  size_t *first = beck_calloc(nt + 1, sizeof *first); /* first edge of each topic */
  uint8_t *state = beck_calloc(nt, 1);                /* 0 new, 1 on the path, 2 done */
  size_t *path = beck_calloc(nt, sizeof *path);
  size_t *next = beck_calloc(nt, sizeof *next); /* next edge to try per path entry */
  if (first == NULL || state == NULL || path == NULL || next == NULL) {
    ld->oom = true;
    goto out;
  }
  for (size_t i = 0, e = 0; i <= nt; i++) {
    while (e < ne && edges[e].from < i)
      e++;
    first[i] = e;
  }
  for (size_t root = 0; root < nt; root++) {
    if (state[root] != 0)
      continue;
    size_t depth = 0;
    path[depth] = root;
    next[depth] = first[root];
    depth++;
    state[root] = 1;
    while (depth > 0) {
      size_t u = path[depth - 1];
      size_t e = next[depth - 1];
      if (e >= first[u + 1]) {
        state[u] = 2;
        depth--;
        continue;
      }
      next[depth - 1]++;
      size_t v = edges[e].to;
      if (state[v] == 1) {
        size_t from = 0;
        while (path[from] != v)
          from++;
        report_cycle(ld, topics, path, depth, from, edges[e].at);
      } else if (state[v] == 0) {
        state[v] = 1;
        path[depth] = v;
        next[depth] = first[v];
        depth++;
      }
    }
  }
out:
  beck_free(first);
  beck_free(state);
  beck_free(path);
  beck_free(next);
done:
  beck_free(edges);
  beck_free(start);
  beck_free(order);
}

/* ---- connectors ---- */

static const beck_connector_option_t *opt_at(const beck_pipeline_connector_t *c, size_t i) {
  size_t stride = c->option_size ? c->option_size : sizeof(beck_connector_option_t);
  return (const beck_connector_option_t *)((const char *)c->options + i * stride);
}

static bool parse_bool_text(const char *s) {
  static const char *const ok[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strcasecmp(s, ok[i]) == 0)
      return true;
  return false;
}

static bool enum_has(const char *choices, const char *v) {
  size_t vl = strlen(v);
  for (const char *p = choices; p != NULL && *p;) {
    const char *bar = strchr(p, '|');
    size_t l = bar ? (size_t)(bar - p) : strlen(p);
    if (l == vl && strncmp(p, v, l) == 0)
      return true;
    p = bar ? bar + 1 : NULL;
  }
  return false;
}

/* 1000000, not 1e+06. */
static const char *fmt_num(double d, char *buf, size_t cap) {
  if (d == floor(d) && fabs(d) < 1e15)
    snprintf(buf, cap, "%.0f", d);
  else
    snprintf(buf, cap, "%g", d);
  return buf;
}

bool beck__pl_check_option_value(loader_t *ld, const beck_connector_option_t *opt, const beck_pipeline_option_t *o,
                                 const char *subject) {
  const char *v = o->value;
  char *end;
  double num = 0;
  bool ranged = false;
  switch (opt->type) {
  case BECK_CONNECTOR_OPT_INT: {
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0) {
      beck__pl_error_pos(ld, o->pos, "option '%s' of %s is '%.60s'; expected an integer", o->name, subject, v);
      return false;
    }
    num = (double)x;
    ranged = true;
    break;
  }
  case BECK_CONNECTOR_OPT_DOUBLE:
    num = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !isfinite(num)) {
      beck__pl_error_pos(ld, o->pos, "option '%s' of %s is '%.60s'; expected a number", o->name, subject, v);
      return false;
    }
    ranged = true;
    break;
  case BECK_CONNECTOR_OPT_BOOL:
    if (!parse_bool_text(v)) {
      beck__pl_error_pos(ld, o->pos, "option '%s' of %s is '%.60s'; expected true or false", o->name, subject, v);
      return false;
    }
    break;
  case BECK_CONNECTOR_OPT_DURATION: {
    int64_t ms;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*v != '\0' && *end == '\0' && errno == 0)
      ms = x; /* a bare number is milliseconds, as in the Connect worker */
    else if (beck_parse_duration(v, strlen(v), &ms) != 0) {
      beck__pl_error_pos(ld, o->pos, "option '%s' of %s is '%.60s'; expected a duration such as 500ms, 30s or 5m",
                         o->name, subject, v);
      return false;
    }
    num = (double)ms;
    ranged = true;
    break;
  }
  case BECK_CONNECTOR_OPT_ENUM:
    if (opt->choices == NULL || !enum_has(opt->choices, v)) {
      beck__pl_error_pos(ld, o->pos, "option '%s' of %s is '%.60s'; expected one of %s", o->name, subject, v,
                         opt->choices ? opt->choices : "(none)");
      return false;
    }
    break;
  default: break;
  }
  if (ranged && opt->min < opt->max && (num < opt->min || num > opt->max)) {
    char lo[32], hi[32];
    beck__pl_error_pos(ld, o->pos, "option '%s' of %s is %.60s, out of range; expected %s to %s", o->name, subject, v,
                       fmt_num(opt->min, lo, sizeof lo), fmt_num(opt->max, hi, sizeof hi));
    return false;
  }
  return true;
}

bool beck_pipeline_connector_lookup(const beck_pipeline_connectors_t *cs, const char *name,
                                    beck_connector_kind_t kind, beck_pipeline_connector_t *out, char *full,
                                    size_t cap) {
  beck_pipeline_connector_t c;
  memset(out, 0, sizeof *out);
  memset(&c, 0, sizeof c);
  bool exact = cs->lookup(cs->ud, name, &c);
  if (exact && c.kind == kind) {
    *out = c;
    snprintf(full, cap, "%s", name);
    return true;
  }
  char alt[256];
  int w = snprintf(alt, sizeof alt, "%s-%s", name, kind == BECK_CONNECTOR_SOURCE ? "source" : "sink");
  beck_pipeline_connector_t c2;
  memset(&c2, 0, sizeof c2);
  if (w > 0 && (size_t)w < sizeof alt && cs->lookup(cs->ud, alt, &c2) && c2.kind == kind) {
    *out = c2;
    snprintf(full, cap, "%s", alt);
    return true;
  }
  if (exact)
    *out = c; /* a connector of the other kind */
  return false;
}

static void check_connector(loader_t *ld, const ynode_t *item, const char *section, const char *name,
                            const char *connector, beck_connector_kind_t want, const beck_pipeline_option_t *config,
                            size_t nconfig) {
  const beck_pipeline_connectors_t *cs = ld->opts->connectors;
  if (cs == NULL || connector == NULL)
    return;
  const ynode_t *cnode = beck__pl_map_get(item, "connector");
  char subject[400];
  snprintf(subject, sizeof subject, "connector '%s' (%s '%s')", connector,
           want == BECK_CONNECTOR_SOURCE ? "source" : "sink", name);
  beck_pipeline_connector_t c;
  memset(&c, 0, sizeof c);
  char full[256];
  if (beck_pipeline_connector_lookup(cs, connector, want, &c, full, sizeof full)) {
    /* found */
  } else if (c.kind != 0) {
    beck__pl_error_at(ld, cnode, "connector '%.100s' is a %s; expected a %s connector under '%s:'", connector,
                      c.kind == BECK_CONNECTOR_SOURCE ? "source" : "sink",
                      want == BECK_CONNECTOR_SOURCE ? "source" : "sink", section);
    return;
  } else {
    /* candidates: every connector of the kind wanted, by its full name and
     * by the short name the pipeline may use (file-source: file) */
    const char *names[512];
    char shorts[256][128];
    size_t n = 0, nshort = 0;
    const char *suffix = want == BECK_CONNECTOR_SOURCE ? "-source" : "-sink";
    for (size_t i = 0; cs->name_at != NULL && n + 2 <= 512; i++) {
      const char *nm = cs->name_at(cs->ud, i);
      if (nm == NULL)
        break;
      names[n++] = nm;
      size_t l = strlen(nm), sl = strlen(suffix);
      if (l > sl && l - sl < sizeof shorts[0] && strcmp(nm + l - sl, suffix) == 0 && nshort < 256) {
        memcpy(shorts[nshort], nm, l - sl);
        shorts[nshort][l - sl] = '\0';
        names[n++] = shorts[nshort++];
      }
    }
    const char *s = beck_did_you_mean(connector, strlen(connector), names, n);
    if (s != NULL)
      beck__pl_error_at(ld, cnode, "unknown connector '%.100s' (did you mean '%s'?)", connector, s);
    else
      beck__pl_error_at(ld, cnode, "unknown connector '%.100s'; expected an installed connector (see beck connector "
                                   "list)",
                        connector);
    return;
  }
  static const char *const reserved[] = {"name", "connector", "topic", "topics"};
  for (size_t i = 0; i < nconfig; i++) {
    const beck_pipeline_option_t *o = &config[i];
    bool is_reserved = false;
    for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
      is_reserved |= strcmp(o->name, reserved[r]) == 0;
    if (is_reserved) {
      beck__pl_error_pos(ld, o->key_pos, "option '%s' of %s is set by the pipeline; expected %s", o->name, subject,
                         want == BECK_CONNECTOR_SOURCE ? "the source's 'topic:' key" : "the sink's 'from:' key");
      continue;
    }
    const beck_connector_option_t *opt = NULL;
    for (size_t k = 0; k < c.option_count && opt == NULL; k++)
      if (opt_at(&c, k)->name && strcmp(opt_at(&c, k)->name, o->name) == 0)
        opt = opt_at(&c, k);
    for (size_t k = 0; k < c.extra_count && opt == NULL; k++)
      if (c.extra[k].name && strcmp(c.extra[k].name, o->name) == 0)
        opt = &c.extra[k];
    if (opt == NULL) {
      const char *names[256];
      size_t n = 0;
      for (size_t k = 0; k < c.option_count && n < 256; k++)
        names[n++] = opt_at(&c, k)->name;
      for (size_t k = 0; k < c.extra_count && n < 256; k++)
        names[n++] = c.extra[k].name;
      const char *s = beck_did_you_mean(o->name, strlen(o->name), names, n);
      if (s != NULL)
        beck__pl_error_pos(ld, o->key_pos, "unknown option '%s' for %s (did you mean '%s'?)", o->name, subject, s);
      else
        beck__pl_error_pos(ld, o->key_pos, "unknown option '%s' for %s; expected one of its options (see beck connector "
                                       "describe %s)",
                           o->name, subject, connector);
      continue;
    }
    beck__pl_check_option_value(ld, opt, o, subject);
  }
  const ynode_t *cfg = beck__pl_map_get(item, "config");
  for (size_t k = 0; k < c.option_count; k++) {
    const beck_connector_option_t *opt = opt_at(&c, k);
    if (!opt->required || opt->name == NULL)
      continue;
    bool set = false;
    for (size_t i = 0; i < nconfig && !set; i++)
      set = strcmp(config[i].name, opt->name) == 0;
    if (!set) {
      char desc[300];
      snprintf(desc, sizeof desc, "%s", opt->description ? opt->description : "");
      size_t dl = strlen(desc);
      if (dl > 0 && desc[dl - 1] == '.')
        desc[dl - 1] = '\0';
      beck__pl_error_at(ld, cfg ? cfg : item, "%s is missing required option '%s'; expected it under 'config:'%s%s%s",
                        subject, opt->name, desc[0] ? " (" : "", desc, desc[0] ? ")" : "");
    }
  }
}

/* ---- everything ---- */

typedef struct table_name {
  const char *name;
  beck_pipeline_pos_t pos;
} table_name_t;

static int cmp_table_name(const void *a, const void *b) {
  const table_name_t *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c != 0)
    return c;
  if (x->pos.line != y->pos.line)
    return x->pos.line < y->pos.line ? -1 : 1;
  return x->pos.col < y->pos.col ? -1 : x->pos.col > y->pos.col;
}

/* Tables come from `tables:` and from table steps; a name may be used once. */
static void collect_tables(loader_t *ld, names_t *tables) {
  beck_pipeline_t *p = ld->p;
  size_t n = p->ntables;
  for (size_t i = 0; i < ld->nrefs; i++)
    n += ld->refs[i].role == REF_TABLE_STEP;
  table_name_t *all = beck_calloc(n ? n : 1, sizeof *all);
  if (all == NULL) {
    ld->oom = true;
    return;
  }
  size_t k = 0;
  for (size_t i = 0; i < p->ntables; i++)
    all[k++] = (table_name_t){p->tables[i].name, p->tables[i].pos};
  for (size_t i = 0; i < ld->nrefs; i++)
    if (ld->refs[i].role == REF_TABLE_STEP)
      all[k++] = (table_name_t){ld->refs[i].name, ld->refs[i].pos};
  qsort(all, k, sizeof *all, cmp_table_name);
  for (size_t i = 0; i < k; i++) {
    if (i > 0 && strcmp(all[i].name, all[i - 1].name) == 0)
      beck__pl_error_pos(ld, all[i].pos, "a second table named '%.100s' (the first is at line %u); expected unique "
                                         "table names",
                         all[i].name, all[i - 1].pos.line);
    names_push(ld, tables, all[i].name);
  }
  beck_free(all);
  names_seal(tables);
}

void beck__pl_check(loader_t *ld, const ynode_t *root) {
  beck_pipeline_t *p = ld->p;
  names_t topics = {0}, tables = {0}, sources = {0};
  for (size_t i = 0; i < p->ntopics; i++)
    names_push(ld, &topics, p->topics[i].name);
  for (size_t i = 0; i < ld->nrefs; i++)
    if (ld->refs[i].role == REF_PRODUCE)
      names_push(ld, &topics, ld->refs[i].name);
  names_seal(&topics);
  for (size_t i = 0; i < p->nsources; i++)
    names_push(ld, &sources, p->sources[i].name);
  names_seal(&sources);
  collect_tables(ld, &tables);
  if (ld->oom)
    goto out;
  for (size_t i = 0; i < ld->nrefs; i++) {
    ref_t *r = &ld->refs[i];
    switch (r->role) {
    case REF_CONSUME:
      if (!names_has(&topics, r->name))
        unknown_topic(ld, r, &topics, "topic");
      break;
    case REF_TEST_EXPECT:
      if (!names_has(&topics, r->name))
        unknown_topic(ld, r, &topics, "topic");
      break;
    case REF_JOIN: {
      beck_pipeline_step_t *st = r->target;
      beck_pipeline_join_t *j = &st->u.join;
      if (names_has(&tables, r->name)) {
        j->with_table = true;
        if (j->kind == BECK_PIPELINE_JOIN_OUTER)
          beck__pl_error_pos(ld, r->pos, "an outer join with table '%.100s'; expected inner or left (outer joins "
                                         "need two streams)",
                             r->name);
        if (j->before_ms >= 0 || j->after_ms >= 0)
          beck__pl_error_pos(ld, r->pos, "'%.100s' is a table, so the join has no time window; expected no 'within', "
                                         "'before' or 'after'",
                             r->name);
      } else if (names_has(&topics, r->name)) {
        j->with_table = false;
        if (j->before_ms < 0 || j->after_ms < 0)
          beck__pl_error_pos(ld, r->pos, "the join with stream '%.100s' has no time window; expected 'within' (e.g. "
                                         "within: 5m) or 'before' and 'after'",
                             r->name);
      } else {
        const char *cands[512];
        size_t n = 0;
        for (size_t k = 0; k < tables.n && n < 512; k++)
          cands[n++] = tables.v[k];
        for (size_t k = 0; k < topics.n && n < 512; k++)
          cands[n++] = topics.v[k];
        const char *s = beck_did_you_mean(r->name, strlen(r->name), cands, n);
        if (s != NULL)
          beck__pl_error_pos(ld, r->pos, "unknown table or topic '%.100s' in join (did you mean '%s'?)", r->name, s);
        else
          beck__pl_error_pos(ld, r->pos, "unknown table or topic '%.100s' in join; expected a table (under 'tables:' "
                                         "or from a table step) or a topic",
                             r->name);
      }
      break;
    }
    case REF_TEST_INPUT: {
      beck_pipeline_test_input_t *in = r->target;
      const beck_pipeline_source_t *s = names_has(&sources, r->name) ? beck_pipeline_find_source(p, r->name) : NULL;
      if (s != NULL) {
        in->topic = s->topic;
      } else if (names_has(&topics, r->name)) {
        in->topic = r->name;
      } else {
        const char *cands[512];
        size_t n = 0;
        for (size_t k = 0; k < p->nsources && n < 512; k++)
          cands[n++] = p->sources[k].name;
        for (size_t k = 0; k < topics.n && n < 512; k++)
          cands[n++] = topics.v[k];
        const char *sg = beck_did_you_mean(r->name, strlen(r->name), cands, n);
        if (sg != NULL)
          beck__pl_error_pos(ld, r->pos, "unknown source '%.100s' in test inputs (did you mean '%s'?)", r->name, sg);
        else
          beck__pl_error_pos(ld, r->pos, "unknown source '%.100s' in test inputs; expected a source name, a topic, "
                                         "'advance' or 'advance_to'",
                             r->name);
      }
      break;
    }
    default: break;
    }
  }
  if (!ld->oom)
    check_cycles(ld, &topics);
  if (ld->opts->connectors != NULL) {
    /* p->sources and p->sinks are in the order of their mappings, minus the
     * entries whose names were refused: walk both together */
    const ynode_t *sm = beck__pl_map_get(root, "sources");
    for (size_t i = 0, j = 0; sm != NULL && sm->kind == YN_MAP && i < sm->npairs && j < p->nsources; i++) {
      const beck_pipeline_source_t *src = &p->sources[j];
      if (strcmp(sm->pairs[i].key->str, src->name) != 0)
        continue;
      check_connector(ld, sm->pairs[i].val, "sources", src->name, src->connector, BECK_CONNECTOR_SOURCE, src->config,
                      src->nconfig);
      j++;
    }
    const ynode_t *km = beck__pl_map_get(root, "sinks");
    for (size_t i = 0, j = 0; km != NULL && km->kind == YN_MAP && i < km->npairs && j < p->nsinks; i++) {
      const beck_pipeline_sink_t *snk = &p->sinks[j];
      if (strcmp(km->pairs[i].key->str, snk->name) != 0)
        continue;
      check_connector(ld, km->pairs[i].val, "sinks", snk->name, snk->connector, BECK_CONNECTOR_SINK, snk->config,
                      snk->nconfig);
      j++;
    }
  }
out:
  beck_free(topics.v);
  beck_free(tables.v);
  beck_free(sources.v);
}
