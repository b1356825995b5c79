/*
 * kafka_util.h - what every client command of `beck` shares
 * (cli/kafka_util.c): the common options, argument parsing with --help,
 * connecting to a cluster through librdkafka, and turning Kafka errors into
 * messages that say what failed and what to try.
 *
 * The client commands (topic, produce, consume, group, cluster) talk to any
 * Kafka-protocol cluster, Beck's own broker included, through librdkafka.
 * The one exception is a request librdkafka 2.0.2 has no call for
 * (DescribeLogDirs, for `topic describe`'s sizes): cli_wire_request() sends
 * it with core/proto's codec over one plain TCP connection to one broker.
 *
 * Exit statuses: 0 success, 1 the operation failed (also partly: one of three
 * topics could not be created), 2 bad usage.
 */
#ifndef BECK_CLI_KAFKA_UTIL_H
#define BECK_CLI_KAFKA_UTIL_H

#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "cli.h"
#include "output.h"

#define CLI_DEFAULT_BOOTSTRAP "127.0.0.1:9092"
#define CLI_DEFAULT_TIMEOUT_MS 10000

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* The options every client command takes. */
typedef struct cli_opts {
  const char *cmd;       /* "topic create": the prefix of every message */
  const char *bootstrap; /* --bootstrap, else $BECK_BOOTSTRAP, else 127.0.0.1:9092 */
  cli_output_t output;   /* --output table|json (--json) */
  int timeout_ms;        /* --timeout: how long to wait for the cluster */
  const char **props;    /* -X key=value librdkafka properties, in order */
  int nprops;
} cli_opts_t;

/* One command's arguments: its usage text and its own options. The common
 * options (-b, --output, --json, --timeout, -X, -h) are added by cli_parse. */
typedef struct cli_spec {
  const char *cmd;               /* "topic create" */
  const char *help;              /* "Usage: ..." lines, what it does, its own options; ends with '\n' */
  const char *examples;          /* the "Examples:" block printed after the common options */
  const char *shortopts;         /* the command's own short options ("" if none) */
  const struct option *longopts; /* the command's own long options, {0}-terminated; may be NULL */
  /* Called for each of the command's own options; returns 0, or -1 after
   * printing what is wrong with the value. */
  int (*on_opt)(void *ctx, int ch, const char *arg);
  int min_args, max_args; /* positional arguments; max_args -1 = any number */
  const char *arg_name;   /* what they are, for "missing TOPIC" */
} cli_spec_t;

/* Parses argv (argv[0] is the command name) into o and, through
 * spec->on_opt, into ctx. Options and positional arguments may be mixed.
 * Returns true to go on with the positional arguments argv[*first..argc);
 * then o->props is the caller's to beck_free(). Returns false when the
 * command must exit with *status (0 after --help, 2 after a usage error,
 * which has been printed with a pointer to --help); nothing to free then. */
bool cli_parse(const cli_spec_t *spec, int argc, char **argv, cli_opts_t *o, void *ctx, int *first, int *status);

/* Runs the subcommand of a command group ("topic create ..."): argv[0] is
 * the group, argv[1] the subcommand. Without one, or with --help, prints the
 * group's subcommands. Returns the exit status. */
int cli_dispatch(const char *group, const char *summary, const beck_cli_command_t *subs, int argc, char **argv);

/* The candidate closest to word within two edits ("craete" -> "create"), or
 * NULL. Borrows everything; returns one of the candidates. */
const char *cli_suggest(const char *word, const char *const *candidates, int n);

/* Prints "beck CMD: MESSAGE\n" to stderr. */
void cli_error(const cli_opts_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "beck CMD: MESSAGE\n" and a pointer to --help; returns -1 (for on_opt). */
int cli_usage_error(const cli_opts_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A hint for a Kafka or librdkafka error ("`beck topic list` shows the
 * topics"), or NULL when there is nothing useful to add. Static string. */
const char *cli_hint(rd_kafka_resp_err_t err);
/* Prints "beck CMD: WHAT: ERRSTR (HINT)" where HINT is cli_hint(err) unless
 * hint overrides it (hint may be NULL). errstr NULL: rd_kafka_err2str(err). */
void cli_kafka_error(const cli_opts_t *o, const char *what, rd_kafka_resp_err_t err, const char *errstr,
                     const char *hint);

/* A JSON error object {"code": "TOPIC_ALREADY_EXISTS", "message": "..."}
 * (code from rd_kafka_err2name, message errstr or rd_kafka_err2str), or JSON
 * null when err is 0. */
json_t *cli_json_error(rd_kafka_resp_err_t err, const char *errstr);

/* ---- the connection ----------------------------------------------------- */

typedef struct cli_api_version {
  char broker[128]; /* "host:port" as librdkafka names the connection */
  char name[48];    /* "Produce" */
  int key, min, max;
} cli_api_version_t;

/* A librdkafka handle plus what its callbacks observed. Stays at one address
 * while open (the callbacks point at it). */
typedef struct cli_client {
  rd_kafka_t *rk;
  const cli_opts_t *opts;
  void *user;              /* the command's own state for its callbacks */
  bool all_brokers_down;   /* error_cb saw _ALL_BROKERS_DOWN */
  rd_kafka_resp_err_t err; /* the last error error_cb saw, with its text */
  char errstr[512];
  bool fatal;         /* a fatal error (idempotent producer) */
  bool log_to_stderr; /* -X debug=...: librdkafka's log goes to stderr */
  bool capture_apis;  /* record the ApiVersions of each broker from the log */
  cli_api_version_t *apis;
  int napis, apis_cap;
  pthread_mutex_t lock; /* guards apis: the log callback runs on librdkafka's threads */
  bool redirected;      /* the main queue goes to the consumer queue: no rd_kafka_poll() */
} cli_client_t;

/* Creates the librdkafka handle of the given type for o's cluster: bootstrap
 * servers, -X properties, then conf (taken over whatever happens; may be
 * NULL). The connection is made lazily; cli_client_metadata() checks it.
 * Returns 0, or -1 after printing why. */
int cli_client_open(cli_client_t *c, const cli_opts_t *o, rd_kafka_type_t type, rd_kafka_conf_t *conf);
/* Like cli_client_open, with a few properties of the command's own first
 * (NULL-terminated key, value pairs; -X still overrides them). */
int cli_client_open_with(cli_client_t *c, const cli_opts_t *o, rd_kafka_type_t type, const char *const *kv);
/* Cluster metadata (all topics when all_topics, else only brokers and known
 * topics), waiting at most --timeout for the cluster and failing fast when
 * every broker refuses the connection: then prints "cannot reach
 * BOOTSTRAP: ... is a broker running? ..." and returns -1. On success *md is
 * the caller's to rd_kafka_metadata_destroy(). */
int cli_client_metadata(cli_client_t *c, bool all_topics, const rd_kafka_metadata_t **md);
/* Destroys the handle and frees what the callbacks recorded. */
void cli_client_close(cli_client_t *c);

/* Finds topic in md, or NULL. */
const rd_kafka_metadata_topic_t *cli_md_topic(const rd_kafka_metadata_t *md, const char *topic);
/* Prints "topic 'T' does not exist (`beck topic list` shows the topics, `beck
 * topic create T` makes it)" when md lacks topic, or its metadata error;
 * returns the topic or NULL. */
const rd_kafka_metadata_topic_t *cli_md_require_topic(const cli_client_t *c, const rd_kafka_metadata_t *md,
                                                      const char *topic);

/* ---- admin requests ------------------------------------------------------ */

/* Admin options with the request and operation timeouts set from --timeout. */
rd_kafka_AdminOptions_t *cli_admin_options(cli_client_t *c, rd_kafka_admin_op_t op);
/* Waits for the result of an admin request sent to q. Returns the event
 * (the caller destroys it), or NULL after printing "WHAT: ERROR" when the
 * whole request failed. */
rd_kafka_event_t *cli_admin_wait(cli_client_t *c, rd_kafka_queue_t *q, const char *what);

/* ---- one request over a plain connection -------------------------------- */

typedef enum {
  CLI_WIRE_OK = 0,
  CLI_WIRE_FAILED = -1, /* no connection, no answer in time, or an answer that does not parse */
  CLI_WIRE_CLOSED = -2, /* closed without an answer: what Kafka and Beck do with an API or
                           version they do not speak */
} cli_wire_result_t;

/* Sends one request of api_key at version (*req: the codec's request struct,
 * borrowed for the call) to host:port over a new TCP connection, reads the
 * answer and decodes it into *resp (the matching response struct). Plaintext
 * only (no TLS, no SASL). Takes at most timeout_ms in all. The answer's
 * bytes are allocated from arena and *resp borrows from them: both live
 * until the arena is reset. On failure why says what happened ("connection
 * refused", "timed out after 10000 ms"). Blocks the calling thread. */
cli_wire_result_t cli_wire_request(const char *host, int port, int timeout_ms, int16_t api_key, int16_t version,
                                   const void *req, beck_arena_t *arena, void *resp, char *why, size_t whylen);

/* ---- offsets -------------------------------------------------------------- */

/* Fills lo[i] / hi[i] with the log start and end offsets of each partition
 * of parts (one ListOffsets round per broker, not one per partition).
 * A partition whose offsets cannot be read gets -1 in both. Returns 0, or
 * -1 after printing why the whole request failed. */
int cli_watermarks(cli_client_t *c, const rd_kafka_topic_partition_list_t *parts, int64_t *lo, int64_t *hi);

/* Where to start reading, or where to move a group: the grammar shared by
 * `consume --from` and `group reset --to` (docs/cli.md, "Positions"). */
typedef enum {
  CLI_POS_BEGINNING, /* beginning, earliest, start, oldest */
  CLI_POS_END,       /* end, latest, newest */
  CLI_POS_OFFSET,    /* 1234: that offset */
  CLI_POS_TAIL,      /* -10: ten records before the end (consume only) */
  CLI_POS_TIME,      /* @1714564800000, 2024-05-01T12:00:00Z, 2024-05-01, -10m / -2h / -1d ago */
} cli_pos_kind_t;

typedef struct cli_position {
  cli_pos_kind_t kind;
  int64_t value; /* the offset, the count for TAIL, ms since the epoch for TIME */
} cli_position_t;

/* An offset this large is more likely a time in ms (1973 onwards) that
 * lacks its '@': worth a note when it is past the end. */
#define CLI_LOOKS_LIKE_MS INT64_C(100000000000)

/* Parses a position; returns 0, or -1 with why in err. */
int cli_parse_position(const char *s, cli_position_t *pos, char *err, size_t errlen);
/* Sets the offset of every partition of parts to where pos points, as an
 * absolute offset (TIME through offsets-for-times: the first record at or
 * after the time, or the end when there is none). TAIL resolves to
 * max(start, end - n). Returns 0, or -1 after printing why. */
int cli_resolve_position(cli_client_t *c, rd_kafka_topic_partition_list_t *parts, const cli_position_t *pos);

/* ---- small parsers ------------------------------------------------------- */

/* "10s", "500ms", "2m", "1h", "1d", or a bare number of seconds. */
int cli_parse_duration_ms(const char *s, int64_t *ms);
/* A decimal integer in [min, max]. */
int cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* Splits "key=value" at the first '='; key must not be empty. Returns 0 or -1.
 * *key is a new string the caller frees (free()), *value points into s. */
int cli_split_kv(const char *s, char **key, const char **value);
/* Appends s (borrowed) to a growable array of borrowed strings. */
void cli_strv_push(const char ***v, int *n, const char *s);
/* Milliseconds on the monotonic clock. */
int64_t cli_now_ms(void);
/* Milliseconds since the epoch. */
int64_t cli_wall_ms(void);

#endif
