/*
 * cmd_produce.c - `beck produce TOPIC`: one record per input line, from
 * stdin or --file, through librdkafka's producer; prints how many records
 * the cluster acknowledged and at which offsets, per partition.
 *
 * Lines: the trailing '\n' is removed and nothing else (a '\r' stays part of
 * the value); an empty line is an empty value. With --key-separator the
 * line is split at the first separator into key and value; a line without it
 * has no key. Headers from --header go on every record.
 *
 * Delivery: acks=all (the default) turns on the idempotent producer, so a
 * retried batch is never stored twice and each partition keeps input order.
 * Delivery reports arrive on this thread through rd_kafka_poll(); the
 * summary is complete once rd_kafka_flush() has drained the queue.
 *
 * Progress: a large produce from a file or a redirected stdin shows a
 * one-line progress meter on stderr, only when stderr is a terminal and the
 * input is not (nothing for pipes and scripts, nothing while typing), and
 * only after the first second. With stdin a terminal, each acknowledgement
 * is printed as it comes, like a conversation.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "kafka_util.h"

enum { OPT_ACKS = 3001 };

typedef struct part_stats {
  int64_t records, first, last;
} part_stats_t;

typedef struct produce_args {
  const cli_opts_t *o;
  const char *file, *key, *key_sep, *compression, *acks;
  const char **headers; /* KEY=VALUE, borrowed from argv */
  int nheaders;
  int64_t partition;
  bool quiet;
} produce_args_t;

typedef struct produce_state {
  part_stats_t *parts; /* by partition id */
  int nparts;
  int64_t sent, acked, failed;
  rd_kafka_resp_err_t first_err;
  char first_errstr[512];
  bool echo; /* print each acknowledgement (stdin is a terminal) */
  const char *topic;
} produce_state_t;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  interrupted = 1;
  signal(sig, SIG_DFL); /* a second Ctrl-C kills */
}

static int produce_opt(void *ctx, int ch, const char *arg) {
  produce_args_t *a = ctx;
  switch (ch) {
  case 'f':
    a->file = arg;
    return 0;
  case 'k':
    a->key = arg;
    return 0;
  case 'K':
    if (*arg == '\0')
      return cli_usage_error(a->o, "--key-separator must not be empty");
    a->key_sep = arg;
    return 0;
  case 'H':
    if (strchr(arg, '=') == NULL || arg[0] == '=')
      return cli_usage_error(a->o, "--header: expected KEY=VALUE, got '%s'", arg);
    cli_strv_push(&a->headers, &a->nheaders, arg);
    return 0;
  case 'p':
    if (cli_parse_int(arg, 0, INT32_MAX, &a->partition) < 0)
      return cli_usage_error(a->o, "--partition: expected a partition number, got '%s'", arg);
    return 0;
  case 'z':
    if (strcmp(arg, "none") && strcmp(arg, "gzip") && strcmp(arg, "snappy") && strcmp(arg, "lz4") &&
        strcmp(arg, "zstd"))
      return cli_usage_error(a->o, "--compression: expected none, gzip, snappy, lz4 or zstd, got '%s'", arg);
    a->compression = arg;
    return 0;
  case OPT_ACKS:
    if (strcmp(arg, "all") == 0 || strcmp(arg, "-1") == 0)
      a->acks = "all";
    else if (strcmp(arg, "0") == 0 || strcmp(arg, "1") == 0)
      a->acks = arg;
    else
      return cli_usage_error(a->o, "--acks: expected all, 1 or 0, got '%s'", arg);
    return 0;
  case 'q':
    a->quiet = true;
    return 0;
  }
  return -1;
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  produce_state_t *s = ((cli_client_t *)opaque)->user;
  if (m->err) {
    s->failed++;
    if (!s->first_err) {
      s->first_err = m->err;
      snprintf(s->first_errstr, sizeof s->first_errstr, "%s", rd_kafka_message_errstr(m));
    }
    if (s->echo)
      fprintf(stderr, "not delivered: %s\n", rd_kafka_message_errstr(m));
    return;
  }
  s->acked++;
  if (m->partition >= 0 && m->partition < s->nparts) {
    part_stats_t *p = &s->parts[m->partition];
    if (p->records++ == 0 || (m->offset >= 0 && m->offset < p->first))
      p->first = m->offset;
    if (m->offset > p->last)
      p->last = m->offset;
  }
  if (s->echo) {
    if (m->offset >= 0)
      printf("acknowledged: partition %d offset %lld\n", m->partition, (long long)m->offset);
    else
      printf("sent to partition %d (acks=0: no offset)\n", m->partition);
    fflush(stdout);
  }
}

/* ---- progress -------------------------------------------------------------- */

typedef struct progress {
  bool on;
  int64_t start_ms, last_ms, total_bytes; /* total_bytes 0: unknown */
  bool shown;
} progress_t;

static void progress_show(progress_t *p, const produce_state_t *s, int64_t bytes, bool force) {
  if (!p->on)
    return;
  int64_t now = cli_now_ms();
  if (!force && (now - p->start_ms < 1000 || now - p->last_ms < 250))
    return;
  p->last_ms = now;
  p->shown = true;
  char sent[32], acked[32], rate[32];
  double secs = (double)(now - p->start_ms) / 1000.0;
  cli_fmt_count(sent, sizeof sent, (uint64_t)s->sent);
  cli_fmt_count(acked, sizeof acked, (uint64_t)s->acked);
  cli_fmt_count(rate, sizeof rate, (uint64_t)(secs > 0 ? (double)s->acked / secs : 0));
  if (p->total_bytes > 0)
    fprintf(stderr, "\r\033[Kproducing: %3d%%  %s records read, %s acknowledged, %s records/s",
            (int)(100 * bytes / p->total_bytes), sent, acked, rate);
  else
    fprintf(stderr, "\r\033[Kproducing: %s records read, %s acknowledged, %s records/s", sent, acked, rate);
}

static void progress_end(progress_t *p) {
  if (p->shown)
    fputs("\r\033[K", stderr);
}

/* ---- the command --------------------------------------------------------------- */

static int print_summary(const cli_opts_t *o, const produce_state_t *s) {
  int rc = s->failed || s->acked < s->sent ? CLI_EXIT_FAIL : CLI_EXIT_OK;
  int64_t lost = s->sent - s->acked - s->failed; /* still queued when we gave up */
  if (o->output == CLI_OUTPUT_JSON) {
    json_t *parts = json_array();
    for (int i = 0; i < s->nparts; i++) {
      const part_stats_t *p = &s->parts[i];
      if (p->records == 0)
        continue;
      json_t *j = json_object();
      json_object_set_new(j, "partition", json_integer(i));
      json_object_set_new(j, "records", json_integer(p->records));
      json_object_set_new(j, "first_offset", cli_json_offset(p->first));
      json_object_set_new(j, "last_offset", cli_json_offset(p->last));
      json_array_append_new(parts, j);
    }
    json_t *top = json_object();
    json_object_set_new(top, "topic", json_string(s->topic));
    json_object_set_new(top, "records", json_integer(s->sent));
    json_object_set_new(top, "acknowledged", json_integer(s->acked));
    json_object_set_new(top, "failed", json_integer(s->failed + lost));
    json_object_set_new(top, "partitions", parts);
    json_object_set_new(top, "error", cli_json_error(s->first_err, s->first_errstr));
    if (cli_json_print(top, false) < 0)
      rc = CLI_EXIT_FAIL;
    json_decref(top);
  } else {
    char n[32];
    printf("%s record%s acknowledged by %s", cli_fmt_count(n, sizeof n, (uint64_t)s->acked), s->acked == 1 ? "" : "s",
           s->topic);
    if (s->failed + lost)
      printf(", %s failed", cli_fmt_count(n, sizeof n, (uint64_t)(s->failed + lost)));
    printf("\n");
    if (s->acked) {
      static const char *const hdr[] = {"PARTITION", "RECORDS", "FIRST-OFFSET", "LAST-OFFSET"};
      cli_table_t *t = cli_table_new(4, hdr);
      for (int i = 0; i < s->nparts; i++) {
        const part_stats_t *p = &s->parts[i];
        if (p->records == 0)
          continue;
        cli_table_cell(t, "%d", i);
        cli_table_cell(t, "%lld", (long long)p->records);
        cli_table_offset(t, p->first);
        cli_table_offset(t, p->last);
      }
      cli_table_print(t, stdout, 0);
      cli_table_destroy(t);
    }
  }
  if (s->first_err)
    cli_kafka_error(o, "records were not delivered", s->first_err, s->first_errstr, NULL);
  else if (lost)
    cli_error(o, "%lld records were still waiting for the cluster when the command gave up", (long long)lost);
  return rc;
}

int cmd_produce(int argc, char **argv) {
  static const struct option longopts[] = {
      {"file", required_argument, NULL, 'f'},
      {"key", required_argument, NULL, 'k'},
      {"key-separator", required_argument, NULL, 'K'},
      {"header", required_argument, NULL, 'H'},
      {"partition", required_argument, NULL, 'p'},
      {"compression", required_argument, NULL, 'z'},
      {"acks", required_argument, NULL, OPT_ACKS},
      {"quiet", no_argument, NULL, 'q'},
      {NULL, 0, NULL, 0},
  };
  static const cli_spec_t spec = {
      .cmd = "produce",
      .help = "Usage: beck produce TOPIC [-f FILE] [-K SEP] [-H KEY=VALUE]... [-p N] [-z CODEC] [--acks all|1|0]\n"
              "\n"
              "Sends one record per input line (stdin, or --file) and prints how many the\n"
              "cluster acknowledged and at which offsets. Exits 1 if any record failed.\n"
              "\n"
              "Options:\n"
              "  -f, --file FILE           read lines from FILE instead of stdin\n"
              "  -K, --key-separator SEP   split each line at the first SEP into key and value\n"
              "                            (a line without SEP gets no key)\n"
              "  -k, --key KEY             the same key for every record\n"
              "  -H, --header KEY=VALUE    a header on every record (repeatable)\n"
              "  -p, --partition N         send every record to partition N (default: by key,\n"
              "                            records without a key are spread)\n"
              "  -z, --compression CODEC   none, gzip, snappy, lz4 or zstd (default: none)\n"
              "      --acks all|1|0        all: stored by every in-sync replica (default, idempotent);\n"
              "                            1: by the leader; 0: no acknowledgement, no offsets\n"
              "  -q, --quiet               no progress meter\n",
      .examples = "Examples:\n"
                  "  echo 'hello' | beck produce greetings\n"
                  "  printf 'user1:clicked\\nuser2:scrolled\\n' | beck produce events -K : -H source=web\n"
                  "  beck produce orders -f orders.jsonl -z zstd --json\n",
      .shortopts = "f:k:K:H:p:z:q",
      .longopts = longopts,
      .on_opt = produce_opt,
      .min_args = 1,
      .max_args = 1,
      .arg_name = "TOPIC",
  };
  cli_opts_t o;
  produce_args_t a = {.o = &o, .partition = -1, .acks = "all", .compression = "none"};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  if (a.key && a.key_sep) {
    cli_usage_error(&o, "--key and --key-separator cannot be used together");
    return CLI_EXIT_USAGE;
  }
  const char *topic = argv[first];
  FILE *in = stdin;
  if (a.file && strcmp(a.file, "-") != 0 && (in = fopen(a.file, "r")) == NULL) {
    cli_error(&o, "cannot open %s: %s", a.file, strerror(errno));
    return CLI_EXIT_FAIL;
  }

  produce_state_t s = {.topic = topic};
  cli_client_t c = {.user = &s};
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char mto[32];
  snprintf(mto, sizeof mto, "%d", o.timeout_ms > 30000 ? o.timeout_ms : 30000);
  const char *kv[][2] = {{"acks", a.acks},
                         {"enable.idempotence", strcmp(a.acks, "all") == 0 ? "true" : "false"},
                         {"compression.codec", a.compression},
                         {"linger.ms", "5"},
                         {"message.timeout.ms", mto}};
  char errstr[256];
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      cli_error(&o, "%s=%s: %s", kv[i][0], kv[i][1], errstr);
      rd_kafka_conf_destroy(conf);
      return CLI_EXIT_FAIL;
    }
  rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
  int rc = CLI_EXIT_FAIL;
  rd_kafka_headers_t *hdrs = NULL;
  char *line = NULL;
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, conf) < 0)
    goto out;
  const rd_kafka_metadata_t *md;
  if (cli_client_metadata(&c, true, &md) < 0)
    goto out;
  const rd_kafka_metadata_topic_t *t = cli_md_require_topic(&c, md, topic);
  s.nparts = t ? t->partition_cnt : 0;
  rd_kafka_metadata_destroy(md);
  if (t == NULL)
    goto out;
  if (a.partition >= s.nparts) {
    cli_error(&o, "topic '%s' has %d partition%s (0..%d); there is no partition %lld", topic, s.nparts,
              s.nparts == 1 ? "" : "s", s.nparts - 1, (long long)a.partition);
    goto out;
  }
  s.parts = cli_xcalloc((size_t)s.nparts, sizeof *s.parts);
  for (int i = 0; i < s.nparts; i++)
    s.parts[i].first = s.parts[i].last = -1;
  hdrs = rd_kafka_headers_new((size_t)a.nheaders);
  for (int i = 0; i < a.nheaders; i++) {
    const char *eq = strchr(a.headers[i], '=');
    rd_kafka_header_add(hdrs, a.headers[i], eq - a.headers[i], eq + 1, -1);
  }

  bool in_tty = isatty(fileno(in));
  s.echo = in_tty && o.output == CLI_OUTPUT_TABLE;
  progress_t prog = {.on = !a.quiet && !in_tty && isatty(STDERR_FILENO), .start_ms = cli_now_ms()};
  struct stat st;
  if (prog.on && fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
    prog.total_bytes = st.st_size;
  if (in_tty && isatty(STDERR_FILENO))
    fprintf(stderr, "Type one record per line%s; Ctrl-D to finish.\n", a.key_sep ? " (KEY<sep>VALUE)" : "");
  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  size_t cap = 0;
  ssize_t len;
  int64_t bytes = 0;
  size_t seplen = a.key_sep ? strlen(a.key_sep) : 0;
  while (!interrupted && !c.fatal && (len = getline(&line, &cap, in)) >= 0) {
    bytes += len;
    if (len > 0 && line[len - 1] == '\n')
      line[--len] = '\0';
    const char *key = a.key, *value = line;
    size_t keylen = a.key ? strlen(a.key) : 0, vlen = (size_t)len;
    if (a.key_sep) {
      char *sep = memmem(line, (size_t)len, a.key_sep, seplen);
      if (sep) {
        key = line;
        keylen = (size_t)(sep - line);
        value = sep + seplen;
        vlen = (size_t)len - keylen - seplen;
      }
    }
    rd_kafka_resp_err_t err;
    for (;;) {
      rd_kafka_headers_t *h = a.nheaders ? rd_kafka_headers_copy(hdrs) : NULL;
      err = rd_kafka_producev(c.rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)a.partition),
                              RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)value, vlen),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
      if (err && h)
        rd_kafka_headers_destroy(h); /* only a produced record owns its headers */
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || interrupted)
        break;
      rd_kafka_poll(c.rk, 50); /* the queue drains as deliveries are reported */
      progress_show(&prog, &s, bytes, false);
    }
    s.sent++;
    if (err) {
      s.failed++;
      if (!s.first_err) {
        s.first_err = err;
        snprintf(s.first_errstr, sizeof s.first_errstr, "%s", rd_kafka_err2str(err));
      }
    }
    if (s.echo)
      rd_kafka_flush(c.rk, o.timeout_ms);
    else
      rd_kafka_poll(c.rk, 0);
    progress_show(&prog, &s, bytes, false);
  }
  if (ferror(in)) {
    cli_error(&o, "cannot read %s: %s", a.file ? a.file : "stdin", strerror(errno));
  }
  /* wait for the acknowledgements (Ctrl-C again gives up) */
  int64_t deadline = cli_now_ms() + (o.timeout_ms > 30000 ? o.timeout_ms : 30000) + 5000;
  while (rd_kafka_outq_len(c.rk) > 0 && cli_now_ms() < deadline && !c.fatal) {
    rd_kafka_poll(c.rk, 100);
    progress_show(&prog, &s, bytes, false);
  }
  progress_end(&prog);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  if (c.fatal && !s.first_err) {
    s.first_err = c.err;
    snprintf(s.first_errstr, sizeof s.first_errstr, "%s", c.errstr);
  }
  rc = print_summary(&o, &s);
  if (interrupted)
    cli_error(&o, "interrupted: stopped reading after %lld records", (long long)s.sent);
out:
  free(line);
  if (hdrs)
    rd_kafka_headers_destroy(hdrs);
  cli_client_close(&c);
  beck_free(s.parts);
  beck_free(a.headers);
  beck_free(o.props);
  if (in != stdin)
    fclose(in);
  return rc;
}
