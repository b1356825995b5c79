/*
 * load.c - beck_pipeline_load_*: reading the file, the top-level sections
 * (topics, sources, tables, streams, sinks) and the pipeline's lifetime.
 *
 * A load runs every stage it can even after problems, so one run reports
 * them all; only a YAML syntax error stops it (there is no tree to check).
 * The result is published only when no problem was found.
 */
#include "connect/pipeline/pipeline_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE ((size_t)16 << 20)

/* ---- named sections ---- */

/* Iterates a mapping section whose values are mappings (null = empty). */
static bool section_map(loader_t *ld, const field_def_t *f, const ynode_t *v, const char *subject) {
  if (v->kind == YN_SCALAR && v->len == 0 && !v->quoted_tag_str)
    return false; /* "sources:" with nothing: empty */
  if (v->kind != YN_MAP) {
    beck__pl_error_at(ld, v, "'%s' in %s is %s; expected %s", f->name, subject, beck__pl_kind_name(v), f->type_doc);
    return false;
  }
  return true;
}

static bool item_name_ok(loader_t *ld, const ynode_t *key, const char *what) {
  const char *s = key->str;
  bool ok = key->len > 0 && key->len <= 249;
  for (size_t i = 0; ok && i < key->len; i++) {
    char c = s[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
  }
  if (!ok)
    beck__pl_error_at(ld, key, "%s name '%.80s' is not a name; expected letters, digits, '.', '_' or '-'", what,
                      s);
  return ok;
}

/* An empty value ("orders:" or "orders: {}") as an empty mapping. */
static const ynode_t *as_map(loader_t *ld, const ynode_t *v) {
  if (v->kind == YN_SCALAR && v->len == 0 && !v->quoted_tag_str) {
    ynode_t *m = beck__pl_alloc(ld, sizeof *m);
    if (m == NULL)
      return v;
    *m = *v;
    m->kind = YN_MAP;
    m->npairs = 0;
    return m;
  }
  return v;
}

bool beck__pl_bind_topics(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  beck_pipeline_t *p = dst;
  if (!section_map(ld, f, v, subject))
    return false;
  p->topics = beck__pl_alloc(ld, (v->npairs ? v->npairs : 1) * sizeof *p->topics);
  if (p->topics == NULL)
    return false;
  for (size_t i = 0; i < v->npairs; i++) {
    const ynode_t *k = v->pairs[i].key;
    if (!item_name_ok(ld, k, "topic"))
      continue;
    beck_pipeline_topic_t *t = &p->topics[p->ntopics++];
    t->name = k->str;
    t->pos = beck__pl_pos(k);
    t->retention_ms = -1;
    t->retention_bytes = -1;
    char subj[320];
    snprintf(subj, sizeof subj, "topic '%.250s'", k->str);
    beck__pl_bind(ld, &beck__pl_sec_topic, as_map(ld, v->pairs[i].val), t, NULL, subj);
  }
  return true;
}

bool beck__pl_bind_sources(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  beck_pipeline_t *p = dst;
  if (!section_map(ld, f, v, subject))
    return false;
  p->sources = beck__pl_alloc(ld, (v->npairs ? v->npairs : 1) * sizeof *p->sources);
  if (p->sources == NULL)
    return false;
  for (size_t i = 0; i < v->npairs; i++) {
    const ynode_t *k = v->pairs[i].key;
    if (!item_name_ok(ld, k, "source"))
      continue;
    beck_pipeline_source_t *s = &p->sources[p->nsources++];
    s->name = k->str;
    s->pos = beck__pl_pos(k);
    char subj[320];
    snprintf(subj, sizeof subj, "source '%.250s'", k->str);
    uint64_t seen = 0;
    const ynode_t *m = v->pairs[i].val;
    beck__pl_bind(ld, &beck__pl_sec_source, m, s, &seen, subj);
    if (s->topic == NULL && m->kind == YN_MAP) {
      s->topic = s->name; /* the default: the source's name */
      beck__pl_add_ref(ld, s->topic, k, REF_PRODUCE, NULL);
    }
  }
  return true;
}

bool beck__pl_bind_sinks(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  beck_pipeline_t *p = dst;
  if (!section_map(ld, f, v, subject))
    return false;
  p->sinks = beck__pl_alloc(ld, (v->npairs ? v->npairs : 1) * sizeof *p->sinks);
  if (p->sinks == NULL)
    return false;
  for (size_t i = 0; i < v->npairs; i++) {
    const ynode_t *k = v->pairs[i].key;
    if (!item_name_ok(ld, k, "sink"))
      continue;
    beck_pipeline_sink_t *s = &p->sinks[p->nsinks++];
    s->name = k->str;
    s->pos = beck__pl_pos(k);
    char subj[320];
    snprintf(subj, sizeof subj, "sink '%.250s'", k->str);
    beck__pl_bind(ld, &beck__pl_sec_sink, v->pairs[i].val, s, NULL, subj);
  }
  return true;
}

bool beck__pl_bind_tables(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  beck_pipeline_t *p = dst;
  if (!section_map(ld, f, v, subject))
    return false;
  p->tables = beck__pl_alloc(ld, (v->npairs ? v->npairs : 1) * sizeof *p->tables);
  if (p->tables == NULL)
    return false;
  for (size_t i = 0; i < v->npairs; i++) {
    const ynode_t *k = v->pairs[i].key;
    if (!item_name_ok(ld, k, "table"))
      continue;
    beck_pipeline_table_t *t = &p->tables[p->ntables++];
    t->name = k->str;
    t->pos = beck__pl_pos(k);
    char subj[320];
    snprintf(subj, sizeof subj, "table '%.250s'", k->str);
    beck__pl_bind(ld, &beck__pl_sec_table, v->pairs[i].val, t, NULL, subj);
  }
  return true;
}

/* The end of a stream: `to` is needed unless a branch takes everything or a
 * table step ends the stream; nothing may follow such a branch; a window
 * must be followed by an aggregate. */
static void check_stream_shape(loader_t *ld, const ynode_t *m, beck_pipeline_stream_t *s, const char *subject) {
  bool terminal = false;
  for (size_t i = 0; i < s->nsteps; i++) {
    beck_pipeline_step_t *st = &s->steps[i];
    if (terminal) {
      beck__pl_error_pos(ld, st->pos,
                         "step '%s' in %s is never reached: the branch before it routes every record; expected it "
                         "before that branch, or a 'when' on the branch's last item",
                         beck_pipeline_step_name(st->kind), subject);
      break;
    }
    if (st->kind == BECK_STEP_WINDOW &&
        (i + 1 >= s->nsteps || s->steps[i + 1].kind != BECK_STEP_AGGREGATE)) {
      if (i + 1 < s->nsteps)
        beck__pl_error_pos(ld, s->steps[i + 1].pos, "step '%s' follows a window in %s; expected an aggregate step",
                           beck_pipeline_step_name(s->steps[i + 1].kind), subject);
      else
        beck__pl_error_pos(ld, st->pos, "the window in %s is not followed by a step; expected an aggregate step",
                           subject);
    }
    if (st->kind == BECK_STEP_BRANCH && st->u.branch.n > 0 && st->u.branch.items[st->u.branch.n - 1].when == NULL &&
        st->u.branch.items[st->u.branch.n - 1].to != NULL)
      terminal = true;
  }
  bool ends_in_table = s->nsteps > 0 && s->steps[s->nsteps - 1].kind == BECK_STEP_TABLE;
  if (s->to == NULL && !terminal && !ends_in_table && beck__pl_map_get(m, "to") == NULL)
    beck__pl_error_at(ld, m,
                      "%s has no 'to'; expected the topic its records go to (or a branch that routes every record, "
                      "or a table step at the end)",
                      subject);
  if (s->to != NULL && terminal) {
    const ynode_t *to = beck__pl_map_get(m, "to");
    beck__pl_error_at(ld, to, "'to' in %s is never used: its branch routes every record; expected no 'to'", subject);
  }
}

/* By name, then by position in the file. */
static int cmp_stream_name(const void *a, const void *b) {
  const beck_pipeline_stream_t *x = *(beck_pipeline_stream_t *const *)a, *y = *(beck_pipeline_stream_t *const *)b;
  int c = strcmp(x->name, y->name);
  return c != 0 ? c : x < y ? -1 : x > y;
}

bool beck__pl_bind_streams(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  beck_pipeline_t *p = dst;
  if (v->kind == YN_SCALAR && v->len == 0 && !v->quoted_tag_str)
    return true;
  if (v->kind != YN_SEQ) {
    beck__pl_error_at(ld, v, "'streams' in %s is %s; expected a list of streams (- from: ...)", subject,
                      beck__pl_kind_name(v));
    return false;
  }
  p->streams = beck__pl_alloc(ld, (v->nitems ? v->nitems : 1) * sizeof *p->streams);
  if (p->streams == NULL)
    return false;
  for (size_t i = 0; i < v->nitems; i++) {
    const ynode_t *m = v->items[i];
    beck_pipeline_stream_t *s = &p->streams[p->nstreams];
    ld->cur_stream = (int)p->nstreams;
    p->nstreams++;
    s->pos = beck__pl_pos(m);
    const ynode_t *name = beck__pl_map_get(m, "name");
    char subj[320];
    if (name != NULL && name->kind == YN_SCALAR && name->len > 0)
      snprintf(subj, sizeof subj, "stream '%.250s'", name->str);
    else
      snprintf(subj, sizeof subj, "stream %zu", i + 1);
    if (beck__pl_bind(ld, &beck__pl_sec_stream, m, s, NULL, subj))
      check_stream_shape(ld, m, s, subj);
    if (s->name == NULL) {
      char buf[32];
      snprintf(buf, sizeof buf, "stream-%zu", i + 1);
      s->name = beck__pl_strdup(ld, buf, strlen(buf));
    }
  }
  ld->cur_stream = -1;
  /* names are unique: they name operators and their state */
  beck_pipeline_stream_t **byname = beck_calloc(p->nstreams ? p->nstreams : 1, sizeof *byname);
  if (byname == NULL) {
    ld->oom = true;
    return false;
  }
  for (size_t i = 0; i < p->nstreams; i++)
    byname[i] = &p->streams[i];
  qsort(byname, p->nstreams, sizeof *byname, cmp_stream_name);
  for (size_t i = 1; i < p->nstreams; i++)
    if (strcmp(byname[i]->name, byname[i - 1]->name) == 0)
      beck__pl_error_pos(ld, byname[i]->pos, "a second stream named '%s' (the first is at line %u); expected "
                                             "unique stream names",
                         byname[i]->name, byname[i - 1]->pos.line);
  beck_free(byname);
  return true;
}

bool beck__pl_bind_run(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  beck_pipeline_t *p = dst;
  return beck__pl_bind(ld, &beck__pl_sec_run, v, &p->run, NULL, "'run'");
}

/* ---- lifetime ---- */

void beck_pipeline_free(beck_pipeline_t *p) {
  if (p == NULL)
    return;
  beck_pipeline_priv_t *pv = p->priv;
  if (pv != NULL) {
    for (size_t i = 0; i < pv->nexprs; i++)
      beck_expr_free(pv->exprs[i]);
    beck_free(pv->exprs);
    for (size_t i = 0; i < pv->njsons; i++)
      json_decref(pv->jsons[i]);
    beck_free(pv->jsons);
    beck_arena_destroy(&pv->arena);
    beck_free(pv);
  }
  beck_free(p);
}

const beck_pipeline_source_t *beck_pipeline_find_source(const beck_pipeline_t *p, const char *name) {
  for (size_t i = 0; i < p->nsources; i++)
    if (strcmp(p->sources[i].name, name) == 0)
      return &p->sources[i];
  return NULL;
}

const beck_pipeline_table_t *beck_pipeline_find_table(const beck_pipeline_t *p, const char *name) {
  for (size_t i = 0; i < p->ntables; i++)
    if (strcmp(p->tables[i].name, name) == 0)
      return &p->tables[i];
  return NULL;
}

static beck_err_t index_lines(loader_t *ld) {
  size_t n = 1;
  for (size_t i = 0; i < ld->len; i++)
    n += ld->text[i] == '\n';
  ld->line_starts = beck_malloc(n * sizeof *ld->line_starts);
  if (ld->line_starts == NULL)
    return BECK_ERR_NOMEM;
  ld->nlines = 0;
  ld->line_starts[ld->nlines++] = 0;
  for (size_t i = 0; i < ld->len; i++)
    if (ld->text[i] == '\n')
      ld->line_starts[ld->nlines++] = i + 1;
  return BECK_ERR_OK;
}

beck_err_t beck_pipeline_load_string(const char *file, const char *text, size_t len,
                                     const beck_pipeline_load_opts_t *opts, beck_pipeline_t **out,
                                     beck_pipeline_diags_t **diags_out) {
  static const beck_pipeline_load_opts_t defaults = {0};
  *out = NULL;
  if (diags_out)
    *diags_out = NULL;
  if (opts == NULL)
    opts = &defaults;
  beck_pipeline_t *p = beck_calloc(1, sizeof *p);
  beck_pipeline_priv_t *pv = beck_calloc(1, sizeof *pv);
  beck_pipeline_diags_t *d = beck_calloc(1, sizeof *d);
  if (p == NULL || pv == NULL || d == NULL) {
    beck_free(p);
    beck_free(pv);
    beck_free(d);
    return BECK_ERR_NOMEM;
  }
  p->priv = pv;
  beck_arena_init(&pv->arena, 16384);
  beck_arena_init(&d->arena, 4096);
  d->list.max = opts->max_errors ? opts->max_errors : 100;
  loader_t ld = {.file = file ? file : "<pipeline>", .opts = opts, .p = p, .arena = &pv->arena, .diags = d,
                 .cur_stream = -1};
  beck_err_t rc = BECK_ERR_OK;
  char *copy = beck__pl_strdup(&ld, text, len);
  p->file = beck__pl_strdup(&ld, ld.file, strlen(ld.file));
  ld.text = copy;
  ld.len = len;
  if (copy == NULL || p->file == NULL || index_lines(&ld) != 0) {
    rc = BECK_ERR_NOMEM;
    goto done;
  }
  ynode_t *root = NULL;
  rc = beck__pl_parse_yaml(&ld, &root);
  if (rc != BECK_ERR_OK)
    goto done;
  if (root == NULL || (root->kind == YN_SCALAR && root->len == 0)) {
    beck__pl_error(&ld, 1, 1, "the file is empty; expected a pipeline (pipeline: NAME, then sources, streams, sinks)");
  } else if (root->kind != YN_MAP) {
    beck__pl_error_at(&ld, root, "the file is %s; expected a mapping (pipeline: NAME, sources:, streams:, ...)",
                      beck__pl_kind_name(root));
  } else {
    beck__pl_bind(&ld, &beck__pl_sec_pipeline, root, p, NULL, "the pipeline");
    if (!ld.oom)
      beck__pl_check(&ld, root);
  }
  if (ld.oom)
    rc = BECK_ERR_NOMEM;
  else if (beck__pl_error_count(&ld) > 0)
    rc = BECK_ERR_INVAL;
done:
  if (ld.oom && rc == BECK_ERR_OK)
    rc = BECK_ERR_NOMEM;
  beck__pl_sort_diags(d);
  if (d->list.truncated) {
    d->list.max++;
    d->list.truncated = false;
    beck__pl_error(&ld, d->list.n ? d->list.items[d->list.n - 1].line : 1, d->list.n ? d->list.items[d->list.n - 1].col : 1,
                   "too many problems; stopped after %zu", d->list.max - 1);
  }
  beck_free(ld.line_starts);
  beck_free(ld.refs);
  if (rc == BECK_ERR_OK) {
    *out = p;
  } else {
    beck_pipeline_free(p);
  }
  if (diags_out)
    *diags_out = d;
  else
    beck_pipeline_diags_free(d);
  return rc;
}

beck_err_t beck_pipeline_load_file(const char *path, const beck_pipeline_load_opts_t *opts, beck_pipeline_t **out,
                                   beck_pipeline_diags_t **diags) {
  *out = NULL;
  if (diags)
    *diags = NULL;
  FILE *f = fopen(path, "rb");
  beck_buf_t b = {0};
  int err = 0;
  if (f == NULL) {
    err = errno;
  } else {
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
      if (b.len + n > MAX_FILE) {
        err = EFBIG;
        break;
      }
      if (beck_buf_append(&b, chunk, n) != 0) {
        err = ENOMEM;
        break;
      }
    }
    if (!err && ferror(f))
      err = EIO;
    fclose(f);
  }
  if (err) {
    beck_buf_free(&b);
    if (err == ENOMEM)
      return BECK_ERR_NOMEM;
    if (diags != NULL) {
      /* reported like any other problem, so callers print one list */
      beck_pipeline_diags_t *d = beck_calloc(1, sizeof *d);
      if (d == NULL)
        return BECK_ERR_NOMEM;
      beck_arena_init(&d->arena, 1024);
      d->list.max = 1;
      loader_t ld = {.file = path, .diags = d};
      beck__pl_error(&ld, 0, 0, "cannot read the file: %s%s", err == EFBIG ? "larger than 16 MiB" : strerror(err),
                     err == ENOENT ? "; expected the path of a pipeline file" : "");
      if (ld.oom) {
        beck_pipeline_diags_free(d);
        return BECK_ERR_NOMEM;
      }
      *diags = d;
    }
    return err == EFBIG ? BECK_ERR_TOOBIG : BECK_ERR_IO;
  }
  beck_err_t rc = beck_pipeline_load_string(path, b.len ? (const char *)b.data : "", b.len, opts, out, diags);
  beck_buf_free(&b);
  return rc;
}
