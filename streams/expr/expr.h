/*
 * expr.h - Beck's expression language: what filter, map, select_key,
 * flat_map, branch, dedupe, join and aggregate steps of a YAML pipeline
 * compute over records. The module header of streams/expr (library
 * beck_expr); the language itself is documented in docs/pipelines.md.
 *
 * Life of an expression:
 *
 *   text --beck_expr_compile()--> beck_expr_t (parsed, names resolved,
 *        type-checked, constants folded; immutable, shareable by threads)
 *        --beck_expr_eval()--> beck_val_t, once per record
 *
 * Compilation happens once, when a pipeline is loaded; every error carries the
 * byte offset, line and column inside the expression so the loader can point
 * at FILE:LINE:COL. Evaluation never re-parses and, in the common case
 * (paths, comparisons, arithmetic, string slicing), never calls malloc:
 * strings are borrowed from the record or built in memory that the caller
 * hands in per batch (beck_expr_ctx_t), and JSON objects are only built when
 * the expression builds one (an object or array literal with non-constant
 * parts, split(), keys(), from_json(), ...).
 *
 * Values (beck_val_t) are JSON values in a small tagged struct: null, bool,
 * int64, double, a string slice (not NUL-terminated) or a jansson json_t*
 * that is always an array or an object. Numbers have one static type,
 * "number"; integers stay exact int64 until an operation needs a double.
 *
 * Null safety: every access is null-safe. A missing field, an index out of
 * range, a field of a non-object or a header that is absent gives null; null
 * flows through arithmetic and functions (null + 1 is null), comparisons with
 * null are false (except == and !=), and `a ?? b` replaces null. So `?.` is
 * not needed; it is accepted as a synonym of `.`.
 *
 * Runtime errors (evaluation returns BECK_ERR_INVAL with the column): an
 * operator applied to values of the wrong kinds that the checker could not
 * see at load time (value.a + 1 when a holds a string), a condition that is
 * not a bool, division by zero. Conversion functions never fail: int("x")
 * is null, so `int(value.n) ?? 0` gives a default.
 */
#ifndef BECK_STREAMS_EXPR_H
#define BECK_STREAMS_EXPR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

/* ---- static types ------------------------------------------------------- */

/* A static type is a set of the JSON kinds a value may have at run time. */
enum {
  BECK_TYPE_NULL = 1u << 0,
  BECK_TYPE_BOOL = 1u << 1,
  BECK_TYPE_NUMBER = 1u << 2,
  BECK_TYPE_STRING = 1u << 3,
  BECK_TYPE_ARRAY = 1u << 4,
  BECK_TYPE_OBJECT = 1u << 5,
  BECK_TYPE_ANY = (1u << 6) - 1,
};
typedef uint32_t beck_type_t;

/* Writes a type set as words ("string", "number or null", "any") into buf
 * (always NUL-terminated); returns buf. */
const char *beck_type_name(beck_type_t t, char *buf, size_t cap);

/* ---- values ------------------------------------------------------------- */

typedef enum beck_val_kind {
  BECK_VAL_NULL = 0,
  BECK_VAL_BOOL,
  BECK_VAL_INT,
  BECK_VAL_DOUBLE,
  BECK_VAL_STR,  /* u.s: borrowed bytes, not NUL-terminated */
  BECK_VAL_JSON, /* u.j: an array or an object, borrowed */
} beck_val_kind_t;

typedef struct beck_val {
  beck_val_kind_t kind;
  union {
    bool b;
    int64_t i;
    double d;
    struct {
      const char *p;
      size_t len;
    } s;
    json_t *j;
  } u;
} beck_val_t;

static inline beck_val_t beck_val_null(void) {
  beck_val_t v = {.kind = BECK_VAL_NULL};
  return v;
}
static inline beck_val_t beck_val_bool(bool b) {
  beck_val_t v = {.kind = BECK_VAL_BOOL, .u.b = b};
  return v;
}
static inline beck_val_t beck_val_int(int64_t i) {
  beck_val_t v = {.kind = BECK_VAL_INT, .u.i = i};
  return v;
}
static inline beck_val_t beck_val_double(double d) {
  beck_val_t v = {.kind = BECK_VAL_DOUBLE, .u.d = d};
  return v;
}
/* Borrows p (len bytes). */
static inline beck_val_t beck_val_str(const char *p, size_t len) {
  beck_val_t v = {.kind = BECK_VAL_STR};
  v.u.s.p = p;
  v.u.s.len = len;
  return v;
}
/* Borrows j. Scalars are unwrapped (a JSON string becomes a slice of it), so
 * a BECK_VAL_JSON is always an array or an object. NULL gives null. */
beck_val_t beck_val_from_json(json_t *j);
/* A new reference to the value as JSON (strings are copied; a non-finite
 * double becomes null). NULL on OOM or when a string is not valid UTF-8. */
json_t *beck_val_to_json(const beck_val_t *v);
/* Appends the value as text: a string as its bytes, anything else as
 * compact JSON (what a select_key or a key in a test compares). */
beck_err_t beck_val_write_text(const beck_val_t *v, beck_buf_t *out);
/* Appends compact JSON (strings quoted). */
beck_err_t beck_val_write_json(const beck_val_t *v, beck_buf_t *out);
/* Structural equality: 1 and 1.0 are equal, arrays and objects compare
 * element by element. */
bool beck_val_equal(const beck_val_t *a, const beck_val_t *b);
/* The static type of a runtime value (one bit). */
beck_type_t beck_val_type(const beck_val_t *v);

/* ---- compiling ---------------------------------------------------------- */

/* The names an expression may start from (roots). */
enum {
  BECK_ROOT_VALUE = 1u << 0,     /* the record value (JSON) */
  BECK_ROOT_KEY = 1u << 1,       /* the record key */
  BECK_ROOT_TIMESTAMP = 1u << 2, /* ms since the epoch */
  BECK_ROOT_HEADERS = 1u << 3,   /* headers.name: the header's value as a string */
  BECK_ROOT_PARTITION = 1u << 4,
  BECK_ROOT_OFFSET = 1u << 5,
  BECK_ROOT_TOPIC = 1u << 6,
  BECK_ROOT_WINDOW = 1u << 7, /* window.start, window.end (ms) of a windowed result */
  BECK_ROOT_LEFT = 1u << 8,   /* join select: the left value */
  BECK_ROOT_RIGHT = 1u << 9,  /* join select: the right value */
  BECK_ROOT_RECORD = (1u << 8) - 1,
};

typedef struct beck_expr_opts {
  /* Roots allowed outside aggregate calls; 0 means BECK_ROOT_RECORD. */
  uint32_t roots;
  /* Aggregate calls (count(), sum(x), ...) are allowed: an aggregate step. */
  bool aggregates;
  /* Roots allowed inside an aggregate call's argument; 0 means
   * BECK_ROOT_RECORD. */
  uint32_t agg_roots;
  /* What the context needs (a filter: BECK_TYPE_BOOL). When the result may
   * have kinds other than null and none of them is wanted, compilation
   * fails: "type error: <what> must be a bool, got string". Null is always
   * accepted (a filter treats it as false). 0 accepts anything. */
  beck_type_t want;
  /* Names what the result is for in that message ("filter condition"). */
  const char *what;
} beck_expr_opts_t;

/* A compile error. pos is the byte offset in the source; line and col are
 * 1-based inside the expression (col counts bytes from the line start). */
typedef struct beck_expr_error {
  beck_err_t code; /* BECK_ERR_PARSE (syntax), BECK_ERR_INVAL (names, types), BECK_ERR_NOMEM */
  uint32_t pos;
  uint32_t line;
  uint32_t col;
  char msg[256]; /* "type error: cannot add string and number" */
} beck_expr_error_t;

typedef struct beck_expr beck_expr_t;

/* Compiles len bytes of src (copied; need not be NUL-terminated). opts may
 * be NULL (record roots, no aggregates, any result). On success *out owns the
 * program; on failure *out is NULL and err describes the first problem. */
beck_err_t beck_expr_compile(const char *src, size_t len, const beck_expr_opts_t *opts, beck_expr_t **out,
                             beck_expr_error_t *err);
/* Frees; NULL is ok. */
void beck_expr_free(beck_expr_t *x);

/* Builds the expression {names[0]: fields[0], ...} from compiled fields (a
 * map step's fields, an aggregate step's outputs). Takes ownership of every
 * fields[i] (freed on failure too); copies the names. Aggregate calls of the
 * fields are numbered in field order. */
beck_err_t beck_expr_make_object(const char *const *names, beck_expr_t **fields, size_t n, beck_expr_t **out);

/* The source text (NUL-terminated copy). */
const char *beck_expr_source(const beck_expr_t *x);
/* The static result type. */
beck_type_t beck_expr_type(const beck_expr_t *x);
/* The roots the expression reads (inside and outside aggregate calls):
 * the runtime decodes only those (a filter on `key` never parses values). */
uint32_t beck_expr_roots(const beck_expr_t *x);
/* True when the expression reads nothing from the record and calls no
 * now(): its value is known at load time. */
bool beck_expr_is_constant(const beck_expr_t *x);

/* ---- aggregates --------------------------------------------------------- */

#define BECK_AGG_MAP(X)                                                             \
  X(COUNT, "count", "count() counts records; count(x) counts records where x is not null") \
  X(COUNT_DISTINCT, "count_distinct", "number of distinct non-null values of x")   \
  X(SUM, "sum", "sum of the non-null numbers x")                                    \
  X(MIN, "min", "smallest non-null x (numbers or strings)")                          \
  X(MAX, "max", "largest non-null x (numbers or strings)")                           \
  X(AVG, "avg", "mean of the non-null numbers x (a double)")                         \
  X(FIRST, "first", "the first non-null x (by arrival)")                             \
  X(LAST, "last", "the latest non-null x (by arrival)")                              \
  X(COLLECT, "collect", "array of every non-null x, in arrival order")

typedef enum beck_agg_kind {
#define BECK_AGG_ENUM(name, str, doc) BECK_AGG_##name,
  BECK_AGG_MAP(BECK_AGG_ENUM)
#undef BECK_AGG_ENUM
      BECK_AGG__COUNT
} beck_agg_kind_t;

/* One aggregate call inside an aggregate step's expression. */
typedef struct beck_expr_agg {
  beck_agg_kind_t kind;
  const beck_expr_t *arg; /* evaluated per record; NULL for count() */
  uint32_t pos;           /* byte offset of the call in the source */
} beck_expr_agg_t;

size_t beck_expr_agg_count(const beck_expr_t *x);
const beck_expr_agg_t *beck_expr_agg(const beck_expr_t *x, size_t i);
const char *beck_agg_name(beck_agg_kind_t k);

/* Reference accumulators (what the streams runtime stores per key and
 * window). The state is a JSON value so it goes to a state store and its
 * changelog as bytes: count -> n, sum -> number, min/max/first/last -> the
 * value, avg -> [sum, n], collect -> array, count_distinct -> object whose
 * keys are the distinct values as compact JSON.
 *   beck_agg_state_new   a new reference to the empty state (NULL on OOM)
 *   beck_agg_add         folds v (the argument's value for one record; for
 *                        count() pass null and arg_absent = true); a value
 *                        of the wrong kind (sum of a string) fails with
 *                        BECK_ERR_INVAL and a message in e
 *   beck_agg_merge       folds state b into a (session windows)
 *   beck_agg_result      the aggregate's value, borrowing from state */
json_t *beck_agg_state_new(beck_agg_kind_t k);
beck_err_t beck_agg_add(beck_agg_kind_t k, json_t **state, const beck_val_t *v, bool arg_absent, beck_error_t *e);
beck_err_t beck_agg_merge(beck_agg_kind_t k, json_t **a, json_t *b, beck_error_t *e);
beck_val_t beck_agg_result(beck_agg_kind_t k, json_t *state);

/* ---- evaluating --------------------------------------------------------- */

/* A header as the evaluator sees it (same layout as core/record's
 * beck_record_header_t: name slice, nullable value). */
typedef struct beck_expr_header {
  beck_slice_t name;
  beck_nstr_t value;
} beck_expr_header_t;

/* One record (or a join pair, or an aggregate group) to evaluate against.
 * Everything is borrowed for the call. Roots the expression does not read
 * (beck_expr_roots) need not be filled in. */
typedef struct beck_expr_input {
  beck_val_t value; /* decoded by the caller: JSON, a string, or null */
  beck_val_t key;
  int64_t timestamp;
  int32_t partition;
  int64_t offset;
  beck_slice_t topic;
  const beck_expr_header_t *headers;
  size_t nheaders;
  bool windowed; /* window.start / window.end are set */
  int64_t window_start;
  int64_t window_end;
  beck_val_t left, right;  /* join select */
  const beck_val_t *aggs;  /* aggregate step: the result of aggregate call i */
  size_t naggs;
} beck_expr_input_t;

/* Allocates n bytes that live until the caller's batch is done. */
typedef void *(*beck_expr_alloc_fn)(void *ud, size_t n);
/* The current time in ms since the epoch (now()). */
typedef int64_t (*beck_expr_clock_fn)(void *ud);

/* Per-thread evaluation state (a value type: embed it). Results of
 * beck_expr_eval borrow from the input and from this context, and stay valid
 * until beck_expr_ctx_reset(). */
typedef struct beck_expr_ctx {
  beck_expr_alloc_fn alloc; /* NULL: the context's own arena */
  void *alloc_ud;
  beck_expr_clock_fn clock; /* NULL: the wall clock */
  void *clock_ud;
  beck_arena_t arena;  /* used when alloc is NULL */
  json_t **owned;      /* JSON built during evaluation, released at reset */
  size_t nowned, capowned;
  beck_buf_t scratch;  /* reused by to_json(), string(), join() */
  beck_error_t err;    /* the last runtime error */
} beck_expr_ctx_t;

void beck_expr_ctx_init(beck_expr_ctx_t *c);
/* Releases what evaluations since the last reset built (call per batch). */
void beck_expr_ctx_reset(beck_expr_ctx_t *c);
void beck_expr_ctx_destroy(beck_expr_ctx_t *c);

/* Evaluates x against in. On success *out holds the result (borrowing from
 * in and c). On a runtime error returns BECK_ERR_INVAL (or NOMEM) and
 * c->err.msg reads "column 7: cannot add string and number". */
beck_err_t beck_expr_eval(const beck_expr_t *x, const beck_expr_input_t *in, beck_expr_ctx_t *c, beck_val_t *out);
/* Evaluates a condition: returns 1 (true), 0 (false or null) or a negative
 * beck_err_t (a non-bool result is an error). */
int beck_expr_eval_bool(const beck_expr_t *x, const beck_expr_input_t *in, beck_expr_ctx_t *c);

/* ---- helpers shared with the pipeline loader ----------------------------- */

/* Parses a duration: one or more <integer><unit> groups with unit ms, s, m,
 * h or d ("500ms", "30s", "1h30m"). Returns 0 with *ms set, or -1. */
int beck_parse_duration(const char *s, size_t len, int64_t *ms);
/* Parses an RFC 3339 time ("2024-05-01T12:00:00Z", "...T12:00:00.250+02:00";
 * 't', 'z' and a space separator are accepted). Returns 0 with *ms, or -1. */
int beck_parse_time(const char *s, size_t len, int64_t *ms);
/* Formats ms since the epoch as RFC 3339 UTC; milliseconds only when not
 * zero ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.250Z"). Returns the
 * length written (at most 40 with the NUL). */
size_t beck_format_time(int64_t ms, char *buf, size_t cap);

/* The candidate closest to name (edit distance with transpositions), when it
 * is close enough to be a likely typo; else NULL. */
const char *beck_did_you_mean(const char *name, size_t len, const char *const *candidates, size_t n);

/* Appends the function reference (Markdown) generated from the function
 * table, for docs/pipelines.md. */
beck_err_t beck_expr_write_reference(beck_buf_t *out);

#endif
