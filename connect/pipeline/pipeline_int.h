/*
 * pipeline_int.h - private to connect/pipeline: the YAML node tree with
 * positions, the loader state and diagnostics, and the declarative binding
 * tables.
 *
 * Flow (one load):
 *
 *   text --yaml.c--> ynode_t tree (libyaml events; line and column on every
 *                    node; anchors/aliases shared; merge keys "<<" applied;
 *                    ${VAR} substituted in scalar values)
 *        --load.c--> sections bound through the tables in schema.c
 *                    (bind.c interprets them: types, defaults, required,
 *                    unknown keys with did-you-mean), steps (steps.c),
 *                    tests (tests.c); expressions compiled on the way
 *        --check.c-> references, cycles, step order, connectors
 *
 * Every problem becomes a diagnostic (diag.c) with the position of the node
 * at fault; binding goes on after a problem so one run reports them all.
 * All memory of a load lives in one arena (the pipeline's, or a scratch one
 * when the file is invalid), except compiled expressions and JSON values,
 * which the pipeline tracks and frees.
 */
#ifndef BECK_CONNECT_PIPELINE_INT_H
#define BECK_CONNECT_PIPELINE_INT_H

#include <stdarg.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "connect/pipeline/pipeline.h"

/* ---- the YAML tree (yaml.c) ------------------------------------------------ */

typedef enum yn_kind { YN_SCALAR, YN_MAP, YN_SEQ } yn_kind_t;
typedef enum yn_style { YS_PLAIN, YS_SQUOTE, YS_DQUOTE, YS_LITERAL, YS_FOLDED } yn_style_t;

typedef struct ynode ynode_t;

typedef struct ypair {
  ynode_t *key; /* always a scalar */
  ynode_t *val;
} ypair_t;

/* One ${VAR} replaced in a scalar: bytes [out, out+out_len) of the value
 * came from bytes [raw, raw+raw_len) of the scalar as written. */
typedef struct ysubst {
  size_t out, out_len, raw, raw_len;
} ysubst_t;

struct ynode {
  yn_kind_t kind;
  yn_style_t style;
  uint32_t line, col; /* 1-based; col in characters */
  size_t offset;      /* byte offset of the node's first character */
  bool quoted_tag_str; /* !!str or quoted: never a number, bool or null */
  /* scalar */
  char *str; /* value after substitution, NUL-terminated */
  size_t len;
  const char *raw; /* value as libyaml gave it */
  size_t raw_len;
  ysubst_t *subst;
  size_t nsubst;
  /* mapping */
  ypair_t *pairs;
  size_t npairs;
  /* sequence */
  ynode_t **items;
  size_t nitems;
};

/* ---- the loader ----------------------------------------------------------- */

typedef struct diag_list {
  beck_pipeline_diag_t *items;
  size_t n, cap;
  size_t max;
  bool truncated;
} diag_list_t;

struct beck_pipeline_diags {
  diag_list_t list;
  beck_arena_t arena;
};

struct beck_pipeline_priv {
  beck_arena_t arena;
  beck_expr_t **exprs; /* every compiled expression, freed with the pipeline */
  size_t nexprs, capexprs;
  json_t **jsons;
  size_t njsons, capjsons;
};

/* A name used somewhere in the file, checked once everything is bound
 * (check.c): topics produced and consumed, tables joined, test inputs. */
typedef enum ref_role {
  REF_PRODUCE,     /* a source's topic, a stream's to, a branch's to, a window's late */
  REF_CONSUME,     /* a stream's from, merge, a table's from, a sink's from */
  REF_JOIN,        /* join with: a table or a topic; target is the beck_pipeline_join_t */
  REF_TABLE_STEP,  /* a table step's name */
  REF_TEST_INPUT,  /* target is the beck_pipeline_test_input_t */
  REF_TEST_EXPECT, /* an expected topic */
} ref_role_t;

typedef struct ref {
  const char *name;
  beck_pipeline_pos_t pos;
  ref_role_t role;
  int stream; /* index of the stream it belongs to, or -1 */
  void *target;
} ref_t;

typedef struct loader {
  const char *file;
  const char *text;
  size_t len;
  size_t *line_starts; /* byte offset of each line (index 0 = line 1) */
  size_t nlines;
  const beck_pipeline_load_opts_t *opts;
  beck_pipeline_t *p;
  beck_arena_t *arena; /* = &p->priv->arena */
  beck_pipeline_diags_t *diags;
  bool oom;
  ref_t *refs;
  size_t nrefs, caprefs;
  int cur_stream; /* the stream being bound, or -1 */
} loader_t;

void beck__pl_add_ref(loader_t *ld, const char *name, const ynode_t *at, ref_role_t role, void *target);

/* diag.c */
void beck__pl_error(loader_t *ld, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void beck__pl_error_at(loader_t *ld, const ynode_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void beck__pl_error_pos(loader_t *ld, beck_pipeline_pos_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t beck__pl_error_count(const loader_t *ld);
void beck__pl_sort_diags(beck_pipeline_diags_t *d);

/* yaml.c */
beck_err_t beck__pl_parse_yaml(loader_t *ld, ynode_t **root);
/* Position (1-based line, column in characters) of byte `off` of a scalar's
 * value (after substitution); falls back to the node's start when the value
 * cannot be matched against the source text (escapes, folding). */
void beck__pl_scalar_pos(const loader_t *ld, const ynode_t *n, size_t off, uint32_t *line, uint32_t *col);
const char *beck__pl_kind_name(const ynode_t *n); /* "a mapping", "a list", "a string" */
/* Core-schema resolution of a scalar: null, bool, int, float or string. */
typedef enum yscalar_type { YT_NULL, YT_BOOL, YT_INT, YT_FLOAT, YT_STR } yscalar_type_t;
yscalar_type_t beck__pl_scalar_type(const ynode_t *n, bool *b, int64_t *i, double *d);
/* The YAML value as JSON (new reference); NULL on OOM. */
json_t *beck__pl_to_json(loader_t *ld, const ynode_t *n);
const ynode_t *beck__pl_map_get(const ynode_t *map, const char *key);

/* memory */
void *beck__pl_alloc(loader_t *ld, size_t n);
char *beck__pl_strdup(loader_t *ld, const char *s, size_t n);
beck_pipeline_pos_t beck__pl_pos(const ynode_t *n);
beck_expr_t *beck__pl_keep_expr(loader_t *ld, beck_expr_t *x);
json_t *beck__pl_keep_json(loader_t *ld, json_t *j);

/* ---- binding tables (bind.c interprets, schema.c defines) ------------------- */

typedef enum field_type {
  FT_STRING,   /* a non-empty scalar -> const char * */
  FT_NAME,     /* a name [A-Za-z0-9._-]+ -> const char * */
  FT_TOPIC,    /* a topic name -> const char * */
  FT_TOPICS,   /* a topic or a list of topics -> const char ** + size_t */
  FT_INT,      /* -> int64_t (or int32_t with FF_INT32) */
  FT_BOOL,     /* -> bool */
  FT_DURATION, /* 30s -> int64_t ms */
  FT_SIZE,     /* 64MiB -> int64_t bytes */
  FT_ENUM,     /* one of choices -> int (the index) */
  FT_EXPR,     /* an expression -> beck_expr_t * */
  FT_CONFIG,   /* a mapping of scalars -> beck_pipeline_option_t * + size_t */
  FT_JSON,     /* any value -> json_t * */
  FT_TIME,     /* ms since the epoch: an integer, RFC 3339 text or a duration -> int64_t */
  FT_CUSTOM,   /* bound by the field's callback */
} field_type_t;

enum {
  FF_INT32 = 1,    /* FT_INT stores an int32_t */
  FF_PRODUCES = 2, /* FT_TOPIC(S): the pipeline writes this topic */
  FF_CONSUMES = 4, /* FT_TOPIC(S): the pipeline reads this topic */
};

typedef enum expr_ctx {
  EXPR_FILTER,     /* bool over the record */
  EXPR_ANY,        /* any value over the record */
  EXPR_ARRAY,      /* an array over the record (flat_map) */
  EXPR_AGGREGATE,  /* aggregate calls; key and window outside them */
  EXPR_JOIN,       /* left, right, key, timestamp */
  EXPR_TIME,       /* a number (ms) or a string (RFC 3339) over the record: a stream's event time */
} expr_ctx_t;

typedef struct field_def field_def_t;
typedef bool (*field_bind_fn)(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);

struct field_def {
  const char *name;
  field_type_t type;
  size_t offset;       /* where the value goes in the bound struct */
  size_t count_offset; /* FT_TOPICS, FT_CONFIG: where the count goes */
  const char *def;     /* default, as a user would write it; NULL: none */
  bool required;
  const char *choices; /* FT_ENUM: "a|b|c" */
  int64_t min, max;    /* FT_INT, FT_DURATION, FT_SIZE: inclusive when min < max */
  int flags;
  expr_ctx_t expr;     /* FT_EXPR */
  field_bind_fn bind;  /* FT_CUSTOM */
  const char *type_doc; /* how the reference names the type (FT_CUSTOM, or to override) */
  const char *doc;
};

typedef struct section_def {
  const char *path;  /* for the reference: "sources.<name>" */
  const char *title; /* heading in the reference */
  const char *doc;   /* paragraph before the table */
  const field_def_t *fields;
  size_t nfields;
} section_def_t;

/* Binds map into dst through the section's table: every key must be a field
 * (else "unknown key" with did-you-mean), every value is checked against the
 * field's type, missing required fields are reported at the mapping, and
 * defaults are applied. seen (may be NULL) gets bit i set for each field i
 * the user wrote. subject names the thing in messages ("source 'clicks'").
 * Returns false when map is not a mapping (other problems are reported and
 * binding goes on). */
bool beck__pl_bind(loader_t *ld, const section_def_t *sec, const ynode_t *map, void *dst, uint64_t *seen,
                   const char *subject);
/* Binds one value through one field definition. */
bool beck__pl_bind_field(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);
/* Compiles the scalar v as an expression for ctx, reporting errors at their
 * position in the file. NULL on error. The pipeline keeps (and frees) the
 * result; beck__pl_compile_raw leaves it to the caller. */
beck_expr_t *beck__pl_compile(loader_t *ld, const ynode_t *v, expr_ctx_t ctx, const char *what);
beck_expr_t *beck__pl_compile_raw(loader_t *ld, const ynode_t *v, expr_ctx_t ctx, const char *what);
/* A name for messages: "'grace' of step window" */
const char *beck__pl_describe_type(const field_def_t *f, char *buf, size_t cap);
/* Candidates for did-you-mean from a table's field names. */
const char *beck__pl_suggest_field(const section_def_t *sec, const char *key);

/* schema.c: the tables */
extern const section_def_t beck__pl_sec_pipeline, beck__pl_sec_topic, beck__pl_sec_source, beck__pl_sec_sink,
    beck__pl_sec_table, beck__pl_sec_stream, beck__pl_sec_window, beck__pl_sec_join, beck__pl_sec_dedupe,
    beck__pl_sec_branch, beck__pl_sec_test, beck__pl_sec_test_record, beck__pl_sec_expect_record,
    beck__pl_sec_window_bounds, beck__pl_sec_run;

/* What the window and join tables bind into before steps.c turns them into
 * beck_pipeline_window_t / beck_pipeline_join_t (-1: not written). */
typedef struct window_spec {
  int64_t tumbling, hopping, advance, sliding, session, grace;
  int emit;
  const char *late;
} window_spec_t;

typedef struct join_spec {
  const char *with;
  int type;
  int64_t within, before, after, grace;
  beck_expr_t *select;
} join_spec_t;

typedef struct step_def {
  const char *name;
  beck_step_kind_t kind;
  const char *form; /* for the reference: "expression", "mapping", ... */
  const char *doc;
} step_def_t;
extern const step_def_t beck__pl_steps[];
extern const size_t beck__pl_nsteps;

/* Custom binders named by the tables (FT_CUSTOM). */
bool beck__pl_bind_topics(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);
bool beck__pl_bind_sources(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);
bool beck__pl_bind_tables(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);
bool beck__pl_bind_streams(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);
bool beck__pl_bind_sinks(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);
bool beck__pl_bind_steps(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);
bool beck__pl_bind_tests(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);
bool beck__pl_bind_test_inputs(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst,
                               const char *subject);
bool beck__pl_bind_test_expect(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst,
                               const char *subject);
bool beck__pl_bind_run(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst, const char *subject);
bool beck__pl_bind_window_bounds(loader_t *ld, const field_def_t *f, const ynode_t *v, void *dst,
                                 const char *subject);
/* check.c */
void beck__pl_check(loader_t *ld, const ynode_t *root);

/* Connector option value checks shared with check.c. */
bool beck__pl_check_option_value(loader_t *ld, const beck_connector_option_t *opt, const beck_pipeline_option_t *o,
                                 const char *subject);

#endif
