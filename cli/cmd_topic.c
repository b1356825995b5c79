/*
 * cmd_topic.c - `beck topic create|list|describe|alter|delete|add-partitions`:
 * topic administration against any Kafka-protocol cluster, through
 * librdkafka's admin API (CreateTopics, DeleteTopics, CreatePartitions,
 * DescribeConfigs, AlterConfigs) and metadata.
 *
 * `topic alter` changes only the keys it is given. librdkafka 2.0.2 has no
 * IncrementalAlterConfigs (KIP-339), and AlterConfigs replaces a topic's
 * whole set of overrides, so alter reads the current overrides
 * (DescribeConfigs, source DYNAMIC_TOPIC_CONFIG), applies the changes to
 * them and writes the full set back. Two alters racing on one topic can
 * lose one of the changes; docs/cli.md says so.
 *
 * `topic describe` shows each partition's size on disk, which only
 * DescribeLogDirs (KIP-113) tells and librdkafka 2.0.2 cannot send: it goes
 * out with core/proto's codec over one plain connection to each broker that
 * leads a described partition (cli_wire_request), one request per broker
 * for all its partitions, at the highest version both sides speak (the
 * broker's range from librdkafka's ApiVersions log, else v1). The size
 * shown is the leader replica's. A broker without the API leaves "-" /
 * null and one line on stderr says why.
 *
 * Output shapes (tables and JSON) are documented in docs/cli.md.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "kafka_util.h"
#include "proto/proto.h"

/* ---- shared ----------------------------------------------------------------- */

/* -c KEY=VALUE options, validated at parse time. */
typedef struct kv_list {
  const char **items;
  int n;
} kv_list_t;

static int add_kv(const cli_opts_t *o, kv_list_t *l, const char *arg, const char *opt) {
  if (strchr(arg, '=') == NULL || arg[0] == '=')
    return cli_usage_error(o, "%s: expected KEY=VALUE, got '%s'", opt, arg);
  cli_strv_push(&l->items, &l->n, arg);
  return 0;
}

static void print_or_fail_json(json_t *j, int *rc) {
  if (cli_json_print(j, false) < 0)
    *rc = CLI_EXIT_FAIL;
  json_decref(j);
}

static const char *source_name(rd_kafka_ConfigSource_t s) {
  switch (s) {
  case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG:
    return "topic";
  case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG:
    return "broker";
  case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG:
    return "cluster";
  case RD_KAFKA_CONFIG_SOURCE_STATIC_BROKER_CONFIG:
    return "broker-file";
  case RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG:
    return "default";
  default:
    return "unknown";
  }
}

/* DescribeConfigs of n topics; returns the result event or NULL (printed). */
static rd_kafka_event_t *describe_configs(cli_client_t *c, char **names, int n) {
  rd_kafka_ConfigResource_t **res = cli_xcalloc((size_t)n, sizeof *res);
  for (int i = 0; i < n; i++)
    res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, names[i]);
  rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
  rd_kafka_AdminOptions_t *ao = cli_admin_options(c, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_DescribeConfigs(c->rk, res, (size_t)n, ao, q);
  rd_kafka_event_t *ev = cli_admin_wait(c, q, "cannot read the topic configs");
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_queue_destroy(q);
  rd_kafka_ConfigResource_destroy_array(res, (size_t)n);
  beck_free(res);
  return ev;
}

/* The resource of topic in a DescribeConfigs or AlterConfigs result. */
static const rd_kafka_ConfigResource_t *find_resource(const rd_kafka_ConfigResource_t **res, size_t n,
                                                      const char *topic) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(rd_kafka_ConfigResource_name(res[i]), topic) == 0)
      return res[i];
  return NULL;
}

static int cmp_entries(const void *a, const void *b) {
  return strcmp(rd_kafka_ConfigEntry_name(*(const rd_kafka_ConfigEntry_t *const *)a),
                rd_kafka_ConfigEntry_name(*(const rd_kafka_ConfigEntry_t *const *)b));
}

/* The entries of res sorted by name, in a new array (beck_free it). */
static const rd_kafka_ConfigEntry_t **sorted_entries(const rd_kafka_ConfigResource_t *res, size_t *n) {
  const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(res, n);
  const rd_kafka_ConfigEntry_t **s = cli_xcalloc(*n, sizeof *s);
  if (*n)
    memcpy(s, e, *n * sizeof *s);
  qsort(s, *n, sizeof *s, cmp_entries);
  return s;
}

static const char *entry_value(const rd_kafka_ConfigEntry_t *e) {
  if (rd_kafka_ConfigEntry_is_sensitive(e))
    return "(sensitive)";
  return rd_kafka_ConfigEntry_value(e);
}

/* Per-topic results of create, delete and add-partitions. */
static int print_topic_results(const cli_opts_t *o, const rd_kafka_topic_result_t **tr, size_t n, const char *okword,
                               json_t *extra_per_topic(const char *topic, void *arg), void *arg) {
  int rc = CLI_EXIT_OK;
  for (size_t i = 0; i < n; i++)
    if (rd_kafka_topic_result_error(tr[i]))
      rc = CLI_EXIT_FAIL;
  if (o->output == CLI_OUTPUT_JSON) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
      json_t *t = json_object();
      const char *name = rd_kafka_topic_result_name(tr[i]);
      json_object_set_new(t, "topic", json_string(name));
      json_object_set_new(t, "ok", json_boolean(rd_kafka_topic_result_error(tr[i]) == 0));
      if (extra_per_topic)
        json_object_update_new(t, extra_per_topic(name, arg));
      json_object_set_new(
          t, "error", cli_json_error(rd_kafka_topic_result_error(tr[i]), rd_kafka_topic_result_error_string(tr[i])));
      json_array_append_new(arr, t);
    }
    json_t *top = json_object();
    json_object_set_new(top, "topics", arr);
    print_or_fail_json(top, &rc);
  } else {
    static const char *const hdr[] = {"TOPIC", "STATUS"};
    cli_table_t *t = cli_table_new(2, hdr);
    for (size_t i = 0; i < n; i++) {
      cli_table_str(t, rd_kafka_topic_result_name(tr[i]));
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[i]);
      if (err) {
        const char *es = rd_kafka_topic_result_error_string(tr[i]);
        cli_table_cell(t, "%s: %s", rd_kafka_err2name(err), es && *es ? es : rd_kafka_err2str(err));
      } else {
        cli_table_str(t, okword);
      }
    }
    cli_table_print(t, stdout, 0);
    cli_table_destroy(t);
  }
  /* what to try goes to stderr, once per kind of error */
  rd_kafka_resp_err_t said[8];
  int nsaid = 0;
  for (size_t i = 0; i < n; i++) {
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[i]);
    const char *hint = err ? cli_hint(err) : NULL;
    bool dup = false;
    for (int k = 0; k < nsaid; k++)
      dup |= said[k] == err;
    if (hint && !dup && nsaid < 8) {
      said[nsaid++] = err;
      cli_error(o, "%s: %s (%s)", rd_kafka_topic_result_name(tr[i]), rd_kafka_err2str(err), hint);
    }
  }
  return rc;
}

/* ---- topic create ------------------------------------------------------------ */

typedef struct create_args {
  const cli_opts_t *o;
  int64_t partitions, replicas;
  kv_list_t configs;
  bool dry_run;
} create_args_t;

enum { OPT_DRY_RUN = 2001, OPT_DELETE, OPT_TO, OPT_ADD, OPT_SUMMARY, OPT_CONFIGS, OPT_PARTITIONS, OPT_ALL };

static int create_opt(void *ctx, int ch, const char *arg) {
  create_args_t *a = ctx;
  switch (ch) {
  case 'p':
    if (cli_parse_int(arg, 1, 1000000, &a->partitions) < 0)
      return cli_usage_error(a->o, "--partitions: expected a count from 1, got '%s'", arg);
    return 0;
  case 'r':
    if (cli_parse_int(arg, 1, 32767, &a->replicas) < 0)
      return cli_usage_error(a->o, "--replicas: expected a count from 1, got '%s'", arg);
    return 0;
  case 'c':
    return add_kv(a->o, &a->configs, arg, "--config");
  case OPT_DRY_RUN:
    a->dry_run = true;
    return 0;
  }
  return -1;
}

static int topic_create(int argc, char **argv) {
  static const struct option longopts[] = {
      {"partitions", required_argument, NULL, 'p'},
      {"replicas", required_argument, NULL, 'r'},
      {"config", required_argument, NULL, 'c'},
      {"dry-run", no_argument, NULL, OPT_DRY_RUN},
      {NULL, 0, NULL, 0},
  };
  static const cli_spec_t spec = {
      .cmd = "topic create",
      .help = "Usage: beck topic create NAME... [-p PARTITIONS] [-r REPLICAS] [-c KEY=VALUE]...\n"
              "\n"
              "Creates one or more topics.\n"
              "\n"
              "Options:\n"
              "  -p, --partitions N      partitions of each topic (default: the cluster's num.partitions)\n"
              "  -r, --replicas N        copies of each partition (default: the cluster's default)\n"
              "  -c, --config KEY=VALUE  a topic setting, e.g. retention.ms=86400000 (repeatable)\n"
              "      --dry-run           have the cluster check the request, create nothing\n",
      .examples = "Examples:\n"
                  "  beck topic create orders -p 6\n"
                  "  beck topic create clicks views -p 3 -c retention.ms=3600000 -c cleanup.policy=compact\n",
      .shortopts = "p:r:c:",
      .longopts = longopts,
      .on_opt = create_opt,
      .min_args = 1,
      .max_args = -1,
      .arg_name = "topic NAME",
  };
  cli_opts_t o;
  create_args_t a = {.o = &o, .partitions = -1, .replicas = -1};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  int n = argc - first;
  cli_client_t c = {0};
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, NULL) < 0)
    return CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md;
  if (cli_client_metadata(&c, false, &md) < 0) {
    cli_client_close(&c);
    return CLI_EXIT_FAIL;
  }
  rd_kafka_metadata_destroy(md);

  int rc = CLI_EXIT_FAIL;
  char errstr[512];
  rd_kafka_NewTopic_t **nt = cli_xcalloc((size_t)n, sizeof *nt);
  for (int i = 0; i < n; i++) {
    nt[i] = rd_kafka_NewTopic_new(argv[first + i], (int)a.partitions, (int)a.replicas, errstr, sizeof errstr);
    if (nt[i] == NULL) {
      cli_error(&o, "topic '%s': %s", argv[first + i], errstr);
      goto out;
    }
    for (int k = 0; k < a.configs.n; k++) {
      char *key;
      const char *value;
      cli_split_kv(a.configs.items[k], &key, &value);
      rd_kafka_resp_err_t err = rd_kafka_NewTopic_set_config(nt[i], key, value);
      free(key);
      if (err) {
        cli_kafka_error(&o, a.configs.items[k], err, NULL, NULL);
        goto out;
      }
    }
  }
  rd_kafka_AdminOptions_t *ao = cli_admin_options(&c, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  if (a.dry_run)
    rd_kafka_AdminOptions_set_validate_only(ao, 1, errstr, sizeof errstr);
  rd_kafka_queue_t *q = rd_kafka_queue_new(c.rk);
  rd_kafka_CreateTopics(c.rk, nt, (size_t)n, ao, q);
  rd_kafka_event_t *ev = cli_admin_wait(&c, q, "cannot create topics");
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_queue_destroy(q);
  if (ev) {
    size_t cnt;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    rc = print_topic_results(&o, tr, cnt, a.dry_run ? "OK (dry run, nothing created)" : "created", NULL, NULL);
    rd_kafka_event_destroy(ev);
  }
out:
  for (int i = 0; i < n; i++)
    if (nt[i])
      rd_kafka_NewTopic_destroy(nt[i]);
  beck_free(nt);
  beck_free(a.configs.items);
  beck_free(o.props);
  cli_client_close(&c);
  return rc;
}

/* ---- topic list -------------------------------------------------------------- */

typedef struct list_args {
  bool quiet, all;
} list_args_t;

static int list_opt(void *ctx, int ch, const char *arg) {
  list_args_t *a = ctx;
  if (ch == 'q')
    a->quiet = true;
  else if (ch == 'a')
    a->all = true;
  else
    return -1;
  return 0;
}

static int cmp_md_topics(const void *a, const void *b) {
  return strcmp((*(const rd_kafka_metadata_topic_t *const *)a)->topic,
                (*(const rd_kafka_metadata_topic_t *const *)b)->topic);
}

static int replication_factor(const rd_kafka_metadata_topic_t *t) {
  return t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;
}

static int topic_list(int argc, char **argv) {
  static const struct option longopts[] = {
      {"quiet", no_argument, NULL, 'q'},
      {"all", no_argument, NULL, 'a'},
      {NULL, 0, NULL, 0},
  };
  static const cli_spec_t spec = {
      .cmd = "topic list",
      .help = "Usage: beck topic list [PATTERN...] [-q] [-a]\n"
              "\n"
              "Lists the topics, sorted by name; PATTERNs are shell globs (quote them).\n"
              "Internal topics (names starting with \"__\") are left out unless --all.\n"
              "\n"
              "Options:\n"
              "  -q, --quiet  names only, one per line\n"
              "  -a, --all    include internal topics\n",
      .examples = "Examples:\n"
                  "  beck topic list\n"
                  "  beck topic list 'orders-*' --json\n",
      .shortopts = "qa",
      .longopts = longopts,
      .on_opt = list_opt,
      .min_args = 0,
      .max_args = -1,
  };
  cli_opts_t o;
  list_args_t a = {0};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  cli_client_t c = {0};
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, NULL) < 0)
    return CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md;
  if (cli_client_metadata(&c, true, &md) < 0) {
    cli_client_close(&c);
    return CLI_EXIT_FAIL;
  }
  const rd_kafka_metadata_topic_t **ts = cli_xcalloc((size_t)md->topic_cnt, sizeof *ts);
  int n = 0;
  for (int i = 0; i < md->topic_cnt; i++) {
    const rd_kafka_metadata_topic_t *t = &md->topics[i];
    if (!a.all && strncmp(t->topic, "__", 2) == 0)
      continue;
    bool match = first == argc;
    for (int k = first; k < argc && !match; k++)
      match = fnmatch(argv[k], t->topic, 0) == 0;
    if (match)
      ts[n++] = t;
  }
  qsort(ts, (size_t)n, sizeof *ts, cmp_md_topics);
  int rc = CLI_EXIT_OK;
  if (a.quiet) {
    for (int i = 0; i < n; i++)
      printf("%s\n", ts[i]->topic);
  } else if (o.output == CLI_OUTPUT_JSON) {
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
      json_t *t = json_object();
      json_object_set_new(t, "name", json_string(ts[i]->topic));
      json_object_set_new(t, "partitions", json_integer(ts[i]->partition_cnt));
      json_object_set_new(t, "replication_factor", json_integer(replication_factor(ts[i])));
      json_array_append_new(arr, t);
    }
    json_t *top = json_object();
    json_object_set_new(top, "topics", arr);
    print_or_fail_json(top, &rc);
  } else {
    static const char *const hdr[] = {"NAME", "PARTITIONS", "REPLICAS"};
    cli_table_t *t = cli_table_new(3, hdr);
    for (int i = 0; i < n; i++) {
      cli_table_str(t, ts[i]->topic);
      cli_table_cell(t, "%d", ts[i]->partition_cnt);
      cli_table_cell(t, "%d", replication_factor(ts[i]));
    }
    cli_table_print(t, stdout, 0);
    cli_table_destroy(t);
  }
  beck_free(ts);
  rd_kafka_metadata_destroy(md);
  beck_free(o.props);
  cli_client_close(&c);
  return rc;
}

/* ---- topic describe ------------------------------------------------------------ */

typedef struct describe_args {
  bool summary, configs, partitions; /* all false: every section */
} describe_args_t;

static int describe_opt(void *ctx, int ch, const char *arg) {
  describe_args_t *a = ctx;
  if (ch == OPT_SUMMARY)
    a->summary = true;
  else if (ch == OPT_CONFIGS)
    a->configs = true;
  else if (ch == OPT_PARTITIONS)
    a->partitions = true;
  else
    return -1;
  return 0;
}

static char *int_list(const int32_t *v, int n) {
  size_t cap = (size_t)n * 12 + 3;
  char *s = cli_xmalloc(cap);
  size_t o = 0;
  s[o++] = '[';
  for (int i = 0; i < n; i++)
    o += (size_t)snprintf(s + o, cap - o, i ? ",%d" : "%d", v[i]);
  s[o++] = ']';
  s[o] = '\0';
  return s;
}

static json_t *json_int_array(const int32_t *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++)
    json_array_append_new(a, json_integer(v[i]));
  return a;
}

/* ---- partition sizes (DescribeLogDirs) ------------------------------------------ */

/* Versions of DescribeLogDirs this command speaks (the codec's range). */
#define DLD_MIN 1
#define DLD_MAX 4

/* The DescribeLogDirs version to send to broker b: the highest both sides
 * speak, by the ApiVersions answer librdkafka logged when it connected
 * (cli_client_t.capture_apis); DLD_MIN when it never connected to b (every
 * Kafka since 1.0 speaks it); -1 when b answered ApiVersions without it. */
static int dld_version(cli_client_t *c, const rd_kafka_metadata_broker_t *b) {
  char name[300];
  snprintf(name, sizeof name, "%s:%d", b->host, b->port);
  int v = DLD_MIN;
  bool listed = false, found = false;
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < c->napis && !found; i++) {
    if (strcmp(c->apis[i].broker, name) != 0)
      continue;
    listed = true;
    if (c->apis[i].key == BECK_API_DescribeLogDirs) {
      found = true;
      v = c->apis[i].max < DLD_MAX ? c->apis[i].max : DLD_MAX;
      if (v < DLD_MIN || v < c->apis[i].min)
        v = -1;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return listed && !found ? -1 : v;
}

static bool plaintext(const cli_opts_t *o) {
  for (int i = 0; i < o->nprops; i++) {
    const char *kv = o->props[i], *eq = strchr(kv, '=');
    if (eq && (size_t)(eq - kv) == strlen("security.protocol") && strncmp(kv, "security.protocol", 17) == 0 &&
        strcasecmp(eq + 1, "plaintext") != 0)
      return false;
  }
  return true;
}

/* Fills size[base[i] + k] with the on-disk bytes of partition k (in id
 * order) of topic ts[i], as its leader reports them; -1 where unknown.
 * Never fails the command: what cannot be known is said on stderr. */
static void partition_sizes(cli_client_t *c, const cli_opts_t *o, const rd_kafka_metadata_t *md,
                            const rd_kafka_metadata_topic_t *const *ts, int n, const int *base, int64_t *size) {
  if (!plaintext(o)) {
    cli_error(o, "partition sizes unknown: they are read with a plain connection to each broker, and "
                 "-X security.protocol asks for another");
    return;
  }
  int64_t deadline = cli_now_ms() + o->timeout_ms;
  char unsupported[400] = "";
  int nunsupported = 0;
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  for (int bi = 0; bi < md->broker_cnt; bi++) {
    const rd_kafka_metadata_broker_t *b = &md->brokers[bi];
    beck_arena_reset(&arena);
    /* the request: every described partition this broker leads */
    beck_proto_DescribeLogDirsRequest_t req = {0};
    req.Topics.items = beck_arena_calloc(&arena, (size_t)n, sizeof *req.Topics.items);
    if (req.Topics.items == NULL)
      break;
    for (int i = 0; i < n; i++) {
      beck_proto_DescribeLogDirsRequest_DescribableLogDirTopic_t *rt = &req.Topics.items[req.Topics.count];
      rt->Partitions.items = beck_arena_calloc(&arena, (size_t)ts[i]->partition_cnt + 1, sizeof(int32_t));
      if (rt->Partitions.items == NULL)
        break;
      for (int k = 0; k < ts[i]->partition_cnt; k++)
        if (ts[i]->partitions[k].leader == b->id)
          rt->Partitions.items[rt->Partitions.count++] = ts[i]->partitions[k].id;
      if (rt->Partitions.count > 0) {
        rt->Topic = (beck_nstr_t){(const uint8_t *)ts[i]->topic, (int32_t)strlen(ts[i]->topic)};
        req.Topics.count++;
      }
    }
    if (req.Topics.count == 0)
      continue;
    int v = dld_version(c, b);
    char why[300] = "";
    cli_wire_result_t rc = CLI_WIRE_CLOSED;
    beck_proto_DescribeLogDirsResponse_t resp;
    if (v < 0) {
      snprintf(why, sizeof why, "its ApiVersions answer has no DescribeLogDirs v%d to v%d", DLD_MIN, DLD_MAX);
    } else {
      int64_t left = deadline - cli_now_ms();
      rc = cli_wire_request(b->host, b->port, left > 0 ? (int)left : 1, BECK_API_DescribeLogDirs, (int16_t)v, &req,
                            &arena, &resp, why, sizeof why);
    }
    if (rc == CLI_WIRE_CLOSED) {
      if (nunsupported++ == 0)
        snprintf(unsupported, sizeof unsupported, "broker %d (%s:%d) does not support DescribeLogDirs (API 35): %s",
                 b->id, b->host, b->port, why);
      continue;
    }
    if (rc != CLI_WIRE_OK) {
      cli_error(o, "warning: cannot read partition sizes from broker %d (%s:%d): %s", b->id, b->host, b->port, why);
      continue;
    }
    if (resp.ErrorCode != 0) {
      cli_error(o, "warning: broker %d (%s:%d) refused DescribeLogDirs: %s", b->id, b->host, b->port,
                rd_kafka_err2str((rd_kafka_resp_err_t)resp.ErrorCode));
      continue;
    }
    for (int32_t r = 0; r < resp.Results.count; r++) {
      const beck_proto_DescribeLogDirsResponse_DescribeLogDirsResult_t *dir = &resp.Results.items[r];
      if (dir->ErrorCode != 0)
        continue; /* an offline log dir holds nothing readable */
      for (int32_t t = 0; t < dir->Topics.count; t++) {
        const beck_proto_DescribeLogDirsResponse_DescribeLogDirsTopic_t *dt = &dir->Topics.items[t];
        for (int i = 0; i < n; i++) {
          if (dt->Name.len < 0 || strlen(ts[i]->topic) != (size_t)dt->Name.len ||
              memcmp(ts[i]->topic, dt->Name.ptr, (size_t)dt->Name.len) != 0)
            continue;
          for (int32_t q = 0; q < dt->Partitions.count; q++) {
            const beck_proto_DescribeLogDirsResponse_DescribeLogDirsPartition_t *dp = &dt->Partitions.items[q];
            if (dp->IsFutureKey)
              continue; /* a copy being moved to another dir (AlterReplicaLogDirs) */
            for (int k = 0; k < ts[i]->partition_cnt; k++)
              if (ts[i]->partitions[k].id == dp->PartitionIndex && ts[i]->partitions[k].leader == b->id)
                size[base[i] + k] = dp->PartitionSize;
          }
        }
      }
    }
  }
  beck_arena_destroy(&arena);
  if (nunsupported > 1)
    cli_error(o, "partition sizes unknown (shown as -): %s; %d more brokers alike", unsupported, nunsupported - 1);
  else if (nunsupported == 1)
    cli_error(o, "partition sizes unknown (shown as -): %s", unsupported);
}

/* One topic: JSON object, or the table sections printed to stdout. */
static json_t *describe_one(const cli_opts_t *o, const describe_args_t *a, const rd_kafka_metadata_topic_t *t,
                            const rd_kafka_ConfigResource_t *res, const int64_t *lo, const int64_t *hi,
                            const int64_t *size) {
  bool all = !a->summary && !a->configs && !a->partitions;
  size_t ncfg = 0;
  const rd_kafka_ConfigEntry_t **cfg = NULL;
  rd_kafka_resp_err_t cfg_err = res ? rd_kafka_ConfigResource_error(res) : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  if (res && !cfg_err)
    cfg = sorted_entries(res, &ncfg);
  json_t *j = NULL;
  if (o->output == CLI_OUTPUT_JSON) {
    j = json_object();
    json_object_set_new(j, "name", json_string(t->topic));
    json_object_set_new(j, "partition_count", json_integer(t->partition_cnt));
    json_object_set_new(j, "replication_factor", json_integer(replication_factor(t)));
    if (all || a->configs) {
      json_t *ca = json_array();
      for (size_t i = 0; i < ncfg; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "name", json_string(rd_kafka_ConfigEntry_name(cfg[i])));
        json_object_set_new(e, "value", cli_json_str_or_null(entry_value(cfg[i])));
        json_object_set_new(e, "source", json_string(source_name(rd_kafka_ConfigEntry_source(cfg[i]))));
        json_object_set_new(e, "read_only", json_boolean(rd_kafka_ConfigEntry_is_read_only(cfg[i])));
        json_object_set_new(e, "sensitive", json_boolean(rd_kafka_ConfigEntry_is_sensitive(cfg[i])));
        json_array_append_new(ca, e);
      }
      json_object_set_new(j, "configs", ca);
    }
    if (all || a->partitions) {
      json_t *pa = json_array();
      for (int i = 0; i < t->partition_cnt; i++) {
        const rd_kafka_metadata_partition_t *p = &t->partitions[i];
        json_t *e = json_object();
        json_object_set_new(e, "partition", json_integer(p->id));
        json_object_set_new(e, "leader", json_integer(p->leader));
        json_object_set_new(e, "replicas", json_int_array(p->replicas, p->replica_cnt));
        json_object_set_new(e, "isr", json_int_array(p->isrs, p->isr_cnt));
        json_object_set_new(e, "start_offset", cli_json_offset(lo[i]));
        json_object_set_new(e, "end_offset", cli_json_offset(hi[i]));
        json_object_set_new(e, "size_bytes", size[i] >= 0 ? json_integer(size[i]) : json_null());
        json_object_set_new(e, "error", cli_json_error(p->err, NULL));
        json_array_append_new(pa, e);
      }
      json_object_set_new(j, "partitions", pa);
    }
  } else {
    bool sep = false;
    if (all || a->summary) {
      cli_table_t *kv = cli_table_new(2, NULL);
      cli_table_str(kv, "NAME");
      cli_table_str(kv, t->topic);
      cli_table_str(kv, "PARTITIONS");
      cli_table_cell(kv, "%d", t->partition_cnt);
      cli_table_str(kv, "REPLICAS");
      cli_table_cell(kv, "%d", replication_factor(t));
      cli_table_print(kv, stdout, 0);
      cli_table_destroy(kv);
      sep = true;
    }
    if (all || a->configs) {
      if (sep)
        printf("\n");
      printf("CONFIGS\n");
      static const char *const hdr[] = {"KEY", "VALUE", "SOURCE"};
      cli_table_t *ct = cli_table_new(3, hdr);
      for (size_t i = 0; i < ncfg; i++) {
        cli_table_str(ct, rd_kafka_ConfigEntry_name(cfg[i]));
        cli_table_str(ct, entry_value(cfg[i]));
        cli_table_str(ct, source_name(rd_kafka_ConfigEntry_source(cfg[i])));
      }
      cli_table_print(ct, stdout, 2);
      cli_table_destroy(ct);
      sep = true;
    }
    if (all || a->partitions) {
      if (sep)
        printf("\n");
      printf("PARTITIONS\n");
      static const char *const hdr[] = {"PARTITION", "LEADER", "REPLICAS", "ISR", "START-OFFSET", "END-OFFSET", "SIZE"};
      cli_table_t *pt = cli_table_new(7, hdr);
      for (int i = 0; i < t->partition_cnt; i++) {
        const rd_kafka_metadata_partition_t *p = &t->partitions[i];
        cli_table_cell(pt, "%d", p->id);
        cli_table_cell(pt, "%d", p->leader);
        char *r = int_list(p->replicas, p->replica_cnt), *isr = int_list(p->isrs, p->isr_cnt);
        cli_table_str(pt, r);
        cli_table_str(pt, isr);
        beck_free(r);
        beck_free(isr);
        cli_table_offset(pt, lo[i]);
        cli_table_offset(pt, hi[i]);
        char human[32];
        cli_table_str(pt, size[i] >= 0 ? cli_fmt_bytes(human, sizeof human, (uint64_t)size[i]) : NULL);
      }
      cli_table_print(pt, stdout, 2);
      cli_table_destroy(pt);
    }
  }
  if ((all || a->configs) && cfg_err && res) {
    char what[300];
    snprintf(what, sizeof what, "cannot read the configs of '%s'", t->topic);
    cli_kafka_error(o, what, cfg_err, rd_kafka_ConfigResource_error_string(res), NULL);
  }
  beck_free(cfg);
  return j;
}

static int cmp_md_partitions(const void *a, const void *b) {
  return ((const rd_kafka_metadata_partition_t *)a)->id - ((const rd_kafka_metadata_partition_t *)b)->id;
}

static int topic_describe(int argc, char **argv) {
  static const struct option longopts[] = {
      {"summary", no_argument, NULL, OPT_SUMMARY},
      {"configs", no_argument, NULL, OPT_CONFIGS},
      {"partitions", no_argument, NULL, OPT_PARTITIONS},
      {NULL, 0, NULL, 0},
  };
  static const cli_spec_t spec = {
      .cmd = "topic describe",
      .help = "Usage: beck topic describe NAME... [--summary] [--configs] [--partitions]\n"
              "\n"
              "Shows a topic: partition and replica counts, every setting with where its value\n"
              "comes from (topic override, broker, default), and per partition the leader,\n"
              "replicas, in-sync replicas, the start and end offsets and the size on disk\n"
              "(the leader's segment files, from DescribeLogDirs: exact bytes in JSON).\n"
              "\n"
              "Options (default: all three sections):\n"
              "  --summary     the counts only\n"
              "  --configs     the settings only\n"
              "  --partitions  the partitions only\n",
      .examples = "Examples:\n"
                  "  beck topic describe orders\n"
                  "  beck topic describe orders --partitions --json\n",
      .shortopts = "",
      .longopts = longopts,
      .on_opt = describe_opt,
      .min_args = 1,
      .max_args = -1,
      .arg_name = "topic NAME",
  };
  cli_opts_t o;
  describe_args_t a = {0};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  int n = argc - first;
  bool want_sizes = a.partitions || (!a.summary && !a.configs);
  cli_client_t c = {.capture_apis = want_sizes}; /* each broker's API versions pick the DescribeLogDirs version */
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, NULL) < 0)
    return CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md;
  if (cli_client_metadata(&c, true, &md) < 0) {
    cli_client_close(&c);
    return CLI_EXIT_FAIL;
  }
  int rc = CLI_EXIT_OK;
  const rd_kafka_metadata_topic_t **ts = cli_xcalloc((size_t)n, sizeof *ts);
  for (int i = 0; i < n; i++)
    if ((ts[i] = cli_md_require_topic(&c, md, argv[first + i])) == NULL)
      rc = CLI_EXIT_FAIL;
  rd_kafka_event_t *cev = NULL;
  const rd_kafka_ConfigResource_t **res = NULL;
  size_t nres = 0;
  if (rc == CLI_EXIT_OK && (cev = describe_configs(&c, argv + first, n)) == NULL)
    rc = CLI_EXIT_FAIL;
  if (cev)
    res = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(cev), &nres);
  /* every partition of every topic in one offsets request */
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
  for (int i = 0; rc == CLI_EXIT_OK && i < n; i++) {
    /* partitions in id order (the metadata may list them in any order;
     * it is our copy, so sorting it in place is fine) */
    qsort(((rd_kafka_metadata_topic_t *)ts[i])->partitions, (size_t)ts[i]->partition_cnt, sizeof *ts[i]->partitions,
          cmp_md_partitions);
    for (int k = 0; k < ts[i]->partition_cnt; k++)
      rd_kafka_topic_partition_list_add(parts, ts[i]->topic, ts[i]->partitions[k].id);
  }
  int64_t *lo = cli_xcalloc((size_t)parts->cnt + 1, sizeof *lo), *hi = cli_xcalloc((size_t)parts->cnt + 1, sizeof *hi);
  int64_t *size = cli_xcalloc((size_t)parts->cnt + 1, sizeof *size);
  int *base = cli_xcalloc((size_t)n + 1, sizeof *base);
  for (int i = 0; i < parts->cnt; i++)
    size[i] = -1;
  for (int i = 1; rc == CLI_EXIT_OK && i < n; i++)
    base[i] = base[i - 1] + ts[i - 1]->partition_cnt;
  if (rc == CLI_EXIT_OK && cli_watermarks(&c, parts, lo, hi) < 0)
    rc = CLI_EXIT_FAIL;
  if (rc == CLI_EXIT_OK && want_sizes)
    partition_sizes(&c, &o, md, ts, n, base, size);
  if (rc == CLI_EXIT_OK) {
    json_t *arr = o.output == CLI_OUTPUT_JSON ? json_array() : NULL;
    for (int i = 0; i < n; i++) {
      if (i > 0 && !arr)
        printf("\n");
      json_t *j = describe_one(&o, &a, ts[i], find_resource(res, nres, ts[i]->topic), lo + base[i], hi + base[i],
                               size + base[i]);
      if (arr)
        json_array_append_new(arr, j);
    }
    if (arr) {
      json_t *top = json_object();
      json_object_set_new(top, "topics", arr);
      print_or_fail_json(top, &rc);
    }
  }
  beck_free(lo);
  beck_free(hi);
  beck_free(size);
  beck_free(base);
  rd_kafka_topic_partition_list_destroy(parts);
  if (cev)
    rd_kafka_event_destroy(cev);
  beck_free(ts);
  rd_kafka_metadata_destroy(md);
  beck_free(o.props);
  cli_client_close(&c);
  return rc;
}

/* ---- topic alter ----------------------------------------------------------------- */

typedef struct alter_args {
  const cli_opts_t *o;
  kv_list_t set;
  const char **del;
  int ndel;
  bool dry_run;
} alter_args_t;

static int alter_opt(void *ctx, int ch, const char *arg) {
  alter_args_t *a = ctx;
  switch (ch) {
  case 'c':
    return add_kv(a->o, &a->set, arg, "--config");
  case OPT_DELETE:
    if (*arg == '\0' || strchr(arg, '='))
      return cli_usage_error(a->o, "--delete: expected a setting name, got '%s'", arg);
    cli_strv_push(&a->del, &a->ndel, arg);
    return 0;
  case OPT_DRY_RUN:
    a->dry_run = true;
    return 0;
  }
  return -1;
}

/* The effective value of key in res (NULL when absent or sensitive). */
static const char *value_of(const rd_kafka_ConfigResource_t *res, const char *key) {
  size_t n;
  const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(res, &n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(rd_kafka_ConfigEntry_name(e[i]), key) == 0)
      return entry_value(e[i]);
  return NULL;
}

static int topic_alter(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"set", required_argument, NULL, 'c'},
      {"delete", required_argument, NULL, OPT_DELETE},
      {"dry-run", no_argument, NULL, OPT_DRY_RUN},
      {NULL, 0, NULL, 0},
  };
  static const cli_spec_t spec = {
      .cmd = "topic alter",
      .help = "Usage: beck topic alter NAME [-c KEY=VALUE]... [--delete KEY]...\n"
              "\n"
              "Changes topic settings. Only the named settings change: the others keep their\n"
              "values. --delete removes an override, so the setting falls back to the broker's\n"
              "or the default value. Prints each changed setting with its old and new value.\n"
              "\n"
              "Options:\n"
              "  -c, --config KEY=VALUE  set a topic setting (repeatable; --set is the same)\n"
              "      --delete KEY        remove a topic override (repeatable)\n"
              "      --dry-run           have the cluster check the change, change nothing\n",
      .examples = "Examples:\n"
                  "  beck topic alter orders -c retention.ms=86400000\n"
                  "  beck topic alter orders --delete retention.ms -c cleanup.policy=compact\n",
      .shortopts = "c:",
      .longopts = longopts,
      .on_opt = alter_opt,
      .min_args = 1,
      .max_args = 1,
      .arg_name = "topic NAME",
  };
  cli_opts_t o;
  alter_args_t a = {.o = &o};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  char *topic = argv[first];
  if (a.set.n == 0 && a.ndel == 0) {
    cli_usage_error(&o, "nothing to change: give --config KEY=VALUE or --delete KEY");
    return CLI_EXIT_USAGE;
  }
  cli_client_t c = {0};
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, NULL) < 0)
    return CLI_EXIT_FAIL;
  int rc = CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md;
  rd_kafka_event_t *before = NULL, *after = NULL, *alt = NULL;
  rd_kafka_ConfigResource_t *res = NULL;
  if (cli_client_metadata(&c, true, &md) < 0)
    goto out;
  bool exists = cli_md_require_topic(&c, md, topic) != NULL;
  rd_kafka_metadata_destroy(md);
  if (!exists || (before = describe_configs(&c, &topic, 1)) == NULL)
    goto out;
  size_t nres;
  const rd_kafka_ConfigResource_t **br =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(before), &nres);
  const rd_kafka_ConfigResource_t *old = find_resource(br, nres, topic);
  if (old == NULL || rd_kafka_ConfigResource_error(old)) {
    cli_kafka_error(&o, "cannot read the topic's settings",
                    old ? rd_kafka_ConfigResource_error(old) : RD_KAFKA_RESP_ERR__FAIL,
                    old ? rd_kafka_ConfigResource_error_string(old) : NULL, NULL);
    goto out;
  }
  /* the new full set: today's overrides minus --delete, then --config */
  res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
  size_t ncfg;
  const rd_kafka_ConfigEntry_t **cfg = rd_kafka_ConfigResource_configs(old, &ncfg);
  for (size_t i = 0; i < ncfg; i++) {
    const char *name = rd_kafka_ConfigEntry_name(cfg[i]);
    if (rd_kafka_ConfigEntry_source(cfg[i]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
      continue;
    bool drop = false;
    for (int k = 0; k < a.ndel; k++)
      drop |= strcmp(a.del[k], name) == 0;
    for (int k = 0; k < a.set.n; k++)
      drop |= strncmp(a.set.items[k], name, strlen(name)) == 0 && a.set.items[k][strlen(name)] == '=';
    if (!drop)
      rd_kafka_ConfigResource_set_config(res, name, rd_kafka_ConfigEntry_value(cfg[i]));
  }
  for (int k = 0; k < a.set.n; k++) {
    char *key;
    const char *value;
    cli_split_kv(a.set.items[k], &key, &value);
    rd_kafka_ConfigResource_set_config(res, key, value);
    free(key);
  }
  rd_kafka_AdminOptions_t *ao = cli_admin_options(&c, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
  char errstr[256];
  if (a.dry_run)
    rd_kafka_AdminOptions_set_validate_only(ao, 1, errstr, sizeof errstr);
  rd_kafka_queue_t *q = rd_kafka_queue_new(c.rk);
  rd_kafka_AlterConfigs(c.rk, &res, 1, ao, q);
  alt = cli_admin_wait(&c, q, "cannot change the settings");
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_queue_destroy(q);
  if (alt == NULL)
    goto out;
  const rd_kafka_ConfigResource_t **ar =
      rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(alt), &nres);
  const rd_kafka_ConfigResource_t *ares = find_resource(ar, nres, topic);
  if (ares && rd_kafka_ConfigResource_error(ares)) {
    char what[300];
    snprintf(what, sizeof what, "cannot change the settings of '%s'", topic);
    cli_kafka_error(&o, what, rd_kafka_ConfigResource_error(ares), rd_kafka_ConfigResource_error_string(ares),
                    "`beck topic describe TOPIC --configs` lists the settings and their values");
    goto out;
  }
  const rd_kafka_ConfigResource_t *nw = NULL;
  if (!a.dry_run) {
    if ((after = describe_configs(&c, &topic, 1)) == NULL)
      goto out;
    const rd_kafka_ConfigResource_t **arr =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(after), &nres);
    nw = find_resource(arr, nres, topic);
  }
  /* the changes, in the order given: --config first, then --delete */
  int nchanges = a.set.n + a.ndel;
  rc = CLI_EXIT_OK;
  json_t *changes = json_array();
  static const char *const hdr[] = {"KEY", "OLD", "NEW"};
  cli_table_t *t = cli_table_new(3, hdr);
  for (int k = 0; k < nchanges; k++) {
    char *key;
    const char *requested = NULL;
    if (k < a.set.n)
      cli_split_kv(a.set.items[k], &key, &requested);
    else
      key = cli_xstrdup(a.del[k - a.set.n]);
    const char *ov = value_of(old, key);
    const char *nv = nw ? value_of(nw, key) : requested;
    cli_table_str(t, key);
    cli_table_str(t, ov);
    cli_table_str(t, nv ? nv : (a.dry_run ? "(default)" : NULL));
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(key));
    json_object_set_new(e, "old", cli_json_str_or_null(ov));
    json_object_set_new(e, "new", cli_json_str_or_null(nv));
    json_array_append_new(changes, e);
    free(key);
  }
  if (o.output == CLI_OUTPUT_JSON) {
    json_t *top = json_object();
    json_object_set_new(top, "topic", json_string(topic));
    json_object_set_new(top, "dry_run", json_boolean(a.dry_run));
    json_object_set_new(top, "changes", changes);
    print_or_fail_json(top, &rc);
  } else {
    json_decref(changes);
    cli_table_print(t, stdout, 0);
    if (a.dry_run)
      printf("(dry run: nothing changed)\n");
  }
  cli_table_destroy(t);
out:
  if (res)
    rd_kafka_ConfigResource_destroy(res);
  if (before)
    rd_kafka_event_destroy(before);
  if (after)
    rd_kafka_event_destroy(after);
  if (alt)
    rd_kafka_event_destroy(alt);
  beck_free(a.set.items);
  beck_free(a.del);
  beck_free(o.props);
  cli_client_close(&c);
  return rc;
}

/* ---- topic delete ------------------------------------------------------------------ */

static int topic_delete(int argc, char **argv) {
  static const cli_spec_t spec = {
      .cmd = "topic delete",
      .help = "Usage: beck topic delete NAME...\n"
              "\n"
              "Deletes topics and all their records. There is no undo and no prompt.\n",
      .examples = "Examples:\n"
                  "  beck topic delete orders\n"
                  "  beck topic list -q 'tmp-*' | xargs beck topic delete\n",
      .min_args = 1,
      .max_args = -1,
      .arg_name = "topic NAME",
  };
  cli_opts_t o;
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, NULL, &first, &status))
    return status;
  int n = argc - first;
  cli_client_t c = {0};
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, NULL) < 0)
    return CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md;
  if (cli_client_metadata(&c, false, &md) < 0) {
    cli_client_close(&c);
    return CLI_EXIT_FAIL;
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_DeleteTopic_t **dt = cli_xcalloc((size_t)n, sizeof *dt);
  for (int i = 0; i < n; i++)
    dt[i] = rd_kafka_DeleteTopic_new(argv[first + i]);
  rd_kafka_AdminOptions_t *ao = cli_admin_options(&c, RD_KAFKA_ADMIN_OP_DELETETOPICS);
  rd_kafka_queue_t *q = rd_kafka_queue_new(c.rk);
  rd_kafka_DeleteTopics(c.rk, dt, (size_t)n, ao, q);
  rd_kafka_event_t *ev = cli_admin_wait(&c, q, "cannot delete topics");
  int rc = CLI_EXIT_FAIL;
  if (ev) {
    size_t cnt;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
    rc = print_topic_results(&o, tr, cnt, "deleted", NULL, NULL);
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_queue_destroy(q);
  rd_kafka_DeleteTopic_destroy_array(dt, (size_t)n);
  beck_free(dt);
  beck_free(o.props);
  cli_client_close(&c);
  return rc;
}

/* ---- topic add-partitions ------------------------------------------------------------ */

typedef struct addp_args {
  const cli_opts_t *o;
  int64_t to, add;
  bool dry_run;
} addp_args_t;

static int addp_opt(void *ctx, int ch, const char *arg) {
  addp_args_t *a = ctx;
  switch (ch) {
  case OPT_TO:
    if (cli_parse_int(arg, 1, 1000000, &a->to) < 0)
      return cli_usage_error(a->o, "--to: expected the new partition count, got '%s'", arg);
    return 0;
  case 'n':
  case OPT_ADD:
    if (cli_parse_int(arg, 1, 1000000, &a->add) < 0)
      return cli_usage_error(a->o, "--add: expected how many partitions to add, got '%s'", arg);
    return 0;
  case OPT_DRY_RUN:
    a->dry_run = true;
    return 0;
  }
  return -1;
}

typedef struct addp_counts {
  int before, after;
} addp_counts_t;

static json_t *addp_json(const char *topic, void *arg) {
  addp_counts_t *k = arg;
  return json_pack("{s:i, s:i}", "partitions_before", k->before, "partitions", k->after);
}

static int topic_add_partitions(int argc, char **argv) {
  static const struct option longopts[] = {
      {"to", required_argument, NULL, OPT_TO},
      {"add", required_argument, NULL, OPT_ADD},
      {"dry-run", no_argument, NULL, OPT_DRY_RUN},
      {NULL, 0, NULL, 0},
  };
  static const cli_spec_t spec = {
      .cmd = "topic add-partitions",
      .help = "Usage: beck topic add-partitions NAME (--to N | --add N)\n"
              "\n"
              "Adds partitions to a topic. Partitions cannot be removed. Keyed records may map\n"
              "to a different partition afterwards, so per-key order holds only from then on.\n"
              "\n"
              "Options:\n"
              "      --to N       the new total number of partitions\n"
              "  -n, --add N      how many partitions to add\n"
              "      --dry-run    have the cluster check the request, change nothing\n",
      .examples = "Examples:\n"
                  "  beck topic add-partitions orders --to 12\n"
                  "  beck topic add-partitions orders -n 2\n",
      .shortopts = "n:",
      .longopts = longopts,
      .on_opt = addp_opt,
      .min_args = 1,
      .max_args = 1,
      .arg_name = "topic NAME",
  };
  cli_opts_t o;
  addp_args_t a = {.o = &o};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  const char *topic = argv[first];
  if ((a.to > 0) == (a.add > 0)) {
    cli_usage_error(&o, "give either --to N (the new total) or --add N");
    return CLI_EXIT_USAGE;
  }
  cli_client_t c = {0};
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, NULL) < 0)
    return CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md;
  if (cli_client_metadata(&c, true, &md) < 0) {
    cli_client_close(&c);
    return CLI_EXIT_FAIL;
  }
  int rc = CLI_EXIT_FAIL;
  const rd_kafka_metadata_topic_t *t = cli_md_require_topic(&c, md, topic);
  addp_counts_t counts = {t ? t->partition_cnt : 0, 0};
  rd_kafka_metadata_destroy(md);
  if (t == NULL)
    goto out;
  counts.after = a.to > 0 ? (int)a.to : counts.before + (int)a.add;
  if (counts.after <= counts.before) {
    cli_error(&o, "topic '%s' has %d partitions already: partitions can only be added (--to more than %d)", topic,
              counts.before, counts.before);
    goto out;
  }
  char errstr[256];
  rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(topic, (size_t)counts.after, errstr, sizeof errstr);
  if (np == NULL) {
    cli_error(&o, "%s", errstr);
    goto out;
  }
  rd_kafka_AdminOptions_t *ao = cli_admin_options(&c, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
  if (a.dry_run)
    rd_kafka_AdminOptions_set_validate_only(ao, 1, errstr, sizeof errstr);
  rd_kafka_queue_t *q = rd_kafka_queue_new(c.rk);
  rd_kafka_CreatePartitions(c.rk, &np, 1, ao, q);
  rd_kafka_event_t *ev = cli_admin_wait(&c, q, "cannot add partitions");
  if (ev) {
    size_t cnt;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &cnt);
    char word[96];
    snprintf(word, sizeof word, "%d -> %d partitions%s", counts.before, counts.after,
             a.dry_run ? " (dry run, nothing changed)" : "");
    rc = print_topic_results(&o, tr, cnt, word, addp_json, &counts);
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewPartitions_destroy(np);
out:
  beck_free(o.props);
  cli_client_close(&c);
  return rc;
}

/* ---- the group ------------------------------------------------------------------------- */

static const beck_cli_command_t topic_commands[] = {
    {"create", "create topics", topic_create},
    {"list", "list topics", topic_list},
    {"describe", "partitions, offsets and settings of topics", topic_describe},
    {"alter", "change topic settings", topic_alter},
    {"delete", "delete topics", topic_delete},
    {"add-partitions", "add partitions to a topic", topic_add_partitions},
    {NULL, NULL, NULL},
};

int cmd_topic(int argc, char **argv) {
  return cli_dispatch("topic", "Creates, lists, describes, changes and deletes topics on any Kafka-protocol cluster.",
                      topic_commands, argc, argv);
}
