/*
 * cmd_cluster.c - `beck cluster info`: the cluster id, the controller, the
 * brokers, topic and group counts, and what each broker speaks.
 *
 * Kafka brokers do not tell clients their software version; what a client
 * can know is the range of versions the broker accepts for each API
 * (ApiVersions, KIP-35), which is what decides compatibility. librdkafka
 * 2.0.2 has no public call for that answer, but logs it (debug context
 * "feature", facility APIVERSION) when it connects; the client captures those
 * lines (cli_client_t.capture_apis). Counting the groups lists them on
 * every broker, so every broker is connected to, and described, by the time
 * the answer is printed. Brokers the client could not reach show no APIs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "kafka_util.h"

enum { OPT_API_VERSIONS = 6001 };

typedef struct info_args {
  bool api_versions;
} info_args_t;

static int info_opt(void *ctx, int ch, const char *arg) {
  if (ch != OPT_API_VERSIONS)
    return -1;
  ((info_args_t *)ctx)->api_versions = true;
  return 0;
}

static int cmp_brokers(const void *a, const void *b) {
  return ((const rd_kafka_metadata_broker_t *)a)->id - ((const rd_kafka_metadata_broker_t *)b)->id;
}

static int cmp_apis(const void *a, const void *b) {
  const cli_api_version_t *x = a, *y = b;
  int c = strcmp(x->broker, y->broker);
  return c ? c : x->key - y->key;
}

/* The captured APIs of broker host:port: index of the first and count. */
static int apis_of(const cli_client_t *c, const rd_kafka_metadata_broker_t *b, int *start) {
  char name[300];
  snprintf(name, sizeof name, "%s:%d", b->host, b->port);
  int n = 0;
  *start = -1;
  for (int i = 0; i < c->napis; i++)
    if (strcmp(c->apis[i].broker, name) == 0) {
      if (*start < 0)
        *start = i;
      n++;
    }
  return n;
}

static int cluster_info(int argc, char **argv) {
  static const struct option longopts[] = {{"api-versions", no_argument, NULL, OPT_API_VERSIONS}, {NULL, 0, NULL, 0}};
  static const cli_spec_t spec = {
      .cmd = "cluster info",
      .help = "Usage: beck cluster info [--api-versions]\n"
              "\n"
              "Shows the cluster: its id, the controller, every broker with its address and\n"
              "how many Kafka APIs it supports, the number of topics and groups, and the\n"
              "client's own version. Kafka brokers do not report a software version; the\n"
              "API versions they accept are what decides which clients work with them.\n"
              "\n"
              "Options:\n"
              "      --api-versions  list the version range of every API of every broker\n",
      .examples = "Examples:\n"
                  "  beck cluster info\n"
                  "  beck cluster info --api-versions --json\n",
      .shortopts = "",
      .longopts = longopts,
      .on_opt = info_opt,
      .min_args = 0,
      .max_args = 0,
  };
  cli_opts_t o;
  info_args_t a = {0};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  cli_client_t c = {.capture_apis = true};
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, NULL) < 0)
    return CLI_EXIT_FAIL;
  int rc = CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md = NULL;
  const struct rd_kafka_group_list *gl = NULL;
  if (cli_client_metadata(&c, true, &md) < 0)
    goto out;
  char *cluster_id = rd_kafka_clusterid(c.rk, o.timeout_ms);
  int32_t controller = rd_kafka_controllerid(c.rk, o.timeout_ms);
  rd_kafka_resp_err_t gerr = rd_kafka_list_groups(c.rk, NULL, &gl, o.timeout_ms);
  int ngroups = gerr == RD_KAFKA_RESP_ERR_NO_ERROR || gerr == RD_KAFKA_RESP_ERR__PARTIAL ? gl->group_cnt : -1;
  if (ngroups < 0)
    cli_error(&o, "warning: cannot count the groups: %s", rd_kafka_err2str(gerr));
  int ntopics = 0;
  for (int i = 0; i < md->topic_cnt; i++)
    if (strncmp(md->topics[i].topic, "__", 2) != 0)
      ntopics++;
  rd_kafka_metadata_broker_t *brokers = cli_xcalloc((size_t)md->broker_cnt + 1, sizeof *brokers);
  if (md->broker_cnt)
    memcpy(brokers, md->brokers, sizeof *brokers * (size_t)md->broker_cnt);
  qsort(brokers, (size_t)md->broker_cnt, sizeof *brokers, cmp_brokers);
  pthread_mutex_lock(&c.lock);
  qsort(c.apis, (size_t)c.napis, sizeof *c.apis, cmp_apis);
  rc = CLI_EXIT_OK;
  if (o.output == CLI_OUTPUT_JSON) {
    json_t *top = json_object();
    json_object_set_new(top, "cluster_id", cli_json_str_or_null(cluster_id));
    json_object_set_new(top, "controller_id", controller >= 0 ? json_integer(controller) : json_null());
    json_t *ba = json_array();
    for (int i = 0; i < md->broker_cnt; i++) {
      json_t *b = json_object();
      json_object_set_new(b, "id", json_integer(brokers[i].id));
      json_object_set_new(b, "host", json_string(brokers[i].host));
      json_object_set_new(b, "port", json_integer(brokers[i].port));
      json_object_set_new(b, "controller", json_boolean(brokers[i].id == controller));
      int start, n = apis_of(&c, &brokers[i], &start);
      json_t *apis = json_array();
      for (int k = 0; k < n; k++) {
        const cli_api_version_t *v = &c.apis[start + k];
        json_array_append_new(
            apis, json_pack("{s:s, s:i, s:i, s:i}", "api", v->name, "key", v->key, "min", v->min, "max", v->max));
      }
      json_object_set_new(b, "api_versions", n ? apis : (json_decref(apis), json_null()));
      json_array_append_new(ba, b);
    }
    json_object_set_new(top, "brokers", ba);
    json_object_set_new(top, "topics", json_integer(ntopics));
    json_object_set_new(top, "groups", ngroups >= 0 ? json_integer(ngroups) : json_null());
    json_object_set_new(top, "client",
                        json_pack("{s:s, s:s}", "beck", BECK_VERSION, "librdkafka", rd_kafka_version_str()));
    if (cli_json_print(top, false) < 0)
      rc = CLI_EXIT_FAIL;
    json_decref(top);
  } else {
    cli_table_t *kv = cli_table_new(2, NULL);
    cli_table_str(kv, "CLUSTER");
    cli_table_str(kv, cluster_id);
    cli_table_str(kv, "CONTROLLER");
    cli_table_offset(kv, controller);
    cli_table_str(kv, "TOPICS");
    cli_table_cell(kv, "%d", ntopics);
    cli_table_str(kv, "GROUPS");
    cli_table_offset(kv, ngroups);
    cli_table_str(kv, "CLIENT");
    cli_table_cell(kv, "beck %s (librdkafka %s)", BECK_VERSION, rd_kafka_version_str());
    cli_table_print(kv, stdout, 0);
    cli_table_destroy(kv);
    printf("\nBROKERS\n");
    static const char *const hdr[] = {"ID", "HOST", "PORT", "CONTROLLER", "KAFKA-APIS"};
    cli_table_t *t = cli_table_new(5, hdr);
    for (int i = 0; i < md->broker_cnt; i++) {
      int start, n = apis_of(&c, &brokers[i], &start);
      cli_table_cell(t, "%d", brokers[i].id);
      cli_table_str(t, brokers[i].host);
      cli_table_cell(t, "%d", brokers[i].port);
      cli_table_str(t, brokers[i].id == controller ? "yes" : "no");
      if (n)
        cli_table_cell(t, "%d", n);
      else
        cli_table_str(t, NULL);
    }
    cli_table_print(t, stdout, 2);
    cli_table_destroy(t);
    if (a.api_versions) {
      printf("\nAPI VERSIONS\n");
      static const char *const ah[] = {"BROKER", "API", "KEY", "MIN", "MAX"};
      cli_table_t *at = cli_table_new(5, ah);
      for (int i = 0; i < md->broker_cnt; i++) {
        int start, n = apis_of(&c, &brokers[i], &start);
        for (int k = 0; k < n; k++) {
          const cli_api_version_t *v = &c.apis[start + k];
          cli_table_cell(at, "%d", brokers[i].id);
          cli_table_str(at, v->name);
          cli_table_cell(at, "%d", v->key);
          cli_table_cell(at, "%d", v->min);
          cli_table_cell(at, "%d", v->max);
        }
      }
      cli_table_print(at, stdout, 2);
      cli_table_destroy(at);
    }
  }
  pthread_mutex_unlock(&c.lock);
  beck_free(brokers);
  if (cluster_id)
    rd_kafka_mem_free(c.rk, cluster_id);
out:
  if (gl)
    rd_kafka_group_list_destroy(gl);
  if (md)
    rd_kafka_metadata_destroy(md);
  beck_free(o.props);
  cli_client_close(&c);
  return rc;
}

static const beck_cli_command_t cluster_commands[] = {
    {"info", "brokers, controller, API versions", cluster_info},
    {NULL, NULL, NULL},
};

int cmd_cluster(int argc, char **argv) {
  return cli_dispatch("cluster", "Shows what the cluster is made of.", cluster_commands, argc, argv);
}
