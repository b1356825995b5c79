/*
 * fuzz_expr.c - libFuzzer target for the expression language
 * (streams/expr): compile, then evaluate against records.
 *
 * Input layout: byte 0 picks the compile options (bit 0: aggregates
 * allowed, bit 1: a bool is wanted, bit 2: join roots); the rest up to the
 * first NUL is the expression; what follows the NUL, when it parses as JSON,
 * is the record value (otherwise a fixed record is used). Every compiled
 * program is evaluated, its aggregate argument programs too, the result is
 * written out as JSON and text, and the program is combined into an object
 * with beck_expr_make_object. Evaluation gets a fixed clock so runs repeat.
 *
 * Seeds: tests/fuzz/corpus/expr (one expression per file, byte 0 = options).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "streams/expr/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t fixed_clock(void *ud) { return 1714564800000; }

static const char *FIXED =
    "{\"user\": {\"id\": 7, \"name\": \"Ann\"}, \"items\": [1, 2.5, \"x\", null, {\"a\": []}], \"s\": \"h\\u00e9llo\","
    " \"n\": 10, \"f\": -0.5, \"t\": true, \"when\": \"2024-05-01T12:00:00Z\", \"json\": \"[1,{}]\"}";

static void consume(const beck_val_t *v) {
  beck_buf_t b = {0};
  beck_val_write_json(v, &b);
  beck_buf_reset(&b);
  beck_val_write_text(v, &b);
  beck_buf_free(&b);
  json_t *j = beck_val_to_json(v);
  json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t mode = data[0];
  const char *src = (const char *)data + 1;
  size_t rest = size - 1;
  const char *nul = memchr(src, '\0', rest);
  size_t len = nul ? (size_t)(nul - src) : rest;

  beck_expr_opts_t o = {0};
  if (mode & 1) {
    o.aggregates = true;
    o.roots = BECK_ROOT_KEY | BECK_ROOT_WINDOW;
  }
  if (mode & 2) {
    o.want = BECK_TYPE_BOOL;
    o.what = "the condition";
  }
  if (mode & 4)
    o.roots |= BECK_ROOT_LEFT | BECK_ROOT_RIGHT | BECK_ROOT_KEY;
  beck_expr_t *x = NULL;
  beck_expr_error_t err;
  if (beck_expr_compile(src, len, &o, &x, &err) != BECK_ERR_OK)
    return 0;

  json_error_t je;
  json_t *value = NULL;
  if (nul != NULL)
    value = json_loadb(nul + 1, rest - len - 1, JSON_DECODE_ANY, &je);
  if (value == NULL)
    value = json_loads(FIXED, 0, &je);
  beck_expr_header_t hdrs[2] = {{beck_slice("x", 1), {(const uint8_t *)"1", 1}}, {beck_slice("y", 1), {NULL, -1}}};
  beck_expr_input_t in;
  memset(&in, 0, sizeof in);
  in.value = beck_val_from_json(value);
  in.key = beck_val_str("k\0ey", 4);
  in.timestamp = 1714564800000;
  in.partition = 1;
  in.offset = 42;
  in.topic = beck_slice("topic", 5);
  in.headers = hdrs;
  in.nheaders = 2;
  in.windowed = (mode & 8) != 0;
  in.window_start = 0;
  in.window_end = 60000;
  in.left = in.value;
  in.right = beck_val_null();
  beck_val_t aggs[8];
  size_t naggs = beck_expr_agg_count(x) < 8 ? beck_expr_agg_count(x) : 8;
  for (size_t i = 0; i < naggs; i++)
    aggs[i] = i % 2 ? beck_val_int((int64_t)i) : in.value;
  in.aggs = aggs;
  in.naggs = naggs;

  beck_expr_ctx_t c;
  beck_expr_ctx_init(&c);
  c.clock = fixed_clock;
  beck_val_t v;
  if (beck_expr_eval(x, &in, &c, &v) == BECK_ERR_OK)
    consume(&v);
  (void)beck_expr_eval_bool(x, &in, &c);
  for (size_t i = 0; i < beck_expr_agg_count(x); i++) {
    const beck_expr_agg_t *a = beck_expr_agg(x, i);
    if (a->arg == NULL)
      continue;
    if (beck_expr_eval(a->arg, &in, &c, &v) == BECK_ERR_OK) {
      beck_error_t e;
      json_t *st = beck_agg_state_new(a->kind);
      if (st != NULL) {
        beck_agg_add(a->kind, &st, &v, false, &e);
        beck_agg_add(a->kind, &st, &v, false, &e);
        json_t *st2 = beck_agg_state_new(a->kind);
        if (st2 != NULL) {
          beck_agg_merge(a->kind, &st, st2, &e);
          json_decref(st2);
        }
        beck_val_t r = beck_agg_result(a->kind, st);
        consume(&r);
        json_decref(st);
      }
    }
  }
  beck_expr_ctx_reset(&c);

  /* combined into an object, as map and aggregate steps do */
  const char *names[1] = {"f"};
  beck_expr_t *obj = NULL;
  if (beck_expr_make_object(names, &x, 1, &obj) == BECK_ERR_OK) {
    if (beck_expr_eval(obj, &in, &c, &v) == BECK_ERR_OK)
      consume(&v);
    beck_expr_free(obj);
  }
  beck_expr_ctx_destroy(&c);
  json_decref(value);
  return 0;
}
