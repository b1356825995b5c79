/* test_rowmap.c - connectors/common/rowmap.h: the column spec, and the JSON
 * scanner the SQL sinks read record values with. The scanner must accept
 * exactly what jansson accepts (json_loadb with JSON_DECODE_ANY |
 * JSON_ALLOW_NUL, what the sinks used before) and give the same values, so
 * besides exact cases a differential run compares the two on many mutated
 * documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../connectors/common/rowmap.h"

static beck_sink_record_t rec_of(const char *value, size_t len) {
  beck_sink_record_t r = {.topic = "t", .partition = 2, .offset = 7, .timestamp = 99, .key = "k", .key_len = 1};
  r.value = value;
  r.value_len = (int32_t)len;
  return r;
}

typedef struct mapped {
  rowmap_t m;
  rowmap_val_t vals[16];
  rowmap_row_t row;
  char err[256];
  int rc;
} mapped_t;

static void map(mapped_t *x, const char *spec, const char *value, size_t len) {
  char err[256];
  assert_int_equal(rowmap_parse(&x->m, spec, err, sizeof err), 0);
  x->row.vals = x->vals;
  beck_sink_record_t r = rec_of(value, len);
  x->rc = rowmap_extract(&x->m, &r, &x->row, x->err, sizeof x->err);
}

static void unmap(mapped_t *x) {
  if (x->rc == 0)
    rowmap_row_clear(&x->m, &x->row);
  rowmap_free(&x->m);
}

static void text_is(const rowmap_val_t *v, rowmap_kind_t kind, const char *text) {
  assert_int_equal(v->kind, kind);
  assert_int_equal(v->len, strlen(text));
  assert_memory_equal(v->ptr, text, v->len);
}

static void fields_come_out_as_text_with_their_kind(void **state) {
  mapped_t x;
  char err[64];
  assert_int_equal(rowmap_parse(&x.m, "id:bigint, name , amount:double precision=order.amount", err, sizeof err), 0);
  assert_int_equal(rowmap_find(&x.m, "amount"), 2);
  assert_string_equal(x.m.cols[2].field, "order.amount");
  assert_string_equal(x.m.cols[2].type, "double precision");
  assert_string_equal(x.m.cols[1].type, "text");
  rowmap_free(&x.m);

  const char *doc = " {\"id\": 42, \"name\":\"ann\\ttab \\u00e9\\ud83d\\ude00\", \"amount\":12.50, \"ok\":true,"
                    " \"no\":false, \"none\":null, \"tags\":[ \"a\", {\"b\" : 1} ], \"who\":{\"name\":\"bob\"},"
                    " \"id\": 43, \"big\": -9223372036854775808, \"e\": 1.5E+3 } ";
  map(&x,
      "id,name,amount,ok,no,none,tags,who_name=who.name,missing,deep=who.name.x,big,e,k=@key,o=@offset,p=@partition,"
      "v=@value",
      doc, strlen(doc));
  assert_int_equal(x.rc, 0);
  text_is(&x.vals[0], ROWMAP_INT, "43"); /* the last of a repeated key */
  assert_int_equal(x.vals[0].i, 43);
  text_is(&x.vals[1], ROWMAP_TEXT, "ann\ttab \xc3\xa9\xf0\x9f\x98\x80");
  text_is(&x.vals[2], ROWMAP_REAL, "12.50");
  assert_true(x.vals[2].d == 12.5);
  text_is(&x.vals[3], ROWMAP_BOOL, "true");
  assert_int_equal(x.vals[3].i, 1);
  text_is(&x.vals[4], ROWMAP_BOOL, "false");
  assert_int_equal(x.vals[4].i, 0);
  assert_int_equal(x.vals[5].kind, ROWMAP_NULL);
  text_is(&x.vals[6], ROWMAP_JSON, "[\"a\",{\"b\":1}]");
  text_is(&x.vals[7], ROWMAP_TEXT, "bob");
  assert_int_equal(x.vals[8].kind, ROWMAP_NULL);
  assert_int_equal(x.vals[9].kind, ROWMAP_NULL);
  text_is(&x.vals[10], ROWMAP_INT, "-9223372036854775808");
  assert_true(x.vals[10].i == INT64_MIN);
  text_is(&x.vals[11], ROWMAP_REAL, "1.5E+3");
  assert_true(x.vals[11].d == 1500.0);
  text_is(&x.vals[12], ROWMAP_BYTES, "k");
  text_is(&x.vals[13], ROWMAP_INT, "7");
  text_is(&x.vals[14], ROWMAP_INT, "2");
  text_is(&x.vals[15], ROWMAP_BYTES, doc);
  unmap(&x);

  /* reals printed with all 17 digits come out as the shortest equal text */
  const char *reals = "{\"a\":99.900000000000006,\"b\":0.30000000000000004,\"c\":1.0000000000000000e-5,\"d\":0.00012}";
  map(&x, "a,b,c,d", reals, strlen(reals));
  assert_int_equal(x.rc, 0);
  text_is(&x.vals[0], ROWMAP_REAL, "99.9");
  text_is(&x.vals[1], ROWMAP_REAL, "0.30000000000000004");
  text_is(&x.vals[2], ROWMAP_REAL, "1e-05");
  text_is(&x.vals[3], ROWMAP_REAL, "0.00012");
  unmap(&x);

  /* a value with \u0000 keeps it; whitespace in strings inside JSON stays */
  const char nul[] = "{\"s\":\"a\\u0000b\",\"j\":{ \"x\" : \" y \" }}";
  map(&x, "s,j", nul, sizeof nul - 1);
  assert_int_equal(x.rc, 0);
  assert_int_equal(x.vals[0].len, 3);
  assert_memory_equal(x.vals[0].ptr, "a\0b", 3);
  text_is(&x.vals[1], ROWMAP_JSON, "{\"x\":\" y \"}");
  unmap(&x);
}

static void bad_values_are_rejected_with_a_reason(void **state) {
  static const struct {
    const char *doc, *why;
  } cases[] = {
      {"", "value is not JSON: unexpected end at byte 0"},
      {"not json", "value is not JSON: invalid literal at byte 0"},
      {"{\"a\":1,}", "value is not JSON: expected a string as key at byte 7"},
      {"{\"a\":01}", "value is not JSON: expected ',' or '}' at byte 6"},
      {"{\"a\":1} x", "value is not JSON: end of text expected at byte 8"},
      {"{\"a\":\"\\x\"}", "value is not JSON: bad escape at byte 6"},
      {"{\"a\":\"\\udc00\"}", "value is not JSON: unpaired UTF-16 surrogate"},
      {"{\"a\":\"\xc3\x28\"}", "value is not JSON: invalid UTF-8 at byte 6"},
      {"{\"a\":\"\xed\xa0\x80\"}", "value is not JSON: invalid UTF-8"},
      {"{\"a\":\"tab\there\"}", "value is not JSON: control character in a string"},
      {"{\"a\":9223372036854775808}", "value is not JSON: integer too big"},
      {"{\"a\":1e400}", "value is not JSON: real number overflow"},
      {"{\"a\\u0000\":1}", "value is not JSON: NUL byte in object key"},
      {"{\"a\":1", "value is not JSON: expected ',' or '}' at byte 6"},
      {"[1,2]", "value is JSON but not an object"},
      {"\"s\"", "value is JSON but not an object"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    mapped_t x;
    map(&x, "a", cases[k].doc, strlen(cases[k].doc));
    if (x.rc == 0 || strncmp(x.err, cases[k].why, strlen(cases[k].why)) != 0)
      fail_msg("%s: got rc %d '%s', want '%s'", cases[k].doc, x.rc, x.err, cases[k].why);
    unmap(&x);
  }
  /* nesting: 2048 levels are fine (jansson's limit), 2049 are not */
  for (int depth = 2047; depth <= 2049; depth++) {
    char *doc = malloc((size_t)depth * 2 + 16);
    size_t n = 0;
    n += (size_t)sprintf(doc, "{\"a\":");
    for (int k = 1; k < depth; k++)
      doc[n++] = '[';
    for (int k = 1; k < depth; k++)
      doc[n++] = ']';
    doc[n++] = '}';
    mapped_t x;
    map(&x, "a", doc, n);
    assert_int_equal(x.rc, depth <= 2048 ? 0 : -1);
    unmap(&x);
    free(doc);
  }
  mapped_t x;
  beck_sink_record_t r = rec_of(NULL, 0);
  r.value_len = -1;
  char err[256];
  assert_int_equal(rowmap_parse(&x.m, "a", err, sizeof err), 0);
  x.row.vals = x.vals;
  assert_int_equal(rowmap_extract(&x.m, &r, &x.row, err, sizeof err), -1);
  assert_string_equal(err, "value is null, expected a JSON object");
  rowmap_free(&x.m);
}

/* ---- differential: the scanner against jansson -------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* What jansson says field `name` of doc is, in rowmap's terms. */
static void jansson_value(json_t *root, const char *name, rowmap_kind_t *kind, char *text, size_t cap, size_t *len) {
  json_t *j = json_object_get(root, name);
  *len = 0;
  if (j == NULL || json_is_null(j)) {
    *kind = ROWMAP_NULL;
  } else if (json_is_string(j)) {
    *kind = ROWMAP_TEXT;
    *len = json_string_length(j);
    assert_true(*len < cap);
    memcpy(text, json_string_value(j), *len);
  } else if (json_is_integer(j)) {
    *kind = ROWMAP_INT;
    *len = (size_t)snprintf(text, cap, "%lld", (long long)json_integer_value(j));
  } else if (json_is_real(j)) {
    *kind = ROWMAP_REAL;
    *len = (size_t)snprintf(text, cap, "%.17g", json_real_value(j));
  } else if (json_is_boolean(j)) {
    *kind = ROWMAP_BOOL;
    *len = (size_t)snprintf(text, cap, "%s", json_is_true(j) ? "true" : "false");
  } else {
    *kind = ROWMAP_JSON;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    *len = strlen(s);
    assert_true(*len < cap);
    memcpy(text, s, *len);
    free(s);
  }
}

static const char *const seeds[] = {
    "{\"id\":1,\"name\":\"ann\",\"amount\":9.5,\"tags\":[\"a\",\"b\"]}",
    "{\"a\":\"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\ud83d\\ude00\",\"b\":-0.5e-3,\"c\":[1,[2,{\"d\":null}]]}",
    "{\"a\":true,\"b\":false,\"c\":null,\"a\":123456789012345678,\"d\":{},\"e\":[]}",
    "  {\"a\" : \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\" , \"b\" : 1E2 }\n",
    "{\"b\":{\"a\":1},\"a\":-9223372036854775807,\"c\":1.7976931348623157e308}",
};

static const char alphabet[] = "{}[]:,\"\\ 0123456789-+.eEtrufalsn\xc3\xa9\xe2\x82\xac\x80\xffu\tab";

static void scanner_accepts_and_reads_what_jansson_does(void **state) {
  char doc[512], want[1024];
  int valid = 0, invalid = 0;
  for (int iter = 0; iter < 200000; iter++) {
    const char *seed = seeds[next_rand() % (sizeof seeds / sizeof seeds[0])];
    size_t n = strlen(seed);
    memcpy(doc, seed, n);
    int edits = 1 + (int)(next_rand() % 3);
    for (int e = 0; e < edits; e++) {
      size_t at = n ? next_rand() % (n + 1) : 0;
      char c = alphabet[next_rand() % (sizeof alphabet - 1)];
      switch (next_rand() % 3) {
      case 0: /* replace */
        if (at < n)
          doc[at] = c;
        break;
      case 1: /* insert */
        if (n + 1 < sizeof doc) {
          memmove(doc + at + 1, doc + at, n - at);
          doc[at] = c;
          n++;
        }
        break;
      default: /* delete */
        if (at < n) {
          memmove(doc + at, doc + at + 1, n - at - 1);
          n--;
        }
      }
    }
    json_error_t je;
    json_t *root = json_loadb(doc, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    int jok = root != NULL && json_is_object(root);
    mapped_t x;
    map(&x, "a,b,c,id,name", doc, n);
    if ((x.rc == 0) != jok)
      fail_msg("iteration %d: jansson %s (%s), rowmap %s (%s) on: %.*s", iter, jok ? "accepts" : "refuses",
               root ? "" : je.text, x.rc == 0 ? "accepts" : "refuses", x.rc == 0 ? "" : x.err, (int)n, doc);
    if (jok) {
      static const char *const names[] = {"a", "b", "c", "id", "name"};
      for (int k = 0; k < 5; k++) {
        rowmap_kind_t kind;
        size_t len;
        jansson_value(root, names[k], &kind, want, sizeof want, &len);
        const rowmap_val_t *v = &x.vals[k];
        if (kind == ROWMAP_REAL) { /* same double; rowmap keeps the spelling */
          assert_int_equal(v->kind, ROWMAP_REAL);
          if (v->d != json_real_value(json_object_get(root, names[k])))
            fail_msg("iteration %d: %s: %.17g != %s", iter, names[k], v->d, want);
          continue;
        }
        if (kind == ROWMAP_INT) {
          assert_int_equal(v->kind, ROWMAP_INT);
          assert_true(v->i == (long long)json_integer_value(json_object_get(root, names[k])));
          continue;
        }
        if (kind == ROWMAP_JSON) { /* jansson re-spells numbers and escapes: compare as JSON */
          assert_int_equal(v->kind, ROWMAP_JSON);
          json_t *mine = json_loadb(v->ptr, v->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
          if (mine == NULL || !json_equal(mine, json_object_get(root, names[k])))
            fail_msg("iteration %d: %s: %.*s != %.*s", iter, names[k], (int)v->len, v->ptr, (int)len, want);
          json_decref(mine);
          continue;
        }
        if (v->kind != kind || v->len != len || (len > 0 && memcmp(v->ptr, want, len) != 0))
          fail_msg("iteration %d: field %s: rowmap kind %d '%.*s', jansson kind %d '%.*s' in: %.*s", iter, names[k],
                   v->kind, (int)v->len, v->ptr ? v->ptr : "", kind, (int)len, want, (int)n, doc);
      }
      valid++;
    } else {
      invalid++;
    }
    json_decref(root);
    unmap(&x);
  }
  /* the mutations reach both sides */
  assert_true(valid > 10000);
  assert_true(invalid > 10000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fields_come_out_as_text_with_their_kind),
      cmocka_unit_test(bad_values_are_rejected_with_a_reason),
      cmocka_unit_test(scanner_accepts_and_reads_what_jansson_does),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
