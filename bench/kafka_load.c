/*
 * kafka_load.c - beck-bench-kafka: the librdkafka load generator, against
 * Beck (--server) or against librdkafka's own in-process mock cluster
 * (--mock, test.mock.num.brokers=1: the client's ceiling, since the mock
 * keeps records in memory and does no validation worth the name).
 *
 * Modes (see load_common.h for the JSON and the checks):
 *   create   CreateTopics --topic with --partitions and --config K=V
 *   produce  produce --count records (--seconds caps it)
 *   pc       produce, then consume exactly the records produced. With
 *            --mock the mock keeps only each partition's last 5 MB
 *            (librdkafka 2.0), so the consumer reads that window again and
 *            again (seeking back to its start) until it has read as many
 *            records as were produced: the consumer's ceiling, served from
 *            memory by a broker in the same process
 *   latency  paced producer and a concurrent consumer
 *
 * The client is configured the same way for Beck and the mock, and as
 * librdkafka ships except where written here:
 *   producer  acks=all, linger.ms=5 (pc) / 0 (latency), batch.size=1000000,
 *             batch.num.messages=10000, compression none, no idempotence,
 *             delivery.report.only.error=true; records go round-robin over
 *             the partitions (record i to partition i % P), so with many
 *             partitions every request carries all of them (the worst case
 *             for the broker, not sticky partitioning's best one)
 *   consumer  assign() (no group rebalance) at the offsets the partitions
 *             had before the producer started, consume_batch_queue(),
 *             fetch settings at librdkafka's defaults (against the mock
 *             fetch.wait.max.ms=1, see consumer_new), local queue limits
 *             raised past the run's size
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>

#include "load_common.h"

static load_opts_t O;
static atomic_llong g_dr_errors;
static char g_first_dr_error[256];

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  if (m->err && atomic_fetch_add(&g_dr_errors, 1) == 0)
    snprintf(g_first_dr_error, sizeof g_first_dr_error, "%s", rd_kafka_err2str(m->err));
}

static void conf_set(rd_kafka_conf_t *c, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
    load_die(O.prog, "config %s=%s: %s", k, v, err);
}

/* Applies K=V strings from the command line after the bench's own settings. */
static void conf_set_all(rd_kafka_conf_t *c, const char *const *kvs, int n) {
  for (int i = 0; i < n; i++) {
    char kv[512];
    snprintf(kv, sizeof kv, "%s", kvs[i]);
    char *eq = strchr(kv, '=');
    if (eq == NULL)
      load_die(O.prog, "expected K=V, got '%s'", kvs[i]);
    *eq = '\0';
    conf_set(c, kv, eq + 1);
  }
}

typedef struct kafka_target {
  rd_kafka_t *producer;
  rd_kafka_topic_t *rkt;
  char bootstraps[512]; /* for the consumer: --server or the mock's */
} kafka_target_t;

static void target_open(kafka_target_t *t, int linger_ms) {
  char err[512], v[32];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  if (O.mock)
    conf_set(c, "test.mock.num.brokers", "1");
  else {
    snprintf(t->bootstraps, sizeof t->bootstraps, "%s:%d", O.host, O.port);
    conf_set(c, "bootstrap.servers", t->bootstraps);
  }
  conf_set(c, "acks", "all");
  snprintf(v, sizeof v, "%d", linger_ms);
  conf_set(c, "linger.ms", v);
  conf_set(c, "batch.size", "1000000");
  conf_set(c, "batch.num.messages", "10000");
  conf_set(c, "compression.type", "none");
  conf_set(c, "enable.idempotence", "false");
  conf_set(c, "delivery.report.only.error", "true");
  conf_set(c, "message.timeout.ms", "300000");
  conf_set_all(c, O.pconfigs, O.npconfigs);
  rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
  t->producer = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
  if (t->producer == NULL)
    load_die(O.prog, "producer: %s", err);
  if (O.mock) {
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(t->producer);
    if (mc == NULL)
      load_die(O.prog, "librdkafka made no mock cluster");
    if (rd_kafka_mock_topic_create(mc, O.topic, O.partitions, 1))
      load_die(O.prog, "mock topic %s: cannot create", O.topic);
    snprintf(t->bootstraps, sizeof t->bootstraps, "%s", rd_kafka_mock_cluster_bootstraps(mc));
  }
  t->rkt = rd_kafka_topic_new(t->producer, O.topic, NULL);
}

static void target_close(kafka_target_t *t) {
  rd_kafka_topic_destroy(t->rkt);
  rd_kafka_destroy(t->producer);
}

/* Each partition's high watermark now: where this run's records will start. */
static int64_t *watermarks(rd_kafka_t *rk) {
  int64_t *hw = calloc((size_t)O.partitions, sizeof *hw);
  for (int p = 0; p < O.partitions; p++) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, O.topic, p, &lo, &hi, 30000);
    if (err)
      load_die(O.prog, "watermarks of %s-%d: %s", O.topic, p, rd_kafka_err2str(err));
    hw[p] = hi;
  }
  return hw;
}

static void produce_one(kafka_target_t *t, int32_t partition, uint8_t *buf) {
  while (rd_kafka_produce(t->rkt, partition, RD_KAFKA_MSG_F_COPY, buf, O.size, NULL, 0, NULL) == -1) {
    rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      load_die(O.prog, "produce: %s", rd_kafka_err2str(err));
    rd_kafka_poll(t->producer, 1);
  }
}

/* Produces up to O.count records or until O.seconds pass; returns how many. */
static long long produce_phase(kafka_target_t *t, load_phase_t *ph) {
  uint8_t *buf = load_payload_new(O.size);
  load_phase_start(ph, O.pid);
  int64_t deadline = ph->t0 + (int64_t)(O.seconds * 1e9);
  long long i;
  for (i = 0; i < O.count; i++) {
    load_put_u64(buf, (uint64_t)i);
    produce_one(t, (int32_t)(i % O.partitions), buf);
    if ((i & 1023) == 1023) {
      rd_kafka_poll(t->producer, 0);
      if (load_now_ns() > deadline) {
        i++;
        break;
      }
    }
  }
  if (rd_kafka_flush(t->producer, 300000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    load_die(O.prog, "flush: %d records still undelivered", rd_kafka_outq_len(t->producer));
  load_phase_end(ph, O.pid);
  ph->errors = atomic_load(&g_dr_errors);
  ph->records = i - ph->errors;
  ph->bytes = ph->records * (long long)O.size;
  free(buf);
  if (ph->errors)
    load_die(O.prog, "%lld records failed, first: %s", ph->errors, g_first_dr_error);
  return i;
}

static rd_kafka_t *consumer_new(const char *bootstraps, bool mock) {
  char err[512], gid[64];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  conf_set(c, "bootstrap.servers", bootstraps);
  snprintf(gid, sizeof gid, "beck-bench-%d", (int)getpid());
  conf_set(c, "group.id", gid);
  conf_set(c, "enable.auto.commit", "false");
  conf_set(c, "enable.partition.eof", "false");
  /* librdkafka 2.0 stops fetching once queued.min.messages wait in its local
   * queue and looks again only ~1 s later (rd_kafka_max_block_ms), even when
   * the application drained the queue long before: a stall of up to a
   * second in a run (librdkafka issue #2879; 2.2 adds fetch.queue.backoff.ms).
   * The maintainers' workaround: thresholds the run never reaches. */
  conf_set(c, "queued.min.messages", "10000000");
  conf_set(c, "queued.max.messages.kbytes", "2097151");
  /* the mock parks a Fetch at the end of its window for the whole
   * fetch.wait.max.ms, even after a seek: each pass would end in a 500 ms
   * stall. A Fetch that finds records is answered at once either way. */
  if (mock)
    conf_set(c, "fetch.wait.max.ms", "1");
  conf_set_all(c, O.cconfigs, O.ncconfigs);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
  if (rk == NULL)
    load_die(O.prog, "consumer: %s", err);
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

static void consumer_assign(rd_kafka_t *rk, const int64_t *from) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(O.partitions);
  for (int p = 0; p < O.partitions; p++)
    rd_kafka_topic_partition_list_add(l, O.topic, p)->offset = from[p];
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (err)
    load_die(O.prog, "assign: %s", rd_kafka_err2str(err));
}

#define BATCH 4096

/* One consume_batch_queue call for at most `want` records (the call waits
 * until it has filled the batch or the timeout passes: never ask for more
 * than are due); each record goes into `a` and, when given, `b`. Dies on an
 * error, or after 30 s without a record. */
static void consume_into(rd_kafka_queue_t *q, rd_kafka_message_t **msgs, long long want, load_check_t *a,
                         load_check_t *b, int64_t *last_progress, long long n) {
  ssize_t got = rd_kafka_consume_batch_queue(q, 1000, msgs, want < BATCH ? (size_t)want : BATCH);
  if (got < 0)
    load_die(O.prog, "consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
  for (ssize_t i = 0; i < got; i++) {
    rd_kafka_message_t *m = msgs[i];
    if (m->err)
      load_die(O.prog, "consume: %s", rd_kafka_message_errstr(m));
    load_check_record(a, m->payload, m->len, O.size);
    if (b)
      load_check_record(b, m->payload, m->len, O.size);
    rd_kafka_message_destroy(m);
  }
  if (got > 0)
    *last_progress = load_now_ns();
  else if (load_now_ns() - *last_progress > 30 * 1000000000LL)
    load_die(O.prog, "consume: nothing for 30 s after %lld of %lld records", a->n, n);
}

/* Consumes exactly n records from the offsets in from[]; checks them. */
static void consume_phase(const char *bootstraps, const int64_t *from, long long n, load_phase_t *ph) {
  rd_kafka_t *rk = consumer_new(bootstraps, false);
  rd_kafka_message_t **msgs = malloc(BATCH * sizeof *msgs);
  load_check_t chk = {0};
  load_phase_start(ph, O.pid);
  consumer_assign(rk, from);
  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
  int64_t last_progress = load_now_ns();
  while (chk.n < n)
    consume_into(q, msgs, n - chk.n, &chk, NULL, &last_progress, n);
  load_phase_end(ph, O.pid);
  ph->records = chk.n;
  ph->bytes = chk.n * (long long)O.size;
  const char *why = load_check_verdict(&chk, n);
  if (why)
    load_die(O.prog, "consume check failed: %s", why);
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  free(msgs);
}

/* The mock's consume ceiling: each partition holds only [lo, hi) after the
 * produce phase; read that window over and over until n records have come,
 * checking that every full pass brings exactly the same records. */
static void consume_mock_phase(kafka_target_t *t, long long n, load_phase_t *ph) {
  int64_t *lo = calloc((size_t)O.partitions, sizeof *lo);
  long long per_pass = 0;
  for (int p = 0; p < O.partitions; p++) {
    int64_t hi;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(t->producer, O.topic, p, &lo[p], &hi, 30000);
    if (err)
      load_die(O.prog, "watermarks of %s-%d: %s", O.topic, p, rd_kafka_err2str(err));
    per_pass += hi - lo[p];
  }
  if (per_pass <= 0)
    load_die(O.prog, "the mock kept no records");
  rd_kafka_t *rk = consumer_new(t->bootstraps, true);
  rd_kafka_message_t **msgs = malloc(BATCH * sizeof *msgs);
  rd_kafka_topic_partition_list_t *back = rd_kafka_topic_partition_list_new(O.partitions);
  for (int p = 0; p < O.partitions; p++)
    rd_kafka_topic_partition_list_add(back, O.topic, p)->offset = lo[p];
  load_check_t all = {0}, pass = {0};
  unsigned __int128 first_sum = 0;
  long long passes = 0;
  load_phase_start(ph, O.pid);
  consumer_assign(rk, lo);
  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
  int64_t last_progress = load_now_ns();
  while (all.n < n) {
    long long due = per_pass - pass.n < n - all.n ? per_pass - pass.n : n - all.n;
    consume_into(q, msgs, due, &all, &pass, &last_progress, n);
    if (pass.n == per_pass) {
      if (pass.bad_size || (passes > 0 && pass.seq_sum != first_sum))
        load_die(O.prog, "consume check failed: pass %lld over the mock's window read other records", passes + 1);
      first_sum = pass.seq_sum;
      passes++;
      memset(&pass, 0, sizeof pass);
      rd_kafka_error_t *e = rd_kafka_seek_partitions(rk, back, 30000);
      if (e)
        load_die(O.prog, "seek: %s", rd_kafka_error_string(e));
    }
  }
  load_phase_end(ph, O.pid);
  ph->records = all.n;
  ph->bytes = all.n * (long long)O.size;
  if (all.bad_size)
    load_die(O.prog, "consume check failed: %lld records had the wrong size", all.bad_size);
  rd_kafka_queue_destroy(q);
  rd_kafka_topic_partition_list_destroy(back);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  free(msgs);
  free(lo);
}

static void mode_create(void) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  char bs[300];
  snprintf(bs, sizeof bs, "%s:%d", O.host, O.port);
  conf_set(c, "bootstrap.servers", bs);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
  if (rk == NULL)
    load_die(O.prog, "admin client: %s", err);
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(O.topic, O.partitions, 1, err, sizeof err);
  if (nt == NULL)
    load_die(O.prog, "topic %s: %s", O.topic, err);
  for (int i = 0; i < O.nconfigs; i++) {
    char kv[256];
    snprintf(kv, sizeof kv, "%s", O.configs[i]);
    char *eq = strchr(kv, '=');
    if (eq == NULL)
      load_die(O.prog, "--config wants K=V, got '%s'", O.configs[i]);
    *eq = '\0';
    rd_kafka_NewTopic_set_config(nt, kv, eq + 1);
  }
  rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(ao, 120000, err, sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(ao, 180000, err, sizeof err);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  int64_t t0 = load_now_ns();
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 200000);
  if (ev == NULL)
    load_die(O.prog, "CreateTopics %s: no answer", O.topic);
  if (rd_kafka_event_error(ev))
    load_die(O.prog, "CreateTopics %s: %s", O.topic, rd_kafka_event_error_string(ev));
  size_t n;
  const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  for (size_t i = 0; i < n; i++)
    if (rd_kafka_topic_result_error(res[i]))
      load_die(O.prog, "CreateTopics %s: %s", O.topic, rd_kafka_topic_result_error_string(res[i]));
  printf("{\"create\": {\"topic\": \"%s\", \"partitions\": %d, \"seconds\": %.3f}}\n", O.topic, O.partitions,
         (double)(load_now_ns() - t0) / 1e9);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_destroy(rk);
}

static void mode_produce(bool then_consume) {
  kafka_target_t t = {0};
  target_open(&t, O.linger_ms >= 0 ? O.linger_ms : 5);
  int64_t *from = then_consume && !O.mock ? watermarks(t.producer) : NULL;
  load_phase_t pp, cp;
  long long n = produce_phase(&t, &pp);
  /* the mock lives in t.producer: keep it open */
  if (then_consume && O.mock)
    consume_mock_phase(&t, n, &cp);
  else if (then_consume)
    consume_phase(t.bootstraps, from, n, &cp);
  printf("{");
  load_phase_json(stdout, "produce", &pp, O.pid);
  if (then_consume) {
    printf(", ");
    load_phase_json(stdout, "consume", &cp, O.pid);
  }
  printf("}\n");
  target_close(&t);
  free(from);
}

/* ---- latency: the consumer runs in its own thread ---- */

typedef struct lat_consumer {
  rd_kafka_t *rk;
  long long expect, warm; /* records in all; the first warm are not counted */
  int64_t give_up_ns;
  load_lat_t lat;
  long long received;
  atomic_bool ready;
} lat_consumer_t;

/* One message per poll: consume_batch_queue would hold messages back until
 * its batch is full. */
static void *lat_consume(void *arg) {
  lat_consumer_t *c = arg;
  atomic_store(&c->ready, true);
  while (c->received < c->expect && load_now_ns() < c->give_up_ns) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
    if (m == NULL)
      continue;
    int64_t now = load_now_ns();
    if (m->err == 0 && m->len == O.size) {
      c->received++;
      const uint8_t *p = m->payload;
      if ((long long)load_get_u64(p) >= c->warm)
        load_lat_add(&c->lat, now - (int64_t)load_get_u64(p + 8));
    }
    rd_kafka_message_destroy(m);
  }
  return NULL;
}

static void mode_latency(void) {
  kafka_target_t t = {0};
  target_open(&t, O.linger_ms >= 0 ? O.linger_ms : 0);
  int64_t *from = watermarks(t.producer);
  lat_consumer_t c = {0};
  c.warm = (long long)(O.warmup * O.rate);
  c.expect = c.warm + (long long)(O.seconds * O.rate);
  c.lat.cap = c.expect;
  c.lat.v = malloc((size_t)c.expect * sizeof *c.lat.v);
  c.rk = consumer_new(t.bootstraps, false);
  consumer_assign(c.rk, from);
  c.give_up_ns = load_now_ns() + (int64_t)((O.warmup + O.seconds + 30) * 1e9);
  pthread_t th;
  pthread_create(&th, NULL, lat_consume, &c);
  while (!atomic_load(&c.ready))
    usleep(1000);
  usleep(200000); /* let the consumer's first fetches park at the broker */

  uint8_t *buf = load_payload_new(O.size);
  load_phase_t ph;
  load_phase_start(&ph, O.pid);
  double gap = 1e9 / O.rate;
  long long i = 0;
  while (i < c.expect) {
    int64_t now = load_now_ns();
    while (i < c.expect && ph.t0 + (int64_t)((double)i * gap) <= now) {
      load_put_u64(buf, (uint64_t)i);
      load_put_u64(buf + 8, (uint64_t)(ph.t0 + (int64_t)((double)i * gap)));
      produce_one(&t, (int32_t)(i % O.partitions), buf);
      i++;
    }
    rd_kafka_poll(t.producer, 0);
    if (i < c.expect)
      load_sleep_until(ph.t0 + (int64_t)((double)i * gap));
  }
  rd_kafka_flush(t.producer, 60000);
  pthread_join(th, NULL);
  load_phase_end(&ph, O.pid);
  if (atomic_load(&g_dr_errors))
    load_die(O.prog, "%lld records failed, first: %s", (long long)atomic_load(&g_dr_errors), g_first_dr_error);
  printf("{");
  load_lat_json(stdout, &c.lat, O.rate, i, c.received, O.seconds, &ph, O.pid);
  printf("}\n");
  if (c.received < c.expect)
    load_die(O.prog, "latency: received %lld of %lld records", c.received, c.expect);
  rd_kafka_consumer_close(c.rk);
  rd_kafka_destroy(c.rk);
  target_close(&t);
  free(c.lat.v);
  free(buf);
  free(from);
}

int main(int argc, char **argv) {
  load_parse(&O, argc, argv, "create | produce | pc | latency");
  if (!O.mock && O.port == 0)
    load_die(O.prog, "give --server HOST:PORT or --mock");
  if (strcmp(O.mode, "create") == 0 && !O.mock)
    mode_create();
  else if (strcmp(O.mode, "produce") == 0)
    mode_produce(false);
  else if (strcmp(O.mode, "pc") == 0)
    mode_produce(true);
  else if (strcmp(O.mode, "latency") == 0)
    mode_latency();
  else
    load_die(O.prog, "unknown mode '%s' (create | produce | pc | latency; create needs --server)", O.mode);
  return 0;
}
