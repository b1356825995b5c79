/*
 * schema.c - the pipeline file format, declared once: one table per kind of
 * mapping, one row per key {name, type, where it goes, default, required,
 * range or choices, description}, plus the table of step kinds.
 *
 * bind.c interprets these rows when loading; beck_pipeline_write_reference()
 * prints them as the option reference in docs/pipelines.md. The unit test
 * test_pipeline_loader compares that section of the document with what this
 * file prints (BECK_WRITE_DOCS=1 rewrites it), so the documentation cannot
 * drift from the loader.
 */
#include "connect/pipeline/pipeline_int.h"

#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(beck_pipeline_store_t) == sizeof(int), "FT_ENUM stores an int");

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SECTION(var, path_, title_, doc_, rows)                                                                         \
  const section_def_t var = {.path = path_, .title = title_, .doc = doc_, .fields = rows, .nfields = ARRAY_SIZE(rows)}

/* ---- top level ---- */

static const field_def_t pipeline_fields[] = {
    {.name = "pipeline",
     .type = FT_NAME,
     .offset = offsetof(beck_pipeline_t, name),
     .required = true,
     .doc = "Name of the pipeline; also the application id (consumer group, changelog and state names)."},
    {.name = "description",
     .type = FT_STRING,
     .offset = offsetof(beck_pipeline_t, description),
     .doc = "What the pipeline does, for people and for `beck run`'s status display."},
    {.name = "topics",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_topics,
     .type_doc = "mapping of name: topic",
     .doc = "Topics that exist outside the pipeline, and settings for topics it creates."},
    {.name = "sources",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_sources,
     .type_doc = "mapping of name: source",
     .doc = "Source connectors, each writing one topic."},
    {.name = "tables",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_tables,
     .type_doc = "mapping of name: table",
     .doc = "Topics read as tables (latest value per key), for joins."},
    {.name = "streams",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_streams,
     .type_doc = "list of streams",
     .doc = "Processing: each stream reads topics, runs its steps and writes a topic."},
    {.name = "sinks",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_sinks,
     .type_doc = "mapping of name: sink",
     .doc = "Sink connectors, each reading topics."},
    {.name = "tests",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_tests,
     .type_doc = "list of tests",
     .doc = "Input records and the exact output expected, run by `beck pipeline test`."},
    {.name = "run",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_run,
     .type_doc = "mapping (see run)",
     .doc = "When `beck run` stops by itself; by default it runs until Ctrl-C."},
};
SECTION(beck__pl_sec_pipeline, "(top level)", "The file",
        "A pipeline file is one YAML mapping with these keys. Only `pipeline` is required; a useful file has "
        "sources or topics, streams and sinks. Top-level keys that start with `x-` are ignored: a place for YAML "
        "anchors (`x-defaults: &defaults ...`).",
        pipeline_fields);

static const field_def_t run_fields[] = {
    {.name = "stop_when_idle",
     .type = FT_DURATION,
     .offset = offsetof(beck_pipeline_run_opts_t, stop_when_idle_ms),
     .min = 1,
     .max = INT64_MAX,
     .doc = "For finite input: once no topic of the pipeline has grown for this long, the input counts as ended: "
            "open windows close and emit, sinks drain, and the run stops."},
    {.name = "stop_after",
     .type = FT_DURATION,
     .offset = offsetof(beck_pipeline_run_opts_t, stop_after_ms),
     .min = 1,
     .max = INT64_MAX,
     .doc = "Stop cleanly after this long, as Ctrl-C does (open windows stay open for the next run)."},
    {.name = "on_error",
     .type = FT_ENUM,
     .offset = offsetof(beck_pipeline_run_opts_t, on_error),
     .def = "fail",
     .choices = "fail|skip",
     .doc = "A record a step cannot process (an expression error such as adding a string to a number): fail stops "
            "the pipeline naming the record and the step; skip drops the record and logs it (rate-limited)."},
};
SECTION(beck__pl_sec_run, "run", "run",
        "How `beck run` ends when nobody presses Ctrl-C. The flags `--stop-when-idle` and `--stop-after` override "
        "these.",
        run_fields);

/* ---- topics, sources, sinks, tables ---- */

static const field_def_t topic_fields[] = {
    {.name = "partitions",
     .type = FT_INT,
     .offset = offsetof(beck_pipeline_topic_t, partitions),
     .min = 1,
     .max = 100000,
     .flags = FF_INT32,
     .doc = "Partitions when the runtime creates the topic; default: the broker's default."},
    {.name = "retention",
     .type = FT_DURATION,
     .offset = offsetof(beck_pipeline_topic_t, retention_ms),
     .min = 1,
     .max = INT64_MAX,
     .doc = "How long records are kept (retention.ms); default: the broker's."},
    {.name = "retention_size",
     .type = FT_SIZE,
     .offset = offsetof(beck_pipeline_topic_t, retention_bytes),
     .min = 1,
     .max = INT64_MAX,
     .doc = "How many bytes each partition keeps (retention.bytes); default: the broker's."},
    {.name = "config",
     .type = FT_CONFIG,
     .offset = offsetof(beck_pipeline_topic_t, config),
     .count_offset = offsetof(beck_pipeline_topic_t, nconfig),
     .doc = "Topic configs used when it is created (cleanup.policy, retention.ms, ...)."},
};
SECTION(beck__pl_sec_topic, "topics.<name>", "Topics",
        "Every topic a stream, table or sink reads must be produced in the file (a source's topic, a stream's `to`, "
        "a branch's `to`, a window's `late`) or be listed here. The key is the topic name; the value may be empty "
        "(`orders: {}`).",
        topic_fields);

static const field_def_t source_fields[] = {
    {.name = "connector",
     .type = FT_NAME,
     .offset = offsetof(beck_pipeline_source_t, connector),
     .required = true,
     .doc = "The source connector plugin to run (see `beck connector list`), e.g. file or datagen."},
    {.name = "topic",
     .type = FT_TOPIC,
     .offset = offsetof(beck_pipeline_source_t, topic),
     .flags = FF_PRODUCES,
     .type_doc = "a topic name (default: the source's name)",
     .doc = "The topic the connector writes."},
    {.name = "config",
     .type = FT_CONFIG,
     .offset = offsetof(beck_pipeline_source_t, config),
     .count_offset = offsetof(beck_pipeline_source_t, nconfig),
     .doc = "The connector's options, checked against its config schema (`beck connector describe NAME`); nested "
            "mappings join their keys with dots, lists become comma-separated."},
};
SECTION(beck__pl_sec_source, "sources.<name>", "Sources", "The key is the source's name.", source_fields);

static const field_def_t sink_fields[] = {
    {.name = "connector",
     .type = FT_NAME,
     .offset = offsetof(beck_pipeline_sink_t, connector),
     .required = true,
     .doc = "The sink connector plugin to run, e.g. postgres or stdout."},
    {.name = "from",
     .type = FT_TOPICS,
     .offset = offsetof(beck_pipeline_sink_t, from),
     .flags = FF_CONSUMES,
     .count_offset = offsetof(beck_pipeline_sink_t, nfrom),
     .required = true,
     .doc = "The topic (or topics) the sink reads."},
    {.name = "config",
     .type = FT_CONFIG,
     .offset = offsetof(beck_pipeline_sink_t, config),
     .count_offset = offsetof(beck_pipeline_sink_t, nconfig),
     .doc = "The connector's options, checked against its config schema."},
};
SECTION(beck__pl_sec_sink, "sinks.<name>", "Sinks", "The key is the sink's name.", sink_fields);

static const field_def_t table_fields[] = {
    {.name = "from",
     .type = FT_TOPIC,
     .offset = offsetof(beck_pipeline_table_t, topic),
     .flags = FF_CONSUMES,
     .required = true,
     .doc = "The topic read as a table: the latest value per key; a null value deletes the key."},
    {.name = "key",
     .type = FT_EXPR,
     .offset = offsetof(beck_pipeline_table_t, key),
     .expr = EXPR_ANY,
     .doc = "Re-key the records before they enter the table; default: the record key."},
    {.name = "store",
     .type = FT_ENUM,
     .offset = offsetof(beck_pipeline_table_t, store),
     .def = "memory",
     .choices = "memory|sqlite",
     .doc = "Where the table's state lives; both are restored from a changelog topic."},
};
SECTION(beck__pl_sec_table, "tables.<name>", "Tables",
        "The key is the table's name, which `join: {with: NAME}` uses.", table_fields);

/* ---- streams and steps ---- */

static const field_def_t stream_fields[] = {
    {.name = "name",
     .type = FT_NAME,
     .offset = offsetof(beck_pipeline_stream_t, name),
     .type_doc = "a name (default: stream-N)",
     .doc = "Names the stream's operators (changelog and repartition topics); give stateful streams a name so "
            "that reordering the file keeps their state."},
    {.name = "from",
     .type = FT_TOPICS,
     .offset = offsetof(beck_pipeline_stream_t, from),
     .flags = FF_CONSUMES,
     .count_offset = offsetof(beck_pipeline_stream_t, nfrom),
     .required = true,
     .doc = "The topic (or topics, merged) the stream reads."},
    {.name = "timestamp",
     .type = FT_EXPR,
     .offset = offsetof(beck_pipeline_stream_t, timestamp),
     .expr = EXPR_TIME,
     .type_doc = "an expression (a number of ms or RFC 3339 text)",
     .doc = "Event time of each record read, from its contents (e.g. `value.ts` or `parse_time(value.time)`): what "
            "windows, joins and dedupe go by. Default, and when it gives null: the record's timestamp."},
    {.name = "steps",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_steps,
     .type_doc = "list of steps",
     .doc = "What happens to each record, in order; see Steps."},
    {.name = "to",
     .type = FT_TOPIC,
     .offset = offsetof(beck_pipeline_stream_t, to),
     .flags = FF_PRODUCES,
     .doc = "The topic the results go to. Required unless a branch routes every record or the last step is a "
            "`table`."},
};
SECTION(beck__pl_sec_stream, "streams[]", "Streams", "Each item of `streams:` is a mapping with these keys.",
        stream_fields);

static const field_def_t window_fields[] = {
    {.name = "tumbling",
     .type = FT_DURATION,
     .offset = offsetof(window_spec_t, tumbling),
     .min = 1,
     .max = INT64_MAX,
     .doc = "Fixed, non-overlapping windows of this size, aligned to the epoch: [k*size, (k+1)*size)."},
    {.name = "hopping",
     .type = FT_DURATION,
     .offset = offsetof(window_spec_t, hopping),
     .min = 1,
     .max = INT64_MAX,
     .doc = "Overlapping windows of this size, one starting every `advance`."},
    {.name = "advance",
     .type = FT_DURATION,
     .offset = offsetof(window_spec_t, advance),
     .min = 1,
     .max = INT64_MAX,
     .doc = "Hopping windows only (required there): the distance between window starts, at most the size."},
    {.name = "sliding",
     .type = FT_DURATION,
     .offset = offsetof(window_spec_t, sliding),
     .min = 1,
     .max = INT64_MAX,
     .doc = "Windows that slide with the records: records at most this far apart share a window (KIP-450)."},
    {.name = "session",
     .type = FT_DURATION,
     .offset = offsetof(window_spec_t, session),
     .min = 1,
     .max = INT64_MAX,
     .doc = "Sessions: records of a key closer than this gap form one window."},
    {.name = "grace",
     .type = FT_DURATION,
     .offset = offsetof(window_spec_t, grace),
     .def = "0s",
     .min = 0,
     .max = INT64_MAX,
     .doc = "How long after a window ends records may still arrive (out of order) and count."},
    {.name = "emit",
     .type = FT_ENUM,
     .offset = offsetof(window_spec_t, emit),
     .def = "update",
     .choices = "update|final",
     .doc = "update: a result on every change; final: one result per window, when it closes after grace."},
    {.name = "late",
     .type = FT_TOPIC,
     .offset = offsetof(window_spec_t, late),
     .flags = FF_PRODUCES,
     .doc = "Topic for records that arrive after their window closed; default: dropped (and counted)."},
};
SECTION(beck__pl_sec_window, "window", "window",
        "Exactly one of tumbling, hopping, sliding or session. The next step must be an `aggregate`.",
        window_fields);

static const field_def_t join_fields[] = {
    {.name = "with",
     .type = FT_NAME,
     .offset = offsetof(join_spec_t, with),
     .required = true,
     .doc = "A table (from `tables:` or a `table` step): a stream-table join; or a topic: a stream-stream join, "
            "which needs `within`."},
    {.name = "type",
     .type = FT_ENUM,
     .offset = offsetof(join_spec_t, type),
     .def = "inner",
     .choices = "inner|left|outer",
     .doc = "inner: only matches; left: every record of this stream, right null when nothing matches; outer "
            "(stream-stream only): unmatched records of both sides."},
    {.name = "within",
     .type = FT_DURATION,
     .offset = offsetof(join_spec_t, within),
     .min = 0,
     .max = INT64_MAX,
     .doc = "Stream-stream: records join when their timestamps are at most this far apart."},
    {.name = "before",
     .type = FT_DURATION,
     .offset = offsetof(join_spec_t, before),
     .min = 0,
     .max = INT64_MAX,
     .doc = "Stream-stream: how far before a left record a right record may be (default: within)."},
    {.name = "after",
     .type = FT_DURATION,
     .offset = offsetof(join_spec_t, after),
     .min = 0,
     .max = INT64_MAX,
     .doc = "Stream-stream: how far after a left record a right record may be (default: within)."},
    {.name = "grace",
     .type = FT_DURATION,
     .offset = offsetof(join_spec_t, grace),
     .def = "0s",
     .min = 0,
     .max = INT64_MAX,
     .doc = "Stream-stream: how long out-of-order records are still joined."},
    {.name = "select",
     .type = FT_EXPR,
     .offset = offsetof(join_spec_t, select),
     .expr = EXPR_JOIN,
     .doc = "The joined value, from `left` and `right` (the two values), `key` and `timestamp`; default "
            "`{left: left, right: right}`."},
};
SECTION(beck__pl_sec_join, "join", "join", "Joins on equal keys: use `select_key` first when needed.", join_fields);

static const field_def_t dedupe_fields[] = {
    {.name = "by",
     .type = FT_EXPR,
     .offset = offsetof(beck_pipeline_dedupe_t, by),
     .expr = EXPR_ANY,
     .doc = "What makes two records duplicates; default: the key."},
    {.name = "within",
     .type = FT_DURATION,
     .offset = offsetof(beck_pipeline_dedupe_t, within_ms),
     .required = true,
     .min = 1,
     .max = INT64_MAX,
     .doc = "How long a value is remembered (event time)."},
};
SECTION(beck__pl_sec_dedupe, "dedupe", "dedupe", "Keeps the first record of each `by` value within `within`.",
        dedupe_fields);

static const field_def_t branch_fields[] = {
    {.name = "when",
     .type = FT_EXPR,
     .offset = offsetof(beck_pipeline_branch_t, when),
     .expr = EXPR_FILTER,
     .doc = "A condition; the record goes to the first branch where it is true. Omit it in the last branch to "
            "take every other record."},
    {.name = "to",
     .type = FT_TOPIC,
     .offset = offsetof(beck_pipeline_branch_t, to),
     .flags = FF_PRODUCES,
     .required = true,
     .doc = "The topic the branch's records go to."},
};
SECTION(beck__pl_sec_branch, "branch[]", "branch",
        "A list of branches; records that no branch takes go on to the next step.", branch_fields);

/* ---- tests ---- */

static const field_def_t test_fields[] = {
    {.name = "name",
     .type = FT_STRING,
     .offset = offsetof(beck_pipeline_test_t, name),
     .required = true,
     .doc = "What the test shows; printed when it fails."},
    {.name = "inputs",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_test_inputs,
     .required = true,
     .type_doc = "list",
     .doc = "In order: `SOURCE: record` (or a list of records) sends to a source's topic (or any topic by name); "
            "`advance: 1m` moves stream time forward; `advance_to: TIME` sets it."},
    {.name = "expect",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_test_expect,
     .type_doc = "mapping of topic: list of records",
     .doc = "For each topic listed, exactly these records in this order (`[]`: none). Topics not listed are not "
            "checked."},
};
SECTION(beck__pl_sec_test, "tests[]", "Tests", "Each item of `tests:` is one test, run on a fresh pipeline.",
        test_fields);

#define RECORD_FIELDS                                                                                                \
  {.name = "key",                                                                                                    \
   .type = FT_JSON,                                                                                                  \
   .offset = offsetof(beck_pipeline_test_record_t, key),                                                             \
   .doc = "The key: a string, or any YAML value as JSON."},                                                          \
      {.name = "value",                                                                                              \
       .type = FT_JSON,                                                                                              \
       .offset = offsetof(beck_pipeline_test_record_t, value),                                                       \
       .doc = "The value: any YAML value, as JSON."},                                                                \
      {.name = "timestamp",                                                                                          \
       .type = FT_TIME,                                                                                              \
       .offset = offsetof(beck_pipeline_test_record_t, timestamp),                                                   \
       .doc = "Event time: ms since the epoch, RFC 3339 text, or a duration since the epoch (90s)."},                \
      {.name = "headers",                                                                                            \
       .type = FT_CONFIG,                                                                                            \
       .offset = offsetof(beck_pipeline_test_record_t, headers),                                                     \
       .count_offset = offsetof(beck_pipeline_test_record_t, nheaders),                                              \
       .type_doc = "mapping of name: text",                                                                          \
       .doc = "Record headers."}

static const field_def_t test_record_fields[] = {RECORD_FIELDS};
SECTION(beck__pl_sec_test_record, "tests[].inputs[].SOURCE", "Test input records",
        "A record without a timestamp gets the test's current time: the previous record's timestamp, moved by "
        "`advance` and `advance_to` (0 at the start).",
        test_record_fields);

static const field_def_t expect_record_fields[] = {
    RECORD_FIELDS,
    {.name = "window",
     .type = FT_CUSTOM,
     .bind = beck__pl_bind_window_bounds,
     .type_doc = "{start: TIME, end: TIME}",
     .doc = "The window of a windowed result."},
};
SECTION(beck__pl_sec_expect_record, "tests[].expect.TOPIC[]", "Expected records",
        "Only the fields written are compared; values compare as JSON (1 equals 1.0).", expect_record_fields);

static const field_def_t window_bounds_fields[] = {
    {.name = "start",
     .type = FT_TIME,
     .offset = offsetof(beck_pipeline_test_record_t, window_start),
     .required = true,
     .doc = "Window start (inclusive)."},
    {.name = "end",
     .type = FT_TIME,
     .offset = offsetof(beck_pipeline_test_record_t, window_end),
     .required = true,
     .doc = "Window end (exclusive for tumbling and hopping windows, inclusive for sliding and session)."},
};
SECTION(beck__pl_sec_window_bounds, "window", "window bounds", "", window_bounds_fields);

/* ---- steps ---- */

const step_def_t beck__pl_steps[] = {
    {"filter", BECK_STEP_FILTER, "expression (bool)",
     "Keeps the records for which the expression is true (null counts as false)."},
    {"map", BECK_STEP_MAP, "mapping of field: expression, or one expression",
     "Replaces the value. A mapping builds an object, one field per key (nested mappings build nested objects); "
     "one expression gives the new value itself."},
    {"select_key", BECK_STEP_SELECT_KEY, "expression",
     "Replaces the key with the expression's value (a string as it is, anything else as JSON text)."},
    {"flat_map", BECK_STEP_FLAT_MAP, "expression (array)",
     "One record per element of the array, the element as the value; an empty array or null drops the record."},
    {"branch", BECK_STEP_BRANCH, "list of {when, to}",
     "Sends each record to the topic of the first branch whose `when` is true; records no branch takes go on."},
    {"merge", BECK_STEP_MERGE, "topic or list of topics", "Adds the records of other topics to the stream."},
    {"window", BECK_STEP_WINDOW, "mapping (see window)",
     "Groups records by key into event-time windows for the `aggregate` that follows."},
    {"aggregate", BECK_STEP_AGGREGATE, "mapping of field: expression",
     "One result per key (and window): an object with a field per entry, computed with aggregate functions "
     "(count(), sum(x), ...); outside them only `key` and `window` may be used."},
    {"join", BECK_STEP_JOIN, "mapping (see join)", "Joins with a table or with another topic on equal keys."},
    {"table", BECK_STEP_TABLE, "name",
     "Keeps the latest value per key as a table with this name, for joins in other streams."},
    {"dedupe", BECK_STEP_DEDUPE, "mapping (see dedupe)", "Drops repeats of a value seen within a time span."},
};
const size_t beck__pl_nsteps = ARRAY_SIZE(beck__pl_steps);

const char *beck_pipeline_step_name(beck_step_kind_t k) {
  for (size_t i = 0; i < beck__pl_nsteps; i++)
    if (beck__pl_steps[i].kind == k)
      return beck__pl_steps[i].name;
  return "?";
}

/* ---- the reference ---- */

static beck_err_t write_section(beck_buf_t *out, const section_def_t *s) {
  beck_err_t rc = beck_buf_printf(out, "### %s (`%s`)\n\n", s->title, s->path);
  if (rc == 0 && s->doc[0])
    rc = beck_buf_printf(out, "%s\n\n", s->doc);
  if (rc == 0)
    rc = beck_buf_printf(out, "| key | type | default | description |\n|---|---|---|---|\n");
  for (size_t i = 0; i < s->nfields && rc == 0; i++) {
    const field_def_t *f = &s->fields[i];
    char t[200];
    beck__pl_describe_type(f, t, sizeof t);
    const char *def = f->required ? "**required**" : f->def ? f->def : "";
    rc = beck_buf_printf(out, "| `%s` | %s | %s%s%s | %s |\n", f->name, t, f->def && !f->required ? "`" : "", def,
                         f->def && !f->required ? "`" : "", f->doc);
  }
  if (rc == 0)
    rc = beck_buf_printf(out, "\n");
  return rc;
}

beck_err_t beck_pipeline_write_reference(beck_buf_t *out) {
  const section_def_t *secs[] = {
      &beck__pl_sec_pipeline, &beck__pl_sec_topic, &beck__pl_sec_source,  &beck__pl_sec_sink,
      &beck__pl_sec_table,    &beck__pl_sec_stream,   &beck__pl_sec_run,
  };
  beck_err_t rc = BECK_ERR_OK;
  for (size_t i = 0; i < ARRAY_SIZE(secs) && rc == 0; i++)
    rc = write_section(out, secs[i]);
  if (rc == 0)
    rc = beck_buf_printf(out, "### Steps\n\nEach item of `steps:` is a mapping with one key, the step's kind.\n\n"
                              "| step | value | what it does |\n|---|---|---|\n");
  for (size_t i = 0; i < beck__pl_nsteps && rc == 0; i++)
    rc = beck_buf_printf(out, "| `%s` | %s | %s |\n", beck__pl_steps[i].name, beck__pl_steps[i].form,
                         beck__pl_steps[i].doc);
  if (rc == 0)
    rc = beck_buf_printf(out, "\n");
  const section_def_t *more[] = {
      &beck__pl_sec_window,      &beck__pl_sec_join,          &beck__pl_sec_dedupe,
      &beck__pl_sec_branch,      &beck__pl_sec_test,          &beck__pl_sec_test_record,
      &beck__pl_sec_expect_record,
  };
  for (size_t i = 0; i < ARRAY_SIZE(more) && rc == 0; i++)
    rc = write_section(out, more[i]);
  return rc;
}
