/*
 * kafka_util.c - argument parsing, the connection to a cluster and error
 * messages shared by the client commands (topic, produce, consume, group,
 * cluster).
 *
 * Reaching the cluster: librdkafka connects lazily and retries forever, so a
 * command against a stopped broker would otherwise hang until its timeout
 * with nothing said. cli_client_metadata() asks for metadata in short slices
 * and serves librdkafka's error events in between: once every bootstrap
 * broker has refused (_ALL_BROKERS_DOWN) it stops and says so, with a hint.
 * librdkafka's own log lines are swallowed unless -X debug=... asks for them.
 *
 * Offsets: log start and end offsets come from rd_kafka_offsets_for_times()
 * with the special timestamps -2 (earliest) and -1 (latest), which ListOffsets
 * answers with the watermarks: one request per broker for any number of
 * partitions, where rd_kafka_query_watermark_offsets() costs two per
 * partition.
 *
 * cli_wire_request(): one request librdkafka cannot send (DescribeLogDirs),
 * framed by core/proto over a blocking exchange on a non-blocking socket:
 * connect, write the frame, read the 4-byte size and the answer, all within
 * one deadline; correlation id 1, the only request on the connection.
 */
#include "kafka_util.h"

#include "base/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

enum { OPT_OUTPUT = 1001, OPT_JSON, OPT_TIMEOUT };

static const struct option common_longopts[] = {
    {"bootstrap", required_argument, NULL, 'b'}, {"output", required_argument, NULL, OPT_OUTPUT},
    {"json", no_argument, NULL, OPT_JSON},       {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"property", required_argument, NULL, 'X'},  {"help", no_argument, NULL, 'h'},
};
#define NCOMMON (sizeof common_longopts / sizeof common_longopts[0])

static const char common_help[] =
    "\n"
    "Connection and output:\n"
    "  -b, --bootstrap HOST:PORT  brokers to start from, comma-separated\n"
    "                             (default: $BECK_BOOTSTRAP, then " CLI_DEFAULT_BOOTSTRAP ")\n"
    "      --output table|json    aligned tables (default) or JSON for scripts\n"
    "      --json                 same as --output json\n"
    "      --timeout DURATION     how long to wait for the cluster (default 10s)\n"
    "  -X, --property KEY=VALUE   any librdkafka setting, e.g. -X security.protocol=SSL\n"
    "                             (repeatable; -X debug=all shows librdkafka's log)\n"
    "  -h, --help                 show this help\n";

int64_t cli_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cli_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_error(const cli_opts_t *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "beck %s: ", o->cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_usage_error(const cli_opts_t *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "beck %s: ", o->cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nRun `beck %s --help` for the options and examples.\n", o->cmd);
  va_end(ap);
  return -1;
}

/* ---- small parsers ---------------------------------------------------------- */

int cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

int cli_parse_duration_ms(const char *s, int64_t *ms) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || v < 0)
    return -1;
  double mul;
  if (*end == '\0' || strcmp(end, "s") == 0)
    mul = 1000;
  else if (strcmp(end, "ms") == 0)
    mul = 1;
  else if (strcmp(end, "m") == 0)
    mul = 60e3;
  else if (strcmp(end, "h") == 0)
    mul = 3600e3;
  else if (strcmp(end, "d") == 0)
    mul = 86400e3;
  else
    return -1;
  if (v * mul > 9.2e18)
    return -1;
  *ms = (int64_t)(v * mul);
  return 0;
}

int cli_split_kv(const char *s, char **key, const char **value) {
  const char *eq = strchr(s, '=');
  if (eq == NULL || eq == s)
    return -1;
  char *k = strndup(s, (size_t)(eq - s));
  if (k == NULL) {
    fputs("beck: out of memory\n", stderr);
    exit(1);
  }
  *key = k;
  *value = eq + 1;
  return 0;
}

void cli_strv_push(const char ***v, int *n, const char *s) {
  *v = cli_xrealloc((void *)*v, sizeof **v * (size_t)(*n + 1));
  (*v)[(*n)++] = s;
}

/* ---- did you mean ---------------------------------------------------------------- */

/* Edit distance (insert, delete, substitute, swap two neighbours) of short
 * words; longer ones count as far apart. */
static int distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 40 || lb > 40)
    return 99;
  int d[41][41];
  for (size_t i = 0; i <= la; i++)
    d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < best)
        best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best)
        best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  return d[la][lb];
}

const char *cli_suggest(const char *word, const char *const *candidates, int n) {
  const char *best = NULL;
  int bd = 3; /* at most two edits, and fewer than half the word */
  for (int i = 0; i < n; i++) {
    int d = distance(word, candidates[i]);
    if (d < bd && (size_t)d * 2 < strlen(candidates[i])) {
      bd = d;
      best = candidates[i];
    }
  }
  return best;
}

/* "--partiton" -> "--partitions" among the long options. */
static const char *suggest_option(const char *arg, const struct option *lo) {
  const char *names[128];
  int n = 0;
  char word[64];
  const char *eq = strchr(arg, '=');
  size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
  if (strncmp(arg, "--", 2) != 0 || len - 2 >= sizeof word)
    return NULL;
  memcpy(word, arg + 2, len - 2);
  word[len - 2] = '\0';
  for (; lo->name && n < 128; lo++)
    names[n++] = lo->name;
  return cli_suggest(word, names, n);
}

/* ---- arguments ----------------------------------------------------------------- */

static void print_help(const cli_spec_t *spec) {
  fputs(spec->help, stdout);
  fputs(common_help, stdout);
  if (spec->examples) {
    fputs("\n", stdout);
    fputs(spec->examples, stdout);
  }
}

static int common_opt(cli_opts_t *o, int ch, const char *arg) {
  int64_t ms;
  switch (ch) {
  case 'b':
    if (*arg == '\0')
      return cli_usage_error(o, "--bootstrap needs HOST:PORT");
    o->bootstrap = arg;
    return 0;
  case OPT_OUTPUT:
    if (strcmp(arg, "table") == 0 || strcmp(arg, "text") == 0)
      o->output = CLI_OUTPUT_TABLE;
    else if (strcmp(arg, "json") == 0)
      o->output = CLI_OUTPUT_JSON;
    else
      return cli_usage_error(o, "--output: expected table or json, got '%s'", arg);
    return 0;
  case OPT_JSON:
    o->output = CLI_OUTPUT_JSON;
    return 0;
  case OPT_TIMEOUT:
    if (cli_parse_duration_ms(arg, &ms) < 0 || ms < 1 || ms > INT32_MAX)
      return cli_usage_error(o, "--timeout: expected a duration like 10s, 500ms or 2m, got '%s'", arg);
    o->timeout_ms = (int)ms;
    return 0;
  case 'X':
    if (strchr(arg, '=') == NULL || arg[0] == '=')
      return cli_usage_error(o, "-X: expected KEY=VALUE (a librdkafka setting), got '%s'", arg);
    cli_strv_push(&o->props, &o->nprops, arg);
    return 0;
  }
  return 1;
}

bool cli_parse(const cli_spec_t *spec, int argc, char **argv, cli_opts_t *o, void *ctx, int *first, int *status) {
  memset(o, 0, sizeof *o);
  o->cmd = spec->cmd;
  const char *env = getenv("BECK_BOOTSTRAP");
  o->bootstrap = env && *env ? env : CLI_DEFAULT_BOOTSTRAP;
  o->output = CLI_OUTPUT_TABLE;
  o->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;

  size_t nown = 0;
  while (spec->longopts && spec->longopts[nown].name)
    nown++;
  struct option *lo = cli_xcalloc(nown + NCOMMON + 1, sizeof *lo);
  if (nown)
    memcpy(lo, spec->longopts, nown * sizeof *lo);
  memcpy(lo + nown, common_longopts, sizeof common_longopts);
  char shortopts[128];
  snprintf(shortopts, sizeof shortopts, ":b:X:h%s", spec->shortopts ? spec->shortopts : "");

  bool help = false;
  int ch, rc = 0;
  opterr = 0;
  optind = 0; /* GNU: start over (an earlier getopt may have run) */
  while (rc == 0 && !help && (ch = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
    if (ch == 'h')
      help = true;
    else if (ch == '?' && optopt)
      rc = cli_usage_error(o, "unknown option '-%c'", optopt);
    else if (ch == '?') {
      const char *s = suggest_option(argv[optind - 1], lo);
      if (s)
        rc = cli_usage_error(o, "unknown option '%s' (did you mean '--%s'?)", argv[optind - 1], s);
      else
        rc = cli_usage_error(o, "unknown option '%s'", argv[optind - 1]);
    } else if (ch == ':')
      rc = cli_usage_error(o, "option '%s' needs a value", argv[optind - 1]);
    else {
      int r = common_opt(o, ch, optarg);
      if (r == 1)
        r = spec->on_opt ? spec->on_opt(ctx, ch, optarg) : -1;
      rc = r;
    }
  }
  beck_free(lo);
  if (help) {
    print_help(spec);
    *status = CLI_EXIT_OK;
    beck_free(o->props);
    o->props = NULL;
    return false;
  }
  if (rc == 0) {
    int nargs = argc - optind;
    if (nargs < spec->min_args)
      rc = cli_usage_error(o, "missing %s", spec->arg_name ? spec->arg_name : "argument");
    else if (spec->max_args >= 0 && nargs > spec->max_args)
      rc = cli_usage_error(o, "unexpected argument '%s'", argv[optind + spec->max_args]);
  }
  if (rc != 0) {
    *status = CLI_EXIT_USAGE;
    beck_free(o->props);
    o->props = NULL;
    return false;
  }
  *first = optind;
  return true;
}

/* ---- errors ------------------------------------------------------------------- */

const char *cli_hint(rd_kafka_resp_err_t err) {
  switch (err) {
  case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
  case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    return "`beck topic list` shows the topics";
  case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    return "`beck topic describe TOPIC` shows its partitions";
  case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
    return "`beck topic describe` shows it; `beck topic delete` removes it";
  case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    return "the partition count must be at least 1, and partitions can only be added";
  case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    return "the replication factor cannot exceed the number of brokers; `beck cluster info` lists them";
  case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    return "`beck topic describe TOPIC` lists the topic settings and their values";
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    return "topic names use letters, digits, '.', '_' and '-', at most 249 characters";
  case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
    return "stop its consumers first; `beck group describe GROUP` shows them";
  case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
    return "`beck group list` shows the groups";
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    return "the topic's max.message.bytes limits a batch; raise it with `beck topic alter TOPIC --config "
           "max.message.bytes=N`";
  case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    return "the cluster's policy refuses this request";
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR__AUTHENTICATION:
  case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    return "check the credentials: -X sasl.username=... -X sasl.password=...";
  case RD_KAFKA_RESP_ERR__SSL:
    return "check the TLS settings: -X security.protocol=SSL -X ssl.ca.location=...";
  case RD_KAFKA_RESP_ERR__TIMED_OUT:
  case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
  case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    return "is the cluster overloaded? a longer --timeout may help";
  case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
  case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    return "the cluster does not support this request";
  case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
  case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
  case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
  case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
  case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    return "the cluster is moving leadership; try again in a moment";
  default:
    return NULL;
  }
}

void cli_kafka_error(const cli_opts_t *o, const char *what, rd_kafka_resp_err_t err, const char *errstr,
                     const char *hint) {
  if (errstr == NULL || *errstr == '\0')
    errstr = rd_kafka_err2str(err);
  if (hint == NULL)
    hint = cli_hint(err);
  if (hint)
    cli_error(o, "%s: %s (%s)", what, errstr, hint);
  else
    cli_error(o, "%s: %s", what, errstr);
}

/* ---- the connection -------------------------------------------------------------- */

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  cli_client_t *c = opaque;
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    c->all_brokers_down = true;
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    c->fatal = true;
    err = rd_kafka_fatal_error(rk, buf, sizeof buf);
    snprintf(c->errstr, sizeof c->errstr, "%s", buf);
  } else {
    snprintf(c->errstr, sizeof c->errstr, "%s", reason);
  }
  c->err = err;
}

/* "[thrd:127.0.0.1:9092/bootstrap]: 127.0.0.1:9092/bootstrap:   ApiKey
 * Produce (0) Versions 0..7" */
static void capture_api(cli_client_t *c, const char *line) {
  if (strncmp(line, "[thrd:", 6) == 0) {
    const char *close = strstr(line, "]: ");
    if (close == NULL)
      return;
    line = close + 3;
  }
  const char *colon = strstr(line, ": ");
  const char *api = strstr(line, "ApiKey ");
  if (colon == NULL || api == NULL)
    return;
  cli_api_version_t v;
  memset(&v, 0, sizeof v);
  size_t blen = (size_t)(colon - line);
  const char *slash = memrchr(line, '/', blen);
  if (slash)
    blen = (size_t)(slash - line);
  if (blen >= sizeof v.broker)
    return;
  memcpy(v.broker, line, blen);
  if (sscanf(api, "ApiKey %47s (%d) Versions %d..%d", v.name, &v.key, &v.min, &v.max) != 4)
    return;
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < c->napis; i++)
    if (c->apis[i].key == v.key && strcmp(c->apis[i].broker, v.broker) == 0) {
      c->apis[i] = v; /* a reconnect repeats the list */
      pthread_mutex_unlock(&c->lock);
      return;
    }
  if (c->napis == c->apis_cap) {
    c->apis_cap = c->apis_cap ? c->apis_cap * 2 : 64;
    c->apis = cli_xrealloc(c->apis, sizeof *c->apis * (size_t)c->apis_cap);
  }
  c->apis[c->napis++] = v;
  pthread_mutex_unlock(&c->lock);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  cli_client_t *c = rd_kafka_opaque(rk);
  if (c == NULL)
    return;
  if (c->capture_apis && strcmp(fac, "APIVERSION") == 0)
    capture_api(c, buf);
  if (c->log_to_stderr)
    fprintf(stderr, "%%%d|%s|%s| %s\n", level, fac, rd_kafka_name(rk), buf);
}

static int conf_set(const cli_opts_t *o, rd_kafka_conf_t *conf, const char *key, const char *value, bool user) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    if (user)
      cli_error(o, "-X %s=%s: %s", key, value, errstr);
    else
      cli_error(o, "cannot set %s=%s: %s", key, value, errstr);
    return -1;
  }
  return 0;
}

int cli_client_open(cli_client_t *c, const cli_opts_t *o, rd_kafka_type_t type, rd_kafka_conf_t *conf) {
  bool capture = c->capture_apis;
  void *user = c->user;
  memset(c, 0, sizeof *c);
  c->opts = o;
  c->user = user;
  c->capture_apis = capture;
  pthread_mutex_init(&c->lock, NULL);
  if (conf == NULL)
    conf = rd_kafka_conf_new();
  const char *debug = NULL;
  if (conf_set(o, conf, "bootstrap.servers", o->bootstrap, false) < 0 ||
      conf_set(o, conf, "client.id", "beck-cli", false) < 0 ||
      conf_set(o, conf, "log.connection.close", "false", false) < 0)
    goto fail;
  for (int i = 0; i < o->nprops; i++) {
    char *key;
    const char *value;
    if (cli_split_kv(o->props[i], &key, &value) < 0) {
      cli_error(o, "-X %s: expected KEY=VALUE", o->props[i]);
      goto fail;
    }
    int r = conf_set(o, conf, key, value, true);
    if (strcmp(key, "debug") == 0)
      debug = value;
    free(key);
    if (r < 0)
      goto fail;
  }
  c->log_to_stderr = debug != NULL && *debug != '\0';
  if (c->capture_apis) {
    char dbg[256];
    snprintf(dbg, sizeof dbg, "%s%sfeature", debug ? debug : "", debug && *debug ? "," : "");
    if (conf_set(o, conf, "debug", dbg, false) < 0)
      goto fail;
  }
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_opaque(conf, c);
  char errstr[512];
  c->rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (c->rk == NULL) {
    cli_error(o, "cannot create a Kafka client: %s", errstr);
    pthread_mutex_destroy(&c->lock);
    return -1; /* rd_kafka_new() destroyed conf */
  }
  return 0;
fail:
  rd_kafka_conf_destroy(conf);
  pthread_mutex_destroy(&c->lock);
  return -1;
}

int cli_client_open_with(cli_client_t *c, const cli_opts_t *o, rd_kafka_type_t type, const char *const *kv) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  for (; kv && kv[0]; kv += 2)
    if (conf_set(o, conf, kv[0], kv[1], false) < 0) {
      rd_kafka_conf_destroy(conf);
      return -1;
    }
  return cli_client_open(c, o, type, conf);
}

void cli_client_close(cli_client_t *c) {
  if (c->rk) {
    rd_kafka_destroy(c->rk);
    c->rk = NULL;
    pthread_mutex_destroy(&c->lock);
  }
  beck_free(c->apis);
  c->apis = NULL;
  c->napis = c->apis_cap = 0;
}

/* The part of librdkafka's connection error a person needs: "Connection
 * refused" out of "127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092
 * failed: Connection refused (after 0ms in state CONNECT)". */
static void short_reason(const char *errstr, char *out, size_t n) {
  const char *p = errstr, *colon = strstr(errstr, ": ");
  if (colon && memchr(errstr, '/', (size_t)(colon - errstr)))
    p = colon + 2; /* "host:port/bootstrap: " names the connection */
  const char *f = strstr(p, "failed: ");
  if (f)
    p = f + 8;
  const char *end = strstr(p, " (after ");
  size_t len = end ? (size_t)(end - p) : strlen(p);
  if (len >= n)
    len = n - 1;
  memcpy(out, p, len);
  out[len] = '\0';
  if (out[0] >= 'A' && out[0] <= 'Z' && !(out[1] >= 'A' && out[1] <= 'Z'))
    out[0] = (char)(out[0] - 'A' + 'a');
}

static void unreachable(const cli_client_t *c) {
  const cli_opts_t *o = c->opts;
  char why[256] = "";
  if (c->errstr[0])
    short_reason(c->errstr, why, sizeof why);
  if (c->err == RD_KAFKA_RESP_ERR__RESOLVE)
    cli_error(o, "cannot reach %s: %s (check the host name in --bootstrap or BECK_BOOTSTRAP)", o->bootstrap, why);
  else if (c->err == RD_KAFKA_RESP_ERR__AUTHENTICATION || c->err == RD_KAFKA_RESP_ERR__SSL)
    cli_kafka_error(o, "cannot connect", c->err, c->errstr, NULL);
  else if (strstr(c->errstr, "invalid response size") || strstr(c->errstr, "Receive failed"))
    cli_error(o,
              "cannot talk to %s: something answers there, but not in the Kafka protocol: is it a Kafka "
              "broker's address? (TLS clusters need -X security.protocol=SSL)",
              o->bootstrap);
  else
    cli_error(o,
              "cannot reach %s%s%s: is a broker running? start one with `beck broker`, or point --bootstrap (or "
              "BECK_BOOTSTRAP) at your cluster",
              o->bootstrap, why[0] ? ": " : "", why);
}

int cli_client_metadata(cli_client_t *c, bool all_topics, const rd_kafka_metadata_t **md) {
  const cli_opts_t *o = c->opts;
  int64_t deadline = cli_now_ms() + o->timeout_ms;
  for (;;) {
    int64_t left = deadline - cli_now_ms();
    int slice = left < 250 ? (int)(left > 1 ? left : 1) : 250;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c->rk, all_topics ? 1 : 0, NULL, md, slice);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      return 0;
    if (!c->redirected)
      rd_kafka_poll(c->rk, 0); /* serves error_cb */
    if (c->fatal || c->err == RD_KAFKA_RESP_ERR__AUTHENTICATION || c->err == RD_KAFKA_RESP_ERR__SSL ||
        c->err == RD_KAFKA_RESP_ERR__RESOLVE || c->all_brokers_down) {
      unreachable(c);
      return -1;
    }
    if (err != RD_KAFKA_RESP_ERR__TIMED_OUT && err != RD_KAFKA_RESP_ERR__TRANSPORT) {
      cli_kafka_error(o, "cannot read the cluster metadata", err, NULL, NULL);
      return -1;
    }
    if (cli_now_ms() >= deadline) {
      if (c->err)
        unreachable(c);
      else
        cli_error(o,
                  "no answer from %s within %.1fs: is it a Kafka broker, and is it the address clients should use? "
                  "(a longer --timeout may help)",
                  o->bootstrap, o->timeout_ms / 1000.0);
      return -1;
    }
  }
}

const rd_kafka_metadata_topic_t *cli_md_topic(const rd_kafka_metadata_t *md, const char *topic) {
  for (int i = 0; i < md->topic_cnt; i++)
    if (strcmp(md->topics[i].topic, topic) == 0)
      return &md->topics[i];
  return NULL;
}

const rd_kafka_metadata_topic_t *cli_md_require_topic(const cli_client_t *c, const rd_kafka_metadata_t *md,
                                                      const char *topic) {
  const rd_kafka_metadata_topic_t *t = cli_md_topic(md, topic);
  if (t == NULL || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    cli_error(c->opts,
              "topic '%s' does not exist (`beck topic list` shows the topics; `beck topic create %s` makes it)", topic,
              topic);
    return NULL;
  }
  if (t->err) {
    char what[512];
    snprintf(what, sizeof what, "topic '%s'", topic);
    cli_kafka_error(c->opts, what, t->err, NULL, NULL);
    return NULL;
  }
  return t;
}

/* ---- admin requests ------------------------------------------------------------ */

rd_kafka_AdminOptions_t *cli_admin_options(cli_client_t *c, rd_kafka_admin_op_t op) {
  rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(c->rk, op);
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(ao, c->opts->timeout_ms, errstr, sizeof errstr);
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
      op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS)
    rd_kafka_AdminOptions_set_operation_timeout(ao, c->opts->timeout_ms, errstr, sizeof errstr);
  return ao;
}

rd_kafka_event_t *cli_admin_wait(cli_client_t *c, rd_kafka_queue_t *q, const char *what) {
  int64_t deadline = cli_now_ms() + c->opts->timeout_ms + 5000; /* the request times out first */
  rd_kafka_event_t *ev = NULL;
  while (ev == NULL) {
    ev = rd_kafka_queue_poll(q, 200);
    if (!c->redirected)
      rd_kafka_poll(c->rk, 0);
    if (ev == NULL && cli_now_ms() > deadline) {
      cli_kafka_error(c->opts, what, RD_KAFKA_RESP_ERR__TIMED_OUT, "no answer from the cluster", NULL);
      return NULL;
    }
  }
  rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
  if (err) {
    cli_kafka_error(c->opts, what, err, rd_kafka_event_error_string(ev), NULL);
    rd_kafka_event_destroy(ev);
    return NULL;
  }
  return ev;
}

/* ---- one request over a plain connection ------------------------------------------ */

/* Waits until fd is ready for events: 1 ready, 0 deadline passed, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - cli_now_ms();
    if (left <= 0)
      return 0;
    struct pollfd pfd = {.fd = fd, .events = events};
    int r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
    if (r > 0)
      return 1;
    if (r == 0)
      return 0;
    if (errno != EINTR)
      return -1;
  }
}

static int wire_connect(const char *host, int port, int64_t deadline, char *why, size_t whylen) {
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
  int rc = getaddrinfo(host, service, &hints, &ai);
  if (rc != 0) {
    snprintf(why, whylen, "cannot resolve %s: %s", host, gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      snprintf(why, whylen, "cannot connect: %s", strerror(errno));
      continue;
    }
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
      break;
    int err = errno;
    if (err == EINPROGRESS) {
      int w = wait_fd(fd, POLLOUT, deadline);
      socklen_t len = sizeof err;
      err = w < 0 ? errno : 0;
      if (w > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
        break;
      if (w == 0)
        err = ETIMEDOUT;
    }
    snprintf(why, whylen, "cannot connect: %s", strerror(err));
    close(fd);
    fd = -1;
  }
  freeaddrinfo(ai);
  return fd;
}

/* Reads exactly n bytes: 0 done, 1 the peer closed (or reset) before the
 * first byte, -1 anything else (why says what). */
static int read_full(int fd, uint8_t *p, size_t n, int64_t deadline, int timeout_ms, char *why, size_t whylen) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, p + got, n - got, 0);
    if (r > 0) {
      got += (size_t)r;
      continue;
    }
    if (r == 0 || errno == ECONNRESET) {
      if (got == 0)
        return 1;
      snprintf(why, whylen, "the connection closed in the middle of the answer");
      return -1;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      snprintf(why, whylen, "cannot read the answer: %s", strerror(errno));
      return -1;
    }
    int w = wait_fd(fd, POLLIN, deadline);
    if (w <= 0) {
      if (w == 0)
        snprintf(why, whylen, "no answer within %d ms", timeout_ms);
      else
        snprintf(why, whylen, "cannot read the answer: %s", strerror(errno));
      return -1;
    }
  }
  return 0;
}

cli_wire_result_t cli_wire_request(const char *host, int port, int timeout_ms, int16_t api_key, int16_t version,
                                   const void *req, beck_arena_t *arena, void *resp, char *why, size_t whylen) {
  int64_t deadline = cli_now_ms() + timeout_ms;
  beck_buf_t out = {0};
  beck_error_t e;
  beck_error_clear(&e);
  beck_proto_request_header_t h = {.RequestApiKey = api_key,
                                   .RequestApiVersion = version,
                                   .CorrelationId = 1,
                                   .ClientId = {(const uint8_t *)"beck-cli", 8}};
  size_t mark = beck_proto_frame_begin(&out);
  beck_err_t err = beck_proto_request_header_encode(&h, &out);
  if (!err)
    err = beck_proto_encode(api_key, version, true, req, &out, &e);
  if (!err)
    err = beck_proto_frame_end(&out, mark, 0);
  if (err) {
    snprintf(why, whylen, "cannot encode %s v%d: %s", beck_proto_api_name(api_key), version,
             err == BECK_ERR_NOMEM ? "out of memory" : e.msg);
    beck_buf_free(&out);
    return CLI_WIRE_FAILED;
  }
  cli_wire_result_t rc = CLI_WIRE_FAILED;
  int fd = wire_connect(host, port, deadline, why, whylen);
  if (fd < 0)
    goto done;
  for (size_t sent = 0; sent < out.len;) {
    ssize_t r = send(fd, out.data + sent, out.len - sent, MSG_NOSIGNAL);
    if (r > 0) {
      sent += (size_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int w = wait_fd(fd, POLLOUT, deadline);
      if (w <= 0) {
        if (w == 0)
          snprintf(why, whylen, "cannot send within %d ms", timeout_ms);
        else
          snprintf(why, whylen, "cannot send: %s", strerror(errno));
        goto done;
      }
    } else {
      if (errno == EPIPE || errno == ECONNRESET) {
        rc = CLI_WIRE_CLOSED;
        snprintf(why, whylen, "the broker closed the connection");
      } else {
        snprintf(why, whylen, "cannot send: %s", strerror(errno));
      }
      goto done;
    }
  }
  uint8_t size_be[4];
  int r = read_full(fd, size_be, sizeof size_be, deadline, timeout_ms, why, whylen);
  if (r != 0) {
    if (r == 1) {
      rc = CLI_WIRE_CLOSED;
      snprintf(why, whylen, "the broker closed the connection without answering %s v%d", beck_proto_api_name(api_key),
               version);
    }
    goto done;
  }
  int32_t size = (int32_t)beck_load_be32(size_be);
  if (size < 4 || size > BECK_PROTO_MAX_FRAME) {
    snprintf(why, whylen, "the answer claims %" PRId32 " bytes", size);
    goto done;
  }
  uint8_t *frame = beck_arena_alloc(arena, (size_t)size);
  if (frame == NULL) {
    snprintf(why, whylen, "out of memory for an answer of %" PRId32 " bytes", size);
    goto done;
  }
  if ((r = read_full(fd, frame, (size_t)size, deadline, timeout_ms, why, whylen)) != 0) {
    if (r == 1)
      snprintf(why, whylen, "the connection closed in the middle of the answer");
    goto done;
  }
  int32_t corr;
  size_t hsize;
  if (beck_proto_response_header_decode(api_key, version, frame, (size_t)size, &corr, &hsize, &e) != BECK_ERR_OK ||
      beck_proto_decode(api_key, version, false, frame + hsize, (size_t)size - hsize, arena, resp, &e) != BECK_ERR_OK) {
    snprintf(why, whylen, "cannot read the answer: %s", e.msg);
    goto done;
  }
  if (corr != h.CorrelationId) {
    snprintf(why, whylen, "the answer is for request %" PRId32 ", not %" PRId32, corr, h.CorrelationId);
    goto done;
  }
  rc = CLI_WIRE_OK;
done:
  if (fd >= 0)
    close(fd);
  beck_buf_free(&out);
  return rc;
}

/* ---- offsets ------------------------------------------------------------------- */

/* offsets_for_times on a copy of parts with every offset set to ts. */
static rd_kafka_topic_partition_list_t *query_times(cli_client_t *c, const rd_kafka_topic_partition_list_t *parts,
                                                    int64_t ts) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(parts);
  for (int i = 0; i < l->cnt; i++) {
    l->elems[i].offset = ts;
    l->elems[i].err = 0;
  }
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(c->rk, l, c->opts->timeout_ms);
  if (err) {
    cli_kafka_error(c->opts, "cannot read partition offsets", err, NULL, NULL);
    rd_kafka_topic_partition_list_destroy(l);
    return NULL;
  }
  return l;
}

int cli_watermarks(cli_client_t *c, const rd_kafka_topic_partition_list_t *parts, int64_t *lo, int64_t *hi) {
  if (parts->cnt == 0)
    return 0;
  rd_kafka_topic_partition_list_t *a = query_times(c, parts, -2), *b = a ? query_times(c, parts, -1) : NULL;
  if (b == NULL) {
    if (a)
      rd_kafka_topic_partition_list_destroy(a);
    return -1;
  }
  for (int i = 0; i < parts->cnt; i++) {
    bool ok = a->elems[i].err == 0 && b->elems[i].err == 0;
    lo[i] = ok ? a->elems[i].offset : -1;
    hi[i] = ok ? b->elems[i].offset : -1;
  }
  rd_kafka_topic_partition_list_destroy(a);
  rd_kafka_topic_partition_list_destroy(b);
  return 0;
}

int cli_resolve_position(cli_client_t *c, rd_kafka_topic_partition_list_t *parts, const cli_position_t *pos) {
  if (parts->cnt == 0)
    return 0;
  int64_t *lo = cli_xcalloc((size_t)parts->cnt, sizeof *lo), *hi = cli_xcalloc((size_t)parts->cnt, sizeof *hi);
  rd_kafka_topic_partition_list_t *t = NULL;
  int rc = -1;
  if (cli_watermarks(c, parts, lo, hi) < 0)
    goto out;
  if (pos->kind == CLI_POS_TIME && (t = query_times(c, parts, pos->value)) == NULL)
    goto out;
  for (int i = 0; i < parts->cnt; i++) {
    rd_kafka_topic_partition_t *p = &parts->elems[i];
    if (lo[i] < 0 || (t && t->elems[i].err)) {
      char what[512];
      snprintf(what, sizeof what, "cannot read the offsets of %s-%d", p->topic, p->partition);
      cli_kafka_error(c->opts, what, t && t->elems[i].err ? t->elems[i].err : RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
                      NULL, NULL);
      goto out;
    }
    switch (pos->kind) {
    case CLI_POS_BEGINNING:
      p->offset = lo[i];
      break;
    case CLI_POS_END:
      p->offset = hi[i];
      break;
    case CLI_POS_OFFSET:
      p->offset = pos->value;
      break;
    case CLI_POS_TAIL:
      p->offset = hi[i] - pos->value > lo[i] ? hi[i] - pos->value : lo[i];
      break;
    case CLI_POS_TIME:
      p->offset = t->elems[i].offset >= 0 ? t->elems[i].offset : hi[i];
      break;
    }
  }
  rc = 0;
out:
  if (t)
    rd_kafka_topic_partition_list_destroy(t);
  beck_free(lo);
  beck_free(hi);
  return rc;
}

/* ---- positions ------------------------------------------------------------------- */

static bool all_digits(const char *s) {
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

/* "2024-05-01", "2024-05-01T12:00", "2024-05-01T12:00:00.250Z",
 * "2024-05-01 12:00:00+02:00"; UTC unless an offset is given. */
static int parse_iso_time(const char *s, int64_t *ms) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *p = strptime(s, "%Y-%m-%d", &tm);
  if (p == NULL)
    return -1;
  int frac_ms = 0;
  if (*p == 'T' || *p == ' ') {
    const char *q = strptime(p + 1, "%H:%M", &tm);
    if (q == NULL)
      return -1;
    p = q;
    if (*p == ':') {
      q = strptime(p + 1, "%S", &tm);
      if (q == NULL)
        return -1;
      p = q;
      if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
          if (digits < 3)
            frac_ms = frac_ms * 10 + (*p - '0');
        for (; digits < 3; digits++)
          frac_ms *= 10;
      }
    }
  }
  int64_t offset_s = 0;
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int hh, mm;
    char sign = *p;
    if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
      return -1;
    offset_s = (int64_t)(hh * 3600 + mm * 60) * (sign == '+' ? 1 : -1);
    p += 6;
  }
  if (*p != '\0')
    return -1;
  time_t t = timegm(&tm);
  *ms = ((int64_t)t - offset_s) * 1000 + frac_ms;
  return 0;
}

int cli_parse_position(const char *s, cli_position_t *pos, char *err, size_t errlen) {
  int64_t v;
  if (!strcmp(s, "beginning") || !strcmp(s, "earliest") || !strcmp(s, "start") || !strcmp(s, "oldest")) {
    pos->kind = CLI_POS_BEGINNING;
    pos->value = 0;
  } else if (!strcmp(s, "end") || !strcmp(s, "latest") || !strcmp(s, "newest")) {
    pos->kind = CLI_POS_END;
    pos->value = 0;
  } else if (all_digits(s) && cli_parse_int(s, 0, INT64_MAX, &v) == 0) {
    pos->kind = CLI_POS_OFFSET;
    pos->value = v;
  } else if (s[0] == '-' && all_digits(s + 1) && cli_parse_int(s + 1, 1, INT64_MAX / 2, &v) == 0) {
    pos->kind = CLI_POS_TAIL;
    pos->value = v;
  } else if (s[0] == '-' && cli_parse_duration_ms(s + 1, &v) == 0) {
    pos->kind = CLI_POS_TIME;
    pos->value = cli_wall_ms() - v;
  } else if (s[0] == '@' && all_digits(s + 1) && cli_parse_int(s + 1, 0, INT64_MAX, &v) == 0) {
    pos->kind = CLI_POS_TIME;
    pos->value = v;
  } else if (parse_iso_time(s, &v) == 0) {
    pos->kind = CLI_POS_TIME;
    pos->value = v;
  } else {
    snprintf(err, errlen,
             "'%s' is not a position: use beginning, end, an offset (1234), -N (N records before the end), "
             "a time (2024-05-01T12:00:00Z, @MS_SINCE_EPOCH) or -DURATION ago (-10m, -2h)",
             s);
    return -1;
  }
  return 0;
}

/* ---- command groups and JSON errors ------------------------------------------------ */

int cli_dispatch(const char *group, const char *summary, const beck_cli_command_t *subs, int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : NULL;
  bool help = sub && (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help"));
  if (sub && !help)
    for (const beck_cli_command_t *s = subs; s->name; s++)
      if (strcmp(s->name, sub) == 0)
        return s->run(argc - 1, argv + 1);
  if (sub && !help) {
    const char *names[32];
    int n = 0;
    for (const beck_cli_command_t *s = subs; s->name && n < 32; s++)
      names[n++] = s->name;
    const char *guess = cli_suggest(sub, names, n);
    if (guess) {
      fprintf(stderr, "beck %s: unknown subcommand '%s' (did you mean '%s'?)\n", group, sub, guess);
    } else {
      fprintf(stderr, "beck %s: unknown subcommand '%s': expected ", group, sub);
      for (int i = 0; i < n; i++)
        fprintf(stderr, "%s%s", names[i], i + 2 < n ? ", " : i + 1 < n ? " or " : "\n");
    }
    fprintf(stderr, "Run `beck %s --help` for the subcommands.\n", group);
    return CLI_EXIT_USAGE;
  }
  FILE *out = help ? stdout : stderr;
  fprintf(out, "Usage: beck %s SUBCOMMAND [ARGS...]\n\n%s\n\nSubcommands:\n", group, summary);
  for (const beck_cli_command_t *s = subs; s->name; s++)
    fprintf(out, "  %-16s %s\n", s->name, s->summary);
  fprintf(out, "\nRun `beck %s SUBCOMMAND --help` for its options and examples.\n", group);
  return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

json_t *cli_json_error(rd_kafka_resp_err_t err, const char *errstr) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    return json_null();
  json_t *e = json_object();
  const char *name = rd_kafka_err2name(err);
  json_object_set_new(e, "code", json_string(name[0] == '_' ? name + 1 : name));
  json_object_set_new(e, "message", cli_json_str_or_null(errstr && *errstr ? errstr : rd_kafka_err2str(err)));
  return e;
}
