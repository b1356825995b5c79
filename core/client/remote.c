/*
 * remote.c - the remote log client: librdkafka to a Beck broker or any
 * Kafka-protocol cluster.
 *
 * librdkafka handles, all made from the same bootstrap and user properties:
 *
 *   producer   acks=all, enable.idempotence=true, partitioner=murmur2_random,
 *              allow.auto.create.topics=false. Partitions are picked in
 *              client.c (as embedded) and given explicitly, so the
 *              partitioner setting only matters to anyone else sharing the
 *              properties. A produce call enqueues its records and waits for
 *              every delivery report; offsets come from the reports. A poller
 *              thread serves the reports. This handle also answers metadata,
 *              watermark and CreateTopics requests: its connections never
 *              carry a long-polling Fetch, which a broker answers in order
 *              before anything queued behind it.
 *   fetcher    one consumer handle used with librdkafka's simple (legacy)
 *              consumer API: each fetched partition is started once with
 *              rd_kafka_consume_start at the requested offset and keeps its
 *              own queue, so fetches on different partitions run in parallel
 *              and a run of sequential fetches streams from one long-polling
 *              fetcher (fetch.wait.max.ms=100 so a newly started partition
 *              joins the next fetch soon). A fetch at any other offset than
 *              where the last one ended stops and restarts the partition
 *              there, after a range check against the watermarks. No group.id
 *              is needed.
 *   groups     one consumer handle per group id, never subscribed, used only
 *              for simple commits (rd_kafka_commit with explicit offsets,
 *              generation -1) and rd_kafka_committed.
 *
 * Locking: `mu` guards the lists below (partition-count cache, fetch
 * partitions, groups) and is never held during a network wait. Each fetch
 * partition has its own mutex (one fetch at a time per partition; the
 * callback runs under it, so it must not fetch the same partition). Each
 * group handle has its own mutex. A produce call waits on its own condition
 * variable, signalled by the delivery-report callback.
 *
 * Differences from embedded, all Kafka's own: timestamp 0 means "now" to
 * librdkafka; a fetch may hand out fewer records than are available (what
 * the fetcher has received so far); an offset between the high watermark and
 * the log end counts as out of range when a fetch (re)starts a partition.
 */
#include "client/client_int.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/logging.h"

#define META_TIMEOUT_MS 10000
#define ADMIN_TIMEOUT_MS 30000
#define COMMIT_TIMEOUT_MS 10000
#define CACHE_MAX_AGE_MS 30000
#define TOPIC_APPEAR_MS 10000

typedef struct rm_topic {
  char *name;
  int32_t partitions;
  int64_t fetched_ms;
  rd_kafka_topic_t *rkt; /* on the fetcher, created on first fetch */
} rm_topic_t;

typedef struct rm_fpart {
  struct rm_fpart *next;
  char *topic;
  int32_t partition;
  rd_kafka_topic_t *rkt; /* borrowed from rm_topic */
  pthread_mutex_t mu;
  bool started;
  int64_t position; /* offset the partition's queue continues at */
  beck_buf_t hdrs;  /* scratch: headers in wire form for the callback */
  beck_log_limit_t warn_limit;
} rm_fpart_t;

typedef struct rm_group {
  struct rm_group *next;
  char *id;
  rd_kafka_t *rk;
  pthread_mutex_t mu;
} rm_group_t;

typedef struct rm_client {
  beck_client_t base;
  char *bootstrap;
  char **conf_keys, **conf_values;
  int nconf;

  rd_kafka_t *producer;
  rd_kafka_t *fetcher;
  pthread_t poller;
  bool poller_started;
  atomic_bool stopping;

  pthread_mutex_t mu;
  rm_topic_t *topics;
  int ntopics, cap_topics;
  rm_fpart_t *fparts;
  rm_group_t *groups;
} rm_client_t;

/* ---- errors and logging -------------------------------------------------- */

static beck_err_t map_err(rd_kafka_resp_err_t err) {
  switch (err) {
  case RD_KAFKA_RESP_ERR_NO_ERROR:
    return BECK_ERR_OK;
  case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
  case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
  case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    return BECK_ERR_NOTFOUND;
  case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
    return BECK_ERR_EXISTS;
  case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
  case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    return BECK_ERR_RANGE;
  case RD_KAFKA_RESP_ERR__TIMED_OUT:
  case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
  case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    return BECK_ERR_TIMEOUT;
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    return BECK_ERR_TOOBIG;
  case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
  case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
  case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
  case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
  case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
  case RD_KAFKA_RESP_ERR__INVALID_ARG:
    return BECK_ERR_INVAL;
  case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
  case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    return BECK_ERR_UNSUPPORTED;
  case RD_KAFKA_RESP_ERR__DESTROY:
  case RD_KAFKA_RESP_ERR__FATAL:
    return BECK_ERR_CLOSED;
  default:
    return BECK_ERR_IO;
  }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  beck_log_level_t l = level <= LOG_ERR       ? BECK_LOG_ERROR
                       : level == LOG_WARNING ? BECK_LOG_WARN
                       : level <= LOG_INFO    ? BECK_LOG_INFO
                                              : BECK_LOG_DEBUG;
  beck_log("client:rdkafka", l, "%s %s: %s", rd_kafka_name(rk), fac, buf);
}

/* ---- handles ----------------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* A conf with our defaults, then the user's properties on top. */
static rd_kafka_conf_t *make_conf(rm_client_t *rc, const char *const *defaults, int ndefaults, beck_error_t *e) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, log_cb);
  if (rd_kafka_conf_set(conf, "bootstrap.servers", rc->bootstrap, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
    goto fail;
  for (int i = 0; i < ndefaults; i++)
    if (rd_kafka_conf_set(conf, defaults[2 * i], defaults[2 * i + 1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
      goto fail;
  for (int i = 0; i < rc->nconf; i++)
    if (rd_kafka_conf_set(conf, rc->conf_keys[i], rc->conf_values[i], errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
      goto fail;
  return conf;
fail:
  rd_kafka_conf_destroy(conf);
  beck_error_set(e, BECK_ERR_INVAL, "remote client: %s", errstr);
  return NULL;
}

static rd_kafka_t *new_handle(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what, beck_error_t *e) {
  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (rk == NULL) {
    rd_kafka_conf_destroy(conf); /* only consumed on success */
    beck_error_set(e, BECK_ERR_INVAL, "remote client: cannot create the %s: %s", what, errstr);
  }
  return rk;
}

static void *poller(void *arg) {
  rm_client_t *rc = arg;
  while (!atomic_load(&rc->stopping))
    rd_kafka_poll(rc->producer, 100);
  return NULL;
}

/* ---- topic metadata ------------------------------------------------------ */

/* Under mu. */
static rm_topic_t *topic_find(rm_client_t *rc, const char *name) {
  for (int i = 0; i < rc->ntopics; i++)
    if (strcmp(rc->topics[i].name, name) == 0)
      return &rc->topics[i];
  return NULL;
}

/* Under mu. */
static rm_topic_t *topic_add(rm_client_t *rc, const char *name) {
  rm_topic_t *t = topic_find(rc, name);
  if (t)
    return t;
  if (rc->ntopics == rc->cap_topics) {
    int ncap = rc->cap_topics ? rc->cap_topics * 2 : 16;
    rm_topic_t *nt = beck_realloc(rc->topics, sizeof *nt * (size_t)ncap);
    if (nt == NULL)
      return NULL;
    rc->topics = nt;
    rc->cap_topics = ncap;
  }
  t = &rc->topics[rc->ntopics];
  *t = (rm_topic_t){.name = beck_strdup(name), .partitions = -1};
  if (t->name == NULL)
    return NULL;
  rc->ntopics++;
  return t;
}

/* Asks the cluster how many partitions topic has; 0 (and OK) while a new
 * topic has no partitions with leaders yet. */
static beck_err_t query_partitions(rm_client_t *rc, const char *topic, int32_t *out, beck_error_t *e) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rc->producer, topic, NULL);
  if (rkt == NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "topic '%s': %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rc->producer, 0, rkt, &md, META_TIMEOUT_MS);
  rd_kafka_topic_destroy(rkt);
  if (err)
    return beck_error_set(e, map_err(err), "topic '%s': metadata: %s", topic, rd_kafka_err2str(err));
  beck_err_t rv = BECK_ERR_OK;
  *out = 0;
  const struct rd_kafka_metadata_topic *mt = NULL;
  for (int i = 0; i < md->topic_cnt; i++)
    if (strcmp(md->topics[i].topic, topic) == 0)
      mt = &md->topics[i];
  if (mt == NULL || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    rv = beck_error_set(e, BECK_ERR_NOTFOUND, "topic '%s' does not exist", topic);
  else if (mt->err && mt->err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
    rv = beck_error_set(e, map_err(mt->err), "topic '%s': metadata: %s", topic, rd_kafka_err2str(mt->err));
  else if (!mt->err)
    *out = mt->partition_cnt;
  rd_kafka_metadata_destroy(md);
  return rv;
}

static beck_err_t rm_partitions(beck_client_t *c, const char *topic, bool fresh, int32_t *out, beck_error_t *e) {
  rm_client_t *rc = (rm_client_t *)c;
  int64_t now = beck__client_mono_ms();
  if (!fresh) {
    pthread_mutex_lock(&rc->mu);
    rm_topic_t *t = topic_find(rc, topic);
    bool hit = t && t->partitions > 0 && now - t->fetched_ms < CACHE_MAX_AGE_MS;
    if (hit)
      *out = t->partitions;
    pthread_mutex_unlock(&rc->mu);
    if (hit)
      return BECK_ERR_OK;
  }
  int32_t n = 0;
  beck_err_t err;
  int64_t deadline = now + TOPIC_APPEAR_MS;
  /* a topic just created elsewhere may not have leaders yet */
  while (!(err = query_partitions(rc, topic, &n, e)) && n == 0 && beck__client_mono_ms() < deadline)
    usleep(50 * 1000);
  if (!err && n == 0)
    err = beck_error_set(e, BECK_ERR_AGAIN, "topic '%s' has no partitions with a leader yet", topic);
  if (err)
    return err;
  pthread_mutex_lock(&rc->mu);
  rm_topic_t *t = topic_add(rc, topic);
  if (t) {
    t->partitions = n;
    t->fetched_ms = beck__client_mono_ms();
  }
  pthread_mutex_unlock(&rc->mu);
  *out = n;
  return BECK_ERR_OK;
}

static beck_err_t check_partition(rm_client_t *rc, const char *topic, int32_t partition, beck_error_t *e) {
  int32_t n = 0;
  beck_err_t err = rm_partitions(&rc->base, topic, false, &n, e);
  if (!err && partition >= n && (err = rm_partitions(&rc->base, topic, true, &n, e)) == BECK_ERR_OK && partition >= n)
    err =
        beck_error_set(e, BECK_ERR_NOTFOUND, "partition %s-%d does not exist (the topic has %d)", topic, partition, n);
  return err;
}

static beck_err_t rm_create_topic(beck_client_t *c, const char *topic, int32_t partitions, const char *const *keys,
                                  const char *const *values, int n, bool exist_ok, beck_error_t *e) {
  rm_client_t *rc = (rm_client_t *)c;
  int32_t have = 0;
  beck_error_t qe;
  /* with exist_ok an existing topic is enough, also on clusters that cannot
   * create topics over the protocol (librdkafka's mock cluster) */
  if (exist_ok && query_partitions(rc, topic, &have, &qe) == BECK_ERR_OK)
    return BECK_ERR_OK;
  char errstr[512];
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions > 0 ? partitions : -1, -1, errstr, sizeof errstr);
  if (nt == NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "create topic '%s': %s", topic, errstr);
  for (int i = 0; i < n; i++) {
    rd_kafka_resp_err_t err = rd_kafka_NewTopic_set_config(nt, keys[i], values[i]);
    if (err) {
      rd_kafka_NewTopic_destroy(nt);
      return beck_error_set(e, map_err(err), "create topic '%s': config %s: %s", topic, keys[i], rd_kafka_err2str(err));
    }
  }
  rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rc->producer, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_TIMEOUT_MS, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(opts, ADMIN_TIMEOUT_MS, errstr, sizeof errstr);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rc->producer);
  rd_kafka_CreateTopics(rc->producer, &nt, 1, opts, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
  beck_err_t rv = BECK_ERR_OK;
  if (ev == NULL) {
    rv = beck_error_set(e, BECK_ERR_TIMEOUT, "create topic '%s': no answer from the cluster", topic);
  } else if (rd_kafka_event_error(ev)) {
    rv = beck_error_set(e, map_err(rd_kafka_event_error(ev)), "create topic '%s': %s", topic,
                        rd_kafka_event_error_string(ev));
  } else {
    size_t cnt = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt && !rv; i++) {
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
      if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && exist_ok)
        continue;
      if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        rv = beck_error_set(e, BECK_ERR_EXISTS, "topic '%s' already exists", topic);
      else if (err)
        rv = beck_error_set(e, map_err(err), "create topic '%s': %s", topic,
                            rd_kafka_topic_result_error_string(res[i]) ? rd_kafka_topic_result_error_string(res[i])
                                                                       : rd_kafka_err2str(err));
    }
  }
  if (ev)
    rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  if (rv)
    return rv;
  /* wait until the metadata shows it (and remember the count) */
  return rm_partitions(c, topic, true, &have, e);
}

static beck_err_t rm_watermarks(beck_client_t *c, const char *topic, int32_t partition, int64_t *start, int64_t *high,
                                beck_error_t *e) {
  rm_client_t *rc = (rm_client_t *)c;
  beck_err_t rv = check_partition(rc, topic, partition, e);
  if (rv)
    return rv;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rc->producer, topic, partition, start, high, META_TIMEOUT_MS);
  if (err)
    return beck_error_set(e, map_err(err), "watermarks of %s-%d: %s", topic, partition, rd_kafka_err2str(err));
  return BECK_ERR_OK;
}

/* ---- produce ------------------------------------------------------------- */

typedef struct rm_call rm_call_t;

typedef struct rm_slot {
  rm_call_t *call;
  int index;
} rm_slot_t;

struct rm_call {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int outstanding;
  int64_t *offsets;
  rd_kafka_resp_err_t err;
  int err_index;
  int32_t err_partition;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  rm_slot_t *s = m->_private;
  rm_call_t *call = s->call;
  pthread_mutex_lock(&call->mu);
  if (m->err) {
    if (!call->err) {
      call->err = m->err;
      call->err_index = s->index;
      call->err_partition = m->partition;
    }
  } else if (call->offsets) {
    call->offsets[s->index] = m->offset;
  }
  if (--call->outstanding == 0)
    pthread_cond_broadcast(&call->cond);
  pthread_mutex_unlock(&call->mu);
}

static rd_kafka_headers_t *make_headers(const beck_client_record_t *r) {
  if (r->nheaders == 0)
    return NULL;
  rd_kafka_headers_t *h = rd_kafka_headers_new((size_t)r->nheaders);
  for (int i = 0; i < r->nheaders; i++) {
    const beck_record_header_t *hd = &r->headers[i];
    beck_nstr_t v = beck__client_nstr(hd->value);
    rd_kafka_header_add(h, hd->key.ptr ? (const char *)hd->key.ptr : "", (ssize_t)hd->key.len, v.ptr,
                        v.len < 0 ? 0 : v.len);
  }
  return h;
}

static beck_err_t rm_produce(beck_client_t *c, const char *topic, const beck_client_record_t *recs, int n,
                             const int32_t *parts, int64_t *offsets, beck_error_t *e) {
  rm_client_t *rc = (rm_client_t *)c;
  rm_slot_t *slots = beck_malloc(sizeof *slots * (size_t)n);
  if (slots == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "produce to '%s': out of memory", topic);
  rm_call_t call = {.offsets = offsets, .err_index = -1};
  pthread_mutex_init(&call.mu, NULL);
  pthread_cond_init(&call.cond, NULL);
  rd_kafka_resp_err_t perr = RD_KAFKA_RESP_ERR_NO_ERROR;
  int perr_index = -1;
  for (int i = 0; i < n; i++) {
    const beck_client_record_t *r = &recs[i];
    slots[i] = (rm_slot_t){&call, i};
    beck_nstr_t k = beck__client_nstr(r->key), v = beck__client_nstr(r->value);
    pthread_mutex_lock(&call.mu);
    call.outstanding++;
    pthread_mutex_unlock(&call.mu);
    for (;;) {
      rd_kafka_headers_t *h = make_headers(r);
      perr = rd_kafka_producev(rc->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(parts[i]),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_KEY(k.ptr, k.len < 0 ? 0 : (size_t)k.len),
                               RD_KAFKA_V_VALUE((void *)v.ptr, v.len < 0 ? 0 : (size_t)v.len),
                               RD_KAFKA_V_TIMESTAMP(r->timestamp < 0 ? 0 : r->timestamp), RD_KAFKA_V_HEADERS(h),
                               RD_KAFKA_V_OPAQUE(&slots[i]), RD_KAFKA_V_END);
      if (perr && h)
        rd_kafka_headers_destroy(h); /* only taken over on success */
      if (perr != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        break;
      usleep(1000); /* the poller drains delivery reports */
    }
    if (perr) {
      pthread_mutex_lock(&call.mu);
      call.outstanding--;
      pthread_mutex_unlock(&call.mu);
      perr_index = i;
      break;
    }
  }
  pthread_mutex_lock(&call.mu);
  while (call.outstanding > 0)
    pthread_cond_wait(&call.cond, &call.mu);
  pthread_mutex_unlock(&call.mu);
  beck_err_t rv = BECK_ERR_OK;
  if (perr)
    rv = beck_error_set(e, map_err(perr), "produce to %s-%d (record %d): %s", topic, parts[perr_index], perr_index,
                        rd_kafka_err2str(perr));
  else if (call.err) {
    char fatal[256] = "";
    if (call.err == RD_KAFKA_RESP_ERR__FATAL)
      rd_kafka_fatal_error(rc->producer, fatal, sizeof fatal);
    rv = beck_error_set(e, map_err(call.err), "produce to %s-%d (record %d): %s%s%s", topic, call.err_partition,
                        call.err_index, rd_kafka_err2str(call.err), fatal[0] ? ": " : "", fatal);
  }
  pthread_mutex_destroy(&call.mu);
  pthread_cond_destroy(&call.cond);
  beck_free(slots);
  return rv;
}

/* ---- fetch --------------------------------------------------------------- */

static rm_fpart_t *fpart_get(rm_client_t *rc, const char *topic, int32_t partition, beck_error_t *e) {
  pthread_mutex_lock(&rc->mu);
  rm_fpart_t *fp = rc->fparts;
  while (fp && (fp->partition != partition || strcmp(fp->topic, topic) != 0))
    fp = fp->next;
  if (fp == NULL) {
    rm_topic_t *t = topic_add(rc, topic);
    if (t && t->rkt == NULL)
      t->rkt = rd_kafka_topic_new(rc->fetcher, topic, NULL);
    if (t && t->rkt && (fp = beck_calloc(1, sizeof *fp)) != NULL) {
      if ((fp->topic = beck_strdup(topic)) == NULL) {
        beck_free(fp);
        fp = NULL;
      } else {
        fp->partition = partition;
        fp->rkt = t->rkt;
        pthread_mutex_init(&fp->mu, NULL);
        fp->next = rc->fparts;
        rc->fparts = fp;
      }
    }
  }
  pthread_mutex_unlock(&rc->mu);
  if (fp == NULL)
    beck_error_set(e, BECK_ERR_NOMEM, "fetch %s-%d: out of memory", topic, partition);
  return fp;
}

static void fpart_stop(rm_fpart_t *fp) {
  if (fp->started)
    rd_kafka_consume_stop(fp->rkt, fp->partition);
  fp->started = false;
}

/* Under fp->mu: makes the partition's queue continue at offset. */
static beck_err_t fpart_seek(rm_client_t *rc, rm_fpart_t *fp, int64_t offset, beck_error_t *e) {
  if (fp->started && fp->position == offset)
    return BECK_ERR_OK;
  int64_t lo = -1, hi = -1;
  beck_err_t rv = rm_watermarks(&rc->base, fp->topic, fp->partition, &lo, &hi, e);
  if (rv)
    return beck_error_wrap(e, "fetch %s-%d", fp->topic, fp->partition);
  if (offset < lo || offset > hi)
    return beck_error_set(e, BECK_ERR_RANGE, "fetch %s-%d: offset %lld is out of range [%lld, %lld]", fp->topic,
                          fp->partition, (long long)offset, (long long)lo, (long long)hi);
  fpart_stop(fp);
  if (rd_kafka_consume_start(fp->rkt, fp->partition, offset) == -1) {
    rd_kafka_resp_err_t err = rd_kafka_last_error();
    return beck_error_set(e, map_err(err), "fetch %s-%d: cannot start at %lld: %s", fp->topic, fp->partition,
                          (long long)offset, rd_kafka_err2str(err));
  }
  fp->started = true;
  fp->position = offset;
  return BECK_ERR_OK;
}

/* Kafka's record-header wire form, which beck_record_header_next walks. */
static beck_err_t encode_headers(const rd_kafka_message_t *m, beck_buf_t *out, int32_t *count) {
  beck_buf_reset(out);
  *count = 0;
  rd_kafka_headers_t *h = NULL;
  if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR || h == NULL)
    return BECK_ERR_OK;
  const char *name;
  const void *val;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
    size_t nl = strlen(name);
    beck_err_t err = beck_buf_reserve(out, 10 + nl + size);
    if (err)
      return err;
    uint8_t *p = out->data + out->len;
    p += beck_varint_encode(p, (int32_t)nl);
    memcpy(p, name, nl);
    p += nl;
    p += beck_varint_encode(p, val ? (int32_t)size : -1);
    if (val && size) {
      memcpy(p, val, size);
      p += size;
    }
    out->len = (size_t)(p - out->data);
    (*count)++;
  }
  return BECK_ERR_OK;
}

static beck_err_t rm_fetch(beck_client_t *c, const char *topic, int32_t partition, int64_t offset, size_t max_bytes,
                           int timeout_ms, beck_client_record_cb cb, void *arg, int64_t *next_offset, beck_error_t *e) {
  rm_client_t *rc = (rm_client_t *)c;
  rm_fpart_t *fp = fpart_get(rc, topic, partition, e);
  if (fp == NULL)
    return BECK_ERR_NOMEM;
  pthread_mutex_lock(&fp->mu);
  int64_t cur = offset;
  beck_err_t rv = fpart_seek(rc, fp, offset, e);
  int64_t deadline = beck__client_mono_ms() + timeout_ms;
  int delivered = 0;
  size_t bytes = 0;
  while (!rv) {
    int64_t left = deadline - beck__client_mono_ms();
    rd_kafka_message_t *m = rd_kafka_consume(fp->rkt, partition, delivered || left <= 0 ? 0 : (int)left);
    if (m == NULL) {
      if (delivered || beck__client_mono_ms() >= deadline)
        break;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      if (delivered)
        break;
      continue;
    }
    if (m->err) {
      beck_err_t be = map_err(m->err);
      if (be == BECK_ERR_RANGE || be == BECK_ERR_NOTFOUND) {
        rv = beck_error_set(e, be, "fetch %s-%d at %lld: %s", topic, partition, (long long)cur,
                            rd_kafka_message_errstr(m));
        fpart_stop(fp);
      } else {
        beck_log_limited(&fp->warn_limit, 5, 10000, "client", BECK_LOG_WARN, "fetch %s-%d: %s", topic, partition,
                         rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->offset < cur) { /* not expected: the fetcher skips them */
      rd_kafka_message_destroy(m);
      continue;
    }
    beck_record_t r = {.offset = m->offset};
    rd_kafka_timestamp_type_t tstype;
    r.timestamp = rd_kafka_message_timestamp(m, &tstype);
    r.key = m->key ? beck_nstr(m->key, (int32_t)m->key_len) : beck_nstr_null();
    r.value = m->payload ? beck_nstr(m->payload, (int32_t)m->len) : beck_nstr_null();
    if (encode_headers(m, &fp->hdrs, &r.headers_count)) {
      rd_kafka_message_destroy(m);
      rv = beck_error_set(e, BECK_ERR_NOMEM, "fetch %s-%d: out of memory", topic, partition);
      break;
    }
    r.headers = beck_slice(fp->hdrs.data, fp->hdrs.len);
    delivered++;
    bytes += m->len + m->key_len + fp->hdrs.len + 32;
    cur = m->offset + 1;
    int stop = cb(arg, topic, partition, &r);
    rd_kafka_message_destroy(m);
    if (stop || bytes >= max_bytes)
      break;
  }
  if (fp->started)
    fp->position = cur;
  pthread_mutex_unlock(&fp->mu);
  *next_offset = cur;
  return rv;
}

/* ---- committed offsets --------------------------------------------------- */

static rm_group_t *group_get(rm_client_t *rc, const char *group, beck_error_t *e) {
  pthread_mutex_lock(&rc->mu);
  rm_group_t *g = rc->groups;
  while (g && strcmp(g->id, group) != 0)
    g = g->next;
  if (g == NULL) {
    static const char *const defaults[] = {"enable.auto.commit", "false", "enable.auto.offset.store", "false"};
    rd_kafka_conf_t *conf = make_conf(rc, defaults, (int)(sizeof defaults / sizeof *defaults / 2), e);
    char errstr[256];
    if (conf && rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      conf = NULL;
      beck_error_set(e, BECK_ERR_INVAL, "group '%s': %s", group, errstr);
    }
    rd_kafka_t *rk = conf ? new_handle(RD_KAFKA_CONSUMER, conf, "group consumer", e) : NULL;
    if (rk) {
      g = beck_calloc(1, sizeof *g);
      if (g == NULL || (g->id = beck_strdup(group)) == NULL) {
        beck_free(g);
        g = NULL;
        rd_kafka_destroy(rk);
        beck_error_set(e, BECK_ERR_NOMEM, "group '%s': out of memory", group);
      } else {
        g->rk = rk;
        pthread_mutex_init(&g->mu, NULL);
        g->next = rc->groups;
        rc->groups = g;
      }
    }
  }
  pthread_mutex_unlock(&rc->mu);
  return g;
}

static beck_err_t rm_commit(beck_client_t *c, const char *group, const char *topic, int32_t partition, int64_t offset,
                            beck_error_t *e) {
  rm_client_t *rc = (rm_client_t *)c;
  beck_err_t rv = check_partition(rc, topic, partition, e);
  if (rv)
    return beck_error_wrap(e, "group '%s': commit", group);
  rm_group_t *g = group_get(rc, group, e);
  if (g == NULL)
    return e ? e->code : BECK_ERR_NOMEM;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
  pthread_mutex_lock(&g->mu);
  rd_kafka_resp_err_t err = rd_kafka_commit(g->rk, l, 0);
  pthread_mutex_unlock(&g->mu);
  if (!err)
    err = l->elems[0].err;
  rd_kafka_topic_partition_list_destroy(l);
  if (err)
    return beck_error_set(e, map_err(err), "group '%s': commit %s-%d at %lld: %s", group, topic, partition,
                          (long long)offset, rd_kafka_err2str(err));
  return BECK_ERR_OK;
}

static beck_err_t rm_committed(beck_client_t *c, const char *group, const char *topic, int32_t partition,
                               int64_t *offset, beck_error_t *e) {
  rm_client_t *rc = (rm_client_t *)c;
  rm_group_t *g = group_get(rc, group, e);
  if (g == NULL)
    return e ? e->code : BECK_ERR_NOMEM;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition);
  pthread_mutex_lock(&g->mu);
  rd_kafka_resp_err_t err = rd_kafka_committed(g->rk, l, COMMIT_TIMEOUT_MS);
  pthread_mutex_unlock(&g->mu);
  int64_t off = l->elems[0].offset;
  if (!err && l->elems[0].err && l->elems[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    err = l->elems[0].err;
  rd_kafka_topic_partition_list_destroy(l);
  if (err)
    return beck_error_set(e, map_err(err), "group '%s': committed offset of %s-%d: %s", group, topic, partition,
                          rd_kafka_err2str(err));
  *offset = off >= 0 ? off : -1;
  return BECK_ERR_OK;
}

/* ---- open / close -------------------------------------------------------- */

static void rm_close(beck_client_t *c) {
  rm_client_t *rc = (rm_client_t *)c;
  if (rc->producer)
    rd_kafka_flush(rc->producer, 10000);
  atomic_store(&rc->stopping, true);
  if (rc->poller_started)
    pthread_join(rc->poller, NULL);
  if (rc->producer)
    rd_kafka_destroy(rc->producer);
  while (rc->fparts) {
    rm_fpart_t *fp = rc->fparts;
    rc->fparts = fp->next;
    fpart_stop(fp);
    pthread_mutex_destroy(&fp->mu);
    beck_buf_free(&fp->hdrs);
    beck_free(fp->topic);
    beck_free(fp);
  }
  for (int i = 0; i < rc->ntopics; i++) {
    if (rc->topics[i].rkt)
      rd_kafka_topic_destroy(rc->topics[i].rkt);
    beck_free(rc->topics[i].name);
  }
  beck_free(rc->topics);
  if (rc->fetcher)
    rd_kafka_destroy(rc->fetcher);
  while (rc->groups) {
    rm_group_t *g = rc->groups;
    rc->groups = g->next;
    rd_kafka_consumer_close(g->rk);
    rd_kafka_destroy(g->rk);
    pthread_mutex_destroy(&g->mu);
    beck_free(g->id);
    beck_free(g);
  }
  for (int i = 0; i < rc->nconf; i++) {
    beck_free(rc->conf_keys[i]);
    beck_free(rc->conf_values[i]);
  }
  beck_free(rc->conf_keys);
  beck_free(rc->conf_values);
  beck_free(rc->bootstrap);
  pthread_mutex_destroy(&rc->mu);
  beck_free(rc);
}

static const beck_client_ops_t rm_ops = {
    .kind = "remote",
    .close = rm_close,
    .create_topic = rm_create_topic,
    .partitions = rm_partitions,
    .watermarks = rm_watermarks,
    .produce = rm_produce,
    .fetch = rm_fetch,
    .commit = rm_commit,
    .committed = rm_committed,
};

beck_err_t beck_client_open_remote(const char *bootstrap, const char *const *conf_keys, const char *const *conf_values,
                                   int n, beck_client_t **out, beck_error_t *e) {
  *out = NULL;
  if (bootstrap == NULL || bootstrap[0] == '\0')
    return beck_error_set(e, BECK_ERR_INVAL, "remote client: no bootstrap servers");
  if (n < 0 || (n > 0 && (conf_keys == NULL || conf_values == NULL)))
    return beck_error_set(e, BECK_ERR_INVAL, "remote client: bad property list");
  rm_client_t *rc = beck_calloc(1, sizeof *rc);
  if (rc == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "remote client: out of memory");
  beck__client_init(&rc->base, &rm_ops);
  pthread_mutex_init(&rc->mu, NULL);
  atomic_init(&rc->stopping, false);
  rc->bootstrap = beck_strdup(bootstrap);
  rc->conf_keys = beck_calloc((size_t)n + 1, sizeof *rc->conf_keys);
  rc->conf_values = beck_calloc((size_t)n + 1, sizeof *rc->conf_values);
  bool oom = rc->bootstrap == NULL || rc->conf_keys == NULL || rc->conf_values == NULL;
  for (int i = 0; i < n && !oom; i++) {
    if (conf_keys[i] == NULL || conf_values[i] == NULL) {
      rm_close(&rc->base);
      return beck_error_set(e, BECK_ERR_INVAL, "remote client: property %d has a NULL key or value", i);
    }
    rc->conf_keys[i] = beck_strdup(conf_keys[i]);
    rc->conf_values[i] = beck_strdup(conf_values[i]);
    rc->nconf = i + 1;
    oom = rc->conf_keys[i] == NULL || rc->conf_values[i] == NULL;
  }
  if (oom) {
    rm_close(&rc->base);
    return beck_error_set(e, BECK_ERR_NOMEM, "remote client: out of memory");
  }

  static const char *const producer_defaults[] = {
      "acks",
      "all",
      "enable.idempotence",
      "true",
      "partitioner",
      "murmur2_random",
      "linger.ms",
      "1",
      "message.timeout.ms",
      "120000",
      "allow.auto.create.topics",
      "false",
  };
  rd_kafka_conf_t *conf =
      make_conf(rc, producer_defaults, (int)(sizeof producer_defaults / sizeof *producer_defaults / 2), e);
  if (conf)
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  if (conf == NULL || (rc->producer = new_handle(RD_KAFKA_PRODUCER, conf, "producer", e)) == NULL) {
    rm_close(&rc->base);
    return e ? e->code : BECK_ERR_INVAL;
  }
  static const char *const fetcher_defaults[] = {
      "enable.partition.eof",     "true",  "auto.offset.reset",          "error", "enable.auto.commit", "false",
      "enable.auto.offset.store", "false", "queued.max.messages.kbytes", "4096",  "fetch.wait.max.ms",  "100",
  };
  if ((conf = make_conf(rc, fetcher_defaults, (int)(sizeof fetcher_defaults / sizeof *fetcher_defaults / 2), e)) ==
          NULL ||
      (rc->fetcher = new_handle(RD_KAFKA_CONSUMER, conf, "fetcher", e)) == NULL) {
    rm_close(&rc->base);
    return e ? e->code : BECK_ERR_INVAL;
  }
  if (pthread_create(&rc->poller, NULL, poller, rc) != 0) {
    rm_close(&rc->base);
    return beck_error_set(e, BECK_ERR_NOMEM, "remote client: cannot start the delivery-report thread");
  }
  rc->poller_started = true;
  *out = &rc->base;
  return BECK_ERR_OK;
}
