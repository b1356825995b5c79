/* test_expr.c - streams/expr: the expression language of pipelines. Exact
 * results for every operator and function, null safety, compile errors with
 * their exact message and column (type errors, unknown names and functions
 * with did-you-mean, syntax), aggregates and their accumulators, and that
 * evaluation does not allocate per record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "streams/expr/expr.h"

/* ---- fixture: one record ---- */

static const char *RECORD_VALUE =
    "{\"user\": {\"id\": 7, \"name\": \"Ann\", \"tags\": [\"a\", \"b\"]}, \"items\": [1, 2, 3], \"a b\": 5,"
    " \"kind\": \"click\", \"s\": \"x\", \"n\": 10, \"f\": 2.5, \"zero\": 0, \"nul\": null, \"flag\": true,"
    " \"text\": \"  Hello, World  \", \"json\": \"{\\\"k\\\": [1, 2]}\", \"when\": \"2024-05-01T12:00:00Z\"}";

static json_t *record_value;
static beck_expr_header_t headers[3];
static beck_expr_input_t input;
static beck_expr_ctx_t ctx;
static char result[4096];

static int64_t fixed_clock(void *ud) { return 1714564800123; }

static int setup(void **state) {
  json_error_t je;
  record_value = json_loads(RECORD_VALUE, 0, &je);
  assert_non_null(record_value);
  memset(&input, 0, sizeof input);
  input.value = beck_val_from_json(record_value);
  input.key = beck_val_str("user-7", 6);
  input.timestamp = 1714564800000; /* 2024-05-01T12:00:00Z */
  input.partition = 3;
  input.offset = 81920;
  input.topic = beck_slice("clicks", 6);
  headers[0] = (beck_expr_header_t){beck_slice("x", 1), {(const uint8_t *)"first", 5}};
  headers[1] = (beck_expr_header_t){beck_slice("x-y", 3), {(const uint8_t *)"dash", 4}};
  headers[2] = (beck_expr_header_t){beck_slice("x", 1), {(const uint8_t *)"last", 4}};
  input.headers = headers;
  input.nheaders = 3;
  beck_expr_ctx_init(&ctx);
  ctx.clock = fixed_clock;
  return 0;
}

static int teardown(void **state) {
  beck_expr_ctx_destroy(&ctx);
  json_decref(record_value);
  return 0;
}

/* Compiles src with opts and evaluates it against the record; returns the
 * result as compact JSON, or "ERROR: <runtime message>". Fails the test on a
 * compile error. */
static const char *eval_opts(const char *src, const beck_expr_opts_t *opts) {
  beck_expr_t *x = NULL;
  beck_expr_error_t err;
  if (beck_expr_compile(src, strlen(src), opts, &x, &err) != BECK_ERR_OK)
    fail_msg("'%s' did not compile: %u:%u %s", src, err.line, err.col, err.msg);
  beck_val_t v;
  if (beck_expr_eval(x, &input, &ctx, &v) != BECK_ERR_OK) {
    snprintf(result, sizeof result, "ERROR: %s", ctx.err.msg);
  } else {
    beck_buf_t b = {0};
    assert_int_equal(beck_val_write_json(&v, &b), BECK_ERR_OK);
    snprintf(result, sizeof result, "%.*s", (int)b.len, b.len ? (const char *)b.data : "");
    beck_buf_free(&b);
  }
  beck_expr_free(x);
  beck_expr_ctx_reset(&ctx);
  return result;
}

static const char *eval(const char *src) { return eval_opts(src, NULL); }

typedef struct {
  const char *src;
  const char *want;
} case_t;

static void run_cases(const case_t *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *got = eval(cases[i].src);
    if (strcmp(got, cases[i].want) != 0)
      fail_msg("%s\n  expected %s\n  got      %s", cases[i].src, cases[i].want, got);
  }
}
#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof((cases)[0]))

/* Compiles src expecting failure; returns "COL: message". */
static const char *compile_error_opts(const char *src, const beck_expr_opts_t *opts) {
  beck_expr_t *x = NULL;
  beck_expr_error_t err;
  if (beck_expr_compile(src, strlen(src), opts, &x, &err) == BECK_ERR_OK) {
    beck_expr_free(x);
    fail_msg("'%s' compiled; expected an error", src);
  }
  assert_null(x);
  snprintf(result, sizeof result, "%u: %s", err.col, err.msg);
  return result;
}

static const char *compile_error(const char *src) { return compile_error_opts(src, NULL); }

typedef struct {
  const char *src;
  const char *want; /* "COL: message" */
} err_case_t;

static void run_errors(const err_case_t *cases, size_t n, const beck_expr_opts_t *opts) {
  for (size_t i = 0; i < n; i++) {
    const char *got = compile_error_opts(cases[i].src, opts);
    if (strcmp(got, cases[i].want) != 0)
      fail_msg("%s\n  expected %s\n  got      %s", cases[i].src, cases[i].want, got);
  }
}
#define RUN_ERRORS(cases, opts) run_errors(cases, sizeof(cases) / sizeof((cases)[0]), opts)

/* ---- paths and roots ---- */

static void paths_read_fields_indexes_and_record_roots(void **state) {
  static const case_t cases[] = {
      {"value.user.id", "7"},
      {"value.user.name", "\"Ann\""},
      {"value[\"a b\"]", "5"},
      {"value['user']['tags'][1]", "\"b\""},
      {"value.items[0]", "1"},
      {"value.items[-1]", "3"},
      {"value.items[1.0]", "2"},
      {"value.items", "[1,2,3]"},
      {"key", "\"user-7\""},
      {"timestamp", "1714564800000"},
      {"partition", "3"},
      {"offset", "81920"},
      {"topic", "\"clicks\""},
      {"headers.x", "\"last\""}, /* the last header of a name wins */
      {"headers[\"x-y\"]", "\"dash\""},
      {"headers", "{\"x\":\"last\",\"x-y\":\"dash\"}"},
      {"value.if", "null"}, /* keywords are field names after a dot */
      {"window", "null"},
      {"window.start", "null"},
  };
  RUN(cases);
}

static void access_is_null_safe(void **state) {
  static const case_t cases[] = {
      {"value.missing", "null"},
      {"value.missing.deep.er", "null"},
      {"value.user.id.x", "null"},
      {"value.items.x", "null"},
      {"value.user[0]", "null"},
      {"value.items[3]", "null"},
      {"value.items[-4]", "null"},
      {"value.items[\"0\"]", "null"},
      {"value.s[0]", "null"},
      {"value.nul.x", "null"},
      {"headers.missing", "null"},
      {"value?.user?.id", "7"}, /* ?. is accepted and means . */
      {"value.missing + 1", "null"},
      {"upper(value.missing)", "null"},
      {"value.missing < 1", "false"},
      {"value.missing == null", "true"},
      {"value.missing ?? \"default\"", "\"default\""},
  };
  RUN(cases);
}

static void windowed_records_expose_window_bounds(void **state) {
  input.windowed = true;
  input.window_start = 60000;
  input.window_end = 120000;
  assert_string_equal(eval("window.start"), "60000");
  assert_string_equal(eval("window.end - window.start"), "60000");
  assert_string_equal(eval("window"), "{\"start\":60000,\"end\":120000}");
  input.windowed = false;
}

/* ---- operators ---- */

static void arithmetic_gives_exact_values(void **state) {
  static const case_t cases[] = {
      {"1 + 2 * 3", "7"},
      {"(1 + 2) * 3", "9"},
      {"2 - 5", "-3"},
      {"7 / 2", "3.5"},
      {"6 / 3", "2"},
      {"-7 / 2", "-3.5"},
      {"-7 % 3", "-1"},
      {"7 % -3", "1"},
      {"7.5 % 2", "1.5"},
      {"value.n * value.f", "25.0"},
      {"value.n / 4", "2.5"},
      {"0.1 + 0.2", "0.30000000000000004"},
      {"9223372036854775807 + 1", "9.223372036854776e+18"},
      {"-9223372036854775807 - 2", "-9.223372036854776e+18"},
      {"3037000500 * 3037000500", "9.22337203700025e+18"},
      {"-value.n", "-10"},
      {"- -value.f", "2.5"},
      {"1e3", "1000.0"},
      {"\"a\" + \"b\"", "\"ab\""},
      {"value.user.name + \"!\"", "\"Ann!\""},
      {"\"\" + value.s", "\"x\""},
      {"[1, 2] + [3]", "[1,2,3]"},
      {"{a: 1} + {a: 2, b: 3}", "{\"a\":2,\"b\":3}"},
      {"value.user + {admin: true}", "{\"id\":7,\"name\":\"Ann\",\"tags\":[\"a\",\"b\"],\"admin\":true}"},
      {"null + 1", "null"},
      {"value.nul * 2", "null"},
      {"1e308 * 10", "null"}, /* not finite: null */
  };
  RUN(cases);
}

static void comparisons_are_structural_and_ordered(void **state) {
  static const case_t cases[] = {
      {"1 == 1.0", "true"},
      {"1 != 2", "true"},
      {"\"a\" == \"a\"", "true"},
      {"\"a\" == 1", "false"},
      {"[1, 2] == [1, 2.0]", "true"},
      {"{a: 1, b: [2]} == {a: 1.0, b: [2]}", "true"},
      {"value.user == {id: 7, name: \"Ann\", tags: [\"a\", \"b\"]}", "true"},
      {"null == null", "true"},
      {"value.nul == value.missing", "true"},
      {"1 < 2", "true"},
      {"2 <= 2", "true"},
      {"2.5 > 2", "true"},
      {"1 >= 1.5", "false"},
      {"\"abc\" < \"abd\"", "true"},
      {"\"ab\" < \"abc\"", "true"},
      {"\"b\" > \"abc\"", "true"},
      {"null < 1", "false"},
      {"null >= null", "false"},
      {"timestamp > parse_time(\"2024-01-01T00:00:00Z\")", "true"},
  };
  RUN(cases);
}

static void boolean_logic_short_circuits(void **state) {
  static const case_t cases[] = {
      {"true and false", "false"},
      {"true && true", "true"},
      {"false or true", "true"},
      {"false || false", "false"},
      {"not true", "false"},
      {"!false", "true"},
      {"not value.missing", "true"}, /* null counts as false */
      {"not 1 == 2", "true"},        /* not binds looser than == */
      {"value.kind == \"click\" and value.n > 5", "true"},
      {"false and value.n / value.zero > 0", "false"}, /* right side never runs */
      {"true or value.n / value.zero > 0", "true"},
      {"value.flag and not value.missing", "true"},
      {"1 < 2 and 2 < 3 or false", "true"},
  };
  RUN(cases);
}

static void if_then_else_picks_a_branch(void **state) {
  static const case_t cases[] = {
      {"if value.n > 5 then \"big\" else \"small\"", "\"big\""},
      {"if value.missing then 1 else 2", "2"},
      {"if false then 1 else if true then 2 else 3", "2"},
      {"if true then value.user.id else 1 / value.zero", "7"},
      {"(if value.flag then 10 else 20) + 1", "11"},
  };
  RUN(cases);
}

static void coalesce_replaces_null_only(void **state) {
  static const case_t cases[] = {
      {"null ?? 4", "4"},
      {"value.missing ?? value.nul ?? \"x\"", "\"x\""},
      {"value.zero ?? 1", "0"},
      {"false ?? true", "false"},
      {"\"\" ?? \"d\"", "\"\""},
      {"value.missing.deep ?? [1]", "[1]"},
  };
  RUN(cases);
}

static void in_tests_membership(void **state) {
  static const case_t cases[] = {
      {"2 in value.items", "true"},
      {"2.0 in [1, 2]", "true"},
      {"5 in value.items", "false"},
      {"5 not in value.items", "true"},
      {"\"user\" in value", "true"},
      {"\"nobody\" in value", "false"},
      {"\"ick\" in value.kind", "true"},
      {"\"\" in \"abc\"", "true"},
      {"\"x\" in value.missing", "false"},
      {"value.kind in [\"click\", \"view\"]", "true"},
      {"null in [null]", "true"},
  };
  RUN(cases);
}

static void runtime_errors_carry_the_column(void **state) {
  static const case_t cases[] = {
      {"value.s + 1", "ERROR: column 9: type error: cannot add string and number"},
      {"value.n / value.zero", "ERROR: column 9: division by zero"},
      {"value.n % 0", "ERROR: column 9: division by zero"},
      {"value.f / 0", "ERROR: column 9: division by zero"},
      {"value.s < 1", "ERROR: column 9: type error: cannot compare string and number"},
      {"not value.s", "ERROR: column 5: type error: 'not' needs a bool, got string"},
      {"value.s and true", "ERROR: column 1: type error: 'and' needs a bool, got string"},
      {"if value.n then 1 else 2", "ERROR: column 4: type error: an if condition needs a bool, got number"},
      {"-value.s", "ERROR: column 1: type error: cannot negate string"},
      {"1 in value.s", "ERROR: column 3: type error: 'in' a string needs a string on the left, got number"},
      {"1 in value.n", "ERROR: column 3: type error: 'in' needs an array, an object or a string on the right, got "
                       "number"},
      {"value.user - value.items", "ERROR: column 12: type error: cannot subtract object and array"},
      {"lower(value.n)", "ERROR: column 7: type error: lower() expects a string as argument 1, got number"},
      {"1 +\n  value.s", "ERROR: line 1, column 3: type error: cannot add number and string"},
  };
  /* lower(value.n): the argument's kind is checked at run time */
  RUN(cases);
}

/* ---- functions ---- */

static void string_functions(void **state) {
  static const case_t cases[] = {
      {"lower(\"MiXeD\")", "\"mixed\""},
      {"upper(value.user.name)", "\"ANN\""},
      {"upper(\"h\\u00e9\")", "\"H\u00e9\""}, /* ASCII letters only */
      {"trim(value.text)", "\"Hello, World\""},
      {"trim(\"\")", "\"\""},
      {"length(\"h\\u00e9llo\")", "5"}, /* code points */
      {"length(value.items)", "3"},
      {"length(value.user)", "3"},
      {"substr(\"hello\", 1, 3)", "\"ell\""},
      {"substr(\"hello\", 1)", "\"ello\""},
      {"substr(\"hello\", -3)", "\"llo\""},
      {"substr(\"hello\", -3, 2)", "\"ll\""},
      {"substr(\"hello\", 10)", "\"\""},
      {"substr(\"hello\", 2, -1)", "\"\""},
      {"substr(\"h\\u00e9llo\", 1, 2)", "\"\u00e9l\""},
      {"contains(value.kind, \"lic\")", "true"},
      {"contains(value.kind, \"x\")", "false"},
      {"contains(value.user.tags, \"b\")", "true"},
      {"starts_with(value.kind, \"cl\")", "true"},
      {"starts_with(value.kind, \"click!\")", "false"},
      {"ends_with(value.kind, \"ick\")", "true"},
      {"ends_with(value.kind, \"\")", "true"},
      {"replace(\"a-b-c\", \"-\", \"+\")", "\"a+b+c\""},
      {"replace(\"aaa\", \"a\", \"bb\")", "\"bbbbbb\""},
      {"replace(\"abc\", \"\", \"x\")", "\"abc\""},
      {"replace(\"abc\", \"z\", \"x\")", "\"abc\""},
      {"split(\"a,b,,c\", \",\")", "[\"a\",\"b\",\"\",\"c\"]"},
      {"split(\"h\\u00e9\", \"\")", "[\"h\",\"\u00e9\"]"},
      {"split(\"abc\", \"-\")", "[\"abc\"]"},
      {"join(value.items, \"-\")", "\"1-2-3\""},
      {"join([\"a\", null, 1.5, {b: 1}], \"|\")", "\"a||1.5|{\\\"b\\\":1}\""},
      {"\"id-\" + string(value.user.id)", "\"id-7\""},
  };
  RUN(cases);
}

static void math_functions(void **state) {
  static const case_t cases[] = {
      {"abs(-3)", "3"},
      {"abs(-2.5)", "2.5"},
      {"abs(-9223372036854775807 - 1)", "9.223372036854776e+18"},
      {"round(2.5)", "3"},
      {"round(-2.5)", "-3"},
      {"round(2.4)", "2"},
      {"round(3.14159, 2)", "3.14"},
      {"round(1234, -2)", "1200"},
      {"round(7)", "7"},
      {"floor(2.7)", "2"},
      {"floor(-2.5)", "-3"},
      {"ceil(2.1)", "3"},
      {"ceil(-2.1)", "-2"},
      {"floor(1e300)", "1e+300"},
      {"min(3, 1, 2)", "1"},
      {"max(3, 1.5, 2)", "3"},
      {"min(2, 1.5)", "1.5"},
      {"max(\"a\", \"c\", \"b\")", "\"c\""},
      {"min(value.missing, 4, null)", "4"},
      {"min(null, null)", "null"},
      {"max(value.items)", "3"},
      {"min([])", "null"},
      {"pow(2, 10)", "1024"},
      {"pow(2, -1)", "0.5"},
      {"pow(2, 0.5)", "1.4142135623730951"},
      {"pow(10, 19)", "1e+19"},
      {"pow(-8, 1.0 / 3)", "null"},
  };
  RUN(cases);
}

static void time_functions_and_durations(void **state) {
  static const case_t cases[] = {
      {"now()", "1714564800123"},
      {"now() - timestamp", "123"},
      {"500ms", "500"},
      {"30s", "30000"},
      {"5m", "300000"},
      {"1h", "3600000"},
      {"1d", "86400000"},
      {"1h30m", "5400000"},
      {"timestamp + 5m", "1714565100000"},
      {"parse_time(\"2024-05-01T12:00:00Z\")", "1714564800000"},
      {"parse_time(value.when)", "1714564800000"},
      {"parse_time(\"2024-05-01T14:00:00.250+02:00\")", "1714564800250"},
      {"parse_time(\"2024-05-01 12:00:00.5z\")", "1714564800500"},
      {"parse_time(\"1969-12-31T23:59:59Z\")", "-1000"},
      {"parse_time(\"2024-02-30T00:00:00Z\")", "null"},
      {"parse_time(\"2024-05-01\")", "null"},
      {"parse_time(\"noon\")", "null"},
      {"format_time(timestamp)", "\"2024-05-01T12:00:00Z\""},
      {"format_time(1714564800250)", "\"2024-05-01T12:00:00.250Z\""},
      {"format_time(-1)", "\"1969-12-31T23:59:59.999Z\""},
      {"format_time(0)", "\"1970-01-01T00:00:00Z\""},
      {"format_time(parse_time(\"2000-02-29T23:59:59Z\") + 1s)", "\"2000-03-01T00:00:00Z\""},
      {"parse_duration(\"1h30m\")", "5400000"},
      {"parse_duration(\"soon\")", "null"},
  };
  RUN(cases);
}

static void json_functions(void **state) {
  static const case_t cases[] = {
      {"to_json(value.user)", "\"{\\\"id\\\":7,\\\"name\\\":\\\"Ann\\\",\\\"tags\\\":[\\\"a\\\",\\\"b\\\"]}\""},
      {"to_json(\"a\\\"b\\n\")", "\"\\\"a\\\\\\\"b\\\\n\\\"\""},
      {"to_json(null)", "\"null\""},
      {"to_json(2.50)", "\"2.5\""},
      {"from_json(value.json).k[1]", "2"},
      {"from_json(\"[1, {\\\"a\\\": null}]\")", "[1,{\"a\":null}]"},
      {"from_json(\"42\")", "42"},
      {"from_json(\"{oops\")", "null"},
      {"keys(value.user)", "[\"id\",\"name\",\"tags\"]"},
      {"keys(value.items)", "ERROR: column 6: type error: keys() expects an object as argument 1, got array"},
      {"has(value, \"nul\")", "true"}, /* present, even with a null value */
      {"has(value, \"missing\")", "false"},
      {"has(value.items, 2)", "true"},
      {"has(value.items, 3)", "false"},
      {"has(value.missing, \"a\")", "false"},
  };
  RUN(cases);
}

static void conversion_functions(void **state) {
  static const case_t cases[] = {
      {"int(\"42\")", "42"},
      {"int(\"-3.9\")", "-3"},
      {"int(3.9)", "3"},
      {"int(-3.9)", "-3"},
      {"int(true)", "1"},
      {"int(\"x\")", "null"},
      {"int(\" 1\")", "null"},
      {"int(1e30)", "null"},
      {"int(value.items)", "null"},
      {"int(value.missing) ?? 0", "0"},
      {"float(2)", "2.0"},
      {"float(\"2.5\")", "2.5"},
      {"float(\"1e2\")", "100.0"},
      {"float(false)", "0.0"},
      {"float(\"nan\")", "null"},
      {"string(\"s\")", "\"s\""},
      {"string(42)", "\"42\""},
      {"string(3.0)", "\"3.0\""},
      {"string(0.1)", "\"0.1\""},
      {"string(true)", "\"true\""},
      {"string([1, \"a\"])", "\"[1,\\\"a\\\"]\""},
      {"string(value.missing)", "null"},
      {"bool(\"true\")", "true"},
      {"bool(\"false\")", "false"},
      {"bool(\"yes\")", "null"},
      {"bool(0)", "false"},
      {"bool(2.5)", "true"},
      {"type(value.items)", "\"array\""},
      {"type(value.user)", "\"object\""},
      {"type(value.nul)", "\"null\""},
      {"type(1.5)", "\"number\""},
      {"type(\"\")", "\"string\""},
      {"type(true)", "\"bool\""},
  };
  RUN(cases);
}

static void literals_build_values(void **state) {
  static const case_t cases[] = {
      {"{id: value.user.id, \"full name\": value.user.name, tags: value.user.tags, n: null}",
       "{\"id\":7,\"full name\":\"Ann\",\"tags\":[\"a\",\"b\"],\"n\":null}"},
      {"{a: {b: [1, value.s]},}", "{\"a\":{\"b\":[1,\"x\"]}}"},
      {"[]", "[]"},
      {"[1, [2, [3]],]", "[1,[2,[3]]]"},
      {"{}", "{}"},
      {"'single \\'quoted\\''", "\"single 'quoted'\""},
      {"\"tab\\tnl\\n\\u00e9\\ud83d\\ude00\"", "\"tab\\tnl\\n\u00e9\xf0\x9f\x98\x80\""},
      {"-0.5", "-0.5"},
      {"1 # a comment\n + 1", "2"},
  };
  RUN(cases);
}

/* ---- compile errors ---- */

static void type_errors_have_exact_message_and_column(void **state) {
  static const err_case_t cases[] = {
      {"\"a\" + 1", "5: type error: cannot add string and number"},
      {"value.n + \"a\" * 2", "15: type error: cannot multiply string and number"},
      {"timestamp < \"x\"", "11: type error: cannot compare number and string"},
      {"[1] < [2]", "5: type error: cannot compare array and array; only numbers and strings are ordered"},
      {"upper(1)", "7: type error: upper() expects a string as argument 1, got number"},
      {"substr(\"abc\", \"1\")", "15: type error: substr() expects a number as argument 2, got string"},
      {"length(5)", "8: type error: length() expects string, array or object as argument 1, got number"},
      {"not \"x\"", "5: type error: 'not' needs a bool, got string"},
      {"1 and true", "1: type error: 'and' needs a bool, got number"},
      {"if 1 then 2 else 3", "4: type error: an if condition needs a bool, got number"},
      {"-\"x\"", "1: type error: cannot negate string"},
      {"1 in 5", "3: type error: 'in' needs an array, an object or a string on the right, got number"},
      {"1 in \"abc\"", "3: type error: 'in' a string needs a string on the left, got number"},
      {"timestamp.x", "11: type error: cannot read field 'x' of number"},
      {"topic[0]", "6: type error: cannot index string; expected an array or an object"},
      {"value[true]", "7: type error: an index must be a number or a string, got bool"},
      {"1 / 0", "3: division by zero"},
      {"window.size", "8: window has no field 'size'; expected window.start or window.end"},
  };
  RUN_ERRORS(cases, NULL);
}

static void filter_conditions_must_be_bool(void **state) {
  beck_expr_opts_t o = {.want = BECK_TYPE_BOOL, .what = "the filter condition"};
  static const err_case_t cases[] = {
      {"value.n + 1", "1: type error: the filter condition must be a bool, got number or null"},
      {"  \"click\"", "3: type error: the filter condition must be a bool, got string"},
      {"(1 + 2)", "1: type error: the filter condition must be a bool, got number"},
  };
  RUN_ERRORS(cases, &o);
  /* a field can hold a bool: accepted at load time */
  assert_string_equal(eval_opts("value.flag", &o), "true");
  assert_string_equal(eval_opts("value.kind == \"click\"", &o), "true");
}

static void unknown_names_and_functions_suggest_a_fix(void **state) {
  static const err_case_t cases[] = {
      {"lowr(value.s)", "1: unknown function 'lowr' (did you mean 'lower'?)"},
      {"1 + formt_time(timestamp)", "5: unknown function 'formt_time' (did you mean 'format_time'?)"},
      {"strats_with(\"a\", \"b\")", "1: unknown function 'strats_with' (did you mean 'starts_with'?)"},
      {"frobnicate(1)", "1: unknown function 'frobnicate'; see the function list in docs/pipelines.md"},
      {"vlaue.x", "1: unknown name 'vlaue' (did you mean 'value'?)"},
      {"value.n > 1 and kye == \"a\"", "17: unknown name 'kye' (did you mean 'key'?)"},
      {"timestmp", "1: unknown name 'timestmp' (did you mean 'timestamp'?)"},
      {"click", "1: unknown name 'click'; expected value, key, timestamp, headers, partition, offset, topic or "
                "window (a string needs quotes: \"click\")"},
      {"now", "1: 'now' is a function; call it as now(...)"},
      {"left", "1: 'left' is not available here; expected value, key, timestamp, headers, partition, offset, topic "
               "or window"},
      {"lower()", "1: lower() takes 1 argument, got 0"},
      {"substr(\"a\")", "1: substr() takes 2 to 3 arguments, got 1"},
      {"min()", "1: min() takes at least 1 argument, got 0"},
      {"count()", "1: aggregate function count() is only allowed in an aggregate step"},
      {"sum(value.n)", "1: aggregate function sum() is only allowed in an aggregate step"},
  };
  RUN_ERRORS(cases, NULL);
  beck_expr_opts_t agg = {.aggregates = true, .roots = BECK_ROOT_KEY | BECK_ROOT_WINDOW};
  static const err_case_t agg_cases[] = {
      {"cout()", "1: unknown function 'cout' (did you mean 'count'?)"},
      {"sum(count())", "5: aggregate function count() cannot be used inside sum(); aggregates do not nest"},
      {"value.n", "1: 'value' can only be used inside an aggregate function here (an aggregate result is one value "
                  "per group); e.g. last(value)"},
      {"count(1, 2)", "1: count() takes 0 or 1 arguments, got 2"},
      {"sum(\"x\")", "5: type error: sum() needs numbers, got string"},
      {"max([1])", "5: type error: max() needs numbers or strings, got array"},
  };
  RUN_ERRORS(agg_cases, &agg);
}

static void syntax_errors_have_exact_message_and_column(void **state) {
  static const err_case_t cases[] = {
      {"", "1: syntax error: empty expression; expected a value, a name or '('"},
      {"1 +", "4: syntax error: unexpected end of expression; expected a value, a name or '('"},
      {"\"abc", "1: syntax error: unterminated string; expected a closing \""},
      {"value..x", "7: syntax error: unexpected '.'; expected a field name after '.'"},
      {"(1 + 2", "7: syntax error: unexpected end of expression; expected ')' to close '(' at column 1"},
      {"[1, 2", "6: syntax error: unexpected end of expression; expected ']' to close '[' at column 1"},
      {"lower(value.s", "14: syntax error: unexpected end of expression; expected ')' to close '(' at column 6"},
      {"value.a = 1", "9: syntax error: unexpected '='; expected '==' to compare"},
      {"a & b", "3: syntax error: unexpected '&'; expected '&&' or 'and'"},
      {"1 < 2 < 3", "7: syntax error: comparisons do not chain; expected 'and' between two comparisons"},
      {"5x", "1: syntax error: invalid number or duration '5x'; expected a number or a duration like 500ms, 30s, 5m, "
             "1h, 1d"},
      {"1.5s", "1: syntax error: invalid number or duration '1.5s'; expected a number or a duration like 500ms, 30s, "
               "5m, 1h, 1d"},
      {"{a: 1, a: 2}", "8: syntax error: duplicate key 'a' in object"},
      {"{a 1}", "4: syntax error: unexpected '1'; expected ':' after the key"},
      {"'\\q'", "2: syntax error: unknown escape '\\q'; expected one of \\n \\t \\r \\b \\f \\0 \\\\ \\' \\\" \\/ "
                "\\uXXXX"},
      {"\"\\ud800\"", "2: syntax error: lone surrogate in \\u escape; expected a pair"},
      {"if true then 1", "15: syntax error: unexpected end of expression; expected 'else' (an if needs both "
                         "branches)"},
      {"value.n 1", "9: syntax error: unexpected '1'; expected an operator or the end"},
      {"f(1,)", "5: syntax error: unexpected ')'; expected an argument after ','"},
      {"1 ? 2", "3: syntax error: unexpected '?'; expected '?\?' or '?.'"},
      {"@", "1: syntax error: unexpected character '@'"},
      {"1 +\n  @", "3: syntax error: unexpected character '@'"},
  };
  RUN_ERRORS(cases, NULL);
  /* multi-line: line and column */
  beck_expr_t *x;
  beck_expr_error_t err;
  assert_int_equal(beck_expr_compile("timestamp +\n\n   \"a\"", 19, NULL, &x, &err), BECK_ERR_INVAL);
  assert_int_equal(err.line, 1);
  assert_int_equal(err.col, 11);
  assert_int_equal(beck_expr_compile("1 +\n\n   -\"a\"", 12, NULL, &x, &err), BECK_ERR_INVAL);
  assert_int_equal(err.line, 3);
  assert_int_equal(err.col, 4);
  assert_int_equal(beck_expr_compile("1 +\n  )", 7, NULL, &x, &err), BECK_ERR_PARSE);
  assert_int_equal(err.line, 2);
  assert_int_equal(err.col, 3);
  assert_int_equal(err.pos, 6);
}

static void nesting_is_limited(void **state) {
  char deep[1024];
  size_t n = 0;
  for (int i = 0; i < 300; i++)
    deep[n++] = '(';
  deep[n++] = '1';
  for (int i = 0; i < 300; i++)
    deep[n++] = ')';
  deep[n] = '\0';
  const char *e = compile_error(deep);
  assert_non_null(strstr(e, "nests too deeply"));
  /* a long flat chain also builds a deep tree */
  char chain[4096];
  n = 0;
  for (int i = 0; i < 500; i++)
    n += (size_t)snprintf(chain + n, sizeof chain - n, "1+");
  chain[n++] = '1';
  chain[n] = '\0';
  assert_non_null(strstr(compile_error(chain), "nests too deeply"));
  /* 100 levels are fine */
  n = 0;
  for (int i = 0; i < 100; i++)
    deep[n++] = '[';
  for (int i = 0; i < 100; i++)
    deep[n++] = ']';
  deep[n] = '\0';
  assert_int_equal(strlen(eval(deep)), 200);
}

/* ---- program facts ---- */

static void programs_report_roots_types_and_constants(void **state) {
  beck_expr_t *x;
  beck_expr_error_t err;
  assert_int_equal(beck_expr_compile("value.a > 1 and key == \"k\"", 26, NULL, &x, &err), BECK_ERR_OK);
  assert_int_equal(beck_expr_roots(x), BECK_ROOT_VALUE | BECK_ROOT_KEY);
  assert_int_equal(beck_expr_type(x), BECK_TYPE_BOOL);
  assert_false(beck_expr_is_constant(x));
  assert_string_equal(beck_expr_source(x), "value.a > 1 and key == \"k\"");
  beck_expr_free(x);
  assert_int_equal(beck_expr_compile("1h + upper(\"a\") + \"\" == \"x\"", 27, NULL, &x, &err), BECK_ERR_INVAL);
  assert_int_equal(beck_expr_compile("5m + 2 * 3", 10, NULL, &x, &err), BECK_ERR_OK);
  assert_true(beck_expr_is_constant(x)); /* folded at load time */
  assert_int_equal(beck_expr_roots(x), 0);
  beck_expr_free(x);
  assert_int_equal(beck_expr_compile("now() > 0", 9, NULL, &x, &err), BECK_ERR_OK);
  assert_false(beck_expr_is_constant(x));
  beck_expr_free(x);
  assert_int_equal(beck_expr_compile("headers.trace", 13, NULL, &x, &err), BECK_ERR_OK);
  assert_int_equal(beck_expr_roots(x), BECK_ROOT_HEADERS);
  assert_int_equal(beck_expr_type(x), BECK_TYPE_STRING | BECK_TYPE_NULL);
  beck_expr_free(x);
  char buf[64];
  assert_string_equal(beck_type_name(BECK_TYPE_NUMBER | BECK_TYPE_NULL | BECK_TYPE_STRING, buf, sizeof buf),
                      "number, string or null");
  assert_string_equal(beck_type_name(BECK_TYPE_ANY, buf, sizeof buf), "any");
}

static void conditions_evaluate_to_one_or_zero(void **state) {
  beck_expr_t *x;
  beck_expr_error_t err;
  assert_int_equal(beck_expr_compile("value.n > 5", 11, NULL, &x, &err), BECK_ERR_OK);
  assert_int_equal(beck_expr_eval_bool(x, &input, &ctx), 1);
  beck_expr_free(x);
  assert_int_equal(beck_expr_compile("value.missing", 13, NULL, &x, &err), BECK_ERR_OK);
  assert_int_equal(beck_expr_eval_bool(x, &input, &ctx), 0);
  beck_expr_free(x);
  assert_int_equal(beck_expr_compile("value.kind", 10, NULL, &x, &err), BECK_ERR_OK);
  assert_int_equal(beck_expr_eval_bool(x, &input, &ctx), BECK_ERR_INVAL);
  assert_string_equal(ctx.err.msg, "column 1: type error: a condition needs a bool, got string");
  beck_expr_free(x);
  beck_expr_ctx_reset(&ctx);
}

static void join_select_reads_left_and_right(void **state) {
  beck_expr_opts_t o = {.roots = BECK_ROOT_LEFT | BECK_ROOT_RIGHT | BECK_ROOT_KEY};
  json_error_t je;
  json_t *r = json_loads("{\"name\": \"Bo\"}", 0, &je);
  input.left = beck_val_from_json(record_value);
  input.right = beck_val_from_json(r);
  assert_string_equal(eval_opts("{order: left.n, user: right.name ?? \"?\", k: key}", &o),
                      "{\"order\":10,\"user\":\"Bo\",\"k\":\"user-7\"}");
  input.right = beck_val_null();
  assert_string_equal(eval_opts("right.name ?? \"nobody\"", &o), "\"nobody\"");
  assert_string_equal(compile_error_opts("value.n", &o),
                      "1: 'value' is not available here; expected key, left or right");
  input.left = input.right = beck_val_null();
  json_decref(r);
}

/* ---- aggregates ---- */

static void aggregate_calls_become_slots(void **state) {
  beck_expr_opts_t o = {.aggregates = true, .roots = BECK_ROOT_KEY | BECK_ROOT_WINDOW};
  const char *src = "{page: key, clicks: count(), avg: sum(value.n) / count(), top: max(value.n), m: min(1, 2)}";
  beck_expr_t *x;
  beck_expr_error_t err;
  assert_int_equal(beck_expr_compile(src, strlen(src), &o, &x, &err), BECK_ERR_OK);
  assert_int_equal(beck_expr_agg_count(x), 4);
  assert_int_equal(beck_expr_agg(x, 0)->kind, BECK_AGG_COUNT);
  assert_null(beck_expr_agg(x, 0)->arg);
  assert_int_equal(beck_expr_agg(x, 1)->kind, BECK_AGG_SUM);
  assert_string_equal(beck_expr_source(beck_expr_agg(x, 1)->arg), src); /* shares the source */
  assert_int_equal(beck_expr_agg(x, 1)->pos, 34);
  assert_int_equal(beck_expr_agg(x, 3)->kind, BECK_AGG_MAX);
  assert_null(beck_expr_agg(x, 4));
  assert_int_equal(beck_expr_roots(x), BECK_ROOT_KEY | BECK_ROOT_VALUE);
  /* the argument programs run per record */
  beck_val_t v;
  assert_int_equal(beck_expr_eval(beck_expr_agg(x, 1)->arg, &input, &ctx, &v), BECK_ERR_OK);
  assert_int_equal(v.u.i, 10);
  /* the result reads the accumulators */
  beck_val_t aggs[4] = {beck_val_int(4), beck_val_int(30), beck_val_int(4), beck_val_int(12)};
  input.aggs = aggs;
  input.naggs = 4;
  assert_int_equal(beck_expr_eval(x, &input, &ctx, &v), BECK_ERR_OK);
  beck_buf_t b = {0};
  beck_val_write_json(&v, &b);
  assert_memory_equal(b.data, "{\"page\":\"user-7\",\"clicks\":4,\"avg\":7.5,\"top\":12,\"m\":1}", b.len);
  beck_buf_free(&b);
  input.aggs = NULL;
  input.naggs = 0;
  beck_expr_free(x);
  beck_expr_ctx_reset(&ctx);
}

static void make_object_combines_fields_and_renumbers_aggregates(void **state) {
  beck_expr_opts_t o = {.aggregates = true, .roots = BECK_ROOT_KEY | BECK_ROOT_WINDOW};
  const char *names[] = {"n", "total", "last_kind"};
  const char *srcs[] = {"count()", "sum(value.n) + sum(value.f)", "last(value.kind)"};
  beck_expr_t *fields[3];
  for (int i = 0; i < 3; i++)
    assert_int_equal(beck_expr_compile(srcs[i], strlen(srcs[i]), &o, &fields[i], NULL), BECK_ERR_OK);
  beck_expr_t *x;
  assert_int_equal(beck_expr_make_object(names, fields, 3, &x), BECK_ERR_OK);
  assert_int_equal(beck_expr_agg_count(x), 4);
  assert_int_equal(beck_expr_agg(x, 0)->kind, BECK_AGG_COUNT);
  assert_int_equal(beck_expr_agg(x, 1)->kind, BECK_AGG_SUM);
  assert_int_equal(beck_expr_agg(x, 2)->kind, BECK_AGG_SUM);
  assert_int_equal(beck_expr_agg(x, 3)->kind, BECK_AGG_LAST);
  assert_int_equal(beck_expr_type(x), BECK_TYPE_OBJECT);
  assert_string_equal(beck_expr_source(x), "{n: count(), total: sum(value.n) + sum(value.f), last_kind: "
                                           "last(value.kind)}");
  beck_val_t aggs[4] = {beck_val_int(2), beck_val_int(20), beck_val_double(5.0), beck_val_str("view", 4)};
  input.aggs = aggs;
  input.naggs = 4;
  beck_val_t v;
  assert_int_equal(beck_expr_eval(x, &input, &ctx, &v), BECK_ERR_OK);
  beck_buf_t b = {0};
  beck_val_write_json(&v, &b);
  assert_memory_equal(b.data, "{\"n\":2,\"total\":25.0,\"last_kind\":\"view\"}", b.len);
  beck_buf_free(&b);
  input.aggs = NULL;
  input.naggs = 0;
  beck_expr_free(x);
  /* a runtime error names the field and the column inside it */
  const char *mnames[] = {"ok", "bad"};
  beck_expr_t *mf[2];
  assert_int_equal(beck_expr_compile("value.n", 7, NULL, &mf[0], NULL), BECK_ERR_OK);
  assert_int_equal(beck_expr_compile("1 + value.s", 11, NULL, &mf[1], NULL), BECK_ERR_OK);
  assert_int_equal(beck_expr_make_object(mnames, mf, 2, &x), BECK_ERR_OK);
  assert_int_equal(beck_expr_eval(x, &input, &ctx, &v), BECK_ERR_INVAL);
  assert_string_equal(ctx.err.msg, "field 'bad': column 3: type error: cannot add number and string");
  beck_expr_free(x);
  beck_expr_ctx_reset(&ctx);
}

static const char *state_text(beck_agg_kind_t k, json_t *st) {
  beck_val_t r = beck_agg_result(k, st);
  beck_buf_t b = {0};
  beck_val_write_json(&r, &b);
  snprintf(result, sizeof result, "%.*s", (int)b.len, (const char *)b.data);
  beck_buf_free(&b);
  return result;
}

static void accumulators_fold_records(void **state) {
  beck_val_t vals[] = {beck_val_int(3),  beck_val_null(), beck_val_double(3.0), beck_val_int(-2),
                       beck_val_int(10), beck_val_int(3)};
  const size_t nv = sizeof vals / sizeof vals[0];
  static const struct {
    beck_agg_kind_t k;
    const char *want;
  } cases[] = {
      {BECK_AGG_COUNT, "5"},          /* count(x): non-null x */
      {BECK_AGG_COUNT_DISTINCT, "3"}, /* 3 and 3.0 are one value */
      {BECK_AGG_SUM, "17.0"},
      {BECK_AGG_MIN, "-2"},
      {BECK_AGG_MAX, "10"},
      {BECK_AGG_AVG, "3.4"},
      {BECK_AGG_FIRST, "3"},
      {BECK_AGG_LAST, "3"},
      {BECK_AGG_COLLECT, "[3,3.0,-2,10,3]"},
  };
  beck_error_t e;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    json_t *st = beck_agg_state_new(cases[c].k);
    for (size_t i = 0; i < nv; i++)
      assert_int_equal(beck_agg_add(cases[c].k, &st, &vals[i], false, &e), BECK_ERR_OK);
    if (strcmp(state_text(cases[c].k, st), cases[c].want) != 0)
      fail_msg("%s: expected %s, got %s", beck_agg_name(cases[c].k), cases[c].want, result);
    json_decref(st);
  }
  /* count() counts every record */
  json_t *st = beck_agg_state_new(BECK_AGG_COUNT);
  for (size_t i = 0; i < nv; i++)
    beck_agg_add(BECK_AGG_COUNT, &st, NULL, true, &e);
  assert_string_equal(state_text(BECK_AGG_COUNT, st), "6");
  json_decref(st);
  /* empty states */
  st = beck_agg_state_new(BECK_AGG_AVG);
  assert_string_equal(state_text(BECK_AGG_AVG, st), "null");
  json_decref(st);
  /* wrong kinds are errors */
  st = beck_agg_state_new(BECK_AGG_SUM);
  beck_val_t s = beck_val_str("x", 1);
  assert_int_equal(beck_agg_add(BECK_AGG_SUM, &st, &s, false, &e), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "sum() needs numbers, got string");
  json_decref(st);
  st = beck_agg_state_new(BECK_AGG_MAX);
  beck_agg_add(BECK_AGG_MAX, &st, &vals[0], false, &e);
  assert_int_equal(beck_agg_add(BECK_AGG_MAX, &st, &s, false, &e), BECK_ERR_INVAL);
  assert_string_equal(e.msg, "max() cannot compare string and number");
  json_decref(st);
  /* sums stay exact integers until they overflow */
  st = beck_agg_state_new(BECK_AGG_SUM);
  beck_val_t big = beck_val_int(INT64_MAX);
  beck_agg_add(BECK_AGG_SUM, &st, &vals[0], false, &e);
  assert_string_equal(state_text(BECK_AGG_SUM, st), "3");
  beck_agg_add(BECK_AGG_SUM, &st, &big, false, &e);
  assert_string_equal(state_text(BECK_AGG_SUM, st), "9.223372036854776e+18");
  json_decref(st);
}

static void accumulators_merge_sessions(void **state) {
  beck_error_t e;
  static const struct {
    beck_agg_kind_t k;
    const char *want;
  } cases[] = {
      {BECK_AGG_COUNT, "4"}, {BECK_AGG_COUNT_DISTINCT, "3"}, {BECK_AGG_SUM, "10"},         {BECK_AGG_MIN, "1"},
      {BECK_AGG_MAX, "4"},   {BECK_AGG_AVG, "2.5"},          {BECK_AGG_FIRST, "1"},        {BECK_AGG_LAST, "4"},
      {BECK_AGG_COLLECT, "[1,2,3,4]"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    beck_agg_kind_t k = cases[c].k;
    json_t *a = beck_agg_state_new(k), *b = beck_agg_state_new(k);
    beck_val_t v1 = beck_val_int(1), v2 = beck_val_int(2), v3 = beck_val_int(3), v4 = beck_val_int(4);
    beck_agg_add(k, &a, &v1, false, &e);
    beck_agg_add(k, &a, &v2, false, &e);
    beck_agg_add(k, &b, &v3, false, &e);
    beck_agg_add(k, &b, k == BECK_AGG_COUNT_DISTINCT ? &v3 : &v4, false, &e);
    assert_int_equal(beck_agg_merge(k, &a, b, &e), BECK_ERR_OK);
    if (strcmp(state_text(k, a), cases[c].want) != 0)
      fail_msg("%s: expected %s, got %s", beck_agg_name(k), cases[c].want, result);
    json_decref(a);
    json_decref(b);
  }
}

/* ---- no malloc per record ---- */

static void evaluation_does_not_allocate_per_record(void **state) {
  static const char *const exprs[] = {
      "value.kind == \"click\" and value.n > 5 and not value.missing",
      "value.user.name",
      "lower(value.user.name) + \"-\" + key",
      "if value.n > 5 then substr(value.text, 2, 5) else trim(value.text)",
      "headers.x ?? \"none\"",
      "timestamp + 5m > parse_time(value.when) and starts_with(topic, \"cl\")",
      "round(value.f * 3.7, 1) + abs(-value.n) % 3",
  };
  for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
    beck_expr_t *x;
    assert_int_equal(beck_expr_compile(exprs[i], strlen(exprs[i]), NULL, &x, NULL), BECK_ERR_OK);
    beck_val_t v;
    /* warm up: the context's arena takes its first chunk */
    assert_int_equal(beck_expr_eval(x, &input, &ctx, &v), BECK_ERR_OK);
    beck_expr_ctx_reset(&ctx);
    beck_alloc_fail_after(0); /* any beck_malloc from here fails */
    for (int r = 0; r < 1000; r++) {
      if (beck_expr_eval(x, &input, &ctx, &v) != BECK_ERR_OK) {
        beck_alloc_fail_after(-1);
        fail_msg("'%s' allocated on record %d", exprs[i], r);
      }
      beck_expr_ctx_reset(&ctx);
    }
    beck_alloc_fail_after(-1);
    beck_expr_free(x);
  }
}

static void caller_supplied_allocator_is_used(void **state) {
  beck_arena_t batch;
  beck_arena_init(&batch, 0);
  beck_expr_ctx_t c;
  beck_expr_ctx_init(&c);
  c.alloc = (beck_expr_alloc_fn)beck_arena_alloc;
  c.alloc_ud = &batch;
  beck_expr_t *x;
  assert_int_equal(beck_expr_compile("upper(key)", 10, NULL, &x, NULL), BECK_ERR_OK);
  beck_val_t v;
  assert_int_equal(beck_expr_eval(x, &input, &c, &v), BECK_ERR_OK);
  assert_memory_equal(v.u.s.p, "USER-7", 6);
  assert_true(beck_arena_used(&batch) > 0);
  assert_int_equal(beck_arena_used(&c.arena), 0);
  beck_expr_free(x);
  beck_expr_ctx_destroy(&c);
  beck_arena_destroy(&batch);
}

static void compile_survives_allocation_failures(void **state) {
  const char *src = "{a: lower(value.s) + \"x\", b: [1, value.n, {c: split(\"a,b\", \",\")}], d: if value.flag then "
                    "parse_time(value.when) else 0}";
  for (long n = 0; n < 200; n++) {
    beck_expr_t *x = NULL;
    beck_expr_error_t err;
    beck_alloc_fail_after(n);
    beck_err_t rc = beck_expr_compile(src, strlen(src), NULL, &x, &err);
    beck_alloc_fail_after(-1);
    if (rc == BECK_ERR_OK) {
      assert_string_equal(eval(src), "{\"a\":\"xx\",\"b\":[1,10,{\"c\":[\"a\",\"b\"]}],\"d\":1714564800000}");
      beck_expr_free(x);
      return;
    }
    assert_int_equal(rc, BECK_ERR_NOMEM);
    assert_null(x);
  }
  fail_msg("compile never succeeded");
}

static void reference_lists_every_function(void **state) {
  beck_buf_t b = {0};
  assert_int_equal(beck_expr_write_reference(&b), BECK_ERR_OK);
  beck_buf_append(&b, "", 1);
  static const char *const names[] = {"lower(s)", "substr(s, start[, count])", "format_time(ms)", "from_json(s)",
                                      "type(x)",  "count_distinct(x)",          "collect(x)"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strstr((const char *)b.data, names[i]) == NULL)
      fail_msg("reference lacks %s", names[i]);
  beck_buf_free(&b);
}

static void durations_and_times_parse(void **state) {
  int64_t ms;
  assert_int_equal(beck_parse_duration("500ms", 5, &ms), 0);
  assert_int_equal(ms, 500);
  assert_int_equal(beck_parse_duration("1d2h3m4s5ms", 11, &ms), 0);
  assert_int_equal(ms, 93784005);
  assert_int_equal(beck_parse_duration("5", 1, &ms), -1);
  assert_int_equal(beck_parse_duration("5w", 2, &ms), -1);
  assert_int_equal(beck_parse_duration("", 0, &ms), -1);
  assert_int_equal(beck_parse_duration("99999999999999999999d", 21, &ms), -1);
  assert_int_equal(beck_parse_time("2024-12-31T23:59:60Z", 20, &ms), 0); /* a leap second rolls over */
  assert_int_equal(ms, 1735689600000);
  char buf[48];
  assert_int_equal(beck_format_time(1735689600000, buf, sizeof buf), 20);
  assert_string_equal(buf, "2025-01-01T00:00:00Z");
  assert_string_equal(beck_did_you_mean("windw", 5, (const char *[]){"filter", "window"}, 2), "window");
  assert_null(beck_did_you_mean("xyz", 3, (const char *[]){"map", "filter"}, 2));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(paths_read_fields_indexes_and_record_roots),
      cmocka_unit_test(access_is_null_safe),
      cmocka_unit_test(windowed_records_expose_window_bounds),
      cmocka_unit_test(arithmetic_gives_exact_values),
      cmocka_unit_test(comparisons_are_structural_and_ordered),
      cmocka_unit_test(boolean_logic_short_circuits),
      cmocka_unit_test(if_then_else_picks_a_branch),
      cmocka_unit_test(coalesce_replaces_null_only),
      cmocka_unit_test(in_tests_membership),
      cmocka_unit_test(runtime_errors_carry_the_column),
      cmocka_unit_test(string_functions),
      cmocka_unit_test(math_functions),
      cmocka_unit_test(time_functions_and_durations),
      cmocka_unit_test(json_functions),
      cmocka_unit_test(conversion_functions),
      cmocka_unit_test(literals_build_values),
      cmocka_unit_test(type_errors_have_exact_message_and_column),
      cmocka_unit_test(filter_conditions_must_be_bool),
      cmocka_unit_test(unknown_names_and_functions_suggest_a_fix),
      cmocka_unit_test(syntax_errors_have_exact_message_and_column),
      cmocka_unit_test(nesting_is_limited),
      cmocka_unit_test(programs_report_roots_types_and_constants),
      cmocka_unit_test(conditions_evaluate_to_one_or_zero),
      cmocka_unit_test(join_select_reads_left_and_right),
      cmocka_unit_test(aggregate_calls_become_slots),
      cmocka_unit_test(make_object_combines_fields_and_renumbers_aggregates),
      cmocka_unit_test(accumulators_fold_records),
      cmocka_unit_test(accumulators_merge_sessions),
      cmocka_unit_test(evaluation_does_not_allocate_per_record),
      cmocka_unit_test(caller_supplied_allocator_is_used),
      cmocka_unit_test(compile_survives_allocation_failures),
      cmocka_unit_test(reference_lists_every_function),
      cmocka_unit_test(durations_and_times_parse),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
