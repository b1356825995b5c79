/*
 * tests.c - the `tests:` section: for each test, an ordered list of inputs
 * (records sent to sources or topics, and instructions to move stream time)
 * and the exact records expected per output topic.
 *
 * Inputs form one list rather than one list per source because the order
 * across sources decides what joins and windows see. Each item is a mapping
 * with one key: `advance: DURATION`, `advance_to: TIME`, or a source (or
 * topic) name whose value is a record or a list of records. Names are
 * resolved to topics by check.c once every section is bound.
 *
 * Test time: a record without a timestamp gets the current test time, which
 * is the previous record's timestamp moved by advance / advance_to (0 at the
 * start).
 */
#include "connect/pipeline/pipeline_int.h"

#include <stdio.h>
#include <string.h>

static bool bind_record(loader_t *ld, const section_def_t *sec, const ynode_t *v, beck_pipeline_test_record_t *r,
                        const char *subject) {
  uint64_t seen = 0;
  r->pos = beck__pl_pos(v);
  if (!beck__pl_bind(ld, sec, v, r, &seen, subject))
    return false;
  r->has_key = seen & 1;
  r->has_value = seen & 2;
  r->has_timestamp = seen & 4;
  return true;
}

bool beck__pl_bind_window_bounds(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst,
                                 const char *subject) {
  beck_pipeline_test_record_t *r = dst;
  char subj[400];
  snprintf(subj, sizeof subj, "'window' in %.200s", subject);
  uint64_t seen = 0;
  if (!beck__pl_bind(ld, &beck__pl_sec_window_bounds, v, r, &seen, subj))
    return false;
  r->has_window = (seen & 3) == 3;
  return true;
}

bool beck__pl_bind_test_inputs(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst,
                               const char *subject) {
  beck_pipeline_test_t *t = dst;
  if (v->kind != YN_SEQ) {
    beck__pl_error_at(ld, v, "'inputs' in %s is %s; expected a list (- SOURCE: {key: ..., value: ...} or - "
                             "advance: 1m)",
                      subject, beck__pl_kind_name(v));
    return false;
  }
  size_t total = 0;
  for (size_t i = 0; i < v->nitems; i++) {
    const ynode_t *m = v->items[i];
    const ynode_t *val = m->kind == YN_MAP && m->npairs > 0 ? m->pairs[0].val : NULL;
    total += val != NULL && val->kind == YN_SEQ ? val->nitems : 1;
  }
  t->inputs = beck__pl_alloc(ld, (total ? total : 1) * sizeof *t->inputs);
  if (t->inputs == NULL)
    return false;
  int64_t now = 0;
  static const field_def_t advance_field = {.name = "advance", .type = FT_DURATION, .min = 0, .max = INT64_MAX};
  static const field_def_t advance_to_field = {.name = "advance_to", .type = FT_TIME};
  for (size_t i = 0; i < v->nitems; i++) {
    const ynode_t *m = v->items[i];
    if (m->kind != YN_MAP || m->npairs != 1) {
      beck__pl_error_at(ld, m,
                        "input %zu of %s is %s; expected a mapping with one key: a source name (with a record), "
                        "'advance' or 'advance_to'",
                        i + 1, subject,
                        m->kind == YN_MAP ? (m->npairs == 0 ? "empty" : "a mapping with several keys")
                                          : beck__pl_kind_name(m));
      continue;
    }
    const ynode_t *k = m->pairs[0].key, *val = m->pairs[0].val;
    if (strcmp(k->str, "advance") == 0 || strcmp(k->str, "advance_to") == 0) {
      beck_pipeline_test_input_t *in = &t->inputs[t->ninputs];
      bool to = k->str[7] == '_';
      in->kind = to ? BECK_PIPELINE_TEST_ADVANCE_TO : BECK_PIPELINE_TEST_ADVANCE;
      in->pos = beck__pl_pos(k);
      if (beck__pl_bind_field(ld, to ? &advance_to_field : &advance_field, val, &in->ms, subject)) {
        now = to ? in->ms : now + in->ms;
        t->ninputs++;
      }
      continue;
    }
    size_t n = val->kind == YN_SEQ ? val->nitems : 1;
    for (size_t j = 0; j < n; j++) {
      const ynode_t *rv = val->kind == YN_SEQ ? val->items[j] : val;
      beck_pipeline_test_input_t *in = &t->inputs[t->ninputs];
      in->kind = BECK_PIPELINE_TEST_SEND;
      in->source = k->str;
      in->pos = beck__pl_pos(k);
      char subj[400];
      snprintf(subj, sizeof subj, "the record for '%.80s' in %.200s", k->str, subject);
      if (!bind_record(ld, &beck__pl_sec_test_record, rv, &in->record, subj))
        continue;
      if (in->record.has_timestamp)
        now = in->record.timestamp;
      else
        in->record.timestamp = now;
      in->record.has_timestamp = true;
      beck__pl_add_ref(ld, k->str, k, REF_TEST_INPUT, in);
      t->ninputs++;
    }
  }
  return true;
}

bool beck__pl_bind_test_expect(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst,
                               const char *subject) {
  beck_pipeline_test_t *t = dst;
  if (v->kind != YN_MAP) {
    beck__pl_error_at(ld, v, "'expect' in %s is %s; expected a mapping of topic: list of records", subject,
                      beck__pl_kind_name(v));
    return false;
  }
  t->outputs = beck__pl_alloc(ld, (v->npairs ? v->npairs : 1) * sizeof *t->outputs);
  if (t->outputs == NULL)
    return false;
  for (size_t i = 0; i < v->npairs; i++) {
    const ynode_t *k = v->pairs[i].key, *val = v->pairs[i].val;
    beck_pipeline_test_output_t *o = &t->outputs[t->noutputs++];
    o->topic = k->str;
    o->pos = beck__pl_pos(k);
    beck__pl_add_ref(ld, k->str, k, REF_TEST_EXPECT, o);
    if (val->kind == YN_SCALAR && val->len == 0 && !val->quoted_tag_str)
      continue; /* "topic:" alone: no records */
    if (val->kind != YN_SEQ) {
      beck__pl_error_at(ld, val, "the records expected on '%.80s' in %s are %s; expected a list of records ([] for "
                                 "none)",
                        k->str, subject, beck__pl_kind_name(val));
      continue;
    }
    o->records = beck__pl_alloc(ld, (val->nitems ? val->nitems : 1) * sizeof *o->records);
    if (o->records == NULL)
      return false;
    for (size_t j = 0; j < val->nitems; j++) {
      char subj[400];
      snprintf(subj, sizeof subj, "expected record %zu on '%.80s' in %.200s", j + 1, k->str, subject);
      if (bind_record(ld, &beck__pl_sec_expect_record, val->items[j], &o->records[o->n], subj))
        o->n++;
    }
  }
  return true;
}

bool beck__pl_bind_tests(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  beck_pipeline_t *p = dst;
  if (v->kind == YN_SCALAR && v->len == 0 && !v->quoted_tag_str)
    return true;
  if (v->kind != YN_SEQ) {
    beck__pl_error_at(ld, v, "'tests' in %s is %s; expected a list of tests (- name: ...)", subject,
                      beck__pl_kind_name(v));
    return false;
  }
  p->tests = beck__pl_alloc(ld, (v->nitems ? v->nitems : 1) * sizeof *p->tests);
  if (p->tests == NULL)
    return false;
  for (size_t i = 0; i < v->nitems; i++) {
    const ynode_t *m = v->items[i];
    beck_pipeline_test_t *t = &p->tests[p->ntests++];
    t->pos = beck__pl_pos(m);
    const ynode_t *name = beck__pl_map_get(m, "name");
    char subj[320];
    if (name != NULL && name->kind == YN_SCALAR && name->len > 0)
      snprintf(subj, sizeof subj, "test '%.250s'", name->str);
    else
      snprintf(subj, sizeof subj, "test %zu", i + 1);
    beck__pl_bind(ld, &beck__pl_sec_test, m, t, NULL, subj);
  }
  return true;
}
