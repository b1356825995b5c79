/*
 * yaml.c - YAML text to a node tree that keeps positions (libyaml's event
 * parser), ${VAR} substitution, scalar resolution and JSON conversion.
 *
 * Invariants of the tree:
 *   - every node has the 1-based line and column (in characters) of its
 *     first character, and its byte offset in the text;
 *   - mapping keys are scalars; a key appears once per mapping (duplicates
 *     are reported); merge keys ("<<: *base" or "<<: [*a, *b]") are applied,
 *     keys written in the mapping win;
 *   - an alias points at the anchored node (shared, not copied); an anchor
 *     is usable only after its node is complete, so the tree has no cycles;
 *     the total size counted through aliases is capped (MAX_WEIGHT), which
 *     stops "billion laughs" documents before anything walks them;
 *   - nesting is capped at MAX_DEPTH;
 *   - scalar values (not keys) have ${VAR} and ${VAR:-default} replaced;
 *     "$${" writes a literal "${". Each replacement is recorded so positions
 *     inside the value still map to the file.
 *
 * One document per file. Only the text's own bytes are read.
 */
#include "connect/pipeline/pipeline_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define MAX_WEIGHT 1000000

typedef struct frame {
  ynode_t *node;
  ynode_t *key; /* mapping: the key waiting for its value */
  ypair_t *pairs;
  size_t npairs, cap;
  ynode_t **items;
  size_t nitems, icap;
  size_t weight;
  char *anchor;
} frame_t;

typedef struct anchor {
  char *name;
  ynode_t *node;
  size_t weight;
} anchor_t;

typedef struct builder {
  loader_t *ld;
  frame_t stack[MAX_DEPTH];
  int depth;
  anchor_t *anchors;
  size_t nanchors, capanchors;
  ynode_t *root;
  size_t root_weight;
  size_t total_weight;
  int docs;
  size_t cur_line, cur_col, cur_byte; /* the last mark converted (mark_offset) */
} builder_t;

void *beck__pl_alloc(loader_t *ld, size_t n) {
  void *p = beck_arena_zalloc(ld->arena, n);
  if (p == NULL)
    ld->oom = true;
  return p;
}

char *beck__pl_strdup(loader_t *ld, const char *s, size_t n) {
  char *c = beck__pl_alloc(ld, n + 1);
  if (c == NULL)
    return NULL;
  if (n)
    memcpy(c, s, n);
  c[n] = '\0';
  return c;
}

beck_pipeline_pos_t beck__pl_pos(const ynode_t *n) {
  beck_pipeline_pos_t p = {n ? n->line : 0, n ? n->col : 0};
  return p;
}

const char *beck__pl_kind_name(const ynode_t *n) {
  if (n == NULL)
    return "nothing";
  if (n->kind == YN_MAP)
    return "a mapping";
  if (n->kind == YN_SEQ)
    return "a list";
  return "a scalar";
}

const ynode_t *beck__pl_map_get(const ynode_t *map, const char *key) {
  if (map == NULL || map->kind != YN_MAP)
    return NULL;
  for (size_t i = 0; i < map->npairs; i++)
    if (strcmp(map->pairs[i].key->str, key) == 0)
      return map->pairs[i].val;
  return NULL;
}

/* ---- positions ---- */

/* Byte offset of (0-based line, 0-based character column). */
static size_t byte_offset(const loader_t *ld, size_t line, size_t col) {
  if (line >= ld->nlines)
    return ld->len;
  size_t off = ld->line_starts[line];
  while (col > 0 && off < ld->len && ld->text[off] != '\n') {
    off++;
    while (off < ld->len && ((unsigned char)ld->text[off] & 0xC0) == 0x80)
      off++;
    col--;
  }
  return off;
}

/* Offset in the raw value of byte off of the substituted value. */
static size_t raw_offset(const ynode_t *n, size_t off) {
  size_t out_end = 0, raw_end = 0;
  for (size_t i = 0; i < n->nsubst; i++) {
    const ysubst_t *s = &n->subst[i];
    if (off < s->out)
      return raw_end + (off - out_end);
    if (off < s->out + s->out_len)
      return s->raw;
    out_end = s->out + s->out_len;
    raw_end = s->raw + s->raw_len;
  }
  return raw_end + (off - out_end);
}

static size_t utf8_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

void beck__pl_scalar_pos(const loader_t *ld, const ynode_t *n, size_t off, uint32_t *line, uint32_t *col) {
  *line = n->line;
  *col = n->col;
  if (n->kind != YN_SCALAR)
    return;
  size_t target = raw_offset(n, off);
  if (target > n->raw_len)
    target = n->raw_len;
  const char *t = ld->text, *v = n->raw;
  size_t len = ld->len, i = n->offset, k = 0, indent = 0;
  uint32_t l = n->line, c = n->col;
  bool block = n->style == YS_LITERAL || n->style == YS_FOLDED;
  if (n->style == YS_SQUOTE || n->style == YS_DQUOTE) {
    i++;
    c++;
  } else if (block) {
    /* skip the indicator line, then measure the content's indentation */
    while (i < len && t[i] != '\n')
      i++;
    if (i >= len)
      return;
    i++;
    l++;
    c = 1;
    size_t j = i;
    for (;;) {
      size_t sp = 0;
      while (j + sp < len && t[j + sp] == ' ')
        sp++;
      if (j + sp < len && t[j + sp] == '\n') {
        j += sp + 1;
        continue;
      }
      indent = sp;
      break;
    }
    for (size_t s = 0; s < indent && i < len && t[i] == ' '; s++, i++)
      c++;
  }
  while (k < target) {
    if (i >= len)
      goto fallback;
    char sc = t[i], vc = v[k];
    if (sc == '\r' && i + 1 < len && t[i + 1] == '\n') {
      i++;
      continue;
    }
    if (sc == '\n') {
      /* a line break: the value has '\n' (literal, empty lines) or ' ' (folding) */
      i++;
      l++;
      c = 1;
      if (block) {
        for (size_t s = 0; s < indent && i < len && t[i] == ' '; s++, i++)
          c++;
      } else {
        while (i < len && (t[i] == ' ' || t[i] == '\t'))
          i++, c++;
      }
      if (vc == '\n' || vc == ' ')
        k++;
      continue;
    }
    if (n->style == YS_DQUOTE && sc == '\\' && i + 1 < len) {
      char e = t[i + 1];
      size_t src = 2, val = 1;
      if (e == 'x' || e == 'u' || e == 'U') {
        size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t d = 0; d < digits && i + 2 + d < len; d++) {
          char h = t[i + 2 + d];
          cp = cp * 16 + (uint32_t)(h >= '0' && h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
        }
        src = 2 + digits;
        val = utf8_len(cp);
      } else if (e == '\n') {
        /* an escaped line break: nothing in the value */
        i += 2;
        l++;
        c = 1;
        while (i < len && (t[i] == ' ' || t[i] == '\t'))
          i++, c++;
        continue;
      } else if (e == 'N' || e == '_') {
        val = 2;
      } else if (e == 'L' || e == 'P') {
        val = 3;
      }
      i += src;
      c += (uint32_t)src;
      k += val;
      continue;
    }
    if (n->style == YS_SQUOTE && sc == '\'' && i + 1 < len && t[i + 1] == '\'') {
      i += 2;
      c += 2;
      k++;
      continue;
    }
    if (sc != vc)
      goto fallback;
    i++;
    k++;
    if (((unsigned char)sc & 0xC0) != 0x80)
      c++;
  }
  *line = l;
  *col = c;
  return;
fallback:
  *line = n->line;
  *col = n->col;
}

/* ---- ${VAR} substitution ---- */

static bool var_char(char c, bool first) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static const char *env_get(loader_t *ld, const char *name) {
  if (ld->opts && ld->opts->getenv)
    return ld->opts->getenv(ld->opts->getenv_ud, name);
  return getenv(name);
}

static void subst_error(loader_t *ld, ynode_t *n, size_t raw_off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void subst_error(loader_t *ld, ynode_t *n, size_t raw_off, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* positions are computed on the raw text: no substitutions recorded yet */
  size_t saved = n->nsubst;
  n->nsubst = 0;
  uint32_t line, col;
  beck__pl_scalar_pos(ld, n, raw_off, &line, &col);
  n->nsubst = saved;
  beck__pl_error(ld, line, col, "%s", msg);
}

/* Replaces ${...} in n's value. */
static void substitute(loader_t *ld, ynode_t *n) {
  const char *r = n->raw;
  size_t rl = n->raw_len;
  if (memchr(r, '$', rl) == NULL)
    return;
  beck_buf_t out = {0};
  ysubst_t segs[64];
  size_t nseg = 0;
  size_t i = 0;
  bool changed = false;
  while (i < rl) {
    if (r[i] == '$' && i + 2 < rl && r[i + 1] == '$' && r[i + 2] == '{') {
      if (beck_buf_append(&out, "${", 2) != 0)
        goto oom;
      if (nseg < 64)
        segs[nseg++] = (ysubst_t){out.len - 2, 2, i, 3};
      i += 3;
      changed = true;
      continue;
    }
    if (!(r[i] == '$' && i + 1 < rl && r[i + 1] == '{')) {
      if (beck_buf_append(&out, r + i, 1) != 0)
        goto oom;
      i++;
      continue;
    }
    changed = true;
    size_t start = i, j = i + 2;
    const char *close = memchr(r + j, '}', rl - j);
    if (close == NULL) {
      subst_error(ld, n, start, "unterminated '${'; expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)");
      beck_buf_free(&out);
      return;
    }
    size_t end = (size_t)(close - r); /* index of '}' */
    size_t name_end = j;
    while (name_end < end && var_char(r[name_end], name_end == j))
      name_end++;
    bool has_default = false;
    size_t def_start = 0;
    if (name_end == j || (name_end < end && !(end - name_end >= 2 && r[name_end] == ':' && r[name_end + 1] == '-'))) {
      subst_error(ld, n, start, "invalid reference '%.*s'; expected ${NAME} or ${NAME:-default}",
                  (int)(end - start + 1 > 60 ? 60 : end - start + 1), r + start);
      beck_buf_free(&out);
      return;
    }
    if (name_end < end) {
      has_default = true;
      def_start = name_end + 2;
    }
    char name[128];
    size_t nl = name_end - j < sizeof name - 1 ? name_end - j : sizeof name - 1;
    memcpy(name, r + j, nl);
    name[nl] = '\0';
    const char *val = env_get(ld, name);
    size_t before = out.len;
    if (val != NULL && (val[0] != '\0' || !has_default)) {
      if (beck_buf_append(&out, val, strlen(val)) != 0)
        goto oom;
    } else if (has_default) {
      if (beck_buf_append(&out, r + def_start, end - def_start) != 0)
        goto oom;
    } else {
      subst_error(ld, n, start,
                  "environment variable %s is not set; expected it to be set, or a default: ${%s:-value}", name,
                  name);
      beck_buf_free(&out);
      return;
    }
    if (nseg < 64)
      segs[nseg++] = (ysubst_t){before, out.len - before, start, end + 1 - start};
    i = end + 1;
  }
  if (!changed) {
    beck_buf_free(&out);
    return;
  }
  n->str = beck__pl_strdup(ld, out.len ? (const char *)out.data : "", out.len);
  n->len = out.len;
  if (nseg > 0) {
    n->subst = beck__pl_alloc(ld, nseg * sizeof *segs);
    if (n->subst != NULL) {
      memcpy(n->subst, segs, nseg * sizeof *segs);
      n->nsubst = nseg;
    }
  }
  beck_buf_free(&out);
  return;
oom:
  beck_buf_free(&out);
  ld->oom = true;
}

/* ---- building ---- */

/* Byte offset of a mark. Marks arrive in file order, so walking on from the
 * previous one keeps long lines (a flow mapping of thousands of keys)
 * linear. */
static size_t mark_offset(builder_t *b, yaml_mark_t m) {
  const loader_t *ld = b->ld;
  if (m.line != b->cur_line || m.column < b->cur_col)
    b->cur_line = m.line, b->cur_col = 0, b->cur_byte = byte_offset(ld, m.line, 0);
  size_t off = b->cur_byte;
  for (size_t col = b->cur_col; col < m.column && off < ld->len && ld->text[off] != '\n'; col++) {
    off++;
    while (off < ld->len && ((unsigned char)ld->text[off] & 0xC0) == 0x80)
      off++;
  }
  b->cur_col = m.column;
  b->cur_byte = off;
  return off;
}

static ynode_t *new_node(builder_t *b, yn_kind_t kind, yaml_mark_t m) {
  ynode_t *n = beck__pl_alloc(b->ld, sizeof *n);
  if (n == NULL)
    return NULL;
  n->kind = kind;
  n->line = (uint32_t)m.line + 1;
  n->col = (uint32_t)m.column + 1;
  n->offset = mark_offset(b, m);
  return n;
}

static bool add_anchor(builder_t *b, const char *name, ynode_t *n, size_t weight) {
  if (name == NULL)
    return true;
  if (b->nanchors == b->capanchors) {
    size_t nc = b->capanchors ? b->capanchors * 2 : 8;
    anchor_t *a = beck_realloc(b->anchors, nc * sizeof *a);
    if (a == NULL)
      return false;
    b->anchors = a;
    b->capanchors = nc;
  }
  char *copy = beck__pl_strdup(b->ld, name, strlen(name));
  if (copy == NULL)
    return false;
  /* a redefined anchor replaces the old one for later aliases */
  b->anchors[b->nanchors++] = (anchor_t){copy, n, weight};
  return true;
}

static const anchor_t *find_anchor(builder_t *b, const char *name) {
  for (size_t i = b->nanchors; i > 0; i--)
    if (strcmp(b->anchors[i - 1].name, name) == 0)
      return &b->anchors[i - 1];
  return NULL;
}

/* Attaches a finished node to the frame on top of the stack (or makes it
 * the root). Returns false on OOM. */
static bool attach(builder_t *b, ynode_t *n, size_t weight) {
  b->total_weight += weight;
  if (b->depth == 0) {
    b->root = n;
    b->root_weight = weight;
    return true;
  }
  frame_t *f = &b->stack[b->depth - 1];
  f->weight += weight;
  if (f->node->kind == YN_SEQ) {
    if (f->nitems == f->icap) {
      size_t nc = f->icap ? f->icap * 2 : 8;
      ynode_t **items = beck_realloc(f->items, nc * sizeof *items);
      if (items == NULL)
        return false;
      f->items = items;
      f->icap = nc;
    }
    f->items[f->nitems++] = n;
    return true;
  }
  if (f->key == NULL) {
    if (n->kind != YN_SCALAR) {
      beck__pl_error(b->ld, n->line, n->col, "a mapping key must be a plain name; got %s",
                     beck__pl_kind_name(n));
      /* keep a placeholder key so the value still pairs up */
      ynode_t *k = beck__pl_alloc(b->ld, sizeof *k);
      if (k == NULL)
        return false;
      *k = *n;
      k->kind = YN_SCALAR;
      k->str = beck__pl_strdup(b->ld, "?", 1);
      k->len = 1;
      k->raw = k->str;
      k->raw_len = 1;
      n = k;
    }
    f->key = n;
    return true;
  }
  if (f->npairs == f->cap) {
    size_t nc = f->cap ? f->cap * 2 : 8;
    ypair_t *pairs = beck_realloc(f->pairs, nc * sizeof *pairs);
    if (pairs == NULL)
      return false;
    f->pairs = pairs;
    f->cap = nc;
  }
  f->pairs[f->npairs++] = (ypair_t){f->key, n};
  f->key = NULL;
  return true;
}

static int cmp_pair_key(const void *a, const void *b) {
  const ypair_t *x = *(const ypair_t *const *)a, *y = *(const ypair_t *const *)b;
  int c = strcmp(x->key->str, y->key->str);
  if (c != 0)
    return c;
  return x->key->offset < y->key->offset ? -1 : x->key->offset > y->key->offset;
}

/* By key, then by place in the merged list (earlier wins). */
static int cmp_pair_rank(const void *a, const void *b) {
  const ypair_t *x = *(const ypair_t *const *)a, *y = *(const ypair_t *const *)b;
  int c = strcmp(x->key->str, y->key->str);
  return c != 0 ? c : x < y ? -1 : x > y;
}

static bool is_merge_key(const ynode_t *k) { return k->style == YS_PLAIN && strcmp(k->str, "<<") == 0; }

/* Applies merge keys and reports duplicate keys of a finished mapping. */
static bool finish_map(builder_t *b, frame_t *f) {
  loader_t *ld = b->ld;
  ynode_t *m = f->node;
  size_t n = f->npairs;
  bool has_merge = false;
  for (size_t i = 0; i < n; i++)
    has_merge |= is_merge_key(f->pairs[i].key);
  ypair_t *pairs = f->pairs;
  size_t np = n;
  if (has_merge) {
    /* own keys first, then the merged mappings' keys in order; then keep
     * the first pair of each key (sorting, so big merges stay n log n) */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
      ypair_t *p = &f->pairs[i];
      if (!is_merge_key(p->key)) {
        total++;
        continue;
      }
      if (p->val->kind == YN_MAP) {
        total += p->val->npairs;
      } else if (p->val->kind == YN_SEQ) {
        for (size_t j = 0; j < p->val->nitems; j++)
          total += p->val->items[j]->kind == YN_MAP ? p->val->items[j]->npairs : 0;
      }
    }
    ypair_t *all = beck_malloc((total ? total : 1) * sizeof *all);
    ypair_t **sorted = beck_malloc((total ? total : 1) * sizeof *sorted);
    pairs = beck__pl_alloc(ld, (total ? total : 1) * sizeof *pairs);
    if (all == NULL || sorted == NULL || pairs == NULL) {
      beck_free(all);
      beck_free(sorted);
      return false;
    }
    size_t na = 0;
    for (size_t i = 0; i < n; i++)
      if (!is_merge_key(f->pairs[i].key))
        all[na++] = f->pairs[i];
    for (size_t i = 0; i < n; i++) {
      ypair_t *p = &f->pairs[i];
      if (!is_merge_key(p->key))
        continue;
      const ynode_t *srcs[1] = {p->val};
      const ynode_t *const *list = srcs;
      size_t nl = 1;
      if (p->val->kind == YN_SEQ) {
        list = (const ynode_t *const *)p->val->items;
        nl = p->val->nitems;
      }
      for (size_t j = 0; j < nl; j++) {
        const ynode_t *src = list[j];
        if (src->kind != YN_MAP) {
          beck__pl_error(ld, src->line, src->col, "'<<' merges mappings; got %s", beck__pl_kind_name(src));
          continue;
        }
        for (size_t q = 0; q < src->npairs; q++)
          all[na++] = src->pairs[q];
      }
    }
    for (size_t i = 0; i < na; i++)
      sorted[i] = &all[i];
    qsort(sorted, na, sizeof *sorted, cmp_pair_rank);
    for (size_t i = 1; i < na; i++)
      if (strcmp(sorted[i]->key->str, sorted[i - 1]->key->str) == 0)
        sorted[i]->val = NULL; /* shadowed by an earlier pair */
    np = 0;
    for (size_t i = 0; i < na; i++)
      if (all[i].val != NULL)
        pairs[np++] = all[i];
    beck_free(all);
    beck_free(sorted);
  } else if (n > 0) {
    pairs = beck__pl_alloc(ld, n * sizeof *pairs);
    if (pairs == NULL)
      return false;
    memcpy(pairs, f->pairs, n * sizeof *pairs);
  }
  m->pairs = pairs;
  m->npairs = np;
  /* duplicates among the keys written here (merged ones never duplicate) */
  if (n > 1) {
    ypair_t **sorted = beck_malloc(n * sizeof *sorted);
    if (sorted == NULL)
      return false;
    size_t ns = 0;
    for (size_t i = 0; i < n; i++)
      if (!is_merge_key(f->pairs[i].key))
        sorted[ns++] = &f->pairs[i];
    qsort(sorted, ns, sizeof *sorted, cmp_pair_key);
    for (size_t i = 1; i < ns; i++) {
      if (strcmp(sorted[i]->key->str, sorted[i - 1]->key->str) == 0) {
        size_t first = i - 1;
        while (first > 0 && strcmp(sorted[first - 1]->key->str, sorted[i]->key->str) == 0)
          first--;
        const ynode_t *k = sorted[i]->key, *k0 = sorted[first]->key;
        beck__pl_error(ld, k->line, k->col, "duplicate key '%.100s' (first at line %u); expected each key once",
                       k->str, k0->line);
      }
    }
    beck_free(sorted);
  }
  return true;
}

static void free_frame(frame_t *f) {
  beck_free(f->pairs);
  beck_free(f->items);
  f->pairs = NULL;
  f->items = NULL;
}

static void yaml_error(loader_t *ld, yaml_parser_t *ps) {
  const char *problem = ps->problem ? ps->problem : "syntax error";
  uint32_t line = (uint32_t)ps->problem_mark.line + 1, col = (uint32_t)ps->problem_mark.column + 1;
  const char *hint = "";
  if (strstr(problem, "mapping values are not allowed"))
    hint = "; expected 'key: value' on its own line at the mapping's indentation (is a ':' or the indentation "
           "off?)";
  else if (strstr(problem, "did not find expected key"))
    hint = "; expected the next key at the same indentation as the keys above it";
  else if (strstr(problem, "did not find expected '-' indicator"))
    hint = "; expected list items ('- ...') at the same indentation";
  else if (strstr(problem, "found character that cannot start any token"))
    hint = "; expected spaces, not tabs, for indentation (or quote the value)";
  else if (strstr(problem, "could not find expected ':'"))
    hint = "; expected 'key: value' (a space after the ':')";
  else if (strstr(problem, "found unexpected end of stream"))
    hint = "; expected a closing quote or bracket";
  else if (strstr(problem, "block sequence entries are not allowed"))
    hint = "; expected the list ('- ...') on the lines below the key, indented";
  if (ps->context != NULL)
    beck__pl_error(ld, line, col, "invalid YAML: %s %s (line %u)%s", problem, ps->context,
                   (unsigned)ps->context_mark.line + 1, hint);
  else
    beck__pl_error(ld, line, col, "invalid YAML: %s%s", problem, hint);
}

beck_err_t beck__pl_parse_yaml(loader_t *ld, ynode_t **root) {
  yaml_parser_t ps;
  yaml_event_t ev;
  builder_t b = {.ld = ld};
  beck_err_t rc = BECK_ERR_OK;
  *root = NULL;
  if (!yaml_parser_initialize(&ps))
    return BECK_ERR_NOMEM;
  yaml_parser_set_input_string(&ps, (const unsigned char *)ld->text, ld->len);
  bool done = false;
  while (!done && rc == BECK_ERR_OK) {
    if (!yaml_parser_parse(&ps, &ev)) {
      if (ps.error == YAML_MEMORY_ERROR) {
        rc = BECK_ERR_NOMEM;
      } else {
        yaml_error(ld, &ps);
        rc = BECK_ERR_PARSE;
      }
      break;
    }
    switch (ev.type) {
    case YAML_STREAM_END_EVENT: done = true; break;
    case YAML_DOCUMENT_START_EVENT:
      if (++b.docs > 1) {
        beck__pl_error(ld, (uint32_t)ev.start_mark.line + 1, (uint32_t)ev.start_mark.column + 1,
                       "a second YAML document; expected one pipeline per file");
        rc = BECK_ERR_PARSE;
      }
      break;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
      if (b.depth >= MAX_DEPTH) {
        beck__pl_error(ld, (uint32_t)ev.start_mark.line + 1, (uint32_t)ev.start_mark.column + 1,
                       "nesting too deep (more than %d levels); expected a flatter document", MAX_DEPTH);
        rc = BECK_ERR_PARSE;
        break;
      }
      bool map = ev.type == YAML_MAPPING_START_EVENT;
      ynode_t *n = new_node(&b, map ? YN_MAP : YN_SEQ, ev.start_mark);
      if (n == NULL) {
        rc = BECK_ERR_NOMEM;
        break;
      }
      frame_t *f = &b.stack[b.depth++];
      memset(f, 0, sizeof *f);
      f->node = n;
      f->weight = 1;
      const char *anchor = map ? (const char *)ev.data.mapping_start.anchor : (const char *)ev.data.sequence_start.anchor;
      if (anchor != NULL && (f->anchor = beck__pl_strdup(ld, anchor, strlen(anchor))) == NULL)
        rc = BECK_ERR_NOMEM;
      break;
    }
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT: {
      frame_t *f = &b.stack[--b.depth];
      ynode_t *n = f->node;
      bool ok = true;
      if (n->kind == YN_MAP) {
        ok = finish_map(&b, f);
      } else if (f->nitems > 0) {
        n->items = beck__pl_alloc(ld, f->nitems * sizeof *n->items);
        ok = n->items != NULL;
        if (ok) {
          memcpy(n->items, f->items, f->nitems * sizeof *n->items);
          n->nitems = f->nitems;
        }
      }
      size_t w = f->weight;
      char *anchor = f->anchor;
      free_frame(f);
      b.total_weight -= w - 1; /* children were counted as they attached */
      if (!ok || !add_anchor(&b, anchor, n, w) || !attach(&b, n, w))
        rc = BECK_ERR_NOMEM;
      break;
    }
    case YAML_SCALAR_EVENT: {
      ynode_t *n = new_node(&b, YN_SCALAR, ev.start_mark);
      if (n == NULL) {
        rc = BECK_ERR_NOMEM;
        break;
      }
      switch (ev.data.scalar.style) {
      case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = YS_SQUOTE; break;
      case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = YS_DQUOTE; break;
      case YAML_LITERAL_SCALAR_STYLE: n->style = YS_LITERAL; break;
      case YAML_FOLDED_SCALAR_STYLE: n->style = YS_FOLDED; break;
      default: n->style = YS_PLAIN; break;
      }
      const char *tag = (const char *)ev.data.scalar.tag;
      n->quoted_tag_str = n->style != YS_PLAIN || (tag != NULL && strcmp(tag, "tag:yaml.org,2002:str") == 0);
      n->str = beck__pl_strdup(ld, (const char *)ev.data.scalar.value, ev.data.scalar.length);
      n->len = ev.data.scalar.length;
      n->raw = n->str;
      n->raw_len = n->len;
      if (n->str == NULL) {
        rc = BECK_ERR_NOMEM;
        break;
      }
      bool is_key = b.depth > 0 && b.stack[b.depth - 1].node->kind == YN_MAP && b.stack[b.depth - 1].key == NULL;
      if (!is_key)
        substitute(ld, n);
      const char *anchor = (const char *)ev.data.scalar.anchor;
      if (!add_anchor(&b, anchor, n, 1) || !attach(&b, n, 1))
        rc = BECK_ERR_NOMEM;
      break;
    }
    case YAML_ALIAS_EVENT: {
      const char *name = (const char *)ev.data.alias.anchor;
      const anchor_t *a = find_anchor(&b, name);
      if (a == NULL) {
        beck__pl_error(ld, (uint32_t)ev.start_mark.line + 1, (uint32_t)ev.start_mark.column + 1,
                       "unknown alias '*%.60s'; expected an anchor '&%.60s' defined earlier (and not around this "
                       "alias)",
                       name, name);
        rc = BECK_ERR_PARSE;
        break;
      }
      if (b.total_weight + a->weight > MAX_WEIGHT) {
        beck__pl_error(ld, (uint32_t)ev.start_mark.line + 1, (uint32_t)ev.start_mark.column + 1,
                       "aliases expand to more than %d nodes; expected a smaller document", MAX_WEIGHT);
        rc = BECK_ERR_PARSE;
        break;
      }
      if (!attach(&b, a->node, a->weight))
        rc = BECK_ERR_NOMEM;
      break;
    }
    default: break;
    }
    yaml_event_delete(&ev);
  }
  while (b.depth > 0)
    free_frame(&b.stack[--b.depth]);
  beck_free(b.anchors);
  yaml_parser_delete(&ps);
  if (ld->oom)
    rc = BECK_ERR_NOMEM;
  if (rc == BECK_ERR_OK)
    *root = b.root;
  return rc;
}

/* ---- scalars ---- */

static bool all_digits(const char *s, size_t n, int base) {
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = base == 16 ? ((c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f'))
              : base == 8 ? (c >= '0' && c <= '7')
                          : (c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

static bool is_float_text(const char *s, size_t n) {
  size_t i = 0;
  if (i < n && (s[i] == '+' || s[i] == '-'))
    i++;
  size_t digits = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9')
    i++, digits++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++, digits++;
  }
  if (digits == 0)
    return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t ed = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++, ed++;
    if (ed == 0)
      return false;
  }
  return i == n;
}

yscalar_type_t beck__pl_scalar_type(const ynode_t *n, bool *b, int64_t *i, double *d) {
  if (n->kind != YN_SCALAR || n->quoted_tag_str)
    return YT_STR;
  const char *s = n->str;
  size_t len = n->len;
  if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
    return YT_NULL;
  if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
    *b = true;
    return YT_BOOL;
  }
  if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
    *b = false;
    return YT_BOOL;
  }
  size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (all_digits(s + sign, len - sign, 10) && len - sign < 20) {
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == 0) {
      *i = (int64_t)v;
      return YT_INT;
    }
  }
  if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && all_digits(s + 2, len - 2, s[1] == 'x' ? 16 : 8) &&
      len < 18) {
    *i = (int64_t)strtoll(s + 2, NULL, s[1] == 'x' ? 16 : 8);
    return YT_INT;
  }
  if (is_float_text(s, len)) {
    *d = strtod(s, NULL);
    return YT_FLOAT;
  }
  const char *t = s + sign;
  if (strcmp(t, ".inf") == 0 || strcmp(t, ".Inf") == 0 || strcmp(t, ".INF") == 0) {
    *d = s[0] == '-' ? -INFINITY : INFINITY;
    return YT_FLOAT;
  }
  if (!sign && (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0)) {
    *d = NAN;
    return YT_FLOAT;
  }
  return YT_STR;
}

json_t *beck__pl_to_json(loader_t *ld, const ynode_t *n) {
  if (n->kind == YN_MAP) {
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n->npairs; i++) {
      json_t *v = beck__pl_to_json(ld, n->pairs[i].val);
      if (v == NULL || json_object_setn_new_nocheck(o, n->pairs[i].key->str, n->pairs[i].key->len, v) != 0) {
        json_decref(o);
        return NULL;
      }
    }
    return o;
  }
  if (n->kind == YN_SEQ) {
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n->nitems; i++) {
      if (json_array_append_new(a, beck__pl_to_json(ld, n->items[i])) != 0) {
        json_decref(a);
        return NULL;
      }
    }
    return a;
  }
  bool b;
  int64_t i;
  double d;
  switch (beck__pl_scalar_type(n, &b, &i, &d)) {
  case YT_NULL: return json_null();
  case YT_BOOL: return json_boolean(b);
  case YT_INT: return json_integer((json_int_t)i);
  case YT_FLOAT: return isfinite(d) ? json_real(d) : json_null();
  default: {
    json_t *s = json_stringn(n->str, n->len);
    return s != NULL ? s : json_stringn_nocheck(n->str, n->len);
  }
  }
}
