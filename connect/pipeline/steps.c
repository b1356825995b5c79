/*
 * steps.c - the `steps:` list of a stream: each item is a mapping with one
 * key, the step's kind (the table beck__pl_steps in schema.c), whose value
 * has the form the kind needs. Expressions are compiled here with the roots
 * and aggregate rules of their step (bind.c: beck__pl_compile).
 *
 * A second key in a step's mapping is almost always an indentation mistake
 * ("- window: {tumbling: 1m}\n  grace: 10s"), so the message says so.
 */
#include "connect/pipeline/pipeline_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_MAP_DEPTH 16

static const step_def_t *find_step(const char *name) {
  for (size_t i = 0; i < beck__pl_nsteps; i++)
    if (strcmp(beck__pl_steps[i].name, name) == 0)
      return &beck__pl_steps[i];
  return NULL;
}

static void unknown_step(loader_t *ld, const ynode_t *k) {
  const char *names[32];
  size_t n = 0;
  for (size_t i = 0; i < beck__pl_nsteps && n < 32; i++)
    names[n++] = beck__pl_steps[i].name;
  const char *s = beck_did_you_mean(k->str, k->len, names, n);
  if (s != NULL) {
    beck__pl_error_at(ld, k, "unknown step '%.80s' (did you mean '%s'?)", k->str, s);
    return;
  }
  char list[400];
  size_t len = 0;
  list[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    int w = snprintf(list + len, sizeof list - len, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
    if (w < 0 || (size_t)w >= sizeof list - len)
      break;
    len += (size_t)w;
  }
  beck__pl_error_at(ld, k, "unknown step '%.80s'; expected %s", k->str, list);
}

/* A map step written as a mapping: an object expression, nested mappings
 * nested objects. Returns NULL after reporting. */
static beck_expr_t *map_object(loader_t *ld, const ynode_t *m, const char *subject, int depth) {
  if (depth > MAX_MAP_DEPTH) {
    beck__pl_error_at(ld, m, "%s nests mappings too deeply (more than %d); expected a flatter value", subject,
                      MAX_MAP_DEPTH);
    return NULL;
  }
  size_t n = m->npairs;
  beck_expr_t **fields = beck_calloc(n ? n : 1, sizeof *fields);
  const char **names = beck_calloc(n ? n : 1, sizeof *names);
  bool ok = fields != NULL && names != NULL;
  if (!ok)
    ld->oom = true;
  for (size_t i = 0; ok && i < n; i++) {
    const ypair_t *p = &m->pairs[i];
    names[i] = p->key->str;
    char what[400];
    snprintf(what, sizeof what, "field '%.80s' of %.200s", p->key->str, subject);
    if (p->val->kind == YN_MAP)
      fields[i] = map_object(ld, p->val, what, depth + 1);
    else if (p->val->kind == YN_SEQ) {
      beck__pl_error_at(ld, p->val, "%s is a YAML list; expected an expression (write an array as \"[a, b]\")",
                        what);
      fields[i] = NULL;
    } else
      fields[i] = beck__pl_compile_raw(ld, p->val, EXPR_ANY, what);
  }
  for (size_t i = 0; ok && i < n; i++)
    ok = fields[i] != NULL;
  beck_expr_t *x = NULL;
  if (ok) {
    if (beck_expr_make_object(names, fields, n, &x) != 0)
      ld->oom = true; /* make_object freed the fields */
  } else if (fields != NULL) {
    for (size_t i = 0; i < n; i++)
      beck_expr_free(fields[i]);
  }
  beck_free(fields);
  beck_free(names);
  return x;
}

static beck_expr_t *aggregate_object(loader_t *ld, const ynode_t *m, const char *subject) {
  if (m->kind != YN_MAP || m->npairs == 0) {
    beck__pl_error_at(ld, m, "%s is %s; expected a mapping of result field: aggregate expression (e.g. clicks: "
                             "count())",
                      subject, m->kind == YN_MAP ? "empty" : beck__pl_kind_name(m));
    return NULL;
  }
  size_t n = m->npairs;
  beck_expr_t **fields = beck_calloc(n, sizeof *fields);
  const char **names = beck_calloc(n, sizeof *names);
  bool ok = fields != NULL && names != NULL;
  if (!ok)
    ld->oom = true;
  for (size_t i = 0; ok && i < n; i++) {
    const ypair_t *p = &m->pairs[i];
    names[i] = p->key->str;
    char what[400];
    snprintf(what, sizeof what, "field '%.80s' of %.200s", p->key->str, subject);
    fields[i] = beck__pl_compile_raw(ld, p->val, EXPR_AGGREGATE, what);
  }
  for (size_t i = 0; ok && i < n; i++)
    ok = fields[i] != NULL;
  beck_expr_t *x = NULL;
  if (ok) {
    if (beck_expr_make_object(names, fields, n, &x) != 0)
      ld->oom = true;
  } else if (fields != NULL) {
    for (size_t i = 0; i < n; i++)
      beck_expr_free(fields[i]);
  }
  beck_free(fields);
  beck_free(names);
  return x;
}

static void bind_window(loader_t *ld, const ynode_t *v, beck_pipeline_step_t *st, const char *subject) {
  window_spec_t w = {0};
  uint64_t seen = 0;
  if (!beck__pl_bind(ld, &beck__pl_sec_window, v, &w, &seen, subject))
    return;
  /* rows 0..4 of the window table: tumbling, hopping, advance, sliding, session */
  static const int kinds[] = {0, 1, 3, 4};
  int nkinds = 0, first = -1, second = -1;
  for (int i = 0; i < 4; i++) {
    if (seen & ((uint64_t)1 << kinds[i])) {
      nkinds++;
      if (first < 0)
        first = kinds[i];
      else if (second < 0)
        second = kinds[i];
    }
  }
  beck_pipeline_window_t *o = &st->u.window;
  o->grace_ms = w.grace;
  o->emit = w.emit ? BECK_PIPELINE_EMIT_FINAL : BECK_PIPELINE_EMIT_UPDATE;
  o->late_topic = w.late;
  if (nkinds == 0) {
    beck__pl_error_at(ld, v, "%s has no kind; expected one of tumbling, hopping, sliding or session (e.g. "
                             "tumbling: 1m)",
                      subject);
    return;
  }
  if (nkinds > 1) {
    const ynode_t *k2 = NULL;
    for (size_t i = 0; i < v->npairs; i++)
      if (strcmp(v->pairs[i].key->str, beck__pl_sec_window.fields[second].name) == 0)
        k2 = v->pairs[i].key;
    beck__pl_error_at(ld, k2 ? k2 : v, "%s has both '%s' and '%s'; expected exactly one kind", subject,
                      beck__pl_sec_window.fields[first].name, beck__pl_sec_window.fields[second].name);
    return;
  }
  bool has_advance = (seen & ((uint64_t)1 << 2)) != 0;
  switch (first) {
  case 0:
    o->kind = BECK_PIPELINE_WINDOW_TUMBLING;
    o->size_ms = w.tumbling;
    break;
  case 1:
    o->kind = BECK_PIPELINE_WINDOW_HOPPING;
    o->size_ms = w.hopping;
    o->advance_ms = w.advance;
    if (!has_advance)
      beck__pl_error_at(ld, v, "the hopping %s has no 'advance'; expected how far apart windows start (e.g. "
                               "advance: 1m)",
                        subject);
    else if (w.advance > w.hopping)
      beck__pl_error_at(ld, beck__pl_map_get(v, "advance"),
                        "'advance' in %s is longer than the window; expected at most the window size", subject);
    break;
  case 3:
    o->kind = BECK_PIPELINE_WINDOW_SLIDING;
    o->size_ms = w.sliding;
    break;
  default:
    o->kind = BECK_PIPELINE_WINDOW_SESSION;
    o->gap_ms = w.session;
    break;
  }
  if (has_advance && first != 1)
    beck__pl_error_at(ld, beck__pl_map_get(v, "advance"), "'advance' in %s applies to hopping windows only", subject);
}

static void bind_join(loader_t *ld, const ynode_t *v, beck_pipeline_step_t *st, const char *subject) {
  join_spec_t j = {0};
  uint64_t seen = 0;
  if (!beck__pl_bind(ld, &beck__pl_sec_join, v, &j, &seen, subject))
    return;
  beck_pipeline_join_t *o = &st->u.join;
  o->with = j.with;
  o->kind = (beck_pipeline_join_kind_t)j.type;
  o->grace_ms = j.grace;
  o->select = j.select;
  /* rows: with, type, within, before, after, grace, select; -1: not written */
  bool within = seen & (1u << 2), before = seen & (1u << 3), after = seen & (1u << 4);
  o->before_ms = before ? j.before : within ? j.within : -1;
  o->after_ms = after ? j.after : within ? j.within : -1;
  const ynode_t *w = beck__pl_map_get(v, "with");
  if (j.with != NULL && w != NULL)
    beck__pl_add_ref(ld, j.with, w, REF_JOIN, st);
}

static void bind_branch(loader_t *ld, const ynode_t *v, beck_pipeline_step_t *st, const char *subject) {
  if (v->kind != YN_SEQ || v->nitems == 0) {
    beck__pl_error_at(ld, v, "%s is %s; expected a list of {when: condition, to: topic}", subject,
                      v->kind == YN_SEQ ? "empty" : beck__pl_kind_name(v));
    return;
  }
  st->u.branch.items = beck__pl_alloc(ld, v->nitems * sizeof *st->u.branch.items);
  if (st->u.branch.items == NULL)
    return;
  st->u.branch.n = v->nitems;
  for (size_t i = 0; i < v->nitems; i++) {
    beck_pipeline_branch_t *b = &st->u.branch.items[i];
    b->pos = beck__pl_pos(v->items[i]);
    char subj[400];
    snprintf(subj, sizeof subj, "branch %zu of %.200s", i + 1, subject);
    uint64_t seen = 0;
    if (beck__pl_bind(ld, &beck__pl_sec_branch, v->items[i], b, &seen, subj) && !(seen & 1) && i + 1 < v->nitems)
      beck__pl_error_at(ld, v->items[i],
                        "%s has no 'when' but is not the last; expected 'when' (only the last branch may take every "
                        "other record)",
                        subj);
  }
}

bool beck__pl_bind_steps(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  beck_pipeline_stream_t *s = dst;
  if (v->kind == YN_SCALAR && v->len == 0 && !v->quoted_tag_str)
    return true; /* no steps: a copy from one topic to another */
  if (v->kind != YN_SEQ) {
    beck__pl_error_at(ld, v, "'steps' in %s is %s; expected a list of steps (- filter: ...)", subject,
                      beck__pl_kind_name(v));
    return false;
  }
  s->steps = beck__pl_alloc(ld, (v->nitems ? v->nitems : 1) * sizeof *s->steps);
  if (s->steps == NULL)
    return false;
  for (size_t i = 0; i < v->nitems; i++) {
    const ynode_t *m = v->items[i];
    if (m->kind != YN_MAP || m->npairs == 0) {
      beck__pl_error_at(ld, m, "step %zu of %s is %s; expected a mapping with one key, the step's kind (e.g. - "
                               "filter: value.amount > 0)",
                        i + 1, subject, m->kind == YN_MAP ? "empty" : beck__pl_kind_name(m));
      continue;
    }
    const ynode_t *k = m->pairs[0].key, *val = m->pairs[0].val;
    const step_def_t *def = find_step(k->str);
    if (def == NULL) {
      unknown_step(ld, k);
      continue;
    }
    if (m->npairs > 1) {
      const ynode_t *k2 = m->pairs[1].key;
      bool stream_key = false;
      for (size_t f2 = 0; f2 < beck__pl_sec_stream.nfields; f2++)
        stream_key |= strcmp(beck__pl_sec_stream.fields[f2].name, k2->str) == 0;
      if (stream_key)
        beck__pl_error_at(ld, k2,
                          "step '%s' in %s has a second key '%.80s'; expected one key per step (if '%.80s' belongs "
                          "to the stream, indent it like 'steps:')",
                          def->name, subject, k2->str, k2->str);
      else
        beck__pl_error_at(ld, k2,
                          "step '%s' in %s has a second key '%.80s'; expected one key per step (if '%.80s' belongs "
                          "to the %s, indent it under '%s:')",
                          def->name, subject, k2->str, k2->str, def->name, def->name);
    }
    beck_pipeline_step_t *st = &s->steps[s->nsteps++];
    st->kind = def->kind;
    st->pos = beck__pl_pos(k);
    char subj[400];
    snprintf(subj, sizeof subj, "step '%s' of %.200s", def->name, subject);
    switch (def->kind) {
    case BECK_STEP_FILTER: st->u.filter = beck__pl_compile(ld, val, EXPR_FILTER, "the filter condition"); break;
    case BECK_STEP_SELECT_KEY: st->u.select_key = beck__pl_compile(ld, val, EXPR_ANY, subj); break;
    case BECK_STEP_FLAT_MAP: st->u.flat_map = beck__pl_compile(ld, val, EXPR_ARRAY, "the flat_map expression"); break;
    case BECK_STEP_MAP:
      if (val->kind == YN_MAP) {
        beck_expr_t *x = map_object(ld, val, subj, 0);
        st->u.map = x ? beck__pl_keep_expr(ld, x) : NULL;
      } else {
        st->u.map = beck__pl_compile(ld, val, EXPR_ANY, subj);
      }
      break;
    case BECK_STEP_AGGREGATE: {
      beck_expr_t *x = aggregate_object(ld, val, subj);
      st->u.aggregate = x ? beck__pl_keep_expr(ld, x) : NULL;
      break;
    }
    case BECK_STEP_BRANCH: bind_branch(ld, val, st, subj); break;
    case BECK_STEP_MERGE: {
      static const field_def_t merge_field = {.name = "merge", .type = FT_TOPICS, .flags = FF_CONSUMES};
      struct {
        const char **topics;
        size_t n;
      } tmp = {0};
      field_def_t fd = merge_field;
      fd.offset = offsetof(__typeof__(tmp), topics);
      fd.count_offset = offsetof(__typeof__(tmp), n);
      if (beck__pl_bind_field(ld, &fd, val, &tmp, subject)) {
        st->u.merge.topics = tmp.topics;
        st->u.merge.n = tmp.n;
      }
      break;
    }
    case BECK_STEP_WINDOW: bind_window(ld, val, st, subj); break;
    case BECK_STEP_JOIN: bind_join(ld, val, st, subj); break;
    case BECK_STEP_TABLE: {
      static const field_def_t table_field = {.name = "table", .type = FT_NAME};
      if (beck__pl_bind_field(ld, &table_field, val, &st->u.table, subject))
        beck__pl_add_ref(ld, st->u.table, val, REF_TABLE_STEP, st);
      break;
    }
    case BECK_STEP_DEDUPE: beck__pl_bind(ld, &beck__pl_sec_dedupe, val, &st->u.dedupe, NULL, subj); break;
    }
  }
  return true;
}
