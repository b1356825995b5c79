/*
 * bind.c - interprets the declarative binding tables (schema.c): one
 * section table per kind of mapping in a pipeline file, one row per key
 * {name, type, default, required, range or choices, description}.
 *
 * For each key of a mapping the row says where the value goes (offset into
 * the struct) and how it is checked; unknown keys get a did-you-mean from the
 * table's names; required keys that are missing are reported at the
 * mapping; defaults are bound exactly like values a user wrote (so a default
 * in the table is checked by the same code). The reference in
 * docs/pipelines.md is printed from the same rows (schema.c).
 *
 * Messages follow one pattern: "'<key>' in <subject> is <what it is>;
 * expected <what the row accepts>".
 */
#include "connect/pipeline/pipeline_int.h"

#include <stdio.h>
#include <string.h>

#define AT(dst, off, type) ((type *)((char *)(dst) + (off)))

const char *beck__pl_describe_type(const field_def_t *f, char *buf, size_t cap) {
  if (f->type_doc != NULL) {
    snprintf(buf, cap, "%s", f->type_doc);
    return buf;
  }
  switch (f->type) {
  case FT_STRING: snprintf(buf, cap, "a string"); break;
  case FT_NAME: snprintf(buf, cap, "a name (letters, digits, '.', '_' or '-')"); break;
  case FT_TOPIC: snprintf(buf, cap, "a topic name"); break;
  case FT_TOPICS: snprintf(buf, cap, "a topic name or a list of topic names"); break;
  case FT_INT:
    if (f->min < f->max)
      snprintf(buf, cap, "an integer from %lld to %lld", (long long)f->min, (long long)f->max);
    else
      snprintf(buf, cap, "an integer");
    break;
  case FT_BOOL: snprintf(buf, cap, "true or false"); break;
  case FT_DURATION:
    snprintf(buf, cap, "a duration%s such as 500ms, 30s, 5m, 1h or 1d", f->min > 0 ? " above zero" : "");
    break;
  case FT_SIZE: snprintf(buf, cap, "a size%s such as 512KiB, 64MiB or 1GB", f->min > 0 ? " above zero" : ""); break;
  case FT_ENUM: {
    size_t n = (size_t)snprintf(buf, cap, "one of ");
    const char *c = f->choices;
    while (c && *c && n < cap) {
      const char *bar = strchr(c, '|');
      size_t l = bar ? (size_t)(bar - c) : strlen(c);
      n += (size_t)snprintf(buf + n, cap - n, "%.*s%s", (int)l, c, bar ? (strchr(bar + 1, '|') ? ", " : " or ") : "");
      c = bar ? bar + 1 : NULL;
    }
    break;
  }
  case FT_EXPR: snprintf(buf, cap, "an expression"); break;
  case FT_CONFIG: snprintf(buf, cap, "a mapping of options"); break;
  case FT_JSON: snprintf(buf, cap, "any value"); break;
  case FT_TIME:
    snprintf(buf, cap, "a time: ms since the epoch, RFC 3339 text (2024-05-01T12:00:00Z) or a duration since the "
                       "epoch (90s)");
    break;
  case FT_CUSTOM: snprintf(buf, cap, "a value"); break;
  }
  return buf;
}

/* "'abc'" (truncated) for scalars, "a mapping" / "a list" otherwise. */
static const char *got(const ynode_t *v, char *buf, size_t cap) {
  if (v->kind != YN_SCALAR)
    return beck__pl_kind_name(v);
  if (v->len == 0)
    return "empty";
  if (v->len > 40)
    snprintf(buf, cap, "'%.37s...'", v->str);
  else
    snprintf(buf, cap, "'%s'", v->str);
  return buf;
}

static bool wrong(loader_t *ld, const field_def_t *f, const ynode_t *v, const char *subject) {
  char g[64], t[200];
  beck__pl_error_at(ld, v, "'%s' in %s is %s; expected %s", f->name, subject, got(v, g, sizeof g),
                    beck__pl_describe_type(f, t, sizeof t));
  return false;
}

static bool name_ok(const char *s, size_t n) {
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return false;
  }
  return true;
}

static bool bind_topic(loader_t *ld, const field_def_t *f, const ynode_t *v, const char **out, const char *subject) {
  if (v->kind != YN_SCALAR || !name_ok(v->str, v->len) || v->len > 249)
    return wrong(ld, f, v, subject);
  *out = v->str;
  if (f->flags & FF_PRODUCES)
    beck__pl_add_ref(ld, v->str, v, REF_PRODUCE, NULL);
  if (f->flags & FF_CONSUMES)
    beck__pl_add_ref(ld, v->str, v, REF_CONSUME, NULL);
  return true;
}

static bool check_range(loader_t *ld, const field_def_t *f, const ynode_t *v, int64_t x, const char *subject) {
  if (f->min < f->max && (x < f->min || x > f->max))
    return wrong(ld, f, v, subject);
  return true;
}

static bool bind_config(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  if (v->kind != YN_MAP)
    return wrong(ld, f, v, subject);
  /* flatten nested mappings into dotted names: {file: {path: x}} -> file.path */
  size_t cap = 0, n = 0;
  beck_pipeline_option_t *opts = NULL;
  struct {
    const ynode_t *map;
    size_t i;
    const char *prefix;
  } stack[8];
  int depth = 0;
  stack[0].map = v;
  stack[0].i = 0;
  stack[0].prefix = "";
  bool ok = true;
  while (depth >= 0) {
    if (stack[depth].i >= stack[depth].map->npairs) {
      depth--;
      continue;
    }
    const ypair_t *p = &stack[depth].map->pairs[stack[depth].i++];
    const char *pre = stack[depth].prefix;
    size_t nl = strlen(pre) + p->key->len + 2;
    char *name = beck__pl_alloc(ld, nl);
    if (name == NULL)
      return false;
    snprintf(name, nl, "%s%s%s", pre, pre[0] ? "." : "", p->key->str);
    const ynode_t *val = p->val;
    if (val->kind == YN_MAP) {
      if (depth + 1 >= 8) {
        beck__pl_error_at(ld, val, "option '%s' in %s nests too deeply; expected a value", name, subject);
        ok = false;
        continue;
      }
      depth++;
      stack[depth].map = val;
      stack[depth].i = 0;
      stack[depth].prefix = name;
      continue;
    }
    const char *text;
    if (val->kind == YN_SEQ) {
      beck_buf_t b = {0};
      bool item_ok = true;
      for (size_t i = 0; i < val->nitems; i++) {
        if (val->items[i]->kind != YN_SCALAR) {
          beck__pl_error_at(ld, val->items[i], "option '%s' in %s has %s in its list; expected plain values", name,
                            subject, beck__pl_kind_name(val->items[i]));
          item_ok = false;
          break;
        }
        if ((i > 0 && beck_buf_append(&b, ",", 1) != 0) ||
            beck_buf_append(&b, val->items[i]->str, val->items[i]->len) != 0)
          ld->oom = true;
      }
      text = beck__pl_strdup(ld, b.len ? (const char *)b.data : "", b.len);
      beck_buf_free(&b);
      if (!item_ok) {
        ok = false;
        continue;
      }
    } else {
      text = val->str;
    }
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 8;
      beck_pipeline_option_t *bigger = beck__pl_alloc(ld, nc * sizeof *bigger);
      if (bigger == NULL)
        return false;
      if (n)
        memcpy(bigger, opts, n * sizeof *opts);
      opts = bigger;
      cap = nc;
    }
    opts[n++] = (beck_pipeline_option_t){name, text ? text : "", beck__pl_pos(val), beck__pl_pos(p->key)};
  }
  *AT(dst, f->offset, beck_pipeline_option_t *) = opts;
  *AT(dst, f->count_offset, size_t) = n;
  return ok;
}

beck_expr_t *beck__pl_keep_expr(loader_t *ld, beck_expr_t *x) {
  beck_pipeline_priv_t *pv = ld->p->priv;
  if (pv->nexprs == pv->capexprs) {
    size_t nc = pv->capexprs ? pv->capexprs * 2 : 16;
    beck_expr_t **e = beck_realloc(pv->exprs, nc * sizeof *e);
    if (e == NULL) {
      beck_expr_free(x);
      ld->oom = true;
      return NULL;
    }
    pv->exprs = e;
    pv->capexprs = nc;
  }
  pv->exprs[pv->nexprs++] = x;
  return x;
}

json_t *beck__pl_keep_json(loader_t *ld, json_t *j) {
  beck_pipeline_priv_t *pv = ld->p->priv;
  if (j == NULL) {
    ld->oom = true;
    return NULL;
  }
  if (pv->njsons == pv->capjsons) {
    size_t nc = pv->capjsons ? pv->capjsons * 2 : 16;
    json_t **e = beck_realloc(pv->jsons, nc * sizeof *e);
    if (e == NULL) {
      json_decref(j);
      ld->oom = true;
      return NULL;
    }
    pv->jsons = e;
    pv->capjsons = nc;
  }
  pv->jsons[pv->njsons++] = j;
  return j;
}

beck_expr_t *beck__pl_compile_raw(loader_t *ld, const ynode_t *v, expr_ctx_t ctx, const char *what) {
  if (v->kind != YN_SCALAR) {
    beck__pl_error_at(ld, v, "%s is %s; expected an expression (a string such as value.amount > 100)", what,
                      beck__pl_kind_name(v));
    return NULL;
  }
  beck_expr_opts_t o = {0};
  switch (ctx) {
  case EXPR_FILTER:
    o.want = BECK_TYPE_BOOL;
    o.what = what;
    break;
  case EXPR_ARRAY:
    o.want = BECK_TYPE_ARRAY;
    o.what = what;
    break;
  case EXPR_AGGREGATE:
    o.aggregates = true;
    o.roots = BECK_ROOT_KEY | BECK_ROOT_WINDOW;
    o.agg_roots = BECK_ROOT_RECORD;
    break;
  case EXPR_JOIN: o.roots = BECK_ROOT_LEFT | BECK_ROOT_RIGHT | BECK_ROOT_KEY | BECK_ROOT_TIMESTAMP; break;
  case EXPR_TIME:
    o.want = BECK_TYPE_NUMBER | BECK_TYPE_STRING;
    o.what = what;
    break;
  case EXPR_ANY: break;
  }
  beck_expr_t *x;
  beck_expr_error_t err;
  beck_err_t rc = beck_expr_compile(v->str, v->len, &o, &x, &err);
  if (rc == BECK_ERR_NOMEM) {
    ld->oom = true;
    return NULL;
  }
  if (rc != BECK_ERR_OK) {
    uint32_t line, col;
    beck__pl_scalar_pos(ld, v, err.pos, &line, &col);
    beck__pl_error(ld, line, col, "%s", err.msg);
    return NULL;
  }
  return x;
}

beck_expr_t *beck__pl_compile(loader_t *ld, const ynode_t *v, expr_ctx_t ctx, const char *what) {
  beck_expr_t *x = beck__pl_compile_raw(ld, v, ctx, what);
  return x != NULL ? beck__pl_keep_expr(ld, x) : NULL;
}

void beck__pl_add_ref(loader_t *ld, const char *name, const ynode_t *at, ref_role_t role, void *target) {
  if (ld->nrefs == ld->caprefs) {
    size_t nc = ld->caprefs ? ld->caprefs * 2 : 32;
    ref_t *r = beck_realloc(ld->refs, nc * sizeof *r);
    if (r == NULL) {
      ld->oom = true;
      return;
    }
    ld->refs = r;
    ld->caprefs = nc;
  }
  ld->refs[ld->nrefs++] = (ref_t){name, beck__pl_pos(at), role, ld->cur_stream, target};
}

bool beck__pl_bind_field(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject) {
  bool b;
  int64_t i;
  double d;
  switch (f->type) {
  case FT_STRING:
    if (v->kind != YN_SCALAR || v->len == 0)
      return wrong(ld, f, v, subject);
    *AT(dst, f->offset, const char *) = v->str;
    return true;
  case FT_NAME:
    if (v->kind != YN_SCALAR || !name_ok(v->str, v->len))
      return wrong(ld, f, v, subject);
    *AT(dst, f->offset, const char *) = v->str;
    return true;
  case FT_TOPIC: return bind_topic(ld, f, v, AT(dst, f->offset, const char *), subject);
  case FT_TOPICS: {
    size_t n = v->kind == YN_SEQ ? v->nitems : 1;
    if (v->kind == YN_MAP || n == 0)
      return wrong(ld, f, v, subject);
    const char **list = beck__pl_alloc(ld, n * sizeof *list);
    if (list == NULL)
      return false;
    bool ok = true;
    for (size_t k = 0; k < n; k++)
      ok &= bind_topic(ld, f, v->kind == YN_SEQ ? v->items[k] : v, &list[k], subject);
    if (!ok)
      return false;
    *AT(dst, f->offset, const char **) = list;
    *AT(dst, f->count_offset, size_t) = n;
    return true;
  }
  case FT_INT:
    if (v->kind != YN_SCALAR || beck__pl_scalar_type(v, &b, &i, &d) != YT_INT)
      return wrong(ld, f, v, subject);
    if (!check_range(ld, f, v, i, subject))
      return false;
    if (f->flags & FF_INT32)
      *AT(dst, f->offset, int32_t) = (int32_t)i;
    else
      *AT(dst, f->offset, int64_t) = i;
    return true;
  case FT_BOOL:
    if (v->kind != YN_SCALAR || beck__pl_scalar_type(v, &b, &i, &d) != YT_BOOL)
      return wrong(ld, f, v, subject);
    *AT(dst, f->offset, bool) = b;
    return true;
  case FT_DURATION: {
    if (v->kind != YN_SCALAR)
      return wrong(ld, f, v, subject);
    int64_t ms;
    if (strcmp(v->str, "0") == 0)
      ms = 0;
    else if (beck_parse_duration(v->str, v->len, &ms) != 0) {
      char g[64], t[200];
      if (beck__pl_scalar_type(v, &b, &i, &d) == YT_INT)
        beck__pl_error_at(ld, v, "'%s' in %s is %s without a unit; expected %s (e.g. %sms or %ss)", f->name, subject,
                          got(v, g, sizeof g), beck__pl_describe_type(f, t, sizeof t), v->str, v->str);
      else
        wrong(ld, f, v, subject);
      return false;
    }
    if (!check_range(ld, f, v, ms, subject))
      return false;
    *AT(dst, f->offset, int64_t) = ms;
    return true;
  }
  case FT_SIZE: {
    int64_t bytes;
    if (v->kind != YN_SCALAR || beck_parse_size(v->str, v->len, &bytes) != 0 || !check_range(ld, f, v, bytes, subject))
      return wrong(ld, f, v, subject);
    *AT(dst, f->offset, int64_t) = bytes;
    return true;
  }
  case FT_ENUM: {
    if (v->kind == YN_SCALAR) {
      const char *c = f->choices;
      const char *names[16];
      char buf[16][32];
      size_t nn = 0;
      for (int idx = 0; c && *c; idx++) {
        const char *bar = strchr(c, '|');
        size_t l = bar ? (size_t)(bar - c) : strlen(c);
        if (l == v->len && memcmp(c, v->str, l) == 0) {
          *AT(dst, f->offset, int) = idx;
          return true;
        }
        if (nn < 16 && l < 32) {
          memcpy(buf[nn], c, l);
          buf[nn][l] = '\0';
          names[nn] = buf[nn];
          nn++;
        }
        c = bar ? bar + 1 : NULL;
      }
      const char *s = beck_did_you_mean(v->str, v->len, names, nn);
      if (s != NULL) {
        char g[64], t[200];
        beck__pl_error_at(ld, v, "'%s' in %s is %s (did you mean '%s'?); expected %s", f->name, subject,
                          got(v, g, sizeof g), s, beck__pl_describe_type(f, t, sizeof t));
        return false;
      }
    }
    return wrong(ld, f, v, subject);
  }
  case FT_EXPR: {
    char what[160];
    snprintf(what, sizeof what, "'%s' in %s", f->name, subject);
    beck_expr_t *x = beck__pl_compile(ld, v, f->expr, what);
    if (x == NULL)
      return false;
    *AT(dst, f->offset, beck_expr_t *) = x;
    return true;
  }
  case FT_CONFIG: return bind_config(ld, f, v, dst, subject);
  case FT_JSON: {
    json_t *j = beck__pl_keep_json(ld, beck__pl_to_json(ld, v));
    if (j == NULL)
      return false;
    *AT(dst, f->offset, json_t *) = j;
    return true;
  }
  case FT_TIME: {
    int64_t ms;
    if (v->kind != YN_SCALAR)
      return wrong(ld, f, v, subject);
    yscalar_type_t t = beck__pl_scalar_type(v, &b, &i, &d);
    if (t == YT_INT)
      ms = i;
    else if (beck_parse_time(v->str, v->len, &ms) != 0 && beck_parse_duration(v->str, v->len, &ms) != 0)
      return wrong(ld, f, v, subject);
    *AT(dst, f->offset, int64_t) = ms;
    return true;
  }
  case FT_CUSTOM: return f->bind(ld, f, v, dst, subject);
  }
  return false;
}

const char *beck__pl_suggest_field(const section_def_t *sec, const char *key) {
  const char *names[64];
  size_t n = 0;
  for (size_t i = 0; i < sec->nfields && n < 64; i++)
    names[n++] = sec->fields[i].name;
  return beck_did_you_mean(key, strlen(key), names, n);
}

static void list_fields(const section_def_t *sec, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < sec->nfields; i++) {
    int w = snprintf(buf + len, cap - len, "%s%s", i == 0 ? "" : i + 1 == sec->nfields ? " or " : ", ",
                     sec->fields[i].name);
    if (w < 0 || (size_t)w >= cap - len)
      return;
    len += (size_t)w;
  }
}

/* The row's description as the end of a sentence: "the topic the sink
 * reads" from "The topic the sink reads." */
static const char *describe_doc(const field_def_t *f, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", f->doc);
  size_t n = strlen(buf);
  if (n > 0 && buf[n - 1] == '.')
    buf[n - 1] = '\0';
  if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
    buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

/* A synthetic scalar for a default, positioned at the mapping. */
static ynode_t *default_node(loader_t *ld, const ynode_t *map, const char *text) {
  ynode_t *n = beck__pl_alloc(ld, sizeof *n);
  if (n == NULL)
    return NULL;
  n->kind = YN_SCALAR;
  n->style = YS_PLAIN;
  n->line = map->line;
  n->col = map->col;
  n->offset = map->offset;
  n->str = (char *)text;
  n->len = strlen(text);
  n->raw = n->str;
  n->raw_len = n->len;
  return n;
}

bool beck__pl_bind(loader_t *ld, const section_def_t *sec, const ynode_t *map, void *dst, uint64_t *seen,
                   const char *subject) {
  uint64_t mask = 0, suggested = 0;
  if (seen)
    *seen = 0;
  if (map == NULL || map->kind != YN_MAP) {
    beck__pl_error_at(ld, map, "%s is %s; expected a mapping (key: value lines)", subject, beck__pl_kind_name(map));
    return false;
  }
  for (size_t i = 0; i < map->npairs; i++) {
    const ypair_t *p = &map->pairs[i];
    const field_def_t *f = NULL;
    size_t fi = 0;
    for (size_t k = 0; k < sec->nfields; k++) {
      if (strcmp(sec->fields[k].name, p->key->str) == 0) {
        f = &sec->fields[k];
        fi = k;
      }
    }
    if (f == NULL && sec == &beck__pl_sec_pipeline && strncmp(p->key->str, "x-", 2) == 0)
      continue; /* extension keys: a place for anchors (x-defaults: &defaults ...) */
    if (f == NULL) {
      const char *s = beck__pl_suggest_field(sec, p->key->str);
      if (s != NULL) {
        beck__pl_error_at(ld, p->key, "unknown key '%.80s' in %s (did you mean '%s'?)", p->key->str, subject, s);
        for (size_t k = 0; k < sec->nfields; k++)
          if (sec->fields[k].name == s)
            suggested |= (uint64_t)1 << k; /* no second message about it missing */
      } else {
        char list[400];
        list_fields(sec, list, sizeof list);
        beck__pl_error_at(ld, p->key, "unknown key '%.80s' in %s; expected %s", p->key->str, subject, list);
      }
      continue;
    }
    if (mask & ((uint64_t)1 << fi))
      continue; /* a duplicate key: yaml.c reported it; the first one counts */
    mask |= (uint64_t)1 << fi;
    beck__pl_bind_field(ld, f, p->val, dst, subject);
  }
  for (size_t k = 0; k < sec->nfields; k++) {
    const field_def_t *f = &sec->fields[k];
    if (mask & ((uint64_t)1 << k))
      continue;
    if (f->required) {
      char d[400];
      if (!(suggested & ((uint64_t)1 << k)))
        beck__pl_error_at(ld, map, "%s is missing required key '%s'; expected %s", subject, f->name,
                          describe_doc(f, d, sizeof d));
    } else if (f->def != NULL) {
      ynode_t *d = default_node(ld, map, f->def);
      if (d != NULL)
        beck__pl_bind_field(ld, f, d, dst, subject);
    }
  }
  if (seen)
    *seen = mask;
  return true;
}

int beck_parse_size(const char *s, size_t len, int64_t *bytes) {
  size_t i = 0;
  int64_t n = 0;
  if (len == 0)
    return -1;
  while (i < len && s[i] >= '0' && s[i] <= '9') {
    if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, s[i] - '0', &n))
      return -1;
    i++;
  }
  if (i == 0)
    return -1;
  static const struct {
    const char *unit;
    int64_t mult;
  } units[] = {
      {"", 1},
      {"B", 1},
      {"KB", 1000},
      {"kB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000LL * 1000 * 1000},
      {"TB", 1000LL * 1000 * 1000 * 1000},
      {"KiB", 1024},
      {"MiB", 1024 * 1024},
      {"GiB", 1024LL * 1024 * 1024},
      {"TiB", 1024LL * 1024 * 1024 * 1024},
  };
  for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
    size_t ul = strlen(units[u].unit);
    if (len - i == ul && memcmp(s + i, units[u].unit, ul) == 0) {
      if (__builtin_mul_overflow(n, units[u].mult, bytes))
        return -1;
      return 0;
    }
  }
  return -1;
}
