/*
 * parse.c - the expression lexer and parser (recursive descent, one
 * token of lookahead).
 *
 * Grammar, lowest precedence first:
 *
 *   expr     := coalesce
 *   coalesce := or ( "??" or )*
 *   or       := and ( ("or" | "||") and )*
 *   and      := not ( ("and" | "&&") not )*
 *   not      := ("not" | "!") not | cmp
 *   cmp      := add [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") add ]
 *   add      := mul ( ("+" | "-") mul )*
 *   mul      := unary ( ("*" | "/" | "%") unary )*
 *   unary    := "-" unary | postfix
 *   postfix  := primary ( ("." | "?.") name | "[" expr "]" )*
 *   primary  := number | duration | string | "true" | "false" | "null"
 *             | name | name "(" [ expr ("," expr)* ] ")"
 *             | "(" expr ")" | "[" [ expr ("," expr)* [","] ] "]"
 *             | "{" [ key ":" expr ("," key ":" expr)* [","] ] "}"
 *             | "if" expr "then" expr "else" expr
 *
 * Comparisons do not chain (a < b < c is a syntax error). `not` binds looser
 * than comparisons, as in Python: `not a == b` is `not (a == b)`; `!` is the
 * same operator. A duration literal is an integer with units (500ms, 30s,
 * 5m, 1h, 1d, 1h30m) and means that many milliseconds. Field names after a
 * dot may be keywords (value.if).
 *
 * Limits: sources up to EXPR_MAX_SOURCE bytes; nesting (and the depth of the
 * tree) up to EXPR_MAX_DEPTH, so later recursive walks are bounded.
 */
#include "streams/expr/expr_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum tok_kind {
  T_EOF,
  T_NUM,
  T_STR,
  T_IDENT,
  T_LPAREN,
  T_RPAREN,
  T_LBRACK,
  T_RBRACK,
  T_LBRACE,
  T_RBRACE,
  T_COMMA,
  T_COLON,
  T_DOT,
  T_PLUS,
  T_MINUS,
  T_STAR,
  T_SLASH,
  T_PERCENT,
  T_EQ,
  T_NE,
  T_LT,
  T_LE,
  T_GT,
  T_GE,
  T_AND,
  T_OR,
  T_NOT,
  T_COALESCE,
  T_IN,
  T_IF,
  T_THEN,
  T_ELSE,
  T_TRUE,
  T_FALSE,
  T_NULL,
} tok_kind_t;

typedef struct tok {
  tok_kind_t kind;
  uint32_t pos;
  uint32_t len;     /* bytes of source text */
  beck_val_t num;   /* T_NUM */
  const char *str;  /* T_STR: decoded, in the arena */
  size_t str_len;
} tok_t;

typedef struct parser {
  beck_expr_t *x;
  const char *s;
  size_t len;
  size_t i;
  tok_t tok;
  beck_expr_error_t *err;
  int nest;
} parser_t;

static const struct {
  const char *word;
  tok_kind_t kind;
} keywords[] = {
    {"and", T_AND},   {"or", T_OR},       {"not", T_NOT},   {"in", T_IN},     {"if", T_IF},     {"then", T_THEN},
    {"else", T_ELSE}, {"true", T_TRUE},   {"false", T_FALSE}, {"null", T_NULL},
};

void beck__expr_line_col(const char *src, size_t len, uint32_t pos, uint32_t *line, uint32_t *col) {
  uint32_t l = 1, c = 1;
  for (size_t i = 0; i < pos && i < len; i++) {
    if (src[i] == '\n') {
      l++;
      c = 1;
    } else {
      c++;
    }
  }
  *line = l;
  *col = c;
}

beck_err_t beck__expr_fail(beck_expr_error_t *err, const char *src, size_t len, uint32_t pos, beck_err_t code,
                           const char *fmt, ...) {
  if (err == NULL)
    return code;
  err->code = code;
  err->pos = pos;
  beck__expr_line_col(src, len, pos, &err->line, &err->col);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}

node_t *beck__expr_node(beck_expr_t *x, node_kind_t kind, uint32_t pos, uint32_t start) {
  node_t *n = beck_arena_zalloc(x->arena, sizeof *n);
  if (n == NULL)
    return NULL;
  n->kind = kind;
  n->pos = pos;
  n->start = start;
  n->depth = 1;
  n->type = BECK_TYPE_ANY;
  return n;
}

static void fail(parser_t *p, uint32_t pos, beck_err_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(parser_t *p, uint32_t pos, beck_err_t code, const char *fmt, ...) {
  if (p->err->code != BECK_ERR_OK)
    return; /* keep the first */
  char msg[sizeof p->err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  beck__expr_fail(p->err, p->s, p->len, pos, code, "%s", msg);
}

static void oom(parser_t *p) { fail(p, (uint32_t)p->i, BECK_ERR_NOMEM, "out of memory"); }

static bool is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_ident_char(int c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* A name after '.' or as an object key: an identifier or a keyword spelled
 * as a word (value.if), never an operator such as '&&'. */
static bool is_name_tok(const parser_t *p, const tok_t *t) {
  return t->kind == T_IDENT || (t->kind >= T_AND && t->len > 0 && is_ident_start((unsigned char)p->s[t->pos]));
}

/* Describes the current token for "unexpected ..." messages. */
static void tok_text(const parser_t *p, const tok_t *t, char *buf, size_t cap) {
  if (t->kind == T_EOF) {
    snprintf(buf, cap, "end of expression");
    return;
  }
  size_t n = t->len > 24 ? 24 : t->len;
  snprintf(buf, cap, "'%.*s%s'", (int)n, p->s + t->pos, t->len > 24 ? "..." : "");
}

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static size_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static bool read_hex4(parser_t *p, size_t at, uint32_t *out) {
  if (at + 4 > p->len)
    return false;
  uint32_t v = 0;
  for (size_t k = 0; k < 4; k++) {
    int h = hexval((unsigned char)p->s[at + k]);
    if (h < 0)
      return false;
    v = v * 16 + (uint32_t)h;
  }
  *out = v;
  return true;
}

/* Lexes a quoted string starting at p->i (the quote). */
static bool lex_string(parser_t *p, tok_t *t) {
  char q = p->s[p->i];
  size_t start = p->i;
  /* decoded output is never longer than the source */
  char *out = beck_arena_alloc(p->x->arena, p->len - start + 1);
  if (out == NULL) {
    oom(p);
    return false;
  }
  size_t o = 0, i = start + 1;
  for (;;) {
    if (i >= p->len) {
      fail(p, (uint32_t)start, BECK_ERR_PARSE, "syntax error: unterminated string; expected a closing %c", q);
      return false;
    }
    char c = p->s[i];
    if (c == q) {
      i++;
      break;
    }
    if (c != '\\') {
      out[o++] = c;
      i++;
      continue;
    }
    if (i + 1 >= p->len) {
      fail(p, (uint32_t)i, BECK_ERR_PARSE, "syntax error: unterminated string; expected a closing %c", q);
      return false;
    }
    char e = p->s[i + 1];
    switch (e) {
    case 'n': out[o++] = '\n'; i += 2; break;
    case 't': out[o++] = '\t'; i += 2; break;
    case 'r': out[o++] = '\r'; i += 2; break;
    case 'b': out[o++] = '\b'; i += 2; break;
    case 'f': out[o++] = '\f'; i += 2; break;
    case '0': out[o++] = '\0'; i += 2; break;
    case '\\': case '\'': case '"': case '/': out[o++] = e; i += 2; break;
    case 'u': {
      uint32_t cp;
      if (!read_hex4(p, i + 2, &cp)) {
        fail(p, (uint32_t)i, BECK_ERR_PARSE, "syntax error: bad escape; expected \\u and four hex digits");
        return false;
      }
      size_t used = 6;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t lo;
        if (i + 7 < p->len && p->s[i + 6] == '\\' && p->s[i + 7] == 'u' && read_hex4(p, i + 8, &lo) &&
            lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          used = 12;
        } else {
          fail(p, (uint32_t)i, BECK_ERR_PARSE, "syntax error: lone surrogate in \\u escape; expected a pair");
          return false;
        }
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail(p, (uint32_t)i, BECK_ERR_PARSE, "syntax error: lone surrogate in \\u escape; expected a pair");
        return false;
      }
      o += put_utf8(out + o, cp);
      i += used;
      break;
    }
    default:
      fail(p, (uint32_t)i, BECK_ERR_PARSE,
           "syntax error: unknown escape '\\%c'; expected one of \\n \\t \\r \\b \\f \\0 \\\\ \\' \\\" \\/ \\uXXXX",
           (e >= 32 && e < 127) ? e : '?');
      return false;
    }
  }
  out[o] = '\0';
  t->kind = T_STR;
  t->str = out;
  t->str_len = o;
  t->len = (uint32_t)(i - start);
  p->i = i;
  return true;
}

static bool lex_number(parser_t *p, tok_t *t) {
  size_t start = p->i, i = p->i;
  bool is_float = false;
  while (i < p->len && is_digit((unsigned char)p->s[i]))
    i++;
  if (i + 1 < p->len && p->s[i] == '.' && is_digit((unsigned char)p->s[i + 1])) {
    is_float = true;
    i++;
    while (i < p->len && is_digit((unsigned char)p->s[i]))
      i++;
  }
  if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
    size_t j = i + 1;
    if (j < p->len && (p->s[j] == '+' || p->s[j] == '-'))
      j++;
    if (j < p->len && is_digit((unsigned char)p->s[j])) {
      is_float = true;
      i = j;
      while (i < p->len && is_digit((unsigned char)p->s[i]))
        i++;
    }
  }
  if (i < p->len && is_ident_start((unsigned char)p->s[i])) {
    /* a duration: 500ms, 30s, 1h30m */
    size_t end = i;
    while (end < p->len && is_ident_char((unsigned char)p->s[end]))
      end++;
    int64_t ms;
    if (is_float || beck_parse_duration(p->s + start, end - start, &ms) != 0) {
      fail(p, (uint32_t)start, BECK_ERR_PARSE,
           "syntax error: invalid number or duration '%.*s'; expected a number or a duration like 500ms, 30s, 5m, 1h, "
           "1d",
           (int)(end - start > 32 ? 32 : end - start), p->s + start);
      return false;
    }
    t->kind = T_NUM;
    t->num = beck_val_int(ms);
    t->len = (uint32_t)(end - start);
    p->i = end;
    return true;
  }
  char buf[64];
  size_t n = i - start;
  t->kind = T_NUM;
  t->len = (uint32_t)n;
  p->i = i;
  if (n >= sizeof buf) {
    /* only huge digit strings get here: a double (inf beyond range) */
    char *tmp = beck_arena_alloc(p->x->arena, n + 1);
    if (tmp == NULL) {
      oom(p);
      return false;
    }
    memcpy(tmp, p->s + start, n);
    tmp[n] = '\0';
    t->num = beck_val_double(strtod(tmp, NULL));
  } else {
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    if (!is_float) {
      errno = 0;
      long long v = strtoll(buf, NULL, 10);
      if (errno == 0) {
        t->num = beck_val_int((int64_t)v);
        return true;
      }
    }
    t->num = beck_val_double(strtod(buf, NULL));
  }
  if (!isfinite(t->num.u.d)) {
    fail(p, (uint32_t)start, BECK_ERR_PARSE, "syntax error: number '%.*s' is out of range", (int)(n > 32 ? 32 : n),
         p->s + start);
    return false;
  }
  return true;
}

/* Reads the next token into p->tok. */
static bool next(parser_t *p) {
  tok_t *t = &p->tok;
  memset(t, 0, sizeof *t);
  while (p->i < p->len) {
    char c = p->s[p->i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      p->i++;
    else if (c == '#') { /* a comment to the end of the line */
      while (p->i < p->len && p->s[p->i] != '\n')
        p->i++;
    } else
      break;
  }
  t->pos = (uint32_t)p->i;
  if (p->i >= p->len) {
    t->kind = T_EOF;
    return true;
  }
  unsigned char c = (unsigned char)p->s[p->i];
  char c2 = p->i + 1 < p->len ? p->s[p->i + 1] : '\0';
  if (c == '"' || c == '\'')
    return lex_string(p, t);
  if (is_digit(c))
    return lex_number(p, t);
  if (is_ident_start(c)) {
    size_t end = p->i;
    while (end < p->len && is_ident_char((unsigned char)p->s[end]))
      end++;
    t->kind = T_IDENT;
    t->len = (uint32_t)(end - p->i);
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
      if (strlen(keywords[k].word) == t->len && memcmp(keywords[k].word, p->s + p->i, t->len) == 0)
        t->kind = keywords[k].kind;
    }
    p->i = end;
    return true;
  }
  tok_kind_t k;
  uint32_t n = 1;
  switch (c) {
  case '(': k = T_LPAREN; break;
  case ')': k = T_RPAREN; break;
  case '[': k = T_LBRACK; break;
  case ']': k = T_RBRACK; break;
  case '{': k = T_LBRACE; break;
  case '}': k = T_RBRACE; break;
  case ',': k = T_COMMA; break;
  case ':': k = T_COLON; break;
  case '.': k = T_DOT; break;
  case '+': k = T_PLUS; break;
  case '-': k = T_MINUS; break;
  case '*': k = T_STAR; break;
  case '/': k = T_SLASH; break;
  case '%': k = T_PERCENT; break;
  case '=':
    if (c2 != '=') {
      fail(p, t->pos, BECK_ERR_PARSE, "syntax error: unexpected '='; expected '==' to compare");
      return false;
    }
    k = T_EQ, n = 2;
    break;
  case '!':
    if (c2 == '=')
      k = T_NE, n = 2;
    else
      k = T_NOT;
    break;
  case '<':
    if (c2 == '=')
      k = T_LE, n = 2;
    else
      k = T_LT;
    break;
  case '>':
    if (c2 == '=')
      k = T_GE, n = 2;
    else
      k = T_GT;
    break;
  case '&':
    if (c2 != '&') {
      fail(p, t->pos, BECK_ERR_PARSE, "syntax error: unexpected '&'; expected '&&' or 'and'");
      return false;
    }
    k = T_AND, n = 2;
    break;
  case '|':
    if (c2 != '|') {
      fail(p, t->pos, BECK_ERR_PARSE, "syntax error: unexpected '|'; expected '||' or 'or'");
      return false;
    }
    k = T_OR, n = 2;
    break;
  case '?':
    if (c2 == '?')
      k = T_COALESCE, n = 2;
    else if (c2 == '.')
      k = T_DOT, n = 2; /* ?. is . : access is null-safe anyway */
    else {
      fail(p, t->pos, BECK_ERR_PARSE, "syntax error: unexpected '?'; expected '?\?' or '?.'");
      return false;
    }
    break;
  default:
    if (c >= 0x20 && c < 0x7f)
      fail(p, t->pos, BECK_ERR_PARSE, "syntax error: unexpected character '%c'", c);
    else
      fail(p, t->pos, BECK_ERR_PARSE, "syntax error: unexpected byte 0x%02x", c);
    return false;
  }
  t->kind = k;
  t->len = n;
  p->i += n;
  return true;
}

static node_t *parse_expr(parser_t *p);

static node_t *mk(parser_t *p, node_kind_t kind, uint32_t pos, uint32_t start) {
  node_t *n = beck__expr_node(p->x, kind, pos, start);
  if (n == NULL)
    oom(p);
  return n;
}

/* Sets the children of n, checking the depth limit. */
static bool set_kids(parser_t *p, node_t *n, node_t **kids, uint32_t nkids) {
  if (nkids > 0) {
    n->kids = beck_arena_alloc(p->x->arena, nkids * sizeof *kids);
    if (n->kids == NULL) {
      oom(p);
      return false;
    }
    memcpy(n->kids, kids, nkids * sizeof *kids);
  }
  n->nkids = nkids;
  uint32_t d = 0;
  for (uint32_t k = 0; k < nkids; k++)
    if (kids[k]->depth > d)
      d = kids[k]->depth;
  n->depth = d + 1;
  if (n->depth > EXPR_MAX_DEPTH) {
    fail(p, n->pos, BECK_ERR_PARSE, "syntax error: expression nests too deeply (more than %d levels)",
         EXPR_MAX_DEPTH);
    return false;
  }
  return true;
}

static node_t *binary(parser_t *p, node_kind_t kind, op_t op, uint32_t pos, node_t *l, node_t *r) {
  node_t *n = mk(p, kind, pos, l->start);
  if (n == NULL)
    return NULL;
  n->op = op;
  node_t *kids[2] = {l, r};
  return set_kids(p, n, kids, 2) ? n : NULL;
}

static bool expect(parser_t *p, tok_kind_t k, const char *what, uint32_t open_pos, const char *open) {
  if (p->tok.kind == k)
    return next(p);
  char got[48];
  tok_text(p, &p->tok, got, sizeof got);
  if (open != NULL) {
    uint32_t line, col;
    beck__expr_line_col(p->s, p->len, open_pos, &line, &col);
    fail(p, p->tok.pos, BECK_ERR_PARSE, "syntax error: unexpected %s; expected %s to close '%s' at column %u", got,
         what, open, col);
  } else {
    fail(p, p->tok.pos, BECK_ERR_PARSE, "syntax error: unexpected %s; expected %s", got, what);
  }
  return false;
}

static bool enter(parser_t *p) {
  if (++p->nest > EXPR_MAX_DEPTH) {
    fail(p, p->tok.pos, BECK_ERR_PARSE, "syntax error: expression nests too deeply (more than %d levels)",
         EXPR_MAX_DEPTH);
    return false;
  }
  return true;
}

/* Collects a comma-separated list up to `close`; used by calls and arrays. */
static bool parse_list(parser_t *p, tok_kind_t close, const char *close_text, uint32_t open_pos, const char *open,
                       bool trailing_comma, node_t ***out, uint32_t *count) {
  node_t *stack_items[8];
  node_t **items = stack_items;
  uint32_t n = 0, cap = 8;
  while (p->tok.kind != close) {
    node_t *e = parse_expr(p);
    if (e == NULL)
      return false;
    if (n == cap) {
      node_t **bigger = beck_arena_alloc(p->x->arena, 2 * cap * sizeof *bigger);
      if (bigger == NULL) {
        oom(p);
        return false;
      }
      memcpy(bigger, items, n * sizeof *items);
      items = bigger;
      cap *= 2;
    }
    items[n++] = e;
    if (p->tok.kind != T_COMMA)
      break;
    if (!next(p))
      return false;
    if (!trailing_comma && p->tok.kind == close) {
      char got[48];
      tok_text(p, &p->tok, got, sizeof got);
      fail(p, p->tok.pos, BECK_ERR_PARSE, "syntax error: unexpected %s; expected an argument after ','", got);
      return false;
    }
  }
  if (!expect(p, close, close_text, open_pos, open))
    return false;
  node_t **copy = NULL;
  if (n > 0) {
    copy = beck_arena_alloc(p->x->arena, n * sizeof *copy);
    if (copy == NULL) {
      oom(p);
      return false;
    }
    memcpy(copy, items, n * sizeof *items);
  }
  *out = copy;
  *count = n;
  return true;
}

static const char *copy_name(parser_t *p, const char *s, size_t n) {
  char *c = beck_arena_alloc(p->x->arena, n + 1);
  if (c == NULL) {
    oom(p);
    return NULL;
  }
  memcpy(c, s, n);
  c[n] = '\0';
  return c;
}

static node_t *parse_object(parser_t *p) {
  uint32_t open = p->tok.pos;
  if (!next(p))
    return NULL;
  node_t *n = mk(p, N_OBJECT, open, open);
  if (n == NULL)
    return NULL;
  uint32_t cap = 0, cnt = 0;
  node_t **kids = NULL;
  const char **names = NULL;
  size_t *lens = NULL;
  while (p->tok.kind != T_RBRACE) {
    const char *name;
    size_t nlen;
    uint32_t kpos = p->tok.pos;
    if (p->tok.kind == T_STR) {
      name = p->tok.str;
      nlen = p->tok.str_len;
    } else if (is_name_tok(p, &p->tok)) {
      name = copy_name(p, p->s + p->tok.pos, p->tok.len);
      nlen = p->tok.len;
      if (name == NULL)
        return NULL;
    } else {
      char got[48];
      tok_text(p, &p->tok, got, sizeof got);
      fail(p, p->tok.pos, BECK_ERR_PARSE, "syntax error: unexpected %s; expected a key (a name or a string) or '}'",
           got);
      return NULL;
    }
    for (uint32_t k = 0; k < cnt; k++) {
      if (lens[k] == nlen && memcmp(names[k], name, nlen) == 0) {
        fail(p, kpos, BECK_ERR_PARSE, "syntax error: duplicate key '%.*s' in object", (int)(nlen > 64 ? 64 : nlen),
             name);
        return NULL;
      }
    }
    if (!next(p))
      return NULL;
    if (!expect(p, T_COLON, "':' after the key", 0, NULL))
      return NULL;
    node_t *v = parse_expr(p);
    if (v == NULL)
      return NULL;
    if (cnt == cap) {
      uint32_t nc = cap ? cap * 2 : 4;
      node_t **k2 = beck_arena_alloc(p->x->arena, nc * sizeof *k2);
      const char **n2 = beck_arena_alloc(p->x->arena, nc * sizeof *n2);
      size_t *l2 = beck_arena_alloc(p->x->arena, nc * sizeof *l2);
      if (k2 == NULL || n2 == NULL || l2 == NULL) {
        oom(p);
        return NULL;
      }
      if (cnt) {
        memcpy(k2, kids, cnt * sizeof *kids);
        memcpy(n2, names, cnt * sizeof *names);
        memcpy(l2, lens, cnt * sizeof *lens);
      }
      kids = k2, names = n2, lens = l2, cap = nc;
    }
    kids[cnt] = v;
    names[cnt] = name;
    lens[cnt] = nlen;
    cnt++;
    if (p->tok.kind != T_COMMA)
      break;
    if (!next(p))
      return NULL;
  }
  if (!expect(p, T_RBRACE, "'}'", open, "{"))
    return NULL;
  n->names = names;
  n->name_lens = lens;
  return set_kids(p, n, kids, cnt) ? n : NULL;
}

static node_t *parse_primary(parser_t *p) {
  tok_t t = p->tok;
  switch (t.kind) {
  case T_NUM: {
    node_t *n = mk(p, N_CONST, t.pos, t.pos);
    if (n == NULL || !next(p))
      return NULL;
    n->val = t.num;
    return n;
  }
  case T_STR: {
    node_t *n = mk(p, N_CONST, t.pos, t.pos);
    if (n == NULL || !next(p))
      return NULL;
    n->val = beck_val_str(t.str, t.str_len);
    return n;
  }
  case T_TRUE:
  case T_FALSE:
  case T_NULL: {
    node_t *n = mk(p, N_CONST, t.pos, t.pos);
    if (n == NULL || !next(p))
      return NULL;
    n->val = t.kind == T_NULL ? beck_val_null() : beck_val_bool(t.kind == T_TRUE);
    return n;
  }
  case T_IDENT: {
    if (!next(p))
      return NULL;
    const char *name = copy_name(p, p->s + t.pos, t.len);
    if (name == NULL)
      return NULL;
    if (p->tok.kind == T_LPAREN) {
      uint32_t open = p->tok.pos;
      if (!next(p) || !enter(p))
        return NULL;
      node_t *n = mk(p, N_CALL, t.pos, t.pos);
      if (n == NULL)
        return NULL;
      n->name = name;
      n->name_len = t.len;
      node_t **args;
      uint32_t nargs;
      if (!parse_list(p, T_RPAREN, "')'", open, "(", false, &args, &nargs))
        return NULL;
      p->nest--;
      return set_kids(p, n, args, nargs) ? n : NULL;
    }
    node_t *n = mk(p, N_ROOT, t.pos, t.pos);
    if (n == NULL)
      return NULL;
    n->name = name;
    n->name_len = t.len;
    return n;
  }
  case T_LPAREN: {
    if (!next(p) || !enter(p))
      return NULL;
    node_t *e = parse_expr(p);
    if (e == NULL || !expect(p, T_RPAREN, "')'", t.pos, "("))
      return NULL;
    p->nest--;
    e->start = t.pos;
    return e;
  }
  case T_LBRACK: {
    if (!next(p) || !enter(p))
      return NULL;
    node_t *n = mk(p, N_ARRAY, t.pos, t.pos);
    if (n == NULL)
      return NULL;
    node_t **items;
    uint32_t cnt;
    if (!parse_list(p, T_RBRACK, "']'", t.pos, "[", true, &items, &cnt))
      return NULL;
    p->nest--;
    return set_kids(p, n, items, cnt) ? n : NULL;
  }
  case T_LBRACE: {
    if (!enter(p))
      return NULL;
    node_t *n = parse_object(p);
    p->nest--;
    return n;
  }
  case T_IF: {
    if (!next(p) || !enter(p))
      return NULL;
    node_t *kids[3];
    if ((kids[0] = parse_expr(p)) == NULL)
      return NULL;
    if (!expect(p, T_THEN, "'then'", 0, NULL) || (kids[1] = parse_expr(p)) == NULL)
      return NULL;
    if (!expect(p, T_ELSE, "'else' (an if needs both branches)", 0, NULL) || (kids[2] = parse_expr(p)) == NULL)
      return NULL;
    p->nest--;
    node_t *n = mk(p, N_IF, t.pos, t.pos);
    return n != NULL && set_kids(p, n, kids, 3) ? n : NULL;
  }
  default: {
    char got[48];
    tok_text(p, &t, got, sizeof got);
    fail(p, t.pos, BECK_ERR_PARSE, "syntax error: unexpected %s; expected a value, a name or '('", got);
    return NULL;
  }
  }
}

static node_t *parse_postfix(parser_t *p) {
  node_t *n = parse_primary(p);
  while (n != NULL) {
    if (p->tok.kind == T_DOT) {
      uint32_t dot = p->tok.pos;
      if (!next(p))
        return NULL;
      tok_t t = p->tok;
      if (!is_name_tok(p, &t)) {
        char got[48];
        tok_text(p, &t, got, sizeof got);
        fail(p, t.pos, BECK_ERR_PARSE, "syntax error: unexpected %s; expected a field name after '.'", got);
        return NULL;
      }
      if (!next(p))
        return NULL;
      node_t *f = mk(p, N_FIELD, t.pos, n->start);
      if (f == NULL)
        return NULL;
      (void)dot;
      f->name = copy_name(p, p->s + t.pos, t.len);
      f->name_len = t.len;
      if (f->name == NULL || !set_kids(p, f, &n, 1))
        return NULL;
      n = f;
    } else if (p->tok.kind == T_LBRACK) {
      uint32_t open = p->tok.pos;
      if (!next(p) || !enter(p))
        return NULL;
      node_t *idx = parse_expr(p);
      if (idx == NULL || !expect(p, T_RBRACK, "']'", open, "["))
        return NULL;
      p->nest--;
      node_t *kids[2] = {n, idx};
      node_t *f = mk(p, N_INDEX, open, n->start);
      if (f == NULL || !set_kids(p, f, kids, 2))
        return NULL;
      n = f;
    } else {
      break;
    }
  }
  return n;
}

static node_t *parse_unary(parser_t *p) {
  if (p->tok.kind == T_MINUS) {
    uint32_t pos = p->tok.pos;
    if (!next(p) || !enter(p))
      return NULL;
    node_t *e = parse_unary(p);
    p->nest--;
    if (e == NULL)
      return NULL;
    node_t *n = mk(p, N_UNARY, pos, pos);
    if (n == NULL)
      return NULL;
    n->op = OP_NEG;
    return set_kids(p, n, &e, 1) ? n : NULL;
  }
  return parse_postfix(p);
}

static node_t *parse_mul(parser_t *p) {
  node_t *l = parse_unary(p);
  while (l != NULL && (p->tok.kind == T_STAR || p->tok.kind == T_SLASH || p->tok.kind == T_PERCENT)) {
    op_t op = p->tok.kind == T_STAR ? OP_MUL : p->tok.kind == T_SLASH ? OP_DIV : OP_MOD;
    uint32_t pos = p->tok.pos;
    if (!next(p))
      return NULL;
    node_t *r = parse_unary(p);
    if (r == NULL)
      return NULL;
    l = binary(p, N_BINARY, op, pos, l, r);
  }
  return l;
}

static node_t *parse_add(parser_t *p) {
  node_t *l = parse_mul(p);
  while (l != NULL && (p->tok.kind == T_PLUS || p->tok.kind == T_MINUS)) {
    op_t op = p->tok.kind == T_PLUS ? OP_ADD : OP_SUB;
    uint32_t pos = p->tok.pos;
    if (!next(p))
      return NULL;
    node_t *r = parse_mul(p);
    if (r == NULL)
      return NULL;
    l = binary(p, N_BINARY, op, pos, l, r);
  }
  return l;
}

static bool cmp_op(parser_t *p, op_t *op, bool *negate) {
  *negate = false;
  switch (p->tok.kind) {
  case T_EQ: *op = OP_EQ; return true;
  case T_NE: *op = OP_NE; return true;
  case T_LT: *op = OP_LT; return true;
  case T_LE: *op = OP_LE; return true;
  case T_GT: *op = OP_GT; return true;
  case T_GE: *op = OP_GE; return true;
  case T_IN: *op = OP_IN; return true;
  case T_NOT: {
    /* "not in": peek past `not` without consuming it */
    size_t save_i = p->i;
    tok_t save = p->tok;
    if (!next(p))
      return false;
    bool is_in = p->tok.kind == T_IN;
    p->i = save_i;
    p->tok = save;
    if (is_in) {
      *op = OP_IN;
      *negate = true;
    }
    return is_in;
  }
  default: return false;
  }
}

static node_t *parse_cmp(parser_t *p) {
  node_t *l = parse_add(p);
  if (l == NULL)
    return NULL;
  op_t op;
  bool negate;
  if (!cmp_op(p, &op, &negate))
    return p->err->code ? NULL : l;
  uint32_t pos = p->tok.pos;
  if (!next(p) || (negate && !next(p)))
    return NULL;
  node_t *r = parse_add(p);
  if (r == NULL)
    return NULL;
  node_t *n = binary(p, N_BINARY, op, pos, l, r);
  if (n == NULL)
    return NULL;
  op_t op2;
  bool neg2;
  if (cmp_op(p, &op2, &neg2)) {
    fail(p, p->tok.pos, BECK_ERR_PARSE, "syntax error: comparisons do not chain; expected 'and' between two comparisons");
    return NULL;
  }
  if (negate) {
    node_t *m = mk(p, N_UNARY, pos, l->start);
    if (m == NULL)
      return NULL;
    m->op = OP_NOT;
    if (!set_kids(p, m, &n, 1))
      return NULL;
    n = m;
  }
  return n;
}

static node_t *parse_not(parser_t *p) {
  if (p->tok.kind == T_NOT) {
    uint32_t pos = p->tok.pos;
    if (!next(p) || !enter(p))
      return NULL;
    node_t *e = parse_not(p);
    p->nest--;
    if (e == NULL)
      return NULL;
    node_t *n = mk(p, N_UNARY, pos, pos);
    if (n == NULL)
      return NULL;
    n->op = OP_NOT;
    return set_kids(p, n, &e, 1) ? n : NULL;
  }
  return parse_cmp(p);
}

static node_t *parse_and(parser_t *p) {
  node_t *l = parse_not(p);
  while (l != NULL && p->tok.kind == T_AND) {
    uint32_t pos = p->tok.pos;
    if (!next(p))
      return NULL;
    node_t *r = parse_not(p);
    if (r == NULL)
      return NULL;
    l = binary(p, N_AND, OP_NONE, pos, l, r);
  }
  return l;
}

static node_t *parse_or(parser_t *p) {
  node_t *l = parse_and(p);
  while (l != NULL && p->tok.kind == T_OR) {
    uint32_t pos = p->tok.pos;
    if (!next(p))
      return NULL;
    node_t *r = parse_and(p);
    if (r == NULL)
      return NULL;
    l = binary(p, N_OR, OP_NONE, pos, l, r);
  }
  return l;
}

static node_t *parse_expr(parser_t *p) {
  node_t *l = parse_or(p);
  while (l != NULL && p->tok.kind == T_COALESCE) {
    uint32_t pos = p->tok.pos;
    if (!next(p))
      return NULL;
    node_t *r = parse_or(p);
    if (r == NULL)
      return NULL;
    l = binary(p, N_COALESCE, OP_NONE, pos, l, r);
  }
  return l;
}

beck_err_t beck__expr_parse(beck_expr_t *x, beck_expr_error_t *err) {
  parser_t p = {.x = x, .s = x->src, .len = x->src_len, .err = err};
  err->code = BECK_ERR_OK;
  if (x->src_len > EXPR_MAX_SOURCE)
    return beck__expr_fail(err, x->src, x->src_len, 0, BECK_ERR_PARSE, "expression too long (%zu bytes; at most %zu)",
                           x->src_len, EXPR_MAX_SOURCE);
  if (!next(&p))
    return err->code;
  if (p.tok.kind == T_EOF)
    return beck__expr_fail(err, x->src, x->src_len, p.tok.pos, BECK_ERR_PARSE,
                           "syntax error: empty expression; expected a value, a name or '('");
  node_t *n = parse_expr(&p);
  if (n == NULL)
    return err->code ? err->code : BECK_ERR_PARSE;
  if (p.tok.kind != T_EOF) {
    char got[48];
    tok_text(&p, &p.tok, got, sizeof got);
    fail(&p, p.tok.pos, BECK_ERR_PARSE, "syntax error: unexpected %s; expected an operator or the end", got);
    return err->code;
  }
  x->root = n;
  return BECK_ERR_OK;
}
