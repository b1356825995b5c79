/*
 * cmd_group.c - `beck group list|describe|reset|delete`: consumer groups,
 * their members and assignments, committed offsets and lag.
 *
 * librdkafka 2.0.2 predates ListConsumerGroups / DescribeConsumerGroups
 * (2.1), so groups come from rd_kafka_list_groups() (ListGroups plus
 * DescribeGroups, on every broker), which returns members with their raw
 * assignment; a "consumer" group's assignment is the consumer protocol's
 * Assignment struct, decoded here (parse_assignment). Committed offsets come
 * from rd_kafka_committed() on a consumer handle whose group.id is the
 * group: the handle never subscribes, so it never joins the group. Lag is
 * log end offset minus committed offset, per partition.
 *
 * `group reset` commits offsets with such a handle (OffsetCommit with
 * generation -1, as a standalone consumer). It is refused while the group
 * has members: they would overwrite the new offsets with their own on the
 * next commit. A member that joins between the check and the commit makes
 * the coordinator refuse the commit, so nothing is half-applied silently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "kafka_util.h"

enum { OPT_TOPIC = 5001, OPT_TO, OPT_DRY_RUN, OPT_ALL_TOPICS };

/* ---- the consumer protocol's Assignment -------------------------------------- */

/* One member's assignment: topic -> partitions. */
typedef struct assignment {
  int ntopics;
  struct {
    char *topic;
    int32_t *partitions;
    int npartitions;
  } * topics;
} assignment_t;

typedef struct reader {
  const uint8_t *p, *end;
  bool bad;
} reader_t;

static int32_t rd_i32(reader_t *r) {
  if (r->bad || r->end - r->p < 4) {
    r->bad = true;
    return 0;
  }
  int32_t v = (int32_t)((uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3]);
  r->p += 4;
  return v;
}

static int16_t rd_i16(reader_t *r) {
  if (r->bad || r->end - r->p < 2) {
    r->bad = true;
    return 0;
  }
  int16_t v = (int16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
  r->p += 2;
  return v;
}

/* Version int16, [Topic string, [Partition int32]], UserData bytes (ignored).
 * Counts are checked against the bytes left. Returns 0, or -1 when malformed. */
static int parse_assignment(const void *data, int size, assignment_t *a) {
  memset(a, 0, sizeof *a);
  if (data == NULL || size <= 0)
    return 0;
  reader_t r = {data, (const uint8_t *)data + size, false};
  rd_i16(&r);
  int32_t nt = rd_i32(&r);
  if (r.bad || nt < 0 || nt > (r.end - r.p) / 6)
    return -1;
  a->topics = cli_xcalloc((size_t)nt, sizeof *a->topics);
  for (int32_t i = 0; i < nt && !r.bad; i++) {
    int16_t len = rd_i16(&r);
    if (r.bad || len < 0 || len > r.end - r.p)
      return -1;
    char *topic = cli_xmalloc((size_t)len + 1);
    memcpy(topic, r.p, (size_t)len);
    topic[len] = '\0';
    r.p += len;
    a->topics[i].topic = topic;
    a->ntopics = i + 1;
    int32_t np = rd_i32(&r);
    if (r.bad || np < 0 || np > (r.end - r.p) / 4)
      return -1;
    a->topics[i].partitions = cli_xcalloc((size_t)np, sizeof(int32_t));
    a->topics[i].npartitions = np;
    for (int32_t k = 0; k < np; k++)
      a->topics[i].partitions[k] = rd_i32(&r);
  }
  return r.bad ? -1 : 0;
}

static void free_assignment(assignment_t *a) {
  for (int i = 0; i < a->ntopics; i++) {
    beck_free(a->topics[i].topic);
    beck_free(a->topics[i].partitions);
  }
  beck_free(a->topics);
  memset(a, 0, sizeof *a);
}

static bool is_consumer_group(const struct rd_kafka_group_info *g) {
  return g->protocol_type && (strcmp(g->protocol_type, "consumer") == 0 || g->protocol_type[0] == '\0');
}

/* "orders[0,1,2] clicks[3]" */
static char *assignment_text(const assignment_t *a) {
  size_t cap = 64, len = 0;
  char *s = cli_xmalloc(cap);
  s[0] = '\0';
  for (int i = 0; i < a->ntopics; i++) {
    size_t need = strlen(a->topics[i].topic) + 16 + (size_t)a->topics[i].npartitions * 12;
    if (len + need >= cap) {
      cap = (len + need) * 2;
      s = cli_xrealloc(s, cap);
    }
    len += (size_t)snprintf(s + len, cap - len, "%s%s[", i ? " " : "", a->topics[i].topic);
    for (int k = 0; k < a->topics[i].npartitions; k++)
      len += (size_t)snprintf(s + len, cap - len, k ? ",%d" : "%d", a->topics[i].partitions[k]);
    len += (size_t)snprintf(s + len, cap - len, "]");
  }
  return s;
}

/* ---- shared --------------------------------------------------------------------- */

/* s, or NULL when it is empty (an Empty group has no protocol). */
static const char *nonempty(const char *s) { return s && *s ? s : NULL; }

static void json_out(json_t *j, int *rc) {
  if (cli_json_print(j, false) < 0)
    *rc = CLI_EXIT_FAIL;
  json_decref(j);
}

/* The group's info from rd_kafka_list_groups(); *gl the caller destroys.
 * Returns the group, NULL when it does not exist (*gl may still be set),
 * or sets *failed after printing why the lookup failed. */
static const struct rd_kafka_group_info *lookup_group(cli_client_t *c, const char *group,
                                                      const struct rd_kafka_group_list **gl, bool *failed) {
  *gl = NULL;
  *failed = false;
  rd_kafka_resp_err_t err = rd_kafka_list_groups(c->rk, group, gl, c->opts->timeout_ms);
  if (err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
    return NULL;
  if (err && err != RD_KAFKA_RESP_ERR__PARTIAL) {
    char what[400];
    snprintf(what, sizeof what, "cannot describe group '%s'", group);
    cli_kafka_error(c->opts, what, err, NULL, NULL);
    *failed = true;
    return NULL;
  }
  for (int i = 0; i < (*gl)->group_cnt; i++) {
    const struct rd_kafka_group_info *g = &(*gl)->groups[i];
    if (strcmp(g->group, group) != 0)
      continue;
    if (g->err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND || (g->state && strcmp(g->state, "Dead") == 0))
      return NULL;
    if (g->err) {
      char what[400];
      snprintf(what, sizeof what, "cannot describe group '%s'", group);
      cli_kafka_error(c->opts, what, g->err, NULL, NULL);
      *failed = true;
      return NULL;
    }
    return g;
  }
  return NULL;
}

/* A consumer handle in `group` that never joins it (for committed offsets). */
static int open_group_client(cli_client_t *c, const cli_opts_t *o, const char *group) {
  const char *kv[] = {"group.id", group, "enable.auto.commit", "false", "enable.auto.offset.store", "false", NULL};
  return cli_client_open_with(c, o, RD_KAFKA_CONSUMER, kv);
}

/* Every partition of the given topics (all topics when ntopics is 0; internal
 * "__" topics are skipped then). Returns NULL after printing a missing topic. */
static rd_kafka_topic_partition_list_t *partitions_of(const cli_client_t *c, const rd_kafka_metadata_t *md,
                                                      const char **topics, int ntopics, const int32_t *only,
                                                      int nonly) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(64);
  if (ntopics == 0) {
    for (int i = 0; i < md->topic_cnt; i++)
      if (strncmp(md->topics[i].topic, "__", 2) != 0 && !md->topics[i].err)
        for (int k = 0; k < md->topics[i].partition_cnt; k++)
          rd_kafka_topic_partition_list_add(l, md->topics[i].topic, md->topics[i].partitions[k].id);
    return l;
  }
  for (int i = 0; i < ntopics; i++) {
    const rd_kafka_metadata_topic_t *t = cli_md_require_topic(c, md, topics[i]);
    if (t == NULL) {
      rd_kafka_topic_partition_list_destroy(l);
      return NULL;
    }
    for (int j = 0; j < nonly; j++) {
      bool found = false;
      for (int k = 0; k < t->partition_cnt; k++)
        found |= t->partitions[k].id == only[j];
      if (!found) {
        cli_error(c->opts, "topic '%s' has no partition %d (it has %d)", t->topic, only[j], t->partition_cnt);
        rd_kafka_topic_partition_list_destroy(l);
        return NULL;
      }
    }
    for (int k = 0; k < t->partition_cnt; k++) {
      bool want = nonly == 0;
      for (int j = 0; j < nonly; j++)
        want |= only[j] == t->partitions[k].id;
      if (want)
        rd_kafka_topic_partition_list_add(l, t->topic, t->partitions[k].id);
    }
  }
  return l;
}

/* ---- group list --------------------------------------------------------------------- */

typedef struct list_args {
  bool quiet;
} list_args_t;

static int list_opt(void *ctx, int ch, const char *arg) {
  if (ch != 'q')
    return -1;
  ((list_args_t *)ctx)->quiet = true;
  return 0;
}

static int cmp_groups(const void *a, const void *b) {
  return strcmp((*(const struct rd_kafka_group_info *const *)a)->group,
                (*(const struct rd_kafka_group_info *const *)b)->group);
}

static int group_list(int argc, char **argv) {
  static const struct option longopts[] = {{"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0}};
  static const cli_spec_t spec = {
      .cmd = "group list",
      .help = "Usage: beck group list [-q]\n"
              "\n"
              "Lists the consumer groups of the cluster with their state and member count.\n"
              "\n"
              "Options:\n"
              "  -q, --quiet  names only, one per line\n",
      .examples = "Examples:\n"
                  "  beck group list\n"
                  "  beck group list --json\n",
      .shortopts = "q",
      .longopts = longopts,
      .on_opt = list_opt,
      .min_args = 0,
      .max_args = 0,
  };
  cli_opts_t o;
  list_args_t a = {0};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  cli_client_t c = {0};
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, NULL) < 0)
    return CLI_EXIT_FAIL;
  int rc = CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md;
  const struct rd_kafka_group_list *gl = NULL;
  if (cli_client_metadata(&c, false, &md) < 0)
    goto out;
  rd_kafka_metadata_destroy(md);
  rd_kafka_resp_err_t err = rd_kafka_list_groups(c.rk, NULL, &gl, o.timeout_ms);
  if (err && err != RD_KAFKA_RESP_ERR__PARTIAL) {
    cli_kafka_error(&o, "cannot list the groups", err, NULL, NULL);
    goto out;
  }
  if (err == RD_KAFKA_RESP_ERR__PARTIAL)
    cli_error(&o, "warning: not every broker answered in time; the list may be incomplete");
  const struct rd_kafka_group_info **gs = cli_xcalloc((size_t)gl->group_cnt, sizeof *gs);
  for (int i = 0; i < gl->group_cnt; i++)
    gs[i] = &gl->groups[i];
  qsort(gs, (size_t)gl->group_cnt, sizeof *gs, cmp_groups);
  rc = CLI_EXIT_OK;
  if (a.quiet) {
    for (int i = 0; i < gl->group_cnt; i++)
      printf("%s\n", gs[i]->group);
  } else if (o.output == CLI_OUTPUT_JSON) {
    json_t *arr = json_array();
    for (int i = 0; i < gl->group_cnt; i++) {
      json_t *g = json_object();
      json_object_set_new(g, "group", json_string(gs[i]->group));
      json_object_set_new(g, "state", cli_json_str_or_null(nonempty(gs[i]->state)));
      json_object_set_new(g, "members", json_integer(gs[i]->member_cnt));
      json_object_set_new(g, "protocol_type", cli_json_str_or_null(nonempty(gs[i]->protocol_type)));
      json_object_set_new(g, "protocol", cli_json_str_or_null(nonempty(gs[i]->protocol)));
      json_object_set_new(g, "coordinator", json_integer(gs[i]->broker.id));
      json_array_append_new(arr, g);
    }
    json_t *top = json_object();
    json_object_set_new(top, "groups", arr);
    json_out(top, &rc);
  } else {
    static const char *const hdr[] = {"GROUP", "STATE", "MEMBERS", "PROTOCOL", "COORDINATOR"};
    cli_table_t *t = cli_table_new(5, hdr);
    for (int i = 0; i < gl->group_cnt; i++) {
      cli_table_str(t, gs[i]->group);
      cli_table_str(t, gs[i]->state && *gs[i]->state ? gs[i]->state : NULL);
      cli_table_cell(t, "%d", gs[i]->member_cnt);
      if (gs[i]->protocol && *gs[i]->protocol)
        cli_table_cell(t, "%s/%s", gs[i]->protocol_type, gs[i]->protocol);
      else
        cli_table_str(t, gs[i]->protocol_type && *gs[i]->protocol_type ? gs[i]->protocol_type : NULL);
      cli_table_cell(t, "%d", gs[i]->broker.id);
    }
    cli_table_print(t, stdout, 0);
    cli_table_destroy(t);
  }
  beck_free(gs);
out:
  if (gl)
    rd_kafka_group_list_destroy(gl);
  beck_free(o.props);
  cli_client_close(&c);
  return rc;
}

/* ---- group describe ------------------------------------------------------------------ */

typedef struct describe_args {
  const char **topics;
  int ntopics;
} describe_args_t;

static int describe_opt(void *ctx, int ch, const char *arg) {
  describe_args_t *a = ctx;
  if (ch != 't' && ch != OPT_TOPIC)
    return -1;
  cli_strv_push(&a->topics, &a->ntopics, arg);
  return 0;
}

/* The member a partition is assigned to, or NULL. */
static const char *owner_of(const struct rd_kafka_group_info *g, const assignment_t *as, const char *topic,
                            int32_t partition) {
  for (int m = 0; g && m < g->member_cnt; m++)
    for (int t = 0; t < as[m].ntopics; t++)
      if (strcmp(as[m].topics[t].topic, topic) == 0)
        for (int k = 0; k < as[m].topics[t].npartitions; k++)
          if (as[m].topics[t].partitions[k] == partition)
            return g->members[m].member_id;
  return NULL;
}

/* Describes one group; prints a table or returns a JSON object. *rc is set
 * to failure when it fails. */
static json_t *describe_group(const cli_opts_t *o, const describe_args_t *a, const char *group, int *rc) {
  cli_client_t c = {0};
  json_t *j = NULL;
  const struct rd_kafka_group_list *gl = NULL;
  const rd_kafka_metadata_t *md = NULL;
  rd_kafka_topic_partition_list_t *parts = NULL;
  assignment_t *as = NULL;
  int64_t *lo = NULL, *hi = NULL;
  int nmembers = 0;
  bool failed;
  const struct rd_kafka_group_info *g = NULL;
  if (open_group_client(&c, o, group) < 0 || cli_client_metadata(&c, true, &md) < 0) {
    *rc = CLI_EXIT_FAIL;
    goto out;
  }
  g = lookup_group(&c, group, &gl, &failed);
  if (failed) {
    *rc = CLI_EXIT_FAIL;
    goto out;
  }
  nmembers = g ? g->member_cnt : 0;
  as = cli_xcalloc((size_t)nmembers + 1, sizeof *as);
  for (int m = 0; m < nmembers; m++)
    if (is_consumer_group(g) &&
        parse_assignment(g->members[m].member_assignment, g->members[m].member_assignment_size, &as[m]) < 0) {
      cli_error(o, "warning: member %s of '%s' has an assignment that is not in the consumer format",
                g->members[m].member_id, group);
      free_assignment(&as[m]);
    }

  /* candidates: the topics asked for, else every topic; committed offsets
   * come back for all of them in one request */
  if ((parts = partitions_of(&c, md, a->topics, a->ntopics, NULL, 0)) == NULL) {
    *rc = CLI_EXIT_FAIL;
    goto out;
  }
  if (parts->cnt > 0) {
    rd_kafka_resp_err_t err = rd_kafka_committed(c.rk, parts, o->timeout_ms);
    if (err) {
      char what[400];
      snprintf(what, sizeof what, "cannot read the committed offsets of group '%s'", group);
      cli_kafka_error(o, what, err, NULL, NULL);
      *rc = CLI_EXIT_FAIL;
      goto out;
    }
  }
  /* keep the partitions with a committed offset or an owner */
  rd_kafka_topic_partition_list_t *shown = rd_kafka_topic_partition_list_new(16);
  for (int i = 0; i < parts->cnt; i++) {
    const rd_kafka_topic_partition_t *p = &parts->elems[i];
    if (p->offset >= 0 || owner_of(g, as, p->topic, p->partition))
      rd_kafka_topic_partition_list_add(shown, p->topic, p->partition)->offset = p->offset;
  }
  rd_kafka_topic_partition_list_destroy(parts);
  parts = shown;
  if (g == NULL && parts->cnt == 0) {
    cli_error(o, "group '%s' does not exist (`beck group list` shows the groups)", group);
    *rc = CLI_EXIT_FAIL;
    goto out;
  }
  rd_kafka_topic_partition_list_sort(parts, NULL, NULL); /* by topic, then partition */
  lo = cli_xcalloc((size_t)parts->cnt + 1, sizeof *lo);
  hi = cli_xcalloc((size_t)parts->cnt + 1, sizeof *hi);
  if (cli_watermarks(&c, parts, lo, hi) < 0) {
    *rc = CLI_EXIT_FAIL;
    goto out;
  }
  int64_t total_lag = 0;
  bool lag_known = false;
  for (int i = 0; i < parts->cnt; i++)
    if (parts->elems[i].offset >= 0 && hi[i] >= 0) {
      total_lag += hi[i] - parts->elems[i].offset;
      lag_known = true;
    }
  const char *state = g ? g->state : "Empty";
  if (o->output == CLI_OUTPUT_JSON) {
    j = json_object();
    json_object_set_new(j, "group", json_string(group));
    json_object_set_new(j, "state", cli_json_str_or_null(state));
    json_object_set_new(j, "protocol_type", cli_json_str_or_null(g ? nonempty(g->protocol_type) : NULL));
    json_object_set_new(j, "protocol", cli_json_str_or_null(g ? nonempty(g->protocol) : NULL));
    json_object_set_new(j, "coordinator", g ? json_integer(g->broker.id) : json_null());
    json_object_set_new(j, "total_lag", lag_known ? json_integer(total_lag) : json_null());
    json_t *ma = json_array();
    for (int m = 0; m < nmembers; m++) {
      json_t *mj = json_object();
      json_object_set_new(mj, "member_id", json_string(g->members[m].member_id));
      json_object_set_new(mj, "client_id", cli_json_str_or_null(g->members[m].client_id));
      json_object_set_new(mj, "host", cli_json_str_or_null(g->members[m].client_host));
      json_t *aa = json_array();
      for (int t = 0; t < as[m].ntopics; t++) {
        json_t *pa = json_array();
        for (int k = 0; k < as[m].topics[t].npartitions; k++)
          json_array_append_new(pa, json_integer(as[m].topics[t].partitions[k]));
        json_array_append_new(aa, json_pack("{s:s, s:o}", "topic", as[m].topics[t].topic, "partitions", pa));
      }
      json_object_set_new(mj, "assignments", aa);
      json_array_append_new(ma, mj);
    }
    json_object_set_new(j, "members", ma);
    json_t *oa = json_array();
    for (int i = 0; i < parts->cnt; i++) {
      const rd_kafka_topic_partition_t *p = &parts->elems[i];
      json_t *pj = json_object();
      json_object_set_new(pj, "topic", json_string(p->topic));
      json_object_set_new(pj, "partition", json_integer(p->partition));
      json_object_set_new(pj, "committed_offset", cli_json_offset(p->offset));
      json_object_set_new(pj, "log_start_offset", cli_json_offset(lo[i]));
      json_object_set_new(pj, "log_end_offset", cli_json_offset(hi[i]));
      json_object_set_new(pj, "lag", p->offset >= 0 && hi[i] >= 0 ? json_integer(hi[i] - p->offset) : json_null());
      json_object_set_new(pj, "member_id", cli_json_str_or_null(owner_of(g, as, p->topic, p->partition)));
      json_array_append_new(oa, pj);
    }
    json_object_set_new(j, "offsets", oa);
  } else {
    cli_table_t *kv = cli_table_new(2, NULL);
    cli_table_str(kv, "GROUP");
    cli_table_str(kv, group);
    cli_table_str(kv, "STATE");
    cli_table_str(kv, state);
    cli_table_str(kv, "PROTOCOL");
    if (g && g->protocol && *g->protocol)
      cli_table_cell(kv, "%s/%s", g->protocol_type, g->protocol);
    else
      cli_table_str(kv, g && g->protocol_type && *g->protocol_type ? g->protocol_type : NULL);
    cli_table_str(kv, "COORDINATOR");
    if (g)
      cli_table_cell(kv, "%d", g->broker.id);
    else
      cli_table_str(kv, NULL);
    cli_table_str(kv, "MEMBERS");
    cli_table_cell(kv, "%d", nmembers);
    cli_table_str(kv, "TOTAL-LAG");
    cli_table_offset(kv, lag_known ? total_lag : -1);
    cli_table_print(kv, stdout, 0);
    cli_table_destroy(kv);
    if (nmembers) {
      printf("\nMEMBERS\n");
      static const char *const mh[] = {"MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"};
      cli_table_t *mt = cli_table_new(4, mh);
      for (int m = 0; m < nmembers; m++) {
        cli_table_str(mt, g->members[m].member_id);
        cli_table_str(mt, g->members[m].client_id);
        cli_table_str(mt, g->members[m].client_host);
        char *txt = assignment_text(&as[m]);
        cli_table_str(mt, *txt ? txt : NULL);
        beck_free(txt);
      }
      cli_table_print(mt, stdout, 2);
      cli_table_destroy(mt);
    }
    printf("\nOFFSETS\n");
    static const char *const oh[] = {"TOPIC",          "PARTITION", "CURRENT-OFFSET", "LOG-START-OFFSET",
                                     "LOG-END-OFFSET", "LAG",       "MEMBER-ID"};
    cli_table_t *ot = cli_table_new(7, oh);
    for (int i = 0; i < parts->cnt; i++) {
      const rd_kafka_topic_partition_t *p = &parts->elems[i];
      cli_table_str(ot, p->topic);
      cli_table_cell(ot, "%d", p->partition);
      cli_table_offset(ot, p->offset);
      cli_table_offset(ot, lo[i]);
      cli_table_offset(ot, hi[i]);
      cli_table_offset(ot, p->offset >= 0 && hi[i] >= 0 ? hi[i] - p->offset : -1);
      cli_table_str(ot, owner_of(g, as, p->topic, p->partition));
    }
    cli_table_print(ot, stdout, 2);
    cli_table_destroy(ot);
  }
out:
  for (int m = 0; as && m < nmembers; m++)
    free_assignment(&as[m]);
  beck_free(as);
  beck_free(lo);
  beck_free(hi);
  if (parts)
    rd_kafka_topic_partition_list_destroy(parts);
  if (gl)
    rd_kafka_group_list_destroy(gl);
  if (md)
    rd_kafka_metadata_destroy(md);
  cli_client_close(&c);
  return j;
}

static int group_describe(int argc, char **argv) {
  static const struct option longopts[] = {{"topic", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
  static const cli_spec_t spec = {
      .cmd = "group describe",
      .help = "Usage: beck group describe GROUP... [-t TOPIC]...\n"
              "\n"
              "Shows a consumer group: its state, members and their assigned partitions, and\n"
              "per partition the committed offset, the log start and end offsets and the lag\n"
              "(end offset minus committed offset: records the group has yet to process).\n"
              "\n"
              "Options:\n"
              "  -t, --topic TOPIC  only this topic (repeatable; default: every topic the group\n"
              "                     has offsets in or is assigned)\n",
      .examples = "Examples:\n"
                  "  beck group describe billing\n"
                  "  beck group describe billing --json | jq .groups[0].total_lag\n",
      .shortopts = "t:",
      .longopts = longopts,
      .on_opt = describe_opt,
      .min_args = 1,
      .max_args = -1,
      .arg_name = "GROUP",
  };
  cli_opts_t o;
  describe_args_t a = {0};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  int rc = CLI_EXIT_OK;
  json_t *arr = o.output == CLI_OUTPUT_JSON ? json_array() : NULL;
  for (int i = first; i < argc; i++) {
    if (!arr && i > first)
      printf("\n");
    json_t *j = describe_group(&o, &a, argv[i], &rc);
    if (arr && j)
      json_array_append_new(arr, j);
  }
  if (arr) {
    json_t *top = json_object();
    json_object_set_new(top, "groups", arr);
    json_out(top, &rc);
  }
  beck_free(a.topics);
  beck_free(o.props);
  return rc;
}

/* ---- group reset ------------------------------------------------------------------------ */

typedef struct reset_args {
  const cli_opts_t *o;
  const char **topics;
  int ntopics;
  int32_t *partitions;
  int npartitions;
  cli_position_t to;
  bool to_set, dry_run, all_topics;
} reset_args_t;

static int reset_opt(void *ctx, int ch, const char *arg) {
  reset_args_t *a = ctx;
  char err[400];
  int64_t v;
  switch (ch) {
  case 't':
    cli_strv_push(&a->topics, &a->ntopics, arg);
    return 0;
  case 'p':
    if (cli_parse_int(arg, 0, INT32_MAX, &v) < 0)
      return cli_usage_error(a->o, "--partition: expected a partition number, got '%s'", arg);
    a->partitions = cli_xrealloc(a->partitions, sizeof *a->partitions * (size_t)(a->npartitions + 1));
    a->partitions[a->npartitions++] = (int32_t)v;
    return 0;
  case OPT_TO:
    if (cli_parse_position(arg, &a->to, err, sizeof err) < 0)
      return cli_usage_error(a->o, "--to: %s", err);
    a->to_set = true;
    return 0;
  case OPT_DRY_RUN:
    a->dry_run = true;
    return 0;
  case OPT_ALL_TOPICS:
    a->all_topics = true;
    return 0;
  }
  return -1;
}

static int group_reset(int argc, char **argv) {
  static const struct option longopts[] = {
      {"topic", required_argument, NULL, 't'},           {"partition", required_argument, NULL, 'p'},
      {"to", required_argument, NULL, OPT_TO},           {"dry-run", no_argument, NULL, OPT_DRY_RUN},
      {"all-topics", no_argument, NULL, OPT_ALL_TOPICS}, {NULL, 0, NULL, 0},
  };
  static const cli_spec_t spec = {
      .cmd = "group reset",
      .help = "Usage: beck group reset GROUP (-t TOPIC... | --all-topics) --to POSITION [-p N]... [--dry-run]\n"
              "\n"
              "Moves a group's committed offsets, so its consumers start from there next time.\n"
              "Refused while the group has members: stop its consumers first.\n"
              "\n"
              "Options:\n"
              "  -t, --topic TOPIC   the topic to move (repeatable)\n"
              "      --all-topics    every topic the group has committed offsets in\n"
              "  -p, --partition N   only partition N (repeatable; default: all)\n"
              "      --to POSITION   earliest | latest | OFFSET (clamped to the log)\n"
              "                      | -N (N records before the end)\n"
              "                      | a time: 2024-05-01T12:00:00Z, 2024-05-01, @MS_SINCE_EPOCH,\n"
              "                        -10m / -2h / -1d ago (the first record at or after it)\n"
              "      --dry-run       show the new offsets, commit nothing\n",
      .examples = "Examples:\n"
                  "  beck group reset billing -t orders --to earliest\n"
                  "  beck group reset billing -t orders --to 2024-05-01T00:00:00Z --dry-run\n"
                  "  beck group reset billing --all-topics --to latest\n",
      .shortopts = "t:p:",
      .longopts = longopts,
      .on_opt = reset_opt,
      .min_args = 1,
      .max_args = 1,
      .arg_name = "GROUP",
  };
  cli_opts_t o;
  reset_args_t a = {.o = &o};
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, &a, &first, &status))
    return status;
  const char *group = argv[first];
  int rc = CLI_EXIT_FAIL;
  if (!a.to_set || (a.ntopics == 0) == !a.all_topics) {
    cli_usage_error(&o, !a.to_set ? "missing --to POSITION" : "give the topics (--topic TOPIC) or --all-topics");
    rc = CLI_EXIT_USAGE;
    goto done;
  }
  cli_client_t c = {0};
  const struct rd_kafka_group_list *gl = NULL;
  const rd_kafka_metadata_t *md = NULL;
  rd_kafka_topic_partition_list_t *parts = NULL, *old = NULL;
  if (open_group_client(&c, &o, group) < 0)
    goto done;
  if (cli_client_metadata(&c, true, &md) < 0)
    goto out;
  bool failed;
  const struct rd_kafka_group_info *g = lookup_group(&c, group, &gl, &failed);
  if (failed)
    goto out;
  if (g && g->member_cnt > 0) {
    cli_error(&o,
              "group '%s' has %d active member%s: stop its consumers first, then reset (`beck group describe %s` "
              "shows them)",
              group, g->member_cnt, g->member_cnt == 1 ? "" : "s", group);
    goto out;
  }
  if ((parts = partitions_of(&c, md, a.topics, a.ntopics, a.partitions, a.npartitions)) == NULL)
    goto out;
  old = rd_kafka_topic_partition_list_copy(parts);
  rd_kafka_resp_err_t err = parts->cnt ? rd_kafka_committed(c.rk, old, o.timeout_ms) : RD_KAFKA_RESP_ERR_NO_ERROR;
  if (err) {
    cli_kafka_error(&o, "cannot read the group's committed offsets", err, NULL, NULL);
    goto out;
  }
  if (a.all_topics) {
    /* only the partitions of topics the group has an offset in */
    rd_kafka_topic_partition_list_t *keep = rd_kafka_topic_partition_list_new(16),
                                    *keep_old = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; i < old->cnt; i++) {
      bool topic_has_offset = false;
      for (int k = 0; k < old->cnt; k++)
        topic_has_offset |= old->elems[k].offset >= 0 && strcmp(old->elems[k].topic, old->elems[i].topic) == 0;
      if (topic_has_offset) {
        rd_kafka_topic_partition_list_add(keep, old->elems[i].topic, old->elems[i].partition);
        rd_kafka_topic_partition_list_add(keep_old, old->elems[i].topic, old->elems[i].partition)->offset =
            old->elems[i].offset;
      }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_topic_partition_list_destroy(old);
    parts = keep;
    old = keep_old;
    if (parts->cnt == 0) {
      cli_error(&o, "group '%s' has no committed offsets to move (name the topics with --topic)", group);
      goto out;
    }
  }
  cli_position_t to = a.to;
  if (to.kind == CLI_POS_OFFSET) {
    int64_t *lo = cli_xcalloc((size_t)parts->cnt + 1, sizeof *lo),
            *hi = cli_xcalloc((size_t)parts->cnt + 1, sizeof *hi);
    int w = cli_watermarks(&c, parts, lo, hi);
    for (int i = 0; w == 0 && i < parts->cnt; i++) {
      int64_t v = to.value < lo[i] ? lo[i] : to.value > hi[i] ? hi[i] : to.value;
      if (v != to.value)
        cli_error(&o, "note: %s-%d has offsets %lld..%lld; using %lld%s", parts->elems[i].topic,
                  parts->elems[i].partition, (long long)lo[i], (long long)hi[i], (long long)v,
                  to.value >= CLI_LOOKS_LIKE_MS ? " (for a time in ms, write --to @MS)" : "");
      parts->elems[i].offset = v;
    }
    beck_free(lo);
    beck_free(hi);
    if (w < 0)
      goto out;
  } else if (cli_resolve_position(&c, parts, &to) < 0) {
    goto out;
  }
  if (!a.dry_run) {
    err = rd_kafka_commit(c.rk, parts, 0);
    if (err) {
      char what[400];
      snprintf(what, sizeof what, "cannot commit the new offsets of group '%s'", group);
      cli_kafka_error(&o, what, err, NULL,
                      err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                              err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS
                          ? "a consumer joined the group meanwhile: stop it and try again"
                          : NULL);
      goto out;
    }
  }
  rc = CLI_EXIT_OK;
  for (int i = 0; i < parts->cnt; i++)
    if (parts->elems[i].err) {
      char what[400];
      snprintf(what, sizeof what, "%s-%d", parts->elems[i].topic, parts->elems[i].partition);
      cli_kafka_error(&o, what, parts->elems[i].err, NULL, NULL);
      rc = CLI_EXIT_FAIL;
    }
  if (o.output == CLI_OUTPUT_JSON) {
    json_t *arr = json_array();
    for (int i = 0; i < parts->cnt; i++) {
      json_t *e = json_object();
      json_object_set_new(e, "topic", json_string(parts->elems[i].topic));
      json_object_set_new(e, "partition", json_integer(parts->elems[i].partition));
      json_object_set_new(e, "old_offset", cli_json_offset(old->elems[i].offset));
      json_object_set_new(e, "new_offset", cli_json_offset(parts->elems[i].offset));
      json_object_set_new(e, "error", cli_json_error(parts->elems[i].err, NULL));
      json_array_append_new(arr, e);
    }
    json_t *top = json_object();
    json_object_set_new(top, "group", json_string(group));
    json_object_set_new(top, "dry_run", json_boolean(a.dry_run));
    json_object_set_new(top, "offsets", arr);
    json_out(top, &rc);
  } else {
    static const char *const hdr[] = {"TOPIC", "PARTITION", "OLD-OFFSET", "NEW-OFFSET"};
    cli_table_t *t = cli_table_new(4, hdr);
    for (int i = 0; i < parts->cnt; i++) {
      cli_table_str(t, parts->elems[i].topic);
      cli_table_cell(t, "%d", parts->elems[i].partition);
      cli_table_offset(t, old->elems[i].offset);
      cli_table_offset(t, parts->elems[i].offset);
    }
    cli_table_print(t, stdout, 0);
    cli_table_destroy(t);
    if (a.dry_run)
      printf("(dry run: nothing committed)\n");
  }
out:
  if (parts)
    rd_kafka_topic_partition_list_destroy(parts);
  if (old)
    rd_kafka_topic_partition_list_destroy(old);
  if (gl)
    rd_kafka_group_list_destroy(gl);
  if (md)
    rd_kafka_metadata_destroy(md);
  cli_client_close(&c);
done:
  beck_free(a.topics);
  beck_free(a.partitions);
  beck_free(o.props);
  return rc;
}

/* ---- group delete ------------------------------------------------------------------------- */

static int group_delete(int argc, char **argv) {
  static const cli_spec_t spec = {
      .cmd = "group delete",
      .help = "Usage: beck group delete GROUP...\n"
              "\n"
              "Deletes consumer groups and their committed offsets. A group with members\n"
              "cannot be deleted: stop its consumers first.\n",
      .examples = "Examples:\n"
                  "  beck group delete billing\n",
      .min_args = 1,
      .max_args = -1,
      .arg_name = "GROUP",
  };
  cli_opts_t o;
  int first, status;
  if (!cli_parse(&spec, argc, argv, &o, NULL, &first, &status))
    return status;
  int n = argc - first;
  cli_client_t c = {0};
  if (cli_client_open(&c, &o, RD_KAFKA_PRODUCER, NULL) < 0)
    return CLI_EXIT_FAIL;
  int rc = CLI_EXIT_FAIL;
  const rd_kafka_metadata_t *md;
  if (cli_client_metadata(&c, false, &md) < 0) {
    cli_client_close(&c);
    return CLI_EXIT_FAIL;
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_DeleteGroup_t **dg = cli_xcalloc((size_t)n, sizeof *dg);
  for (int i = 0; i < n; i++)
    dg[i] = rd_kafka_DeleteGroup_new(argv[first + i]);
  rd_kafka_AdminOptions_t *ao = cli_admin_options(&c, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
  rd_kafka_queue_t *q = rd_kafka_queue_new(c.rk);
  rd_kafka_DeleteGroups(c.rk, dg, (size_t)n, ao, q);
  rd_kafka_event_t *ev = cli_admin_wait(&c, q, "cannot delete groups");
  if (ev) {
    size_t cnt;
    const rd_kafka_group_result_t **gr =
        rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &cnt);
    rc = CLI_EXIT_OK;
    json_t *arr = json_array();
    static const char *const hdr[] = {"GROUP", "STATUS"};
    cli_table_t *t = cli_table_new(2, hdr);
    for (size_t i = 0; i < cnt; i++) {
      const rd_kafka_error_t *e = rd_kafka_group_result_error(gr[i]);
      rd_kafka_resp_err_t err = e ? rd_kafka_error_code(e) : RD_KAFKA_RESP_ERR_NO_ERROR;
      const char *name = rd_kafka_group_result_name(gr[i]);
      const char *msg = e ? rd_kafka_error_string(e) : NULL;
      cli_table_str(t, name);
      if (err)
        cli_table_cell(t, "%s: %s", rd_kafka_err2name(err), msg);
      else
        cli_table_str(t, "deleted");
      json_t *gj = json_object();
      json_object_set_new(gj, "group", json_string(name));
      json_object_set_new(gj, "ok", json_boolean(err == 0));
      json_object_set_new(gj, "error", cli_json_error(err, msg));
      json_array_append_new(arr, gj);
      if (err) {
        rc = CLI_EXIT_FAIL;
        char what[400];
        snprintf(what, sizeof what, "cannot delete group '%s'", name);
        cli_kafka_error(&o, what, err, msg,
                        err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND ? "`beck group list` shows the groups"
                        : err == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP
                            ? "it has members: stop its consumers first; `beck group describe GROUP` shows them"
                            : NULL);
      }
    }
    if (o.output == CLI_OUTPUT_JSON) {
      json_t *top = json_object();
      json_object_set_new(top, "groups", arr);
      json_out(top, &rc);
    } else {
      json_decref(arr);
      cli_table_print(t, stdout, 0);
    }
    cli_table_destroy(t);
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_queue_destroy(q);
  rd_kafka_DeleteGroup_destroy_array(dg, (size_t)n);
  beck_free(dg);
  beck_free(o.props);
  cli_client_close(&c);
  return rc;
}

/* ---- the group of commands ------------------------------------------------------------------ */

static const beck_cli_command_t group_commands[] = {
    {"list", "list consumer groups", group_list},
    {"describe", "members, assignments, committed offsets and lag", group_describe},
    {"reset", "move a group's committed offsets", group_reset},
    {"delete", "delete consumer groups", group_delete},
    {NULL, NULL, NULL},
};

int cmd_group(int argc, char **argv) {
  return cli_dispatch("group", "Lists, describes (with lag), resets and deletes consumer groups.", group_commands, argc,
                      argv);
}
