/*
 * cmd_consume.c - `beck consume TOPIC...`: prints records as they arrive,
 * through librdkafka's consumer, until --count records, the end of every
 * partition (--exit-at-end), or Ctrl-C.
 *
 * Two modes:
 *   - without --group the partitions are assigned directly (no group, no
 *     commits); --from is resolved to an absolute offset per partition
 *     first (cli_resolve_position), so an offset outside the log is clamped
 *     to its start or end instead of depending on auto.offset.reset;
 *   - with --group the consumer joins the group, which decides the
 *     partitions; --from beginning|end only says where to start in
 *     partitions the group has no committed offset for (auto.offset.reset).
 *     The offset of each record is stored after the record was written to
 *     stdout, committed every 5 s and once more on exit, so what the group
 *     has committed is exactly what was printed.
 *
 * Output: each record is one line in --format (default "%v"), or with
 * --output json one JSON object per line (NDJSON). A closed stdout (`| head`)
 * ends the command quietly. stdout is flushed whenever the consumer is idle,
 * so a pipe sees records as they arrive.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "kafka_util.h"

enum { OPT_FROM = 4001 };

typedef struct consume_args {
  const cli_opts_t *o;
  const char *group, *format;
  cli_position_t from;
  bool from_set, exit_at_end;
  int64_t count;
  int32_t *partitions;
  int npartitions;
} consume_args_t;

/* A partition we read and whether it is at its end right now. */
typedef struct tracked {
  char *topic;
  int32_t partition;
  bool eof;
} tracked_t;

typedef struct consume_state {
  tracked_t *parts;
  int nparts;
  bool assigned; /* the group has given us partitions (group mode) */
} consume_state_t;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  stop_requested = 1;
  signal(sig, SIG_DFL); /* a second Ctrl-C kills */
}

static int consume_opt(void *ctx, int ch, const char *arg) {
  consume_args_t *a = ctx;
  char err[400];
  int64_t v;
  switch (ch) {
  case 'g':
    if (*arg == '\0')
      return cli_usage_error(a->o, "--group must not be empty");
    a->group = arg;
    return 0;
  case 'o':
  case OPT_FROM:
    if (cli_parse_position(arg, &a->from, err, sizeof err) < 0)
      return cli_usage_error(a->o, "--from: %s", err);
    a->from_set = true;
    return 0;
  case 'n':
    if (cli_parse_int(arg, 1, INT64_MAX, &a->count) < 0)
      return cli_usage_error(a->o, "--count: expected a number of records from 1, got '%s'", arg);
    return 0;
  case 'f':
    a->format = arg;
    return 0;
  case 'p':
    if (cli_parse_int(arg, 0, INT32_MAX, &v) < 0)
      return cli_usage_error(a->o, "--partition: expected a partition number, got '%s'", arg);
    a->partitions = cli_xrealloc(a->partitions, sizeof *a->partitions * (size_t)(a->npartitions + 1));
    a->partitions[a->npartitions++] = (int32_t)v;
    return 0;
  case 'e':
    a->exit_at_end = true;
    return 0;
  }
  return -1;
}

/* ---- tracking partitions --------------------------------------------------- */

static tracked_t *track(consume_state_t *s, const char *topic, int32_t partition) {
  for (int i = 0; i < s->nparts; i++)
    if (s->parts[i].partition == partition && strcmp(s->parts[i].topic, topic) == 0)
      return &s->parts[i];
  s->parts = cli_xrealloc(s->parts, sizeof *s->parts * (size_t)(s->nparts + 1));
  tracked_t *t = &s->parts[s->nparts++];
  t->topic = cli_xstrdup(topic);
  t->partition = partition;
  t->eof = false;
  return t;
}

static void untrack_all(consume_state_t *s) {
  for (int i = 0; i < s->nparts; i++)
    beck_free(s->parts[i].topic);
  s->nparts = 0;
}

static bool all_at_end(const consume_state_t *s) {
  if (s->nparts == 0)
    return false;
  for (int i = 0; i < s->nparts; i++)
    if (!s->parts[i].eof)
      return false;
  return true;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
  consume_state_t *s = ((cli_client_t *)opaque)->user;
  bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (!cooperative)
      untrack_all(s);
    for (int i = 0; i < parts->cnt; i++)
      track(s, parts->elems[i].topic, parts->elems[i].partition);
    s->assigned = true;
    if (cooperative)
      rd_kafka_incremental_assign(rk, parts);
    else
      rd_kafka_assign(rk, parts);
  } else {
    if (cooperative) {
      for (int i = 0; i < parts->cnt; i++)
        for (int k = 0; k < s->nparts; k++)
          if (s->parts[k].partition == parts->elems[i].partition && !strcmp(s->parts[k].topic, parts->elems[i].topic)) {
            beck_free(s->parts[k].topic);
            s->parts[k] = s->parts[--s->nparts];
            break;
          }
      rd_kafka_incremental_unassign(rk, parts);
    } else {
      untrack_all(s);
      rd_kafka_assign(rk, NULL);
    }
  }
}

/* True when stdout is a pipe whose reader has gone (`beck consume | head`
 * after head exited): noticed while idle, not only at the next write. */
static bool stdout_gone(void) {
  struct pollfd pfd = {.fd = STDOUT_FILENO, .events = 0};
  return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP));
}

/* ---- printing a record -------------------------------------------------------- */

static void put_headers(const rd_kafka_message_t *m, FILE *out) {
  rd_kafka_headers_t *h;
  if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  const char *name;
  const void *val;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
    if (i)
      fputc(',', out);
    fputs(name, out);
    if (val) {
      fputc('=', out);
      fwrite(val, 1, size, out);
    }
  }
}

/* Writes m in fmt; adds a newline unless fmt ends with one. */
static void put_formatted(const char *fmt, const rd_kafka_message_t *m, FILE *out) {
  char buf[64];
  rd_kafka_timestamp_type_t tstype;
  int64_t ts = rd_kafka_message_timestamp(m, &tstype);
  bool newline_last = false;
  for (const char *p = fmt; *p; p++) {
    newline_last = false;
    if (*p == '%' && p[1]) {
      switch (*++p) {
      case 'k':
        if (m->key)
          fwrite(m->key, 1, m->key_len, out);
        break;
      case 'v':
        if (m->payload)
          fwrite(m->payload, 1, m->len, out);
        break;
      case 'K':
        fprintf(out, "%zu", m->key ? m->key_len : 0);
        break;
      case 'V':
        fprintf(out, "%zu", m->payload ? m->len : 0);
        break;
      case 'p':
        fprintf(out, "%d", m->partition);
        break;
      case 'o':
        fprintf(out, "%lld", (long long)m->offset);
        break;
      case 't':
        fprintf(out, "%lld", (long long)ts);
        break;
      case 'd':
        fputs(cli_fmt_time(buf, sizeof buf, ts), out);
        break;
      case 'T':
        fputs(rd_kafka_topic_name(m->rkt), out);
        break;
      case 'h':
        put_headers(m, out);
        break;
      case '%':
        fputc('%', out);
        break;
      default:
        fputc('%', out);
        fputc(*p, out);
      }
    } else if (*p == '\\' && p[1]) {
      switch (*++p) {
      case 'n':
        fputc('\n', out);
        newline_last = true;
        break;
      case 't':
        fputc('\t', out);
        break;
      case 'r':
        fputc('\r', out);
        break;
      case '0':
        fputc('\0', out);
        break;
      case '\\':
        fputc('\\', out);
        break;
      default:
        fputc('\\', out);
        fputc(*p, out);
      }
    } else {
      fputc(*p, out);
      newline_last = *p == '\n';
    }
  }
  if (!newline_last)
    fputc('\n', out);
}

/* Sets obj[name] to the bytes as a string, or base64 with name_encoding. */
static void set_bytes(json_t *obj, const char *name, const void *ptr, size_t len) {
  if (ptr == NULL) {
    json_object_set_new(obj, name, json_null());
    return;
  }
  json_t *s = cli_json_utf8(ptr, len);
  if (s) {
    json_object_set_new(obj, name, s);
    return;
  }
  char enc[64];
  snprintf(enc, sizeof enc, "%s_encoding", name);
  json_object_set_new(obj, name, cli_json_base64(ptr, len));
  json_object_set_new(obj, enc, json_string("base64"));
}

static int put_json(const rd_kafka_message_t *m) {
  rd_kafka_timestamp_type_t tstype;
  json_t *j = json_object();
  json_object_set_new(j, "topic", json_string(rd_kafka_topic_name(m->rkt)));
  json_object_set_new(j, "partition", json_integer(m->partition));
  json_object_set_new(j, "offset", json_integer(m->offset));
  json_object_set_new(j, "timestamp", json_integer(rd_kafka_message_timestamp(m, &tstype)));
  set_bytes(j, "key", m->key, m->key_len);
  set_bytes(j, "value", m->payload, m->len);
  json_t *ha = json_array();
  rd_kafka_headers_t *h;
  if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
      json_t *e = json_object();
      set_bytes(e, "key", name, strlen(name));
      set_bytes(e, "value", val, size);
      json_array_append_new(ha, e);
    }
  }
  json_object_set_new(j, "headers", ha);
  int rc = cli_json_print(j, true);
  json_decref(j);
  return rc;
}

/* ---- the command -------------------------------------------------------------- */

/* Assigns the partitions of the topics directly at a.from. */
static int assign_direct(cli_client_t *c, const consume_args_t *a, consume_state_t *s, const rd_kafka_metadata_t *md,
                         char **topics, int ntopics) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
  int rc = -1;
  for (int i = 0; i < ntopics; i++) {
    const rd_kafka_metadata_topic_t *t = cli_md_require_topic(c, md, topics[i]);
    if (t == NULL)
      goto out;
    for (int k = 0; k < t->partition_cnt; k++) {
      bool want = a->npartitions == 0;
      for (int j = 0; j < a->npartitions; j++)
        want |= a->partitions[j] == t->partitions[k].id;
      if (want)
        rd_kafka_topic_partition_list_add(l, t->topic, t->partitions[k].id);
    }
    for (int j = 0; j < a->npartitions; j++) {
      bool found = false;
      for (int k = 0; k < t->partition_cnt; k++)
        found |= a->partitions[j] == t->partitions[k].id;
      if (!found) {
        cli_error(a->o, "topic '%s' has %d partition%s (0..%d); there is no partition %d", t->topic, t->partition_cnt,
                  t->partition_cnt == 1 ? "" : "s", t->partition_cnt - 1, a->partitions[j]);
        goto out;
      }
    }
  }
  cli_position_t from = a->from;
  if (from.kind == CLI_POS_OFFSET) {
    /* clamp into [start, end] of each partition */
    int64_t *lo = cli_xcalloc((size_t)l->cnt + 1, sizeof *lo), *hi = cli_xcalloc((size_t)l->cnt + 1, sizeof *hi);
    int w = cli_watermarks(c, l, lo, hi);
    bool past_end = true;
    for (int i = 0; w == 0 && i < l->cnt; i++) {
      l->elems[i].offset = from.value < lo[i] ? lo[i] : from.value > hi[i] ? hi[i] : from.value;
      past_end &= from.value > hi[i];
    }
    if (w == 0 && past_end && from.value >= CLI_LOOKS_LIKE_MS)
      cli_error(a->o, "note: offset %lld is past the end of every partition; for a time in ms, write @%lld",
                (long long)from.value, (long long)from.value);
    beck_free(lo);
    beck_free(hi);
    if (w < 0)
      goto out;
  } else if (cli_resolve_position(c, l, &from) < 0) {
    goto out;
  }
  for (int i = 0; i < l->cnt; i++)
    track(s, l->elems[i].topic, l->elems[i].partition);
  rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, l);
  if (err) {
    cli_kafka_error(a->o, "cannot assign the partitions", err, NULL, NULL);
    goto out;
  }
  rc = 0;
out:
  rd_kafka_topic_partition_list_destroy(l);
  return rc;
}

int cmd_consume(int argc, char **argv) {
  static const struct option longopts[] = {
      {"group", required_argument, NULL, 'g'},  {"from", required_argument, NULL, OPT_FROM},
      {"offset", required_argument, NULL, 'o'}, {"count", required_argument, NULL, 'n'},
      {"format", required_argument, NULL, 'f'}, {"partition", required_argument, NULL, 'p'},
      {"exit-at-end", no_argument, NULL, 'e'},  {NULL, 0, NULL, 0},
  };
  static const cli_spec_t spec = {
      .cmd = "consume",
      .help = "Usage: beck consume TOPIC... [-g GROUP] [--from POSITION] [-n COUNT] [-f FORMAT] [-p N]... [-e]\n"
              "\n"
              "Prints records as they arrive, one per line, until COUNT records, the end of\n"
              "every partition (-e), or Ctrl-C. With a group it joins the group and commits\n"
              "the offsets of what it printed.\n"
              "\n"
              "Options:\n"
              "  -g, --group GROUP        consume as a member of GROUP and commit offsets\n"
              "  -o, --from POSITION      where to start (default: beginning):\n"
              "                             beginning | end | OFFSET (1234) | -N (N records before the end)\n"
              "                             | a time: 2024-05-01T12:00:00Z, 2024-05-01, @MS_SINCE_EPOCH\n"
              "                             | -DURATION ago: -10m, -2h, -1d\n"
              "                           with --group only beginning or end, for partitions the group\n"
              "                           has no offset for (move a group with `beck group reset`)\n"
              "  -n, --count N            exit after N records\n"
              "  -e, --exit-at-end        exit when every partition has been read to its end\n"
              "  -p, --partition N        read only partition N (repeatable; not with --group)\n"
              "  -f, --format FORMAT      how to print a record (default: %v); a newline is added\n"
              "                             %k key  %v value  %p partition  %o offset\n"
              "                             %t timestamp (ms)  %d timestamp (ISO 8601, UTC)\n"
              "                             %h headers (k=v,k=v)  %T topic  %K %V key/value length\n"
              "                             %% a percent sign; \\n \\t \\\\ escapes\n"
              "      --output json        one JSON object per record and line (see docs/cli.md)\n",
      .examples = "Examples:\n"
                  "  beck consume orders -n 10\n"
                  "  beck consume orders --from -1h -f '%d %k %v'\n"
                  "  beck consume orders -g billing -e --json | jq .value\n",
      .shortopts = "g:o:n:f:p:e",
      .longopts = longopts,
      .on_opt = consume_opt,
      .min_args = 1,
      .max_args = -1,
      .arg_name = "TOPIC",
  };
  cli_opts_t o;
  consume_args_t a = {.o = &o, .format = "%v", .from = {CLI_POS_BEGINNING, 0}};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  if (a.group && a.npartitions) {
    cli_usage_error(&o, "--partition cannot be used with --group: the group assigns the partitions");
    beck_free(a.partitions);
    return CLI_EXIT_USAGE;
  }
  if (a.group && a.from_set && a.from.kind != CLI_POS_BEGINNING && a.from.kind != CLI_POS_END) {
    cli_usage_error(&o,
                    "with --group, --from can only be beginning or end (where to start without a committed "
                    "offset); to move the group, run `beck group reset %s --topic %s --to ...` first",
                    a.group, argv[first]);
    beck_free(a.partitions);
    return CLI_EXIT_USAGE;
  }
  char **topics = argv + first;
  int ntopics = argc - first;

  /* librdkafka 2.0 wants a group.id even for assign(): a private one that
   * never joins or commits, so no group shows up in `beck group list` */
  char private_group[64];
  snprintf(private_group, sizeof private_group, "beck-consume-%d", (int)getpid());
  consume_state_t s = {0};
  cli_client_t c = {.user = &s};
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char errstr[256];
  const char *kv[][2] = {
      {"enable.partition.eof", a.exit_at_end ? "true" : "false"},
      /* the end shows as an empty fetch: do not let the broker hold it long */
      {"fetch.wait.max.ms", a.exit_at_end ? "100" : "500"},
      {"auto.offset.reset", a.from.kind == CLI_POS_END ? "latest" : "earliest"},
      {"enable.auto.commit", a.group ? "true" : "false"},
      {"enable.auto.offset.store", "false"},
      {"group.id", a.group ? a.group : private_group},
  };
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    if (kv[i][1] && rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      cli_error(&o, "%s=%s: %s", kv[i][0], kv[i][1], errstr);
      rd_kafka_conf_destroy(conf);
      beck_free(a.partitions);
      return CLI_EXIT_FAIL;
    }
  if (a.group)
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  int rc = CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md = NULL;
  if (cli_client_open(&c, &o, RD_KAFKA_CONSUMER, conf) < 0)
    goto out;
  if (cli_client_metadata(&c, true, &md) < 0)
    goto out;
  rd_kafka_poll_set_consumer(c.rk);
  c.redirected = true;
  if (a.group) {
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(ntopics);
    bool ok = true;
    for (int i = 0; i < ntopics; i++) {
      ok &= cli_md_require_topic(&c, md, topics[i]) != NULL;
      rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t err = ok ? rd_kafka_subscribe(c.rk, sub) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(sub);
    if (!ok)
      goto out;
    if (err) {
      cli_kafka_error(&o, "cannot subscribe", err, NULL, NULL);
      goto out;
    }
  } else if (assign_direct(&c, &a, &s, md, topics, ntopics) < 0) {
    goto out;
  }

  struct sigaction sa, old_int, old_term, old_pipe;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, &old_pipe);

  int64_t printed = 0;
  bool out_closed = false;
  rc = CLI_EXIT_OK;
  rd_kafka_resp_err_t last_warned = RD_KAFKA_RESP_ERR_NO_ERROR;
  while (!stop_requested && !out_closed && (a.count == 0 || printed < a.count)) {
    if (a.exit_at_end && (a.group ? s.assigned : true) && all_at_end(&s))
      break;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c.rk, 100);
    if (m == NULL) {
      if (fflush(stdout) == EOF || stdout_gone())
        out_closed = true;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->rkt)
        track(&s, rd_kafka_topic_name(m->rkt), m->partition)->eof = true;
    } else if (m->err) {
      const char *es = rd_kafka_message_errstr(m);
      if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
          m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
          m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED || m->err == RD_KAFKA_RESP_ERR__FATAL) {
        cli_kafka_error(&o, "cannot consume", m->err, es, NULL);
        rc = CLI_EXIT_FAIL;
        stop_requested = 1;
      } else if (m->err != last_warned) {
        /* transient (a broker restarting): say it once, keep going */
        cli_error(&o, "warning: %s (still trying)", es);
        last_warned = m->err;
      }
    } else {
      if (m->rkt)
        track(&s, rd_kafka_topic_name(m->rkt), m->partition)->eof = false;
      if (o.output == CLI_OUTPUT_JSON) {
        if (put_json(m) < 0)
          out_closed = true;
      } else {
        put_formatted(a.format, m, stdout);
        if (ferror(stdout))
          out_closed = true;
      }
      if (!out_closed) {
        printed++;
        if (a.group)
          rd_kafka_offset_store(m->rkt, m->partition, m->offset);
      }
    }
    rd_kafka_message_destroy(m);
  }
  if (fflush(stdout) == EOF)
    out_closed = true;
  if (a.group) {
    /* commit what was printed, then leave the group */
    rd_kafka_resp_err_t err = rd_kafka_commit(c.rk, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      cli_kafka_error(&o, "cannot commit the group's offsets", err, NULL, NULL);
      rc = CLI_EXIT_FAIL;
    }
  }
  rd_kafka_consumer_close(c.rk);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
out:
  if (md)
    rd_kafka_metadata_destroy(md);
  cli_client_close(&c);
  untrack_all(&s);
  beck_free(s.parts);
  beck_free(a.partitions);
  beck_free(o.props);
  return rc;
}
