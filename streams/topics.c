/*
 * topics.c - the topics a running topology needs, and how many partitions
 * each sub-topology (so each set of tasks) has.
 *
 * For each sub-topology, in order (upstream first):
 *   1. its partition count is that of its input topics, which must agree
 *      (co-partitioning: the same key must land in the same task for every
 *      input of a join or of a merged aggregation);
 *   2. it creates the topics it writes: repartition topics (as many
 *      partitions as the external inputs of the sub-topology that reads
 *      them, or as this one when it reads none), changelog topics (compact,
 *      one partition per task), and output / late topics when missing (the
 *      sink's partition count, else this sub-topology's).
 * External input topics must exist, except that the test driver creates
 * them (create_inputs > 0). Existing topics are left as they are.
 */
#include "streams_int.h"

#include <string.h>

static bool is_source(const beck_stream_t *s) { return s->op == BECK__OP_SOURCE || s->op == BECK__OP_TABLE_SOURCE; }

/* Partitions of the external inputs of sub-topology `sub` (0 when none). */
static beck_err_t external_partitions(beck_topology_t *t, beck__io_t *io, int sub, int32_t *out, beck_error_t *e) {
  *out = 0;
  for (int i = 0; i < t->subs[sub].nnodes; i++) {
    beck_stream_t *s = t->subs[sub].nodes[i];
    if (!is_source(s) || s->repartition)
      continue;
    int32_t n;
    beck_err_t rc = io->vt->partitions(io, s->topic, &n, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "input '%s' of %s", s->topic, t->app_id);
    if (n > *out)
      *out = n;
  }
  return BECK_ERR_OK;
}

/* The sub-topology reading repartition topic `topic`, or -1. */
static int reader_of(beck_topology_t *t, const char *topic) {
  for (int i = 0; i < t->nnodes; i++) {
    beck_stream_t *s = t->nodes[i];
    if (s->op == BECK__OP_SOURCE && s->repartition && strcmp(s->topic, topic) == 0)
      return s->subtopo;
  }
  return -1;
}

beck_err_t beck__topics_setup(beck_topology_t *t, beck__io_t *io, int32_t create_inputs, beck_error_t *e) {
  beck_err_t rc;
  if (create_inputs > 0) {
    for (int i = 0; i < t->nnodes; i++) {
      beck_stream_t *s = t->nodes[i];
      if (is_source(s) && !s->repartition &&
          (rc = io->vt->create_topic(io, s->topic, create_inputs, s->op == BECK__OP_TABLE_SOURCE, e)) != BECK_ERR_OK)
        return rc;
    }
  }
  for (int c = 0; c < t->nsubs; c++) {
    beck__subtopo_t *sub = &t->subs[c];
    int32_t p = 0;
    const char *first = NULL;
    for (int i = 0; i < sub->nnodes; i++) {
      beck_stream_t *s = sub->nodes[i];
      if (!is_source(s))
        continue;
      int32_t n;
      if ((rc = io->vt->partitions(io, s->topic, &n, e)) != BECK_ERR_OK)
        return beck_error_wrap(e, "%s: input '%s'", t->app_id, s->topic);
      if (p != 0 && n != p)
        return beck_error_set(e, BECK_ERR_INVAL,
                              "%s: sub-topology %d: inputs are not co-partitioned: topic %s has %d partitions, "
                              "topic %s has %d",
                              t->app_id, c, first, (int)p, s->topic, (int)n);
      p = n;
      first = s->topic;
    }
    sub->partitions = p > 0 ? p : 1;
    for (int i = 0; i < sub->nnodes; i++) {
      beck_stream_t *s = sub->nodes[i];
      rc = BECK_ERR_OK;
      if (s->op == BECK__OP_SINK && s->repartition) {
        int32_t n = 0;
        int reader = reader_of(t, s->topic);
        if (reader >= 0 && (rc = external_partitions(t, io, reader, &n, e)) != BECK_ERR_OK)
          return rc;
        rc = io->vt->create_topic(io, s->topic, n > 0 ? n : sub->partitions, false, e);
      } else if (s->op == BECK__OP_SINK) {
        rc =
            io->vt->create_topic(io, s->topic, s->sink_partitions > 0 ? s->sink_partitions : sub->partitions, false, e);
      }
      if (rc == BECK_ERR_OK && s->has_store && !s->store.no_changelog) {
        char cl[512];
        beck__topic_name(t, s, "changelog", cl, sizeof cl);
        rc = io->vt->create_topic(io, cl, sub->partitions, true, e);
      }
      if (rc != BECK_ERR_OK)
        return beck_error_wrap(e, "%s: node '%s'", t->app_id, s->name);
    }
  }
  return BECK_ERR_OK;
}
