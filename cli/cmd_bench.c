/*
 * cmd_bench.c - `beck bench`: built-in benchmarks. One so far:
 *
 *   beck bench nexmark --query Q [--events N] [--seed S] [--emit FILE] [--output json]
 *   beck bench nexmark --generate-only --events N [--seed S] --emit FILE
 *
 * The first runs one Nexmark query on the embedded streams runtime
 * (bench/nexmark/run.c: the input is generated into a fresh embedded log
 * first, not timed) and prints events/s, per core, and the ratio to
 * Flink's published per-core figure. --emit writes the query's results as
 * JSON lines. The second writes the generated events themselves as JSON
 * lines, so anyone can compute the results another way. Same seed, same
 * events, every time.
 *
 * Exit statuses: 0 success, 1 the run failed (or dropped records as late:
 * the results are then incomplete), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/logging.h"
#include "cli.h"
#include "output.h"

#ifdef BECK_HAVE_NEXMARK
#include "nexmark.h"

enum {
  OPT_QUERY = 1000,
  OPT_EVENTS,
  OPT_SEED,
  OPT_EMIT,
  OPT_OUTPUT,
  OPT_JSON,
  OPT_GENERATE,
  OPT_RATE,
  OPT_SLIDE,
  OPT_GRACE,
  OPT_THREADS,
  OPT_PARTITIONS,
  OPT_DATA_DIR,
  OPT_COMMIT,
  OPT_MAX_BATCH,
};

static void nexmark_usage(FILE *out) {
  fprintf(out, "Usage: beck bench nexmark --query Q [--events N] [--seed S] [--emit FILE] [--output json]\n"
               "       beck bench nexmark --generate-only --events N [--seed S] --emit FILE\n"
               "\n"
               "Runs one Nexmark query on the embedded streams runtime and prints its throughput:\n"
               "events/s, and events per CPU-second (per core) next to Flink's published per-core\n"
               "figure. The events are generated into a fresh embedded log first (not timed); the\n"
               "time runs from starting the query until every window has closed and its results\n"
               "are written.\n"
               "\n"
               "Queries:\n");
  for (int i = 0; beck_nexmark_queries[i] != NULL; i++)
    fprintf(out, "  %-4s %-30s %s\n", beck_nexmark_queries[i]->name, beck_nexmark_queries[i]->title,
            beck_nexmark_queries[i]->summary);
  fprintf(out, "\n"
               "Options:\n"
               "  --query Q           the query to run (q0, q1, q2, q3, q4, q5, q7, q8, q11)\n"
               "  --events N          events to generate (default 1000000)\n"
               "  --seed S            generator seed (default 0); same seed, same events\n"
               "  --emit FILE         write the results (or, with --generate-only, the events) as JSON lines;\n"
               "                      - is stdout\n"
               "  --generate-only     write the events, run nothing\n"
               "  --output table|json how to print the figures (default table); --json is --output json\n"
               "  --rate R            events per second of event time (default 10000000, the rate of\n"
               "                      the published Nexmark runs; the generator's own default is 10000)\n"
               "  --slide MS          q5's hop, dividing 10000 (default 2000)\n"
               "  --grace MS          lateness windows and joins accept (default: max(4 s, the input's\n"
               "                      time span), so no input record is late)\n"
               "  --threads N         task threads (default 2; 0 runs on the main thread)\n"
               "  --partitions N      partitions of the input topic (default: threads, at least 1)\n"
               "  --data-dir DIR      where the embedded log lives (default: a fresh directory in\n"
               "                      $TMPDIR or /tmp, removed afterwards)\n"
               "  --commit-interval MS  the runtime's commit interval (default 1000)\n"
               "  --max-batch N       records per input fetch (default 8192; the runtime's own default is 1024)\n"
               "  -h, --help          show this help\n"
               "\n"
               "Examples:\n"
               "  beck bench nexmark --query q5 --events 5000000\n"
               "  beck bench nexmark --query q5 --events 100000 --emit q5.jsonl\n"
               "  beck bench nexmark --generate-only --events 100000 --seed 7 --emit events.jsonl\n");
}

static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

typedef struct emit_ctx {
  const beck_nexmark_query_t *q;
  FILE *f;
  const char *path;
  beck_buf_t line;
} emit_ctx_t;

static beck_err_t emit_row(void *ud, const uint8_t *row, size_t len, beck_error_t *e) {
  emit_ctx_t *x = ud;
  x->line.len = 0;
  beck_err_t rc = beck_nexmark_row_format(x->q, row, len, true, &x->line);
  if (rc != BECK_ERR_OK)
    return beck_error_set(e, rc, "result row of %zu bytes does not match %s's columns", len, x->q->name);
  if (fwrite(x->line.data, 1, x->line.len, x->f) != x->line.len || fputc('\n', x->f) == EOF)
    return beck_error_set(e, BECK_ERR_IO, "%s: %s", x->path, strerror(errno));
  return BECK_ERR_OK;
}

static void print_table(const beck_nexmark_query_t *q, const beck_nexmark_run_opts_t *o,
                        const beck_nexmark_stats_t *st) {
  char a[32], b[32], c[32];
  double ratio = st->per_core / q->flink_per_core;
  double goal = q->stateful ? 5.0 : 3.5;
  bool met = ratio >= goal && (q->stateful || st->per_core >= 1.5e6);
  printf("query     %s (%s)\n", q->name, q->title);
  if (q == &beck_nexmark_q5)
    printf("window    10 s, sliding by %" PRId64 " ms\n", o->params.q5_slide_ms);
  printf("events    %s (seed %" PRIu64 ", %s events/s of event time)\n", cli_fmt_count(a, sizeof a, st->events),
         o->params.gen.seed, cli_fmt_count(b, sizeof b, (uint64_t)o->params.gen.events_per_second));
  printf("loaded    in %.2f s (not timed)\n", st->load_seconds);
  printf("run       %.3f s, %d thread%s, %d partition%s: %s events/s\n", st->run_seconds, st->threads,
         st->threads == 1 ? "" : "s", (int)st->partitions, st->partitions == 1 ? "" : "s",
         cli_fmt_count(c, sizeof c, (uint64_t)st->events_per_sec));
  printf("cpu       %.3f s (%.2f cores busy): %s events/s per core\n", st->cpu_seconds,
         st->run_seconds > 0 ? st->cpu_seconds / st->run_seconds : 0,
         cli_fmt_count(a, sizeof a, (uint64_t)st->per_core));
  printf("flink     %s events/s per core (published): %.1fx, goal %s%.1fx: %s\n",
         cli_fmt_count(b, sizeof b, (uint64_t)q->flink_per_core), ratio, q->stateful ? "" : "1.5M/s and ", goal,
         met ? "MET" : "MISSED");
  printf("results   %s rows (%s records written)\n", cli_fmt_count(a, sizeof a, (uint64_t)st->results),
         cli_fmt_count(b, sizeof b, (uint64_t)st->output_records));
  printf("late      %" PRId64 "%s\n", st->late, st->late ? " records dropped: the results are incomplete" : "");
}

static void print_json(const beck_nexmark_query_t *q, const beck_nexmark_run_opts_t *o,
                       const beck_nexmark_stats_t *st) {
  double ratio = st->per_core / q->flink_per_core;
  double goal = q->stateful ? 5.0 : 3.5;
  json_t *j = json_object();
  json_object_set_new(j, "query", json_string(q->name));
  json_object_set_new(j, "title", json_string(q->title));
  json_object_set_new(j, "events", json_integer((json_int_t)st->events));
  json_object_set_new(j, "seed", json_integer((json_int_t)o->params.gen.seed));
  json_object_set_new(j, "rate", json_integer((json_int_t)o->params.gen.events_per_second));
  if (q == &beck_nexmark_q5)
    json_object_set_new(j, "slide_ms", json_integer((json_int_t)o->params.q5_slide_ms));
  json_object_set_new(j, "threads", json_integer(st->threads));
  json_object_set_new(j, "partitions", json_integer(st->partitions));
  json_object_set_new(j, "load_seconds", json_real(st->load_seconds));
  json_object_set_new(j, "run_seconds", json_real(st->run_seconds));
  json_object_set_new(j, "cpu_seconds", json_real(st->cpu_seconds));
  json_object_set_new(j, "events_per_sec", json_real(st->events_per_sec));
  json_object_set_new(j, "per_core", json_real(st->per_core));
  json_object_set_new(j, "flink_per_core", json_real(q->flink_per_core));
  json_object_set_new(j, "ratio", json_real(ratio));
  json_object_set_new(j, "goal_ratio", json_real(goal));
  json_object_set_new(j, "goal_met", json_boolean(ratio >= goal && (q->stateful || st->per_core >= 1.5e6)));
  json_object_set_new(j, "results", json_integer(st->results));
  json_object_set_new(j, "output_records", json_integer(st->output_records));
  json_object_set_new(j, "late", json_integer(st->late));
  cli_json_print(j, false);
  json_decref(j);
}

static int cmd_nexmark(int argc, char **argv) {
  static const struct option longopts[] = {
      {"query", required_argument, NULL, OPT_QUERY},
      {"events", required_argument, NULL, OPT_EVENTS},
      {"seed", required_argument, NULL, OPT_SEED},
      {"emit", required_argument, NULL, OPT_EMIT},
      {"output", required_argument, NULL, OPT_OUTPUT},
      {"json", no_argument, NULL, OPT_JSON},
      {"generate-only", no_argument, NULL, OPT_GENERATE},
      {"rate", required_argument, NULL, OPT_RATE},
      {"slide", required_argument, NULL, OPT_SLIDE},
      {"grace", required_argument, NULL, OPT_GRACE},
      {"threads", required_argument, NULL, OPT_THREADS},
      {"partitions", required_argument, NULL, OPT_PARTITIONS},
      {"data-dir", required_argument, NULL, OPT_DATA_DIR},
      {"commit-interval", required_argument, NULL, OPT_COMMIT},
      {"max-batch", required_argument, NULL, OPT_MAX_BATCH},
      {"help", no_argument, NULL, 'h'},
      {0},
  };
  beck_nexmark_run_opts_t o;
  beck_nexmark_run_opts_init(&o);
  o.params.gen.events_per_second = 10000000;
  const beck_nexmark_query_t *q = NULL;
  const char *emit = NULL, *qname = NULL;
  bool generate_only = false, json = false;
  int64_t partitions = -1, v;
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    const char *bad = NULL;
    switch (ch) {
    case 'h':
      nexmark_usage(stdout);
      return 0;
    case OPT_QUERY:
      qname = optarg;
      break;
    case OPT_EVENTS:
      if (parse_i64(optarg, 0, INT64_MAX, &v) < 0)
        bad = "--events: expected a number of events";
      o.events = (uint64_t)v;
      break;
    case OPT_SEED:
      if (parse_i64(optarg, 0, INT64_MAX, &v) < 0)
        bad = "--seed: expected a non-negative number";
      o.params.gen.seed = (uint64_t)v;
      break;
    case OPT_EMIT:
      emit = optarg;
      break;
    case OPT_OUTPUT:
      if (strcmp(optarg, "json") == 0)
        json = true;
      else if (strcmp(optarg, "table") == 0)
        json = false;
      else
        bad = "--output: expected table or json";
      break;
    case OPT_JSON:
      json = true;
      break;
    case OPT_GENERATE:
      generate_only = true;
      break;
    case OPT_RATE:
      if (parse_i64(optarg, 1, 1000000000, &v) < 0)
        bad = "--rate: expected events per second, 1 to 1000000000";
      o.params.gen.events_per_second = v;
      break;
    case OPT_SLIDE:
      if (parse_i64(optarg, 1, 10000, &v) < 0 || 10000 % v != 0)
        bad = "--slide: expected milliseconds dividing 10000 (100, 200, 500, 1000, 2000, ...)";
      o.params.q5_slide_ms = v;
      break;
    case OPT_GRACE:
      if (parse_i64(optarg, 0, INT64_MAX / 8, &v) < 0)
        bad = "--grace: expected milliseconds";
      o.params.grace_ms = v;
      break;
    case OPT_THREADS:
      if (parse_i64(optarg, 0, 64, &v) < 0)
        bad = "--threads: expected 0 to 64";
      o.threads = (int)v;
      break;
    case OPT_PARTITIONS:
      if (parse_i64(optarg, 1, 256, &v) < 0)
        bad = "--partitions: expected 1 to 256";
      partitions = v;
      break;
    case OPT_DATA_DIR:
      o.data_dir = optarg;
      break;
    case OPT_MAX_BATCH:
      if (parse_i64(optarg, 1, 1 << 20, &v) < 0)
        bad = "--max-batch: expected 1 to 1048576 records";
      o.max_batch = (size_t)v;
      break;
    case OPT_COMMIT:
      if (parse_i64(optarg, 1, 3600000, &v) < 0)
        bad = "--commit-interval: expected milliseconds";
      o.commit_interval_ms = v;
      break;
    default:
      fprintf(stderr, "Run `beck bench nexmark --help` for the options.\n");
      return 2;
    }
    if (bad != NULL) {
      fprintf(stderr, "beck bench nexmark: %s, got '%s'\nRun `beck bench nexmark --help` for the options.\n", bad,
              optarg);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "beck bench nexmark: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  o.partitions = (int32_t)(partitions > 0 ? partitions : o.threads > 0 ? o.threads : 1);
  beck_log_set_level(BECK_LOG_WARN); /* not every topic the run creates */
  if (generate_only) {
    if (emit == NULL) {
      fprintf(stderr, "beck bench nexmark: --generate-only needs --emit FILE (- for stdout)\n");
      return 2;
    }
    beck_error_t e;
    if (beck_nexmark_write_events(&o.params.gen, o.events, emit, &e) != BECK_ERR_OK) {
      fprintf(stderr, "beck bench nexmark: %s\n", e.msg);
      return 1;
    }
    return 0;
  }
  if (qname == NULL) {
    fprintf(stderr, "beck bench nexmark: --query is missing (q0, q1, q2, q3, q4, q5, q7, q8 or q11)\n");
    return 2;
  }
  if ((q = beck_nexmark_query_find(qname)) == NULL) {
    fprintf(stderr, "beck bench nexmark: unknown query '%s' (q0, q1, q2, q3, q4, q5, q7, q8 or q11)\n", qname);
    return 2;
  }
  emit_ctx_t x = {.q = q, .path = emit};
  if (emit != NULL) {
    x.f = strcmp(emit, "-") == 0 ? stdout : fopen(emit, "w");
    if (x.f == NULL) {
      fprintf(stderr, "beck bench nexmark: %s: %s\n", emit, strerror(errno));
      return 1;
    }
    o.on_row = emit_row;
    o.ud = &x;
  }
  beck_nexmark_stats_t st;
  beck_error_t e;
  beck_err_t rc = beck_nexmark_run(q, &o, &st, &e);
  if (x.f != NULL && x.f != stdout && fclose(x.f) != 0 && rc == BECK_ERR_OK)
    rc = beck_error_set(&e, BECK_ERR_IO, "%s: %s", emit, strerror(errno));
  beck_buf_free(&x.line);
  if (rc != BECK_ERR_OK) {
    fprintf(stderr, "beck bench nexmark: %s\n", e.msg);
    return 1;
  }
  /* With --emit - the results own stdout; the figures go to stderr. */
  if (x.f == stdout && (fflush(stdout) != 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)) {
    fprintf(stderr, "beck bench nexmark: stdout: %s\n", strerror(errno));
    return 1;
  }
  if (json)
    print_json(q, &o, &st);
  else
    print_table(q, &o, &st);
  return st.late > 0 ? 1 : 0;
}
#endif

static void bench_usage(FILE *out) {
  fprintf(out, "Usage: beck bench BENCHMARK [OPTIONS]\n"
               "\n"
               "Built-in benchmarks.\n"
               "\n"
               "Benchmarks:\n"
               "  nexmark   the Nexmark streaming queries on the embedded runtime\n"
               "\n"
               "Run `beck bench BENCHMARK --help` for its options.\n");
}

int cmd_bench(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    bench_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "nexmark") == 0) {
#ifdef BECK_HAVE_NEXMARK
    return cmd_nexmark(argc - 1, argv + 1);
#else
    fprintf(stderr, "beck bench nexmark: this beck was built without the benchmarks (BECK_BENCH=OFF)\n");
    return 1;
#endif
  }
  fprintf(stderr, "beck bench: unknown benchmark '%s'\nRun `beck bench --help` for the list.\n", argv[1]);
  return 2;
}
