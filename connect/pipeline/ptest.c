/*
 * ptest.c - `beck pipeline test`: runs one test of a pipeline's `tests:`
 * section on the deterministic test driver (beck/streams.h) and compares
 * the records each expected topic received with the expectation.
 *
 * A test gets a fresh topology (compile.c) over a fresh in-memory log, so
 * tests never see each other's state. Inputs run in file order: a record is
 * piped to its topic and processed completely before the next one; advance
 * and advance_to push event time (a watermark) through every operator,
 * which closes windows and expires join and dedupe state. now() in
 * expressions reads the test's time. Records sent to a topic no stream
 * reads stay in that topic (expectations on it see them), as a source would
 * have written them.
 *
 * Comparison: only the fields an expected record writes are compared; keys
 * and values compare as JSON (1 equals 1.0; a string compares with a value's
 * text). The report is a diff per differing topic, records written in the
 * test file's own flow syntax so an actual record can be pasted as an
 * expectation:
 *
 *     - { key: home, value: {"clicks":2} }     expected, not produced
 *     + { key: home, value: {"clicks":3} }     produced, not expected
 *       { key: away, value: {"clicks":1} }     as expected
 */
#include "connect/pipeline/runtime_int.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"

typedef struct held {
  const char *topic;
  beck_srec_t *recs;
  size_t n, cap;
} held_t;

typedef struct trun {
  const beck_pipeline_t *p;
  const beck_pipeline_test_t *t;
  beck_pipeline_compiled_t *c;
  beck_test_driver_t *d;
  int64_t now;
  held_t *held; /* records of topics no stream reads */
  size_t nheld;
  beck_arena_t arena;
  beck_buf_t *report;
} trun_t;

static int64_t test_clock(void *ud) { return ((trun_t *)ud)->now; }

/* ---- records from the test file --------------------------------------------------- */

/* JSON as record bytes: a string as its text, null as null, else compact JSON. */
static beck_nstr_t json_bytes(trun_t *tr, json_t *j) {
  if (j == NULL || json_is_null(j))
    return beck_nstr_null();
  if (json_is_string(j)) {
    size_t n = json_string_length(j);
    void *p = beck_arena_memdup(&tr->arena, n ? json_string_value(j) : "", n ? n : 1);
    return p ? beck_nstr(p, (int32_t)n) : beck_nstr_null();
  }
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  if (s == NULL)
    return beck_nstr_null();
  size_t n = strlen(s);
  void *p = beck_arena_memdup(&tr->arena, s, n);
  free(s);
  return p ? beck_nstr(p, (int32_t)n) : beck_nstr_null();
}

static beck_err_t make_record(trun_t *tr, const beck_pipeline_test_record_t *x, beck_srec_t *r) {
  memset(r, 0, sizeof *r);
  r->key = x->has_key ? json_bytes(tr, x->key) : beck_nstr_null();
  r->value = x->has_value ? json_bytes(tr, x->value) : beck_nstr_null();
  r->timestamp = x->timestamp;
  if (x->nheaders > 0) {
    beck_record_header_t *h = beck_arena_calloc(&tr->arena, x->nheaders, sizeof *h);
    if (h == NULL)
      return BECK_ERR_NOMEM;
    for (size_t k = 0; k < x->nheaders; k++) {
      h[k].key = beck_slice_cstr(x->headers[k].name);
      h[k].value = beck_nstr(x->headers[k].value, (int32_t)strlen(x->headers[k].value));
    }
    r->headers = h;
    r->nheaders = (int32_t)x->nheaders;
  }
  return BECK_ERR_OK;
}

static held_t *held_for(trun_t *tr, const char *topic, bool create) {
  for (size_t i = 0; i < tr->nheld; i++)
    if (strcmp(tr->held[i].topic, topic) == 0)
      return &tr->held[i];
  if (!create)
    return NULL;
  held_t *a = beck_realloc(tr->held, (tr->nheld + 1) * sizeof *a);
  if (a == NULL)
    return NULL;
  tr->held = a;
  memset(&a[tr->nheld], 0, sizeof *a);
  a[tr->nheld].topic = topic;
  return &a[tr->nheld++];
}

static beck_err_t hold(trun_t *tr, const char *topic, const beck_srec_t *r) {
  held_t *h = held_for(tr, topic, true);
  if (h == NULL)
    return BECK_ERR_NOMEM;
  if (h->n == h->cap) {
    size_t nc = h->cap ? h->cap * 2 : 16;
    beck_srec_t *a = beck_realloc(h->recs, nc * sizeof *a);
    if (a == NULL)
      return BECK_ERR_NOMEM;
    h->recs = a;
    h->cap = nc;
  }
  h->recs[h->n++] = *r; /* bytes live in tr->arena */
  return BECK_ERR_OK;
}

/* ---- comparing ------------------------------------------------------------------- */

static bool bytes_eq_text(beck_nstr_t b, const char *s, size_t n) {
  return b.len >= 0 && (size_t)b.len == n && (n == 0 || memcmp(b.ptr, s, n) == 0);
}

/* Expected JSON e against actual bytes b, read as a key or a value. */
static bool field_matches(json_t *e, beck_nstr_t b, bool is_key) {
  if (e == NULL || json_is_null(e))
    return b.len < 0;
  if (b.len < 0)
    return false;
  if (json_is_string(e) && bytes_eq_text(b, json_string_value(e), json_string_length(e)))
    return true;
  json_t *own = NULL;
  beck_val_t a = is_key ? beck__pl_decode_key(b, &own) : beck__pl_decode_value(b, &own);
  bool eq;
  if (is_key && a.kind == BECK_VAL_STR && !json_is_string(e)) {
    /* a key written from a number or bool: compare the text */
    char *s = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
    eq = s != NULL && bytes_eq_text(b, s, strlen(s));
    free(s);
  } else {
    beck_val_t x = beck_val_from_json(e);
    eq = beck_val_equal(&x, &a);
  }
  json_decref(own);
  return eq;
}

static bool header_eq(const beck_srec_t *a, const char *name, const char *value) {
  size_t nl = strlen(name), vl = strlen(value);
  for (int32_t k = a->nheaders - 1; k >= 0; k--) {
    const beck_record_header_t *h = &a->headers[k];
    if (h->key.len == nl && memcmp(h->key.ptr, name, nl) == 0)
      return bytes_eq_text(h->value, value, vl);
  }
  return false;
}

static bool rec_matches(const beck_pipeline_test_record_t *x, const beck_srec_t *a) {
  if (x->has_key && !field_matches(x->key, a->key, true))
    return false;
  if (x->has_value && !field_matches(x->value, a->value, false))
    return false;
  if (x->has_timestamp && x->timestamp != a->timestamp)
    return false;
  for (size_t k = 0; k < x->nheaders; k++)
    if (!header_eq(a, x->headers[k].name, x->headers[k].value))
      return false;
  if (x->has_window) {
    int64_t s, e;
    if (!beck__pl_record_window(a, &s, &e) || s != x->window_start || e != x->window_end)
      return false;
  }
  return true;
}

/* ---- printing records like the test file writes them ----------------------------------- */

static void put_time(beck_buf_t *out, int64_t ms) {
  if (ms >= 0 && ms < 365LL * 86400000) {
    /* small times read best as durations since the epoch, as tests write them */
    if (ms == 0) {
      beck_buf_printf(out, "0s");
      return;
    }
    static const struct {
      int64_t ms;
      const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
    int64_t rest = ms;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
      if (rest >= units[u].ms) {
        beck_buf_printf(out, "%lld%s", (long long)(rest / units[u].ms), units[u].unit);
        rest %= units[u].ms;
      }
    }
    return;
  }
  char t[48];
  beck_format_time(ms, t, sizeof t);
  beck_buf_printf(out, "%s", t);
}

static bool plain_scalar(const char *s, size_t n) {
  if (n == 0 || n > 80)
    return false;
  if (strchr("-?:,[]{}#&*!|>'\"%@` 0123456789.+", s[0]) != NULL)
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == ',' || c == '[' || c == ']' || c == '{' || c == '}' || c == '#' || c == '"' ||
        (c == ':' && (i + 1 == n || s[i + 1] == ' ')))
      return false;
  }
  static const char *const reserved[] = {"true", "false", "null", "yes", "no", "on", "off", "~"};
  for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
    if (strlen(reserved[k]) == n && strncasecmp(s, reserved[k], n) == 0)
      return false;
  return true;
}

/* Bytes as a YAML flow value: JSON when they are JSON (objects, arrays,
 * numbers: valid YAML flow), a plain scalar when safe, else a quoted
 * string. */
static void put_bytes(beck_buf_t *out, beck_nstr_t b, bool is_key) {
  if (b.len < 0) {
    beck_buf_printf(out, "null");
    return;
  }
  json_t *own = NULL;
  beck_val_t v = is_key ? beck__pl_decode_key(b, &own) : beck__pl_decode_value(b, &own);
  if (v.kind == BECK_VAL_STR) {
    if (plain_scalar(v.u.s.p, v.u.s.len) && !(is_key && own != NULL)) {
      beck_buf_append(out, v.u.s.p, v.u.s.len);
    } else {
      beck_val_write_json(&v, out);
    }
  } else {
    beck_val_write_json(&v, out);
  }
  json_decref(own);
}

typedef struct fields {
  bool key, value, timestamp, headers, window;
} fields_t;

static void put_actual(beck_buf_t *out, const beck_srec_t *a, fields_t f) {
  beck_buf_printf(out, "{ ");
  bool first = true;
  if (f.key) {
    beck_buf_printf(out, "key: ");
    put_bytes(out, a->key, true);
    first = false;
  }
  if (f.value) {
    beck_buf_printf(out, "%svalue: ", first ? "" : ", ");
    put_bytes(out, a->value, false);
    first = false;
  }
  if (f.timestamp) {
    beck_buf_printf(out, "%stimestamp: ", first ? "" : ", ");
    put_time(out, a->timestamp);
    first = false;
  }
  int64_t s, e;
  if (beck__pl_record_window(a, &s, &e)) {
    beck_buf_printf(out, "%swindow: {start: ", first ? "" : ", ");
    put_time(out, s);
    beck_buf_printf(out, ", end: ");
    put_time(out, e);
    beck_buf_printf(out, "}");
    first = false;
  }
  if (f.headers && a->nheaders > 0) {
    beck_buf_printf(out, "%sheaders: {", first ? "" : ", ");
    bool hf = true;
    for (int32_t k = 0; k < a->nheaders; k++) {
      const beck_record_header_t *h = &a->headers[k];
      if (h->key.len > 12 && memcmp(h->key.ptr, "beck.window.", 12) == 0)
        continue;
      beck_buf_printf(out, "%s%.*s: ", hf ? "" : ", ", (int)h->key.len, (const char *)h->key.ptr);
      if (h->value.len < 0)
        beck_buf_printf(out, "null");
      else
        beck_buf_printf(out, "%.*s", (int)h->value.len, (const char *)h->value.ptr);
      hf = false;
    }
    beck_buf_printf(out, "}");
  }
  beck_buf_printf(out, " }");
}

static void put_json(beck_buf_t *out, json_t *j, bool is_key) {
  if (j == NULL || json_is_null(j)) {
    beck_buf_printf(out, "null");
    return;
  }
  if (json_is_string(j) && plain_scalar(json_string_value(j), json_string_length(j))) {
    beck_buf_append(out, json_string_value(j), json_string_length(j));
    return;
  }
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  if (s != NULL)
    beck_buf_printf(out, "%s", s);
  free(s);
}

static void put_expected(beck_buf_t *out, const beck_pipeline_test_record_t *x) {
  beck_buf_printf(out, "{ ");
  bool first = true;
  if (x->has_key) {
    beck_buf_printf(out, "key: ");
    put_json(out, x->key, true);
    first = false;
  }
  if (x->has_value) {
    beck_buf_printf(out, "%svalue: ", first ? "" : ", ");
    put_json(out, x->value, false);
    first = false;
  }
  if (x->has_timestamp) {
    beck_buf_printf(out, "%stimestamp: ", first ? "" : ", ");
    put_time(out, x->timestamp);
    first = false;
  }
  if (x->has_window) {
    beck_buf_printf(out, "%swindow: {start: ", first ? "" : ", ");
    put_time(out, x->window_start);
    beck_buf_printf(out, ", end: ");
    put_time(out, x->window_end);
    beck_buf_printf(out, "}");
    first = false;
  }
  if (x->nheaders > 0) {
    beck_buf_printf(out, "%sheaders: {", first ? "" : ", ");
    for (size_t k = 0; k < x->nheaders; k++)
      beck_buf_printf(out, "%s%s: %s", k ? ", " : "", x->headers[k].name, x->headers[k].value);
    beck_buf_printf(out, "}");
  }
  beck_buf_printf(out, " }");
}

/* The diff of one topic (LCS over "matches"). Returns true when equal. */
static bool diff_topic(trun_t *tr, const beck_pipeline_test_output_t *o, const beck_srec_t *act, size_t na) {
  size_t ne = o->n;
  bool same = ne == na;
  for (size_t i = 0; same && i < ne; i++)
    same = rec_matches(&o->records[i], &act[i]);
  if (same)
    return true;
  fields_t f = {.key = true, .value = true};
  for (size_t i = 0; i < ne; i++) {
    f.timestamp |= o->records[i].has_timestamp;
    f.headers |= o->records[i].nheaders > 0;
  }
  /* lcs[i][j]: longest common run of expected[i..] and actual[j..] */
  size_t w = na + 1;
  uint32_t *lcs = beck_calloc((ne + 1) * w, sizeof *lcs);
  beck_buf_t *out = tr->report;
  size_t missing = 0, extra = 0;
  if (lcs != NULL) {
    for (size_t i = ne; i-- > 0;)
      for (size_t j = na; j-- > 0;)
        lcs[i * w + j] = rec_matches(&o->records[i], &act[j])
                             ? lcs[(i + 1) * w + j + 1] + 1
                             : (lcs[(i + 1) * w + j] > lcs[i * w + j + 1] ? lcs[(i + 1) * w + j] : lcs[i * w + j + 1]);
    missing = ne - lcs[0];
    extra = na - lcs[0];
  }
  beck_buf_printf(out, "  %s (%s:%u:%u): expected %zu record%s, got %zu", o->topic, tr->p->file, o->pos.line,
                  o->pos.col, ne, ne == 1 ? "" : "s", na);
  if (lcs != NULL && (missing || extra))
    beck_buf_printf(out, " (%zu missing, %zu unexpected)", missing, extra);
  beck_buf_printf(out, "\n");
  size_t i = 0, j = 0;
  while (lcs != NULL && (i < ne || j < na)) {
    if (i < ne && j < na && rec_matches(&o->records[i], &act[j])) {
      beck_buf_printf(out, "      ");
      put_actual(out, &act[j], f);
      i++, j++;
    } else if (j < na && (i == ne || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
      beck_buf_printf(out, "    + ");
      put_actual(out, &act[j], f);
      j++;
    } else {
      beck_buf_printf(out, "    - ");
      put_expected(out, &o->records[i]);
      i++;
    }
    beck_buf_printf(out, "\n");
  }
  beck_free(lcs);
  return false;
}

/* ---- running ----------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) { return remove(path); }

static beck_err_t fail(trun_t *tr, beck_error_t *e, beck_err_t code, const beck_pipeline_pos_t *pos, const char *what,
                       const char *why) {
  if (pos != NULL)
    beck_buf_printf(tr->report, "  %s:%u:%u: %s: %s\n", tr->p->file, pos->line, pos->col, what, why);
  else
    beck_buf_printf(tr->report, "  %s: %s\n", what, why);
  return beck_error_set(e, code, "test '%s': %s: %s", tr->t->name, what, why);
}

beck_err_t beck_pipeline_test_run(const beck_pipeline_t *p, size_t ti, beck_pipeline_test_result_t *res,
                                  beck_error_t *e) {
  memset(res, 0, sizeof *res);
  trun_t tr;
  memset(&tr, 0, sizeof tr);
  tr.p = p;
  tr.t = &p->tests[ti];
  tr.report = &res->report;
  beck_arena_init(&tr.arena, 0);
  char state_dir[] = "/tmp/beck-pipeline-test-XXXXXX";
  bool have_dir = false;
  beck_err_t rc = BECK_ERR_OK;
  const beck_pipeline_test_t *t = tr.t;

  bool topology = p->nstreams > 0 || p->ntables > 0;
  if (topology) {
    rc = beck_pipeline_compile(p, &tr.c, e);
    if (rc != BECK_ERR_OK) {
      fail(&tr, e, rc, NULL, "compiling the pipeline", e->msg);
      goto out;
    }
    tr.c->clock = test_clock;
    tr.c->clock_ud = &tr;
    if (mkdtemp(state_dir) == NULL) {
      rc = fail(&tr, e, BECK_ERR_IO, NULL, "state directory", "cannot create one under /tmp");
      goto out;
    }
    have_dir = true;
    beck_test_driver_config_t dc = {.partitions = 1, .state_dir = state_dir};
    beck_error_t de;
    rc = beck_test_driver_new(beck_pipeline_compiled_topology(tr.c), &dc, &tr.d, &de);
    if (rc != BECK_ERR_OK) {
      rc = fail(&tr, e, rc, NULL, "starting the test driver", de.msg);
      goto out;
    }
  }

  for (size_t i = 0; i < t->ninputs; i++) {
    const beck_pipeline_test_input_t *in = &t->inputs[i];
    beck_error_t de;
    beck_error_clear(&de);
    char what[200];
    if (in->kind == BECK_PIPELINE_TEST_SEND) {
      snprintf(what, sizeof what, "input %zu (to %s)", i + 1, in->topic ? in->topic : in->source);
      beck_srec_t r;
      if (make_record(&tr, &in->record, &r) != BECK_ERR_OK) {
        rc = fail(&tr, e, BECK_ERR_NOMEM, &in->pos, what, "out of memory");
        goto out;
      }
      tr.now = r.timestamp;
      if (tr.d != NULL && beck_test_driver_topic_size(tr.d, in->topic) >= 0)
        rc = beck_test_driver_pipe(tr.d, in->topic, &r, 1, &de);
      else
        rc = hold(&tr, in->topic, &r);
    } else {
      snprintf(what, sizeof what, "input %zu (%s)", i + 1,
               in->kind == BECK_PIPELINE_TEST_ADVANCE ? "advance" : "advance_to");
      tr.now = in->kind == BECK_PIPELINE_TEST_ADVANCE ? tr.now + in->ms : in->ms;
      if (tr.d != NULL)
        rc = beck_test_driver_advance(tr.d, tr.now, &de);
    }
    if (rc != BECK_ERR_OK) {
      rc = fail(&tr, e, rc, &in->pos, what, de.code != BECK_ERR_OK ? de.msg : beck_strerror(rc));
      goto out;
    }
  }

  res->passed = true;
  for (size_t k = 0; k < t->noutputs; k++) {
    const beck_pipeline_test_output_t *o = &t->outputs[k];
    beck_srec_t *act = NULL;
    size_t na = 0, cap = 0;
    held_t *h = held_for(&tr, o->topic, false);
    if (h != NULL) {
      act = h->recs;
      na = h->n;
      if (!diff_topic(&tr, o, act, na))
        res->passed = false;
      continue;
    }
    beck_srec_t r;
    while (tr.d != NULL && beck_test_driver_read(tr.d, o->topic, &r, NULL) == 1) {
      if (na == cap) {
        cap = cap ? cap * 2 : 16;
        beck_srec_t *a = beck_realloc(act, cap * sizeof *a);
        if (a == NULL) {
          beck_free(act);
          rc = fail(&tr, e, BECK_ERR_NOMEM, NULL, "reading outputs", "out of memory");
          goto out;
        }
        act = a;
      }
      act[na++] = r; /* borrowed from the driver */
    }
    if (!diff_topic(&tr, o, act, na))
      res->passed = false;
    beck_free(act);
  }

out:
  if (rc != BECK_ERR_OK)
    res->passed = false;
  beck_test_driver_destroy(tr.d);
  beck_pipeline_compiled_free(tr.c);
  if (have_dir)
    nftw(state_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  for (size_t i = 0; i < tr.nheld; i++)
    beck_free(tr.held[i].recs);
  beck_free(tr.held);
  beck_arena_destroy(&tr.arena);
  if (res->report.data == NULL)
    beck_buf_printf(&res->report, "%s", "");
  return rc;
}
