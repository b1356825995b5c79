/*
 * expr_int.h - private to streams/expr: the syntax tree that is also the
 * evaluated program, the function table, and the helpers the parser, the
 * checker and the evaluator share.
 *
 * A program is a tree of nodes allocated in the program's arena. The parser
 * builds it (parse.c); the checker (check.c) resolves names and functions,
 * computes static types, turns aggregate calls into slots, and folds
 * constant subtrees into N_CONST; the evaluator (eval.c) walks it. The
 * parser caps nesting at EXPR_MAX_DEPTH, so every recursive walk is bounded.
 *
 * Node fields by kind:
 *   N_CONST    val (strings live in the arena, JSON in x->consts)
 *   N_ROOT     root (one BECK_ROOT_* bit)
 *   N_HEADER   name: headers.name / headers["name"]
 *   N_WINDOW   root is 0 for window.start, 1 for window.end
 *   N_FIELD    kids[0] . name
 *   N_INDEX    kids[0] [ kids[1] ]
 *   N_UNARY    op (OP_NEG, OP_NOT) kids[0]
 *   N_BINARY   op, kids[0], kids[1] (arithmetic, comparison, in)
 *   N_AND, N_OR, N_COALESCE   kids[0], kids[1], short-circuit
 *   N_IF       kids[0] then kids[1] else kids[2]
 *   N_ARRAY    kids
 *   N_OBJECT   kids, names[i] (NUL-terminated, name_lens[i])
 *   N_CALL     fn (index into expr_functions), kids; name before checking
 *   N_AGG      agg kind, kids[0] or none (before checking)
 *   N_AGGREF   slot into beck_expr_input_t.aggs (after checking)
 */
#ifndef BECK_STREAMS_EXPR_INT_H
#define BECK_STREAMS_EXPR_INT_H

#include "base/alloc.h"
#include "streams/expr/expr.h"

#define EXPR_MAX_DEPTH 128
#define EXPR_MAX_SOURCE ((size_t)1 << 20)
#define EXPR_MAX_ARGS 32

typedef enum node_kind {
  N_CONST,
  N_ROOT,
  N_HEADER,
  N_WINDOW,
  N_FIELD,
  N_INDEX,
  N_UNARY,
  N_BINARY,
  N_AND,
  N_OR,
  N_COALESCE,
  N_IF,
  N_ARRAY,
  N_OBJECT,
  N_CALL,
  N_AGG,
  N_AGGREF,
} node_kind_t;

typedef enum op {
  OP_NONE,
  OP_ADD,
  OP_SUB,
  OP_MUL,
  OP_DIV,
  OP_MOD,
  OP_EQ,
  OP_NE,
  OP_LT,
  OP_LE,
  OP_GT,
  OP_GE,
  OP_IN,
  OP_NEG,
  OP_NOT,
} op_t;

typedef struct node node_t;
struct node {
  node_kind_t kind;
  op_t op;
  uint32_t pos;   /* where errors point: the operator, the name, the call */
  uint32_t start; /* first byte of the whole subexpression */
  uint32_t depth;
  beck_type_t type; /* set by the checker */
  uint32_t nkids;
  node_t **kids;
  const char *name; /* N_FIELD, N_HEADER, N_CALL (before checking), NUL-terminated */
  size_t name_len;
  const char **names; /* N_OBJECT keys */
  size_t *name_lens;
  beck_val_t val; /* N_CONST */
  uint32_t root;  /* N_ROOT, N_WINDOW */
  int fn;         /* N_CALL */
  int agg;        /* N_AGG */
  uint32_t slot;  /* N_AGGREF */
};

struct beck_expr {
  beck_arena_t arena_own;
  beck_arena_t *arena; /* &arena_own, or the parent's for an aggregate argument */
  char *src;
  size_t src_len;
  node_t *root;
  beck_type_t type;
  uint32_t roots;
  bool constant;
  bool sub; /* an aggregate argument owned by its parent */
  json_t **consts; /* JSON constants this program owns */
  size_t nconsts, capconsts;
  beck_expr_agg_t *aggs;
  size_t naggs;
  beck_expr_t **subs; /* aggregate argument programs */
  size_t nsubs;
  beck_expr_t **parts; /* beck_expr_make_object: the field programs it owns */
  size_t nparts;
};

/* ---- parse.c ---- */
beck_err_t beck__expr_parse(beck_expr_t *x, beck_expr_error_t *err);
/* Fills err for src at byte pos. */
beck_err_t beck__expr_fail(beck_expr_error_t *err, const char *src, size_t len, uint32_t pos, beck_err_t code,
                           const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void beck__expr_line_col(const char *src, size_t len, uint32_t pos, uint32_t *line, uint32_t *col);
node_t *beck__expr_node(beck_expr_t *x, node_kind_t kind, uint32_t pos, uint32_t start);

/* ---- check.c ---- */
beck_err_t beck__expr_check(beck_expr_t *x, const beck_expr_opts_t *opts, beck_expr_error_t *err);
beck_err_t beck__expr_add_const(beck_expr_t *x, json_t *j); /* takes the reference */

/* ---- functions.c ---- */
typedef struct expr_eval expr_eval_t;
typedef beck_err_t (*expr_fn_impl)(expr_eval_t *ev, const node_t *n, beck_val_t *args, size_t nargs,
                                   beck_val_t *out);

enum {
  FN_NULLPROP = 1, /* any null argument gives null without calling impl */
  FN_CLOCK = 2,    /* reads the clock: never constant-folded */
};

typedef struct expr_fn {
  const char *name;
  uint8_t min_args, max_args; /* max_args EXPR_MAX_ARGS: variadic */
  uint8_t flags;
  beck_type_t arg_types[3]; /* accepted kinds of argument i (the last repeats) */
  beck_type_t result;
  expr_fn_impl impl;
  const char *signature;
  const char *doc;
} expr_fn_t;

extern const expr_fn_t beck__expr_functions[];
extern const size_t beck__expr_function_count;
int beck__expr_find_function(const char *name, size_t len);

/* ---- eval.c ---- */
struct expr_eval {
  const beck_expr_t *x;
  const beck_expr_input_t *in;
  beck_expr_ctx_t *c;
};
beck_err_t beck__expr_rt_error(expr_eval_t *ev, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *beck__expr_alloc(expr_eval_t *ev, size_t n);
/* Records a JSON value built during evaluation (takes the reference);
 * returns it, or NULL (and decrefs) on OOM. */
json_t *beck__expr_own(expr_eval_t *ev, json_t *j);
beck_err_t beck__expr_eval_node(expr_eval_t *ev, const node_t *n, beck_val_t *out);
int64_t beck__expr_now(expr_eval_t *ev);

/* ---- value.c ---- */
/* Compares two numbers or two strings: <0, 0, >0. Returns false when the
 * kinds cannot be ordered. */
bool beck__val_order(const beck_val_t *a, const beck_val_t *b, int *cmp);
bool beck__val_is_number(const beck_val_t *v);
double beck__val_as_double(const beck_val_t *v);
const char *beck__val_kind_name(const beck_val_t *v);
/* "a string", "an array", "number or null": an article for one kind only. */
const char *beck__type_a(beck_type_t t, char *buf, size_t cap);
/* The kinds argument k of f accepts (the last listed kind repeats). */
beck_type_t beck__expr_fn_arg_type(const expr_fn_t *f, uint32_t k);
/* Formats a double the shortest way that reads back exactly, with ".0" when
 * it would look like an integer. Returns the length. */
size_t beck__format_double(double d, char *buf, size_t cap);
/* Number of UTF-8 code points (invalid bytes count as one each). */
size_t beck__utf8_count(const char *p, size_t len);
/* Byte offset of code point index i (clamped to len). */
size_t beck__utf8_offset(const char *p, size_t len, size_t i);

#endif
